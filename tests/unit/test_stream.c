/* Checks out-of-process execution: frames and the setup payload byte for
 * byte, executor -> controller calls by tag (in-process and over a
 * socketpair, nested inside a call), concurrent calls, and the faults —
 * malformed, truncated, oversized and unknown frames, calls to addresses
 * that are not wrapper functions, malformed SPS, and a spawned executor
 * killed with SIGKILL in the middle of a call. */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <threads.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "controller/executor.h"
#include "rivet/sps.h"
#include "support/channel.h"
#include "support/frame.h"
#include "sys/sys.h"

/* ------------------------------------------------------------- helpers */

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* "echo": answers its argument with "re:" in front. */
static void echo_handler(void *ctx, uint64_t call_id, rivet_wrapper_return_fn ret,
                         void *return_ctx, const char *arg, size_t arg_size)
{
    (void)ctx;
    rivet_wrapper_result r = {malloc(arg_size + 3), arg_size + 3, NULL};
    memcpy(r.data, "re:", 3);
    memcpy(r.data + 3, arg, arg_size);
    ret(return_ctx, call_id, r);
}

/* A wrapper in the executor that calls the controller's "echo" and
 * returns what came back: the nested path (runs on the reader thread). */
static void ask_controller(rivet_session *s, uint64_t call_id,
                           rivet_wrapper_return_fn ret, void *ctx,
                           const char *arg, size_t arg_size)
{
    rivet_wrapper_result r = {NULL, 0, NULL};
    r.error = rivet_session_call_controller_sync(s, "echo", arg, arg_size,
                                                 &r.data, &r.size);
    ret(ctx, call_id, r);
}

/* "note": counts its calls (ctx: an atomic_int). */
static void note_handler(void *ctx, uint64_t call_id, rivet_wrapper_return_fn ret,
                         void *return_ctx, const char *arg, size_t arg_size)
{
    atomic_fetch_add((atomic_int *)ctx, 1);
    rivet_wrapper_result r = {malloc(1), 0, NULL};
    ret(return_ctx, call_id, r);
}

static int note_later_thread(void *p)
{
    struct timespec ts = {0, 30 * 1000000L};
    nanosleep(&ts, NULL);
    char *r = NULL;
    size_t n = 0;
    rivet_error_free(rivet_session_call_controller_sync(p, "note", NULL, 0, &r, &n));
    free(r);
    return 0;
}

/* Answers at once; 30 ms later a thread of its own calls the controller's
 * "note", when no controller thread is waiting for anything. */
static void note_later(rivet_session *s, uint64_t call_id, rivet_wrapper_return_fn ret,
                       void *ctx, const char *arg, size_t arg_size)
{
    thrd_t t;
    if (thrd_create(&t, note_later_thread, s) == thrd_success)
        thrd_detach(t);
    rivet_wrapper_result r = {malloc(1), 0, NULL};
    ret(ctx, call_id, r);
}

/* Blocking: sleeps the number of milliseconds in its u32 argument. */
static void nap(rivet_session *s, uint64_t call_id, rivet_wrapper_return_fn ret,
                void *ctx, const char *arg, size_t arg_size)
{
    uint32_t ms = 0;
    if (arg_size == 4)
        memcpy(&ms, arg, 4);
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
    rivet_wrapper_result r = {malloc(1), 1, NULL};
    r.data[0] = 'z';
    ret(ctx, call_id, r);
}

static void empty(rivet_session *s, uint64_t call_id, rivet_wrapper_return_fn ret,
                  void *ctx, const char *arg, size_t arg_size)
{
    rivet_wrapper_result r = {malloc(1), 0, NULL};
    ret(ctx, call_id, r);
}

static rivet_session *test_session(void)
{
    rivet_session *s;
    CHECK_OK(rivet_session_create(&s));
    CHECK_OK(rivet_session_add_standard_services(s));
    CHECK_OK(rivet_session_add_wrapper_function(s, "test_ask_controller", ask_controller));
    /* the same off the reader thread, as JIT'd code calls the controller */
    CHECK_OK(rivet_session_add_blocking_wrapper_function(s, "test_ask_controller_blocking",
                                                         ask_controller));
    CHECK_OK(rivet_session_add_blocking_wrapper_function(s, "test_nap", nap));
    CHECK_OK(rivet_session_add_wrapper_function(s, "test_empty", empty));
    CHECK_OK(rivet_session_add_wrapper_function(s, "test_note_later", note_later));
    return s;
}

