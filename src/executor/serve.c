/*
 * executor/serve.c — rivet_session_serve: a session answering one
 * controller over a stream socket (rivet/rt.h; frames in
 * docs/wire-protocol.md).
 *
 * Threads: the thread that called serve (the "serving thread", the
 * executor's main thread) reads the connection itself while it is idle;
 * a reader thread started here reads while it runs JIT'd code (and JIT'd
 * code waiting for the controller reads too: support/channel.h). Whoever
 * reads runs quick wrappers inline and answers from that thread — no
 * hand-over on the reply path. Blocking wrappers (JIT'd code) go to the
 * serving thread when it is idle — constructors, main and destructors then
 * run on one thread, as in a native program — and to a fresh thread when
 * it is busy, so a long run_main never stops other calls. A blocking call
 * that the idle serving thread read itself runs there at once, with no
 * thread hand-over (the reader thread waits for data without holding the
 * socket, so the serving thread reads again as soon as a job ends); one
 * the reader thread read is handed over. Every queued call holds a
 * session keepalive until it has answered.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <threads.h>

#include "executor/serve.h"
#include "support/channel.h"
#include "support/frame.h"
#include "sys/sys.h"

typedef struct job {
    rivet_session *session;
    rv_channel *ch;
    uint64_t target, call_id;
    char *arg;
    size_t arg_size;
} job;

typedef struct server {
    rivet_session *session;
    rv_channel *ch;
    const rivet_serve_options *opts;
    rv_serve_tick tick;
    mtx_t lock;
    job *queued;    /* for the serving thread; at most one */
    bool main_busy; /* the serving thread has (or is about to run) a job */
    atomic_bool main_stop; /* stop reading: a job is queued */
} server;

static void finish_job(job *j)
{
    rivet_session_keepalive_release(j->session);
    free(j->arg);
    free(j);
}

static void run_job(job *j)
{
    rivet_session_call_wrapper(j->session, j->target, j->call_id,
                               rv_channel_return, j->ch, j->arg, j->arg_size);
    finish_job(j);
}

/* The serving thread is free again *before* its answer goes out: the
 * controller's next blocking call (the exit after main, say) must find it
 * free, so it runs on the thread whose thread-locals main used. */
static void return_from_main(void *ctx, uint64_t call_id,
                             rivet_wrapper_result result)
{
    server *sv = ctx;
    mtx_lock(&sv->lock);
    sv->main_busy = false;
    mtx_unlock(&sv->lock);
    rv_channel_return(sv->ch, call_id, result);
}

static void run_job_on_main(server *sv, job *j)
{
    rivet_session_call_wrapper(j->session, j->target, j->call_id,
                               return_from_main, sv, j->arg, j->arg_size);
    finish_job(j);
}

static void run_job_on_thread(void *p)
{
    run_job(p);
}

/* Hand a blocking call to the serving thread, or to a new thread. */
static void dispatch_blocking(server *sv, job *j)
{
    mtx_lock(&sv->lock);
    bool to_main = !sv->main_busy;
    if (to_main) {
        sv->main_busy = true;
        sv->queued = j;
    }
    mtx_unlock(&sv->lock);
    if (to_main) {
        rv_channel_stop_reading(sv->ch, &sv->main_stop);
        return;
    }
    rivet_error *e = rv_sys_start_thread(run_job_on_thread, j);
    if (e) {
        rivet_wrapper_result r = {NULL, 0, e};
        rv_channel_return(j->ch, j->call_id, r);
        rivet_session_keepalive_release(j->session);
        free(j->arg);
        free(j);
    }
}

static rivet_error *on_call(void *ctx, rv_channel *ch, uint64_t call_id,
                            uint64_t target, char *arg, size_t arg_size)
{
    server *sv = ctx;
    if (!rivet_session_is_wrapper_function(sv->session, target)) {
        free(arg);
        return rivet_error_create(RIVET_ERR_PROTOCOL,
                                  "call to 0x%llx, which is not a wrapper "
                                  "function of the bootstrap table",
                                  (unsigned long long)target);
    }
    if (!rivet_session_wrapper_blocks(sv->session, target)) {
        rivet_session_call_wrapper(sv->session, target, call_id,
                                   rv_channel_return, ch, arg, arg_size);
        free(arg);
        return NULL;
    }
    rivet_error *e = rivet_session_keepalive_acquire(sv->session);
    job *j = e ? NULL : malloc(sizeof(*j));
    if (!j) {
        if (!e) {
            rivet_session_keepalive_release(sv->session);
            e = rivet_error_create(RIVET_ERR_NOMEM, "out of memory");
        }
        free(arg);
        rivet_wrapper_result r = {NULL, 0, e};
        rv_channel_return(ch, call_id, r);
        return NULL;
    }
    *j = (job){sv->session, ch, target, call_id, arg, arg_size};
    dispatch_blocking(sv, j);
    return NULL;
}

/* ------------------------------------------------ calls to the controller */

