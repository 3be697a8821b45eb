/*
 * tools/rivet-executor.c — the out-of-process executor: a librivet-rt
 * session with the standard services, served over a socket.
 *
 *   rivet-executor --fd N                 serve the controller on socket N
 *                                         (how rivet_executor_spawn starts it)
 *   rivet-executor --listen [HOST:]PORT   serve TCP controllers one after
 *                  [--listen-any] [--once] another; loopback only unless
 *                                         --listen-any
 *
 * With --fd the process lives as long as its controller: a clean hangup
 * shuts the services down and exits 0; a vanished controller (or a broken
 * connection) ends the process at once, even with JIT'd code running. The
 * controller's process ending also ends it within PARENT_CHECK_MS, even
 * while the socket stays open (a forked copy of the controller may hold
 * it): getppid() is compared with the parent it started with — while it
 * serves, by the thread reading the socket, which wakes for it at least
 * that often (a thread of its own would cost every run a thread's start
 * and end); after a clean hangup, while the services shut down, by a
 * watchdog thread. (Not PR_SET_PDEATHSIG, which fires when the *thread*
 * that spawned the executor ends, however long its process lives on.)
 * The controller may instead ask it to exit(status) the way a program
 * does after main returns (rivet_executor_exit_sps).
 *
 * With --listen each controller gets a fresh session; when it leaves,
 * running code finishes, every service shuts down in order, and the next
 * connection is taken.
 */
#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "executor/serve.h"
#include "rivet/rt.h"
#include "rivet/sps.h"

static void usage(FILE *f)
{
    fputs("usage: rivet-executor --fd N\n"
          "       rivet-executor --listen [HOST:]PORT [--listen-any] [--once]\n"
          "\n"
          "Run JIT'd code for a rivet controller (see docs/wire-protocol.md).\n"
          "\n"
          "  --fd N         serve the controller on connected socket N, then exit\n"
          "  --listen ADDR  accept TCP controllers on ADDR (default host 127.0.0.1)\n"
          "  --listen-any   allow a non-loopback HOST (anyone who can connect can\n"
          "                 run code as this user)\n"
          "  --once         with --listen: serve one controller, then exit\n",
          f);
}

static int fail(const char *what, rivet_error *e)
{
    fprintf(stderr, "rivet-executor: %s%s%s\n", what, e ? ": " : "",
            e ? rivet_error_message(e) : "");
    rivet_error_free(e);
    return 1;
}

/* (u32 status): exit(status) from the thread that ran main, as a native
 * program's exit after main returns; never answers. Only with --fd: the
 * process belongs to this controller. */
static void exit_sps(rivet_session *s, uint64_t call_id,
                     rivet_wrapper_return_fn ret, void *ctx, const char *arg,
                     size_t arg_size)
{
    rivet_sps_reader r;
    uint32_t status = 0;
    rivet_sps_reader_init(&r, arg, arg_size);
    if (!rivet_sps_get_u32(&r, &status) || !rivet_sps_reader_done(&r)) {
        rivet_wrapper_result res = {NULL, 0, NULL};
        res.error = rivet_error_create(RIVET_ERR_PROTOCOL,
                                       "exit: malformed argument payload");
        ret(ctx, call_id, res);
        return;
    }
    exit((int)status);
}

static rivet_error *new_session(rivet_session **out, bool spawned)
{
    rivet_error *e = rivet_session_create(out);
    if (e)
        return e;
    e = rivet_session_add_standard_services(*out);
    if (!e && spawned)
        e = rivet_session_add_blocking_wrapper_function(*out,
                                                        "rivet_executor_exit_sps",
                                                        exit_sps);
    if (e) {
        rivet_session_destroy(*out);
        *out = NULL;
    }
    return e;
}

/* --fd: the controller vanishing or breaking the protocol ends us now. */
static void spawned_on_end(void *ctx, const rivet_error *why)
{
    (void)ctx;
    if (!why)
        return;
    if (rivet_error_get_code(why) != RIVET_ERR_IO)
        fprintf(stderr, "rivet-executor: %s\n", rivet_error_message(why));
    _exit(1);
}

#define PARENT_CHECK_MS 200

/* The process that spawned us (--fd). */
static pid_t parent;

/* --fd: exit when the process that spawned us has ended (we were
 * reparented), whatever became of the socket. */
static void check_parent(void *ctx)
{
    (void)ctx;
    if (getppid() != parent)
        _exit(1);
}

static void *watch_parent(void *arg)
{
    struct timespec ts = {0, PARENT_CHECK_MS * 1000000L};
    for (;;) {
        nanosleep(&ts, NULL);
        check_parent(arg);
    }
    return NULL;
}

static void start_parent_watch(void)
{
    pthread_t t;
    /* Default stack: glibc carves static TLS (which this process has
     * plenty of, for JIT'd code) out of it. */
    if (pthread_create(&t, NULL, watch_parent, NULL) == 0)
        pthread_detach(t);
}

/* The C math library, loaded as a C program linked with -lm has it: most
 * programs use it, and a controller then finds their math functions in its
 * first lookup instead of opening libm and looking again, two round trips
 * later. It joins the global scope last, as the controller's own opening
 * of it would, so every name binds as it would have. */
