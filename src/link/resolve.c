/*
 * link/resolve.c — bind every global name of a link to one definition.
 *
 * Order of search for a name (design.md, "resolve"):
 *   1. definitions in this link's objects: strong > weak > common (the
 *      largest common wins); two strong definitions are an error naming
 *      both objects;
 *   2. rivet's runtime helpers (__dso_handle, atexit, at_quick_exit,
 *      _GLOBAL_OFFSET_TABLE_), when the objects do not define them;
 *   3. symbols exported by earlier links of the same jit;
 *   4. the client's symbol resolver (rivet_jit_set_symbol_resolver), then
 *      the executor's process, all names in one dylib-service call; names
 *      referenced as thread-locals go to the executor's TLS lookup first
 *      (and never to the client's resolver, which only knows addresses);
 *   5. an undefined weak reference resolves to address 0, and so does an
 *      undefined name no relocation uses (as with ld).
 * Whatever is left is reported in one error, each name with the place it is
 * first referenced.
 *
 * Names defined outside the link get a proxy symbol in this link's arena, so
 * later passes can attach GOT entries and stubs without touching another
 * link's graph.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller/executor.h"
#include "link/link.h"
#include "link/runtime.h"
#include "link/tls.h"
#include "sys/sys.h"

static rivet_error *nomem(void) {
    return rivet_error_create(RIVET_ERR_NOMEM, "out of memory");
}

static int strength(const rv_symbol *s) {
    if (s->flags & RV_SYM_COMMON)
        return 1;
    return (s->flags & RV_SYM_WEAK) ? 2 : 3;
}

static void merge_common(rv_symbol *kept, const rv_symbol *other) {
    if (other->size > kept->size)
        kept->size = other->size;
    if (other->value > kept->value)
        kept->value = other->value;
}

/* Add one definition to the link's table; on a strong/strong clash append a
 * line to `dups` instead. */
static rivet_error *add_definition(rivet_link *l, rv_symbol *s, rv_ptrvec *dups) {
    rv_namemap_slot *slot = rv_namemap_upsert(&l->defs, s->name, s->hash);
    if (!slot)
        return rivet_error_create(RIVET_ERR_NOMEM, "out of memory");
    rv_symbol *old = slot->value;
    if (s->flags & RV_SYM_COMMON)
        l->has_commons = true;
    if (!old) {
        rv_link_define(slot, s);
        return NULL;
    }
    int so = strength(old), sn = strength(s);
    if (so == 3 && sn == 3)
        return rv_ptrvec_push(dups, s) && rv_ptrvec_push(dups, old)
                   ? NULL : rivet_error_create(RIVET_ERR_NOMEM, "out of memory");
    if (so == 1 && sn == 1)
        merge_common(old, s);
    else if (sn > so)
        rv_link_define(slot, s);
    return NULL;
}

static rivet_error *check_earlier_links(rivet_link *l, rv_symbol *s, rv_ptrvec *dups) {
    rv_symbol *prev = rv_namemap_get(&l->jit->exports, s->name, s->hash);
    if (prev && strength(prev) == 3 && strength(s) == 3)
        return rv_ptrvec_push(dups, s) && rv_ptrvec_push(dups, prev)
                   ? NULL : rivet_error_create(RIVET_ERR_NOMEM, "out of memory");
    return NULL;
}

static rivet_error *duplicates_error(rv_ptrvec *dups) {
    size_t cap = 256 * dups->count + 64, len = 0;
    char *msg = malloc(cap);
    if (!msg)
        return rivet_error_create(RIVET_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < dups->count; i += 2) {
        const rv_symbol *a = dups->items[i], *b = dups->items[i + 1];
        len += (size_t)snprintf(msg + len, cap - len,
            "%sduplicate symbol: %s (defined in %s and in %s)",
            i ? "\n" : "", a->name, b->object ? b->object->name : "an earlier link",
            a->object ? a->object->name : "?");
        if (len >= cap)
            break;
    }
    rivet_error *e = rivet_error_create(RIVET_ERR_DUPLICATE, "%s", msg);
    free(msg);
    return e;
}

/* Size the table once: rehashing as it grows would touch (and zero) about
 * as much memory again. The reader counted each object's definitions. */
static bool reserve_definitions(rivet_link *l) {
    size_t n = 0;
    for (size_t i = 0; i < l->objects.count; i++)
        n += ((const rv_object *)l->objects.items[i])->global_definitions;
    return rv_namemap_reserve(&l->defs, n + 16); /* + runtime's own */
}

