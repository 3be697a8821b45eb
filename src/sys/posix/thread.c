/*
 * sys/posix/thread.c — threads for JIT'd code and the target triple.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/resource.h>

#include "sys/sys.h"

typedef struct thread_start {
    void (*fn)(void *);
    void *arg;
} thread_start;

static void *thread_main(void *p)
{
    thread_start t = *(thread_start *)p;
    free(p);
    t.fn(t.arg);
    return NULL;
}

rivet_error *rv_sys_start_thread(void (*fn)(void *), void *arg)
{
    thread_start *t = malloc(sizeof(*t));
    if (!t)
        return rivet_error_create(RIVET_ERR_NOMEM, "out of memory for a thread");
    *t = (thread_start){fn, arg};
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    struct rlimit rl;
    size_t stack = 8u << 20;
    if (getrlimit(RLIMIT_STACK, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
        rl.rlim_cur > stack && rl.rlim_cur <= (1u << 30))
        stack = (size_t)rl.rlim_cur;
    pthread_attr_setstacksize(&attr, stack);
    pthread_t tid;
    int err = pthread_create(&tid, &attr, thread_main, t);
    pthread_attr_destroy(&attr);
    if (err) {
        free(t);
        return rivet_error_from_errno(err, "cannot start a thread");
    }
    return NULL;
}

const char *rv_sys_target_triple(void)
{
#if defined(__x86_64__)
    return "x86_64-unknown-linux-gnu";
#elif defined(__aarch64__)
    return "aarch64-unknown-linux-gnu";
#else
    return "unknown-unknown-linux-gnu";
#endif
}
