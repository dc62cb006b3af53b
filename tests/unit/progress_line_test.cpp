// The progress line's text: the bar, the rate and the ETA, on a clock the test drives.
#include <catch2/catch.hpp>

#include "fakes.h"
#include "migrate/util/progress_line.h"

using namespace migrate;
using migrate::test::FakeClock;

TEST_CASE("progress_bar: twenty cells, the sizes and the percentage", "[progress]") {
    CHECK(progress_bar(0, 100) == "[....................] 0B of 100B (0%)");
    CHECK(progress_bar(50, 100) == "[##########..........] 50B of 100B (50%)");
    CHECK(progress_bar(100, 100) == "[####################] 100B of 100B (100%)");
    CHECK(progress_bar(0, 0) == "[####################] 0B of 0B (100%)");
    CHECK(progress_bar(150, 100) == "[####################] 150B of 100B (100%)");
}

TEST_CASE("rate_and_eta: an ETA only with a known total not reached and a rate", "[progress]") {
    const std::uint64_t mib = 1 << 20;
    CHECK(rate_and_eta(10.0 * mib, 40 * mib, 100 * mib) == " at 10.0MiB/s, ETA 6.0s");
    CHECK(rate_and_eta(0, 40 * mib, 100 * mib) == " at 0B/s");
    CHECK(rate_and_eta(10.0 * mib, 100 * mib, 100 * mib) == " at 10.0MiB/s");
    CHECK(rate_and_eta(10.0 * mib, 40 * mib, 0, false) == " at 10.0MiB/s");
}

TEST_CASE("RateMeter: the rate over the last five seconds", "[progress]") {
    FakeClock clock;
    RateMeter meter(clock);
    CHECK(meter.sample(0) == 0);  // one sample: no rate yet
    clock.advance(Millis(1000));
    CHECK(meter.sample(1000) == Approx(1000));
    clock.advance(Millis(1000));
    CHECK(meter.sample(3000) == Approx(1500));
    CHECK(meter.rate() == 1500);
    // Samples older than five seconds drop out: a slow start stops counting.
    clock.advance(Millis(6000));
    CHECK(meter.sample(3000 + 6 * 10'000) == Approx(10'000));
}

TEST_CASE("RateMeter::due: the first time, then once per interval", "[progress]") {
    FakeClock clock;
    RateMeter meter(clock);
    CHECK(meter.due(250));
    CHECK_FALSE(meter.due(250));
    clock.advance(Millis(249));
    CHECK_FALSE(meter.due(250));
    clock.advance(Millis(1));
    CHECK(meter.due(250));
}
