// The forecast.
#include "migrate/report/estimate.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <set>
#include <unordered_map>

#include "migrate/report/live.h"
#include "migrate/report/monte_carlo.h"
#include "migrate/report/render.h"
#include "migrate/runbook/graph.h"
#include "migrate/runbook/interpolate.h"
#include "migrate/runbook/validate.h"
#include "migrate/steps/kinds.h"
#include "migrate/util/text.h"

namespace migrate::report {

double percentile(std::vector<double> values, double p) {
    if (values.empty()) return 0;
    std::sort(values.begin(), values.end());
    double rank = p * static_cast<double>(values.size() - 1);
    auto low = static_cast<std::size_t>(std::floor(rank));
    auto high = static_cast<std::size_t>(std::ceil(rank));
    return values[low] + (values[high] - values[low]) * (rank - static_cast<double>(low));
}

std::vector<PathStep> path_steps(const Forecast& forecast, const runbook::StepGraph& graph,
                                 std::map<std::string, int>& index) {
    std::vector<PathStep> steps;
    std::map<std::string, int> families;
    for (const StepForecast& figure : forecast.steps) {
        index[figure.id] = static_cast<int>(steps.size());
        PathStep step;
        step.p50_ms = figure.p50_ms;
        step.p90_ms = figure.p90_ms;
        step.family =
            families.emplace(figure.family, static_cast<int>(families.size())).first->second;
        step.shared = figure.family == "people" || figure.family == "command" ? 0 : 0.5;
        for (const std::string& need : graph.needs(figure.id))
            if (auto it = index.find(need); it != index.end()) step.needs.push_back(it->second);
        steps.push_back(std::move(step));
    }
    return steps;
}

VariabilityFamily variability_family(const std::string& kind, bool people) {
    // The floors: what one rehearsal cannot show. The network's is the one measured case we
    // have: the field report's second 30 GB download took 1.4 times the rehearsal's.
    if (people) return {"people", 0.5};
    static const std::map<std::string, VariabilityFamily> families{
        {"download", {"network", 0.4}},     {"transfer", {"network", 0.4}},
        {"http", {"network", 0.4}},         {"mysql.dump", {"database", 0.25}},
        {"mysql.load", {"database", 0.25}}, {"sql", {"database", 0.25}},
        {"delta", {"database", 0.25}},      {"reconcile", {"database", 0.25}},
        {"verify", {"disk", 0.15}},         {"compress", {"disk", 0.15}},
        {"extract", {"disk", 0.15}},        {"ssh", {"hosts", 0.25}},
        {"cutover", {"hosts", 0.25}},       {"maintenance", {"hosts", 0.25}},
        {"isolate", {"hosts", 0.25}},       {"reconnect", {"hosts", 0.25}}};
    if (auto it = families.find(kind); it != families.end()) return it->second;
    return {"command", 0.25};
}

std::optional<ThroughputVariation> throughput_variation(const StepExecution& execution,
                                                        const std::string& metric) {
    if (metric != "bytes" && metric != "rows") return std::nullopt;
    std::vector<std::pair<double, double>> points{{static_cast<double>(execution.start_ms), 0}};
    for (const StepExecution::ProgressPoint& point : execution.progress) {
        double value = metric == "bytes" ? point.bytes : point.rows;
        if (value < 0 || static_cast<double>(point.at_ms) <= points.back().first) continue;
        points.emplace_back(static_cast<double>(point.at_ms),
                            std::max(value, points.back().second));
    }
    if (execution.metrics.contains(metric) && execution.metrics[metric].is_number()) {
        double total = execution.metrics[metric].get<double>();
        if (static_cast<double>(execution.end_ms) > points.back().first &&
            total >= points.back().second)
            points.emplace_back(static_cast<double>(execution.end_ms), total);
    }
    double span = points.back().first - points.front().first;
    double volume = points.back().second;
    if (points.size() < 5 || span <= 0 || volume <= 0) return std::nullopt;
    // Windows a fifth of the step, but at least two progress intervals wide.
    double interval = span / static_cast<double>(points.size() - 1);
    double width = std::max(span / 5, 2 * interval);
    std::vector<double> rates;
    for (std::size_t i = 0, j = 0; i < points.size(); ++i) {
        j = std::max(j, i + 1);
        while (j < points.size() && points[j].first - points[i].first < width) ++j;
        if (j == points.size()) break;
        double seconds = (points[j].first - points[i].first) / 1000;
        rates.push_back((points[j].second - points[i].second) / seconds);
    }
    if (rates.size() < 3) return std::nullopt;
    ThroughputVariation variation;
    variation.p10_rate = percentile(rates, 0.1);
    variation.windows = static_cast<int>(rates.size());
    variation.window_ms = width;
    double average = volume / (span / 1000);
    variation.ratio = variation.p10_rate > 0 ? std::max(1.0, average / variation.p10_rate) : 1.0;
    return variation;
}

namespace {

std::string plain_percent(double fraction) {
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%.0f%%", fraction * 100);
    return buffer;
}

struct Sample {
    double duration_ms = 0;
    std::optional<double> volume;  // of the step's scale metric
    std::optional<double> watermark_lag_ms;
    std::optional<double> rows;
    bool people = false;
    std::optional<ThroughputVariation> variation;
};

std::string format_volume(const std::string& metric, double value) {
    if (metric == "bytes") return format_bytes(static_cast<std::uint64_t>(value));
    char buffer[48];
    std::snprintf(buffer, sizeof buffer, "%.0f %s", value, metric.c_str());
    return buffer;
}

std::string format_rate(const std::string& metric, double per_second) {
    if (metric == "bytes") return format_bytes(static_cast<std::uint64_t>(per_second)) + "/s";
    char buffer[48];
    std::snprintf(buffer, sizeof buffer, "%.1f %s/s", per_second, metric.c_str());
    return buffer;
}

class Estimator {
public:
    Estimator(const runbook::Runbook& book, std::vector<const JournalInput*> journals,
              const EstimateOptions& options)
        : m_book(book), m_journals(std::move(journals)), m_options(options), m_graph(book) {}

