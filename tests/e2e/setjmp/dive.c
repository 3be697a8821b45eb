#include <setjmp.h>
#include <stdio.h>

extern jmp_buf env;
int dives;

void dive(int depth)
{
    dives++;
    if (depth == 0) {
        printf("bottom reached, jumping\n");
        longjmp(env, dives);
    }
    dive(depth - 1);
    printf("not reached\n");
}
