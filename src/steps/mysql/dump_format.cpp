// The dump format's server-free pieces: file names, table selection, fast SQL values.
#include "migrate/steps/mysql/dump_format.h"

#include <array>
#include <cstring>

#include "migrate/util/error.h"
#include "migrate/util/text.h"

namespace migrate::steps::mysql {
namespace {

constexpr char k_hex_digits[] = "0123456789abcdef";

bool is_glob(std::string_view pattern) {
    return pattern.find_first_of("*?[") != std::string_view::npos;
}

bool matches_any(const std::vector<std::string>& patterns, const std::string& name) {
    for (const std::string& pattern : patterns)
        if (glob_match(pattern, name)) return true;
    return false;
}

// Each byte's escape letter in a quoted string, 0 for a byte written as it is.
constexpr std::array<char, 256> escape_table() {
    std::array<char, 256> table{};
    table[0] = '0';
    table['\n'] = 'n';
    table['\r'] = 'r';
    table['\\'] = '\\';
    table['\''] = '\'';
    table['"'] = '"';
    table[0x1a] = 'Z';
    return table;
}
constexpr std::array<char, 256> k_escapes = escape_table();

// Two hex digits per byte value, so a byte costs one 2-byte copy.
struct HexPairs {
    char pairs[512];
    constexpr HexPairs() : pairs() {
        for (int i = 0; i < 256; ++i) {
            pairs[2 * i] = k_hex_digits[i >> 4];
            pairs[2 * i + 1] = k_hex_digits[i & 15];
        }
    }
};
constexpr HexPairs k_hex_pairs;

}  // namespace

std::string encode_table_name(std::string_view name) {
    std::string out;
    out.reserve(name.size());
    for (unsigned char c : name) {
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '_' || c == '-') {
            out.push_back(static_cast<char>(c));
        } else {
            out.push_back('%');
            out.push_back("0123456789ABCDEF"[c >> 4]);
            out.push_back("0123456789ABCDEF"[c & 15]);
        }
    }
    return out;
}

std::string dump_marker_line(const std::string& manifest_sha256) {
    return "migrate-dump " + std::to_string(k_dump_format_version) + " sha256=" + manifest_sha256 +
           "\n";
}

TableSelection select_tables(const std::vector<std::string>& tables,
                             const std::vector<std::string>& include,
                             const std::vector<std::string>& exclude, std::string_view parameter,
                             std::string_view source) {
    std::string where = "'" + std::string(parameter) + "': ";
    for (const std::string& entry : include) {
        bool found = false;
        for (const std::string& table : tables) found = found || glob_match(entry, table);
        if (found) continue;
        if (is_glob(entry))
            throw StepError(where + "the pattern '" + entry + "' matches no table", false);
        throw StepError(where + std::string(source) + " has no table '" + entry + "'" +
                            did_you_mean(entry, tables),
                        false);
    }
    TableSelection selection;
    for (const std::string& table : tables) {
        if (!include.empty() && !matches_any(include, table)) continue;
        if (matches_any(exclude, table))
            selection.excluded.push_back(table);
        else
            selection.chosen.push_back(table);
    }
    return selection;
}

ValueStyle value_style(const io::db::Column& column) {
    if (column.numeric) return ValueStyle::number;
    // Dates and times also come with the binary character set: only strings are bytes.
    if (column.binary && column.type == io::db::ColumnType::string) return ValueStyle::hex;
    return ValueStyle::quoted;
}

void append_quoted(std::string& out, std::string_view text) {
    std::size_t at = out.size();
    // The worst case, every byte escaped, then cut to what was written: no reallocation per run.
    out.resize(at + 2 * text.size() + 2);
    char* write = out.data() + at;
    *write++ = '\'';
    const char* read = text.data();
    const char* end = read + text.size();
    while (read < end) {
        const char* run = read;
        while (read < end && k_escapes[static_cast<unsigned char>(*read)] == 0) ++read;
        std::memcpy(write, run, static_cast<std::size_t>(read - run));
        write += read - run;
        if (read == end) break;
        *write++ = '\\';
        *write++ = k_escapes[static_cast<unsigned char>(*read)];
        ++read;
    }
    *write++ = '\'';
    out.resize(static_cast<std::size_t>(write - out.data()));
}

void append_hex(std::string& out, std::string_view bytes) {
    if (bytes.empty()) {
        out.append("''");
        return;
    }
    std::size_t at = out.size();
    out.resize(at + 2 + 2 * bytes.size());
    char* write = out.data() + at;
    *write++ = '0';
    *write++ = 'x';
    for (unsigned char c : bytes) {
        std::memcpy(write, k_hex_pairs.pairs + 2 * c, 2);
        write += 2;
    }
}

void append_value(std::string& out, ValueStyle style, bool is_null, std::string_view value) {
    if (is_null) {
        out.append("NULL");
        return;
    }
    switch (style) {
        case ValueStyle::number:
            out.append(value);
            break;
        case ValueStyle::hex:
            append_hex(out, value);
            break;
        case ValueStyle::quoted:
            append_quoted(out, value);
            break;
    }
}

std::string_view dump_file_header() {
    return "/*!40101 SET NAMES utf8mb4 */;\n"
           "/*!40103 SET TIME_ZONE='+00:00' */;\n"
           "/*!40014 SET FOREIGN_KEY_CHECKS=0, UNIQUE_CHECKS=0 */;\n"
           "/*!40101 SET SQL_MODE='NO_AUTO_VALUE_ON_ZERO' */;\n";
}

std::string strip_definer(std::string_view create_statement) {
    std::size_t definer = create_statement.find("DEFINER=");
    if (definer == std::string_view::npos) return std::string(create_statement);
    std::size_t body = std::string_view::npos;
    for (std::string_view keyword : {" VIEW ", " TRIGGER ", " PROCEDURE ", " FUNCTION ", " EVENT "})
        body = std::min(body, create_statement.find(keyword));
    if (body == std::string_view::npos || definer > body) return std::string(create_statement);
    std::size_t end = definer + std::strlen("DEFINER=");
    bool quoted = false;
    while (end < create_statement.size()) {
        char c = create_statement[end];
        if (c == '`') {
            // A doubled backtick inside a quoted name is one backtick.
            if (quoted && end + 1 < create_statement.size() && create_statement[end + 1] == '`') {
                end += 2;
                continue;
            }
            quoted = !quoted;
        } else if (!quoted && (c == ' ' || c == '\n' || c == '\t')) {
            break;
        }
        ++end;
    }
    while (end < create_statement.size() && create_statement[end] == ' ') ++end;
    return std::string(create_statement.substr(0, definer)) +
           std::string(create_statement.substr(end));
}

}  // namespace migrate::steps::mysql
