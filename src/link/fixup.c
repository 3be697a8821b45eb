/*
 * link/fixup.c — apply every edge into working memory at final addresses.
 *
 * The arithmetic belongs to the architecture; this file supplies the psABI
 * quantities (S, G, GOT, L, Z) for each edge and turns a failure into a
 * message that names object, section, offset, relocation, symbol and, where
 * one exists, the compile flag that would avoid it.
 */
#include <elf.h>
#include <stdatomic.h>
#include <string.h>

#include "arch/x86_64.h"
#include "link/link.h"
#include "sys/sys.h"
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
    if (l->tls && (l->arch->edge_needs(e->kind) & RV_NEEDS_TLS))
        err = rv_tls_edge_values(l, e, t, &S, &G); /* only links with TLS */
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
        /* targets and their definitions lie all over the arena: ask for
         * them a few edges ahead of their use */
        if (i + 16 < b->edge_count)
            __builtin_prefetch(b->edges[i + 16].target);
        if (i + 8 < b->edge_count)
            __builtin_prefetch(b->edges[i + 8].target->def);
        rivet_error *e = apply_one(l, b, &b->edges[i]);
        if (e)
            return e;
    }
    return NULL;
}

/* Fixups of different blocks write different bytes and only read the
 * graph, so large links apply them on two threads, each taking the next
 * block not yet taken. (Not with TLS: its GOT lookups are not
 * read-only.) */
typedef struct fixup_work {
    rivet_link *l;
    rv_block **blocks;
    size_t count;
    atomic_size_t next;  /* the next block to fix up */
} fixup_work;

typedef struct fixup_half {
    fixup_work *w;
    size_t failed_at;    /* the block `error` is about */
    rivet_error *error;
} fixup_half;

enum { PARALLEL_MIN_EDGES = 32 * 1024 };

static void apply_half(void *p) {
    fixup_half *h = p;
    fixup_work *w = h->w;
    for (size_t i; !h->error && (i = atomic_fetch_add(&w->next, 1)) < w->count;) {
        h->error = apply_block(w->l, w->blocks[i]);
        h->failed_at = i;
    }
    if (h->error)
        atomic_store(&w->next, w->count); /* the other half takes no more */
}

rivet_error *rv_link_fixup(rivet_link *l) {
    size_t n = 0;
    uint64_t edges = 0;
    for (int s = 0; s < RV_SEG_COUNT; s++)
        n += l->segments[s].blocks.count;
    rv_block **blocks = rv_arena_alloc(&l->arena, (n ? n : 1) * sizeof *blocks);
    if (!blocks)
        return rivet_error_create(RIVET_ERR_NOMEM, "out of memory");
    n = 0;
    for (int s = 0; s < RV_SEG_COUNT; s++)
        for (size_t i = 0; i < l->segments[s].blocks.count; i++) {
            blocks[n] = l->segments[s].blocks.items[i];
            edges += blocks[n++]->edge_count;
        }
    l->stats.relocations = edges;
    fixup_work w = {.l = l, .blocks = blocks, .count = n};
    atomic_init(&w.next, 0);
    fixup_half first = {.w = &w}, second = {.w = &w};
    if (edges >= PARALLEL_MIN_EDGES && !l->tls)
        rv_sys_run_pair(apply_half, &first, &second);
    else
        apply_half(&first);
    /* report the first failure in block order, as a serial pass would */
    if (first.error && second.error && second.failed_at < first.failed_at) {
        rivet_error_free(first.error);
        return second.error;
    }
    if (first.error) {
        rivet_error_free(second.error);
        return first.error;
    }
    return second.error;
}
