// Throws from JIT'd code, including through libc's qsort (host frames).
#include "errors.h"
#include <cstdio>
#include <cstdlib>

void throw_app(int code) { throw AppError("app error", code); }
void throw_parse(int line) { throw ParseError("parse error", line); }
void throw_int(int v) { throw v; }

static int poison_value;
static int compare(const void *a, const void *b) {
    int x = *static_cast<const int *>(a), y = *static_cast<const int *>(b);
    if (x == poison_value || y == poison_value)
        throw AppError("poison in qsort", poison_value);
    return (x > y) - (x < y);
}

int sort_with_throwing_compare(int *v, int n, int poison) {
    poison_value = poison;
    qsort(v, n, sizeof *v, compare);
    return v[0];
}

void rethrow_current() {
    try {
        throw;
    } catch (const AppError &e) {
        std::printf("  rethrow_current saw AppError %d, rethrowing\n", e.code);
        throw;
    }
}

Tracked::Tracked(const char *n) : name(n) { std::printf("  construct %s\n", name); }
Tracked::~Tracked() { std::printf("  destroy %s\n", name); }

struct Holder {
    Tracked a{"member a"};
    Tracked b{"member b"};
    Holder() { throw_app(7); }
};

int construct_then_throw() {
    Tracked outer("local outer");
    Holder h; // members a and b are destroyed as the constructor unwinds
    return 0;
}