    Forecast run() {
        m_forecast.runbook = m_book.name;
        m_forecast.journals = static_cast<int>(m_journals.size());
        if (m_journals.empty())
            m_forecast.warnings.push_back(
                "no journal given: every figure is the runbook's own 'estimate:' (a prior) or "
                "unknown; a rehearsal's journal replaces them with measurements");
        collect_samples();
        resolve_variables();
        for (const runbook::Step* step : m_graph.order())
            m_forecast.steps.push_back(forecast_step(*step));
        critical_paths();
        totals();
        if (m_book.window) {
            RollbackFigure rollback = rollback_figure(m_book, m_journals);
            m_forecast.must_end_by = m_book.window->must_end_by;
            m_forecast.rollback_p90_ms = rollback.p90_ms;
            m_forecast.rollback_basis = rollback.basis;
        }
        return m_forecast;
    }

private:
    void collect_samples() {
        std::set<std::string> runbook_ids;
        for (const runbook::Step* step : m_graph.order()) runbook_ids.insert(step->id);
        std::set<std::string> seen, missing;
        for (const JournalInput* input : m_journals) {
            const Timeline& timeline = input->timeline;
            m_forecast.runs += static_cast<int>(timeline.runs.size());
            if (!timeline.runbook_name().empty() && timeline.runbook_name() != m_book.name)
                m_forecast.warnings.push_back(input->path + " is a journal of runbook '" +
                                              timeline.runbook_name() + "', not '" + m_book.name +
                                              "'; only steps with the same ids are used");
            // Looked up once per step id and run, not per execution: a million-record
            // journal has a quarter of a million executions of a few hundred steps.
            struct Known {
                const runbook::Step* step = nullptr;
                std::vector<Sample>* samples = nullptr;
            };
            std::unordered_map<std::string, Known> known;
            const RunInfo* run = nullptr;
            for (const StepExecution& execution : timeline.steps) {
                if (!execution.rollback_of.empty() || execution.step == k_deadline_step) continue;
                auto [entry, first] = known.try_emplace(execution.step);
                if (first) {
                    seen.insert(execution.step);
                    if (!runbook_ids.count(execution.step)) missing.insert(execution.step);
                    entry->second = Known{m_graph.step(execution.step), &m_samples[execution.step]};
                }
                const runbook::Step* step = entry->second.step;
                if (run == nullptr || run->id != execution.run_id)
                    run = timeline.run(execution.run_id);
                if (execution.status != "ok" || (run && run->mode == "dry-run")) continue;
                // A people step confirmed by --yes measured nobody: its duration is the
                // engine's, not the time people take. Not a sample.
                if (execution.people() && execution.confirmation() &&
                    execution.confirmation()->via == "--yes") {
                    ++m_confirmed_by_yes[execution.step];
                    continue;
                }
                Sample sample;
                sample.duration_ms = static_cast<double>(execution.duration_ms);
                sample.people = execution.people();
                if (step && step->scale)
                    if (execution.metrics.contains(step->scale->metric) &&
                        execution.metrics[step->scale->metric].is_number())
                        sample.volume = execution.metrics[step->scale->metric].get<double>();
                if (step)
                    sample.variation = throughput_variation(
                        execution, step->scale                           ? step->scale->metric
                                   : execution.metrics.contains("bytes") ? "bytes"
                                                                         : "rows");
                if (execution.metrics.contains("watermark_lag_ms") &&
                    execution.metrics.contains("rows")) {
                    sample.watermark_lag_ms = execution.metrics["watermark_lag_ms"].get<double>();
                    sample.rows = execution.metrics["rows"].get<double>();
                }
                entry->second.samples->push_back(sample);
            }
        }
        m_forecast.missing_steps.assign(missing.begin(), missing.end());
        if (!m_journals.empty())
            for (const runbook::Step* step : m_graph.order())
                if (!seen.count(step->id)) m_forecast.new_steps.push_back(step->id);
        if (!m_journals.empty() && seen.size() == missing.size())
            m_forecast.warnings.push_back(
                "no step of the runbook appears in the journals: are they from another runbook?");
    }

