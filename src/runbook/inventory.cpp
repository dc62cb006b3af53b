// Inventory: inline groups, Ansible INI and YAML inventories, host patterns.
#include "migrate/runbook/inventory.h"

#include <algorithm>
#include <filesystem>
#include <set>

#include "migrate/util/error.h"
#include "migrate/util/read_file.h"
#include "migrate/util/text.h"

namespace migrate::runbook {
namespace {

constexpr std::size_t k_max_hosts = 100'000;

bool is_group_char(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
}

bool is_group_name(std::string_view name) {
    return !name.empty() && std::all_of(name.begin(), name.end(), is_group_char);
}

bool is_host_char(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.' ||
           c == ':' || c == '@';
}

std::string unquote(std::string_view value) {
    if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') &&
        value.back() == value.front())
        return std::string(value.substr(1, value.size() - 2));
    return std::string(value);
}

// Words of a host line, split at blanks outside quotes; each with its 0-based column.
std::vector<std::pair<std::string, std::size_t>> split_words(std::string_view line) {
    std::vector<std::pair<std::string, std::size_t>> words;
    std::size_t i = 0;
    while (i < line.size()) {
        while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
        if (i >= line.size() || line[i] == '#' || line[i] == ';') break;
        std::size_t start = i;
        char quote = 0;
        while (i < line.size() && (quote != 0 || (line[i] != ' ' && line[i] != '\t'))) {
            if (quote == 0 && (line[i] == '"' || line[i] == '\''))
                quote = line[i];
            else if (quote != 0 && line[i] == quote)
                quote = 0;
            ++i;
        }
        if (quote != 0) throw InventoryError("unterminated quote", 0, static_cast<int>(start) + 1);
        words.emplace_back(std::string(line.substr(start, i - start)), start);
    }
    return words;
}

int parse_port(const std::string& text) {
    if (!is_whole_number(text, 5) || std::stoi(text) < 1 || std::stoi(text) > 65535)
        throw InventoryError("port '" + shorten(text, 40) + "' is not a number from 1 to 65535");
    return std::stoi(text);
}

bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// Whether blanks stand between two names of a pattern (not beside ':', not at the ends).
bool blank_separated(std::string_view pattern) {
    for (std::size_t i = 1; i + 1 < pattern.size(); ++i) {
        if (!is_blank(pattern[i]) || is_blank(pattern[i - 1]) || pattern[i - 1] == ':') continue;
        std::size_t next = i;
        while (next < pattern.size() && is_blank(pattern[next])) ++next;
        if (next < pattern.size() && pattern[next] != ':') return true;
        i = next;
    }
    return false;
}

std::string range_item(std::string_view text, std::size_t from) {
    return "'" + shorten(text.substr(from), 60) + "'";
}

}  // namespace

// ---- the inventory ----

InventoryHost& Inventory::add_host(const std::string& name, const std::string& group) {
    auto found = m_index.find(name);
    std::size_t index;
    if (found == m_index.end()) {
        if (m_hosts.size() >= k_max_hosts)
            throw InventoryError("more than " + std::to_string(k_max_hosts) + " hosts");
        index = m_hosts.size();
        m_hosts.push_back(InventoryHost{.name = name});
        m_own_vars.emplace_back();
        m_index.emplace(name, index);
    } else {
        index = found->second;
    }
    InventoryHost& host = m_hosts[index];
    if (!group.empty()) {
        add_group(group);
        if (std::find(host.groups.begin(), host.groups.end(), group) == host.groups.end()) {
            host.groups.push_back(group);
            m_direct[group].push_back(index);
        }
    }
    return host;
}

void Inventory::add_group(const std::string& group) {
    m_direct.try_emplace(group);
    m_children.try_emplace(group);
}

void Inventory::add_child(const std::string& parent, const std::string& child) {
    add_group(parent);
    add_group(child);
    auto& children = m_children[parent];
    if (std::find(children.begin(), children.end(), child) == children.end())
        children.push_back(child);
}

const InventoryHost* Inventory::find(std::string_view name) const {
    auto found = m_index.find(name);
    return found == m_index.end() ? nullptr : &m_hosts[found->second];
}

