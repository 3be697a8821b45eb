/*
 * support/error.c — rivet_error: code, message, errno (rivet/error.h).
 *
 * Errors are heap objects. When even the error cannot be allocated, a
 * single static out-of-memory error stands in; rivet_error_free() knows it
 * and never frees it. Wrapping an error that has no memory left to grow
 * keeps the old message: losing context is better than losing the error.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rivet/error.h"

struct rivet_error {
    rivet_error_code code;
    int err; /* errno, 0 when none */
    char *message;
};

static char oom_message[] = "out of memory";
static rivet_error oom_error = {RIVET_ERR_NOMEM, 0, oom_message};

/* vasprintf-like, returning NULL on failure. */
static char *format_message(const char *fmt, va_list ap)
{
    va_list copy;
    va_copy(copy, ap);
    int n = vsnprintf(NULL, 0, fmt, copy);
    va_end(copy);
    if (n < 0)
        return NULL;
    char *buf = malloc((size_t)n + 1);
    if (!buf)
        return NULL;
    vsnprintf(buf, (size_t)n + 1, fmt, ap);
    return buf;
}

static rivet_error *error_new(rivet_error_code code, int err, char *message)
{
    if (!message)
        return &oom_error;
    rivet_error *e = malloc(sizeof(*e));
    if (!e) {
        free(message);
        return &oom_error;
    }
    e->code = code;
    e->err = err;
    e->message = message;
    return e;
}

rivet_error *rivet_error_createv(rivet_error_code code, const char *fmt,
                                 va_list ap)
{
    return error_new(code, 0, format_message(fmt, ap));
}

rivet_error *rivet_error_create(rivet_error_code code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    rivet_error *e = rivet_error_createv(code, fmt, ap);
    va_end(ap);
    return e;
}

/* "<message>: <strerror(err)>", or NULL when out of memory. */
static char *append_strerror(char *message, int err)
{
    if (!message)
        return NULL;
    const char *reason = strerror(err);
    size_t n = strlen(message), m = strlen(reason);
    char *buf = realloc(message, n + 2 + m + 1);
    if (!buf) {
        free(message);
        return NULL;
    }
    memcpy(buf + n, ": ", 2);
    memcpy(buf + n + 2, reason, m + 1);
    return buf;
}

rivet_error *rivet_error_from_errno(int err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *message = format_message(fmt, ap);
    va_end(ap);
    rivet_error_code code = err == ENOMEM ? RIVET_ERR_NOMEM : RIVET_ERR_IO;
    return error_new(code, err, append_strerror(message, err));
}

rivet_error *rivet_error_wrap(rivet_error *e, const char *fmt, ...)
{
    if (!e || e == &oom_error)
        return e;
    va_list ap;
    va_start(ap, fmt);
    char *context = format_message(fmt, ap);
    va_end(ap);
    if (!context)
        return e;
    size_t n = strlen(context), m = strlen(e->message);
    char *buf = malloc(n + 2 + m + 1);
    if (buf) {
        memcpy(buf, context, n);
        memcpy(buf + n, ": ", 2);
        memcpy(buf + n + 2, e->message, m + 1);
        free(e->message);
        e->message = buf;
    }
    free(context);
    return e;
}

rivet_error_code rivet_error_get_code(const rivet_error *e)
{
    return e ? e->code : RIVET_OK;
}

const char *rivet_error_message(const rivet_error *e)
{
    return e ? e->message : "success";
}

int rivet_error_errno(const rivet_error *e)
{
    return e ? e->err : 0;
}

const char *rivet_error_code_name(rivet_error_code code)
{
    switch (code) {
    case RIVET_OK: return "ok";
    case RIVET_ERR_GENERIC: return "generic";
    case RIVET_ERR_NOMEM: return "out of memory";
    case RIVET_ERR_IO: return "i/o";
    case RIVET_ERR_MALFORMED: return "malformed input";
    case RIVET_ERR_UNSUPPORTED: return "unsupported";
    case RIVET_ERR_UNDEFINED: return "undefined symbol";
    case RIVET_ERR_DUPLICATE: return "duplicate symbol";
    case RIVET_ERR_RANGE: return "out of range";
    case RIVET_ERR_STATE: return "invalid state";
    case RIVET_ERR_NOT_FOUND: return "not found";
    case RIVET_ERR_EXECUTOR: return "executor";
    case RIVET_ERR_PROTOCOL: return "protocol";
    }
    return "unknown";
}

void rivet_error_free(rivet_error *e)
{
    if (!e || e == &oom_error)
        return;
    free(e->message);
    free(e);
}

rivet_error *rivet_error_join(rivet_error *first, rivet_error *second)
{
    if (!first || !second)
        return first ? first : second;
    if (first == &oom_error || second == &oom_error) {
        /* no memory to combine: keep one failure, drop the other */
        rivet_error_free(second);
        return first;
    }
    size_t n = strlen(first->message), m = strlen(second->message);
    char *buf = malloc(n + 2 + m + 1);
    if (buf) {
        memcpy(buf, first->message, n);
        memcpy(buf + n, "; ", 2);
        memcpy(buf + n + 2, second->message, m + 1);
        free(first->message);
        first->message = buf;
    }
    rivet_error_free(second);
    return first;
}
