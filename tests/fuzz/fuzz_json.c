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
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rivet/rt.h"

#define REQUIRE(cond) \
    do {              \
        if (!(cond))  \
            __builtin_trap(); \
    } while (0)

static const char *const wrappers[] = {
    "rivet_memory_map_reserve_json",
    "rivet_memory_map_initialize_json",
    "rivet_memory_map_deinitialize_multiple_json",
    "rivet_memory_map_release_multiple_json",
};

static rivet_session *session;
static rivet_memory_map *map;
static uint64_t instance, wrapper_fns[4];
static int answers;
static unsigned long long reserved; /* by a reserve request, or 0 */

static void take_answer(void *ctx, uint64_t id, rivet_wrapper_result r)
{
    bool is_reserve = *(bool *)ctx;
    (void)id;
    REQUIRE(!r.error || !r.data);
    if (is_reserve && r.data) {
        char text[64];
        snprintf(text, sizeof(text), "%.*s", (int)(r.size < 63 ? r.size : 63), r.data);
        if (sscanf(text, "{\"value\": %llu}", &reserved) != 1)
            reserved = 0;
    }
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
    REQUIRE(rivet_session_lookup_bootstrap_symbol(session, "rivet_memory_map", &instance));
    for (int i = 0; i < 4; i++)
        REQUIRE(rivet_session_lookup_bootstrap_symbol(session, wrappers[i], &wrapper_fns[i]));
    map = rivet_memory_map_from_service(rivet_session_find_service(session, "memory_map"));
    REQUIRE(map);
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
    REQUIRE(!rivet_memory_map_reserve(map, 1 << 16, RIVET_PLACE_ANYWHERE, &slab));
    size_t n = 0;
    char *req = expand(data + 1, size - 1, instance, slab, &n);
    REQUIRE(req);
    bool is_reserve = data[0] % 4 == 0;
    answers = 0;
    reserved = 0;
    rivet_session_call_wrapper(session, wrapper_fns[data[0] % 4], 1, take_answer,
                               &is_reserve, req, n);
    REQUIRE(answers == 1);
    free(req);
    /* the input may have released it already: that error is expected */
    rivet_error_free(rivet_memory_map_release(map, slab));
    if (reserved)
        REQUIRE(!rivet_memory_map_release(map, reserved));
    return 0;
}
