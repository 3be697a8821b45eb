/*
 * controller/executor_in_process.c — an executor in the controller's own
 * process: calls go straight to rivet_session_call_wrapper. A wrapper may
 * answer before returning (the usual case) or later from another thread,
 * so every call waits on a small rendezvous.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <threads.h>

#include "controller/executor.h"
#include "support/frame.h"
#include "sys/sys.h"

typedef struct in_process_executor {
    rivet_executor base; /* first: the public handle points here */
    rivet_session *session;
    bool owns_session;
    _Atomic uint64_t next_call_id;
} in_process_executor;

typedef struct pending_call {
    mtx_t lock;
    cnd_t answered;
    bool done;
    rivet_wrapper_result result;
} pending_call;

static void receive_result(void *ctx, uint64_t call_id, rivet_wrapper_result r)
{
    (void)call_id;
    pending_call *p = ctx;
    mtx_lock(&p->lock);
    p->result = r;
    p->done = true;
    cnd_signal(&p->answered);
    mtx_unlock(&p->lock); /* the waiter may free p from here on */
}

static rivet_error *in_process_call(rivet_executor *ex, uint64_t fn,
                                    const char *arg, size_t arg_size,
                                    char **result, size_t *result_size)
{
    in_process_executor *ipe = (in_process_executor *)ex;
    pending_call p = {.done = false};
    if (mtx_init(&p.lock, mtx_plain) != thrd_success)
        return rivet_error_create(RIVET_ERR_GENERIC, "cannot create lock");
    if (cnd_init(&p.answered) != thrd_success) {
        mtx_destroy(&p.lock);
        return rivet_error_create(RIVET_ERR_GENERIC, "cannot create condition");
    }
    uint64_t id = atomic_fetch_add(&ipe->next_call_id, 1);
    rivet_session_call_wrapper(ipe->session, fn, id, receive_result, &p, arg,
                               arg_size);
    mtx_lock(&p.lock);
    while (!p.done)
        cnd_wait(&p.answered, &p.lock);
    mtx_unlock(&p.lock);
    cnd_destroy(&p.answered);
    mtx_destroy(&p.lock);
    *result = p.result.data;
    *result_size = p.result.size;
    return p.result.error;
}

static void in_process_destroy(rivet_executor *ex)
{
    in_process_executor *ipe = (in_process_executor *)ex;
    rivet_session_set_controller_access(ipe->session, NULL);
    if (ipe->owns_session)
        rivet_session_destroy(ipe->session);
    rv_executor_free_base(ex);
    free(ipe);
}

/* Executor -> controller calls: straight to the registered handler. */
static void access_call(void *ctx, const char *tag, uint64_t call_id,
                        rivet_wrapper_return_fn ret, void *return_ctx,
                        const char *arg, size_t arg_size)
{
    rv_executor_call_handler(ctx, rv_tag_hash(tag), call_id, ret, return_ctx,
                             arg, arg_size);
}

static const rv_executor_ops in_process_ops = {
    .call = in_process_call,
    .destroy = in_process_destroy,
};

static bool lookup_bootstrap(void *ctx, const char *name, uint64_t *addr)
{
    return rivet_session_lookup_bootstrap_symbol(ctx, name, addr);
}

rivet_error *rivet_executor_create_for_session(rivet_session *s,
                                               rivet_executor **out)
{
    in_process_executor *ipe = calloc(1, sizeof(*ipe));
    if (!ipe)
        return rivet_error_create(RIVET_ERR_NOMEM, "executor: out of memory");
    rivet_error *e = rv_executor_init_base(&ipe->base);
    if (e) {
        free(ipe);
        return e;
    }
    ipe->base.ops = &in_process_ops;
    ipe->base.page_size = rv_sys_page_size();
    ipe->base.in_process = true;
    ipe->session = s;
    atomic_init(&ipe->next_call_id, 1);
    rivet_session_attach(s);
    e = rv_executor_bind(&ipe->base, lookup_bootstrap, s);
    if (e) {
        rv_executor_free_base(&ipe->base);
        free(ipe);
        return e;
    }
    rivet_controller_access access = {&ipe->base, access_call, NULL};
    rivet_session_set_controller_access(s, &access);
    *out = &ipe->base;
    return NULL;
}

rivet_error *rivet_executor_create_in_process(rivet_executor **out)
{
    rivet_session *s;
    rivet_error *e = rivet_session_create(&s);
    if (e)
        return rivet_error_wrap(e, "executor");
    e = rivet_session_add_standard_services(s);
    if (!e)
        e = rivet_executor_create_for_session(s, out);
    if (e) {
        rivet_session_destroy(s);
        return rivet_error_wrap(e, "executor");
    }
    ((in_process_executor *)*out)->owns_session = true;
    return NULL;
}

void rivet_executor_destroy(rivet_executor *ex)
{
    if (ex)
        ex->ops->destroy(ex);
}
