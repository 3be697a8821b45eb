// A global object type that logs construction and destruction.
#pragma once
#include <cstdio>

struct Logged {
    const char *name;
    int value;
    Logged(const char *n, int v) : name(n), value(v) { std::printf("ctor %s %d\n", name, value); }
    ~Logged() { std::printf("dtor %s\n", name); }
};

extern Logged global_a; // a.cc
extern Logged global_b; // b.cc
int a_value();
int b_value();
Logged &lazy_a();
Logged &lazy_b();
int call_count();
