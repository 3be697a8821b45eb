/*
 * link/jit.c — the public face of librivet: a jit collects inputs, links
 * them through the stages of link.h, publishes their symbols, runs entry
 * points and removes links again.
 *
 * A failed link is rolled back completely: initialized memory is
 * deinitialized, the allocation returns to its slab, COMDAT claims are
 * dropped and nothing is published.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "controller/executor.h"
#include "link/link.h"
#include "sys/sys.h"
#include "link/tls.h"

static rivet_error *nomem(void) {
    return rivet_error_create(RIVET_ERR_NOMEM, "out of memory");
}

/* ------------------------------------------------------------ construction */

rivet_error *rivet_jit_create(rivet_executor *ex, rivet_jit **out) {
    rivet_jit *jit = calloc(1, sizeof *jit);
    if (!jit)
        return nomem();
    if (!ex) {
        rivet_error *e = rivet_executor_create_in_process(&ex);
        if (e) {
            free(jit);
            return rivet_error_wrap(e, "creating the in-process executor");
        }
        jit->owns_executor = true;
    }
    jit->executor = ex;
    jit->page_size = ex->page_size ? ex->page_size : 4096;
    pthread_mutex_init(&jit->lock, NULL);
    rv_namemap_init(&jit->exports);
    rv_namemap_init(&jit->comdat);
    *out = jit;
    return NULL;
}

static void free_input(rv_input *in) {
    rv_sys_unmap_file(in->mapping, in->mapping_size);
    free(in->name);
}

static void free_link(rivet_link *l) {
    rv_tls_free_link(l); /* after deinitialize, in every path */
    for (size_t i = 0; i < l->input_count; i++)
        free_input(&l->inputs[i]);
    free(l->inputs);
    if (l->work && !l->work_is_target)
        rv_sys_free_pages(l->work, l->work_size);
    rv_link_free_archives(l);
    rv_ptrvec_free(&l->objects);
    rv_ptrvec_free(&l->synthetic);
    rv_ptrvec_free(&l->claimed_groups);
    rv_ptrvec_free(&l->copies);
    rv_ptrvec_free(&l->got_targets);
    rv_ptrvec_free(&l->stub_targets);
    rv_ptrvec_free(&l->host_tls);
    rv_ptrvec_free(&l->exports);
    for (int s = 0; s < RV_SEG_COUNT; s++)
        rv_ptrvec_free(&l->segments[s].blocks);
    rv_namemap_free(&l->defs);
    rv_namemap_free(&l->imports);
    rv_arena_free(&l->arena);
    rv_arena_free(&l->worker_arena);
    free(l);
}

/* Undo what a link did to the jit: claims, exports, memory. */
static void unregister_link(rivet_link *l) {
    rivet_jit *jit = l->jit;
    for (size_t i = 0; i < l->claimed_groups.count; i++) {
        const char *sig = l->claimed_groups.items[i];
        rv_namemap_remove(&jit->comdat, sig, rv_name_hash(sig));
    }
    for (size_t i = 0; i < l->exports.count; i++) {
        rv_symbol *s = l->exports.items[i];
        if (rv_namemap_get(&jit->exports, s->name, s->hash) == s)
            rv_namemap_remove(&jit->exports, s->name, s->hash);
    }
    if (l->slab)
        rv_memory_free(l->slab, l->alloc_addr, l->alloc_size);
}

