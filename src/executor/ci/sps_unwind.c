/*
 * executor/ci/sps_unwind.c — SPS action functions of the unwind registrar.
 * Both take the .eh_frame section as an SPS range (start, end).
 */
#include "executor/ci/ci.h"
#include "executor/services/services.h"

typedef rivet_error *(*range_fn)(uint64_t start, uint64_t end);

static char *range_action(const char *arg, size_t arg_size, const char *name,
                          range_fn fn)
{
    rivet_sps_reader r;
    uint64_t start = 0, end = 0;
    rivet_sps_reader_init(&r, arg, arg_size);
    rivet_sps_get_range(&r, &start, &end);
    if (!rivet_sps_reader_done(&r))
        return rv_ci_action_result(rv_ci_malformed(name));
    return rv_ci_action_result(fn(start, end));
}

static char *register_eh_frame(const char *arg, size_t arg_size)
{
    return range_action(arg, arg_size, "register_eh_frame", rv_unwind_register);
}

static char *deregister_eh_frame(const char *arg, size_t arg_size)
{
    return range_action(arg, arg_size, "deregister_eh_frame",
                        rv_unwind_deregister);
}

rivet_error *rv_ci_sps_unwind_register(rivet_session *s)
{
    rivet_error *e = rivet_session_add_bootstrap_symbol(
        s, "rivet_register_eh_frame", (uint64_t)(uintptr_t)register_eh_frame);
    if (!e)
        e = rivet_session_add_bootstrap_symbol(
            s, "rivet_deregister_eh_frame",
            (uint64_t)(uintptr_t)deregister_eh_frame);
    return e;
}
