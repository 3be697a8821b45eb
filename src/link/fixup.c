/*
 * link/fixup.c — apply every edge into working memory at final addresses.
 *
 * The arithmetic belongs to the architecture; this file supplies the psABI
 * quantities (S, G, GOT, L, Z) for each edge and turns a failure into a
 * message that names object, section, offset, relocation, symbol and, where
 * one exists, the compile flag that would avoid it.
 */
#include <elf.h>
#include <string.h>

#include "arch/x86_64.h"
#include "link/link.h"
#include "link/tls.h"

uint64_t rv_symbol_address(const rv_symbol *s) {
    s = s->def ? s->def : s;
    if (s->block)
        return s->block->addr + s->value;
    return (s->flags & RV_SYM_DEFINED) ? s->value : 0;
}

static const char *symbol_label(const rv_symbol *s) {
    return s->name && s->name[0] ? s->name : "<anonymous>";
}

rivet_error *rv_edge_error(rivet_link *l, const rv_block *b, const rv_edge *e,
                           rivet_error *cause) {
    const char *obj = b->object ? b->object->name : "<rivet runtime>";
    return rivet_error_wrap(cause, "%s: section %s: relocation %s at offset "
                            "0x%llx against '%s'", obj, b->name,
                            l->arch->reloc_name(e->reloc),
                            (unsigned long long)e->offset,
                            symbol_label(e->target));
}

/* Which flag avoids an out-of-range reference, when there is one. */
static const char *hint_for(const rivet_link *l, const rv_edge *e,
                            const rv_symbol *t) {
    unsigned needs = l->arch->edge_needs(e->kind);
    if (needs & RV_NEEDS_LOW_MEMORY)
        return (t->flags & RV_SYM_HOST)
            ? "the object uses absolute 32-bit addresses (-fno-pic) and the "
              "symbol lies above 4 GiB; recompile with -fPIE or -fPIC"
            : "recompile with -fPIE or -fPIC";
    if (t->flags & RV_SYM_HOST)
        return "the symbol is in a shared library out of reach of a 32-bit "
               "PC-relative reference; recompile with -fPIC (or -fPIE with "
               "-mcmodel=large) so it is reached through the GOT";
    return "recompile with -mcmodel=large or split the link";
}

static rivet_error *apply_one(rivet_link *l, rv_block *b, rv_edge *e) {
    rv_symbol *t = rv_symbol_resolved(e->target);
    bool dead = rv_symbol_is_discarded(t);
    uint64_t S = dead ? 0 : rv_symbol_address(t);
    uint64_t G = 0, L = 0, GOT = l->got ? l->got->addr : 0;
    if (t->flags & RV_SYM_NEEDS_GOT)
        G = GOT + (uint64_t)t->got_index * l->arch->got_entry_size;
    if (t->flags & RV_SYM_NEEDS_STUB)
        L = l->stubs->addr + (uint64_t)t->stub_index * l->arch->stub_size;
    rivet_error *err = NULL;
    if (l->arch->edge_needs(e->kind) & RV_NEEDS_TLS)
        err = rv_tls_edge_values(l, e, t, &S, &G);
    if (!err)
        err = l->arch->apply_edge(b, e, b->work + e->offset,
                                  b->addr + e->offset, S, G, GOT, L, t->size);
    if (!err)
        return NULL;
    if (rivet_error_get_code(err) == RIVET_ERR_RANGE) {
        long long dist = (long long)(S - (b->addr + e->offset));
        rivet_error *ranged = rivet_error_create(RIVET_ERR_RANGE,
            "%s (target 0x%llx, distance %lld): %s", rivet_error_message(err),
            (unsigned long long)S, dist, hint_for(l, e, t));
        rivet_error_free(err);
        err = ranged;
    }
    return rv_edge_error(l, b, e, err);
}

static rivet_error *apply_block(rivet_link *l, rv_block *b) {
    for (uint32_t i = 0; i < b->edge_count; i++) {
        rivet_error *e = apply_one(l, b, &b->edges[i]);
        if (e)
            return e;
    }
    return NULL;
}

rivet_error *rv_link_fixup(rivet_link *l) {
    for (int s = 0; s < RV_SEG_COUNT; s++) {
        rv_segment_layout *seg = &l->segments[s];
        for (size_t i = 0; i < seg->blocks.count; i++) {
            rivet_error *e = apply_block(l, seg->blocks.items[i]);
            if (e)
                return e;
            l->stats.relocations += ((rv_block *)seg->blocks.items[i])->edge_count;
        }
    }
    return NULL;
}
