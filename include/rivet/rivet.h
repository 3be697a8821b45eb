/*
 * rivet/rivet.h — librivet, the controller: link ELF relocatable objects
 * into an executor's memory and run them.
 *
 * Typical use:
 *
 *     rivet_jit *jit;
 *     rivet_error *e = rivet_jit_create(NULL, &jit);  // in-process executor
 *     if (!e) e = rivet_jit_add_object_file(jit, "prog.o");
 *     if (!e) e = rivet_jit_link(jit, NULL);
 *     int status;
 *     if (!e) e = rivet_jit_run_main(jit, "main", argc, argv, envp, &status);
 *     if (e) { fprintf(stderr, "%s\n", rivet_error_message(e)); ... }
 *     rivet_jit_destroy(jit);
 *
 * A jit holds objects added since the last link; rivet_jit_link() turns them
 * into one *link*: one __dso_handle, at most one segment per permission,
 * one initialize request to the executor. Symbols exported by earlier links
 * are visible to later ones; names not defined by any link are looked up in
 * the executor's process (dlsym). A failed link leaves nothing behind: no
 * memory stays initialized, no symbol is published, and the objects added
 * for it are discarded.
 *
 * Errors: every fallible call returns rivet_error* (NULL on success); see
 * rivet/error.h. The library never prints, exits or aborts.
 *
 * Thread-safety: a rivet_jit may be used from several threads; calls are
 * serialized by an internal lock. rivet_jit_run_main blocks in JIT'd code
 * without holding it.
 */
#ifndef RIVET_RIVET_H
#define RIVET_RIVET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rivet/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define RIVET_VERSION "0.1.0"

typedef struct rivet_session rivet_session; /* rivet/rt.h */
typedef struct rivet_executor rivet_executor;
typedef struct rivet_jit rivet_jit;
typedef struct rivet_link rivet_link;

/* ---------------------------------------------------------------- executors */

/* An executor in this process: creates a librivet-rt session with the
 * standard services, owned by the executor. */
rivet_error *rivet_executor_create_in_process(rivet_executor **out);
/* An in-process executor over a session the caller owns (and must destroy
 * after the executor). */
rivet_error *rivet_executor_create_for_session(rivet_session *s,
                                               rivet_executor **out);
void rivet_executor_destroy(rivet_executor *ex);

/* ---------------------------------------------------------------------- jit */

/* Create a jit over `ex` (borrowed; must outlive the jit). NULL: create an
 * in-process executor owned by the jit. */
rivet_error *rivet_jit_create(rivet_executor *ex, rivet_jit **out);
/* Remove every link (destructors run, memory returned) and free. */
void rivet_jit_destroy(rivet_jit *jit);

/* Add a relocatable object or a static archive from a file (mapped, not
 * copied). Archive members are read at link time, only those that define a
 * name still undefined when the archive is reached (as ld does); with
 * whole-archive on, every member. */
rivet_error *rivet_jit_add_file(rivet_jit *jit, const char *path);
/* Whether links made after the call run their constructors (.preinit_array,
 * .init_array, .ctors) at finalization and register their destructors with
 * __cxa_atexit (default: yes). Off: the link's code never runs unless the
 * caller calls into it — what `rivet run --noexec` uses. */
void rivet_jit_set_run_initializers(rivet_jit *jit, bool on);
/* --whole-archive / --no-whole-archive for archives added after the call. */
void rivet_jit_set_whole_archive(rivet_jit *jit, bool on);
/* Open a shared library in the executor (dlopen, RTLD_GLOBAL) so later links
 * resolve names against it. */
rivet_error *rivet_jit_add_library(rivet_jit *jit, const char *path);
/* Add from memory. `name` is used in messages. The bytes are borrowed and
 * must stay valid until the next rivet_jit_link returns. */
rivet_error *rivet_jit_add_buffer(rivet_jit *jit, const char *name,
                                  const void *data, size_t size);

/* Link everything added since the last link. On success *out (if not NULL)
 * names the new link; it belongs to the jit. */
