// Writing and verifying the journal.
#include "migrate/journal/journal.h"

#include "chain.h"
#include "scan.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "migrate/util/digest.h"
#include "migrate/util/error.h"
#include "migrate/util/redactor.h"

namespace migrate::journal {
namespace {

constexpr std::string_view k_hash_prefix = ",\"h\":\"";

}  // namespace

std::string Record::string(const char* key) const {
    if (!data.contains(key) || !data[key].is_string()) return "";
    return data[key].get<std::string>();
}

std::string chain_hash(const std::string& previous, const std::string& content) {
    return ChainHasher().hex(previous, content);
}
bool is_sync_point(const std::string& event) {
    return event == "step.end" || event == "step.checkpoint" || event == "step.confirm" ||
           event.rfind("run.", 0) == 0 || event == "journal.repair";
}

ReadResult parse_journal(const std::string& text) {
    JournalText padded = JournalText::copy(text);
    std::vector<Record> records;
    ReadResult result = scan_journal(padded, [&](const ScannedRecord& record) {
        records.push_back(Record{record.line, Json::parse(record.text)});
    });
    result.records = std::move(records);
    return result;
}

ReadResult read_journal(const std::string& path) {
    JournalText text = JournalText::load(path);
    std::vector<Record> records;
    ReadResult result = scan_journal(text, [&](const ScannedRecord& record) {
        records.push_back(Record{record.line, Json::parse(record.text)});
    });
    result.records = std::move(records);
    return result;
}

bool is_locked(const std::string& path) {
    // A shared lock needs only read access, so another account that may read the journal
    // sees the writer's lock too. Unreadable is not "not running": say so.
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT) return false;
    if (fd < 0)
        throw UsageError(path + ": cannot open the journal to see whether a run holds it: " +
                         std::strerror(errno));
    bool locked = ::flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
    ::close(fd);
    return locked;
}

std::unique_ptr<Writer> Writer::open(const std::string& path, std::string run_id, Clock& clock,
                                     bool force) {
    int fd = ::open(path.c_str(), O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        throw Fatal(path + ": cannot open the journal for writing: " + std::strerror(errno));
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
        ::close(fd);
        throw Fatal(path +
                        ": the journal is in use by another migrate run; one writer at a time "
                        "(wait for it to finish, or stop it first)",
                    exit_code::k_usage);
    }
    struct stat info {};
    ::fstat(fd, &info);
    simdjson::padded_string text(static_cast<std::size_t>(info.st_size));
    if (text.size() > 0 &&
        ::pread(fd, text.data(), text.size(), 0) != static_cast<ssize_t>(text.size())) {
        ::close(fd);
        throw Fatal(path + ": cannot read the journal: " + std::strerror(errno));
    }
    ReadResult existing = parse_journal(std::string(text.data(), text.size()));
    if (existing.problem && !force) {
        ::close(fd);
        throw Fatal(path + ":" + std::to_string(existing.problem->line) + ": " +
                        existing.problem->message +
                        "; the journal does not verify, so migrate will not add to it (--force "
                        "appends anyway)",
                    exit_code::k_usage);
    }
    auto writer = std::unique_ptr<Writer>(new Writer(path, fd, std::move(run_id), clock, existing));
    if (existing.torn_tail) {
        // Close the torn line so it stays a line of its own, and say so in the chain.
        if (::write(fd, "\n", 1) != 1)
            throw Fatal(path + ": cannot write the journal: " + std::strerror(errno));
        std::string torn(text.data() + existing.torn_offset, text.size() - existing.torn_offset);
        writer->append(
            "journal.repair",
            Json{{"line", existing.torn_tail->line},
                 {"bytes", torn.size()},
                 {"sha256", sha256_hex(torn)},
                 {"reason", "the last line was cut off (no newline); it is kept and ignored"}},
            true);
    }
    return writer;
}

Writer::Writer(std::string path, int fd, std::string run_id, Clock& clock, ReadResult existing)
    : m_path(std::move(path)),
      m_fd(fd),
      m_run_id(std::move(run_id)),
      m_clock(clock),
      m_existing(std::move(existing)) {
    m_last_hash = m_existing.last_hash;
    m_seq = m_existing.last_seq;
}

Writer::~Writer() { ::close(m_fd); }

std::unique_ptr<RunLock> RunLock::take(const std::string& lock_path,
                                       const std::string& journal_path) {
    int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0664);
    if (fd < 0)
        throw Fatal(lock_path + ": cannot open the run lock: " + std::strerror(errno),
                    exit_code::k_usage);
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
        char holder[4096] = {0};
        ssize_t n = ::pread(fd, holder, sizeof holder - 1, 0);
        ::close(fd);
        std::string journal = n > 0 ? std::string(holder, static_cast<std::size_t>(n)) : "";
        if (auto newline = journal.find('\n'); newline != std::string::npos)
            journal.resize(newline);
        if (journal == journal_path)
            throw Fatal(journal_path +
                            ": the journal is in use by another migrate run; one writer at a time "
                            "(wait for it to finish, or stop it first)",
                        exit_code::k_usage);
        throw Fatal("another run of this runbook and environment is in progress" +
                        (journal.empty() ? std::string() : " (journal " + journal + ")") +
                        "; one run at a time (" + lock_path +
                        "). Wait for it, stop it, or add --parallel-run if two runs are meant",
                    exit_code::k_usage);
    }
    std::string text = journal_path + "\n";
    if (::ftruncate(fd, 0) != 0 ||
        ::pwrite(fd, text.data(), text.size(), 0) != static_cast<ssize_t>(text.size())) {
        ::close(fd);
        throw Fatal(lock_path + ": cannot write the run lock: " + std::strerror(errno),
                    exit_code::k_usage);
    }
    return std::unique_ptr<RunLock>(new RunLock(fd));
}

RunLock::~RunLock() { ::close(m_fd); }

void Writer::append(const std::string& event, Json fields, bool sync) {
    std::lock_guard lock(m_mutex);
    Json record;
    record["v"] = k_version;
    record["seq"] = m_seq + 1;
    record["ts"] = format_utc_ms(m_clock.wall_ms());
    record["run"] = m_run_id;
    record["ev"] = event;
    for (auto& [key, value] : fields.items()) record[key] = std::move(value);
    Redactor::global().redact(record);
    std::string content = record.dump(-1, ' ', false, Json::error_handler_t::replace);
    std::string hash = chain_hash(m_last_hash, content);
    content.pop_back();
    std::string line = content;
    line += k_hash_prefix;
    line += hash;
    line += "\"}\n";
    ssize_t written = ::write(m_fd, line.data(), line.size());
    if (written != static_cast<ssize_t>(line.size()))
        throw Fatal(m_path + ": cannot write the journal" +
                    (written < 0 ? std::string(": ") + std::strerror(errno)
                                 : std::string(": short write (disk full?)")));
    if (sync && ::fdatasync(m_fd) != 0)
        throw Fatal(m_path + ": cannot sync the journal to disk: " + std::strerror(errno));
    m_last_hash = hash;
    ++m_seq;
}

}  // namespace migrate::journal
