/* fork() in a JIT'd program: parent and child each have their own copy
 * of the program's memory from the moment of the fork. The child's writes
 * to initialized data, .bss and a function's static never reach the
 * parent, and the parent's later writes never reach the child. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int counter = 1;
static int bss_counter;
static char message[32] = "from the parent";

static int next_ticket(void)
{
    static int ticket = 100;
    return ++ticket;
}

int main(void)
{
    int ready[2], done[2];
    if (pipe(ready) != 0 || pipe(done) != 0)
        return 1;
    next_ticket();
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0)
        return 1;
    if (pid == 0) {
        counter = 42;
        bss_counter = 42;
        strcpy(message, "from the child");
        int ticket = next_ticket();
        char c;
        if (write(ready[1], "x", 1) != 1 || read(done[0], &c, 1) != 1)
            _exit(2);
        /* the parent wrote after the fork: not seen here */
        printf("child: counter=%d bss=%d message=%s ticket=%d\n", counter,
               bss_counter, message, ticket);
        fflush(stdout);
        _exit(counter == 42 && bss_counter == 42 ? 0 : 3);
    }
    char c;
    if (read(ready[0], &c, 1) != 1)
        return 1;
    printf("parent: counter=%d bss=%d message=%s ticket=%d\n", counter,
           bss_counter, message, next_ticket());
    fflush(stdout);
    counter = 7;
    bss_counter = 7;
    if (write(done[1], "x", 1) != 1)
        return 1;
    int status = 0;
    waitpid(pid, &status, 0);
    printf("child exited with %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    return 0;
}
