/*
 * executor/ci_json/json_memory_map.c — a second controller interface for
 * the memory map, in JSON instead of SPS: the same service, another
 * encoding, nothing in the service changed (seed 000: "clients can
 * introduce alternative serialization schemes ... e.g. JSON").
 *
 * Each wrapper takes one JSON object and answers one JSON object:
 *
 *   rivet_memory_map_reserve_json
 *     {"instance": N, "size": N, "placement": N}          -> {"value": ADDR}
 *   rivet_memory_map_initialize_json
 *     {"instance": N, "segments": [{"addr": N, "size": N, "prot": N,
 *                                   "content": "HEX"}, ...],
 *      "actions": [{"finalize": {"fn": N, "arg": "HEX"},
 *                   "dealloc": {"fn": N, "arg": "HEX"}}, ...]}
 *                                                          -> {"value": ADDR}
 *   rivet_memory_map_deinitialize_multiple_json  {"instance": N, "addrs": [N, ...]} -> {}
 *   rivet_memory_map_release_multiple_json       {"instance": N, "addrs": [N, ...]} -> {}
 *
 * Failures answer {"error": "MESSAGE"}. Numbers are unsigned decimal
 * integers (exact to 64 bits); keys may come in any order; unknown keys
 * are refused. "actions" is optional, and so is either half of a pair
 * (missing: fn 0, nothing runs); they mean what the SPS interface's do.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "executor/ci/ci.h"

#define MAX_ITEMS 4096
#define MAX_SEGMENTS 16
#define MAX_ACTIONS 256

/* ------------------------------------------------------- a small reader */

typedef struct json {
    const char *p, *end;
    bool bad;
} json;

static void skip_space(json *j)
{
    while (j->p < j->end && strchr(" \t\r\n", *j->p) && *j->p)
        j->p++;
}

static bool take(json *j, char c)
{
    skip_space(j);
    if (j->bad || j->p >= j->end || *j->p != c) {
        j->bad = true;
        return false;
    }
    j->p++;
    return true;
}

static bool peek(json *j, char c)
{
    skip_space(j);
    return !j->bad && j->p < j->end && *j->p == c;
}

static bool get_u64(json *j, uint64_t *v)
{
    skip_space(j);
    uint64_t x = 0;
    const char *start = j->p;
    while (!j->bad && j->p < j->end && *j->p >= '0' && *j->p <= '9') {
        unsigned d = (unsigned)(*j->p++ - '0');
        if (x > (UINT64_MAX - d) / 10)
            j->bad = true;
        x = x * 10 + d;
    }
    if (j->p == start)
        j->bad = true;
    *v = x;
    return !j->bad;
}

/* A string without escapes (keys, hex and our messages need none). */
static bool get_string(json *j, const char **s, size_t *n)
{
    if (!take(j, '"'))
        return false;
    const char *start = j->p;
    while (j->p < j->end && *j->p != '"' && *j->p != '\\')
        j->p++;
    if (j->p >= j->end || *j->p != '"') {
        j->bad = true;
        return false;
    }
    *s = start;
    *n = (size_t)(j->p - start);
    j->p++;
    return true;
}

/* Iterate an object's keys: returns false at '}' (or on error). */
static bool next_key(json *j, bool *first, const char **key, size_t *n)
{
    if (*first) {
        *first = false;
        if (!take(j, '{') || peek(j, '}'))
            return take(j, '}') && false;
    } else if (peek(j, '}')) {
        take(j, '}');
        return false;
    } else if (!take(j, ',')) {
        return false;
    }
    return get_string(j, key, n) && take(j, ':');
}

static bool key_is(const char *key, size_t n, const char *want)
{
    return strlen(want) == n && memcmp(key, want, n) == 0;
}

static bool finished(json *j)
{
    skip_space(j);
    return !j->bad && j->p == j->end;
}

/* Iterate array elements: returns false at ']' (or on error). */
static bool next_element(json *j, bool *first)
{
    if (*first) {
        *first = false;
        if (!take(j, '['))
            return false;
        if (peek(j, ']'))
            return take(j, ']') && false;
        return true;
    }
    if (peek(j, ']')) {
        take(j, ']');
        return false;
    }
    return take(j, ',');
}

/* ---------------------------------------------------------- answering */

static void answer(rivet_wrapper_return_fn ret, void *ctx, uint64_t call_id,
                   rivet_error *e, bool has_value, uint64_t value)
{
    rivet_wrapper_result r = {NULL, 0, NULL};
    char *text = NULL;
    int n;
    if (e) {
        /* messages are ours: drop characters that would need escaping */
        char *m = strdup(rivet_error_message(e));
        for (char *c = m; c && *c; c++)
            if (*c == '"' || *c == '\\' || (unsigned char)*c < 0x20)
                *c = '\'';
        n = asprintf(&text, "{\"error\": \"%s\"}", m ? m : "out of memory");
        free(m);
        rivet_error_free(e);
    } else if (has_value) {
        n = asprintf(&text, "{\"value\": %llu}", (unsigned long long)value);
    } else {
        n = asprintf(&text, "{}");
    }
    if (n < 0) {
        r.error = rivet_error_create(RIVET_ERR_NOMEM, "json: out of memory");
    } else {
        r.data = text;
        r.size = (size_t)n;
    }
    ret(ctx, call_id, r);
}

