#include "shared.h"
int b_bumps() { return bump(); }
Shape *b_make_triangle() { return new Triangle; }
const std::type_info &b_square_type() { Square s; return typeid(s); }
const void *b_counter_address() { return &shared_counter(); }
void b_register() { Registry<int>::add(2); }
int (*b_twice_ptr())(int) { return &twice<int>; }
