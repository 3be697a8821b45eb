/*
 * object/archive.c — the `ar` container (see archive.h).
 *
 * Layout: an 8-byte magic ("!<arch>\n", or "!<thin>\n" for thin archives
 * whose members stay in their own files), then members, each a 60-byte
 * header (name, date, uid, gid, mode, decimal size, "`\n") and its data
 * padded to an even offset. Special members: "/" (GNU symbol index, 32-bit
 * big-endian offsets), "/SYM64/" (64-bit), "//" (GNU long names, referenced
 * as "/<offset>"), "__.SYMDEF" (BSD index, little-endian ranlib pairs) and
 * BSD long names "#1/<len>" stored at the start of the data.
 */
#include "object/archive.h"

#include "sys/sys.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { AR_MAGIC_SIZE = 8, AR_HEADER_SIZE = 60 };

typedef struct ar_header {
    char name[16], date[12], uid[6], gid[6], mode[8], size[10], fmag[2];
} ar_header;

bool rv_is_archive(const uint8_t *d, size_t n) {
    return n >= AR_MAGIC_SIZE &&
           (memcmp(d, "!<arch>\n", 8) == 0 || memcmp(d, "!<thin>\n", 8) == 0);
}

static rivet_error *bad(const rv_archive *a, uint64_t off, const char *what) {
    return rivet_error_create(RIVET_ERR_MALFORMED, "%s: member header at "
                              "offset 0x%llx: %s", a->path,
                              (unsigned long long)off, what);
}

static bool parse_decimal(const char *p, size_t n, uint64_t *out) {
    uint64_t v = 0;
    size_t i = 0;
    for (; i < n && p[i] == ' '; i++)
        ;
    if (i == n || p[i] < '0' || p[i] > '9')
        return false;
    for (; i < n && p[i] >= '0' && p[i] <= '9'; i++)
        v = v * 10 + (uint64_t)(p[i] - '0');
    for (; i < n; i++)
        if (p[i] != ' ')
            return false;
    *out = v;
    return true;
}

/* One member header, decoded. */
typedef struct ar_entry {
    uint64_t offset;     /* of the header */
    char name[256];      /* raw GNU or BSD name, without trailing '/' */
    const uint8_t *data; /* after a BSD long name */
    uint64_t size;       /* of the data proper */
    uint64_t stored;     /* bytes the member occupies in the archive */
} ar_entry;

static rivet_error *resolve_long_name(rv_archive *a, ar_entry *e, const char *raw) {
    uint64_t off;
    if (!parse_decimal(raw + 1, 15, &off) || !a->long_names || off >= a->long_names_size)
        return bad(a, e->offset, "long name offset out of range");
    const char *s = a->long_names + off;
    size_t max = a->long_names_size - off, n = 0;
    while (n < max && s[n] != '\n' && !(s[n] == '/' && (n + 1 == max || s[n + 1] == '\n')))
        n++;
    if (n >= sizeof e->name)
        return bad(a, e->offset, "member name too long");
    memcpy(e->name, s, n);
    e->name[n] = 0;
    return NULL;
}

static rivet_error *decode_name(rv_archive *a, ar_entry *e, const ar_header *h,
                               uint64_t avail) {
    if (h->name[0] == '#' && h->name[1] == '1' && h->name[2] == '/') {
        uint64_t n; /* the name is stored in the archive, thin or not */
        if (!parse_decimal(h->name + 3, 13, &n) || n > e->size || n > avail ||
            n >= sizeof e->name)
            return bad(a, e->offset, "bad BSD long name");
        memcpy(e->name, e->data, n);
        e->name[n] = 0;
        e->name[strnlen(e->name, n)] = 0;
        e->data += n;
        e->size -= n;
        return NULL;
    }
    if (h->name[0] == '/' && h->name[1] >= '0' && h->name[1] <= '9')
        return resolve_long_name(a, e, h->name);
    size_t n = 16;
    while (n && h->name[n - 1] == ' ')
        n--;
    bool special = (n == 2 && h->name[0] == '/') || strncmp(h->name, "/SYM64/", 7) == 0;
    if (n > 1 && h->name[n - 1] == '/' && !special)
        n--; /* GNU terminates short names with '/' */
    memcpy(e->name, h->name, n);
    e->name[n] = 0;
    return NULL;
}

