/*
 * executor/services/dylib.c — the dylib manager (rivet/rt.h): libraries
 * opened for the controller, and batched symbol lookups in them.
 *
 * Handles given to the controller are the system handles as integers, but
 * every call checks the handle is one this manager opened, so a stray
 * value from the wire is an error rather than a crash.
 */
#include <stdlib.h>
#include <threads.h>

#include "rivet/rt.h"
#include "sys/sys.h"

struct rivet_dylib_manager {
    rivet_service service;
    mtx_t lock;
    void **handles; /* each opened once; the system refcounts repeats */
    size_t count, capacity;
};

static bool has_handle(rivet_dylib_manager *dm, void *h)
{
    for (size_t i = 0; i < dm->count; i++)
        if (dm->handles[i] == h)
            return true;
    return false;
}

/* Remember h (lock held); false when out of memory. */
static bool remember(rivet_dylib_manager *dm, void *h)
{
    if (dm->count == dm->capacity) {
        size_t cap = dm->capacity ? dm->capacity * 2 : 8;
        void **p = realloc(dm->handles, cap * sizeof(*p));
        if (!p)
            return false;
        dm->handles = p;
        dm->capacity = cap;
    }
    dm->handles[dm->count++] = h;
    return true;
}

rivet_error *rivet_dylib_manager_open(rivet_dylib_manager *dm, const char *path,
                                      uint64_t *handle)
{
    void *h;
    rivet_error *e = rv_sys_dylib_open(path, &h);
    if (e)
        return rivet_error_wrap(e, "dylib manager: open");
    mtx_lock(&dm->lock);
    bool known = has_handle(dm, h);
    bool ok = known || remember(dm, h);
    mtx_unlock(&dm->lock);
    if (known || !ok)
        rv_sys_dylib_close(h); /* drop the extra reference */
    if (!ok)
        return rivet_error_create(RIVET_ERR_NOMEM,
                                  "dylib manager: open: out of memory");
    *handle = (uint64_t)(uintptr_t)h;
    return NULL;
}

rivet_error *rivet_dylib_manager_lookup(rivet_dylib_manager *dm,
                                        uint64_t handle,
                                        const char *const *names, size_t count,
                                        uint64_t *addrs)
{
    void *h = (void *)(uintptr_t)handle;
    mtx_lock(&dm->lock);
    bool known = has_handle(dm, h);
    mtx_unlock(&dm->lock);
    if (!known)
        return rivet_error_create(RIVET_ERR_NOT_FOUND,
                                  "dylib manager: lookup: 0x%llx is not an open "
                                  "library handle", (unsigned long long)handle);
    for (size_t i = 0; i < count; i++)
        addrs[i] = (uint64_t)(uintptr_t)rv_sys_dylib_symbol(h, names[i]);
    return NULL;
}

static void dylib_on_shutdown(rivet_service *svc, rivet_session *s)
{
    (void)s;
    rivet_dylib_manager *dm = (rivet_dylib_manager *)svc;
    mtx_lock(&dm->lock);
    /* Close newest first: a later library may depend on an earlier one. */
    for (size_t i = dm->count; i-- > 0;)
        rv_sys_dylib_close(dm->handles[i]);
    dm->count = 0;
    mtx_unlock(&dm->lock);
}

static void dylib_destroy(rivet_service *svc)
{
    rivet_dylib_manager *dm = (rivet_dylib_manager *)svc;
    dylib_on_shutdown(svc, NULL);
    free(dm->handles);
    mtx_destroy(&dm->lock);
    free(dm);
}

static const rivet_service_ops dylib_ops = {
    .name = "dylib_manager",
    .on_detach = NULL,
    .on_shutdown = dylib_on_shutdown,
    .destroy = dylib_destroy,
};

rivet_error *rivet_dylib_manager_create(rivet_dylib_manager **out)
{
    rivet_dylib_manager *dm = calloc(1, sizeof(*dm));
    if (!dm)
        return rivet_error_create(RIVET_ERR_NOMEM, "dylib manager: out of memory");
    if (mtx_init(&dm->lock, mtx_plain) != thrd_success) {
        free(dm);
        return rivet_error_create(RIVET_ERR_GENERIC,
                                  "dylib manager: cannot create lock");
    }
    dm->service.ops = &dylib_ops;
    *out = dm;
    return NULL;
}

rivet_service *rivet_dylib_manager_service(rivet_dylib_manager *dm)
{
    return &dm->service;
}
