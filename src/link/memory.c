/*
 * link/memory.c — the controller's memory manager: sub-allocates links from
 * slabs reserved once in the executor.
 *
 * A slab is reserved with one call and then carved by a bump pointer; memory
 * of removed links goes to a first-fit free list of the slab and is reused.
 * Slabs are large and reserved without commitment, so most sessions reserve
 * exactly one per placement (design.md, "Performance principles").
 */
#include <stdlib.h>

#include "controller/executor.h"
#include "link/link.h"
#include "sys/sys.h"

enum {
    SLAB_SIZE_NEAR = 1u << 30,  /* near the host's libraries */
    SLAB_SIZE_LOW = 256u << 20, /* below 2 GiB: address space is scarcer */
    HUGE_PAGE = RV_SYS_HUGE_PAGE, /* shorter */
};

/* Links of 1 MiB or more start on a 2 MiB boundary past their slab's first
 * 2 MiB, the part the executor offers to transparent huge pages
 * (rivet_memory_map_reserve): writing one then costs a fault per 2 MiB.
 * Smaller links share the small pages of the first 2 MiB (and of the gaps
 * large ones leave), so a small link never costs a whole huge page. */
bool rv_memory_is_large(uint64_t size) { return size >= HUGE_PAGE / 2; }

static bool take_free_range(rv_slab *s, uint64_t size, uint64_t *addr) {
    for (size_t i = 0; i < s->free_ranges.count; i++) {
        rv_range *r = s->free_ranges.items[i];
        if (r->size < size)
            continue;
        *addr = r->addr;
        r->addr += size;
        r->size -= size;
        if (!r->size) {
            free(r);
            s->free_ranges.items[i] = s->free_ranges.items[--s->free_ranges.count];
        }
        return true;
    }
    return false;
}

static bool take_from_slab(rv_slab *s, uint64_t size, uint64_t *addr) {
    if (!rv_memory_is_large(size) && take_free_range(s, size, addr))
        return true;
    uint64_t bump = s->base + s->used, at = bump;
    if (rv_memory_is_large(size)) {
        if (at < s->base + HUGE_PAGE)
            at = s->base + HUGE_PAGE;
        at = (at + HUGE_PAGE - 1) & ~(uint64_t)(HUGE_PAGE - 1);
    }
    if (at - s->base > s->size || s->size - (at - s->base) < size)
        return false;
    s->used = at + size - s->base;
    if (at > bump) /* the gap serves small links */
        rv_memory_free(s, bump, at - bump);
    *addr = at;
    return true;
}

static rivet_error *add_slab(rivet_jit *jit, uint64_t base, uint64_t size,
                             rivet_placement where, rv_slab **out) {
    rv_slab *s = calloc(1, sizeof *s);
    if (!s || !rv_ptrvec_push(&jit->slabs, s)) {
        free(s);
        return rivet_error_create(RIVET_ERR_NOMEM, "out of memory");
    }
    s->base = base;
    s->size = size;
    s->placement = where;
    if (jit->executor->in_process)
        s->view = (uint8_t *)(uintptr_t)base;
    *out = s;
    return NULL;
}

static rivet_error *reserve_slab(rivet_jit *jit, uint64_t size,
                                 rivet_placement where, rv_slab **out) {
    uint64_t want = where == RIVET_PLACE_LOW_2G ? SLAB_SIZE_LOW : SLAB_SIZE_NEAR;
    uint64_t need = rv_memory_is_large(size) ? size + 2 * HUGE_PAGE : size; /* see above */
    if (need > want)
        want = (need + jit->page_size - 1) & ~(jit->page_size - 1);
    rivet_executor *ex = jit->executor;
    uint64_t base = 0;
    rivet_error *e = rv_executor_reserve(ex, want, where, &base);
    if (!e)
        e = add_slab(jit, base, want, where, out);
    if (e && base)
        rivet_error_free(rv_executor_release_multiple(ex, &base, 1));
    return e;
}

/* An executor reached over a connection is asked for its first near slab
 * as soon as it is connected; the answer is collected when a link is laid
 * out, so the round trip overlaps symbol resolution. */
void rv_memory_reserve_ahead(rivet_jit *jit) {
    if (jit->executor->in_process || jit->slab_ahead || jit->slabs.count)
        return;
    rivet_error *e = rv_executor_reserve_start(jit->executor, SLAB_SIZE_NEAR,
                                               RIVET_PLACE_NEAR_LIBRARIES,
                                               &jit->slab_ahead);
    if (e) { /* reserved when needed instead, which reports the failure */
        rivet_error_free(e);
        jit->slab_ahead = NULL;
    }
}

void rv_memory_collect_ahead(rivet_jit *jit) {
    if (!jit->slab_ahead)
        return;
    uint64_t base = 0;
    rv_slab *s;
    rivet_error *e = rv_executor_reserve_finish(jit->slab_ahead, &base);
    jit->slab_ahead = NULL;
    if (!e)
        e = add_slab(jit, base, SLAB_SIZE_NEAR, RIVET_PLACE_NEAR_LIBRARIES, &s);
    if (e && base)
        rivet_error_free(rv_executor_release_multiple(jit->executor, &base, 1));
    rivet_error_free(e); /* as above: a later reservation reports */
}

rivet_error *rv_memory_allocate(rivet_jit *jit, uint64_t size,
                                rivet_placement where, rv_slab **slab,
                                uint64_t *addr) {
    size = (size + jit->page_size - 1) & ~(jit->page_size - 1);
    rv_memory_collect_ahead(jit);
    for (size_t i = 0; i < jit->slabs.count; i++) {
        rv_slab *s = jit->slabs.items[i];
        if (s->placement == where && take_from_slab(s, size, addr)) {
            *slab = s;
            return NULL;
        }
    }
    rv_slab *s = NULL;
    rivet_error *e = reserve_slab(jit, size, where, &s);
    if (e)
        return e;
    take_from_slab(s, size, addr);
    *slab = s;
    return NULL;
}

void rv_memory_free_slab(rivet_jit *jit, rv_slab *s) {
    if (!s)
        return;
    for (size_t r = 0; r < s->free_ranges.count; r++)
        free(s->free_ranges.items[r]);
    rv_ptrvec_free(&s->free_ranges);
    free(s);
}

/* Return a range, merged with free neighbours so repeated link/remove
 * cycles do not fragment the slab; a range that ends at the bump pointer
 * goes back to it. */
void rv_memory_free(rv_slab *slab, uint64_t addr, uint64_t size) {
    rv_ptrvec *v = &slab->free_ranges;
    for (size_t i = 0; i < v->count;) {
        rv_range *r = v->items[i];
        if (r->addr + r->size != addr && addr + size != r->addr) {
            i++;
            continue;
        }
        if (r->addr < addr)
            addr = r->addr;
        size += r->size;
        free(r);
        v->items[i] = v->items[--v->count];
    }
    if (addr + size == slab->base + slab->used) {
        slab->used -= size;
        return;
    }
    rv_range *r = malloc(sizeof *r);
    if (!r)
        return; /* the range leaks inside the slab; released with it */
    r->addr = addr;
    r->size = size;
    if (!rv_ptrvec_push(v, r))
        free(r);
}
