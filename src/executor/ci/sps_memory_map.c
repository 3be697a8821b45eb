/*
 * executor/ci/sps_memory_map.c — SPS wrapper functions of the memory map:
 * reserve, initialize, deinitialize_multiple, release_multiple.
 *
 * The last three run actions (constructors, destructors), which are JIT'd
 * code, so they are registered as blocking: a stream transport runs them
 * on the thread that runs main.
 */
#include <stdlib.h>

#include "executor/ci/ci.h"

#define SEGMENT_MIN_SIZE (1 + 1 + 8 + 8 + 8)  /* prot, in_place, addr, size, len */
#define ACTION_PAIR_MIN_SIZE (2 * (8 + 8))   /* two (fn, arg length) */

/* The instance argument must name this session's memory map. */
static rivet_memory_map *memory_map_instance(rivet_session *s, uint64_t addr,
                                             const char *call, rivet_error **e)
{
    return rivet_memory_map_from_service(rv_ci_instance(s, "memory_map", addr,
                                                        call, e));
}

/* ----------------------------------------------------------------- reserve */

/* (u64 instance, u64 size, u8 placement) -> expected<u64 slab_addr> */
static void reserve_sps(rivet_session *s, uint64_t call_id,
                        rivet_wrapper_return_fn ret, void *ctx, const char *arg,
                        size_t arg_size)
{
    rivet_sps_reader r;
    uint64_t instance = 0, size = 0, addr = 0;
    uint8_t placement = 0;
    rivet_sps_reader_init(&r, arg, arg_size);
    rivet_sps_get_u64(&r, &instance);
    rivet_sps_get_u64(&r, &size);
    rivet_sps_get_u8(&r, &placement);
    if (!rivet_sps_reader_done(&r)) {
        rv_ci_return_unexpected(ret, ctx, call_id, rv_ci_malformed("reserve"));
        return;
    }
    rivet_error *e = NULL;
    rivet_memory_map *mm = memory_map_instance(s, instance, "reserve", &e);
    if (mm)
        e = rivet_memory_map_reserve(mm, size, placement, &addr);
    rv_ci_return_u64(ret, ctx, call_id, e, addr);
}

/* -------------------------------------------------------------- initialize */

static bool get_segment(rivet_sps_reader *r, rivet_segment *seg)
{
    const char *content;
    size_t content_size;
    if (!rivet_sps_get_u8(r, &seg->prot) || !rivet_sps_get_bool(r, &seg->in_place) ||
        !rivet_sps_get_u64(r, &seg->addr) || !rivet_sps_get_u64(r, &seg->size) ||
        !rivet_sps_get_string(r, &content, &content_size))
        return false;
    seg->content = content;
    seg->content_size = content_size;
    return true;
}

static bool get_action_call(rivet_sps_reader *r, rivet_action_call *call)
{
    return rivet_sps_get_u64(r, &call->fn) &&
           rivet_sps_get_string(r, &call->arg, &call->arg_size);
}

/* Decode the request; segment contents and action arguments are borrowed
 * from the payload. The arrays are the caller's to free. */
static bool get_request(rivet_sps_reader *r, rivet_initialize_request *req,
                        rivet_segment **segments, rivet_action_pair **actions)
{
    uint64_t n;
    if (!rivet_sps_get_count(r, SEGMENT_MIN_SIZE, &n))
        return false;
    *segments = calloc(n ? n : 1, sizeof(**segments));
    if (!*segments)
        return false;
    for (uint64_t i = 0; i < n; i++)
        if (!get_segment(r, &(*segments)[i]))
            return false;
    req->segments = *segments;
    req->segment_count = n;
    if (!rivet_sps_get_count(r, ACTION_PAIR_MIN_SIZE, &n))
        return false;
    *actions = calloc(n ? n : 1, sizeof(**actions));
    if (!*actions)
        return false;
    for (uint64_t i = 0; i < n; i++)
        if (!get_action_call(r, &(*actions)[i].finalize) ||
            !get_action_call(r, &(*actions)[i].dealloc))
            return false;
    req->actions = *actions;
    req->action_count = n;
    return true;
}

