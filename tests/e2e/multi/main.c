/* Cross-object calls and data: main.c uses functions and globals of
 * shapes.c and stats.c, which use each other's too. */
#include <stdio.h>
#include "shapes.h"

int main(int argc, char **argv)
{
    printf("argc=%d\n", argc);
    for (int i = 1; i < argc; i++)
        printf("argv[%d]=%s\n", i, argv[i]);
    struct shape s[] = { { RECT, 3, 4 }, { SQUARE, 5, 0 }, { TRIANGLE, 6, 2 } };
    for (int i = 0; i < 3; i++)
        stats_add(shape_area(&s[i]));
    printf("shapes=%d total=%ld max=%ld\n", stats_count, stats_total(), stats_max);
    printf("names: %s %s %s\n", shape_name(RECT), shape_name(SQUARE),
           shape_name(TRIANGLE));
    printf("calls into shapes.c: %d\n", shape_calls);
    return 0;
}