/* Fork a child that serves a test session on one end of a socketpair;
 * returns the other end. */
static int fork_executor(pid_t *pid)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
        return -1;
    *pid = fork();
    if (*pid == 0) {
        close(sv[0]);
        rivet_session *s = test_session();
        rivet_error *e = rivet_session_serve(s, sv[1], NULL);
        rivet_session_destroy(s);
        _exit(e ? 3 : 0);
    }
    close(sv[1]);
    return sv[0];
}

static uint64_t bootstrap(rivet_executor *ex, const char *name);

/* ------------------------------------------------------------- frames */

static void test_frame_bytes(void)
{
    rv_frame_header h = {RV_FRAME_CALL, 0x0102, 0xdead, 3}, d;
    unsigned char b[RV_FRAME_HEADER_SIZE];
    rv_frame_encode_header(&h, b);
    CHECK(memcmp(b, "\x02\0\0\0\0\0\0\0" "\x02\x01\0\0\0\0\0\0"
                    "\xad\xde\0\0\0\0\0\0" "\x03\0\0\0\0\0\0\0", 32) == 0);
    CHECK_OK(rv_frame_decode_header(b, &d));
    CHECK(d.opcode == 2 && d.call_id == 0x102 && d.target == 0xdead && d.payload_size == 3);
    b[0] = 9; /* unknown opcode */
    CHECK_FAILS(rv_frame_decode_header(b, &d), RIVET_ERR_PROTOCOL);
    h.payload_size = RV_FRAME_MAX_PAYLOAD + 1;
    rv_frame_encode_header(&h, b);
    CHECK_FAILS(rv_frame_decode_header(b, &d), RIVET_ERR_PROTOCOL);
    h = (rv_frame_header){RV_FRAME_HANGUP, 1, 0, 0}; /* hangup has no id */
    rv_frame_encode_header(&h, b);
    CHECK_FAILS(rv_frame_decode_header(b, &d), RIVET_ERR_PROTOCOL);
    h = (rv_frame_header){RV_FRAME_RESULT, 1, 2, 0}; /* result status 2 */
    rv_frame_encode_header(&h, b);
    CHECK_FAILS(rv_frame_decode_header(b, &d), RIVET_ERR_PROTOCOL);

    const char *names[] = {"f"};
    uint64_t addrs[] = {0x10};
    char *p;
    size_t n;
    CHECK_OK(rv_setup_encode("x", 4096, 1, names, addrs, &p, &n));
    CHECK(n == 4 + 9 + 8 + 8 + 9 + 8 &&
          memcmp(p, "\x01\0\0\0" "\x01\0\0\0\0\0\0\0x" "\0\x10\0\0\0\0\0\0"
                    "\x01\0\0\0\0\0\0\0" "\x01\0\0\0\0\0\0\0f" "\x10\0\0\0\0\0\0\0",
                 n) == 0);
    rv_setup s;
    CHECK_OK(rv_setup_decode(p, n, &s));
    CHECK(s.page_size == 4096 && s.symbol_count == 1 && strcmp(s.names[0], "f") == 0);
    rv_setup_free(&s);
    CHECK_FAILS(rv_setup_decode(p, n - 1, &s), RIVET_ERR_PROTOCOL);
    p[0] = 2; /* another protocol version */
    CHECK_FAILS(rv_setup_decode(p, n, &s), RIVET_ERR_PROTOCOL);
    free(p);
    CHECK(rv_tag_hash("") == 0xcbf29ce484222325ull && rv_tag_hash("a") == 0xaf63dc4c8601ec8cull);
}

/* ------------------------------------------------- calls to the controller */

static void test_controller_calls_in_process(void)
{
    rivet_session *s = test_session();
    rivet_executor *ex;
    char *r = NULL;
    size_t n = 0;
    CHECK_FAILS(rivet_session_call_controller_sync(s, "echo", "x", 1, &r, &n),
                RIVET_ERR_STATE); /* nobody attached yet */
    CHECK_OK(rivet_executor_create_for_session(s, &ex));
    CHECK(rivet_session_attached() == s);
    CHECK_OK(rivet_executor_register_handler(ex, "echo", echo_handler, NULL));
    CHECK_FAILS(rivet_executor_register_handler(ex, "echo", echo_handler, NULL),
                RIVET_ERR_DUPLICATE);
    CHECK_OK(rivet_session_call_controller_sync(s, "echo", "hi", 2, &r, &n));
    CHECK(n == 5 && memcmp(r, "re:hi", 5) == 0);
    free(r);
    CHECK_FAILS(rivet_session_call_controller_sync(s, "nope", "", 0, &r, &n),
                RIVET_ERR_NOT_FOUND);
    rivet_executor_destroy(ex);
    rivet_session_destroy(s);
}