static rivet_error *collect_definitions(rivet_link *l) {
    rv_ptrvec dups = {0};
    rivet_error *e = reserve_definitions(l) ? NULL
                   : rivet_error_create(RIVET_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < l->objects.count && !e; i++) {
        rv_object *o = l->objects.items[i];
        uint32_t n = o->global_definitions;
        for (uint32_t k = 0; k < n && !e; k++) {
            /* the reader listed them (rv_object.definitions); ask for the
             * symbols and then the table slots a few insertions ahead */
            if (k + 16 < n)
                __builtin_prefetch(o->definitions[k + 16]);
            if (k + 8 < n)
                rv_namemap_prefetch_slot(&l->defs, o->definitions[k + 8]->hash);
            rv_symbol *s = o->definitions[k];
            e = add_definition(l, s, &dups);
            if (!e && !(s->flags & RV_SYM_HIDDEN))
                e = check_earlier_links(l, s, &dups);
        }
    }
    if (!e && dups.count)
        e = duplicates_error(&dups);
    rv_ptrvec_free(&dups);
    return e;
}

/* Commons that won get zero-filled storage of their own. */
static rivet_error *allocate_commons(rivet_link *l) {
    for (size_t i = 0; l->has_commons && i < l->defs.capacity; i++) {
        rv_symbol *s = l->defs.slots[i].key ? l->defs.slots[i].value : NULL;
        if (!s || !(s->flags & RV_SYM_COMMON))
            continue;
        rv_block *b = rv_link_new_block(l, "COMMON", s->size, s->value,
                                        RIVET_PROT_READ | RIVET_PROT_WRITE,
                                        RV_ROLE_NORMAL);
        if (!b)
            return rivet_error_create(RIVET_ERR_NOMEM, "out of memory");
        b->object = s->object;
        s->block = b;
        s->value = 0;
        s->flags = (s->flags & ~RV_SYM_COMMON) | RV_SYM_DEFINED;
    }
    return NULL;
}

static rv_symbol *import_symbol(rivet_link *l, const char *name, uint32_t hash,
                                uint64_t addr, uint64_t size, uint32_t flags) {
    rv_symbol *p = rv_link_new_symbol(l, name, NULL, addr,
                                      RV_SYM_DEFINED | RV_SYM_ABSOLUTE | RV_SYM_HOST | flags);
    if (!p)
        return NULL;
    p->hash = hash;
    p->size = size;
    rv_namemap_slot *slot = rv_namemap_upsert(&l->imports, p->name, hash);
    if (!slot)
        return NULL;
    slot->value = p;
    return p;
}

/* Bind from this link or an earlier one; names still open go to `open`
 * and the symbols themselves to `pending`, for a second pass. */
static rivet_error *bind_locally(rivet_link *l, rv_symbol *s, rv_namemap *open,
                                 rv_ptrvec *pending) {
    rv_symbol *d = rv_namemap_get(&l->defs, s->name, s->hash);
    if (!d)
        d = rv_namemap_get(&l->imports, s->name, s->hash);
    if (!d) {
        rv_symbol *x = rv_namemap_get(&l->jit->exports, s->name, s->hash);
        if (x) {
            d = import_symbol(l, s->name, s->hash, rv_symbol_address(x), x->size,
                              x->flags & (RV_SYM_FUNCTION | RV_SYM_TLS));
            if (!d)
                return rivet_error_create(RIVET_ERR_NOMEM, "out of memory");
        }
    }
    if (d) {
        if (d != s)
            s->def = d;
        return NULL;
    }
    rv_namemap_slot *slot = rv_namemap_upsert(open, s->name, s->hash);
    if (!slot || (pending && !rv_ptrvec_push(pending, s)))
        return rivet_error_create(RIVET_ERR_NOMEM, "out of memory");
    const rv_symbol *seen = slot->value;
    if (!seen || (seen->flags & RV_SYM_WEAK) ||
        (!(seen->flags & RV_SYM_REFERENCED) && (s->flags & RV_SYM_REFERENCED)))
        slot->value = s; /* remember a strong, used reference if there is one */
    return NULL;
}

/* Binding to the link's own definitions only reads the table and writes
 * each symbol's `def`, so large links do it on two threads, each taking the
 * next object not yet taken. Symbols whose names the link does not define
 * are set aside with their object's number and bound afterwards on the
 * calling thread, in input order, exactly as a serial pass would bind them
 * (earlier links, then the lookups below). The stub pass looks at these
 * alone (l->outside), so branches to definitions that lie in the
 * executor's process (the TLS runtime's __tls_get_addr) are set aside
 * too; binding them again finds the same definition. */
