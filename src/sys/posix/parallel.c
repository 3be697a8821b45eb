/*
 * sys/posix/parallel.c — two-way fork/join for the stages that split
 * cleanly (reading objects, applying fixups): the second half runs on a
 * new thread while the caller does the first.
 */
#include <pthread.h>

#include "sys/sys.h"

typedef struct job {
    void (*fn)(void *);
    void *ctx;
} job;

static void *run_job(void *p) {
    job *j = p;
    j->fn(j->ctx);
    return NULL;
}

void rv_sys_run_pair(void (*fn)(void *), void *first, void *second) {
    job j = {fn, second};
    pthread_t t;
    if (pthread_create(&t, NULL, run_job, &j) != 0) {
        fn(first); /* no thread to be had: one after the other */
        fn(second);
        return;
    }
    fn(first);
    pthread_join(t, NULL);
}
