#include <functional>
#include <memory>
#include <string>

int worker_sum(int from, int to) {
    int s = 0;
    for (int i = from; i < to; i++) s += i % 7;
    return s;
}

std::function<int(int)> make_adder(int n) {
    return [n](int v) { return v + n; };
}

static std::weak_ptr<std::string> last;
std::shared_ptr<std::string> shared_name() {
    auto p = std::make_shared<std::string>("rivet");
    last = p;
    return p;
}
long shared_name_use_count() { return last.use_count(); }
