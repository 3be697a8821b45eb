/*
 * support/frame.c — frame headers and the SETUP payload (support/frame.h).
 */
#include <stdlib.h>
#include <string.h>

#include "rivet/sps.h"
#include "support/frame.h"

static void put64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

void rv_frame_encode_header(const rv_frame_header *h,
                            unsigned char out[RV_FRAME_HEADER_SIZE])
{
    put64(out, h->opcode);
    put64(out + 8, h->call_id);
    put64(out + 16, h->target);
    put64(out + 24, h->payload_size);
}

const char *rv_frame_opcode_name(uint64_t opcode)
{
    switch (opcode) {
    case RV_FRAME_SETUP: return "setup";
    case RV_FRAME_CALL: return "call";
    case RV_FRAME_RESULT: return "result";
    case RV_FRAME_HANGUP: return "hangup";
    default: return "unknown";
    }
}

static rivet_error *bad(const char *what, uint64_t value)
{
    return rivet_error_create(RIVET_ERR_PROTOCOL, "malformed frame: %s 0x%llx",
                              what, (unsigned long long)value);
}

rivet_error *rv_frame_decode_header(const unsigned char in[RV_FRAME_HEADER_SIZE],
                                    rv_frame_header *h)
{
    h->opcode = get64(in);
    h->call_id = get64(in + 8);
    h->target = get64(in + 16);
    h->payload_size = get64(in + 24);
    if (h->opcode < RV_FRAME_SETUP || h->opcode > RV_FRAME_HANGUP)
        return bad("unknown opcode", h->opcode);
    if (h->payload_size > RV_FRAME_MAX_PAYLOAD)
        return bad("payload size over the 1 GiB limit:", h->payload_size);
    bool no_id = h->opcode == RV_FRAME_SETUP || h->opcode == RV_FRAME_HANGUP;
    if (no_id && h->call_id != 0)
        return bad("call id in a setup or hangup frame:", h->call_id);
    if (no_id && h->target != 0)
        return bad("target in a setup or hangup frame:", h->target);
    if (h->opcode == RV_FRAME_RESULT && h->target > RV_RESULT_FAILED)
        return bad("result status", h->target);
    return NULL;
}

/* ------------------------------------------------------------------ setup */

rivet_error *rv_setup_encode(const char *triple, uint64_t page_size,
                             size_t count, const char *const *names,
                             const uint64_t *addrs, char **data, size_t *size)
{
    rivet_sps_writer w;
    rivet_sps_writer_init(&w);
    rivet_sps_put_u32(&w, RV_PROTOCOL_VERSION);
    rivet_sps_put_cstring(&w, triple);
    rivet_sps_put_u64(&w, page_size);
    rivet_sps_put_u64(&w, count);
    for (size_t i = 0; i < count; i++) {
        rivet_sps_put_cstring(&w, names[i]);
        rivet_sps_put_u64(&w, addrs[i]);
    }
    return rivet_sps_writer_finish(&w, data, size);
}

void rv_setup_free(rv_setup *s)
{
    for (size_t i = 0; s->names && i < s->symbol_count; i++)
        free(s->names[i]);
    free(s->names);
    free(s->addrs);
    free(s->triple);
    memset(s, 0, sizeof(*s));
}

rivet_error *rv_setup_decode(const char *data, size_t size, rv_setup *out)
{
    rivet_sps_reader r;
    uint64_t n = 0;
    memset(out, 0, sizeof(*out));
    rivet_sps_reader_init(&r, data, size);
    bool ok = rivet_sps_get_u32(&r, &out->version) &&
              rivet_sps_get_string_dup(&r, &out->triple) &&
              rivet_sps_get_u64(&r, &out->page_size) &&
              rivet_sps_get_count(&r, 8 + 8, &n);
    if (ok) {
        out->names = calloc(n ? n : 1, sizeof(*out->names));
        out->addrs = calloc(n ? n : 1, sizeof(*out->addrs));
        ok = out->names && out->addrs;
    }
    for (uint64_t i = 0; ok && i < n; i++) {
        ok = rivet_sps_get_string_dup(&r, &out->names[i]) &&
             rivet_sps_get_u64(&r, &out->addrs[i]);
        out->symbol_count = (size_t)i + 1;
    }
    if (ok && rivet_sps_reader_done(&r) && out->version == RV_PROTOCOL_VERSION)
        return NULL;
    uint32_t version = out->version;
    bool decoded = ok && rivet_sps_reader_done(&r);
    rv_setup_free(out);
    if (decoded)
        return rivet_error_create(RIVET_ERR_PROTOCOL,
                                  "setup: protocol version %u, expected %u",
                                  version, RV_PROTOCOL_VERSION);
    return rivet_error_create(RIVET_ERR_PROTOCOL, "malformed setup payload");
}

uint64_t rv_tag_hash(const char *tag)
{
    uint64_t h = UINT64_C(0xcbf29ce484222325);
    for (const unsigned char *p = (const unsigned char *)tag; *p; p++) {
        h ^= *p;
        h *= UINT64_C(0x100000001b3);
    }
    return h;
}