void rivet_jit_destroy(rivet_jit *jit) {
    if (!jit)
        return;
    size_t n = 0;
    for (rivet_link *l = jit->links; l; l = l->next)
        n++;
    uint64_t *regions = calloc(n ? n : 1, sizeof *regions);
    size_t k = 0;
    for (rivet_link *l = jit->links; l; l = l->next) /* newest first */
        if (regions && l->initialized)
            regions[k++] = l->region;
    if (k)
        rivet_error_free(rv_executor_deinitialize_multiple(jit->executor, regions, k));
    free(regions);
    while (jit->links) {
        rivet_link *l = jit->links;
        jit->links = l->next;
        free_link(l);
    }
    rv_memory_collect_ahead(jit);
    uint64_t *slabs = calloc(jit->slabs.count + 1, sizeof *slabs);
    for (size_t i = 0; slabs && i < jit->slabs.count; i++)
        slabs[i] = ((rv_slab *)jit->slabs.items[i])->base;
    if (slabs && jit->slabs.count)
        rivet_error_free(rv_executor_release_multiple(jit->executor, slabs,
                                                      jit->slabs.count));
    free(slabs);
    for (size_t i = 0; i < jit->slabs.count; i++)
        rv_memory_free_slab(jit, jit->slabs.items[i]);
    rv_ptrvec_free(&jit->slabs);
    for (size_t i = 0; i < jit->pending_count; i++)
        free_input(&jit->pending[i]);
    free(jit->pending);
    rv_namemap_free(&jit->exports);
    rv_namemap_free(&jit->comdat);
    pthread_mutex_destroy(&jit->lock);
    if (jit->owns_executor)
        rivet_executor_destroy(jit->executor);
    free(jit);
}

/* ------------------------------------------------------------------ inputs */

static rivet_error *push_input(rivet_jit *jit, rv_input in) {
    if (jit->pending_count == jit->pending_capacity) {
        size_t cap = jit->pending_capacity ? jit->pending_capacity * 2 : 8;
        rv_input *p = realloc(jit->pending, cap * sizeof *p);
        if (!p)
            return nomem();
        jit->pending = p;
        jit->pending_capacity = cap;
    }
    jit->pending[jit->pending_count++] = in;
    return NULL;
}

rivet_error *rivet_jit_add_buffer(rivet_jit *jit, const char *name,
                                  const void *data, size_t size) {
    rv_input in = {.name = strdup(name ? name : "<memory>"), .data = data,
                   .size = size};
    if (!in.name)
        return nomem();
    pthread_mutex_lock(&jit->lock);
    rivet_error *e = push_input(jit, in);
    pthread_mutex_unlock(&jit->lock);
    if (e)
        free(in.name);
    return e;
}

static rivet_error *map_file(const char *path, rv_input *in) {
    const uint8_t *data;
    size_t size;
    rivet_error *e = rv_sys_map_file(path, &data, &size);
    if (!e) {
        in->mapping = (void *)data;
        in->mapping_size = size;
        in->data = data;
        in->size = size;
    }
    return e;
}

void rivet_jit_set_run_initializers(rivet_jit *jit, bool on) {
    pthread_mutex_lock(&jit->lock);
    jit->skip_initializers = !on;
    pthread_mutex_unlock(&jit->lock);
}

void rivet_jit_set_whole_archive(rivet_jit *jit, bool on) {
    pthread_mutex_lock(&jit->lock);
    jit->whole_archive = on;
    pthread_mutex_unlock(&jit->lock);
}

rivet_error *rivet_jit_add_library(rivet_jit *jit, const char *path) {
    uint64_t handle;
    return rv_executor_open_library(jit->executor, path, &handle);
}

rivet_error *rivet_jit_add_file(rivet_jit *jit, const char *path) {
    rv_input in = {.name = strdup(path), .whole_archive = jit->whole_archive};
    if (!in.name)
        return nomem();
    rivet_error *e = map_file(path, &in);
    if (!e) {
        pthread_mutex_lock(&jit->lock);
        e = push_input(jit, in);
        pthread_mutex_unlock(&jit->lock);
    }
    if (e)
        free_input(&in);
    return e;
}

/* ------------------------------------------------------------- link stages */

