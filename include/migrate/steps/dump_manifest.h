// The dump directory that mysql.dump writes and mysql.load reads (docs/dump-format.md):
// its completion marker, its manifest, and the checks that come before a load touches a
// target: complete, undamaged, of a format version this build reads, every file present
// with the size the manifest gives.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace migrate::steps {

constexpr int k_dump_format_version = 1;
constexpr const char* k_dump_manifest_name = "migrate-dump.json";
constexpr const char* k_dump_marker_name = "migrate-dump.complete";

struct DumpFile {
    std::string file;  // a name inside the dump directory
    std::uint64_t bytes = 0;
    std::uint64_t raw_bytes = 0;
    std::string sha256;
    std::optional<std::uint64_t> rows;  // data files only
};

struct DumpTable {
    std::string name;
    std::uint64_t rows = 0;
    std::optional<DumpFile> schema;
    std::vector<DumpFile> data;
    std::optional<DumpFile> triggers;

    std::uint64_t data_raw_bytes() const;
};

struct DumpView {
    std::string name;
    DumpFile file;
};

struct DumpManifest {
    std::string directory;
    std::string sha256;  // of migrate-dump.json, as the marker gives it
    std::string database;
    std::string server_version;
    std::vector<DumpTable> tables;
    std::vector<DumpView> views;
    std::optional<DumpFile> routines;

    std::string path_of(const DumpFile& file) const { return directory + "/" + file.file; }
};

// Reads and checks a manifest's text; `marker_sha256` is what the marker says. Throws
// StepError (not retryable) saying what is wrong, naming the manifest.
DumpManifest parse_dump_manifest(const std::string& directory, const std::string& text);

// Reads the marker and the manifest of `directory` and checks them and that every file
// exists with its size. Throws StepError (not retryable): no marker (an unfinished dump),
// a manifest that does not hash to the marker, a newer format version, a missing or
// cut-short file.
DumpManifest read_dump_directory(const std::string& directory);

// Is `path` a dump directory (it holds a manifest or a marker), rather than one SQL file?
bool looks_like_dump_directory(const std::string& path);

}  // namespace migrate::steps
