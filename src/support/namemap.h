/*
 * support/namemap.h — an open-addressing hash map from NUL-terminated names
 * to pointers, for symbol tables.
 *
 * Keys are borrowed (they point into object files' string tables or an
 * arena) and must outlive the map. The hash of a name is computed once by
 * the caller (rv_name_hash) and stored with the symbol, so a lookup costs one
 * probe sequence and, on a hash match, one strcmp.
 */
#ifndef RIVET_SUPPORT_NAMEMAP_H
#define RIVET_SUPPORT_NAMEMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct rv_namemap_slot {
    const char *key;
    uint32_t hash;
    uint32_t aux;   /* the caller's, kept with the entry (0 when claimed) */
    void *value;
} rv_namemap_slot;

typedef struct rv_namemap {
    rv_namemap_slot *slots;
    size_t capacity; /* a power of two, or 0 */
    size_t count;
} rv_namemap;

uint32_t rv_name_hash(const char *s);

void rv_namemap_init(rv_namemap *m);
void rv_namemap_free(rv_namemap *m);
/* Reserve room for `n` more entries without rehashing; false if out of
 * memory. */
bool rv_namemap_reserve(rv_namemap *m, size_t n);
/* The value for `key`, or NULL. */
void *rv_namemap_get(const rv_namemap *m, const char *key, uint32_t hash);
/* The slot holding `key`, or NULL. */
const rv_namemap_slot *rv_namemap_find(const rv_namemap *m, const char *key,
                                       uint32_t hash);
/* Slot for `key`: existing (value set) or freshly claimed (value NULL, key
 * stored). NULL only when out of memory. */
rv_namemap_slot *rv_namemap_upsert(rv_namemap *m, const char *key,
                                   uint32_t hash);
/* Remove `key` if present. */
void rv_namemap_remove(rv_namemap *m, const char *key, uint32_t hash);

/* Hints for a run of lookups, whose slots and keys lie all over memory:
 * ask for the home slot of a hash some lookups ahead, and, a few lookups
 * later, for the key that slot holds. Neither changes anything. */
static inline void rv_namemap_prefetch_slot(const rv_namemap *m, uint32_t hash) {
    if (m->capacity)
        __builtin_prefetch(&m->slots[hash & (m->capacity - 1)]);
}

static inline void rv_namemap_prefetch_key(const rv_namemap *m, uint32_t hash) {
    if (m->capacity) {
        const char *key = m->slots[hash & (m->capacity - 1)].key;
        if (key)
            __builtin_prefetch(key);
    }
}

#endif
