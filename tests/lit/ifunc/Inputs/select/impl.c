/* IFUNC definitions: a global one whose resolver picks an implementation
 * by a configuration word (data is initialized before resolvers run), and
 * a static one. */
#include <stddef.h>

int resolver_ran;
int config_word = 2;

static long sum_scalar(const int *v, size_t n)
{
    long s = 0;
    for (size_t i = 0; i < n; i++)
        s += v[i];
    return s;
}

static long sum_unrolled(const int *v, size_t n)
{
    long s = 0;
    size_t i = 0;
    for (; i + 2 <= n; i += 2)
        s += v[i] + v[i + 1];
    return i < n ? s + v[i] : s;
}

static long sum_wrong(const int *v, size_t n)
{
    (void)v;
    (void)n;
    return -1; /* never selected */
}

typedef long sum_fn(const int *, size_t);

static sum_fn *resolve_sum(void)
{
    resolver_ran++;
    if (config_word == 2)
        return sum_unrolled;
    return config_word == 1 ? sum_scalar : sum_wrong;
}

long sum(const int *v, size_t n) __attribute__((ifunc("resolve_sum")));

static const char *name_a(void) { return "variant A"; }
static const char *name_b(void) { return "variant B"; }
static const char *(*resolve_name(void))(void)
{
    return config_word == 2 ? name_b : name_a;
}
static const char *variant_name(void) __attribute__((ifunc("resolve_name")));

const char *which_variant(void)
{
    return variant_name();
}

sum_fn *sum_address_here(void)
{
    return sum;
}
