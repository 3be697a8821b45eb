/* expect.h — tiny self-checking helpers for the relocation test drivers.
 * Each expectation prints "NAME: ok" or "NAME: BAD got .. want .."; main
 * returns the number of failures, so the exit status fails the RUN line too. */
#include <stdint.h>
#include <stdio.h>

static int expect_failures;

static void expect_eq_u64(const char *name, uint64_t got, uint64_t want)
{
    if (got == want) {
        printf("%s: ok\n", name);
    } else {
        printf("%s: BAD got 0x%llx want 0x%llx\n", name,
               (unsigned long long)got, (unsigned long long)want);
        expect_failures++;
    }
}

#define EXPECT_EQ(name, got, want) \
    expect_eq_u64(name, (uint64_t)(uintptr_t)(got), (uint64_t)(uintptr_t)(want))
