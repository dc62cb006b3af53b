// Splits SQL text into statements at the `;` that end them, minding quotes, backticks and
// comments. Fed in chunks, so a dump of any size can stream through it.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace migrate::steps::sql {

struct SqlStatement {
    // From its first character of code to before its `;`, comments inside kept, comments
    // before it dropped; valid only during the call that hands it over.
    std::string_view text;
    std::size_t number = 0;  // 1-based, counting statements with code only
    std::size_t line = 0;    // 1-based line of its first character of code
};

// MySQL's rules: '...' and "..." with backslash escapes and doubled quotes, `...` with
// doubled backticks, `-- ` (a space or control character after the dashes) and `#` to the
// end of the line, /* ... */. Executable comments (/*! ... */, /*M! ... */) are code.
// A piece holding only whitespace and comments is no statement.
// The mysql client's DELIMITER command, as mysqldump writes it around triggers and
// routines (`DELIMITER ;;` ... `DELIMITER ;`): at the start of a statement, the word and
// the first word after it on its line, which becomes the delimiter (any string).
class SqlSplitter {
public:
    SqlSplitter() { set_delimiter(";"); }

    using Sink = std::function<void(const SqlStatement&)>;

    // Calls `sink` for every statement the chunk completes. Throws UsageError
    // for a DELIMITER command without a delimiter.
    void feed(std::string_view chunk, const Sink& sink);
    // The input ended: what follows the last `;` is a statement too. Returns "" or what is
    // wrong: a quote or comment left open, and the line it opened on.
    std::string finish(const Sink& sink);

private:
    enum class State { code, single_quote, double_quote, backtick, line_comment, block_comment };

    // Scans from m_pos; stops early when a decision needs characters not yet fed.
    void scan(bool at_end, const Sink& sink);
    // How many characters starting at m_pos a comment opener takes (0: none; -1: undecided).
    int comment_opener(bool at_end, bool& executable) const;
    // Does the delimiter start at m_pos? 1 yes, 0 no, -1 undecided until more is fed.
    int delimiter_at(bool at_end) const;
    // A DELIMITER command at m_pos: 1 taken (m_pos is past its line), 0 none, -1 undecided.
    int delimiter_command(bool at_end);
    void set_delimiter(std::string delimiter);
    void mark_code();
    void emit(std::size_t end, const Sink& sink);
    void compact();

    std::string m_buffer;
    std::size_t m_pos = 0;                    // next character to scan
    std::size_t m_first = std::string::npos;  // first code character of the current statement
    State m_state = State::code;
    bool m_escaped = false;     // a backslash inside a quote: the next character is literal
    bool m_executable = false;  // the open block comment is code (/*! ... */)
    std::size_t m_line = 1;     // the line at m_pos
    std::size_t m_first_line = 0;
    std::size_t m_open_line = 0;  // where the open quote or comment began
    std::size_t m_count = 0;
    std::string m_delimiter;
    // Characters that may change the state inside a statement's code: quotes, comment
    // openers, a newline, the delimiter's first; the others are skipped in one go.
    bool m_special[256] = {};
};

struct SqlStatementText {
    std::string text;
    std::size_t line = 0;
};

// The statements of a whole text; throws UsageError when a quote or comment is
// left open or a DELIMITER command has no delimiter.
std::vector<SqlStatementText> split_sql(std::string_view text);

// A statement's first line, shortened to `max_chars`, for messages.
std::string statement_summary(std::string_view statement, std::size_t max_chars = 80);

}  // namespace migrate::steps::sql
