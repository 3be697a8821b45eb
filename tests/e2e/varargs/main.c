/* A printf-like function with va_list and va_copy in another object, with
 * ints, longs, doubles (in SSE registers and on the stack) and strings. */
#include <stdio.h>

extern int mini_format(char *out, const char *fmt, ...);
extern double sum_doubles(int n, ...);

int main(void)
{
    char buf[256];
    int n = mini_format(buf, "i=%d l=%l s=%s d=%f|", -42, 1234567890123L,
                        "str", 2.5);
    printf("[%s] len=%d\n", buf, n);
    n = mini_format(buf, "%d %d %d %d %d %d %d %d %s %f %f %f %f %f %f %f %f %f",
                    1, 2, 3, 4, 5, 6, 7, 8, "many", 0.5, 1.5, 2.5, 3.5, 4.5,
                    5.5, 6.5, 7.5, 8.5);
    printf("[%s] len=%d\n", buf, n);
    printf("sum=%.2f\n", sum_doubles(10, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0,
                                     8.0, 9.0, 10.5));
    return 0;
}
