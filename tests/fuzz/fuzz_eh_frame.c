/*
 * tests/fuzz/fuzz_eh_frame.c — libFuzzer target: the .eh_frame
 * re-encoding for functions at a 4 GiB boundary
 * (executor/services/eh_frame_wide.c) on arbitrary bytes.
 *
 * Input: the first 8 bytes are the address the section is to have (its
 * PC-relative values count from there, so the input decides which FDEs
 * land on a boundary); the rest is the section. The bytes are copied to
 * that address when a private mapping can be made there, the rest of the
 * mapping poisoned for ASan; otherwise into a malloc'd buffer of their
 * exact size. Checked: no crash, leak or read outside the section; a
 * copy, when one is made, decodes (tests/unit/eh_frame_decode.h, written
 * apart from the re-encoding) to the same frames as the section, which
 * had an FDE libgcc would skip, and itself needs no copy.
 */
#include <malloc.h>
#include <sanitizer/asan_interface.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "../unit/eh_frame_decode.h"
#include "executor/services/services.h"

#define REQUIRE(cond)             \
    do {                          \
        if (!(cond))              \
            __builtin_trap();     \
    } while (0)

#define PAGE 4096u
#define ADDR(p) ((uint64_t)(uintptr_t)(p))

static ehd_section orig, wide;

/* [want, want + size) in a fresh mapping, or NULL. */
static uint8_t *map_at(uint64_t want, size_t size, void **map,
                       size_t *map_size)
{
    want &= 0x7fffffffffffull; /* the user half of the address space */
    uint64_t lo = want & ~(uint64_t)(PAGE - 1);
    uint64_t hi = (want + size + PAGE - 1) & ~(uint64_t)(PAGE - 1);
    if (hi == lo)
        hi += PAGE;
    void *p = mmap((void *)(uintptr_t)lo, hi - lo, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    if (p != (void *)(uintptr_t)lo) { /* a kernel without NOREPLACE */
        munmap(p, hi - lo);
        return NULL;
    }
    *map = p;
    *map_size = hi - lo;
    ASAN_POISON_MEMORY_REGION(p, want - lo);
    ASAN_POISON_MEMORY_REGION((void *)(uintptr_t)(want + size),
                              hi - (want + size));
    return (uint8_t *)(uintptr_t)want;
}

static void check_copy(const uint8_t *sec, size_t size, void *copy)
{
    REQUIRE(ehd_decode(sec, size, &orig));
    REQUIRE(ehd_decode(copy, malloc_usable_size(copy), &wide));
    REQUIRE(ehd_same_frames(&orig, &wide));
    bool hidden = false;
    for (size_t i = 0; i < orig.fde_count; i++)
        hidden |= ehd_fde_hidden(&orig, &orig.fdes[i]);
    REQUIRE(hidden);
    void *again = &again;
    rivet_error *e = rv_eh_frame_widen_hidden(ADDR(copy), ADDR(copy) + wide.size,
                                              &again);
    REQUIRE(!e && again == NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint64_t want;
    if (size < 8)
        return 0;
    memcpy(&want, data, 8);
    data += 8;
    size -= 8;
    void *map = NULL, *heap = NULL;
    size_t map_size = 0;
    uint8_t *sec = map_at(want, size, &map, &map_size);
    if (!sec) {
        heap = malloc(size ? size : 1);
        REQUIRE(heap);
        sec = heap;
    }
    if (size)
        memcpy(sec, data, size);
    void *copy = &copy;
    rivet_error *e = rv_eh_frame_widen_hidden(ADDR(sec), ADDR(sec) + size, &copy);
    REQUIRE(copy != &copy);
    if (e) {
        REQUIRE(rivet_error_get_code(e) == RIVET_ERR_NOMEM && !copy);
        rivet_error_free(e);
    } else if (copy) {
        check_copy(sec, size, copy);
        free(copy);
    }
    if (map) {
        ASAN_UNPOISON_MEMORY_REGION(map, map_size);
        munmap(map, map_size);
    }
    free(heap);
    return 0;
}
