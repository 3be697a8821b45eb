/*
 * executor/session.c — the executor's root object (rivet/rt.h): the list of
 * services, the bootstrap symbol table, the attach/detach/shutdown
 * lifecycle, keepalives and in-process wrapper calls.
 *
 * Service callbacks run without the session lock held, so a service may
 * call back into the session (find another service, add a symbol) while it
 * is notified. Flags make detach and shutdown idempotent under races.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <threads.h>

#include "rivet/rt.h"

struct bootstrap_symbol {
    char *name;
    uint64_t addr;
    bool is_wrapper;
    bool blocks; /* a wrapper that runs JIT'd code for unbounded time */
};

struct rivet_session {
    mtx_t lock;
    cnd_t keepalive_released;
    rivet_service **services;
    size_t service_count, service_capacity;
    struct bootstrap_symbol *symbols;
    size_t symbol_count, symbol_capacity;
    bool attached;
    bool detach_started;   /* on_detach has run or is running */
    bool shutdown_started; /* keepalives and new services refused */
    size_t keepalives;
    rivet_controller_access access; /* access.call NULL: none installed */
    size_t access_users;            /* threads inside access.call(_sync) */
    cnd_t access_idle;
};

/* rivet_session_attached: the session most recently attached. */
static _Atomic(rivet_session *) attached_session;

rivet_error *rivet_session_create(rivet_session **out)
{
    rivet_session *s = calloc(1, sizeof(*s));
    if (!s)
        return rivet_error_create(RIVET_ERR_NOMEM, "session: out of memory");
    if (mtx_init(&s->lock, mtx_plain) != thrd_success)
        goto free_session;
    if (cnd_init(&s->keepalive_released) != thrd_success)
        goto destroy_lock;
    if (cnd_init(&s->access_idle) != thrd_success)
        goto destroy_keepalive;
    *out = s;
    return NULL;

destroy_keepalive:
    cnd_destroy(&s->keepalive_released);
destroy_lock:
    mtx_destroy(&s->lock);
free_session:
    free(s);
    return rivet_error_create(RIVET_ERR_GENERIC,
                              "session: cannot create lock or condition");
}

/* Grow *items (of `size`-byte elements) to hold one more. */
static bool grow(void **items, size_t *capacity, size_t count, size_t size)
{
    if (count < *capacity)
        return true;
    size_t cap = *capacity ? *capacity * 2 : 8;
    void *p = realloc(*items, cap * size);
    if (!p)
        return false;
    *items = p;
    *capacity = cap;
    return true;
}

/* ---------------------------------------------------------------- services */

rivet_error *rivet_session_add_service(rivet_session *s, rivet_service *svc)
{
    rivet_error *e = NULL;
    mtx_lock(&s->lock);
    if (s->shutdown_started)
        e = rivet_error_create(RIVET_ERR_STATE,
                               "session: add service '%s': shutdown has begun",
                               svc->ops->name);
    else if (!grow((void **)&s->services, &s->service_capacity,
                   s->service_count, sizeof(*s->services)))
        e = rivet_error_create(RIVET_ERR_NOMEM,
                               "session: add service '%s': out of memory",
                               svc->ops->name);
    else
        s->services[s->service_count++] = svc;
    mtx_unlock(&s->lock);
    if (e && svc->ops->destroy)
        svc->ops->destroy(svc); /* ownership was passed to us */
    return e;
}

rivet_service *rivet_session_find_service(rivet_session *s, const char *name)
{
    rivet_service *found = NULL;
    mtx_lock(&s->lock);
    for (size_t i = 0; i < s->service_count && !found; i++)
        if (strcmp(s->services[i]->ops->name, name) == 0)
            found = s->services[i];
    mtx_unlock(&s->lock);
    return found;
}

/* --------------------------------------------------------- bootstrap table */

static rivet_error *add_symbol(rivet_session *s, const char *name,
                               uint64_t addr, bool is_wrapper, bool blocks)
{
    char *copy = strdup(name);
    rivet_error *e = NULL;
    mtx_lock(&s->lock);
    if (!copy || !grow((void **)&s->symbols, &s->symbol_capacity,
                       s->symbol_count, sizeof(*s->symbols))) {
        e = rivet_error_create(RIVET_ERR_NOMEM,
                               "session: bootstrap symbol '%s': out of memory",
                               name);
        free(copy);
    } else {
        s->symbols[s->symbol_count++] =
            (struct bootstrap_symbol){copy, addr, is_wrapper, blocks};
    }
    mtx_unlock(&s->lock);
    return e;
}

rivet_error *rivet_session_add_bootstrap_symbol(rivet_session *s,
                                                const char *name, uint64_t addr)
{
    return add_symbol(s, name, addr, false, false);
}

rivet_error *rivet_session_add_wrapper_function(rivet_session *s,
                                                const char *name,
                                                rivet_wrapper_fn fn)
{
    return add_symbol(s, name, (uint64_t)(uintptr_t)fn, true, false);
}

rivet_error *rivet_session_add_blocking_wrapper_function(rivet_session *s,
                                                         const char *name,
                                                         rivet_wrapper_fn fn)
{
    return add_symbol(s, name, (uint64_t)(uintptr_t)fn, true, true);
}