bool Inventory::has_group(std::string_view name) const {
    return name == "all" || name == "ungrouped" || m_direct.find(name) != m_direct.end();
}

std::vector<std::string> Inventory::group_names() const {
    std::vector<std::string> names = {"all", "ungrouped"};
    for (const auto& [name, members] : m_direct)
        if (name != "all" && name != "ungrouped") names.push_back(name);
    std::sort(names.begin(), names.end());
    return names;
}

void Inventory::collect(const std::string& group, std::vector<bool>& seen,
                        std::vector<std::string>& path) const {
    if (std::find(path.begin(), path.end(), group) != path.end()) {
        path.push_back(group);
        throw InventoryError("groups contain each other: " + join(path, " > "));
    }
    path.push_back(group);
    if (auto direct = m_direct.find(group); direct != m_direct.end())
        for (std::size_t index : direct->second) seen[index] = true;
    if (auto children = m_children.find(group); children != m_children.end())
        for (const std::string& child : children->second) collect(child, seen, path);
    path.pop_back();
}

std::vector<std::size_t> Inventory::members(const std::string& group) const {
    std::vector<std::size_t> indices;
    if (group == "all") {
        for (std::size_t i = 0; i < m_hosts.size(); ++i) indices.push_back(i);
        return indices;
    }
    if (group == "ungrouped") {
        std::vector<bool> grouped(m_hosts.size(), false);
        for (const auto& [name, direct] : m_direct)
            if (name != "ungrouped")
                for (std::size_t index : direct) grouped[index] = true;
        for (std::size_t i = 0; i < m_hosts.size(); ++i)
            if (!grouped[i]) indices.push_back(i);
        return indices;
    }
    std::vector<bool> seen(m_hosts.size(), false);
    std::vector<std::string> path;
    collect(group, seen, path);
    for (std::size_t i = 0; i < m_hosts.size(); ++i)
        if (seen[i]) indices.push_back(i);
    return indices;
}

void Inventory::set_group_var(const std::string& group, const std::string& name,
                              const std::string& value) {
    add_group(group);
    m_group_vars.push_back({group, {name, value}});
}

void Inventory::finish() {
    for (std::size_t i = 0; i < m_hosts.size(); ++i) {
        for (const auto& [name, value] : m_hosts[i].vars) m_own_vars[i].emplace(name, value);
        m_hosts[i].vars.clear();
    }
    // "all" first, then the other groups' vars in the order they were written; a host's own last.
    for (int pass = 0; pass < 2; ++pass)
        for (const auto& [group, setting] : m_group_vars) {
            if ((group == "all") != (pass == 0)) continue;
            for (std::size_t index : members(group))
                m_hosts[index].vars[setting.first] = setting.second;
        }
    for (std::size_t i = 0; i < m_hosts.size(); ++i) {
        InventoryHost& host = m_hosts[i];
        for (const auto& [name, value] : m_own_vars[i]) host.vars[name] = value;
        auto var = [&](const char* a, const char* b) -> const std::string* {
            if (auto it = host.vars.find(a); it != host.vars.end()) return &it->second;
            if (auto it = host.vars.find(b); it != host.vars.end()) return &it->second;
            return nullptr;
        };
        if (const std::string* address = var("ansible_host", "ansible_ssh_host"))
            host.address = *address;
        if (const std::string* user = var("ansible_user", "ansible_ssh_user")) host.user = *user;
        if (const std::string* port = var("ansible_port", "ansible_ssh_port")) {
            try {
                host.port = parse_port(*port);
            } catch (const InventoryError& e) {
                throw InventoryError("host '" + host.name + "': " + e.what());
            }
        }
    }
    // A cycle among groups is an error even when no pattern reaches it.
    for (const auto& [group, children] : m_children) members(group);
}

// ---- host ranges ----

