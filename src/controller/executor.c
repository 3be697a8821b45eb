/*
 * controller/executor.c — the controller's typed calls into an executor
 * (controller/executor.h): encode the arguments in SPS, call the wrapper
 * function through ex->ops, decode the answer.
 *
 * Payload layouts are documented in docs/wire-protocol.md ("Wrapper
 * function payloads") and mirrored by executor/ci/ on the other side.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "controller/executor.h"
#include "rivet/sps.h"
#include "support/frame.h"

/* ---------------------------------------------------------------- binding */

static const struct {
    const char *name;
    size_t offset;
} bootstrap_names[] = {
    {"rivet_memory_map", offsetof(rv_executor_addrs, memory_map)},
    {"rivet_memory_map_reserve_sps", offsetof(rv_executor_addrs, reserve)},
    {"rivet_memory_map_initialize_sps", offsetof(rv_executor_addrs, initialize)},
    {"rivet_memory_map_deinitialize_multiple_sps",
     offsetof(rv_executor_addrs, deinitialize_multiple)},
    {"rivet_memory_map_release_multiple_sps",
     offsetof(rv_executor_addrs, release_multiple)},
    {"rivet_dylib_manager", offsetof(rv_executor_addrs, dylib_manager)},
    {"rivet_dylib_open_sps", offsetof(rv_executor_addrs, dylib_open)},
    {"rivet_dylib_lookup_sps", offsetof(rv_executor_addrs, dylib_lookup)},
    {"rivet_run_main_sps", offsetof(rv_executor_addrs, run_main)},
    {"rivet_run_function_sps", offsetof(rv_executor_addrs, run_function)},
    {"rivet_register_eh_frame", offsetof(rv_executor_addrs, register_eh_frame)},
    {"rivet_deregister_eh_frame",
     offsetof(rv_executor_addrs, deregister_eh_frame)},
    {"rivet_run_initializers", offsetof(rv_executor_addrs, run_initializers)},
    {"rivet_run_finalizers", offsetof(rv_executor_addrs, run_finalizers)},
    {"rivet_symbol_info_sps", offsetof(rv_executor_addrs, symbol_info)},
    {"rivet_copy_relocate", offsetof(rv_executor_addrs, copy_relocate)},
    {"rivet_copy_relocate_undo", offsetof(rv_executor_addrs, copy_relocate_undo)},
    {"rivet_tls_service", offsetof(rv_executor_addrs, tls_service)},
    {"rivet_tls_static_module", offsetof(rv_executor_addrs, tls_static_module)},
    {"rivet_tls_reserve_sps", offsetof(rv_executor_addrs, tls_reserve)},
    {"rivet_tls_release_sps", offsetof(rv_executor_addrs, tls_release)},
    {"rivet_tls_host_lookup_sps", offsetof(rv_executor_addrs, tls_host_lookup)},
    {"rivet_tls_register", offsetof(rv_executor_addrs, tls_register)},
    {"rivet_tls_unregister", offsetof(rv_executor_addrs, tls_unregister)},
    {"rivet_tls_get_addr", offsetof(rv_executor_addrs, tls_get_addr)},
    {"rivet_tls_desc_static", offsetof(rv_executor_addrs, tls_desc_static)},
    {"rivet_run_ifunc_resolvers", offsetof(rv_executor_addrs, run_ifunc_resolvers)},
};

rivet_error *rv_executor_bind(rivet_executor *ex,
                              bool (*lookup)(void *ctx, const char *name,
                                             uint64_t *addr),
                              void *ctx)
{
    rivet_error *missing = NULL;
    size_t n = sizeof(bootstrap_names) / sizeof(bootstrap_names[0]);
    for (size_t i = 0; i < n; i++) {
        uint64_t *slot = (uint64_t *)((char *)&ex->addrs + bootstrap_names[i].offset);
        if (!lookup(ctx, bootstrap_names[i].name, slot))
            missing = rivet_error_join(missing,
                rivet_error_create(RIVET_ERR_NOT_FOUND, "no bootstrap symbol '%s'",
                                   bootstrap_names[i].name));
    }
    if (missing)
        return rivet_error_wrap(missing, "executor: bind");
    if (lookup(ctx, "rivet_dylib_process", &ex->process_handle) &&
        ex->process_handle)
        return NULL;
    return rivet_error_wrap(rv_executor_open_library(ex, NULL,
                                                     &ex->process_handle),
                            "executor: bind");
}

