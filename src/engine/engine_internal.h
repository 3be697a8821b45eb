/*
 * engine/engine_internal.h — what the engine's files share:
 *
 *   sha256.c   hashing for cache keys, header checks and entry checksums
 *   compile.c  running the compiler in a private temporary directory
 *   cache.c    the disk cache (rivet_disk_cache)
 *   entry.c    the engine's cache entries: object + headers with hashes
 *   engine.c   builder, modules, deferred compilation, load/remap/finalize
 */
#ifndef RIVET_ENGINE_INTERNAL_H
#define RIVET_ENGINE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rivet/engine.h"

/* ------------------------------------------------------------------ sha256 */

typedef struct rv_sha256 {
    uint32_t h[8];
    uint64_t length;
    uint8_t buf[64];
    size_t fill;
} rv_sha256;

void rv_sha256_init(rv_sha256 *s);
void rv_sha256_update(rv_sha256 *s, const void *data, size_t size);
void rv_sha256_final(rv_sha256 *s, uint8_t digest[32]);
void rv_sha256_bytes(const void *data, size_t size, uint8_t digest[32]);
void rv_hex(const uint8_t *bytes, size_t n, char *out); /* 2n+1 chars */

/* ----------------------------------------------------------------- compile */

/* A header the object was compiled from, with the hash of its contents. */
typedef struct rv_dep {
    char *path;
    uint8_t hash[32];
} rv_dep;

typedef struct rv_compile_request {
    rivet_module_kind kind;   /* a source kind */
    const char *path;         /* the source file, or NULL for text */
    const char *name;         /* for messages and the temporary file name */
    const char *text;         /* the source bytes (also for files) */
    size_t text_size;
    const char *const *flags; /* already filtered for this kind */
    size_t flag_count;
    rivet_engine_log_fn log;
    void *log_ctx;
} rv_compile_request;

typedef struct rv_compile_result {
    uint8_t *object;
    size_t object_size;
    rv_dep *deps;
    size_t dep_count;
} rv_compile_result;

/* The compiler command for a kind: $CC, $CXX (defaults cc, c++) or
 * clang-14, split at spaces into argv words (NULL-terminated, malloc'd;
 * free with rv_free_words). */
char **rv_compiler_words(rivet_module_kind kind);
void rv_free_words(char **words);
/* `<compiler> --version` output, run once per process and compiler (and
 * remembered under memo_dir, keyed by the binary's identity, when not
 * NULL). The string is owned by the memo; valid until exit. */
rivet_error *rv_compiler_identity(char *const *words, const char *memo_dir,
                                  const char **out);
rivet_error *rv_compile(const rv_compile_request *req, rv_compile_result *out);
void rv_compile_result_free(rv_compile_result *r);

/* Read a whole file into malloc'd memory (NUL-terminated, not counted). */
rivet_error *rv_read_file(const char *path, uint8_t **data, size_t *size);
/* Write via a temporary file in the same directory and rename. */
rivet_error *rv_write_file_atomic(const char *path, const void *data,
                                  size_t size);
/* Hash a file's contents; false when it cannot be read. */
bool rv_hash_file(const char *path, uint8_t digest[32]);

/* ------------------------------------------------------------ cache entries */

/* Encode {deps, object} as the bytes stored under a key. */
bool rv_entry_encode(const rv_compile_result *r, uint8_t **data, size_t *size);
/* Decode and check: every header still hashes the same. On success the
 * object is copied to *object (malloc'd). False: not valid (stale or
 * malformed); *why says which. */
bool rv_entry_decode(const uint8_t *data, size_t size, uint8_t **object,
                     size_t *object_size, const char **why);

/* The default cache directory: $XDG_CACHE_HOME/rivet or ~/.cache/rivet
 * (malloc'd; NULL when neither HOME nor XDG_CACHE_HOME is set). */
char *rv_default_cache_dir(void);

#endif