std::vector<std::string> expand_host_range(std::string_view name) {
    std::size_t open = name.find('[');
    if (open == std::string_view::npos) {
        if (name.find(']') != std::string_view::npos)
            throw InventoryError("']' without '[' in host " + range_item(name, 0), 0,
                                 static_cast<int>(name.find(']')) + 1);
        return {std::string(name)};
    }
    std::size_t close = name.find(']', open);
    if (close == std::string_view::npos)
        throw InventoryError("'[' without ']' in host " + range_item(name, 0), 0,
                             static_cast<int>(open) + 1);
    std::string_view inside = name.substr(open + 1, close - open - 1);
    std::size_t colon = inside.find(':');
    auto bad = [&](const std::string& why) {
        return InventoryError(
            "bad host range [" + shorten(inside, 40) + "]: " + why + " (write [01:46] or [a:f])", 0,
            static_cast<int>(open) + 1);
    };
    if (colon == std::string_view::npos) throw bad("no ':'");
    std::string first(inside.substr(0, colon));
    std::string rest(inside.substr(colon + 1));
    std::string last = rest;
    long step = 1;
    if (std::size_t second = rest.find(':'); second != std::string::npos) {
        last = rest.substr(0, second);
        std::string step_text = rest.substr(second + 1);
        if (!is_whole_number(step_text, 6) || std::stol(step_text) < 1)
            throw bad("the step must be a whole number");
        step = std::stol(step_text);
    }
    std::vector<std::string> middles;
    if (is_whole_number(first, 9) && is_whole_number(last, 9)) {
        long from = std::stol(first), to = std::stol(last);
        if (from > to) throw bad("the first number is above the last");
        if ((to - from) / step >= static_cast<long>(k_max_hosts))
            throw bad("more than " + std::to_string(k_max_hosts) + " hosts");
        std::size_t width = first.size() > 1 && first[0] == '0' ? first.size() : 0;
        for (long n = from; n <= to; n += step) {
            std::string digits = std::to_string(n);
            if (digits.size() < width) digits.insert(0, width - digits.size(), '0');
            middles.push_back(digits);
        }
    } else if (first.size() == 1 && last.size() == 1 && std::isalpha((unsigned char)first[0]) &&
               std::isalpha((unsigned char)last[0]) && first[0] <= last[0]) {
        for (char c = first[0]; c <= last[0]; c = static_cast<char>(c + step)) {
            middles.emplace_back(1, c);
            if (last[0] - c < step) break;
        }
    } else {
        throw bad("the ends must be two numbers or two letters, the first not above the last");
    }
    std::vector<std::string> names;
    std::string prefix(name.substr(0, open));
    std::vector<std::string> tails;
    try {
        tails = expand_host_range(name.substr(close + 1));
    } catch (const InventoryError& e) {
        throw InventoryError(e.what(), 0, e.column + static_cast<int>(close) + 1);
    }
    if (middles.size() * tails.size() > k_max_hosts)
        throw bad("more than " + std::to_string(k_max_hosts) + " hosts");
    for (const std::string& middle : middles)
        for (const std::string& tail : tails) names.push_back(prefix + middle + tail);
    return names;
}

// ---- INI ----

