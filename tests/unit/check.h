/*
 * tests/unit/check.h — the unit tests' tiny assertion macros: each check
 * counts as passed or failed, a failure prints "file:line: ...", and
 * check_report() prints "<name>: N passed, M failed" and gives the exit
 * status.
 */
#ifndef RIVET_TESTS_CHECK_H
#define RIVET_TESTS_CHECK_H

#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "rivet/controller.h"
#include "rivet/error.h"

static int check_passed, check_failed;

#define CHECK(cond)                                                          \
    do {                                                                     \
        if (cond) {                                                          \
            check_passed++;                                                  \
        } else {                                                             \
            check_failed++;                                                  \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, \
                    #cond);                                                  \
        }                                                                    \
    } while (0)

/* expr returns rivet_error*; expect success. */
#define CHECK_OK(expr)                                                       \
    do {                                                                     \
        rivet_error *check_e_ = (expr);                                      \
        if (!check_e_) {                                                     \
            check_passed++;                                                  \
        } else {                                                             \
            check_failed++;                                                  \
            fprintf(stderr, "%s:%d: %s failed: %s\n", __FILE__, __LINE__,    \
                    #expr, rivet_error_message(check_e_));                   \
            rivet_error_free(check_e_);                                      \
        }                                                                    \
    } while (0)

/* expr returns rivet_error*; expect a failure with this code. */
#define CHECK_FAILS(expr, code)                                              \
    do {                                                                     \
        rivet_error *check_e_ = (expr);                                      \
        if (check_e_ && rivet_error_get_code(check_e_) == (code)) {          \
            check_passed++;                                                  \
        } else {                                                             \
            check_failed++;                                                  \
            fprintf(stderr, "%s:%d: %s: expected %s, got %s (%s)\n",         \
                    __FILE__, __LINE__, #expr, rivet_error_code_name(code),  \
                    rivet_error_code_name(rivet_error_get_code(check_e_)),   \
                    check_e_ ? rivet_error_message(check_e_) : "success");   \
        }                                                                    \
        rivet_error_free(check_e_);                                          \
    } while (0)

static int check_report(const char *name)
{
    printf("%s: %d passed, %d failed\n", name, check_passed, check_failed);
    return check_failed != 0;
}

/* The built rivet-executor next to this test (BUILD/tests/unit/NAME ->
 * BUILD/bin/rivet-executor), malloc'd; NULL, with a note, when it is not
 * there. */
static inline char *check_built_executor(void)
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n <= 0)
        return NULL;
    self[n] = '\0';
    for (int i = 0; i < 3; i++) {
        char *slash = strrchr(self, '/');
        if (slash)
            *slash = '\0';
    }
    char *path = malloc(strlen(self) + 32);
    if (!path)
        return NULL;
    strcpy(path, self);
    strcat(path, "/bin/rivet-executor");
    if (access(path, X_OK) != 0) {
        fprintf(stderr, "%s not built; skipping a spawn test\n", path);
        free(path);
        return NULL;
    }
    return path;
}

/* Reap `pid` if it ends within timeout_ms (polled every 5 ms): true, with
 * its wait status; *took_ms is the time waited either way. */
static inline bool check_reap_within(pid_t pid, int timeout_ms, int *status,
                                     double *took_ms)
{
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pid_t done = 0;
    for (;;) {
        done = pid > 0 ? waitpid(pid, status, WNOHANG) : -1;
        clock_gettime(CLOCK_MONOTONIC, &t);
        *took_ms = (t.tv_sec - t0.tv_sec) * 1e3 + (t.tv_nsec - t0.tv_nsec) / 1e6;
        if (done != 0 || *took_ms >= timeout_ms)
            break;
        struct timespec nap = {0, 5 * 1000000L};
        nanosleep(&nap, NULL);
    }
    return pid > 0 && done == pid;
}

/* SIGKILL `pid` (if any) and reap it. */
static inline void check_kill(pid_t pid)
{
    if (pid > 0) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
    }
}

/* Spawn the built rivet-executor (check_built_executor); NULL, with a
 * note, when it is not built. */
static inline rivet_executor *check_spawn_built_executor(void)
{
    char *path = check_built_executor();
    if (!path)
        return NULL;
    rivet_executor *ex = NULL;
    CHECK_OK(rivet_executor_spawn(path, &ex));
    free(path);
    return ex;
}

#endif
