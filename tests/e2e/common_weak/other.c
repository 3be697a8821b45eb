#include <string.h>

int counter;              /* common */
char buffer[64];          /* the bigger common */

const char *greeting(void) { return "strong greeting"; }
int tuning = 42;

void other_fill(void)
{
    counter *= 3;
    memset(buffer, 'x', sizeof buffer);
    memcpy(buffer, "common-symbol", 13);
    buffer[63] = 'Z';
}

int buffer_size_seen_by_other(void) { return (int)sizeof buffer; }
