// One pass over an archive read through libarchive from one stream of its parts: every
// entry is placed by the path rules, then written under a root or, in test-only mode, read
// to the end so the compression checksums are verified.
#pragma once

#include <archive.h>
#include <sys/types.h>

#include <cstdint>
#include <ctime>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "migrate/kinds/kind.h"
#include "migrate/steps/files/archive_paths.h"
#include "migrate/steps/files/archive_stream.h"

namespace migrate::steps::files {

struct ArchiveTotals {
    std::uint64_t bytes_in = 0;   // the size of all parts, all read
    std::uint64_t bytes_out = 0;  // uncompressed data of the entries
    std::uint64_t entries = 0;
    std::uint64_t warnings = 0;
};

class ArchivePass {
public:
    // `root` is where entries are written; empty for test-only mode (nothing is written).
    ArchivePass(kinds::StepContext& context, std::vector<std::string> parts, std::string root,
                int strip_components);
    ~ArchivePass();
    ArchivePass(const ArchivePass&) = delete;
    ArchivePass& operator=(const ArchivePass&) = delete;

    // Reads every entry. Throws StepError naming the part or the entry on failure, and
    // StepError("stopped", retryable) when cancelled. Directory modes and times are set
    // only once every entry is written.
    ArchiveTotals run();

private:
    void open();
    static la_ssize_t read_callback(archive* handle, void* self, const void** buffer);
    static la_int64_t seek_callback(archive* handle, void* self, la_int64_t offset, int whence);
    la_ssize_t read_block(const void** buffer);
    la_int64_t seek_to(la_int64_t offset, int whence);
    void keep_stream_error();
    bool next_entry(archive_entry*& entry);
    void process(archive_entry* entry);
    void write_entry(archive_entry* entry, const PlacedEntry& placed);
    void keep_root_attributes(archive_entry* entry);
    void restore_root_attributes();
    void copy_data(bool write);
    void finish_writing();
    void tick();
    void warn(const std::string& message);
    [[noreturn]] void fail_reading(const std::string& doing, const std::string& after = "") const;
    std::string under_root(const std::string& relative) const;

    kinds::StepContext& m_context;
    PartReader m_source;
    std::unique_ptr<DecodedStream> m_decoded;  // gzip and zstd; otherwise libarchive reads m_source
    std::vector<char> m_raw_block;
    std::exception_ptr m_stream_error;  // thrown inside a libarchive callback, rethrown outside
    std::string m_root;
    EntryPlacer m_placer;
    archive* m_reader = nullptr;
    archive* m_writer = nullptr;
    ArchiveTotals m_totals;
    std::int64_t m_last_progress_ms = 0;
    std::string m_entry;                // the entry being read, for messages
    std::optional<mode_t> m_root_mode;  // of the archive's "./" entry
    std::optional<timespec> m_root_mtime;
};

}  // namespace migrate::steps::files