/* The same instance check as the SPS interface's (rv_ci_instance). */
static rivet_memory_map *instance(rivet_session *s, uint64_t addr,
                                  const char *call, rivet_error **e)
{
    return rivet_memory_map_from_service(rv_ci_instance(s, "memory_map", addr,
                                                        call, e));
}

static rivet_error *malformed(const char *call)
{
    return rivet_error_create(RIVET_ERR_PROTOCOL, "%s: malformed JSON request", call);
}

/* ------------------------------------------------------------- reserve */

static void reserve_json(rivet_session *s, uint64_t call_id,
                         rivet_wrapper_return_fn ret, void *ctx,
                         const char *arg, size_t arg_size)
{
    json j = {arg, arg + arg_size, false};
    uint64_t inst = 0, size = 0, placement = 0, addr = 0;
    const char *k;
    size_t n;
    bool first = true;
    while (next_key(&j, &first, &k, &n)) {
        uint64_t *slot = key_is(k, n, "instance") ? &inst
                       : key_is(k, n, "size") ? &size
                       : key_is(k, n, "placement") ? &placement : NULL;
        if (!slot || !get_u64(&j, slot))
            j.bad = true;
    }
    rivet_error *e = finished(&j) ? NULL : malformed("reserve");
    rivet_memory_map *mm = e ? NULL : instance(s, inst, "reserve", &e);
    e = !mm ? e
      : placement > RIVET_PLACE_LOW_2G /* before narrowing to the enum */
                       ? rivet_error_create(RIVET_ERR_PROTOCOL,
                                            "reserve: placement %llu",
                                            (unsigned long long)placement)
                       : rivet_memory_map_reserve(mm, size,
                                                  (rivet_placement)placement, &addr);
    answer(ret, ctx, call_id, e, true, addr);
}

/* ---------------------------------------------------------- initialize */

static int hex_digit(char c)
{
    return c >= '0' && c <= '9' ? c - '0'
         : c >= 'a' && c <= 'f' ? c - 'a' + 10
         : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* A hex string decoded into a malloc'd buffer (the caller frees it, also
 * when false is returned). */
