/*
 * executor/ci/sps_tls.c — SPS interface of the TLS service and of IFUNC
 * resolution (payloads in docs/tls.md):
 *
 *   rivet_tls_reserve_sps   (u64 instance, u64 size, u64 align)
 *                             -> expected<(u64 key, u64 module, i64 tpoff)>
 *   rivet_tls_release_sps   (u64 instance, u64 key) -> error
 *   rivet_tls_host_lookup_sps  (u64 instance, seq<string> names)
 *                             -> expected<seq<(bool found, bool static,
 *                                u64 module, u64 offset, i64 tpoff,
 *                                string library, string why)>>
 *   rivet_tls_register      action (u64 key, u64 image, u64 image_size)
 *   rivet_tls_unregister    action (u64 key)
 *   rivet_run_ifunc_resolvers  action seq<(u64 resolver, u64 slot)>
 *
 * the value rivet_tls_static_module (the module id of every rivet block),
 * and two plain addresses JIT'd code calls: rivet_tls_get_addr (bound to
 * __tls_get_addr) and rivet_tls_desc_static (the TLS descriptor function).
 */
#include <stdlib.h>

#include <string.h>

#include "executor/ci/ci.h"
#include "executor/services/services.h"
#include "sys/sys.h"


static void reserve_sps(rivet_session *s, uint64_t call_id,
                        rivet_wrapper_return_fn ret, void *ctx, const char *arg,
                        size_t arg_size)
{
    rivet_sps_reader r;
    uint64_t instance = 0, size = 0, align = 0;
    rivet_sps_reader_init(&r, arg, arg_size);
    rivet_sps_get_u64(&r, &instance);
    rivet_sps_get_u64(&r, &size);
    rivet_sps_get_u64(&r, &align);
    if (!rivet_sps_reader_done(&r)) {
        rv_ci_return_unexpected(ret, ctx, call_id, rv_ci_malformed("tls reserve"));
        return;
    }
    rv_tls_reservation res;
    rivet_error *e = NULL;
    rivet_service *svc = rv_ci_instance(s, "tls", instance, "tls reserve", &e);
    if (svc)
        e = rv_tls_reserve(svc, size, align, &res);
    rivet_sps_writer w;
    if (!rv_ci_expected_begin(ret, ctx, call_id, e, &w))
        return;
    rivet_sps_put_u64(&w, res.key);
    rivet_sps_put_u64(&w, res.module);
    rivet_sps_put_i64(&w, res.tpoff);
    rv_ci_return(ret, ctx, call_id, &w);
}

static void release_sps(rivet_session *s, uint64_t call_id,
                        rivet_wrapper_return_fn ret, void *ctx, const char *arg,
                        size_t arg_size)
{
    rivet_sps_reader r;
    uint64_t instance = 0, key = 0;
    rivet_sps_reader_init(&r, arg, arg_size);
    rivet_sps_get_u64(&r, &instance);
    rivet_sps_get_u64(&r, &key);
    rivet_error *e = rivet_sps_reader_done(&r) ? NULL : rv_ci_malformed("tls release");
    if (!e && rv_ci_instance(s, "tls", instance, "tls release", &e))
        e = rv_tls_release(key);
    rv_ci_return_error(ret, ctx, call_id, e);
}

static void free_names(char **names, size_t count)
{
    for (size_t i = 0; names && i < count; i++)
        free(names[i]);
    free(names);
}

