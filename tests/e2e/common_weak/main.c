/* Common symbols (-fcommon: tentative definitions in two objects, one
 * bigger) and weak symbols (a weak default overridden by a strong
 * definition; an undefined weak reference that must be NULL). */
#include <stdio.h>
#include <string.h>

int counter;              /* common, also in other.c */
char buffer[16];          /* common; other.c's is 64 bytes: 64 wins */
double lone_common;       /* common only here */

extern void other_fill(void);
extern int buffer_size_seen_by_other(void);

__attribute__((weak)) const char *greeting(void) { return "weak greeting"; }
__attribute__((weak)) int tuning = 1;        /* overridden in other.c */
__attribute__((weak)) int untouched_weak = 7; /* not overridden */
extern void rivet_e2e_absent_hook(void) __attribute__((weak));
extern int rivet_e2e_absent_data __attribute__((weak));

int main(void)
{
    counter = 5;
    other_fill();
    printf("counter=%d\n", counter);
    printf("buffer=%.20s... last=%c size seen by other=%d\n", buffer,
           buffer[63], buffer_size_seen_by_other());
    printf("lone_common=%g aligned=%d\n", lone_common,
           (int)((unsigned long)&lone_common % _Alignof(double)));
    printf("greeting=%s tuning=%d untouched=%d\n", greeting(), tuning,
           untouched_weak);
    printf("absent hook is %s\n", rivet_e2e_absent_hook ? "present" : "NULL");
    printf("absent data is %s\n", &rivet_e2e_absent_data ? "present" : "NULL");
    if (rivet_e2e_absent_hook)
        rivet_e2e_absent_hook();
    return 0;
}