void read_ini_inventory(std::string_view text, Inventory& inventory) {
    enum class Section { hosts, vars, children };
    Section section = Section::hosts;
    std::string group;  // "" before the first section: ungrouped hosts
    int number = 0;
    std::size_t at = 0;
    while (at <= text.size()) {
        std::size_t end = text.find('\n', at);
        if (end == std::string_view::npos) end = text.size();
        std::string_view line = text.substr(at, end - at);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        at = end + 1;
        ++number;
        std::size_t indent = 0;
        while (indent < line.size() && (line[indent] == ' ' || line[indent] == '\t')) ++indent;
        std::string_view body = line.substr(indent);
        if (body.empty() || body[0] == '#' || body[0] == ';') {
            if (end == text.size()) break;
            continue;
        }
        int column = static_cast<int>(indent) + 1;
        try {
            if (body[0] == '[') {
                std::size_t close = body.find(']');
                if (close == std::string_view::npos)
                    throw InventoryError("a section header needs a closing ']'", 0, column);
                std::string_view header = body.substr(1, close - 1);
                std::string_view kind;
                if (std::size_t colon = header.find(':'); colon != std::string_view::npos) {
                    kind = header.substr(colon + 1);
                    header = header.substr(0, colon);
                }
                if (!is_group_name(header))
                    throw InventoryError("bad group name '" + shorten(header, 60) +
                                             "' (letters, digits, '_', '-' and '.')",
                                         0, column + 1);
                group = std::string(header);
                if (kind.empty())
                    section = Section::hosts;
                else if (kind == "vars")
                    section = Section::vars;
                else if (kind == "children")
                    section = Section::children;
                else
                    throw InventoryError("unknown section kind ':" + shorten(kind, 40) +
                                             "' (write [" + group + "], [" + group + ":vars] or [" +
                                             group + ":children])",
                                         0, column + static_cast<int>(header.size()) + 1);
                inventory.add_group(group);
            } else if (section == Section::vars) {
                std::size_t equals = body.find('=');
                if (equals == std::string_view::npos)
                    throw InventoryError("expected NAME=VALUE in [" + group + ":vars]", 0, column);
                std::string name = trim(body.substr(0, equals));
                if (!is_name(name))
                    throw InventoryError("bad variable name '" + shorten(name, 60) + "'", 0,
                                         column);
                inventory.set_group_var(group, name, unquote(trim(body.substr(equals + 1))));
            } else if (section == Section::children) {
                std::string child = trim(body);
                if (std::size_t hash = child.find(" #"); hash != std::string::npos)
                    child = trim(child.substr(0, hash));
                if (!is_group_name(child))
                    throw InventoryError("bad group name '" + shorten(child, 60) + "'", 0, column);
                if (child == group)
                    throw InventoryError("group '" + group + "' cannot contain itself", 0, column);
                inventory.add_child(group, child);
            } else {
                auto words = split_words(body);
                if (words.empty()) continue;
                const std::string& pattern = words[0].first;
                for (std::size_t i = 0; i < pattern.size(); ++i)
                    if (!is_host_char(pattern[i]) && pattern[i] != '[' && pattern[i] != ']')
                        throw InventoryError("bad character in host '" + shorten(pattern, 60) + "'",
                                             0, column + static_cast<int>(i));
                std::vector<std::string> names;
                try {
                    names = expand_host_range(pattern);
                } catch (const InventoryError& e) {
                    throw InventoryError(e.what(), 0, column + e.column - 1);
                }
                std::map<std::string, std::string> vars;
                for (std::size_t w = 1; w < words.size(); ++w) {
                    const auto& [word, offset] = words[w];
                    std::size_t equals = word.find('=');
                    if (equals == std::string::npos || equals == 0)
                        throw InventoryError("expected NAME=VALUE after the host name, found '" +
                                                 shorten(word, 60) + "'",
                                             0, column + static_cast<int>(offset));
                    std::string name = word.substr(0, equals);
                    if (!is_name(name))
                        throw InventoryError("bad variable name '" + shorten(name, 60) + "'", 0,
                                             column + static_cast<int>(offset));
                    vars[name] = unquote(word.substr(equals + 1));
                }
                for (std::string name : names) {
                    // host:port, as Ansible allows
                    std::size_t colon = name.rfind(':');
                    if (colon != std::string::npos && name.find(':') == colon) {
                        std::string port = name.substr(colon + 1);
                        name.resize(colon);
                        if (!vars.count("ansible_port")) vars["ansible_port"] = port;
                    }
                    InventoryHost& host = inventory.add_host(name, group);
                    for (const auto& [k, v] : vars) host.vars[k] = v;
                }
            }
        } catch (const InventoryError& e) {
            throw InventoryError(e.what(), number, e.column == 0 ? column : e.column);
        }
        if (end == text.size()) break;
    }
}

// ---- YAML inventory ----

