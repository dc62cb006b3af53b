// The hosts a runbook acts on: groups declared inline under `hosts:` and/or read from an
// Ansible inventory file (INI), and host patterns as Ansible users write them.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "migrate/runbook/document.h"

namespace migrate::runbook {

struct InventoryHost {
    std::string name;     // as written in the inventory; what patterns and outputs use
    std::string address;  // ansible_host / `address`; "" means the name
    int port = 0;         // ansible_port / `port`; 0: the ssh client's default
    std::string user;     // ansible_user / `user`; "": the ssh client's default
    std::map<std::string, std::string> vars;  // every other variable, group vars merged
    std::vector<std::string> groups;          // direct groups, in the order they were named
};

class Inventory {
public:
    // Adds a host (or returns the one of that name) and puts it in `group` ("" for none).
    InventoryHost& add_host(const std::string& name, const std::string& group);
    // Declares a group (empty groups may exist) and a child group under it.
    void add_group(const std::string& group);
    void add_child(const std::string& parent, const std::string& child);

    const std::vector<InventoryHost>& hosts() const { return m_hosts; }
    const InventoryHost* find(std::string_view name) const;
    bool has_group(std::string_view name) const;
    // Group names, sorted; "all" and "ungrouped" included.
    std::vector<std::string> group_names() const;
    // Indices into hosts() of a group's members, children included, in inventory order.
    std::vector<std::size_t> members(const std::string& group) const;
    // Group vars apply to the hosts of a group (children included); a host's own win.
    void set_group_var(const std::string& group, const std::string& name, const std::string& value);
    // Applies group vars to hosts, then ansible_host/port/user to the fields. Throws
    // InventoryError on a bad port or a cycle among groups.
    void finish();

private:
    std::vector<InventoryHost> m_hosts;
    std::map<std::string, std::size_t, std::less<>> m_index;
    std::map<std::string, std::vector<std::string>, std::less<>> m_children;
    std::map<std::string, std::vector<std::size_t>, std::less<>> m_direct;
    std::vector<std::pair<std::string, std::pair<std::string, std::string>>> m_group_vars;
    std::vector<std::map<std::string, std::string>> m_own_vars;  // a host's own, by index
    void collect(const std::string& group, std::vector<bool>& seen,
                 std::vector<std::string>& path) const;
};

// A problem in an inventory, at a line and column of the text it came from (0: unknown).
class InventoryError : public std::runtime_error {
public:
    InventoryError(const std::string& message, int at_line = 0, int at_column = 0)
        : std::runtime_error(message), line(at_line), column(at_column) {}
    int line;
    int column;
};

// Reads Ansible's INI inventory format into `inventory`: [group], [group:vars],
// [group:children], host lines with key=value variables, host ranges (web[01:46].example.com),
// comments with # or ;. Throws InventoryError at the first problem.
void read_ini_inventory(std::string_view text, Inventory& inventory);

// `web[01:03]` -> web01, web02, web03 (letters too: db-[a:c]); one name when there is no range.
// Throws InventoryError (column set) on a bad range.
std::vector<std::string> expand_host_range(std::string_view name);

// The hosts matched by a pattern: `all` or `*`, a group, a host, globs (web*), unions with
// ':' or ',', intersections `&group`, exclusions `!host`, slices `web[0]`, `web[0:9]` (both
// ends included, as Ansible counts), `web[-1]`. Returns indices into inventory.hosts(), in
// inventory order. Throws InventoryError (column = 1-based position in the pattern) on an
// unknown group or host, with a did-you-mean, or on a malformed pattern.
std::vector<std::size_t> select_hosts(const Inventory& inventory, std::string_view pattern);

// The inventory a runbook's `hosts:` node declares, every scalar passed through `expand`
// (variables). `inventory: FILE` is read relative to `base_dir`. Problems are reported at
// their marks in the runbook (a problem inside an inventory file names file:line:col in its
// message). Returns nullopt when there were problems.
std::optional<Inventory> build_inventory(const Node& hosts,
                                         const std::function<std::string(const Node&)>& expand,
                                         const std::string& base_dir, Diagnostics& diagnostics,
                                         const std::string& label = "");

}  // namespace migrate::runbook