    void resolve_variables() {
        std::map<std::string, std::string> builtins{{"env", m_options.env.value_or("")},
                                                    {"mode", "production"},
                                                    {"runbook_dir", ""},
                                                    {"run_id", ""}};
        auto raw =
            runbook::raw_variables(m_book, m_options.env.value_or(""), m_options.sets, builtins);
        std::string failed;
        try {
            m_vars = runbook::resolve_variables(
                raw,
                [](const runbook::Reference& ref) -> std::optional<std::string> {
                    if (ref.kind == runbook::Reference::Kind::env)
                        if (const char* value = std::getenv(ref.name.c_str()))
                            return std::string(value);
                    return std::string();  // secrets play no part in a forecast
                },
                failed);
        } catch (const std::exception& e) {
            m_forecast.warnings.push_back("variable '" + failed + "': " + e.what() +
                                          "; scale volumes that use it are ignored");
        }
    }

    std::optional<double> expected_volume(const runbook::Step& step) {
        if (auto it = m_options.volumes.find(step.id); it != m_options.volumes.end() && step.scale)
            return it->second;
        if (!step.scale || step.scale->expect.empty()) return std::nullopt;
        std::string text;
        try {
            text = runbook::expand(
                step.scale->expect,
                [&](const runbook::Reference& ref) -> std::optional<std::string> {
                    if (ref.kind == runbook::Reference::Kind::var && m_vars.count(ref.name))
                        return m_vars.at(ref.name);
                    return std::nullopt;
                });
        } catch (const std::exception& e) {
            m_forecast.warnings.push_back("step '" + step.id + "': scale.expect: " + e.what());
            return std::nullopt;
        }
        if (text.empty()) return std::nullopt;
        if (auto size = parse_size(text)) return static_cast<double>(*size);
        m_forecast.warnings.push_back("step '" + step.id + "': scale.expect '" + text +
                                      "' is not a number or size");
        return std::nullopt;
    }

    // duration = fixed + volume / throughput. With samples at two or more volumes the fixed
    // part is fitted (least squares); otherwise it is taken as zero.
    static double fitted_fixed_ms(const std::vector<Sample>& samples) {
        std::vector<std::pair<double, double>> points;
        for (const Sample& s : samples)
            if (s.volume && *s.volume > 0) points.emplace_back(*s.volume, s.duration_ms);
        if (points.size() < 2) return 0;
        double n = static_cast<double>(points.size()), sx = 0, sy = 0, sxx = 0, sxy = 0;
        for (auto [x, y] : points) sx += x, sy += y, sxx += x * x, sxy += x * y;
        double denominator = n * sxx - sx * sx;
        if (std::abs(denominator) < 1e-9) return 0;
        double slope = (n * sxy - sx * sy) / denominator;
        double intercept = (sy - slope * sx) / n;
        if (slope <= 0) return 0;
        double smallest = std::min_element(points.begin(), points.end(), [](auto a, auto b) {
                              return a.second < b.second;
                          })->second;
        return std::clamp(intercept, 0.0, smallest);
    }

