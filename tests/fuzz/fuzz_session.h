/*
 * tests/fuzz/fuzz_session.h — what the targets that call wrapper functions
 * through a session share (fuzz_json, fuzz_ci): one session with the
 * standard services for every input, its memory map, a slab reserved per
 * input, and a call that must be answered exactly once.
 */
#ifndef RIVET_FUZZ_SESSION_H
#define RIVET_FUZZ_SESSION_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rivet/rt.h"

#define REQUIRE(cond) \
    do {              \
        if (!(cond))  \
            __builtin_trap(); \
    } while (0)

static rivet_session *fuzz_session;
static rivet_memory_map *fuzz_map;

static void fuzz_session_start(void)
{
    REQUIRE(!rivet_session_create(&fuzz_session));
    REQUIRE(!rivet_session_add_standard_services(fuzz_session));
    fuzz_map = rivet_memory_map_from_service(
        rivet_session_find_service(fuzz_session, "memory_map"));
    REQUIRE(fuzz_map);
}

static uint64_t fuzz_symbol(const char *name)
{
    uint64_t addr = 0;
    REQUIRE(rivet_session_lookup_bootstrap_symbol(fuzz_session, name, &addr));
    return addr;
}

typedef struct fuzz_answer {
    int count;
    char *data; /* malloc'd, NULL when the call failed out of band */
    size_t size;
} fuzz_answer;

static void fuzz_take_answer(void *ctx, uint64_t id, rivet_wrapper_result r)
{
    fuzz_answer *a = ctx;
    (void)id;
    REQUIRE(!r.error || !r.data);
    a->count++;
    a->data = r.data;
    a->size = r.size;
    rivet_error_free(r.error);
}

/* Call the wrapper at fn; it must answer exactly once. Returns the answer
 * (the caller frees .data). */
static fuzz_answer fuzz_call(uint64_t fn, const char *arg, size_t size)
{
    fuzz_answer a = {0, NULL, 0};
    rivet_session_call_wrapper(fuzz_session, fn, 1, fuzz_take_answer, &a, arg, size);
    REQUIRE(a.count == 1);
    return a;
}

#endif
