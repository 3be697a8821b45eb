/*
 * engine/engine.c — the builder, modules, deferred compilation through the
 * object cache, and load / remap / finalize on the linker's two-phase link
 * (rivet_jit_link_prepare / rivet_jit_link_complete). The order of the
 * steps is documented in rivet/engine.h.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "controller/executor.h"
#include "engine/engine_internal.h"

typedef enum module_state {
    MODULE_PENDING,  /* added, not compiled */
    MODULE_LOADED,   /* in the prepared link */
    MODULE_LINKED,   /* in a finalized link */
    MODULE_FAILED,   /* its compile or link failed; only removal is left */
    MODULE_DETACHED, /* compiled for the caller (rivet_engine_compile_file) */
} module_state;

struct rivet_module {
    rivet_module_kind kind;
    module_state state;
    char *name;
    char *path;               /* file modules */
    uint8_t *bytes;           /* source text or object (owned), else NULL */
    size_t size;
    uint8_t *object;          /* compiled object, kept as long as its link */
    size_t object_size;
    rivet_link *link;
    rivet_module *next;
};

typedef struct engine_config {
    rivet_executor *executor;
    bool has_mm;
    rivet_memory_manager mm;
    rivet_cache_mode cache_mode;
    rivet_object_cache custom;
    char *cache_dir;
    rivet_symbol_resolver_fn resolver;
    void *resolver_ctx;
    rivet_engine_log_fn log;
    void *log_ctx;
    char **flags;
    size_t flag_count;
} engine_config;

struct rivet_engine_builder {
    engine_config cfg;
    rivet_module *modules;
};

struct rivet_engine {
    engine_config cfg;
    rivet_executor *executor;
    bool owns_executor;
    rivet_jit *jit;
    rivet_disk_cache *disk;
    rivet_object_cache cache;
    bool has_cache;
    rivet_module *modules;    /* in order of addition */
    rivet_link *loaded;       /* prepared, not yet finalized */
    void **hosts;             /* memory manager: where section i is copied */
};

static rivet_error *nomem(void) {
    return rivet_error_create(RIVET_ERR_NOMEM, "out of memory");
}

rivet_module_kind rivet_module_kind_of(const char *path) {
    static const struct { const char *ext; rivet_module_kind kind; } table[] = {
        {".c", RIVET_MODULE_C},       {".i", RIVET_MODULE_C},
        {".cc", RIVET_MODULE_CXX},    {".cpp", RIVET_MODULE_CXX},
        {".cxx", RIVET_MODULE_CXX},   {".C", RIVET_MODULE_CXX},
        {".c++", RIVET_MODULE_CXX},   {".s", RIVET_MODULE_ASM},
        {".S", RIVET_MODULE_ASM_CPP}, {".ll", RIVET_MODULE_LLVM_IR},
        {".bc", RIVET_MODULE_LLVM_IR}, {".o", RIVET_MODULE_OBJECT},
        {".a", RIVET_MODULE_ARCHIVE},
    };
    const char *dot = strrchr(path, '.');
    if (!dot || strchr(dot, '/'))
        return RIVET_MODULE_AUTO;
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (strcmp(dot, table[i].ext) == 0)
            return table[i].kind;
    return RIVET_MODULE_AUTO;
}

static bool is_source(rivet_module_kind k) {
    return k != RIVET_MODULE_OBJECT && k != RIVET_MODULE_ARCHIVE &&
           k != RIVET_MODULE_AUTO;
}

/* ---------------------------------------------------------------- modules */

static void free_module(rivet_module *m) {
    free(m->name);
    free(m->path);
    free(m->bytes);
    free(m->object);
    free(m);
}

static void free_modules(rivet_module *m) {
    while (m) {
        rivet_module *next = m->next;
        free_module(m);
        m = next;
    }
}

static void append_module(rivet_module **list, rivet_module *m) {
    while (*list)
        list = &(*list)->next;
    *list = m;
}

