/* bench/engine — a small multi-file program for bench/engine.sh: a sieve,
 * a matrix product and a hash table, about 0.1 s of work. */
#include <stdint.h>
uint64_t sieve(int n);
uint64_t matmul(int n);
uint64_t table(int n);
