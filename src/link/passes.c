/*
 * link/passes.c — GOT entries and stubs.
 *
 * What the edges need was noted by the reader, on the symbols they name and
 * per object (scan_object):
 *   - a GOT entry for its target (GOT-relative loads),
 *   - the GOT itself (GOT-base-relative arithmetic),
 *   - a stub, for branches to targets outside the link: host functions may
 *     lie more than 2 GiB away, so each gets `jmp *entry(%rip)`;
 *   - low memory, for absolute 32-bit references.
 * Entries and stubs are created once per target. Whether a GOT load or a
 * branch really goes through them is decided at fixup, when addresses are
 * known (relaxation): a target in reach is referenced directly and the
 * entry is simply unused.
 */
#include <string.h>

#include "link/link.h"
#include "link/tls.h"

static rivet_error *nomem(void) {
    return rivet_error_create(RIVET_ERR_NOMEM, "out of memory");
}

static rivet_error *need_got_entry(rivet_link *l, rv_symbol *t) {
    if (t->flags & RV_SYM_NEEDS_GOT)
        return NULL;
    t->flags |= RV_SYM_NEEDS_GOT;
    t->got_index = (uint32_t)l->got_targets.count;
    return rv_ptrvec_push(&l->got_targets, t) ? NULL : nomem();
}

rivet_error *rv_link_need_stub(rivet_link *l, rv_symbol *t) {
    if (!(t->flags & RV_SYM_HOST) || (t->flags & RV_SYM_NEEDS_STUB))
        return NULL;
    t->flags |= RV_SYM_NEEDS_STUB;
    t->stub_index = (uint32_t)l->stub_targets.count;
    if (!rv_ptrvec_push(&l->stub_targets, t))
        return nomem();
    return need_got_entry(l, t);
}

static rivet_error *scan_edge(rivet_link *l, rv_block *b, rv_edge *e,
                              bool *needs_got_block) {
    rv_symbol *t = rv_symbol_resolved(e->target);
    if (rv_symbol_is_discarded(t) && b->role != RV_ROLE_EH_FRAME)
        return rv_edge_error(l, b, e, rivet_error_create(RIVET_ERR_MALFORMED,
            "reference to a section of a discarded COMDAT group"));
    unsigned needs = l->arch->edge_needs(e->kind);
    rivet_error *err = NULL;
    if (needs & RV_NEEDS_GOT_ENTRY)
        err = need_got_entry(l, t);
    if (!err && (needs & RV_NEEDS_STUB))
        err = rv_link_need_stub(l, t);
    if (needs & (RV_NEEDS_GOT_ENTRY | RV_NEEDS_GOT_BASE))
        *needs_got_block = true;
    if (needs & RV_NEEDS_LOW_MEMORY)
        l->needs_low_memory = true;
    return err;
}

static rivet_error *scan_block(rivet_link *l, rv_block *b, bool *needs_got) {
    if (!b->live)
        return NULL;
    for (uint32_t i = 0; i < b->edge_count; i++) {
        rivet_error *e = scan_edge(l, b, &b->edges[i], needs_got);
        if (e)
            return e;
    }
    return NULL;
}

/* What an object's edges need, from the marks the reader left on the
 * symbols they name (no walk through every edge to its target). GOT
 * entries: the marked symbols of objects that have any. Stubs (branches
 * that may reach the executor's libraries) only concern names bound
 * outside the link, which resolution listed (scan_outside). Objects with
 * locals in dropped COMDAT sections are scanned edge by edge, so a
 * reference into dropped content is reported with the edge that makes
 * it. */
static rivet_error *scan_object(rivet_link *l, rv_object *o, bool *needs_got) {
    if (o->has_discarded) {
        for (uint32_t k = 0; k < o->section_count; k++) {
            rivet_error *e = o->blocks[k] ? scan_block(l, o->blocks[k], needs_got) : NULL;
            if (e)
                return e;
        }
        return NULL;
    }
    for (uint32_t k = 1; o->has_got_refs && k < o->symbol_count; k++) {
        rv_symbol *s = &o->symbols[k];
        rivet_error *e = (s->flags & RV_SYM_REF_GOT)
                             ? need_got_entry(l, rv_symbol_resolved(s)) : NULL;
        if (e)
            return e;
    }
    if (o->needs_got_base)
        *needs_got = true;
    if (o->needs_low_memory)
        l->needs_low_memory = true;
    return NULL;
}

