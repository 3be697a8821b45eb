/*
 * sys/posix/memory.c — address space, protections and cache maintenance on
 * Linux/POSIX (the memory half of sys/sys.h).
 */
#include <errno.h>
#include <stdio.h>
#include <link.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#include "rivet/rt.h"
#include "sys/sys.h"

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000 /* Linux 4.17; older kernels ignore it */
#endif

uint64_t rv_sys_page_size(void)
{
    long n = sysconf(_SC_PAGESIZE);
    return n > 0 ? (uint64_t)n : 4096;
}

static int map_flags(unsigned flags)
{
    int f = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE;
    if (flags & RV_SYS_MAP_EXACT)
        f |= MAP_FIXED_NOREPLACE;
#ifdef MAP_32BIT
    if (flags & RV_SYS_MAP_LOW)
        f |= MAP_32BIT;
#endif
    return f;
}

/* Of a mapping of size + RV_SYS_HUGE_PAGE bytes at p, keep the `size` bytes that
 * start on the first 2 MiB boundary and unmap the rest. */
static uint64_t trim_to_huge_boundary(void *p, uint64_t size)
{
    uint64_t at = (uint64_t)(uintptr_t)p;
    uint64_t aligned = (at + RV_SYS_HUGE_PAGE - 1) & ~(uint64_t)(RV_SYS_HUGE_PAGE - 1);
    if (aligned > at)
        munmap(p, (size_t)(aligned - at));
    if (aligned < at + RV_SYS_HUGE_PAGE)
        munmap((void *)(uintptr_t)(aligned + size), (size_t)(at + RV_SYS_HUGE_PAGE - aligned));
    return aligned;
}

rivet_error *rv_sys_map(uint64_t hint, uint64_t size, unsigned flags,
                        uint64_t *addr)
{
    /* aligned: map a huge page more, then trim both ends */
    uint64_t slack = (flags & RV_SYS_MAP_HUGE_ALIGNED) && !(flags & RV_SYS_MAP_EXACT)
                         ? RV_SYS_HUGE_PAGE : 0;
    if (size > SIZE_MAX - slack) /* no such mapping, and size + slack would wrap */
        return rivet_error_from_errno(ENOMEM, "mmap of 0x%llx bytes",
                                      (unsigned long long)size);
    void *p = mmap((void *)(uintptr_t)hint, (size_t)(size + slack),
                   PROT_READ | PROT_WRITE, map_flags(flags), -1, 0);
    if (p == MAP_FAILED) {
        if ((flags & RV_SYS_MAP_EXACT) && errno == EEXIST)
            return rivet_error_create(RIVET_ERR_NOT_FOUND,
                                      "address 0x%llx is in use",
                                      (unsigned long long)hint);
        return rivet_error_from_errno(errno, "mmap of 0x%llx bytes",
                                      (unsigned long long)size);
    }
    /* Kernels before 4.17 treat MAP_FIXED_NOREPLACE as a plain hint. */
    if ((flags & RV_SYS_MAP_EXACT) && (uint64_t)(uintptr_t)p != hint) {
        munmap(p, (size_t)size);
        return rivet_error_create(RIVET_ERR_NOT_FOUND,
                                  "address 0x%llx is in use",
                                  (unsigned long long)hint);
    }
    *addr = slack ? trim_to_huge_boundary(p, size) : (uint64_t)(uintptr_t)p;
    return NULL;
}

rivet_error *rv_sys_unmap(uint64_t addr, uint64_t size)
{
    if (munmap((void *)(uintptr_t)addr, (size_t)size) != 0)
        return rivet_error_from_errno(errno, "munmap of [0x%llx, 0x%llx)",
                                      (unsigned long long)addr,
                                      (unsigned long long)(addr + size));
    return NULL;
}

rivet_error *rv_sys_protect(uint64_t addr, uint64_t size, uint8_t prot)
{
    int p = PROT_NONE;
    if (prot & RIVET_PROT_READ)
        p |= PROT_READ;
    if (prot & RIVET_PROT_WRITE)
        p |= PROT_WRITE;
    if (prot & RIVET_PROT_EXEC)
        p |= PROT_EXEC;
    if (mprotect((void *)(uintptr_t)addr, (size_t)size, p) != 0)
        return rivet_error_from_errno(errno, "mprotect of [0x%llx, 0x%llx)",
                                      (unsigned long long)addr,
                                      (unsigned long long)(addr + size));
    return NULL;
}

rivet_error *rv_sys_discard(uint64_t addr, uint64_t size)
{
    /* On a private anonymous mapping MADV_DONTNEED drops the pages; the next
     * touch maps fresh zero pages. */
    if (madvise((void *)(uintptr_t)addr, (size_t)size, MADV_DONTNEED) != 0)
        return rivet_error_from_errno(errno, "madvise of [0x%llx, 0x%llx)",
                                      (unsigned long long)addr,
                                      (unsigned long long)(addr + size));
    return NULL;
}

void rv_sys_flush_icache(uint64_t addr, uint64_t size)
{
    char *p = (char *)(uintptr_t)addr;
    __builtin___clear_cache(p, p + size);
}

struct library_span {
    uint64_t lo, hi;
    bool found;
};

