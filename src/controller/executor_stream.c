/*
 * controller/executor_stream.c — an executor in another process, reached
 * over a stream socket (rivet/controller.h; frames in
 * docs/wire-protocol.md): a child spawned with a socketpair, a TCP
 * connection to `rivet-executor --listen`, or any connected socket.
 *
 * The executor speaks first with a SETUP frame (target triple, page size,
 * bootstrap symbols); after that, wrapper calls go out as CALL frames on a
 * channel (support/channel.h) that matches results by call id and runs
 * the handlers JIT'd code calls by tag. A caller waiting for its result
 * reads the socket itself when nobody else does. When the connection
 * ends, a spawned child is reaped so the failure can say how it died.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <threads.h>
#include <time.h>
#include <unistd.h>

#include "controller/executor.h"
#include "rivet/sps.h"
#include "support/channel.h"
#include "support/frame.h"
#include "sys/sys.h"

#define SETUP_TIMEOUT_MS 30000

typedef struct stream_executor {
    rivet_executor base; /* first: the public handle points here */
    rv_channel *ch;
    int fd;
    pid_t pid; /* a spawned child, else 0 */
    int pidfd; /* open_pidfd(pid), or -1 */
    char *program; /* the child's executable, for messages */
    mtx_t lock;
    bool reaped;
    int wait_status;
    rv_setup setup;
    uint64_t exit_wrapper; /* "rivet_executor_exit_sps", 0 if not offered */
    /* Connecting finishes on first need (stream_ready): a spawned child
     * starts while the controller reads its inputs. Under connect_lock. */
    mtx_t connect_lock;
    atomic_bool connected;
    rivet_error *connect_error; /* kept: every later caller gets a copy */
} stream_executor;

/* ------------------------------------------------------------ the child */

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* A descriptor that becomes readable when the child ends (Linux 5.3's
 * pidfd), so waiting for it needs no polling loop; -1 where unsupported. */
static int open_pidfd(pid_t pid)
{
#ifdef SYS_pidfd_open
    int fd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (fd >= 0)
        fcntl(fd, F_SETFD, FD_CLOEXEC);
    return fd;
#else
    (void)pid;
    return -1;
#endif
}

/* A remembered failure, for another caller (NULL stays NULL). */
static rivet_error *copy_error(const rivet_error *e)
{
    return e ? rivet_error_create(rivet_error_get_code(e), "%s", rivet_error_message(e))
             : NULL;
}

/* Wait up to timeout_ms (< 0: forever) for the child to end. */
static void wait_for_end(stream_executor *se, int timeout_ms)
{
    if (se->pidfd >= 0) {
        struct pollfd p = {se->pidfd, POLLIN, 0};
        while (poll(&p, 1, timeout_ms) < 0 && errno == EINTR)
            ;
    } else {
        sleep_ms(timeout_ms < 0 || timeout_ms > 2 ? 2 : timeout_ms);
    }
}

/* Reap the child if it has ended, waiting up to timeout_ms (< 0: forever). */
static bool reap(stream_executor *se, int timeout_ms)
{
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        mtx_lock(&se->lock);
        bool done = se->reaped || !se->pid;
        mtx_unlock(&se->lock);
        if (done)
            return se->reaped;
        int status;
        pid_t r = waitpid(se->pid, &status, WNOHANG);
        if (r < 0 && errno == EINTR)
            continue;
        mtx_lock(&se->lock);
        if (r == se->pid && !se->reaped) {
            se->reaped = true;
            se->wait_status = status;
        }
        done = se->reaped || r < 0; /* r < 0: reaped by another thread */
        mtx_unlock(&se->lock);
        if (done)
            break;
        struct timespec t;
        clock_gettime(CLOCK_MONOTONIC, &t);
        long waited = (t.tv_sec - start.tv_sec) * 1000L +
                      (t.tv_nsec - start.tv_nsec) / 1000000L;
        if (timeout_ms >= 0 && waited >= timeout_ms)
            break;
        wait_for_end(se, timeout_ms < 0 ? -1 : (int)(timeout_ms - waited));
    }
    mtx_lock(&se->lock);
    bool reaped = se->reaped;
    mtx_unlock(&se->lock);
    return reaped;
}

