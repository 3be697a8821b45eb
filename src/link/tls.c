/*
 * link/tls.c — thread-local storage, controller side.
 *
 * A link's .tdata and .tbss blocks form its TLS template: the reader marks
 * them (RV_ROLE_TLS_DATA/BSS, read-only), layout places them last in the R
 * segment, .tdata first, behind a zero-size anchor block that carries the
 * template's alignment. So the template's initial image is ordinary
 * read-only memory of the link, fixed up like any other (a .tdata pointer
 * to a global gets its relocation), and the .tbss tail costs address space
 * only.
 *
 * After layout, the template gets a block of the executor's static TLS
 * arena (executor/services/tls.c), which sits at the same offset from the
 * thread pointer in every thread. From then on a TLS block's `addr` is its
 * offset from the thread pointer, so a thread-local symbol's address is its
 * @tpoff — which is also its @dtpoff, because the arena's module has the
 * thread pointer as its base. Every access model then works without
 * rewriting a single instruction:
 *
 *   local exec       %fs:x@tpoff               TPOFF32 = S + A
 *   initial exec     x@gottpoff(%rip)          GOT word {S}
 *   general dynamic  x@tlsgd(%rip) + call      GOT pair {M, S}; the call to
 *                    __tls_get_addr             __tls_get_addr goes to the
 *                                               executor's rivet_tls_get_addr
 *   local dynamic    x@tlsld(%rip) + call,     GOT pair {M, 0}, then
 *                    x@dtpoff(%rax)             DTPOFF32 = S + A
 *   gnu2 descriptors x@tlsdesc(%rip)           {static-TLS function, S}
 *
 * The TLS GOT entries live in their own read-only block, .got.tls, one
 * entry per (target, kind) and one {M, 0} pair per link.
 *
 * Thread-locals of the executor's own libraries (libstdc++'s
 * __once_callable, a -l library's variable) are found by the executor's
 * TLS lookup at resolve time: the C runtime's module id M', the offset O
 * in that module and, if the module's TLS is static, the variable's
 * thread-pointer offset T. Their GD pairs are {M', O} (rivet_tls_get_addr
 * forwards them to the C runtime's __tls_get_addr), their initial-exec
 * words, local-exec offsets and descriptors use T; without static TLS
 * those fail with a message naming the symbol.
 */
#include <stdlib.h>
#include <string.h>

#include "controller/executor.h"
#include "link/tls.h"
#include "link/runtime.h"
#include "rivet/sps.h"

enum { GD_PAIR, TPOFF_WORD, DESC_PAIR, ENTRY_KINDS };

/* The TLS GOT entries of one target: offsets in .got.tls plus one (0: none). */
typedef struct tls_entry {
    const rv_symbol *target;
    uint32_t at[ENTRY_KINDS];
} tls_entry;

struct rv_tls_link {
    rv_block *anchor;          /* zero-size first block of the template */
    rv_symbol *anchor_symbol;  /* a TLS symbol of this link, for {M, 0} */
    rv_block *got;             /* .got.tls, or NULL */
    tls_entry *entries;        /* open addressing by target */
    size_t capacity;
    uint32_t got_size, ld_pair; /* ld_pair: offset plus one (0: none) */
    rv_ptrvec got_edges;       /* rv_edge* built for .got.tls, in order */
    /* after layout */
    uint64_t image, image_size, size; /* template: initial image in memory */
    bool reserved;
    uint64_t key;
    int64_t tpoff;
};

static rivet_error *nomem(void) {
    return rivet_error_create(RIVET_ERR_NOMEM, "out of memory");
}

/* A thread-local of the executor's libraries (link->host_tls). */
typedef struct rv_host_tls {
    const rv_symbol *proxy;
    bool is_static;
    uint64_t module, offset;
    int64_t tpoff;
    const char *library, *why;
} rv_host_tls;

rivet_error *rv_tls_note_host(rivet_link *l, rv_symbol *proxy,
                              const rv_host_tls_info *info) {
    rv_host_tls *h = rv_arena_calloc(&l->arena, 1, sizeof *h);
    if (!h)
        return nomem();
    *h = (rv_host_tls){.proxy = proxy, .is_static = info->is_static,
                       .module = info->module, .offset = info->offset,
                       .tpoff = info->tpoff,
                       .library = rv_arena_strdup(&l->arena, info->library ? info->library : ""),
                       .why = rv_arena_strdup(&l->arena, info->why ? info->why : "")};
    if (!h->library || !h->why || !rv_ptrvec_push(&l->host_tls, h))
        return nomem();
    return NULL;
}

