// Durations and sizes: parsing the runbook's notation and printing it back.
#include "migrate/util/units.h"

#include <cctype>
#include <cmath>
#include <cstdio>
#include <utility>

namespace migrate {
namespace {

struct Unit {
    std::string_view name;
    double factor;
};

// Reads "<number><unit>" at `pos`; returns false when the text there is not of that form.
bool read_number_and_unit(std::string_view text, std::size_t& pos, double& number,
                          std::string_view& unit) {
    std::size_t start = pos;
    bool seen_digit = false;
    while (pos < text.size() && (std::isdigit(static_cast<unsigned char>(text[pos])) ||
                                 (text[pos] == '.' && seen_digit))) {
        seen_digit = seen_digit || std::isdigit(static_cast<unsigned char>(text[pos]));
        ++pos;
    }
    if (!seen_digit || text[pos - 1] == '.') return false;
    number = std::strtod(std::string(text.substr(start, pos - start)).c_str(), nullptr);
    std::size_t unit_start = pos;
    while (pos < text.size() && std::isalpha(static_cast<unsigned char>(text[pos]))) ++pos;
    unit = text.substr(unit_start, pos - unit_start);
    return true;
}

}  // namespace

std::optional<Millis> parse_duration(std::string_view text) {
    static constexpr Unit k_units[] = {
        {"ms", 1}, {"s", 1000}, {"m", 60'000}, {"h", 3'600'000}, {"d", 86'400'000}};
    if (text.empty()) return std::nullopt;
    double total = 0;
    std::size_t pos = 0;
    double previous_factor = 1e18;
    while (pos < text.size()) {
        double number = 0;
        std::string_view unit;
        if (!read_number_and_unit(text, pos, number, unit)) return std::nullopt;
        const Unit* found = nullptr;
        for (const Unit& candidate : k_units)
            if (candidate.name == unit) found = &candidate;
        // Units must be given largest first ("1h30m", not "30m1h") and each only once.
        if (found == nullptr || found->factor >= previous_factor) return std::nullopt;
        previous_factor = found->factor;
        total += number * found->factor;
    }
    if (total > 1e15) return std::nullopt;
    return Millis(static_cast<std::int64_t>(std::llround(total)));
}

std::string format_duration(Millis duration) {
    std::int64_t ms = duration.count();
    char buffer[64];
    if (ms < 0) return "-" + format_duration(Millis(-ms));
    if (ms < 1000) {
        std::snprintf(buffer, sizeof buffer, "%lldms", static_cast<long long>(ms));
    } else if (ms < 60'000) {
        std::snprintf(buffer, sizeof buffer, "%.1fs", static_cast<double>(ms) / 1000.0);
    } else {
        std::int64_t seconds = (ms + 500) / 1000;
        std::int64_t h = seconds / 3600, m = (seconds % 3600) / 60, s = seconds % 60;
        std::string out;
        if (h > 0) out += std::to_string(h) + "h";
        if (m > 0) out += std::to_string(m) + "m";
        if (s > 0 && h == 0) out += std::to_string(s) + "s";
        return out.empty() ? "0s" : out;
    }
    return buffer;
}

std::optional<std::uint64_t> parse_size(std::string_view text) {
    static constexpr Unit k_units[] = {{"", 1},
                                       {"B", 1},
                                       {"KB", 1e3},
                                       {"MB", 1e6},
                                       {"GB", 1e9},
                                       {"TB", 1e12},
                                       {"KiB", 1024.0},
                                       {"MiB", 1048576.0},
                                       {"GiB", 1073741824.0},
                                       {"TiB", 1099511627776.0},
                                       {"K", 1024.0},
                                       {"M", 1048576.0},
                                       {"G", 1073741824.0},
                                       {"T", 1099511627776.0}};
    std::size_t pos = 0;
    double number = 0;
    std::string_view unit;
    if (!read_number_and_unit(text, pos, number, unit) || pos != text.size()) return std::nullopt;
    for (const Unit& candidate : k_units)
        if (candidate.name == unit) {
            double bytes = number * candidate.factor;
            if (bytes > 1.8e19) return std::nullopt;
            return static_cast<std::uint64_t>(std::llround(bytes));
        }
    return std::nullopt;
}

std::string format_bytes(std::uint64_t bytes) {
    static constexpr const char* k_names[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double value = static_cast<double>(bytes);
    int index = 0;
    while (value >= 1024.0 && index < 4) {
        value /= 1024.0;
        ++index;
    }
    char buffer[32];
    if (index == 0)
        std::snprintf(buffer, sizeof buffer, "%lluB", static_cast<unsigned long long>(bytes));
    else
        std::snprintf(buffer, sizeof buffer, "%.1f%s", value, k_names[index]);
    return buffer;
}

std::string format_count(std::uint64_t count) {
    std::string digits = std::to_string(count);
    for (std::size_t at = digits.size(); at > 3; at -= 3) digits.insert(at - 3, ",");
    return digits;
}

}  // namespace migrate
