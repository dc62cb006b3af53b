// The shared byte budget of a download's limit_rate, on a clock the test drives.
#include <catch2/catch.hpp>

#include <deque>

#include "fakes.h"
#include "migrate/util/token_bucket.h"

using namespace migrate;
using migrate::test::FakeClock;

TEST_CASE("token bucket: starts full, overdraws, pays the debt back by time", "[token_bucket]") {
    FakeClock clock;
    TokenBucket bucket(1000, 100, clock);  // 1000 B/s, 100 B burst
    CHECK(bucket.available());
    CHECK(bucket.wait_ms() == 0);
    bucket.take(600);  // a read bigger than the balance is taken whole
    CHECK_FALSE(bucket.available());
    CHECK(bucket.wait_ms() == 501);  // -500 -> +1 at 1 B/ms
    clock.advance(Millis(500));
    CHECK_FALSE(bucket.available());
    CHECK(bucket.wait_ms() == 1);
    clock.advance(Millis(1));
    CHECK(bucket.available());
}

TEST_CASE("token bucket: idle time saves up no more than the burst", "[token_bucket]") {
    FakeClock clock;
    TokenBucket bucket(1000, 100, clock);
    clock.advance(Millis(60'000));
    bucket.take(100);
    CHECK_FALSE(bucket.available());  // a minute idle bought 100 bytes, not 60,000
    clock.advance(Millis(1));
    CHECK(bucket.available());
}

TEST_CASE("token bucket: no drift from many small refills at an odd rate", "[token_bucket]") {
    FakeClock clock;
    TokenBucket bucket(1001, 10, clock);  // 1.001 bytes per millisecond
    std::uint64_t drawn = 0;
    auto drain = [&] {
        while (bucket.available()) {
            bucket.take(1);
            ++drawn;
        }
    };
    drain();  // the 10 bytes it starts with
    for (int ms = 0; ms < 10'000; ++ms) {
        clock.advance(Millis(1));
        drain();
    }
    CHECK(drawn == 10 + 10'010);  // then exactly 10 s at 1001 B/s, no byte lost to rounding
}

TEST_CASE("token bucket: several consumers share one rate in every 5 s window", "[token_bucket]") {
    // Eight connections that would each take 64 KiB every millisecond if let; each is paused
    // when the bucket is empty and resumed in turn as soon as it refills, the way the
    // download's transfer loop drives them.
    const std::uint64_t rate = 8 << 20, burst = rate / 10, chunk = 64 << 10;
    FakeClock clock;
    TokenBucket bucket(rate, burst, clock);
    std::deque<int> paused;
    std::vector<std::uint64_t> per_ms;  // bytes received in each millisecond
    std::vector<std::uint64_t> per_connection(8, 0);
    for (int c = 0; c < 8; ++c) paused.push_back(c);
    for (int ms = 0; ms < 20'000; ++ms) {
        std::uint64_t received = 0;
        while (!paused.empty() && bucket.available()) {
            int connection = paused.front();
            paused.pop_front();
            bucket.take(chunk);
            received += chunk;
            per_connection[connection] += chunk;
            paused.push_back(connection);
        }
        per_ms.push_back(received);
        clock.advance(Millis(1));
    }
    const std::size_t window = 5'000;
    std::uint64_t in_window = 0, lowest = UINT64_MAX, highest = 0;
    for (std::size_t i = 0; i < per_ms.size(); ++i) {
        in_window += per_ms[i];
        if (i >= window) in_window -= per_ms[i - window];
        if (i + 1 >= window) {
            lowest = std::min(lowest, in_window);
            highest = std::max(highest, in_window);
        }
    }
    const double expected = rate * 5.0;
    INFO("lowest " << lowest << ", highest " << highest << ", expected " << expected);
    CHECK(lowest >= expected * 0.98);
    CHECK(highest <= expected + burst + chunk);  // the cap, one burst and one read, no more
    for (std::uint64_t bytes : per_connection)   // taking turns: each connection its share
        CHECK(bytes == Approx(rate * 20.0 / 8).epsilon(0.02));
}
