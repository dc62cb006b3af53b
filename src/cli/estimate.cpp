// migrate estimate RUNBOOK [--journal J]... [--set k=v]... [--budget D] [--lag D] [--backtest]
#include <algorithm>
#include <filesystem>
#include <iostream>

#include "cli.h"
#include "migrate/report/render.h"
#include "migrate/util/error.h"
#include "migrate/util/huge_pages.h"
#include "migrate/util/units.h"

namespace migrate::cli {

void heap_for_journals(const std::vector<std::string>& paths) {
    std::uintmax_t total = 0;
    for (const std::string& path : paths) {
        std::error_code error;
        std::uintmax_t size = std::filesystem::file_size(path, error);
        if (!error) total += size;
    }
    heap_on_huge_pages(static_cast<std::size_t>(total));
}

std::vector<report::JournalInput> read_journals(const std::vector<std::string>& paths, bool force) {
    std::vector<report::JournalInput> inputs;
    for (const std::string& path : paths)
        inputs.push_back({path, report::load_timeline(path, force)});
    return inputs;
}

// A journal of another runbook with no step of this one forecasts nothing: 0 ms "within the
// budget" would be a lie.
void refuse_foreign_journals(const runbook::Runbook& book,
                             const std::vector<report::JournalInput>& journals) {
    for (const report::JournalInput& input : journals) {
        const report::Timeline& timeline = input.timeline;
        if (timeline.runbook_name().empty() || timeline.runbook_name() == book.name) continue;
        bool shared = std::any_of(
            timeline.steps.begin(), timeline.steps.end(),
            [&](const report::StepExecution& step) { return book.find_step(step.step); });
        if (!shared)
            throw UsageError(input.path + " is a journal of runbook '" + timeline.runbook_name() +
                             "', not '" + book.name +
                             "', and none of its steps is in this runbook: it says nothing about "
                             "this runbook's durations");
    }
}

CommandAction setup_estimate(CLI::App& app, GlobalOptions& global) {
    struct Options {
        std::string runbook;
        std::vector<std::string> journals;
        std::vector<std::string> sets;
        std::string env;
        std::string budget;
        std::string lag;
        bool force = false;
        bool backtest = false;
        std::uint64_t seed = report::EstimateOptions{}.seed;
        int draws = report::EstimateOptions{}.draws;
    };
    auto options = std::make_shared<Options>();
    app.add_option("runbook", options->runbook, "the runbook of the next run")->required();
    app.add_option("--journal", options->journals,
                   "a journal of an earlier run (rehearsal); give several for P50/P90; none: "
                   "the runbook's estimate: priors alone");
    app.add_option("--set", options->sets,
                   "override a variable, e.g. an expected volume: backup_bytes=35GB");
    app.add_option("--env", options->env, "the environment whose variables apply");
    app.add_option("--budget", options->budget,
                   "the downtime budget (default: the runbook's downtime_budget)");
    app.add_option("--lag", options->lag,
                   "time between the watermark (the backup) and the delta copy, e.g. 44h");
    app.add_flag("--backtest", options->backtest,
                 "forecast each journal's run from the other journals, at its own volumes, and "
                 "show per run and step the error and whether the P90 covered it");
    app.add_option("--seed", options->seed,
                   "the seed of the Monte Carlo draws (the same seed, the same figures)");
    app.add_option("--draws", options->draws,
                   "how many joint draws the run's and the window's percentiles come from")
        ->check(CLI::Range(1, 1'000'000))
        ->capture_default_str();
    app.add_flag("--force", options->force,
                 "read the records before the first bad line of journals that do not verify");
    return [options, &global] {
        runbook::ValidateOptions validate;
        if (!options->env.empty()) validate.env = options->env;
        validate.sets = parse_sets(options->sets);
        runbook::LoadedRunbook loaded = load_checked(options->runbook, validate, global, false);
        report::EstimateOptions estimate_options;
        if (!options->env.empty()) estimate_options.env = options->env;
        estimate_options.sets = validate.sets;
        auto duration = [](const std::string& text, const char* option) {
            auto parsed = parse_duration(text);
            if (!parsed)
                throw UsageError(std::string(option) + ": bad duration '" + text +
                                 "'; write it like 90s, 15m, 2h or 1h30m");
            return *parsed;
        };
        if (!options->budget.empty())
            estimate_options.budget = duration(options->budget, "--budget");
        if (!options->lag.empty()) estimate_options.lag = duration(options->lag, "--lag");
        heap_for_journals(options->journals);
        std::vector<report::JournalInput> journals =
            read_journals(options->journals, options->force);
        refuse_foreign_journals(loaded.book, journals);
        estimate_options.seed = options->seed;
        estimate_options.draws = options->draws;
        report::Forecast forecast = report::estimate(loaded.book, journals, estimate_options);
        // Two journals or more: how well they forecast each other, always (the detail with
        // --backtest).
        std::optional<report::Backtest> backtest;
        if (journals.size() >= 2 || options->backtest)
            backtest = report::backtest(loaded.book, journals, estimate_options);
        if (global.json()) {
            Json out = report::forecast_json(forecast);
            if (backtest) out["backtest"] = report::backtest_json(*backtest);
            print_json(out);
        } else {
            std::cout << report::forecast_text(forecast);
            if (backtest && options->backtest)
                std::cout << report::backtest_text(*backtest, true);
            else if (backtest)
                std::cout << "\n" << backtest->summary() << " (--backtest for the detail)\n";
        }
        return forecast.over_budget ? exit_code::k_over_budget : 0;
    };
}

}  // namespace migrate::cli
