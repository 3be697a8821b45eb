/* Constructors with priorities, destructors and atexit handlers in two
 * objects; every step prints, so the order is the output. */
#include <stdio.h>
#include <stdlib.h>

extern int helper_value;

__attribute__((constructor(102))) static void ctor_102(void)
{
    printf("ctor 102 (main.c), helper_value=%d\n", helper_value);
}
__attribute__((constructor)) static void ctor_default(void)
{
    printf("ctor default (main.c)\n");
}
__attribute__((destructor)) static void dtor_main(void)
{
    printf("dtor (main.c)\n");
}
__attribute__((destructor(150))) static void dtor_150(void)
{
    printf("dtor 150 (main.c)\n");
}
static void atexit_first(void) { printf("atexit registered first\n"); }
static void atexit_second(void) { printf("atexit registered second\n"); }

int main(void)
{
    printf("main, helper_value=%d\n", helper_value);
    atexit(atexit_first);
    atexit(atexit_second);
    printf("main returns\n");
    return 0;
}