static rivet_error *exit_error(int status)
{
    if (WIFSIGNALED(status))
        return rivet_error_create(RIVET_ERR_EXECUTOR, "executor exited (signal %d)",
                                  WTERMSIG(status));
    return rivet_error_create(RIVET_ERR_EXECUTOR, "executor exited (status %d)",
                              WEXITSTATUS(status));
}

/* The connection ended without a clean hangup: if a child stopped talking
 * because it died, say how (within a second). */
static rivet_error *on_end(void *ctx, rivet_error *why)
{
    stream_executor *se = ctx;
    if (!why || rivet_error_get_code(why) != RIVET_ERR_IO || !se->pid)
        return why;
    if (!reap(se, 1000))
        return why;
    rivet_error_free(why);
    return exit_error(se->wait_status);
}

/* ------------------------------------------------------------- handlers */

static rivet_error *on_call(void *ctx, rv_channel *ch, uint64_t call_id,
                            uint64_t tag, char *arg, size_t arg_size)
{
    stream_executor *se = ctx;
    rv_executor_call_handler(&se->base, tag, call_id, rv_channel_return, ch, arg,
                             arg_size);
    free(arg);
    return NULL;
}

/* ------------------------------------------------------------------ ops */

/* The executor this thread is connecting (its bind's own calls go
 * through without waiting for the connection they are part of). */
static _Thread_local stream_executor *connecting;

static rivet_error *stream_ready(rivet_executor *ex);

static rivet_error *stream_call(rivet_executor *ex, uint64_t fn,
                                const char *arg, size_t arg_size,
                                char **result, size_t *result_size)
{
    stream_executor *se = (stream_executor *)ex;
    rivet_error *e = stream_ready(ex);
    if (e)
        return e;
    return rv_channel_call_sync(se->ch, fn, arg, arg_size, result, result_size);
}

static void stream_call_async(rivet_executor *ex, uint64_t fn, const char *arg,
                              size_t arg_size, rivet_wrapper_return_fn ret,
                              void *ctx)
{
    stream_executor *se = (stream_executor *)ex;
    rivet_error *e = stream_ready(ex);
    if (e)
        ret(ctx, 0, (rivet_wrapper_result){.error = e});
    else
        rv_channel_call(se->ch, fn, arg, arg_size, ret, ctx, 0);
}

/* Hang up (if still connected), wait for the peer to end, close. */
static void disconnect(stream_executor *se)
{
    if (!se->ch)
        return;
    rv_channel_hangup(se->ch);
    rv_channel_wait_end(se->ch, 5000);
    rv_channel_release(se->ch);
    se->ch = NULL;
}

static void stream_destroy(rivet_executor *ex)
{
    stream_executor *se = (stream_executor *)ex;
    disconnect(se);
    if (se->fd >= 0)
        close(se->fd);
    /* A spawned executor shuts its session down and exits on hangup; give
     * its destructors time, then make sure no process is left behind. */
    if (se->pid && !reap(se, 10000)) {
        kill(se->pid, SIGKILL);
        reap(se, -1);
    }
    rv_setup_free(&se->setup);
    rivet_error_free(se->connect_error);
    free(se->program);
    if (se->pidfd >= 0)
        close(se->pidfd);
    rv_executor_free_base(ex);
    mtx_destroy(&se->lock);
    mtx_destroy(&se->connect_lock);
    free(se);
}

static void ignore_result(void *ctx, uint64_t id, rivet_wrapper_result r)
{
    (void)ctx;
    (void)id;
    free(r.data);
    rivet_error_free(r.error);
}