typedef struct set_aside {
    size_t object;
    rv_symbol *symbol;
} set_aside;

typedef struct bind_work {
    rivet_link *l;
    atomic_size_t next;  /* the next object to bind */
} bind_work;

/* Each half has an arena of its own (the link's, or the worker's, idle
 * since reading): a helper thread that called malloc would make the C
 * library set up a whole heap for it. */
typedef struct bind_half {
    bind_work *w;
    rv_arena *arena;
    set_aside *rest;     /* in increasing object order */
    size_t count, capacity;
    bool nomem;
} bind_half;

enum { PARALLEL_MIN_SYMBOLS = 16 * 1024 };

static bool set_aside_symbol(bind_half *h, size_t object, rv_symbol *s) {
    if (h->count == h->capacity) {
        size_t cap = h->capacity ? 2 * h->capacity : 256;
        set_aside *p = rv_arena_alloc(h->arena, cap * sizeof *p);
        if (!p)
            return false;
        if (h->count)
            memcpy(p, h->rest, h->count * sizeof *p);
        h->rest = p;
        h->capacity = cap;
    }
    h->rest[h->count++] = (set_aside){object, s};
    return true;
}

static void bind_object(bind_half *h, size_t i) {
    const rv_namemap *defs = &h->w->l->defs;
    rv_object *o = h->w->l->objects.items[i];
    for (uint32_t k = o->first_global; k < o->symbol_count; k++) {
        rv_symbol *s = &o->symbols[k];
        if (k + 8 < o->symbol_count) /* the lookups ahead (namemap.h) */
            rv_namemap_prefetch_slot(defs, o->symbols[k + 8].hash);
        if (k + 4 < o->symbol_count)
            rv_namemap_prefetch_key(defs, o->symbols[k + 4].hash);
        if (s->flags & RV_SYM_LOCAL || !s->name[0])
            continue;
        const rv_namemap_slot *slot = rv_namemap_find(defs, s->name, s->hash);
        rv_symbol *d = slot ? slot->value : NULL;
        if (d && d != s)
            s->def = d;
        /* set aside: names not defined here, and branches to a definition
         * in the executor's process (it may need a stub: link/passes.c) */
        bool aside = !d || ((slot->aux & RV_DEF_HOST) && (s->flags & RV_SYM_REF_STUB));
        if (aside && !set_aside_symbol(h, i, s))
            h->nomem = true;
    }
}

static void bind_to_definitions(void *p) {
    bind_half *h = p;
    size_t n = h->w->l->objects.count;
    for (size_t i; !h->nomem && (i = atomic_fetch_add(&h->w->next, 1)) < n;)
        bind_object(h, i);
}

static rivet_error *bind_all_locally(rivet_link *l, rv_namemap *open,
                                     rv_ptrvec *pending) {
    size_t symbols = 0;
    for (size_t i = 0; i < l->objects.count; i++)
        symbols += ((const rv_object *)l->objects.items[i])->symbol_count;
    bind_work w = {.l = l};
    atomic_init(&w.next, 0);
    bind_half a = {.w = &w, .arena = &l->arena}, b = {.w = &w, .arena = &l->worker_arena};
    if (symbols >= PARALLEL_MIN_SYMBOLS && l->objects.count > 1)
        rv_sys_run_pair(bind_to_definitions, &a, &b);
    else
        bind_to_definitions(&a);
    rivet_error *e = a.nomem || b.nomem ? nomem() : NULL;
    /* kept for the stub pass: only these can need a stub */
    l->outside = e ? NULL : rv_arena_alloc(&l->arena, (a.count + b.count + 1) *
                                                      sizeof *l->outside);
    if (!e && !l->outside)
        e = nomem();
    /* merge the two runs by object, which restores input order */
    for (size_t i = 0, j = 0; !e && (i < a.count || j < b.count);) {
        bool from_a = j == b.count || (i < a.count && a.rest[i].object < b.rest[j].object);
        rv_symbol *s = from_a ? a.rest[i++].symbol : b.rest[j++].symbol;
        l->outside[l->outside_count++] = s;
        e = bind_locally(l, s, open, pending);
    }
    return e;
}

/* After the executor lookup: every pending symbol now has a proxy. */
static rivet_error *bind_pending(rivet_link *l, rv_ptrvec *pending) {
    rv_namemap unused;
    rv_namemap_init(&unused);
    rivet_error *e = NULL;
    for (size_t i = 0; i < pending->count && !e; i++)
        e = bind_locally(l, pending->items[i], &unused, NULL);
    rv_namemap_free(&unused);
    return e;
}