static rivet_error *new_module(rivet_module_kind kind, const char *name,
                               const char *path, const void *bytes, size_t size,
                               rivet_module **out) {
    rivet_module *m = calloc(1, sizeof *m);
    if (!m)
        return nomem();
    m->kind = kind;
    m->name = strdup(name ? name : "<module>");
    m->path = path ? strdup(path) : NULL;
    if (bytes) {
        m->bytes = malloc(size + 1);
        if (m->bytes) {
            memcpy(m->bytes, bytes, size);
            m->bytes[size] = 0;
        }
        m->size = size;
    }
    if (!m->name || (path && !m->path) || (bytes && !m->bytes)) {
        free_module(m);
        return nomem();
    }
    *out = m;
    return NULL;
}

static rivet_error *file_module(const char *path, rivet_module **out) {
    rivet_module_kind kind = rivet_module_kind_of(path);
    if (kind == RIVET_MODULE_AUTO)
        return rivet_error_create(RIVET_ERR_UNSUPPORTED,
            "%s: unknown kind of input (expected .c, .cc, .cpp, .s, .S, .ll, "
            ".bc, .o or .a)", path);
    return new_module(kind, path, path, NULL, 0, out);
}

static rivet_error *source_module(rivet_module_kind kind, const char *name,
                                  const char *text, rivet_module **out) {
    if (!is_source(kind))
        return rivet_error_create(RIVET_ERR_UNSUPPORTED,
            "%s: source text must be C, C++, assembly or LLVM IR", name ? name : "<source>");
    return new_module(kind, name ? name : "<source>", NULL, text, strlen(text), out);
}

static rivet_error *object_module(const char *name, const void *data,
                                  size_t size, rivet_module **out) {
    bool archive = size >= 8 && memcmp(data, "!<arch>\n", 8) == 0;
    return new_module(archive ? RIVET_MODULE_ARCHIVE : RIVET_MODULE_OBJECT,
                      name ? name : "<object>", NULL, data, size, out);
}

/* `made` is read after `e` was computed (argument order is unspecified). */
static rivet_error *added(rivet_module **list, rivet_error *e, rivet_module **made,
                          rivet_module **out) {
    if (e)
        return e;
    rivet_module *m = *made;
    append_module(list, m);
    if (out)
        *out = m;
    return NULL;
}

/* ---------------------------------------------------------------- builder */

rivet_error *rivet_engine_builder_create(rivet_engine_builder **out) {
    rivet_engine_builder *b = calloc(1, sizeof *b);
    if (!b)
        return nomem();
    *out = b;
    return NULL;
}

static void free_config(engine_config *c) {
    for (size_t i = 0; i < c->flag_count; i++)
        free(c->flags[i]);
    free(c->flags);
    free(c->cache_dir);
}

void rivet_engine_builder_destroy(rivet_engine_builder *b) {
    if (!b)
        return;
    free_config(&b->cfg);
    free_modules(b->modules);
    free(b);
}

void rivet_engine_builder_set_executor(rivet_engine_builder *b, rivet_executor *ex) {
    b->cfg.executor = ex;
}

void rivet_engine_builder_set_memory_manager(rivet_engine_builder *b,
                                             const rivet_memory_manager *mm) {
    b->cfg.has_mm = mm != NULL;
    if (mm)
        b->cfg.mm = *mm;
}

void rivet_engine_builder_set_object_cache(rivet_engine_builder *b,
                                           rivet_cache_mode mode,
                                           const rivet_object_cache *custom) {
    b->cfg.cache_mode = mode;
    if (custom)
        b->cfg.custom = *custom;
}

rivet_error *rivet_engine_builder_set_cache_dir(rivet_engine_builder *b,
                                                const char *dir) {
    char *copy = dir ? strdup(dir) : NULL;
    if (dir && !copy)
        return nomem();
    free(b->cfg.cache_dir);
    b->cfg.cache_dir = copy;
    return NULL;
}

void rivet_engine_builder_set_symbol_resolver(rivet_engine_builder *b,
                                              rivet_symbol_resolver_fn fn,
                                              void *ctx) {
    b->cfg.resolver = fn;
    b->cfg.resolver_ctx = ctx;
}

void rivet_engine_builder_set_log(rivet_engine_builder *b,
                                  rivet_engine_log_fn fn, void *ctx) {
    b->cfg.log = fn;
    b->cfg.log_ctx = ctx;
}

