/* setjmp/longjmp across objects, including out of nested calls and with
 * values; and sigsetjmp/siglongjmp. */
#include <setjmp.h>
#include <stdio.h>

jmp_buf env;
extern void dive(int depth);
extern int dives;

int main(void)
{
    volatile int rounds = 0;
    int v = setjmp(env);
    printf("setjmp returned %d (round %d)\n", v, rounds);
    if (rounds < 3) {
        rounds++;
        dive(rounds * 2);
    }
    printf("dives=%d\n", dives);

    sigjmp_buf senv;
    volatile int again = 0;
    if (sigsetjmp(senv, 1) == 0) {
        printf("sigsetjmp first\n");
        again = 1;
        siglongjmp(senv, 5);
    }
    printf("after siglongjmp again=%d\n", again);
    return 0;
}
