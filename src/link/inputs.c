/*
 * link/inputs.c — the read stage: objects in command-line order, and
 * archive members chosen as the system linker chooses them.
 *
 * When an archive is reached, every name that is referenced (strongly) and
 * not yet defined by what came before is looked up in its index; each
 * member that defines one is read, which may reference more names, and the
 * archive is searched again until nothing new is pulled in. Later inputs do
 * not pull from earlier archives (as with ld, without --start-group).
 * --whole-archive reads every member. Unneeded members are never read.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "controller/executor.h"
#include "link/link.h"
#include "object/archive.h"
#include "sys/sys.h"

typedef struct input_state {
    rivet_link *l;
    bool track;           /* an archive is still to come: keep the sets */
    rv_namemap defined;   /* name -> (void*)1 */
    rv_namemap undefined; /* name -> (void*)1, referenced and not defined */
} input_state;

static rivet_error *nomem(void) {
    return rivet_error_create(RIVET_ERR_NOMEM, "out of memory");
}

/* Track what the object defines and what it still needs (only while an
 * archive is still to come). */
static rivet_error *note_object(input_state *st, rv_object *o) {
    if (o->uses_cxx_abi) /* noted by the reader */
        st->l->needs_cxx_runtime = true;
    for (uint32_t k = o->first_global; st->track && k < o->symbol_count; k++) {
        rv_symbol *s = &o->symbols[k];
        if ((s->flags & RV_SYM_LOCAL) || !s->name[0])
            continue;
        if (s->flags & (RV_SYM_DEFINED | RV_SYM_COMMON)) {
            rv_namemap_slot *d = rv_namemap_upsert(&st->defined, s->name, s->hash);
            if (!d)
                return nomem();
            d->value = (void *)1;
            rv_namemap_remove(&st->undefined, s->name, s->hash);
        } else if (!(s->flags & RV_SYM_WEAK) &&
                   !rv_namemap_get(&st->defined, s->name, s->hash)) {
            rv_namemap_slot *u = rv_namemap_upsert(&st->undefined, s->name, s->hash);
            if (!u)
                return nomem();
            u->value = (void *)1;
        }
    }
    return NULL;
}

static rivet_error *read_object(input_state *st, const char *name,
                                const uint8_t *data, size_t size) {
    rivet_link *l = st->l;
    rv_object *o = rv_arena_calloc(&l->arena, 1, sizeof *o);
    if (!o || !rv_ptrvec_push(&l->objects, o))
        return nomem();
    o->name = name;
    o->data = data;
    o->size = size;
    rivet_error *e = rv_elf_read_object(l, o);
    return e ? e : note_object(st, o);
}

static rivet_error *read_member(input_state *st, rv_archive *a, rv_archive_member *m) {
    m->loaded = true;
    rivet_error *e = rv_archive_member_load(a, m);
    if (!e)
        e = read_object(st, m->name, m->data, m->size);
    st->l->stats.objects++;
    return e;
}

/* One search of the archive over a snapshot of the open names. */
static rivet_error *pull_round(input_state *st, rv_archive *a, bool *pulled) {
    size_t n = 0;
    const char **names = malloc((st->undefined.count + 1) * sizeof *names);
    if (!names)
        return nomem();
    for (size_t i = 0; i < st->undefined.capacity; i++)
        if (st->undefined.slots[i].key)
            names[n++] = st->undefined.slots[i].key;
    rivet_error *e = NULL;
    for (size_t i = 0; i < n && !e; i++) {
        uint32_t h = rv_name_hash(names[i]);
        if (!rv_namemap_get(&st->undefined, names[i], h))
            continue; /* defined by a member pulled this round */
        rv_archive_member *m = rv_archive_find(a, names[i], h);
        if (m && !m->loaded) {
            e = read_member(st, a, m);
            *pulled = true;
        }
    }
    free(names);
    return e;
}

static rivet_error *read_archive(input_state *st, rv_input *in) {
    rivet_link *l = st->l;
    rv_archive *a = rv_arena_calloc(&l->arena, 1, sizeof *a);
    if (!a || !rv_ptrvec_push(&l->archives, a))
        return nomem();
    rivet_error *e = rv_archive_open(a, &l->arena, in->name, in->data, in->size);
    if (e)
        return e;
    if (in->whole_archive) {
        for (size_t i = 0; i < a->member_count && !e; i++)
            e = read_member(st, a, a->members[i]);
        return e;
    }
    for (bool pulled = true; pulled && !e;) {
        pulled = false;
        e = pull_round(st, a, &pulled);
    }
    return e;
}

