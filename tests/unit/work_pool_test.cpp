// The one worker pool: every task once, the first failure rethrown on the caller, no task
// handed out after a failure, stop() or a cancel, tasks reported as they end.
#include <catch2/catch.hpp>

#include <atomic>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>

#include "migrate/util/error.h"
#include "migrate/util/work_pool.h"

using namespace migrate;

TEST_CASE("WorkPool: runs every task once, on the workers it was given", "[work_pool]") {
    std::vector<std::atomic<int>> runs(100);
    std::mutex mutex;
    std::set<std::size_t> workers;
    WorkPool::run(runs.size(), 4, [&](std::size_t task, std::size_t worker) {
        ++runs[task];
        std::lock_guard lock(mutex);
        workers.insert(worker);
    });
    for (auto& count : runs) CHECK(count.load() == 1);
    for (std::size_t worker : workers) CHECK(worker < 4);
}

TEST_CASE("WorkPool: no tasks, or fewer tasks than threads", "[work_pool]") {
    std::atomic<int> runs{0};
    WorkPool::run(0, 3, [&](std::size_t, std::size_t) { ++runs; });
    CHECK(runs == 0);
    WorkPool::run(2, 8, [&](std::size_t, std::size_t) { ++runs; });
    CHECK(runs == 2);
}

TEST_CASE("WorkPool: the first failure is rethrown; no task starts after it", "[work_pool]") {
    std::atomic<int> started{0};
    // One thread, so the order is known: task 3 fails, 4.. never start.
    auto run = [&] {
        WorkPool::run(10, 1, [&](std::size_t task, std::size_t) {
            ++started;
            if (task == 3) throw StepError("table t3: gone", true);
            if (task > 3) throw std::logic_error("ran after the failure");
        });
    };
    try {
        run();
        FAIL("no exception");
    } catch (const StepError& e) {
        CHECK(std::string(e.what()) == "table t3: gone");
        CHECK(e.retryable());
    }
    CHECK(started == 4);
}

TEST_CASE("WorkPool: of several failures the first is the news", "[work_pool]") {
    WorkPool pool(1, 1, [](std::size_t, std::size_t) { throw StepError("first", false); });
    while (!pool.done()) pool.wait_for(Millis(10));
    pool.fail(std::make_exception_ptr(StepError("later", false)));
    CHECK_THROWS_WITH(pool.join(), "first");
}

TEST_CASE("WorkPool: a cancel stops handing out tasks", "[work_pool]") {
    CancelToken cancel;
    std::atomic<int> runs{0};
    WorkPool::run(
        10, 1,
        [&](std::size_t task, std::size_t) {
            ++runs;
            if (task == 1) cancel.cancel(CancelReason::interrupted);
        },
        &cancel);
    CHECK(runs == 2);
}

TEST_CASE("WorkPool: the caller sees each task end, and can stop or fail the pool", "[work_pool]") {
    SECTION("wait_for reports every ended task once") {
        WorkPool pool(20, 3, [](std::size_t, std::size_t) {});
        std::multiset<std::size_t> ended;
        for (bool finished = false; !finished;) {
            finished = pool.done();
            for (std::size_t task : pool.wait_for(Millis(50))) ended.insert(task);
        }
        pool.join();
        CHECK(ended.size() == 20);
        CHECK(std::set<std::size_t>(ended.begin(), ended.end()).size() == 20);
    }
    SECTION("stop(): the running task finishes, no other starts") {
        std::atomic<int> runs{0};
        WorkPool* self = nullptr;
        std::atomic<bool> ready{false};
        WorkPool pool(10, 1, [&](std::size_t, std::size_t) {
            while (!ready) std::this_thread::yield();
            ++runs;
            self->stop();
        });
        self = &pool;
        ready = true;
        pool.join();
        CHECK(runs == 1);
    }
    SECTION("fail(): the caller's failure is rethrown by join()") {
        std::atomic<bool> release{false};
        WorkPool pool(2, 1, [&](std::size_t, std::size_t) {
            while (!release) std::this_thread::yield();
        });
        pool.fail(std::make_exception_ptr(Fatal("the journal cannot be written")));
        release = true;
        CHECK_THROWS_AS(pool.join(), Fatal);
    }
}

TEST_CASE("WorkPool::run: the tick runs on the caller's thread, and once at the end",
          "[work_pool]") {
    std::thread::id caller = std::this_thread::get_id();
    std::atomic<int> done{0};
    int ticks = 0;
    bool on_caller = true;
    int done_at_last_tick = -1;
    WorkPool::run(
        5, 2,
        [&](std::size_t, std::size_t) {
            std::this_thread::sleep_for(Millis(5));
            ++done;
        },
        nullptr, Millis(1),
        [&] {
            ++ticks;
            on_caller = on_caller && std::this_thread::get_id() == caller;
            done_at_last_tick = done.load();
        });
    CHECK(ticks >= 1);
    CHECK(on_caller);
    CHECK(done_at_last_tick == 5);
}

TEST_CASE("WorkPool: the stop flag rises with the first failure, not before", "[work_pool]") {
    std::atomic<bool> stop{false};
    std::atomic<bool> seen_before_failure{true};
    WorkPool pool(
        2, 2,
        [&](std::size_t task, std::size_t) {
            if (task == 0) {
                seen_before_failure = stop.load();
                throw StepError("table a: lost", true);
            }
            // A long task that polls the flag, as a table's load does between statements.
            while (!stop) std::this_thread::yield();
        },
        nullptr, &stop);
    CHECK_THROWS_WITH(pool.join(), "table a: lost");
    CHECK_FALSE(seen_before_failure);
    CHECK(stop);
}
