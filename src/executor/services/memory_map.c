/*
 * executor/services/memory_map.c — the memory map service (rivet/rt.h):
 * slabs of reserved address space, regions initialized inside them, and
 * their dealloc actions.
 *
 * States of a page: *reserved* (read-write, zero unless a controller wrote
 * into it: in-process, or from its own process with a direct write) →
 * *initialized* (part of a region: content,
 * protection, finalize actions run) → back to reserved at deinitialize
 * (dealloc actions run, zeroed, read-write again). Release gives a slab's
 * address space back after deinitializing what is left in it.
 *
 * Actions run without the lock held: a constructor may itself ask the JIT
 * for more code. A region being initialized or deinitialized is marked so
 * concurrent calls cannot touch its pages.
 */
#include <stdlib.h>
#include <string.h>
#include <threads.h>

#include "executor/services/services.h"
#include "sys/sys.h"

enum region_state { REGION_INITIALIZING, REGION_INITIALIZED, REGION_DEINITIALIZING };

struct extent { /* page-rounded pages of one segment */
    uint64_t addr, size;
    uint8_t prot;
};

struct owned_action { /* a dealloc action kept until deinitialize */
    uint64_t fn;
    char *arg;
    size_t arg_size;
};

struct region {
    uint64_t addr; /* lowest segment address: the region's name */
    enum region_state state;
    struct extent *extents;
    size_t extent_count;
    struct owned_action *deallocs; /* one per action pair, fn 0 = none */
    size_t dealloc_count;
    bool leak_roots; /* extents are registered with a leak checker */
    struct slab *slab; /* the slab holding it, once claimed */
};

struct slab {
    uint64_t addr, size;
    bool releasing;
    struct region **regions; /* in order of initialization */
    size_t region_count, region_capacity;
};

struct rivet_memory_map {
    rivet_service service;
    mtx_t lock;
    uint64_t page_size;
    struct slab **slabs;
    size_t slab_count, slab_capacity;
};

static bool grow(void **items, size_t *capacity, size_t count, size_t size)
{
    if (count < *capacity)
        return true;
    size_t cap = *capacity ? *capacity * 2 : 8;
    void *p = realloc(*items, cap * size);
    if (!p)
        return false;
    *items = p;
    *capacity = cap;
    return true;
}

static uint64_t round_up(uint64_t v, uint64_t a) { return (v + a - 1) & ~(a - 1); }

/* ----------------------------------------------------------------- regions */

static void region_free(struct region *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->dealloc_count; i++)
        free(r->deallocs[i].arg);
    free(r->deallocs);
    free(r->extents);
    free(r);
}

/* Check one segment's shape; the slab and overlap checks come later. */
static rivet_error *check_segment(const rivet_segment *seg, uint64_t page)
{
    if (seg->prot & ~(RIVET_PROT_READ | RIVET_PROT_WRITE | RIVET_PROT_EXEC))
        return rivet_error_create(RIVET_ERR_MALFORMED, "unknown protection 0x%x",
                                  seg->prot);
    if ((seg->prot & RIVET_PROT_WRITE) && (seg->prot & RIVET_PROT_EXEC))
        return rivet_error_create(RIVET_ERR_UNSUPPORTED,
                                  "refusing a writable and executable segment");
    if (seg->addr % page)
        return rivet_error_create(RIVET_ERR_MALFORMED, "address is not page aligned");
    if (seg->size > UINT64_MAX - page - seg->addr)
        return rivet_error_create(RIVET_ERR_MALFORMED, "size wraps around");
    if (seg->content_size > seg->size)
        return rivet_error_create(RIVET_ERR_MALFORMED,
                                  "0x%llx bytes of content exceed the size",
                                  (unsigned long long)seg->content_size);
    if (!seg->in_place && seg->content_size && !seg->content)
        return rivet_error_create(RIVET_ERR_MALFORMED, "content is missing");
    return NULL;
}

