// Building a timeline out of journal records.
#include "migrate/report/timeline.h"

#include <map>

#include "migrate/util/error.h"

namespace migrate::report {

const RunInfo* Timeline::run(const std::string& id) const {
    for (const RunInfo& info : runs)
        if (info.id == id) return &info;
    return nullptr;
}

journal::ReadResult read_for_analysis(const std::string& path, bool force) {
    journal::ReadResult read = journal::read_journal(path);
    if (read.problem) {
        bool newer = read.problem->message.find("is not supported") != std::string::npos;
        std::string where = path + ":" + std::to_string(read.problem->line) + ": " + read.problem->message;
        if (newer) throw UsageError(where);
        if (!force)
            throw UsageError(where + "; the journal does not verify (--force reads the " +
                             std::to_string(read.records.size()) + " records before that line)");
    }
    if (read.records.empty())
        throw UsageError(path + ": the journal holds no records" +
                         (read.torn_tail ? " (only a torn line)" : std::string()));
    return read;
}

namespace {

std::int64_t time_of(const journal::Record& record) { return parse_utc_ms(record.string("ts")); }

}  // namespace

Timeline build_timeline(const journal::ReadResult& journal) {
    Timeline timeline;
    std::map<std::string, std::size_t> open;  // step id -> index of its execution without an end
    for (const journal::Record& record : journal.records) {
        const std::string& event = record.event();
        const Json& data = record.data;
        std::int64_t at = time_of(record);
        if (timeline.start_ms == 0) timeline.start_ms = at;
        timeline.end_ms = std::max(timeline.end_ms, at);
        bool starts_run = event == "run.start" || event == "run.resume";
        if (!timeline.runs.empty() && !starts_run) timeline.runs.back().end_ms = at;
        if (starts_run) {
            RunInfo info{record.string("run"), event, record.string("name"), record.string("runbook"),
                         record.string("runbook_sha256"), record.string("mode"), record.string("env"), "stopped", at, at,
                         std::nullopt};
            if (data.contains("downtime_budget_ms")) info.downtime_budget_ms = data["downtime_budget_ms"].get<std::int64_t>();
            // A run that stopped without run.end leaves its steps open; they ended when it did.
            for (auto& [id, index] : open) {
                StepExecution& step = timeline.steps[index];
                step.status = "interrupted";
                step.end_ms = timeline.runs.empty() ? step.start_ms : timeline.runs.back().end_ms;
                step.duration_ms = step.end_ms - step.start_ms;
            }
            open.clear();
            timeline.runs.push_back(info);
            continue;
        }
        if (event == "run.end") {
            if (!timeline.runs.empty()) timeline.runs.back().status = record.string("status");
            continue;
        }
        std::string id = record.string("step");
        if (id.empty()) continue;
        if (event == "step.start") {
            StepExecution step;
            step.step = id;
            step.phase = record.string("phase");
            step.kind = record.string("kind");
            step.role = record.string("role");
            step.name = record.string("name");
            step.run_id = record.string("run");
            step.status = "running";
            step.start_ms = step.end_ms = at;
            step.downtime = record.string("downtime");
            step.rollback_of = record.string("rollback_of");
            open[id] = timeline.steps.size();
            timeline.steps.push_back(step);
        } else if (event == "step.retry" && open.count(id)) {
            timeline.steps[open[id]].retry_ms.push_back(at);
        } else if (event == "step.confirm" && open.count(id)) {
            StepExecution& step = timeline.steps[open[id]];
            step.waited_ms += data.value("waited_ms", std::int64_t{0});
            step.confirmed_by = record.string("by");
        } else if (event == "step.end") {
            if (!open.count(id)) {  // skipped steps end without a start
                StepExecution step;
                step.step = id;
                step.phase = record.string("phase");
                step.kind = record.string("kind");
                step.role = record.string("role");
                step.run_id = record.string("run");
                step.start_ms = at;
                open[id] = timeline.steps.size();
                timeline.steps.push_back(step);
            }
            StepExecution& step = timeline.steps[open[id]];
            step.status = record.string("status");
            step.duration_ms = data.value("duration_ms", std::int64_t{0});
            step.end_ms = at;
            step.start_ms = std::min(step.start_ms, at - step.duration_ms);
            step.attempts = data.value("attempts", 0);
            step.metrics = data.value("metrics", Json::object());
            step.error = data.contains("error") ? record.string("error") : record.string("reason");
            if (step.downtime.empty()) step.downtime = record.string("downtime");
            open.erase(id);
        }
    }
    for (auto& [id, index] : open) {  // still running, or the run was killed
        StepExecution& step = timeline.steps[index];
        step.end_ms = timeline.end_ms;
        step.duration_ms = step.end_ms - step.start_ms;
    }
    // The window as it happened: the last time it opened, and the end that followed.
    for (const StepExecution& step : timeline.steps) {
        if (step.downtime == "start" && step.status != "skipped") {
            timeline.downtime_start_ms = step.start_ms;
            timeline.downtime_start_step = step.step;
            timeline.downtime_end_ms.reset();
        }
        if (step.downtime == "end" && step.status == "ok" && timeline.downtime_start_ms) {
            timeline.downtime_end_ms = step.end_ms;
            timeline.downtime_end_step = step.step;
        }
    }
    return timeline;
}

}  // namespace migrate::report
