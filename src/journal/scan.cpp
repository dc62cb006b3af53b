// Verifying and parsing a journal line by line, fast: one reused SHA-256 context for the
// chain, simdjson for the JSON, no per-line allocation.
#include "scan.h"

#include "chain.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <limits>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "migrate/util/error.h"
#include "migrate/util/text.h"

namespace migrate::journal {
namespace {

constexpr std::string_view k_hash_prefix = ",\"h\":\"";
constexpr std::size_t k_hash_suffix_size = k_hash_prefix.size() + 64 + 2;  // ,"h":"<64>"}

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
// of the parsing; the parser waits only when it catches up. The thread finds the lines
// itself: splitting the whole file first, before either side could start, was a tenth of
// a report's time. Only a verdict per line crosses to the parser: handing parsed records
// from this thread to the other (to share the parsing) made a report slower, not faster:
// reading a record parsed on the other core missed the cache at every field.
class ChainVerifier {
public:
    explicit ChainVerifier(std::string_view text) : m_text(text) {
        m_thread = std::thread([this] { run(); });
    }
    ~ChainVerifier() {
        m_stop = true;
        m_thread.join();
    }
    ChainVerifier(const ChainVerifier&) = delete;
    ChainVerifier& operator=(const ChainVerifier&) = delete;

    // Whether complete line `index` (0-based) carries a good hash; waits until it is known.
    bool hash_ok(std::size_t index) {
        while (m_done.load(std::memory_order_acquire) <= index) std::this_thread::yield();
        if (m_bad_count.load(std::memory_order_acquire) == 0) return true;
        std::lock_guard lock(m_bad_mutex);
        return !std::binary_search(m_bad.begin(), m_bad.end(), index);
    }

private:
    void run() {
        ChainHasher hasher;
        std::string_view previous;  // the stored hash of the last line that verified
        std::size_t index = 0;
        for (std::size_t pos = 0; pos < m_text.size() && !m_stop; ++index) {
            const void* newline = std::memchr(m_text.data() + pos, '\n', m_text.size() - pos);
            if (newline == nullptr) break;  // a torn tail: the parser reports it
            auto end = static_cast<std::size_t>(static_cast<const char*>(newline) - m_text.data());
            std::string_view line = m_text.substr(pos, end - pos);
            pos = end + 1;
            bool ok = line.size() >= k_hash_suffix_size && line.back() == '}' &&
                      line.compare(line.size() - k_hash_suffix_size, k_hash_prefix.size(),
                                   k_hash_prefix) == 0;
            std::string_view hash = ok ? line.substr(line.size() - 66, 64) : std::string_view();
            // No separate check that the stored hash is hex: matches() compares it with the
            // computed digest's hex, character by character. (Testing each of 64 random hex
            // digits for a range mispredicted a branch every other time: a third of this
            // thread.)
            ok = ok && hasher.matches(previous, line.substr(0, line.size() - k_hash_suffix_size),
                                      "}", hash);
            if (ok) {
                previous = hash;
            } else {
                std::lock_guard lock(m_bad_mutex);
                m_bad.push_back(index);
                m_bad_count.store(m_bad.size(), std::memory_order_release);
            }
            if ((index & 255) == 255) m_done.store(index + 1, std::memory_order_release);
        }
        m_done.store(std::numeric_limits<std::size_t>::max(), std::memory_order_release);
    }

    std::string_view m_text;
    std::mutex m_bad_mutex;
    std::vector<std::size_t> m_bad;  // the lines whose hash is not good, in order
    std::atomic<std::size_t> m_bad_count{0};
    std::atomic<std::size_t> m_done{0};  // lines known
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
    simdjson::dom::parser parser;
    std::string_view previous_hash;
    std::optional<std::pair<int, std::string>>
        pending_torn;  // a bad line a repair record may excuse
    bool pending_had_good_hash = false;
    std::size_t index = 0;
    std::size_t pos = 0;
    {
        ChainVerifier chain(text);
        for (; pos < text.size(); ++index) {
            const void* newline = std::memchr(text.data() + pos, '\n', text.size() - pos);
            if (newline == nullptr) break;  // a torn tail
            auto end = static_cast<std::size_t>(static_cast<const char*>(newline) - text.data());
            std::string_view line = text.substr(pos, end - pos);
            pos = end + 1;
            int number = static_cast<int>(index) + 1;
            bool hash_ok = chain.hash_ok(index);
            simdjson::dom::element element;
            LineCheck check = check_line(parser, line, hash_ok, result.last_seq + 1, element);
            if (pending_torn && pending_had_good_hash) {
                // The bad line's hash was good, so the chain ran through it: the line after
                // it cannot be chained to the last good record, as a repair record must be.
                check.problem =
                    "hash chain broken: the record was changed, or a line before it was removed";
            }
            if (!check.problem.empty()) {
                if (pending_torn) {
                    ++index;
                    break;
                }
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
                    ++index;
                    break;
                }
                pending_torn.reset();
            }
            previous_hash = line.substr(line.size() - 66, 64);
            result.last_seq = check.seq;
            visit(ScannedRecord{number, line, check.event, element});
        }
    }
    // Every complete line is counted, also after a problem ended the reading.
    for (; pos < text.size(); ++index) {
        const void* newline = std::memchr(text.data() + pos, '\n', text.size() - pos);
        if (newline == nullptr) break;
        pos = static_cast<std::size_t>(static_cast<const char*>(newline) - text.data()) + 1;
    }
    result.line_count = static_cast<int>(index);
    if (!text.empty() && text.back() != '\n') {
        std::size_t last_newline = text.rfind('\n');
        result.torn_tail = Problem{
            result.line_count + 1,
            "the last line is cut off (no newline): a write did not complete; it is ignored"};
        result.torn_offset = last_newline == std::string_view::npos ? 0 : last_newline + 1;
    }
    if (pending_torn) result.problem = Problem{pending_torn->first, pending_torn->second};
    result.last_hash = std::string(previous_hash);
    return result;
}

}  // namespace migrate::journal