static rivet_error *collect_extents(struct region *r,
                                    const rivet_initialize_request *req,
                                    uint64_t page)
{
    r->extents = calloc(req->segment_count ? req->segment_count : 1,
                        sizeof(*r->extents));
    if (!r->extents)
        return rivet_error_create(RIVET_ERR_NOMEM, "out of memory");
    r->addr = UINT64_MAX;
    for (size_t i = 0; i < req->segment_count; i++) {
        const rivet_segment *seg = &req->segments[i];
        rivet_error *e = check_segment(seg, page);
        if (e)
            return rivet_error_wrap(e, "segment %zu at 0x%llx", i,
                                    (unsigned long long)seg->addr);
        if (seg->addr < r->addr)
            r->addr = seg->addr;
        if (seg->size)
            r->extents[r->extent_count++] =
                (struct extent){seg->addr, round_up(seg->size, page), seg->prot};
    }
    if (r->extent_count == 0)
        return rivet_error_create(RIVET_ERR_MALFORMED, "no segment has a size");
    return NULL;
}

/* Dealloc actions outlive the request, so their arguments are copied. */
static rivet_error *copy_deallocs(struct region *r,
                                  const rivet_initialize_request *req)
{
    r->deallocs = calloc(req->action_count ? req->action_count : 1,
                         sizeof(*r->deallocs));
    if (!r->deallocs)
        return rivet_error_create(RIVET_ERR_NOMEM, "out of memory");
    r->dealloc_count = req->action_count;
    for (size_t i = 0; i < req->action_count; i++) {
        const rivet_action_call *d = &req->actions[i].dealloc;
        struct owned_action *o = &r->deallocs[i];
        o->fn = d->fn;
        o->arg_size = d->arg_size;
        o->arg = malloc(d->arg_size ? d->arg_size : 1);
        if (!o->arg)
            return rivet_error_create(RIVET_ERR_NOMEM, "out of memory");
        if (d->arg_size)
            memcpy(o->arg, d->arg, d->arg_size);
    }
    return NULL;
}

static rivet_error *region_create(const rivet_initialize_request *req,
                                  uint64_t page, struct region **out)
{
    struct region *r = calloc(1, sizeof(*r));
    if (!r)
        return rivet_error_create(RIVET_ERR_NOMEM, "out of memory");
    r->state = REGION_INITIALIZING;
    rivet_error *e = collect_extents(r, req, page);
    if (!e)
        e = copy_deallocs(r, req);
    if (e) {
        region_free(r);
        return e;
    }
    *out = r;
    return NULL;
}

/* -------------------------------------------------------------- bookkeeping
 * (the functions below expect mm->lock held) */

static bool extents_overlap(struct extent a, struct extent b)
{
    return a.addr < b.addr + b.size && b.addr < a.addr + a.size;
}

static struct slab *slab_containing(rivet_memory_map *mm, struct extent x)
{
    for (size_t i = 0; i < mm->slab_count; i++) {
        struct slab *sl = mm->slabs[i];
        if (x.addr >= sl->addr && x.addr - sl->addr <= sl->size &&
            x.size <= sl->size - (x.addr - sl->addr))
            return sl;
    }
    return NULL;
}

static rivet_error *check_overlap(const struct slab *sl, const struct region *r)
{
    for (size_t i = 0; i < r->extent_count; i++) {
        for (size_t j = i + 1; j < r->extent_count; j++)
            if (extents_overlap(r->extents[i], r->extents[j]))
                return rivet_error_create(RIVET_ERR_MALFORMED,
                    "segments at 0x%llx and 0x%llx share a page",
                    (unsigned long long)r->extents[i].addr,
                    (unsigned long long)r->extents[j].addr);
        for (size_t k = 0; k < sl->region_count; k++) {
            const struct region *o = sl->regions[k];
            for (size_t j = 0; j < o->extent_count; j++)
                if (extents_overlap(r->extents[i], o->extents[j]))
                    return rivet_error_create(RIVET_ERR_STATE,
                        "segment at 0x%llx overlaps region 0x%llx",
                        (unsigned long long)r->extents[i].addr,
                        (unsigned long long)o->addr);
        }
    }
    return NULL;
}

/* Find the one slab holding every segment, check overlaps, and link the
 * region into it (still marked initializing). */
