/*
 * executor/services/placement.c — where a memory map slab goes: anywhere,
 * near the loaded shared libraries, or in the low 2 GiB.
 *
 * Code compiled for the small code model reaches its data and callees with
 * 32-bit PC-relative fields, so a slab holding such code must lie within
 * +-2 GiB of everything it references in the host's libraries (libc's
 * `stdout`, say); -fno-pic code with 32-bit absolute fields must lie below
 * 2 GiB. The search is pure logic over rv_sys_map's "exactly here or fail".
 */
#include "executor/services/services.h"
#include "sys/sys.h"

#define TWO_GIB ((uint64_t)1 << 31)
/* Keep a little slack below 2 GiB so a field at the far end plus its
 * addend still fits. */
#define REACH (TWO_GIB - ((uint64_t)1 << 16))
#define STEP ((uint64_t)1 << 20)

static uint64_t align_down(uint64_t v, uint64_t a) { return v & ~(a - 1); }
static uint64_t align_up(uint64_t v, uint64_t a) { return (v + a - 1) & ~(a - 1); }

/* Try exact placements from `first` towards `last` (inclusive), one STEP
 * at a time, walking down or up. */
static bool try_range(uint64_t first, uint64_t last, bool down, uint64_t size,
                      uint64_t *addr)
{
    for (uint64_t a = first; down ? a >= last : a <= last;) {
        rivet_error *e = rv_sys_map(a, size, RV_SYS_MAP_EXACT, addr);
        if (!e)
            return true;
        rivet_error_free(e);
        if (down ? a - last < STEP : last - a < STEP)
            break;
        a = down ? a - STEP : a + STEP;
    }
    return false;
}

static rivet_error *place_near_libraries(uint64_t size, uint64_t page,
                                         uint64_t *addr)
{
    uint64_t lo, hi;
    if (!rv_sys_library_span(&lo, &hi))
        return rv_sys_map(0, size, 0, addr); /* static program: no libraries */
    if (hi - lo > REACH || size > REACH - (hi - lo))
        return rivet_error_create(RIVET_ERR_RANGE,
            "cannot place 0x%llx bytes near the shared libraries: they span "
            "[0x%llx, 0x%llx), and together they would exceed 2 GiB",
            (unsigned long long)size, (unsigned long long)lo,
            (unsigned long long)hi);
    uint64_t floor = hi > REACH ? align_up(hi - REACH, page) : page;
    uint64_t ceiling = align_down(lo + REACH - size, page);
    /* One hinted request first: the kernel takes the hint when that range
     * is free and otherwise searches down from the top of its mmap area,
     * which sits just below the libraries. Either way the answer is
     * usually in reach, and costs one system call where the exact walk
     * below may cost a hundred (thread stacks and malloc arenas fill the
     * space right under the libraries). */
    if (lo >= size + page) {
        /* on a 2 MiB boundary, so the slab can be all huge pages */
        uint64_t a;
        bool big = size >= RV_SYS_HUGE_PAGE;
        uint64_t hint = align_down(lo - size, big ? RV_SYS_HUGE_PAGE : page);
        rivet_error *e = rv_sys_map(hint, size, big ? RV_SYS_MAP_HUGE_ALIGNED : 0, &a);
        if (!e && a >= floor && a <= ceiling) {
            *addr = a;
            return NULL;
        }
        if (!e)
            rivet_error_free(rv_sys_unmap(a, size));
        rivet_error_free(e);
    }
    /* Then exact placements, below the lowest library first: the kernel's
     * mmap area grows down, so that is where free space usually is. */
    if (lo >= size + page && lo - size >= floor &&
        try_range(align_down(lo - size, page), floor, true, size, addr))
        return NULL;
    if (try_range(align_up(hi, page), ceiling, false, size, addr))
        return NULL;
    return rivet_error_create(RIVET_ERR_NOMEM,
        "no free 0x%llx bytes within 2 GiB of the shared libraries at "
        "[0x%llx, 0x%llx); use RIVET_PLACE_ANYWHERE with -fPIC/-mcmodel=large "
        "code", (unsigned long long)size, (unsigned long long)lo,
        (unsigned long long)hi);
}

static rivet_error *place_low(uint64_t size, uint64_t page, uint64_t *addr)
{
    if (size > TWO_GIB - 0x10000000)
        return rivet_error_create(RIVET_ERR_RANGE,
                                  "0x%llx bytes do not fit below 2 GiB",
                                  (unsigned long long)size);
    rivet_error *e = rv_sys_map(0, size, RV_SYS_MAP_LOW, addr);
    if (!e && *addr + size <= TWO_GIB)
        return NULL;
    if (!e)
        rivet_error_free(rv_sys_unmap(*addr, size));
    rivet_error_free(e);
    /* Walk up from 256 MiB, above where a non-PIE program and its brk
     * heap usually sit. */
    if (try_range(0x10000000, align_down(TWO_GIB - size, page), false, size,
                  addr))
        return NULL;
    return rivet_error_create(RIVET_ERR_NOMEM,
                              "no free 0x%llx bytes below 2 GiB",
                              (unsigned long long)size);
}

rivet_error *rv_place_slab(uint64_t size, rivet_placement placement,
                           uint64_t *addr)
{
    uint64_t page = rv_sys_page_size();
    switch (placement) {
    case RIVET_PLACE_ANYWHERE:
        return rv_sys_map(0, size, size >= RV_SYS_HUGE_PAGE ? RV_SYS_MAP_HUGE_ALIGNED : 0,
                          addr);
    case RIVET_PLACE_NEAR_LIBRARIES:
        return place_near_libraries(size, page, addr);
    case RIVET_PLACE_LOW_2G:
        return place_low(size, page, addr);
    }
    return rivet_error_create(RIVET_ERR_UNSUPPORTED, "unknown placement %d",
                              (int)placement);
}
