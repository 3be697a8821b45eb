/*
 * sys/posix/dylib.c — dynamic libraries through dlopen/dlsym (the dylib
 * half of sys/sys.h).
 */
#include <dlfcn.h>

#include "sys/sys.h"

rivet_error *rv_sys_dylib_open(const char *path, void **handle)
{
    /* RTLD_GLOBAL so later lookups through the process handle see it too. */
    void *h = dlopen(path, RTLD_NOW | RTLD_GLOBAL);
    if (!h) {
        const char *why = dlerror();
        return rivet_error_create(RIVET_ERR_NOT_FOUND, "dlopen %s: %s",
                                  path ? path : "(process)",
                                  why ? why : "unknown error");
    }
    *handle = h;
    return NULL;
}

void *rv_sys_dylib_symbol(void *handle, const char *name)
{
    return dlsym(handle, name);
}

void rv_sys_dylib_close(void *handle)
{
    dlclose(handle);
}