static rivet_error *push_flags(engine_config *c, const char *const *flags,
                               size_t count) {
    char **v = realloc(c->flags, (c->flag_count + count + 1) * sizeof *v);
    if (!v)
        return nomem();
    c->flags = v;
    for (size_t i = 0; i < count; i++) {
        if (!(v[c->flag_count] = strdup(flags[i])))
            return nomem();
        c->flag_count++;
    }
    return NULL;
}

rivet_error *rivet_engine_builder_add_flags(rivet_engine_builder *b,
                                            const char *const *flags,
                                            size_t count) {
    return push_flags(&b->cfg, flags, count);
}

rivet_error *rivet_engine_builder_add_file(rivet_engine_builder *b,
                                           const char *path,
                                           rivet_module **out) {
    rivet_module *m = NULL;
    return added(&b->modules, file_module(path, &m), &m, out);
}

rivet_error *rivet_engine_builder_add_source(rivet_engine_builder *b,
                                             rivet_module_kind kind,
                                             const char *name, const char *text,
                                             rivet_module **out) {
    rivet_module *m = NULL;
    return added(&b->modules, source_module(kind, name, text, &m), &m, out);
}

rivet_error *rivet_engine_builder_add_object(rivet_engine_builder *b,
                                             const char *name, const void *data,
                                             size_t size, rivet_module **out) {
    rivet_module *m = NULL;
    return added(&b->modules, object_module(name, data, size, &m), &m, out);
}

/* ----------------------------------------------------------------- engine */

static rivet_error *copy_config(engine_config *to, const engine_config *from) {
    *to = *from;
    to->flags = NULL;
    to->flag_count = 0;
    to->cache_dir = from->cache_dir ? strdup(from->cache_dir) : NULL;
    if (from->cache_dir && !to->cache_dir)
        return nomem();
    return push_flags(to, (const char *const *)from->flags, from->flag_count);
}

static void engine_log(rivet_engine *e, const char *what, const char *name);

static rivet_error *open_cache(rivet_engine *e) {
    switch (e->cfg.cache_mode) {
    case RIVET_CACHE_NONE:
        return NULL;
    case RIVET_CACHE_CUSTOM:
        e->cache = e->cfg.custom;
        e->has_cache = e->cache.get && e->cache.put;
        return NULL;
    case RIVET_CACHE_DISK:
        break;
    }
    rivet_error *err = rivet_disk_cache_open(e->cfg.cache_dir, &e->disk);
    if (err) { /* no HOME and no XDG_CACHE_HOME: work without a cache */
        engine_log(e, "no object cache", rivet_error_message(err));
        rivet_error_free(err);
        return NULL;
    }
    e->cache = rivet_disk_cache_interface(e->disk);
    e->has_cache = true;
    return NULL;
}

rivet_error *rivet_engine_create(rivet_engine_builder *b, rivet_engine **out) {
    rivet_engine *e = calloc(1, sizeof *e);
    if (!e)
        return nomem();
    rivet_error *err = copy_config(&e->cfg, &b->cfg);
    e->executor = b->cfg.executor;
    if (!err && !e->executor) {
        err = rivet_executor_create_in_process(&e->executor);
        e->owns_executor = !err;
    }
    if (!err)
        err = rivet_jit_create(e->executor, &e->jit);
    if (!err && e->cfg.resolver)
        rivet_jit_set_symbol_resolver(e->jit, e->cfg.resolver, e->cfg.resolver_ctx);
    if (!err)
        err = open_cache(e);
    if (err) {
        rivet_engine_destroy(e);
        return err;
    }
    e->modules = b->modules;
    b->modules = NULL;
    *out = e;
    return NULL;
}

void rivet_engine_destroy(rivet_engine *e) {
    if (!e)
        return;
    rivet_jit_destroy(e->jit); /* every link: destructors, memory */
    if (e->owns_executor)
        rivet_executor_destroy(e->executor);
    free_modules(e->modules);  /* after the links: names point into objects */
    rivet_disk_cache_close(e->disk);
    free_config(&e->cfg);
    free(e->hosts);
    free(e);
}

rivet_jit *rivet_engine_jit(rivet_engine *e) { return e->jit; }
rivet_link *rivet_module_link(const rivet_module *m) {
    return m->state == MODULE_LINKED ? m->link : NULL;
}
const char *rivet_module_name(const rivet_module *m) { return m->name; }

