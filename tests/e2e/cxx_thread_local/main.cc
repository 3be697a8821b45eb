// C++ thread_local with dynamic initialization and destructors (TLS init
// functions, __cxa_thread_atexit), across objects and threads.
#include <cstdio>
#include <string>
#include <thread>

struct PerThread {
    std::string label;
    int uses = 0;
    PerThread();
    ~PerThread();
};
extern thread_local PerThread per_thread; // other.cc
int next_id();                            // other.cc

static std::string results[3];

static void run(int slot) {
    thread_local int local_calls = 0; // function-scope thread_local
    for (int i = 0; i <= slot; i++) {
        per_thread.uses++;
        local_calls++;
    }
    results[slot] = per_thread.label + " uses " + std::to_string(per_thread.uses) +
                    " local " + std::to_string(local_calls);
}

int main() {
    std::printf("main first use: %d\n", per_thread.uses);
    for (int i = 0; i < 3; i++) // one at a time: destructor output in order
        std::thread(run, i).join();
    std::thread([] { std::printf("a thread that never touches per_thread\n"); }).join();
    for (auto &r : results)
        std::printf("%s\n", r.c_str());
    std::printf("ids handed out: %d\n", next_id() - 1);
    return 0;
}
