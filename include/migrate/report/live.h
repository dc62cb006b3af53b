// The forecast during a run: when the downtime window will end, from the rehearsals' figures
// and what the run has done so far (finished steps as they ran, running steps from their
// progress), and the point of no return of `window.must_end_by`.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "migrate/report/estimate.h"
#include "migrate/report/timeline.h"
#include "migrate/runbook/model.h"

namespace migrate::report {

// How long undoing takes: the P90 of the rehearsed rollback steps (their `estimate:` where
// never rehearsed), summed over every step's rollback: by the time a rollback would start,
// the steps not yet begun will have run too.
struct RollbackFigure {
    double p90_ms = 0;
    std::string basis;                    // "3 rollback steps rehearsed in 2 journals"
    std::vector<std::string> unmeasured;  // rollback steps with neither a sample nor a prior
};
RollbackFigure rollback_figure(const runbook::Runbook& book,
                               const std::vector<const JournalInput*>& rehearsals);

// When `must_end_by` falls for a window that starts (or started) at `window_start_ms`: a
// duration after it, the first such time of day at or after it, or the instant given.
std::int64_t resolve_deadline(const runbook::WindowSpec& spec, std::int64_t window_start_ms);

struct LiveForecast {
    std::int64_t now_ms = 0;
    bool has_window = false;
    bool window_open = false, window_closed = false;
    std::int64_t window_start_ms = 0;  // as it happened, or its P50 forecast when not open
    // Epoch ms: when the window ends (the run, when it marks none).
    std::int64_t end_p50_ms = 0, end_p90_ms = 0;
    std::optional<std::int64_t> budget_end_ms;  // window start + downtime_budget
    bool over_budget = false;                   // the P90 end is after the budget's end
    std::optional<std::int64_t> deadline_ms;    // window.must_end_by
    std::optional<std::int64_t> no_return_ms;   // the deadline less the rollback's P90
    std::optional<RollbackFigure> rollback;
    bool deadline_missed = false;  // the P90 end is after the deadline
};

LiveForecast live_forecast(const runbook::Runbook& book, const Forecast& forecast,
                           const std::vector<JournalInput>& rehearsals, const Timeline& run,
                           std::int64_t now_ms, const EstimateOptions& options);

// "window ends 14:05:10 (P50) / 14:32:00 (P90) UTC; budget ends 14:45:00; point of no return
// 14:20:00 (rollback P90 25m)"
std::string live_line(const LiveForecast& live);
Json live_json(const LiveForecast& live);

}  // namespace migrate::report