rivet_error *rivet_engine_add_file(rivet_engine *e, const char *path,
                                   rivet_module **out) {
    rivet_module *m = NULL;
    return added(&e->modules, file_module(path, &m), &m, out);
}

rivet_error *rivet_engine_add_source(rivet_engine *e, rivet_module_kind kind,
                                     const char *name, const char *text,
                                     rivet_module **out) {
    rivet_module *m = NULL;
    return added(&e->modules, source_module(kind, name, text, &m), &m, out);
}

rivet_error *rivet_engine_add_object(rivet_engine *e, const char *name,
                                     const void *data, size_t size,
                                     rivet_module **out) {
    rivet_module *m = NULL;
    return added(&e->modules, object_module(name, data, size, &m), &m, out);
}

rivet_error *rivet_engine_add_library(rivet_engine *e, const char *path) {
    return rivet_jit_add_library(e->jit, path);
}

/* ------------------------------------------------------------ compilation */

/* Which compiles a flag belongs to (rivet/engine.h, add_flags). */
enum { FOR_C = 1, FOR_CXX = 2, FOR_ASM_CPP = 4, FOR_OTHER = 8, FOR_ALL = 15 };

static bool is_preprocessor_flag(const char *f, bool *separate_value) {
    static const char *const names[] = {"-I", "-D", "-U", "-include",
                                        "-isystem", "-iquote", "-idirafter"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        size_t n = strlen(names[i]);
        if (strncmp(f, names[i], n) == 0) {
            *separate_value = f[n] == 0;
            return n == 2 || f[n] == 0; /* -Ifoo, -include x (not -includex) */
        }
    }
    return false;
}

static unsigned flag_targets(const char *f, bool *separate_value) {
    *separate_value = false;
    if (strncmp(f, "-std=", 5) == 0)
        return strstr(f, "++") ? FOR_CXX : FOR_C;
    if (is_preprocessor_flag(f, separate_value))
        return FOR_C | FOR_CXX | FOR_ASM_CPP;
    return FOR_ALL;
}

static unsigned kind_bit(rivet_module_kind k) {
    switch (k) {
    case RIVET_MODULE_C: return FOR_C;
    case RIVET_MODULE_CXX: return FOR_CXX;
    case RIVET_MODULE_ASM_CPP: return FOR_ASM_CPP;
    default: return FOR_OTHER;
    }
}

static bool chooses_code_model(const char *f) {
    static const char *const models[] = {"-fpic", "-fPIC", "-fpie", "-fPIE",
                                         "-fno-pic", "-fno-PIC", "-fno-pie",
                                         "-fno-PIE"};
    for (size_t i = 0; i < sizeof models / sizeof models[0]; i++)
        if (strcmp(f, models[i]) == 0)
            return true;
    return false;
}

/* The engine's flags that apply to `kind` (borrowed strings). Unless the
 * flags choose otherwise, code is position-independent with data of other
 * modules reached through the GOT, so the caller's symbols (resolver) are
 * reachable wherever they are; -fno-semantic-interposition keeps calls
 * inside a module direct and inlinable. */
static const char **flags_for(const engine_config *c, rivet_module_kind kind,
                              size_t *count) {
    const char **v = calloc(c->flag_count + 3, sizeof *v);
    size_t n = 0;
    if (!v)
        return NULL;
    bool model = false;
    for (size_t i = 0; i < c->flag_count; i++)
        model |= chooses_code_model(c->flags[i]);
    if (!model && kind != RIVET_MODULE_ASM && kind != RIVET_MODULE_ASM_CPP) {
        v[n++] = "-fPIC";
        v[n++] = "-fno-semantic-interposition";
    }
    for (size_t i = 0; i < c->flag_count; i++) {
        bool separate;
        bool keep = flag_targets(c->flags[i], &separate) & kind_bit(kind);
        if (keep)
            v[n++] = c->flags[i];
        if (separate && i + 1 < c->flag_count) {
            i++;
            if (keep)
                v[n++] = c->flags[i];
        }
    }
    *count = n;
    return v;
}

static void engine_log(rivet_engine *e, const char *what, const char *name) {
    if (!e->cfg.log)
        return;
    size_t n = strlen(what) + strlen(name) + 3;
    char *buf = malloc(n);
    if (!buf)
        return;
    snprintf(buf, n, "%s: %s", what, name);
    e->cfg.log(e->cfg.log_ctx, buf);
    free(buf);
}

