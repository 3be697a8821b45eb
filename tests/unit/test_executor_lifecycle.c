/* Checks the start and end of an executor connection: a channel's tick
 * (on a quiet socket, under steady traffic, never ending the channel), a
 * spawned rivet-executor noticing its parent's end with no watchdog
 * thread — while its main thread runs JIT'd code and while exit handlers
 * run — an idle executor sleeping between its parent checks, and a
 * spawned executor destroyed before or after first use, asked to exit, or
 * killed between calls, with no process left behind. */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <threads.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "controller/executor.h"
#include "rivet/controller.h"
#include "support/channel.h"
#include "support/frame.h"
#include "sys/sys.h"

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* ------------------------------------------------------- channel ticks */

static void count_tick(void *ctx)
{
    atomic_fetch_add((atomic_int *)ctx, 1);
}

/* Answers every call with its argument. */
static rivet_error *echo_call(void *ctx, rv_channel *ch, uint64_t call_id,
                              uint64_t target, char *arg, size_t arg_size)
{
    rivet_wrapper_result r = {arg, arg_size, NULL};
    rv_channel_return(ch, call_id, r);
    return NULL;
}

typedef struct pinger {
    rv_channel *ch;
    atomic_bool stop;
    atomic_int calls;
} pinger;

static int ping_loop(void *p)
{
    pinger *pg = p;
    while (!atomic_load(&pg->stop)) {
        char *r = NULL;
        size_t n = 0;
        rivet_error *e = rv_channel_call_sync(pg->ch, 1, "x", 1, &r, &n);
        if (e) {
            rivet_error_free(e);
            break;
        }
        free(r);
        atomic_fetch_add(&pg->calls, 1);
        sleep_ms(2);
    }
    return 0;
}

