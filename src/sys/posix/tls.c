/*
 * sys/posix/tls.c — rivet's static TLS arena and the thread-pointer bits of
 * the TLS service (executor/services/tls.c).
 *
 * Code linked with the initial-exec or local-exec model reads its
 * thread-locals at a constant offset from the thread pointer, with no hook
 * rivet could run per thread. So the offset must name valid, private memory
 * in every thread, including threads that do not exist yet. The one memory
 * with that property is the process's static TLS: the arena below is an
 * initial-exec thread-local array of the executor's own module, so the C
 * runtime allocates it in every thread at the same offset from the thread
 * pointer, and the TLS service sub-allocates links' TLS blocks from it.
 *
 * New threads: the C runtime fills a new thread's static TLS from each
 * module's PT_TLS initial image (glibc: _dl_allocate_tls_init, also for
 * cached stacks; musl: __copy_tls). The arena lives in .tdata (not .tbss),
 * so it has an image in the loaded executable; writing a link's template
 * there makes every thread created later start with the link's initial
 * values, however it was created (pthread_create, C11 threads, std::thread,
 * a library's thread pool). The image usually sits in the RELRO segment, so
 * each write opens the page for writing and restores its protection.
 */
#include <elf.h>
#include <errno.h>
#include <link.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <threads.h>
#include <unistd.h>

#include "sys/sys.h"

#ifndef RIVET_TLS_ARENA_SIZE
#define RIVET_TLS_ARENA_SIZE 65536
#endif
#define ARENA_ALIGN 64

static __thread unsigned char rv_tls_arena[RIVET_TLS_ARENA_SIZE]
    __attribute__((tls_model("initial-exec"), aligned(ARENA_ALIGN),
                   section(".tdata.rivet_tls_arena")));

/* Where the arena's initial image is, and how to restore page protections
 * after writing it. Found once. */
static struct {
    once_flag once;
    int error;                /* errno-style; 0 when found */
    unsigned char *image;     /* the arena's bytes in the PT_TLS image */
    uint64_t image_size;      /* <= RIVET_TLS_ARENA_SIZE (p_filesz bound) */
    ElfW(Addr) load_base;
    const ElfW(Phdr) *phdr;
    size_t phnum;
} arena_image = {.once = ONCE_FLAG_INIT};

void *rv_sys_thread_pointer(void)
{
    return __builtin_thread_pointer();
}

static int find_image(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    (void)data;
    unsigned char *here = rv_tls_arena;
    for (size_t i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        unsigned char *block = info->dlpi_tls_data;
        if (ph->p_type != PT_TLS || !block || here < block ||
            here >= block + ph->p_memsz)
            continue;
        uint64_t off = (uint64_t)(here - block);
        if (off >= ph->p_filesz)
            return -1; /* in .tbss after all: no image to write */
        arena_image.image = (unsigned char *)(info->dlpi_addr + ph->p_vaddr) + off;
        arena_image.image_size = ph->p_filesz - off < RIVET_TLS_ARENA_SIZE
                                     ? ph->p_filesz - off : RIVET_TLS_ARENA_SIZE;
        arena_image.load_base = info->dlpi_addr;
        arena_image.phdr = info->dlpi_phdr;
        arena_image.phnum = info->dlpi_phnum;
        return 1;
    }
    return 0;
}

static void locate_image(void)
{
    if (dl_iterate_phdr(find_image, NULL) != 1 ||
        arena_image.image_size < RIVET_TLS_ARENA_SIZE)
        arena_image.error = ENOENT;
}

rivet_error *rv_sys_tls_arena(int64_t *tpoff, uint64_t *size, uint64_t *align)
{
    call_once(&arena_image.once, locate_image);
    if (arena_image.error)
        return rivet_error_create(RIVET_ERR_UNSUPPORTED,
            "cannot locate the initial image of rivet's static TLS arena "
            "(rivet_tls_arena must be in .tdata of a loaded module)");
    *tpoff = (int64_t)((char *)rv_tls_arena - (char *)rv_sys_thread_pointer());
    *size = RIVET_TLS_ARENA_SIZE;
    *align = ARENA_ALIGN;
    return NULL;
}

void *rv_sys_tls_arena_here(void)
{
    return rv_tls_arena;
}

/* The protection the dynamic linker left on the page at `page`: that of
 * its PT_LOAD, read-only inside PT_GNU_RELRO (glibc: _dl_protect_relro). */