static void load_libm(void)
{
    if (!dlopen("libm.so.6", RTLD_NOW | RTLD_GLOBAL))
        (void)dlerror(); /* then opened on demand, or never */
}

static int serve_fd(int fd)
{
    fcntl(fd, F_SETFD, FD_CLOEXEC); /* programs we run must not inherit it */
    parent = getppid();
    load_libm();
    rivet_session *s;
    rivet_error *e = new_session(&s, true);
    if (e)
        return fail("cannot start the session", e);
    rivet_serve_options opts = {spawned_on_end, NULL};
    rv_serve_tick tick = {check_parent, NULL, PARENT_CHECK_MS};
    e = rv_session_serve_ticking(s, fd, &opts, &tick);
    close(fd);
    /* Nobody reads now; the finalizers the shutdown runs may take long. */
    start_parent_watch();
    rivet_session_destroy(s); /* services shut down in order */
    if (e)
        return fail("connection ended", e);
    return 0;
}

/* ---------------------------------------------------------------- listen */

static bool is_loopback(const struct sockaddr *a)
{
    if (a->sa_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *)a)->sin_addr.s_addr) >> 24) == 127;
    if (a->sa_family == AF_INET6)
        return IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)a)->sin6_addr);
    return false;
}

/* Split [HOST:]PORT ("[::1]:PORT" for IPv6). */
static bool split_address(char *addr, const char **host, const char **port)
{
    char *colon = strrchr(addr, ':');
    *host = "127.0.0.1";
    *port = addr;
    if (colon) {
        *colon = '\0';
        *port = colon + 1;
        if (addr[0] == '[' && colon > addr && colon[-1] == ']') {
            colon[-1] = '\0';
            addr++;
        }
        if (*addr)
            *host = addr;
    }
    return **port != '\0';
}

static int open_listener(char *addr, bool any)
{
    const char *host, *port;
    if (!split_address(addr, &host, &port))
        return fail("--listen wants [HOST:]PORT", NULL), -1;
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE};
    struct addrinfo *list = NULL;
    int rc = getaddrinfo(host, port, &hints, &list);
    if (rc != 0) {
        fprintf(stderr, "rivet-executor: %s:%s: %s\n", host, port, gai_strerror(rc));
        return -1;
    }
    int fd = -1;
    for (struct addrinfo *a = list; a && fd < 0; a = a->ai_next) {
        if (!any && !is_loopback(a->ai_addr)) {
            fprintf(stderr, "rivet-executor: %s is not a loopback address; "
                            "add --listen-any to accept controllers from other "
                            "hosts\n", host);
            break;
        }
        fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
        int one = 1;
        if (fd >= 0)
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (fd >= 0 && (bind(fd, a->ai_addr, a->ai_addrlen) != 0 ||
                        listen(fd, 8) != 0)) {
            fprintf(stderr, "rivet-executor: %s:%s: %s\n", host, port,
                    strerror(errno));
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(list);
    if (fd < 0)
        return -1;
    struct sockaddr_storage bound;
    socklen_t len = sizeof(bound);
    char name[NI_MAXHOST] = "?", serv[NI_MAXSERV] = "?";
    if (getsockname(fd, (struct sockaddr *)&bound, &len) == 0)
        getnameinfo((struct sockaddr *)&bound, len, name, sizeof(name), serv,
                    sizeof(serv), NI_NUMERICHOST | NI_NUMERICSERV);
    /* The port line lets scripts use port 0 and learn the real one. */
    fprintf(stderr, "rivet-executor: listening on %s port %s\n", name, serv);
    return fd;
}

static int serve_listen(char *addr, bool any, bool once)
{
    int lfd = open_listener(addr, any);
    if (lfd < 0)
        return 1;
    load_libm();
    do {
        int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            close(lfd);
            return fail("accept", rivet_error_from_errno(errno, "listening socket"));
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        rivet_session *s;
        rivet_error *e = new_session(&s, false);
        if (!e)
            e = rivet_session_serve(s, fd, NULL);
        close(fd);
        if (e) {
            fprintf(stderr, "rivet-executor: controller left: %s\n",
                    rivet_error_message(e));
            rivet_error_free(e);
        }
        /* running code finishes, then every service shuts down in order */
        rivet_session_destroy(s);
        fflush(NULL);
    } while (!once);
    close(lfd);
    return 0;
}

int main(int argc, char **argv)
{
    const char *fd_arg = NULL;
    char *listen_arg = NULL;
    bool any = false, once = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--fd") == 0 && i + 1 < argc) {
            fd_arg = argv[++i];
        } else if (strcmp(argv[i], "--listen") == 0 && i + 1 < argc) {
            listen_arg = argv[++i];
        } else if (strcmp(argv[i], "--listen-any") == 0) {
            any = true;
        } else if (strcmp(argv[i], "--once") == 0) {
            once = true;
        } else if (strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return 0;
        } else {
            usage(stderr);
            return 2;
        }
    }
    if (!fd_arg == !listen_arg) {
        usage(stderr);
        return 2;
    }
    if (fd_arg) {
        char *end;
        long fd = strtol(fd_arg, &end, 10);
        if (*end || fd < 0 || fd > 65535)
            return fail("--fd wants a file descriptor number", NULL);
        return serve_fd((int)fd);
    }
    return serve_listen(listen_arg, any, once);
}