static void test_channel_tick(void)
{
    int sv[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
    atomic_int ticks;
    atomic_init(&ticks, 0);
    rv_channel *quiet = NULL, *peer = NULL;
    rv_channel_config qc = {.fd = sv[0], .peer = "controller", .ctx = &ticks,
                            .on_call = echo_call, .on_tick = count_tick,
                            .tick_ms = 50};
    rv_channel_config pc = {.fd = sv[1], .peer = "executor"};
    CHECK_OK(rv_channel_create(&qc, &quiet));
    CHECK_OK(rv_channel_create(&pc, &peer));
    if (!quiet || !peer)
        return;
    CHECK_OK(rv_channel_start(quiet));
    CHECK_OK(rv_channel_start(peer));

    /* Nothing arrives: the reading thread still ticks, and the receive
     * timeout behind it does not end the channel. */
    sleep_ms(320);
    int idle = atomic_load(&ticks);
    CHECK(idle >= 3 && idle <= 8);
    CHECK(!rv_channel_ended(quiet));

    /* Calls keep arriving, more often than the tick: it goes on. */
    pinger pg = {.ch = peer};
    atomic_init(&pg.stop, false);
    atomic_init(&pg.calls, 0);
    thrd_t t;
    CHECK(thrd_create(&t, ping_loop, &pg) == thrd_success);
    sleep_ms(320);
    atomic_store(&pg.stop, true);
    thrd_join(t, NULL);
    int busy = atomic_load(&ticks) - idle;
    CHECK(atomic_load(&pg.calls) > 20);
    CHECK(busy >= 3 && busy <= 8);
    CHECK(!rv_channel_ended(quiet));

    /* A clean end is still clean. */
    rv_channel_hangup(peer);
    CHECK(rv_channel_wait_end(quiet, 2000));
    CHECK(rv_channel_wait_end(peer, 2000));
    rivet_error *why = rv_channel_end_error(quiet);
    CHECK(why == NULL);
    rivet_error_free(why);
    rv_channel_release(quiet);
    rv_channel_release(peer);
    close(sv[0]);
    close(sv[1]);

    /* A descriptor that is not a socket cannot tick: refused. */
    int p[2];
    CHECK(pipe(p) == 0);
    rv_channel_config bad = {.fd = p[0], .peer = "controller", .ctx = &ticks,
                             .on_tick = count_tick, .tick_ms = 50};
    rv_channel *ch = NULL;
    rivet_error *e = rv_channel_create(&bad, &ch);
    CHECK(e != NULL && ch == NULL);
    rivet_error_free(e);
    close(p[0]);
    close(p[1]);
}

/* --------------------------------------------- spawned executor's life */

static uint64_t lookup(rivet_executor *ex, const char *name)
{
    uint64_t addr = 0;
    CHECK_OK(rv_executor_lookup_symbols(ex, &name, 1, &addr));
    return addr;
}

/* Destroyed at once, before the child is even started; destroyed after
 * use; asked to exit with a status; killed between calls. Each time the
 * child is gone afterwards. */
static void test_spawn_lifecycle(void)
{
    rivet_executor *ex = check_spawn_built_executor();
    if (!ex)
        return;
    rivet_executor_destroy(ex);

    ex = check_spawn_built_executor();
    int pid = 0;
    CHECK_OK(rv_executor_run_function(ex, lookup(ex, "getpid"), &pid));
    CHECK(pid > 0 && pid != getpid());
    rivet_executor_destroy(ex);
    CHECK(pid > 0 && kill(pid, 0) != 0 && errno == ESRCH);

    ex = check_spawn_built_executor();
    CHECK_OK(rv_executor_run_function(ex, lookup(ex, "getpid"), &pid));
    CHECK_OK(rivet_executor_exit(ex, 7)); /* it exited as asked */
    int ws = 0;
    CHECK(rivet_executor_exit_status(ex, &ws) && WIFEXITED(ws) && WEXITSTATUS(ws) == 7);
    rivet_executor_destroy(ex);
    CHECK(kill(pid, 0) != 0 && errno == ESRCH);

    ex = check_spawn_built_executor();
    uint64_t getpid_addr = lookup(ex, "getpid");
    CHECK_OK(rv_executor_run_function(ex, getpid_addr, &pid));
    CHECK(pid > 0 && kill(pid, SIGKILL) == 0);
    double t0 = now_ms();
    while (!rivet_executor_exit_status(ex, &ws) && now_ms() - t0 < 2000)
        sleep_ms(5);
    CHECK(WIFSIGNALED(ws) && WTERMSIG(ws) == SIGKILL);
    int v = 0;
    rivet_error *e = rv_executor_run_function(ex, getpid_addr, &v);
    CHECK(e && strstr(rivet_error_message(e), "executor exited (signal 9)"));
    rivet_error_free(e);
    rivet_executor_destroy(ex);
}

/* Voluntary context switches of every thread of process `pid`. */
static long context_switches(int pid)
{
    char dir[64];
    snprintf(dir, sizeof(dir), "/proc/%d/task", pid);
    DIR *d = opendir(dir);
    long total = 0;
    for (struct dirent *e; d && (e = readdir(d));) {
        if (e->d_name[0] == '.')
            continue;
        char path[512], line[128];
        snprintf(path, sizeof(path), "%s/%s/status", dir, e->d_name);
        FILE *f = fopen(path, "r");
        while (f && fgets(line, sizeof(line), f))
            if (strncmp(line, "voluntary_ctxt_switches:", 24) == 0)
                total += atol(line + 24);
        if (f)
            fclose(f);
    }
    if (d)
        closedir(d);
    return total;
}

/* An idle executor sleeps: its threads wake for the parent check (every
 * 200 ms), not every millisecond. */
static void test_idle_executor_sleeps(void)
{
    rivet_executor *ex = check_spawn_built_executor();
    if (!ex)
        return;
    int pid = 0;
    CHECK_OK(rv_executor_run_function(ex, lookup(ex, "getpid"), &pid));
    CHECK(lookup(ex, "getppid") != 0); /* a quick call after a blocking one */
    sleep_ms(50);
    long before = context_switches(pid);
    sleep_ms(1000);
    long woke = context_switches(pid) - before;
    CHECK(before > 0 && woke < 50);
    if (woke >= 50)
        fprintf(stderr, "  idle executor woke %ld times in a second\n", woke);
    rivet_executor_destroy(ex);
}

/* ------------------------------------------- the executor's parent ends */

typedef struct blocked_call {
    rivet_executor *ex;
    uint64_t fn;
    bool exit; /* rivet_executor_exit instead of a call to fn */
} blocked_call;

static int call_and_block(void *p)
{
    blocked_call *bc = p;
    int v = 0;
    if (bc->exit)
        rivet_error_free(rivet_executor_exit(bc->ex, 0));
    else
        rivet_error_free(rv_executor_run_function(bc->ex, bc->fn, &v));
    return 0;
}

/* x86-64: __cxa_atexit(pause, 0, 0) registers pause() as an exit handler,
 * so exit() never finishes. */
static bool register_pause_at_exit(rivet_executor *ex)
{
    uint64_t cxa_atexit = lookup(ex, "__cxa_atexit"), pause_fn = lookup(ex, "pause");
    uint64_t slab = 0, region = 0;
    if (!cxa_atexit || !pause_fn)
        return false;
    unsigned char code[64], *c = code;
    *c++ = 0x48; *c++ = 0x83; *c++ = 0xec; *c++ = 0x08; /* sub $8,%rsp */
    *c++ = 0x48; *c++ = 0xbf;                           /* movabs $pause,%rdi */
    memcpy(c, &pause_fn, 8); c += 8;
    *c++ = 0x31; *c++ = 0xf6;                           /* xor %esi,%esi */
    *c++ = 0x31; *c++ = 0xd2;                           /* xor %edx,%edx */
    *c++ = 0x48; *c++ = 0xb8;                           /* movabs $__cxa_atexit,%rax */
    memcpy(c, &cxa_atexit, 8); c += 8;
    *c++ = 0xff; *c++ = 0xd0;                           /* call *%rax */
    *c++ = 0x48; *c++ = 0x83; *c++ = 0xc4; *c++ = 0x08; /* add $8,%rsp */
    *c++ = 0xc3;                                        /* ret (eax: 0) */
    rivet_error *e = rv_executor_reserve(ex, 1 << 20, RIVET_PLACE_ANYWHERE, &slab);
    if (!e) {
        rivet_segment seg = {slab, 4096, code, (uint64_t)(c - code),
                             RIVET_PROT_READ | RIVET_PROT_EXEC, false};
        rivet_initialize_request req = {&seg, 1, NULL, 0};
        e = rv_executor_initialize(ex, &req, &region);
    }
    int v = -1;
    if (!e)
        e = rv_executor_run_function(ex, slab, &v);
    CHECK_OK(e);
    return !e && v == 0;
}

/* A controller process that leaves its executor busy — in JIT'd code
 * (pause) or in exit handlers — with a forked copy of itself holding the
 * socket, then ends without a hangup. Returns {executor, copy} pids. */
static void busy_orphan(const char *path, bool in_exit, int pids[2])
{
    int report[2];
    CHECK(pipe(report) == 0);
    pid_t controller = fork();
    if (controller == 0) {
        close(report[0]);
        rivet_executor *ex = NULL;
        int out[2] = {0, 0};
        if (rivet_executor_spawn(path, &ex) ||
            rv_executor_run_function(ex, lookup(ex, "getpid"), &out[0]))
            _exit(1);
        if (in_exit && !register_pause_at_exit(ex))
            _exit(1);
        blocked_call bc = {ex, lookup(ex, "pause"), in_exit};
        thrd_t t;
        if (thrd_create(&t, call_and_block, &bc) != thrd_success)
            _exit(1);
        sleep_ms(100); /* the call is under way */
        out[1] = fork();
        if (out[1] == 0) { /* holds the socket for 3 s */
            sleep_ms(3000);
            _exit(0);
        }
        if (write(report[1], out, sizeof(out)) != sizeof(out))
            _exit(1);
        _exit(0); /* no hangup: the process just ends */
    }
    close(report[1]);
    pids[0] = pids[1] = 0;
    CHECK(read(report[0], pids, 2 * sizeof(int)) == 2 * sizeof(int));
    close(report[0]);
    waitpid(controller, NULL, 0);
}

static void test_parent_ends_while_busy(void)
{
    char *path = check_built_executor();
    if (!path)
        return;
    prctl(PR_SET_CHILD_SUBREAPER, 1); /* we adopt the orphans to reap them */
    for (int in_exit = 0; in_exit < 2; in_exit++) {
        int pids[2];
        busy_orphan(path, in_exit, pids);
        int status = 0;
        double took = 0;
        bool reaped = check_reap_within(pids[0], 2000, &status, &took);
        CHECK(reaped && WIFEXITED(status) && WEXITSTATUS(status) == 1);
        CHECK(took < 1000);
        if (!reaped) {
            fprintf(stderr, "  executor still running %s\n",
                    in_exit ? "exit handlers" : "JIT'd code");
            check_kill(pids[0]);
        }
        check_kill(pids[1]);
    }
    prctl(PR_SET_CHILD_SUBREAPER, 0);
    free(path);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    test_channel_tick();
    test_spawn_lifecycle();
    test_idle_executor_sleeps();
    test_parent_ends_while_busy();
    return check_report("test_executor_lifecycle");
}
