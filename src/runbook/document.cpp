// Parsing YAML (yaml-cpp) and JSON (nlohmann_json) into one positioned tree.
#include "migrate/runbook/document.h"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>
#include <unordered_map>

#include <cstring>

#include "migrate/util/error.h"
#include "migrate/util/text.h"

namespace migrate::runbook {

Node::Node() = default;
Node::~Node() = default;
Node::Node(const Node&) = default;
Node::Node(Node&&) noexcept = default;
Node& Node::operator=(const Node&) = default;
Node& Node::operator=(Node&&) noexcept = default;

const Node* Node::find(std::string_view key) const {
    for (const auto& [k, v] : entries)
        if (k.value == key) return &v;
    return nullptr;
}

std::string Node::describe() const {
    switch (type) {
        case Type::null:
            return "nothing";
        case Type::scalar:
            return "a value ('" + shorten(value, 40) + "')";
        case Type::sequence:
            return "a list";
        case Type::mapping:
            return "a mapping";
    }
    return "?";
}

std::shared_ptr<SourceFile> read_source(const std::string& path) {
    std::error_code error;
    if (std::filesystem::is_directory(path, error))
        throw UsageError(path + ": is a directory, not a runbook file");
    std::ifstream in(path, std::ios::binary);
    if (!in) throw UsageError(path + ": cannot open the runbook: " + std::strerror(errno));
    in.seekg(0, std::ios::end);
    auto size = static_cast<std::size_t>(in.tellg());
    if (size > k_max_runbook_bytes)
        throw UsageError(path + ": the runbook is " + std::to_string(size >> 20) +
                         " MiB; runbooks are limited to 16 MiB");
    in.seekg(0);
    std::string text(size, '\0');
    in.read(text.data(), static_cast<std::streamsize>(size));
    return std::make_shared<SourceFile>(path, std::move(text));
}

namespace {

// Rejects what is not text before any parser sees it: NUL bytes and invalid UTF-8.
bool check_text(const SourceFile& source, Diagnostics& diagnostics) {
    const std::string& text = source.text();
    std::size_t bad = std::min(invalid_utf8_at(text), text.find('\0'));
    if (bad == std::string::npos) return true;
    diagnostics.error(source.mark_of_offset(bad),
                      text[bad] == '\0' ? "the runbook contains a NUL byte; is this a binary file?"
                                        : "the runbook is not valid UTF-8 text");
    return false;
}

// YAML forbids tabs in indentation, and yaml-cpp's message for it is obscure. Asked only
// after yaml-cpp failed, so a tab inside a block scalar (a heredoc) is never blamed.
std::vector<Mark> tabs_in_indentation(const SourceFile& source, int up_to_line) {
    std::vector<Mark> tabs;
    for (int number = 1; number <= up_to_line; ++number) {
        std::string line = source.line(number);
        std::size_t first = line.find_first_not_of(' ');
        if (first != std::string::npos && line[first] == '\t')
            tabs.push_back(Mark{number, static_cast<int>(first) + 1});
    }
    return tabs;
}

// Flow collections ("[[[[...") nested deeper than we accept, found before any parser
// recurses into them. Quotes are skipped roughly; the parsers check the rest.
std::optional<Mark> too_deep(const SourceFile& source) {
    const std::string& text = source.text();
    int depth = 0;
    char quote = 0;
    for (std::size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        if (quote) {
            if (c == '\\' && quote == '"')
                ++i;
            else if (c == quote)
                quote = 0;
        } else if (c == '"' || c == '\'') {
            quote = c;
        } else if (c == '#' && (i == 0 || text[i - 1] == ' ' || text[i - 1] == '\n')) {
            while (i < text.size() && text[i] != '\n') ++i;
        } else if (c == '[' || c == '{') {
            if (++depth > k_max_nesting) return source.mark_of_offset(i);
        } else if (c == ']' || c == '}') {
            depth = std::max(0, depth - 1);
        }
    }
    return std::nullopt;
}

// The keys of a mapping being built, for duplicates: a lookup per key in constant time (a
// mapping can have 100,000 keys).
class FirstKeys {
public:
    const Node* find(const Node& mapping, const std::string& key) const {
        auto it = m_index.find(key);
        return it == m_index.end() ? nullptr : &mapping.entries[it->second].second;
    }
    void add(const std::string& key, std::size_t entry) { m_index.emplace(key, entry); }

private:
    std::unordered_map<std::string, std::size_t> m_index;
};

// The positioned tree, built from yaml-cpp's events in one pass. (YAML::Load would build
// yaml-cpp's own node graph first, and a second pass would count the documents: on 10,000
// steps that was four times the parse.) Stops taking nodes beyond k_max_nodes (aliases
// expanded: an alias bomb) and k_max_nesting; the problems are kept until the caller knows
// the text holds one document.
class TreeBuilder : public YAML::EventHandler {
public:
    int documents = 0;
    Mark second;  // where a second document starts
    std::vector<std::pair<Mark, std::string>> problems;

