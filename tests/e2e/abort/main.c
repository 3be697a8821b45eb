/* abort() from JIT'd code: the process dies by SIGABRT (shell status 134)
 * under rivet exactly as natively; output flushed before is kept. */
#include <stdio.h>
#include <stdlib.h>

extern void fail_hard(const char *why);

int main(void)
{
    printf("about to abort\n");
    fflush(NULL);
    fail_hard("on purpose");
    printf("not reached\n");
    return 0;
}