bool rivet_session_lookup_bootstrap_symbol(rivet_session *s, const char *name,
                                           uint64_t *addr)
{
    bool found = false;
    mtx_lock(&s->lock);
    for (size_t i = 0; i < s->symbol_count && !found; i++) {
        if (strcmp(s->symbols[i].name, name) == 0) {
            *addr = s->symbols[i].addr;
            found = true;
        }
    }
    mtx_unlock(&s->lock);
    return found;
}

size_t rivet_session_bootstrap_symbol_count(rivet_session *s)
{
    mtx_lock(&s->lock);
    size_t n = s->symbol_count;
    mtx_unlock(&s->lock);
    return n;
}

void rivet_session_bootstrap_symbol_at(rivet_session *s, size_t i,
                                       const char **name, uint64_t *addr)
{
    mtx_lock(&s->lock);
    *name = i < s->symbol_count ? s->symbols[i].name : NULL;
    *addr = i < s->symbol_count ? s->symbols[i].addr : 0;
    mtx_unlock(&s->lock);
}

bool rivet_session_wrapper_blocks(rivet_session *s, uint64_t addr)
{
    bool blocks = false;
    mtx_lock(&s->lock);
    for (size_t i = 0; i < s->symbol_count && !blocks; i++)
        blocks = s->symbols[i].is_wrapper && s->symbols[i].blocks &&
                 s->symbols[i].addr == addr;
    mtx_unlock(&s->lock);
    return blocks;
}

bool rivet_session_is_wrapper_function(rivet_session *s, uint64_t addr)
{
    bool found = false;
    mtx_lock(&s->lock);
    for (size_t i = 0; i < s->symbol_count && !found; i++)
        found = s->symbols[i].is_wrapper && s->symbols[i].addr == addr;
    mtx_unlock(&s->lock);
    return found;
}

/* --------------------------------------------------------------- lifecycle */

void rivet_session_attach(rivet_session *s)
{
    mtx_lock(&s->lock);
    s->attached = true;
    mtx_unlock(&s->lock);
    atomic_store(&attached_session, s);
}

rivet_session *rivet_session_attached(void)
{
    return atomic_load(&attached_session);
}

/* Copy the service list so callbacks run without the lock (a callback may
 * add a service, which can move the array). NULL when out of memory. */
static rivet_service **snapshot_services(rivet_session *s, size_t *count)
{
    mtx_lock(&s->lock);
    size_t n = s->service_count;
    rivet_service **copy = malloc((n ? n : 1) * sizeof(*copy));
    if (copy && n)
        memcpy(copy, s->services, n * sizeof(*copy));
    mtx_unlock(&s->lock);
    *count = n;
    return copy;
}

/* Run on_detach (or on_shutdown) of every service, newest first. */
static void notify_services(rivet_session *s, bool shutdown)
{
    size_t n;
    rivet_service **services = snapshot_services(s, &n);
    /* Out of memory: notify anyway from the live list; callbacks that add
     * services during shutdown are refused, so it does not move. */
    rivet_service **list = services ? services : s->services;
    for (size_t i = n; i-- > 0;) {
        rivet_service *svc = list[i];
        void (*fn)(rivet_service *, rivet_session *) =
            shutdown ? svc->ops->on_shutdown : svc->ops->on_detach;
        if (fn)
            fn(svc, s);
    }
    free(services);
}

void rivet_session_detach(rivet_session *s)
{
    mtx_lock(&s->lock);
    bool first = !s->detach_started;
    s->detach_started = true;
    s->attached = false;
    mtx_unlock(&s->lock);
    if (first)
        notify_services(s, false);
}

void rivet_session_shutdown(rivet_session *s)
{
    mtx_lock(&s->lock);
    bool first = !s->shutdown_started;
    s->shutdown_started = true;
    mtx_unlock(&s->lock);
    if (!first)
        return;
    rivet_session_detach(s);
    mtx_lock(&s->lock);
    while (s->keepalives > 0)
        cnd_wait(&s->keepalive_released, &s->lock);
    mtx_unlock(&s->lock);
    notify_services(s, true);
}

void rivet_session_destroy(rivet_session *s)
{
    if (!s)
        return;
    rivet_session_shutdown(s);
    rivet_session *self = s;
    atomic_compare_exchange_strong(&attached_session, &self, NULL);
    for (size_t i = s->service_count; i-- > 0;)
        if (s->services[i]->ops->destroy)
            s->services[i]->ops->destroy(s->services[i]);
    for (size_t i = 0; i < s->symbol_count; i++)
        free(s->symbols[i].name);
    free(s->services);
    free(s->symbols);
    cnd_destroy(&s->access_idle);
    cnd_destroy(&s->keepalive_released);
    mtx_destroy(&s->lock);
    free(s);
}

rivet_error *rivet_session_keepalive_acquire(rivet_session *s)
{
    rivet_error *e = NULL;
    mtx_lock(&s->lock);
    if (s->shutdown_started)
        e = rivet_error_create(RIVET_ERR_STATE,
                               "session: shutdown has begun; no new calls");
    else
        s->keepalives++;
    mtx_unlock(&s->lock);
    return e;
}

