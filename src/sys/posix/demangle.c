/*
 * sys/posix/demangle.c — C++ names for messages, through libstdc++'s
 * __cxa_demangle, loaded on first use (rivet itself is C and does not link
 * libstdc++; without it names are shown as they are).
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "sys/sys.h"

typedef char *(*demangle_fn)(const char *, char *, size_t *, int *);

static demangle_fn demangler;
static pthread_once_t demangler_once = PTHREAD_ONCE_INIT;

static void load_demangler(void) {
    void *h = dlopen("libstdc++.so.6", RTLD_LAZY | RTLD_LOCAL);
    if (h)
        demangler = (demangle_fn)dlsym(h, "__cxa_demangle");
}

char *rv_sys_demangle(const char *name) {
    if (strncmp(name, "_Z", 2) != 0)
        return NULL;
    pthread_once(&demangler_once, load_demangler);
    if (!demangler)
        return NULL;
    int status = 0;
    char *out = demangler(name, NULL, NULL, &status);
    if (status != 0) {
        free(out);
        return NULL;
    }
    return out;
}
