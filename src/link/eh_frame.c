/*
 * link/eh_frame.c — drop the FDEs of functions whose COMDAT group was
 * discarded.
 *
 * An object's .eh_frame holds one CIE/FDE record per function, including
 * inline and template functions emitted in COMDAT groups. When another
 * object's copy of a group is kept, this object's FDE for it would describe
 * code that is not loaded, so it is cut out: the block gets new content
 * without those records, the edges inside them are dropped, later edges
 * move up, and each kept FDE's CIE pointer (a distance back to its CIE) is
 * recomputed. Record format: LSB "Exception Frame" (.eh_frame) section:
 * u32 length (0xffffffff: u64 extended length follows), u32 CIE id (0) or
 * CIE pointer, then the body; PC begin is the field at offset 8 of an FDE.
 */
#include <string.h>

#include "link/link.h"

typedef struct eh_record {
    uint64_t start, size;   /* in the original content */
    uint64_t new_start;     /* in the rewritten content */
    bool is_cie, keep;
    uint64_t cie;           /* FDE: original offset of its CIE */
} eh_record;

static rivet_error *bad_frame(const rv_block *b, uint64_t off, const char *what) {
    return rivet_error_create(RIVET_ERR_MALFORMED, "%s: section %s: record at "
                              "offset 0x%llx: %s", b->object->name, b->name,
                              (unsigned long long)off, what);
}

static uint32_t get32(const uint8_t *p) {
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static rivet_error *split_records(const rv_block *b, eh_record *recs, size_t *n) {
    size_t count = 0;
    for (uint64_t off = 0; off + 4 <= b->size;) {
        uint32_t len = get32(b->content + off);
        if (len == 0)
            break; /* terminator */
        if (len == 0xffffffffu || len > b->size - off - 4 || len < 4)
            return bad_frame(b, off, "bad record length");
        uint32_t id = get32(b->content + off + 4);
        eh_record *r = &recs[count++];
        *r = (eh_record){.start = off, .size = 4 + (uint64_t)len, .is_cie = id == 0,
                         .keep = true};
        if (!r->is_cie) {
            if (id > off + 4)
                return bad_frame(b, off, "CIE pointer before the section");
            r->cie = off + 4 - id;
        }
        off += r->size;
    }
    *n = count;
    return NULL;
}

static eh_record *record_at(eh_record *recs, size_t n, uint64_t off) {
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (recs[mid].start + recs[mid].size <= off)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && recs[lo].start <= off ? &recs[lo] : NULL;
}

static bool target_is_dead(const rv_edge *e) {
    return rv_symbol_is_discarded(rv_symbol_resolved(e->target));
}

/* Mark FDEs whose PC-begin edge points into a discarded block. */
static size_t mark_dead_fdes(rv_block *b, eh_record *recs, size_t n) {
    size_t dropped = 0;
    for (uint32_t i = 0; i < b->edge_count; i++) {
        rv_edge *e = &b->edges[i];
        eh_record *r = record_at(recs, n, e->offset);
        if (r && !r->is_cie && e->offset == r->start + 8 && r->keep &&
            target_is_dead(e)) {
            r->keep = false;
            dropped++;
        }
    }
    return dropped;
}

static rivet_error *rewrite(rivet_link *l, rv_block *b, eh_record *recs, size_t n) {
    uint8_t *out = rv_arena_alloc(&l->arena, b->size);
    if (!out)
        return rivet_error_create(RIVET_ERR_NOMEM, "out of memory");
    uint64_t pos = 0;
    for (size_t i = 0; i < n; i++) {
        if (!recs[i].keep)
            continue;
        recs[i].new_start = pos;
        memcpy(out + pos, b->content + recs[i].start, recs[i].size);
        pos += recs[i].size;
    }
    for (size_t i = 0; i < n; i++) {
        if (!recs[i].keep || recs[i].is_cie)
            continue;
        eh_record *cie = record_at(recs, n, recs[i].cie);
        if (!cie || !cie->is_cie || cie->start != recs[i].cie)
            return bad_frame(b, recs[i].start, "CIE pointer does not name a CIE");
        uint32_t ptr = (uint32_t)(recs[i].new_start + 4 - cie->new_start);
        memcpy(out + recs[i].new_start + 4, &ptr, 4);
    }
    uint32_t kept = 0;
    for (uint32_t i = 0; i < b->edge_count; i++) {
        rv_edge e = b->edges[i];
        eh_record *r = record_at(recs, n, e.offset);
        if (!r || !r->keep)
            continue;
        e.offset = e.offset - r->start + r->new_start;
        b->edges[kept++] = e;
    }
    b->edge_count = kept;
    b->content = out;
    b->size = pos;
    return NULL;
}

static rivet_error *prune_block(rivet_link *l, rv_block *b) {
    bool any = false;
    for (uint32_t i = 0; i < b->edge_count && !any; i++)
        any = target_is_dead(&b->edges[i]);
    if (!any || !b->content)
        return NULL;
    size_t max = b->size / 8 + 1, n = 0;
    eh_record *recs = rv_arena_alloc(&l->arena, max * sizeof *recs);
    if (!recs)
        return rivet_error_create(RIVET_ERR_NOMEM, "out of memory");
    rivet_error *e = split_records(b, recs, &n);
    if (e)
        return e;
    if (!mark_dead_fdes(b, recs, n))
        return NULL;
    return rewrite(l, b, recs, n);
}

rivet_error *rv_link_prune_eh_frames(rivet_link *l) {
    for (size_t i = 0; i < l->objects.count; i++) {
        rv_object *o = l->objects.items[i];
        for (uint32_t k = 0; k < o->section_count; k++) {
            rv_block *b = o->blocks[k];
            if (!b || b->role != RV_ROLE_EH_FRAME || !b->live)
                continue;
            rivet_error *e = prune_block(l, b);
            if (e)
                return e;
        }
    }
    return NULL;
}