static rivet_error *scan_outside(rivet_link *l) {
    for (size_t i = 0; i < l->outside_count; i++) {
        rv_symbol *s = l->outside[i];
        rivet_error *e = (s->flags & RV_SYM_REF_STUB)
                             ? rv_link_need_stub(l, rv_symbol_resolved(s)) : NULL;
        if (e)
            return e;
    }
    return NULL;
}

static rivet_error *scan_all_edges(rivet_link *l, bool *needs_got) {
    rivet_error *e = NULL;
    for (size_t i = 0; i < l->objects.count && !e; i++)
        e = scan_object(l, l->objects.items[i], needs_got);
    if (!e)
        e = scan_outside(l);
    for (size_t i = 0; i < l->synthetic.count && !e; i++)
        e = scan_block(l, l->synthetic.items[i], needs_got);
    return e;
}

static rivet_error *build_got(rivet_link *l) {
    const rv_arch *a = l->arch;
    size_t n = l->got_targets.count;
    rv_block *got = rv_link_new_block(l, ".got", n * a->got_entry_size, 8,
                                      RIVET_PROT_READ, RV_ROLE_GOT);
    rv_edge *edges = rv_arena_calloc(&l->arena, n ? n : 1, sizeof *edges);
    l->got_entry_syms = rv_arena_calloc(&l->arena, n ? n : 1, sizeof(rv_symbol *));
    if (!got || !edges || !l->got_entry_syms)
        return nomem();
    for (size_t i = 0; i < n; i++) {
        edges[i] = (rv_edge){.offset = i * a->got_entry_size,
                             .target = l->got_targets.items[i],
                             .kind = a->got_entry_edge_kind};
        l->got_entry_syms[i] = rv_link_new_symbol(l, "", got, i * a->got_entry_size,
                                                  RV_SYM_DEFINED | RV_SYM_LOCAL);
        if (!l->got_entry_syms[i])
            return nomem();
    }
    got->edges = edges;
    got->edge_count = (uint32_t)n;
    l->got = got;
    if (l->got_symbol) {
        l->got_symbol->block = got;
        l->got_symbol->value = 0;
    }
    return NULL;
}

static rivet_error *build_stubs(rivet_link *l) {
    const rv_arch *a = l->arch;
    size_t n = l->stub_targets.count;
    if (!n)
        return NULL;
    rv_block *b = rv_link_new_block(l, ".stubs", n * a->stub_size, 16,
                                    RIVET_PROT_READ | RIVET_PROT_EXEC, RV_ROLE_STUBS);
    uint8_t *code = rv_arena_alloc(&l->arena, n * a->stub_size);
    rv_edge *edges = rv_arena_calloc(&l->arena, n, sizeof *edges);
    if (!b || !code || !edges)
        return nomem();
    for (size_t i = 0; i < n; i++) {
        rv_symbol *t = l->stub_targets.items[i];
        a->write_stub(code + i * a->stub_size, &edges[i]);
        edges[i].offset += i * a->stub_size;
        edges[i].target = l->got_entry_syms[t->got_index];
    }
    b->content = code;
    b->edges = edges;
    b->edge_count = (uint32_t)n;
    l->stubs = b;
    return NULL;
}

/* Most links have neither; skip the scans those passes would make. */
static void census(rivet_link *l, bool *tls, bool *ifunc) {
    *tls = *ifunc = false;
    for (size_t i = 0; i < l->objects.count; i++) {
        const rv_object *o = l->objects.items[i];
        *tls |= o->has_tls;
        *ifunc |= o->has_ifunc;
    }
}

rivet_error *rv_link_build_passes(rivet_link *l) {
    bool needs_got = l->got_symbol != NULL, tls, ifunc;
    census(l, &tls, &ifunc);
    rivet_error *e = rv_link_prune_eh_frames(l);
    if (!e && ifunc)
        e = rv_ifunc_build(l);
    if (!e)
        e = rv_link_make_copies(l);
    if (!e)
        e = scan_all_edges(l, &needs_got);
    if (!e && (needs_got || l->got_targets.count))
        e = build_got(l);
    if (!e)
        e = build_stubs(l);
    if (!e && tls)
        e = rv_tls_build(l);
    if (!e) {
        l->stats.got_entries = l->got_targets.count;
        l->stats.stubs = l->stub_targets.count;
    }
    return e;
}
