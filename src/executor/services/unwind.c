/*
 * executor/services/unwind.c — the unwind registrar: tells the C runtime's
 * unwinder about the .eh_frame sections of JIT'd code, so C++ exceptions
 * and backtraces cross it.
 *
 * The unwinder's own table is process-wide, so the list of what rivet
 * registered is too. It exists for two reasons: deregistering a section
 * that was never registered makes libgcc abort, and a library must turn
 * that into an error instead; and a section in which libgcc would miss an
 * FDE (a function starting at a 4 GiB boundary: eh_frame_wide.c) is
 * registered as a re-encoded copy, which the list keeps until the section
 * is deregistered.
 */
#include <stdlib.h>
#include <string.h>
#include <threads.h>

#include "executor/services/services.h"
#include "sys/sys.h"

struct registered {
    uint64_t start; /* the section, as the controller names it */
    void *copy;     /* what libgcc was given instead, or NULL */
};

static once_flag registry_once = ONCE_FLAG_INIT;
static mtx_t registry_lock;
static struct registered *registered;
static size_t registered_count, registered_capacity;

static void registry_init(void)
{
    mtx_init(&registry_lock, mtx_plain);
}

/* Index of `start` in the registry (lock held), or SIZE_MAX. */
static size_t registry_find(uint64_t start)
{
    for (size_t i = 0; i < registered_count; i++)
        if (registered[i].start == start)
            return i;
    return SIZE_MAX;
}

static bool registry_add(uint64_t start, void *copy)
{
    if (registered_count == registered_capacity) {
        size_t cap = registered_capacity ? registered_capacity * 2 : 16;
        struct registered *p = realloc(registered, cap * sizeof(*p));
        if (!p)
            return false;
        registered = p;
        registered_capacity = cap;
    }
    registered[registered_count++] = (struct registered){start, copy};
    return true;
}

static rivet_error *check_section(uint64_t start, uint64_t end)
{
    if (start == 0 || end < start || end - start < 4)
        return rivet_error_create(RIVET_ERR_MALFORMED,
                                  "bad .eh_frame range [0x%llx, 0x%llx)",
                                  (unsigned long long)start,
                                  (unsigned long long)end);
    /* libgcc walks records by their length words until a zero one: that
     * walk must end inside the range, or it reads past the section. */
    uint64_t at = start;
    while (end - at >= 4) {
        uint32_t length;
        memcpy(&length, (const void *)(uintptr_t)at, 4);
        if (length == 0)
            return NULL;
        uint64_t size = length, header = 4;
        if (length == 0xffffffffu) { /* 64-bit length */
            if (end - at < 12)
                break;
            memcpy(&size, (const void *)(uintptr_t)(at + 4), 8);
            header = 12;
        }
        if (size > end - at - header)
            return rivet_error_create(RIVET_ERR_MALFORMED,
                                      ".eh_frame at 0x%llx: the record at offset 0x%llx "
                                      "runs past the end",
                                      (unsigned long long)start,
                                      (unsigned long long)(at - start));
        at += header + size;
    }
    return rivet_error_create(RIVET_ERR_MALFORMED,
                              ".eh_frame at 0x%llx lacks its zero terminator",
                              (unsigned long long)start);
}

rivet_error *rv_unwind_register(uint64_t start, uint64_t end)
{
    void *copy = NULL;
    rivet_error *e = check_section(start, end);
    if (!e)
        e = rv_eh_frame_widen_hidden(start, end, &copy);
    if (e)
        return rivet_error_wrap(e, "unwind: register");
    call_once(&registry_once, registry_init);
    mtx_lock(&registry_lock);
    if (registry_find(start) != SIZE_MAX)
        e = rivet_error_create(RIVET_ERR_STATE,
                               "unwind: .eh_frame at 0x%llx is already registered",
                               (unsigned long long)start);
    else if (!registry_add(start, copy))
        e = rivet_error_create(RIVET_ERR_NOMEM, "unwind: out of memory");
    else
        rv_sys_register_frame(copy ? copy : (const void *)(uintptr_t)start);
    mtx_unlock(&registry_lock);
    if (e)
        free(copy);
    return e;
}

rivet_error *rv_unwind_deregister(uint64_t start, uint64_t end)
{
    (void)end;
    rivet_error *e = NULL;
    call_once(&registry_once, registry_init);
    mtx_lock(&registry_lock);
    size_t i = registry_find(start);
    if (i == SIZE_MAX) {
        e = rivet_error_create(RIVET_ERR_NOT_FOUND,
                               "unwind: .eh_frame at 0x%llx is not registered",
                               (unsigned long long)start);
    } else {
        void *copy = registered[i].copy;
        rv_sys_deregister_frame(copy ? copy : (const void *)(uintptr_t)start);
        free(copy);
        registered[i] = registered[--registered_count];
    }
    mtx_unlock(&registry_lock);
    return e;
}

/* The registrar has no state of its own; as a service it stands in the
 * shutdown order, after the memory map whose dealloc actions use it. */
static void unwind_destroy(rivet_service *svc)
{
    free(svc);
}

static const rivet_service_ops unwind_ops = {
    .name = "unwind_registrar",
    .on_detach = NULL,
    .on_shutdown = NULL,
    .destroy = unwind_destroy,
};

rivet_error *rv_unwind_registrar_create(rivet_service **out)
{
    rivet_service *svc = calloc(1, sizeof(*svc));
    if (!svc)
        return rivet_error_create(RIVET_ERR_NOMEM, "unwind: out of memory");
    svc->ops = &unwind_ops;
    *out = svc;
    return NULL;
}
