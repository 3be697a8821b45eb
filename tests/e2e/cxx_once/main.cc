// std::call_once, std::async and std::promise/std::future: their inline
// code in <mutex> reaches libstdc++'s thread-locals __once_callable and
// __once_call with initial-exec TLS accesses (R_X86_64_GOTTPOFF).
#include <cstdio>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

int slow_square(int v); // square.cc

static std::once_flag once;
static int initialized;

int main() {
    std::vector<std::thread> ts;
    for (int i = 0; i < 4; i++)
        ts.emplace_back([] { std::call_once(once, [] { initialized++; }); });
    for (auto &t : ts) t.join();
    std::printf("call_once ran %d time(s)\n", initialized);

    auto f1 = std::async(std::launch::async, slow_square, 12);
    auto f2 = std::async(std::launch::deferred, slow_square, 5);
    std::printf("async %d deferred %d\n", f1.get(), f2.get());

    std::promise<std::string> p;
    std::future<std::string> f = p.get_future();
    std::thread([&p] { p.set_value("set in another thread"); }).join();
    std::printf("promise: %s\n", f.get().c_str());

    std::promise<int> broken;
    std::future<int> bf = broken.get_future();
    std::thread([&broken] {
        try { throw std::runtime_error("failed in a thread"); }
        catch (...) { broken.set_exception(std::current_exception()); }
    }).join();
    try { bf.get(); } catch (const std::exception &e) { std::printf("future rethrew: %s\n", e.what()); }
    return 0;
}