rivet_error *rivet_jit_link(rivet_jit *jit, rivet_link **out);

/* Executor address of an exported symbol of any link, else of the
 * executor's process. RIVET_ERR_NOT_FOUND if neither has it. */
rivet_error *rivet_jit_lookup(rivet_jit *jit, const char *name, uint64_t *addr);

/* Call `entry` (default "main") as main(argc, argv, envp) in the executor;
 * *status receives its return value. */
rivet_error *rivet_jit_run_main(rivet_jit *jit, const char *entry, int argc,
                                char *const *argv, char *const *envp,
                                int *status);

/* Remove a link: its destructors and atexit handlers run (__cxa_finalize),
 * its EH frames are deregistered, its memory returns to the slab. */
rivet_error *rivet_jit_remove(rivet_jit *jit, rivet_link *link);

/* ------------------------------------------- two-phase link (seed 001) */

/* rivet_jit_link in two halves, for address remapping: prepare reads,
 * resolves and lays out what was added (working memory and target
 * addresses, no relocation applied); the client may then move sections;
 * complete applies the relocations for the final addresses and finalizes
 * (initialize request, then publication). A prepared link is in the jit
 * (rivet_jit_remove drops it); a failed complete removes it.
 *
 * RIVET_LINK_SEPARATE_WORKING_MEMORY: working memory is a buffer of its
 * own even in-process, so a client that copies the fixed-up bytes to
 * memory of its own reads them from rivet_section_info.working. */
enum { RIVET_LINK_SEPARATE_WORKING_MEMORY = 1 };
rivet_error *rivet_jit_link_prepare(rivet_jit *jit, unsigned flags,
                                    rivet_link **out);
/* Section i (the order of rivet_link_section_at) will run at `addr`
 * (aligned to the section's alignment): relocations in and to it are
 * computed for that address. The client owns the memory there and copies
 * the bytes after complete; a link with a remapped section runs no
 * allocation actions (no EH frame registration, no constructors). */
rivet_error *rivet_link_remap_section(rivet_link *link, size_t i, uint64_t addr);
rivet_error *rivet_jit_link_complete(rivet_jit *jit, rivet_link *link);

/* Names the linked code needs from the client: asked after the links and
 * before the executor's process; return 0 for "not mine". Called during
 * linking with the jit's lock held (do not call back into the jit). */
typedef uint64_t (*rivet_symbol_resolver_fn)(void *ctx, const char *name);
void rivet_jit_set_symbol_resolver(rivet_jit *jit, rivet_symbol_resolver_fn fn,
                                   void *ctx);

/* ---------------------------------------------------------- introspection */

typedef struct rivet_symbol_info {
    const char *name;
    uint64_t addr;
    uint64_t size;
    const char *section; /* output segment name: "rx", "r", "rw" */
    bool is_function;
} rivet_symbol_info;

typedef struct rivet_section_info {
    const char *object; /* input file (and member) */
    const char *name;   /* input section name */
    uint64_t addr;
    uint64_t size;
    uint8_t prot;       /* RIVET_PROT_* of rivet/rt.h */
    uint64_t align;
    void *working;      /* its bytes in this process (== addr in-process,
                           unless remapped or separate working memory) */
} rivet_section_info;

size_t rivet_link_symbol_count(const rivet_link *link);
void rivet_link_symbol_at(const rivet_link *link, size_t i,
                          rivet_symbol_info *out);
size_t rivet_link_section_count(const rivet_link *link);
void rivet_link_section_at(const rivet_link *link, size_t i,
                           rivet_section_info *out);

/* Counters and phase times of the most recent link. */
typedef struct rivet_link_stats {
    uint64_t objects, sections, symbols, relocations;
    uint64_t got_entries, stubs, bytes;
    double read_ms, resolve_ms, passes_ms, layout_ms, fixup_ms, finalize_ms;
} rivet_link_stats;
void rivet_link_get_stats(const rivet_link *link, rivet_link_stats *out);

#ifdef __cplusplus
}
#endif
#endif
