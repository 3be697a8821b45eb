/*
 * bench/alternate.c — time commands side by side, alternating them run by
 * run, so that a change in the machine's load during the measurement
 * falls on all of them alike (hyperfine runs one command's samples, then
 * the next's).
 *
 *   alternate [-r RUNS] [-w WARMUP] -n NAME COMMAND [ARG...] -- [-n NAME COMMAND ... --]...
 *
 * Each command is started directly (posix_spawn, no shell) with stdout
 * and stderr sent to /dev/null; its wall time runs from the spawn to its
 * reaping. Prints, per command, the median and the fastest run, and the
 * ratio of its median to the first command's. A command that fails is
 * reported and the whole run fails.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

typedef struct command {
    const char *name;
    char **argv;
    double *times;
} command;

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Run once; the wall time in ms, or a negative value if it failed. */
static double run(const command *c)
{
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    double t0 = now_ms();
    pid_t pid;
    int rc = posix_spawnp(&pid, c->argv[0], &fa, NULL, c->argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0)
        return -1;
    int status;
    if (waitpid(pid, &status, 0) != pid)
        return -1;
    double t = now_ms() - t0;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? t : -1;
}

static int usage(void)
{
    fprintf(stderr, "usage: alternate [-r RUNS] [-w WARMUP] -n NAME COMMAND [ARG...] -- ...\n");
    return 2;
}

int main(int argc, char **argv)
{
    int runs = 20, warmup = 3, count = 0;
    command *cmds = calloc((size_t)argc, sizeof(*cmds));
    if (!cmds)
        return 1;
    for (int i = 1; i < argc;) {
        if (strcmp(argv[i], "-r") == 0 && i + 1 < argc) {
            runs = atoi(argv[i + 1]);
            i += 2;
        } else if (strcmp(argv[i], "-w") == 0 && i + 1 < argc) {
            warmup = atoi(argv[i + 1]);
            i += 2;
        } else if (strcmp(argv[i], "-n") == 0 && i + 2 < argc) {
            command *c = &cmds[count++];
            c->name = argv[i + 1];
            c->argv = &argv[i + 2];
            int j = i + 2;
            while (j < argc && strcmp(argv[j], "--") != 0)
                j++;
            if (j < argc)
                argv[j++] = NULL; /* ends this command's argv */
            i = j;
        } else {
            return usage();
        }
    }
    if (count == 0 || runs < 1 || warmup < 0)
        return usage();
    for (int k = 0; k < count; k++) {
        cmds[k].times = calloc((size_t)runs, sizeof(double));
        if (!cmds[k].times)
            return 1;
    }
    for (int w = 0; w < warmup; w++)
        for (int k = 0; k < count; k++)
            if (run(&cmds[k]) < 0) {
                fprintf(stderr, "alternate: %s failed\n", cmds[k].name);
                return 1;
            }
    for (int r = 0; r < runs; r++)
        for (int k = 0; k < count; k++)
            if ((cmds[k].times[r] = run(&cmds[k])) < 0) {
                fprintf(stderr, "alternate: %s failed\n", cmds[k].name);
                return 1;
            }
    double base = 0;
    for (int k = 0; k < count; k++) {
        qsort(cmds[k].times, (size_t)runs, sizeof(double), by_value);
        double median = runs % 2 ? cmds[k].times[runs / 2]
                                 : (cmds[k].times[runs / 2 - 1] + cmds[k].times[runs / 2]) / 2;
        if (k == 0)
            base = median;
        printf("  %-34s %9.2f ms   %7.2fx  (median of %d, alternating; fastest %.2f ms)\n",
               cmds[k].name, median, median / base, runs, cmds[k].times[0]);
    }
    return 0;
}
