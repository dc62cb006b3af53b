// The manifest of a dump directory (docs/dump-format.md): what mysql.dump records after each
// finished table, reads back to resume, and seals with the completion marker; and what
// mysql.load checks before it touches a target (src/steps/dump_directory.cpp).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "migrate/steps/mysql/dump_format.h"

namespace migrate::steps::mysql {

struct DumpFile {
    std::string file;  // relative to the dump directory
    std::uint64_t bytes = 0;
    std::uint64_t raw_bytes = 0;
    std::string sha256;
    std::optional<std::uint64_t> rows;  // data files only
};

struct DumpTable {
    std::string name;
    std::uint64_t rows = 0;
    std::size_t snapshot = 0;
    std::optional<DumpFile> schema;
    std::vector<DumpFile> data;
    std::optional<DumpFile> triggers;
    std::vector<const DumpFile*> files() const;
    std::uint64_t data_raw_bytes() const;
};

struct DumpView {
    std::string name;
    DumpFile file;
};

// Where a snapshot was read: nulls where the server has no binary log (or hides it).
struct SnapshotPosition {
    std::optional<std::string> binlog_file;
    std::optional<std::uint64_t> binlog_position;
    std::optional<std::string> gtid;
    bool known() const { return binlog_file.has_value() || gtid.has_value(); }
    bool operator==(const SnapshotPosition&) const = default;
};

// A resuming dump reads an unfinished manifest; a load requires a complete one.
enum class ManifestCompleteness { any, required };

struct DumpManifest {
    std::string directory;  // where it was read from (mysql.load)
    std::string sha256;     // of migrate-dump.json, as the marker gives it (mysql.load)
    std::string written_by;
    std::string started;
    std::string finished;
    bool complete = false;
    std::string database;
    std::string compression;
    std::string server_version;
    std::string server_connection;
    bool consistent = true;
    int connections = 1;
    nlohmann::ordered_json options = nlohmann::ordered_json::object();
    std::vector<std::string> excluded;
    std::vector<DumpTable> tables;
    std::vector<DumpView> views;
    std::optional<DumpFile> routines;
    std::vector<SnapshotPosition> snapshots;

    nlohmann::ordered_json to_json() const;
    // The one reader of the manifest's JSON, for mysql.dump's resume and mysql.load alike.
    // Throws StepError (not retryable) naming the JSON path of what is wrong
    // ("'tables[3].data[0].sha256' must be 64 lowercase hex digits"): a missing required
    // field, a field of the wrong type, a file name that leaves the directory (empty,
    // starting with '.', holding '/', a backslash or NUL), a hash that is not 64 lowercase
    // hex digits, a newer format version; with `required`, a `complete` that is not true
    // (checked right after the version, before the tables).
    static DumpManifest from_json(const nlohmann::json& document,
                                  ManifestCompleteness completeness = ManifestCompleteness::any);

    const DumpTable* find_table(const std::string& name) const;
    // Every snapshot the finished tables were read at is one and the same.
    bool one_snapshot() const;
    std::uint64_t rows() const;
    std::uint64_t bytes() const;
    std::uint64_t raw_bytes() const;
    std::string path_of(const DumpFile& file) const { return directory + "/" + file.file; }
};

// Writes the manifest through a .partial and a rename (fsynced); returns the SHA-256 of the
// bytes written.
std::string write_manifest(const std::string& directory, const DumpManifest& manifest);
// Parses a manifest's text with DumpManifest::from_json; a problem is named with `path`.
DumpManifest parse_manifest(const std::string& path, const std::string& text,
                            ManifestCompleteness completeness = ManifestCompleteness::any);
// Reads `directory`'s manifest; nullopt when there is none. Throws StepError (not
// retryable) naming the file when it is unreadable or not a manifest this build reads.
std::optional<DumpManifest> read_manifest(const std::string& directory);
// Writes SHA256SUMS: every file of the manifest and the manifest itself (of this hash).
void write_checksums(const std::string& directory, const DumpManifest& manifest,
                     const std::string& manifest_sha256);
// Writes the completion marker for a manifest of this hash.
void write_marker(const std::string& directory, const std::string& manifest_sha256);
// The one reader of the completion marker: the manifest's SHA-256 it holds, nullopt when
// there is no marker. Throws StepError (not retryable) for a file that is not exactly
// "migrate-dump <version> sha256=<64 lowercase hex>" (a final newline optional) or a
// marker of a newer format version.
std::optional<std::string> read_marker(const std::string& directory);
// Does the directory's marker hold the hash of its manifest as it is on disk? Throws as
// read_marker does.
bool marker_matches(const std::string& directory);

enum class DumpFileCheck { size, size_and_sha256 };
// The one check of a dump file against its manifest entry: "" when the file on disk has
// the recorded size (and, when asked, SHA-256), else what differs, naming the file.
// mysql.load checks sizes only: it hashes each file as it streams it.
std::string check_dump_file(const std::string& directory, const DumpFile& file,
                            DumpFileCheck check = DumpFileCheck::size_and_sha256);

// mysql.load's reading (dump_directory.cpp): parse_manifest, then a manifest whose
// `complete` is not true is refused. Throws StepError (not retryable) naming the manifest.
DumpManifest parse_dump_manifest(const std::string& directory, const std::string& text);

// Reads the marker and the manifest of `directory` and checks them and that every file
// exists with its size. Throws StepError (not retryable): no marker (an unfinished dump),
// a manifest that does not hash to the marker, a newer format version, a missing or
// cut-short file.
DumpManifest read_dump_directory(const std::string& directory);

// Is `path` a dump directory (it holds a manifest or a marker), rather than one SQL file?
bool looks_like_dump_directory(const std::string& path);

}  // namespace migrate::steps::mysql
