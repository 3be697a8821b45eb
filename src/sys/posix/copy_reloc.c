/*
 * sys/posix/copy_reloc.c — what the dynamic linker does for a copy
 * relocation, done after the fact: find the GOT slots through which loaded
 * libraries reach a data symbol and point them at a new home.
 *
 * A library reaches its own exported data (libc's `stdout`, `environ`)
 * through GOT slots filled from R_X86_64_GLOB_DAT or R_X86_64_64 dynamic
 * relocations precisely so that an executable's copy can take over; every
 * slot currently holding the old address is such a reference (aliases like
 * `environ`/`__environ` share the address and are redirected together).
 * Slots in RELRO pages are made writable for the store and protected again.
 */
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <link.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "sys/sys.h"

rivet_error *rv_sys_symbol_info(uint64_t addr, uint64_t *size, uint8_t *type) {
    Dl_info info;
    const ElfW(Sym) *sym = NULL;
    if (!dladdr1((void *)(uintptr_t)addr, &info, (void **)&sym, RTLD_DL_SYMENT) ||
        !sym || (uint64_t)(uintptr_t)info.dli_saddr != addr)
        return rivet_error_create(RIVET_ERR_NOT_FOUND,
                                  "no dynamic symbol starts at 0x%llx",
                                  (unsigned long long)addr);
    *size = sym->st_size;
    *type = (uint8_t)ELF64_ST_TYPE(sym->st_info);
    return NULL;
}

typedef struct redirect {
    uint64_t from, to, count;
    uintptr_t relro_start, relro_end; /* of the module being scanned */
    rivet_error *error;
} redirect;

static rivet_error *store_slot(redirect *r, uint64_t *slot, uint64_t value) {
    uintptr_t a = (uintptr_t)slot;
    if (a < r->relro_start || a >= r->relro_end) {
        __atomic_store_n(slot, value, __ATOMIC_RELEASE);
        return NULL; /* an ordinary writable GOT */
    }
    /* RELRO pages are read-only after start-up; open one for the store */
    long page = sysconf(_SC_PAGESIZE);
    void *start = (void *)(a & ~(uintptr_t)(page - 1));
    if (mprotect(start, (size_t)page, PROT_READ | PROT_WRITE) != 0)
        return rivet_error_from_errno(errno, "unprotecting GOT slot %p", (void *)slot);
    __atomic_store_n(slot, value, __ATOMIC_RELEASE);
    if (mprotect(start, (size_t)page, PROT_READ) != 0)
        return rivet_error_from_errno(errno, "protecting GOT slot %p", (void *)slot);
    return NULL;
}

static void scan_relocs(redirect *r, uintptr_t base, const ElfW(Rela) *rela,
                        size_t bytes) {
    for (size_t i = 0; i < bytes / sizeof *rela && !r->error; i++) {
        uint32_t type = (uint32_t)ELF64_R_TYPE(rela[i].r_info);
        if (type != R_X86_64_GLOB_DAT && type != R_X86_64_64)
            continue;
        uint64_t *slot = (uint64_t *)(base + rela[i].r_offset);
        if (*slot != r->from)
            continue;
        r->error = store_slot(r, slot, r->to);
        r->count++;
    }
}

static int visit_module(struct dl_phdr_info *info, size_t size, void *ctx) {
    redirect *r = ctx;
    const ElfW(Dyn) *dyn = NULL;
    r->relro_start = r->relro_end = 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type == PT_DYNAMIC)
            dyn = (const ElfW(Dyn) *)(info->dlpi_addr + ph->p_vaddr);
        if (ph->p_type == PT_GNU_RELRO) {
            r->relro_start = info->dlpi_addr + ph->p_vaddr;
            r->relro_end = r->relro_start + ph->p_memsz;
        }
    }
    if (!dyn)
        return 0;
    uintptr_t rela = 0, jmprel = 0;
    size_t relasz = 0, pltrelsz = 0;
    for (; dyn->d_tag != DT_NULL; dyn++) {
        switch (dyn->d_tag) {
        case DT_RELA: rela = dyn->d_un.d_ptr; break;
        case DT_RELASZ: relasz = dyn->d_un.d_val; break;
        case DT_JMPREL: jmprel = dyn->d_un.d_ptr; break;
        case DT_PLTRELSZ: pltrelsz = dyn->d_un.d_val; break;
        }
    }
    /* glibc has already relocated d_ptr entries to run-time addresses */
    if (rela)
        scan_relocs(r, info->dlpi_addr, (const ElfW(Rela) *)rela, relasz);
    if (jmprel)
        scan_relocs(r, info->dlpi_addr, (const ElfW(Rela) *)jmprel, pltrelsz);
    (void)size;
    return r->error != NULL;
}

rivet_error *rv_sys_redirect_slots(uint64_t from, uint64_t to, uint64_t *count) {
    redirect r = {.from = from, .to = to};
    dl_iterate_phdr(visit_module, &r);
    *count = r.count;
    return r.error;
}

typedef struct writable_query {
    uint64_t addr, size;
    bool found, writable;
} writable_query;

static int visit_for_writable(struct dl_phdr_info *info, size_t size, void *ctx) {
    writable_query *q = ctx;
    bool in_writable_load = false, in_relro = false;
    (void)size;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        uint64_t start = info->dlpi_addr + ph->p_vaddr, end = start + ph->p_memsz;
        bool inside = q->addr >= start && q->addr - start < ph->p_memsz &&
                      q->size <= end - q->addr;
        if (!inside)
            continue;
        if (ph->p_type == PT_LOAD) {
            q->found = true;
            in_writable_load = (ph->p_flags & PF_W) != 0;
        } else if (ph->p_type == PT_GNU_RELRO) {
            in_relro = true;
        }
    }
    if (q->found)
        q->writable = in_writable_load && !in_relro;
    return q->found;
}

bool rv_sys_library_data_writable(uint64_t addr, uint64_t size) {
    writable_query q = {.addr = addr, .size = size};
    dl_iterate_phdr(visit_for_writable, &q);
    return q.found && q.writable;
}
