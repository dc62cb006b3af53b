// Verifying and parsing a journal line by line, fast: one reused SHA-256 context for the
// chain, simdjson for the JSON, no per-line allocation.
#include "migrate/journal/scan.h"

#include <openssl/evp.h>

#include <cerrno>
#include <cstring>
#include <fstream>

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

// SHA-256 over (previous hash, "\n", content) with one context for the whole file.
class ChainHasher {
public:
    ChainHasher() : m_context(EVP_MD_CTX_new()), m_md(EVP_sha256()) {}
    ~ChainHasher() { EVP_MD_CTX_free(m_context); }
    ChainHasher(const ChainHasher&) = delete;
    ChainHasher& operator=(const ChainHasher&) = delete;

    // `content_head` + "}" is the record without its hash.
    bool matches(std::string_view previous, std::string_view content_head, std::string_view expected) {
        unsigned char digest[EVP_MAX_MD_SIZE];
        unsigned int length = 0;
        EVP_DigestInit_ex(m_context, m_md, nullptr);
        EVP_DigestUpdate(m_context, previous.data(), previous.size());
        EVP_DigestUpdate(m_context, "\n", 1);
        EVP_DigestUpdate(m_context, content_head.data(), content_head.size());
        EVP_DigestUpdate(m_context, "}", 1);
        EVP_DigestFinal_ex(m_context, digest, &length);
        static constexpr char k_digits[] = "0123456789abcdef";
        for (unsigned int i = 0; i < length; ++i)
            if (expected[2 * i] != k_digits[digest[i] >> 4] || expected[2 * i + 1] != k_digits[digest[i] & 15]) return false;
        return true;
    }

private:
    EVP_MD_CTX* m_context;
    const EVP_MD* m_md;
};

struct LineCheck {
    std::string problem;
    std::string_view event;
    std::int64_t seq = 0;
};

LineCheck check_line(simdjson::dom::parser& parser, ChainHasher& hasher, std::string_view line,
                     std::string_view previous_hash, std::int64_t expected_seq, simdjson::dom::element& element) {
    LineCheck check;
    if (line.size() < k_hash_suffix_size || line.back() != '}' ||
        line.compare(line.size() - k_hash_suffix_size, k_hash_prefix.size(), k_hash_prefix) != 0) {
        check.problem = "not a journal record (no hash at the end of the line)";
        return check;
    }
    // The buffer is a padded_string, so reading past the line's end is allowed.
    if (parser.parse(line.data(), line.size(), false).get(element) != simdjson::SUCCESS || !element.is_object()) {
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
        check.problem = "journal format version " + simdjson::minify(field) + " is not supported; this migrate reads version " +
                        std::to_string(k_version) + " (a newer migrate wrote it?)";
        return check;
    }
    for (const char* key : {"seq", "ts", "run", "ev"})
        if (object[key].error() != simdjson::SUCCESS) {
            check.problem = std::string("record has no \"") + key + "\"";
            return check;
        }
    if (object["seq"].get_int64().get(check.seq) != simdjson::SUCCESS || check.seq != expected_seq) {
        check.problem = "sequence number " + simdjson::minify(object["seq"].value_unsafe()) + " where " +
                        std::to_string(expected_seq) + " was expected (a line deleted or reordered?)";
        return check;
    }
    if (object["ev"].get_string().get(check.event) != simdjson::SUCCESS) {
        check.problem = "record has no \"ev\"";
        return check;
    }
    std::string_view hash = line.substr(line.size() - 66, 64);
    if (!is_hex64(hash) || !hasher.matches(previous_hash, line.substr(0, line.size() - k_hash_suffix_size), hash))
        check.problem = "hash chain broken: the record was changed, or a line before it was removed";
    return check;
}

}  // namespace

simdjson::padded_string load_journal_text(const std::string& path) {
    auto loaded = simdjson::padded_string::load(path);
    if (loaded.error() != simdjson::SUCCESS)
        throw UsageError(path + ": cannot read the journal: " + std::strerror(errno ? errno : ENOENT));
    return std::move(loaded).value_unsafe();
}

ReadResult scan_journal(const simdjson::padded_string& padded, const RecordVisitor& visit) {
    ReadResult result;
    std::string_view text(padded.data(), padded.size());
    simdjson::dom::parser parser;
    ChainHasher hasher;
    std::string previous_hash;
    std::size_t pos = 0;
    int number = 0;
    std::optional<std::pair<int, std::string>> pending_torn;  // a bad line a repair record may excuse
    while (pos < text.size()) {
        std::size_t end = text.find('\n', pos);
        ++number;
        if (end == std::string_view::npos) {
            result.torn_tail = Problem{number, "the last line is cut off (no newline): a write did not complete; it is ignored"};
            result.torn_offset = pos;
            break;
        }
        std::string_view line = text.substr(pos, end - pos);
        pos = end + 1;
        result.line_count = number;
        simdjson::dom::element element;
        LineCheck check = check_line(parser, hasher, line, previous_hash, result.last_seq + 1, element);
        if (!check.problem.empty()) {
            if (pending_torn) break;
            pending_torn = {number, check.problem};
            continue;
        }
        if (pending_torn) {
            // Only a repair record naming exactly that line excuses it.
            std::int64_t named = 0;
            bool excused = check.event == "journal.repair" &&
                           element["line"].get_int64().get(named) == simdjson::SUCCESS && named == pending_torn->first;
            if (!excused) {
                result.problem = Problem{pending_torn->first, pending_torn->second};
                return result;
            }
            pending_torn.reset();
        }
        previous_hash.assign(line.substr(line.size() - 66, 64));
        result.last_seq = check.seq;
        visit(ScannedRecord{number, line, check.event, element});
    }
    if (pending_torn) result.problem = Problem{pending_torn->first, pending_torn->second};
    result.last_hash = previous_hash;
    return result;
}

}  // namespace migrate::journal