    StepForecast forecast_step(const runbook::Step& step) {
        StepForecast out;
        out.id = step.id;
        out.phase = step.phase_id;
        out.role = step.role;
        out.kind = step.kind;
        out.people = steps::is_people_kind(step.kind);
        const std::vector<Sample>& samples = m_samples[step.id];
        out.samples = static_cast<int>(samples.size());
        for (const Sample& s : samples) out.people = out.people || s.people;
        if (auto known = m_options.known_ms.find(step.id); known != m_options.known_ms.end()) {
            out.source = "known";
            out.p50_ms = out.p90_ms = known->second;
            out.detail = "as it ran";
            out.p90_basis = "known";
            return out;
        }
        VariabilityFamily family = variability_family(step.kind, out.people);
        out.family = family.name;
        out.floor = step.variability.value_or(family.floor);
        std::string floor_text = "floor " + plain_percent(out.floor) +
                                 (step.variability ? " (variability:)" : " (" + family.name + ")");
        if (samples.empty()) {
            std::string by_yes;
            if (int runs = m_confirmed_by_yes[step.id]; runs > 0) {
                out.people = true;
                by_yes = "; confirmed by --yes in " + std::to_string(runs) +
                         (runs == 1 ? " run" : " runs") + ": not a measure of people time";
            }
            if (step.estimate) {
                out.source = "prior";
                out.p50_ms = out.p90_ms = static_cast<double>(step.estimate->count());
                out.detail = "estimate: " + format_duration(*step.estimate);
                if (step.estimate_p90) {
                    out.p90_ms = static_cast<double>(step.estimate_p90->count());
                    out.detail = "estimate: P50 " + format_duration(*step.estimate) + ", P90 " +
                                 format_duration(*step.estimate_p90);
                    out.p90_basis = "the prior's p90";
                } else {
                    out.p90_ms = out.p50_ms * (1 + out.floor);
                    out.p90_basis = floor_text;
                }
                out.detail += by_yes;
            } else {
                out.source = "unknown";
                out.detail = "no journal sample and no 'estimate'" + by_yes;
                m_forecast.unknown.push_back(step.id);
            }
            return out;
        }
        std::vector<double> durations;
        for (const Sample& s : samples) durations.push_back(s.duration_ms);
        out.source = "journal";
        out.detail = std::to_string(samples.size()) + " sample" + (samples.size() == 1 ? "" : "s");
        delta_growth(step, samples, durations, out);
        if (std::optional<double> volume = expected_volume(step))
            scale(step, samples, *volume, durations, out);
        out.p50_ms = percentile(durations, 0.5);
        p90_of(samples, durations, floor_text, out);
        return out;
    }

    // The P90: the largest of the rehearsals' spread, the throughput variation inside them,
    // and the floor; its basis says which.
    static void p90_of(const std::vector<Sample>& samples, const std::vector<double>& durations,
                       const std::string& floor_text, StepForecast& out) {
        out.p90_ms = out.p50_ms * (1 + out.floor);
        out.p90_basis = floor_text;
        if (durations.size() >= 2) {
            double spread = percentile(durations, 0.9);
            if (spread > out.p90_ms) {
                out.p90_ms = spread;
                out.p90_basis = "spread of " + std::to_string(durations.size()) + " rehearsals";
            }
        }
        const ThroughputVariation* worst = nullptr;
        for (const Sample& s : samples)
            if (s.variation && (worst == nullptr || s.variation->ratio > worst->ratio))
                worst = &*s.variation;
        if (worst != nullptr && out.p50_ms * worst->ratio > out.p90_ms) {
            out.p90_ms = out.p50_ms * worst->ratio;
            out.p90_basis = "throughput variation: P10 rate over " +
                            std::to_string(worst->windows) + " windows of " +
                            format_ms(worst->window_ms) + " was 1/" + ratio_text(worst->ratio) +
                            " of the average";
        } else if (worst != nullptr && out.p90_basis == floor_text) {
            out.p90_basis += "; the throughput varied less (x" + ratio_text(worst->ratio) + ")";
        }
    }

    static std::string ratio_text(double ratio) {
        char buffer[32];
        std::snprintf(buffer, sizeof buffer, "%.2f", ratio);
        return buffer;
    }

