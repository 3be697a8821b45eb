/*
 * support/arena.c — chunked bump allocator (see arena.h).
 */
#include "support/arena.h"
#include "sys/sys.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct rv_arena_chunk {
    rv_arena_chunk *next;
    size_t size;       /* of the whole mapping */
    max_align_t pad[]; /* payload follows, suitably aligned */
};

/* Chunks are mapped prefaulted: a link's graph is written right after
 * allocation, and one populating call costs far less than a fault per
 * page, noticeably so under virtualization. A small first chunk keeps
 * small links small; every later one is 2 MiB, which rv_sys_alloc_pages
 * backs with one huge page. They do not grow: a chunk is only made when
 * the last is full, so fresh memory (which the kernel must zero) runs at
 * most 2 MiB ahead of use. */
enum {
    ARENA_FIRST_CHUNK = 256 * 1024,
    ARENA_CHUNK = 2 * 1024 * 1024,
};

void rv_arena_init(rv_arena *a) { memset(a, 0, sizeof *a); }

void rv_arena_free(rv_arena *a) {
    rv_arena_chunk *c = a->head;
    while (c) {
        rv_arena_chunk *next = c->next;
        rv_sys_free_pages(c, c->size);
        c = next;
    }
    rv_arena_init(a);
}

static void *arena_grow(rv_arena *a, size_t size) {
    size_t chunk = a->total ? ARENA_CHUNK : ARENA_FIRST_CHUNK;
    size_t payload = size > chunk / 4 ? size : chunk - sizeof(rv_arena_chunk);
    rv_arena_chunk *c = rv_sys_alloc_pages(sizeof *c + payload);
    if (!c)
        return NULL;
    c->size = sizeof *c + payload;
    a->total += c->size;
    c->next = a->head;
    a->head = c;
    char *base = (char *)(c + 1);
    if (payload == size)  /* a large request gets a chunk of its own */
        return base;
    a->pos = base + size;
    a->end = base + payload;
    return base;
}

void *rv_arena_alloc(rv_arena *a, size_t size) {
    size = (size + 15) & ~(size_t)15;
    if (size == 0)
        size = 16;
    if ((size_t)(a->end - a->pos) >= size) {
        void *p = a->pos;
        a->pos += size;
        return p;
    }
    return arena_grow(a, size);
}

void *rv_arena_calloc(rv_arena *a, size_t count, size_t size) {
    if (size && count > SIZE_MAX / size)
        return NULL;
    void *p = rv_arena_alloc(a, count * size);
    if (p)
        memset(p, 0, count * size);
    return p;
}

char *rv_arena_strdup(rv_arena *a, const char *s) {
    size_t n = strlen(s) + 1;
    char *p = rv_arena_alloc(a, n);
    if (p)
        memcpy(p, s, n);
    return p;
}

char *rv_arena_printf(rv_arena *a, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return NULL;
    char *p = rv_arena_alloc(a, (size_t)n + 1);
    if (!p)
        return NULL;
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}
