/* Checks that SPS encodes the exact bytes LLVM's SPS does, round-trips
 * every type, and that the reader fails cleanly on truncated or hostile
 * input. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "rivet/sps.h"

/* Finish w and compare with the expected bytes. */
static int bytes_are(rivet_sps_writer *w, const char *expect, size_t n)
{
    char *data;
    size_t size;
    rivet_error *e = rivet_sps_writer_finish(w, &data, &size);
    int same = !e && size == n && memcmp(data, expect, n) == 0;
    rivet_error_free(e);
    free(data);
    return same;
}

static void test_exact_bytes(void)
{
    rivet_sps_writer w;
    rivet_sps_writer_init(&w);
    rivet_sps_put_u32(&w, 0x01020304);
    CHECK(bytes_are(&w, "\x04\x03\x02\x01", 4));
    rivet_sps_put_u16(&w, 0xbeef);
    CHECK(bytes_are(&w, "\xef\xbe", 2));
    rivet_sps_put_u64(&w, 0x0102030405060708ull);
    CHECK(bytes_are(&w, "\x08\x07\x06\x05\x04\x03\x02\x01", 8));
    rivet_sps_put_i64(&w, -2);
    CHECK(bytes_are(&w, "\xfe\xff\xff\xff\xff\xff\xff\xff", 8));
    rivet_sps_put_cstring(&w, "ab");
    CHECK(bytes_are(&w, "\x02\0\0\0\0\0\0\0ab", 10));
    rivet_sps_put_bool(&w, true);
    rivet_sps_put_bool(&w, false);
    CHECK(bytes_are(&w, "\x01\x00", 2));
    rivet_sps_put_error(&w, NULL);
    CHECK(bytes_are(&w, "\x00", 1));
    rivet_sps_put_error(&w, "x");
    CHECK(bytes_are(&w, "\x01\x01\0\0\0\0\0\0\0x", 10));
    rivet_sps_put_range(&w, 1, 2);
    CHECK(bytes_are(&w, "\x01\0\0\0\0\0\0\0\x02\0\0\0\0\0\0\0", 16));
    CHECK(bytes_are(&w, "", 0)); /* an empty message is a valid buffer */
}

/* Everything, back to back, to round-trip and to truncate. */
static void put_all(rivet_sps_writer *w)
{
    rivet_sps_put_u8(w, 0xab);
    rivet_sps_put_u16(w, 0x1234);
    rivet_sps_put_u32(w, 0xdeadbeef);
    rivet_sps_put_u64(w, 0x1122334455667788ull);
    rivet_sps_put_i64(w, -5);
    rivet_sps_put_bool(w, true);
    rivet_sps_put_cstring(w, "hello");
    rivet_sps_put_range(w, 0x1000, 0x2000);
    rivet_sps_put_error(w, "bad");
    rivet_sps_put_u64(w, 1); /* a count of one u8 */
    rivet_sps_put_u8(w, 9);
}

/* Read put_all's values; false as soon as one read fails. */
static bool get_all(rivet_sps_reader *r, bool check_values)
{
    uint8_t a; uint16_t b; uint32_t c; uint64_t d, lo, hi, n; int64_t i;
    bool t; const char *s, *m; size_t sn, mn; uint8_t e = 0;
    bool ok = rivet_sps_get_u8(r, &a) && rivet_sps_get_u16(r, &b) &&
              rivet_sps_get_u32(r, &c) && rivet_sps_get_u64(r, &d) &&
              rivet_sps_get_i64(r, &i) && rivet_sps_get_bool(r, &t) &&
              rivet_sps_get_string(r, &s, &sn) &&
              rivet_sps_get_range(r, &lo, &hi) &&
              rivet_sps_get_error(r, &m, &mn) &&
              rivet_sps_get_count(r, 1, &n) && rivet_sps_get_u8(r, &e);
    if (ok && check_values) {
        CHECK(a == 0xab && b == 0x1234 && c == 0xdeadbeef);
        CHECK(d == 0x1122334455667788ull && i == -5 && t);
        CHECK(sn == 5 && memcmp(s, "hello", 5) == 0);
        CHECK(lo == 0x1000 && hi == 0x2000);
        CHECK(m && mn == 3 && memcmp(m, "bad", 3) == 0);
        CHECK(n == 1 && e == 9);
    }
    return ok;
}

