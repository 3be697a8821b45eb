/*
 * link/finalize.c — one initialize request per link, then publication.
 *
 * The request carries the segments (in-process: marked in place, nothing to
 * copy) and two allocation-action pairs, run by the executor in order:
 *   1. register the .eh_frame table with the unwinder / deregister it;
 *   1a. register the TLS template / clear it, and run the IFUNC resolvers
 *      into their slots (link/tls.c, link/ifunc.c), so constructors can
 *      use both;
 *   2. run .preinit_array, .init_array and .ctors, after registering the
 *      link's .fini_array/.dtors runner with __cxa_atexit / run
 *      __cxa_finalize(__dso_handle) when the link is removed.
 * Registration comes first so a constructor that throws can be unwound, and
 * deregistration last, after destructors ran.
 */
#include <stdlib.h>
#include <string.h>

#include "controller/executor.h"
#include "link/link.h"
#include "sys/sys.h"
#include "link/tls.h"
#include "rivet/sps.h"

typedef struct role_range { uint64_t start, end; } role_range;

static role_range range_of_role(const rivet_link *l, int seg, uint8_t role) {
    const rv_segment_layout *s = &l->segments[seg];
    role_range r = {0, 0};
    for (size_t i = 0; i < s->blocks.count; i++) {
        const rv_block *b = s->blocks.items[i];
        if (b->role != role)
            continue;
        if (!r.start)
            r.start = b->addr;
        r.end = b->addr + b->size;
    }
    return r;
}

static void put_role(rivet_sps_writer *w, const rivet_link *l, uint8_t role) {
    role_range r = range_of_role(l, RV_SEG_RW, role);
    if (!r.start) {
        /* init arrays of a -fno-pic link may be read-only; look there too */
        r = range_of_role(l, RV_SEG_R, role);
    }
    rivet_sps_put_range(w, r.start, r.end);
}

rivet_error *rv_action_call_from_writer(rivet_sps_writer *w,
                                        rivet_action_call *call, uint64_t fn) {
    char *data;
    size_t size;
    rivet_error *e = rivet_sps_writer_finish(w, &data, &size);
    if (e)
        return e;
    *call = (rivet_action_call){.fn = fn, .arg = data, .arg_size = size};
    return NULL;
}

static rivet_error *eh_frame_actions(rivet_link *l, rivet_action_pair *p,
                                     bool *present) {
    role_range r = range_of_role(l, RV_SEG_R, RV_ROLE_EH_FRAME);
    *present = r.end > r.start + 4; /* more than the terminator */
    if (!*present)
        return NULL;
    const rv_executor_addrs *a = &l->jit->executor->addrs;
    rivet_sps_writer w;
    rivet_sps_writer_init(&w);
    rivet_sps_put_range(&w, r.start, r.end);
    rivet_error *e = rv_action_call_from_writer(&w, &p->finalize, a->register_eh_frame);
    if (e)
        return e;
    rivet_sps_writer_init(&w);
    rivet_sps_put_range(&w, r.start, r.end);
    return rv_action_call_from_writer(&w, &p->dealloc, a->deregister_eh_frame);
}

static rivet_error *initializer_actions(rivet_link *l, rivet_action_pair *p) {
    const rv_executor_addrs *a = &l->jit->executor->addrs;
    uint64_t dso = rv_symbol_address(l->dso_handle);
    rivet_sps_writer w;
    rivet_sps_writer_init(&w);
    rivet_sps_put_u64(&w, dso);
    put_role(&w, l, RV_ROLE_PREINIT_ARRAY);
    put_role(&w, l, RV_ROLE_INIT_ARRAY);
    put_role(&w, l, RV_ROLE_CTORS);
    put_role(&w, l, RV_ROLE_FINI_ARRAY);
    put_role(&w, l, RV_ROLE_DTORS);
    rivet_error *e = rv_action_call_from_writer(&w, &p->finalize, a->run_initializers);
    if (e)
        return e;
    rivet_sps_writer_init(&w);
    rivet_sps_put_u64(&w, dso);
    return rv_action_call_from_writer(&w, &p->dealloc, a->run_finalizers);
}

/* An executor on this machine has its link written straight into its
 * memory, all segments in one system call; the initialize request then
 * carries no content. If the system refuses (no right to that process),
 * the content is sent from then on. */
static bool write_into_executor(rivet_link *l, const rivet_segment *segs,
                                size_t n) {
    rivet_executor *ex = l->jit->executor;
    if (!ex->local_pid || ex->no_direct_writes)
        return false;
    rv_sys_write_part parts[RV_SEG_COUNT];
    for (size_t i = 0; i < n; i++)
        parts[i] = (rv_sys_write_part){.from = segs[i].content,
                                       .to = segs[i].addr,
                                       .size = segs[i].size};
    rivet_error *e = rv_sys_write_process(ex->local_pid, parts, n);
    if (!e)
        return true;
    rivet_error_free(e);
    ex->no_direct_writes = true;
    return false;
}

static size_t build_segments(rivet_link *l, rivet_segment *segs) {
    static const uint8_t prot[RV_SEG_COUNT] = {
        RIVET_PROT_READ | RIVET_PROT_EXEC, RIVET_PROT_READ,
        RIVET_PROT_READ | RIVET_PROT_WRITE};
    size_t n = 0;
    for (int s = 0; s < RV_SEG_COUNT; s++) {
        rv_segment_layout *seg = &l->segments[s];
        if (!seg->size)
            continue;
        rivet_segment *out = &segs[n++];
        memset(out, 0, sizeof *out);
        out->addr = seg->addr;
        out->size = seg->size;
        out->prot = prot[s];
        out->in_place = l->work_is_target;
        if (!l->work_is_target) {
            /* the whole segment, bss included: working memory is zeroed */
            out->content = l->work + (seg->addr - l->alloc_addr);
            out->content_size = seg->size;
        }
    }
    if (!l->work_is_target && write_into_executor(l, segs, n))
        for (size_t i = 0; i < n; i++)
            segs[i].in_place = true;
    return n;
}

