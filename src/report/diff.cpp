// Comparing two runs.
#include "migrate/report/diff.h"

#include <map>

namespace migrate::report {
namespace {

std::map<std::string, StepSummary> summarise(const Timeline& timeline,
                                             std::vector<std::string>& order) {
    std::map<std::string, StepSummary> out;
    for (const StepExecution& execution : timeline.steps) {
        if (!execution.rollback_of.empty()) continue;
        auto [it, inserted] = out.emplace(execution.step, StepSummary{});
        if (inserted) order.push_back(execution.step);
        StepSummary& summary = it->second;
        if (summary.status != "ok" || execution.status == "ok")
            summary.duration_ms = execution.duration_ms;
        summary.status = execution.status;
        summary.attempts += execution.attempts;
        summary.retries += static_cast<int>(execution.retry_ms.size());
        summary.failures += execution.status == "failed";
    }
    return out;
}

std::int64_t total(const Timeline& timeline) {
    std::int64_t sum = 0;
    for (const RunInfo& run : timeline.runs) sum += run.end_ms - run.start_ms;
    return sum;
}

std::optional<std::int64_t> window(const Timeline& timeline) {
    if (timeline.downtime_closed()) return timeline.downtime_ms();
    return std::nullopt;
}

}  // namespace

RunDiff diff_runs(const Timeline& a, const std::string& path_a, const Timeline& b,
                  const std::string& path_b) {
    RunDiff diff{path_a,           path_b,    a.runbook_name(),
                 b.runbook_name(), total(a),  total(b),
                 window(a),        window(b), {}};
    std::vector<std::string> order_a, order_b;
    auto summary_a = summarise(a, order_a);
    auto summary_b = summarise(b, order_b);
    auto add = [&](const std::string& id) {
        StepDiff step{id, std::nullopt, std::nullopt, false, false};
        if (summary_a.count(id)) step.a = summary_a[id];
        if (summary_b.count(id)) step.b = summary_b[id];
        if (step.b) {
            step.new_failure = step.b->failures > 0 && (!step.a || step.a->failures == 0);
            step.new_retries = step.b->retries > 0 && (!step.a || step.a->retries == 0);
        }
        diff.steps.push_back(step);
    };
    for (const std::string& id : order_a) add(id);
    for (const std::string& id : order_b)
        if (!summary_a.count(id)) add(id);
    return diff;
}

}  // namespace migrate::report