bool rv_link_claim_group(rivet_link *l, const char *sig, bool *oom) {
    uint32_t h = rv_name_hash(sig);
    rv_namemap_slot *slot = rv_namemap_upsert(&l->jit->comdat, sig, h);
    if (!slot) {
        *oom = true;
        return false;
    }
    if (slot->value)
        return false;
    slot->value = l;
    if (!rv_ptrvec_push(&l->claimed_groups, (void *)sig)) {
        rv_namemap_remove(&l->jit->comdat, sig, h);
        *oom = true;
        return false;
    }
    return true;
}

rv_block *rv_link_new_block(rivet_link *l, const char *name, uint64_t size,
                            uint64_t align, uint8_t prot, uint8_t role) {
    rv_block *b = rv_arena_calloc(&l->arena, 1, sizeof *b);
    if (!b || !rv_ptrvec_push(&l->synthetic, b))
        return NULL;
    b->name = name;
    b->size = size;
    b->align = align ? align : 1;
    b->prot = prot;
    b->role = role;
    b->live = true;
    b->priority = 65535;
    return b;
}

rv_symbol *rv_link_new_symbol(rivet_link *l, const char *name, rv_block *b,
                              uint64_t offset, uint32_t flags) {
    rv_symbol *s = rv_arena_calloc(&l->arena, 1, sizeof *s);
    if (!s)
        return NULL;
    s->name = name;
    s->block = b;
    s->value = offset;
    s->flags = flags;
    s->object = b ? b->object : NULL;
    return s;
}

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void count_stats(rivet_link *l) {
    rivet_link_stats *st = &l->stats;
    for (size_t i = 0; i < l->objects.count; i++) {
        rv_object *o = l->objects.items[i];
        st->symbols += o->symbol_count;
        for (uint32_t k = 0; k < o->section_count; k++)
            if (o->blocks && o->blocks[k] && o->blocks[k]->live)
                st->sections++;
    }
}

typedef rivet_error *(*stage_fn)(rivet_link *l);

/* Resolution is the first stage that needs the executor: a spawned one
 * has been starting while the inputs were read, and is waited for here. */
static rivet_error *connect_and_resolve(rivet_link *l) {
    rivet_error *e = rv_executor_ready(l->jit->executor);
    if (e)
        return e;
    rv_memory_reserve_ahead(l->jit);
    return rv_link_resolve(l);
}

/* Stages [first, last). The engine's two-phase link (seed 001) stops after
 * layout, lets the client remap sections, then runs fixup and finalize. */
enum { STAGE_FIXUP = 4, STAGE_COUNT = 6 };

static rivet_error *run_stages(rivet_link *l, size_t first, size_t last) {
    static const stage_fn stages[STAGE_COUNT] = {
        rv_link_read_inputs, connect_and_resolve, rv_link_build_passes,
        rv_link_layout, rv_link_fixup, rv_link_finalize};
    double *times[] = {&l->stats.read_ms, &l->stats.resolve_ms,
                       &l->stats.passes_ms, &l->stats.layout_ms,
                       &l->stats.fixup_ms, &l->stats.finalize_ms};
    for (size_t i = first; i < last; i++) {
        double t0 = now_ms();
        rivet_error *e = stages[i](l);
        *times[i] = now_ms() - t0;
        if (e)
            return e;
    }
    if (last == STAGE_COUNT)
        count_stats(l);
    return NULL;
}

static void roll_back(rivet_link *l) {
    if (l->initialized)
        rivet_error_free(rv_executor_deinitialize_multiple(l->jit->executor,
                                                           &l->region, 1));
    else if (l->slab && l->work_is_target)
        memset(l->work, 0, l->alloc_size); /* keep reused memory zeroed */
    unregister_link(l);
    free_link(l);
}

/* A new link takes the pending inputs; called with the jit locked. */
static rivet_link *start_link(rivet_jit *jit) {
    rivet_link *l = calloc(1, sizeof *l);
    if (!l)
        return NULL;
    rv_arena_init(&l->arena);
    rv_arena_init(&l->worker_arena);
    l->jit = jit;
    l->id = ++jit->next_link_id;
    l->inputs = jit->pending;
    l->input_count = jit->pending_count;
    jit->pending = NULL;
    jit->pending_count = jit->pending_capacity = 0;
    return l;
}

