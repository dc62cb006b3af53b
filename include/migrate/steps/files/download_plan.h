// What a download fetches and how far it got: files, their byte ranges (segments) and the
// resume state kept in the journal's checkpoints. Pure data, tested without a network.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "migrate/steps/files/checksums.h"

namespace migrate::steps::files {

constexpr std::uint64_t k_unknown_size = UINT64_MAX;

// A byte range of one file fetched by one connection at a time.
struct Segment {
    std::uint64_t start = 0;
    std::uint64_t end = k_unknown_size;  // exclusive; unknown while the file's size is
    std::uint64_t done = 0;              // bytes from `start` already written
    bool complete() const { return end != k_unknown_size && start + done >= end; }
    std::uint64_t next_byte() const { return start + done; }
};

struct DownloadFile {
    std::string url;
    std::string name;  // path relative to the destination directory
    std::optional<ChecksumEntry> checksum;
    std::uint64_t size = k_unknown_size;
    bool ranges = false;    // the server honours Range requests
    std::string validator;  // ETag or Last-Modified when the download began
    std::vector<Segment> segments;
    int refetches = 0;      // times fetched again after a hash mismatch
    bool finished = false;  // verified and renamed to its name
    bool given_up = false;  // failed its hash after every refetch: deleted, named in the error

    // Bytes from offset 0 that are all on disk: how far the hash can go.
    std::uint64_t contiguous() const;
    std::uint64_t done_bytes() const;
};

// Splits [0, size) into at most `connections` segments of at least `min_segment` bytes,
// boundaries aligned to 64 KiB. An unknown size or no Range support gives one open segment.
std::vector<Segment> plan_segments(std::uint64_t size, bool ranges, int connections,
                                   std::uint64_t min_segment);

// Splits the part of `segment` not yet fetched in two when both halves would be at least
// `min_segment`: `segment` keeps the first half, the second is returned (a connection that
// finished early takes it over, as the slowest connection would otherwise set the pace).
std::optional<Segment> split_segment(Segment& segment, std::uint64_t min_segment);

// The checkpoint state of a download: per file its identity and the segments' progress.
nlohmann::ordered_json download_state(const std::vector<DownloadFile>& files);

// Applies an earlier checkpoint to freshly probed files. A file keeps its recorded progress
// only when its URL, size and validator are unchanged and its partial file is at least as
// long as the progress claims; `partial_size(name)` gives that length (or nullopt when the
// file is missing). Returns one line per file whose progress was discarded, saying why.
std::vector<std::string> restore_download_state(
    std::vector<DownloadFile>& files, const nlohmann::ordered_json& state,
    const std::function<std::optional<std::uint64_t>(const std::string& name)>& partial_size);

// A name safe to create under the destination: relative, no "..", no empty component.
bool is_safe_relative_name(const std::string& name);

// The last path component of a URL, percent-decoded, without query or fragment; "" if none.
std::string file_name_of_url(const std::string& url);

// `name` resolved against the directory of `base_url` ("https://h/x/list.sha256" + "a b" ->
// "https://h/x/a%20b").
std::string url_beside(const std::string& base_url, const std::string& name);

}  // namespace migrate::steps::files
