// migrate run RUNBOOK: set up variables, secrets and the journal, then hand over to the engine.
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <iostream>
#include <random>

#include "cli.h"
#include "forecast_watch.h"
#include "migrate/engine/engine.h"
#include "migrate/engine/secrets.h"
#include "migrate/engine/signals.h"
#include "migrate/io/clock.h"
#include "migrate/io/confirm.h"
#include "migrate/io/db/drivers.h"
#include "migrate/io/http.h"
#include "migrate/io/process.h"
#include "migrate/runbook/graph.h"
#include "migrate/runbook/interpolate.h"
#include "migrate/steps/kinds.h"
#include "migrate/util/error.h"
#include "migrate/util/redactor.h"
#include "migrate/util/text.h"

namespace migrate::cli {
namespace {

namespace fs = std::filesystem;

struct RunArgs {
    std::string runbook;
    std::string env;
    std::string journal;
    bool dry_run = false;
    bool rehearsal = false;
    bool resume = false;
    bool force = false;
    bool yes = false;
    std::string from;
    std::vector<std::string> only;
    std::vector<std::string> sets;
    std::string secrets_file;
    int max_parallel = 4;
    bool parallel_run = false;
    std::string limit;
    std::vector<std::string> forecast_from;  // rehearsal journals for the live forecast
};

// What makes a run the run it is: a resume continues with the same (docs/engine.md).
struct RunSettings {
    std::string env;
    kinds::RunMode mode = kinds::RunMode::rehearsal;
    std::map<std::string, std::string> sets;  // a value holding a secret is k_secret_set
    bool sets_recorded = false;               // journals of older versions have none
    std::string limit;                        // --limit, "" for none
};

const std::string k_secret_set = "***";

// The settings the journal's last run.start or run.resume records.
std::optional<RunSettings> recorded_settings(const journal::ReadResult& journal) {
    std::optional<RunSettings> settings;
    for (const journal::Record& record : journal.records) {
        const std::string& event = record.event();
        if (event != "run.start" && event != "run.resume") continue;
        RunSettings found;
        found.env = record.string("env");
        found.mode = record.string("mode") == "production" ? kinds::RunMode::production
                                                           : kinds::RunMode::rehearsal;
        if (record.data.contains("sets") && record.data["sets"].is_object()) {
            found.sets_recorded = true;
            for (const auto& [name, value] : record.data["sets"].items())
                if (value.is_string()) found.sets[name] = value.get<std::string>();
        }
        found.limit = record.string("limit");
        settings = found;
    }
    return settings;
}

std::string new_run_id(std::int64_t now_ms) {
    std::random_device device;
    char suffix[8];
    std::snprintf(suffix, sizeof suffix, "%04x", device() & 0xffff);
    std::string stamp = format_utc_ms(now_ms);  // 2026-11-22T02:20:10.123Z
    std::string compact;
    for (char c : stamp.substr(0, 19))
        if (c != '-' && c != ':') compact += c;
    return compact + "-" + suffix;
}

std::string host_name() {
    char name[256] = {0};
    ::gethostname(name, sizeof name - 1);
    return name;
}

void check_step_ids(const runbook::StepGraph& graph, const RunArgs& args) {
    std::vector<std::string> ids;
    for (const runbook::Step* step : graph.order()) ids.push_back(step->id);
    auto check = [&](const std::string& id, const char* option) {
        if (!graph.contains(id))
            throw UsageError(std::string(option) + ": the runbook has no step '" + id + "'" +
                             did_you_mean(id, ids));
    };
    if (!args.from.empty()) check(args.from, "--from");
    for (const std::string& id : args.only) check(id, "--only");
}

std::map<std::string, std::string> resolve_run_variables(const runbook::Runbook& book,
                                                         const RunArgs& args, kinds::RunMode mode,
                                                         const std::string& run_id,
                                                         const engine::SecretStore& secrets) {
    using runbook::Reference;
    std::map<std::string, std::string> builtins{
        {"env", args.env},
        {"mode", kinds::run_mode_name(mode)},
        {"runbook_dir", fs::absolute(args.runbook).parent_path().string()},
        {"run_id", run_id}};
    auto raw = runbook::raw_variables(book, args.env, parse_sets(args.sets), builtins);
    std::string failed;
    try {
        return runbook::resolve_variables(
            raw,
            [&](const Reference& ref) -> std::optional<std::string> {
                if (ref.kind == Reference::Kind::env) {
                    if (const char* value = std::getenv(ref.name.c_str()))
                        return std::string(value);
                    return std::nullopt;
                }
                if (ref.kind == Reference::Kind::secret) return secrets.get(ref.name);
                return std::nullopt;
            },
            failed);
    } catch (const runbook::InterpolationError& e) {
        const runbook::Located* where = nullptr;
        if (auto env = book.environments.find(args.env);
            env != book.environments.end() && env->second.vars.count(failed))
            where = &env->second.vars.at(failed);
        else if (book.vars.count(failed))
            where = &book.vars.at(failed);
        std::string location = where
                                   ? book.source->path() + ":" + std::to_string(where->mark.line) +
                                         ":" + std::to_string(where->mark.column) + ": "
                                   : "--set " + failed + ": ";
        throw UsageError(location + "variable '" + failed + "': " + e.what());
    }
}

// Every ${env:...} and ${secret:...} the steps and connections use must be set before
// anything runs: a run must not stop half-way because a password was not exported. Names
// the first missing one and where it is used.
void check_run_inputs(const runbook::Runbook& book, const engine::SecretStore& secrets) {
    std::function<void(const runbook::Node&)> visit;
    auto check_text = [&](const std::string& text, const runbook::Mark& mark) {
        if (!runbook::has_references(text)) return;
        for (const runbook::Reference& ref : runbook::find_references(text)) {
            bool missing = (ref.kind == runbook::Reference::Kind::env &&
                            std::getenv(ref.name.c_str()) == nullptr) ||
                           (ref.kind == runbook::Reference::Kind::secret && !secrets.get(ref.name));
            if (!missing) continue;
            runbook::Mark at = runbook::reference_mark(*book.source, mark, text, ref.offset);
            throw UsageError(
                book.source->path() + ":" + std::to_string(at.line) + ":" +
                std::to_string(at.column) + ": " +
                (ref.kind == runbook::Reference::Kind::env
                     ? "environment variable '" + ref.name + "' is not set"
                     : "secret '" + ref.name +
                           "' is not set (export it, or put it in the --secrets file)") +
                "; nothing was run");
        }
    };
    visit = [&](const runbook::Node& node) {
        if (node.is_scalar()) check_text(node.value, node.mark);
        for (const runbook::Node& item : node.items) visit(item);
        for (const auto& [key, value] : node.entries) visit(value);
    };
    for (const runbook::Step* step : book.steps()) {
        if (step->when.present) check_text(step->when.text, step->when.mark);
        visit(step->with);
        for (const runbook::Step& undo : step->rollback) visit(undo.with);
    }
    visit(book.connections);
}

void confirm_production(const runbook::Runbook& book, const RunArgs& args) {
    if (args.yes) return;
    if (!::isatty(0))
        throw UsageError(
            "this is a production run (no --rehearsal, no --dry-run) and there is no terminal to "
            "confirm it; "
            "add --yes to run it, or --rehearsal to rehearse");
    std::cout << "This is a PRODUCTION run of '" << book.name << "'"
              << (args.env.empty() ? "" : " in environment " + args.env)
              << ".\nType the runbook name to go on: " << std::flush;
    std::string answer;
    std::getline(std::cin, answer);
    if (trim(answer) != book.name) throw UsageError("not confirmed; nothing was run");
}

// "NAME-ENV" for the run's files: the runbook's name with anything but letters, digits, '-'
// and '_' as '-'.
std::string run_file_stem(const runbook::Runbook& book, const std::string& env) {
    std::string name = book.name.empty() ? "run" : book.name;
    for (char& c : name)
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') c = '-';
    return name + (env.empty() ? "" : "-" + env);
}

std::string default_journal(const runbook::Runbook& book, const RunArgs& args,
                            const std::string& run_id) {
    fs::create_directories("journals");
    return "journals/" + run_file_stem(book, args.env) + "-" + run_id + ".jsonl";
}

// On resume: the steps whose definitions changed since the journal's run.start.
std::vector<std::string> changed_steps(const runbook::Runbook& book,
                                       const engine::PriorState& prior) {
    std::vector<std::string> changed;
    std::set<std::string> current;
    for (const runbook::Step* step : book.steps()) {
        current.insert(step->id);
        auto it = prior.step_hashes.find(step->id);
        if (it == prior.step_hashes.end())
            changed.push_back(step->id + " (new)");
        else if (it->second != step->definition_hash)
            changed.push_back(step->id);
    }
    for (const auto& [id, hash] : prior.step_hashes)
        if (!current.count(id)) changed.push_back(id + " (removed)");
    return changed;
}

// A resume takes env, mode and --set from the journal when they are not given; given ones
// must match (--force changes them, and run.resume records what changed). Returns the
// changes forced, empty when there are none.
Json adopt_recorded_settings(RunArgs& args, const std::string& journal_path) {
    if (!fs::exists(journal_path))
        throw UsageError(journal_path +
                         ": no such journal, so there is no run to resume; check the path, or "
                         "leave out --resume to start a new run");
    std::optional<RunSettings> recorded = recorded_settings(journal::read_journal(journal_path));
    if (!recorded) return Json::object();  // check_resume says there is no run
    std::vector<std::string> differences;
    Json changed = Json::object();
    if (args.env.empty()) {
        args.env = recorded->env;
    } else if (args.env != recorded->env) {
        differences.push_back("--env " + args.env + " (the run used " +
                              (recorded->env.empty() ? "none" : recorded->env) + ")");
        changed["env"] = Json{{"from", recorded->env}, {"to", args.env}};
    }
    bool rehearsal = recorded->mode == kinds::RunMode::rehearsal;
    if (!args.rehearsal && rehearsal) {
        args.rehearsal = true;
    } else if (args.rehearsal && !rehearsal) {
        differences.push_back("--rehearsal (the run is a production run)");
        changed["mode"] = Json{{"from", "production"}, {"to", "rehearsal"}};
    }
    if (args.limit.empty()) {
        args.limit = recorded->limit;
    } else if (args.limit != recorded->limit) {
        differences.push_back("--limit " + args.limit + " (the run used " +
                              (recorded->limit.empty() ? "none" : recorded->limit) + ")");
        changed["limit"] = Json{{"from", recorded->limit}, {"to", args.limit}};
    }
    std::map<std::string, std::string> given = parse_sets(args.sets);
    if (recorded->sets_recorded) {
        for (const auto& [name, value] : given) {
            auto it = recorded->sets.find(name);
            if (it == recorded->sets.end()) {
                differences.push_back("--set " + name + " (the run did not set it)");
                changed["sets"][name] = Json{{"from", nullptr}, {"to", value}};
            } else if (it->second != value && it->second != k_secret_set) {
                differences.push_back("--set " + name + "=" + value + " (the run had " +
                                      it->second + ")");
                changed["sets"][name] = Json{{"from", it->second}, {"to", value}};
            }
        }
        std::vector<std::string> missing;
        for (const auto& [name, value] : recorded->sets) {
            if (given.count(name)) continue;
            if (value == k_secret_set)
                missing.push_back(name);
            else
                args.sets.push_back(name + "=" + value);
        }
        if (!missing.empty())
            throw UsageError("the run set " + join(missing, ", ") +
                             " with a value that holds a secret, which the journal does not "
                             "keep; give it again: --set " +
                             join(missing, "=... --set ") + "=...");
    }
    if (!differences.empty() && !args.force)
        throw UsageError(
            "the resume would change the run it continues: " + join(differences, "; ") +
            ". Leave these out to continue with the run's own settings, or add "
            "--force to change them (the journal records the change)");
    return changed;
}

// Checks that resuming this journal makes sense; returns what earlier runs finished.
engine::PriorState check_resume(const runbook::Runbook& book, const journal::Writer& writer,
                                const RunArgs& args) {
    engine::PriorState prior = engine::read_prior_state(writer.existing());
    if (!prior.has_run)
        throw UsageError(args.journal +
                         ": the journal holds no run to resume; run without --resume");
    if (prior.last_status == "ok")
        throw Fatal(args.journal + ": the run " + prior.last_run_id +
                        " already completed; there is nothing to resume",
                    0);
    if (prior.runbook_sha256 != book.sha256 && !args.force) {
        std::vector<std::string> changed = changed_steps(book, prior);
        throw UsageError("the runbook changed since this journal's run began" +
                         (changed.empty() ? std::string(" (no step definition changed)")
                                          : "; changed steps: " + join(changed, ", ")) +
                         ". Resume anyway with --force, or start a new run with a new journal");
    }
    return prior;
}

Json run_start_fields(const runbook::Runbook& book, const RunArgs& args, kinds::RunMode mode,
                      const engine::PriorState* prior, const Json& forced_settings) {
    Json steps = Json::array();
    Json hashes = Json::object();
    for (const runbook::Step* step : book.steps()) {
        steps.push_back(step->id);
        hashes[step->id] = step->definition_hash;
    }
    Json fields{{"runbook", fs::absolute(args.runbook).string()},
                {"runbook_sha256", book.sha256},
                {"name", book.name},
                {"env", args.env},
                {"mode", kinds::run_mode_name(mode)},
                {"host", host_name()},
                {"user", io::os_user()},
                {"pid", ::getpid()},
                {"version", MIGRATE_VERSION},
                {"steps", steps},
                {"step_hashes", hashes}};
    Json sets = Json::object();
    for (const auto& [name, value] : parse_sets(args.sets))
        sets[name] = Redactor::global().redact(value) == value ? value : k_secret_set;
    fields["sets"] = sets;
    if (args.yes) fields["yes"] = true;
    if (!args.limit.empty()) fields["limit"] = args.limit;
    if (book.downtime_budget) fields["downtime_budget_ms"] = book.downtime_budget->count();
    if (prior != nullptr) {
        fields["resumes"] = prior->last_run_id;
        fields["done"] = Json(std::vector<std::string>(prior->done.begin(), prior->done.end()));
        if (args.force && prior->runbook_sha256 != book.sha256)
            fields["forced"] = changed_steps(book, *prior);
        if (!forced_settings.empty()) fields["forced_settings"] = forced_settings;
    }
    if (!args.from.empty()) fields["from"] = args.from;
    if (!args.only.empty()) fields["only"] = args.only;
    if (!args.forecast_from.empty()) {
        Json paths = Json::array();
        for (const std::string& path : args.forecast_from)
            paths.push_back(fs::absolute(path).string());
        fields["forecast_from"] = paths;
    }
    return fields;
}

// "journals/NAME-ENV.lock" beside the journal: one run per runbook and environment.
std::string run_lock_path(const runbook::Runbook& book, const std::string& env,
                          const std::string& journal_path) {
    fs::path folder = fs::absolute(journal_path).parent_path();
    return (folder / ("." + run_file_stem(book, env) + ".lock")).string();
}

// The command that continues this run exactly: env, mode and --set come from the journal,
// so only what is not recorded there is repeated.
std::string continue_command(const RunArgs& args, const std::string& journal_path) {
    std::string command = "migrate run " + shell_quote(fs::absolute(args.runbook).string());
    if (!args.env.empty()) command += " --env " + shell_quote(args.env);
    if (args.rehearsal) command += " --rehearsal";
    command += " --journal " + shell_quote(fs::absolute(journal_path).string()) + " --resume";
    for (const auto& [name, value] : parse_sets(args.sets))
        if (Redactor::global().redact(value) != value) command += " --set " + name + "=...";
    if (!args.secrets_file.empty())
        command += " --secrets " + shell_quote(fs::absolute(args.secrets_file).string());
    if (args.max_parallel != 4) command += " --max-parallel " + std::to_string(args.max_parallel);
    if (args.parallel_run) command += " --parallel-run";
    if (args.yes) command += " --yes";
    return command;
}

int execute(RunArgs args, const GlobalOptions& global) {
    if (args.resume && args.journal.empty())
        throw UsageError("--resume needs --journal: the journal of the run to continue");
    if (args.resume && args.dry_run) throw UsageError("--resume and --dry-run do not go together");
    Json forced_settings = Json::object();
    if (args.resume) forced_settings = adopt_recorded_settings(args, args.journal);
    kinds::RunMode mode = args.dry_run     ? kinds::RunMode::dry_run
                          : args.rehearsal ? kinds::RunMode::rehearsal
                                           : kinds::RunMode::production;
    runbook::ValidateOptions validate;
    if (!args.env.empty()) validate.env = args.env;
    validate.sets = parse_sets(args.sets);
    runbook::LoadedRunbook loaded = load_checked(args.runbook, validate, global);
    const runbook::Runbook& book = loaded.book;
    if (args.env.empty() && !book.environments.empty()) {
        std::vector<std::string> names;
        for (const auto& [name, env] : book.environments) names.push_back(name);
        throw UsageError("the runbook declares environments; choose one with --env (" +
                         join(names, ", ") + ")");
    }
    runbook::StepGraph graph(book);
    check_step_ids(graph, args);
    engine::SecretStore secrets(args.secrets_file.empty() && std::getenv("MIGRATE_SECRETS_FILE")
                                    ? std::getenv("MIGRATE_SECRETS_FILE")
                                    : args.secrets_file);
    io::SystemClock clock;
    std::string run_id = new_run_id(clock.wall_ms());
    auto variables = resolve_run_variables(book, args, mode, run_id, secrets);
    if (mode != kinds::RunMode::dry_run) check_run_inputs(book, secrets);
    if (!args.limit.empty() &&
        select_limited(resolve_inventory(book, variables), args.limit, "--limit").empty())
        throw UsageError("--limit '" + args.limit + "' selects no host of the inventory");
    if (mode == kinds::RunMode::production) confirm_production(book, args);

    io::SystemProcessRunner processes;
    io::CurlHttpClient http;
    std::unique_ptr<io::db::Connector> mysql = io::db::find_driver("mysql")->make();
    engine::Console console(std::cout, ::isatty(1) != 0, global.json());
    engine::RunOptions run_options{mode,
                                   args.from.empty() ? std::nullopt : std::optional(args.from),
                                   args.only, args.max_parallel, ""};
    run_options.limit = args.limit;
    if (book.grace) run_options.grace = *book.grace;
    auto secret_lookup = [&secrets](const std::string& name) { return secrets.get(name); };

    if (mode == kinds::RunMode::dry_run) {
        io::EngineConfirmations confirmations("", false, false);
        io::Services services{.processes = processes,
                              .http = http,
                              .confirmations = confirmations,
                              .clock = clock,
                              .database = *mysql};
        console.line("dry run of '" + book.name +
                     "': preflight checks only, nothing is changed or journaled");
        engine::Engine engine({book, steps::builtin_kinds(), services, nullptr, console,
                               run_options, variables, secret_lookup});
        engine::RunOutcome outcome = engine.dry_run();
        if (global.json())
            print_json(
                Json{{"mode", "dry-run"}, {"status", outcome.status}, {"failed", outcome.failed}});
        else
            console.line(outcome.failed.empty()
                             ? "dry run: every preflight check passed"
                             : "dry run: preflight failed for " + join(outcome.failed, ", "));
        return outcome.exit_code;
    }

    std::string journal_path =
        args.journal.empty() ? default_journal(book, args, run_id) : args.journal;
    RunArgs resolved = args;
    resolved.journal = journal_path;
    std::unique_ptr<journal::RunLock> run_lock;
    if (!args.parallel_run)
        run_lock = journal::RunLock::take(run_lock_path(book, args.env, journal_path),
                                          fs::absolute(journal_path).string());
    auto writer = journal::Writer::open(journal_path, run_id, clock, args.force);
    engine::PriorState prior;
    if (args.resume) {
        prior = check_resume(book, *writer, resolved);
    } else if (!writer->existing().records.empty()) {
        throw UsageError(
            journal_path +
            " already holds a run; continue it with --resume, or give a new --journal");
    }
    // The rehearsals of the live forecast, read before anything is journaled: a bad one is
    // refused before the run starts.
    std::vector<report::JournalInput> rehearsals = read_journals(args.forecast_from, false);
    refuse_foreign_journals(book, rehearsals);
    run_options.log_dir = fs::absolute(journal_path).string() + ".logs";
    fs::create_directories(run_options.log_dir);
    io::EngineConfirmations confirmations(
        journal_path, args.yes && mode == kinds::RunMode::rehearsal, ::isatty(0) != 0);
    io::Services services{.processes = processes,
                          .http = http,
                          .confirmations = confirmations,
                          .clock = clock,
                          .database = *mysql};
    writer->append(
        args.resume ? "run.resume" : "run.start",
        run_start_fields(book, resolved, mode, args.resume ? &prior : nullptr, forced_settings),
        true);
    console.line(std::string(args.resume ? "resuming" : "run") + " " + run_id + " of '" +
                 book.name + "' (" + kinds::run_mode_name(mode) +
                 (args.env.empty() ? "" : ", env " + args.env) + "), journal " + journal_path);
    engine::install_stop_signals();
    engine::EngineSetup setup{
        book,      steps::builtin_kinds(), services, writer.get(), console, run_options,
        variables, secret_lookup};
    std::unique_ptr<ForecastWatch> watch;
    if (!rehearsals.empty()) {
        report::EstimateOptions estimate_options;
        if (!args.env.empty()) estimate_options.env = args.env;
        estimate_options.sets = parse_sets(args.sets);
        watch =
            std::make_unique<ForecastWatch>(book, std::move(rehearsals), estimate_options,
                                            journal_path, *writer, console, confirmations, clock);
        setup.watch = [&watch](bool look, bool step_ended) { return (*watch)(look, step_ended); };
    }
    engine::Engine engine(std::move(setup));
    engine::RunOutcome outcome = engine.run(prior);
    watch.reset();  // a go/no-go still open ends with the run
    if (global.json()) {
        print_json(Json{{"run", run_id},
                        {"journal", journal_path},
                        {"status", outcome.status},
                        {"failed", outcome.failed},
                        {"tolerated", outcome.tolerated}});
    } else {
        std::string summary = "run " + run_id + ": " + outcome.status;
        if (!outcome.failed.empty()) summary += "; failed: " + join(outcome.failed, ", ");
        if (!outcome.tolerated.empty())
            summary +=
                "; failed but tolerated (on_failure: continue): " + join(outcome.tolerated, ", ");
        if (outcome.status != "ok")
            summary += "\ncontinue with: " + continue_command(args, journal_path);
        console.line(summary);
    }
    return outcome.exit_code;
}

}  // namespace

CommandAction setup_run(CLI::App& app, GlobalOptions& global) {
    auto args = std::make_shared<RunArgs>();
    app.add_option("runbook", args->runbook, "the runbook")->required();
    app.add_option("--env", args->env, "the environment to run against");
    app.add_option("--journal", args->journal,
                   "the journal (default: journals/NAME-ENV-RUNID.jsonl)");
    app.add_flag("--dry-run", args->dry_run, "preflight checks only: no side effects, no journal");
    app.add_flag("--rehearsal", args->rehearsal, "a rehearsal (against pre-production)");
    app.add_flag("--resume", args->resume, "continue the run in --journal where it stopped");
    app.add_flag("--force", args->force,
                 "resume although the runbook, the environment, the mode or a --set changed");
    app.add_option("--from", args->from, "skip the steps before this one");
    app.add_option("--only", args->only, "run only these steps");
    app.add_option("--set", args->sets, "override a variable: name=value");
    app.add_flag(
        "--yes", args->yes,
        "no questions: confirms a production run; in a rehearsal also confirms manual steps");
    app.add_option("--secrets", args->secrets_file,
                   "a file of NAME=value secrets (default: $MIGRATE_SECRETS_FILE)");
    app.add_option("--limit", args->limit,
                   "only the hosts of this pattern, in every step that works on hosts");
    app.add_option("--max-parallel", args->max_parallel,
                   "how many independent steps may run at once")
        ->check(CLI::Range(1, 64))
        ->capture_default_str();
    app.add_option("--forecast-from", args->forecast_from,
                   "rehearsal journals: the console shows the window's expected end as steps "
                   "finish, alerts when its P90 passes the budget, and watches window.must_end_by");
    app.add_flag("--parallel-run", args->parallel_run,
                 "allow this run while another run of the same runbook and environment goes on");
    return [args, &global] { return execute(*args, global); };
}

}  // namespace migrate::cli
