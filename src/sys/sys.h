/*
 * sys/sys.h — the operating-system calls librivet-rt makes, behind one
 * small interface (implemented in sys/posix/).
 *
 * Services hold the logic and call only these; that keeps every mmap,
 * mprotect, dlopen and unwinder call in one folder and lets the logic be
 * read (and ported) without them. Addresses are uint64_t executor
 * addresses, as everywhere in the runtime.
 */
#ifndef RIVET_SYS_H
#define RIVET_SYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rivet/error.h"

/* ------------------------------------------------------------------ memory */

uint64_t rv_sys_page_size(void);

/* The transparent huge page size rivet plans with (x86-64: 2 MiB). */
enum { RV_SYS_HUGE_PAGE = 2u << 20 };

enum {
    /* Map exactly at `hint` or fail with RIVET_ERR_NOT_FOUND (never replaces
     * an existing mapping). */
    RV_SYS_MAP_EXACT = 1,
    /* Ask the kernel for an address in the low 2 GiB (MAP_32BIT) where that
     * exists; the caller still checks the result. */
    RV_SYS_MAP_LOW = 2,
    /* Without EXACT: start on a 2 MiB boundary (so that transparent huge
     * pages can back all of it), as close to `hint` as the kernel puts
     * `size` + 2 MiB. */
    RV_SYS_MAP_HUGE_ALIGNED = 4,
};

/* Map `size` bytes (a page multiple) of private anonymous read-write memory,
 * reserving no swap. `hint` 0 means anywhere. */
rivet_error *rv_sys_map(uint64_t hint, uint64_t size, unsigned flags,
                        uint64_t *addr);
rivet_error *rv_sys_unmap(uint64_t addr, uint64_t size);
/* prot is RIVET_PROT_* (rivet/rt.h). */
rivet_error *rv_sys_protect(uint64_t addr, uint64_t size, uint8_t prot);
/* Give whole pages back; they read as zero afterwards. Only valid on
 * memory from rv_sys_map (private anonymous). */
rivet_error *rv_sys_discard(uint64_t addr, uint64_t size);
/* Offer [addr, addr+size) to transparent huge pages; best effort. */
void rv_sys_advise_huge_pages(uint64_t addr, uint64_t size);
/* Write parts of this process's memory into process `pid`'s on this machine
 * (Linux: process_vm_writev; needs the right to inspect that process, which
 * a parent has over the child it spawned). The target pages must be
 * writable there. */
typedef struct rv_sys_write_part {
    const void *from;
    uint64_t to;
    uint64_t size;
} rv_sys_write_part;
rivet_error *rv_sys_write_process(uint64_t pid, const rv_sys_write_part *parts,
                                  size_t count);

/* Make newly written code visible to instruction fetch (a no-op where the
 * caches are coherent, as on x86-64). */
void rv_sys_flush_icache(uint64_t addr, uint64_t size);

/* Lowest start and highest end of the mappings of every loaded shared
 * library, the main executable excluded. False when there are none. */
bool rv_sys_library_span(uint64_t *lo, uint64_t *hi);

/* ------------------------------------------------------------------- dylib */

/* NULL path: the process itself (its global symbol scope). */
rivet_error *rv_sys_dylib_open(const char *path, void **handle);
void *rv_sys_dylib_symbol(void *handle, const char *name);
void rv_sys_dylib_close(void *handle);

/* ------------------------------------------------------------------ unwind */

/* Register / deregister an .eh_frame section that ends with a 4-byte zero
 * terminator, with the unwinder of the C runtime. */
void rv_sys_register_frame(const void *eh_frame);
void rv_sys_deregister_frame(const void *eh_frame);

/* ----------------------------------------------------------------- program */

/* Run fn(arg) at exit or when rv_sys_finalize_dso(dso) runs (__cxa_atexit). */
rivet_error *rv_sys_atexit_for_dso(void (*fn)(void *), void *arg, void *dso);
/* Run and forget every exit handler registered for `dso` (__cxa_finalize). */
void rv_sys_finalize_dso(void *dso);
/* The process environment (environ). */
char **rv_sys_environ(void);
/* Start fn(arg) on a detached thread with a stack as large as the main
 * thread's limit (JIT'd main may expect one). */
rivet_error *rv_sys_start_thread(void (*fn)(void *), void *arg);

/* ------------------------------------------------------------------ target */

