/*
 * executor/services/tls.c — the thread-local storage service.
 *
 * Each link with thread-locals has a TLS template: an initial image (its
 * .tdata) followed by zeros (its .tbss), with an alignment. The service
 * gives every template a block of rivet's static TLS arena
 * (sys/posix/tls.c), which lies at the same offset from the thread pointer
 * in every thread, so all four access models work on it unchanged:
 *
 *   reserve     a block of the arena -> key, module id, tp offset (the
 *               controller needs the offset for its fixups);
 *   register    (finalize action) write the template into the arena's
 *               initial image, so threads created later start with it, and
 *               into the calling thread's copy;
 *   unregister  (dealloc action) zero the image again;
 *   release     give the block back.
 *
 * General and local dynamic code calls __tls_get_addr with a GOT pair
 * {module, offset}; the controller binds those calls to rv_tls_get_addr,
 * which answers rivet's module (base = the thread pointer) itself and hands
 * any other module to the C runtime. That is how thread-locals of the
 * executor's own libraries are reached too (host lookup, below): their
 * pairs carry the C runtime's module ids.
 *
 * The arena is process-wide (it is part of the executable's static TLS), so
 * its allocator is too; the service instance remembers what it reserved so
 * shutting a session down frees its blocks. Blocks are carved by a bump
 * pointer first and only reused after the arena is exhausted: threads that
 * existed before a link was registered (other than the registering thread)
 * cannot be reached, and a block that was never used still reads as zeros
 * there.
 */
#include <stdlib.h>
#include <string.h>
#include <threads.h>

#include "executor/services/services.h"
#include "sys/sys.h"

/* glibc's module ids count up from 1; this one never collides. */
#define RIVET_STATIC_TLS_MODULE UINT64_C(0x7269766574000001) /* "rivet"|1 */

typedef struct tls_block {
    uint64_t key;
    uint64_t offset, size;   /* in the arena */
    void *owner;             /* the service that reserved it */
    bool registered;
} tls_block;

static struct {
    once_flag once;
    mtx_t lock;
    rivet_error *init_error;
    int64_t tpoff;           /* of the arena */
    uint64_t size, align;
    uint64_t bump;
    tls_block *blocks;       /* live blocks, unordered */
    size_t count, capacity;
    uint64_t next_key;
} arena = {.once = ONCE_FLAG_INIT};

typedef struct tls_service {
    rivet_service base;
} tls_service;

static void arena_init(void)
{
    mtx_init(&arena.lock, mtx_plain);
    arena.next_key = 1;
    arena.init_error = rv_sys_tls_arena(&arena.tpoff, &arena.size, &arena.align);
}

static rivet_error *arena_ready(void)
{
    call_once(&arena.once, arena_init);
    return arena.init_error ? rivet_error_create(rivet_error_get_code(arena.init_error),
                                                 "%s", rivet_error_message(arena.init_error))
                            : NULL;
}

static uint64_t align_up(uint64_t v, uint64_t a) { return (v + a - 1) & ~(a - 1); }

/* First fit among the gaps between live blocks (lock held). */
static bool find_gap(uint64_t size, uint64_t align, uint64_t *offset)
{
    uint64_t best = UINT64_MAX;
    for (size_t i = 0; i <= arena.count; i++) {
        /* candidate: just after block i-1 (or at 0) */
        uint64_t at = i ? align_up(arena.blocks[i - 1].offset + arena.blocks[i - 1].size,
                                   align) : 0;
        if (at > arena.size || size > arena.size - at || at >= best)
            continue;
        bool clear = true;
        for (size_t k = 0; k < arena.count && clear; k++)
            clear = at + size <= arena.blocks[k].offset ||
                    at >= arena.blocks[k].offset + arena.blocks[k].size;
        if (clear)
            best = at;
    }
    *offset = best;
    return best != UINT64_MAX;
}

