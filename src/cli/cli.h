// The command table and what the commands share: global options, output format, loading
// a runbook with its diagnostics printed.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "migrate/report/estimate.h"
#include "migrate/runbook/inventory.h"
#include "migrate/runbook/validate.h"

namespace migrate::cli {

using Json = nlohmann::ordered_json;

struct GlobalOptions {
    std::string log_level = "warn";
    std::string log_file;
    std::string format = "text";
    bool json() const { return format == "json"; }
};

using CommandAction = std::function<int()>;

struct Command {
    const char* name;
    const char* help;
    // Declares the command's options on `app` and returns what runs it.
    CommandAction (*setup)(CLI::App& app, GlobalOptions& global);
};

const std::vector<Command>& commands();

CommandAction setup_validate(CLI::App& app, GlobalOptions& global);
CommandAction setup_plan(CLI::App& app, GlobalOptions& global);
CommandAction setup_run(CLI::App& app, GlobalOptions& global);
CommandAction setup_confirm(CLI::App& app, GlobalOptions& global);
CommandAction setup_status(CLI::App& app, GlobalOptions& global);
CommandAction setup_journal(CLI::App& app, GlobalOptions& global);
CommandAction setup_kinds(CLI::App& app, GlobalOptions& global);
CommandAction setup_report(CLI::App& app, GlobalOptions& global);
CommandAction setup_estimate(CLI::App& app, GlobalOptions& global);
CommandAction setup_diff(CLI::App& app, GlobalOptions& global);
CommandAction setup_hosts(CLI::App& app, GlobalOptions& global);

// The program: parses the command line and runs the command. Errors propagate to main().
int run_main(int argc, char** argv);

// --set k=v list to a map; throws UsageError on a malformed one.
std::map<std::string, std::string> parse_sets(const std::vector<std::string>& sets);

// Loads and validates; prints diagnostics (text to stderr, or into `json_out`); returns the
// runbook or throws ValidationFailed (exit 2) when there are errors.
runbook::LoadedRunbook load_checked(const std::string& path,
                                    const runbook::ValidateOptions& options,
                                    const GlobalOptions& global, bool print_warnings = true);

void print_json(const Json& value);

// The runbook's inventory with the run's variables (${env:...} from the process); prints the
// problems and throws (exit 2) when it cannot be built.
runbook::Inventory resolve_inventory(const runbook::Runbook& book,
                                     const std::map<std::string, std::string>& variables);
// select_hosts, a bad pattern a UsageError naming `option`.
std::vector<std::size_t> select_limited(const runbook::Inventory& inventory,
                                        const std::string& pattern, const std::string& option);

// Reads and verifies journals for analysis (estimate, plan --journal).
std::vector<report::JournalInput> read_journals(const std::vector<std::string>& paths, bool force);
// For a command that only reads journals (report, estimate, diff; never a run, which has
// other work for its heap): the heap grows by their size at once, on huge pages.
void heap_for_journals(const std::vector<std::string>& paths);
// Refuses journals of another runbook that share no step with this one.
void refuse_foreign_journals(const runbook::Runbook& book,
                             const std::vector<report::JournalInput>& journals);

}  // namespace migrate::cli
