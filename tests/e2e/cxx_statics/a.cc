#include "log.h"
#include <cstdlib>

Logged global_a("global_a", 1);
static Logged file_static_a("file_static_a", 2);
Logged global_a2("global_a2", global_a.value + 10); // same object: ordered

int a_value() { return global_a.value + global_a2.value; }

Logged &lazy_a() {
    static Logged l("lazy_a", 100); // constructed on first call, destroyed at exit
    return l;
}

static void at_exit_a() { std::printf("atexit handler from a.cc\n"); }
static int registered = (std::atexit(at_exit_a), 0);
