/*
 * rivet/error.h — errors returned by every fallible call in librivet and
 * librivet-rt.
 *
 * A fallible call returns `rivet_error *`: NULL on success, otherwise an
 * error the caller owns and must free with rivet_error_free(). An error
 * carries a code, a message and, where the failure came from the operating
 * system, its errno. Each layer that sees an error on its way up prefixes
 * what it knows ("prog.o: section .text: relocation R_X86_64_PC32 at 0x1c4
 * against 'foo': ..."), so the final message reads from the outermost
 * context to the root cause.
 *
 * Thread-safety: an error object belongs to one thread at a time; the
 * functions here keep no shared state.
 */
#ifndef RIVET_ERROR_H
#define RIVET_ERROR_H

#include <stdarg.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum rivet_error_code {
    RIVET_OK = 0,
    RIVET_ERR_GENERIC,      /* anything without a better code */
    RIVET_ERR_NOMEM,        /* an allocation failed */
    RIVET_ERR_IO,           /* a file or stream could not be read/written */
    RIVET_ERR_MALFORMED,    /* an input object, archive or message is invalid */
    RIVET_ERR_UNSUPPORTED,  /* valid input rivet does not handle */
    RIVET_ERR_UNDEFINED,    /* one or more symbols could not be resolved */
    RIVET_ERR_DUPLICATE,    /* two strong definitions of one symbol */
    RIVET_ERR_RANGE,        /* a fixup does not fit its field */
    RIVET_ERR_STATE,        /* call not valid in the object's current state */
    RIVET_ERR_NOT_FOUND,    /* a looked-up name or address does not exist */
    RIVET_ERR_EXECUTOR,     /* the executor failed or went away */
    RIVET_ERR_PROTOCOL,     /* a malformed frame or payload on the wire */
} rivet_error_code;

typedef struct rivet_error rivet_error;

/* Create an error with a printf-style message. Never returns NULL: if
 * memory is exhausted a static out-of-memory error is returned, which
 * rivet_error_free() recognises. */
rivet_error *rivet_error_create(rivet_error_code code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
rivet_error *rivet_error_createv(rivet_error_code code, const char *fmt,
                                 va_list ap);

/* Like rivet_error_create, and records `err` (an errno value); the message
 * gets ": <strerror(err)>" appended. */
rivet_error *rivet_error_from_errno(int err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Prefix context to an error's message ("<context>: <old message>") and
 * return the same error. `e` may be NULL, in which case NULL is returned, so
 * `return rivet_error_wrap(f(), "file %s", name);` is safe. */
rivet_error *rivet_error_wrap(rivet_error *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Combine two errors into one ("<first>; <second>"), keeping the first's
 * code and errno; either may be NULL (the other is returned). Both are
 * consumed. Used where several independent failures must all be reported. */
rivet_error *rivet_error_join(rivet_error *first, rivet_error *second);

rivet_error_code rivet_error_get_code(const rivet_error *e);
const char *rivet_error_message(const rivet_error *e);
int rivet_error_errno(const rivet_error *e); /* 0 when none */
const char *rivet_error_code_name(rivet_error_code code);

/* Free an error; NULL is accepted. */
void rivet_error_free(rivet_error *e);

#ifdef __cplusplus
}
#endif
#endif
