/* Thread-locals of two objects: initialized (.tdata) and zero (.tbss),
 * static and extern, scalars and arrays, read and written by the main
 * thread and by threads created after the code was linked. Every thread
 * must start from the initial values and keep its own copies. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

__thread int counter = 5;                 /* .tdata, exported */
__thread long zeroed;                     /* .tbss */
static __thread int local_init = 7;       /* .tdata, local */
static __thread char name[24] = "initial";
static __thread double scale[4] = {0.5, 1.5, 2.5, 3.5};
static int shared_target;
static __thread int *shared_pointer = &shared_target; /* relocated .tdata */

extern __thread int other;                /* defined in other.c */
extern __thread char other_buf[64];
int other_bump(int by);
int *other_address(void);

enum { THREADS = 4 };
static char report[THREADS][200];

static void *worker(void *arg)
{
    int id = (int)(long)arg;
    char *r = report[id];
    int n = snprintf(r, 200, "start: %d %ld %d %s %.1f %d %s%s |", counter,
                     zeroed, local_init, name, scale[3], other, other_buf,
                     shared_pointer == &shared_target ? " ptr-ok" : " PTR-BAD");
    for (int i = 0; i < 1000; i++) {
        counter += id;
        zeroed += 2 * id;
        local_init++;
        scale[3] += 1;
        other_bump(id);
    }
    snprintf(name, sizeof name, "thread-%d", id);
    memset(other_buf, 'a' + id, 3);
    snprintf(r + n, 200 - (size_t)n, " end: %d %ld %d %s %.1f %d %s %s",
             counter, zeroed, local_init, name, scale[3], other, other_buf,
             other_address() == &other ? "same-address" : "DIFFERENT-address");
    return NULL;
}

int main(void)
{
    printf("main start: %d %ld %d %s %.1f %d [%s]\n", counter, zeroed,
           local_init, name, scale[0], other, other_buf);
    counter = 100;
    zeroed = -1;
    strcpy(name, "main");
    other_bump(1000);
    pthread_t t[THREADS];
    for (long i = 0; i < THREADS; i++)
        pthread_create(&t[i], NULL, worker, (void *)i);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    for (int i = 0; i < THREADS; i++)
        printf("thread %d %s\n", i, report[i]);
    printf("main end: %d %ld %d %s %d %s\n", counter, zeroed, local_init, name,
           other, other_address() == &other ? "same-address" : "DIFFERENT");
    return 0;
}
