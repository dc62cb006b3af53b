// Tasks 0..count-1 run on a few threads: handed out in order, the first failure kept and
// rethrown on the caller's thread, no task handed out after a failure, stop() or a cancel.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "migrate/util/clock.h"
#include "migrate/util/units.h"

namespace migrate {

class WorkPool {
public:
    // Runs task `task` on worker `worker` (0..threads-1: an index into per-thread state such
    // as a session). A task that throws stops the pool; the first exception is the news.
    using Task = std::function<void(std::size_t task, std::size_t worker)>;

    // Starts `threads` workers at once (at least one). `cancel`, when given, is polled
    // before each task is handed out. `stop_flag`, when given, is raised once the first
    // failure is kept (never before), for long tasks that poll a flag to end early.
    WorkPool(std::size_t count, std::size_t threads, Task task, const CancelToken* cancel = nullptr,
             std::atomic<bool>* stop_flag = nullptr);
    // Stops and joins; a failure not taken by join() is dropped.
    ~WorkPool();
    WorkPool(const WorkPool&) = delete;
    WorkPool& operator=(const WorkPool&) = delete;

    // Waits up to `wait` for a task to end or every worker to end; returns the tasks that
    // ended without an exception since the last call, in the order they ended.
    std::vector<std::size_t> wait_for(Millis wait);
    // Every worker has ended (all tasks done, or the pool stopped).
    bool done();
    // Hands out no more tasks; the tasks running finish.
    void stop();
    // Stops the pool with `error` unless a task failed first (the caller's own failure).
    void fail(std::exception_ptr error);
    // Waits for every worker, then rethrows the first failure.
    void join();

    // Runs the tasks to the end; `tick`, when given, runs on the caller's thread every
    // `interval` and once at the end. Rethrows the first failure.
    static void run(std::size_t count, std::size_t threads, const Task& task,
                    const CancelToken* cancel = nullptr, Millis interval = Millis(0),
                    const std::function<void()>& tick = {});

private:
    void work(std::size_t worker);
    bool wait_done(Millis wait);
    void join_threads();

    const std::size_t m_count;
    const Task m_task;
    const CancelToken* m_cancel;
    std::atomic<bool>* m_stop_flag;
    const std::size_t m_thread_count;
    std::atomic<std::size_t> m_next{0};
    std::atomic<bool> m_stopping{false};
    std::mutex m_mutex;  // guards what follows
    std::condition_variable m_changed;
    std::vector<std::size_t> m_ended;  // tasks ended since the last wait_for()
    std::size_t m_workers_done = 0;
    std::exception_ptr m_error;
    std::vector<std::thread> m_threads;  // last: they start once everything they use exists
};

}  // namespace migrate