static void hash_string(rv_sha256 *h, const char *s) {
    rv_sha256_update(h, s ? s : "", strlen(s ? s : "") + 1);
}

/* The cache key: compiler identity and command, flags, where the source is
 * (quoted includes and relative -I depend on it) and the source itself.
 * Headers are checked from the entry (cache.c). */
static rivet_error *cache_key(rivet_engine *e, const rivet_module *m,
                              const char *const *flags, size_t flag_count,
                              const uint8_t *text, size_t size, char key[65]) {
    char **words = rv_compiler_words(m->kind);
    if (!words)
        return nomem();
    const char *identity;
    rivet_error *err = rv_compiler_identity(words, e->disk ? rivet_disk_cache_dir(e->disk)
                                                            : NULL, &identity);
    if (err) {
        rv_free_words(words);
        return rivet_error_wrap(err, "%s", m->name);
    }
    rv_sha256 h;
    rv_sha256_init(&h);
    hash_string(&h, "rivet object v1");
    char kind[16], where[PATH_MAX], cwd[PATH_MAX];
    snprintf(kind, sizeof kind, "%d", (int)m->kind);
    hash_string(&h, kind);
    hash_string(&h, identity);
    for (size_t i = 0; words[i]; i++)
        hash_string(&h, words[i]);
    rv_free_words(words);
    for (size_t i = 0; i < flag_count; i++)
        hash_string(&h, flags[i]);
    hash_string(&h, "--");
    hash_string(&h, m->path && realpath(m->path, where) ? where : m->name);
    hash_string(&h, getcwd(cwd, sizeof cwd) ? cwd : "");
    rv_sha256_update(&h, text, size);
    uint8_t d[32];
    rv_sha256_final(&h, d);
    rv_hex(d, 32, key);
    return NULL;
}

static bool cache_lookup(rivet_engine *e, rivet_module *m, const char *key) {
    void *data;
    size_t size;
    if (!e->has_cache || !e->cache.get(e->cache.ctx, key, &data, &size))
        return false;
    const char *why;
    bool ok = rv_entry_decode(data, size, &m->object, &m->object_size, &why);
    free(data);
    if (!ok) {
        char buf[PATH_MAX + 64];
        snprintf(buf, sizeof buf, "%s (%s)", m->name, why);
        engine_log(e, "cache stale", buf);
    }
    return ok;
}

static void cache_store(rivet_engine *e, const char *key, const rv_compile_result *r) {
    uint8_t *data;
    size_t size;
    if (!e->has_cache || !rv_entry_encode(r, &data, &size))
        return;
    e->cache.put(e->cache.ctx, key, data, size);
    free(data);
}

static rivet_error *compile_text(rivet_engine *e, rivet_module *m,
                                 const uint8_t *text, size_t size) {
    size_t flag_count;
    const char **flags = flags_for(&e->cfg, m->kind, &flag_count);
    if (!flags)
        return nomem();
    char key[65];
    rivet_error *err = cache_key(e, m, flags, flag_count, text, size, key);
    if (!err && cache_lookup(e, m, key)) {
        engine_log(e, "cache hit", m->name);
    } else if (!err) {
        engine_log(e, e->has_cache ? "cache miss" : "compile", m->name);
        rv_compile_request req = {
            .kind = m->kind, .path = m->path, .name = m->name,
            .text = (const char *)text, .text_size = size, .flags = flags,
            .flag_count = flag_count, .log = e->cfg.log, .log_ctx = e->cfg.log_ctx};
        rv_compile_result r;
        err = rv_compile(&req, &r);
        if (!err) {
            cache_store(e, key, &r);
            m->object = r.object;
            m->object_size = r.object_size;
            r.object = NULL;
            rv_compile_result_free(&r);
        }
    }
    free(flags);
    return err;
}

static rivet_error *compile_module(rivet_engine *e, rivet_module *m) {
    if (!m->path)
        return compile_text(e, m, m->bytes, m->size);
    uint8_t *text;
    size_t size;
    rivet_error *err = rv_read_file(m->path, &text, &size);
    if (!err) {
        err = compile_text(e, m, text, size);
        free(text);
    }
    return err;
}