rivet_error *rv_executor_ready(rivet_executor *ex)
{
    return ex->ops->ready ? ex->ops->ready(ex) : NULL;
}

/* Every helper below reads ex->addrs: connect first. */
#define NEED_READY(ex)                                                   \
    do {                                                                 \
        rivet_error *not_ready_ = rv_executor_ready(ex);                 \
        if (not_ready_)                                                  \
            return not_ready_;                                           \
    } while (0)

/* ------------------------------------------------------------ call helpers */

/* A decoded answer: the buffer and a reader over the value part. */
typedef struct answer {
    char *data;
    rivet_sps_reader r;
} answer;

/* Send the writer's bytes to `fn` and receive the answer bytes. */
static rivet_error *call(rivet_executor *ex, uint64_t fn, rivet_sps_writer *w,
                         answer *a)
{
    char *arg;
    size_t arg_size, size = 0;
    rivet_error *e = rivet_sps_writer_finish(w, &arg, &arg_size);
    if (e)
        return e;
    a->data = NULL;
    e = ex->ops->call(ex, fn, arg, arg_size, &a->data, &size);
    free(arg);
    if (!e)
        rivet_sps_reader_init(&a->r, a->data, size);
    return e;
}

/* The executor's failure message as an error. */
static rivet_error *executor_failure(const char *message, size_t n)
{
    return rivet_error_create(RIVET_ERR_EXECUTOR, "%.*s", (int)n, message);
}

/* An answer to expected<T> (or the failure `e` of getting it): on success
 * the reader is at T. */
static rivet_error *expect_value(rivet_error *e, answer *a)
{
    bool has_value = false;
    if (e || (rivet_sps_get_bool(&a->r, &has_value) && has_value))
        return e;
    const char *message;
    size_t n;
    e = rivet_sps_get_string(&a->r, &message, &n) && rivet_sps_reader_done(&a->r)
            ? executor_failure(message, n)
            : rivet_error_create(RIVET_ERR_PROTOCOL, "malformed answer");
    free(a->data);
    a->data = NULL;
    return e;
}

/* Call a wrapper answering expected<T>; on success the reader is at T. */
static rivet_error *call_expected(rivet_executor *ex, uint64_t fn,
                                  rivet_sps_writer *w, answer *a)
{
    return expect_value(call(ex, fn, w, a), a);
}

/* Finish decoding an answer: everything consumed, buffer freed. */
static rivet_error *finish(answer *a)
{
    bool done = rivet_sps_reader_done(&a->r);
    free(a->data);
    return done ? NULL
                : rivet_error_create(RIVET_ERR_PROTOCOL, "malformed answer");
}

/* Call a wrapper answering `error`. */
static rivet_error *call_error(rivet_executor *ex, uint64_t fn,
                               rivet_sps_writer *w)
{
    answer a;
    rivet_error *e = call(ex, fn, w, &a);
    if (e)
        return e;
    const char *message = NULL;
    size_t n = 0;
    bool ok = rivet_sps_get_error(&a.r, &message, &n) &&
              rivet_sps_reader_done(&a.r);
    e = !ok ? rivet_error_create(RIVET_ERR_PROTOCOL, "malformed answer")
        : message ? executor_failure(message, n)
                  : NULL;
    free(a.data);
    return e;
}

/* An answer to expected<u64>. */
static rivet_error *take_u64(rivet_error *e, answer *a, uint64_t *out)
{
    e = expect_value(e, a);
    if (e)
        return e;
    uint64_t v = 0;
    rivet_sps_get_u64(&a->r, &v);
    e = finish(a);
    if (!e)
        *out = v;
    return e;
}

/* Call a wrapper answering expected<u64>. */
static rivet_error *call_u64(rivet_executor *ex, uint64_t fn,
                             rivet_sps_writer *w, uint64_t *out)
{
    answer a;
    return take_u64(call(ex, fn, w, &a), &a, out);
}

/* ------------------------------------------------------- calls in flight */

struct rv_pending_call {
    mtx_t lock;
    cnd_t answered;
    bool done;
    rivet_wrapper_result result;
};

static void pending_answered(void *ctx, uint64_t call_id, rivet_wrapper_result r)
{
    (void)call_id;
    rv_pending_call *p = ctx;
    mtx_lock(&p->lock);
    p->result = r;
    p->done = true;
    cnd_signal(&p->answered);
    mtx_unlock(&p->lock);
}

/* Send the writer's bytes to `fn` without waiting for the answer (where
 * the transport can; otherwise the call is made now). */
