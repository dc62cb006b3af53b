// The one pool of worker threads the kinds share.
#include "migrate/util/work_pool.h"

#include <algorithm>

namespace migrate {

WorkPool::WorkPool(std::size_t count, std::size_t threads, Task task, const CancelToken* cancel,
                   std::atomic<bool>* stop_flag)
    : m_count(count),
      m_task(std::move(task)),
      m_cancel(cancel),
      m_stop_flag(stop_flag),
      m_thread_count(std::max<std::size_t>(threads, 1)) {
    m_threads.reserve(m_thread_count);
    try {
        for (std::size_t i = 0; i < m_thread_count; ++i)
            m_threads.emplace_back([this, i] { work(i); });
    } catch (...) {
        stop();
        {
            std::lock_guard lock(m_mutex);
            m_workers_done += m_thread_count - m_threads.size();  // never started
        }
        join_threads();
        throw;
    }
}

WorkPool::~WorkPool() {
    stop();
    join_threads();
}

void WorkPool::work(std::size_t worker) {
    for (;;) {
        if (m_stopping.load() || (m_cancel != nullptr && m_cancel->cancelled())) break;
        std::size_t task = m_next++;
        if (task >= m_count) break;
        try {
            m_task(task, worker);
        } catch (...) {
            fail(std::current_exception());
            break;
        }
        std::lock_guard lock(m_mutex);
        m_ended.push_back(task);
        m_changed.notify_all();
    }
    std::lock_guard lock(m_mutex);
    ++m_workers_done;
    m_changed.notify_all();
}

std::vector<std::size_t> WorkPool::wait_for(Millis wait) {
    std::unique_lock lock(m_mutex);
    m_changed.wait_for(lock, wait,
                       [&] { return !m_ended.empty() || m_workers_done == m_thread_count; });
    std::vector<std::size_t> ended;
    ended.swap(m_ended);
    return ended;
}

bool WorkPool::wait_done(Millis wait) {
    std::unique_lock lock(m_mutex);
    return m_changed.wait_for(lock, wait, [&] { return m_workers_done == m_thread_count; });
}

bool WorkPool::done() {
    std::lock_guard lock(m_mutex);
    return m_workers_done == m_thread_count;
}

void WorkPool::stop() { m_stopping = true; }

void WorkPool::fail(std::exception_ptr error) {
    std::lock_guard lock(m_mutex);
    // The first failure is the news; the others stopped because of it.
    if (!m_error) m_error = std::move(error);
    m_stopping = true;
    if (m_stop_flag != nullptr) *m_stop_flag = true;
    m_changed.notify_all();
}

void WorkPool::join_threads() {
    for (std::thread& thread : m_threads)
        if (thread.joinable()) thread.join();
}

void WorkPool::join() {
    join_threads();
    std::exception_ptr error;
    {
        std::lock_guard lock(m_mutex);
        error = m_error;
    }
    if (error) std::rethrow_exception(error);
}

void WorkPool::run(std::size_t count, std::size_t threads, const Task& task,
                   const CancelToken* cancel, Millis interval, const std::function<void()>& tick) {
    WorkPool pool(count, threads, task, cancel);
    if (tick) {
        try {
            for (bool finished = false; !finished;) {
                finished = pool.wait_done(interval);
                tick();  // on this thread, also once all is done
            }
        } catch (...) {
            pool.fail(std::current_exception());
        }
    }
    pool.join();
}

}  // namespace migrate
