// Static objects with constructors and destructors in several objects,
// function-local statics (thread-safe guards) and destruction order at exit
// (reverse of construction, interleaved with atexit handlers).
#include "log.h"

Logged global_main("global_main", 5);

int main() {
    std::printf("main starts: a %d b %d\n", a_value(), b_value());
    std::printf("lazy_b %d\n", lazy_b().value); // builds lazy_a, then lazy_b
    std::printf("lazy_a %d\n", lazy_a().value);
    for (int i = 0; i < 3; i++) call_count();
    std::printf("call_count %d\n", call_count());
    static Logged in_main("static in main", 6);
    std::printf("main returns\n");
    return 0;
}