static rivet_error *start_call(rivet_executor *ex, uint64_t fn,
                               rivet_sps_writer *w, rv_pending_call **out)
{
    char *arg;
    size_t arg_size;
    rivet_error *e = rivet_sps_writer_finish(w, &arg, &arg_size);
    if (e)
        return e;
    rv_pending_call *p = calloc(1, sizeof *p);
    if (!p) {
        free(arg);
        return rivet_error_create(RIVET_ERR_NOMEM, "out of memory");
    }
    mtx_init(&p->lock, mtx_plain);
    cnd_init(&p->answered);
    if (ex->ops->call_async) {
        ex->ops->call_async(ex, fn, arg, arg_size, pending_answered, p);
    } else {
        rivet_wrapper_result r = {0};
        r.error = ex->ops->call(ex, fn, arg, arg_size, &r.data, &r.size);
        pending_answered(p, 0, r);
    }
    free(arg);
    *out = p;
    return NULL;
}

/* Wait for the answer of a started call and free the call. */
static rivet_error *finish_call(rv_pending_call *p, answer *a)
{
    mtx_lock(&p->lock);
    while (!p->done)
        cnd_wait(&p->answered, &p->lock);
    mtx_unlock(&p->lock);
    rivet_wrapper_result r = p->result;
    mtx_destroy(&p->lock);
    cnd_destroy(&p->answered);
    free(p);
    a->data = r.data;
    if (!r.error)
        rivet_sps_reader_init(&a->r, r.data, r.size);
    return r.error;
}

static rivet_error *call_u32(rivet_executor *ex, uint64_t fn,
                             rivet_sps_writer *w, uint32_t *out)
{
    answer a;
    rivet_error *e = call_expected(ex, fn, w, &a);
    if (e)
        return e;
    uint32_t v = 0;
    rivet_sps_get_u32(&a.r, &v);
    e = finish(&a);
    if (!e)
        *out = v;
    return e;
}

/* ------------------------------------------------------------ memory map */

static void put_reserve(rivet_sps_writer *w, rivet_executor *ex, uint64_t size,
                        rivet_placement placement)
{
    rivet_sps_writer_init(w);
    rivet_sps_put_u64(w, ex->addrs.memory_map);
    rivet_sps_put_u64(w, size);
    rivet_sps_put_u8(w, (uint8_t)placement);
}

rivet_error *rv_executor_reserve(rivet_executor *ex, uint64_t size,
                                 rivet_placement placement, uint64_t *addr)
{
    NEED_READY(ex);
    rivet_sps_writer w;
    put_reserve(&w, ex, size, placement);
    return rivet_error_wrap(call_u64(ex, ex->addrs.reserve, &w, addr),
                            "executor: reserve");
}

rivet_error *rv_executor_reserve_start(rivet_executor *ex, uint64_t size,
                                       rivet_placement placement,
                                       rv_pending_call **call)
{
    NEED_READY(ex);
    rivet_sps_writer w;
    put_reserve(&w, ex, size, placement);
    return rivet_error_wrap(start_call(ex, ex->addrs.reserve, &w, call),
                            "executor: reserve");
}

rivet_error *rv_executor_reserve_finish(rv_pending_call *call, uint64_t *addr)
{
    answer a;
    return rivet_error_wrap(take_u64(finish_call(call, &a), &a, addr),
                            "executor: reserve");
}

static void put_segment(rivet_sps_writer *w, const rivet_segment *seg)
{
    rivet_sps_put_u8(w, seg->prot);
    rivet_sps_put_bool(w, seg->in_place);
    rivet_sps_put_u64(w, seg->addr);
    rivet_sps_put_u64(w, seg->size);
    /* In place, the bytes are already at addr: send none. */
    if (seg->in_place)
        rivet_sps_put_string(w, NULL, 0);
    else
        rivet_sps_put_string(w, seg->content, (size_t)seg->content_size);
}

static void put_action_call(rivet_sps_writer *w, const rivet_action_call *c)
{
    rivet_sps_put_u64(w, c->fn);
    rivet_sps_put_string(w, c->arg, c->arg_size);
}