static void test_round_trip_and_truncation(void)
{
    rivet_sps_writer w;
    char *data;
    size_t size;
    rivet_sps_writer_init(&w);
    put_all(&w);
    CHECK_OK(rivet_sps_writer_finish(&w, &data, &size));
    rivet_sps_reader r;
    rivet_sps_reader_init(&r, data, size);
    CHECK(get_all(&r, true));
    CHECK(rivet_sps_reader_done(&r));
    /* Every proper prefix fails somewhere, and the reader stays bad. */
    int all_failed = 1;
    for (size_t n = 0; n < size; n++) {
        rivet_sps_reader_init(&r, data, n);
        if (get_all(&r, false) || !r.bad || rivet_sps_reader_done(&r))
            all_failed = 0;
    }
    CHECK(all_failed);
    /* Each type alone, cut short by one byte. */
    uint64_t v64; uint32_t v32; uint16_t v16; uint8_t v8; int64_t i64; bool b;
    const char *s; size_t sn;
    rivet_sps_reader_init(&r, data, 7);
    CHECK(!rivet_sps_get_u64(&r, &v64));
    CHECK(!rivet_sps_get_u8(&r, &v8)); /* sticky */
    rivet_sps_reader_init(&r, data, 3);
    CHECK(!rivet_sps_get_u32(&r, &v32));
    rivet_sps_reader_init(&r, data, 1);
    CHECK(!rivet_sps_get_u16(&r, &v16));
    rivet_sps_reader_init(&r, data, 0);
    CHECK(!rivet_sps_get_u8(&r, &v8));
    rivet_sps_reader_init(&r, data, 0);
    CHECK(!rivet_sps_get_bool(&r, &b));
    rivet_sps_reader_init(&r, data, 7);
    CHECK(!rivet_sps_get_i64(&r, &i64));
    rivet_sps_reader_init(&r, "\x03\0\0\0\0\0\0\0ab", 10);
    CHECK(!rivet_sps_get_string(&r, &s, &sn));
    free(data);
}

static void test_hostile_input(void)
{
    rivet_sps_reader r;
    bool b;
    uint64_t n;
    const char *s;
    size_t sn;
    char *dup;
    rivet_sps_reader_init(&r, "\x02", 1);
    CHECK(!rivet_sps_get_bool(&r, &b) && r.bad);
    /* a huge count in a short message fails before anything is allocated */
    const char huge[] = "\xff\xff\xff\xff\xff\xff\xff\xff" "abcdefgh";
    rivet_sps_reader_init(&r, huge, 16);
    CHECK(!rivet_sps_get_count(&r, 1, &n));
    rivet_sps_reader_init(&r, huge, 16);
    CHECK(!rivet_sps_get_string(&r, &s, &sn));
    rivet_sps_reader_init(&r, huge, 16);
    CHECK(!rivet_sps_get_string_dup(&r, &dup));
    /* count 2 of 8-byte elements with 8 bytes left */
    rivet_sps_reader_init(&r, "\x02\0\0\0\0\0\0\0abcdefgh", 16);
    CHECK(!rivet_sps_get_count(&r, 8, &n));
    rivet_sps_reader_init(&r, "\x01\0\0\0\0\0\0\0abcdefgh", 16);
    CHECK(rivet_sps_get_count(&r, 8, &n) && n == 1);
    /* trailing bytes mean not done */
    rivet_sps_reader_init(&r, "\x01\x00", 2);
    CHECK(rivet_sps_get_bool(&r, &b) && !rivet_sps_reader_done(&r));
    /* a NULL empty buffer reads as empty */
    rivet_sps_reader_init(&r, NULL, 0);
    CHECK(rivet_sps_reader_done(&r));
    CHECK(!rivet_sps_get_bool(&r, &b));
}

