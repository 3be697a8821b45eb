/*
 * support/channel.h — one end of a framed connection between a controller
 * and an executor (docs/wire-protocol.md, "Frames"). Both sides use it:
 * rivet-executor's session server and the controller's stream executor.
 *
 * A channel sends CALL frames and matches RESULT frames to them by call id
 * (its own sequence numbers, so many calls may be in flight in both
 * directions), hands incoming CALL frames to its owner, and ends on the
 * peer's HANGUP, on end of stream, or on any malformed frame — which it
 * answers with a HANGUP carrying the reason before closing. When a channel
 * ends, every call still waiting for a result fails; nothing hangs.
 *
 * Threads: one thread at a time reads frames and runs on_call inline, so
 * on_call must not block: long work answers later from another thread.
 * The reader is leader/follower (channel.c): a thread waiting in
 * rv_channel_call_sync reads frames itself while nobody else does, so
 * its answer reaches it without a thread hand-over; the reader thread
 * (rv_channel_start's, or the caller of rv_channel_run) reads while no
 * caller waits. A thread with nothing to wait for may read too, as a
 * caller does, until told to stop (rv_channel_read_until: rivet-executor's
 * main thread while it is idle). A synchronous call made by the reading
 * thread (a constructor run by an inline call that calls back into the
 * peer) keeps reading until its answer arrives. Every function may be
 * called from any thread.
 *
 * The channel never closes the descriptor; it shuts it down when it ends.
 */
#ifndef RIVET_SUPPORT_CHANNEL_H
#define RIVET_SUPPORT_CHANNEL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rivet/rt.h"
#include "support/frame.h"

typedef struct rv_channel rv_channel;

typedef struct rv_channel_config {
    int fd;          /* a connected stream socket */
    const char *peer; /* "executor" or "controller", for messages */
    void *ctx;
    /* An incoming CALL; `arg` is the handler's to free. Return NULL and
     * answer exactly once with rv_channel_return(ch, call_id, result), now
     * or later from any thread; or return an error (the call is refused,
     * not answered, and the connection ends with that reason). NULL: every
     * call is a protocol error. */
    rivet_error *(*on_call)(void *ctx, rv_channel *ch, uint64_t call_id,
                            uint64_t target, char *arg, size_t arg_size);
    /* The connection ended by the peer's doing (hangup, end of stream, bad
     * frame): `why` (NULL for a clean hangup) is consumed; the returned
     * error (may be NULL) is what rv_channel_end_error reports. Runs once,
     * on the thread that read the end, before waiting calls fail. */
    rivet_error *(*on_end)(void *ctx, rivet_error *why);
    /* Optional: runs on a thread reading the socket at least every tick_ms
     * while one reads, also when nothing arrives (the channel gives the
     * socket a receive timeout of tick_ms), so the owner can watch for
     * something with no thread of its own. */
    void (*on_tick)(void *ctx);
    int tick_ms;
    /* The reader thread waits for data in poll(), holding no reading
     * token, and reads a frame at a time (two system calls a frame, not
     * one): then a thread coming back to rv_channel_read_until finds the
     * token free and reads the next frame itself. */
    bool reader_polls;
} rv_channel_config;

rivet_error *rv_channel_create(const rv_channel_config *cfg, rv_channel **out);
/* Read on a new thread. */
rivet_error *rv_channel_start(rv_channel *ch);
/* Read on this thread until the channel ends. */
void rv_channel_run(rv_channel *ch);

/* Call `target` in the peer; `ret(ret_ctx, user_call_id, result)` runs
 * exactly once: with the peer's answer, or with result.error when the
 * channel is or becomes closed. */
void rv_channel_call(rv_channel *ch, uint64_t target, const char *arg,
                     size_t arg_size, rivet_wrapper_return_fn ret,
                     void *ret_ctx, uint64_t user_call_id);
/* Call and wait for the answer (malloc'd bytes, caller frees). */
rivet_error *rv_channel_call_sync(rv_channel *ch, uint64_t target,
                                  const char *arg, size_t arg_size,
                                  char **result, size_t *result_size);
/* Read frames on this thread — handling them as the reader thread does —
 * until *stop is set or the channel ends, taking the reading token
 * whenever nobody else holds it (the reader thread yields it, as to a
 * caller) and waiting otherwise. When it stops, the reader thread takes
 * over at once. False once the channel has ended (or when this thread
 * cannot wait: it should not try again). Set *stop with
 * rv_channel_stop_reading (any thread; the reading thread itself may also
 * just set it, e.g. from on_call). */
bool rv_channel_read_until(rv_channel *ch, atomic_bool *stop);
void rv_channel_stop_reading(rv_channel *ch, atomic_bool *stop);

/* A rivet_wrapper_return_fn: answer the incoming call `call_id`;
 * `channel` is the rv_channel*. Frees the result. */
void rv_channel_return(void *channel, uint64_t call_id,
                       rivet_wrapper_result result);

/* Send a clean HANGUP (we send nothing more) and keep reading until the
 * peer ends too. Idempotent. */
void rv_channel_hangup(rv_channel *ch);
/* End now: send HANGUP (with `reason`'s message if not NULL; consumed),
 * shut the socket down, fail waiting calls. Idempotent. */
void rv_channel_close(rv_channel *ch, rivet_error *reason);
/* Wait until the channel has ended, at most timeout_ms (< 0: forever).
 * True if it has. */
bool rv_channel_wait_end(rv_channel *ch, int timeout_ms);
bool rv_channel_ended(rv_channel *ch);
/* Why it ended: a copy (caller frees), or NULL for a clean hangup or while
 * still open. */
rivet_error *rv_channel_end_error(rv_channel *ch);
/* Close if still open, join the reader thread, drop the owner's
 * reference (the memory goes when the last incoming call is answered). */
void rv_channel_release(rv_channel *ch);

/* Write or read one whole frame directly on `fd`, outside any channel:
 * the SETUP frame goes this way, before the channel starts. rv_frame_read
 * validates the header (rv_frame_decode_header); *payload is malloc'd. */
rivet_error *rv_frame_write(int fd, uint64_t opcode, uint64_t call_id,
                            uint64_t target, const void *payload, size_t size);
rivet_error *rv_frame_read(int fd, rv_frame_header *h, char **payload);

#endif