static int visit_library(struct dl_phdr_info *info, size_t size, void *ctx)
{
    struct library_span *span = ctx;
    (void)size;
    /* The main executable comes first with an empty name; the vDSO has no
     * PT_LOAD worth avoiding but including it is harmless. */
    if (!info->dlpi_name || !info->dlpi_name[0])
        return 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD)
            continue;
        uint64_t start = (uint64_t)info->dlpi_addr + ph->p_vaddr;
        uint64_t end = start + ph->p_memsz;
        if (!span->found || start < span->lo)
            span->lo = start;
        if (!span->found || end > span->hi)
            span->hi = end;
        span->found = true;
    }
    return 0;
}

bool rv_sys_library_span(uint64_t *lo, uint64_t *hi)
{
    struct library_span span = {0, 0, false};
    dl_iterate_phdr(visit_library, &span);
    if (!span.found)
        return false;
    *lo = span.lo;
    *hi = span.hi;
    return true;
}

/* LeakSanitizer's interface, present only in sanitizer builds. */
void __lsan_register_root_region(const void *p, size_t size) __attribute__((weak));
void __lsan_unregister_root_region(const void *p, size_t size) __attribute__((weak));

void rv_sys_leak_root(uint64_t addr, uint64_t size, bool on)
{
    if (on && __lsan_register_root_region)
        __lsan_register_root_region((const void *)(uintptr_t)addr, (size_t)size);
    else if (!on && __lsan_unregister_root_region)
        __lsan_unregister_root_region((const void *)(uintptr_t)addr, (size_t)size);
}

#ifndef MADV_HUGEPAGE
#define MADV_HUGEPAGE 14
#endif

/* Whole 2 MiB multiples are placed on 2 MiB boundaries and given to
 * transparent huge pages, then populated: each 2 MiB is one huge page
 * instead of 512 populated 4 KiB pages, and as cheap to unmap; a link's
 * graph (several MiB) also fits the TLB. Where THP is off or unavailable
 * the advice does nothing and the populating is as before. */
static void *map_huge(size_t size)
{
    void *raw = mmap(NULL, size + RV_SYS_HUGE_PAGE, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED)
        return NULL;
    void *p = (void *)(uintptr_t)trim_to_huge_boundary(raw, size);
    (void)madvise(p, size, MADV_HUGEPAGE);
    rv_sys_prefault_write((uint64_t)(uintptr_t)p, size);
    return p;
}

/* The pages hold pointers to heap memory (an arena's nodes point at
 * malloc'd tables), so a leak checker must scan them like the heap. */
void *rv_sys_alloc_pages(size_t size)
{
    void *p = size >= RV_SYS_HUGE_PAGE && size % RV_SYS_HUGE_PAGE == 0 ? map_huge(size) : NULL;
    if (!p) {
        p = mmap(NULL, size, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
        if (p == MAP_FAILED)
            return NULL;
    }
    rv_sys_leak_root((uint64_t)(uintptr_t)p, size, true);
    return p;
}

void rv_sys_free_pages(void *p, size_t size)
{
    if (!p)
        return;
    rv_sys_leak_root((uint64_t)(uintptr_t)p, size, false);
    munmap(p, size);
}

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22 /* Linux 5.14 */
#endif
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

void rv_sys_prefault_write(uint64_t addr, uint64_t size)
{
    long page = sysconf(_SC_PAGESIZE);
    uint64_t start = addr & ~(uint64_t)(page - 1);
    /* older kernels say EINVAL: the pages then fault in as they are written */
    (void)madvise((void *)(uintptr_t)start, (size_t)(addr + size - start),
                  MADV_POPULATE_WRITE);
}

/* ------------------------------------------------------- huge pages, writes */

void rv_sys_advise_huge_pages(uint64_t addr, uint64_t size)
{
    /* where transparent huge pages are off the advice does nothing */
    (void)madvise((void *)(uintptr_t)addr, (size_t)size, MADV_HUGEPAGE);
}

rivet_error *rv_sys_write_process(uint64_t pid, const rv_sys_write_part *parts,
                                  size_t count)
{
    enum { BATCH = 64 }; /* well under IOV_MAX */
    struct iovec local[BATCH], remote[BATCH];
    for (size_t i = 0; i < count;) {
        size_t n = 0;
        size_t total = 0;
        for (; n < BATCH && i + n < count; n++) {
            const rv_sys_write_part *p = &parts[i + n];
            local[n].iov_base = (void *)p->from;
            local[n].iov_len = (size_t)p->size;
            remote[n].iov_base = (void *)(uintptr_t)p->to;
            remote[n].iov_len = (size_t)p->size;
            total += (size_t)p->size;
        }
        ssize_t done = process_vm_writev((pid_t)pid, local, n, remote, n, 0);
        if (done < 0)
            return rivet_error_from_errno(errno, "writing the memory of process %llu",
                                          (unsigned long long)pid);
        /* partial: the remote range ends in memory that is not writable */
        if ((size_t)done != total)
            return rivet_error_create(RIVET_ERR_EXECUTOR,
                                      "writing the memory of process %llu: "
                                      "0x%zx of 0x%zx bytes written",
                                      (unsigned long long)pid, (size_t)done, total);
        i += n;
    }
    return NULL;
}