rivet_error *rivet_jit_link(rivet_jit *jit, rivet_link **out) {
    pthread_mutex_lock(&jit->lock);
    rivet_link *l = start_link(jit);
    rivet_error *e = l ? run_stages(l, 0, STAGE_COUNT) : nomem();
    if (e && l) {
        roll_back(l);
    } else if (!e) {
        l->next = jit->links;
        jit->links = l;
        if (out)
            *out = l;
    }
    pthread_mutex_unlock(&jit->lock);
    return e;
}

rivet_error *rivet_jit_link_prepare(rivet_jit *jit, unsigned flags,
                                    rivet_link **out) {
    pthread_mutex_lock(&jit->lock);
    rivet_link *l = start_link(jit);
    rivet_error *e = l ? NULL : nomem();
    if (l) {
        l->separate_work = (flags & RIVET_LINK_SEPARATE_WORKING_MEMORY) != 0;
        e = run_stages(l, 0, STAGE_FIXUP);
    }
    if (e && l) {
        roll_back(l);
    } else if (!e) {
        l->prepared = true;
        l->next = jit->links; /* so remove and destroy find it */
        jit->links = l;
        *out = l;
    }
    pthread_mutex_unlock(&jit->lock);
    return e;
}

static void unlink_link(rivet_jit *jit, rivet_link *link) {
    rivet_link **pp = &jit->links;
    while (*pp && *pp != link)
        pp = &(*pp)->next;
    if (*pp)
        *pp = link->next;
}

rivet_error *rivet_jit_link_complete(rivet_jit *jit, rivet_link *link) {
    pthread_mutex_lock(&jit->lock);
    rivet_link *p = jit->links;
    while (p && p != link)
        p = p->next;
    rivet_error *e = NULL;
    if (!p || !link->prepared)
        e = rivet_error_create(RIVET_ERR_STATE, "link is not a prepared link of this jit");
    else if ((e = run_stages(link, STAGE_FIXUP, STAGE_COUNT))) {
        unlink_link(jit, link);
        roll_back(link);
    } else {
        link->prepared = false;
    }
    pthread_mutex_unlock(&jit->lock);
    return e;
}

static const rv_block *placed_block(const rivet_link *link, size_t i);

rivet_error *rivet_link_remap_section(rivet_link *link, size_t i, uint64_t addr) {
    rv_block *b = (rv_block *)placed_block(link, i);
    if (!link->prepared)
        return rivet_error_create(RIVET_ERR_STATE,
                                  "link #%u: sections can only be remapped "
                                  "between prepare and complete", link->id);
    if (!b)
        return rivet_error_create(RIVET_ERR_NOT_FOUND, "link #%u has no section #%zu",
                                  link->id, i);
    if (addr & (b->align - 1))
        return rivet_error_create(RIVET_ERR_RANGE,
                                  "section %s: address 0x%llx is not aligned to %llu",
                                  b->name, (unsigned long long)addr,
                                  (unsigned long long)b->align);
    b->addr = addr;
    link->remapped = true;
    return NULL;
}

void rivet_jit_set_symbol_resolver(rivet_jit *jit, rivet_symbol_resolver_fn fn,
                                   void *ctx) {
    pthread_mutex_lock(&jit->lock);
    jit->resolver = fn;
    jit->resolver_ctx = ctx;
    pthread_mutex_unlock(&jit->lock);
}

/* ------------------------------------------------------------- running it */