    void scale(const runbook::Step& step, const std::vector<Sample>& samples, double volume,
               std::vector<double>& durations, StepForecast& out) {
        double fixed = fitted_fixed_ms(samples);
        std::vector<double> scaled, rates;
        double measured = 0;
        for (const Sample& s : samples) {
            if (!s.volume || *s.volume <= 0 || s.duration_ms - fixed <= 0) continue;
            double per_ms = *s.volume / (s.duration_ms - fixed);
            rates.push_back(per_ms * 1000);
            scaled.push_back(fixed + volume / per_ms);
            measured = *s.volume;
        }
        if (scaled.empty()) {
            m_forecast.warnings.push_back(
                "step '" + step.id + "' declares scale by " + step.scale->metric +
                " but its journal samples recorded no " + step.scale->metric + "; not scaled");
            return;
        }
        durations = scaled;
        out.source = "scaled";
        out.volume = volume;
        out.detail =
            step.scale->metric + " " +
            (samples.size() == 1 ? format_volume(step.scale->metric, measured) + " -> " : "-> ") +
            format_volume(step.scale->metric, volume) + " at " +
            format_rate(step.scale->metric, percentile(rates, 0.5)) +
            (fixed > 0 ? " + fixed " + format_ms(fixed) : "");
    }

    void delta_growth(const runbook::Step& step, const std::vector<Sample>& samples,
                      std::vector<double>& durations, StepForecast& out) {
        const Sample* last = nullptr;
        for (const Sample& s : samples)
            if (s.watermark_lag_ms && s.rows && *s.watermark_lag_ms > 0) last = &s;
        if (last == nullptr) return;
        DeltaGrowth growth;
        growth.step = step.id;
        growth.rows = *last->rows;
        growth.lag_hours = *last->watermark_lag_ms / 3'600'000.0;
        growth.rows_per_hour = growth.rows / growth.lag_hours;
        if (m_options.lag) {
            growth.forecast_lag_hours = static_cast<double>(m_options.lag->count()) / 3'600'000.0;
            growth.forecast_rows = growth.rows_per_hour * *growth.forecast_lag_hours;
            // The copy's duration grows with the rows it will find.
            for (std::size_t i = 0; i < samples.size(); ++i)
                if (samples[i].rows && *samples[i].rows > 0)
                    durations[i] =
                        samples[i].duration_ms * *growth.forecast_rows / *samples[i].rows;
            out.source = "scaled";
            out.detail = "rows " + std::to_string(static_cast<long long>(growth.rows)) + " -> " +
                         std::to_string(static_cast<long long>(*growth.forecast_rows)) + " for a " +
                         format_duration(*m_options.lag) + " lag";
        }
        m_forecast.deltas.push_back(growth);
    }

    // Longest path of P50s through `needs`, from `from` (or every root) on: which steps are
    // on the critical path. Returns the finish time of each step and its predecessor on the
    // path.
    std::map<std::string, double> longest_paths(const std::string& from,
                                                std::map<std::string, std::string>& previous) {
        std::map<std::string, double> finish;
        std::set<std::string> unreachable;
        std::map<std::string, const StepForecast*> figures;
        for (const StepForecast& step : m_forecast.steps) figures[step.id] = &step;
        std::function<std::optional<double>(const std::string&)> visit =
            [&](const std::string& id) -> std::optional<double> {
            if (auto it = finish.find(id); it != finish.end()) return it->second;
            if (unreachable.count(id)) return std::nullopt;
            bool reachable = from.empty() || id == from;
            double start = 0;
            for (const std::string& need : m_graph.needs(id)) {
                if (!from.empty() && id == from) break;  // the window starts when this step starts
                std::optional<double> need_finish = visit(need);
                if (!need_finish) continue;
                reachable = true;
                if (*need_finish > start) {
                    start = *need_finish;
                    previous[id] = need;
                }
            }
            if (!reachable) {
                unreachable.insert(id);
                return std::nullopt;
            }
            const StepForecast* figure = figures[id];
            finish[id] = start + figure->p50_ms;
            return finish[id];
        };
        for (const runbook::Step* step : m_graph.order()) visit(step->id);
        return finish;
    }

