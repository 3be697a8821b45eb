/*
 * support/frame.h — the frames that carry wrapper calls over a stream
 * (docs/wire-protocol.md, "Frames").
 *
 * A frame is a 32-byte header of four little-endian u64 fields — opcode,
 * call id, target, payload size — followed by the payload. This file only
 * encodes and validates bytes; support/channel.c moves frames over a
 * socket. Nothing here touches a file descriptor, so the decoders can be
 * fuzzed directly (tests/fuzz/fuzz_frame.c).
 */
#ifndef RIVET_SUPPORT_FRAME_H
#define RIVET_SUPPORT_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "rivet/error.h"

#define RV_FRAME_HEADER_SIZE 32
/* Larger payloads end the connection: a length read from a broken or
 * hostile peer must not make us allocate without bound. */
#define RV_FRAME_MAX_PAYLOAD (UINT64_C(1) << 30)
#define RV_PROTOCOL_VERSION 1

typedef enum rv_frame_opcode {
    RV_FRAME_SETUP = 1,  /* executor -> controller, first frame, once */
    RV_FRAME_CALL = 2,   /* call a wrapper (by address) or a handler (by tag) */
    RV_FRAME_RESULT = 3, /* the answer to a call, same call id */
    RV_FRAME_HANGUP = 4, /* the sender sends nothing more */
} rv_frame_opcode;

/* RESULT frames: the target field says how to read the payload. */
enum {
    RV_RESULT_OK = 0,     /* payload: the wrapper's result bytes */
    RV_RESULT_FAILED = 1, /* payload: message; the call did not run */
};

typedef struct rv_frame_header {
    uint64_t opcode;
    uint64_t call_id;
    uint64_t target; /* CALL: address or tag; RESULT: RV_RESULT_* */
    uint64_t payload_size;
} rv_frame_header;

void rv_frame_encode_header(const rv_frame_header *h,
                            unsigned char out[RV_FRAME_HEADER_SIZE]);
/* Decode and validate a header: known opcode, payload no larger than
 * RV_FRAME_MAX_PAYLOAD, zero fields where the opcode has none.
 * RIVET_ERR_PROTOCOL with a message naming the problem otherwise. */
rivet_error *rv_frame_decode_header(const unsigned char in[RV_FRAME_HEADER_SIZE],
                                    rv_frame_header *h);
const char *rv_frame_opcode_name(uint64_t opcode);

/* The SETUP payload: SPS (u32 version, string triple, u64 page_size,
 * seq<(string name, u64 addr)> bootstrap symbols). */
typedef struct rv_setup {
    uint32_t version;
    char *triple;
    uint64_t page_size;
    size_t symbol_count;
    char **names;
    uint64_t *addrs;
} rv_setup;

rivet_error *rv_setup_encode(const char *triple, uint64_t page_size,
                             size_t count, const char *const *names,
                             const uint64_t *addrs, char **data, size_t *size);
/* Decode (the payload must be consumed exactly); *out owns copies. */
rivet_error *rv_setup_decode(const char *data, size_t size, rv_setup *out);
void rv_setup_free(rv_setup *s);

/* 64-bit FNV-1a of a tag name: the u64 that names a controller handler on
 * the wire. */
uint64_t rv_tag_hash(const char *tag);

#endif
