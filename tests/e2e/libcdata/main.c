/* libc's data used from JIT'd code: stdout, stderr, environ, errno. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern char **environ;
extern void report(FILE *to, const char *what);

int main(void)
{
    fprintf(stdout, "to stdout\n");
    fprintf(stderr, "to stderr\n");
    report(stdout, "via pointer to stdout");
    report(stderr, "via pointer to stderr");

    int n = 0;
    const char *found = NULL;
    for (char **e = environ; *e; e++, n++)
        if (strncmp(*e, "RIVET_E2E_VAR=", 14) == 0)
            found = *e + 14;
    printf("environ: %s entries, RIVET_E2E_VAR=%s\n", n > 0 ? "some" : "no",
           found ? found : "(unset)");
    printf("getenv agrees: %d\n", found && getenv("RIVET_E2E_VAR") == found);

    errno = 0;
    int fd = open("/nonexistent/rivet/e2e", O_RDONLY);
    printf("open: %d errno=%d (%s)\n", fd, errno, errno == ENOENT ? "ENOENT" : "?");
    errno = 0;
    long v = strtol("99999999999999999999999", NULL, 10);
    printf("strtol: %ld errno is ERANGE: %d\n", v, errno == ERANGE);
    fflush(stdout);
    return 0;
}
