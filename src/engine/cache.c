/*
 * engine/cache.c — the disk cache (rivet_disk_cache) and the engine's
 * entries stored in any cache.
 *
 * A disk entry is one file, DIR/<key>.rvc:
 *
 *   magic "RIVETC1\n" | u64 payload length | sha256(payload) | payload
 *
 * so a truncated or corrupted file is recognised, deleted and treated as a
 * miss. Files are written to a temporary name and renamed into place:
 * concurrent writers of one key each rename a complete file, and readers
 * see the old file, the new one or none. A hit refreshes the file's times;
 * a put that takes the directory past its limit deletes the least recently
 * used entries (and temporary files a crashed writer left behind).
 *
 * The engine's payload (any cache) records what the object was built from:
 *
 *   "RVENTRY1" | u32 n | n x {u32 len, path, sha256 of the file} |
 *   u64 size | object
 *
 * and a get only counts when every header still hashes the same.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "engine/engine_internal.h"

#define ENTRY_SUFFIX ".rvc"
#define FRAME_MAGIC "RIVETC1\n"
#define FRAME_HEADER (8 + 8 + 32)
#define DEFAULT_MAX ((uint64_t)256 << 20)
#define STALE_TMP_SECONDS 600

struct rivet_disk_cache {
    char *dir;
    uint64_t max_bytes;
};

static rivet_error *nomem(void) {
    return rivet_error_create(RIVET_ERR_NOMEM, "out of memory");
}

static void put_u64(uint8_t *p, uint64_t v) {
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_u64(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static uint32_t get_u32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

char *rv_default_cache_dir(void) {
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    char buf[PATH_MAX];
    if (xdg && xdg[0] == '/')
        snprintf(buf, sizeof buf, "%s/rivet", xdg);
    else if (home && *home)
        snprintf(buf, sizeof buf, "%s/.cache/rivet", home);
    else
        return NULL;
    return strdup(buf);
}

/* "256M", "1G", "1048576" */
static uint64_t parse_size(const char *s, uint64_t fallback) {
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s)
        return fallback;
    switch (*end) {
    case 'k': case 'K': v <<= 10; end++; break;
    case 'm': case 'M': v <<= 20; end++; break;
    case 'g': case 'G': v <<= 30; end++; break;
    }
    return *end && strcmp(end, "iB") && strcmp(end, "B") ? fallback : v;
}

rivet_error *rivet_disk_cache_open(const char *dir, rivet_disk_cache **out) {
    rivet_disk_cache *c = calloc(1, sizeof *c);
    if (!c)
        return nomem();
    c->dir = dir ? strdup(dir) : rv_default_cache_dir();
    if (!c->dir) {
        free(c);
        return dir ? nomem()
                   : rivet_error_create(RIVET_ERR_GENERIC,
                         "no cache directory: set XDG_CACHE_HOME or HOME");
    }
    const char *max = getenv("RIVET_CACHE_MAX");
    c->max_bytes = max && *max ? parse_size(max, DEFAULT_MAX) : DEFAULT_MAX;
    *out = c;
    return NULL;
}

void rivet_disk_cache_close(rivet_disk_cache *c) {
    if (!c)
        return;
    free(c->dir);
    free(c);
}

void rivet_disk_cache_set_max_size(rivet_disk_cache *c, uint64_t bytes) {
    c->max_bytes = bytes;
}

const char *rivet_disk_cache_dir(const rivet_disk_cache *c) { return c->dir; }

static bool valid_key(const char *key) {
    size_t n = strlen(key);
    if (n == 0 || n > 128)
        return false;
    for (const char *p = key; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') ||
              (*p >= 'A' && *p <= 'Z') || *p == '_' || *p == '-'))
            return false;
    return true;
}

static bool entry_path(const rivet_disk_cache *c, const char *key, char out[PATH_MAX]) {
    return valid_key(key) &&
           snprintf(out, PATH_MAX, "%s/%s" ENTRY_SUFFIX, c->dir, key) < PATH_MAX;
}

static bool frame_ok(const uint8_t *data, size_t size) {
    if (size < FRAME_HEADER || memcmp(data, FRAME_MAGIC, 8) != 0 ||
        get_u64(data + 8) != size - FRAME_HEADER)
        return false;
    uint8_t sum[32];
    rv_sha256_bytes(data + FRAME_HEADER, size - FRAME_HEADER, sum);
    return memcmp(sum, data + 16, 32) == 0;
}

