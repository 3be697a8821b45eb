/*
 * support/arena.h — bump allocation for link graphs.
 *
 * Graph nodes (blocks, symbols, edges) live as long as the link that owns
 * them and are freed all at once, so they come from an arena: no per-node
 * malloc, no per-node free. Allocation failure returns NULL; callers report
 * RIVET_ERR_NOMEM.
 */
#ifndef RIVET_SUPPORT_ARENA_H
#define RIVET_SUPPORT_ARENA_H

#include <stddef.h>
#include <stdint.h>

typedef struct rv_arena_chunk rv_arena_chunk;

typedef struct rv_arena {
    rv_arena_chunk *head;
    char *pos, *end;
    size_t total; /* bytes obtained from malloc, for --stats */
} rv_arena;

void rv_arena_init(rv_arena *a);
void rv_arena_free(rv_arena *a);
/* `size` bytes aligned to 16, uninitialised. */
void *rv_arena_alloc(rv_arena *a, size_t size);
/* `count * size` bytes, zeroed; NULL also on multiplication overflow. */
void *rv_arena_calloc(rv_arena *a, size_t count, size_t size);
char *rv_arena_strdup(rv_arena *a, const char *s);
char *rv_arena_printf(rv_arena *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
