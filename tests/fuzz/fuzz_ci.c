/*
 * tests/fuzz/fuzz_ci.c — libFuzzer target: the SPS controller interface's
 * request decoders (executor/ci/) on arbitrary payloads, through the
 * session as a transport would call them.
 *
 * Input: byte 0 picks the wrapper; the rest is its argument payload, in
 * which every 8 bytes "@@@@@@@@" become the wrapper's service instance and
 * "$$$$$$$$" a slab reserved for this input, so that mutations get past the
 * instance checks and into real memory. Wrappers that run code the
 * controller names (run_main, run_function) or load libraries (dylib open)
 * are left out; initialize is called with every action's function zeroed
 * (a pair with fn 0 runs nothing), found by walking the payload as the
 * wrapper does, and skipped when that walk fails. What an input reserved
 * is released after it. Checked: no crash or sanitizer report, exactly one
 * answer.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rivet/rt.h"
#include "rivet/sps.h"

#define REQUIRE(cond) \
    do {              \
        if (!(cond))  \
            __builtin_trap(); \
    } while (0)

static const struct {
    const char *name;
    const char *instance; /* the bootstrap symbol "@@@@@@@@" stands for */
} wrappers[] = {
    {"rivet_memory_map_reserve_sps", "rivet_memory_map"},
    {"rivet_memory_map_initialize_sps", "rivet_memory_map"},
    {"rivet_memory_map_deinitialize_multiple_sps", "rivet_memory_map"},
    {"rivet_memory_map_release_multiple_sps", "rivet_memory_map"},
    {"rivet_dylib_lookup_sps", "rivet_dylib_manager"},
    {"rivet_symbol_info_sps", "rivet_dylib_manager"},
    {"rivet_tls_host_lookup_sps", "rivet_tls_service"},
    {"rivet_tls_release_sps", "rivet_tls_service"},
};
enum { WRAPPERS = sizeof wrappers / sizeof wrappers[0], INITIALIZE = 1 };

static rivet_session *session;
static rivet_memory_map *map;
static uint64_t fns[WRAPPERS], instances[WRAPPERS];
static int answers;

static void take_answer(void *ctx, uint64_t id, rivet_wrapper_result r)
{
    uint64_t *reserved = ctx; /* reserve: expected<u64 slab> */
    (void)id;
    REQUIRE(!r.error || !r.data);
    if (reserved && r.data && r.size == 9 && r.data[0] == 1)
        memcpy(reserved, r.data + 1, 8);
    free(r.data);
    rivet_error_free(r.error);
    answers++;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    REQUIRE(!rivet_session_create(&session));
    REQUIRE(!rivet_session_add_standard_services(session));
    for (size_t i = 0; i < WRAPPERS; i++) {
        REQUIRE(rivet_session_lookup_bootstrap_symbol(session, wrappers[i].name, &fns[i]));
        REQUIRE(rivet_session_lookup_bootstrap_symbol(session, wrappers[i].instance,
                                                      &instances[i]));
    }
    map = rivet_memory_map_from_service(rivet_session_find_service(session, "memory_map"));
    REQUIRE(map);
    return 0;
}

static void replace_all(char *p, size_t n, const char *pattern, uint64_t value)
{
    for (size_t i = 0; i + 8 <= n; i++)
        if (memcmp(p + i, pattern, 8) == 0) {
            memcpy(p + i, &value, 8); /* little-endian, as SPS */
            i += 7;
        }
}

/* Walk an initialize payload as its wrapper does: (u64 instance,
 * seq<(u8 prot, bool in_place, u64 addr, u64 size, string content)>,
 * seq<((u64 fn, string arg), (u64 fn, string arg))>), zeroing each fn. */
static bool disarm_actions(char *p, size_t n)
{
    rivet_sps_reader r;
    rivet_sps_reader_init(&r, p, n);
    uint64_t u, count;
    uint8_t b;
    bool flag;
    const char *s;
    size_t len;
    if (!rivet_sps_get_u64(&r, &u) || !rivet_sps_get_count(&r, 1, &count))
        return false;
    for (uint64_t i = 0; i < count; i++)
        if (!rivet_sps_get_u8(&r, &b) || !rivet_sps_get_bool(&r, &flag) ||
            !rivet_sps_get_u64(&r, &u) || !rivet_sps_get_u64(&r, &u) ||
            !rivet_sps_get_string(&r, &s, &len))
            return false;
    if (!rivet_sps_get_count(&r, 1, &count))
        return false;
    for (uint64_t i = 0; i < 2 * count; i++) {
        char *fn = (char *)r.pos;
        if (!rivet_sps_get_u64(&r, &u) || !rivet_sps_get_string(&r, &s, &len))
            return false;
        memset(fn, 0, 8);
    }
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t w = data[0] % WRAPPERS;
    char *arg = malloc(size);
    REQUIRE(arg);
    memcpy(arg, data + 1, size - 1);
    uint64_t slab = 0;
    REQUIRE(!rivet_memory_map_reserve(map, 1 << 16, RIVET_PLACE_ANYWHERE, &slab));
    replace_all(arg, size - 1, "@@@@@@@@", instances[w]);
    replace_all(arg, size - 1, "$$$$$$$$", slab);
    uint64_t reserved = 0;
    if (w != INITIALIZE || disarm_actions(arg, size - 1)) {
        answers = 0;
        rivet_session_call_wrapper(session, fns[w], 1, take_answer,
                                   w == 0 ? &reserved : NULL, arg, size - 1);
        REQUIRE(answers == 1);
    }
    free(arg);
    rivet_error_free(rivet_memory_map_release(map, slab)); /* may be gone */
    if (reserved)
        REQUIRE(!rivet_memory_map_release(map, reserved));
    return 0;
}
