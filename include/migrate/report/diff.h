// Two runs side by side, step by step: durations, change, new failures and retries, and
// the steps only one of them has.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "migrate/report/timeline.h"

namespace migrate::report {

struct StepSummary {
    std::string status;            // of the last execution
    std::int64_t duration_ms = 0;  // of the last ok execution, else of the last one
    int attempts = 0;
    int retries = 0;
    int failures = 0;  // executions that failed
};

struct StepDiff {
    std::string step;
    std::optional<StepSummary> a;
    std::optional<StepSummary> b;
    bool new_failure = false;  // failed in B, not in A
    bool new_retries = false;  // retried in B, not in A
};

struct RunDiff {
    std::string path_a, path_b;
    std::string name_a, name_b;
    std::int64_t total_a_ms = 0, total_b_ms = 0;
    std::optional<std::int64_t> window_a_ms, window_b_ms;
    std::vector<StepDiff> steps;  // A's order, then steps only in B
};

RunDiff diff_runs(const Timeline& a, const std::string& path_a, const Timeline& b,
                  const std::string& path_b);

}  // namespace migrate::report
