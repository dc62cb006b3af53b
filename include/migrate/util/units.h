// Durations ("90s", "1h30m", "250ms") and sizes ("512KiB", "30GB") as runbooks write them.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace migrate {

using Millis = std::chrono::milliseconds;

// Parses "90s", "15m", "2h", "1h30m", "250ms", "1d". A bare number is not accepted: the unit
// must be explicit, so "30" is an error rather than a guess between seconds and minutes.
std::optional<Millis> parse_duration(std::string_view text);

// Formats as the runbook would write it: "1h30m", "12.5s", "250ms".
std::string format_duration(Millis duration);

// Parses "512KiB", "30GB", "1.5GiB", "100B", "0". Decimal units are powers of 1000,
// binary ones of 1024.
std::optional<std::uint64_t> parse_size(std::string_view text);

std::string format_bytes(std::uint64_t bytes);

// A count with thousands separators: "1,234,567".
std::string format_count(std::uint64_t count);

}  // namespace migrate
