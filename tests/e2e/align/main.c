/* Over-aligned data in .data, .bss and .rodata, and in another object;
 * every address must honour its alignment. */
#include <stdint.h>
#include <stdio.h>

_Alignas(4096) char page_bss[100];
_Alignas(4096) char page_data[100] = "page";
__attribute__((aligned(64))) int line_bss[3];
__attribute__((aligned(64))) const int line_rodata[3] = { 1, 2, 3 };
static __attribute__((aligned(256))) char static_256[10] = "s";
extern char other_8k[];
extern int other_32[];

#define SHOW(x, a) printf("%-12s %% %5d = %d\n", #x, a, (int)((uintptr_t)(x) % (a)))

int main(void)
{
    SHOW(page_bss, 4096);
    SHOW(page_data, 4096);
    SHOW(line_bss, 64);
    SHOW(line_rodata, 64);
    SHOW(static_256, 256);
    SHOW(other_8k, 8192);
    SHOW(other_32, 32);
    printf("contents: %s %s %d %d\n", page_data, static_256, line_rodata[2],
           other_32[1]);
    return 0;
}
