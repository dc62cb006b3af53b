// The real clock and cancellation.
#include "migrate/util/clock.h"

#include <cctype>
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

namespace {

// Reads `digits` decimal digits at `pos`; -1 when they are not all digits.
int digits_at(const std::string& text, std::size_t pos, std::size_t digits) {
    if (pos + digits > text.size()) return -1;
    int value = 0;
    for (std::size_t i = pos; i < pos + digits; ++i) {
        if (!std::isdigit(static_cast<unsigned char>(text[i]))) return -1;
        value = value * 10 + (text[i] - '0');
    }
    return value;
}

struct TimeOfDay {
    int hour = -1, minute = -1, second = 0;
    std::size_t end = 0;  // where the text after it begins
};

// "HH:MM" or "HH:MM:SS" at `pos`.
std::optional<TimeOfDay> time_of_day_at(const std::string& text, std::size_t pos) {
    TimeOfDay time;
    time.hour = digits_at(text, pos, 2);
    time.minute = pos + 2 < text.size() && text[pos + 2] == ':' ? digits_at(text, pos + 3, 2) : -1;
    time.end = pos + 5;
    if (time.end < text.size() && text[time.end] == ':') {
        time.second = digits_at(text, time.end + 1, 2);
        time.end += 3;
    }
    if (time.hour < 0 || time.hour > 23 || time.minute < 0 || time.minute > 59 || time.second < 0 ||
        time.second > 59)
        return std::nullopt;
    return time;
}

std::optional<std::int64_t> parse_iso_instant(const std::string& text) {
    int year = digits_at(text, 0, 4), month = digits_at(text, 5, 2), day = digits_at(text, 8, 2);
    if (text.size() < 16 || year < 0 || text[4] != '-' || text[7] != '-' ||
        (text[10] != 'T' && text[10] != ' ') || month < 1 || month > 12 || day < 1 || day > 31)
        return std::nullopt;
    std::optional<TimeOfDay> time = time_of_day_at(text, 11);
    if (!time) return std::nullopt;
    std::size_t zone_at = time->end;
    int millis = 0;
    if (zone_at < text.size() && text[zone_at] == '.') {  // a fraction of a second: to ms
        std::size_t digits = 0;
        while (zone_at + 1 + digits < text.size() &&
               std::isdigit(static_cast<unsigned char>(text[zone_at + 1 + digits])))
            ++digits;
        if (digits == 0) return std::nullopt;
        for (std::size_t i = 0; i < 3; ++i)
            millis = millis * 10 + (i < digits ? text[zone_at + 1 + i] - '0' : 0);
        zone_at += 1 + digits;
    }
    std::string zone = text.substr(zone_at);
    int offset_minutes = 0;
    if (zone != "Z" && zone != "z") {
        // +HH:MM or +HHMM
        if (zone.size() < 5 || (zone[0] != '+' && zone[0] != '-')) return std::nullopt;
        int hours = digits_at(zone, 1, 2);
        std::size_t minute_at = zone[3] == ':' ? 4 : 3;
        int minutes = digits_at(zone, minute_at, 2);
        if (hours < 0 || hours > 14 || minutes < 0 || minutes > 59 || minute_at + 2 != zone.size())
            return std::nullopt;
        offset_minutes = (zone[0] == '-' ? -1 : 1) * (hours * 60 + minutes);
    }
    std::tm parts{};
    parts.tm_year = year - 1900;
    parts.tm_mon = month - 1;
    parts.tm_mday = day;
    parts.tm_hour = time->hour;
    parts.tm_min = time->minute;
    parts.tm_sec = time->second;
    std::time_t utc = timegm(&parts);
    if (parts.tm_mday != day) return std::nullopt;  // 31 November rolled over
    return (static_cast<std::int64_t>(utc) - offset_minutes * 60) * 1000 + millis;
}

}  // namespace

bool is_time_of_day(const std::string& text) {
    std::optional<TimeOfDay> time = time_of_day_at(text, 0);
    return time && time->end == text.size();
}

std::optional<std::int64_t> resolve_clock_time(const std::string& text, std::int64_t now_ms) {
    if (!is_time_of_day(text)) return parse_iso_instant(text);
    TimeOfDay time = *time_of_day_at(text, 0);
    std::time_t now = static_cast<std::time_t>(now_ms / 1000);
    for (int day = 0; day < 2; ++day) {
        std::tm parts{};
        localtime_r(&now, &parts);
        parts.tm_mday += day;
        parts.tm_hour = time.hour;
        parts.tm_min = time.minute;
        parts.tm_sec = time.second;
        parts.tm_isdst = -1;  // whatever holds on that day
        std::int64_t at = static_cast<std::int64_t>(std::mktime(&parts)) * 1000;
        if (at >= now_ms - now_ms % 1000) return at;
    }
    return std::nullopt;
}

std::string format_local_time(std::int64_t epoch_ms) {
    std::time_t seconds = static_cast<std::time_t>(epoch_ms / 1000);
    std::tm parts{};
    localtime_r(&seconds, &parts);
    char buffer[64];
    std::strftime(buffer, sizeof buffer, "%Y-%m-%d %H:%M:%S %z", &parts);
    return buffer;
}

}  // namespace migrate
