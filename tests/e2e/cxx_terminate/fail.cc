#include <stdexcept>
struct Fatal : std::runtime_error {
    Fatal() : std::runtime_error("unrecoverable state in JIT'd code") {}
};
void fail(int depth) {
    if (depth == 0)
        throw Fatal();
    fail(depth - 1);
}
