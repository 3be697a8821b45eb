/*
 * arch/arch.h — the operations table one architecture provides.
 *
 * The generic pipeline never interprets an edge kind itself; it asks the
 * table. One `const rv_arch` exists per architecture and is chosen from the
 * object's e_machine at read time, so a controller can link for a target
 * other than its own.
 */
#ifndef RIVET_ARCH_ARCH_H
#define RIVET_ARCH_ARCH_H

#include <stdbool.h>
#include <stdint.h>

#include "graph/graph.h"
#include "rivet/error.h"

typedef struct rv_link rv_link;

/* What an edge asks of the passes. */
enum rv_edge_needs {
    RV_NEEDS_NOTHING = 0,
    RV_NEEDS_GOT_ENTRY = 1 << 0, /* a GOT entry for the target */
    RV_NEEDS_GOT_BASE = 1 << 1,  /* the GOT block must exist (GOT-relative) */
    RV_NEEDS_STUB = 1 << 2,      /* a branch that may need a stub (far target) */
    RV_NEEDS_LOW_MEMORY = 1 << 3,/* absolute 32-bit: place in the low 2 GiB */
    RV_NEEDS_REACH32 = 1 << 4,   /* a direct 32-bit reference to the target */
    /* Thread-local references (link/tls.c). For these S is the target's
     * offset in its TLS module, which for rivet's static TLS arena is its
     * offset from the thread pointer, and G the address of the entry below. */
    RV_NEEDS_TLS = 1 << 5,
    RV_NEEDS_TLS_GD_PAIR = 1 << 6,   /* G: the target's {module, offset} pair */
    RV_NEEDS_TLS_LD_PAIR = 1 << 7,   /* G: the link's {module, 0} pair */
    RV_NEEDS_TLS_TPOFF = 1 << 8,     /* G: entry holding the target's tp offset */
    RV_NEEDS_TLS_DESC = 1 << 9,      /* G: the target's TLS descriptor */
    RV_NEEDS_TLS_MODULE = 1 << 10,   /* S is the target's TLS module id instead */
    RV_NEEDS_TLS_STATIC = 1 << 11,   /* the target must be in static TLS */
};

/* A relocation number's mapping. */
typedef struct rv_reloc_info {
    uint32_t kind;     /* edge kind; RV_EDGE_DROP for relocations with no effect */
    uint8_t width;     /* bytes patched at the offset (0 for none) */
} rv_reloc_info;

#define RV_EDGE_DROP UINT32_MAX

typedef struct rv_arch {
    const char *name;
    uint16_t elf_machine;
    uint32_t got_entry_size;
    uint32_t stub_size;

    /* Map a relocation number; an error for unknown or unsupported ones. */
    rivet_error *(*classify_reloc)(uint32_t type, rv_reloc_info *out);
    const char *(*reloc_name)(uint32_t type);
    const char *(*edge_kind_name)(uint32_t kind);
    unsigned (*edge_needs)(uint32_t kind);

    /* Contents of a GOT entry pointing at symbol `target`: the entry's one
     * edge kind (applied at offset 0 of the entry). */
    uint32_t got_entry_edge_kind;
    /* Edge kinds of TLS GOT entries (link/tls.c), each at offset 0 of its
     * word: the target's module id, its offset in the module, its offset
     * from the thread pointer. */
    uint32_t tls_module_edge_kind, tls_dtpoff_edge_kind, tls_tpoff_edge_kind;
    /* Write stub `work` (stub_size bytes) that jumps through a GOT entry, and
     * return the edge that makes it do so (offset in the stub, kind, addend). */
    void (*write_stub)(uint8_t *work, rv_edge *edge_out);
    /* A position-independent runtime helper: `int name(void (*f)(void))`
     * that tail-calls `callee(f, NULL, &__dso_handle)`; used for atexit and
     * at_quick_exit. Writes `size` bytes and two edges (to __dso_handle and
     * to the callee's GOT entry). */
    uint32_t cxa_thunk_size;
    void (*write_cxa_thunk)(uint8_t *work, rv_edge edges_out[2]);

    /* Apply one edge. `S` is the target's address (already resolved), `G`
     * the address of its GOT entry (0 if none), `GOT` the GOT base, `L` the
     * address of its stub (0 if none), `Z` the target's size. */
    rivet_error *(*apply_edge)(const rv_block *block, const rv_edge *edge,
                               uint8_t *fixup_work, uint64_t P, uint64_t S,
                               uint64_t G, uint64_t GOT, uint64_t L,
                               uint64_t Z);
} rv_arch;

extern const rv_arch rv_arch_x86_64;

/* The table for an ELF e_machine, or NULL. */
const rv_arch *rv_arch_for_elf_machine(uint16_t machine);

#endif
