#include <stdlib.h>
#include "work.h"
uint64_t matmul(int n)
{
    uint32_t *a = malloc(sizeof *a * n * n), *b = malloc(sizeof *b * n * n);
    uint64_t sum = 0;
    for (int i = 0; i < n * n; i++) {
        a[i] = (uint32_t)(i * 2654435761u);
        b[i] = (uint32_t)(i * 40503u + 7);
    }
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            uint64_t s = 0;
            for (int k = 0; k < n; k++)
                s += (uint64_t)a[i * n + k] * b[k * n + j];
            sum ^= s + (uint64_t)i * j;
        }
    free(a);
    free(b);
    return sum;
}
