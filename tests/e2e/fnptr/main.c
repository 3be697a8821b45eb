/* Tables of function pointers initialized statically in another object
 * (ops.c), called through, compared and stored in a struct array. */
#include <stdio.h>
#include <string.h>

struct op { const char *name; long (*fn)(long, long); };
extern const struct op op_table[];
extern long (*const op_direct[])(long, long);
extern const int op_count;
extern long op_add(long, long);
extern void (*on_done)(const char *);

static void done(const char *who) { printf("done: %s\n", who); }

int main(void)
{
    for (int i = 0; i < op_count; i++)
        printf("%s(12, 5) = %ld\n", op_table[i].name, op_table[i].fn(12, 5));
    printf("direct[2](7, 3) = %ld\n", op_direct[2](7, 3));
    printf("table[0].fn == op_add: %d\n", op_table[0].fn == op_add);
    printf("direct[0] == table[0].fn: %d\n", op_direct[0] == op_table[0].fn);
    on_done = done;
    on_done("main");
    long (*pick)(long, long) = NULL;
    for (int i = 0; i < op_count; i++)
        if (strcmp(op_table[i].name, "max") == 0)
            pick = op_table[i].fn;
    printf("picked max: %ld\n", pick ? pick(-4, 9) : -1);
    return 0;
}
