// The command table, global options and logging set-up.
#include "cli.h"

#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <iostream>
#include <mutex>

#include "migrate/steps/kinds.h"
#include "migrate/util/error.h"
#include "migrate/util/redactor.h"
#include "migrate/util/text.h"

namespace migrate::cli {

const std::vector<Command>& commands() {
    static const std::vector<Command> k_commands = {
        {"validate", "parse and check a runbook; every error as file:line:col", setup_validate},
        {"plan", "the ordered plan: phases, steps, roles, dependencies, downtime window",
         setup_plan},
        {"run", "execute a runbook, journaling every action", setup_run},
        {"confirm", "confirm a manual step of a running run, from another terminal", setup_confirm},
        {"status", "where a run stands: done, running, waiting for whom, left", setup_status},
        {"report", "the timeline of a run: steps, durations, throughput, the downtime window",
         setup_report},
        {"estimate", "forecast the next run and its downtime window from journals (P50/P90)",
         setup_estimate},
        {"diff", "two runs side by side, step by step", setup_diff},
        {"hosts", "the inventory as an environment resolves it: groups and hosts", setup_hosts},
        {"journal", "journal tools: verify", setup_journal},
        {"kinds", "the step kinds and their parameters", setup_kinds},
    };
    return k_commands;
}

namespace {

// Every log line passes through the redactor before it reaches a sink.
class RedactingSink : public spdlog::sinks::base_sink<std::mutex> {
public:
    explicit RedactingSink(spdlog::sink_ptr inner) : m_inner(std::move(inner)) {}

protected:
    void sink_it_(const spdlog::details::log_msg& message) override {
        std::string text = Redactor::global().redact(
            std::string_view(message.payload.data(), message.payload.size()));
        spdlog::details::log_msg copy = message;
        copy.payload = text;
        m_inner->log(copy);
    }
    void flush_() override { m_inner->flush(); }

private:
    spdlog::sink_ptr m_inner;
};

void set_up_logging(const GlobalOptions& global) {
    auto level = spdlog::level::from_str(global.log_level);
    if (spdlog::level::to_string_view(level) != global.log_level && global.log_level != "warn")
        throw UsageError("unknown --log-level '" + global.log_level +
                         "' (trace, debug, info, warn, error, off)");
    std::vector<spdlog::sink_ptr> sinks;
    auto terminal =
        std::make_shared<RedactingSink>(std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
    terminal->set_level(level);
    sinks.push_back(terminal);
    if (!global.log_file.empty()) {
        auto file = std::make_shared<RedactingSink>(
            std::make_shared<spdlog::sinks::basic_file_sink_mt>(global.log_file));
        file->set_level(std::min(level, spdlog::level::info));
        sinks.push_back(file);
    }
    auto logger = std::make_shared<spdlog::logger>("migrate", sinks.begin(), sinks.end());
    logger->set_level(spdlog::level::trace);
    logger->flush_on(spdlog::level::info);
    spdlog::set_default_logger(logger);
}

}  // namespace

std::map<std::string, std::string> parse_sets(const std::vector<std::string>& sets) {
    std::map<std::string, std::string> out;
    for (const std::string& item : sets) {
        std::size_t equals = item.find('=');
        if (equals == std::string::npos || equals == 0)
            throw UsageError("--set takes name=value, not '" + item + "'");
        out[item.substr(0, equals)] = item.substr(equals + 1);
    }
    return out;
}

void print_json(const Json& value) {
    std::cout << Redactor::global().redact(
                     value.dump(2, ' ', false, Json::error_handler_t::replace))
              << std::endl;
}

// A --set must name a variable the runbook declares (at the top or in an environment):
// a misspelt name would otherwise run with the default value.
void check_set_names(const runbook::Runbook& book, const std::map<std::string, std::string>& sets) {
    std::vector<std::string> names;
    for (const auto& [name, var] : book.vars) names.push_back(name);
    for (const auto& [env_name, env] : book.environments)
        for (const auto& [name, var] : env.vars) names.push_back(name);
    const auto& builtins = runbook::builtin_variable_names();
    for (const auto& [name, value] : sets) {
        if (std::find(builtins.begin(), builtins.end(), name) != builtins.end())
            throw UsageError("--set " + name + ": '" + name +
                             "' is set by migrate itself and cannot be overridden");
        if (std::find(names.begin(), names.end(), name) == names.end())
            throw UsageError("--set " + name + ": the runbook declares no variable '" + name + "'" +
                             did_you_mean(name, names) +
                             (names.empty() ? " (it declares no vars)" : ""));
    }
}

runbook::LoadedRunbook load_checked(const std::string& path,
                                    const runbook::ValidateOptions& options,
                                    const GlobalOptions& global, bool print_warnings) {
    runbook::LoadedRunbook loaded =
        runbook::load_and_validate(path, kinds::schemas_of(steps::builtin_kinds()), options);
    const runbook::Diagnostics& diagnostics = *loaded.diagnostics;
    if (diagnostics.has_errors()) {
        if (global.json())
            print_json(Json{{"ok", false}, {"diagnostics", diagnostics.to_json()}});
        else
            std::cerr << diagnostics.format();
        int errors = 0;
        for (const auto& d : diagnostics.all()) errors += d.severity == runbook::Severity::error;
        throw Fatal(std::to_string(errors) + " error" + (errors == 1 ? "" : "s") + " in " + path,
                    exit_code::k_usage);
    }
    if (print_warnings && !global.json()) std::cerr << diagnostics.format();
    check_set_names(loaded.book, options.sets);
    return loaded;
}

int run_main(int argc, char** argv) {
    CLI::App app{"migrate: migration runbook executor; rehearse, journal, forecast the downtime",
                 "migrate"};
    app.require_subcommand(1);
    app.set_version_flag("--version", MIGRATE_VERSION);
    GlobalOptions global;
    app.add_option("--log-level", global.log_level, "trace, debug, info, warn, error, off")
        ->capture_default_str();
    app.add_option("--log-file", global.log_file, "also write the log to this file");
    app.add_option("--format", global.format, "output format")
        ->check(CLI::IsMember({"text", "json"}));
    std::map<CLI::App*, CommandAction> actions;
    for (const Command& command : commands()) {
        CLI::App* sub = app.add_subcommand(command.name, command.help);
        sub->fallthrough();
        actions[sub] = command.setup(*sub, global);
    }
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForVersion& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        std::cerr << "migrate: " << e.what() << "\n(run 'migrate --help' for the commands)"
                  << std::endl;
        return exit_code::k_usage;
    }
    set_up_logging(global);
    for (auto& [sub, action] : actions)
        if (sub->parsed()) return action();
    return exit_code::k_usage;
}

}  // namespace migrate::cli
