/*
 * tests/unit/check.h — the unit tests' tiny assertion macros: each check
 * counts as passed or failed, a failure prints "file:line: ...", and
 * check_report() prints "<name>: N passed, M failed" and gives the exit
 * status.
 */
#ifndef RIVET_TESTS_CHECK_H
#define RIVET_TESTS_CHECK_H

#include <stdio.h>

#include "rivet/error.h"

static int check_passed, check_failed;

#define CHECK(cond)                                                          \
    do {                                                                     \
        if (cond) {                                                          \
            check_passed++;                                                  \
        } else {                                                             \
            check_failed++;                                                  \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, \
                    #cond);                                                  \
        }                                                                    \
    } while (0)

/* expr returns rivet_error*; expect success. */
#define CHECK_OK(expr)                                                       \
    do {                                                                     \
        rivet_error *check_e_ = (expr);                                      \
        if (!check_e_) {                                                     \
            check_passed++;                                                  \
        } else {                                                             \
            check_failed++;                                                  \
            fprintf(stderr, "%s:%d: %s failed: %s\n", __FILE__, __LINE__,    \
                    #expr, rivet_error_message(check_e_));                   \
            rivet_error_free(check_e_);                                      \
        }                                                                    \
    } while (0)

/* expr returns rivet_error*; expect a failure with this code. */
#define CHECK_FAILS(expr, code)                                              \
    do {                                                                     \
        rivet_error *check_e_ = (expr);                                      \
        if (check_e_ && rivet_error_get_code(check_e_) == (code)) {          \
            check_passed++;                                                  \
        } else {                                                             \
            check_failed++;                                                  \
            fprintf(stderr, "%s:%d: %s: expected %s, got %s (%s)\n",         \
                    __FILE__, __LINE__, #expr, rivet_error_code_name(code),  \
                    rivet_error_code_name(rivet_error_get_code(check_e_)),   \
                    check_e_ ? rivet_error_message(check_e_) : "success");   \
        }                                                                    \
        rivet_error_free(check_e_);                                          \
    } while (0)

static int check_report(const char *name)
{
    printf("%s: %d passed, %d failed\n", name, check_passed, check_failed);
    return check_failed != 0;
}

#endif