static uint64_t bootstrap(rivet_executor *ex, const char *name)
{
    /* The test's own executor shares this binary's layout (fork). */
    rivet_session *s = test_session();
    uint64_t addr = 0;
    rivet_session_lookup_bootstrap_symbol(s, name, &addr);
    rivet_session_destroy(s);
    (void)ex;
    return addr;
}

typedef struct nap_call {
    rivet_executor *ex;
    uint32_t ms;
    rivet_error *e;
    double took;
} nap_call;

static int nap_thread(void *p)
{
    nap_call *c = p;
    char *r = NULL;
    size_t n = 0;
    double t0 = now_ms();
    c->e = c->ex->ops->call(c->ex, bootstrap(c->ex, "test_nap"),
                            (const char *)&c->ms, 4, &r, &n);
    c->took = now_ms() - t0;
    free(r);
    return 0;
}

static void test_controller_calls_over_stream(void)
{
    pid_t pid;
    int fd = fork_executor(&pid);
    rivet_executor *ex = NULL;
    CHECK_OK(rivet_executor_connect_fd(fd, &ex));
    if (!ex)
        return;
    CHECK(!ex->in_process && ex->page_size >= 4096);
    CHECK_OK(rivet_executor_register_handler(ex, "echo", echo_handler, NULL));
    char *r = NULL;
    size_t n = 0;
    /* a wrapper calling back into the controller while it runs */
    CHECK_OK(ex->ops->call(ex, bootstrap(ex, "test_ask_controller"), "yo", 2, &r, &n));
    CHECK(n == 5 && r && memcmp(r, "re:yo", 5) == 0);
    free(r);

    /* a long blocking call does not hold up quick calls beside it */
    nap_call slow = {ex, 400, NULL, 0};
    thrd_t t;
    thrd_create(&t, nap_thread, &slow);
    struct timespec ts = {0, 50 * 1000000L};
    nanosleep(&ts, NULL);
    double t0 = now_ms();
    nap_call quick = {ex, 0, NULL, 0};
    nap_thread(&quick);
    CHECK_OK(quick.e);
    CHECK(now_ms() - t0 < 300);
    thrd_join(t, NULL);
    CHECK_OK(slow.e);
    CHECK(slow.took >= 390);

    /* the typed calls work the same as in-process */
    uint64_t slab = 0, region = 0;
    CHECK_OK(rv_executor_reserve(ex, 8192, RIVET_PLACE_ANYWHERE, &slab));
    rivet_segment seg = {slab, 4096, "abc", 3, RIVET_PROT_READ, false};
    rivet_initialize_request req = {&seg, 1, NULL, 0};
    CHECK_OK(rv_executor_initialize(ex, &req, &region));
    CHECK_FAILS(rv_executor_initialize(ex, &req, &region), RIVET_ERR_EXECUTOR);
    CHECK_OK(rv_executor_release_multiple(ex, &slab, 1));

    /* reservations in flight while other calls come and go: each answer
     * reaches its own call, collected in any order; a refused one too */
    rv_pending_call *first = NULL, *second = NULL, *refused = NULL;
    CHECK_OK(rv_executor_reserve_start(ex, 8192, RIVET_PLACE_ANYWHERE, &first));
    CHECK_OK(rv_executor_reserve_start(ex, 0, RIVET_PLACE_ANYWHERE, &refused));
    CHECK_OK(rv_executor_reserve_start(ex, 4096, RIVET_PLACE_LOW_2G, &second));
    CHECK_OK(ex->ops->call(ex, bootstrap(ex, "test_ask_controller"), "in flight", 9,
                           &r, &n));
    CHECK(n == 12 && r && memcmp(r, "re:in flight", 12) == 0);
    free(r);
    uint64_t a = 0, b = 0, none = 0;
    if (second)
        CHECK_OK(rv_executor_reserve_finish(second, &b));
    if (refused)
        CHECK_FAILS(rv_executor_reserve_finish(refused, &none), RIVET_ERR_EXECUTOR);
    if (first)
        CHECK_OK(rv_executor_reserve_finish(first, &a));
    CHECK(a && b && a != b && b + 4096 <= 0x80000000ull && none == 0);
    uint64_t both[2] = {a, b};
    CHECK_OK(rv_executor_release_multiple(ex, both, 2));

    rivet_executor_destroy(ex);
    int status = -1;
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0); /* clean hangup */
}

