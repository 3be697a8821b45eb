// libstdc++ from JIT'd code: iostreams, std::string, containers and
// algorithms, std::function, smart pointers, std::thread with a mutex and
// a condition variable. (std::call_once, std::async and std::promise are
// in cxx_once.)
#include <algorithm>
#include <condition_variable>
#include <functional>
#include <iomanip>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <numeric>
#include <sstream>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

int worker_sum(int from, int to); // work.cc
std::function<int(int)> make_adder(int n);
std::shared_ptr<std::string> shared_name();
long shared_name_use_count();

int main() {
    std::cout << "iostream: " << 42 << ' ' << std::hex << 255 << std::dec << ' '
              << std::fixed << std::setprecision(3) << 3.14159 << std::endl;
    std::ostringstream os;
    os << std::setw(6) << std::setfill('*') << 17 << "|" << std::left << std::setw(4) << "ab" << "|";
    std::cout << "ostringstream: " << os.str() << "\n";
    std::istringstream is("10 20 30 forty");
    int x, total = 0;
    while (is >> x) total += x;
    std::cout << "istringstream total " << total << "\n";

    std::vector<std::string> words = {"pear", "apple", "fig", "banana", "cherry"};
    std::sort(words.begin(), words.end());
    std::string joined = std::accumulate(words.begin(), words.end(), std::string(),
        [](const std::string &a, const std::string &b) { return a.empty() ? b : a + "," + b; });
    std::cout << "sorted: " << joined << "\n";
    std::map<std::string, int> lengths;
    for (auto &w : words) lengths[w] = (int)w.size();
    std::unordered_map<int, int> by_len;
    for (auto &kv : lengths) by_len[kv.second]++;
    std::cout << "map first " << lengths.begin()->first << ", words of length 6: " << by_len[6] << "\n";

    std::function<int(int)> add5 = make_adder(5);
    std::function<int(int)> composed = [add5](int v) { return add5(v) * 2; };
    std::cout << "function: " << add5(1) << " " << composed(1) << "\n";

    {
        auto p = shared_name();
        std::cout << "shared_ptr: " << *p << " use_count " << shared_name_use_count() << "\n";
    }
    std::cout << "after scope use_count " << shared_name_use_count() << "\n";
    auto u = std::make_unique<std::vector<int>>(10, 7);
    std::cout << "unique_ptr sum " << std::accumulate(u->begin(), u->end(), 0) << "\n";

    std::vector<std::thread> threads;
    std::mutex m;
    long grand = 0;
    for (int t = 0; t < 4; t++)
        threads.emplace_back([&, t] {
            int s = worker_sum(t * 1000, (t + 1) * 1000);
            std::lock_guard<std::mutex> g(m);
            grand += s;
        });
    for (auto &t : threads) t.join();
    std::cout << "threads: " << grand << "\n";

    std::condition_variable cv;
    bool ready = false;
    int answer = 0;
    std::thread producer([&] {
        std::lock_guard<std::mutex> g(m);
        answer = 42;
        ready = true;
        cv.notify_one();
    });
    {
        std::unique_lock<std::mutex> l(m);
        cv.wait(l, [&] { return ready; });
    }
    producer.join();
    std::cout << "condition_variable: " << answer << "\n";

    std::cerr << "cerr works too\n";
    return 0;
}