    Node take_root() { return std::move(m_root); }

    void OnDocumentStart(const YAML::Mark& mark) override {
        if (++documents == 2) second = to_mark(mark);
    }
    void OnDocumentEnd() override {}
    void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override {
        if (skipping()) return;
        Node node;
        node.mark = to_mark(mark);
        add(std::move(node), anchor, 1);
    }
    void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override {
        if (skipping()) return;
        if (anchor < m_anchors.size() && m_open_anchors.count(anchor)) {
            problems.emplace_back(to_mark(mark),
                                  "an alias inside the node it names (it would "
                                  "contain itself)");
            m_full = true;  // nothing after it is worth reading
            return;
        }
        if (anchor >= m_anchors.size() || !m_anchors[anchor] || too_deep(to_mark(mark))) {
            Node node;
            node.mark = to_mark(mark);
            return add(std::move(node), 0, 1);
        }
        const auto& [node, count] = *m_anchors[anchor];
        if (!counted(count, to_mark(mark))) return;
        add(Node(node), 0, count, false);
    }
    void OnScalar(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                  const std::string& value) override {
        if (skipping()) return;
        Node node;
        node.mark = to_mark(mark);
        if (too_deep(node.mark)) return add(std::move(node), anchor, 1);
        node.type = Node::Type::scalar;
        node.value = value;
        node.quoted = tag == "!";
        add(std::move(node), anchor, 1);
    }
    void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                         YAML::EmitterStyle::value) override {
        open(mark, anchor, Node::Type::sequence);
    }
    void OnSequenceEnd() override { close(); }
    void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                    YAML::EmitterStyle::value) override {
        open(mark, anchor, Node::Type::mapping);
    }
    void OnMapEnd() override { close(); }

private:
    struct Frame {
        Node node;
        YAML::anchor_t anchor = 0;
        std::size_t count = 1;  // nodes in it so far, itself included
        std::optional<Node> key;
        bool skip_value = false;  // after a key that is not a plain name
        FirstKeys first_keys;
    };

    static Mark to_mark(const YAML::Mark& mark) { return Mark{mark.line + 1, mark.column + 1}; }

    // Nodes beyond the limits, and a second document, are read but not kept.
    bool skipping() const { return documents > 1 || m_ignored > 0 || m_full; }

    bool counted(std::size_t count, Mark mark) {
        if (m_full) return false;
        m_count += count;
        if (m_count <= k_max_nodes) return true;
        problems.emplace_back(mark,
                              "the runbook expands to more than 1,000,000 nodes (an alias bomb?)");
        m_full = true;
        return false;
    }

    // A node deeper than k_max_nesting stands as nothing (reported once).
    bool too_deep(Mark mark) {
        if (m_stack.size() <= static_cast<std::size_t>(k_max_nesting)) return false;
        if (!m_reported_depth) problems.emplace_back(mark, "nesting deeper than 64 levels");
        m_reported_depth = true;
        return true;
    }