static const rv_host_tls *host_tls(const rivet_link *l, const rv_symbol *t) {
    if (!(t->flags & RV_SYM_HOST))
        return NULL;
    for (size_t i = 0; i < l->host_tls.count; i++) {
        const rv_host_tls *h = l->host_tls.items[i];
        if (h->proxy == t)
            return h;
    }
    return NULL;
}

/* An access that needs the variable's thread-pointer offset (initial or
 * local exec, a descriptor) to a host thread-local in dynamic TLS. */
static rivet_error *host_not_static(const rv_symbol *t, const rv_host_tls *h,
                                    unsigned needs) {
    bool desc = (needs & RV_NEEDS_TLS_DESC) != 0;
    return rivet_error_create(RIVET_ERR_UNSUPPORTED,
        "thread-local '%s' of %s is in dynamic TLS (%s); %s needs it in "
        "static TLS: compile with %s", t->name, h->library, h->why,
        desc ? "a TLS descriptor (-mtls-dialect=gnu2)"
             : "an initial-exec or local-exec access",
        desc ? "-mtls-dialect=gnu (the default)"
             : "-ftls-model=global-dynamic (or -fPIC)");
}

static bool is_tls_role(const rv_block *b) {
    return b->role == RV_ROLE_TLS_DATA || b->role == RV_ROLE_TLS_BSS;
}

/* ------------------------------------------------------------- resolution */


static rivet_error *define_hidden(rivet_link *l, const char *name,
                                  uint64_t value, uint32_t flags) {
    if (!rv_link_references_undefined(l, name))
        return NULL;
    rv_symbol *s = rv_link_new_symbol(l, name, NULL, value,
                                      RV_SYM_DEFINED | RV_SYM_ABSOLUTE |
                                      RV_SYM_HIDDEN | flags);
    if (!s)
        return nomem();
    s->hash = rv_name_hash(name);
    rv_namemap_slot *slot = rv_namemap_upsert(&l->defs, s->name, s->hash);
    if (!slot)
        return nomem();
    rv_link_define(slot, s);
    return NULL;
}

/* General and local dynamic code calls __tls_get_addr(&{M, offset}); bind
 * this link's calls to the executor's version, which knows rivet's module.
 * Local dynamic code with descriptors (gnu2) asks for the offset of
 * _TLS_MODULE_BASE_, the module's base: for rivet's module, the thread
 * pointer itself, offset 0. */
rivet_error *rv_tls_add_runtime(rivet_link *l) {
    rivet_error *e = define_hidden(l, "__tls_get_addr",
                                   l->jit->executor->addrs.tls_get_addr,
                                   RV_SYM_HOST | RV_SYM_FUNCTION);
    return e ? e : define_hidden(l, "_TLS_MODULE_BASE_", 0, RV_SYM_TLS);
}

/* ------------------------------------------------------------ TLS entries */

static tls_entry *entry_for(struct rv_tls_link *t, const rv_symbol *target) {
    size_t mask = t->capacity - 1;
    size_t i = ((uintptr_t)target >> 4) * 0x9e3779b97f4a7c15u & mask;
    while (t->entries[i].target && t->entries[i].target != target)
        i = (i + 1) & mask;
    t->entries[i].target = target;
    return &t->entries[i];
}

static rivet_error *add_got_edge(rivet_link *l, uint32_t offset, uint32_t kind,
                                 rv_symbol *target) {
    rv_edge *e = rv_arena_calloc(&l->arena, 1, sizeof *e);
    if (!e || !rv_ptrvec_push(&l->tls->got_edges, e))
        return nomem();
    *e = (rv_edge){.offset = offset, .target = target, .kind = kind,
                   .reloc = 0};
    return NULL;
}

static rv_symbol *desc_function(rivet_link *l) {
    static const char name[] = "rivet_tls_desc_static";
    rv_symbol *s = rv_namemap_get(&l->imports, name, rv_name_hash(name));
    if (s)
        return s;
    s = rv_link_new_symbol(l, name, NULL, l->jit->executor->addrs.tls_desc_static,
                           RV_SYM_DEFINED | RV_SYM_ABSOLUTE | RV_SYM_HOST |
                           RV_SYM_FUNCTION);
    rv_namemap_slot *slot = s ? rv_namemap_upsert(&l->imports, name,
                                                  rv_name_hash(name)) : NULL;
    if (!slot)
        return NULL;
    slot->value = s;
    return s;
}

