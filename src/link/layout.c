/*
 * link/layout.c — segments, target addresses and working memory.
 *
 * Blocks are grouped by permission into at most three segments, laid out
 * back to back in one allocation from a slab: RX (code, stubs), R (read-only
 * data, GOT, .eh_frame), RW (data, init/fini arrays, then zero-filled data).
 * Each segment starts on a page so each gets its own protection; the GOT is
 * read-only because every entry is written before finalization.
 *
 * Within the R segment all .eh_frame blocks are contiguous and followed by a
 * zero terminator, so the unwinder registers them as one table. Within RW,
 * the init/fini arrays of each kind are contiguous and sorted by priority,
 * so the program runner receives one range per kind.
 *
 * In-process, the working memory is the target memory itself (unless the
 * link asked for a separate buffer, RIVET_LINK_SEPARATE_WORKING_MEMORY): the fixups
 * write the final pages directly and nothing is copied at finalization.
 */
#include <stdlib.h>
#include <string.h>

#include "controller/executor.h"
#include "link/link.h"
#include "sys/sys.h"
#include "link/tls.h"

static rivet_error *nomem(void) {
    return rivet_error_create(RIVET_ERR_NOMEM, "out of memory");
}

static int segment_of(const rv_block *b) {
    if (b->prot & RIVET_PROT_EXEC)
        return RV_SEG_RX;
    return (b->prot & RIVET_PROT_WRITE) ? RV_SEG_RW : RV_SEG_R;
}

/* Sort key inside a segment: ordinary content first, then the runtime
 * tables by kind, zero-filled blocks last; input order breaks ties. */
static int rank_of(const rv_block *b) {
    switch (b->role) {
    case RV_ROLE_GOT: return 1;
    case RV_ROLE_EH_FRAME: return 2;
    case RV_ROLE_PREINIT_ARRAY: return 3;
    case RV_ROLE_INIT_ARRAY: return 4;
    case RV_ROLE_FINI_ARRAY: return 5;
    case RV_ROLE_CTORS: return 6;
    case RV_ROLE_DTORS: return 7;
    case RV_ROLE_STUBS: return 8;
    case RV_ROLE_TLS_DATA: return 10; /* the TLS template, last (link/tls.c) */
    case RV_ROLE_TLS_BSS: return 11;
    default: return b->content || b->size == 0 ? 0 : 9;
    }
}

static int compare_blocks(const void *pa, const void *pb) {
    const rv_block *a = *(rv_block *const *)pa, *b = *(rv_block *const *)pb;
    int ra = rank_of(a), rb = rank_of(b);
    if (ra != rb)
        return ra - rb;
    if (a->priority != b->priority)
        return a->priority < b->priority ? -1 : 1;
    return a->order < b->order ? -1 : a->order > b->order;
}

static rivet_error *assign_segments(rivet_link *l) {
    uint32_t order = 0;
    for (size_t i = 0; i < l->objects.count; i++) {
        rv_object *o = l->objects.items[i];
        for (uint32_t k = 0; k < o->section_count; k++) {
            rv_block *b = o->blocks[k];
            if (!b || !b->live)
                continue;
            b->order = order++;
            if (!rv_ptrvec_push(&l->segments[segment_of(b)].blocks, b))
                return nomem();
        }
    }
    for (size_t i = 0; i < l->synthetic.count; i++) {
        rv_block *b = l->synthetic.items[i];
        b->order = order++;
        if (!rv_ptrvec_push(&l->segments[segment_of(b)].blocks, b))
            return nomem();
    }
    return NULL;
}

static rivet_error *add_eh_frame_terminator(rivet_link *l) {
    rv_segment_layout *seg = &l->segments[RV_SEG_R];
    for (size_t i = 0; i < seg->blocks.count; i++) {
        rv_block *b = seg->blocks.items[i];
        if (b->role == RV_ROLE_EH_FRAME) {
            rv_block *t = rv_link_new_block(l, ".eh_frame.end", 4, 4,
                                            RIVET_PROT_READ, RV_ROLE_EH_FRAME);
            static const uint8_t zero[4];
            if (!t)
                return nomem();
            t->content = zero;
            t->order = UINT32_MAX;
            return rv_ptrvec_push(&seg->blocks, t) ? NULL : nomem();
        }
    }
    return NULL;
}

static uint64_t align_up(uint64_t v, uint64_t a) { return (v + a - 1) & ~(a - 1); }

