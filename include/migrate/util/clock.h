// Time as the engine sees it: wall time for the journal, a steady clock for durations, and
// cancellable sleeps. Tests swap in a fake that advances instantly.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>

#include "migrate/util/units.h"

namespace migrate {

// Why a running step was told to stop.
enum class CancelReason { none, timeout, interrupted, aborted };

// Shared by the engine and one step attempt. A step polls it or sleeps on it.
class CancelToken {
public:
    void cancel(CancelReason reason);
    bool cancelled() const { return m_reason.load() != CancelReason::none; }
    CancelReason reason() const { return m_reason.load(); }
    // Waits up to `duration` (real time); returns false when cancelled first.
    bool wait_for(Millis duration);

private:
    std::atomic<CancelReason> m_reason{CancelReason::none};
    std::mutex m_mutex;
    std::condition_variable m_changed;
};

class Clock {
public:
    virtual ~Clock() = default;
    // Milliseconds since the Unix epoch (UTC), for journal timestamps.
    virtual std::int64_t wall_ms() = 0;
    // Monotonic milliseconds, for durations.
    virtual std::int64_t steady_ms() = 0;
    // Sleeps, returning false when `cancel` fired first.
    virtual bool sleep(Millis duration, CancelToken& cancel) = 0;
};

// "2026-11-22T02:20:10.123Z"
std::string format_utc_ms(std::int64_t epoch_ms);
// Inverse of format_utc_ms; -1 when the text is not of that form.
std::int64_t parse_utc_ms(const std::string& text);

// A clock time as a runbook writes it (wait's `at`), resolved to epoch milliseconds:
// - ISO 8601 with its offset, "2026-12-10T09:30+01:00", "2026-12-10T08:30:00Z" (seconds
//   optional; the offset or Z is required: a bare date-time would depend on the machine);
// - "HH:MM" or "HH:MM:SS": the next such time in the machine's local zone (TZ) at or after
//   `now_ms`: today if it is still to come, else tomorrow.
// nullopt when the text is neither (or names no real date or time).
std::optional<std::int64_t> resolve_clock_time(const std::string& text, std::int64_t now_ms);
// Whether the text is the "HH:MM" form (resolved against the time it is read).
bool is_time_of_day(const std::string& text);
// "2026-12-10 09:30:00 +0100", in the machine's local zone.
std::string format_local_time(std::int64_t epoch_ms);

}  // namespace migrate