static rivet_error *claim_region(rivet_memory_map *mm, struct region *r)
{
    struct slab *sl = slab_containing(mm, r->extents[0]);
    for (size_t i = 0; i < r->extent_count; i++)
        if (!sl || slab_containing(mm, r->extents[i]) != sl)
            return rivet_error_create(RIVET_ERR_NOT_FOUND,
                "segment at 0x%llx is not inside the reserved slab of the "
                "region", (unsigned long long)r->extents[i].addr);
    if (sl->releasing)
        return rivet_error_create(RIVET_ERR_STATE, "slab 0x%llx is being released",
                                  (unsigned long long)sl->addr);
    rivet_error *e = check_overlap(sl, r);
    if (e)
        return e;
    if (!grow((void **)&sl->regions, &sl->region_capacity, sl->region_count,
              sizeof(*sl->regions)))
        return rivet_error_create(RIVET_ERR_NOMEM, "out of memory");
    sl->regions[sl->region_count++] = r;
    r->slab = sl;
    return NULL;
}

static void unlink_region(rivet_memory_map *mm, struct region *r)
{
    for (size_t i = 0; i < mm->slab_count; i++) {
        struct slab *sl = mm->slabs[i];
        for (size_t k = 0; k < sl->region_count; k++) {
            if (sl->regions[k] != r)
                continue;
            memmove(&sl->regions[k], &sl->regions[k + 1],
                    (sl->region_count - k - 1) * sizeof(*sl->regions));
            sl->region_count--;
            return;
        }
    }
}

static struct region *find_region(rivet_memory_map *mm, uint64_t addr)
{
    for (size_t i = 0; i < mm->slab_count; i++)
        for (size_t k = 0; k < mm->slabs[i]->region_count; k++)
            if (mm->slabs[i]->regions[k]->addr == addr)
                return mm->slabs[i]->regions[k];
    return NULL;
}

/* ------------------------------------------------------------------ memory */

/* Zero [addr, addr+size) of writable memory: whole pages are given back to
 * the system (cheap for large bss), partial pages are cleared by hand. */
static rivet_error *zero_range(uint64_t addr, uint64_t size, uint64_t page)
{
    uint64_t end = addr + size;
    uint64_t first = round_up(addr, page), last = end & ~(page - 1);
    if (first >= last) {
        memset((void *)(uintptr_t)addr, 0, (size_t)size);
        return NULL;
    }
    memset((void *)(uintptr_t)addr, 0, (size_t)(first - addr));
    memset((void *)(uintptr_t)last, 0, (size_t)(end - last));
    return rv_sys_discard(first, last - first);
}

/* Copy content (unless in place) and zero the rest of each segment. An
 * in-place segment was written entirely by the controller: reserved memory
 * starts zeroed, so its bss already reads as zero. */
static rivet_error *write_segments(const rivet_initialize_request *req,
                                   uint64_t page)
{
    for (size_t i = 0; i < req->segment_count; i++) {
        const rivet_segment *seg = &req->segments[i];
        if (seg->in_place || seg->size == 0)
            continue;
        char *dst = (char *)(uintptr_t)seg->addr;
        /* memmove: in-process, content may already be (part of) the
         * target memory */
        if (seg->content_size)
            memmove(dst, seg->content, (size_t)seg->content_size);
        rivet_error *e = zero_range(seg->addr + seg->content_size,
                                    seg->size - seg->content_size, page);
        if (e)
            return rivet_error_wrap(e, "segment at 0x%llx",
                                    (unsigned long long)seg->addr);
    }
    return NULL;
}

static rivet_error *protect_segments(const rivet_initialize_request *req,
                                     uint64_t page)
{
    for (size_t i = 0; i < req->segment_count; i++) {
        const rivet_segment *seg = &req->segments[i];
        if (seg->size == 0)
            continue;
        uint64_t size = round_up(seg->size, page);
        if (seg->prot & RIVET_PROT_EXEC)
            rv_sys_flush_icache(seg->addr, size);
        rivet_error *e = rv_sys_protect(seg->addr, size, seg->prot);
        if (e)
            return e;
    }
    return NULL;
}

/* JIT'd data is a root for leak checkers: pointers kept in its globals
 * keep their allocations reachable, as a loaded module's globals do. */
static void set_leak_roots(struct region *r, bool on)
{
    if (r->leak_roots == on)
        return;
    for (size_t i = 0; i < r->extent_count; i++)
        rv_sys_leak_root(r->extents[i].addr, r->extents[i].size, on);
    r->leak_roots = on;
}

