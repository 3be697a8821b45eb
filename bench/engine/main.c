#include <stdio.h>
#include "work.h"
int main(void)
{
    uint64_t a = sieve(4000000), b = matmul(160), c = table(300000);
    printf("%llu %llu %llu\n", (unsigned long long)a, (unsigned long long)b,
           (unsigned long long)c);
    return 0;
}
