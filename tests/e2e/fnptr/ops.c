#include <stddef.h>

struct op { const char *name; long (*fn)(long, long); };

long op_add(long a, long b) { return a + b; }
static long op_sub(long a, long b) { return a - b; }
static long op_mul(long a, long b) { return a * b; }
static long op_max(long a, long b) { return a > b ? a : b; }

const struct op op_table[] = {
    { "add", op_add }, { "sub", op_sub }, { "mul", op_mul }, { "max", op_max },
};
long (*const op_direct[])(long, long) = { op_add, op_sub, op_mul, op_max };
const int op_count = sizeof op_table / sizeof op_table[0];
void (*on_done)(const char *) = NULL;
