/*
 * executor/ci/sps_program.c — SPS interface of the program runner: the
 * run_initializers / run_finalizers action functions and the run_main /
 * run_function wrapper functions.
 */
#include <stdlib.h>

#include "executor/ci/ci.h"
#include "executor/services/services.h"

/* ------------------------------------------------------------------ actions */

/* (u64 dso_handle, range preinit, range init, range ctors, range fini,
 *  range dtors) */
static char *run_initializers(const char *arg, size_t arg_size)
{
    rivet_sps_reader r;
    rv_program_arrays a = {0};
    rivet_sps_reader_init(&r, arg, arg_size);
    rivet_sps_get_u64(&r, &a.dso_handle);
    rv_fn_array *arrays[] = {&a.preinit, &a.init, &a.ctors, &a.fini, &a.dtors};
    for (size_t i = 0; i < sizeof(arrays) / sizeof(arrays[0]); i++)
        rivet_sps_get_range(&r, &arrays[i]->start, &arrays[i]->end);
    if (!rivet_sps_reader_done(&r))
        return rv_ci_action_result(rv_ci_malformed("run_initializers"));
    return rv_ci_action_result(rv_program_run_initializers(&a));
}

/* (u64 dso_handle) */
static char *run_finalizers(const char *arg, size_t arg_size)
{
    uint64_t dso = 0;
    if (!rv_ci_get_u64s(arg, arg_size, &dso, 1))
        return rv_ci_action_result(rv_ci_malformed("run_finalizers"));
    return rv_ci_action_result(rv_program_run_finalizers(dso));
}

/* ---------------------------------------------------------------- wrappers */

static void return_u32(rivet_wrapper_return_fn ret, void *ctx, uint64_t call_id,
                       rivet_error *e, int value)
{
    rivet_sps_writer w;
    if (!rv_ci_expected_begin(ret, ctx, call_id, e, &w))
        return;
    rivet_sps_put_u32(&w, (uint32_t)value);
    rv_ci_return(ret, ctx, call_id, &w);
}

static void free_vector(char **v)
{
    for (size_t i = 0; v && v[i]; i++)
        free(v[i]);
    free(v);
}

/* A seq<string> as a NULL-terminated vector of writable copies (main may
 * modify its arguments). */
static bool get_vector(rivet_sps_reader *r, char ***out, size_t *count)
{
    uint64_t n;
    if (!rivet_sps_get_count(r, sizeof(uint64_t), &n))
        return false;
    char **v = calloc((size_t)n + 1, sizeof(*v));
    if (!v)
        return false;
    *out = v;
    for (size_t i = 0; i < n; i++)
        if (!rivet_sps_get_string_dup(r, &v[i]))
            return false;
    *count = (size_t)n;
    return true;
}

/* (u64 fn, seq<string> argv, seq<string> envp) -> expected<u32 status>.
 * An empty envp passes the executor's own environment. */
static void run_main_sps(rivet_session *s, uint64_t call_id,
                         rivet_wrapper_return_fn ret, void *ctx,
                         const char *arg, size_t arg_size)
{
    rivet_sps_reader r;
    uint64_t fn = 0;
    char **argv = NULL, **envp = NULL;
    size_t argc = 0, envc = 0;
    int status = 0;
    rivet_sps_reader_init(&r, arg, arg_size);
    bool ok = rivet_sps_get_u64(&r, &fn) && get_vector(&r, &argv, &argc) &&
              get_vector(&r, &envp, &envc) && rivet_sps_reader_done(&r);
    rivet_error *e = !ok ? rv_ci_malformed("run_main")
                         : rv_program_run_main(s, fn, (int)argc, argv,
                                               envc ? envp : NULL, &status);
    free_vector(argv);
    free_vector(envp);
    return_u32(ret, ctx, call_id, e, status);
}

/* (u64 fn) -> expected<u32 result> */
static void run_function_sps(rivet_session *s, uint64_t call_id,
                             rivet_wrapper_return_fn ret, void *ctx,
                             const char *arg, size_t arg_size)
{
    rivet_sps_reader r;
    uint64_t fn = 0;
    int result = 0;
    rivet_sps_reader_init(&r, arg, arg_size);
    rivet_sps_get_u64(&r, &fn);
    rivet_error *e = !rivet_sps_reader_done(&r)
                         ? rv_ci_malformed("run_function")
                         : rv_program_run_function(s, fn, &result);
    return_u32(ret, ctx, call_id, e, result);
}

rivet_error *rv_ci_sps_program_register(rivet_session *s)
{
    rivet_error *e = rivet_session_add_bootstrap_symbol(
        s, "rivet_run_initializers", (uint64_t)(uintptr_t)run_initializers);
    if (!e)
        e = rivet_session_add_bootstrap_symbol(
            s, "rivet_run_finalizers", (uint64_t)(uintptr_t)run_finalizers);
    if (!e)
        e = rivet_session_add_blocking_wrapper_function(s, "rivet_run_main_sps",
                                               run_main_sps);
    if (!e)
        e = rivet_session_add_blocking_wrapper_function(s, "rivet_run_function_sps",
                                               run_function_sps);
    return e;
}
