// Exceptions thrown and caught across JIT'd objects, through host frames
// (qsort), from libstdc++ (vector::at, stoi, bad_alloc, bad_cast), with
// rethrow, nested handlers, unwinding destructors and noexcept.
#include "errors.h"
#include <cstdio>
#include <new>
#include <string>
#include <typeinfo>
#include <vector>

struct Base { virtual ~Base() {} };
struct Derived : Base {};
struct Other : Base {};

static int depth_then_throw(int n) {
    Tracked t(n % 2 ? "frame odd" : "frame even");
    if (n == 0)
        throw_parse(42);
    return depth_then_throw(n - 1) + 1;
}

int main() {
    std::printf("1. catch by base class\n");
    try { throw_app(3); } catch (const std::exception &e) { std::printf("  caught std::exception: %s\n", e.what()); }

    std::printf("2. most derived handler first\n");
    try { throw_parse(17); }
    catch (const ParseError &e) { std::printf("  ParseError line %d code %d\n", e.line, e.code); }
    catch (const AppError &) { std::printf("  wrong handler\n"); }

    std::printf("3. non-class exception\n");
    try { throw_int(99); } catch (int v) { std::printf("  caught int %d\n", v); }

    std::printf("4. through qsort's frames\n");
    int v[] = {5, 3, 9, 1, 7, 13, 2};
    try {
        sort_with_throwing_compare(v, 7, 13);
        std::printf("  no exception?\n");
    } catch (const AppError &e) { std::printf("  caught from comparator: %s %d\n", e.what(), e.code); }
    int w[] = {5, 3, 9, 1};
    std::printf("  sorted without poison: first %d\n", sort_with_throwing_compare(w, 4, -1));

    std::printf("5. thrown by libstdc++\n");
    std::vector<int> vec(3);
    try { vec.at(10) = 1; } catch (const std::out_of_range &e) { std::printf("  out_of_range caught\n"); }
    try { std::stoi("not a number"); } catch (const std::invalid_argument &) { std::printf("  invalid_argument caught\n"); }
    try {
        std::vector<char> huge;
        huge.reserve(huge.max_size() + 1); // length_error, before allocating
    } catch (const std::length_error &) { std::printf("  length_error caught\n");
    } catch (const std::bad_alloc &) { std::printf("  bad_alloc caught\n"); }
    try {
        Other o;
        Base &b = o;
        (void)dynamic_cast<Derived &>(b);
    } catch (const std::bad_cast &e) { std::printf("  bad_cast caught\n"); }

    std::printf("6. rethrow\n");
    try {
        try { throw_app(5); } catch (...) { rethrow_current(); }
    } catch (const AppError &e) { std::printf("  outer caught rethrown code %d\n", e.code); }

    std::printf("7. unwinding runs destructors\n");
    try { depth_then_throw(3); } catch (const ParseError &e) { std::printf("  caught line %d\n", e.line); }
    try { construct_then_throw(); } catch (const AppError &e) { std::printf("  caught code %d\n", e.code); }

    std::printf("8. exception_ptr across objects\n");
    std::exception_ptr p;
    try { throw_parse(8); } catch (...) { p = std::current_exception(); }
    try { std::rethrow_exception(p); } catch (const ParseError &e) { std::printf("  rethrown exception_ptr line %d\n", e.line); }

    std::printf("9. many throws\n");
    int caught = 0;
    for (int i = 0; i < 1000; i++)
        try { throw_int(i); } catch (int x) { caught += x == i; }
    std::printf("  %d of 1000\n", caught);
    return 0;
}