/* The LLVM-style target triple of this process ("x86_64-unknown-linux-gnu"). */
const char *rv_sys_target_triple(void);

/* Fault in [addr, addr+size) of this process's writable memory ahead of
 * writing it (one call instead of a fault per page); best effort. */
void rv_sys_prefault_write(uint64_t addr, uint64_t size);

/* Zeroed, prefaulted, read-write memory for allocators (NULL when none),
 * and its release. */
void *rv_sys_alloc_pages(size_t size);
void rv_sys_free_pages(void *p, size_t size);

/* Tell a leak checker (LeakSanitizer, when linked in) that [addr,
 * addr+size) holds pointers to heap memory (on) or no longer does (off). */
void rv_sys_leak_root(uint64_t addr, uint64_t size, bool on);

/* Run fn(first) on the calling thread and fn(second) on another, and
 * return when both are done (both on the caller if no thread can be made). */
void rv_sys_run_pair(void (*fn)(void *), void *first, void *second);

/* Map a regular file read-only (empty files give data NULL, size 0);
 * unmap with rv_sys_unmap_file. */
rivet_error *rv_sys_map_file(const char *path, const uint8_t **data, size_t *size);
void rv_sys_unmap_file(const void *data, size_t size);

/* The demangled form of a C++ name (malloc'd), or NULL when the name is
 * not mangled or libstdc++ is not available. */
char *rv_sys_demangle(const char *name);

/* -------------------------------------------------- copy relocations */

/* Size and ELF type (STT_*) of the loaded-library symbol at `addr`, from
 * its dynamic symbol table; RIVET_ERR_NOT_FOUND when none starts there. */
rivet_error *rv_sys_symbol_info(uint64_t addr, uint64_t *size, uint8_t *type);
/* Point every GOT slot of every loaded module that holds `from` (a
 * GLOB_DAT or R_X86_64_64 dynamic relocation) at `to` instead, as the
 * dynamic linker does for a copy relocation. *count receives the number of
 * slots rewritten. */
rivet_error *rv_sys_redirect_slots(uint64_t from, uint64_t to, uint64_t *count);
/* Whether [addr, addr+size) lies in writable data of a loaded module once
 * start-up is over: a PT_LOAD segment with PF_W, outside PT_GNU_RELRO. */
bool rv_sys_library_data_writable(uint64_t addr, uint64_t size);

/* ---------------------------------------------------- thread-local storage */

/* The thread pointer of the calling thread (%fs:0 on x86-64). */
void *rv_sys_thread_pointer(void);
/* rivet's static TLS arena (sys/posix/tls.c): its offset from the thread
 * pointer (the same in every thread), size and alignment. Fails when the
 * arena's initial image cannot be found. */
rivet_error *rv_sys_tls_arena(int64_t *tpoff, uint64_t *size, uint64_t *align);
/* The calling thread's copy of the arena. */
void *rv_sys_tls_arena_here(void);
/* Write `size` bytes of `data` (zeros when NULL) at `offset` of the arena's
 * initial image: threads created afterwards start with them. */
rivet_error *rv_sys_tls_set_initial(uint64_t offset, const void *data,
                                    uint64_t size);
/* The C runtime's __tls_get_addr. */
void *rv_sys_tls_get_addr_host(void *tls_index);
/* Address of the TLS descriptor function for static TLS (returns the
 * descriptor's second word); 0 where the architecture has none. */
uint64_t rv_sys_tls_desc_static_function(void);

/* A thread-local defined by one of the process's own libraries
 * (sys/posix/tls_host.c). */
typedef struct rv_sys_host_tls {
    bool found;          /* a thread-local of a loaded module */
    bool is_static;      /* in static TLS: tpoff holds in every thread */
    uint64_t module;     /* the C runtime's module id (for __tls_get_addr) */
    uint64_t offset;     /* in the module's TLS block */
    int64_t tpoff;       /* the variable's offset from the thread pointer */
    char library[256];   /* the defining module, for messages */
    char why[256];       /* when not static: the dynamic linker's reason */
} rv_sys_host_tls;
/* Find `name` in the process's global scope as a thread-local, first
 * asking the dynamic linker to place its module's TLS in static TLS (so
 * initial-exec code can reach it). out->found is false when the name is
 * not defined or not thread-local. */
rivet_error *rv_sys_tls_host_symbol(const char *name, rv_sys_host_tls *out);

#endif
