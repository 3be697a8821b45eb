/*
 * rivet/sps.h — Simple Packed Serialization (SPS).
 *
 * The byte format every call between controller and executor uses. It is
 * byte-compatible with LLVM ORC's SPS:
 *
 *   integers   little-endian, fixed width (u8/u16/u32/u64, i64 two's complement)
 *   bool       one byte, 0 or 1
 *   sequence   u64 element count, then the elements back to back
 *   string     a sequence of char: u64 length, then the bytes (no NUL)
 *   tuple      the members back to back, no padding, no count
 *   optional   bool present, then the value if present
 *   address    u64
 *   range      two addresses: start, end (end exclusive)
 *   error      bool is_error, then (if set) the message string
 *   expected   bool has_value; value if set, else the message string
 *
 * Writers grow a heap buffer and remember allocation failure (every later
 * put is a no-op and rivet_sps_writer_finish reports it). Readers are
 * bounded: any read past the end, or a bool that is neither 0 nor 1, marks
 * the reader bad and returns false; later reads keep failing. Nothing here
 * allocates on the read side except rivet_sps_get_string_dup.
 *
 * Thread-safety: a writer or reader is used by one thread at a time.
 */
#ifndef RIVET_SPS_H
#define RIVET_SPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rivet/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rivet_sps_writer {
    char *data;
    size_t size;
    size_t capacity;
    bool failed; /* an allocation failed; content is incomplete */
} rivet_sps_writer;

typedef struct rivet_sps_reader {
    const char *pos;
    const char *end;
    bool bad; /* a read ran past the end or met an invalid value */
} rivet_sps_reader;

void rivet_sps_writer_init(rivet_sps_writer *w);
/* Hand the buffer to the caller (free() it) or fail with RIVET_ERR_NOMEM;
 * the writer is empty afterwards either way. */
rivet_error *rivet_sps_writer_finish(rivet_sps_writer *w, char **data,
                                     size_t *size);
void rivet_sps_writer_reset(rivet_sps_writer *w); /* frees the buffer */

void rivet_sps_put_u8(rivet_sps_writer *w, uint8_t v);
void rivet_sps_put_u16(rivet_sps_writer *w, uint16_t v);
void rivet_sps_put_u32(rivet_sps_writer *w, uint32_t v);
void rivet_sps_put_u64(rivet_sps_writer *w, uint64_t v);
void rivet_sps_put_i64(rivet_sps_writer *w, int64_t v);
void rivet_sps_put_bool(rivet_sps_writer *w, bool v);
void rivet_sps_put_bytes(rivet_sps_writer *w, const void *p, size_t n); /* raw, no length */
void rivet_sps_put_string(rivet_sps_writer *w, const char *s, size_t n); /* u64 n, bytes */
void rivet_sps_put_cstring(rivet_sps_writer *w, const char *s);
void rivet_sps_put_range(rivet_sps_writer *w, uint64_t start, uint64_t end);
/* error: false for success, or true + message */
void rivet_sps_put_error(rivet_sps_writer *w, const char *message_or_null);
/* optional<T>: the presence flag; write T after it when present. */
void rivet_sps_put_optional(rivet_sps_writer *w, bool present);
/* expected<T>: rivet_sps_put_expected_value then T, or
 * rivet_sps_put_expected_error with the message (false + string). */
void rivet_sps_put_expected_value(rivet_sps_writer *w);
void rivet_sps_put_expected_error(rivet_sps_writer *w, const char *message);

void rivet_sps_reader_init(rivet_sps_reader *r, const void *data, size_t size);
bool rivet_sps_get_u8(rivet_sps_reader *r, uint8_t *v);
bool rivet_sps_get_u16(rivet_sps_reader *r, uint16_t *v);
bool rivet_sps_get_u32(rivet_sps_reader *r, uint32_t *v);
bool rivet_sps_get_u64(rivet_sps_reader *r, uint64_t *v);
bool rivet_sps_get_i64(rivet_sps_reader *r, int64_t *v);
bool rivet_sps_get_bool(rivet_sps_reader *r, bool *v);
/* A string or byte sequence, borrowed from the input (not NUL-terminated). */
bool rivet_sps_get_string(rivet_sps_reader *r, const char **s, size_t *n);
/* A string copied into a fresh NUL-terminated malloc'd buffer. */
bool rivet_sps_get_string_dup(rivet_sps_reader *r, char **s);
/* A sequence's element count, checked against the bytes left assuming each
 * element takes at least `min_element_size` bytes (so a huge count in a
 * short message fails here, before anything is allocated). */
bool rivet_sps_get_count(rivet_sps_reader *r, size_t min_element_size,
                         uint64_t *count);
bool rivet_sps_get_range(rivet_sps_reader *r, uint64_t *start, uint64_t *end);
/* error: *message is NULL on success, else borrowed message bytes */
bool rivet_sps_get_error(rivet_sps_reader *r, const char **message,
                         size_t *message_size);
/* optional<T>: *present tells whether T follows. */
bool rivet_sps_get_optional(rivet_sps_reader *r, bool *present);
/* expected<T>: on a value, *message is NULL and T follows; on an error,
 * *message borrows the message bytes and nothing follows. */
bool rivet_sps_get_expected(rivet_sps_reader *r, const char **message,
                            size_t *message_size);
/* True when every byte was consumed and nothing went wrong. */
bool rivet_sps_reader_done(const rivet_sps_reader *r);

#ifdef __cplusplus
}
#endif
#endif