static bool get_hex(json *j, unsigned char **bytes, size_t *size)
{
    const char *hex;
    size_t n;
    if (!get_string(j, &hex, &n) || n % 2)
        return j->bad = true, false;
    *bytes = malloc(n / 2 + 1);
    if (!*bytes)
        return j->bad = true, false;
    for (size_t i = 0; i < n / 2; i++) {
        int hi = hex_digit(hex[2 * i]), lo = hex_digit(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return j->bad = true, false;
        (*bytes)[i] = (unsigned char)(hi << 4 | lo);
    }
    *size = n / 2;
    return !j->bad;
}

/* {"addr": N, "size": N, "prot": N, "content": "HEX"}; the content is a
 * malloc'd buffer the caller frees. */
static bool get_segment(json *j, rivet_segment *seg)
{
    const char *k;
    size_t n;
    uint64_t prot = 0;
    bool first = true;
    while (next_key(j, &first, &k, &n)) {
        if (key_is(k, n, "addr")) get_u64(j, &seg->addr);
        else if (key_is(k, n, "size")) get_u64(j, &seg->size);
        else if (key_is(k, n, "prot")) get_u64(j, &prot);
        else if (key_is(k, n, "content") && !seg->content) {
            unsigned char *bytes = NULL;
            get_hex(j, &bytes, &n);
            seg->content = bytes;
            seg->content_size = n;
        } else j->bad = true;
    }
    if (prot > 0xff)
        j->bad = true;
    seg->prot = (uint8_t)prot;
    return !j->bad;
}

/* {"fn": N, "arg": "HEX"}; the argument is a malloc'd buffer the caller
 * frees. */
static bool get_action_call(json *j, rivet_action_call *c)
{
    const char *k;
    size_t n;
    bool first = true;
    while (next_key(j, &first, &k, &n)) {
        if (key_is(k, n, "fn")) {
            get_u64(j, &c->fn);
        } else if (key_is(k, n, "arg") && !c->arg) {
            unsigned char *bytes = NULL;
            get_hex(j, &bytes, &c->arg_size);
            c->arg = (const char *)bytes;
        } else {
            j->bad = true;
        }
    }
    return !j->bad;
}

/* {"finalize": CALL, "dealloc": CALL} */
static bool get_action_pair(json *j, rivet_action_pair *p)
{
    const char *k;
    size_t n;
    bool first = true;
    while (next_key(j, &first, &k, &n)) {
        if (key_is(k, n, "finalize")) get_action_call(j, &p->finalize);
        else if (key_is(k, n, "dealloc")) get_action_call(j, &p->dealloc);
        else j->bad = true;
    }
    return !j->bad;
}

static void initialize_json(rivet_session *s, uint64_t call_id,
                            rivet_wrapper_return_fn ret, void *ctx,
                            const char *arg, size_t arg_size)
{
    json j = {arg, arg + arg_size, false};
    rivet_segment *segs = calloc(MAX_SEGMENTS, sizeof(*segs));
    rivet_action_pair *actions = calloc(MAX_ACTIONS, sizeof(*actions));
    size_t count = 0, action_count = 0;
    uint64_t inst = 0, region = 0;
    const char *k;
    size_t n;
    bool first = true;
    if (!segs || !actions)
        j.bad = true;
    while (!j.bad && next_key(&j, &first, &k, &n)) {
        bool first_el = true;
        if (key_is(k, n, "instance")) {
            get_u64(&j, &inst);
        } else if (key_is(k, n, "segments")) {
            while (next_element(&j, &first_el))
                if (count >= MAX_SEGMENTS || !get_segment(&j, &segs[count++]))
                    j.bad = true;
        } else if (key_is(k, n, "actions")) {
            while (next_element(&j, &first_el))
                if (action_count >= MAX_ACTIONS ||
                    !get_action_pair(&j, &actions[action_count++]))
                    j.bad = true;
        } else {
            j.bad = true;
        }
    }
    rivet_initialize_request req = {segs, count, actions, action_count};
    rivet_error *e = finished(&j) ? NULL : malformed("initialize");
    rivet_memory_map *mm = e ? NULL : instance(s, inst, "initialize", &e);
    if (mm)
        e = rivet_memory_map_initialize(mm, &req, &region);
    for (size_t i = 0; segs && i < count; i++)
        free((void *)segs[i].content);
    for (size_t i = 0; actions && i < action_count; i++) {
        free((void *)actions[i].finalize.arg);
        free((void *)actions[i].dealloc.arg);
    }
    free(segs);
    free(actions);
    answer(ret, ctx, call_id, e, true, region);
}

/* ------------------------------------------------ deinitialize, release */

typedef rivet_error *(*batch_fn)(rivet_memory_map *, const uint64_t *, size_t);

static void batch_json(rivet_session *s, uint64_t call_id,
                       rivet_wrapper_return_fn ret, void *ctx, const char *arg,
                       size_t arg_size, const char *call, batch_fn fn)
{
    json j = {arg, arg + arg_size, false};
    uint64_t inst = 0, *addrs = malloc(MAX_ITEMS * sizeof(*addrs));
    size_t count = 0;
    const char *k;
    size_t n;
    bool first = true;
    if (!addrs)
        j.bad = true;
    while (!j.bad && next_key(&j, &first, &k, &n)) {
        if (key_is(k, n, "instance")) {
            get_u64(&j, &inst);
        } else if (key_is(k, n, "addrs")) {
            bool first_el = true;
            while (next_element(&j, &first_el))
                if (count >= MAX_ITEMS || !get_u64(&j, &addrs[count++]))
                    j.bad = true;
        } else {
            j.bad = true;
        }
    }
    rivet_error *e = finished(&j) ? NULL : malformed(call);
    rivet_memory_map *mm = e ? NULL : instance(s, inst, call, &e);
    if (mm)
        e = fn(mm, addrs, count);
    free(addrs);
    answer(ret, ctx, call_id, e, false, 0);
}

static void deinitialize_multiple_json(rivet_session *s, uint64_t call_id,
                                       rivet_wrapper_return_fn ret, void *ctx,
                                       const char *arg, size_t arg_size)
{
    batch_json(s, call_id, ret, ctx, arg, arg_size, "deinitialize_multiple",
               rivet_memory_map_deinitialize_multiple);
}

static void release_multiple_json(rivet_session *s, uint64_t call_id,
                                  rivet_wrapper_return_fn ret, void *ctx,
                                  const char *arg, size_t arg_size)
{
    batch_json(s, call_id, ret, ctx, arg, arg_size, "release_multiple",
               rivet_memory_map_release_multiple);
}

rivet_error *rv_ci_json_memory_map_register(rivet_session *s)
{
    rivet_error *e = rivet_session_add_wrapper_function(
        s, "rivet_memory_map_reserve_json", reserve_json);
    if (!e)
        e = rivet_session_add_blocking_wrapper_function(
            s, "rivet_memory_map_initialize_json", initialize_json);
    if (!e)
        e = rivet_session_add_blocking_wrapper_function(
            s, "rivet_memory_map_deinitialize_multiple_json",
            deinitialize_multiple_json);
    if (!e)
        e = rivet_session_add_blocking_wrapper_function(
            s, "rivet_memory_map_release_multiple_json", release_multiple_json);
    return e;
}
