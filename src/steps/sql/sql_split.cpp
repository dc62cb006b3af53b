// The SQL statement splitter: a small state machine over the text, kept across chunks.
#include "migrate/steps/sql/sql_split.h"

#include <algorithm>

#include "migrate/util/error.h"
#include "migrate/util/text.h"

namespace migrate::steps::sql {
namespace {

bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

std::string_view trim_right(std::string_view text) {
    while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
    return text;
}

}  // namespace

void SqlSplitter::feed(std::string_view chunk, const Sink& sink) {
    m_buffer.append(chunk);
    scan(false, sink);
    compact();
}

std::string SqlSplitter::finish(const Sink& sink) {
    scan(true, sink);
    std::string opened =
        " opened on line " + std::to_string(m_open_line) + " of the text is never closed";
    std::string problem;
    switch (m_state) {
        case State::single_quote:
            problem = "a ' quote" + opened;
            break;
        case State::double_quote:
            problem = "a \" quote" + opened;
            break;
        case State::backtick:
            problem = "a ` quote" + opened;
            break;
        case State::block_comment:
            problem = "a /* comment" + opened;
            break;
        case State::code:
        case State::line_comment:
            emit(m_buffer.size(), sink);
            break;
    }
    *this = SqlSplitter();
    return problem;
}

void SqlSplitter::scan(bool at_end, const Sink& sink) {
    const std::size_t size = m_buffer.size();
    while (m_pos < size) {
        const char c = m_buffer[m_pos];
        switch (m_state) {
            case State::code: {
                if (m_first != std::string::npos && !m_special[static_cast<unsigned char>(c)]) {
                    // Inside a statement's code (hex literals, numbers, names): nothing here
                    // changes the state.
                    ++m_pos;
                    while (m_pos < size && !m_special[static_cast<unsigned char>(m_buffer[m_pos])])
                        ++m_pos;
                    continue;
                }
                if (c == m_delimiter[0]) {
                    int found = delimiter_at(at_end);
                    if (found < 0) return;
                    if (found > 0) {
                        emit(m_pos, sink);
                        m_pos += m_delimiter.size();
                        continue;
                    }
                }
                if (m_first == std::string::npos && (c == 'd' || c == 'D')) {
                    int command = delimiter_command(at_end);
                    if (command < 0) return;
                    if (command > 0) continue;
                }
                if (c == '\n') ++m_line;
                if (is_space(c)) {
                    ++m_pos;
                    continue;
                }
                bool executable = false;
                int opener = comment_opener(at_end, executable);
                if (opener < 0) return;  // decided by characters still to come
                if (opener > 0) {
                    if (executable) mark_code();
                    m_open_line = m_line;
                    m_state = c == '/' ? State::block_comment : State::line_comment;
                    m_pos += static_cast<std::size_t>(opener);
                    continue;
                }
                mark_code();
                if (c == '\'' || c == '"' || c == '`') {
                    m_open_line = m_line;
                    m_state = c == '\''  ? State::single_quote
                              : c == '"' ? State::double_quote
                                         : State::backtick;
                }
                ++m_pos;
                continue;
            }
            case State::single_quote:
            case State::double_quote:
            case State::backtick: {
                const char close = m_state == State::single_quote   ? '\''
                                   : m_state == State::double_quote ? '"'
                                                                    : '`';
                if (m_escaped) {
                    m_escaped = false;
                } else if (c == close) {
                    // A doubled quote closes and reopens at once: the same split either way.
                    m_state = State::code;
                } else if (c == '\\' && m_state != State::backtick) {
                    m_escaped = true;
                }
                if (c == '\n') ++m_line;
                ++m_pos;
                // Most of a dump's bytes are inside quotes: skip the plain ones in one go.
                if (m_state != State::code && !m_escaped)
                    while (m_pos < size) {
                        char d = m_buffer[m_pos];
                        if (d == close || d == '\\' || d == '\n') break;
                        ++m_pos;
                    }
                continue;
            }
            case State::line_comment:
                if (c == '\n') {
                    ++m_line;
                    m_state = State::code;
                }
                ++m_pos;
                continue;
            case State::block_comment:
                if (c == '\n') ++m_line;
                if (c == '*') {
                    if (m_pos + 1 >= size && !at_end) return;
                    if (m_pos + 1 < size && m_buffer[m_pos + 1] == '/') {
                        m_state = State::code;
                        m_pos += 2;
                        continue;
                    }
                }
                ++m_pos;
                continue;
        }
    }
}

int SqlSplitter::comment_opener(bool at_end, bool& executable) const {
    // The character i places ahead, or -1 when it has not been fed yet.
    auto ahead = [&](std::size_t i) -> int {
        return m_pos + i < m_buffer.size() ? static_cast<unsigned char>(m_buffer[m_pos + i]) : -1;
    };
    const char c = m_buffer[m_pos];
    if (c == '#') return 1;
    if (c != '-' && c != '/') return 0;
    if (ahead(1) < 0) return at_end ? 0 : -1;
    if (c == '-') {
        if (ahead(1) != '-') return 0;
        // "--" starts a comment only before a space or control character (or the end).
        if (ahead(2) < 0) return at_end ? 2 : -1;
        return ahead(2) <= ' ' ? 2 : 0;
    }
    if (ahead(1) != '*') return 0;
    if (ahead(2) < 0 && !at_end) return -1;
    if (ahead(2) == 'M' && ahead(3) < 0 && !at_end) return -1;
    executable = ahead(2) == '!' || (ahead(2) == 'M' && ahead(3) == '!');
    return 2;
}

int SqlSplitter::delimiter_at(bool at_end) const {
    if (m_delimiter.size() == 1) return 1;
    std::size_t available = m_buffer.size() - m_pos;
    std::size_t compared = std::min(available, m_delimiter.size());
    if (m_buffer.compare(m_pos, compared, m_delimiter, 0, compared) != 0) return 0;
    if (compared < m_delimiter.size()) return at_end ? 0 : -1;
    return 1;
}

int SqlSplitter::delimiter_command(bool at_end) {
    static constexpr std::string_view k_word = "delimiter";
    std::size_t available = m_buffer.size() - m_pos;
    for (std::size_t i = 0; i < k_word.size(); ++i) {
        if (i >= available) return at_end ? 0 : -1;
        if ((m_buffer[m_pos + i] | 0x20) != k_word[i]) return 0;
    }
    if (available == k_word.size()) return at_end ? 0 : -1;
    char after = m_buffer[m_pos + k_word.size()];
    if (after != ' ' && after != '\t' && after != '\n' && after != '\r') return 0;
    std::size_t end = m_buffer.find('\n', m_pos);
    if (end == std::string::npos && !at_end) return -1;  // the command is the whole line
    if (end == std::string::npos) end = m_buffer.size();
    std::string_view rest =
        std::string_view(m_buffer).substr(m_pos + k_word.size(), end - m_pos - k_word.size());
    std::size_t start = 0;
    while (start < rest.size() && is_space(rest[start])) ++start;
    std::size_t stop = start;
    while (stop < rest.size() && !is_space(rest[stop])) ++stop;
    if (stop == start)
        throw UsageError("line " + std::to_string(m_line) +
                         ": DELIMITER needs the new delimiter after it (as in DELIMITER ;;)");
    set_delimiter(std::string(rest.substr(start, stop - start)));
    m_pos = end < m_buffer.size() ? end + 1 : end;
    if (end < m_buffer.size()) ++m_line;
    return 1;
}

void SqlSplitter::set_delimiter(std::string delimiter) {
    m_delimiter = std::move(delimiter);
    for (bool& special : m_special) special = false;
    for (unsigned char c : std::string_view("'\"`-/#\n")) m_special[c] = true;
    m_special[static_cast<unsigned char>(m_delimiter[0])] = true;
}

void SqlSplitter::mark_code() {
    if (m_first != std::string::npos) return;
    m_first = m_pos;
    m_first_line = m_line;
}

void SqlSplitter::emit(std::size_t end, const Sink& sink) {
    if (m_first == std::string::npos) return;
    std::string_view text = trim_right(std::string_view(m_buffer).substr(m_first, end - m_first));
    m_first = std::string::npos;
    sink(SqlStatement{text, ++m_count, m_first_line});
}

void SqlSplitter::compact() {
    // Statements already handed over, and whitespace or comments before the next, go.
    std::size_t drop = m_first == std::string::npos ? m_pos : m_first;
    if (drop == 0) return;
    m_buffer.erase(0, drop);
    m_pos -= drop;
    if (m_first != std::string::npos) m_first -= drop;
}

std::vector<SqlStatementText> split_sql(std::string_view text) {
    std::vector<SqlStatementText> statements;
    auto keep = [&](const SqlStatement& statement) {
        statements.push_back(SqlStatementText{std::string(statement.text), statement.line});
    };
    SqlSplitter splitter;
    splitter.feed(text, keep);
    std::string problem = splitter.finish(keep);
    if (!problem.empty()) throw UsageError(problem);
    return statements;
}

std::string statement_summary(std::string_view statement, std::size_t max_chars) {
    std::size_t newline = statement.find('\n');
    std::string_view line = trim_right(statement.substr(0, newline));
    bool cut = newline != std::string_view::npos;
    if (utf8_length(line) > max_chars) return shorten(line, max_chars, " ...");
    return std::string(line) + (cut ? " ..." : "");
}

}  // namespace migrate::steps::sql