/* Back to the reserved state: read-write and zero. */
static rivet_error *reset_region_memory(struct region *r)
{
    rivet_error *errors = NULL;
    set_leak_roots(r, false);
    for (size_t i = 0; i < r->extent_count; i++) {
        struct extent x = r->extents[i];
        rivet_error *e = rv_sys_protect(x.addr, x.size,
                                        RIVET_PROT_READ | RIVET_PROT_WRITE);
        if (!e)
            e = rv_sys_discard(x.addr, x.size);
        errors = rivet_error_join(errors, e);
    }
    return errors;
}

/* ----------------------------------------------------------------- actions */

static rivet_error *call_action(uint64_t fn, const char *arg, size_t arg_size)
{
    rivet_action_fn f = (rivet_action_fn)(uintptr_t)fn;
    char *message = f(arg, arg_size);
    if (!message)
        return NULL;
    rivet_error *e = rivet_error_create(RIVET_ERR_EXECUTOR, "action 0x%llx: %s",
                                        (unsigned long long)fn, message);
    free(message);
    return e;
}

/* Dealloc actions of pairs [0, count), last first; all errors kept. */
static rivet_error *run_deallocs(const struct region *r, size_t count)
{
    rivet_error *errors = NULL;
    for (size_t i = count; i-- > 0;) {
        const struct owned_action *d = &r->deallocs[i];
        if (d->fn)
            errors = rivet_error_join(errors,
                                      call_action(d->fn, d->arg, d->arg_size));
    }
    return errors;
}

/* Finalize actions in order; on a failure, undo the ones that ran. */
static rivet_error *run_finalizers(const struct region *r,
                                   const rivet_initialize_request *req)
{
    for (size_t i = 0; i < req->action_count; i++) {
        const rivet_action_call *f = &req->actions[i].finalize;
        rivet_error *e = f->fn ? call_action(f->fn, f->arg, f->arg_size) : NULL;
        if (e) {
            e = rivet_error_wrap(e, "finalize action %zu", i);
            return rivet_error_join(e, run_deallocs(r, i));
        }
    }
    return NULL;
}

/* -------------------------------------------------------------- initialize */

/* Mark the region initialized, or on failure undo it: memory back to the
 * reserved state, region unlinked and freed. */
static rivet_error *settle_region(rivet_memory_map *mm, struct region *r,
                                  rivet_error *e)
{
    if (e)
        e = rivet_error_join(e, reset_region_memory(r));
    mtx_lock(&mm->lock);
    if (e)
        unlink_region(mm, r);
    else
        r->state = REGION_INITIALIZED;
    mtx_unlock(&mm->lock);
    if (e)
        region_free(r);
    return e;
}

rivet_error *rivet_memory_map_initialize(rivet_memory_map *mm,
                                         const rivet_initialize_request *req,
                                         uint64_t *region_addr)
{
    struct region *r = NULL;
    rivet_error *e = region_create(req, mm->page_size, &r);
    if (e)
        return rivet_error_wrap(e, "memory map: initialize");
    mtx_lock(&mm->lock);
    e = claim_region(mm, r);
    mtx_unlock(&mm->lock);
    if (e) {
        region_free(r);
        return rivet_error_wrap(e, "memory map: initialize");
    }
    uint64_t name = r->addr;
    e = write_segments(req, mm->page_size);
    if (!e)
        e = protect_segments(req, mm->page_size);
    if (!e) {
        set_leak_roots(r, true);
        e = run_finalizers(r, req);
    }
    e = settle_region(mm, r, e);
    if (e)
        return rivet_error_wrap(e, "memory map: initialize region 0x%llx",
                                (unsigned long long)name);
    *region_addr = name;
    return NULL;
}

/* ------------------------------------------------------------ deinitialize */

rivet_error *rivet_memory_map_deinitialize(rivet_memory_map *mm,
                                           uint64_t region_addr)
{
    mtx_lock(&mm->lock);
    struct region *r = find_region(mm, region_addr);
    bool ready = r && r->state == REGION_INITIALIZED;
    if (ready)
        r->state = REGION_DEINITIALIZING;
    mtx_unlock(&mm->lock);
    if (!ready)
        return rivet_error_create(r ? RIVET_ERR_STATE : RIVET_ERR_NOT_FOUND,
            "memory map: deinitialize: region 0x%llx %s",
            (unsigned long long)region_addr,
            r ? "is being initialized or deinitialized" : "does not exist");
    rivet_error *e = run_deallocs(r, r->dealloc_count);
    e = rivet_error_join(e, reset_region_memory(r));
    mtx_lock(&mm->lock);
    unlink_region(mm, r);
    mtx_unlock(&mm->lock);
    region_free(r);
    return rivet_error_wrap(e, "memory map: deinitialize region 0x%llx",
                            (unsigned long long)region_addr);
}

