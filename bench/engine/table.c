#include <stdlib.h>
#include "work.h"
/* Open addressing; insert then look every key up again. */
uint64_t table(int n)
{
    size_t cap = 1;
    while (cap < (size_t)n * 2)
        cap <<= 1;
    uint64_t *keys = calloc(cap, sizeof *keys), found = 0;
    for (int round = 0; round < 4; round++)
        for (int i = 1; i <= n; i++) {
            uint64_t k = (uint64_t)i * 0x9e3779b97f4a7c15ull, h = k;
            for (h ^= h >> 29;; h++) {
                uint64_t *slot = &keys[h & (cap - 1)];
                if (*slot == k) { found++; break; }
                if (!*slot) { *slot = k; break; }
            }
        }
    free(keys);
    return found;
}
