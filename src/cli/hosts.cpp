// migrate hosts: the inventory as one environment resolves it, and what a pattern selects.
#include <filesystem>
#include <iostream>

#include "cli.h"
#include "migrate/runbook/interpolate.h"
#include "migrate/runbook/inventory.h"
#include "migrate/util/error.h"
#include "migrate/util/text.h"

namespace migrate::cli {

runbook::Inventory resolve_inventory(const runbook::Runbook& book,
                                     const std::map<std::string, std::string>& variables) {
    using runbook::Reference;
    auto expand_node = [&](const runbook::Node& node) {
        try {
            return runbook::expand(
                node.value, [&](const Reference& ref) -> std::optional<std::string> {
                    if (ref.kind == Reference::Kind::var && variables.count(ref.name))
                        return variables.at(ref.name);
                    if (ref.kind == Reference::Kind::env)
                        if (const char* value = std::getenv(ref.name.c_str()))
                            return std::string(value);
                    return std::nullopt;
                });
        } catch (const runbook::InterpolationError& e) {
            throw UsageError(book.source->path() + ":" + std::to_string(node.mark.line) + ":" +
                             std::to_string(node.mark.column) + ": " + e.what());
        }
    };
    runbook::Diagnostics problems(book.source);
    std::string dir = std::filesystem::absolute(book.source->path()).parent_path().string();
    std::optional<runbook::Inventory> inventory =
        runbook::build_inventory(book.hosts, expand_node, dir, problems);
    if (!inventory) {
        std::cerr << problems.format();
        throw Fatal("the inventory has errors", exit_code::k_usage);
    }
    return *inventory;
}

std::vector<std::size_t> select_limited(const runbook::Inventory& inventory,
                                        const std::string& pattern, const std::string& option) {
    try {
        return runbook::select_hosts(inventory, pattern);
    } catch (const runbook::InventoryError& e) {
        std::string where = e.column > 0 ? " (at character " + std::to_string(e.column) + ")" : "";
        throw UsageError(option + " '" + pattern + "': " + e.what() + where);
    }
}

CommandAction setup_hosts(CLI::App& app, GlobalOptions& global) {
    struct Args {
        std::string runbook, env, limit, pattern = "all";
        std::vector<std::string> sets;
    };
    auto args = std::make_shared<Args>();
    app.add_option("runbook", args->runbook, "the runbook")->required();
    app.add_option("--env", args->env, "the environment whose variables the inventory uses");
    app.add_option("--limit", args->limit, "only the hosts of this pattern, as run --limit");
    app.add_option("--pattern", args->pattern, "the hosts a step's pattern selects (default all)");
    app.add_option("--set", args->sets, "override a variable: name=value");
    return [args, &global] {
        runbook::ValidateOptions validate;
        if (!args->env.empty()) validate.env = args->env;
        validate.sets = parse_sets(args->sets);
        runbook::LoadedRunbook loaded = load_checked(args->runbook, validate, global);
        const runbook::Runbook& book = loaded.book;
        if (args->env.empty() && !book.environments.empty()) {
            std::vector<std::string> names;
            for (const auto& [name, env] : book.environments) names.push_back(name);
            throw UsageError("the runbook declares environments; choose one with --env (" +
                             join(names, ", ") + ")");
        }
        std::map<std::string, std::string> builtins{
            {"env", args->env},
            {"mode", "rehearsal"},
            {"runbook_dir", std::filesystem::absolute(args->runbook).parent_path().string()},
            {"run_id", "hosts"}};
        std::string failed;
        std::map<std::string, std::string> variables;
        try {
            variables = runbook::resolve_variables(
                runbook::raw_variables(book, args->env, validate.sets, builtins),
                [](const runbook::Reference& ref) -> std::optional<std::string> {
                    if (ref.kind == runbook::Reference::Kind::env)
                        if (const char* value = std::getenv(ref.name.c_str()))
                            return std::string(value);
                    return std::nullopt;
                },
                failed);
        } catch (const runbook::InterpolationError& e) {
            throw UsageError("variable '" + failed + "': " + e.what());
        }
        runbook::Inventory inventory = resolve_inventory(book, variables);
        std::vector<std::size_t> chosen = select_limited(inventory, args->pattern, "--pattern");
        if (!args->limit.empty()) {
            std::vector<std::size_t> limit = select_limited(inventory, args->limit, "--limit");
            std::vector<std::size_t> both;
            std::set_intersection(chosen.begin(), chosen.end(), limit.begin(), limit.end(),
                                  std::back_inserter(both));
            chosen = std::move(both);
        }
        const auto& hosts = inventory.hosts();
        if (global.json()) {
            Json list = Json::array();
            for (std::size_t index : chosen) {
                const runbook::InventoryHost& host = hosts[index];
                list.push_back(Json{{"name", host.name},
                                    {"address", host.address.empty() ? host.name : host.address},
                                    {"port", host.port},
                                    {"user", host.user},
                                    {"groups", host.groups},
                                    {"vars", host.vars}});
            }
            Json groups = Json::object();
            for (const std::string& group : inventory.group_names()) {
                Json members = Json::array();
                for (std::size_t index : inventory.members(group))
                    if (std::binary_search(chosen.begin(), chosen.end(), index))
                        members.push_back(hosts[index].name);
                groups[group] = members;
            }
            print_json(Json{{"hosts", list}, {"groups", groups}});
            return 0;
        }
        for (const std::string& group : inventory.group_names()) {
            std::vector<std::string> names;
            for (std::size_t index : inventory.members(group))
                if (std::binary_search(chosen.begin(), chosen.end(), index))
                    names.push_back(hosts[index].name);
            if (group == "ungrouped" && names.empty()) continue;
            std::cout << group << " (" << names.size() << "): " << join(names, " ") << "\n";
        }
        std::cout << "\n";
        for (std::size_t index : chosen) {
            const runbook::InventoryHost& host = hosts[index];
            std::string target = (host.user.empty() ? "" : host.user + "@") +
                                 (host.address.empty() ? host.name : host.address) +
                                 (host.port > 0 ? ":" + std::to_string(host.port) : "");
            std::cout << host.name << "  " << target << "  [" << join(host.groups, ", ") << "]\n";
        }
        std::cout << chosen.size() << " host" << (chosen.size() == 1 ? "" : "s") << "\n";
        return 0;
    };
}

}  // namespace migrate::cli