static bool disk_get(void *ctx, const char *key, void **data, size_t *size) {
    rivet_disk_cache *c = ctx;
    char path[PATH_MAX];
    uint8_t *bytes;
    size_t n;
    if (!entry_path(c, key, path))
        return false;
    rivet_error *e = rv_read_file(path, &bytes, &n);
    if (e) {
        rivet_error_free(e);
        return false;
    }
    if (!frame_ok(bytes, n)) {
        unlink(path); /* corrupt or truncated: never used, rebuilt by the caller */
        free(bytes);
        return false;
    }
    utimensat(AT_FDCWD, path, NULL, 0); /* most recently used */
    memmove(bytes, bytes + FRAME_HEADER, n - FRAME_HEADER);
    *data = bytes;
    *size = n - FRAME_HEADER;
    return true;
}

static int mkdir_p(const char *dir) {
    char buf[PATH_MAX];
    if (snprintf(buf, sizeof buf, "%s", dir) >= (int)sizeof buf)
        return -1;
    for (char *p = buf + 1; *p; p++)
        if (*p == '/') {
            *p = 0;
            if (mkdir(buf, 0755) != 0 && errno != EEXIST)
                return -1;
            *p = '/';
        }
    return mkdir(buf, 0755) != 0 && errno != EEXIST ? -1 : 0;
}

typedef struct cache_file {
    char *name;
    uint64_t size;
    struct timespec used;
} cache_file;

typedef struct cache_scan {
    cache_file *files;
    size_t count;
    uint64_t bytes;
} cache_scan;

static bool is_entry(const char *name) {
    size_t n = strlen(name), s = strlen(ENTRY_SUFFIX);
    return n > s && strcmp(name + n - s, ENTRY_SUFFIX) == 0;
}

static bool is_stale_tmp(const char *name, const struct stat *st) {
    return strstr(name, ".tmp.") && time(NULL) - st->st_mtim.tv_sec > STALE_TMP_SECONDS;
}

/* Entries of the cache directory; stale temporaries are deleted. */
static rivet_error *scan(const rivet_disk_cache *c, cache_scan *out) {
    memset(out, 0, sizeof *out);
    DIR *d = opendir(c->dir);
    if (!d)
        return errno == ENOENT ? NULL
                               : rivet_error_from_errno(errno, "%s: cannot list", c->dir);
    size_t cap = 0;
    rivet_error *e = NULL;
    char path[PATH_MAX];
    for (struct dirent *de; !e && (de = readdir(d));) {
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", c->dir, de->d_name);
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        if (is_stale_tmp(de->d_name, &st))
            unlink(path);
        if (!is_entry(de->d_name))
            continue;
        if (out->count == cap) {
            cap = cap ? cap * 2 : 64;
            cache_file *f = realloc(out->files, cap * sizeof *f);
            if (!f) {
                e = nomem();
                break;
            }
            out->files = f;
        }
        cache_file *f = &out->files[out->count];
        if (!(f->name = strdup(de->d_name))) {
            e = nomem();
            break;
        }
        f->size = (uint64_t)st.st_size;
        f->used = st.st_mtim;
        out->bytes += f->size;
        out->count++;
    }
    closedir(d);
    return e;
}

static void free_scan(cache_scan *s) {
    for (size_t i = 0; i < s->count; i++)
        free(s->files[i].name);
    free(s->files);
}

static int older_first(const void *pa, const void *pb) {
    const cache_file *a = pa, *b = pb;
    if (a->used.tv_sec != b->used.tv_sec)
        return a->used.tv_sec < b->used.tv_sec ? -1 : 1;
    return (a->used.tv_nsec > b->used.tv_nsec) - (a->used.tv_nsec < b->used.tv_nsec);
}

static void evict(rivet_disk_cache *c) {
    cache_scan s;
    rivet_error *e = scan(c, &s);
    if (!e && s.bytes > c->max_bytes) {
        qsort(s.files, s.count, sizeof *s.files, older_first);
        char path[PATH_MAX];
        for (size_t i = 0; i < s.count && s.bytes > c->max_bytes; i++) {
            snprintf(path, sizeof path, "%s/%s", c->dir, s.files[i].name);
            if (unlink(path) == 0 || errno == ENOENT)
                s.bytes -= s.files[i].size;
        }
    }
    rivet_error_free(e);
    free_scan(&s);
}

/* Failures to store are not errors: the next run compiles again. */
static void disk_put(void *ctx, const char *key, const void *data, size_t size) {
    rivet_disk_cache *c = ctx;
    char path[PATH_MAX];
    if (!entry_path(c, key, path) || size + FRAME_HEADER > c->max_bytes ||
        mkdir_p(c->dir) != 0)
        return;
    uint8_t *frame = malloc(size + FRAME_HEADER);
    if (!frame)
        return;
    memcpy(frame, FRAME_MAGIC, 8);
    put_u64(frame + 8, size);
    rv_sha256_bytes(data, size, frame + 16);
    memcpy(frame + FRAME_HEADER, data, size);
    rivet_error *e = rv_write_file_atomic(path, frame, size + FRAME_HEADER);
    free(frame);
    if (!e)
        evict(c);
    rivet_error_free(e);
}

