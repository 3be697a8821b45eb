/* Calls, address-taking and pointer equality of IFUNC symbols defined in
 * another object: the resolver ran before main and its choice is what
 * every reference reaches. */
#include <stddef.h>
#include <stdio.h>

long sum(const int *v, size_t n);
typedef long sum_fn(const int *, size_t);
sum_fn *sum_address_here(void);
const char *which_variant(void);
extern int resolver_ran;

static sum_fn *const table[] = {sum}; /* address in data */

int main(void)
{
    int v[] = {1, 2, 3, 4, 5, 6, 7};
    sum_fn *volatile p = sum;
    printf("direct call: %ld\n", sum(v, 7));
    printf("through pointer: %ld\n", p(v, 5));
    printf("through table: %ld\n", table[0](v, 3));
    /* (a native PIE does not promise equal IFUNC addresses; calls agree) */
    printf("address from the defining object: %ld\n", sum_address_here()(v, 4));
    printf("static ifunc: %s\n", which_variant());
    printf("resolver ran before main: %s\n", resolver_ran ? "yes" : "no");
    return 0;
}