rivet_error *rivet_engine_compile_file(rivet_engine *e, const char *path,
                                       const void **object, size_t *size) {
    rivet_module *m = NULL;
    rivet_error *err = file_module(path, &m);
    if (!err && !is_source(m->kind))
        err = rivet_error_create(RIVET_ERR_UNSUPPORTED, "%s: not a source file", path);
    if (!err)
        err = compile_module(e, m);
    if (err) {
        if (m)
            free_module(m);
        return err;
    }
    m->state = MODULE_DETACHED;
    append_module(&e->modules, m);
    *object = m->object;
    *size = m->object_size;
    return NULL;
}

/* ----------------------------------------------------- load, remap, finalize */

/* Inputs handed to the jit but not linked are linked away and removed, so
 * a failure leaves nothing pending for the next link. */
static void discard_jit_inputs(rivet_jit *jit) {
    rivet_link *l;
    rivet_error *err = rivet_jit_link_prepare(jit, 0, &l);
    if (!err)
        err = rivet_jit_remove(jit, l);
    rivet_error_free(err);
}

static rivet_error *give_to_jit(rivet_engine *e, rivet_module *m) {
    if (m->object)
        return rivet_jit_add_buffer(e->jit, m->name, m->object, m->object_size);
    if (m->bytes)
        return rivet_jit_add_buffer(e->jit, m->name, m->bytes, m->size);
    return rivet_jit_add_file(e->jit, m->path);
}

static void set_state(rivet_engine *e, module_state from, module_state to,
                      rivet_link *link) {
    for (rivet_module *m = e->modules; m; m = m->next)
        if (m->state == from) {
            m->state = to;
            m->link = link;
        }
}

/* A memory manager places every section (rivet/engine.h). */
static rivet_error *place_with_memory_manager(rivet_engine *e) {
    size_t n = rivet_link_section_count(e->loaded);
    free(e->hosts);
    e->hosts = calloc(n + 1, sizeof *e->hosts);
    if (!e->hosts)
        return nomem();
    for (size_t i = 0; i < n; i++) {
        rivet_engine_section s;
        uint64_t addr = 0;
        rivet_error *err = rivet_engine_section_at(e, i, &s);
        if (!err)
            err = e->cfg.mm.allocate_section(e->cfg.mm.ctx, &s, &addr, &e->hosts[i]);
        if (!err)
            err = rivet_link_remap_section(e->loaded, i, addr);
        if (err)
            return rivet_error_wrap(err, "memory manager: section %s of %s", s.name,
                                    s.object);
    }
    return NULL;
}

static rivet_error *compile_pending(rivet_engine *e, size_t *count) {
    *count = 0;
    for (rivet_module *m = e->modules; m; m = m->next) {
        if (m->state != MODULE_PENDING)
            continue;
        (*count)++;
        if (is_source(m->kind) && !m->object) {
            rivet_error *err = compile_module(e, m);
            if (err)
                return err;
        }
    }
    return NULL;
}

rivet_error *rivet_engine_load(rivet_engine *e) {
    if (e->loaded)
        return NULL;
    size_t count;
    rivet_error *err = compile_pending(e, &count);
    if (!err && count == 0)
        return NULL;
    for (rivet_module *m = e->modules; !err && m; m = m->next)
        if (m->state == MODULE_PENDING)
            err = rivet_error_wrap(give_to_jit(e, m), "%s", m->name);
    if (err) {
        discard_jit_inputs(e->jit);
        set_state(e, MODULE_PENDING, MODULE_FAILED, NULL);
        return err;
    }
    err = rivet_jit_link_prepare(e->jit, e->cfg.has_mm ? RIVET_LINK_SEPARATE_WORKING_MEMORY : 0,
                                 &e->loaded);
    if (err) {
        set_state(e, MODULE_PENDING, MODULE_FAILED, NULL);
        return err;
    }
    set_state(e, MODULE_PENDING, MODULE_LOADED, e->loaded);
    if (e->cfg.has_mm && (err = place_with_memory_manager(e))) {
        rivet_error_free(rivet_jit_remove(e->jit, e->loaded));
        e->loaded = NULL;
        set_state(e, MODULE_LOADED, MODULE_FAILED, NULL);
    }
    return err;
}

size_t rivet_engine_section_count(rivet_engine *e) {
    return e->loaded ? rivet_link_section_count(e->loaded) : 0;
}