/* Many threads calling at once, each call a different path: an empty
 * wrapper (answered inline), one that calls back into the controller from
 * the executor's reader (the controller's "echo" runs on whichever
 * controller thread is reading), and one that calls back from a blocking
 * wrapper's thread. Every answer must reach its own caller. */
typedef struct caller_run {
    rivet_executor *ex;
    int index, bad;
    rivet_error *e;
} caller_run;

static int caller_thread(void *p)
{
    caller_run *c = p;
    static const char *const names[] = {"test_empty", "test_ask_controller",
                                        "test_ask_controller_blocking"};
    uint64_t fn[3];
    for (int k = 0; k < 3; k++)
        fn[k] = bootstrap(c->ex, names[k]);
    for (int i = 0; i < 200 && !c->e; i++) {
        int k = (i + c->index) % 3;
        char arg[32], *r = NULL;
        size_t n = 0;
        int len = snprintf(arg, sizeof(arg), "t%d-%d", c->index, i);
        c->e = c->ex->ops->call(c->ex, fn[k], arg, (size_t)len, &r, &n);
        if (!c->e && k == 0 && n != 0)
            c->bad++;
        if (!c->e && k != 0 &&
            (n != (size_t)len + 3 || memcmp(r, "re:", 3) != 0 ||
             memcmp(r + 3, arg, (size_t)len) != 0))
            c->bad++;
        free(r);
    }
    return 0;
}

static void test_many_callers(void)
{
    pid_t pid;
    int fd = fork_executor(&pid);
    rivet_executor *ex = NULL;
    CHECK_OK(rivet_executor_connect_fd(fd, &ex));
    if (!ex)
        return;
    CHECK_OK(rivet_executor_register_handler(ex, "echo", echo_handler, NULL));
    enum { THREADS = 6 };
    caller_run runs[THREADS];
    thrd_t t[THREADS];
    for (int i = 0; i < THREADS; i++) {
        runs[i] = (caller_run){ex, i, 0, NULL};
        thrd_create(&t[i], caller_thread, &runs[i]);
    }
    for (int i = 0; i < THREADS; i++) {
        thrd_join(t[i], NULL);
        CHECK_OK(runs[i].e);
        CHECK(runs[i].bad == 0);
    }
    /* A call from the executor while no controller thread waits: the
     * connection's reader thread takes reading back and answers it. */
    atomic_int noted;
    atomic_init(&noted, 0);
    CHECK_OK(rivet_executor_register_handler(ex, "note", note_handler, &noted));
    char *r = NULL;
    size_t n = 0;
    CHECK_OK(ex->ops->call(ex, bootstrap(ex, "test_note_later"), NULL, 0, &r, &n));
    free(r);
    double t0 = now_ms();
    while (!atomic_load(&noted) && now_ms() - t0 < 2000) {
        struct timespec ts = {0, 1000000L};
        nanosleep(&ts, NULL);
    }
    CHECK(atomic_load(&noted) == 1);
    r = NULL;
    CHECK_OK(ex->ops->call(ex, bootstrap(ex, "test_ask_controller_blocking"), "q", 1,
                           &r, &n));
    CHECK(n == 4 && r && memcmp(r, "re:q", 4) == 0);
    free(r);
    rivet_executor_destroy(ex);
    int status = -1;
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* ------------------------------------------- faults seen by the executor */

/* Serve a test session on one end; the test writes raw bytes to the other
 * and gets back how serve ended and what the executor sent. */
typedef struct serve_run {
    rivet_session *s;
    int fd;
    rivet_error *e;
} serve_run;

static int serve_thread(void *p)
{
    serve_run *sr = p;
    sr->e = rivet_session_serve(sr->s, sr->fd, NULL);
    return 0;
}

static void start_serve(serve_run *sr, thrd_t *t, int *peer)
{
    int sv[2];
    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv);
    sr->s = test_session();
    sr->fd = sv[1];
    sr->e = NULL;
    *peer = sv[0];
    thrd_create(t, serve_thread, sr);
    rv_frame_header h;
    char *payload = NULL;
    CHECK_OK(rv_frame_read(*peer, &h, &payload)); /* the setup frame */
    CHECK(h.opcode == RV_FRAME_SETUP);
    free(payload);
}