static rivet_error *stream_exit(rivet_executor *ex, int status)
{
    stream_executor *se = (stream_executor *)ex;
    if (!se->exit_wrapper || !se->pid || !se->ch) {
        disconnect(se);
        return NULL;
    }
    rivet_sps_writer w;
    rivet_sps_writer_init(&w);
    rivet_sps_put_u32(&w, (uint32_t)status);
    char *arg;
    size_t size;
    rivet_error *e = rivet_sps_writer_finish(&w, &arg, &size);
    if (e)
        return e;
    /* Never answered: the process ends. Wait for it, however long its
     * exit handlers take, as a native program's parent would. */
    rv_channel_call(se->ch, se->exit_wrapper, arg, size, ignore_result, NULL, 0);
    free(arg);
    reap(se, -1);
    disconnect(se);
    if (WIFEXITED(se->wait_status) &&
        WEXITSTATUS(se->wait_status) == (status & 0xff))
        return NULL;
    return exit_error(se->wait_status);
}

static bool stream_exit_status(rivet_executor *ex, int *wait_status)
{
    stream_executor *se = (stream_executor *)ex;
    if (!se->pid || !reap(se, 0))
        return false;
    *wait_status = se->wait_status;
    return true;
}


/* --------------------------------------------------------------- setup */

static bool lookup_setup(void *ctx, const char *name, uint64_t *addr)
{
    rv_setup *s = ctx;
    for (size_t i = 0; i < s->symbol_count; i++) {
        if (strcmp(s->names[i], name) == 0) {
            *addr = s->addrs[i];
            return true;
        }
    }
    return false;
}

/* Wait (bounded) for the SETUP frame and decode it. */
static rivet_error *read_setup(stream_executor *se)
{
    struct pollfd p = {se->fd, POLLIN, 0};
    int r;
    while ((r = poll(&p, 1, SETUP_TIMEOUT_MS)) < 0 && errno == EINTR)
        ;
    if (r == 0)
        return rivet_error_create(RIVET_ERR_EXECUTOR,
                                  "no setup frame within %d s", SETUP_TIMEOUT_MS / 1000);
    rv_frame_header h;
    char *payload = NULL;
    rivet_error *e = rv_frame_read(se->fd, &h, &payload);
    if (e && rivet_error_get_code(e) == RIVET_ERR_PROTOCOL && se->pid &&
        reap(se, 1000)) {
        rivet_error_free(e); /* the child died before speaking */
        return exit_error(se->wait_status);
    }
    if (!e && h.opcode != RV_FRAME_SETUP)
        e = rivet_error_create(RIVET_ERR_PROTOCOL, "expected a setup frame, got %s",
                               rv_frame_opcode_name(h.opcode));
    if (!e)
        e = rv_setup_decode(payload, (size_t)h.payload_size, &se->setup);
    free(payload);
    if (!e && strncmp(se->setup.triple, "x86_64-", 7) != 0)
        e = rivet_error_create(RIVET_ERR_UNSUPPORTED,
                               "executor target %s: rivet links for x86_64 only",
                               se->setup.triple);
    if (!e && (se->setup.page_size == 0 ||
               (se->setup.page_size & (se->setup.page_size - 1)) != 0))
        e = rivet_error_create(RIVET_ERR_PROTOCOL, "setup: page size %llu",
                               (unsigned long long)se->setup.page_size);
    return e;
}