rivet_error *rivet_jit_lookup(rivet_jit *jit, const char *name, uint64_t *addr) {
    pthread_mutex_lock(&jit->lock);
    rv_symbol *s = rv_namemap_get(&jit->exports, name, rv_name_hash(name));
    uint64_t a = s ? rv_symbol_address(s) : 0;
    pthread_mutex_unlock(&jit->lock);
    if (s) {
        *addr = a;
        return NULL;
    }
    rivet_error *e = rv_executor_lookup_symbols(jit->executor, &name, 1, &a);
    if (e)
        return e;
    if (!a)
        return rivet_error_create(RIVET_ERR_NOT_FOUND, "symbol '%s' not found", name);
    *addr = a;
    return NULL;
}

rivet_error *rivet_jit_run_main(rivet_jit *jit, const char *entry, int argc,
                                char *const *argv, char *const *envp,
                                int *status) {
    const char *name = entry ? entry : "main";
    pthread_mutex_lock(&jit->lock);
    rv_symbol *s = rv_namemap_get(&jit->exports, name, rv_name_hash(name));
    uint64_t fn = s ? rv_symbol_address(s) : 0;
    pthread_mutex_unlock(&jit->lock);
    if (!s)
        return rivet_error_create(RIVET_ERR_NOT_FOUND,
                                  "entry point '%s' is not defined by any link", name);
    return rv_executor_run_main(jit->executor, fn, argc, argv, envp, status);
}

rivet_error *rivet_jit_remove(rivet_jit *jit, rivet_link *link) {
    pthread_mutex_lock(&jit->lock);
    rivet_link **pp = &jit->links;
    while (*pp && *pp != link)
        pp = &(*pp)->next;
    if (!*pp) {
        pthread_mutex_unlock(&jit->lock);
        return rivet_error_create(RIVET_ERR_STATE, "link is not part of this jit");
    }
    *pp = link->next;
    rivet_error *e = NULL;
    if (link->initialized)
        e = rv_executor_deinitialize_multiple(jit->executor, &link->region, 1);
    else if (link->slab && link->work_is_target) /* prepared, never finalized */
        memset(link->work, 0, link->alloc_size);
    unregister_link(link);
    free_link(link);
    pthread_mutex_unlock(&jit->lock);
    return e ? rivet_error_wrap(e, "removing link") : NULL;
}

/* ----------------------------------------------------------- introspection */

size_t rivet_link_symbol_count(const rivet_link *link) {
    return link->exports.count;
}

void rivet_link_symbol_at(const rivet_link *link, size_t i, rivet_symbol_info *out) {
    static const char *const seg_names[] = {"rx", "r", "rw"};
    const rv_symbol *s = link->exports.items[i];
    out->name = s->name;
    out->addr = rv_symbol_address(s);
    out->size = s->size;
    out->is_function = (s->flags & RV_SYM_FUNCTION) != 0;
    out->section = "abs";
    if (s->block)
        out->section = seg_names[(s->block->prot & RIVET_PROT_EXEC) ? 0
                                 : (s->block->prot & RIVET_PROT_WRITE) ? 2 : 1];
}

static const rv_block *placed_block(const rivet_link *link, size_t i) {
    for (int s = 0; s < RV_SEG_COUNT; s++) {
        const rv_segment_layout *seg = &link->segments[s];
        if (i < seg->blocks.count)
            return seg->blocks.items[i];
        i -= seg->blocks.count;
    }
    return NULL;
}

size_t rivet_link_section_count(const rivet_link *link) {
    size_t n = 0;
    for (int s = 0; s < RV_SEG_COUNT; s++)
        n += link->segments[s].blocks.count;
    return n;
}

void rivet_link_section_at(const rivet_link *link, size_t i, rivet_section_info *out) {
    const rv_block *b = placed_block(link, i);
    out->object = b->object ? b->object->name : "<rivet>";
    out->name = b->name;
    out->addr = b->addr;
    out->size = b->size;
    out->prot = b->prot;
    out->align = b->align;
    out->working = b->work;
}

void rivet_link_get_stats(const rivet_link *link, rivet_link_stats *out) {
    *out = link->stats;
}
