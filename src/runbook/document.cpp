// Parsing YAML (yaml-cpp) and JSON (nlohmann_json) into one positioned tree.
#include "migrate/runbook/document.h"

#include <yaml-cpp/yaml.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "migrate/util/error.h"

namespace migrate::runbook {

const Node* Node::find(std::string_view key) const {
    for (const auto& [k, v] : entries)
        if (k.value == key) return &v;
    return nullptr;
}

std::string Node::describe() const {
    switch (type) {
        case Type::null: return "nothing";
        case Type::scalar: return "a value ('" + value.substr(0, 40) + "')";
        case Type::sequence: return "a list";
        case Type::mapping: return "a mapping";
    }
    return "?";
}

std::shared_ptr<SourceFile> read_source(const std::string& path) {
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
    for (std::size_t i = 0; i < text.size();) {
        auto c = static_cast<unsigned char>(text[i]);
        std::size_t length = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
        bool valid = length > 0 && i + length <= text.size() && c != 0;
        for (std::size_t k = 1; valid && k < length; ++k)
            valid = (static_cast<unsigned char>(text[i + k]) & 0xC0) == 0x80;
        if (!valid) {
            diagnostics.error(source.mark_of_offset(i),
                              c == 0 ? "the runbook contains a NUL byte; is this a binary file?"
                                     : "the runbook is not valid UTF-8 text");
            return false;
        }
        i += length;
    }
    return true;
}

// YAML forbids tabs in indentation; yaml-cpp's own message for it is obscure.
bool check_yaml_indentation(const SourceFile& source, Diagnostics& diagnostics) {
    bool ok = true;
    const std::string& text = source.text();
    bool at_line_start = true;
    for (std::size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        if (c == '\n') {
            at_line_start = true;
        } else if (at_line_start && c == '\t') {
            diagnostics.error(source.mark_of_offset(i),
                              "tab in indentation; YAML indents with spaces only");
            ok = false;
            at_line_start = false;
        } else if (c != ' ') {
            at_line_start = false;
        }
    }
    return ok;
}

class YamlConverter {
public:
    YamlConverter(const SourceFile& source, Diagnostics& diagnostics)
        : m_source(source), m_diagnostics(diagnostics) {}

    Node convert(const YAML::Node& yaml, int depth) {
        Node node;
        node.mark = Mark{yaml.Mark().line + 1, yaml.Mark().column + 1};
        if (++m_count > k_max_nodes) {
            if (m_count == k_max_nodes + 1)
                m_diagnostics.error(node.mark, "the runbook expands to more than 1,000,000 nodes "
                                               "(an alias bomb?)");
            return node;
        }
        if (depth > k_max_nesting) {
            if (!m_reported_depth)
                m_diagnostics.error(node.mark, "nesting deeper than 64 levels");
            m_reported_depth = true;
            return node;
        }
        switch (yaml.Type()) {
            case YAML::NodeType::Undefined:
            case YAML::NodeType::Null: node.type = Node::Type::null; break;
            case YAML::NodeType::Scalar:
                node.type = Node::Type::scalar;
                node.value = yaml.Scalar();
                node.quoted = yaml.Tag() == "!";
                break;
            case YAML::NodeType::Sequence:
                node.type = Node::Type::sequence;
                for (const auto& item : yaml) node.items.push_back(convert(item, depth + 1));
                break;
            case YAML::NodeType::Map: convert_map(yaml, node, depth); break;
        }
        return node;
    }

private:
    void convert_map(const YAML::Node& yaml, Node& node, int depth) {
        node.type = Node::Type::mapping;
        for (const auto& pair : yaml) {
            Node key = convert(pair.first, depth + 1);
            if (!key.is_scalar()) {
                m_diagnostics.error(key.mark, "a key must be a plain name, not " + key.describe());
                continue;
            }
            if (const Node* previous = node.find(key.value)) {
                m_diagnostics.error(key.mark, "duplicate key '" + key.value + "' (first at line " +
                                                  std::to_string(previous->mark.line) + ")");
                continue;
            }
            Node value = convert(pair.second, depth + 1);
            // An empty value ("key:") has no position of its own; point at the key.
            if (value.is_null() && value.mark.line <= 1 && key.mark.line > 1) value.mark = key.mark;
            node.entries.emplace_back(std::move(key), std::move(value));
        }
    }

