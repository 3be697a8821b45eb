#include "shared.h"
int a_bumps() { bump(); return bump(); }
Shape *a_make_square() { return new Square; }
const std::type_info &a_square_type() { return typeid(Square); }
const void *a_counter_address() { return &shared_counter(); }
void a_register() { Registry<int>::add(1); Registry<double>::add(1.5); }
int (*a_twice_ptr())(int) { return &twice<int>; }
