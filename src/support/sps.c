/*
 * support/sps.c — Simple Packed Serialization writer and bounded reader
 * (rivet/sps.h).
 *
 * Byte layout matches LLVM ORC's SPS so either side can talk to that peer.
 * Integers are assembled byte by byte, so the code is endian-neutral and
 * never performs an unaligned load.
 */
#include <stdlib.h>
#include <string.h>

#include "rivet/sps.h"

/* ------------------------------------------------------------------ writer */

void rivet_sps_writer_init(rivet_sps_writer *w)
{
    w->data = NULL;
    w->size = 0;
    w->capacity = 0;
    w->failed = false;
}

void rivet_sps_writer_reset(rivet_sps_writer *w)
{
    free(w->data);
    rivet_sps_writer_init(w);
}

rivet_error *rivet_sps_writer_finish(rivet_sps_writer *w, char **data,
                                     size_t *size)
{
    if (w->failed) {
        rivet_sps_writer_reset(w);
        *data = NULL;
        *size = 0;
        return rivet_error_create(RIVET_ERR_NOMEM,
                                  "sps: out of memory while encoding");
    }
    /* An empty message still gets a buffer so callers can always free(). */
    if (!w->data) {
        w->data = malloc(1);
        if (!w->data) {
            *data = NULL;
            *size = 0;
            return rivet_error_create(RIVET_ERR_NOMEM,
                                      "sps: out of memory while encoding");
        }
    }
    *data = w->data;
    *size = w->size;
    rivet_sps_writer_init(w);
    return NULL;
}

/* Make room for n more bytes; false (and the writer failed) if impossible. */
static bool writer_reserve(rivet_sps_writer *w, size_t n)
{
    if (w->failed)
        return false;
    if (n <= w->capacity - w->size)
        return true;
    if (n > SIZE_MAX / 2 - w->size) {
        w->failed = true;
        return false;
    }
    size_t cap = w->capacity ? w->capacity : 64;
    while (cap - w->size < n)
        cap *= 2;
    char *p = realloc(w->data, cap);
    if (!p) {
        w->failed = true;
        return false;
    }
    w->data = p;
    w->capacity = cap;
    return true;
}

void rivet_sps_put_bytes(rivet_sps_writer *w, const void *p, size_t n)
{
    if (n == 0 || !writer_reserve(w, n))
        return;
    memcpy(w->data + w->size, p, n);
    w->size += n;
}

static void put_le(rivet_sps_writer *w, uint64_t v, size_t width)
{
    unsigned char buf[8];
    for (size_t i = 0; i < width; i++)
        buf[i] = (unsigned char)(v >> (8 * i));
    rivet_sps_put_bytes(w, buf, width);
}

void rivet_sps_put_u8(rivet_sps_writer *w, uint8_t v) { put_le(w, v, 1); }
void rivet_sps_put_u16(rivet_sps_writer *w, uint16_t v) { put_le(w, v, 2); }
void rivet_sps_put_u32(rivet_sps_writer *w, uint32_t v) { put_le(w, v, 4); }
void rivet_sps_put_u64(rivet_sps_writer *w, uint64_t v) { put_le(w, v, 8); }
void rivet_sps_put_i64(rivet_sps_writer *w, int64_t v)
{
    put_le(w, (uint64_t)v, 8);
}
void rivet_sps_put_bool(rivet_sps_writer *w, bool v) { put_le(w, v ? 1 : 0, 1); }

void rivet_sps_put_string(rivet_sps_writer *w, const char *s, size_t n)
{
    rivet_sps_put_u64(w, n);
    rivet_sps_put_bytes(w, s, n);
}

void rivet_sps_put_cstring(rivet_sps_writer *w, const char *s)
{
    rivet_sps_put_string(w, s, strlen(s));
}

void rivet_sps_put_range(rivet_sps_writer *w, uint64_t start, uint64_t end)
{
    rivet_sps_put_u64(w, start);
    rivet_sps_put_u64(w, end);
}

void rivet_sps_put_error(rivet_sps_writer *w, const char *message_or_null)
{
    rivet_sps_put_bool(w, message_or_null != NULL);
    if (message_or_null)
        rivet_sps_put_cstring(w, message_or_null);
}

void rivet_sps_put_optional(rivet_sps_writer *w, bool present)
{
    rivet_sps_put_bool(w, present);
}

void rivet_sps_put_expected_value(rivet_sps_writer *w)
{
    rivet_sps_put_bool(w, true);
}

void rivet_sps_put_expected_error(rivet_sps_writer *w, const char *message)
{
    rivet_sps_put_bool(w, false);
    rivet_sps_put_cstring(w, message);
}

/* ------------------------------------------------------------------ reader */

