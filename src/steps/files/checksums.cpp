// Parser for sha256sum/md5sum/BSD checksum lists.
#include "migrate/steps/files/checksums.h"

#include <algorithm>
#include <set>

#include "migrate/util/error.h"
#include "migrate/util/text.h"

namespace migrate::steps::files {
namespace {

bool is_hex(const std::string& text) {
    return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
        return std::isxdigit(static_cast<unsigned char>(c));
    });
}

// GNU coreutils escapes a name holding '\' or a newline and marks the line with a leading '\'.
std::string unescape_name(const std::string& name) {
    std::string out;
    for (std::size_t i = 0; i < name.size(); ++i) {
        if (name[i] == '\\' && i + 1 < name.size()) {
            char next = name[++i];
            out += next == 'n' ? '\n' : next;
        } else {
            out += name[i];
        }
    }
    return out;
}

// "SHA256 (name) = hex"
bool parse_bsd(const std::string& line, ChecksumEntry& entry) {
    std::size_t open = line.find(" (");
    std::size_t close = line.rfind(") = ");
    if (open == std::string::npos || close == std::string::npos || close < open) return false;
    std::string tag = to_lower(line.substr(0, open));
    if (tag != "sha256" && tag != "md5") return false;
    entry.name = line.substr(open + 2, close - open - 2);
    entry.hex = to_lower(trim(line.substr(close + 4)));
    return true;
}

// "hex  name" or "hex *name", with an optional leading '\' for escaped names.
bool parse_gnu(std::string line, ChecksumEntry& entry) {
    bool escaped = !line.empty() && line[0] == '\\';
    if (escaped) line.erase(0, 1);
    std::size_t space = line.find(' ');
    if (space == std::string::npos || space + 2 > line.size()) return false;
    char mode = line[space + 1];
    if (mode != ' ' && mode != '*') return false;
    entry.hex = to_lower(line.substr(0, space));
    entry.name = line.substr(space + 2);
    if (escaped) entry.name = unescape_name(entry.name);
    return true;
}

}  // namespace

std::string checksum_list_line(const std::string& name, const std::string& hex) {
    if (name.find_first_of("\\\n") == std::string::npos) return hex + "  " + name + "\n";
    std::string escaped;
    for (char c : name) {
        if (c == '\\')
            escaped += "\\\\";
        else if (c == '\n')
            escaped += "\\n";
        else
            escaped += c;
    }
    return "\\" + hex + "  " + escaped + "\n";
}

ChecksumEntry inline_checksum(const std::string& name, const std::string& hex,
                              const std::string& where) {
    ChecksumEntry entry{name, to_lower(trim(hex)), DigestAlgorithm::sha256, 0};
    std::optional<DigestAlgorithm> algorithm = digest_from_hex_length(entry.hex.size());
    if (!is_hex(entry.hex) || !algorithm)
        throw StepError(
            where + ": '" + hex + "' is not a SHA-256 (64 hex digits) or MD5 (32 hex digits) hash",
            false);
    entry.algorithm = *algorithm;
    return entry;
}

std::vector<ChecksumEntry> parse_checksum_list(const std::string& text, const std::string& source) {
    std::vector<ChecksumEntry> entries;
    std::set<std::string> seen;
    std::size_t start = 0;
    for (int number = 1; start < text.size(); ++number) {
        std::size_t end = text.find('\n', start);
        if (end == std::string::npos) end = text.size();
        std::string line = text.substr(start, end - start);
        start = end + 1;
        if (!line.empty() && line.back() == '\r') line.pop_back();
        std::string trimmed = trim(line);
        if (trimmed.empty() || trimmed[0] == '#') continue;
        std::string where = source + ":" + std::to_string(number);
        ChecksumEntry entry;
        if (!parse_bsd(trimmed, entry) && !parse_gnu(line, entry))
            throw StepError(where +
                                ": expected 'HASH  FILE' (sha256sum/md5sum output) or 'SHA256 "
                                "(FILE) = HASH', got '" +
                                shorten(line, 80, "") + "'",
                            false);
        ChecksumEntry checked = inline_checksum(entry.name, entry.hex, where);
        checked.line = number;
        if (checked.name.empty()) throw StepError(where + ": the file name is empty", false);
        if (!seen.insert(checked.name).second)
            throw StepError(where + ": '" + checked.name + "' is listed twice", false);
        entries.push_back(std::move(checked));
    }
    return entries;
}

}  // namespace migrate::steps::files
