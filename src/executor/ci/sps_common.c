/*
 * executor/ci/sps_common.c — result encoding shared by the SPS adapters.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "executor/ci/ci.h"

void rv_ci_return(rivet_wrapper_return_fn ret, void *ctx, uint64_t call_id,
                  rivet_sps_writer *w)
{
    rivet_wrapper_result r = {NULL, 0, NULL};
    r.error = rivet_sps_writer_finish(w, &r.data, &r.size);
    ret(ctx, call_id, r);
}

/* expected<T> failure and error failure differ only in the leading bool. */
static void return_message(rivet_wrapper_return_fn ret, void *ctx,
                           uint64_t call_id, bool flag, rivet_error *e)
{
    rivet_sps_writer w;
    rivet_sps_writer_init(&w);
    rivet_sps_put_bool(&w, flag);
    rivet_sps_put_cstring(&w, rivet_error_message(e));
    rivet_error_free(e);
    rv_ci_return(ret, ctx, call_id, &w);
}

void rv_ci_return_unexpected(rivet_wrapper_return_fn ret, void *ctx,
                             uint64_t call_id, rivet_error *e)
{
    return_message(ret, ctx, call_id, false, e);
}

void rv_ci_return_error(rivet_wrapper_return_fn ret, void *ctx,
                        uint64_t call_id, rivet_error *e)
{
    if (e) {
        return_message(ret, ctx, call_id, true, e);
        return;
    }
    rivet_sps_writer w;
    rivet_sps_writer_init(&w);
    rivet_sps_put_error(&w, NULL);
    rv_ci_return(ret, ctx, call_id, &w);
}

rivet_error *rv_ci_malformed(const char *call)
{
    return rivet_error_create(RIVET_ERR_PROTOCOL,
                              "%s: malformed argument payload", call);
}

char *rv_ci_action_result(rivet_error *e)
{
    if (!e)
        return NULL;
    char *message = strdup(rivet_error_message(e));
    rivet_error_free(e);
    /* A failure must never read as success: fall back to a static-sized
     * copy if even strdup fails. */
    if (!message)
        message = calloc(1, 1);
    return message;
}

rivet_service *rv_ci_instance(rivet_session *s, const char *service,
                              uint64_t addr, const char *call, rivet_error **e)
{
    rivet_service *svc = rivet_session_find_service(s, service);
    if (svc && (uint64_t)(uintptr_t)svc == addr)
        return svc;
    char label[64]; /* "memory_map" reads "memory map" */
    snprintf(label, sizeof label, "%s", service);
    for (char *p = label; *p; p++)
        *p = *p == '_' ? ' ' : *p;
    *e = rivet_error_create(RIVET_ERR_NOT_FOUND, "%s: 0x%llx is not the %s "
                            "instance", call, (unsigned long long)addr, label);
    return NULL;
}

bool rv_ci_expected_begin(rivet_wrapper_return_fn ret, void *ctx,
                          uint64_t call_id, rivet_error *e, rivet_sps_writer *w)
{
    if (e) {
        rv_ci_return_unexpected(ret, ctx, call_id, e);
        return false;
    }
    rivet_sps_writer_init(w);
    rivet_sps_put_bool(w, true);
    return true;
}

void rv_ci_return_u64(rivet_wrapper_return_fn ret, void *ctx, uint64_t call_id,
                      rivet_error *e, uint64_t value)
{
    rivet_sps_writer w;
    if (!rv_ci_expected_begin(ret, ctx, call_id, e, &w))
        return;
    rivet_sps_put_u64(&w, value);
    rv_ci_return(ret, ctx, call_id, &w);
}

bool rv_ci_get_u64s(const char *arg, size_t arg_size, uint64_t *out, size_t n)
{
    rivet_sps_reader r;
    rivet_sps_reader_init(&r, arg, arg_size);
    for (size_t i = 0; i < n; i++)
        rivet_sps_get_u64(&r, &out[i]);
    return rivet_sps_reader_done(&r);
}