/* Send `bytes`, then expect a HANGUP whose reason contains `reason` and
 * serve to fail with it. */
static void expect_executor_refuses(const void *bytes, size_t n, bool close_after,
                                    const char *reason)
{
    serve_run sr;
    thrd_t t;
    int peer;
    start_serve(&sr, &t, &peer);
    CHECK(write(peer, bytes, n) == (ssize_t)n);
    if (close_after)
        shutdown(peer, SHUT_WR);
    rv_frame_header h = {0, 0, 0, 0};
    char *payload = NULL;
    rivet_error *e = rv_frame_read(peer, &h, &payload);
    if (!close_after) {
        CHECK_OK(e);
        CHECK(h.opcode == RV_FRAME_HANGUP && payload &&
              memmem(payload, (size_t)h.payload_size, reason, strlen(reason)));
    } else {
        rivet_error_free(e);
    }
    free(payload);
    thrd_join(t, NULL);
    CHECK(sr.e && strstr(rivet_error_message(sr.e), reason));
    if (!sr.e || !strstr(rivet_error_message(sr.e), reason))
        fprintf(stderr, "  serve said: %s\n", sr.e ? rivet_error_message(sr.e) : "(ok)");
    rivet_error_free(sr.e);
    close(peer);
    close(sr.fd);
    rivet_session_destroy(sr.s);
}

static void test_executor_faults(void)
{
    unsigned char b[RV_FRAME_HEADER_SIZE];
    rv_frame_header h = {7, 1, 0, 0};
    rv_frame_encode_header(&h, b);
    expect_executor_refuses(b, sizeof(b), false, "unknown opcode");
    h = (rv_frame_header){RV_FRAME_CALL, 1, 0x1000, (uint64_t)1 << 40};
    rv_frame_encode_header(&h, b);
    expect_executor_refuses(b, sizeof(b), false, "1 GiB limit");
    h = (rv_frame_header){RV_FRAME_CALL, 1, 0x1234, 0};
    rv_frame_encode_header(&h, b);
    expect_executor_refuses(b, sizeof(b), false, "not a wrapper function");
    h = (rv_frame_header){RV_FRAME_SETUP, 0, 0, 0};
    rv_frame_encode_header(&h, b);
    expect_executor_refuses(b, sizeof(b), false, "unexpected setup frame");
    h = (rv_frame_header){RV_FRAME_RESULT, 99, 0, 0};
    rv_frame_encode_header(&h, b);
    expect_executor_refuses(b, sizeof(b), false, "not waiting");
    expect_executor_refuses(b, 10, true, "truncated frame");
    expect_executor_refuses("", 0, true, "lost");

    /* Malformed SPS is answered, not fatal; then a clean hangup. */
    serve_run sr;
    thrd_t t;
    int peer;
    start_serve(&sr, &t, &peer);
    uint64_t reserve = 0;
    rivet_session_lookup_bootstrap_symbol(sr.s, "rivet_memory_map_reserve_sps", &reserve);
    CHECK_OK(rv_frame_write(peer, RV_FRAME_CALL, 5, reserve, "\x01\x02", 2));
    char *payload = NULL;
    CHECK_OK(rv_frame_read(peer, &h, &payload));
    CHECK(h.opcode == RV_FRAME_RESULT && h.call_id == 5 && h.target == RV_RESULT_OK &&
          payload[0] == 0 /* expected: error */ &&
          memmem(payload, (size_t)h.payload_size, "malformed", 9));
    free(payload);
    CHECK_OK(rv_frame_write(peer, RV_FRAME_HANGUP, 0, 0, NULL, 0));
    CHECK_OK(rv_frame_read(peer, &h, &payload));
    CHECK(h.opcode == RV_FRAME_HANGUP && h.payload_size == 0);
    free(payload);
    thrd_join(t, NULL);
    CHECK_OK(sr.e);
    close(peer);
    close(sr.fd);
    rivet_session_destroy(sr.s);
}

/* ----------------------------------------- faults seen by the controller */

/* A fake executor: sends `bytes` and closes (or not). */
static rivet_error *connect_to_fake(const void *bytes, size_t n)
{
    int sv[2];
    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv);
    if (n)
        CHECK(write(sv[1], bytes, n) == (ssize_t)n);
    close(sv[1]);
    rivet_executor *ex = NULL;
    rivet_error *e = rivet_executor_connect_fd(sv[0], &ex);
    if (ex)
        rivet_executor_destroy(ex);
    return e;
}

