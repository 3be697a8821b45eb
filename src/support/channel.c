/*
 * support/channel.c — framed calls over a stream socket
 * (support/channel.h, docs/wire-protocol.md "Frames").
 *
 * State lives under `lock`; frames are written whole under `write_lock`, so
 * concurrent senders never interleave.
 *
 * Reading is leader/follower: one thread at a time holds the reading token
 * (`reading`) and with it the socket's read side and the read buffer. A
 * thread waiting in rv_channel_call_sync takes the token when nobody holds
 * it and reads frames itself: its own result ends its wait with no thread
 * handing it over; other waiters' results are handed to them; incoming
 * calls are dispatched as by any reader. When it has its answer it passes
 * the token to another waiter that still needs one. The thread in
 * rv_channel_run (the "reader thread") reads only while no caller waits:
 * it parks while callers are present and takes the token back at most
 * READER_PARK_NS after the last one left (not at once, so that back-to-back
 * calls from one thread each find the token free instead of the reader
 * thread blocked in recv holding it). A thread in rv_channel_read_until
 * counts as a caller whose answer is its stop flag; meanwhile the reader
 * thread parks until it stops, which wakes it. With reader_polls the
 * reader thread waits for data in poll, holding no token, and takes the
 * token for one frame at a time: a thread that comes back to read (the
 * serving thread, idle again after a job) finds it free.
 * With a tick (cfg.on_tick), the socket gets a receive timeout of tick_ms,
 * and whichever thread reads runs on_tick when it passes, or after a read
 * once tick_ms has gone by since the last tick.
 * The channel is reference counted: its owner holds one reference and each
 * incoming call holds one until it is answered, so a late answer from a
 * wrapper still running after the connection ended finds valid memory and
 * is dropped.
 */
#include <errno.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <threads.h>
#include <time.h>
#include <unistd.h>

#include "support/channel.h"
#include "support/frame.h"

#define READ_BUFFER_SIZE 65536
/* How long the reader thread stays parked after callers were seen: the
 * longest a frame arriving when no caller waits may sit unread. */
#define READER_PARK_NS 1000000L

typedef struct pending_call {
    struct pending_call *next;
    uint64_t id;
    uint64_t user_id;
    rivet_wrapper_return_fn ret;
    void *ret_ctx;
} pending_call;

struct rv_channel {
    rv_channel_config cfg;
    char peer[32];
    _Atomic int refs;
    mtx_t lock;
    cnd_t ended_changed;
    atomic_bool closing; /* no new calls; set first */
    atomic_bool ended;   /* fully ended: waiting calls failed */
    bool hangup_sent;    /* under write_lock */
    rivet_error *end_error;
    uint64_t next_id;
    pending_call *pending;
    /* the reading token (under lock) */
    bool reading;                 /* some thread holds it */
    struct sync_wait *waiters;    /* threads in rv_channel_call_sync and
                                     rv_channel_read_until */
    atomic_int callers;           /* how many: the reader thread yields */
    int idle_readers;             /* of them, in rv_channel_read_until */
    cnd_t reader_wake;            /* the parked reader thread */
    mtx_t write_lock;
    thrd_t reader;
    bool reader_started;
    _Atomic uint64_t last_tick_ms; /* when on_tick last ran */
    /* the token holder only */
    unsigned char *buf;
    size_t buf_cap, buf_pos, buf_end; /* buf_cap 0: unbuffered */
};

/* A thread in rv_channel_call_sync or rv_channel_read_until (on the
 * waiters list, under lock); it reads until *until is set. */
typedef struct sync_wait {
    struct sync_wait *next;
    rv_channel *ch;
    atomic_bool *until; /* &done, or the flag read_until was given */
    atomic_bool done;
    cnd_t wake; /* answered, or the token may be free: look again */
    rivet_wrapper_result result;
} sync_wait;

/* The channel whose reading token this thread holds, if any (a nested
 * synchronous call keeps reading). */
static _Thread_local rv_channel *this_threads_channel;

static uint64_t monotonic_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000u + (uint64_t)t.tv_nsec / 1000000u;
}

