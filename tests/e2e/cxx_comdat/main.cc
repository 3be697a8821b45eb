#include "shared.h"
#include <cstdio>

int main() {
    int a = a_bumps(), b = b_bumps();
    std::printf("bumps: a %d, b %d, main %d\n", a, b, bump());
    std::printf("one counter: %s\n",
                a_counter_address() == b_counter_address() &&
                a_counter_address() == &shared_counter() ? "yes" : "no");
    a_register();
    b_register();
    std::printf("Registry<int>: %d instances, last %d; Registry<double>: %d\n",
                Registry<int>::instances, Registry<int>::last, Registry<double>::instances);
    std::printf("one twice<int>: %s, twice(21) = %d\n",
                a_twice_ptr() == b_twice_ptr() && a_twice_ptr() == &twice<int> ? "yes" : "no",
                a_twice_ptr()(21));

    Shape *sq = a_make_square(), *tr = b_make_triangle();
    std::printf("%s %d, %s %d\n", sq->name(), sq->sides(), tr->name(), tr->sides());
    std::printf("typeid equal across objects: %s %s\n",
                a_square_type() == b_square_type() ? "yes" : "no",
                typeid(*sq) == a_square_type() ? "yes" : "no");
    std::printf("type_info objects identical: %s\n",
                &a_square_type() == &b_square_type() ? "yes" : "no");
    std::printf("dynamic_cast: square->Square %s, triangle->Square %s, triangle->Triangle %s\n",
                dynamic_cast<Square *>(sq) ? "ok" : "null",
                dynamic_cast<Square *>(tr) ? "ok" : "null",
                dynamic_cast<Triangle *>(tr) ? "ok" : "null");
    try {
        throw Square();
    } catch (const Shape &s) {
        std::printf("caught a Shape: %s\n", s.name());
    }
    delete sq;
    delete tr;
    return 0;
}
