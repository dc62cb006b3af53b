// A runbook file as a tree of positioned nodes, the same for YAML and JSON, so that every
// later check can point at file:line:col.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "migrate/runbook/diagnostics.h"

namespace migrate::runbook {

struct Node {
    enum class Type { null, scalar, sequence, mapping };
    Type type = Type::null;
    std::string value;    // scalars only
    bool quoted = false;  // a quoted scalar is always a string ("null" stays text)
    Mark mark;
    std::vector<Node> items;                     // sequences
    std::vector<std::pair<Node, Node>> entries;  // mappings, in file order

    // Declared here, defaulted in document.cpp: a node holds pairs of nodes, and clang
    // (with libstdc++) cannot instantiate std::pair<Node, Node> while Node is incomplete.
    Node();
    ~Node();
    Node(const Node&);
    Node(Node&&) noexcept;
    Node& operator=(const Node&);
    Node& operator=(Node&&) noexcept;

    bool is_null() const { return type == Type::null; }
    bool is_scalar() const { return type == Type::scalar; }
    bool is_sequence() const { return type == Type::sequence; }
    bool is_mapping() const { return type == Type::mapping; }
    const Node* find(std::string_view key) const;
    // "a mapping", "a list", "a value", "nothing": for "expected X, found Y" messages.
    std::string describe() const;
};

// Limits that keep hostile input from exhausting memory or the stack.
constexpr std::size_t k_max_runbook_bytes = 16u << 20;
constexpr int k_max_nesting = 64;
constexpr std::size_t k_max_nodes = 1'000'000;

struct Document {
    std::shared_ptr<const SourceFile> source;
    Node root;
};

// Reads and parses a YAML or JSON runbook (JSON when the name ends in .json or the text
// starts with '{'). Problems go to `diagnostics`; the returned root is null when the text
// could not be parsed at all.
Node parse_document(const SourceFile& source, Diagnostics& diagnostics);

// Reads `path` into a SourceFile; throws UsageError when it cannot be read or is too large.
std::shared_ptr<SourceFile> read_source(const std::string& path);

}  // namespace migrate::runbook