rivet_object_cache rivet_disk_cache_interface(rivet_disk_cache *c) {
    rivet_object_cache oc = {.ctx = c, .get = disk_get, .put = disk_put};
    return oc;
}

rivet_error *rivet_disk_cache_stats(rivet_disk_cache *c, rivet_cache_stats *out) {
    cache_scan s;
    rivet_error *e = scan(c, &s);
    if (!e) {
        out->entries = s.count;
        out->bytes = s.bytes;
        out->max_bytes = c->max_bytes;
    }
    free_scan(&s);
    return e;
}

static rivet_error *remove_files(const char *dir, bool (*which)(const char *)) {
    DIR *d = opendir(dir);
    if (!d)
        return errno == ENOENT ? NULL : rivet_error_from_errno(errno, "%s: cannot list", dir);
    rivet_error *e = NULL;
    char path[PATH_MAX];
    for (struct dirent *de; (de = readdir(d));) {
        if (!which(de->d_name))
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        if (unlink(path) != 0 && errno != ENOENT && !e)
            e = rivet_error_from_errno(errno, "%s: cannot delete", path);
    }
    closedir(d);
    return e;
}

static bool cache_owned(const char *name) {
    return is_entry(name) || strstr(name, ".tmp.") != NULL;
}

static bool any_file(const char *name) {
    return strcmp(name, ".") != 0 && strcmp(name, "..") != 0;
}

rivet_error *rivet_disk_cache_clear(rivet_disk_cache *c) {
    char memo[PATH_MAX];
    snprintf(memo, sizeof memo, "%s/compilers", c->dir);
    rivet_error *e = remove_files(c->dir, cache_owned);
    rivet_error *e2 = remove_files(memo, any_file);
    rmdir(memo);
    return rivet_error_join(e, e2);
}

/* ------------------------------------------------------ the engine's entry */

#define ENTRY_MAGIC "RVENTRY1"

bool rv_entry_encode(const rv_compile_result *r, uint8_t **data, size_t *size) {
    size_t n = 8 + 4 + 8 + r->object_size;
    for (size_t i = 0; i < r->dep_count; i++)
        n += 4 + strlen(r->deps[i].path) + 32;
    uint8_t *p = malloc(n), *q = p;
    if (!p)
        return false;
    memcpy(q, ENTRY_MAGIC, 8);
    q += 8;
    uint32_t count = (uint32_t)r->dep_count;
    for (int i = 0; i < 4; i++)
        *q++ = (uint8_t)(count >> (8 * i));
    for (size_t i = 0; i < r->dep_count; i++) {
        uint32_t len = (uint32_t)strlen(r->deps[i].path);
        for (int k = 0; k < 4; k++)
            *q++ = (uint8_t)(len >> (8 * k));
        memcpy(q, r->deps[i].path, len);
        q += len;
        memcpy(q, r->deps[i].hash, 32);
        q += 32;
    }
    put_u64(q, r->object_size);
    q += 8;
    memcpy(q, r->object, r->object_size);
    *data = p;
    *size = n;
    return true;
}

/* One recorded header: does it still hash the same? */
static bool header_unchanged(const uint8_t *path, uint32_t len, const uint8_t *hash) {
    char name[PATH_MAX];
    uint8_t now[32];
    if (len >= sizeof name)
        return false;
    memcpy(name, path, len);
    name[len] = 0;
    return rv_hash_file(name, now) && memcmp(now, hash, 32) == 0;
}

bool rv_entry_decode(const uint8_t *data, size_t size, uint8_t **object,
                     size_t *object_size, const char **why) {
    const uint8_t *p = data, *end = data + size;
    *why = "malformed entry";
    if (size < 12 || memcmp(p, ENTRY_MAGIC, 8) != 0)
        return false;
    uint32_t count = get_u32(p + 8);
    p += 12;
    for (uint32_t i = 0; i < count; i++) {
        if ((size_t)(end - p) < 4)
            return false;
        uint32_t len = get_u32(p);
        p += 4;
        if ((size_t)(end - p) < (size_t)len + 32)
            return false;
        if (!header_unchanged(p, len, p + len)) {
            *why = "a header changed";
            return false;
        }
        p += len + 32;
    }
    if ((size_t)(end - p) < 8 || get_u64(p) != (uint64_t)(end - p - 8))
        return false;
    size_t n = (size_t)get_u64(p);
    p += 8;
    uint8_t *copy = malloc(n ? n : 1);
    if (!copy) {
        *why = "out of memory";
        return false;
    }
    memcpy(copy, p, n);
    *object = copy;
    *object_size = n;
    return true;
}
