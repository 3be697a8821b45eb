/*
 * object/archive.h — static archives (`ar` format): GNU and BSD variants,
 * thin archives, and the archive symbol index.
 *
 * Only the index is read up front; a member's bytes are located when one of
 * the symbols it defines is needed.
 */
#ifndef RIVET_OBJECT_ARCHIVE_H
#define RIVET_OBJECT_ARCHIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rivet/error.h"
#include "support/arena.h"
#include "support/namemap.h"

typedef struct rv_archive_member {
    uint64_t header_offset; /* identity of the member */
    const char *name;       /* "lib.a(member.o)" */
    const uint8_t *data;
    size_t size;
    void *mapping;          /* thin archives: the member file's mapping */
    size_t mapping_size;
    bool loaded;
} rv_archive_member;

typedef struct rv_archive {
    const char *path;
    const uint8_t *data;
    size_t size;
    bool thin;
    const char *long_names; /* GNU "//" table */
    size_t long_names_size;
    rv_namemap index;       /* symbol -> rv_archive_member* */
    rv_archive_member **members; /* in archive order (filled lazily) */
    size_t member_count;
} rv_archive;

bool rv_is_archive(const uint8_t *data, size_t size);

/* Parse the member headers and the symbol index. Strings and members are
 * allocated from `arena`; `a` must be freed with rv_archive_free. */
rivet_error *rv_archive_open(rv_archive *a, rv_arena *arena, const char *path,
                             const uint8_t *data, size_t size);
void rv_archive_free(rv_archive *a);

/* The member defining `name` according to the index, or NULL. */
rv_archive_member *rv_archive_find(rv_archive *a, const char *name, uint32_t hash);

/* Make the member's bytes available (maps the file for thin archives). */
rivet_error *rv_archive_member_load(rv_archive *a, rv_archive_member *m);

#endif
