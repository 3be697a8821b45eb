// An exception nobody catches: std::terminate prints
// "terminate called after throwing an instance of 'Fatal'" and what(),
// then aborts (status 134). Output before it must be flushed the same way.
#include <cstdio>
#include <stdexcept>

struct Fatal : std::runtime_error {
    Fatal() : std::runtime_error("unrecoverable state in JIT'd code") {}
};
struct Noisy {
    ~Noisy() { std::printf("never printed: no unwinding without a handler\n"); }
};

void fail(int depth);

int main() {
    std::printf("before the throw\n");
    std::fflush(stdout);
    Noisy n;
    fail(3);
    return 0;
}