rivet_error *rv_executor_initialize(rivet_executor *ex,
                                    const rivet_initialize_request *req,
                                    uint64_t *region)
{
    NEED_READY(ex);
    rivet_sps_writer w;
    rivet_sps_writer_init(&w);
    rivet_sps_put_u64(&w, ex->addrs.memory_map);
    rivet_sps_put_u64(&w, req->segment_count);
    for (size_t i = 0; i < req->segment_count; i++)
        put_segment(&w, &req->segments[i]);
    rivet_sps_put_u64(&w, req->action_count);
    for (size_t i = 0; i < req->action_count; i++) {
        put_action_call(&w, &req->actions[i].finalize);
        put_action_call(&w, &req->actions[i].dealloc);
    }
    return rivet_error_wrap(call_u64(ex, ex->addrs.initialize, &w, region),
                            "executor: initialize");
}

/* (u64 instance, seq<u64>) -> error */
static rivet_error *call_batch(rivet_executor *ex, uint64_t fn,
                               const uint64_t *addrs, size_t count)
{
    rivet_sps_writer w;
    rivet_sps_writer_init(&w);
    rivet_sps_put_u64(&w, ex->addrs.memory_map);
    rivet_sps_put_u64(&w, count);
    for (size_t i = 0; i < count; i++)
        rivet_sps_put_u64(&w, addrs[i]);
    return call_error(ex, fn, &w);
}

rivet_error *rv_executor_deinitialize_multiple(rivet_executor *ex,
                                               const uint64_t *regions,
                                               size_t count)
{
    NEED_READY(ex);
    return rivet_error_wrap(call_batch(ex, ex->addrs.deinitialize_multiple,
                                       regions, count),
                            "executor: deinitialize");
}

rivet_error *rv_executor_release_multiple(rivet_executor *ex,
                                          const uint64_t *slabs, size_t count)
{
    NEED_READY(ex);
    return rivet_error_wrap(call_batch(ex, ex->addrs.release_multiple, slabs,
                                       count),
                            "executor: release");
}

/* ----------------------------------------------------------------- dylibs */

rivet_error *rv_executor_open_library(rivet_executor *ex, const char *path,
                                      uint64_t *handle)
{
    NEED_READY(ex);
    rivet_sps_writer w;
    rivet_sps_writer_init(&w);
    rivet_sps_put_u64(&w, ex->addrs.dylib_manager);
    rivet_sps_put_bool(&w, path != NULL);
    if (path)
        rivet_sps_put_cstring(&w, path);
    return rivet_error_wrap(call_u64(ex, ex->addrs.dylib_open, &w, handle),
                            "executor: open library %s",
                            path ? path : "(process)");
}

static rivet_error *lookup(rivet_executor *ex, uint64_t handle,
                           const char *const *names, size_t count,
                           uint64_t *addrs)
{
    rivet_sps_writer w;
    rivet_sps_writer_init(&w);
    rivet_sps_put_u64(&w, ex->addrs.dylib_manager);
    rivet_sps_put_u64(&w, handle);
    rivet_sps_put_u64(&w, count);
    for (size_t i = 0; i < count; i++)
        rivet_sps_put_cstring(&w, names[i]);
    answer a;
    rivet_error *e = call_expected(ex, ex->addrs.dylib_lookup, &w, &a);
    if (e)
        return e;
    uint64_t n = 0;
    if (rivet_sps_get_count(&a.r, sizeof(uint64_t), &n) && n != count)
        a.r.bad = true; /* an answer of the wrong length */
    for (size_t i = 0; i < count && !a.r.bad; i++)
        rivet_sps_get_u64(&a.r, &addrs[i]);
    return finish(&a);
}

rivet_error *rv_executor_lookup_in_library(rivet_executor *ex, uint64_t handle,
                                           const char *const *names,
                                           size_t count, uint64_t *addrs)
{
    NEED_READY(ex);
    return rivet_error_wrap(lookup(ex, handle, names, count, addrs),
                            "executor: lookup");
}

rivet_error *rv_executor_lookup_symbols(rivet_executor *ex,
                                        const char *const *names, size_t count,
                                        uint64_t *addrs)
{
    NEED_READY(ex);
    return rv_executor_lookup_in_library(ex, ex->process_handle, names, count,
                                         addrs);
}

/* ---------------------------------------------------------------- running */

static void put_vector(rivet_sps_writer *w, char *const *v, size_t n)
{
    rivet_sps_put_u64(w, n);
    for (size_t i = 0; i < n; i++)
        rivet_sps_put_cstring(w, v[i]);
}

static size_t vector_length(char *const *v)
{
    size_t n = 0;
    while (v && v[n])
        n++;
    return n;
}

