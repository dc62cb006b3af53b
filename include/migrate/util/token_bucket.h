// A byte budget shared by several consumers (a download's connections): `rate` bytes a
// second, at most `burst` saved up while nobody draws. A draw may overdraw (a network read
// arrives whole, whatever its size); the debt is paid back by time before anyone draws again.
#pragma once

#include <cstdint>

#include "migrate/util/clock.h"

namespace migrate {

class TokenBucket {
public:
    // Starts full. `rate` > 0; `burst` at least 1.
    TokenBucket(std::uint64_t rate, std::uint64_t burst, Clock& clock);

    // Whether a consumer may draw now: the balance is positive.
    bool available();
    // Draws `bytes`, into debt when the balance holds fewer.
    void take(std::uint64_t bytes);
    // Milliseconds until available() turns true (0 when it is).
    std::int64_t wait_ms();

    std::uint64_t rate() const { return m_rate; }
    std::uint64_t burst() const { return m_burst; }

private:
    void refill();

    std::uint64_t m_rate;
    std::uint64_t m_burst;
    Clock& m_clock;
    std::int64_t m_balance;           // bytes; negative while in debt
    std::int64_t m_last_ms;           // steady time of the last refill
    std::uint64_t m_carry_milli = 0;  // rate x ms not yet a whole byte (in 1/1000 bytes)
};

}  // namespace migrate
