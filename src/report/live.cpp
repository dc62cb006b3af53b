// The live forecast and the point of no return.
#include "migrate/report/live.h"

#include <algorithm>
#include <cmath>
#include <ctime>
#include <map>

#include "migrate/report/monte_carlo.h"
#include "migrate/report/render.h"
#include "migrate/runbook/graph.h"
#include "migrate/util/clock.h"
#include "migrate/util/text.h"
#include "migrate/util/units.h"

namespace migrate::report {

RollbackFigure rollback_figure(const runbook::Runbook& book,
                               const std::vector<const JournalInput*>& rehearsals) {
    std::map<std::string, std::vector<double>> samples;
    for (const JournalInput* input : rehearsals)
        for (const StepExecution& execution : input->timeline.steps)
            if (!execution.rollback_of.empty() && execution.status == "ok")
                samples[execution.step].push_back(static_cast<double>(execution.duration_ms));
    RollbackFigure figure;
    int measured = 0, priors = 0;
    for (const runbook::Step* step : book.steps()) {
        for (const runbook::Step& undo : step->rollback) {
            VariabilityFamily family = variability_family(undo.kind, false);
            double floor = 1 + undo.variability.value_or(family.floor);
            if (auto it = samples.find(undo.id); it != samples.end()) {
                figure.p90_ms +=
                    std::max(percentile(it->second, 0.9), percentile(it->second, 0.5) * floor);
                ++measured;
            } else if (undo.estimate) {
                figure.p90_ms += undo.estimate_p90
                                     ? static_cast<double>(undo.estimate_p90->count())
                                     : static_cast<double>(undo.estimate->count()) * floor;
                ++priors;
            } else {
                figure.unmeasured.push_back(undo.id);
            }
        }
    }
    figure.basis = std::to_string(measured) + " rollback step" + (measured == 1 ? "" : "s") +
                   " rehearsed, " + std::to_string(priors) + " from 'estimate:'";
    if (!figure.unmeasured.empty())
        figure.basis += "; never rehearsed, left out: " + join(figure.unmeasured, ", ");
    return figure;
}

std::int64_t resolve_deadline(const runbook::WindowSpec& spec, std::int64_t window_start_ms) {
    if (spec.after_start) return window_start_ms + spec.after_start->count();
    if (spec.at_epoch_ms) return *spec.at_epoch_ms;
    std::int64_t day_ms = 86'400'000;
    std::int64_t wanted_ms = static_cast<std::int64_t>(spec.time_of_day_s.value_or(0)) * 1000;
    if (spec.utc_offset_s) {
        std::int64_t offset_ms = static_cast<std::int64_t>(*spec.utc_offset_s) * 1000;
        std::int64_t local = window_start_ms + offset_ms;
        std::int64_t candidate = local - local % day_ms + wanted_ms;
        if (candidate < local) candidate += day_ms;
        return candidate - offset_ms;
    }
    // The machine's local time, daylight saving included.
    std::time_t start = static_cast<std::time_t>(window_start_ms / 1000);
    std::tm local{};
    localtime_r(&start, &local);
    for (int day = 0; day < 3; ++day) {
        std::tm candidate = local;
        candidate.tm_mday += day;
        candidate.tm_hour = static_cast<int>(wanted_ms / 3'600'000);
        candidate.tm_min = static_cast<int>(wanted_ms / 60'000 % 60);
        candidate.tm_sec = static_cast<int>(wanted_ms / 1000 % 60);
        candidate.tm_isdst = -1;
        std::int64_t at = static_cast<std::int64_t>(std::mktime(&candidate)) * 1000;
        if (at >= window_start_ms - window_start_ms % 1000) return at;
    }
    return window_start_ms;
}

namespace {

// The run's newest execution of each step (rollbacks and the go/no-go aside).
std::map<std::string, const StepExecution*> latest_executions(const Timeline& run) {
    std::map<std::string, const StepExecution*> latest;
    for (const StepExecution& execution : run.steps)
        if (execution.rollback_of.empty()) latest[execution.step] = &execution;
    return latest;
}

// How far a running step has come, from its progress: (done, its current rate per ms, over
// the last quarter of its time so far, 3 s to 5 min); none without progress in the metric.
std::optional<std::pair<double, double>> progress_rate(const StepExecution& execution,
                                                       const std::string& metric) {
    const auto& points = execution.progress;
    auto value = [&](const StepExecution::ProgressPoint& p) {
        return metric == "rows" ? p.rows : p.bytes;
    };
    if (points.empty() || value(points.back()) < 0) return std::nullopt;
    const auto& last = points.back();
    double from_at = static_cast<double>(execution.start_ms), from_value = 0;
    std::int64_t lookback =
        std::clamp<std::int64_t>((last.at_ms - execution.start_ms) / 4, 3000, 300'000);
    for (auto it = points.rbegin(); it != points.rend(); ++it)
        if (last.at_ms - it->at_ms >= lookback && value(*it) >= 0) {
            from_at = static_cast<double>(it->at_ms);
            from_value = value(*it);
            break;
        }
    double span = static_cast<double>(last.at_ms) - from_at;
    if (span <= 0 || value(last) <= from_value) return std::nullopt;
    return std::make_pair(value(last), (value(last) - from_value) / span);
}

}  // namespace

LiveForecast live_forecast(const runbook::Runbook& book, const Forecast& forecast,
                           const std::vector<JournalInput>& rehearsals, const Timeline& run,
                           std::int64_t now_ms, const EstimateOptions& options) {
    LiveForecast live;
    live.now_ms = now_ms;
    runbook::StepGraph graph(book);
    auto latest = latest_executions(run);
    std::map<std::string, int> index;
    std::vector<PathStep> steps = path_steps(forecast, graph, index);
    for (const StepForecast& figure : forecast.steps) {
        PathStep& step = steps[static_cast<std::size_t>(index.at(figure.id))];
        auto it = latest.find(figure.id);
        if (it == latest.end()) {
            step.earliest_start = static_cast<double>(now_ms);
        } else {
            const StepExecution& execution = *it->second;
            step.started_at = static_cast<double>(execution.start_ms);
            if (execution.status != "running") {
                step.finished_at = static_cast<double>(execution.end_ms);
            } else {
                double elapsed = static_cast<double>(now_ms - execution.start_ms);
                double spread = figure.p50_ms > 0 ? figure.p90_ms / figure.p50_ms : 1;
                const runbook::Step* defined = book.find_step(figure.id);
                std::optional<std::pair<double, double>> rate;
                if (defined && defined->scale && figure.volume)
                    rate = progress_rate(execution, defined->scale->metric);
                if (rate && rate->second > 0) {
                    // A download 40% done after 6 h at the current rate.
                    double left = std::max(0.0, *figure.volume - rate->first) / rate->second;
                    step.p50_ms = elapsed + left;
                    step.p90_ms = elapsed + left * spread;
                } else {
                    step.p50_ms = std::max(figure.p50_ms, elapsed);
                    step.p90_ms = std::max(figure.p90_ms, elapsed * spread);
                }
                step.earliest_finish = static_cast<double>(now_ms);
            }
        }
    }
    const runbook::Step* start = graph.downtime_start();
    const runbook::Step* end = graph.downtime_end();
    int to = end && index.count(end->id) ? index.at(end->id) : -1;
    // The end, and the opening step's finish (for a window not yet open), from the same
    // draws.
    int opener = start != nullptr && index.count(start->id) ? index.at(start->id) : -1;
    std::vector<std::vector<double>> spans =
        sample_spans(steps, {SpanQuery{-1, to}, SpanQuery{-1, opener >= 0 ? opener : to}},
                     options.draws, options.seed);
    const std::vector<double>& ends = spans[0];
    live.end_p50_ms = static_cast<std::int64_t>(quantile_of_sorted(ends, 0.5));
    live.end_p90_ms = static_cast<std::int64_t>(quantile_of_sorted(ends, 0.9));
    if (start != nullptr && index.count(start->id)) {
        live.has_window = true;
        auto opened = latest.find(start->id);
        if (opened != latest.end()) {
            live.window_open = true;
            live.window_start_ms = opened->second->start_ms;
        } else {
            // Not open yet: when its first step finishes (P50), less that step's P50.
            live.window_start_ms = static_cast<std::int64_t>(
                quantile_of_sorted(spans[1], 0.5) - steps[static_cast<std::size_t>(opener)].p50_ms);
        }
        if (end != nullptr) {
            auto closed = latest.find(end->id);
            live.window_closed = closed != latest.end() && closed->second->status == "ok";
        }
        std::optional<Millis> budget = options.budget ? options.budget : book.downtime_budget;
        if (budget) {
            live.budget_end_ms = live.window_start_ms + budget->count();
            live.over_budget = live.end_p90_ms > *live.budget_end_ms;
        }
        if (book.window) {
            live.deadline_ms = resolve_deadline(*book.window, live.window_start_ms);
            // Every step's rollback: by the time the rollback would start, the steps not yet
            // begun will have run too (the same figure as the plan's).
            std::vector<const JournalInput*> inputs;
            for (const JournalInput& input : rehearsals) inputs.push_back(&input);
            live.rollback = rollback_figure(book, inputs);
            live.no_return_ms =
                *live.deadline_ms - static_cast<std::int64_t>(live.rollback->p90_ms);
            live.deadline_missed = live.end_p90_ms > *live.deadline_ms;
        }
    }
    return live;
}

std::string live_line(const LiveForecast& live) {
    std::string line = std::string(live.has_window ? "window" : "run") + " ends " +
                       clock_time(live.end_p50_ms) + " (P50) / " + clock_time(live.end_p90_ms) +
                       " (P90) UTC";
    if (live.budget_end_ms)
        line +=
            "; budget ends " + clock_time(*live.budget_end_ms) +
            (live.over_budget
                 ? " (P90 OVER by " +
                       format_ms(static_cast<double>(live.end_p90_ms - *live.budget_end_ms)) + ")"
                 : "");
    if (live.deadline_ms && live.no_return_ms)
        line += "; must end by " + clock_time(*live.deadline_ms) + ", point of no return " +
                clock_time(*live.no_return_ms) + " (rollback P90 " +
                format_ms(live.rollback->p90_ms) + ")";
    return line;
}

Json live_json(const LiveForecast& live) {
    Json out{
        {"now", format_utc_ms(live.now_ms)},         {"has_window", live.has_window},
        {"window_open", live.window_open},           {"window_closed", live.window_closed},
        {"end_p50", format_utc_ms(live.end_p50_ms)}, {"end_p90", format_utc_ms(live.end_p90_ms)},
        {"over_budget", live.over_budget},           {"deadline_missed", live.deadline_missed}};
    if (live.has_window) out["window_start"] = format_utc_ms(live.window_start_ms);
    if (live.budget_end_ms) out["budget_end"] = format_utc_ms(*live.budget_end_ms);
    if (live.deadline_ms) out["must_end_by"] = format_utc_ms(*live.deadline_ms);
    if (live.no_return_ms) out["point_of_no_return"] = format_utc_ms(*live.no_return_ms);
    if (live.rollback)
        out["rollback"] =
            Json{{"p90_ms", std::llround(live.rollback->p90_ms)}, {"basis", live.rollback->basis}};
    return out;
}

}  // namespace migrate::report
