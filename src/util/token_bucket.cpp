// The shared byte budget behind a download's limit_rate.
#include "migrate/util/token_bucket.h"

#include <algorithm>

namespace migrate {

TokenBucket::TokenBucket(std::uint64_t rate, std::uint64_t burst, Clock& clock)
    : m_rate(std::max<std::uint64_t>(1, rate)),
      m_burst(std::max<std::uint64_t>(1, burst)),
      m_clock(clock),
      m_balance(static_cast<std::int64_t>(m_burst)),
      m_last_ms(clock.steady_ms()) {}

// Integer arithmetic in thousandths of a byte: no drift however many small refills there are.
void TokenBucket::refill() {
    std::int64_t now = m_clock.steady_ms();
    if (now <= m_last_ms) return;
    std::uint64_t milli = static_cast<std::uint64_t>(now - m_last_ms) * m_rate + m_carry_milli;
    m_last_ms = now;
    m_balance += static_cast<std::int64_t>(milli / 1000);
    m_carry_milli = milli % 1000;
    if (m_balance >= static_cast<std::int64_t>(m_burst)) {
        m_balance = static_cast<std::int64_t>(m_burst);  // saved-up time beyond a burst is lost
        m_carry_milli = 0;
    }
}

bool TokenBucket::available() {
    refill();
    return m_balance > 0;
}

void TokenBucket::take(std::uint64_t bytes) {
    refill();
    m_balance -= static_cast<std::int64_t>(bytes);
}

std::int64_t TokenBucket::wait_ms() {
    refill();
    if (m_balance > 0) return 0;
    // The balance must reach 1: (1 - balance) bytes, less the carry, at rate bytes a second.
    std::uint64_t need_milli = static_cast<std::uint64_t>(1 - m_balance) * 1000 - m_carry_milli;
    return static_cast<std::int64_t>((need_milli + m_rate - 1) / m_rate);
}

}  // namespace migrate