/* Read the setup frame and start serving the channel. */
static rivet_error *finish_connect(stream_executor *se)
{
    rivet_error *e = read_setup(se);
    if (!e && se->base.page_size && se->setup.page_size != se->base.page_size)
        e = rivet_error_create(RIVET_ERR_PROTOCOL,
                               "setup: page size %llu, expected %llu",
                               (unsigned long long)se->setup.page_size,
                               (unsigned long long)se->base.page_size);
    if (!e) {
        se->base.page_size = se->setup.page_size;
        lookup_setup(&se->setup, "rivet_executor_exit_sps", &se->exit_wrapper);
        rv_channel_config cfg = {.fd = se->fd, .peer = "executor", .ctx = se,
                                 .on_call = on_call, .on_end = on_end};
        e = rv_channel_create(&cfg, &se->ch);
    }
    if (!e) {
        e = rv_channel_start(se->ch);
        if (e) {
            rv_channel_release(se->ch);
            se->ch = NULL;
        }
    }
    if (!e)
        e = rv_executor_bind(&se->base, lookup_setup, &se->setup);
    if (e) {
        if (se->pid)
            kill(se->pid, SIGKILL);
        disconnect(se);
        if (se->program && strstr(rivet_error_message(e), "(status 127)"))
            e = rivet_error_wrap(e, "cannot run %s", se->program);
        e = rivet_error_wrap(e, "executor");
    }
    return e;
}

/* Finish connecting once; a failure is remembered and reported to every
 * caller. */
static rivet_error *stream_ready(rivet_executor *ex)
{
    stream_executor *se = (stream_executor *)ex;
    if (atomic_load(&se->connected) || connecting == se)
        return NULL;
    mtx_lock(&se->connect_lock);
    if (!atomic_load(&se->connected) && !se->connect_error) {
        connecting = se;
        se->connect_error = finish_connect(se);
        connecting = NULL;
        atomic_store(&se->connected, !se->connect_error);
    }
    rivet_error *e = copy_error(se->connect_error);
    mtx_unlock(&se->connect_lock);
    return e;
}

static const rv_executor_ops stream_ops = {
    .call = stream_call,
    .destroy = stream_destroy,
    .call_async = stream_call_async,
    .exit = stream_exit,
    .exit_status = stream_exit_status,
    .ready = stream_ready,
};

/* The process at the other end of a local (AF_UNIX) socket, else 0. */
static uint64_t local_peer(int fd)
{
    struct ucred cred;
    socklen_t len = sizeof(cred);
    int domain = 0;
    socklen_t dlen = sizeof(domain);
    if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &dlen) != 0 ||
        domain != AF_UNIX ||
        getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 ||
        cred.pid <= 0)
        return 0;
    return (uint64_t)cred.pid;
}

/* Take over a connected socket (and the child at its other end, if any).
 * `page_size` is the executor's when known in advance (a child on this
 * machine), else 0; with it the setup frame is read on first need, and the
 * child starts while the caller goes on; without it, here. */
static rivet_error *connect_stream(int fd, pid_t pid, uint64_t page_size,
                                   rivet_executor **out)
{
    stream_executor *se = calloc(1, sizeof(*se));
    if (!se) {
        close(fd);
        if (pid > 0) {
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
        }
        return rivet_error_create(RIVET_ERR_NOMEM, "executor: out of memory");
    }
    se->fd = fd;
    se->pid = pid;
    se->pidfd = pid > 0 ? open_pidfd(pid) : -1;
    se->base.ops = &stream_ops;
    se->base.in_process = false;
    se->base.page_size = page_size;
    se->base.local_pid = pid > 0 ? (uint64_t)pid : local_peer(fd);
    mtx_init(&se->lock, mtx_plain);
    mtx_init(&se->connect_lock, mtx_plain);
    rivet_error *e = rv_executor_init_base(&se->base);
    if (!e && !page_size)
        e = stream_ready(&se->base);
    if (e) {
        if (se->pid)
            kill(se->pid, SIGKILL);
        stream_destroy(&se->base);
        return e;
    }
    *out = &se->base;
    return NULL;
}

rivet_error *rivet_executor_connect_fd(int fd, rivet_executor **out)
{
    return connect_stream(fd, 0, 0, out);
}

/* ---------------------------------------------------------------- spawn */

/* rivet-executor next to the running program, if there is one. */
static char *default_executor_path(void)
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n <= 0)
        return NULL;
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    if (!slash)
        return NULL;
    *slash = '\0';
    size_t size = strlen(self) + sizeof("/rivet-executor");
    char *path = malloc(size);
    if (path)
        snprintf(path, size, "%s/rivet-executor", self);
    if (path && access(path, X_OK) != 0) {
        free(path);
        path = NULL;
    }
    return path;
}

