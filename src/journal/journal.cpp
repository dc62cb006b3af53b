// Writing and verifying the journal.
#include "migrate/journal/journal.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "migrate/util/error.h"
#include "migrate/util/redactor.h"
#include "migrate/util/sha256.h"

namespace migrate::journal {

namespace {

constexpr std::string_view k_hash_prefix = ",\"h\":\"";
constexpr std::size_t k_hash_suffix_size = k_hash_prefix.size() + 64 + 2;  // ,"h":"<64>"}

bool is_hex64(std::string_view text) {
    if (text.size() != 64) return false;
    for (char c : text)
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    return true;
}

// Checks one complete line against the chain; returns "" or what is wrong.
std::string verify_line(const std::string& line, const std::string& previous_hash, std::int64_t expected_seq,
                        Json& parsed) {
    if (line.size() < k_hash_suffix_size || line.back() != '}' ||
        line.compare(line.size() - k_hash_suffix_size, k_hash_prefix.size(), k_hash_prefix) != 0)
        return "not a journal record (no hash at the end of the line)";
    std::string hash = line.substr(line.size() - 66, 64);
    std::string content = line.substr(0, line.size() - k_hash_suffix_size) + "}";
    try {
        parsed = Json::parse(line);
    } catch (const std::exception&) {
        return "not valid JSON";
    }
    if (!parsed.is_object() || !parsed.contains("v"))
        return "not a journal record (no format version \"v\")";
    if (!parsed["v"].is_number_integer() || parsed["v"].get<int>() != k_version)
        return "journal format version " + parsed["v"].dump() + " is not supported; this migrate reads version " +
               std::to_string(k_version) + " (a newer migrate wrote it?)";
    for (const char* key : {"seq", "ts", "run", "ev"})
        if (!parsed.contains(key)) return std::string("record has no \"") + key + "\"";
    if (!parsed["seq"].is_number_integer() || parsed["seq"].get<std::int64_t>() != expected_seq)
        return "sequence number " + parsed["seq"].dump() + " where " + std::to_string(expected_seq) +
               " was expected (a line deleted or reordered?)";
    if (!is_hex64(hash) || chain_hash(previous_hash, content) != hash)
        return "hash chain broken: the record was changed, or a line before it was removed";
    return "";
}

}  // namespace

std::string Record::string(const char* key) const {
    if (!data.contains(key) || !data[key].is_string()) return "";
    return data[key].get<std::string>();
}

std::string chain_hash(const std::string& previous, const std::string& content) {
    Sha256 hash;
    hash.update(previous);
    hash.update("\n");
    hash.update(content);
    return hash.hex_digest();
}

bool is_sync_point(const std::string& event) {
    return event == "step.end" || event == "step.checkpoint" || event == "step.confirm" ||
           event.rfind("run.", 0) == 0 || event == "journal.repair";
}

ReadResult parse_journal(const std::string& text) {
    ReadResult result;
    std::size_t pos = 0;
    int number = 0;
    std::optional<std::pair<int, std::string>> pending_torn;  // a bad line a repair record may excuse
    while (pos < text.size()) {
        std::size_t end = text.find('\n', pos);
        ++number;
        if (end == std::string::npos) {
            result.torn_tail = Problem{number, "the last line is cut off (no newline): a write did not complete; "
                                               "it is ignored"};
            result.torn_offset = pos;
            break;
        }
        std::string line = text.substr(pos, end - pos);
        pos = end + 1;
        result.line_count = number;
        Json parsed;
        std::string problem = verify_line(line, result.last_hash, result.last_seq + 1, parsed);
        if (!problem.empty()) {
            if (pending_torn) break;
            pending_torn = {number, problem};
            continue;
        }
        if (pending_torn) {
            // Only a repair record naming exactly that line excuses it.
            bool excused = parsed["ev"] == "journal.repair" && parsed.value("line", 0) == pending_torn->first;
            if (!excused) {
                result.problem = Problem{pending_torn->first, pending_torn->second};
                return result;
            }
            pending_torn.reset();
        }
        result.last_hash = line.substr(line.size() - 66, 64);
        result.last_seq = parsed["seq"].get<std::int64_t>();
        result.records.push_back(Record{number, std::move(parsed)});
    }
    if (pending_torn) result.problem = Problem{pending_torn->first, pending_torn->second};
    return result;
}

ReadResult read_journal(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw UsageError(path + ": cannot read the journal: " + std::strerror(errno));
    std::stringstream buffer;
    buffer << in.rdbuf();
    return parse_journal(buffer.str());
}

bool is_locked(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    bool locked = ::flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
    ::close(fd);
    return locked;
}

std::unique_ptr<Writer> Writer::open(const std::string& path, std::string run_id, Clock& clock, bool force) {
    int fd = ::open(path.c_str(), O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) throw Fatal(path + ": cannot open the journal for writing: " + std::strerror(errno));
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
        ::close(fd);
        throw Fatal(path + ": the journal is in use by another migrate run; one writer at a time "
                           "(wait for it to finish, or stop it first)", exit_code::k_usage);
    }
    struct stat info {};
    ::fstat(fd, &info);
    std::string text(static_cast<std::size_t>(info.st_size), '\0');
    if (!text.empty() && ::pread(fd, text.data(), text.size(), 0) != static_cast<ssize_t>(text.size())) {
        ::close(fd);
        throw Fatal(path + ": cannot read the journal: " + std::strerror(errno));
    }
    ReadResult existing = parse_journal(text);
    if (existing.problem && !force) {
        ::close(fd);
        throw Fatal(path + ":" + std::to_string(existing.problem->line) + ": " + existing.problem->message +
                        "; the journal does not verify, so migrate will not add to it (--force appends anyway)",
                    exit_code::k_usage);
    }
    auto writer = std::unique_ptr<Writer>(new Writer(path, fd, std::move(run_id), clock, existing));
    if (existing.torn_tail) {
        // Close the torn line so it stays a line of its own, and say so in the chain.
        if (::write(fd, "\n", 1) != 1) throw Fatal(path + ": cannot write the journal: " + std::strerror(errno));
        std::string torn = text.substr(existing.torn_offset);
        writer->append("journal.repair",
                       Json{{"line", existing.torn_tail->line},
                            {"bytes", torn.size()},
                            {"sha256", sha256_hex(torn)},
                            {"reason", "the last line was cut off (no newline); it is kept and ignored"}},
                       true);
    }
    return writer;
}

Writer::Writer(std::string path, int fd, std::string run_id, Clock& clock, ReadResult existing)
    : m_path(std::move(path)), m_fd(fd), m_run_id(std::move(run_id)), m_clock(clock), m_existing(std::move(existing)) {
    m_last_hash = m_existing.last_hash;
    m_seq = m_existing.last_seq;
}

Writer::~Writer() { ::close(m_fd); }

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
                    (written < 0 ? std::string(": ") + std::strerror(errno) : std::string(": short write (disk full?)")));
    if (sync && ::fdatasync(m_fd) != 0)
        throw Fatal(m_path + ": cannot sync the journal to disk: " + std::strerror(errno));
    m_last_hash = hash;
    ++m_seq;
}

}  // namespace migrate::journal