    void critical_paths() {
        std::map<std::string, std::string> previous;
        auto p50 = longest_paths("", previous);
        std::map<std::string, int> index;
        std::vector<PathStep> steps = path_steps(m_forecast, m_graph, index);
        m_forecast.draws = m_options.draws;
        m_forecast.seed = m_options.seed;
        // The whole run and the window from the same draws.
        std::vector<SpanQuery> queries{{-1, -1}};
        const runbook::Step* start = m_graph.downtime_start();
        const runbook::Step* end = m_graph.downtime_end();
        if (start != nullptr)
            queries.push_back({index.at(start->id), end ? index.at(end->id) : -1});
        std::vector<std::vector<double>> all =
            sample_spans(steps, queries, m_options.draws, m_options.seed);
        const std::vector<double>& spans = all.front();
        std::string last;
        for (const auto& [id, finish] : p50)
            if (last.empty() || finish > p50[last]) last = id;
        for (std::string id = last; !id.empty(); id = previous.count(id) ? previous[id] : "")
            m_forecast.critical_path.insert(m_forecast.critical_path.begin(), id);
        m_forecast.total_p50_ms = quantile_of_sorted(spans, 0.5);
        m_forecast.total_p90_ms = quantile_of_sorted(spans, 0.9);
        for (StepForecast& step : m_forecast.steps)
            step.on_critical_path =
                std::find(m_forecast.critical_path.begin(), m_forecast.critical_path.end(),
                          step.id) != m_forecast.critical_path.end();
        if (start != nullptr) window(*start, end, all.back());
    }

    void window(const runbook::Step& first, const runbook::Step* end,
                const std::vector<double>& spans) {
        const runbook::Step* start = &first;
        std::map<std::string, std::string> previous;
        auto p50 = longest_paths(start->id, previous);
        m_forecast.has_window = true;
        m_forecast.window_from = start->id;
        std::string last = end ? end->id : "";
        if (last.empty())
            for (const auto& [id, finish] : p50)
                if (last.empty() || finish > p50[last]) last = id;
        m_forecast.window_to = last;
        m_forecast.window_p50_ms = quantile_of_sorted(spans, 0.5);
        m_forecast.window_p90_ms = quantile_of_sorted(spans, 0.9);
        for (const std::string& id : m_graph.downtime_steps())
            for (StepForecast& step : m_forecast.steps)
                if (step.id == id) step.in_window = true;
        for (std::string id = last; !id.empty(); id = previous.count(id) ? previous[id] : "")
            for (const StepForecast& step : m_forecast.steps)
                if (step.id == id && step.people) m_forecast.window_people_p50_ms += step.p50_ms;
    }

    void totals() {
        for (const StepForecast& step : m_forecast.steps) {
            (step.people ? m_forecast.people_p50_ms : m_forecast.machine_p50_ms) += step.p50_ms;
            (step.people ? m_forecast.people_p90_ms : m_forecast.machine_p90_ms) += step.p90_ms;
        }
        if (m_options.budget)
            m_forecast.budget_ms = m_options.budget->count();
        else if (m_book.downtime_budget)
            m_forecast.budget_ms = m_book.downtime_budget->count();
        if (m_forecast.budget_ms) {
            double measured =
                m_forecast.has_window ? m_forecast.window_p90_ms : m_forecast.total_p90_ms;
            m_forecast.over_budget = measured > static_cast<double>(*m_forecast.budget_ms);
            if (!m_forecast.has_window)
                m_forecast.warnings.push_back(
                    "no downtime window is marked; the budget is compared with the whole run");
        }
    }