    const SourceFile& m_source;
    Diagnostics& m_diagnostics;
    std::size_t m_count = 0;
    bool m_reported_depth = false;
};

Node parse_yaml(const SourceFile& source, Diagnostics& diagnostics) {
    if (!check_yaml_indentation(source, diagnostics)) return {};
    try {
        std::vector<YAML::Node> documents = YAML::LoadAll(source.text());
        if (documents.empty()) return {};
        if (documents.size() > 1)
            diagnostics.error(Mark{documents[1].Mark().line + 1, documents[1].Mark().column + 1},
                              "a runbook is one YAML document; found a second one here");
        return YamlConverter(source, diagnostics).convert(documents[0], 0);
    } catch (const YAML::Exception& e) {
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

class JsonPositions {
public:
    JsonPositions(const SourceFile& source, Diagnostics& diagnostics)
        : m_source(source), m_text(source.text()), m_diagnostics(diagnostics) {}

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
        while (m_pos < m_text.size() && std::string_view(",]} \t\r\n").find(m_text[m_pos]) ==
                                            std::string_view::npos)
            ++m_pos;
        node.value = m_text.substr(start, m_pos - start);
        node.type = node.value == "null" ? Node::Type::null : Node::Type::scalar;
        return node;
    }

private:
    Node object(Node& node, int depth) {
        node.type = Node::Type::mapping;
        ++m_pos;
        while (skip_space(), m_pos < m_text.size() && m_text[m_pos] != '}') {
            Node key;
            key.type = Node::Type::scalar;
            key.mark = m_source.mark_of_offset(m_pos);
            key.value = string();
            skip_space();
            ++m_pos;  // ':'
            Node item = value(depth + 1);
            if (const Node* previous = node.find(key.value))
                m_diagnostics.error(key.mark, "duplicate key '" + key.value +
                                                  "' (first at line " +
                                                  std::to_string(previous->mark.line) + ")");
            else
                node.entries.emplace_back(std::move(key), std::move(item));
            skip_space();
            if (m_pos < m_text.size() && m_text[m_pos] == ',') ++m_pos;
        }
        ++m_pos;
        return node;
    }

    std::string string() {
        std::size_t start = m_pos;
        ++m_pos;
        while (m_pos < m_text.size() && m_text[m_pos] != '"') m_pos += m_text[m_pos] == '\\' ? 2 : 1;
        ++m_pos;
        // The raw token is valid JSON here, so nlohmann decodes the escapes.
        return nlohmann::json::parse(m_text.substr(start, m_pos - start)).get<std::string>();
    }

    void skip_space() {
        while (m_pos < m_text.size() && std::string_view(" \t\r\n").find(m_text[m_pos]) !=
                                            std::string_view::npos)
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
        std::size_t offset = checker.error_offset > 0 ? checker.error_offset - 1 : 0;
        std::string message = checker.error_message;
        // nlohmann prefixes "[json.exception.parse_error.101] parse error at line 3, column 5: ".
        if (std::size_t colon = message.find(": "); colon != std::string::npos)
            message = message.substr(colon + 2);
        diagnostics.error(source.mark_of_offset(std::min(offset, source.text().size())),
                          "JSON syntax: " + message);
        return {};
    }
    return JsonPositions(source, diagnostics).value(0);
}

bool looks_like_json(const SourceFile& source) {
    const std::string& path = source.path();
    if (path.size() >= 5 && path.compare(path.size() - 5, 5, ".json") == 0) return true;
    std::size_t first = source.text().find_first_not_of(" \t\r\n");
    return first != std::string::npos && source.text()[first] == '{';
}

}  // namespace

Node parse_document(const SourceFile& source, Diagnostics& diagnostics) {
    if (!check_text(source, diagnostics)) return {};
    if (source.text().find_first_not_of(" \t\r\n") == std::string::npos) {
        diagnostics.error(Mark{1, 1}, "the runbook is empty; it needs at least 'version: 1', "
                                      "'name' and 'phases'");
        return {};
    }
    return looks_like_json(source) ? parse_json(source, diagnostics)
                                   : parse_yaml(source, diagnostics);
}

}  // namespace migrate::runbook
