// Printing timelines, forecasts and diffs: text (aligned, readable at 100 columns), JSON,
// Markdown, and a self-contained HTML page with a Gantt chart.
#pragma once

#include <string>

#include "migrate/report/diff.h"
#include "migrate/report/estimate.h"
#include "migrate/report/timeline.h"

namespace migrate::report {

std::string report_text(const Timeline& timeline, const std::string& journal_path);
std::string report_markdown(const Timeline& timeline, const std::string& journal_path);
Json report_json(const Timeline& timeline, const std::string& journal_path);
std::string report_html(const Timeline& timeline, const std::string& journal_path);
// Several rehearsals on one page: a row per step with a bar per rehearsal (aligned at the
// window's opening) and, with a forecast, the next run's P50-P90 band; the backtest's
// summary when given; `note` says what is missing.
std::string rehearsals_html(const std::vector<JournalInput>& journals, const Forecast* forecast,
                            const Backtest* backtest, const std::string& note);

std::string forecast_text(const Forecast& forecast);
Json forecast_json(const Forecast& forecast);
// The backtest: per run the window (and with per_step each step), then the summary line.
std::string backtest_text(const Backtest& backtest, bool per_step);
Json backtest_json(const Backtest& backtest);

std::string diff_text(const RunDiff& diff);
Json diff_json(const RunDiff& diff);

// Figures a report prints: "12.5s", "1h30m", "800.0KiB/s", "1,200 rows/s".
std::string format_ms(double ms);
std::string throughput_of(const StepExecution& step);
std::string clock_time(std::int64_t epoch_ms);  // "02:33:37"
// "downtime window: 02:10:00 -> 02:55:00, 45m0s (from 'a' to 'b')", one per outage.
std::string window_line(const Timeline& timeline);
// "confirmed by Jana Novak (account jana) via migrate confirm at 02:33:37: all agents out";
// "" for a step nobody confirmed or rejected.
std::string decision_of(const StepExecution& step);
// One decision as above, with its approval count and evidence: "... [approval 2 of 2]; evidence
// /srv/restore.log (sha256 3a7bd3e2360a, 1.2KiB)".
std::string decision_text(const StepExecution::Decision& decision);
// The evidence alone: "/srv/restore.log (sha256 3a7b..., 1.2KiB)", a URL, "waived by --yes",
// or "".
std::string evidence_text(const StepExecution::Decision& decision);
// " (1 of 2)" for an approval of a step that needs several; "" otherwise.
std::string approval_suffix(const StepExecution::Decision& decision);

}  // namespace migrate::report