    void open(const YAML::Mark& mark, YAML::anchor_t anchor, Node::Type type) {
        if (!skipping() && too_deep(to_mark(mark))) {
            m_too_deep = to_mark(mark);
            m_in_too_deep = true;
        }
        // The value of a duplicate key, or of a key that is no name, is not read at all.
        if (!skipping() && !m_in_too_deep && !m_stack.empty() && m_stack.back().skip_value)
            m_in_skipped_value = true;
        if (skipping() || m_in_too_deep || m_in_skipped_value) {
            ++m_ignored;
            return;
        }
        Frame frame;
        frame.node.type = type;
        frame.node.mark = to_mark(mark);
        frame.anchor = anchor;
        if (anchor != 0) {
            m_open_anchors.insert(anchor);
            if (m_anchors.size() <= anchor) m_anchors.resize(anchor + 1);
        }
        m_stack.push_back(std::move(frame));
    }

    void close() {
        if (m_ignored > 0) {
            if (--m_ignored > 0) return;
            if (m_in_skipped_value) {
                m_in_skipped_value = false;
                m_stack.back().skip_value = false;
            } else if (m_in_too_deep) {
                m_in_too_deep = false;
                if (!skipping()) {
                    Node node;
                    node.mark = m_too_deep;
                    add(std::move(node), 0, 1);
                }
            }
            return;
        }
        if (m_stack.empty()) return;
        Frame frame = std::move(m_stack.back());
        m_stack.pop_back();
        m_open_anchors.erase(frame.anchor);
        // Past the node limit the open collections still close, with what they hold.
        if (documents <= 1) add(std::move(frame.node), frame.anchor, frame.count, false);
    }

    // `count`: the nodes `node` holds, itself included; `new_nodes`: whether they still
    // need counting against the limit (an alias's copy is counted before it is made).
    void add(Node node, YAML::anchor_t anchor, std::size_t count, bool new_nodes = true) {
        if (new_nodes && !counted(count, node.mark)) return;
        if (anchor != 0) {
            if (m_anchors.size() <= anchor) m_anchors.resize(anchor + 1);
            m_anchors[anchor] = std::make_pair(node, count);
        }
        if (m_stack.empty()) {
            m_root = std::move(node);
            return;
        }
        Frame& parent = m_stack.back();
        parent.count += count;
        if (parent.node.is_sequence()) {
            parent.node.items.push_back(std::move(node));
        } else if (!parent.key && !parent.skip_value) {
            if (const Node* previous =
                    node.is_scalar() ? parent.first_keys.find(parent.node, node.value) : nullptr) {
                problems.emplace_back(node.mark, "duplicate key '" + node.value +
                                                     "' (first at line " +
                                                     std::to_string(previous->mark.line) + ")");
                parent.skip_value = true;
            } else if (node.is_scalar()) {
                parent.key = std::move(node);
            } else {
                problems.emplace_back(node.mark,
                                      "a key must be a plain name, not " + node.describe());
                parent.skip_value = true;
            }
        } else if (parent.skip_value) {
            parent.skip_value = false;
        } else {
            Node key = std::move(*parent.key);
            parent.key.reset();
            // An empty value ("key:") has no position of its own; point at the key.
            if (node.is_null() && node.mark.line <= 1 && key.mark.line > 1) node.mark = key.mark;
            parent.first_keys.add(key.value, parent.node.entries.size());
            parent.node.entries.emplace_back(std::move(key), std::move(node));
        }
    }

    Node m_root;
    std::vector<Frame> m_stack;
    std::vector<std::optional<std::pair<Node, std::size_t>>> m_anchors;  // by anchor number
    std::size_t m_count = 0;
    bool m_full = false;
    std::size_t m_ignored = 0;  // collections open but not kept
    bool m_in_too_deep = false;
    bool m_in_skipped_value = false;
    std::set<YAML::anchor_t> m_open_anchors;  // of the collections being read
    Mark m_too_deep;
    bool m_reported_depth = false;
};