static rivet_error *place_block(uint64_t size, uint64_t align, uint64_t *offset)
{
    uint64_t at = align_up(arena.bump, align);
    if (at <= arena.size && size <= arena.size - at) {
        arena.bump = at + size;
        *offset = at;
        return NULL;
    }
    if (find_gap(size, align, offset))
        return NULL;
    uint64_t used = 0;
    for (size_t i = 0; i < arena.count; i++)
        used += arena.blocks[i].size;
    return rivet_error_create(RIVET_ERR_NOMEM,
        "tls: the static TLS arena is full: %llu bytes requested, %llu of "
        "%llu in use; rebuild rivet with a larger -DRIVET_TLS_ARENA_SIZE",
        (unsigned long long)size, (unsigned long long)used,
        (unsigned long long)arena.size);
}

rivet_error *rv_tls_reserve(rivet_service *svc, uint64_t size, uint64_t align,
                            rv_tls_reservation *out)
{
    rivet_error *e = arena_ready();
    if (e)
        return e;
    if (align == 0 || (align & (align - 1)))
        return rivet_error_create(RIVET_ERR_MALFORMED,
                                  "tls: alignment %llu is not a power of two",
                                  (unsigned long long)align);
    if (align > arena.align)
        return rivet_error_create(RIVET_ERR_UNSUPPORTED,
            "tls: thread-local alignment %llu exceeds the static TLS arena's %llu",
            (unsigned long long)align, (unsigned long long)arena.align);
    mtx_lock(&arena.lock);
    uint64_t offset = 0;
    e = place_block(size ? size : 1, align, &offset);
    if (!e && arena.count == arena.capacity) {
        size_t cap = arena.capacity ? arena.capacity * 2 : 16;
        tls_block *p = realloc(arena.blocks, cap * sizeof *p);
        if (!p)
            e = rivet_error_create(RIVET_ERR_NOMEM, "tls: out of memory");
        else {
            arena.blocks = p;
            arena.capacity = cap;
        }
    }
    if (!e) {
        tls_block *b = &arena.blocks[arena.count++];
        *b = (tls_block){.key = arena.next_key++, .offset = offset,
                         .size = size ? size : 1, .owner = svc};
        out->key = b->key;
        out->module = RIVET_STATIC_TLS_MODULE;
        out->tpoff = arena.tpoff + (int64_t)offset;
    }
    mtx_unlock(&arena.lock);
    return e;
}

/* Index of the block with `key` (lock held), or SIZE_MAX. */
static size_t block_index(uint64_t key)
{
    for (size_t i = 0; i < arena.count; i++)
        if (arena.blocks[i].key == key)
            return i;
    return SIZE_MAX;
}

static rivet_error *unknown_key(const char *what, uint64_t key)
{
    return rivet_error_create(RIVET_ERR_NOT_FOUND,
                              "tls: %s: no TLS block with key %llu", what,
                              (unsigned long long)key);
}

/* Zero the image of a block; lock held. */
static rivet_error *clear_image(tls_block *b)
{
    rivet_error *e = rv_sys_tls_set_initial(b->offset, NULL, b->size);
    b->registered = false;
    return e;
}

rivet_error *rv_tls_release(uint64_t key)
{
    rivet_error *e = arena_ready();
    if (e)
        return e;
    mtx_lock(&arena.lock);
    size_t i = block_index(key);
    if (i == SIZE_MAX)
        e = unknown_key("release", key);
    else {
        if (arena.blocks[i].registered)
            e = clear_image(&arena.blocks[i]);
        arena.blocks[i] = arena.blocks[--arena.count];
    }
    mtx_unlock(&arena.lock);
    return e;
}