namespace {

// all: { hosts: { NAME: { VAR: VALUE } }, vars: {...}, children: { GROUP: {...} } }
void read_yaml_group(const Node& node, const std::string& group, Inventory& inventory) {
    if (node.is_null()) {
        inventory.add_group(group);
        return;
    }
    if (!node.is_mapping())
        throw InventoryError("group '" + group + "' must be a mapping with hosts, vars or children",
                             node.mark.line, node.mark.column);
    inventory.add_group(group);
    for (const auto& [key, value] : node.entries) {
        if (key.value == "hosts") {
            if (value.is_null()) continue;
            if (!value.is_mapping())
                throw InventoryError("'hosts' of group '" + group + "' must be a mapping",
                                     value.mark.line, value.mark.column);
            for (const auto& [name, vars] : value.entries) {
                std::vector<std::string> names;
                try {
                    names = expand_host_range(name.value);
                } catch (const InventoryError& e) {
                    throw InventoryError(e.what(), name.mark.line, name.mark.column);
                }
                for (const std::string& one : names) {
                    InventoryHost& host =
                        inventory.add_host(one, group == "all" ? std::string() : group);
                    if (vars.is_mapping())
                        for (const auto& [k, v] : vars.entries) host.vars[k.value] = v.value;
                }
            }
        } else if (key.value == "vars") {
            if (!value.is_mapping()) continue;
            for (const auto& [k, v] : value.entries)
                inventory.set_group_var(group, k.value, v.value);
        } else if (key.value == "children") {
            if (value.is_null()) continue;
            if (!value.is_mapping())
                throw InventoryError("'children' of group '" + group + "' must be a mapping",
                                     value.mark.line, value.mark.column);
            for (const auto& [child, body] : value.entries) {
                if (group != "all") inventory.add_child(group, child.value);
                read_yaml_group(body, child.value, inventory);
            }
        } else {
            throw InventoryError("unknown key '" + shorten(key.value, 40) + "' in group '" + group +
                                     "' (hosts, vars, children)",
                                 key.mark.line, key.mark.column);
        }
    }
}

void read_yaml_inventory(const SourceFile& source, Inventory& inventory) {
    Diagnostics parse(std::make_shared<SourceFile>(source));
    Node root = parse_document(source, parse);
    if (parse.has_errors()) {
        const Diagnostic& first = parse.all().front();
        throw InventoryError(first.message, first.mark.line, first.mark.column);
    }
    if (!root.is_mapping())
        throw InventoryError("a YAML inventory is a mapping of groups (all: {children: ...})", 1,
                             1);
    for (const auto& [group, body] : root.entries) read_yaml_group(body, group.value, inventory);
}

}  // namespace

// ---- patterns ----

