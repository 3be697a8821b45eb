/*
 * link/runtime.h — what every program expects from its link: the symbols a
 * system linker and crt files would provide.
 */
#ifndef RIVET_LINK_RUNTIME_H
#define RIVET_LINK_RUNTIME_H

#include "link/link.h"

/* Add, as a synthetic object, whatever the link's objects reference or need
 * and do not define: __dso_handle (always: it names the link to
 * __cxa_atexit/__cxa_finalize), _GLOBAL_OFFSET_TABLE_, and atexit /
 * at_quick_exit, which glibc keeps in libc_nonshared.a rather than libc.so
 * and which must pass this link's __dso_handle so removing the link runs
 * its handlers. */
rivet_error *rv_runtime_add(rivet_link *l);

/* Does some object of the link reference `name` without any defining it?
 * `name` is one of the runtime's names (runtime.c). */
bool rv_link_references_undefined(rivet_link *l, const char *name);

/* The bit of `name` among the runtime's names, or 0 when it is not one:
 * the reader records in rv_object.runtime_refs which of them an object
 * references, as it reads the object's symbols. */
uint32_t rv_runtime_name_bit(const char *name);

#endif