// A line that reads like a YAML key: indentation, an optional "- ", a name, ':' and a space
// or the end of the line.
bool looks_like_key(std::string_view line) {
    std::size_t at = 0;
    while (at < line.size() &&
           std::string_view(" \t\r\n\v\f").find(line[at]) != std::string_view::npos)
        ++at;
    if (line.compare(at, 2, "- ") == 0) at += 2;
    std::size_t name = scan_name(line.substr(at));
    if (name == 0) return false;
    at += name;
    return at < line.size() && line[at] == ':' && (at + 1 == line.size() || line[at + 1] == ' ');
}

// yaml-cpp accepts a quoted string left open at the end of the file, and a quote left open
// in the middle silently swallows the lines up to the next quote (steps vanish). Both are
// found from the source text at each quoted scalar's mark.
void check_quoted_scalars(const SourceFile& source, const Node& node, Diagnostics& diagnostics) {
    for (const Node& item : node.items) check_quoted_scalars(source, item, diagnostics);
    for (const auto& [key, value] : node.entries) {
        check_quoted_scalars(source, key, diagnostics);
        check_quoted_scalars(source, value, diagnostics);
    }
    if (!node.is_scalar() || !node.quoted) return;
    const std::string& text = source.text();
    std::size_t start = source.offset_of(node.mark);
    if (start >= text.size() || (text[start] != '"' && text[start] != '\'')) return;
    char quote = text[start];
    std::size_t pos = start + 1;
    for (; pos < text.size(); ++pos) {
        if (quote == '"' && text[pos] == '\\')
            ++pos;
        else if (text[pos] == quote && quote == '\'' && pos + 1 < text.size() &&
                 text[pos + 1] == '\'')
            ++pos;
        else if (text[pos] == quote)
            break;
    }
    if (pos >= text.size()) {
        diagnostics.error(node.mark,
                          "YAML syntax: the quoted string that starts here is never closed");
        return;
    }
    Mark end = source.mark_of_offset(pos);
    for (int line = node.mark.line + 1; line <= end.line; ++line)
        if (looks_like_key(source.line(line))) {
            diagnostics.error(
                node.mark,
                "YAML syntax: the quoted string that starts here is never closed on its line; it "
                "runs to line " +
                    std::to_string(end.line) +
                    " and swallows what looks like YAML "
                    "(line " +
                    std::to_string(line) + ")");
            return;
        }
}

Node parse_yaml(const SourceFile& source, Diagnostics& diagnostics) {
    if (auto deep = too_deep(source)) {
        diagnostics.error(*deep, "nesting deeper than 64 levels");
        return {};
    }
    try {
        std::istringstream stream(source.text());
        YAML::Parser parser(stream);
        TreeBuilder builder;
        parser.HandleNextDocument(builder);
        Node root = builder.take_root();
        if (root.is_null()) {
            std::size_t start = source.text().find_first_not_of(" \t\r\n");
            diagnostics.error(
                source.mark_of_offset(start),
                "YAML syntax: no runbook could be read here (a mapping with 'version', 'name' and "
                "'phases' was expected)");
            return {};
        }
        if (parser.HandleNextDocument(builder) && builder.documents >= 2) {
            diagnostics.error(builder.second,
                              "a runbook is one YAML document, but more follows here (a stray "
                              "character, or a '---' separator?)");
            return {};
        }
        for (auto& [mark, message] : builder.problems) diagnostics.error(mark, std::move(message));
        check_quoted_scalars(source, root, diagnostics);
        return root;
    } catch (const YAML::Exception& e) {
        std::vector<Mark> tabs = tabs_in_indentation(source, e.mark.line + 2);
        for (const Mark& tab : tabs)
            diagnostics.error(tab, "tab in indentation; YAML indents with spaces only");
        if (tabs.empty())
            diagnostics.error(Mark{e.mark.line + 1, e.mark.column + 1}, "YAML syntax: " + e.msg);
    } catch (const std::exception& e) {
        diagnostics.error(Mark{1, 1}, std::string("YAML could not be read: ") + e.what());
    }
    return {};
}

