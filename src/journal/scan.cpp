// Verifying and parsing a journal line by line, fast: one reused SHA-256 context for the
// chain, simdjson for the JSON, no per-line allocation.
#include "scan.h"

#include "chain.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <thread>
#include <utility>
#include <vector>

#include "migrate/util/error.h"
#include "migrate/util/text.h"

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

struct LineCheck {
    std::string problem;
    std::string_view event;
    std::int64_t seq = 0;
};

LineCheck check_line(simdjson::dom::parser& parser, std::string_view line, bool hash_ok,
                     std::int64_t expected_seq, simdjson::dom::element& element) {
    LineCheck check;
    if (line.size() < k_hash_suffix_size || line.back() != '}' ||
        line.compare(line.size() - k_hash_suffix_size, k_hash_prefix.size(), k_hash_prefix) != 0) {
        check.problem = "not a journal record (no hash at the end of the line)";
        return check;
    }
    // The buffer is a padded_string, so reading past the line's end is allowed.
    if (parser.parse(line.data(), line.size(), false).get(element) != simdjson::SUCCESS ||
        !element.is_object()) {
        check.problem = "not valid JSON";
        return check;
    }
    simdjson::dom::object object = element.get_object().value_unsafe();
    std::int64_t version = 0;
    simdjson::dom::element field;
    if (object["v"].get(field) != simdjson::SUCCESS) {
        check.problem = "not a journal record (no format version \"v\")";
        return check;
    }
    if (field.get_int64().get(version) != simdjson::SUCCESS || version != k_version) {
        check.problem = "journal format version " + simdjson::minify(field) +
                        " is not supported; this migrate reads version " +
                        std::to_string(k_version) + " (a newer migrate wrote it?)";
        return check;
    }
    for (const char* key : {"seq", "ts", "run", "ev"})
        if (object[key].error() != simdjson::SUCCESS) {
            check.problem = std::string("record has no \"") + key + "\"";
            return check;
        }
    if (object["seq"].get_int64().get(check.seq) != simdjson::SUCCESS ||
        check.seq != expected_seq) {
        check.problem = "sequence number " + simdjson::minify(object["seq"].value_unsafe()) +
                        " where " + std::to_string(expected_seq) +
                        " was expected (a line deleted or reordered?)";
        return check;
    }
    if (object["ev"].get_string().get(check.event) != simdjson::SUCCESS) {
        check.problem = "record has no \"ev\"";
        return check;
    }
    if (!hash_ok)
        check.problem =
            "hash chain broken: the record was changed, or a line before it was removed";
    return check;
}

// Verifies the hash chain of every line on its own thread, ahead of the parser. A line's
// hash depends only on the previous good line's stored hash, so this runs independently
// of the parsing; the parser waits only when it catches up.
class ChainVerifier {
public:
    ChainVerifier(std::string_view text,
                  const std::vector<std::pair<std::size_t, std::size_t>>& lines)
        : m_text(text), m_lines(lines), m_ok(lines.size(), 0) {
        m_thread = std::thread([this] { run(); });
    }
    ~ChainVerifier() {
        m_stop = true;
        m_thread.join();
    }
    ChainVerifier(const ChainVerifier&) = delete;
    ChainVerifier& operator=(const ChainVerifier&) = delete;

    // Whether line `index` (0-based) carries a good hash; waits until it is known.
    bool hash_ok(std::size_t index) {
        while (m_done.load(std::memory_order_acquire) <= index) std::this_thread::yield();
        return m_ok[index] != 0;
    }

private:
    void run() {
        ChainHasher hasher;
        std::string_view previous;  // the stored hash of the last line that verified
        for (std::size_t i = 0; i < m_lines.size() && !m_stop; ++i) {
            std::string_view line = m_text.substr(m_lines[i].first, m_lines[i].second);
            bool ok = line.size() >= k_hash_suffix_size && line.back() == '}' &&
                      line.compare(line.size() - k_hash_suffix_size, k_hash_prefix.size(),
                                   k_hash_prefix) == 0;
            std::string_view hash = ok ? line.substr(line.size() - 66, 64) : std::string_view();
            ok = ok && is_hex64(hash) &&
                 hasher.matches(previous, line.substr(0, line.size() - k_hash_suffix_size), "}",
                                hash);
            if (ok) previous = hash;
            m_ok[i] = ok ? 1 : 0;
            if ((i & 255) == 255) m_done.store(i + 1, std::memory_order_release);
        }
        m_done.store(m_lines.size(), std::memory_order_release);
    }

    std::string_view m_text;
    const std::vector<std::pair<std::size_t, std::size_t>>& m_lines;
    std::vector<unsigned char> m_ok;
    std::atomic<std::size_t> m_done{0};
    std::atomic<bool> m_stop{false};
    std::thread m_thread;
};

}  // namespace