rivet_error *rv_channel_create(const rv_channel_config *cfg, rv_channel **out)
{
    rv_channel *ch = calloc(1, sizeof(*ch));
    if (!ch || !(ch->buf = malloc(READ_BUFFER_SIZE))) {
        free(ch);
        return rivet_error_create(RIVET_ERR_NOMEM, "channel: out of memory");
    }
    ch->cfg = *cfg;
    ch->buf_cap = READ_BUFFER_SIZE;
    strncpy(ch->peer, cfg->peer ? cfg->peer : "peer", sizeof(ch->peer) - 1);
    atomic_init(&ch->refs, 1);
    atomic_init(&ch->closing, false);
    atomic_init(&ch->ended, false);
    atomic_init(&ch->callers, 0);
    ch->next_id = 1;
    atomic_init(&ch->last_tick_ms, 0);
    if (cfg->on_tick && cfg->tick_ms > 0) {
        struct timeval tv = {cfg->tick_ms / 1000, (cfg->tick_ms % 1000) * 1000L};
        if (setsockopt(cfg->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0) {
            rivet_error *e = rivet_error_from_errno(errno, "channel: receive timeout");
            free(ch->buf);
            free(ch);
            return e;
        }
        atomic_init(&ch->last_tick_ms, monotonic_ms());
    } else {
        ch->cfg.on_tick = NULL;
    }
    if (mtx_init(&ch->lock, mtx_plain) != thrd_success ||
        mtx_init(&ch->write_lock, mtx_plain) != thrd_success ||
        cnd_init(&ch->ended_changed) != thrd_success ||
        cnd_init(&ch->reader_wake) != thrd_success) {
        free(ch->buf);
        free(ch);
        return rivet_error_create(RIVET_ERR_GENERIC, "channel: cannot create locks");
    }
    *out = ch;
    return NULL;
}

static void unref(rv_channel *ch)
{
    if (atomic_fetch_sub(&ch->refs, 1) != 1)
        return;
    rivet_error_free(ch->end_error);
    cnd_destroy(&ch->reader_wake);
    cnd_destroy(&ch->ended_changed);
    mtx_destroy(&ch->write_lock);
    mtx_destroy(&ch->lock);
    free(ch->buf);
    free(ch);
}

/* ---------------------------------------------------------------- writing */

/* Write one frame (write_lock held). */
static rivet_error *write_frame_locked(rv_channel *ch, const rv_frame_header *h,
                                       const void *payload)
{
    unsigned char header[RV_FRAME_HEADER_SIZE];
    rv_frame_encode_header(h, header);
    struct iovec iov[2] = {{header, sizeof(header)},
                           {(void *)payload, (size_t)h->payload_size}};
    struct msghdr msg = {.msg_iov = iov, .msg_iovlen = h->payload_size ? 2 : 1};
    while (msg.msg_iovlen > 0) {
        ssize_t n = sendmsg(ch->cfg.fd, &msg, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return rivet_error_from_errno(errno, "sending to the %s", ch->peer);
        while (msg.msg_iovlen > 0 && (size_t)n >= msg.msg_iov[0].iov_len) {
            n -= (ssize_t)msg.msg_iov[0].iov_len;
            msg.msg_iov++;
            msg.msg_iovlen--;
        }
        if (msg.msg_iovlen > 0) {
            msg.msg_iov[0].iov_base = (char *)msg.msg_iov[0].iov_base + n;
            msg.msg_iov[0].iov_len -= (size_t)n;
        }
    }
    return NULL;
}

static void end_channel(rv_channel *ch, rivet_error *why, bool send_hangup);

/* Send a CALL or RESULT frame; a channel that has ended sends nothing. */
static rivet_error *send_frame(rv_channel *ch, const rv_frame_header *h,
                               const void *payload)
{
    mtx_lock(&ch->write_lock);
    rivet_error *e =
        atomic_load(&ch->closing) || ch->hangup_sent
            ? rivet_error_create(RIVET_ERR_EXECUTOR, "connection to the %s is closed",
                                 ch->peer)
            : write_frame_locked(ch, h, payload);
    mtx_unlock(&ch->write_lock);
    return e;
}

/* Send HANGUP once, with a reason or clean. */
static void send_hangup(rv_channel *ch, const char *reason)
{
    mtx_lock(&ch->write_lock);
    if (!ch->hangup_sent) {
        ch->hangup_sent = true;
        rv_frame_header h = {RV_FRAME_HANGUP, 0, 0, reason ? strlen(reason) : 0};
        rivet_error_free(write_frame_locked(ch, &h, reason));
    }
    mtx_unlock(&ch->write_lock);
}

static void wake_idle_reader(rv_channel *ch);

void rv_channel_hangup(rv_channel *ch)
{
    send_hangup(ch, NULL);
    wake_idle_reader(ch); /* the peer's hangup or end comes next */
}

/* ---------------------------------------------------------------- ending */

static rivet_error *copy_error(const rivet_error *e, rivet_error_code code,
                               const char *fallback, const char *peer)
{
    if (e)
        return rivet_error_create(rivet_error_get_code(e), "%s",
                                  rivet_error_message(e));
    return rivet_error_create(code, fallback, peer);
}

/* Fail every waiting call with the end error. */
static void fail_pending(rv_channel *ch, pending_call *list)
{
    while (list) {
        pending_call *p = list;
        list = p->next;
        rivet_wrapper_result r = {NULL, 0, NULL};
        mtx_lock(&ch->lock);
        r.error = copy_error(ch->end_error, RIVET_ERR_EXECUTOR,
                             "the %s hung up", ch->peer);
        mtx_unlock(&ch->lock);
        p->ret(p->ret_ctx, p->user_id, r);
        free(p);
    }
}

/* End the channel once: record why, optionally tell the peer, stop the
 * socket (which also wakes a reader blocked in recv), fail waiting calls. */
static void end_channel(rv_channel *ch, rivet_error *why, bool send_hangup_frame)
{
    mtx_lock(&ch->lock);
    if (atomic_load(&ch->closing)) {
        mtx_unlock(&ch->lock);
        rivet_error_free(why);
        return;
    }
    atomic_store(&ch->closing, true);
    ch->end_error = why;
    pending_call *list = ch->pending;
    ch->pending = NULL;
    mtx_unlock(&ch->lock);
    if (send_hangup_frame)
        send_hangup(ch, why ? rivet_error_message(why) : NULL);
    mtx_lock(&ch->lock);
    atomic_store(&ch->ended, true);
    cnd_broadcast(&ch->ended_changed);
    cnd_broadcast(&ch->reader_wake);
    for (sync_wait *w = ch->waiters; w; w = w->next)
        cnd_signal(&w->wake); /* a reader in rv_channel_read_until returns */
    mtx_unlock(&ch->lock);
    shutdown(ch->cfg.fd, SHUT_RDWR);
    fail_pending(ch, list);
}

void rv_channel_close(rv_channel *ch, rivet_error *reason)
{
    end_channel(ch, reason, true);
}

/* The reader saw the end: let the owner explain it, then end. */
static void reader_end(rv_channel *ch, rivet_error *why, bool send_hangup_frame)
{
    if (atomic_load(&ch->closing)) {
        rivet_error_free(why);
        return;
    }
    if (send_hangup_frame && why)
        send_hangup(ch, rivet_error_message(why));
    if (ch->cfg.on_end)
        why = ch->cfg.on_end(ch->cfg.ctx, why);
    end_channel(ch, why, false);
}

bool rv_channel_ended(rv_channel *ch)
{
    return atomic_load(&ch->ended);
}

bool rv_channel_wait_end(rv_channel *ch, int timeout_ms)
{
    struct timespec deadline;
    timespec_get(&deadline, TIME_UTC);
    deadline.tv_sec += timeout_ms / 1000;
    deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    mtx_lock(&ch->lock);
    if (!ch->reading && atomic_load(&ch->callers) == 0)
        cnd_signal(&ch->reader_wake); /* someone must read the end */
    while (!atomic_load(&ch->ended)) {
        if (timeout_ms < 0)
            cnd_wait(&ch->ended_changed, &ch->lock);
        else if (cnd_timedwait(&ch->ended_changed, &ch->lock, &deadline) ==
                 thrd_timedout)
            break;
    }
    bool ended = atomic_load(&ch->ended);
    mtx_unlock(&ch->lock);
    return ended;
}

rivet_error *rv_channel_end_error(rv_channel *ch)
{
    mtx_lock(&ch->lock);
    rivet_error *e = atomic_load(&ch->ended) && ch->end_error
                         ? rivet_error_create(rivet_error_get_code(ch->end_error), "%s",
                                              rivet_error_message(ch->end_error))
                         : NULL;
    mtx_unlock(&ch->lock);
    return e;
}

/* ---------------------------------------------------------------- reading */

/* After a recv that returned `got`: run on_tick if tick_ms has passed
 * since it last ran, or the socket's receive timeout (tick_ms) passed with
 * nothing to read — which is what the result says (errno kept). */
static void run_tick(rv_channel *ch, uint64_t now)
{
    atomic_store(&ch->last_tick_ms, now);
    ch->cfg.on_tick(ch->cfg.ctx);
}

static bool tick(rv_channel *ch, ssize_t got)
{
    int err = errno;
    bool quiet = got < 0 && (err == EAGAIN || err == EWOULDBLOCK);
    uint64_t now = monotonic_ms();
    if (quiet || now - atomic_load(&ch->last_tick_ms) >= (uint64_t)ch->cfg.tick_ms)
        run_tick(ch, now);
    errno = err;
    return quiet;
}

/* Read exactly n bytes. *eof_at_start is set when the stream ended before
 * the first byte (a clean end between frames). */
static rivet_error *read_exact(rv_channel *ch, void *dst, size_t n,
                               bool *eof_at_start)
{
    unsigned char *out = dst;
    size_t done = 0;
    *eof_at_start = false;
    while (done < n) {
        size_t have = ch->buf_end - ch->buf_pos;
        if (have) {
            size_t k = have < n - done ? have : n - done;
            memcpy(out + done, ch->buf + ch->buf_pos, k);
            ch->buf_pos += k;
            done += k;
            continue;
        }
        /* Large payloads go straight to their destination. */
        bool direct = n - done >= ch->buf_cap / 2;
        ssize_t got = recv(ch->cfg.fd, direct ? out + done : ch->buf,
                           direct ? n - done : ch->buf_cap, 0);
        if (ch->cfg.on_tick && tick(ch, got))
            continue; /* the receive timeout passed with nothing to read */
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            return rivet_error_from_errno(errno, "reading from the %s", ch->peer);
        if (got == 0) {
            *eof_at_start = done == 0;
            return rivet_error_create(RIVET_ERR_PROTOCOL,
                                      "truncated frame from the %s", ch->peer);
        }
        if (direct) {
            done += (size_t)got;
        } else {
            ch->buf_pos = 0;
            ch->buf_end = (size_t)got;
        }
    }
    return NULL;
}

/* Read one frame; *payload is malloc'd (never NULL on success). */
static rivet_error *read_frame(rv_channel *ch, rv_frame_header *h,
                               char **payload, bool *eof_between_frames)
{
    unsigned char header[RV_FRAME_HEADER_SIZE];
    rivet_error *e = read_exact(ch, header, sizeof(header), eof_between_frames);
    if (e)
        return e;
    e = rv_frame_decode_header(header, h);
    if (e)
        return rivet_error_wrap(e, "from the %s", ch->peer);
    *payload = malloc(h->payload_size ? (size_t)h->payload_size : 1);
    if (!*payload)
        return rivet_error_create(RIVET_ERR_NOMEM,
                                  "out of memory for a %llu-byte frame",
                                  (unsigned long long)h->payload_size);
    bool eof;
    e = read_exact(ch, *payload, (size_t)h->payload_size, &eof);
    if (e) {
        free(*payload);
        *payload = NULL;
    }
    return e;
}

static pending_call *take_pending(rv_channel *ch, uint64_t id)
{
    mtx_lock(&ch->lock);
    pending_call **pp = &ch->pending;
    while (*pp && (*pp)->id != id)
        pp = &(*pp)->next;
    pending_call *p = *pp;
    if (p)
        *pp = p->next;
    mtx_unlock(&ch->lock);
    return p;
}

static rivet_error *deliver_result(rv_channel *ch, const rv_frame_header *h,
                                   char *payload)
{
    pending_call *p = take_pending(ch, h->call_id);
    if (!p) {
        free(payload);
        return rivet_error_create(RIVET_ERR_PROTOCOL,
                                  "result for call id %llu, which is not waiting",
                                  (unsigned long long)h->call_id);
    }
    rivet_wrapper_result r = {payload, (size_t)h->payload_size, NULL};
    if (h->target == RV_RESULT_FAILED) {
        r.error = rivet_error_create(RIVET_ERR_EXECUTOR, "%s: %.*s", ch->peer,
                                     (int)h->payload_size, payload);
        free(payload);
        r.data = NULL;
        r.size = 0;
    }
    p->ret(p->ret_ctx, p->user_id, r);
    free(p);
    return NULL;
}

static rivet_error *dispatch_call(rv_channel *ch, const rv_frame_header *h,
                                  char *payload)
{
    if (!ch->cfg.on_call) {
        free(payload);
        return rivet_error_create(RIVET_ERR_PROTOCOL,
                                  "the %s made a call; none are accepted here",
                                  ch->peer);
    }
    atomic_fetch_add(&ch->refs, 1); /* dropped by rv_channel_return */
    rivet_error *e = ch->cfg.on_call(ch->cfg.ctx, ch, h->call_id, h->target,
                                     payload, (size_t)h->payload_size);
    if (e)
        unref(ch);
    return e;
}

static rivet_error *peer_hangup_error(rv_channel *ch, char *payload, size_t n)
{
    rivet_error *e =
        n ? rivet_error_create(RIVET_ERR_EXECUTOR, "the %s hung up: %.*s",
                               ch->peer, (int)n, payload)
          : NULL;
    free(payload);
    return e;
}

/* Read and handle one frame; false once the channel has ended. */
static bool pump_one(rv_channel *ch)
{
    if (atomic_load(&ch->ended))
        return false;
    rv_frame_header h;
    char *payload = NULL;
    bool eof = false;
    rivet_error *e = read_frame(ch, &h, &payload, &eof);
    if (e) {
        if (atomic_load(&ch->closing)) { /* we shut the socket down ourselves */
            rivet_error_free(e);
            return false;
        }
        if (eof) {
            rivet_error_free(e);
            e = rivet_error_create(RIVET_ERR_IO,
                                   "connection to the %s lost (no hangup)",
                                   ch->peer);
        }
        reader_end(ch, e, !eof);
        return false;
    }
    switch (h.opcode) {
    case RV_FRAME_CALL: e = dispatch_call(ch, &h, payload); break;
    case RV_FRAME_RESULT: e = deliver_result(ch, &h, payload); break;
    case RV_FRAME_HANGUP:
        send_hangup(ch, NULL); /* answer in kind; a no-op if we already did */
        reader_end(ch, peer_hangup_error(ch, payload, (size_t)h.payload_size),
                   false);
        return false;
    default:
        free(payload);
        e = rivet_error_create(RIVET_ERR_PROTOCOL, "unexpected %s frame from the %s",
                               rv_frame_opcode_name(h.opcode), ch->peer);
    }
    if (e) {
        reader_end(ch, e, true);
        return false;
    }
    return true;
}

/* ---------------------------------------------------------------- the token */

/* The token was just put down, or a waiter left: if a waiter still needs
 * its answer, wake it to read; if frames sit in the buffer with nobody to
 * read them, wake the reader thread. Otherwise the reader thread takes the
 * token back when its park times out. (lock held) */
static void pass_token(rv_channel *ch)
{
    if (ch->reading || atomic_load(&ch->closing))
        return;
    for (sync_wait *w = ch->waiters; w; w = w->next) {
        if (!atomic_load(w->until)) {
            cnd_signal(&w->wake);
            return;
        }
    }
    if (ch->buf_pos < ch->buf_end)
        cnd_signal(&ch->reader_wake);
}

/* Frames are expected that no caller will read (an asynchronous call's
 * answer, the peer's end): don't let the reader thread finish its park. */
static void wake_idle_reader(rv_channel *ch)
{
    mtx_lock(&ch->lock);
    if (!ch->reading && atomic_load(&ch->callers) == 0)
        cnd_signal(&ch->reader_wake);
    mtx_unlock(&ch->lock);
}

/* Read frames holding the token until `stop` (if not NULL) is set, the
 * channel ends, or (for the reader thread, yield_to_callers) a caller
 * waits. False once the channel has ended. */
static bool pump_holding_token(rv_channel *ch, atomic_bool *stop,
                               bool yield_to_callers)
{
    rv_channel *outer = this_threads_channel;
    this_threads_channel = ch;
    bool open = true;
    while (!(stop && atomic_load(stop)) &&
           !(yield_to_callers && atomic_load(&ch->callers) > 0) &&
           (open = pump_one(ch)))
        ;
    this_threads_channel = outer;
    return open;
}

static void deadline_after(struct timespec *t, long ns)
{
    timespec_get(t, TIME_UTC);
    t->tv_nsec += ns;
    while (t->tv_nsec >= 1000000000L) {
        t->tv_sec++;
        t->tv_nsec -= 1000000000L;
    }
}

/* reader_polls: wait until the socket has something to read, holding no
 * token; false when the wait ended without (a tick, a signal). */
static bool wait_readable(rv_channel *ch)
{
    struct pollfd p = {ch->cfg.fd, POLLIN, 0};
    int r = poll(&p, 1, ch->cfg.on_tick ? ch->cfg.tick_ms : -1);
    if (r == 0)
        run_tick(ch, monotonic_ms());
    return r > 0 || (r < 0 && errno != EINTR); /* an error: the read reports it */
}

static bool pump_one_frame(rv_channel *ch)
{
    rv_channel *outer = this_threads_channel;
    this_threads_channel = ch;
    bool open = pump_one(ch);
    this_threads_channel = outer;
    return open;
}

/* The reader thread: read whenever nobody else does and no caller waits;
 * park while callers are present (until woken, while a thread reads in
 * rv_channel_read_until: it wakes us when it stops). */
void rv_channel_run(rv_channel *ch)
{
    if (this_threads_channel == ch) { /* already reading: a nested run */
        while (pump_one(ch))
            ;
        return;
    }
    bool ready = false; /* reader_polls: poll said there is something */
    mtx_lock(&ch->lock);
    while (!atomic_load(&ch->ended)) {
        if (ch->reading || atomic_load(&ch->callers) > 0) {
            ready = false;
            if (ch->idle_readers > 0) {
                cnd_wait(&ch->reader_wake, &ch->lock);
                continue;
            }
            struct timespec deadline;
            deadline_after(&deadline, READER_PARK_NS);
            cnd_timedwait(&ch->reader_wake, &ch->lock, &deadline);
            /* Back from a timeout with no caller: take over below. Still
             * callers or a reader: park again. Buffered frames and no
             * caller (pass_token's signal): take over. */
            continue;
        }
        if (ch->cfg.reader_polls && !ready && ch->buf_pos == ch->buf_end) {
            mtx_unlock(&ch->lock);
            ready = wait_readable(ch);
            mtx_lock(&ch->lock);
            continue; /* someone may have come to read it meanwhile */
        }
        ready = false;
        ch->reading = true;
        mtx_unlock(&ch->lock);
        bool open = ch->cfg.reader_polls ? pump_one_frame(ch)
                                         : pump_holding_token(ch, NULL, true);
        mtx_lock(&ch->lock);
        ch->reading = false;
        pass_token(ch);
        if (!open)
            break;
    }
    mtx_unlock(&ch->lock);
}

static int reader_main(void *arg)
{
    rv_channel_run(arg);
    return 0;
}

rivet_error *rv_channel_start(rv_channel *ch)
{
    if (thrd_create(&ch->reader, reader_main, ch) != thrd_success)
        return rivet_error_create(RIVET_ERR_GENERIC, "channel: cannot start reader");
    ch->reader_started = true;
    return NULL;
}

void rv_channel_release(rv_channel *ch)
{
    if (!ch)
        return;
    end_channel(ch, NULL, true);
    if (ch->reader_started)
        thrd_join(ch->reader, NULL);
    unref(ch);
}

/* Sending failed: the peer is gone, or hung up with a reason we have not
 * read yet. Let the read side end the channel with what it finds — the
 * peer's HANGUP reason, or end of stream and on_end's account of a dead
 * child — for up to a second, then end it with `e` (consumed). */
static void end_after_send_failure(rv_channel *ch, rivet_error *e)
{
    shutdown(ch->cfg.fd, SHUT_WR); /* a peer still reading sees the end */
    struct timespec start, t;
    clock_gettime(CLOCK_MONOTONIC, &start);
    bool holding = this_threads_channel == ch, took = false;
    for (;;) {
        clock_gettime(CLOCK_MONOTONIC, &t);
        long left_ms = 1000 - ((t.tv_sec - start.tv_sec) * 1000L +
                               (t.tv_nsec - start.tv_nsec) / 1000000L);
        if (left_ms <= 0 || atomic_load(&ch->ended))
            break;
        if (!holding && !took) {
            /* Another thread reads: wait for the end it finds, or for the
             * token (it may pass it to us, a waiter, and stop reading). */
            mtx_lock(&ch->lock);
            took = !ch->reading && !atomic_load(&ch->closing);
            if (took) {
                ch->reading = true;
            } else {
                struct timespec soon;
                deadline_after(&soon, 1000000L);
                cnd_timedwait(&ch->ended_changed, &ch->lock, &soon);
            }
            mtx_unlock(&ch->lock);
            continue;
        }
        struct pollfd p = {ch->cfg.fd, POLLIN, 0};
        bool ready = ch->buf_pos < ch->buf_end || poll(&p, 1, (int)left_ms) > 0;
        rv_channel *outer = this_threads_channel;
        this_threads_channel = ch;
        bool open = ready && pump_one(ch);
        this_threads_channel = outer;
        if (!open)
            break;
    }
    if (took) {
        mtx_lock(&ch->lock);
        ch->reading = false;
        pass_token(ch);
        mtx_unlock(&ch->lock);
    }
    rivet_error *why = rivet_error_create(RIVET_ERR_EXECUTOR, "%s",
                                          rivet_error_message(e));
    rivet_error_free(e);
    end_channel(ch, why, false);
}

/* ---------------------------------------------------------------- calling */

static void send_call(rv_channel *ch, uint64_t target, const char *arg,
                      size_t arg_size, rivet_wrapper_return_fn ret,
                      void *ret_ctx, uint64_t user_call_id)
{
    rivet_wrapper_result r = {NULL, 0, NULL};
    pending_call *p = malloc(sizeof(*p));
    if (!p) {
        r.error = rivet_error_create(RIVET_ERR_NOMEM, "channel: out of memory");
        ret(ret_ctx, user_call_id, r);
        return;
    }
    *p = (pending_call){NULL, 0, user_call_id, ret, ret_ctx};
    mtx_lock(&ch->lock);
    bool ended = atomic_load(&ch->closing);
    if (!ended) {
        p->id = ch->next_id++;
        p->next = ch->pending;
        ch->pending = p;
    }
    mtx_unlock(&ch->lock);
    if (ended) {
        free(p);
        r.error = rv_channel_end_error(ch);
        if (!r.error)
            r.error = rivet_error_create(RIVET_ERR_EXECUTOR,
                                         "connection to the %s is closed", ch->peer);
        ret(ret_ctx, user_call_id, r);
        return;
    }
    rv_frame_header h = {RV_FRAME_CALL, p->id, target, arg_size};
    uint64_t id = p->id;
    rivet_error *e = send_frame(ch, &h, arg);
    if (e && rivet_error_get_code(e) == RIVET_ERR_IO) {
        /* The socket failed; part of the frame may have gone out, so the
         * stream is unusable. The call stays pending: the channel's end
         * fails it, with the best reason the read side can find. */
        end_after_send_failure(ch, e);
    } else if (e) {
        /* Not sent (we hung up or are closing): answer here unless the
         * channel's end already did. */
        pending_call *mine = take_pending(ch, id);
        if (mine) {
            r.error = e;
            ret(ret_ctx, user_call_id, r);
            free(mine);
        } else {
            rivet_error_free(e);
        }
    }
}

void rv_channel_call(rv_channel *ch, uint64_t target, const char *arg,
                     size_t arg_size, rivet_wrapper_return_fn ret,
                     void *ret_ctx, uint64_t user_call_id)
{
    send_call(ch, target, arg, arg_size, ret, ret_ctx, user_call_id);
    wake_idle_reader(ch); /* nobody waits for this answer: read it promptly */
}

static void sync_answer(void *ctx, uint64_t id, rivet_wrapper_result r)
{
    (void)id;
    sync_wait *w = ctx;
    rv_channel *ch = w->ch;
    mtx_lock(&ch->lock);
    w->result = r;
    atomic_store(&w->done, true);
    cnd_signal(&w->wake);
    mtx_unlock(&ch->lock); /* the waiter may free w from here on */
}

/* Wait for the answer as a follower or a leader: read frames ourselves
 * whenever nobody else is (channel.c's header comment). */
static void wait_for_answer(rv_channel *ch, sync_wait *w, bool leading)
{
    mtx_lock(&ch->lock);
    for (;;) {
        if (leading) {
            mtx_unlock(&ch->lock);
            pump_holding_token(ch, &w->done, false);
            mtx_lock(&ch->lock);
            ch->reading = false;
            leading = false;
        }
        if (atomic_load(&w->done))
            break;
        if (!ch->reading && !atomic_load(&ch->closing)) {
            ch->reading = leading = true;
            continue;
        }
        /* Someone else reads (and hands us our answer or the token), or
         * the channel is ending (and fails us). */
        cnd_wait(&w->wake, &ch->lock);
    }
    sync_wait **pp = &ch->waiters;
    while (*pp != w)
        pp = &(*pp)->next;
    *pp = w->next;
    atomic_fetch_sub(&ch->callers, 1);
    pass_token(ch);
    mtx_unlock(&ch->lock);
}

rivet_error *rv_channel_call_sync(rv_channel *ch, uint64_t target,
                                  const char *arg, size_t arg_size,
                                  char **result, size_t *result_size)
{
    sync_wait w = {.ch = ch, .result = {NULL, 0, NULL}};
    atomic_init(&w.done, false);
    w.until = &w.done;
    if (cnd_init(&w.wake) != thrd_success)
        return rivet_error_create(RIVET_ERR_GENERIC, "channel: cannot create condition");
    if (this_threads_channel == ch) {
        /* We hold the token (a call made while handling a frame we read):
         * keep reading until our answer comes. */
        send_call(ch, target, arg, arg_size, sync_answer, &w, 0);
        while (!atomic_load(&w.done) && pump_one(ch))
            ;
        mtx_lock(&ch->lock);
        while (!atomic_load(&w.done)) /* ended by another thread: failing us */
            cnd_wait(&w.wake, &ch->lock);
        mtx_unlock(&ch->lock);
    } else {
        atomic_fetch_add(&ch->refs, 1); /* until we stop touching it */
        /* Join the waiters, and take the token now if it is free, before
         * the call goes out: then our answer is ours to read. */
        mtx_lock(&ch->lock);
        w.next = ch->waiters;
        ch->waiters = &w;
        atomic_fetch_add(&ch->callers, 1);
        bool leading = !ch->reading && !atomic_load(&ch->closing);
        if (leading)
            ch->reading = true;
        mtx_unlock(&ch->lock);
        rv_channel *outer = this_threads_channel;
        if (leading) /* a failed send reads the peer's reason itself */
            this_threads_channel = ch;
        send_call(ch, target, arg, arg_size, sync_answer, &w, 0);
        this_threads_channel = outer;
        wait_for_answer(ch, &w, leading);
        unref(ch);
    }
    cnd_destroy(&w.wake);
    *result = w.result.data;
    *result_size = w.result.size;
    return w.result.error;
}

bool rv_channel_read_until(rv_channel *ch, atomic_bool *stop)
{
    sync_wait w = {.ch = ch, .until = stop};
    if (cnd_init(&w.wake) != thrd_success)
        return false;
    mtx_lock(&ch->lock);
    w.next = ch->waiters;
    ch->waiters = &w;
    atomic_fetch_add(&ch->callers, 1); /* the reader thread yields to us */
    ch->idle_readers++;
    while (!atomic_load(stop) && !atomic_load(&ch->ended)) {
        if (!ch->reading && !atomic_load(&ch->closing)) {
            ch->reading = true;
            mtx_unlock(&ch->lock);
            pump_holding_token(ch, stop, false);
            mtx_lock(&ch->lock);
            ch->reading = false;
            continue;
        }
        cnd_wait(&w.wake, &ch->lock);
    }
    sync_wait **pp = &ch->waiters;
    while (*pp != &w)
        pp = &(*pp)->next;
    *pp = w.next;
    atomic_fetch_sub(&ch->callers, 1);
    ch->idle_readers--;
    pass_token(ch);
    cnd_signal(&ch->reader_wake); /* the reader thread takes over now */
    bool open = !atomic_load(&ch->ended);
    mtx_unlock(&ch->lock);
    cnd_destroy(&w.wake);
    return open;
}

void rv_channel_stop_reading(rv_channel *ch, atomic_bool *stop)
{
    mtx_lock(&ch->lock);
    atomic_store(stop, true);
    for (sync_wait *w = ch->waiters; w; w = w->next)
        if (w->until == stop)
            cnd_signal(&w->wake);
    mtx_unlock(&ch->lock);
}

void rv_channel_return(void *channel, uint64_t call_id,
                       rivet_wrapper_result result)
{
    rv_channel *ch = channel;
    if (result.error) {
        const char *m = rivet_error_message(result.error);
        rv_frame_header h = {RV_FRAME_RESULT, call_id, RV_RESULT_FAILED, strlen(m)};
        rivet_error *e = send_frame(ch, &h, m);
        rivet_error_free(e);
        rivet_error_free(result.error);
    } else {
        rv_frame_header h = {RV_FRAME_RESULT, call_id, RV_RESULT_OK, result.size};
        rivet_error_free(send_frame(ch, &h, result.data));
    }
    free(result.data);
    unref(ch);
}

/* ------------------------------------------------------- one-off frames */

rivet_error *rv_frame_write(int fd, uint64_t opcode, uint64_t call_id,
                            uint64_t target, const void *payload, size_t size)
{
    rv_channel ch = {.cfg = {.fd = fd}, .peer = "controller"};
    rv_frame_header h = {opcode, call_id, target, size};
    return write_frame_locked(&ch, &h, payload);
}

rivet_error *rv_frame_read(int fd, rv_frame_header *h, char **payload)
{
    /* Unbuffered: never read past the frame. */
    rv_channel ch = {.cfg = {.fd = fd}, .peer = "executor"};
    bool eof;
    return read_frame(&ch, h, payload, &eof);
}
