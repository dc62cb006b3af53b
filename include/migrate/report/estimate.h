// The forecast of the next run from the journals of earlier ones: per step P50/P90,
// scaled by volume where the step declares `scale`, the critical path, the downtime
// window, people time apart from machine time, delta growth, and the budget verdict.
// The model is explained in docs/estimating-downtime.md.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "migrate/report/monte_carlo.h"
#include "migrate/report/timeline.h"
#include "migrate/runbook/graph.h"
#include "migrate/runbook/model.h"

namespace migrate::report {

// The go/no-go the engine asks at the point of no return is journaled as a manual step of
// this id (no runbook step may take it); it is no sample of any step.
inline constexpr const char* k_deadline_step = "point-of-no-return";

struct EstimateOptions {
    std::optional<std::string> env;
    std::map<std::string, std::string> sets;  // --set: overrides variables (and so scale.expect)
    std::optional<Millis> budget;             // --budget; default: the runbook's downtime_budget
    std::optional<Millis> lag;                // --lag: time since the watermark for delta steps
    // Per step id: the volume of its scale metric to forecast for, over `scale.expect` (the
    // backtest forecasts a run at that run's own volumes).
    std::map<std::string, double> volumes;
    // Per step id: a duration already known (the backtest's steps nobody measured; a live
    // run's finished steps), taken as it is.
    std::map<std::string, double> known_ms;
    std::uint64_t seed = 20261204;  // of the Monte Carlo draws: the same forecast each time
    int draws = 10000;
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
    std::string family;            // network, database, disk, hosts, people, command
    double floor = 0;              // the least margin of the P90 over the P50 (0.4: 40%)
    std::optional<double> volume;  // of its scale metric, when the figure was scaled
    std::string p90_basis;         // what the P90 comes from: "spread of 3 rehearsals", "floor 40%
                                   // (network)", "throughput variation: ...", "prior", ...
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
    std::vector<StepForecast> steps;  // runbook order
    // The whole run and the window: percentiles of the critical path's length over `draws`
    // joint draws of every step's duration (Monte Carlo, seeded), not sums of percentiles.
    int draws = 0;
    std::uint64_t seed = 0;
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
    // window.must_end_by: the rollback of every step (P90) and what it rests on; the point
    // of no return is must_end_by less it.
    std::string must_end_by;
    double rollback_p90_ms = 0;
    std::string rollback_basis;
};

Forecast estimate(const runbook::Runbook& book, const std::vector<JournalInput>& journals,
                  const EstimateOptions& options);

// The forecast's steps as the Monte Carlo walks them: the graph's order, needs as indices
// (`index` maps ids to them), families as numbers, a shared cause (the same line, database
// server, disk or fleet) for all families but people and commands.
std::vector<PathStep> path_steps(const Forecast& forecast, const runbook::StepGraph& graph,
                                 std::map<std::string, int>& index);

// The kind family a step's P90 floor comes from, and the floor (docs/estimating-downtime.md).
struct VariabilityFamily {
    std::string name;
    double floor = 0;
};
VariabilityFamily variability_family(const std::string& kind, bool people);

// How much slower than its average a step ran in its worst stretches: its average rate over
// the P10 rate of windows a fifth of its length (at least 1), from its progress records of
// `metric` (bytes or rows); none when they are too few to tell.
struct ThroughputVariation {
    double ratio = 1;
    double p10_rate = 0;  // per second
    int windows = 0;
    double window_ms = 0;
};
std::optional<ThroughputVariation> throughput_variation(const StepExecution& execution,
                                                        const std::string& metric);

// --backtest: each journal's run forecast from the other journals, at its own volumes.
struct BacktestStep {
    std::string id;
    double p50_ms = 0, p90_ms = 0, actual_ms = 0;
    double error = 0;  // (P50 - actual) / actual
    bool covered = false;
    std::string source;
};
struct BacktestRun {
    std::string journal;
    std::string run_id;
    bool has_window = false;  // the runbook marks one and this run closed it
    double window_p50_ms = 0, window_p90_ms = 0, window_actual_ms = 0;
    double error = 0;
    bool covered = false;
    std::vector<BacktestStep> steps;
};
struct Backtest {
    std::vector<BacktestRun> runs;
    std::vector<std::string> notes;  // journals that could not be used, and why
    // Over the runs' windows: the median of |P50 error|, and how many the P90 covered.
    std::optional<double> median_error;
    int covered = 0, counted = 0;
    // Over every step of every run.
    std::optional<double> steps_median_error;
    int steps_covered = 0, steps_counted = 0;
    // "backtest over 3 runs: window P50 error median 8%, P90 covered 3 of 3; steps: ..."
    std::string summary() const;
};
Backtest backtest(const runbook::Runbook& book, const std::vector<JournalInput>& journals,
                  const EstimateOptions& options);

// Linear interpolation between closest ranks (the median for p = 0.5).
double percentile(std::vector<double> values, double p);

}  // namespace migrate::report
