/* A dense switch over 24 cases (a jump table at -O2) in another object,
 * and a second switch on characters. */
#include <stdio.h>

extern int classify(int n);
extern const char *spell(char c);

int main(void)
{
    long sum = 0;
    for (int i = -2; i < 30; i++) {
        int v = classify(i);
        sum = sum * 31 + v;
        printf("%d:%d ", i, v);
    }
    printf("\nhash=%ld\n", sum);
    for (const char *p = "a7z!Q"; *p; p++)
        printf("%c -> %s\n", *p, spell(*p));
    return 0;
}