rivet_error *rv_executor_run_main(rivet_executor *ex, uint64_t fn, int argc,
                                  char *const *argv, char *const *envp,
                                  int *status)
{
    NEED_READY(ex);
    rivet_sps_writer w;
    rivet_sps_writer_init(&w);
    rivet_sps_put_u64(&w, fn);
    put_vector(&w, argv, argc > 0 && argv ? (size_t)argc : 0);
    put_vector(&w, envp, vector_length(envp));
    uint32_t v = 0;
    rivet_error *e = call_u32(ex, ex->addrs.run_main, &w, &v);
    if (!e)
        *status = (int)v;
    return rivet_error_wrap(e, "executor: run main");
}

rivet_error *rv_executor_run_function(rivet_executor *ex, uint64_t fn,
                                      int *result)
{
    NEED_READY(ex);
    rivet_sps_writer w;
    rivet_sps_writer_init(&w);
    rivet_sps_put_u64(&w, fn);
    uint32_t v = 0;
    rivet_error *e = call_u32(ex, ex->addrs.run_function, &w, &v);
    if (!e)
        *result = (int)v;
    return rivet_error_wrap(e, "executor: run function");
}

/* ---------------------------------------------------------- symbol info */

rivet_error *rv_executor_symbol_info(rivet_executor *ex, const uint64_t *addrs,
                                     size_t count, uint64_t *sizes,
                                     uint8_t *types)
{
    NEED_READY(ex);
    rivet_sps_writer w;
    rivet_sps_writer_init(&w);
    rivet_sps_put_u64(&w, count);
    for (size_t i = 0; i < count; i++)
        rivet_sps_put_u64(&w, addrs[i]);
    answer a;
    rivet_error *e = call_expected(ex, ex->addrs.symbol_info, &w, &a);
    if (e)
        return rivet_error_wrap(e, "executor: symbol info");
    uint64_t n = 0;
    if (rivet_sps_get_count(&a.r, 9, &n) && n != count)
        a.r.bad = true;
    for (size_t i = 0; i < count && !a.r.bad; i++) {
        rivet_sps_get_u64(&a.r, &sizes[i]);
        rivet_sps_get_u8(&a.r, &types[i]);
    }
    return rivet_error_wrap(finish(&a), "executor: symbol info");
}

/* ------------------------------------------------------------------- TLS */

rivet_error *rv_executor_tls_reserve(rivet_executor *ex, uint64_t size,
                                     uint64_t align, uint64_t *key,
                                     uint64_t *module, int64_t *tpoff)
{
    NEED_READY(ex);
    rivet_sps_writer w;
    rivet_sps_writer_init(&w);
    rivet_sps_put_u64(&w, ex->addrs.tls_service);
    rivet_sps_put_u64(&w, size);
    rivet_sps_put_u64(&w, align);
    answer a;
    rivet_error *e = call_expected(ex, ex->addrs.tls_reserve, &w, &a);
    if (e)
        return rivet_error_wrap(e, "executor: tls reserve");
    rivet_sps_get_u64(&a.r, key);
    rivet_sps_get_u64(&a.r, module);
    rivet_sps_get_i64(&a.r, tpoff);
    return rivet_error_wrap(finish(&a), "executor: tls reserve");
}

rivet_error *rv_executor_tls_release(rivet_executor *ex, uint64_t key)
{
    NEED_READY(ex);
    rivet_sps_writer w;
    rivet_sps_writer_init(&w);
    rivet_sps_put_u64(&w, ex->addrs.tls_service);
    rivet_sps_put_u64(&w, key);
    return rivet_error_wrap(call_error(ex, ex->addrs.tls_release, &w),
                            "executor: tls release");
}

static char *dup_text(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = 0;
    }
    return p;
}

void rv_host_tls_info_free(rv_host_tls_info *info, size_t count)
{
    for (size_t i = 0; info && i < count; i++) {
        free(info[i].library);
        free(info[i].why);
        info[i].library = info[i].why = NULL;
    }
}

