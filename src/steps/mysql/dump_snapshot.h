// The parts of mysql.dump that talk to the server: listing what a database holds, taking one
// snapshot across several connections, writing each table's files, and the whole run with
// its resume (dump_snapshot.cpp, dump_tables.cpp, dump_run.cpp).
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "migrate/io/db/session.h"
#include "migrate/kinds/kind.h"
#include "migrate/steps/mysql/dump_manifest.h"
#include "migrate/util/compression.h"

namespace migrate::steps::mysql {

struct DumpOptions {
    std::string connection;
    std::string directory;
    std::string database;
    std::vector<std::string> include;
    std::vector<std::string> exclude;
    bool schema = true;
    bool data = true;
    bool triggers = true;
    bool views = true;
    bool routines = true;
    CompressorOptions compressor;
    int threads = 2;
    std::uint64_t chunk_rows = 0;  // 0: one data file per table
    std::string resume = "keep";

    nlohmann::ordered_json manifest_options() const;
};

struct TableInfo {
    std::string name;
    std::uint64_t data_length = 0;
    std::uint64_t estimated_rows = 0;
};

struct DatabaseObjects {
    std::vector<TableInfo> tables;   // selected, in name order
    std::vector<std::string> views;  // selected
    std::vector<std::string> excluded;
};

// The tables and views `options` select. Throws StepError for a database that does not exist
// or an include entry that names nothing.
DatabaseObjects list_objects(io::db::Session& session, const DumpOptions& options);

// Sessions that all read one snapshot.
struct Snapshot {
    std::vector<std::unique_ptr<io::db::Session>> readers;
    SnapshotPosition position;
    std::string note;  // why it fell back to one connection, if it did
};

// Opens `connections` sessions on the step's connection, each in `database`, with the dump's
// session settings (UTC, long write timeout).
std::unique_ptr<io::db::Session> open_dump_session(kinds::StepContext& context,
                                                   const DumpOptions& options);
// Takes a brief global read lock on `control`, notes the binary log position, starts a
// consistent-snapshot transaction on each reader, unlocks. When the lock is refused, one
// reader (still one snapshot).
Snapshot take_snapshot(kinds::StepContext& context, const DumpOptions& options,
                       io::db::Session& control, int connections);

// Counters the readers add to as they go, for progress reports.
struct DumpCounters {
    std::atomic<std::uint64_t> rows{0};
    std::atomic<std::uint64_t> raw_bytes{0};
    std::atomic<bool> stop{false};
};

// A range of an integer primary key: from <= key < to; an open end has no bound. Not
// reconcile's KeyRange: two types of one name in one namespace broke the dump (ODR).
struct ChunkRange {
    std::string column;
    std::optional<std::int64_t> from;
    std::optional<std::int64_t> to;
};

// One piece of a reader's work: the rows of one chunk of a table; the first chunk also
// writes the table's schema and triggers.
struct TableTask {
    std::string table;
    std::size_t chunk = 0;
    std::size_t chunks = 1;
    std::optional<ChunkRange> range;
    std::uint64_t estimated_bytes = 0;
};

// What one task wrote.
struct TablePart {
    TableTask task;
    std::optional<DumpFile> schema;
    std::optional<DumpFile> data;
    std::optional<DumpFile> triggers;
};

// The tasks of one table: chunks of about options.chunk_rows rows by ranges of its integer
// primary key when it is that big and has one; else one task.
std::vector<TableTask> plan_table(io::db::Session& session, const DumpOptions& options,
                                  const TableInfo& table);

// Writes one task's files with `session`.
TablePart dump_table_part(io::db::Session& session, const DumpOptions& options,
                          const TableTask& task, DumpCounters& counters);
std::vector<DumpView> dump_views(io::db::Session& session, const DumpOptions& options,
                                 const std::vector<std::string>& views);
std::optional<DumpFile> dump_routines(io::db::Session& session, const DumpOptions& options);

// The dry run's look at the `to` directory: says whether the dump would start, resume, or
// be refused (throws StepError).
void check_directory_for_dry_run(kinds::StepContext& context, const DumpOptions& options);

struct DumpResult {
    DumpManifest manifest;
    std::string manifest_sha256;
    std::size_t tables_kept = 0;
};
DumpResult run_dump(kinds::StepContext& context, const DumpOptions& options);

}  // namespace migrate::steps::mysql
