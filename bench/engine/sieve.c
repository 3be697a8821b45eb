#include <stdlib.h>
#include "work.h"
uint64_t sieve(int n)
{
    char *composite = calloc((size_t)n + 1, 1);
    uint64_t count = 0;
    for (int i = 2; i <= n; i++) {
        if (composite[i])
            continue;
        count++;
        for (long j = (long)i * i; j <= n; j += i)
            composite[j] = 1;
    }
    free(composite);
    return count;
}
