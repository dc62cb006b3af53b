// Reading a run's standing out of the journal.
#include "migrate/report/progress.h"

#include "migrate/steps/kinds.h"

namespace migrate::report {

const StepStanding* RunStanding::find(const std::string& id) const {
    for (const StepStanding& step : steps)
        if (step.id == id) return &step;
    return nullptr;
}

RunStanding standing_of(const journal::ReadResult& result, bool locked) {
    RunStanding run;
    std::map<std::string, std::size_t> index;
    auto slot = [&](const std::string& id) -> StepStanding& {
        auto it = index.find(id);
        if (it != index.end()) return run.steps[it->second];
        index[id] = run.steps.size();
        run.steps.push_back(StepStanding{id});
        return run.steps.back();
    };
    bool ended = false;
    for (const journal::Record& record : result.records) {
        const std::string& event = record.event();
        const journal::Json& data = record.data;
        if (event == "run.start" || event == "run.resume") {
            run.run_id = record.string("run");
            run.mode = record.string("mode");
            run.env = record.string("env");
            run.runbook = record.string("runbook");
            ended = false;
            if (data.contains("steps"))
                for (const auto& id : data["steps"]) slot(id.get<std::string>());
            // Steps that were running when an earlier run stopped are not running any more.
            for (StepStanding& step : run.steps)
                if (step.state == "running" || step.state == "waiting") step.state = "interrupted";
        } else if (event == "run.end") {
            run.status = record.string("status");
            ended = true;
        } else if (data.contains("step") && data.contains("rollback_of")) {
            continue;  // rollback steps are listed by report, not among the runbook's steps
        } else if (event == "step.start") {
            StepStanding& step = slot(record.string("step"));
            step.role = record.string("role");
            step.kind = record.string("kind");
            bool people = steps::is_people_kind(step.kind);
            step.state = people ? "waiting" : "running";
            step.detail = people ? "waiting for " + step.role : "";
            step.start_line = record.line;
            step.started = record.string("ts");
            step.log = record.string("log");
        } else if (event == "step.progress") {
            slot(record.string("step")).detail = record.string("message");
        } else if (event == "step.retry") {
            slot(record.string("step")).detail = "retrying after: " + record.string("error");
        } else if (event == "step.end") {
            StepStanding& step = slot(record.string("step"));
            step.state = record.string("status");
            step.role = record.string("role");
            step.kind = record.string("kind");
            step.duration_ms = data.value("duration_ms", std::int64_t{0});
            step.detail = data.contains("error") ? record.string("error") : record.string("reason");
        }
    }
    if (!ended) {
        run.status = locked ? "running" : "stopped";
        if (!locked)
            for (StepStanding& step : run.steps)
                if (step.state == "running" || step.state == "waiting") step.state = "interrupted";
    }
    return run;
}

}  // namespace migrate::report
