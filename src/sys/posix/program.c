/*
 * sys/posix/program.c — exit-handler registration per DSO and the
 * environment (the program half of sys/sys.h), through the Itanium C++ ABI
 * entry points every ELF C library provides.
 */

#include "sys/sys.h"

extern char **environ;
int __cxa_atexit(void (*fn)(void *), void *arg, void *dso);
void __cxa_finalize(void *dso);

rivet_error *rv_sys_atexit_for_dso(void (*fn)(void *), void *arg, void *dso)
{
    if (__cxa_atexit(fn, arg, dso) != 0)
        return rivet_error_create(RIVET_ERR_NOMEM,
                                  "__cxa_atexit: cannot register handler");
    return NULL;
}

void rv_sys_finalize_dso(void *dso)
{
    __cxa_finalize(dso);
}

char **rv_sys_environ(void)
{
    return environ;
}
