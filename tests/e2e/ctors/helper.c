#include <stdio.h>
#include <stdlib.h>

int helper_value = 1;

__attribute__((constructor(101))) static void ctor_101(void)
{
    printf("ctor 101 (helper.c)\n");
    helper_value = 101;
}
__attribute__((constructor)) static void ctor_default_helper(void)
{
    printf("ctor default (helper.c)\n");
    helper_value += 1000;
}
static void atexit_from_ctor(void) { printf("atexit registered by a ctor\n"); }
__attribute__((constructor(103))) static void ctor_103(void)
{
    printf("ctor 103 (helper.c) registers atexit\n");
    atexit(atexit_from_ctor);
}
__attribute__((destructor)) static void dtor_helper(void)
{
    printf("dtor (helper.c)\n");
}
