// Exception classes and helpers shared by the objects of cxx_exceptions.
#pragma once
#include <stdexcept>
#include <string>

struct AppError : std::runtime_error {
    int code;
    AppError(const std::string &what, int c) : std::runtime_error(what), code(c) {}
};
struct ParseError : AppError {
    int line;
    ParseError(const std::string &what, int l) : AppError(what, 2), line(l) {}
};

// Defined in thrower.cc.
void throw_app(int code);
void throw_parse(int line);
void throw_int(int v);
int sort_with_throwing_compare(int *v, int n, int poison);
void rethrow_current();
struct Tracked {
    const char *name;
    explicit Tracked(const char *n);
    ~Tracked();
};
int construct_then_throw();