static int page_protection(uintptr_t page, uintptr_t page_size)
{
    int prot = PROT_READ | PROT_WRITE;
    for (size_t i = 0; i < arena_image.phnum; i++) {
        const ElfW(Phdr) *ph = &arena_image.phdr[i];
        uintptr_t start = arena_image.load_base + ph->p_vaddr;
        if (ph->p_type == PT_LOAD && page >= (start & ~(page_size - 1)) &&
            page < start + ph->p_memsz)
            prot = ((ph->p_flags & PF_R) ? PROT_READ : 0) |
                   ((ph->p_flags & PF_W) ? PROT_WRITE : 0) |
                   ((ph->p_flags & PF_X) ? PROT_EXEC : 0);
    }
    for (size_t i = 0; i < arena_image.phnum; i++) {
        const ElfW(Phdr) *ph = &arena_image.phdr[i];
        uintptr_t start = (arena_image.load_base + ph->p_vaddr) & ~(page_size - 1);
        uintptr_t end = (arena_image.load_base + ph->p_vaddr + ph->p_memsz) &
                        ~(page_size - 1);
        if (ph->p_type == PT_GNU_RELRO && page >= start && page < end)
            prot = PROT_READ;
    }
    return prot;
}

static rivet_error *write_page_part(unsigned char *dst, const void *src,
                                    size_t n, uintptr_t page_size)
{
    uintptr_t page = (uintptr_t)dst & ~(page_size - 1);
    int prot = page_protection(page, page_size);
    if (!(prot & PROT_WRITE) &&
        mprotect((void *)page, page_size, prot | PROT_WRITE) != 0)
        return rivet_error_from_errno(errno, "tls: cannot open the arena's "
                                      "initial image for writing");
    if (src)
        memcpy(dst, src, n);
    else
        memset(dst, 0, n);
    if (!(prot & PROT_WRITE) && mprotect((void *)page, page_size, prot) != 0)
        return rivet_error_from_errno(errno, "tls: cannot restore the "
                                      "protection of the arena's image");
    return NULL;
}

rivet_error *rv_sys_tls_set_initial(uint64_t offset, const void *data,
                                    uint64_t size)
{
    call_once(&arena_image.once, locate_image);
    if (arena_image.error || offset > arena_image.image_size ||
        size > arena_image.image_size - offset)
        return rivet_error_create(RIVET_ERR_RANGE,
                                  "tls: [0x%llx, +0x%llx) is outside the arena",
                                  (unsigned long long)offset,
                                  (unsigned long long)size);
    uintptr_t page_size = (uintptr_t)sysconf(_SC_PAGESIZE);
    unsigned char *dst = arena_image.image + offset;
    const unsigned char *src = data;
    while (size) {
        uintptr_t room = page_size - ((uintptr_t)dst & (page_size - 1));
        size_t n = size < room ? (size_t)size : (size_t)room;
        rivet_error *e = write_page_part(dst, src, n, page_size);
        if (e)
            return e;
        dst += n;
        src = src ? src + n : NULL;
        size -= n;
    }
    return NULL;
}

/* The C runtime's own __tls_get_addr, for modules that are not rivet's. */
extern void *__tls_get_addr(void *ti);

void *rv_sys_tls_get_addr_host(void *ti)
{
    return __tls_get_addr(ti);
}

/* TLS descriptor function for a variable in static TLS (psABI TLSDESC,
 * "gnu2"): called with %rax = the descriptor {function, argument}, returns
 * the variable's offset from the thread pointer in %rax and must preserve
 * every other register, so it is written in assembly. */
#if defined(__x86_64__)
__asm__(".text\n"
        ".globl rv_sys_tls_desc_static\n"
        ".hidden rv_sys_tls_desc_static\n"
        ".type rv_sys_tls_desc_static, @function\n"
        "rv_sys_tls_desc_static:\n"
        "    movq 8(%rax), %rax\n"
        "    ret\n"
        ".size rv_sys_tls_desc_static, .-rv_sys_tls_desc_static\n");
void rv_sys_tls_desc_static(void);

uint64_t rv_sys_tls_desc_static_function(void)
{
    return (uint64_t)(uintptr_t)rv_sys_tls_desc_static;
}
#else
uint64_t rv_sys_tls_desc_static_function(void)
{
    return 0;
}
#endif
