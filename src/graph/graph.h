/*
 * graph/graph.h — the link graph: the format-neutral model every stage after
 * the reader works on.
 *
 *   object  one input (a .o, or an archive member)
 *     block   a contiguous piece of content with size and alignment (one per
 *             allocated ELF section, plus synthetic blocks: GOT, stubs,
 *             commons, __dso_handle, runtime stubs)
 *       edge    a fixup: kind, offset in its block, target symbol, addend
 *     symbol  a name (or none) at an offset in a block, or absolute, or
 *             undefined; after resolution `def` leads to the definition
 *
 * Edge kinds are numbers owned by the architecture (arch/<arch>.h); nothing
 * here knows what they mean. All nodes live in the link's arena.
 */
#ifndef RIVET_GRAPH_GRAPH_H
#define RIVET_GRAPH_GRAPH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "support/arena.h"

typedef struct rv_object rv_object;
typedef struct rv_block rv_block;
typedef struct rv_symbol rv_symbol;

/* What a block is for: decides where layout puts it and which allocation
 * actions finalize builds. */
typedef enum rv_block_role {
    RV_ROLE_NORMAL,
    RV_ROLE_EH_FRAME,
    RV_ROLE_PREINIT_ARRAY,
    RV_ROLE_INIT_ARRAY,
    RV_ROLE_FINI_ARRAY,
    RV_ROLE_CTORS,
    RV_ROLE_DTORS,
    RV_ROLE_GOT,
    RV_ROLE_STUBS,
    RV_ROLE_TLS_DATA,   /* .tdata: part of the link's TLS template image */
    RV_ROLE_TLS_BSS,    /* .tbss: zero-filled tail of the TLS template */
} rv_block_role;

/* 24 bytes: a large link has one per relocation, written once when read
 * and read once at fixup. Blocks are below 4 GiB (the reader refuses larger
 * sections); edge kinds and the relocation numbers that produce them are
 * small. */
typedef struct rv_edge {
    uint32_t offset;    /* in the block */
    uint16_t kind;      /* arch edge kind */
    uint16_t reloc;     /* original relocation number, for messages */
    int64_t addend;
    rv_symbol *target;
} rv_edge;

struct rv_block {
    rv_object *object;
    const char *name;       /* section name */
    const uint8_t *content; /* input bytes; NULL: zero-filled */
    uint64_t size;
    uint64_t align;         /* power of two, >= 1 */
    uint32_t section_index; /* ELF section index, for messages */
    uint16_t priority;      /* init/fini priority (65535 when none) */
    uint8_t prot;           /* RIVET_PROT_* */
    uint8_t role;           /* rv_block_role */
    bool live;              /* false: discarded (COMDAT) */
    rv_edge *edges;
    uint32_t edge_count;
    uint32_t order;         /* input order, for stable layout */
    /* layout */
    uint64_t addr;          /* target address */
    uint8_t *work;          /* working memory holding the content */
};

enum rv_symbol_flags {
    RV_SYM_DEFINED = 1 << 0,  /* block+offset, or absolute */
    RV_SYM_ABSOLUTE = 1 << 1, /* value is the address */
    RV_SYM_COMMON = 1 << 2,   /* tentative: size, align in value */
    RV_SYM_WEAK = 1 << 3,
    RV_SYM_LOCAL = 1 << 4,    /* STB_LOCAL: never enters a symbol table */
    RV_SYM_HIDDEN = 1 << 5,   /* hidden/internal: not exported past the link */
    RV_SYM_FUNCTION = 1 << 6,
    RV_SYM_HOST = 1 << 7,     /* defined by the executor's process */
    RV_SYM_TLS = 1 << 8,
    RV_SYM_IFUNC = 1 << 9,
    RV_SYM_NEEDS_GOT = 1 << 10,
    RV_SYM_NEEDS_STUB = 1 << 11,
    RV_SYM_SECTION = 1 << 12, /* STT_SECTION */
    RV_SYM_DISCARDED = 1 << 13, /* local, in a dropped COMDAT group's section */
    RV_SYM_REACH32 = 1 << 14,   /* host symbol named by a direct 32-bit edge */
    RV_SYM_REFERENCED = 1 << 15, /* some relocation names it */
    RV_SYM_REF_GOT = 1 << 16,    /* some relocation needs a GOT entry for it */
    RV_SYM_REF_STUB = 1 << 17,   /* some branch to it may need a stub */
};

struct rv_symbol {
    const char *name;      /* "" for unnamed */
    uint32_t hash;         /* rv_name_hash(name) for globals */
    uint32_t flags;
    rv_object *object;     /* defining (or referencing) object */
    rv_block *block;       /* NULL when undefined, absolute or common */
    uint64_t value;        /* offset in block, absolute address, or common align */
    uint64_t size;
    rv_symbol *def;        /* resolution: the definition this name binds to */
    uint32_t got_index;    /* valid with NEEDS_GOT */
    uint32_t stub_index;   /* valid with NEEDS_STUB */
};

struct rv_object {
    const char *name;        /* "file.o" or "lib.a(member.o)" */
    const uint8_t *data;
    size_t size;
    rv_block **blocks;       /* by ELF section index; NULL when not loaded */
    uint32_t section_count;
    rv_symbol *symbols;      /* by ELF symbol index */
    uint32_t symbol_count;
    uint32_t first_global;   /* sh_info of the symbol table */
    bool needs_low_memory;   /* has absolute 32-bit references */
    bool has_tls;            /* thread-local sections, symbols or edges */
    bool has_ifunc;          /* STT_GNU_IFUNC symbols */
    /* Noted by the reader, so later stages need no pass over the symbols: */
    bool uses_cxx_abi;       /* references libstdc++'s ABI (_Z..., __cxa_...) */
    bool needs_got_base;     /* some edge is GOT-relative */
    bool has_got_refs;       /* some symbol is marked RV_SYM_REF_GOT */
    bool has_discarded;      /* locals in sections of a dropped COMDAT group */
    uint32_t runtime_refs;   /* runtime names referenced (link/runtime.h) */
    uint32_t global_definitions; /* global defined or common symbols, */
    rv_symbol **definitions;     /* which are these, in symbol order */
};

/* Address a symbol resolves to, after layout: follows `def`. Undefined weak
 * symbols resolve to 0. */
static inline rv_symbol *rv_symbol_resolved(rv_symbol *s) {
    return s->def ? s->def : s;
}

/* Does the symbol lie in content that was not loaded (a discarded COMDAT
 * group)? */
static inline bool rv_symbol_is_discarded(const rv_symbol *s) {
    return (s->flags & RV_SYM_DISCARDED) || (s->block && !s->block->live);
}

uint64_t rv_symbol_address(const rv_symbol *s);

#endif