/* Allocate the words of one entry and the edges that fill them. */
static rivet_error *new_entry(rivet_link *l, int kind, rv_symbol *target,
                              uint32_t *at) {
    struct rv_tls_link *t = l->tls;
    const rv_arch *a = l->arch;
    uint32_t off = t->got_size;
    rivet_error *e = NULL;
    switch (kind) {
    case GD_PAIR:
        e = add_got_edge(l, off, a->tls_module_edge_kind, target);
        if (!e) e = add_got_edge(l, off + 8, a->tls_dtpoff_edge_kind, target);
        t->got_size += 16;
        break;
    case TPOFF_WORD:
        e = add_got_edge(l, off, a->tls_tpoff_edge_kind, target);
        t->got_size += 8;
        break;
    case DESC_PAIR: {
        rv_symbol *fn = desc_function(l);
        if (!fn || !l->jit->executor->addrs.tls_desc_static)
            return rivet_error_create(fn ? RIVET_ERR_UNSUPPORTED : RIVET_ERR_NOMEM,
                fn ? "the executor has no TLS descriptor function; compile "
                     "without -mtls-dialect=gnu2" : "out of memory");
        e = add_got_edge(l, off, a->got_entry_edge_kind, fn);
        if (!e) e = add_got_edge(l, off + 8, a->tls_tpoff_edge_kind, target);
        t->got_size += 16;
        break;
    }
    }
    *at = off + 1;
    return e;
}

static rivet_error *not_thread_local(const rv_symbol *t, bool tls_edge) {
    if (!tls_edge)
        return rivet_error_create(RIVET_ERR_MALFORMED,
            "'%s' is thread-local but the relocation is not a TLS relocation",
            t->name);
    if (t->flags & RV_SYM_HOST)
        return rivet_error_create(RIVET_ERR_MALFORMED,
            "TLS relocation against '%s', which the executor's process defines "
            "but not as a thread-local", t->name);
    return rivet_error_create(RIVET_ERR_MALFORMED,
        "TLS relocation against '%s', which is not thread-local", t->name);
}

static rivet_error *scan_edge(rivet_link *l, rv_block *b, rv_edge *e) {
    rv_symbol *t = rv_symbol_resolved(e->target);
    unsigned needs = l->arch->edge_needs(e->kind);
    bool tls_edge = (needs & RV_NEEDS_TLS) != 0;
    if (tls_edge != ((t->flags & RV_SYM_TLS) != 0) && b->role != RV_ROLE_EH_FRAME)
        return rv_edge_error(l, b, e, not_thread_local(t, tls_edge));
    if (!tls_edge)
        return NULL;
    const rv_host_tls *h = host_tls(l, t);
    if (h && (needs & (RV_NEEDS_TLS_STATIC | RV_NEEDS_TLS_TPOFF | RV_NEEDS_TLS_DESC)) &&
        !h->is_static)
        return rv_edge_error(l, b, e, host_not_static(t, h, needs));
    if (h && (needs & RV_NEEDS_TLS_LD_PAIR))
        return rv_edge_error(l, b, e, rivet_error_create(RIVET_ERR_MALFORMED,
            "local-dynamic access to '%s', a thread-local of %s (local dynamic "
            "only reaches the object's own module)", t->name, h->library));
    struct rv_tls_link *tl = l->tls;
    if (needs & RV_NEEDS_TLS_LD_PAIR) {
        if (!tl->ld_pair) {
            tl->ld_pair = tl->got_size + 1;
            tl->got_size += 16;
            return add_got_edge(l, tl->ld_pair - 1, l->arch->tls_module_edge_kind,
                                tl->anchor_symbol);
        }
        return NULL;
    }
    int kind = (needs & RV_NEEDS_TLS_GD_PAIR) ? GD_PAIR
             : (needs & RV_NEEDS_TLS_TPOFF) ? TPOFF_WORD
             : (needs & RV_NEEDS_TLS_DESC) ? DESC_PAIR : -1;
    if (kind < 0)
        return NULL;
    tls_entry *en = entry_for(tl, t);
    if (en->at[kind])
        return NULL;
    rivet_error *err = new_entry(l, kind, t, &en->at[kind]);
    return err ? rv_edge_error(l, b, e, err) : NULL;
}

