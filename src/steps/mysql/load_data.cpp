// A multi-row INSERT of literals read once and written as LOAD DATA's tab-separated rows.
#include "migrate/steps/mysql/load_data.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <vector>

namespace migrate::steps::mysql {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
bool is_word(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '$';
}
bool is_hex_digit(char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

// Bytes of a quoted string that cannot be copied as they are into a LOAD DATA field.
constexpr std::array<unsigned char, 256> k_special = [] {
    std::array<unsigned char, 256> special{};
    for (unsigned char c : {'\\', '\'', '\t', '\n', '\0'}) special[c] = 1;
    return special;
}();

class Reader {
public:
    explicit Reader(std::string_view text) : m_text(text) {}

    void skip_space() {
        while (m_pos < m_text.size() && is_space(m_text[m_pos])) ++m_pos;
    }
    bool at_end() const { return m_pos >= m_text.size(); }
    char peek() const { return at_end() ? '\0' : m_text[m_pos]; }
    bool eat(char c) {
        skip_space();
        if (peek() != c) return false;
        ++m_pos;
        return true;
    }
    // A keyword, any case, not followed by a word character.
    bool keyword(std::string_view word) {
        skip_space();
        if (m_text.size() - m_pos < word.size()) return false;
        for (std::size_t i = 0; i < word.size(); ++i)
            if (lower(m_text[m_pos + i]) != word[i]) return false;
        if (m_pos + word.size() < m_text.size() && is_word(m_text[m_pos + word.size()]))
            return false;
        m_pos += word.size();
        return true;
    }
    // `name` (with `` inside) or a bare name: its text as written.
    std::optional<std::string_view> identifier() {
        skip_space();
        std::size_t start = m_pos;
        if (peek() == '`') {
            for (++m_pos; m_pos < m_text.size(); ++m_pos)
                if (m_text[m_pos] == '`') {
                    if (m_pos + 1 < m_text.size() && m_text[m_pos + 1] == '`') {
                        ++m_pos;
                        continue;
                    }
                    ++m_pos;
                    return m_text.substr(start, m_pos - start);
                }
            return std::nullopt;
        }
        while (m_pos < m_text.size() && is_word(m_text[m_pos])) ++m_pos;
        if (m_pos == start) return std::nullopt;
        return m_text.substr(start, m_pos - start);
    }
    // A table: name or schema.name, as written.
    std::optional<std::string_view> table() {
        skip_space();
        std::size_t start = m_pos;
        if (!identifier()) return std::nullopt;
        if (peek() == '.') {
            ++m_pos;
            if (!identifier()) return std::nullopt;
        }
        return m_text.substr(start, m_pos - start);
    }

    enum class Field { none, null, number, string, hex };

    // One value, appended to `out` in LOAD DATA's form; none when it is not a literal this
    // carries exactly.
    Field field(std::string& out) {
        skip_space();
        char c = peek();
        if (c == '\'') return quoted(out) ? Field::string : Field::none;
        if (c == '0' && m_pos + 1 < m_text.size() && lower(m_text[m_pos + 1]) == 'x')
            return hex_digits(out, m_pos + 2, 0) ? Field::hex : Field::none;
        if ((c == 'x' || c == 'X') && m_pos + 1 < m_text.size() && m_text[m_pos + 1] == '\'')
            return hex_digits(out, m_pos + 2, '\'') ? Field::hex : Field::none;
        if (keyword("null")) {
            out += "\\N";
            return Field::null;
        }
        std::size_t start = m_pos;
        while (m_pos < m_text.size()) {
            char d = m_text[m_pos];
            if ((d >= '0' && d <= '9') || d == '.' || d == '-' || d == '+' || d == 'e' || d == 'E')
                ++m_pos;
            else
                break;
        }
        if (m_pos == start || (m_pos < m_text.size() && is_word(m_text[m_pos]))) return Field::none;
        out.append(m_text.substr(start, m_pos - start));
        return Field::number;
    }

private:
    // 0x1f2e (end 0) or X'1f2e' (end '\''), from `from`: the digits.
    bool hex_digits(std::string& out, std::size_t from, char end) {
        std::size_t at = from;
        while (at < m_text.size() && is_hex_digit(m_text[at])) ++at;
        if (end != 0) {
            if (at >= m_text.size() || m_text[at] != end) return false;
            out.append(m_text.substr(from, at - from));
            m_pos = at + 1;
            return true;
        }
        if (at < m_text.size() && is_word(m_text[at])) return false;
        out.append(m_text.substr(from, at - from));
        m_pos = at;
        return true;
    }

    // A raw tab, newline or NUL, which LOAD DATA would take for a field's or line's end (or
    // mangle), escaped; false for any other byte.
    static bool escape_raw(std::string& out, char c) {
        switch (c) {
            case '\t':
                out += "\\t";
                return true;
            case '\n':
                out += "\\n";
                return true;
            case '\0':
                out += "\\0";
                return true;
            default:
                return false;
        }
    }

    // A '...' string: SQL's escapes read, LOAD DATA's written.
    bool quoted(std::string& out) {
        ++m_pos;  // the opening quote
        const char* text = m_text.data();
        std::size_t size = m_text.size();
        while (m_pos < size) {
            std::size_t run = m_pos;
            while (m_pos < size && k_special[static_cast<unsigned char>(text[m_pos])] == 0) ++m_pos;
            out.append(text + run, m_pos - run);
            if (m_pos >= size) return false;
            char c = text[m_pos++];
            if (c == '\'') {
                if (m_pos < size && text[m_pos] == '\'') {  // '' is one quote
                    out += '\'';
                    ++m_pos;
                    continue;
                }
                return true;
            }
            if (escape_raw(out, c)) continue;
            // A backslash: SQL's escape, as LOAD DATA writes the same byte.
            if (m_pos >= size) return false;
            char e = text[m_pos++];
            switch (e) {
                case '0':
                case 'b':
                case 'n':
                case 'r':
                case 't':
                case 'Z':
                case '\\':
                    out += '\\';
                    out += e;
                    break;
                case '%':  // SQL keeps the backslash of \% and \_
                case '_':
                    out += "\\\\";
                    out += e;
                    break;
                default:  // \' \" and any other: the byte itself
                    if (!escape_raw(out, e)) out += e;
            }
        }
        return false;
    }

    std::string_view m_text;
    std::size_t m_pos = 0;
};

bool plain_charset(std::string_view name) {
    if (name.empty() || name.size() > 32) return false;
    for (char c : name)
        if (!is_word(c) || c == '$') return false;
    return true;
}

}  // namespace

std::optional<LoadDataForm> insert_as_load_data(std::string_view insert, std::string_view charset) {
    if (!plain_charset(charset)) return std::nullopt;
    Reader reader(insert);
    if (!reader.keyword("insert") || !reader.keyword("into")) return std::nullopt;
    std::optional<std::string_view> table = reader.table();
    if (!table) return std::nullopt;
    std::vector<std::string_view> columns;
    if (reader.eat('(')) {
        do {
            std::optional<std::string_view> column = reader.identifier();
            if (!column) return std::nullopt;
            columns.push_back(*column);
        } while (reader.eat(','));
        if (!reader.eat(')')) return std::nullopt;
    }
    if (!reader.keyword("values") && !reader.keyword("value")) return std::nullopt;

    LoadDataForm form;
    form.table = std::string(*table);
    form.rows.reserve(insert.size());
    std::size_t width = columns.size();
    std::vector<bool> hex(width), text(width);
    do {
        if (!reader.eat('(')) return std::nullopt;
        std::size_t count = 0;
        do {
            if (width != 0 && count >= width) return std::nullopt;
            if (count > 0) form.rows += '\t';
            std::size_t before = form.rows.size();
            Reader::Field field = reader.field(form.rows);
            if (field == Reader::Field::none) return std::nullopt;
            if (count >= hex.size()) {
                hex.resize(count + 1);
                text.resize(count + 1);
            }
            if (field == Reader::Field::hex) hex[count] = true;
            if (field == Reader::Field::string && form.rows.size() > before) text[count] = true;
            ++count;
        } while (reader.eat(','));
        if (!reader.eat(')')) return std::nullopt;
        if (width == 0) width = count;
        if (count != width) return std::nullopt;
        form.rows += '\n';
        ++form.row_count;
    } while (reader.eat(','));
    reader.eat(';');
    reader.skip_space();
    if (!reader.at_end()) return std::nullopt;

    // A column of 0x... bytes is read as its hex digits into a variable and unhexed; an
    // empty string there ('' is how an empty value of bytes is written) unhexes to ''. A
    // column that mixes bytes with text is not carried.
    std::string fields, set;
    for (std::size_t i = 0; i < width; ++i)
        if (hex[i] && text[i]) return std::nullopt;
    for (std::size_t i = 0; i < width; ++i) {
        if (i > 0) fields += ",";
        if (!hex[i]) {
            if (!columns.empty()) fields.append(columns[i]);
            continue;
        }
        if (columns.empty()) return std::nullopt;
        std::string variable = "@migrate_hex_" + std::to_string(i);
        fields += variable;
        set +=
            (set.empty() ? " SET " : ", ") + std::string(columns[i]) + " = UNHEX(" + variable + ")";
    }
    form.statement = "LOAD DATA LOCAL INFILE 'migrate-rows' INTO TABLE " + form.table +
                     " CHARACTER SET " + std::string(charset) +
                     " FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n'";
    if (!columns.empty()) form.statement += " (" + fields + ")" + set;
    return form;
}

}  // namespace migrate::steps::mysql
