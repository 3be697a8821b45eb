/*
 * link/ifunc.c — STT_GNU_IFUNC symbols defined by the link's objects.
 *
 * An IFUNC symbol's value is a resolver: a function returning the address
 * of the implementation to use. The resolver can only run once the link's
 * memory is initialized, after every fixup, so references cannot be bound
 * to its answer directly. As in a static executable, each IFUNC gets a
 * canonical stub, `jmp *slot(%rip)`, and the symbol itself is moved onto
 * the stub: calls, address-taking, GOT entries, exports and later links all
 * see the stub's address, so function pointers compare equal everywhere.
 * The slots are in a writable block; the executor's
 * rivet_run_ifunc_resolvers action fills them right after initialization,
 * before any constructor of the link runs.
 *
 * IFUNCs of the executor's libraries (libc's memcpy, ...) need nothing:
 * looking them up already yields the resolved function.
 */
#include "controller/executor.h"
#include "link/tls.h"
#include "rivet/sps.h"

struct rv_ifunc_link {
    rv_symbol **resolvers; /* a copy of each IFUNC's definition, in order */
    size_t count;
    rv_block *slots;      /* 8 bytes per IFUNC, in order */
};

static rivet_error *nomem(void) {
    return rivet_error_create(RIVET_ERR_NOMEM, "out of memory");
}

/* The definition the link binds to (locals bind to themselves). */
static bool is_live_ifunc(rivet_link *l, rv_symbol *s) {
    if (!(s->flags & RV_SYM_IFUNC) || !(s->flags & RV_SYM_DEFINED) || !s->block)
        return false;
    if (s->flags & RV_SYM_LOCAL)
        return true;
    return rv_namemap_get(&l->defs, s->name, s->hash) == s;
}

static rivet_error *collect(rivet_link *l, rv_ptrvec *found) {
    for (size_t i = 0; i < l->objects.count; i++) {
        rv_object *o = l->objects.items[i];
        for (uint32_t k = 1; k < o->symbol_count; k++)
            if (is_live_ifunc(l, &o->symbols[k]) &&
                !rv_ptrvec_push(found, &o->symbols[k]))
                return nomem();
    }
    return NULL;
}

/* Move IFUNC `s` onto stub i, keeping its resolver as a local copy. */
static rivet_error *redirect(rivet_link *l, rv_symbol *s, size_t i,
                             rv_block *stubs, uint8_t *code, rv_edge *edges) {
    const rv_arch *a = l->arch;
    struct rv_ifunc_link *f = l->ifunc;
    rv_symbol *resolver = rv_link_new_symbol(l, s->name, s->block, s->value,
                                             RV_SYM_DEFINED | RV_SYM_LOCAL |
                                             RV_SYM_FUNCTION);
    rv_symbol *slot = rv_link_new_symbol(l, s->name, f->slots, i * 8,
                                         RV_SYM_DEFINED | RV_SYM_LOCAL);
    if (!resolver || !slot)
        return nomem();
    f->resolvers[f->count++] = resolver;
    resolver->object = s->object;
    a->write_stub(code + i * a->stub_size, &edges[i]);
    edges[i].offset += i * a->stub_size;
    edges[i].target = slot;
    s->block = stubs;
    s->value = i * a->stub_size;
    s->flags &= ~RV_SYM_IFUNC;
    return NULL;
}

rivet_error *rv_ifunc_build(rivet_link *l) {
    rv_ptrvec found = {0};
    rivet_error *e = collect(l, &found);
    size_t n = found.count;
    if (e || !n) {
        rv_ptrvec_free(&found);
        return e;
    }
    const rv_arch *a = l->arch;
    l->ifunc = rv_arena_calloc(&l->arena, 1, sizeof *l->ifunc);
    rv_block *stubs = rv_link_new_block(l, ".stubs.ifunc", n * a->stub_size, 16,
                                        RIVET_PROT_READ | RIVET_PROT_EXEC,
                                        RV_ROLE_NORMAL);
    rv_block *slots = rv_link_new_block(l, ".got.ifunc", n * 8, 8,
                                        RIVET_PROT_READ | RIVET_PROT_WRITE,
                                        RV_ROLE_NORMAL);
    uint8_t *code = rv_arena_alloc(&l->arena, n * a->stub_size);
    rv_edge *edges = rv_arena_calloc(&l->arena, n, sizeof *edges);
    uint8_t *zeros = rv_arena_calloc(&l->arena, n, 8);
    rv_symbol **resolvers = rv_arena_calloc(&l->arena, n, sizeof *resolvers);
    if (!l->ifunc || !stubs || !slots || !code || !edges || !zeros || !resolvers) {
        rv_ptrvec_free(&found);
        return nomem();
    }
    slots->content = zeros; /* resolved at initialize */
    l->ifunc->slots = slots;
    l->ifunc->resolvers = resolvers;
    for (size_t i = 0; i < n && !e; i++)
        e = redirect(l, found.items[i], i, stubs, code, edges);
    stubs->content = code;
    stubs->edges = edges;
    stubs->edge_count = (uint32_t)n;
    rv_ptrvec_free(&found);
    return e;
}

rivet_error *rv_ifunc_add_actions(rivet_link *l, rivet_action_pair *p,
                                  size_t *count) {
    struct rv_ifunc_link *f = l->ifunc;
    if (!f)
        return NULL;
    rivet_sps_writer w;
    rivet_sps_writer_init(&w);
    rivet_sps_put_u64(&w, f->count);
    for (size_t i = 0; i < f->count; i++) {
        rivet_sps_put_u64(&w, rv_symbol_address(f->resolvers[i]));
        rivet_sps_put_u64(&w, f->slots->addr + i * 8);
    }
    rivet_action_pair *pair = &p[*count];
    *pair = (rivet_action_pair){0}; /* no dealloc action */
    rivet_error *e = rv_action_call_from_writer(
        &w, &pair->finalize, l->jit->executor->addrs.run_ifunc_resolvers);
    if (!e)
        (*count)++;
    return e;
}
