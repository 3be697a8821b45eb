/*
 * tests/fuzz/fuzz_json.c — libFuzzer target: the memory map's JSON
 * controller interface (executor/ci_json/) on arbitrary requests.
 *
 * Input: byte 0 picks the wrapper (reserve, initialize, deinitialize_multiple,
 * release_multiple); the rest is the request, in which "@" stands for the
 * memory map's instance and "$" for a slab reserved for this input, so that
 * mutations get past the instance check and into real slabs. One session
 * serves every input; what an input reserved (the "$" slab, and a slab a
 * reserve request answered) is released after it.
 * Inputs that name an action's "fn" are skipped: an action is code the
 * controller chooses to run, and a random address would be run as such.
 * Checked: no crash or sanitizer report, and exactly one answer, either
 * bytes or an error.
 */
#include <stdio.h>

#include "fuzz_session.h"

static const char *const wrappers[] = {
    "rivet_memory_map_reserve_json",
    "rivet_memory_map_initialize_json",
    "rivet_memory_map_deinitialize_multiple_json",
    "rivet_memory_map_release_multiple_json",
};

static uint64_t instance, wrapper_fns[4];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_session_start();
    instance = fuzz_symbol("rivet_memory_map");
    for (int i = 0; i < 4; i++)
        wrapper_fns[i] = fuzz_symbol(wrappers[i]);
    return 0;
}

/* The request with "@" and "$" replaced by decimal numbers (malloc'd). */
static char *expand(const uint8_t *in, size_t n, uint64_t inst, uint64_t slab,
                    size_t *out_size)
{
    char *out = malloc(n * 21 + 1);
    size_t k = 0;
    for (size_t i = 0; out && i < n; i++) {
        if (in[i] == '@' || in[i] == '$')
            k += (size_t)sprintf(out + k, "%llu",
                                 (unsigned long long)(in[i] == '@' ? inst : slab));
        else
            out[k++] = (char)in[i];
    }
    *out_size = k;
    return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || memmem(data, size, "fn", 2))
        return 0;
    uint64_t slab = 0;
    REQUIRE(!rivet_memory_map_reserve(fuzz_map, 1 << 16, RIVET_PLACE_ANYWHERE, &slab));
    size_t n = 0;
    char *req = expand(data + 1, size - 1, instance, slab, &n);
    REQUIRE(req);
    fuzz_answer a = fuzz_call(wrapper_fns[data[0] % 4], req, n);
    free(req);
    /* a reserve request's slab: {"value": ADDR} */
    unsigned long long reserved = 0;
    if (data[0] % 4 == 0 && a.data) {
        char text[64];
        snprintf(text, sizeof(text), "%.*s", (int)(a.size < 63 ? a.size : 63), a.data);
        if (sscanf(text, "{\"value\": %llu}", &reserved) != 1)
            reserved = 0;
    }
    free(a.data);
    /* the input may have released it already: that error is expected */
    rivet_error_free(rivet_memory_map_release(fuzz_map, slab));
    if (reserved)
        REQUIRE(!rivet_memory_map_release(fuzz_map, reserved));
    return 0;
}