JournalText JournalText::load(const std::string& path) {
    JournalText text;
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    struct stat info {};
    if (fd >= 0 && ::fstat(fd, &info) == 0 && S_ISREG(info.st_mode) && info.st_size > 0) {
        std::size_t size = static_cast<std::size_t>(info.st_size);
        std::size_t page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
        std::size_t span = (size + simdjson::SIMDJSON_PADDING + page - 1) / page * page;
        // Zero pages first, the file over their start: the padding past its end reads zeros.
        void* base = ::mmap(nullptr, span, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (base != MAP_FAILED &&
            ::mmap(base, size, PROT_READ, MAP_PRIVATE | MAP_FIXED | MAP_POPULATE, fd, 0) == base) {
            ::close(fd);
            text.m_map = base;
            text.m_map_size = span;
            text.m_view = std::string_view(static_cast<const char*>(base), size);
            return text;
        }
        if (base != MAP_FAILED) ::munmap(base, span);
    }
    if (fd >= 0) ::close(fd);
    // Empty, not a regular file, or not mappable: read it.
    auto loaded = simdjson::padded_string::load(path);
    if (loaded.error() != simdjson::SUCCESS)
        throw UsageError(path +
                         ": cannot read the journal: " + std::strerror(errno ? errno : ENOENT));
    text.m_copy = std::move(loaded).value_unsafe();
    text.m_view = std::string_view(text.m_copy.data(), text.m_copy.size());
    return text;
}

JournalText JournalText::copy(std::string_view bytes) {
    JournalText text;
    text.m_copy = simdjson::padded_string(bytes);
    text.m_view = std::string_view(text.m_copy.data(), text.m_copy.size());
    return text;
}

JournalText::JournalText(JournalText&& other) noexcept
    : m_map(std::exchange(other.m_map, nullptr)),
      m_map_size(std::exchange(other.m_map_size, 0)),
      m_copy(std::move(other.m_copy)),
      m_view(m_map != nullptr ? other.m_view : std::string_view(m_copy.data(), m_copy.size())) {
    other.m_view = {};
}

JournalText::~JournalText() {
    if (m_map != nullptr) ::munmap(m_map, m_map_size);
}

ReadResult scan_journal(const JournalText& journal, const RecordVisitor& visit) {
    ReadResult result;
    std::string_view text = journal.view();
    std::vector<std::pair<std::size_t, std::size_t>> lines;  // offset, length of each complete line
    for (std::size_t pos = 0; pos < text.size();) {
        std::size_t end = text.find('\n', pos);
        if (end == std::string_view::npos) {
            result.torn_tail = Problem{
                static_cast<int>(lines.size()) + 1,
                "the last line is cut off (no newline): a write did not complete; it is ignored"};
            result.torn_offset = pos;
            break;
        }
        lines.emplace_back(pos, end - pos);
        pos = end + 1;
    }
    result.line_count = static_cast<int>(lines.size());
    ChainVerifier chain(text, lines);
    simdjson::dom::parser parser;
    std::string_view previous_hash;
    std::optional<std::pair<int, std::string>>
        pending_torn;  // a bad line a repair record may excuse
    bool pending_had_good_hash = false;
    for (std::size_t i = 0; i < lines.size(); ++i) {
        int number = static_cast<int>(i) + 1;
        std::string_view line = text.substr(lines[i].first, lines[i].second);
        bool hash_ok = chain.hash_ok(i);
        simdjson::dom::element element;
        LineCheck check = check_line(parser, line, hash_ok, result.last_seq + 1, element);
        if (pending_torn && pending_had_good_hash) {
            // The bad line's hash was good, so the chain ran through it: the line after it
            // cannot be chained to the last good record, as a repair record must be.
            check.problem =
                "hash chain broken: the record was changed, or a line before it was removed";
        }
        if (!check.problem.empty()) {
            if (pending_torn) break;
            pending_torn = {number, check.problem};
            pending_had_good_hash = hash_ok;
            continue;
        }
        if (pending_torn) {
            // Only a repair record naming exactly that line excuses it.
            std::int64_t named = 0;
            bool excused = check.event == "journal.repair" &&
                           element["line"].get_int64().get(named) == simdjson::SUCCESS &&
                           named == pending_torn->first;
            if (!excused) {
                result.problem = Problem{pending_torn->first, pending_torn->second};
                result.last_hash = std::string(previous_hash);
                return result;
            }
            pending_torn.reset();
        }
        previous_hash = line.substr(line.size() - 66, 64);
        result.last_seq = check.seq;
        visit(ScannedRecord{number, line, check.event, element});
    }
    if (pending_torn) result.problem = Problem{pending_torn->first, pending_torn->second};
    result.last_hash = std::string(previous_hash);
    return result;
}

}  // namespace migrate::journal