static bool is_special(const char *name) {
    return strcmp(name, "/") == 0 || strcmp(name, "//") == 0 ||
           strcmp(name, "/SYM64/") == 0 || strncmp(name, "__.SYMDEF", 9) == 0;
}

static rivet_error *read_entry(rv_archive *a, uint64_t off, ar_entry *e) {
    if (a->size - off < AR_HEADER_SIZE)
        return bad(a, off, "truncated member header");
    ar_header h;
    memcpy(&h, a->data + off, sizeof h);
    if (h.fmag[0] != '`' || h.fmag[1] != '\n')
        return bad(a, off, "bad header terminator");
    memset(e, 0, sizeof *e);
    e->offset = off;
    if (!parse_decimal(h.size, sizeof h.size, &e->size))
        return bad(a, off, "bad member size");
    uint64_t avail = a->size - off - AR_HEADER_SIZE;
    e->data = a->data + off + AR_HEADER_SIZE;
    bool special = h.name[0] == '/' && (h.name[1] == ' ' || h.name[1] == '/' ||
                                        h.name[1] == 'S');
    /* thin archives store only the index and long names inline */
    e->stored = (!a->thin || special) ? e->size : 0;
    if (e->stored > avail)
        return bad(a, off, "member data past the end of the archive");
    return decode_name(a, e, &h, avail);
}

static char *member_display_name(rv_arena *arena, const rv_archive *a,
                                 const char *name) {
    return rv_arena_printf(arena, "%s(%s)", a->path, name);
}

static rivet_error *add_member(rv_archive *a, rv_arena *arena, const ar_entry *e,
                               size_t *cap) {
    rv_archive_member *m = rv_arena_calloc(arena, 1, sizeof *m);
    if (!m)
        return rivet_error_create(RIVET_ERR_NOMEM, "out of memory");
    m->header_offset = e->offset;
    if (a->thin) {
        /* the path is relative to the archive's directory */
        const char *slash = strrchr(a->path, '/');
        m->name = e->name[0] == '/' || !slash
            ? rv_arena_strdup(arena, e->name)
            : rv_arena_printf(arena, "%.*s/%s", (int)(slash - a->path), a->path, e->name);
        m->size = e->size;
    } else {
        m->name = member_display_name(arena, a, e->name);
        m->data = e->data;
        m->size = e->size;
    }
    if (!m->name)
        return rivet_error_create(RIVET_ERR_NOMEM, "out of memory");
    if (a->member_count == *cap) {
        *cap = *cap ? *cap * 2 : 64;
        rv_archive_member **v = realloc(a->members, *cap * sizeof *v);
        if (!v)
            return rivet_error_create(RIVET_ERR_NOMEM, "out of memory");
        a->members = v;
    }
    a->members[a->member_count++] = m;
    return NULL;
}

static rv_archive_member *member_at(const rv_archive *a, uint64_t off) {
    size_t lo = 0, hi = a->member_count;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (a->members[mid]->header_offset < off)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < a->member_count && a->members[lo]->header_offset == off
               ? a->members[lo] : NULL;
}

static uint64_t read_be(const uint8_t *p, int width) {
    uint64_t v = 0;
    for (int i = 0; i < width; i++)
        v = v << 8 | p[i];
    return v;
}

static rivet_error *index_symbol(rv_archive *a, const char *name, uint64_t off) {
    rv_archive_member *m = member_at(a, off);
    if (!m)
        return rivet_error_create(RIVET_ERR_MALFORMED, "%s: symbol index names "
            "offset 0x%llx for '%s', which is not a member", a->path,
            (unsigned long long)off, name);
    uint32_t h = rv_name_hash(name);
    rv_namemap_slot *s = rv_namemap_upsert(&a->index, name, h);
    if (!s)
        return rivet_error_create(RIVET_ERR_NOMEM, "out of memory");
    if (!s->value)
        s->value = m; /* the first member listed wins, as with ld */
    return NULL;
}

static rivet_error *read_gnu_index(rv_archive *a, const ar_entry *e, int width) {
    if (e->size < (uint64_t)width)
        return bad(a, e->offset, "truncated symbol index");
    uint64_t n = read_be(e->data, width);
    if (n > (e->size - (uint64_t)width) / (uint64_t)width)
        return bad(a, e->offset, "symbol index count too large");
    const char *names = (const char *)e->data + width + n * (uint64_t)width;
    const char *end = (const char *)e->data + e->size;
    if (!rv_namemap_reserve(&a->index, n))
        return rivet_error_create(RIVET_ERR_NOMEM, "out of memory");
    for (uint64_t i = 0; i < n; i++) {
        size_t len = strnlen(names, (size_t)(end - names));
        if (names + len >= end)
            return bad(a, e->offset, "symbol index name past its end");
        uint64_t off = read_be(e->data + width + i * (uint64_t)width, width);
        rivet_error *err = index_symbol(a, names, off);
        if (err)
            return err;
        names += len + 1;
    }
    return NULL;
}