// nlohmann_json checks the syntax (without building a tree: its SAX parser keeps its own
// stack, so deep nesting cannot overflow ours). It has no source positions, so a second,
// trusting pass over the now-valid text builds the positioned tree.
struct SyntaxOnly : nlohmann::json::json_sax_t {
    std::size_t error_offset = 0;
    std::string error_message;
    bool null() override { return true; }
    bool boolean(bool) override { return true; }
    bool number_integer(number_integer_t) override { return true; }
    bool number_unsigned(number_unsigned_t) override { return true; }
    bool number_float(number_float_t, const string_t&) override { return true; }
    bool string(string_t&) override { return true; }
    bool binary(binary_t&) override { return true; }
    bool start_object(std::size_t) override { return true; }
    bool key(string_t&) override { return true; }
    bool end_object() override { return true; }
    bool start_array(std::size_t) override { return true; }
    bool end_array() override { return true; }
    bool parse_error(std::size_t position, const std::string&,
                     const nlohmann::json::exception& e) override {
        error_offset = position;
        error_message = e.what();
        return false;
    }
};

// nlohmann quotes the token it stopped in ("...; last read: '<token>'; expected ..."): the
// token can be megabytes long, and it ends at the byte found wrong, which can be inside a
// UTF-8 character. Keep its last whole characters.
std::string short_last_read(const std::string& message) {
    constexpr std::string_view k_open = "; last read: '";
    std::size_t open = message.find(k_open);
    if (open == std::string::npos) return message;
    std::size_t start = open + k_open.size();
    std::size_t close = message.rfind("'; expected ");
    if (close == std::string::npos || close < start) close = message.rfind('\'');
    if (close == std::string::npos || close < start) return message;
    std::string_view token = std::string_view(message).substr(start, close - start);
    token = utf8_prefix(token, invalid_utf8_at(token));  // up to a character cut short
    std::string_view tail = utf8_suffix(token, 60);
    return message.substr(0, start) + (tail.size() < token.size() ? "..." : "") +
           std::string(tail) + message.substr(close);
}

class JsonPositions {
public:
    JsonPositions(const SourceFile& source, Diagnostics& diagnostics)
        : m_source(source), m_text(source.text()), m_diagnostics(diagnostics) {
        if (m_text.compare(0, 3, "\xEF\xBB\xBF") == 0) m_pos = 3;  // a byte order mark
    }

    Node value(int depth) {
        skip_space();
        Node node;
        node.mark = m_source.mark_of_offset(m_pos);
        if (depth > k_max_nesting) {
            if (!m_reported_depth) m_diagnostics.error(node.mark, "nesting deeper than 64 levels");
            m_reported_depth = true;
            m_pos = m_text.size();
            return node;
        }
        char c = m_pos < m_text.size() ? m_text[m_pos] : '\0';
        if (c == '{') return object(node, depth);
        if (c == '[') {
            node.type = Node::Type::sequence;
            ++m_pos;
            while (skip_space(), m_pos < m_text.size() && m_text[m_pos] != ']') {
                node.items.push_back(value(depth + 1));
                skip_space();
                if (m_pos < m_text.size() && m_text[m_pos] == ',') ++m_pos;
            }
            ++m_pos;
            return node;
        }
        if (c == '"') {
            node.type = Node::Type::scalar;
            node.quoted = true;
            node.value = string();
            return node;
        }
        std::size_t start = m_pos;
        while (m_pos < m_text.size() &&
               std::string_view(",]} \t\r\n").find(m_text[m_pos]) == std::string_view::npos)
            ++m_pos;
        node.value = m_text.substr(start, m_pos - start);
        node.type = node.value == "null" ? Node::Type::null : Node::Type::scalar;
        return node;
    }

private:
    Node object(Node& node, int depth) {
        node.type = Node::Type::mapping;
        FirstKeys first_keys;
        ++m_pos;
        while (skip_space(), m_pos < m_text.size() && m_text[m_pos] != '}') {
            Node key;
            key.type = Node::Type::scalar;
            key.mark = m_source.mark_of_offset(m_pos);
            key.value = string();
            skip_space();
            ++m_pos;  // ':'
            Node item = value(depth + 1);
            if (const Node* previous = first_keys.find(node, key.value)) {
                m_diagnostics.error(key.mark, "duplicate key '" + key.value + "' (first at line " +
                                                  std::to_string(previous->mark.line) + ")");
            } else {
                first_keys.add(key.value, node.entries.size());
                node.entries.emplace_back(std::move(key), std::move(item));
            }
            skip_space();
            if (m_pos < m_text.size() && m_text[m_pos] == ',') ++m_pos;
        }
        ++m_pos;
        return node;
    }

