/*
 * executor/ci/sps_copy_reloc.c — copy relocations for code placed in low
 * memory (-fno-pic objects) that refers to library data it cannot reach:
 *
 *   rivet_symbol_info_sps    (seq<u64 addr>) -> expected<seq<(u64 size, u8 type)>>
 *       size and STT_* type of the library symbol at each address (0, 0
 *       when none starts there);
 *   rivet_copy_relocate      action (u64 from, u64 to, u64 size): copy the
 *       object's bytes to `to` and redirect the libraries' GOT slots there;
 *   rivet_copy_relocate_undo action (same argument): copy the bytes back
 *       (if the original is writable) and point the slots at the original
 *       again, when the link goes.
 */
#include <string.h>

#include "executor/ci/ci.h"
#include "sys/sys.h"

static void symbol_info_sps(rivet_session *s, uint64_t call_id,
                            rivet_wrapper_return_fn ret, void *ctx,
                            const char *arg, size_t arg_size) {
    rivet_sps_reader r;
    rivet_sps_reader_init(&r, arg, arg_size);
    uint64_t n = 0;
    if (!rivet_sps_get_count(&r, 8, &n) || r.end - r.pos != (ptrdiff_t)(n * 8)) {
        rv_ci_return_unexpected(ret, ctx, call_id, rv_ci_malformed("symbol_info"));
        return;
    }
    rivet_sps_writer w;
    rivet_sps_writer_init(&w);
    rivet_sps_put_bool(&w, true);
    rivet_sps_put_u64(&w, n);
    for (uint64_t i = 0; i < n; i++) {
        uint64_t addr = 0, size = 0;
        uint8_t type = 0;
        rivet_sps_get_u64(&r, &addr);
        rivet_error_free(rv_sys_symbol_info(addr, &size, &type));
        rivet_sps_put_u64(&w, size);
        rivet_sps_put_u8(&w, type);
    }
    (void)s;
    rv_ci_return(ret, ctx, call_id, &w);
}

static bool read_copy_args(const char *arg, size_t arg_size, uint64_t *from,
                           uint64_t *to, uint64_t *size) {
    uint64_t a[3];
    if (!rv_ci_get_u64s(arg, arg_size, a, 3) || !a[0] || !a[1] || !a[2])
        return false;
    *from = a[0], *to = a[1], *size = a[2];
    return true;
}

static char *move_object(uint64_t from, uint64_t to, uint64_t size) {
    uint64_t lib_size = 0, count = 0;
    uint8_t type = 0;
    rivet_error *e = rv_sys_symbol_info(from, &lib_size, &type);
    if (!e && lib_size < size)
        e = rivet_error_create(RIVET_ERR_STATE, "object at 0x%llx is %llu bytes, "
                               "not %llu", (unsigned long long)from,
                               (unsigned long long)lib_size, (unsigned long long)size);
    if (!e) {
        memcpy((void *)(uintptr_t)to, (const void *)(uintptr_t)from, size);
        e = rv_sys_redirect_slots(from, to, &count);
    }
    return rv_ci_action_result(rivet_error_wrap(e, "copy relocation"));
}

static char *copy_relocate(const char *arg, size_t arg_size) {
    uint64_t from, to, size;
    if (!read_copy_args(arg, arg_size, &from, &to, &size))
        return rv_ci_action_result(rv_ci_malformed("copy_relocate"));
    return move_object(from, to, size);
}

static char *copy_relocate_undo(const char *arg, size_t arg_size) {
    uint64_t from, to, size, count = 0;
    if (!read_copy_args(arg, arg_size, &from, &to, &size))
        return rv_ci_action_result(rv_ci_malformed("copy_relocate_undo"));
    /* What the program wrote goes back to the library's object; a
     * read-only one (typeinfo, const tables; RELRO or .rodata) cannot
     * have changed, and its pages cannot be written. */
    if (rv_sys_library_data_writable(from, size))
        memcpy((void *)(uintptr_t)from, (const void *)(uintptr_t)to, size);
    return rv_ci_action_result(rv_sys_redirect_slots(to, from, &count));
}

rivet_error *rv_ci_sps_copy_reloc_register(rivet_session *s) {
    rivet_error *e = rivet_session_add_wrapper_function(s, "rivet_symbol_info_sps",
                                                        symbol_info_sps);
    if (!e)
        e = rivet_session_add_bootstrap_symbol(s, "rivet_copy_relocate",
                                               (uint64_t)(uintptr_t)copy_relocate);
    if (!e)
        e = rivet_session_add_bootstrap_symbol(s, "rivet_copy_relocate_undo",
                                               (uint64_t)(uintptr_t)copy_relocate_undo);
    return e;
}
