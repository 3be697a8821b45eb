/*
 * executor/services/notify.c — the detach/shutdown notification service
 * (rivet/rt.h): clients register callbacks, which run in the order added
 * when the session notifies this service. Where the service sits among the
 * session's services decides when that is relative to the others.
 */
#include <stdlib.h>
#include <threads.h>

#include "rivet/rt.h"

struct callback {
    rivet_notify_fn fn;
    void *ctx;
};

struct callback_list {
    struct callback *items;
    size_t count, capacity;
};

struct rivet_notify_service {
    rivet_service service;
    mtx_t lock;
    struct callback_list on_detach, on_shutdown;
};

static rivet_error *add_callback(rivet_notify_service *ns,
                                 struct callback_list *l, rivet_notify_fn fn,
                                 void *ctx)
{
    rivet_error *e = NULL;
    mtx_lock(&ns->lock);
    if (l->count == l->capacity) {
        size_t cap = l->capacity ? l->capacity * 2 : 8;
        struct callback *p = realloc(l->items, cap * sizeof(*p));
        if (p) {
            l->items = p;
            l->capacity = cap;
        }
    }
    if (l->count < l->capacity)
        l->items[l->count++] = (struct callback){fn, ctx};
    else
        e = rivet_error_create(RIVET_ERR_NOMEM, "notify service: out of memory");
    mtx_unlock(&ns->lock);
    return e;
}

rivet_error *rivet_notify_service_on_detach(rivet_notify_service *ns,
                                            rivet_notify_fn fn, void *ctx)
{
    return add_callback(ns, &ns->on_detach, fn, ctx);
}

rivet_error *rivet_notify_service_on_shutdown(rivet_notify_service *ns,
                                              rivet_notify_fn fn, void *ctx)
{
    return add_callback(ns, &ns->on_shutdown, fn, ctx);
}

/* Run each callback once, in order; taken off the list first so a callback
 * may register more without deadlock (those run at the next notification,
 * which for detach and shutdown never comes). */
static void run_callbacks(rivet_notify_service *ns, struct callback_list *l)
{
    mtx_lock(&ns->lock);
    struct callback_list taken = *l;
    *l = (struct callback_list){NULL, 0, 0};
    mtx_unlock(&ns->lock);
    for (size_t i = 0; i < taken.count; i++)
        taken.items[i].fn(taken.items[i].ctx);
    free(taken.items);
}

static void notify_on_detach(rivet_service *svc, rivet_session *s)
{
    (void)s;
    rivet_notify_service *ns = (rivet_notify_service *)svc;
    run_callbacks(ns, &ns->on_detach);
}

static void notify_on_shutdown(rivet_service *svc, rivet_session *s)
{
    (void)s;
    rivet_notify_service *ns = (rivet_notify_service *)svc;
    run_callbacks(ns, &ns->on_shutdown);
}

static void notify_destroy(rivet_service *svc)
{
    rivet_notify_service *ns = (rivet_notify_service *)svc;
    free(ns->on_detach.items);
    free(ns->on_shutdown.items);
    mtx_destroy(&ns->lock);
    free(ns);
}

static const rivet_service_ops notify_ops = {
    .name = "notify",
    .on_detach = notify_on_detach,
    .on_shutdown = notify_on_shutdown,
    .destroy = notify_destroy,
};

rivet_error *rivet_notify_service_create(rivet_notify_service **out)
{
    rivet_notify_service *ns = calloc(1, sizeof(*ns));
    if (!ns)
        return rivet_error_create(RIVET_ERR_NOMEM, "notify service: out of memory");
    if (mtx_init(&ns->lock, mtx_plain) != thrd_success) {
        free(ns);
        return rivet_error_create(RIVET_ERR_GENERIC,
                                  "notify service: cannot create lock");
    }
    ns->service.ops = &notify_ops;
    *out = ns;
    return NULL;
}

rivet_service *rivet_notify_service_service(rivet_notify_service *ns)
{
    return &ns->service;
}