/* Start the child with posix_spawn (vfork-like: no copy of this
 * process's page tables, which cost a millisecond for a controller of
 * moderate size), on the calling thread: it returns once the child has
 * exec'd, and starting it from a thread of its own instead delayed the
 * child by that thread's start by more than the wait it saved (measured
 * with `rivet run --executor=spawn` on hello world and SQLite). Its end
 * of the socket is made inheritable in the child only (dup2 onto itself
 * clears close-on-exec), so children other threads spawn meanwhile never
 * hold it. No PR_SET_PDEATHSIG: the kernel sends it when the *thread* that
 * spawned ends, which would kill the executor of a controller that spawned
 * it from a short-lived thread; rivet-executor watches for its parent's
 * end itself (rivet/controller.h), and a parent already gone has closed
 * the socket, which ends the child at once. */
static int start_child(pid_t *pid, int fd, const char *path, bool search,
                       char *const argv[])
{
    posix_spawn_file_actions_t actions;
    int rc = posix_spawn_file_actions_init(&actions);
    if (rc != 0)
        return rc;
    rc = posix_spawn_file_actions_adddup2(&actions, fd, fd);
    if (rc == 0)
        rc = search ? posix_spawnp(pid, path, &actions, NULL, argv, environ)
                    : posix_spawn(pid, path, &actions, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    return rc;
}

rivet_error *rivet_executor_spawn(const char *path, rivet_executor **out)
{
    char *found = path ? NULL : default_executor_path();
    const char *exe = path ? path : found ? found : "rivet-executor";
    bool search = !path && !found;
    /* What can be known now is reported now. */
    if (!search && access(exe, X_OK) != 0) {
        rivet_error *e = rivet_error_from_errno(errno, "executor: cannot start %s", exe);
        free(found);
        return e;
    }
    char *program = strdup(exe);
    free(found);
    int sv[2] = {-1, -1};
    pid_t pid = 0;
    rivet_error *e = NULL;
    if (!program)
        e = rivet_error_create(RIVET_ERR_NOMEM, "executor: out of memory");
    else if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
        e = rivet_error_from_errno(errno, "executor: socketpair");
    if (!e) {
        char fd_arg[16];
        snprintf(fd_arg, sizeof(fd_arg), "%d", sv[1]);
        char *argv[] = {(char *)"rivet-executor", (char *)"--fd", fd_arg, NULL};
        int rc = start_child(&pid, sv[1], program, search, argv);
        close(sv[1]);
        if (rc != 0) {
            close(sv[0]);
            e = rivet_error_from_errno(rc, "executor: cannot start %s", program);
        }
    }
    if (!e) {
        /* Same machine, same page size: the setup frame can wait. */
        e = connect_stream(sv[0], pid, rv_sys_page_size(), out);
    }
    if (e) {
        free(program);
        return e;
    }
    stream_executor *se = (stream_executor *)*out;
    se->program = program;
    return NULL;
}

/* ------------------------------------------------------------------ tcp */

rivet_error *rivet_executor_connect_tcp(const char *host, uint16_t port,
                                        rivet_executor **out)
{
    char service[8];
    snprintf(service, sizeof(service), "%u", port);
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *list = NULL;
    int rc = getaddrinfo(host, service, &hints, &list);
    if (rc != 0)
        return rivet_error_create(RIVET_ERR_IO, "executor: %s:%u: %s", host, port,
                                  gai_strerror(rc));
    int fd = -1, err = 0;
    for (struct addrinfo *a = list; a && fd < 0; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
        if (fd >= 0 && connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
            err = errno;
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(list);
    if (fd < 0)
        return rivet_error_from_errno(err ? err : ECONNREFUSED,
                                      "executor: connect to %s:%u", host, port);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return connect_stream(fd, 0, 0, out);
}
