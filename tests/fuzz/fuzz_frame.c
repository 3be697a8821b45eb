/*
 * tests/fuzz/fuzz_frame.c — libFuzzer target: the wire decoders on
 * arbitrary bytes.
 *
 * 1. The bytes as a sequence of frames: every header through
 *    rv_frame_decode_header, every SETUP payload through rv_setup_decode;
 *    an accepted header must re-encode to the same 32 bytes.
 * 2. The same bytes from a peer into a real channel (support/channel.c) on
 *    a socketpair, read on this thread until the channel ends: it must end
 *    (peer hangup, malformed frame or end of stream), never crash or hang,
 *    and answer calls it accepted.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "support/channel.h"
#include "support/frame.h"

#define REQUIRE(cond)             \
    do {                          \
        if (!(cond))              \
            __builtin_trap();     \
    } while (0)

static void decode_all(const uint8_t *data, size_t size)
{
    while (size >= RV_FRAME_HEADER_SIZE) {
        rv_frame_header h;
        rivet_error *e = rv_frame_decode_header(data, &h);
        if (e) {
            rivet_error_free(e);
            return;
        }
        unsigned char again[RV_FRAME_HEADER_SIZE];
        rv_frame_encode_header(&h, again);
        REQUIRE(memcmp(again, data, sizeof(again)) == 0);
        REQUIRE(h.payload_size <= RV_FRAME_MAX_PAYLOAD);
        data += RV_FRAME_HEADER_SIZE;
        size -= RV_FRAME_HEADER_SIZE;
        size_t n = h.payload_size < size ? (size_t)h.payload_size : size;
        if (h.opcode == RV_FRAME_SETUP) {
            rv_setup s;
            rivet_error *se = rv_setup_decode((const char *)data, n, &s);
            if (!se) {
                REQUIRE(s.triple != NULL);
                rv_setup_free(&s);
            }
            rivet_error_free(se);
        }
        data += n;
        size -= n;
    }
}

static rivet_error *on_call(void *ctx, rv_channel *ch, uint64_t call_id,
                            uint64_t target, char *arg, size_t arg_size)
{
    (void)ctx;
    free(arg);
    if (target & 1) /* refuse some, as a server refuses non-wrappers */
        return rivet_error_create(RIVET_ERR_PROTOCOL, "refused 0x%llx",
                                  (unsigned long long)target);
    rivet_wrapper_result r = {malloc(1), 1, NULL};
    r.data[0] = 'k';
    rv_channel_return(ch, call_id, r);
    return NULL;
}

static void run_channel(const uint8_t *data, size_t size)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
        return;
    /* Inputs are small (-max_len), so they fit in the socket buffer, and
     * so do the few answers written back. */
    if (size && write(sv[1], data, size) != (ssize_t)size)
        __builtin_trap();
    shutdown(sv[1], SHUT_WR);
    rv_channel_config cfg = {.fd = sv[0], .peer = "fuzzer", .on_call = on_call};
    rv_channel *ch;
    rivet_error *e = rv_channel_create(&cfg, &ch);
    if (!e) {
        rv_channel_run(ch);
        REQUIRE(rv_channel_ended(ch));
        rivet_error_free(rv_channel_end_error(ch));
        rv_channel_release(ch);
    }
    rivet_error_free(e);
    close(sv[0]);
    close(sv[1]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    decode_all(data, size);
    run_channel(data, size);
    return 0;
}