/* Calls f on every live block of the link's objects. */
static rivet_error *each_block(rivet_link *l,
                               rivet_error *(*f)(rivet_link *, rv_block *, void *),
                               void *ctx) {
    for (size_t i = 0; i < l->objects.count; i++) {
        rv_object *o = l->objects.items[i];
        for (uint32_t k = 0; k < o->section_count; k++) {
            rv_block *b = o->blocks ? o->blocks[k] : NULL;
            rivet_error *e = b && b->live ? f(l, b, ctx) : NULL;
            if (e)
                return e;
        }
    }
    return NULL;
}

typedef struct tls_census {
    uint64_t edges, align;
    bool has_blocks;
} tls_census;

static rivet_error *count_block(rivet_link *l, rv_block *b, void *ctx) {
    tls_census *c = ctx;
    if (is_tls_role(b)) {
        c->has_blocks = true;
        if (b->align > c->align)
            c->align = b->align;
    }
    for (uint32_t i = 0; i < b->edge_count; i++)
        if (l->arch->edge_needs(b->edges[i].kind) & RV_NEEDS_TLS)
            c->edges++;
    return NULL;
}

static rivet_error *scan_block(rivet_link *l, rv_block *b, void *ctx) {
    (void)ctx;
    for (uint32_t i = 0; i < b->edge_count; i++) {
        rivet_error *e = scan_edge(l, b, &b->edges[i]);
        if (e)
            return e;
    }
    return NULL;
}

/* The zero-size block that opens the template: it carries the template's
 * alignment and sorts first among the TLS blocks (priority 0). */
static rivet_error *add_anchor(rivet_link *l, uint64_t align) {
    struct rv_tls_link *t = l->tls;
    t->anchor = rv_link_new_block(l, ".tdata.rivet", 0, align, RIVET_PROT_READ,
                                  RV_ROLE_TLS_DATA);
    if (!t->anchor)
        return nomem();
    t->anchor->priority = 0;
    t->anchor_symbol = rv_link_new_symbol(l, ".tdata.rivet", t->anchor, 0,
                                          RV_SYM_DEFINED | RV_SYM_LOCAL | RV_SYM_TLS);
    return t->anchor_symbol ? NULL : nomem();
}

static rivet_error *build_got(rivet_link *l) {
    struct rv_tls_link *t = l->tls;
    if (!t->got_size)
        return NULL;
    t->got = rv_link_new_block(l, ".got.tls", t->got_size, 8, RIVET_PROT_READ,
                               RV_ROLE_NORMAL);
    uint8_t *content = rv_arena_calloc(&l->arena, t->got_size, 1);
    rv_edge *edges = rv_arena_calloc(&l->arena, t->got_edges.count + 1,
                                     sizeof *edges);
    if (!t->got || !content || !edges)
        return nomem();
    for (size_t i = 0; i < t->got_edges.count; i++)
        edges[i] = *(rv_edge *)t->got_edges.items[i];
    t->got->content = content; /* the {M, 0} pair's zero word stays zero */
    t->got->edges = edges;
    t->got->edge_count = (uint32_t)t->got_edges.count;
    rv_ptrvec_free(&t->got_edges);
    return NULL;
}

rivet_error *rv_tls_build(rivet_link *l) {
    tls_census c = {0, 1, false};
    rivet_error *e = each_block(l, count_block, &c);
    if (e || (!c.edges && !c.has_blocks))
        return e;
    l->tls = rv_arena_calloc(&l->arena, 1, sizeof *l->tls);
    if (!l->tls)
        return nomem();
    struct rv_tls_link *t = l->tls;
    t->capacity = 16;
    while (t->capacity < 2 * c.edges)
        t->capacity *= 2;
    t->entries = rv_arena_calloc(&l->arena, t->capacity, sizeof *t->entries);
    if (!t->entries)
        return nomem();
    e = add_anchor(l, c.align);
    if (!e) e = each_block(l, scan_block, NULL);
    if (!e) e = build_got(l);
    rv_ptrvec_free(&t->got_edges);
    return e;
}