rivet_error *rv_tls_register(uint64_t key, uint64_t image, uint64_t image_size)
{
    rivet_error *e = arena_ready();
    if (e)
        return e;
    mtx_lock(&arena.lock);
    size_t i = block_index(key);
    tls_block *b = i == SIZE_MAX ? NULL : &arena.blocks[i];
    if (!b)
        e = unknown_key("register", key);
    else if (image_size > b->size || (image_size && !image))
        e = rivet_error_create(RIVET_ERR_MALFORMED,
                               "tls: register: image of %llu bytes for a block "
                               "of %llu", (unsigned long long)image_size,
                               (unsigned long long)b->size);
    if (!e) {
        const void *src = (const void *)(uintptr_t)image;
        e = rv_sys_tls_set_initial(b->offset, src, image_size);
        if (!e)
            e = rv_sys_tls_set_initial(b->offset + image_size, NULL,
                                       b->size - image_size);
        if (!e) {
            /* this thread exists already: give it its copy now */
            unsigned char *mine = (unsigned char *)rv_sys_tls_arena_here() + b->offset;
            if (image_size)
                memcpy(mine, src, image_size);
            memset(mine + image_size, 0, b->size - image_size);
            b->registered = true;
        } else {
            rivet_error_free(clear_image(b));
        }
    }
    mtx_unlock(&arena.lock);
    return e;
}

rivet_error *rv_tls_unregister(uint64_t key)
{
    rivet_error *e = arena_ready();
    if (e)
        return e;
    mtx_lock(&arena.lock);
    size_t i = block_index(key);
    e = i == SIZE_MAX ? unknown_key("unregister", key) : clear_image(&arena.blocks[i]);
    mtx_unlock(&arena.lock);
    return e;
}

/* Called by JIT'd code in place of __tls_get_addr: ti is {module, offset}.
 * Code of old compilers may call it with a misaligned stack (GCC PR 58066),
 * hence the realignment. */
__attribute__((force_align_arg_pointer))
void *rv_tls_get_addr(const uint64_t *ti)
{
    if (ti[0] == RIVET_STATIC_TLS_MODULE)
        return (char *)rv_sys_thread_pointer() + (int64_t)ti[1];
    return rv_sys_tls_get_addr_host((void *)ti);
}

uint64_t rv_tls_static_module(void)
{
    return RIVET_STATIC_TLS_MODULE;
}

uint64_t rv_tls_desc_function(void)
{
    return rv_sys_tls_desc_static_function();
}

/* Host thread-locals need no block of the arena: JIT'd code reaches them in
 * their own module (general dynamic, through rv_tls_get_addr forwarding to
 * the C runtime) or at their own static offset (initial exec). */
rivet_error *rv_tls_host_lookup(const char *const *names, size_t count,
                                rv_sys_host_tls *out)
{
    rivet_error *e = NULL;
    for (size_t i = 0; i < count && !e; i++)
        e = rv_sys_tls_host_symbol(names[i], &out[i]);
    return e;
}

/* ------------------------------------------------------------------ service */

static void tls_on_shutdown(rivet_service *svc, rivet_session *s)
{
    (void)s;
    rivet_error *e = arena_ready();
    if (e) {
        rivet_error_free(e);
        return;
    }
    mtx_lock(&arena.lock);
    for (size_t i = arena.count; i-- > 0;) {
        if (arena.blocks[i].owner != svc)
            continue;
        if (arena.blocks[i].registered)
            rivet_error_free(clear_image(&arena.blocks[i]));
        arena.blocks[i] = arena.blocks[--arena.count];
    }
    mtx_unlock(&arena.lock);
}

static void tls_destroy(rivet_service *svc)
{
    free(svc);
}

static const rivet_service_ops tls_ops = {
    .name = "tls",
    .on_detach = NULL,
    .on_shutdown = tls_on_shutdown,
    .destroy = tls_destroy,
};

rivet_error *rv_tls_service_create(rivet_service **out)
{
    tls_service *ts = calloc(1, sizeof *ts);
    if (!ts)
        return rivet_error_create(RIVET_ERR_NOMEM, "tls: out of memory");
    ts->base.ops = &tls_ops;
    *out = &ts->base;
    return NULL;
}