/* What the compiler driver links implicitly: libstdc++ for C++, and libm
 * (see lookup_in_executor). libc is part of every executor already. */
static rivet_error *open_default_library(rivet_link *l, const char *path,
                                         bool *opened) {
    uint64_t handle;
    if (*opened)
        return NULL;
    rivet_error *e = rv_executor_open_library(l->jit->executor, path, &handle);
    if (!e)
        *opened = true;
    return e;
}

/* A name the objects reference as a thread-local (STT_TLS): it needs more
 * than an address, so only the executor's TLS lookup answers it. */
static bool is_tls_reference(const void *slot_value) {
    const rv_symbol *s = slot_value;
    return s && (s->flags & RV_SYM_TLS);
}

enum name_filter { ANY_NAME, TLS_NAMES, NON_TLS_NAMES };

/* The open names a lookup asks about (malloc'd; *n may be 0). */
static const char **open_names(const rv_namemap *open, enum name_filter f,
                               size_t *n) {
    const char **names = malloc((open->count + 1) * sizeof *names);
    *n = 0;
    for (size_t i = 0; names && i < open->capacity; i++) {
        const rv_namemap_slot *slot = &open->slots[i];
        bool tls = slot->key && is_tls_reference(slot->value);
        if (slot->key && (f == ANY_NAME || (f == TLS_NAMES) == tls))
            names[(*n)++] = slot->key;
    }
    return names;
}

/* A lookup answered `name`: bind it to a proxy and close it. */
static rv_symbol *close_name(rivet_link *l, rv_namemap *open, const char *name,
                             uint64_t addr, uint32_t flags) {
    uint32_t h = rv_name_hash(name);
    rv_symbol *p = import_symbol(l, name, h, addr, 0, flags);
    rv_namemap_remove(open, name, h);
    return p;
}

/* Thread-locals of the executor's libraries, before any other lookup: a
 * plain dlsym of a thread-local would settle its library's TLS as dynamic
 * for good, and initial-exec code needs it static (docs/tls.md). Names the
 * executor does not know as thread-locals stay open. */
static rivet_error *lookup_tls_in_executor(rivet_link *l, rv_namemap *open) {
    size_t n;
    const char **names = open_names(open, TLS_NAMES, &n);
    rv_host_tls_info *info = calloc(n ? n : 1, sizeof *info);
    rivet_error *e = !names || !info ? nomem() : NULL;
    if (!e && n)
        e = rv_executor_tls_host_lookup(l->jit->executor, names, n, info);
    for (size_t i = 0; i < n && !e; i++) {
        if (!info[i].found)
            continue;
        rv_symbol *p = close_name(l, open, names[i], 0, RV_SYM_TLS);
        e = p ? rv_tls_note_host(l, p, &info[i]) : nomem();
    }
    rv_host_tls_info_free(info, n);
    free(names);
    free(info);
    return e;
}

/* The client's resolver (rivet_jit_set_symbol_resolver) answers first. */
static rivet_error *lookup_in_resolver(rivet_link *l, rv_namemap *open) {
    rivet_jit *jit = l->jit;
    size_t n;
    const char **names = open_names(open, NON_TLS_NAMES, &n);
    rivet_error *e = names ? NULL : nomem();
    for (size_t i = 0; i < n && !e; i++) {
        uint64_t addr = jit->resolver(jit->resolver_ctx, names[i]);
        if (addr && !close_name(l, open, names[i], addr, 0))
            e = nomem();
    }
    free(names);
    return e;
}

/* One round of lookups in the executor's process: thread-locals first,
 * then everything still open, in one call. */
static rivet_error *lookup_round(rivet_link *l, rv_namemap *open) {
    rivet_error *e = lookup_tls_in_executor(l, open);
    if (e || !open->count)
        return e;
    size_t n;
    const char **names = open_names(open, ANY_NAME, &n);
    uint64_t *addrs = calloc(n + 1, sizeof *addrs);
    e = !names || !addrs ? nomem() : NULL;
    if (!e)
        e = rv_executor_lookup_symbols(l->jit->executor, names, n, addrs);
    for (size_t i = 0; i < n && !e; i++)
        if (addrs[i] && !close_name(l, open, names[i], addrs[i], 0))
            e = nomem();
    free(names);
    free(addrs);
    return e;
}