std::vector<std::size_t> select_hosts(const Inventory& inventory, std::string_view pattern) {
    const auto& hosts = inventory.hosts();
    // Terms are split at ',' or blanks when there is one of those between names, else at ':'
    // outside brackets. Blanks separate like ',' so that a fan-out step's `failed` output
    // (host names separated by spaces) is a pattern; blanks beside ':' or at the ends are
    // only padding. A run of blanks, or blanks around a ',', is one separator.
    bool listed = pattern.find(',') != std::string_view::npos || blank_separated(pattern);
    std::vector<std::pair<std::string_view, std::size_t>> terms;
    int depth = 0;
    std::size_t start = 0;
    for (std::size_t i = 0; i <= pattern.size(); ++i) {
        char c = i < pattern.size() ? pattern[i] : ',';
        if (c == '[') ++depth;
        if (c == ']') --depth;
        bool split =
            i == pattern.size() || (listed ? c == ',' || is_blank(c) : (c == ':' && depth == 0));
        if (!split) continue;
        bool beside_blank = is_blank(c) || (start > 0 && is_blank(pattern[start - 1]));
        if (!(listed && i == start && beside_blank))
            terms.emplace_back(pattern.substr(start, i - start), start);
        start = i + 1;
    }
    std::vector<bool> chosen(hosts.size(), false);
    std::vector<std::vector<bool>> intersections, exclusions;
    bool any_union = false;
    for (auto [term, offset] : terms) {
        int column = static_cast<int>(offset) + 1;
        while (!term.empty() && is_blank(term.front())) term.remove_prefix(1), ++column;
        while (!term.empty() && is_blank(term.back())) term.remove_suffix(1);
        char op = 0;
        if (!term.empty() && (term[0] == '!' || term[0] == '&')) {
            op = term[0];
            term.remove_prefix(1);
        }
        if (term.empty())
            throw InventoryError("empty term in host pattern '" + shorten(pattern, 80) + "'", 0,
                                 column);
        // A trailing [i] or [a:b] selects by position.
        std::string_view base = term;
        std::optional<std::pair<long, std::optional<long>>> slice;
        bool range_end = false;
        if (term.back() == ']') {
            std::size_t open = term.rfind('[');
            if (open == std::string_view::npos || open == 0)
                throw InventoryError("']' without '[' in host pattern", 0, column);
            std::string inside(term.substr(open + 1, term.size() - open - 2));
            base = term.substr(0, open);
            auto number = [&](const std::string& text) {
                bool negative = !text.empty() && text[0] == '-';
                std::string digits = negative ? text.substr(1) : text;
                if (!is_whole_number(digits, 9))
                    throw InventoryError("bad position '" + shorten(inside, 30) +
                                             "' in host pattern (write web[0], web[0:9] or "
                                             "web[-1])",
                                         0, column + static_cast<int>(open) + 1);
                return negative ? -std::stol(digits) : std::stol(digits);
            };
            if (std::size_t colon = inside.find(':'); colon != std::string::npos) {
                long from = colon == 0 ? 0 : number(inside.substr(0, colon));
                std::string to = inside.substr(colon + 1);
                slice = {from, to.empty() ? std::optional<long>() : number(to)};
                range_end = true;
            } else {
                slice = {number(inside), std::nullopt};
            }
        }
        std::string name(base);
        std::vector<std::size_t> matched;
        if (name == "all" || name == "*") {
            matched = inventory.members("all");
        } else if (inventory.has_group(name)) {
            matched = inventory.members(name);
        } else if (const InventoryHost* host = inventory.find(name)) {
            matched.push_back(static_cast<std::size_t>(host - hosts.data()));
        } else if (name.find_first_of("*?") != std::string::npos) {
            std::vector<bool> seen(hosts.size(), false);
            for (std::size_t i = 0; i < hosts.size(); ++i)
                if (glob_match(name, hosts[i].name)) seen[i] = true;
            for (const std::string& group : inventory.group_names())
                if (glob_match(name, group))
                    for (std::size_t index : inventory.members(group)) seen[index] = true;
            for (std::size_t i = 0; i < hosts.size(); ++i)
                if (seen[i]) matched.push_back(i);
            if (matched.empty())
                throw InventoryError("'" + shorten(name, 60) + "' matches no group or host", 0,
                                     column + (op ? 1 : 0));
        } else {
            std::vector<std::string> candidates = inventory.group_names();
            for (const InventoryHost& known : hosts) candidates.push_back(known.name);
            throw InventoryError("no group or host named '" + shorten(name, 60) + "'" +
                                     did_you_mean(name, candidates),
                                 0, column + (op ? 1 : 0));
        }
        if (slice) {
            long size = static_cast<long>(matched.size());
            auto position = [&](long at) { return at < 0 ? size + at : at; };
            long from = position(slice->first);
            long to = range_end ? (slice->second ? position(*slice->second) : size - 1) : from;
            std::vector<std::size_t> part;
            for (long i = std::max(0L, from); i <= std::min(to, size - 1); ++i)
                part.push_back(matched[static_cast<std::size_t>(i)]);
            if (part.empty())
                throw InventoryError("'" + std::string(term) + "' selects no host ('" + name +
                                         "' has " + std::to_string(size) + ")",
                                     0, column);
            matched = std::move(part);
        }
        std::vector<bool> set(hosts.size(), false);
        for (std::size_t index : matched) set[index] = true;
        if (op == '&')
            intersections.push_back(std::move(set));
        else if (op == '!')
            exclusions.push_back(std::move(set));
        else {
            any_union = true;
            for (std::size_t i = 0; i < hosts.size(); ++i) chosen[i] = chosen[i] || set[i];
        }
    }
    if (!any_union) std::fill(chosen.begin(), chosen.end(), true);
    std::vector<std::size_t> result;
    for (std::size_t i = 0; i < hosts.size(); ++i) {
        bool in = chosen[i];
        for (const auto& set : intersections) in = in && set[i];
        for (const auto& set : exclusions) in = in && !set[i];
        if (in) result.push_back(i);
    }
    return result;
}

// ---- from the runbook ----