    const runbook::Runbook& m_book;
    std::vector<const JournalInput*> m_journals;
    const EstimateOptions& m_options;
    runbook::StepGraph m_graph;
    Forecast m_forecast;
    std::map<std::string, std::vector<Sample>> m_samples;
    std::map<std::string, int> m_confirmed_by_yes;  // people steps no person confirmed
    std::map<std::string, std::string> m_vars;
};

}  // namespace

Forecast estimate(const runbook::Runbook& book, const std::vector<JournalInput>& journals,
                  const EstimateOptions& options) {
    std::vector<const JournalInput*> inputs;
    for (const JournalInput& input : journals) inputs.push_back(&input);
    return Estimator(book, std::move(inputs), options).run();
}

namespace {

// Steps shorter than this are listed by the backtest but not counted in its summary: their
// error is the clock's noise.
constexpr double k_backtest_least_ms = 1000;

}  // namespace

std::string Backtest::summary() const {
    std::string out = "backtest over " + std::to_string(runs.size()) + " run" +
                      (runs.size() == 1 ? "" : "s") + ": ";
    if (counted > 0)
        out += "window P50 error median " + plain_percent(median_error.value_or(0)) +
               ", P90 covered " + std::to_string(covered) + " of " + std::to_string(counted);
    else
        out += "no run closed a downtime window";
    if (steps_counted > 0)
        out += "; steps of 1s or more: P50 error median " +
               plain_percent(steps_median_error.value_or(0)) + ", P90 covered " +
               std::to_string(steps_covered) + " of " + std::to_string(steps_counted);
    return out;
}

Backtest backtest(const runbook::Runbook& book, const std::vector<JournalInput>& journals,
                  const EstimateOptions& options) {
    Backtest result;
    if (journals.size() < 2) {
        result.notes.push_back(
            "a backtest needs two journals or more: each run is forecast from the others");
        return result;
    }
    std::vector<double> window_errors, step_errors;
    for (std::size_t i = 0; i < journals.size(); ++i) {
        const Timeline& timeline = journals[i].timeline;
        std::vector<const JournalInput*> others;
        for (std::size_t j = 0; j < journals.size(); ++j)
            if (j != i) others.push_back(&journals[j]);
        // What this run did: each step's last successful execution.
        std::map<std::string, const StepExecution*> actual;
        for (const StepExecution& execution : timeline.steps)
            if (execution.rollback_of.empty() && execution.status == "ok")
                actual[execution.step] = &execution;
        if (actual.empty()) {
            result.notes.push_back(journals[i].path + ": no step ended ok; not backtested");
            continue;
        }
        EstimateOptions run_options = options;
        run_options.volumes.clear();
        run_options.known_ms.clear();
        for (const runbook::Step* step : book.steps()) {
            auto it = actual.find(step->id);
            if (it == actual.end()) {
                run_options.known_ms[step->id] = 0;  // it did not run (when:, a failure)
                continue;
            }
            const StepExecution& execution = *it->second;
            if (step->scale && execution.metrics.contains(step->scale->metric) &&
                execution.metrics[step->scale->metric].is_number())
                run_options.volumes[step->id] =
                    execution.metrics[step->scale->metric].get<double>();
            // Nobody was measured: the run's own figure stands (not a forecast to check).
            if (execution.people() && execution.confirmation() &&
                execution.confirmation()->via == "--yes")
                run_options.known_ms[step->id] = static_cast<double>(execution.duration_ms);
        }
        Forecast forecast = Estimator(book, others, run_options).run();
        BacktestRun run;
        run.journal = journals[i].path;
        run.run_id = timeline.runs.empty() ? "" : timeline.runs.front().id;
        for (const StepForecast& figure : forecast.steps) {
            auto it = actual.find(figure.id);
            if (it == actual.end() || figure.source == "known" || figure.source == "unknown")
                continue;
            BacktestStep step;
            step.id = figure.id;
            step.source = figure.source;
            step.p50_ms = figure.p50_ms;
            step.p90_ms = figure.p90_ms;
            step.actual_ms = static_cast<double>(it->second->duration_ms);
            step.covered = step.actual_ms <= step.p90_ms;
            step.error = step.actual_ms > 0 ? (step.p50_ms - step.actual_ms) / step.actual_ms : 0;
            if (step.actual_ms >= k_backtest_least_ms) {
                step_errors.push_back(std::abs(step.error));
                ++result.steps_counted;
                result.steps_covered += step.covered ? 1 : 0;
            }
            run.steps.push_back(step);
        }
        if (forecast.has_window && timeline.downtime_closed()) {
            run.has_window = true;
            run.window_p50_ms = forecast.window_p50_ms;
            run.window_p90_ms = forecast.window_p90_ms;
            run.window_actual_ms = static_cast<double>(*timeline.downtime_ms());
            run.covered = run.window_actual_ms <= run.window_p90_ms;
            run.error = run.window_actual_ms > 0
                            ? (run.window_p50_ms - run.window_actual_ms) / run.window_actual_ms
                            : 0;
            window_errors.push_back(std::abs(run.error));
            ++result.counted;
            result.covered += run.covered ? 1 : 0;
        }
        result.runs.push_back(std::move(run));
    }
    if (!window_errors.empty()) result.median_error = percentile(window_errors, 0.5);
    if (!step_errors.empty()) result.steps_median_error = percentile(step_errors, 0.5);
    return result;
}

}  // namespace migrate::report
