#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>

void fail_hard(const char *why)
{
    dprintf(2, "fail_hard: %s\n", why);
    abort();
}
