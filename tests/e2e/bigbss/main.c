/* A 64 MiB zero-initialized array: placed, zeroed, touched at both ends. */
#include <stdio.h>

#define BIG (64u << 20)
static unsigned char big[BIG];
unsigned char big_global[1 << 20];

int main(void)
{
    unsigned long sum = 0;
    for (unsigned i = 0; i < BIG; i += 4096 * 7)
        sum += big[i];
    printf("initial sum=%lu\n", sum);
    big[0] = 1;
    big[BIG / 2] = 2;
    big[BIG - 1] = 3;
    big_global[(1 << 20) - 1] = 4;
    printf("ends: %d %d %d %d\n", big[0], big[BIG / 2], big[BIG - 1],
           big_global[(1 << 20) - 1]);
    printf("untouched: %d\n", big[12345]);
    return 0;
}
