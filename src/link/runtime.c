/*
 * link/runtime.c — the runtime object every link gets (see runtime.h).
 */
#include "link/runtime.h"
#include "link/tls.h"

#include <string.h>

/* Names the runtime may have to supply; the reader notes which of them
 * each object references (rv_runtime_name_bit), so no pass over the link's
 * symbols is needed to tell. */
static const char *const runtime_names[] = {
    "_GLOBAL_OFFSET_TABLE_", "atexit", "at_quick_exit", "__tls_get_addr",
    "_TLS_MODULE_BASE_",
};
enum { RUNTIME_NAME_COUNT = sizeof runtime_names / sizeof runtime_names[0] };

uint32_t rv_runtime_name_bit(const char *name) {
    if (name[0] != '_' && name[0] != 'a')
        return 0; /* what every runtime name starts with: most names stop here */
    for (int n = 0; n < RUNTIME_NAME_COUNT; n++)
        if (strcmp(name, runtime_names[n]) == 0)
            return 1u << n;
    return 0;
}

bool rv_link_references_undefined(rivet_link *l, const char *name) {
    if (rv_namemap_get(&l->defs, name, rv_name_hash(name)))
        return false;
    if (!l->runtime_refs_scanned) {
        /* the reader noted each object's references (object/elf.c) */
        for (size_t i = 0; i < l->objects.count; i++)
            l->runtime_refs |= ((const rv_object *)l->objects.items[i])->runtime_refs;
        l->runtime_refs_scanned = true;
    }
    return (l->runtime_refs & rv_runtime_name_bit(name)) != 0;
}

static rivet_error *define(rivet_link *l, rv_symbol *s) {
    s->hash = rv_name_hash(s->name);
    rv_namemap_slot *slot = rv_namemap_upsert(&l->defs, s->name, s->hash);
    if (!slot)
        return rivet_error_create(RIVET_ERR_NOMEM, "out of memory");
    rv_link_define(slot, s);
    return NULL;
}

/* The runtime object's symbols: definitions plus the undefined callees of
 * the thunks, which resolve like any other reference. */
typedef struct runtime_builder {
    rivet_link *l;
    rv_object *obj;
    rv_symbol syms[8];
    uint32_t count;
} runtime_builder;

static rv_symbol *add_undefined(runtime_builder *rb, const char *name) {
    rv_symbol *s = &rb->syms[rb->count++];
    memset(s, 0, sizeof *s);
    s->name = name;
    s->hash = rv_name_hash(name);
    s->object = rb->obj;
    return s;
}

static rivet_error *add_cxa_thunk(runtime_builder *rb, const char *name,
                                  const char *callee) {
    rivet_link *l = rb->l;
    const rv_arch *a = l->arch;
    rv_block *b = rv_link_new_block(l, ".text.rivet", a->cxa_thunk_size, 16,
                                    RIVET_PROT_READ | RIVET_PROT_EXEC, RV_ROLE_NORMAL);
    rv_edge *edges = rv_arena_alloc(&l->arena, 2 * sizeof *edges);
    uint8_t *code = rv_arena_alloc(&l->arena, a->cxa_thunk_size);
    if (!b || !edges || !code)
        return rivet_error_create(RIVET_ERR_NOMEM, "out of memory");
    a->write_cxa_thunk(code, edges);
    b->content = code;
    b->object = rb->obj;
    edges[0].target = l->dso_handle;
    edges[1].target = add_undefined(rb, callee);
    b->edges = edges;
    b->edge_count = 2;
    rv_symbol *s = rv_link_new_symbol(l, name, b, 0, RV_SYM_DEFINED | RV_SYM_FUNCTION);
    return s ? define(l, s) : rivet_error_create(RIVET_ERR_NOMEM, "out of memory");
}

static rivet_error *add_dso_handle(rivet_link *l) {
    rv_symbol *s = rv_namemap_get(&l->defs, "__dso_handle", rv_name_hash("__dso_handle"));
    if (s) {
        l->dso_handle = s;
        return NULL;
    }
    rv_block *b = rv_link_new_block(l, ".data.rivet.dso_handle", 8, 8,
                                    RIVET_PROT_READ | RIVET_PROT_WRITE, RV_ROLE_NORMAL);
    if (!b)
        return rivet_error_create(RIVET_ERR_NOMEM, "out of memory");
    s = rv_link_new_symbol(l, "__dso_handle", b, 0, RV_SYM_DEFINED | RV_SYM_HIDDEN);
    if (!s)
        return rivet_error_create(RIVET_ERR_NOMEM, "out of memory");
    l->dso_handle = s;
    return define(l, s);
}

static rivet_error *add_got_symbol(rivet_link *l) {
    if (!rv_link_references_undefined(l, "_GLOBAL_OFFSET_TABLE_"))
        return NULL;
    /* Placed on the GOT block by the passes; until then it has no block. */
    rv_symbol *s = rv_link_new_symbol(l, "_GLOBAL_OFFSET_TABLE_", NULL, 0,
                                      RV_SYM_DEFINED | RV_SYM_HIDDEN);
    if (!s)
        return rivet_error_create(RIVET_ERR_NOMEM, "out of memory");
    l->got_symbol = s;
    return define(l, s);
}

rivet_error *rv_runtime_add(rivet_link *l) {
    runtime_builder *rb = rv_arena_calloc(&l->arena, 1, sizeof *rb);
    rv_object *obj = rv_arena_calloc(&l->arena, 1, sizeof *obj);
    if (!rb || !obj)
        return rivet_error_create(RIVET_ERR_NOMEM, "out of memory");
    rb->l = l;
    rb->obj = obj;
    obj->name = "<rivet runtime>";
    rivet_error *e = add_dso_handle(l);
    if (!e) e = add_got_symbol(l);
    if (!e && rv_link_references_undefined(l, "atexit"))
        e = add_cxa_thunk(rb, "atexit", "__cxa_atexit");
    if (!e && rv_link_references_undefined(l, "at_quick_exit"))
        e = add_cxa_thunk(rb, "at_quick_exit", "__cxa_at_quick_exit");
    if (!e)
        e = rv_tls_add_runtime(l); /* __tls_get_addr */
    if (e || rb->count == 0)
        return e;
    obj->symbols = rb->syms;
    obj->symbol_count = rb->count;
    return rv_ptrvec_push(&l->objects, obj)
               ? NULL : rivet_error_create(RIVET_ERR_NOMEM, "out of memory");
}