void rivet_sps_reader_init(rivet_sps_reader *r, const void *data, size_t size)
{
    /* A NULL buffer reads as empty, so zero-length takes still succeed. */
    static const char empty[1];
    r->pos = data ? (const char *)data : empty;
    r->end = data ? r->pos + size : empty;
    r->bad = false;
}

/* Borrow the next n bytes, or mark the reader bad. */
static const unsigned char *take(rivet_sps_reader *r, size_t n)
{
    if (r->bad || (size_t)(r->end - r->pos) < n) {
        r->bad = true;
        return NULL;
    }
    const unsigned char *p = (const unsigned char *)r->pos;
    r->pos += n;
    return p;
}

static bool get_le(rivet_sps_reader *r, size_t width, uint64_t *v)
{
    const unsigned char *p = take(r, width);
    if (!p)
        return false;
    uint64_t x = 0;
    for (size_t i = 0; i < width; i++)
        x |= (uint64_t)p[i] << (8 * i);
    *v = x;
    return true;
}

bool rivet_sps_get_u8(rivet_sps_reader *r, uint8_t *v)
{
    uint64_t x;
    if (!get_le(r, 1, &x))
        return false;
    *v = (uint8_t)x;
    return true;
}

bool rivet_sps_get_u16(rivet_sps_reader *r, uint16_t *v)
{
    uint64_t x;
    if (!get_le(r, 2, &x))
        return false;
    *v = (uint16_t)x;
    return true;
}

bool rivet_sps_get_u32(rivet_sps_reader *r, uint32_t *v)
{
    uint64_t x;
    if (!get_le(r, 4, &x))
        return false;
    *v = (uint32_t)x;
    return true;
}

bool rivet_sps_get_u64(rivet_sps_reader *r, uint64_t *v)
{
    return get_le(r, 8, v);
}

bool rivet_sps_get_i64(rivet_sps_reader *r, int64_t *v)
{
    uint64_t x;
    if (!get_le(r, 8, &x))
        return false;
    memcpy(v, &x, sizeof(*v)); /* two's complement, without a UB cast */
    return true;
}

bool rivet_sps_get_bool(rivet_sps_reader *r, bool *v)
{
    uint64_t x;
    if (!get_le(r, 1, &x))
        return false;
    if (x > 1) {
        r->bad = true;
        return false;
    }
    *v = x == 1;
    return true;
}

bool rivet_sps_get_count(rivet_sps_reader *r, size_t min_element_size,
                         uint64_t *count)
{
    uint64_t n;
    if (!rivet_sps_get_u64(r, &n))
        return false;
    size_t left = (size_t)(r->end - r->pos);
    /* Zero-size elements would let any count through; cap them by the
     * input size too so a caller's allocation stays proportional. */
    size_t unit = min_element_size ? min_element_size : 1;
    if (n > left / unit) {
        r->bad = true;
        return false;
    }
    *count = n;
    return true;
}

bool rivet_sps_get_string(rivet_sps_reader *r, const char **s, size_t *n)
{
    uint64_t len;
    if (!rivet_sps_get_count(r, 1, &len))
        return false;
    const unsigned char *p = take(r, (size_t)len);
    if (!p)
        return false;
    *s = (const char *)p;
    *n = (size_t)len;
    return true;
}

bool rivet_sps_get_string_dup(rivet_sps_reader *r, char **s)
{
    const char *p;
    size_t n;
    if (!rivet_sps_get_string(r, &p, &n))
        return false;
    char *copy = malloc(n + 1);
    if (!copy) {
        r->bad = true;
        return false;
    }
    if (n)
        memcpy(copy, p, n);
    copy[n] = '\0';
    *s = copy;
    return true;
}

bool rivet_sps_get_range(rivet_sps_reader *r, uint64_t *start, uint64_t *end)
{
    uint64_t a, b;
    if (!rivet_sps_get_u64(r, &a) || !rivet_sps_get_u64(r, &b))
        return false;
    *start = a;
    *end = b;
    return true;
}

bool rivet_sps_get_error(rivet_sps_reader *r, const char **message,
                         size_t *message_size)
{
    bool is_error;
    if (!rivet_sps_get_bool(r, &is_error))
        return false;
    if (!is_error) {
        *message = NULL;
        *message_size = 0;
        return true;
    }
    return rivet_sps_get_string(r, message, message_size);
}

bool rivet_sps_get_optional(rivet_sps_reader *r, bool *present)
{
    return rivet_sps_get_bool(r, present);
}

bool rivet_sps_get_expected(rivet_sps_reader *r, const char **message,
                            size_t *message_size)
{
    bool has_value;
    if (!rivet_sps_get_bool(r, &has_value))
        return false;
    if (has_value) {
        *message = NULL;
        *message_size = 0;
        return true;
    }
    return rivet_sps_get_string(r, message, message_size);
}

bool rivet_sps_reader_done(const rivet_sps_reader *r)
{
    return !r->bad && r->pos == r->end;
}
