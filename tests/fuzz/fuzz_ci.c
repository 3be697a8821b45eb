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
#include "fuzz_session.h"
#include "rivet/sps.h"

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

static uint64_t fns[WRAPPERS], instances[WRAPPERS];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_session_start();
    for (size_t i = 0; i < WRAPPERS; i++) {
        fns[i] = fuzz_symbol(wrappers[i].name);
        instances[i] = fuzz_symbol(wrappers[i].instance);
    }
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
    REQUIRE(!rivet_memory_map_reserve(fuzz_map, 1 << 16, RIVET_PLACE_ANYWHERE, &slab));
    replace_all(arg, size - 1, "@@@@@@@@", instances[w]);
    replace_all(arg, size - 1, "$$$$$$$$", slab);
    uint64_t reserved = 0;
    if (w != INITIALIZE || disarm_actions(arg, size - 1)) {
        fuzz_answer a = fuzz_call(fns[w], arg, size - 1);
        /* a reserve request's slab: expected<u64>, (true, ADDR) */
        if (w == 0 && a.data && a.size == 9 && a.data[0] == 1)
            memcpy(&reserved, a.data + 1, 8);
        free(a.data);
    }
    free(arg);
    rivet_error_free(rivet_memory_map_release(fuzz_map, slab)); /* may be gone */
    if (reserved)
        REQUIRE(!rivet_memory_map_release(fuzz_map, reserved));
    return 0;
}
