/* Thread-local variables across objects: initialized and zero-filled ones,
 * extern references to another object's, addresses per thread, and a
 * static (local-dynamic at -fPIC) one, from several threads. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

extern __thread int counter;            /* vars.c, initialized to 100 */
extern __thread char name[16];          /* vars.c, .tbss */
extern _Thread_local long big[64];      /* vars.c */
int bump_private(void);                 /* vars.c: a static __thread */
int *counter_address(void);             /* vars.c */

static __thread int mine = 7;

static void *work(void *arg) {
    int id = (int)(long)arg;
    snprintf(name, sizeof name, "thread-%d", id);
    for (int i = 0; i < 1000 * (id + 1); i++) counter++;
    for (int i = 0; i < 64; i++) big[i] = id * i;
    long sum = 0;
    for (int i = 0; i < 64; i++) sum += big[i];
    int p = 0;
    for (int i = 0; i <= id; i++) p = bump_private();
    mine += id;
    static char out[4][128];
    snprintf(out[id], sizeof out[id], "%s: counter %d sum %ld private %d mine %d same-address %s",
             name, counter, sum, p, mine, counter_address() == &counter ? "yes" : "no");
    return out[id];
}

int main(void) {
    pthread_t t[4];
    for (long i = 0; i < 4; i++) pthread_create(&t[i], NULL, work, (void *)i);
    for (int i = 0; i < 4; i++) {
        void *r;
        pthread_join(t[i], &r);
        puts((char *)r);
    }
    printf("main: counter %d name '%s' mine %d private %d\n", counter, name, mine, bump_private());
    return 0;
}
