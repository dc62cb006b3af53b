// migrate status JOURNAL: done, running (with progress), waiting for whom, left.
#include <iomanip>
#include <iostream>

#include "cli.h"
#include "migrate/report/progress.h"
#include "migrate/util/units.h"

namespace migrate::cli {

CommandAction setup_status(CLI::App& app, GlobalOptions& global) {
    auto path = std::make_shared<std::string>();
    app.add_option("journal", *path, "the run's journal")->required();
    return [path, &global] {
        journal::ReadResult read = journal::read_journal(*path);
        report::RunStanding run = report::standing_of(read, journal::is_locked(*path));
        std::map<std::string, int> counts;
        for (const auto& step : run.steps) ++counts[step.state];
        if (global.json()) {
            Json steps = Json::array();
            for (const auto& step : run.steps)
                steps.push_back(Json{{"step", step.id},
                                     {"state", step.state},
                                     {"role", step.role},
                                     {"detail", step.detail},
                                     {"duration_ms", step.duration_ms}});
            Json out{{"journal", *path}, {"run", run.run_id}, {"status", run.status},
                     {"mode", run.mode}, {"env", run.env},    {"counts", counts},
                     {"steps", steps}};
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
        for (const auto& step : run.steps) {
            std::cout << "  " << std::left << std::setw(12) << step.state << std::setw(24)
                      << step.id;
            if (step.state == "ok" || step.state == "failed")
                std::cout << format_duration(Millis(step.duration_ms)) << "  ";
            std::cout << step.detail << "\n";
        }
        std::cout << counts["ok"] << " done, " << counts["running"] << " running, "
                  << counts["waiting"] << " waiting for people, " << counts["failed"] << " failed, "
                  << counts["left"] + counts["interrupted"] << " left\n";
        return 0;
    };
}

}  // namespace migrate::cli
