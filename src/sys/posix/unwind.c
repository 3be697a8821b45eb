/*
 * sys/posix/unwind.c — hand .eh_frame sections to the C runtime's unwinder
 * (the unwind half of sys/sys.h).
 *
 * libgcc's __register_frame takes the start of a whole .eh_frame section
 * and walks it until a zero length word, which rivet's linker appends.
 * (LLVM's libunwind instead wants one FDE per call; a port to it changes
 * only this file.)
 */
#include "sys/sys.h"

void __register_frame(const void *begin);
void __deregister_frame(const void *begin);

void rv_sys_register_frame(const void *eh_frame)
{
    __register_frame(eh_frame);
}

void rv_sys_deregister_frame(const void *eh_frame)
{
    __deregister_frame(eh_frame);
}