/* Offsets relative to the link's base; addresses are added after
 * allocation. */
static void place_blocks(rivet_link *l, uint64_t page) {
    uint64_t off = 0;
    for (int s = 0; s < RV_SEG_COUNT; s++) {
        rv_segment_layout *seg = &l->segments[s];
        if (seg->blocks.count)
            if (seg->blocks.count) /* items is NULL when empty */
            qsort(seg->blocks.items, seg->blocks.count, sizeof(void *), compare_blocks);
        seg->align = page;
        uint64_t start = off, cur = off;
        for (size_t i = 0; i < seg->blocks.count; i++) {
            rv_block *b = seg->blocks.items[i];
            uint64_t a = b->role == RV_ROLE_EH_FRAME ? 4 : b->align;
            if (a > seg->align)
                seg->align = a;
            cur = align_up(cur, a);
            b->addr = cur;
            cur += b->size;
        }
        seg->addr = start;
        seg->size = align_up(cur - start, page);
        off = start + seg->size;
    }
    l->total_size = off;
}

static uint64_t max_alignment(const rivet_link *l) {
    uint64_t a = 1;
    for (int s = 0; s < RV_SEG_COUNT; s++)
        if (l->segments[s].align > a)
            a = l->segments[s].align;
    return a;
}

static rivet_error *allocate_memory(rivet_link *l) {
    rivet_placement where = l->needs_low_memory ? RIVET_PLACE_LOW_2G
                                                : RIVET_PLACE_NEAR_LIBRARIES;
    uint64_t align = max_alignment(l);
    uint64_t page = l->jit->page_size;
    uint64_t size = align_up(l->total_size + (align > page ? align : 0), page);
    uint64_t addr;
    rivet_error *e = rv_memory_allocate(l->jit, size ? size : page,
                                        where, &l->slab, &addr);
    if (e)
        return rivet_error_wrap(e, "allocating %llu bytes for the link",
                                (unsigned long long)size);
    l->alloc_addr = addr;
    l->alloc_size = size ? size : page;
    l->base = align_up(addr, align);
    l->stats.bytes = l->total_size;
    return NULL;
}

static void rebase(rivet_link *l) {
    uint64_t base = l->base;
    for (int s = 0; s < RV_SEG_COUNT; s++) {
        rv_segment_layout *seg = &l->segments[s];
        seg->addr += base;
        for (size_t i = 0; i < seg->blocks.count; i++) {
            rv_block *b = seg->blocks.items[i];
            b->addr += base;
        }
    }
}

/* Working memory of a link built apart from its target. A large one is
 * rounded to whole huge pages (rv_sys_alloc_pages), which populate several
 * times faster than small pages; for a small one the rounding would cost
 * more than it saves. */
static size_t working_memory_size(uint64_t size, uint64_t page) {
    return (size_t)align_up(size, rv_memory_is_large(size) ? RV_SYS_HUGE_PAGE : page);
}

static rivet_error *prepare_working_memory(rivet_link *l) {
    uint64_t alloc_start = l->alloc_addr;
    if (l->slab->view && !l->separate_work) {
        /* Written in place: the target memory itself. */
        l->work = l->slab->view + (alloc_start - l->slab->base);
        l->work_is_target = true;
        rv_sys_prefault_write((uint64_t)(uintptr_t)l->work, l->alloc_size);
    } else {
        l->work_size = working_memory_size(l->alloc_size, l->jit->page_size);
        l->work = rv_sys_alloc_pages(l->work_size);
        if (!l->work)
            return nomem();
    }
    for (int s = 0; s < RV_SEG_COUNT; s++) {
        rv_segment_layout *seg = &l->segments[s];
        for (size_t i = 0; i < seg->blocks.count; i++) {
            rv_block *b = seg->blocks.items[i];
            b->work = l->work + (b->addr - alloc_start);
            if (b->content && b->size)
                memcpy(b->work, b->content, b->size);
        }
    }
    return NULL;
}

rivet_error *rv_link_layout(rivet_link *l) {
    rivet_error *e = assign_segments(l);
    if (!e) e = add_eh_frame_terminator(l);
    if (e)
        return e;
    place_blocks(l, l->jit->page_size);
    e = allocate_memory(l);
    if (e)
        return e;
    rebase(l);
    e = prepare_working_memory(l);
    return e ? e : rv_tls_layout(l);
}
