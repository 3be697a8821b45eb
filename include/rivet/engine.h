/*
 * rivet/engine.h — the engine: seed 001's execution engine (EngineBuilder,
 * memory manager, ObjectCache, deferred code generation, address
 * remapping) in C, on top of the linker of rivet/rivet.h.
 *
 * Typical use:
 *
 *     rivet_engine_builder *b;
 *     rivet_engine *eng;
 *     rivet_error *e = rivet_engine_builder_create(&b);
 *     if (!e) e = rivet_engine_builder_add_source(b, RIVET_MODULE_C, "f.c",
 *                                "int f(int x) { return x * 2; }", NULL);
 *     if (!e) e = rivet_engine_create(b, &eng);   // nothing compiled yet
 *     rivet_engine_builder_destroy(b);
 *     uint64_t addr;
 *     if (!e) e = rivet_engine_lookup(eng, "f", &addr); // compiles, links
 *     int (*f)(int) = (int (*)(int))(uintptr_t)addr;    // in-process
 *     ...
 *     rivet_engine_destroy(eng);
 *
 * The life of a module (the order of seed 001):
 *
 *   1. add      a module is recorded: C/C++ source (file or string),
 *               assembly (.s, .S), LLVM IR (.ll, .bc), an object in memory
 *               or on disk, an archive. Nothing is compiled.
 *   2. compile  at rivet_engine_load/finalize or the first lookup. The
 *               object cache is asked first; on a miss the source is
 *               compiled with $CC / $CXX (default cc / c++; LLVM IR with
 *               clang-14) in a private temporary directory and the object
 *               is read into memory and given to the cache. Nothing but
 *               the cache is left on disk.
 *   3. load     the objects pending since the last finalization are read,
 *               resolved and laid out as one link: every section has its
 *               working memory and a target address, and no relocation is
 *               applied yet (rivet_engine_load).
 *   4. remap    the client may move any section to another target address
 *               (rivet_engine_map_section_address), typically because it
 *               will copy the bytes there itself.
 *   5. finalize relocations are resolved — names not defined by the
 *               modules through the symbol resolver, then earlier links,
 *               then the executor's process — and applied for the final
 *               addresses; then EH frames are registered, permissions
 *               applied and the instruction cache flushed, and finally the
 *               constructors run (rivet_engine_finalize).
 *   6. use      look up functions and variables, call entry points.
 *   7. remove   destructors run, EH frames are deregistered, the memory
 *               returns to the executor's slab (rivet_engine_remove_module).
 *
 * When a section has been remapped (step 4, or by a caller's memory
 * manager), the caller owns the memory at the new address: rivet applies
 * the relocations for that address and gives the working memory its final
 * permissions, but registers no EH frames and runs no constructors for that
 * link — code rivet did not place is the caller's to set up (as with
 * MCJIT's runStaticConstructorsDestructors).
 *
 * Errors: every fallible call returns rivet_error* (NULL on success); the
 * compiler's diagnostics are in the message of a failed compile. The
 * library never prints; a log callback receives compile commands, cache
 * hits and misses and compiler warnings.
 *
 * Thread-safety: an engine and a builder belong to one thread at a time.
 * The disk cache is safe to share between threads and processes.
 */
#ifndef RIVET_ENGINE_H
#define RIVET_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rivet/error.h"
#include "rivet/rivet.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rivet_engine_builder rivet_engine_builder;
typedef struct rivet_engine rivet_engine;
typedef struct rivet_module rivet_module;
typedef struct rivet_disk_cache rivet_disk_cache;

typedef enum rivet_module_kind {
    RIVET_MODULE_AUTO = 0, /* from the file name: see rivet_module_kind_of */
    RIVET_MODULE_C,        /* .c, .i */
    RIVET_MODULE_CXX,      /* .cc .cpp .cxx .C .c++ */
    RIVET_MODULE_ASM,      /* .s */
    RIVET_MODULE_ASM_CPP,  /* .S: assembly through the preprocessor */
    RIVET_MODULE_LLVM_IR,  /* .ll .bc: compiled with clang-14 */
    RIVET_MODULE_OBJECT,   /* .o */
    RIVET_MODULE_ARCHIVE,  /* .a */
} rivet_module_kind;

/* The kind a file name implies; RIVET_MODULE_AUTO when unknown. */
rivet_module_kind rivet_module_kind_of(const char *path);

/* ------------------------------------------------------------ object cache */

/* A store of bytes by key (seed 001's ObjectCache). Keys are 64 hex
 * digits. get returns true with a malloc'd copy (*data, freed by the
 * engine with free()) or false on a miss; put must copy what it keeps.
 * The engine stores its own framed entries (the object plus the headers it
 * was compiled from, with their hashes) and checks them on every get, so a
 * cache only stores and returns bytes. */
typedef struct rivet_object_cache {
    void *ctx;
    bool (*get)(void *ctx, const char *key, void **data, size_t *size);
    void (*put)(void *ctx, const char *key, const void *data, size_t size);
} rivet_object_cache;

