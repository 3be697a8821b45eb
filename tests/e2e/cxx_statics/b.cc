#include "log.h"

Logged global_b("global_b", 3);
namespace {
Logged anon_b("anon_b", 4);
}

int b_value() { return global_b.value + anon_b.value; }

Logged &lazy_b() {
    static Logged l("lazy_b", lazy_a().value + 1); // one lazy static built from another
    return l;
}

int call_count() {
    static int n = 0;
    return ++n;
}
