/*
 * tests/fuzz/fuzz_sps.c — libFuzzer target: decode arbitrary bytes with
 * every rivet_sps_get_* in an order chosen by the input.
 *
 * Input: byte 0 = number of operations k; the next k bytes choose them;
 * the rest is the SPS payload. Checked: no read outside the payload; a
 * failed read marks the reader bad and every later read fails; what a
 * successful read consumed re-encodes to the same bytes; borrowed strings
 * lie inside the payload; counts are bounded by the bytes left.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rivet/sps.h"

#define REQUIRE(cond) \
    do {              \
        if (!(cond))  \
            __builtin_trap(); \
    } while (0)

/* Bytes a successful read consumed must re-encode identically. */
static void expect_encoding(const char *consumed, size_t n, rivet_sps_writer *w)
{
    char *out;
    size_t out_size;
    rivet_error *e = rivet_sps_writer_finish(w, &out, &out_size);
    REQUIRE(!e);
    REQUIRE(out_size == n && memcmp(out, consumed, n) == 0);
    free(out);
}

/* One operation; returns whether the read succeeded. */
static bool step(rivet_sps_reader *r, uint8_t op, const char *lo, const char *hi)
{
    const char *before = r->pos;
    rivet_sps_writer w;
    rivet_sps_writer_init(&w);
    bool ok = false;
    switch (op % 13) {
    case 0: { uint8_t v; if ((ok = rivet_sps_get_u8(r, &v))) rivet_sps_put_u8(&w, v); break; }
    case 1: { uint16_t v; if ((ok = rivet_sps_get_u16(r, &v))) rivet_sps_put_u16(&w, v); break; }
    case 2: { uint32_t v; if ((ok = rivet_sps_get_u32(r, &v))) rivet_sps_put_u32(&w, v); break; }
    case 3: { uint64_t v; if ((ok = rivet_sps_get_u64(r, &v))) rivet_sps_put_u64(&w, v); break; }
    case 4: { int64_t v; if ((ok = rivet_sps_get_i64(r, &v))) rivet_sps_put_i64(&w, v); break; }
    case 5: { bool v; if ((ok = rivet_sps_get_bool(r, &v))) rivet_sps_put_bool(&w, v); break; }
    case 6: {
        const char *s; size_t n;
        if ((ok = rivet_sps_get_string(r, &s, &n))) {
            REQUIRE(s >= lo && s <= hi && n <= (size_t)(hi - s));
            rivet_sps_put_string(&w, s, n);
        }
        break;
    }
    case 7: {
        char *s = NULL;
        if ((ok = rivet_sps_get_string_dup(r, &s))) {
            REQUIRE(s != NULL);
            size_t n = (size_t)(r->pos - before) - 8;
            REQUIRE(memcmp(s, before + 8, n) == 0 && s[n] == 0);
            rivet_sps_put_string(&w, s, n);
        }
        free(s);
        break;
    }
    case 8: case 9: {
        size_t min = op % 2 ? (op >> 4) : 1;
        uint64_t count;
        if ((ok = rivet_sps_get_count(r, min, &count))) {
            if (min)
                REQUIRE(count <= (uint64_t)(hi - r->pos) / min);
            rivet_sps_put_u64(&w, count);
        }
        break;
    }
    case 10: {
        uint64_t a, b;
        if ((ok = rivet_sps_get_range(r, &a, &b)))
            rivet_sps_put_range(&w, a, b);
        break;
    }
    case 11: {
        const char *m; size_t n;
        if ((ok = rivet_sps_get_error(r, &m, &n))) {
            if (m) {
                REQUIRE(m >= lo && m <= hi && n <= (size_t)(hi - m));
                rivet_sps_put_bool(&w, true);
                rivet_sps_put_string(&w, m, n);
            } else {
                rivet_sps_put_error(&w, NULL);
            }
        }
        break;
    }
    default:
        (void)rivet_sps_reader_done(r);
        ok = !r->bad;
        break;
    }
    REQUIRE(r->pos >= lo && r->pos <= hi);
    if (ok && op % 13 != 12)
        expect_encoding(before, (size_t)(r->pos - before), &w);
    else
        rivet_sps_writer_reset(&w);
    return ok;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    size_t k = data[0];
    if (k > size - 1)
        k = size - 1;
    const uint8_t *ops = data + 1;
    size_t payload_size = size - 1 - k;
    /* A copy of exactly the payload, so ASan sees any read past its end. */
    char *payload = malloc(payload_size ? payload_size : 1);
    REQUIRE(payload);
    memcpy(payload, data + 1 + k, payload_size);

    rivet_sps_reader r;
    rivet_sps_reader_init(&r, payload, payload_size);
    bool failed = false;
    for (size_t i = 0; i < k; i++) {
        bool ok = step(&r, ops[i], payload, payload + payload_size);
        if (failed)
            REQUIRE(!ok); /* once bad, always bad */
        if (!ok && ops[i] % 13 != 12)
            REQUIRE(r.bad);
        failed = failed || r.bad;
    }
    REQUIRE(rivet_sps_reader_done(&r) ==
            (!r.bad && r.pos == payload + payload_size));
    free(payload);
    return 0;
}
