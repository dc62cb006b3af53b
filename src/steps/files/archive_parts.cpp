// Ordering and gap detection for the parts of a multi-part archive.
#include "migrate/steps/files/archive_parts.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <optional>

#include "migrate/util/error.h"
#include "migrate/util/text.h"

namespace migrate::steps::files {
namespace {

constexpr std::size_t k_max_named_gaps = 10;

struct NumberedPart {
    std::string path;
    std::string digits;  // as written, with any zero padding
    std::uint64_t number = 0;
};

std::optional<NumberedPart> numbered(const std::string& path) {
    std::string name = std::filesystem::path(path).filename().string();
    std::size_t dot = name.rfind('.');
    if (dot == std::string::npos || dot + 1 == name.size()) return std::nullopt;
    std::string digits = name.substr(dot + 1);
    if (digits.size() > 18 ||
        !std::all_of(digits.begin(), digits.end(), [](unsigned char c) { return std::isdigit(c); }))
        return std::nullopt;
    return NumberedPart{path, digits, std::stoull(digits)};
}

// The name part `number` would have, written like its neighbour (zero padding kept).
std::string part_name(const NumberedPart& neighbour, std::uint64_t number) {
    std::string digits = std::to_string(number);
    bool padded = neighbour.digits.size() > 1 && neighbour.digits[0] == '0';
    if (padded && digits.size() < neighbour.digits.size())
        digits.insert(0, neighbour.digits.size() - digits.size(), '0');
    return neighbour.path.substr(0, neighbour.path.size() - neighbour.digits.size()) + digits;
}

struct Gaps {
    std::vector<std::string> named;  // the first k_max_named_gaps
    std::uint64_t count = 0;
};

Gaps find_gaps(const std::vector<NumberedPart>& sorted) {
    Gaps gaps;
    std::uint64_t expected = sorted.front().number == 0 ? 0 : 1;
    for (std::size_t i = 0; i < sorted.size(); ++i) {
        // The part before a gap shows how the missing ones are written (.08 -> .09).
        const NumberedPart& model = sorted[i == 0 ? 0 : i - 1];
        gaps.count += sorted[i].number - expected;
        for (; expected < sorted[i].number && gaps.named.size() < k_max_named_gaps; ++expected)
            gaps.named.push_back(part_name(model, expected));
        expected = sorted[i].number + 1;
    }
    return gaps;
}

[[noreturn]] void fail_missing(const Gaps& gaps, const std::vector<NumberedPart>& sorted) {
    std::string more = gaps.count > gaps.named.size()
                           ? " and " + std::to_string(gaps.count - gaps.named.size()) + " more"
                           : "";
    throw StepError(std::string(gaps.count == 1 ? "missing part: " : "missing parts: ") +
                        join(gaps.named, ", ") + more + " (found " + std::to_string(sorted.size()) +
                        " parts, " + sorted.front().path + " to " + sorted.back().path +
                        "); nothing was read",
                    false);
}

}  // namespace

bool is_glob(const std::string& path) {
    return std::filesystem::path(path).filename().string().find_first_of("*?[") !=
           std::string::npos;
}

PartList order_parts(const std::vector<std::string>& matches) {
    if (matches.size() == 1) return PartList{matches, {}};
    PartList list;
    std::vector<NumberedPart> parts;
    for (const std::string& match : matches) {
        if (std::optional<NumberedPart> part = numbered(match))
            parts.push_back(*part);
        else
            list.ignored.push_back(match);
    }
    if (parts.empty())
        throw StepError("the glob matched " + std::to_string(matches.size()) +
                            " files and none ends in a part number (.1, .001): " +
                            join(matches, ", ") + "; list the parts in order with `parts:`",
                        false);
    std::stable_sort(parts.begin(), parts.end(), [](const NumberedPart& a, const NumberedPart& b) {
        return a.number < b.number;
    });
    for (std::size_t i = 1; i < parts.size(); ++i)
        if (parts[i].number == parts[i - 1].number)
            throw StepError(parts[i - 1].path + " and " + parts[i].path + " both number part " +
                                std::to_string(parts[i].number) +
                                "; list the parts in order with `parts:`",
                            false);
    Gaps gaps = find_gaps(parts);
    if (gaps.count > 0) fail_missing(gaps, parts);
    for (const NumberedPart& part : parts) list.parts.push_back(part.path);
    return list;
}

PartList expand_parts(const std::string& pattern) {
    std::filesystem::path path(pattern);
    std::filesystem::path directory = path.parent_path();
    if (directory.string().find_first_of("*?[") != std::string::npos)
        throw StepError("'" + pattern + "': only the file name may hold a glob, not the directory",
                        false);
    std::error_code error;
    std::filesystem::directory_iterator it(directory.empty() ? "." : directory, error);
    if (error)
        throw StepError(
            "cannot list '" + directory.string() + "' for '" + pattern + "': " + error.message(),
            false);
    std::string name_pattern = path.filename().string();
    std::vector<std::string> matches;
    for (const auto& entry : it) {
        std::string name = entry.path().filename().string();
        if (glob_match(name_pattern, name) && entry.is_regular_file(error))
            matches.push_back((directory / name).string());
    }
    if (matches.empty()) throw StepError("no file matches '" + pattern + "'", false);
    std::sort(matches.begin(), matches.end());
    return order_parts(matches);
}

}  // namespace migrate::steps::files