rivet_error *rivet_memory_map_deinitialize_multiple(rivet_memory_map *mm,
                                                    const uint64_t *regions,
                                                    size_t count)
{
    rivet_error *errors = NULL;
    for (size_t i = 0; i < count; i++)
        errors = rivet_error_join(errors,
                                  rivet_memory_map_deinitialize(mm, regions[i]));
    return errors;
}

/* ----------------------------------------------------------------- reserve */

/* A slab past its first 2 MiB is offered to transparent huge pages: a
 * large link is written in one pass (by the controller, here or from its
 * own process), and a 2 MiB page costs one fault where 512 small ones cost
 * 512. The first 2 MiB keeps small pages, so a small link does not cost a
 * whole huge page to zero. Protections split the mapping later without
 * copying. rivet's controller places links of 1 MiB or more on a 2 MiB
 * boundary past the first 2 MiB (link/memory.c). */
rivet_error *rivet_memory_map_reserve(rivet_memory_map *mm, uint64_t size,
                                      rivet_placement placement, uint64_t *addr)
{
    if (size == 0 || size > UINT64_MAX - mm->page_size)
        return rivet_error_create(RIVET_ERR_MALFORMED,
                                  "memory map: reserve: bad size 0x%llx",
                                  (unsigned long long)size);
    size = round_up(size, mm->page_size);
    struct slab *sl = calloc(1, sizeof(*sl));
    if (!sl)
        return rivet_error_create(RIVET_ERR_NOMEM, "memory map: reserve: out of memory");
    rivet_error *e = rv_place_slab(size, placement, &sl->addr);
    if (e)
        goto free_slab;
    sl->size = size;
    uint64_t huge_from = round_up(sl->addr + RV_SYS_HUGE_PAGE, RV_SYS_HUGE_PAGE);
    if (huge_from < sl->addr + size)
        rv_sys_advise_huge_pages(huge_from, sl->addr + size - huge_from);
    mtx_lock(&mm->lock);
    bool ok = grow((void **)&mm->slabs, &mm->slab_capacity, mm->slab_count,
                   sizeof(*mm->slabs));
    if (ok)
        mm->slabs[mm->slab_count++] = sl;
    mtx_unlock(&mm->lock);
    if (!ok) {
        e = rivet_error_create(RIVET_ERR_NOMEM, "out of memory");
        rivet_error_free(rv_sys_unmap(sl->addr, size));
        goto free_slab;
    }
    *addr = sl->addr;
    return NULL;

free_slab:
    free(sl);
    return rivet_error_wrap(e, "memory map: reserve 0x%llx bytes",
                            (unsigned long long)size);
}

/* ----------------------------------------------------------------- release */

/* Mark the slab at `addr` releasing and list its regions newest first. */
static rivet_error *begin_release(rivet_memory_map *mm, uint64_t addr,
                                  struct slab **out, uint64_t **regions,
                                  size_t *count)
{
    struct slab *sl = NULL;
    for (size_t i = 0; i < mm->slab_count && !sl; i++)
        if (mm->slabs[i]->addr == addr)
            sl = mm->slabs[i];
    if (!sl || sl->releasing)
        return rivet_error_create(sl ? RIVET_ERR_STATE : RIVET_ERR_NOT_FOUND,
                                  "no slab at this address");
    for (size_t k = 0; k < sl->region_count; k++)
        if (sl->regions[k]->state != REGION_INITIALIZED)
            return rivet_error_create(RIVET_ERR_STATE,
                "region 0x%llx is being initialized or deinitialized",
                (unsigned long long)sl->regions[k]->addr);
    *regions = malloc((sl->region_count ? sl->region_count : 1) * sizeof(uint64_t));
    if (!*regions)
        return rivet_error_create(RIVET_ERR_NOMEM, "out of memory");
    *count = sl->region_count;
    for (size_t k = 0; k < sl->region_count; k++)
        (*regions)[k] = sl->regions[sl->region_count - 1 - k]->addr;
    sl->releasing = true;
    *out = sl;
    return NULL;
}

