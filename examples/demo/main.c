/* Evaluate each argument as an expression; `ans` is the previous result.
 * Exit status: the number of expressions that failed. */
#include <stdio.h>
#include "calc.h"

int main(int argc, char **argv)
{
    int failures = 0;
    for (int i = 1; i < argc; i++) {
        long v;
        const char *err;
        if (calc_eval(argv[i], &v, &err) == 0) {
            printf("%-24s = %ld\n", argv[i], v);
        } else {
            printf("%-24s : error: %s\n", argv[i], err);
            failures++;
        }
    }
    printf("%d expressions, %d failed\n", calc_evaluations, failures);
    return failures;
}