rivet_error *rivet_engine_section_at(rivet_engine *e, size_t i,
                                     rivet_engine_section *out) {
    if (i >= rivet_engine_section_count(e))
        return rivet_error_create(RIVET_ERR_NOT_FOUND,
                                  "no loaded section #%zu (load first)", i);
    rivet_section_info s;
    rivet_link_section_at(e->loaded, i, &s);
    out->object = s.object;
    out->name = s.name;
    out->addr = s.addr;
    out->size = s.size;
    out->align = s.align;
    out->prot = s.prot;
    out->working = s.working;
    return NULL;
}

rivet_error *rivet_engine_map_section_address(rivet_engine *e, size_t i,
                                              uint64_t addr) {
    if (!e->loaded)
        return rivet_error_create(RIVET_ERR_STATE,
                                  "no loaded link to remap (load first)");
    return rivet_link_remap_section(e->loaded, i, addr);
}

/* The caller's memory manager gets the fixed-up bytes. */
static rivet_error *copy_to_memory_manager(rivet_engine *e, rivet_link *l) {
    size_t n = rivet_link_section_count(l);
    for (size_t i = 0; i < n; i++) {
        rivet_section_info s;
        rivet_link_section_at(l, i, &s);
        if (s.size && e->hosts[i] && s.working)
            memcpy(e->hosts[i], s.working, s.size);
    }
    rivet_error *err = e->cfg.mm.finalize_memory ? e->cfg.mm.finalize_memory(e->cfg.mm.ctx)
                                                 : NULL;
    return rivet_error_wrap(err, "memory manager: finalizing memory");
}

rivet_error *rivet_engine_finalize(rivet_engine *e) {
    rivet_error *err = rivet_engine_load(e);
    if (err || !e->loaded)
        return err;
    rivet_link *l = e->loaded;
    e->loaded = NULL;
    err = rivet_jit_link_complete(e->jit, l); /* on failure, l is gone */
    if (!err && e->cfg.has_mm && (err = copy_to_memory_manager(e, l)))
        rivet_error_free(rivet_jit_remove(e->jit, l));
    set_state(e, MODULE_LOADED, err ? MODULE_FAILED : MODULE_LINKED, err ? NULL : l);
    return err;
}

/* ------------------------------------------------------------------- use */

rivet_error *rivet_engine_lookup(rivet_engine *e, const char *name, uint64_t *addr) {
    rivet_error *err = rivet_engine_finalize(e);
    return err ? err : rivet_jit_lookup(e->jit, name, addr);
}

rivet_error *rivet_engine_call(rivet_engine *e, const char *name, int *result) {
    uint64_t addr;
    rivet_error *err = rivet_engine_lookup(e, name, &addr);
    return err ? err : rv_executor_run_function(e->executor, addr, result);
}

rivet_error *rivet_engine_run_main(rivet_engine *e, const char *entry, int argc,
                                   char *const *argv, char *const *envp,
                                   int *status) {
    rivet_error *err = rivet_engine_finalize(e);
    return err ? err : rivet_jit_run_main(e->jit, entry, argc, argv, envp, status);
}

static void unlink_module(rivet_engine *e, rivet_module *m) {
    for (rivet_module **pp = &e->modules; *pp; pp = &(*pp)->next)
        if (*pp == m) {
            *pp = m->next;
            return;
        }
}

rivet_error *rivet_engine_remove_module(rivet_engine *e, rivet_module *m) {
    rivet_module *p = e->modules;
    while (p && p != m)
        p = p->next;
    if (!p)
        return rivet_error_create(RIVET_ERR_STATE, "module is not part of this engine");
    if (m->state != MODULE_LOADED && m->state != MODULE_LINKED) {
        unlink_module(e, m);
        free_module(m);
        return NULL;
    }
    rivet_link *l = m->link;
    if (l == e->loaded)
        e->loaded = NULL;
    rivet_error *err = rivet_jit_remove(e->jit, l);
    for (rivet_module *q = e->modules, *next; q; q = next) {
        next = q->next;
        if ((q->state == MODULE_LOADED || q->state == MODULE_LINKED) && q->link == l) {
            unlink_module(e, q);
            free_module(q);
        }
    }
    return err;
}
