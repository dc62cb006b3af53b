// Errors and warnings about a runbook, each tied to file:line:col, printed with the source
// line and a caret under the spot.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace migrate::runbook {

struct Mark {
    int line = 0;    // 1-based; 0 means "the whole file"
    int column = 0;  // 1-based
    bool operator==(const Mark&) const = default;
};

// The text of a runbook, kept so diagnostics can quote it.
class SourceFile {
public:
    SourceFile(std::string path, std::string text);
    const std::string& path() const { return m_path; }
    const std::string& text() const { return m_text; }
    // The line without its newline, or "" when out of range.
    std::string line(int number) const;
    // Line and column of a byte offset, and back.
    Mark mark_of_offset(std::size_t offset) const;
    std::size_t offset_of(const Mark& mark) const;

private:
    std::string m_path;
    std::string m_text;
    std::vector<std::size_t> m_line_starts;
};

enum class Severity { error, warning };

struct Diagnostic {
    Severity severity = Severity::error;
    Mark mark;
    std::string message;
};

class Diagnostics {
public:
    explicit Diagnostics(std::shared_ptr<const SourceFile> source) : m_source(std::move(source)) {}
    void error(Mark mark, std::string message);
    void warning(Mark mark, std::string message);
    bool has_errors() const;
    const std::vector<Diagnostic>& all() const { return m_items; }
    const SourceFile& source() const { return *m_source; }
    // In file order (stable: diagnostics at one spot keep the order they were found in).
    void sort_by_position();

    // "file:line:col: message", then the source line and a caret, each diagnostic in order.
    std::string format() const;
    nlohmann::ordered_json to_json() const;

private:
    std::shared_ptr<const SourceFile> m_source;
    std::vector<Diagnostic> m_items;
};

std::string format_diagnostic(const SourceFile& source, const Diagnostic& diagnostic);

}  // namespace migrate::runbook