void rivet_session_keepalive_release(rivet_session *s)
{
    mtx_lock(&s->lock);
    if (s->keepalives > 0 && --s->keepalives == 0)
        cnd_broadcast(&s->keepalive_released);
    mtx_unlock(&s->lock);
}

/* ------------------------------------------------------- wrapper functions */

void rivet_session_call_wrapper(rivet_session *s, uint64_t fn, uint64_t call_id,
                                rivet_wrapper_return_fn ret, void *return_ctx,
                                const char *arg, size_t arg_size)
{
    if (!rivet_session_is_wrapper_function(s, fn)) {
        rivet_wrapper_result r = {NULL, 0, NULL};
        r.error = rivet_error_create(RIVET_ERR_NOT_FOUND,
                                     "session: 0x%llx is not a wrapper function",
                                     (unsigned long long)fn);
        ret(return_ctx, call_id, r);
        return;
    }
    rivet_wrapper_fn f = (rivet_wrapper_fn)(uintptr_t)fn;
    f(s, call_id, ret, return_ctx, arg, arg_size);
}

/* ------------------------------------------------ calls to the controller */

void rivet_session_set_controller_access(rivet_session *s,
                                         const rivet_controller_access *access)
{
    mtx_lock(&s->lock);
    if (access) {
        s->access = *access;
    } else {
        memset(&s->access, 0, sizeof(s->access));
        while (s->access_users > 0)
            cnd_wait(&s->access_idle, &s->lock);
    }
    mtx_unlock(&s->lock);
}

/* Take the current access for one call; false when none is installed. */
static bool access_enter(rivet_session *s, rivet_controller_access *out)
{
    mtx_lock(&s->lock);
    bool ok = s->access.call != NULL;
    if (ok) {
        *out = s->access;
        s->access_users++;
    }
    mtx_unlock(&s->lock);
    return ok;
}

static void access_leave(rivet_session *s)
{
    mtx_lock(&s->lock);
    if (--s->access_users == 0)
        cnd_broadcast(&s->access_idle);
    mtx_unlock(&s->lock);
}

static rivet_error *no_controller(const char *tag)
{
    return rivet_error_create(RIVET_ERR_STATE,
                              "session: call to controller handler '%s': no "
                              "controller is attached", tag);
}

void rivet_session_call_controller(rivet_session *s, const char *tag,
                                   uint64_t call_id, rivet_wrapper_return_fn ret,
                                   void *return_ctx, const char *arg,
                                   size_t arg_size)
{
    rivet_controller_access a;
    if (!access_enter(s, &a)) {
        rivet_wrapper_result r = {NULL, 0, no_controller(tag)};
        ret(return_ctx, call_id, r);
        return;
    }
    a.call(a.ctx, tag, call_id, ret, return_ctx, arg, arg_size);
    access_leave(s);
}

typedef struct sync_answer {
    mtx_t lock;
    cnd_t answered;
    bool done;
    rivet_wrapper_result result;
} sync_answer;

static void receive_answer(void *ctx, uint64_t call_id, rivet_wrapper_result r)
{
    (void)call_id;
    sync_answer *a = ctx;
    mtx_lock(&a->lock);
    a->result = r;
    a->done = true;
    cnd_signal(&a->answered);
    mtx_unlock(&a->lock);
}

/* Async call plus a rendezvous, for accesses without call_sync. */
static rivet_error *call_and_wait(rivet_controller_access *a, const char *tag,
                                  const char *arg, size_t arg_size,
                                  char **result, size_t *result_size)
{
    sync_answer w = {.done = false};
    if (mtx_init(&w.lock, mtx_plain) != thrd_success)
        return rivet_error_create(RIVET_ERR_GENERIC, "session: cannot create lock");
    if (cnd_init(&w.answered) != thrd_success) {
        mtx_destroy(&w.lock);
        return rivet_error_create(RIVET_ERR_GENERIC,
                                  "session: cannot create condition");
    }
    a->call(a->ctx, tag, 0, receive_answer, &w, arg, arg_size);
    mtx_lock(&w.lock);
    while (!w.done)
        cnd_wait(&w.answered, &w.lock);
    mtx_unlock(&w.lock);
    cnd_destroy(&w.answered);
    mtx_destroy(&w.lock);
    *result = w.result.data;
    *result_size = w.result.size;
    return w.result.error;
}

rivet_error *rivet_session_call_controller_sync(rivet_session *s,
                                                const char *tag,
                                                const char *arg, size_t arg_size,
                                                char **result,
                                                size_t *result_size)
{
    rivet_controller_access a;
    *result = NULL;
    *result_size = 0;
    if (!access_enter(s, &a))
        return no_controller(tag);
    rivet_error *e = a.call_sync
                         ? a.call_sync(a.ctx, tag, arg, arg_size, result, result_size)
                         : call_and_wait(&a, tag, arg, arg_size, result, result_size);
    access_leave(s);
    return e;
}
