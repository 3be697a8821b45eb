/*
 * sys/posix/parallel.c — two-way fork/join for the stages that split
 * cleanly (reading objects, binding names, applying fixups): the second
 * half runs on a new thread while the caller does the first.
 *
 * A new thread can wait a long time for a CPU: milliseconds when the other
 * CPU is busy, since it starts queued behind whatever runs there. The
 * callers therefore share their items through a counter, so the first
 * half goes on taking items as long as there are any; and once fn(first)
 * has returned, the caller runs fn(second) itself if the helper has not
 * begun it yet. A late helper then finds the job taken and ends at once;
 * nobody waits for it to be scheduled. Jobs come from a small static pool,
 * a slot being free again once both threads have let go of it: a helper
 * that called free() would make the C library set up a heap for it.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "sys/sys.h"

enum { OPEN, TAKEN_BY_HELPER, TAKEN_BY_CALLER };

typedef struct pair_job {
    void (*fn)(void *);
    void *second;
    atomic_int state;
    atomic_int owners;      /* 0: the slot is free; else caller and helper */
    pthread_mutex_t lock;
    pthread_cond_t finished;
    bool done;              /* the helper ran fn(second) to its end */
} pair_job;

/* Pairs do not nest; more than one at a time means links on several
 * threads, and a caller finding every slot busy runs both halves itself. */
enum { POOL = 4 };
#define FREE_SLOT {.lock = PTHREAD_MUTEX_INITIALIZER, .finished = PTHREAD_COND_INITIALIZER}
static pair_job pool[POOL] = {FREE_SLOT, FREE_SLOT, FREE_SLOT, FREE_SLOT};

static pair_job *claim_slot(void) {
    for (int i = 0; i < POOL; i++) {
        int free_slot = 0;
        if (atomic_compare_exchange_strong(&pool[i].owners, &free_slot, 2))
            return &pool[i];
    }
    return NULL;
}

static void let_go(pair_job *j) {
    atomic_fetch_sub(&j->owners, 1);
}

static bool take(pair_job *j, int who) {
    int open = OPEN;
    return atomic_compare_exchange_strong(&j->state, &open, who);
}

static void *run_helper(void *p) {
    pair_job *j = p;
    if (take(j, TAKEN_BY_HELPER)) {
        j->fn(j->second);
        pthread_mutex_lock(&j->lock);
        j->done = true;
        pthread_cond_signal(&j->finished);
        pthread_mutex_unlock(&j->lock);
    }
    let_go(j);
    return NULL;
}

static bool start_helper(pair_job *j) {
    pthread_attr_t attr;
    pthread_t t;
    if (pthread_attr_init(&attr) != 0)
        return false;
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    bool ok = pthread_create(&t, &attr, run_helper, j) == 0;
    pthread_attr_destroy(&attr);
    return ok;
}

void rv_sys_run_pair(void (*fn)(void *), void *first, void *second) {
    pair_job *j = claim_slot();
    if (j) {
        j->fn = fn;
        j->second = second;
        j->done = false;
        atomic_store(&j->state, OPEN);
        if (!start_helper(j)) {
            atomic_store(&j->owners, 0);
            j = NULL;
        }
    }
    fn(first);
    if (!j || take(j, TAKEN_BY_CALLER)) {
        fn(second); /* no thread, or it has not started: here, now */
    } else {
        pthread_mutex_lock(&j->lock);
        while (!j->done)
            pthread_cond_wait(&j->finished, &j->lock);
        pthread_mutex_unlock(&j->lock);
    }
    if (j)
        let_go(j);
}
