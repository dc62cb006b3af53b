// Diagnostics with file:line:col, the source line and a caret.
#include "migrate/runbook/diagnostics.h"

#include <algorithm>

#include "migrate/util/text.h"

namespace migrate::runbook {

SourceFile::SourceFile(std::string path, std::string text)
    : m_path(std::move(path)), m_text(std::move(text)) {
    m_line_starts.push_back(0);
    for (std::size_t i = 0; i < m_text.size(); ++i)
        if (m_text[i] == '\n') m_line_starts.push_back(i + 1);
}

std::string SourceFile::line(int number) const {
    if (number < 1 || static_cast<std::size_t>(number) > m_line_starts.size()) return "";
    std::size_t start = m_line_starts[number - 1];
    std::size_t end = m_text.find('\n', start);
    if (end == std::string::npos) end = m_text.size();
    if (end > start && m_text[end - 1] == '\r') --end;
    return m_text.substr(start, end - start);
}

std::size_t SourceFile::offset_of(const Mark& mark) const {
    if (mark.line < 1 || static_cast<std::size_t>(mark.line) > m_line_starts.size())
        return m_text.size();
    return std::min(m_text.size(), m_line_starts[mark.line - 1] +
                                       static_cast<std::size_t>(std::max(0, mark.column - 1)));
}

Mark SourceFile::mark_of_offset(std::size_t offset) const {
    auto it = std::upper_bound(m_line_starts.begin(), m_line_starts.end(), offset);
    int line = static_cast<int>(it - m_line_starts.begin());
    return Mark{line, static_cast<int>(offset - m_line_starts[line - 1]) + 1};
}

void Diagnostics::error(Mark mark, std::string message) {
    m_items.push_back({Severity::error, mark, std::move(message)});
}

void Diagnostics::warning(Mark mark, std::string message) {
    m_items.push_back({Severity::warning, mark, std::move(message)});
}

void Diagnostics::sort_by_position() {
    std::stable_sort(m_items.begin(), m_items.end(), [](const Diagnostic& a, const Diagnostic& b) {
        return std::make_pair(a.mark.line, a.mark.column) <
               std::make_pair(b.mark.line, b.mark.column);
    });
}

bool Diagnostics::has_errors() const {
    return std::any_of(m_items.begin(), m_items.end(),
                       [](const Diagnostic& d) { return d.severity == Severity::error; });
}

namespace {

// Printable form of a source line: control bytes shown as '?', so garbage input cannot
// drive the terminal. Tabs are kept so the caret line can reproduce them.
std::string printable(const std::string& line) {
    std::string out;
    for (unsigned char c : line) out += (c < 0x20 && c != '\t') || c == 0x7f ? '?' : char(c);
    return shorten(out, 300);
}

}  // namespace

std::string format_diagnostic(const SourceFile& source, const Diagnostic& diagnostic) {
    std::string out = source.path();
    if (diagnostic.mark.line > 0)
        out += ":" + std::to_string(diagnostic.mark.line) + ":" +
               std::to_string(diagnostic.mark.column);
    out += diagnostic.severity == Severity::warning ? ": warning: " : ": ";
    out += diagnostic.message + "\n";
    if (diagnostic.mark.line <= 0) return out;
    std::string line = printable(source.line(diagnostic.mark.line));
    out += "    " + line + "\n    ";
    int column = std::max(1, diagnostic.mark.column);
    for (int i = 0; i + 1 < column && i < static_cast<int>(line.size()); ++i) {
        auto byte = static_cast<unsigned char>(line[i]);
        if ((byte & 0xC0) == 0x80) continue;  // a UTF-8 continuation byte: same character
        out += line[i] == '\t' ? '\t' : ' ';
    }
    out += "^\n";
    return out;
}

std::string Diagnostics::format() const {
    std::string out;
    for (const Diagnostic& diagnostic : m_items) out += format_diagnostic(*m_source, diagnostic);
    return out;
}

nlohmann::ordered_json Diagnostics::to_json() const {
    nlohmann::ordered_json list = nlohmann::ordered_json::array();
    for (const Diagnostic& d : m_items)
        list.push_back({{"severity", d.severity == Severity::error ? "error" : "warning"},
                        {"file", m_source->path()},
                        {"line", d.mark.line},
                        {"column", d.mark.column},
                        {"message", d.message}});
    return list;
}

}  // namespace migrate::runbook