std::optional<Inventory> build_inventory(const Node& hosts,
                                         const std::function<std::string(const Node&)>& expand,
                                         const std::string& base_dir, Diagnostics& diagnostics,
                                         const std::string& label) {
    Inventory inventory;
    bool ok = true;
    auto fail = [&](const Mark& mark, const std::string& message) {
        diagnostics.error(mark, message + label);
        ok = false;
    };
    if (!hosts.is_mapping()) return inventory;
    for (const auto& [key, value] : hosts.entries) {
        if (key.value == "inventory") {
            if (!value.is_scalar()) {
                fail(value.mark,
                     "'hosts.inventory' must be a file name, found " + value.describe());
                continue;
            }
            std::string path = expand(value);
            std::filesystem::path full(path);
            if (full.is_relative() && !base_dir.empty())
                full = std::filesystem::path(base_dir) / full;
            std::string text;
            try {
                text = read_file(full.string());
            } catch (const std::exception& e) {
                fail(value.mark, "cannot read the inventory '" + full.string() + "': " + e.what());
                continue;
            }
            try {
                std::string ext = to_lower(full.extension().string());
                if (ext == ".yml" || ext == ".yaml")
                    read_yaml_inventory(SourceFile(full.string(), text), inventory);
                else
                    read_ini_inventory(text, inventory);
            } catch (const InventoryError& e) {
                fail(value.mark, full.string() + ":" + std::to_string(e.line) + ":" +
                                     std::to_string(e.column) + ": " + e.what());
            }
            continue;
        }
        const std::string& group = key.value;
        if (!is_group_name(group) || group == "all" || group == "ungrouped") {
            fail(key.mark, "bad group name '" + shorten(group, 60) +
                               "' (letters, digits, '_', '-' and '.'; 'all' and 'ungrouped' are "
                               "built in)");
            continue;
        }
        inventory.add_group(group);
        if (value.is_null()) continue;
        if (!value.is_sequence()) {
            fail(value.mark, "group '" + group +
                                 "' must list its hosts ([web1, web2] or entries "
                                 "with host, address, port, user, vars), found " +
                                 value.describe());
            continue;
        }
        for (const Node& item : value.items) {
            try {
                if (item.is_scalar()) {
                    for (const std::string& name : expand_host_range(expand(item)))
                        inventory.add_host(name, group);
                    continue;
                }
                if (!item.is_mapping()) {
                    fail(item.mark, "a host of group '" + group +
                                        "' is a name or a mapping, found " + item.describe());
                    continue;
                }
                const Node* name = item.find("host");
                if (name == nullptr || !name->is_scalar()) {
                    fail(item.mark, "a host entry of group '" + group + "' needs 'host'");
                    continue;
                }
                std::map<std::string, std::string> vars;
                for (const auto& [field, setting] : item.entries) {
                    const std::string& f = field.value;
                    if (f == "host") continue;
                    if (f == "vars") {
                        if (!setting.is_mapping()) {
                            fail(setting.mark, "'vars' of a host must be a mapping");
                            continue;
                        }
                        for (const auto& [k, v] : setting.entries) vars[k.value] = expand(v);
                    } else if (f == "address" || f == "port" || f == "user") {
                        if (!setting.is_scalar()) {
                            fail(setting.mark, "'" + f + "' must be a single value");
                            continue;
                        }
                        std::string text = expand(setting);
                        if (f == "port") {
                            try {
                                parse_port(text);
                            } catch (const InventoryError& e) {
                                fail(setting.mark, e.what());
                                continue;
                            }
                        }
                        vars["ansible_" + (f == "address" ? std::string("host") : f)] = text;
                    } else {
                        fail(field.mark,
                             "unknown field '" + shorten(f, 40) + "' of a host" +
                                 did_you_mean(f, {"host", "address", "port", "user", "vars"}) +
                                 " (fields: host, address, port, user, vars)");
                    }
                }
                for (const std::string& one : expand_host_range(expand(*name))) {
                    InventoryHost& host = inventory.add_host(one, group);
                    for (const auto& [k, v] : vars) host.vars[k] = v;
                }
            } catch (const InventoryError& e) {
                fail(item.mark, e.what());
            }
        }
    }
    try {
        inventory.finish();
    } catch (const InventoryError& e) {
        fail(hosts.mark, e.what());
    }
    if (!ok) return std::nullopt;
    return inventory;
}

}  // namespace migrate::runbook