static void access_call(void *ctx, const char *tag, uint64_t call_id,
                        rivet_wrapper_return_fn ret, void *return_ctx,
                        const char *arg, size_t arg_size)
{
    rv_channel_call(ctx, rv_tag_hash(tag), arg, arg_size, ret, return_ctx,
                    call_id);
}

static rivet_error *access_call_sync(void *ctx, const char *tag,
                                     const char *arg, size_t arg_size,
                                     char **result, size_t *result_size)
{
    return rivet_error_wrap(rv_channel_call_sync(ctx, rv_tag_hash(tag), arg,
                                                 arg_size, result, result_size),
                            "call to controller handler '%s'", tag);
}

static void on_tick(void *ctx)
{
    server *sv = ctx;
    sv->tick.fn(sv->tick.ctx);
}

/* ------------------------------------------------------------------ setup */

static rivet_error *send_setup(rivet_session *s, int fd)
{
    size_t n = rivet_session_bootstrap_symbol_count(s);
    const char **names = calloc(n ? n : 1, sizeof(*names));
    uint64_t *addrs = calloc(n ? n : 1, sizeof(*addrs));
    char *payload = NULL;
    size_t size = 0;
    rivet_error *e = names && addrs ? NULL
                                    : rivet_error_create(RIVET_ERR_NOMEM,
                                                         "out of memory");
    for (size_t i = 0; !e && i < n; i++)
        rivet_session_bootstrap_symbol_at(s, i, &names[i], &addrs[i]);
    if (!e)
        e = rv_setup_encode(rv_sys_target_triple(), rv_sys_page_size(), n,
                            names, addrs, &payload, &size);
    if (!e)
        e = rv_frame_write(fd, RV_FRAME_SETUP, 0, 0, payload, size);
    free(payload);
    free(names);
    free(addrs);
    return rivet_error_wrap(e, "sending the setup frame");
}

/* ---------------------------------------------------------------- serving */

static int reader_main(void *p)
{
    server *sv = p;
    rv_channel_run(sv->ch);
    rivet_session_detach(sv->session);
    rivet_error *why = rv_channel_end_error(sv->ch);
    if (sv->opts && sv->opts->on_end)
        sv->opts->on_end(sv->opts->ctx, why);
    rivet_error_free(why);
    return 0;
}

/* The serving thread: read while idle, run the blocking calls queued for
 * it, until the connection has ended. */
static void serve_blocking_calls(server *sv)
{
    bool open = true;
    for (;;) {
        if (open)
            open = rv_channel_read_until(sv->ch, &sv->main_stop);
        mtx_lock(&sv->lock);
        job *j = sv->queued;
        sv->queued = NULL;
        atomic_store(&sv->main_stop, false); /* main_busy holds off others */
        if (!j && !open)
            sv->main_busy = true; /* later calls get threads of their own */
        mtx_unlock(&sv->lock);
        if (!j && !open)
            break;
        if (j)
            run_job_on_main(sv, j);
    }
}

rivet_error *rivet_session_serve(rivet_session *s, int fd,
                                 const rivet_serve_options *opts)
{
    return rv_session_serve_ticking(s, fd, opts, NULL);
}

rivet_error *rv_session_serve_ticking(rivet_session *s, int fd,
                                      const rivet_serve_options *opts,
                                      const rv_serve_tick *tick)
{
    server sv = {.session = s, .opts = opts};
    atomic_init(&sv.main_stop, false);
    if (mtx_init(&sv.lock, mtx_plain) != thrd_success)
        return rivet_error_create(RIVET_ERR_GENERIC, "serve: cannot create lock");
    /* The reader thread reads only while the serving thread runs a job;
     * when that ends, the serving thread reads the next call itself. */
    rv_channel_config cfg = {.fd = fd, .peer = "controller", .ctx = &sv,
                             .on_call = on_call, .reader_polls = true};
    if (tick) {
        cfg.on_tick = on_tick;
        cfg.tick_ms = tick->period_ms;
        sv.tick = *tick;
    }
    rivet_error *e = rv_channel_create(&cfg, &sv.ch);
    if (!e)
        e = send_setup(s, fd);
    thrd_t reader;
    bool started = false;
    if (!e) {
        rivet_controller_access access = {sv.ch, access_call, access_call_sync};
        rivet_session_set_controller_access(s, &access);
        rivet_session_attach(s);
        started = thrd_create(&reader, reader_main, &sv) == thrd_success;
        if (!started)
            e = rivet_error_create(RIVET_ERR_GENERIC, "serve: cannot start reader");
    }
    if (started) {
        serve_blocking_calls(&sv);
        thrd_join(reader, NULL);
        e = rv_channel_end_error(sv.ch);
    }
    if (sv.ch) {
        rivet_session_set_controller_access(s, NULL);
        rv_channel_release(sv.ch);
    }
    if (!started)
        rivet_session_detach(s);
    mtx_destroy(&sv.lock);
    return rivet_error_wrap(e, "serving the controller");
}
