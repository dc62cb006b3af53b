// The text of a progress line: "[########............] 1.2GiB of 3.0GiB (40%) at 85.3MiB/s,
// ETA 21.0s", the rate measured over the last few seconds.
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <utility>

#include "migrate/util/clock.h"

namespace migrate {

// "[########............] 1.2GiB of 3.0GiB (40%)"; a total of 0 counts as done.
std::string progress_bar(std::uint64_t done, std::uint64_t total);

// " at 85.3MiB/s", and ", ETA 21s" when the total is known, not reached and the rate above 0.
std::string rate_and_eta(double bytes_per_second, std::uint64_t done, std::uint64_t total,
                         bool total_known = true);

// A rate over a sliding window of the last 5 s, on the Clock seam's steady time.
class RateMeter {
public:
    explicit RateMeter(Clock& clock) : m_clock(clock) {}

    // Records `counted` (bytes so far) now; returns the rate over the window, per second.
    double sample(std::uint64_t counted);
    std::uint64_t rate() const { return static_cast<std::uint64_t>(m_rate); }
    // True once `interval_ms` have passed since it was last true (and the first time).
    bool due(std::int64_t interval_ms);

private:
    Clock& m_clock;
    std::deque<std::pair<std::int64_t, std::uint64_t>> m_samples;
    double m_rate = 0;
    std::int64_t m_last = 0;
    bool m_said = false;
};

}  // namespace migrate
