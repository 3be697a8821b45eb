/*
 * bench/oop_rtt.c — round-trip time of an empty wrapper call to an
 * out-of-process executor, against a plain ping-pong of the same bytes
 * (a 32-byte frame each way) over the same kind of socketpair.
 *
 *   oop_rtt [ITERATIONS]    prints both medians and the ratio
 *
 * Both sides run in a forked child: the ping-pong child echoes 32 bytes;
 * the executor child serves a librivet-rt session (rivet_session_serve)
 * whose `bench_empty` wrapper answers with no bytes. The controller side
 * calls it through the same path the linker uses (ex->ops->call).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "controller/executor.h"

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Median of `rounds` batches of `n` round trips, in microseconds each. */
typedef void (*round_trip_fn)(void *ctx);

static double measure(round_trip_fn f, void *ctx, int n)
{
    enum { ROUNDS = 15 };
    double per[ROUNDS];
    for (int i = 0; i < n / 10; i++)
        f(ctx); /* warm up */
    for (int r = 0; r < ROUNDS; r++) {
        double t0 = now_ns();
        for (int i = 0; i < n / ROUNDS; i++)
            f(ctx);
        per[r] = (now_ns() - t0) / (n / ROUNDS) / 1e3;
    }
    qsort(per, ROUNDS, sizeof(per[0]), cmp_double);
    return per[ROUNDS / 2];
}

/* ---------------------------------------------------------- ping-pong */

static void full(int fd, void *p, size_t n, bool write_side)
{
    char *c = p;
    while (n) {
        ssize_t k = write_side ? write(fd, c, n) : read(fd, c, n);
        if (k <= 0)
            _exit(1);
        c += k;
        n -= (size_t)k;
    }
}

static void ping(void *ctx)
{
    int fd = *(int *)ctx;
    char frame[32] = {2};
    full(fd, frame, sizeof(frame), true);
    full(fd, frame, sizeof(frame), false);
}

static double ping_pong(int n)
{
    int sv[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    pid_t pid = fork();
    if (pid == 0) {
        close(sv[0]);
        char frame[32];
        for (;;) {
            size_t got = 0;
            while (got < sizeof(frame)) {
                ssize_t k = read(sv[1], frame + got, sizeof(frame) - got);
                if (k <= 0)
                    _exit(0);
                got += (size_t)k;
            }
            full(sv[1], frame, sizeof(frame), true);
        }
    }
    close(sv[1]);
    double us = measure(ping, &sv[0], n);
    close(sv[0]);
    waitpid(pid, NULL, 0);
    return us;
}

/* ------------------------------------------------------- wrapper call */

static void bench_empty(rivet_session *s, uint64_t call_id,
                        rivet_wrapper_return_fn ret, void *ctx,
                        const char *arg, size_t arg_size)
{
    rivet_wrapper_result r = {malloc(1), 0, NULL};
    ret(ctx, call_id, r);
}

static void call_empty(void *ctx)
{
    rivet_executor *ex = ctx;
    char *r = NULL;
    size_t n = 0;
    rivet_error *e = ex->ops->call(ex, (uint64_t)(uintptr_t)bench_empty, NULL, 0,
                                   &r, &n);
    if (e) {
        fprintf(stderr, "oop_rtt: %s\n", rivet_error_message(e));
        exit(1);
    }
    free(r);
}

static double wrapper_calls(int n)
{
    int sv[2];
    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv);
    pid_t pid = fork();
    if (pid == 0) {
        close(sv[0]);
        rivet_session *s;
        if (rivet_session_create(&s) || rivet_session_add_standard_services(s) ||
            rivet_session_add_wrapper_function(s, "bench_empty", bench_empty))
            _exit(1);
        rivet_error *e = rivet_session_serve(s, sv[1], NULL);
        rivet_session_destroy(s);
        _exit(e != NULL);
    }
    close(sv[1]);
    rivet_executor *ex;
    rivet_error *e = rivet_executor_connect_fd(sv[0], &ex);
    if (e) {
        fprintf(stderr, "oop_rtt: %s\n", rivet_error_message(e));
        exit(1);
    }
    double us = measure(call_empty, ex, n);
    rivet_executor_destroy(ex);
    waitpid(pid, NULL, 0);
    return us;
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 30000;
    signal(SIGPIPE, SIG_IGN);
    double pp = ping_pong(n);
    double wc = wrapper_calls(n);
    printf("round trip, median of 15 batches of %d:\n", n / 15);
    printf("  ping-pong 32 B each way (socketpair)   %8.2f us  1.00\n", pp);
    printf("  empty wrapper call (rivet frames)      %8.2f us  %.2f\n", wc, wc / pp);
    return 0;
}
