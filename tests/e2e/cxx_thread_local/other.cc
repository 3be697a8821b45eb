#include <atomic>
#include <cstdio>
#include <string>

struct PerThread {
    std::string label;
    int uses = 0;
    PerThread();
    ~PerThread();
};

static std::atomic<int> ids{1};
int next_id() { return ids.fetch_add(1); }

PerThread::PerThread() : label("thread " + std::to_string(next_id())) {}
PerThread::~PerThread() { std::printf("~PerThread uses %d\n", uses); }

thread_local PerThread per_thread;
