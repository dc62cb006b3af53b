// The real clock and cancellation.
#include "migrate/util/clock.h"

#include <cstdio>
#include <ctime>

namespace migrate {

void CancelToken::cancel(CancelReason reason) {
    CancelReason expected = CancelReason::none;
    m_reason.compare_exchange_strong(expected, reason);
    std::lock_guard lock(m_mutex);
    m_changed.notify_all();
}

bool CancelToken::wait_for(Millis duration) {
    std::unique_lock lock(m_mutex);
    return !m_changed.wait_for(lock, duration, [this] { return cancelled(); });
}

std::string format_utc_ms(std::int64_t epoch_ms) {
    std::time_t seconds = static_cast<std::time_t>(epoch_ms / 1000);
    std::tm parts{};
    gmtime_r(&seconds, &parts);
    char buffer[40];
    std::snprintf(buffer, sizeof buffer, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
                  parts.tm_year + 1900, parts.tm_mon + 1, parts.tm_mday, parts.tm_hour,
                  parts.tm_min, parts.tm_sec, static_cast<int>(epoch_ms % 1000));
    return buffer;
}

std::int64_t parse_utc_ms(const std::string& text) {
    std::tm parts{};
    int ms = 0;
    if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ", &parts.tm_year, &parts.tm_mon,
                    &parts.tm_mday, &parts.tm_hour, &parts.tm_min, &parts.tm_sec, &ms) != 7)
        return -1;
    parts.tm_year -= 1900;
    parts.tm_mon -= 1;
    return static_cast<std::int64_t>(timegm(&parts)) * 1000 + ms;
}

}  // namespace migrate
