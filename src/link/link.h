/*
 * link/link.h — the state of a jit and of one link, shared by the stages of
 * the pipeline:
 *
 *   object/elf.c      read      inputs -> blocks, symbols, edges
 *   link/resolve.c    resolve   bind every undefined name to a definition
 *   link/passes.c     passes    GOT entries, stubs, runtime helpers
 *   link/layout.c     layout    segments, target addresses, working memory
 *   link/fixup.c      fixup     apply every edge
 *   link/finalize.c   finalize  one initialize request; publish symbols
 *
 * link/jit.c sequences them (rivet_jit_link) and owns the public API.
 */
#ifndef RIVET_LINK_LINK_H
#define RIVET_LINK_LINK_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "arch/arch.h"
#include "graph/graph.h"
#include "rivet/rivet.h"
#include "rivet/rt.h"
#include "support/arena.h"
#include "support/namemap.h"
#include "support/ptrvec.h"


/* An input given to the jit, waiting for the next link. */
typedef struct rv_input {
    char *name;
    const uint8_t *data;
    size_t size;
    void *mapping;     /* munmap on free when the file was mapped */
    size_t mapping_size;
    bool whole_archive; /* read every member, not only the needed ones */
} rv_input;

enum { RV_SEG_RX, RV_SEG_R, RV_SEG_RW, RV_SEG_COUNT };

typedef struct rv_segment_layout {
    uint64_t addr, size; /* size rounded to a page */
    uint64_t align;
    rv_ptrvec blocks;    /* in placement order */
} rv_segment_layout;

typedef struct rv_pending_call rv_pending_call; /* controller/executor.h */

/* Controller-side bookkeeping of the executor's slabs. */
typedef struct rv_slab {
    uint64_t base, size, used;  /* bump pointer */
    rivet_placement placement;
    rv_ptrvec free_ranges;      /* rv_range*, returned by removed links */
    /* The slab's memory as this process may write it: the slab itself
     * in-process, else NULL (a link is built in working memory of its own
     * and then written into the executor's process, or sent). */
    uint8_t *view;
} rv_slab;

typedef struct rv_range { uint64_t addr, size; } rv_range;

/* Host data a low-memory link cannot reach, moved next to it (copy.c). */
typedef struct rv_copy_reloc {
    rv_symbol *symbol; /* the proxy, now defined by the copy block */
    uint64_t from;     /* the library's original address */
    uint64_t size;
} rv_copy_reloc;

struct rivet_link {
    rivet_jit *jit;
    uint32_t id;
    rv_arena arena;
    rv_arena worker_arena;       /* nodes of objects read on a second thread */
    const rv_arch *arch;
    rv_input *inputs;
    size_t input_count;
    rv_ptrvec objects;           /* rv_object* */
    rv_ptrvec archives;          /* rv_archive* opened for this link */
    bool needs_cxx_runtime;      /* objects reference libstdc++'s ABI */
    bool runtime_refs_scanned;   /* runtime.c: which runtime names are used */
    uint32_t runtime_refs;
    rv_ptrvec synthetic;         /* rv_block* not from inputs */
    rv_namemap defs;             /* name -> rv_symbol* defined in this link */
    rv_namemap imports;          /* name -> proxy rv_symbol* (host or earlier link) */
    bool has_commons;            /* some definition is a common symbol */
    rv_symbol **outside;         /* the objects' symbols whose names the link */
    size_t outside_count;        /* does not define, and branches to its host
                                  * definitions, in input order (resolve.c) */
    rv_ptrvec claimed_groups;    /* COMDAT signatures this link claimed */
    rv_ptrvec copies;            /* rv_copy_reloc*: host data copied into the link */
    rv_ptrvec got_targets;       /* rv_symbol*, by GOT index */
    rv_ptrvec stub_targets;      /* rv_symbol*, by stub index */
    rv_block *got, *stubs;
    rv_symbol *got_symbol;       /* _GLOBAL_OFFSET_TABLE_ */
    rv_symbol *dso_handle;
    rv_symbol **got_entry_syms;  /* symbol at each GOT entry */
    bool needs_low_memory;
    rv_segment_layout segments[RV_SEG_COUNT];
    uint64_t base, total_size;   /* laid-out extent of the segments */
    uint64_t alloc_addr, alloc_size; /* the allocation in a slab (>= extent) */
    rv_slab *slab;
    uint8_t *work;               /* working memory for [base, base+total) */
    size_t work_size;            /* its pages, when not the target itself */
    bool work_is_target;
    bool separate_work;          /* RIVET_LINK_SEPARATE_WORKING_MEMORY */
    bool prepared;               /* laid out, relocations not yet applied */
    bool remapped;               /* a section moved by rivet_link_remap_section */
    struct rv_tls_link *tls;     /* thread-locals (link/tls.c), or NULL */
    rv_ptrvec host_tls;          /* rv_host_tls*: the executor's thread-locals
                                  * this link reaches (link/tls.c) */
    struct rv_ifunc_link *ifunc; /* STT_GNU_IFUNC stubs (link/ifunc.c), or NULL */
    uint64_t region;             /* executor's name for the initialized memory */
    bool initialized;
    rv_ptrvec exports;           /* rv_symbol* published to the jit */
    rivet_link_stats stats;
    struct rivet_link *next;
};

