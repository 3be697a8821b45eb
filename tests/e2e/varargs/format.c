#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Formats twice: once through a va_copy to measure, once for real. */
static int format_into(char *out, const char *fmt, va_list ap)
{
    int len = 0;
    for (const char *p = fmt; *p; p++) {
        if (*p != '%') {
            if (out) out[len] = *p;
            len++;
            continue;
        }
        char tmp[64];
        switch (*++p) {
        case 'd': snprintf(tmp, sizeof tmp, "%d", va_arg(ap, int)); break;
        case 'l': snprintf(tmp, sizeof tmp, "%ld", va_arg(ap, long)); break;
        case 's': snprintf(tmp, sizeof tmp, "%s", va_arg(ap, const char *)); break;
        case 'f': snprintf(tmp, sizeof tmp, "%.1f", va_arg(ap, double)); break;
        default: tmp[0] = '?'; tmp[1] = 0; break;
        }
        size_t n = strlen(tmp);
        if (out) memcpy(out + len, tmp, n);
        len += (int)n;
    }
    if (out) out[len] = 0;
    return len;
}

int mini_format(char *out, const char *fmt, ...)
{
    va_list ap, copy;
    va_start(ap, fmt);
    va_copy(copy, ap);
    int measured = format_into(NULL, fmt, copy);
    va_end(copy);
    int written = format_into(out, fmt, ap);
    va_end(ap);
    return measured == written ? written : -1;
}

double sum_doubles(int n, ...)
{
    va_list ap;
    va_start(ap, n);
    double s = 0;
    for (int i = 0; i < n; i++)
        s += va_arg(ap, double);
    va_end(ap);
    return s;
}
