/*
 * executor/ci/sps_dylib.c — SPS wrapper functions of the dylib manager:
 * open a library, look up many names in one call.
 */
#include <stdlib.h>

#include "executor/ci/ci.h"

/* The instance argument must name this session's dylib manager (the
 * service is the manager's first member). */
static rivet_dylib_manager *dylib_instance(rivet_session *s, uint64_t addr,
                                           const char *call, rivet_error **e)
{
    return (rivet_dylib_manager *)rv_ci_instance(s, "dylib_manager", addr, call, e);
}

/* (u64 instance, optional<string> path) -> expected<u64 handle> */
static void open_sps(rivet_session *s, uint64_t call_id,
                     rivet_wrapper_return_fn ret, void *ctx, const char *arg,
                     size_t arg_size)
{
    rivet_sps_reader r;
    uint64_t instance = 0, handle = 0;
    bool has_path = false;
    char *path = NULL;
    rivet_sps_reader_init(&r, arg, arg_size);
    bool ok = rivet_sps_get_u64(&r, &instance) &&
              rivet_sps_get_bool(&r, &has_path) &&
              (!has_path || rivet_sps_get_string_dup(&r, &path)) &&
              rivet_sps_reader_done(&r);
    rivet_error *e = ok ? NULL : rv_ci_malformed("dylib open");
    rivet_dylib_manager *dm = ok ? dylib_instance(s, instance, "dylib open", &e)
                                 : NULL;
    if (dm)
        e = rivet_dylib_manager_open(dm, path, &handle);
    free(path);
    rv_ci_return_u64(ret, ctx, call_id, e, handle);
}

static void free_names(char **names, size_t count)
{
    for (size_t i = 0; names && i < count; i++)
        free(names[i]);
    free(names);
}

/* Names are copied to add the NUL that dlsym needs. */
static bool get_names(rivet_sps_reader *r, char ***names, size_t *count)
{
    uint64_t n;
    if (!rivet_sps_get_count(r, sizeof(uint64_t), &n))
        return false;
    *names = calloc(n ? n : 1, sizeof(**names));
    if (!*names)
        return false;
    for (*count = 0; *count < n; ++*count)
        if (!rivet_sps_get_string_dup(r, &(*names)[*count]))
            return false;
    return true;
}

static void put_addrs(rivet_session *s, uint64_t call_id,
                      rivet_wrapper_return_fn ret, void *ctx,
                      const uint64_t *addrs, size_t count)
{
    (void)s;
    rivet_sps_writer w;
    rivet_sps_writer_init(&w);
    rivet_sps_put_bool(&w, true);
    rivet_sps_put_u64(&w, count);
    for (size_t i = 0; i < count; i++)
        rivet_sps_put_u64(&w, addrs[i]);
    rv_ci_return(ret, ctx, call_id, &w);
}

/* (u64 instance, u64 handle, seq<string> names) -> expected<seq<u64>> */
static void lookup_sps(rivet_session *s, uint64_t call_id,
                       rivet_wrapper_return_fn ret, void *ctx, const char *arg,
                       size_t arg_size)
{
    rivet_sps_reader r;
    uint64_t instance = 0, handle = 0, *addrs = NULL;
    char **names = NULL;
    size_t count = 0;
    rivet_sps_reader_init(&r, arg, arg_size);
    bool ok = rivet_sps_get_u64(&r, &instance) && rivet_sps_get_u64(&r, &handle) &&
              get_names(&r, &names, &count) && rivet_sps_reader_done(&r) &&
              (addrs = malloc((count ? count : 1) * sizeof(*addrs))) != NULL;
    rivet_error *e = ok ? NULL : rv_ci_malformed("dylib lookup");
    rivet_dylib_manager *dm = ok ? dylib_instance(s, instance, "dylib lookup", &e)
                                 : NULL;
    if (dm)
        e = rivet_dylib_manager_lookup(dm, handle, (const char *const *)names,
                                       count, addrs);
    if (e)
        rv_ci_return_unexpected(ret, ctx, call_id, e);
    else
        put_addrs(s, call_id, ret, ctx, addrs, count);
    free(addrs);
    free_names(names, count);
}

rivet_error *rv_ci_sps_dylib_register(rivet_session *s, rivet_dylib_manager *dm)
{
    rivet_error *e = rivet_session_add_bootstrap_symbol(
        s, "rivet_dylib_manager", (uint64_t)(uintptr_t)dm);
    /* The process's own handle, opened now: a controller needs it first
     * and gets it from the setup frame instead of a call. */
    uint64_t process = 0;
    if (!e)
        e = rivet_dylib_manager_open(dm, NULL, &process);
    if (!e)
        e = rivet_session_add_bootstrap_symbol(s, "rivet_dylib_process", process);
    if (!e)
        e = rivet_session_add_wrapper_function(s, "rivet_dylib_open_sps", open_sps);
    if (!e)
        e = rivet_session_add_wrapper_function(s, "rivet_dylib_lookup_sps",
                                               lookup_sps);
    return e;
}