static void test_string_dup(void)
{
    rivet_sps_reader r;
    char *dup = NULL;
    rivet_sps_reader_init(&r, "\x03\0\0\0\0\0\0\0abc", 11);
    CHECK(rivet_sps_get_string_dup(&r, &dup) && strcmp(dup, "abc") == 0);
    CHECK(rivet_sps_reader_done(&r));
    free(dup);
    rivet_sps_reader_init(&r, "\0\0\0\0\0\0\0\0", 8);
    CHECK(rivet_sps_get_string_dup(&r, &dup) && dup[0] == '\0');
    free(dup);
}

static void test_errors(void)
{
    rivet_error *e = rivet_error_create(RIVET_ERR_RANGE, "value %d", 7);
    e = rivet_error_wrap(e, "section %s", ".text");
    CHECK(strcmp(rivet_error_message(e), "section .text: value 7") == 0);
    CHECK(rivet_error_get_code(e) == RIVET_ERR_RANGE);
    e = rivet_error_join(e, rivet_error_create(RIVET_ERR_IO, "second"));
    CHECK(strcmp(rivet_error_message(e), "section .text: value 7; second") == 0);
    rivet_error_free(e);
    CHECK(rivet_error_wrap(NULL, "x") == NULL);
    e = rivet_error_from_errno(2, "open %s", "f");
    CHECK(rivet_error_errno(e) == 2 && strncmp(rivet_error_message(e), "open f: ", 8) == 0);
    rivet_error_free(e);
}

/* optional<T> and expected<T> pin LLVM's layout: a flag byte, then the
 * value (or, for a failed expected, the message string). */
static void test_optional_expected(void)
{
    rivet_sps_writer w;
    rivet_sps_writer_init(&w);
    rivet_sps_put_optional(&w, false);
    CHECK(bytes_are(&w, "\x00", 1));
    rivet_sps_put_optional(&w, true);
    rivet_sps_put_u32(&w, 7);
    CHECK(bytes_are(&w, "\x01\x07\0\0\0", 5));
    rivet_sps_put_expected_value(&w);
    rivet_sps_put_u64(&w, 9);
    CHECK(bytes_are(&w, "\x01\x09\0\0\0\0\0\0\0", 9));
    rivet_sps_put_expected_error(&w, "no");
    CHECK(bytes_are(&w, "\x00\x02\0\0\0\0\0\0\0no", 11));

    rivet_sps_reader r;
    const char *m = "x";
    size_t n = 1;
    bool present = false;
    rivet_sps_reader_init(&r, "\x01\x09\0\0\0\0\0\0\0", 9);
    uint64_t v = 0;
    CHECK(rivet_sps_get_expected(&r, &m, &n) && !m && n == 0);
    CHECK(rivet_sps_get_u64(&r, &v) && v == 9 && rivet_sps_reader_done(&r));
    rivet_sps_reader_init(&r, "\x00\x02\0\0\0\0\0\0\0no", 11);
    CHECK(rivet_sps_get_expected(&r, &m, &n) && n == 2 && memcmp(m, "no", 2) == 0);
    CHECK(rivet_sps_reader_done(&r));
    rivet_sps_reader_init(&r, "\x02", 1); /* neither flag value */
    CHECK(!rivet_sps_get_optional(&r, &present) && r.bad);
    rivet_sps_reader_init(&r, "\x00\x05\0\0\0\0\0\0\0no", 11); /* short */
    CHECK(!rivet_sps_get_expected(&r, &m, &n));
}

int main(void)
{
    test_optional_expected();
    test_exact_bytes();
    test_round_trip_and_truncation();
    test_hostile_input();
    test_string_dup();
    test_errors();
    return check_report("test_sps");
}
