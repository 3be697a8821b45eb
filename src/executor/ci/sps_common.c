/*
 * executor/ci/sps_common.c — result encoding shared by the SPS adapters.
 */
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
