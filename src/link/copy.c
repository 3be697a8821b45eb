/*
 * link/copy.c — copy relocations for links placed in low memory.
 *
 * Objects built with -fno-pic use absolute 32-bit addresses, so their link
 * lives below 2 GiB — out of reach of the libraries' data at the top of the
 * address space, which such code names with direct 32-bit references
 * (`mov stdout(%rip), %rax`). A system linker solves this with a copy
 * relocation: the executable gets its own copy of the object, and the
 * library's GOT is pointed at it. rivet does the same, after the fact and
 * undoably: for each such object the link gets a copy block; at initialize
 * an allocation action copies the bytes and redirects every GOT slot of the
 * loaded modules; at removal the bytes are copied back and the slots
 * restored. Functions named that way use their stubs instead.
 *
 * This is safe for data reached through GOT slots, which is what exported
 * library data is for. It is refused (the fixup then fails with a message
 * naming the symbol and -fPIE) when the executor cannot tell the object's
 * size.
 */
#include <elf.h>
#include <stdlib.h>

#include "controller/executor.h"
#include "link/link.h"

static rivet_error *nomem(void) {
    return rivet_error_create(RIVET_ERR_NOMEM, "out of memory");
}

static bool link_is_low(rivet_link *l) {
    for (size_t i = 0; i < l->objects.count; i++)
        if (((rv_object *)l->objects.items[i])->needs_low_memory)
            return true;
    return false;
}

/* Host symbols that some edge names with a direct 32-bit reference. */
static rivet_error *collect_candidates(rivet_link *l, rv_ptrvec *out) {
    for (size_t i = 0; i < l->objects.count; i++) {
        rv_object *o = l->objects.items[i];
        for (uint32_t k = 0; k < o->section_count; k++) {
            rv_block *b = o->blocks[k];
            for (uint32_t j = 0; b && b->live && j < b->edge_count; j++) {
                rv_symbol *t = rv_symbol_resolved(b->edges[j].target);
                if (!(t->flags & RV_SYM_HOST) || !t->value ||
                    (t->flags & RV_SYM_REACH32) ||
                    !(l->arch->edge_needs(b->edges[j].kind) & RV_NEEDS_REACH32))
                    continue;
                t->flags |= RV_SYM_REACH32;
                if (!rv_ptrvec_push(out, t))
                    return nomem();
            }
        }
    }
    return NULL;
}

static rivet_error *copy_object(rivet_link *l, rv_symbol *t, uint64_t size) {
    rv_block *b = rv_link_new_block(l, ".copy", size, size >= 32 ? 32 : 16,
                                    RIVET_PROT_READ | RIVET_PROT_WRITE, RV_ROLE_NORMAL);
    rv_copy_reloc *c = rv_arena_alloc(&l->arena, sizeof *c);
    if (!b || !c || !rv_ptrvec_push(&l->copies, c))
        return nomem();
    *c = (rv_copy_reloc){.symbol = t, .from = t->value, .size = size};
    t->block = b;
    t->value = 0;
    t->size = size;
    t->flags &= ~(uint32_t)(RV_SYM_ABSOLUTE | RV_SYM_HOST);
    return NULL;
}

static rivet_error *place_candidates(rivet_link *l, rv_ptrvec *cands) {
    size_t n = cands->count;
    uint64_t *addrs = calloc(n, sizeof *addrs), *sizes = calloc(n, sizeof *sizes);
    uint8_t *types = calloc(n, 1);
    rivet_error *e = (!addrs || !sizes || !types) ? nomem() : NULL;
    for (size_t i = 0; i < n && !e; i++)
        addrs[i] = ((rv_symbol *)cands->items[i])->value;
    if (!e)
        e = rv_executor_symbol_info(l->jit->executor, addrs, n, sizes, types);
    for (size_t i = 0; i < n && !e; i++) {
        rv_symbol *t = cands->items[i];
        if (types[i] == STT_FUNC || types[i] == STT_GNU_IFUNC)
            e = rv_link_need_stub(l, t);
        else if (types[i] == STT_OBJECT && sizes[i])
            e = copy_object(l, t, sizes[i]);
    }
    free(addrs);
    free(sizes);
    free(types);
    return e;
}

rivet_error *rv_link_make_copies(rivet_link *l) {
    if (!link_is_low(l))
        return NULL;
    rv_ptrvec cands = {0};
    rivet_error *e = collect_candidates(l, &cands);
    if (!e && cands.count)
        e = place_candidates(l, &cands);
    rv_ptrvec_free(&cands);
    return e;
}