static void test_controller_faults(void)
{
    unsigned char b[RV_FRAME_HEADER_SIZE];
    rv_frame_header h = {RV_FRAME_CALL, 1, 2, 0};
    rv_frame_encode_header(&h, b);
    CHECK_FAILS(connect_to_fake(b, sizeof(b)), RIVET_ERR_PROTOCOL); /* not setup */
    h = (rv_frame_header){0x55, 0, 0, 0};
    rv_frame_encode_header(&h, b);
    CHECK_FAILS(connect_to_fake(b, sizeof(b)), RIVET_ERR_PROTOCOL);
    CHECK_FAILS(connect_to_fake(b, 7), RIVET_ERR_PROTOCOL); /* truncated */
    h = (rv_frame_header){RV_FRAME_SETUP, 0, 0, 5};
    rv_frame_encode_header(&h, b);
    unsigned char junk[RV_FRAME_HEADER_SIZE + 5];
    memcpy(junk, b, sizeof(b));
    memcpy(junk + sizeof(b), "junk!", 5);
    CHECK_FAILS(connect_to_fake(junk, sizeof(junk)), RIVET_ERR_PROTOCOL);

    /* A peer that answers a call with an oversized frame: the call fails,
     * nothing hangs. */
    pid_t pid;
    int fd = fork_executor(&pid);
    rivet_executor *ex = NULL;
    CHECK_OK(rivet_executor_connect_fd(fd, &ex));
    if (!ex)
        return;
    /* Inject from our side: a result for a call id nobody made. */
    CHECK_OK(rv_frame_write(fd, RV_FRAME_RESULT, 777, 0, NULL, 0));
    char *r = NULL;
    size_t n = 0;
    rivet_error *e = ex->ops->call(ex, bootstrap(ex, "test_empty"), NULL, 0, &r, &n);
    /* the executor hangs up on the stray result; this call fails or raced
     * through, but a second one must fail */
    rivet_error_free(e);
    free(r);
    r = NULL;
    e = ex->ops->call(ex, bootstrap(ex, "test_empty"), NULL, 0, &r, &n);
    CHECK(e && strstr(rivet_error_message(e), "not waiting"));
    if (e && !strstr(rivet_error_message(e), "not waiting"))
        fprintf(stderr, "  second call said: %s\n", rivet_error_message(e));
    rivet_error_free(e);
    free(r);
    rivet_executor_destroy(ex);
    int status;
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 3);
}

/* ------------------------------------------------- kill -9 a real child */

static void test_spawned_child_killed(void)
{
    rivet_executor *ex = check_spawn_built_executor();
    if (!ex)
        return;
    const char *names[] = {"getpid", "pause"};
    uint64_t addrs[2] = {0, 0};
    CHECK_OK(rv_executor_lookup_symbols(ex, names, 2, addrs));
    int child = 0;
    CHECK_OK(rv_executor_run_function(ex, addrs[0], &child));
    CHECK(child > 0 && child != getpid());
    int ws;
    CHECK(!rivet_executor_exit_status(ex, &ws));

    /* pause() never returns: kill the executor while main waits on it. */
    pid_t killer = fork();
    if (killer == 0) {
        struct timespec ts = {0, 200 * 1000000L};
        nanosleep(&ts, NULL);
        kill(child, SIGKILL);
        _exit(0);
    }
    double t0 = now_ms();
    int v;
    rivet_error *e = rv_executor_run_function(ex, addrs[1], &v);
    double took = now_ms() - t0;
    CHECK(e && strstr(rivet_error_message(e), "executor exited (signal 9)"));
    if (e)
        fprintf(stderr, "  (%s after %.0f ms)\n", rivet_error_message(e), took);
    rivet_error_free(e);
    CHECK(took < 1500);
    CHECK(rivet_executor_exit_status(ex, &ws) && WIFSIGNALED(ws) && WTERMSIG(ws) == SIGKILL);
    /* later calls fail at once */
    CHECK_FAILS(rv_executor_run_function(ex, addrs[0], &v), RIVET_ERR_EXECUTOR);
    rivet_executor_destroy(ex);
    waitpid(killer, NULL, 0);
    CHECK(kill(child, 0) != 0 && errno == ESRCH); /* reaped: no zombie */
}

/* A spawned executor's memory is written directly by its controller
 * (rv_sys_write_process): code written into a reserved slab runs there
 * once initialized in place, with no content sent. A process that is gone
 * cannot be written: an error, not a crash. */