/* libm is opened only when names are left after a first round: a name the
 * process already defines binds the same with or without it (libm comes
 * later in the search order), and a program using none of libm does not
 * load it, as with the linker's --as-needed. Opening it costs a dlopen. */
static rivet_error *lookup_in_executor(rivet_link *l, rv_namemap *open) {
    rivet_jit *jit = l->jit;
    rivet_error *e = l->needs_cxx_runtime
        ? open_default_library(l, "libstdc++.so.6", &jit->opened_libstdcxx) : NULL;
    if (!e)
        e = lookup_round(l, open);
    if (!e && open->count && !jit->opened_libm) {
        e = open_default_library(l, "libm.so.6", &jit->opened_libm);
        if (!e)
            e = lookup_round(l, open);
    }
    return e;
}

static int compare_refs(const void *a, const void *b) {
    const rv_symbol *x = *(rv_symbol *const *)a, *y = *(rv_symbol *const *)b;
    return strcmp(x->name, y->name);
}

/* The first edge of the symbol's object that names it (messages only, so
 * found by a scan rather than recorded for every symbol). */
static bool first_reference(const rv_symbol *s, const rv_block **block,
                            const rv_edge **edge) {
    const rv_object *o = s->object;
    for (uint32_t k = 0; o && k < o->section_count; k++) {
        const rv_block *b = o->blocks ? o->blocks[k] : NULL;
        for (uint32_t i = 0; b && i < b->edge_count; i++)
            if (b->edges[i].target == s) {
                *block = b;
                *edge = &b->edges[i];
                return true;
            }
    }
    return false;
}

static rivet_error *undefined_error(rv_ptrvec *missing) {
    qsort(missing->items, missing->count, sizeof(void *), compare_refs);
    size_t cap = 1024 * missing->count + 64, len = 0;
    char *msg = malloc(cap);
    if (!msg)
        return rivet_error_create(RIVET_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < missing->count && len < cap; i++) {
        const rv_symbol *s = missing->items[i];
        char *pretty = rv_sys_demangle(s->name);
        len += (size_t)snprintf(msg + len, cap - len, "%sundefined symbol: %s%s%s%s",
                                i ? "\n" : "", s->name, pretty ? " (" : "",
                                pretty ? pretty : "", pretty ? ")" : "");
        free(pretty);
        const rv_block *b;
        const rv_edge *edge;
        if (len < cap && first_reference(s, &b, &edge))
            len += (size_t)snprintf(msg + len, cap - len,
                " (referenced from %s section %s offset 0x%llx)", s->object->name,
                b->name, (unsigned long long)edge->offset);
    }
    rivet_error *e = rivet_error_create(RIVET_ERR_UNDEFINED, "%s", msg);
    free(msg);
    return e;
}

/* Weak and unused references bind to 0; anything else left is an error. */
static rivet_error *finish_unresolved(rivet_link *l, rv_namemap *open) {
    rv_ptrvec missing = {0};
    rivet_error *e = NULL;
    for (size_t i = 0; i < open->capacity && !e; i++) {
        rv_symbol *s = open->slots[i].key ? open->slots[i].value : NULL;
        if (!s)
            continue;
        /* weak references, and names no relocation uses (as ld), bind to 0 */
        if ((s->flags & RV_SYM_WEAK) || !(s->flags & RV_SYM_REFERENCED)) {
            if (!import_symbol(l, s->name, s->hash, 0, 0, RV_SYM_WEAK))
                e = rivet_error_create(RIVET_ERR_NOMEM, "out of memory");
        } else if (!rv_ptrvec_push(&missing, s))
            e = rivet_error_create(RIVET_ERR_NOMEM, "out of memory");
    }
    if (!e && missing.count)
        e = undefined_error(&missing);
    rv_ptrvec_free(&missing);
    return e;
}

rivet_error *rv_link_resolve(rivet_link *l) {
    rv_namemap open;
    rv_ptrvec pending = {0};
    rv_namemap_init(&open);
    rivet_error *e = collect_definitions(l);
    if (!e) e = rv_runtime_add(l);
    if (!e) e = allocate_commons(l);
    if (!e) e = bind_all_locally(l, &open, &pending);
    if (!e && open.count && l->jit->resolver) e = lookup_in_resolver(l, &open);
    if (!e && open.count) e = lookup_in_executor(l, &open);
    if (!e && open.count) e = finish_unresolved(l, &open);
    if (!e) e = bind_pending(l, &pending); /* to the new proxies */
    rv_namemap_free(&open);
    rv_ptrvec_free(&pending);
    return e;
}
