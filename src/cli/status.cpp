// migrate status JOURNAL: done, running (with progress), waiting for whom, left.
#include <algorithm>
#include <fstream>
#include <iomanip>
#include <iostream>

#include "cli.h"
#include "migrate/io/clock.h"
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
        if (!read.records.empty()) {
            report::Timeline timeline = report::build_timeline(read);
            if (!timeline.outages.empty() && !timeline.outages.back().end_ms)
                open_outage = timeline.outages.back();
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
        for (const auto& step : run.steps) {
            std::cout << "  " << std::left << std::setw(12) << step.state << std::setw(24)
                      << step.id;
            if (step.state == "ok" || step.state == "failed")
                std::cout << format_duration(Millis(step.duration_ms)) << "  ";
            bool live = step.state == "running" || step.state == "waiting";
            std::cout << step.detail;
            if (live && run.status == "running")
                std::cout << (step.detail.empty() ? "(" : " (")
                          << format_duration(Millis(elapsed_of(step))) << " so far)";
            std::cout << "\n";
            if (live && run.status == "running" && !step.log.empty()) {
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
