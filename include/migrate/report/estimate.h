// The forecast of the next run from the journals of earlier ones: per step P50/P90,
// scaled by volume where the step declares `scale`, the critical path, the downtime
// window, people time apart from machine time, delta growth, and the budget verdict.
// The model is explained in docs/estimating-downtime.md.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "migrate/report/timeline.h"
#include "migrate/runbook/model.h"

namespace migrate::report {

struct EstimateOptions {
    std::optional<std::string> env;
    std::map<std::string, std::string> sets;  // --set: overrides variables (and so scale.expect)
    std::optional<Millis> budget;             // --budget; default: the runbook's downtime_budget
    std::optional<Millis> lag;                // --lag: time since the watermark for delta steps
};

struct JournalInput {
    std::string path;
    Timeline timeline;
};

struct StepForecast {
    std::string id;
    std::string phase;
    std::string role;
    std::string kind;
    bool people = false;
    std::string source = "unknown";  // journal, scaled, prior, unknown
    std::string detail;              // how the figure was made
    double p50_ms = 0;
    double p90_ms = 0;
    int samples = 0;
    bool in_window = false;
    bool on_critical_path = false;
};

struct DeltaGrowth {
    std::string step;
    double rows = 0;       // rows the rehearsal copied
    double lag_hours = 0;  // time since the watermark when it ran
    double rows_per_hour = 0;
    std::optional<double> forecast_lag_hours;  // --lag
    std::optional<double> forecast_rows;
};

struct Forecast {
    std::string runbook;
    int journals = 0;
    int runs = 0;
    std::vector<StepForecast> steps;            // runbook order
    double total_p50_ms = 0, total_p90_ms = 0;  // critical path of the whole run
    bool has_window = false;
    std::string window_from, window_to;
    double window_p50_ms = 0, window_p90_ms = 0;
    double window_people_p50_ms = 0;              // people time on the window's critical path
    double people_p50_ms = 0, people_p90_ms = 0;  // all manual steps, summed
    double machine_p50_ms = 0, machine_p90_ms = 0;
    std::optional<std::int64_t> budget_ms;
    bool over_budget = false;
    std::vector<std::string> critical_path;
    std::vector<std::string> unknown;        // no sample and no prior
    std::vector<std::string> new_steps;      // in the runbook, in no journal
    std::vector<std::string> missing_steps;  // in the journals, not in the runbook
    std::vector<std::string> warnings;
    std::vector<DeltaGrowth> deltas;
};

Forecast estimate(const runbook::Runbook& book, const std::vector<JournalInput>& journals,
                  const EstimateOptions& options);

// Linear interpolation between closest ranks (the median for p = 0.5).
double percentile(std::vector<double> values, double p);

}  // namespace migrate::report
