// migrate status JOURNAL: done, running (with progress), waiting for whom, left.
#include <algorithm>
#include <fstream>
#include <iomanip>
#include <iostream>

#include "cli.h"
#include "migrate/io/clock.h"
#include "migrate/report/live.h"
#include "migrate/report/progress.h"
#include "migrate/report/render.h"
#include "migrate/report/timeline.h"
#include "migrate/util/redactor.h"
#include "migrate/util/text.h"
#include "migrate/util/units.h"

namespace migrate::cli {
namespace {

// The last non-empty line of a log file (its last 4 KiB are read), for a running step.
std::string last_log_line(const std::string& path) {
    std::ifstream in(path, std::ios::binary | std::ios::ate);
    if (!in) return "";
    std::streamoff size = in.tellg();
    std::streamoff from = std::max<std::streamoff>(0, size - 4096);
    in.seekg(from);
    std::string tail(static_cast<std::size_t>(size - from), '\0');
    in.read(tail.data(), static_cast<std::streamsize>(tail.size()));
    std::string line = trim(tail_lines(tail, 1, 4096));
    return Redactor::global().redact(line);
}

// The live forecast when the run was started with --forecast-from: the runbook and the
// rehearsals it names are read again; none when it was not, or they are gone (said on
// stderr).
std::optional<report::LiveForecast> live_of(const journal::ReadResult& read,
                                            const report::Timeline& timeline, std::int64_t now,
                                            const GlobalOptions& global) {
    const journal::Record* start = nullptr;
    for (const journal::Record& record : read.records)
        if (record.event() == "run.start" || record.event() == "run.resume") start = &record;
    if (start == nullptr || !start->data.contains("forecast_from")) return std::nullopt;
    try {
        runbook::ValidateOptions validate;
        std::string env = start->string("env");
        if (!env.empty()) validate.env = env;
        if (auto sets = start->data.find("sets"); sets != start->data.end() && sets->is_object())
            for (const auto& [name, value] : sets->items())
                if (value.is_string() && value.get<std::string>() != "***")
                    validate.sets[name] = value.get<std::string>();
        runbook::LoadedRunbook loaded =
            load_checked(start->string("runbook"), validate, global, false);
        std::vector<std::string> paths;
        for (const auto& path : start->data["forecast_from"])
            paths.push_back(path.get<std::string>());
        std::vector<report::JournalInput> rehearsals = read_journals(paths, true);
        report::EstimateOptions options;
        options.env = validate.env;
        options.sets = validate.sets;
        report::Forecast forecast = report::estimate(loaded.book, rehearsals, options);
        return report::live_forecast(loaded.book, forecast, rehearsals, timeline, now, options);
    } catch (const std::exception& e) {
        std::cerr << "no live forecast: " << e.what() << "\n";
        return std::nullopt;
    }
}

}  // namespace

CommandAction setup_status(CLI::App& app, GlobalOptions& global) {
    auto path = std::make_shared<std::string>();
    app.add_option("journal", *path, "the run's journal")->required();
    return [path, &global] {
        journal::ReadResult read = journal::read_journal(*path);
        report::RunStanding run = report::standing_of(read, journal::is_locked(*path));
        std::map<std::string, int> counts;
        for (const auto& step : run.steps) ++counts[step.state];
        std::int64_t now = io::SystemClock().wall_ms();
        auto elapsed_of = [&](const report::StepStanding& step) -> std::int64_t {
            return step.started.empty()
                       ? 0
                       : std::max<std::int64_t>(0, now - parse_utc_ms(step.started));
        };
        // The outage, as the report counts it: open when it began and did not end yet.
        std::optional<report::Outage> open_outage;
        std::optional<report::LiveForecast> live;
        if (!read.records.empty()) {
            report::Timeline timeline = report::build_timeline(read);
            if (!timeline.outages.empty() && !timeline.outages.back().end_ms)
                open_outage = timeline.outages.back();
            if (run.status == "running" || run.status == "stopped")
                live = live_of(read, timeline, now, global);
        }
        if (global.json()) {
            Json steps = Json::array();
            for (const auto& step : run.steps) {
                Json item{{"step", step.id},
                          {"state", step.state},
                          {"role", step.role},
                          {"detail", step.detail},
                          {"duration_ms", step.duration_ms}};
                if (step.state == "running" || step.state == "waiting") {
                    item["elapsed_ms"] = elapsed_of(step);
                    if (!step.log.empty()) {
                        item["log"] = step.log;
                        item["last_log_line"] = last_log_line(step.log);
                    }
                }
                steps.push_back(item);
            }
            Json out{{"journal", *path}, {"run", run.run_id}, {"status", run.status},
                     {"mode", run.mode}, {"env", run.env},    {"counts", counts},
                     {"steps", steps}};
            out["downtime_open"] = open_outage.has_value();
            if (open_outage)
                out["downtime_since"] = Json{{"start", format_utc_ms(open_outage->start_ms)},
                                             {"step", open_outage->start_step}};
            if (live) out["forecast"] = report::live_json(*live);
            if (read.problem)
                out["problem"] =
                    Json{{"line", read.problem->line}, {"message", read.problem->message}};
            print_json(out);
            return 0;
        }
        if (read.problem)
            std::cerr << *path << ":" << read.problem->line << ": " << read.problem->message
                      << " (status shows the records before it)\n";
        if (run.run_id.empty()) {
            std::cout << *path << ": no run recorded yet\n";
            return 0;
        }
        std::cout << "run " << run.run_id << " (" << run.mode
                  << (run.env.empty() ? "" : ", env " + run.env) << "): " << run.status;
        if (run.status == "stopped")
            std::cout
                << " without a run.end record (killed?); continue it with 'migrate run --resume'";
        if (run.status == "interrupted") std::cout << "; continue it with 'migrate run --resume'";
        std::cout << "\n";
        if (open_outage)
            std::cout << "downtime window OPEN since " << report::clock_time(open_outage->start_ms)
                      << " UTC (step '" << open_outage->start_step << "'), "
                      << format_duration(Millis(now - open_outage->start_ms)) << " so far\n";
        if (live) std::cout << "forecast: " << report::live_line(*live) << "\n";
        if (live && live->over_budget)
            std::cout << "!!! the window's P90 end is past the downtime budget\n";
        if (live && live->deadline_missed)
            std::cout << "!!! past the point of no return: finishing forward (P90) ends after "
                         "must_end_by\n";
        for (const auto& step : run.steps) {
            std::cout << "  " << std::left << std::setw(12) << step.state << std::setw(24)
                      << step.id;
            if (step.state == "ok" || step.state == "failed")
                std::cout << format_duration(Millis(step.duration_ms)) << "  ";
            bool active = step.state == "running" || step.state == "waiting";
            std::cout << step.detail;
            if (active && run.status == "running")
                std::cout << (step.detail.empty() ? "(" : " (")
                          << format_duration(Millis(elapsed_of(step))) << " so far)";
            std::cout << "\n";
            if (active && run.status == "running" && !step.log.empty()) {
                std::string last = last_log_line(step.log);
                if (!last.empty()) std::cout << std::string(14, ' ') << "last: " << last << "\n";
                std::cout << std::string(14, ' ') << "log:  " << step.log << "\n";
            }
        }
        std::cout << counts["ok"] << " done, " << counts["running"] << " running, "
                  << counts["waiting"] << " waiting for people, " << counts["failed"] << " failed, "
                  << counts["left"] + counts["interrupted"] << " left\n";
        return 0;
    };
}

}  // namespace migrate::cli
