// Inline functions, templates and classes whose vtables, typeinfo and
// guard variables every object that uses them emits (COMDAT groups); a
// correct link keeps exactly one copy of each.
#pragma once
#include <typeinfo>

inline int &shared_counter() {
    static int counter = 0; // one counter for the whole program
    return counter;
}

inline int bump() { return ++shared_counter(); }

template <typename T> struct Registry {
    static int instances; // one per T across the program
    static T last;
    static void add(T v) { instances++; last = v; }
};
template <typename T> int Registry<T>::instances = 0;
template <typename T> T Registry<T>::last = T();

template <typename T> T twice(T v) { return v + v; }

// No key function: vtable and typeinfo are emitted wherever used.
struct Shape {
    virtual ~Shape() {}
    virtual const char *name() const { return "shape"; }
    virtual int sides() const { return 0; }
};
struct Square : Shape {
    const char *name() const override { return "square"; }
    int sides() const override { return 4; }
};
struct Triangle : Shape {
    const char *name() const override { return "triangle"; }
    int sides() const override { return 3; }
};

// Defined in a.cc and b.cc.
int a_bumps();
int b_bumps();
Shape *a_make_square();
Shape *b_make_triangle();
const std::type_info &a_square_type();
const std::type_info &b_square_type();
const void *a_counter_address();
const void *b_counter_address();
void a_register();
void b_register();
int (*a_twice_ptr())(int);
int (*b_twice_ptr())(int);