/* Thread-locals of the executor's own libraries (docs/tls.md). */
static void host_lookup_sps(rivet_session *s, uint64_t call_id,
                            rivet_wrapper_return_fn ret, void *ctx,
                            const char *arg, size_t arg_size)
{
    rivet_sps_reader r;
    uint64_t instance = 0, n = 0;
    size_t count = 0;
    char **names = NULL;
    rv_sys_host_tls *info = NULL;
    rivet_sps_reader_init(&r, arg, arg_size);
    bool ok = rivet_sps_get_u64(&r, &instance) &&
              rivet_sps_get_count(&r, sizeof(uint64_t), &n) &&
              (names = calloc(n ? n : 1, sizeof *names)) != NULL;
    for (; ok && count < n; count++)
        ok = rivet_sps_get_string_dup(&r, &names[count]);
    ok = ok && rivet_sps_reader_done(&r) &&
         (info = calloc(n ? n : 1, sizeof *info)) != NULL;
    rivet_error *e = ok ? NULL : rv_ci_malformed("tls host lookup");
    if (!e && rv_ci_instance(s, "tls", instance, "tls host lookup", &e))
        e = rv_tls_host_lookup((const char *const *)names, count, info);
    rivet_sps_writer w;
    if (rv_ci_expected_begin(ret, ctx, call_id, e, &w)) {
        rivet_sps_put_u64(&w, count);
        for (size_t i = 0; i < count; i++) {
            rivet_sps_put_bool(&w, info[i].found);
            rivet_sps_put_bool(&w, info[i].is_static);
            rivet_sps_put_u64(&w, info[i].module);
            rivet_sps_put_u64(&w, info[i].offset);
            rivet_sps_put_i64(&w, info[i].tpoff);
            rivet_sps_put_string(&w, info[i].library, strlen(info[i].library));
            rivet_sps_put_string(&w, info[i].why, strlen(info[i].why));
        }
        rv_ci_return(ret, ctx, call_id, &w);
    }
    free(info);
    free_names(names, count);
}

static char *register_action(const char *arg, size_t arg_size)
{
    uint64_t a[3]; /* key, image, image size */
    if (!rv_ci_get_u64s(arg, arg_size, a, 3))
        return rv_ci_action_result(rv_ci_malformed("tls register"));
    return rv_ci_action_result(rv_tls_register(a[0], a[1], a[2]));
}

static char *unregister_action(const char *arg, size_t arg_size)
{
    uint64_t key = 0;
    if (!rv_ci_get_u64s(arg, arg_size, &key, 1))
        return rv_ci_action_result(rv_ci_malformed("tls unregister"));
    return rv_ci_action_result(rv_tls_unregister(key));
}

static char *ifunc_action(const char *arg, size_t arg_size)
{
    rivet_sps_reader r;
    uint64_t n = 0;
    rivet_sps_reader_init(&r, arg, arg_size);
    if (!rivet_sps_get_count(&r, 16, &n))
        return rv_ci_action_result(rv_ci_malformed("run ifunc resolvers"));
    uint64_t *pairs = malloc((n ? n : 1) * 2 * sizeof *pairs);
    if (!pairs)
        return rv_ci_action_result(rivet_error_create(RIVET_ERR_NOMEM,
                                                      "ifunc: out of memory"));
    for (uint64_t i = 0; i < 2 * n; i++)
        rivet_sps_get_u64(&r, &pairs[i]);
    rivet_error *e = rivet_sps_reader_done(&r) ? rv_ifunc_resolve(pairs, (size_t)n)
                                               : rv_ci_malformed("run ifunc resolvers");
    free(pairs);
    return rv_ci_action_result(e);
}

rivet_error *rv_ci_sps_tls_register(rivet_session *s, rivet_service *tls)
{
    static const struct { const char *name; rivet_wrapper_fn fn; } wrappers[] = {
        {"rivet_tls_reserve_sps", reserve_sps},
        {"rivet_tls_release_sps", release_sps},
        {"rivet_tls_host_lookup_sps", host_lookup_sps},
    };
    rivet_error *e = NULL;
    for (size_t i = 0; i < sizeof wrappers / sizeof wrappers[0] && !e; i++)
        e = rivet_session_add_wrapper_function(s, wrappers[i].name, wrappers[i].fn);
    const struct { const char *name; uint64_t addr; } symbols[] = {
        {"rivet_tls_service", (uint64_t)(uintptr_t)tls},
        {"rivet_tls_static_module", rv_tls_static_module()},
        {"rivet_tls_register", (uint64_t)(uintptr_t)register_action},
        {"rivet_tls_unregister", (uint64_t)(uintptr_t)unregister_action},
        {"rivet_run_ifunc_resolvers", (uint64_t)(uintptr_t)ifunc_action},
        {"rivet_tls_get_addr", (uint64_t)(uintptr_t)rv_tls_get_addr},
        {"rivet_tls_desc_static", rv_tls_desc_function()},
    };
    for (size_t i = 0; i < sizeof symbols / sizeof symbols[0] && !e; i++)
        e = rivet_session_add_bootstrap_symbol(s, symbols[i].name, symbols[i].addr);
    return e;
}