    std::string string() {
        std::size_t start = m_pos;
        ++m_pos;
        while (m_pos < m_text.size() && m_text[m_pos] != '"')
            m_pos += m_text[m_pos] == '\\' ? 2 : 1;
        ++m_pos;
        // The raw token is valid JSON here, so nlohmann decodes the escapes.
        return nlohmann::json::parse(m_text.substr(start, m_pos - start)).get<std::string>();
    }

    void skip_space() {
        while (m_pos < m_text.size() &&
               std::string_view(" \t\r\n").find(m_text[m_pos]) != std::string_view::npos)
            ++m_pos;
    }

    const SourceFile& m_source;
    const std::string& m_text;
    Diagnostics& m_diagnostics;
    std::size_t m_pos = 0;
    bool m_reported_depth = false;
};

Node parse_json(const SourceFile& source, Diagnostics& diagnostics) {
    SyntaxOnly checker;
    bool ok = nlohmann::json::sax_parse(source.text(), &checker);
    if (!ok) {
        // nlohmann reports where the offending token ends; point at where it starts.
        const std::string& text = source.text();
        std::size_t offset = std::min(checker.error_offset, text.size());
        while (offset > 0 &&
               std::string_view(" \t\r\n").find(text[offset - 1]) != std::string_view::npos)
            --offset;
        if (offset > 0) {
            --offset;  // the token's last character
            if (text[offset] == '"') {
                while (offset > 0 &&
                       !(text[offset - 1] == '"' && (offset < 2 || text[offset - 2] != '\\')))
                    --offset;
                if (offset > 0) --offset;
            } else {
                while (offset > 0 && std::isalnum(static_cast<unsigned char>(text[offset - 1])) &&
                       std::isalnum(static_cast<unsigned char>(text[offset])))
                    --offset;
            }
        }
        std::string message = checker.error_message;
        // nlohmann prefixes "[json.exception.parse_error.101] parse error at line 3, column 5: ".
        if (std::size_t colon = message.find(": "); colon != std::string::npos)
            message = message.substr(colon + 2);
        diagnostics.error(source.mark_of_offset(offset),
                          "JSON syntax: " + short_last_read(message));
        return {};
    }
    return JsonPositions(source, diagnostics).value(0);
}

// By the name only: YAML reads flow style ("{ version: 1, ... }") too, and must.
bool looks_like_json(const SourceFile& source) {
    const std::string& path = source.path();
    return path.size() >= 5 && path.compare(path.size() - 5, 5, ".json") == 0;
}

}  // namespace

Node parse_document(const SourceFile& source, Diagnostics& diagnostics) {
    if (!check_text(source, diagnostics)) return {};
    if (source.text().find_first_not_of(" \t\r\n") == std::string::npos) {
        diagnostics.error(Mark{1, 1},
                          "the runbook is empty; it needs at least 'version: 1', "
                          "'name' and 'phases'");
        return {};
    }
    return looks_like_json(source) ? parse_json(source, diagnostics)
                                   : parse_yaml(source, diagnostics);
}

}  // namespace migrate::runbook
