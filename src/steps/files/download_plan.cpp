// Segment planning and the resume state of downloads.
#include "migrate/steps/files/download_plan.h"

#include <algorithm>
#include <functional>

#include "migrate/util/encoding.h"

namespace migrate::steps::files {
namespace {

constexpr std::uint64_t k_alignment = 64 * 1024;

std::string percent_encode_path(const std::string& name) {
    static const char* k_hex = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : name) {
        if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || c == '/') {
            out += static_cast<char>(c);
        } else {
            out += '%';
            out += k_hex[c >> 4];
            out += k_hex[c & 15];
        }
    }
    return out;
}

}  // namespace

std::uint64_t DownloadFile::contiguous() const {
    if (segments.size() == 1) return segments[0].start == 0 ? segments[0].next_byte() : 0;
    // Segments split off a running one are appended, so the list is not always in order.
    std::vector<const Segment*> ordered;
    ordered.reserve(segments.size());
    for (const Segment& segment : segments) ordered.push_back(&segment);
    std::sort(ordered.begin(), ordered.end(),
              [](const Segment* a, const Segment* b) { return a->start < b->start; });
    std::uint64_t reached = 0;
    for (const Segment* segment : ordered) {
        if (segment->start != reached) break;
        reached = segment->next_byte();
        if (!segment->complete()) break;
    }
    return reached;
}

std::optional<Segment> split_segment(Segment& segment, std::uint64_t min_segment) {
    if (segment.end == k_unknown_size || segment.complete()) return std::nullopt;
    std::uint64_t remaining = segment.end - segment.next_byte();
    if (remaining < 2 * std::max<std::uint64_t>(min_segment, k_alignment)) return std::nullopt;
    std::uint64_t middle = (segment.next_byte() + remaining / 2) / k_alignment * k_alignment;
    if (middle <= segment.next_byte()) return std::nullopt;
    Segment tail{middle, segment.end, 0};
    segment.end = middle;
    return tail;
}

std::uint64_t DownloadFile::done_bytes() const {
    std::uint64_t total = 0;
    for (const Segment& segment : segments) total += segment.done;
    return total;
}

std::vector<Segment> plan_segments(std::uint64_t size, bool ranges, int connections,
                                   std::uint64_t min_segment) {
    if (size == k_unknown_size || !ranges) return {Segment{0, size, 0}};
    if (size == 0) return {Segment{0, 0, 0}};
    std::uint64_t count = std::max<std::uint64_t>(
        1, std::min<std::uint64_t>(connections, size / std::max<std::uint64_t>(1, min_segment)));
    std::uint64_t length = (size + count - 1) / count;
    length = (length + k_alignment - 1) / k_alignment * k_alignment;
    std::vector<Segment> segments;
    for (std::uint64_t start = 0; start < size; start += length)
        segments.push_back({start, std::min(size, start + length), 0});
    return segments;
}

nlohmann::ordered_json download_state(const std::vector<DownloadFile>& files) {
    nlohmann::ordered_json list = nlohmann::ordered_json::array();
    for (const DownloadFile& file : files) {
        // A 14-hour download writes thousands of checkpoints: files not begun are left out,
        // finished ones carry no segments.
        if (!file.finished && file.done_bytes() == 0 && file.refetches == 0) continue;
        nlohmann::ordered_json entry{
            {"name", file.name}, {"url", file.url}, {"validator", file.validator}};
        entry["size"] = file.size == k_unknown_size ? nlohmann::ordered_json(nullptr)
                                                    : nlohmann::ordered_json(file.size);
        entry["finished"] = file.finished;
        entry["refetches"] = file.refetches;
        nlohmann::ordered_json segments = nlohmann::ordered_json::array();
        if (!file.finished)
            for (const Segment& segment : file.segments)
                segments.push_back({segment.start,
                                    segment.end == k_unknown_size
                                        ? nlohmann::ordered_json(nullptr)
                                        : nlohmann::ordered_json(segment.end),
                                    segment.done});
        entry["segments"] = std::move(segments);
        list.push_back(std::move(entry));
    }
    return nlohmann::ordered_json{{"files", std::move(list)}};
}

std::vector<std::string> restore_download_state(
    std::vector<DownloadFile>& files, const nlohmann::ordered_json& state,
    const std::function<std::optional<std::uint64_t>(const std::string& name)>& partial_size) {
    std::vector<std::string> discarded;
    if (!state.is_object() || !state.contains("files") || !state["files"].is_array())
        return discarded;
    for (DownloadFile& file : files) {
        auto it =
            std::find_if(state["files"].begin(), state["files"].end(),
                         [&](const auto& entry) { return entry.value("name", "") == file.name; });
        if (it == state["files"].end()) continue;
        const auto& entry = *it;
        std::uint64_t size =
            entry["size"].is_number() ? entry["size"].get<std::uint64_t>() : k_unknown_size;
        file.refetches = entry.value("refetches", 0);
        if (entry.value("url", "") != file.url || size != file.size ||
            entry.value("validator", "") != file.validator) {
            discarded.push_back(file.name +
                                ": the server's file changed since the earlier attempt (size or " +
                                "ETag/Last-Modified); fetching it from the start");
            continue;
        }
        if (entry.value("finished", false)) continue;  // the caller checks the finished file itself
        std::vector<Segment> segments;
        std::uint64_t furthest = 0;
        for (const auto& item : entry["segments"]) {
            Segment segment{item[0].get<std::uint64_t>(),
                            item[1].is_number() ? item[1].get<std::uint64_t>() : k_unknown_size,
                            item[2].get<std::uint64_t>()};
            furthest = std::max(furthest, segment.next_byte());
            segments.push_back(segment);
        }
        std::optional<std::uint64_t> on_disk = partial_size(file.name);
        if (!on_disk || *on_disk < furthest) {
            discarded.push_back(file.name + ": the partial file is " +
                                (on_disk ? "shorter than recorded" : "missing") +
                                "; fetching it from the start");
            continue;
        }
        if (!file.ranges && furthest > 0) {
            discarded.push_back(
                file.name +
                ": the server does not resume (no Range support); fetching it from the start");
            continue;
        }
        file.segments = std::move(segments);
    }
    return discarded;
}

bool is_safe_relative_name(const std::string& name) {
    if (name.empty() || name[0] == '/') return false;
    std::size_t start = 0;
    while (start <= name.size()) {
        std::size_t end = name.find('/', start);
        if (end == std::string::npos) end = name.size();
        std::string part = name.substr(start, end - start);
        if (part.empty() || part == "." || part == "..") return false;
        start = end + 1;
    }
    return true;
}

std::string file_name_of_url(const std::string& url) {
    std::string path = url.substr(0, url.find_first_of("?#"));
    std::size_t scheme = path.find("://");
    std::size_t host_end = scheme == std::string::npos ? 0 : path.find('/', scheme + 3);
    if (host_end == std::string::npos) return "";
    std::size_t slash = path.rfind('/');
    if (slash == std::string::npos || slash < host_end) return "";
    return percent_decode(path.substr(slash + 1));
}

std::string url_beside(const std::string& base_url, const std::string& name) {
    std::string path = base_url.substr(0, base_url.find_first_of("?#"));
    return path.substr(0, path.rfind('/') + 1) + percent_encode_path(name);
}

}  // namespace migrate::steps::files