static rivet_error *read_bsd_index(rv_archive *a, const ar_entry *e) {
    uint32_t bytes, strsize;
    if (e->size < 4)
        return bad(a, e->offset, "truncated symbol index");
    memcpy(&bytes, e->data, 4);
    if (bytes % 8 || bytes > e->size - 8)
        return bad(a, e->offset, "bad BSD symbol index size");
    memcpy(&strsize, e->data + 4 + bytes, 4);
    if (strsize > e->size - 8 - bytes)
        return bad(a, e->offset, "bad BSD string table size");
    const char *strs = (const char *)e->data + 8 + bytes;
    for (uint32_t i = 0; i < bytes / 8; i++) {
        uint32_t strx, off;
        memcpy(&strx, e->data + 4 + i * 8, 4);
        memcpy(&off, e->data + 8 + i * 8, 4);
        if (strx >= strsize || !memchr(strs + strx, 0, strsize - strx))
            return bad(a, e->offset, "BSD symbol name out of range");
        rivet_error *err = index_symbol(a, strs + strx, off);
        if (err)
            return err;
    }
    return NULL;
}

rivet_error *rv_archive_open(rv_archive *a, rv_arena *arena, const char *path,
                             const uint8_t *data, size_t size) {
    memset(a, 0, sizeof *a);
    a->path = path;
    a->data = data;
    a->size = size;
    a->thin = memcmp(data, "!<thin>\n", 8) == 0;
    rv_namemap_init(&a->index);
    ar_entry index = {0}, e;
    int index_kind = 0; /* 4, 8: GNU width; 1: BSD */
    size_t cap = 0;
    for (uint64_t off = AR_MAGIC_SIZE; off < size;) {
        rivet_error *err = read_entry(a, off, &e);
        if (err)
            return err;
        if (strcmp(e.name, "//") == 0) {
            a->long_names = (const char *)e.data;
            a->long_names_size = e.size;
        } else if (strcmp(e.name, "/") == 0 || strcmp(e.name, "/SYM64/") == 0 ||
                   strncmp(e.name, "__.SYMDEF", 9) == 0) {
            index = e;
            index_kind = e.name[0] == '_' ? 1 : strcmp(e.name, "/") == 0 ? 4 : 8;
        } else if (!is_special(e.name)) {
            err = add_member(a, arena, &e, &cap);
            if (err)
                return err;
        }
        off += AR_HEADER_SIZE + e.stored + (e.stored & 1);
    }
    if (!index_kind && a->member_count == 0)
        return NULL; /* an empty archive (glibc's libpthread.a): nothing to pull */
    if (!index_kind)
        return rivet_error_create(RIVET_ERR_MALFORMED, "%s: archive has no "
                                  "symbol index (run 'ranlib %s')", path, path);
    return index_kind == 1 ? read_bsd_index(a, &index)
                           : read_gnu_index(a, &index, index_kind);
}

void rv_archive_free(rv_archive *a) {
    for (size_t i = 0; i < a->member_count; i++)
        rv_sys_unmap_file(a->members[i]->mapping, a->members[i]->mapping_size);
    free(a->members);
    rv_namemap_free(&a->index);
}

rv_archive_member *rv_archive_find(rv_archive *a, const char *name, uint32_t hash) {
    return rv_namemap_get(&a->index, name, hash);
}

rivet_error *rv_archive_member_load(rv_archive *a, rv_archive_member *m) {
    if (!a->thin || m->data)
        return NULL;
    const uint8_t *data;
    size_t size;
    rivet_error *e = rv_sys_map_file(m->name, &data, &size);
    if (e)
        return rivet_error_wrap(e, "%s: thin archive member", a->path);
    if (!size)
        return rivet_error_create(RIVET_ERR_IO, "%s: thin archive member %s is empty",
                                  a->path, m->name);
    m->mapping = (void *)data;
    m->mapping_size = size;
    m->data = data;
    m->size = size;
    return NULL;
}