static void free_actions(rivet_action_pair *p, size_t n) {
    for (size_t i = 0; i < n; i++) {
        free((void *)p[i].finalize.arg);
        free((void *)p[i].dealloc.arg);
    }
}

static rivet_error *nomem(void) {
    return rivet_error_create(RIVET_ERR_NOMEM, "out of memory");
}

/* The first link of a jit (or the first after all others were removed)
 * hands its definition table over as the jit's export table: the same
 * entries less the hidden ones, with no table to build. Nothing reads the
 * link's own table after this stage. Everything that can fail happens
 * before the hand-over. */
static rivet_error *publish_by_adoption(rivet_link *l) {
    rivet_jit *jit = l->jit;
    const rv_namemap_slot *slots = l->defs.slots;
    rv_ptrvec hidden = {0};
    for (size_t i = 0; i < l->defs.capacity; i++) {
        if (!slots[i].key)
            continue;
        rv_ptrvec *to = (slots[i].aux & RV_DEF_HIDDEN) ? &hidden : &l->exports;
        if (!rv_ptrvec_push(to, slots[i].value)) {
            rv_ptrvec_free(&hidden);
            l->exports.count = 0;
            return nomem();
        }
    }
    rv_namemap_free(&jit->exports);
    jit->exports = l->defs;
    rv_namemap_init(&l->defs);
    for (size_t i = 0; i < hidden.count; i++) {
        const rv_symbol *s = hidden.items[i];
        rv_namemap_remove(&jit->exports, s->name, s->hash);
    }
    rv_ptrvec_free(&hidden);
    return NULL;
}

static rivet_error *publish(rivet_link *l) {
    rivet_jit *jit = l->jit;
    if (!jit->exports.count)
        return publish_by_adoption(l);
    if (!rv_namemap_reserve(&jit->exports, l->defs.count))
        return nomem();
    const rv_namemap_slot *slots = l->defs.slots;
    for (size_t i = 0; i < l->defs.capacity; i++) {
        /* the slot says whether its symbol is hidden (rv_link_define), so
         * only the export table is visited out of order: ask for the
         * slot a few entries ahead will take */
        if (i + 16 < l->defs.capacity && slots[i + 16].key)
            rv_namemap_prefetch_slot(&jit->exports, slots[i + 16].hash);
        rv_symbol *s = slots[i].key ? slots[i].value : NULL;
        if (!s || (slots[i].aux & RV_DEF_HIDDEN))
            continue;
        rv_namemap_slot *slot = rv_namemap_upsert(&jit->exports, slots[i].key,
                                                  slots[i].hash);
        if (!slot || !rv_ptrvec_push(&l->exports, s))
            return nomem();
        if (!slot->value)
            slot->value = s;
    }
    return NULL;
}

/* Copy relocations come first: constructors may already use the data. */
static rivet_error *copy_actions(rivet_link *l, rivet_action_pair *p) {
    const rv_executor_addrs *a = &l->jit->executor->addrs;
    rivet_error *e = NULL;
    for (size_t i = 0; i < l->copies.count && !e; i++) {
        const rv_copy_reloc *c = l->copies.items[i];
        uint64_t to = rv_symbol_address(c->symbol);
        for (int k = 0; k < 2 && !e; k++) {
            rivet_sps_writer w;
            rivet_sps_writer_init(&w);
            rivet_sps_put_u64(&w, c->from);
            rivet_sps_put_u64(&w, to);
            rivet_sps_put_u64(&w, c->size);
            e = k == 0 ? rv_action_call_from_writer(&w, &p[i].finalize, a->copy_relocate)
                       : rv_action_call_from_writer(&w, &p[i].dealloc, a->copy_relocate_undo);
        }
    }
    return e;
}

rivet_error *rv_link_finalize(rivet_link *l) {
    rivet_segment segs[RV_SEG_COUNT];
    size_t max_actions = l->copies.count + 4;
    rivet_action_pair *actions = calloc(max_actions, sizeof *actions);
    if (!actions)
        return rivet_error_create(RIVET_ERR_NOMEM, "out of memory");
    size_t nact = l->copies.count;
    bool has_eh = false;
    rivet_error *e = copy_actions(l, actions);
    if (!e)
        e = eh_frame_actions(l, &actions[nact], &has_eh);
    if (!e) {
        nact += has_eh ? 1 : 0;
        e = rv_tls_add_actions(l, actions, &nact);   /* link/tls.c */
    }
    if (!e)
        e = l->jit->skip_initializers ? NULL /* no code of the link runs */
                                      : rv_ifunc_add_actions(l, actions, &nact);
    if (!e && !l->jit->skip_initializers) {
        e = initializer_actions(l, &actions[nact]);
        nact++;
    }
    if (!e) {
        /* A remapped section lives where the client put it: no actions run
         * on memory rivet did not place (rivet/engine.h). */
        rivet_initialize_request req = {
            .segments = segs, .segment_count = build_segments(l, segs),
            .actions = actions, .action_count = l->remapped ? 0 : nact};
        e = rv_executor_initialize(l->jit->executor, &req, &l->region);
    }
    free_actions(actions, max_actions);
    free(actions);
    if (e)
        return rivet_error_wrap(e, "finalizing link #%u", l->id);
    l->initialized = true;
    return publish(l);
}