struct rivet_jit {
    rivet_executor *executor;
    bool owns_executor;
    pthread_mutex_t lock;
    rv_input *pending;
    size_t pending_count, pending_capacity;
    rv_namemap exports;          /* name -> rv_symbol* across links */
    rv_namemap comdat;           /* signature -> rivet_link* that kept it */
    rivet_link *links;           /* newest first */
    uint32_t next_link_id;
    rv_ptrvec slabs;             /* rv_slab*, reserved in the executor */
    rv_pending_call *slab_ahead; /* a near slab asked for, not yet collected */
    bool whole_archive;          /* state of --whole-archive for new inputs */
    bool skip_initializers;      /* link only: run no code of the link */
    bool opened_libm, opened_libstdcxx;
    rivet_symbol_resolver_fn resolver; /* asked before the executor's process */
    void *resolver_ctx;
    uint64_t page_size;
};

/* stages */
rivet_error *rv_link_read_inputs(rivet_link *l); /* objects and archives */
void rv_link_free_archives(rivet_link *l);
rivet_error *rv_elf_read_object(rivet_link *l, rv_object *obj);
/* The same in two phases (object/elf.c): headers in input order, then
 * contents, which may run on another thread with its own arena. */
typedef struct elf_reader elf_reader;
rivet_error *rv_elf_read_headers(rivet_link *l, rv_object *obj, elf_reader **r);
rivet_error *rv_elf_read_contents(elf_reader *r, rv_arena *arena);
rivet_error *rv_link_resolve(rivet_link *l);
rivet_error *rv_link_build_passes(rivet_link *l);
rivet_error *rv_link_prune_eh_frames(rivet_link *l); /* FDEs of dropped COMDATs */
rivet_error *rv_link_make_copies(rivet_link *l);      /* copy relocations */
rivet_error *rv_link_need_stub(rivet_link *l, rv_symbol *t);
rivet_error *rv_link_layout(rivet_link *l);
rivet_error *rv_link_fixup(rivet_link *l);
rivet_error *rv_link_finalize(rivet_link *l);

/* Make `s` the definition in its slot of l->defs. The slot also notes
 * whether it is hidden and whether it lies in the executor's process, so
 * publication and binding need not visit the symbol. */
enum { RV_DEF_HIDDEN = 1, RV_DEF_HOST = 2 };

static inline void rv_link_define(rv_namemap_slot *slot, rv_symbol *s) {
    slot->value = s;
    slot->aux = ((s->flags & RV_SYM_HIDDEN) ? RV_DEF_HIDDEN : 0) |
                ((s->flags & RV_SYM_HOST) ? RV_DEF_HOST : 0);
}

/* COMDAT: true when this link keeps the group with this signature. */
bool rv_link_claim_group(rivet_link *l, const char *signature, bool *oom);

/* Synthetic content. */
rv_block *rv_link_new_block(rivet_link *l, const char *name, uint64_t size,
                            uint64_t align, uint8_t prot, uint8_t role);
rv_symbol *rv_link_new_symbol(rivet_link *l, const char *name, rv_block *b,
                              uint64_t offset, uint32_t flags);

/* Finish an SPS writer into an allocation action's call (arg malloc'd). */
typedef struct rivet_sps_writer rivet_sps_writer;
rivet_error *rv_action_call_from_writer(rivet_sps_writer *w,
                                        rivet_action_call *call, uint64_t fn);

/* Memory: sub-allocation from the executor's slabs. */
rivet_error *rv_memory_allocate(rivet_jit *jit, uint64_t size,
                                rivet_placement placement, rv_slab **slab,
                                uint64_t *addr);
void rv_memory_free(rv_slab *slab, uint64_t addr, uint64_t size);
/* A link of 1 MiB or more: placed on, and built in, whole huge pages. */
bool rv_memory_is_large(uint64_t size);
/* Ask a connected executor for its first near slab without waiting
 * (nothing happens in-process or once there are slabs), and collect the
 * answer into jit->slabs; a failure is dropped, since the reservation a
 * link then makes reports it. rv_memory_allocate collects by itself. */
void rv_memory_reserve_ahead(rivet_jit *jit);
void rv_memory_collect_ahead(rivet_jit *jit);
/* Free the bookkeeping; the executor's slab is released separately. */
void rv_memory_free_slab(rivet_jit *jit, rv_slab *s);

/* Describe where an edge is, for messages: "obj: section .text: relocation
 * R_X86_64_PC32 at offset 0x1c against 'foo'". */
rivet_error *rv_edge_error(rivet_link *l, const rv_block *b, const rv_edge *e,
                           rivet_error *cause);

#endif