rivet_error *rv_executor_tls_host_lookup(rivet_executor *ex,
                                         const char *const *names,
                                         size_t count, rv_host_tls_info *out)
{
    NEED_READY(ex);
    rivet_sps_writer w;
    rivet_sps_writer_init(&w);
    rivet_sps_put_u64(&w, ex->addrs.tls_service);
    rivet_sps_put_u64(&w, count);
    for (size_t i = 0; i < count; i++)
        rivet_sps_put_string(&w, names[i], strlen(names[i]));
    memset(out, 0, count * sizeof *out);
    answer a;
    rivet_error *e = call_expected(ex, ex->addrs.tls_host_lookup, &w, &a);
    if (e)
        return rivet_error_wrap(e, "executor: tls host lookup");
    uint64_t n = 0;
    if (rivet_sps_get_count(&a.r, 42, &n) && n != count)
        a.r.bad = true;
    bool nomem = false;
    for (size_t i = 0; i < count && !a.r.bad; i++) {
        const char *lib = NULL, *why = NULL;
        size_t lib_n = 0, why_n = 0;
        rivet_sps_get_bool(&a.r, &out[i].found);
        rivet_sps_get_bool(&a.r, &out[i].is_static);
        rivet_sps_get_u64(&a.r, &out[i].module);
        rivet_sps_get_u64(&a.r, &out[i].offset);
        rivet_sps_get_i64(&a.r, &out[i].tpoff);
        if (!rivet_sps_get_string(&a.r, &lib, &lib_n) ||
            !rivet_sps_get_string(&a.r, &why, &why_n))
            break;
        out[i].library = dup_text(lib, lib_n);
        out[i].why = dup_text(why, why_n);
        nomem |= !out[i].library || !out[i].why;
    }
    e = finish(&a);
    if (!e && nomem)
        e = rivet_error_create(RIVET_ERR_NOMEM, "out of memory");
    if (e)
        rv_host_tls_info_free(out, count);
    return rivet_error_wrap(e, "executor: tls host lookup");
}

/* --------------------------------------------------------------- handlers */

rivet_error *rv_executor_init_base(rivet_executor *ex)
{
    if (mtx_init(&ex->handlers_lock, mtx_plain) != thrd_success)
        return rivet_error_create(RIVET_ERR_GENERIC, "executor: cannot create lock");
    return NULL;
}

void rv_executor_free_base(rivet_executor *ex)
{
    for (size_t i = 0; i < ex->handler_count; i++)
        free(ex->handlers[i].tag);
    free(ex->handlers);
    mtx_destroy(&ex->handlers_lock);
}

rivet_error *rivet_executor_register_handler(rivet_executor *ex,
                                             const char *tag,
                                             rivet_handler_fn fn, void *ctx)
{
    uint64_t hash = rv_tag_hash(tag);
    rivet_error *e = NULL;
    mtx_lock(&ex->handlers_lock);
    for (size_t i = 0; i < ex->handler_count && !e; i++)
        if (ex->handlers[i].hash == hash)
            e = rivet_error_create(RIVET_ERR_DUPLICATE,
                                   "executor: handler tag '%s' is taken (by '%s')",
                                   tag, ex->handlers[i].tag);
    rv_handler *grown = e ? NULL
                          : realloc(ex->handlers,
                                    (ex->handler_count + 1) * sizeof(*grown));
    char *copy = grown ? strdup(tag) : NULL;
    if (grown)
        ex->handlers = grown;
    if (!e && !copy)
        e = rivet_error_create(RIVET_ERR_NOMEM, "executor: out of memory");
    if (!e)
        ex->handlers[ex->handler_count++] = (rv_handler){copy, hash, fn, ctx};
    mtx_unlock(&ex->handlers_lock);
    return e;
}

void rv_executor_call_handler(rivet_executor *ex, uint64_t tag_hash,
                              uint64_t call_id, rivet_wrapper_return_fn ret,
                              void *return_ctx, const char *arg,
                              size_t arg_size)
{
    rv_handler h = {NULL, 0, NULL, NULL};
    mtx_lock(&ex->handlers_lock);
    for (size_t i = 0; i < ex->handler_count && !h.fn; i++)
        if (ex->handlers[i].hash == tag_hash)
            h = ex->handlers[i];
    mtx_unlock(&ex->handlers_lock);
    if (!h.fn) {
        rivet_wrapper_result r = {NULL, 0, NULL};
        r.error = rivet_error_create(RIVET_ERR_NOT_FOUND,
                                     "no handler registered for tag 0x%016llx",
                                     (unsigned long long)tag_hash);
        ret(return_ctx, call_id, r);
        return;
    }
    h.fn(h.ctx, call_id, ret, return_ctx, arg, arg_size);
}

rivet_error *rivet_executor_exit(rivet_executor *ex, int status)
{
    return ex->ops->exit ? ex->ops->exit(ex, status) : NULL;
}

bool rivet_executor_exit_status(rivet_executor *ex, int *wait_status)
{
    return ex->ops->exit_status && ex->ops->exit_status(ex, wait_status);
}
