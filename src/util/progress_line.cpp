// Progress text shared by the kinds that move bytes (download, mysql.load).
#include "migrate/util/progress_line.h"

#include <algorithm>

#include "migrate/util/units.h"

namespace migrate {

constexpr std::int64_t k_rate_window_ms = 5000;

std::string progress_bar(std::uint64_t done, std::uint64_t total) {
    int percent =
        total == 0 ? 100 : static_cast<int>(std::min<std::uint64_t>(100, done * 100 / total));
    return "[" + std::string(percent / 5, '#') + std::string(20 - percent / 5, '.') + "] " +
           format_bytes(done) + " of " + format_bytes(total) + " (" + std::to_string(percent) +
           "%)";
}

std::string rate_and_eta(double bytes_per_second, std::uint64_t done, std::uint64_t total,
                         bool total_known) {
    std::string text = " at " + format_bytes(static_cast<std::uint64_t>(bytes_per_second)) + "/s";
    if (total_known && total > done && bytes_per_second > 0)
        text += ", ETA " + format_duration(Millis(static_cast<std::int64_t>(
                               (total - done) / bytes_per_second * 1000)));
    return text;
}

double RateMeter::sample(std::uint64_t counted) {
    std::int64_t now = m_clock.steady_ms();
    m_samples.emplace_back(now, counted);
    while (m_samples.size() > 2 && now - m_samples.front().first > k_rate_window_ms)
        m_samples.pop_front();
    double seconds = (now - m_samples.front().first) / 1000.0;
    m_rate = seconds > 0 ? (counted - m_samples.front().second) / seconds : 0;
    return m_rate;
}

bool RateMeter::due(std::int64_t interval_ms) {
    std::int64_t now = m_clock.steady_ms();
    if (m_said && now - m_last < interval_ms) return false;
    m_said = true;
    m_last = now;
    return true;
}

}  // namespace migrate