typedef enum rivet_cache_mode {
    RIVET_CACHE_DISK = 0, /* default: rivet_disk_cache_open(NULL, ...) */
    RIVET_CACHE_NONE,     /* compile every time */
    RIVET_CACHE_CUSTOM,   /* the caller's rivet_object_cache */
} rivet_cache_mode;

/* ---------------------------------------------------------- memory manager */

/* A section the engine has loaded. `working` is the memory holding its
 * bytes in this process (fixed up by rivet_engine_finalize); `addr` is the
 * target address the relocations are computed for. */
typedef struct rivet_engine_section {
    const char *object;  /* input object (module) name */
    const char *name;    /* section name */
    uint64_t addr;       /* target address */
    uint64_t size;
    uint64_t align;
    uint8_t prot;        /* RIVET_PROT_* of rivet/rt.h */
    void *working;
} rivet_engine_section;

/* A caller's memory manager (seed 001's RTDyldMemoryManager). With one set,
 * the engine asks allocate_section for every section at load, remaps the
 * section to *addr, applies the relocations, copies the bytes to *host
 * (memory in this process that becomes *addr where the code runs; usually
 * the same) and calls finalize_memory, which applies permissions and
 * flushes the instruction cache. No EH frames are registered and no
 * constructors run (see the top of this file). The default is the
 * executor's memory map. */
typedef struct rivet_memory_manager {
    void *ctx;
    rivet_error *(*allocate_section)(void *ctx, const rivet_engine_section *s,
                                     uint64_t *addr, void **host);
    rivet_error *(*finalize_memory)(void *ctx);
} rivet_memory_manager;

/* Messages for `rivet run -v`: "compile: cc -c ...", "cache hit: f.c",
 * "cache miss: f.c", compiler warnings. */
typedef void (*rivet_engine_log_fn)(void *ctx, const char *message);

/* ----------------------------------------------------------------- builder */

rivet_error *rivet_engine_builder_create(rivet_engine_builder **out);
/* Frees the builder and any module not yet moved to an engine. */
void rivet_engine_builder_destroy(rivet_engine_builder *b);

/* The executor the code runs in (borrowed; must outlive the engine).
 * Default: an in-process executor owned by the engine. */
void rivet_engine_builder_set_executor(rivet_engine_builder *b,
                                       rivet_executor *ex);
/* NULL restores the default (the executor's memory map). Copied. */
void rivet_engine_builder_set_memory_manager(rivet_engine_builder *b,
                                             const rivet_memory_manager *mm);
/* Cache mode; `custom` (copied) is used with RIVET_CACHE_CUSTOM. */
void rivet_engine_builder_set_object_cache(rivet_engine_builder *b,
                                           rivet_cache_mode mode,
                                           const rivet_object_cache *custom);
/* Directory of the disk cache (default $XDG_CACHE_HOME/rivet or
 * ~/.cache/rivet). Copied. */
rivet_error *rivet_engine_builder_set_cache_dir(rivet_engine_builder *b,
                                                const char *dir);
/* Names the JIT'd code needs from the caller: asked before the executor's
 * process; return 0 for "not mine". Called during finalization. */
void rivet_engine_builder_set_symbol_resolver(rivet_engine_builder *b,
                                              rivet_symbol_resolver_fn fn,
                                              void *ctx);
void rivet_engine_builder_set_log(rivet_engine_builder *b,
                                  rivet_engine_log_fn fn, void *ctx);
/* Compile flags for every source module (copied). Each goes where it
 * belongs: -std=c* to C, -std=c++* to C++, -I/-D/-U/-include (joined or
 * followed by their value) to C, C++ and .S; everything else (-O, -g, -f,
 * -m, -W) to every compile. Unless they choose a code model (-fpic, -fPIE,
 * -fno-pic, ...), C, C++ and LLVM IR are compiled with -fPIC
 * -fno-semantic-interposition, so data of the caller (see the symbol
 * resolver) is reached through the GOT wherever it lies. */
rivet_error *rivet_engine_builder_add_flags(rivet_engine_builder *b,
                                            const char *const *flags,
                                            size_t count);

/* Modules. `out` (may be NULL) receives a handle that stays valid until the
 * module is removed or the engine destroyed. Files are read when the
 * module is compiled or loaded, not now. */
rivet_error *rivet_engine_builder_add_file(rivet_engine_builder *b,
                                           const char *path,
                                           rivet_module **out);
/* Source text (copied). `name` names it in messages and selects nothing:
 * `kind` must be C, CXX, ASM, ASM_CPP or LLVM_IR (textual .ll). */
rivet_error *rivet_engine_builder_add_source(rivet_engine_builder *b,
                                             rivet_module_kind kind,
                                             const char *name,
                                             const char *text,
                                             rivet_module **out);