/* ----------------------------------------------------------------- layout */

rivet_error *rv_tls_layout(rivet_link *l) {
    struct rv_tls_link *t = l->tls;
    if (!t)
        return NULL;
    rv_segment_layout *seg = &l->segments[RV_SEG_R];
    uint64_t start = t->anchor->addr, image_end = start, end = start;
    for (size_t i = 0; i < seg->blocks.count; i++) {
        rv_block *b = seg->blocks.items[i];
        if (!is_tls_role(b))
            continue;
        if (b->role == RV_ROLE_TLS_DATA && b->addr + b->size > image_end)
            image_end = b->addr + b->size;
        if (b->addr + b->size > end)
            end = b->addr + b->size;
    }
    t->image = start;
    t->image_size = image_end - start;
    t->size = end - start;
    if (!t->size)
        return NULL; /* only references to earlier links' thread-locals */
    uint64_t module = 0;
    rivet_error *e = rv_executor_tls_reserve(l->jit->executor, t->size,
                                             t->anchor->align, &t->key,
                                             &module, &t->tpoff);
    if (e)
        return rivet_error_wrap(e, "thread-local storage of %llu bytes",
                                (unsigned long long)t->size);
    t->reserved = true;
    for (size_t i = 0; i < seg->blocks.count; i++) {
        rv_block *b = seg->blocks.items[i];
        if (is_tls_role(b))
            b->addr = (uint64_t)t->tpoff + (b->addr - start);
    }
    return NULL;
}

/* ------------------------------------------------------------------ fixup */

rivet_error *rv_tls_edge_values(rivet_link *l, const rv_edge *e,
                                const rv_symbol *target, uint64_t *S,
                                uint64_t *G) {
    struct rv_tls_link *t = l->tls;
    unsigned needs = l->arch->edge_needs(e->kind);
    if (!(target->flags & RV_SYM_TLS))
        return not_thread_local(target, true);
    const rv_host_tls *h = host_tls(l, target);
    if (needs & RV_NEEDS_TLS_MODULE) {
        *S = h ? h->module : l->jit->executor->addrs.tls_static_module;
        return NULL;
    }
    if (h && (needs & RV_NEEDS_TLS_STATIC) && !h->is_static)
        return host_not_static(target, h, needs);
    if (h) /* initial / local exec: from the thread pointer; else in M' */
        *S = (needs & RV_NEEDS_TLS_STATIC) ? (uint64_t)h->tpoff : h->offset;
    /* S is already the offset from the thread pointer (see the top). */
    int kind = (needs & RV_NEEDS_TLS_GD_PAIR) ? GD_PAIR
             : (needs & RV_NEEDS_TLS_TPOFF) ? TPOFF_WORD
             : (needs & RV_NEEDS_TLS_DESC) ? DESC_PAIR : -1;
    if (needs & RV_NEEDS_TLS_LD_PAIR)
        *G = t->got->addr + t->ld_pair - 1;
    else if (kind >= 0)
        *G = t->got->addr + entry_for(t, target)->at[kind] - 1;
    return NULL;
}

/* --------------------------------------------------------------- finalize */

rivet_error *rv_tls_add_actions(rivet_link *l, rivet_action_pair *p,
                                size_t *count) {
    struct rv_tls_link *t = l->tls;
    if (!t || !t->reserved)
        return NULL;
    const rv_executor_addrs *a = &l->jit->executor->addrs;
    rivet_action_pair *pair = &p[(*count)++];
    rivet_sps_writer w;
    rivet_sps_writer_init(&w);
    rivet_sps_put_u64(&w, t->key);
    rivet_sps_put_u64(&w, t->image);
    rivet_sps_put_u64(&w, t->image_size);
    rivet_error *e = rv_action_call_from_writer(&w, &pair->finalize, a->tls_register);
    rivet_sps_writer_init(&w);
    rivet_sps_put_u64(&w, t->key);
    if (!e)
        e = rv_action_call_from_writer(&w, &pair->dealloc, a->tls_unregister);
    else
        rivet_sps_writer_reset(&w);
    return e;
}

void rv_tls_free_link(rivet_link *l) {
    struct rv_tls_link *t = l->tls;
    if (!t || !t->reserved)
        return;
    t->reserved = false;
    rivet_error_free(rv_executor_tls_release(l->jit->executor, t->key));
}
