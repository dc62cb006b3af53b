// The append-only JSON Lines journal: one writer at a time, a SHA-256 hash chain through
// every record, fsync at the points the engine cannot lose. Format in docs/journal.md.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "migrate/util/clock.h"

namespace migrate::journal {

using Json = nlohmann::ordered_json;

constexpr int k_version = 1;

struct Record {
    int line = 0;  // 1-based line number in the file
    Json data;
    const std::string& event() const { return data["ev"].get_ref<const std::string&>(); }
    std::string string(const char* key) const;
};

struct Problem {
    int line = 0;
    std::string message;
};

struct ReadResult {
    std::vector<Record> records;       // verified records, in file order (up to the first problem)
    std::optional<Problem> problem;    // first line that does not verify
    std::optional<Problem> torn_tail;  // an unterminated last line (a cut-off write)
    std::string last_hash;             // chain state after the last verified record
    std::int64_t last_seq = 0;
    int line_count = 0;
    std::size_t torn_offset = 0;  // byte offset of the torn line
};

// Parses and verifies a journal's text. Stops at the first problem (records before it are
// returned). An unsupported version is a problem like any other.
ReadResult parse_journal(const std::string& text);

// Reads and verifies a journal file; throws UsageError when it cannot be read.
ReadResult read_journal(const std::string& path);

class Writer {
public:
    // Opens or creates `path`, taking an exclusive lock; throws Fatal when another process
    // holds it, and Fatal when the existing content does not verify (unless `force`).
    // A torn last line is closed off and recorded by a `journal.repair` record.
    static std::unique_ptr<Writer> open(const std::string& path, std::string run_id, Clock& clock,
                                        bool force = false);
    ~Writer();

    // Appends one record; `sync` fsyncs it before returning. Thread-safe.
    void append(const std::string& event, Json fields, bool sync);
    const ReadResult& existing() const { return m_existing; }
    const std::string& path() const { return m_path; }
    const std::string& run_id() const { return m_run_id; }

private:
    Writer(std::string path, int fd, std::string run_id, Clock& clock, ReadResult existing);
    std::string m_path;
    int m_fd;
    std::string m_run_id;
    Clock& m_clock;
    ReadResult m_existing;
    std::mutex m_mutex;
    std::string m_last_hash;
    std::int64_t m_seq;
};

// One run per runbook and environment at a time: an exclusive flock on a lock file in the
// journals' folder, held for the process's life. The file names the journal of the run that
// holds it, so a second run can say which.
class RunLock {
public:
    // Throws Fatal (exit 2) naming the holder's journal when another run holds `lock_path`.
    static std::unique_ptr<RunLock> take(const std::string& lock_path,
                                         const std::string& journal_path);
    ~RunLock();
    RunLock(const RunLock&) = delete;
    RunLock& operator=(const RunLock&) = delete;

private:
    explicit RunLock(int fd) : m_fd(fd) {}
    int m_fd;
};

// The hash of a record: SHA-256 over the previous hash, a newline, and the record's text
// without its "h" field.
std::string chain_hash(const std::string& previous, const std::string& content);

// True when a process holds the journal's writer lock (a run is in progress); false when the
// journal does not exist. Throws UsageError when it exists but cannot be opened.
bool is_locked(const std::string& path);

// Events whose record is fsynced before the engine moves on.
bool is_sync_point(const std::string& event);

}  // namespace migrate::journal