/* ------------------------------------------------------ parallel batches */

/* Consecutive plain objects are read in two phases: headers in input order
 * (they decide COMDAT groups), then contents on two threads, each taking
 * the next object not yet taken and putting its nodes in its own arena.
 * Selection sets are updated afterwards, in input order, so the result is
 * the same as reading one by one. */
typedef struct batch {
    rivet_link *l;
    rv_object **objects;
    elf_reader **readers;
    rivet_error **errors;
    size_t count, capacity;
    uint64_t bytes;
    atomic_size_t next;  /* the next object to read */
} batch;

typedef struct batch_half {
    batch *b;
    rv_arena *arena;
} batch_half;

enum { PARALLEL_MIN_BYTES = 512 * 1024 };

static void read_half(void *p) {
    batch_half *h = p;
    batch *b = h->b;
    for (size_t i; (i = atomic_fetch_add(&b->next, 1)) < b->count;)
        b->errors[i] = rv_elf_read_contents(b->readers[i], h->arena);
}

static rivet_error *batch_add(input_state *st, batch *b, const char *name,
                              const uint8_t *data, size_t size) {
    rivet_link *l = st->l;
    if (b->count == b->capacity) {
        size_t cap = b->capacity ? 2 * b->capacity : 64;
        rv_object **o = rv_arena_alloc(&l->arena, cap * sizeof *o);
        elf_reader **r = rv_arena_alloc(&l->arena, cap * sizeof *r);
        rivet_error **e = rv_arena_calloc(&l->arena, cap, sizeof *e);
        if (!o || !r || !e)
            return nomem();
        if (b->count) {
            memcpy(o, b->objects, b->count * sizeof *o);
            memcpy(r, b->readers, b->count * sizeof *r);
        }
        b->objects = o, b->readers = r, b->errors = e, b->capacity = cap;
    }
    rv_object *obj = rv_arena_calloc(&l->arena, 1, sizeof *obj);
    if (!obj || !rv_ptrvec_push(&l->objects, obj))
        return nomem();
    *obj = (rv_object){.name = name, .data = data, .size = size};
    l->stats.objects++;
    b->objects[b->count] = obj;
    b->bytes += size;
    return rv_elf_read_headers(l, obj, &b->readers[b->count++]);
}

/* Read the contents of every object in the batch, then note them. */
static rivet_error *batch_flush(input_state *st, batch *b) {
    size_t n = b->count;
    batch_half first = {b, &st->l->arena}, second = {b, &st->l->worker_arena};
    atomic_store(&b->next, 0);
    if (b->bytes >= PARALLEL_MIN_BYTES && n > 1)
        rv_sys_run_pair(read_half, &first, &second);
    else
        read_half(&first);
    rivet_error *e = NULL;
    for (size_t i = 0; i < n; i++) {
        if (!e)
            e = b->errors[i] ? b->errors[i] : note_object(st, b->objects[i]);
        else
            rivet_error_free(b->errors[i]);
    }
    b->count = 0;
    b->bytes = 0;
    return e;
}

rivet_error *rv_link_read_inputs(rivet_link *l) {
    input_state st = {.l = l};
    batch b = {.l = l};
    atomic_init(&b.next, 0);
    rv_namemap_init(&st.defined);
    rv_namemap_init(&st.undefined);
    rivet_error *e = NULL;
    size_t last_archive = SIZE_MAX;
    for (size_t i = 0; i < l->input_count; i++)
        if (rv_is_archive(l->inputs[i].data, l->inputs[i].size))
            last_archive = i;
    for (size_t i = 0; i < l->input_count && !e; i++) {
        rv_input *in = &l->inputs[i];
        st.track = last_archive != SIZE_MAX && i <= last_archive;
        if (rv_is_archive(in->data, in->size)) {
            e = batch_flush(&st, &b);
            if (!e)
                e = read_archive(&st, in);
        } else {
            e = batch_add(&st, &b, in->name, in->data, in->size);
        }
    }
    if (!e)
        e = batch_flush(&st, &b);
    rv_namemap_free(&st.defined);
    rv_namemap_free(&st.undefined);
    return e;
}

void rv_link_free_archives(rivet_link *l) {
    for (size_t i = 0; i < l->archives.count; i++)
        rv_archive_free(l->archives.items[i]);
    rv_ptrvec_free(&l->archives);
}
