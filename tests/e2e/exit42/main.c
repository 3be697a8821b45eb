/* main's return value becomes the exit status (42), after stdout is
 * flushed by exit(). */
#include <stdio.h>

extern int answer(void);

int main(int argc, char **argv)
{
    printf("returning %d with %d args\n", answer(), argc - 1);
    return answer();
}