static void unlink_slab(rivet_memory_map *mm, struct slab *sl)
{
    for (size_t i = 0; i < mm->slab_count; i++) {
        if (mm->slabs[i] != sl)
            continue;
        memmove(&mm->slabs[i], &mm->slabs[i + 1],
                (mm->slab_count - i - 1) * sizeof(*mm->slabs));
        mm->slab_count--;
        return;
    }
}

rivet_error *rivet_memory_map_release(rivet_memory_map *mm, uint64_t slab_addr)
{
    struct slab *sl = NULL;
    uint64_t *regions = NULL;
    size_t count = 0;
    mtx_lock(&mm->lock);
    rivet_error *e = begin_release(mm, slab_addr, &sl, &regions, &count);
    mtx_unlock(&mm->lock);
    if (e)
        goto wrap;
    /* Deinitialize always unlinks the region, also when actions fail, so
     * the slab is empty afterwards either way. */
    e = rivet_memory_map_deinitialize_multiple(mm, regions, count);
    free(regions);
    mtx_lock(&mm->lock);
    unlink_slab(mm, sl);
    mtx_unlock(&mm->lock);
    e = rivet_error_join(e, rv_sys_unmap(sl->addr, sl->size));
    free(sl->regions);
    free(sl);
wrap:
    return rivet_error_wrap(e, "memory map: release slab 0x%llx",
                            (unsigned long long)slab_addr);
}

rivet_error *rivet_memory_map_release_multiple(rivet_memory_map *mm,
                                               const uint64_t *slabs,
                                               size_t count)
{
    rivet_error *errors = NULL;
    for (size_t i = 0; i < count; i++)
        errors = rivet_error_join(errors,
                                  rivet_memory_map_release(mm, slabs[i]));
    return errors;
}

/* ----------------------------------------------------------------- service */

static void memory_map_on_shutdown(rivet_service *svc, rivet_session *s)
{
    (void)s;
    rivet_memory_map *mm = rivet_memory_map_from_service(svc);
    /* Newest slab first, like everything else torn down at shutdown.
     * Shutdown cannot fail, so errors of dealloc actions are dropped; a
     * slab that cannot be released now (busy in another thread, or no
     * memory for the bookkeeping) is left for destroy to unmap. */
    uint64_t previous = 0;
    for (;;) {
        mtx_lock(&mm->lock);
        uint64_t addr = mm->slab_count ? mm->slabs[mm->slab_count - 1]->addr : 0;
        mtx_unlock(&mm->lock);
        if (addr == 0 || addr == previous)
            return;
        rivet_error_free(rivet_memory_map_release(mm, addr));
        previous = addr;
    }
}

static void memory_map_destroy(rivet_service *svc)
{
    rivet_memory_map *mm = rivet_memory_map_from_service(svc);
    for (size_t i = 0; i < mm->slab_count; i++) {
        struct slab *sl = mm->slabs[i];
        for (size_t k = 0; k < sl->region_count; k++)
            region_free(sl->regions[k]);
        rivet_error_free(rv_sys_unmap(sl->addr, sl->size));
        free(sl->regions);
        free(sl);
    }
    free(mm->slabs);
    mtx_destroy(&mm->lock);
    free(mm);
}

static const rivet_service_ops memory_map_ops = {
    .name = "memory_map",
    .on_detach = NULL,
    .on_shutdown = memory_map_on_shutdown,
    .destroy = memory_map_destroy,
};

rivet_error *rivet_memory_map_create(rivet_memory_map **out)
{
    rivet_memory_map *mm = calloc(1, sizeof(*mm));
    if (!mm)
        return rivet_error_create(RIVET_ERR_NOMEM, "memory map: out of memory");
    if (mtx_init(&mm->lock, mtx_plain) != thrd_success) {
        free(mm);
        return rivet_error_create(RIVET_ERR_GENERIC, "memory map: cannot create lock");
    }
    mm->service.ops = &memory_map_ops;
    mm->page_size = rv_sys_page_size();
    *out = mm;
    return NULL;
}

rivet_service *rivet_memory_map_service(rivet_memory_map *mm)
{
    return &mm->service;
}

rivet_memory_map *rivet_memory_map_from_service(rivet_service *svc)
{
    if (!svc || svc->ops != &memory_map_ops)
        return NULL;
    return (rivet_memory_map *)svc;
}
