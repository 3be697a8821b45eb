/*
 * support/namemap.c — linear-probing name map (see namemap.h). Deletion
 * uses backward shifting so no tombstones accumulate as links come and go.
 */
#include "support/namemap.h"
#include "sys/sys.h"

#include <stdlib.h>
#include <string.h>

uint32_t rv_name_hash(const char *s) {
    /* FNV-1a: cheap, good enough spread for symbol names */
    uint32_t h = 2166136261u;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        h = (h ^ *p) * 16777619u;
    return h;
}

void rv_namemap_init(rv_namemap *m) { memset(m, 0, sizeof *m); }

/* Large tables (a link's definitions, the jit's exports) come prefaulted
 * from the page allocator: every page of them is written at once, and one
 * populating call costs less than a fault per page. */
enum { PAGED_TABLE_BYTES = 256 * 1024 };

static rv_namemap_slot *alloc_slots(size_t cap) {
    size_t bytes = cap * sizeof(rv_namemap_slot);
    return bytes >= PAGED_TABLE_BYTES ? rv_sys_alloc_pages(bytes)
                                      : calloc(cap, sizeof(rv_namemap_slot));
}

static void free_slots(rv_namemap_slot *slots, size_t cap) {
    size_t bytes = cap * sizeof(rv_namemap_slot);
    if (bytes >= PAGED_TABLE_BYTES)
        rv_sys_free_pages(slots, bytes);
    else
        free(slots);
}

void rv_namemap_free(rv_namemap *m) {
    free_slots(m->slots, m->capacity);
    rv_namemap_init(m);
}

static rv_namemap_slot *find_slot(rv_namemap_slot *slots, size_t cap,
                                  const char *key, uint32_t hash) {
    size_t mask = cap - 1;
    for (size_t i = hash & mask;; i = (i + 1) & mask) {
        rv_namemap_slot *s = &slots[i];
        if (!s->key || (s->hash == hash && strcmp(s->key, key) == 0))
            return s;
    }
}

static bool rehash(rv_namemap *m, size_t cap) {
    rv_namemap_slot *slots = alloc_slots(cap);
    if (!slots)
        return false;
    for (size_t i = 0; i < m->capacity; i++) {
        rv_namemap_slot *old = &m->slots[i];
        if (old->key)
            *find_slot(slots, cap, old->key, old->hash) = *old;
    }
    free_slots(m->slots, m->capacity);
    m->slots = slots;
    m->capacity = cap;
    return true;
}

bool rv_namemap_reserve(rv_namemap *m, size_t n) {
    size_t need = (m->count + n) * 2; /* keep load factor <= 1/2 */
    if (need <= m->capacity)
        return true;
    size_t cap = m->capacity ? m->capacity : 64;
    while (cap < need)
        cap *= 2;
    return rehash(m, cap);
}

void *rv_namemap_get(const rv_namemap *m, const char *key, uint32_t hash) {
    if (!m->count)
        return NULL;
    const rv_namemap_slot *s = find_slot(m->slots, m->capacity, key, hash);
    return s->key ? s->value : NULL; /* a vacated slot may keep an old value */
}

const rv_namemap_slot *rv_namemap_find(const rv_namemap *m, const char *key,
                                       uint32_t hash) {
    if (!m->count)
        return NULL;
    const rv_namemap_slot *s = find_slot(m->slots, m->capacity, key, hash);
    return s->key ? s : NULL;
}

rv_namemap_slot *rv_namemap_upsert(rv_namemap *m, const char *key,
                                   uint32_t hash) {
    if (!rv_namemap_reserve(m, 1))
        return NULL;
    rv_namemap_slot *s = find_slot(m->slots, m->capacity, key, hash);
    if (!s->key) {
        s->key = key;
        s->hash = hash;
        s->aux = 0;
        s->value = NULL;
        m->count++;
    }
    return s;
}

void rv_namemap_remove(rv_namemap *m, const char *key, uint32_t hash) {
    if (!m->count)
        return;
    size_t mask = m->capacity - 1;
    rv_namemap_slot *s = find_slot(m->slots, m->capacity, key, hash);
    if (!s->key)
        return;
    size_t i = (size_t)(s - m->slots);
    m->slots[i] = (rv_namemap_slot){0};
    m->count--;
    /* shift later members of the probe run back into the hole */
    for (size_t j = (i + 1) & mask; m->slots[j].key; j = (j + 1) & mask) {
        size_t home = m->slots[j].hash & mask;
        bool between = i <= j ? (i < home && home <= j) : (i < home || home <= j);
        if (between)
            continue;
        m->slots[i] = m->slots[j];
        m->slots[j] = (rv_namemap_slot){0};
        i = j;
    }
}
