#include "shapes.h"

int stats_count;
long stats_max = -1;
static long total;

void stats_add(long v)
{
    stats_count++;
    total += v;
    if (v > stats_max)
        stats_max = v;
}

long stats_total(void)
{
    return total + 0 * shape_calls;
}