static void initialize_sps(rivet_session *s, uint64_t call_id,
                           rivet_wrapper_return_fn ret, void *ctx,
                           const char *arg, size_t arg_size)
{
    rivet_sps_reader r;
    rivet_initialize_request req = {0};
    rivet_segment *segments = NULL;
    rivet_action_pair *actions = NULL;
    uint64_t instance = 0, region = 0;
    rivet_sps_reader_init(&r, arg, arg_size);
    bool ok = rivet_sps_get_u64(&r, &instance) &&
              get_request(&r, &req, &segments, &actions) &&
              rivet_sps_reader_done(&r);
    rivet_error *e = ok ? NULL : rv_ci_malformed("initialize");
    rivet_memory_map *mm = ok ? memory_map_instance(s, instance, "initialize", &e)
                              : NULL;
    if (mm)
        e = rivet_memory_map_initialize(mm, &req, &region);
    free(segments);
    free(actions);
    rv_ci_return_u64(ret, ctx, call_id, e, region);
}

/* ------------------------------------------------ deinitialize and release */

typedef rivet_error *(*batch_fn)(rivet_memory_map *mm, const uint64_t *addrs,
                                 size_t count);

/* (u64 instance, seq<u64>) -> error: shared by both *_multiple calls. */
static void batch_sps(rivet_session *s, uint64_t call_id,
                      rivet_wrapper_return_fn ret, void *ctx, const char *arg,
                      size_t arg_size, const char *call, batch_fn fn)
{
    rivet_sps_reader r;
    uint64_t instance = 0, n = 0;
    uint64_t *addrs = NULL;
    rivet_sps_reader_init(&r, arg, arg_size);
    bool ok = rivet_sps_get_u64(&r, &instance) &&
              rivet_sps_get_count(&r, sizeof(uint64_t), &n) &&
              (addrs = malloc((n ? n : 1) * sizeof(*addrs))) != NULL;
    for (uint64_t i = 0; ok && i < n; i++)
        ok = rivet_sps_get_u64(&r, &addrs[i]);
    ok = ok && rivet_sps_reader_done(&r);
    rivet_error *e = ok ? NULL : rv_ci_malformed(call);
    rivet_memory_map *mm = ok ? memory_map_instance(s, instance, call, &e) : NULL;
    if (mm)
        e = fn(mm, addrs, (size_t)n);
    free(addrs);
    rv_ci_return_error(ret, ctx, call_id, e);
}

static void deinitialize_multiple_sps(rivet_session *s, uint64_t call_id,
                                      rivet_wrapper_return_fn ret, void *ctx,
                                      const char *arg, size_t arg_size)
{
    batch_sps(s, call_id, ret, ctx, arg, arg_size, "deinitialize_multiple",
              rivet_memory_map_deinitialize_multiple);
}

static void release_multiple_sps(rivet_session *s, uint64_t call_id,
                                 rivet_wrapper_return_fn ret, void *ctx,
                                 const char *arg, size_t arg_size)
{
    batch_sps(s, call_id, ret, ctx, arg, arg_size, "release_multiple",
              rivet_memory_map_release_multiple);
}

rivet_error *rv_ci_sps_memory_map_register(rivet_session *s, rivet_memory_map *mm)
{
    rivet_error *e = rivet_session_add_bootstrap_symbol(
        s, "rivet_memory_map", (uint64_t)(uintptr_t)mm);
    if (!e)
        e = rivet_session_add_wrapper_function(s, "rivet_memory_map_reserve_sps",
                                               reserve_sps);
    if (!e)
        e = rivet_session_add_blocking_wrapper_function(
            s, "rivet_memory_map_initialize_sps", initialize_sps);
    if (!e)
        e = rivet_session_add_blocking_wrapper_function(
            s, "rivet_memory_map_deinitialize_multiple_sps",
            deinitialize_multiple_sps);
    if (!e)
        e = rivet_session_add_blocking_wrapper_function(
            s, "rivet_memory_map_release_multiple_sps", release_multiple_sps);
    return e;
}