/* A relocatable object or archive in memory (copied). */
rivet_error *rivet_engine_builder_add_object(rivet_engine_builder *b,
                                             const char *name,
                                             const void *data, size_t size,
                                             rivet_module **out);

/* Create the engine: the builder's settings are copied and its modules
 * move to the engine. The builder may be reused or destroyed. */
rivet_error *rivet_engine_create(rivet_engine_builder *b, rivet_engine **out);

/* ------------------------------------------------------------------ engine */

/* Remove every module (destructors run) and free; the executor too when the
 * engine owns it. */
void rivet_engine_destroy(rivet_engine *e);

/* Add modules after creation; they join the next finalization. */
rivet_error *rivet_engine_add_file(rivet_engine *e, const char *path,
                                   rivet_module **out);
rivet_error *rivet_engine_add_source(rivet_engine *e, rivet_module_kind kind,
                                     const char *name, const char *text,
                                     rivet_module **out);
rivet_error *rivet_engine_add_object(rivet_engine *e, const char *name,
                                     const void *data, size_t size,
                                     rivet_module **out);
/* A shared library (path or soname) opened in the executor; later links
 * resolve names against it. */
rivet_error *rivet_engine_add_library(rivet_engine *e, const char *path);

/* Steps 2–3: compile what is pending (cache first) and load it without
 * applying relocations. Nothing to do: success. */
rivet_error *rivet_engine_load(rivet_engine *e);
/* Sections of the loaded, not yet finalized link (0 when none). */
size_t rivet_engine_section_count(rivet_engine *e);
rivet_error *rivet_engine_section_at(rivet_engine *e, size_t i,
                                     rivet_engine_section *out);
/* Step 4: section i will run at `addr`. Only between load and finalize. */
rivet_error *rivet_engine_map_section_address(rivet_engine *e, size_t i,
                                              uint64_t addr);
/* Step 5 (loading first if needed). On failure the pending modules are
 * dropped from the link (their handles stay valid; removing them frees
 * them). */
rivet_error *rivet_engine_finalize(rivet_engine *e);

/* Executor address of a function or variable, finalizing pending modules
 * first. RIVET_ERR_NOT_FOUND when no module nor the process defines it. */
rivet_error *rivet_engine_lookup(rivet_engine *e, const char *name,
                                 uint64_t *addr);
/* Call `int name(void)` in the executor. */
rivet_error *rivet_engine_call(rivet_engine *e, const char *name, int *result);
/* Call `entry` (default "main") as main(argc, argv, envp). */
rivet_error *rivet_engine_run_main(rivet_engine *e, const char *entry,
                                   int argc, char *const *argv,
                                   char *const *envp, int *status);

/* Step 7. A module is linked together with the modules finalized in the
 * same call; removing it removes all of them (their handles become
 * invalid). A module not yet finalized is simply dropped. */
rivet_error *rivet_engine_remove_module(rivet_engine *e, rivet_module *m);

/* Compile a source file now, through the cache, without linking it: for
 * tools that hand objects to the jit themselves (rivet run keeps the
 * command-line order of objects, archives and libraries this way). The
 * object stays owned by the engine until it is destroyed. */
rivet_error *rivet_engine_compile_file(rivet_engine *e, const char *path,
                                       const void **object, size_t *size);

/* The link a module was finalized in (NULL before), for the introspection
 * calls of rivet/rivet.h; and the engine's jit. */
rivet_link *rivet_module_link(const rivet_module *m);
const char *rivet_module_name(const rivet_module *m);
rivet_jit *rivet_engine_jit(rivet_engine *e);

/* -------------------------------------------------------------- disk cache */

/* The default object cache: files under `dir` (NULL: $XDG_CACHE_HOME/rivet,
 * else ~/.cache/rivet), created on first put. Entries are framed (magic,
 * length, checksum): a corrupt or truncated one is a miss and is deleted.
 * Writes go to a temporary file renamed into place, so concurrent
 * processes never see a partial entry. Bounded by RIVET_CACHE_MAX bytes
 * (default 256 MiB; suffixes K, M, G): a put evicts the least recently
 * used entries (a hit refreshes an entry's time). */
rivet_error *rivet_disk_cache_open(const char *dir, rivet_disk_cache **out);
void rivet_disk_cache_close(rivet_disk_cache *c);
void rivet_disk_cache_set_max_size(rivet_disk_cache *c, uint64_t bytes);
/* The cache as a rivet_object_cache (valid while `c` is open). */
rivet_object_cache rivet_disk_cache_interface(rivet_disk_cache *c);

typedef struct rivet_cache_stats {
    uint64_t entries, bytes, max_bytes;
} rivet_cache_stats;
const char *rivet_disk_cache_dir(const rivet_disk_cache *c);
rivet_error *rivet_disk_cache_stats(rivet_disk_cache *c, rivet_cache_stats *out);
/* Delete every entry (and the compiler identity notes). */
rivet_error *rivet_disk_cache_clear(rivet_disk_cache *c);

#ifdef __cplusplus
}
#endif
#endif