static void test_spawn_direct_write(void)
{
    rivet_executor *ex = check_spawn_built_executor();
    if (!ex)
        return;
    uint64_t slab = 0, region = 0;
    CHECK_OK(rv_executor_reserve(ex, 1 << 20, RIVET_PLACE_NEAR_LIBRARIES, &slab));
    CHECK(ex->local_pid != 0 && ex->local_pid != (uint64_t)getpid());
    rv_sys_write_part code = {"\xb8\x2a\x00\x00\x00\xc3", slab, 6}; /* mov $42,%eax; ret */
    CHECK_OK(rv_sys_write_process(ex->local_pid, &code, 1));
    rivet_segment seg = {slab, 4096, NULL, 0, RIVET_PROT_READ | RIVET_PROT_EXEC, true};
    rivet_initialize_request req = {&seg, 1, NULL, 0};
    CHECK_OK(rv_executor_initialize(ex, &req, &region));
    int v = 0;
    CHECK_OK(rv_executor_run_function(ex, slab, &v));
    CHECK(v == 42);
    CHECK_OK(rv_executor_deinitialize_multiple(ex, &region, 1));
    CHECK_OK(rv_executor_release_multiple(ex, &slab, 1));
    /* rivet-executor starts with libm loaded: a math name is found by the
     * first lookup in the process, with no library opened for it */
    const char *math[] = {"cos"};
    uint64_t found = 0;
    CHECK_OK(rv_executor_lookup_symbols(ex, math, 1, &found));
    CHECK(found != 0);
    rivet_executor_destroy(ex);

    pid_t gone = fork();
    if (gone == 0)
        _exit(0);
    waitpid(gone, NULL, 0);
    rivet_error *e = rv_sys_write_process((uint64_t)gone, &code, 1);
    CHECK(e != NULL);
    rivet_error_free(e);
}

/* A listening rivet-executor has libm loaded too: a controller reaching it
 * over TCP finds a math name by its first lookup in the process. */
static void test_listening_executor_has_libm(void)
{
    char *path = check_built_executor();
    if (!path)
        return;
    int err[2];
    CHECK(pipe(err) == 0);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(err[1], 2);
        close(err[0]);
        close(err[1]);
        execl(path, "rivet-executor", "--listen", "127.0.0.1:0", "--once", (char *)NULL);
        _exit(127);
    }
    free(path);
    close(err[1]);
    char line[256] = "";
    FILE *f = fdopen(err[0], "r");
    unsigned port = 0;
    while (f && fgets(line, sizeof(line), f) &&
           sscanf(line, "rivet-executor: listening on %*s port %u", &port) != 1)
        ;
    CHECK(port != 0);
    rivet_executor *ex = NULL;
    if (port)
        CHECK_OK(rivet_executor_connect_tcp("127.0.0.1", (uint16_t)port, &ex));
    if (ex) {
        const char *math[] = {"cos"};
        uint64_t found = 0;
        CHECK_OK(rv_executor_lookup_symbols(ex, math, 1, &found));
        CHECK(found != 0);
        rivet_executor_destroy(ex); /* --once: the executor ends with us */
    } else {
        kill(pid, SIGKILL);
    }
    int status = 0;
    double took = 0;
    CHECK(check_reap_within(pid, 5000, &status, &took) && WIFEXITED(status));
    if (f)
        fclose(f);
}

/* Spawning does not wait for the child: it starts while the controller
 * goes on, and a child that cannot start is reported by the first use,
 * to every later use too, with no process left behind. */
static void test_spawn_deferred(void)
{
    char dir[] = "/tmp/rivet-test-stream-XXXXXX";
    if (!mkdtemp(dir)) {
        CHECK(!"mkdtemp");
        return;
    }
    /* A child that is slow to start: the spawn must not wait for it. */
    char slow[PATH_MAX];
    snprintf(slow, sizeof(slow), "%s/slow-executor", dir);
    FILE *f = fopen(slow, "w");
    CHECK(f != NULL);
    if (!f)
        return;
    fputs("#!/bin/sh\nsleep 2\nexit 3\n", f);
    fclose(f);
    chmod(slow, 0755);
    rivet_executor *ex = NULL;
    double t0 = now_ms();
    CHECK_OK(rivet_executor_spawn(slow, &ex));
    CHECK(now_ms() - t0 < 1000);
    if (ex) {
        const char *names[] = {"getpid"};
        uint64_t addr = 0;
        rivet_error *e = rv_executor_lookup_symbols(ex, names, 1, &addr);
        CHECK(e && strstr(rivet_error_message(e), "executor exited (status 3)"));
        rivet_error_free(e);
        e = rv_executor_ready(ex);
        CHECK(e && strstr(rivet_error_message(e), "executor exited (status 3)"));
        rivet_error_free(e);
        rivet_executor_destroy(ex);
    }

    /* A program that does not exist: named in the error, at once. */
    char missing[PATH_MAX];
    snprintf(missing, sizeof(missing), "%s/no-such-executor", dir);
    ex = NULL;
    rivet_error *e = rivet_executor_spawn(missing, &ex);
    CHECK(e && strstr(rivet_error_message(e), missing));
    rivet_error_free(e);
    CHECK(ex == NULL);

    /* One that exists but cannot be executed: the same. */
    f = fopen(slow, "w");
    if (f) {
        fputs("not a program\n", f);
        fclose(f);
        chmod(slow, 0644);
        e = rivet_executor_spawn(slow, &ex);
        CHECK(e && strstr(rivet_error_message(e), slow));
        rivet_error_free(e);
        unlink(slow);
    }
    rmdir(dir);
}

/* ------------------------------------------- the executor and its parent */

typedef struct spawn_run {
    const char *path;
    rivet_executor *ex;
    rivet_error *e;
} spawn_run;

static int spawn_thread(void *p)
{
    spawn_run *sr = p;
    sr->e = rivet_executor_spawn(sr->path, &sr->ex);
    return 0;
}

static void test_spawn_parent(void)
{
    char *path = check_built_executor();
    if (!path)
        return;
    /* Spawned from a thread that then ends: the executor lives on with
     * the process (PR_SET_PDEATHSIG would have killed it here). */
    spawn_run sr = {path, NULL, NULL};
    thrd_t t;
    thrd_create(&t, spawn_thread, &sr);
    thrd_join(t, NULL);
    CHECK_OK(sr.e);
    if (sr.ex) {
        struct timespec ts = {0, 100 * 1000000L};
        nanosleep(&ts, NULL);
        const char *names[] = {"getpid"};
        uint64_t addr = 0;
        int child = 0;
        CHECK_OK(rv_executor_lookup_symbols(sr.ex, names, 1, &addr));
        CHECK_OK(rv_executor_run_function(sr.ex, addr, &child));
        CHECK(child > 0);
        rivet_executor_destroy(sr.ex);
    }

    /* The controller's process ends while a forked copy of it keeps the
     * socket open: the executor still ends, by watching its parent. (We
     * adopt the orphans, as a subreaper, to reap them.) */
    int report[2];
    CHECK(pipe(report) == 0);
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    pid_t controller = fork();
    if (controller == 0) {
        rivet_executor *ex = NULL;
        int pids[2] = {0, 0};
        const char *names[] = {"getpid"};
        uint64_t addr = 0;
        if (rivet_executor_spawn(path, &ex) ||
            rv_executor_lookup_symbols(ex, names, 1, &addr) ||
            rv_executor_run_function(ex, addr, &pids[0]))
            _exit(1);
        pids[1] = fork();
        if (pids[1] == 0) { /* holds the socket for 3 s */
            struct timespec ts = {3, 0};
            nanosleep(&ts, NULL);
            _exit(0);
        }
        if (write(report[1], pids, sizeof(pids)) != sizeof(pids))
            _exit(1);
        _exit(0); /* no hangup: the process just ends */
    }
    close(report[1]);
    int pids[2] = {0, 0};
    CHECK(read(report[0], pids, sizeof(pids)) == sizeof(pids));
    close(report[0]);
    waitpid(controller, NULL, 0);
    int status = 0;
    double took = 0;
    bool reaped = check_reap_within(pids[0], 2000, &status, &took);
    CHECK(reaped && WIFEXITED(status) && WEXITSTATUS(status) == 1);
    CHECK(took < 1000);
    if (!reaped)
        check_kill(pids[0]);
    check_kill(pids[1]);
    prctl(PR_SET_CHILD_SUBREAPER, 0);
    free(path);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    test_frame_bytes();
    test_controller_calls_in_process();
    test_controller_calls_over_stream();
    test_many_callers();
    test_executor_faults();
    test_controller_faults();
    test_spawned_child_killed();
    test_spawn_deferred();
    test_spawn_direct_write();
    test_listening_executor_has_libm();
    test_spawn_parent();
    return check_report("test_stream");
}
