// The HTML report: one self-contained page (inline CSS and SVG, nothing fetched) with a
// Gantt chart of the run: steps as bars on a time axis, coloured by role, the downtime
// window shaded, failures and retries marked, figures in each bar's hover text.
#include <algorithm>
#include <cmath>
#include <map>
#include <sstream>

#include "migrate/report/render.h"
#include "migrate/util/clock.h"

namespace migrate::report {
namespace {

std::string escape(const std::string& text) {
    std::string out;
    for (char c : text) {
        switch (c) {
            case '&':
                out += "&amp;";
                break;
            case '<':
                out += "&lt;";
                break;
            case '>':
                out += "&gt;";
                break;
            case '"':
                out += "&quot;";
                break;
            case '\'':
                out += "&#39;";
                break;
            default:
                out += c;
        }
    }
    return out;
}

constexpr const char* k_palette[] = {"#4e79a7", "#f28e2b", "#59a14f", "#b07aa1",
                                     "#76b7b2", "#edc948", "#9c755f", "#bab0ac"};

constexpr int k_label_width = 200;
constexpr int k_chart_width = 760;
constexpr int k_row_height = 22;
constexpr int k_top = 30;

class Gantt {
public:
    explicit Gantt(const Timeline& timeline) : m_timeline(timeline) {
        m_span = std::max<std::int64_t>(1, timeline.end_ms - timeline.start_ms);
        for (const StepExecution& step : timeline.steps)
            if (!m_roles.count(step.role)) {
                std::size_t index = m_roles.size();
                m_roles[step.role] = k_palette[index % (sizeof k_palette / sizeof *k_palette)];
            }
    }

    std::string svg() const {
        std::ostringstream out;
        int height = k_top + static_cast<int>(m_timeline.steps.size()) * k_row_height + 10;
        out << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\""
            << k_label_width + k_chart_width + 60 << "\" height=\"" << height
            << "\" role=\"img\" aria-label=\"timeline\">\n";
        gaps(out, height);
        window(out, height);
        axis(out, height);
        for (std::size_t row = 0; row < m_timeline.steps.size(); ++row)
            bar(out, m_timeline.steps[row], static_cast<int>(row));
        out << "</svg>\n";
        return out.str();
    }

    std::string legend() const {
        std::ostringstream out;
        out << "<p class=\"legend\">";
        for (const auto& [role, colour] : m_roles)
            out << "<span><i style=\"background:" << colour << "\"></i>" << escape(role)
                << "</span> ";
        out << "<span><i class=\"swatch-window\"></i>downtime window</span> <span><i "
               "class=\"swatch-failed\"></i>failed</span> "
               "<span><i class=\"swatch-retry\"></i>retry</span></p>\n";
        return out.str();
    }

private:
    double x(std::int64_t ms) const {
        return k_label_width + static_cast<double>(ms - m_timeline.start_ms) * k_chart_width /
                                   static_cast<double>(m_span);
    }

    void axis(std::ostringstream& out, int height) const {
        // The first tick gives the clock time; the others the time since the start.
        for (int i = 0; i <= 5; ++i) {
            std::int64_t offset = m_span * i / 5;
            double px = x(m_timeline.start_ms + offset);
            std::string label = i == 0 ? clock_time(m_timeline.start_ms) + " UTC"
                                       : "+" + format_ms(static_cast<double>(offset));
            out << "<line class=\"tick\" x1=\"" << px << "\" y1=\"" << k_top - 6 << "\" x2=\"" << px
                << "\" y2=\"" << height - 10 << "\"/><text class=\"axis\" x=\"" << px << "\" y=\""
                << k_top - 10 << "\">" << label << "</text>\n";
        }
    }

    // Every outage shaded whole, the time between runs inside it included.
    void window(std::ostringstream& out, int height) const {
        for (const Outage& outage : m_timeline.outages) {
            std::int64_t end = outage.end_ms.value_or(m_timeline.end_ms);
            out << "<rect class=\"downtime\" x=\"" << x(outage.start_ms) << "\" y=\"" << k_top - 4
                << "\" width=\"" << std::max(1.0, x(end) - x(outage.start_ms)) << "\" height=\""
                << height - k_top - 6 << "\"><title>downtime window: "
                << format_ms(static_cast<double>(end - outage.start_ms))
                << (outage.runs > 1 ? ", across " + std::to_string(outage.runs) + " runs" : "")
                << "</title></rect>\n";
        }
    }

    void gaps(std::ostringstream& out, int height) const {
        for (std::size_t i = 1; i < m_timeline.runs.size(); ++i) {
            double from = x(m_timeline.runs[i - 1].end_ms), to = x(m_timeline.runs[i].start_ms);
            out << "<rect class=\"gap\" x=\"" << from << "\" y=\"" << k_top - 4 << "\" width=\""
                << std::max(1.0, to - from) << "\" height=\"" << height - k_top - 6
                << "\"><title>between runs: "
                << format_ms(static_cast<double>(m_timeline.runs[i].start_ms -
                                                 m_timeline.runs[i - 1].end_ms))
                << "</title></rect>\n<text class=\"gaplabel\" x=\"" << (from + to) / 2 << "\" y=\""
                << k_top + 8 << "\">between runs</text>\n";
        }
    }

    void bar(std::ostringstream& out, const StepExecution& step, int row) const {
        int y = k_top + row * k_row_height;
        std::string label = step.step + (step.rollback_of.empty() ? "" : " (undo)");
        out << "<text class=\"label\" x=\"" << k_label_width - 6 << "\" y=\"" << y + 15 << "\">"
            << escape(label) << "</text>\n";
        double left = x(step.start_ms), width = std::max(2.0, x(step.end_ms) - left);
        std::ostringstream hover;
        hover << step.step << " (" << step.role << ", " << step.kind << "): " << step.status << ", "
              << format_ms(static_cast<double>(step.duration_ms)) << ", started "
              << clock_time(step.start_ms);
        if (step.attempts > 1) hover << ", " << step.attempts << " attempts";
        if (!throughput_of(step).empty()) hover << ", " << throughput_of(step);
        if (step.waited_ms > 0)
            hover << ", waited " << format_ms(static_cast<double>(step.waited_ms));
        if (step.confirmation()) hover << "; " << decision_of(step);
        if (!step.error.empty()) hover << ": " << step.error;
        if (!step.failed_hosts.empty()) hover << "; hosts failed: " << step.failed_hosts;
        out << "<rect class=\"bar status-" << escape(step.status) << "\" data-step=\""
            << escape(step.step) << "\" x=\"" << left << "\" y=\"" << y + 3 << "\" width=\""
            << width << "\" height=\"" << k_row_height - 6 << "\" fill=\"" << m_roles.at(step.role)
            << "\"><title>" << escape(hover.str()) << "</title></rect>\n";
        for (std::int64_t at : step.retry_ms)
            out << "<line class=\"retry\" x1=\"" << x(at) << "\" y1=\"" << y + 1 << "\" x2=\""
                << x(at) << "\" y2=\"" << y + k_row_height - 1 << "\"/>\n";
    }

    const Timeline& m_timeline;
    std::int64_t m_span;
    std::map<std::string, std::string> m_roles;
};

constexpr const char* k_style = R"(
body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #222; }
h1 { font-size: 20px; } table { border-collapse: collapse; margin: 12px 0; }
td, th { border-bottom: 1px solid #ddd; padding: 3px 8px; text-align: left; } td.num { text-align: right; }
.label { font-size: 12px; text-anchor: end; } .axis { font-size: 11px; text-anchor: middle; fill: #555; }
.tick { stroke: #e3e3e3; } .downtime { fill: #e15759; fill-opacity: 0.12; } .gap { fill: #999; fill-opacity: 0.15; } .gaplabel { font-size: 10px; fill: #666; text-anchor: middle; }
.bar { stroke: none; } .status-failed { stroke: #d00; stroke-width: 2; } .status-interrupted { stroke: #d00; stroke-dasharray: 3 2; stroke-width: 2; }
.status-skipped { fill-opacity: 0.3; } .retry { stroke: #d00; stroke-width: 2; }
.legend span { margin-right: 14px; } .legend i { display: inline-block; width: 12px; height: 12px; margin-right: 4px; vertical-align: -1px; }
.swatch { display: inline-block; width: 12px; height: 12px; margin-right: 4px; vertical-align: -1px; } .legend-item { margin-right: 14px; }
.swatch-window { background: rgba(225,87,89,0.25); } .swatch-failed { border: 2px solid #d00; box-sizing: border-box; } .swatch-retry { background: #d00; width: 3px !important; }
)";

// Who confirmed or rejected each people step, when, how, and why.
std::string decisions_table(const Timeline& timeline) {
    std::ostringstream out;
    for (const StepExecution& step : timeline.steps)
        for (const StepExecution::Decision& d : step.decisions) {
            if (out.tellp() == 0)
                out << "<h2>People's decisions</h2>\n<table class=\"decisions\"><tr><th>step</th>"
                       "<th>decision</th><th>by</th><th>account</th><th>via</th><th>at</th>"
                       "<th>waited</th><th>note</th><th>evidence</th></tr>\n";
            out << "<tr class=\"decision-" << escape(d.decision) << "\"><td>" << escape(step.step)
                << "</td><td>" << escape(d.decision + approval_suffix(d)) << "</td><td>"
                << escape(d.by) << "</td><td>" << escape(d.os_user) << "</td><td>" << escape(d.via)
                << "</td><td>" << format_utc_ms(d.at_ms) << "</td><td class=\"num\">"
                << format_ms(static_cast<double>(d.waited_ms)) << "</td><td>" << escape(d.note)
                << "</td><td>" << escape(evidence_text(d)) << "</td></tr>\n";
        }
    if (out.tellp() > 0) out << "</table>\n";
    return out.str();
}

}  // namespace

std::string report_html(const Timeline& timeline, const std::string& journal_path) {
    Gantt gantt(timeline);
    Json summary = report_json(timeline, journal_path);
    std::ostringstream out;
    const RunInfo& first = timeline.runs.front();
    out << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>migrate "
           "report: "
        << escape(first.name) << "</title>\n<style>" << k_style
        << "</style></head>\n<body>\n<h1>Report of '" << escape(first.name) << "' ("
        << escape(first.mode) << (first.env.empty() ? "" : ", env " + escape(first.env))
        << ")</h1>\n<p>Journal <code>" << escape(journal_path) << "</code>, "
        << timeline.runs.size() << " run(s), " << timeline.steps.size()
        << " step executions.</p>\n";
    if (!timeline.outages.empty()) {
        std::string line = window_line(timeline);
        std::string html;
        for (char c : escape(line)) html += c == '\n' ? std::string("<br>") : std::string(1, c);
        out << "<p><b>" << html << "</b></p>\n";
    }
    out << gantt.legend() << gantt.svg();
    out << "<table><tr><th>phase</th><th>step</th><th>role</th><th>status</th><th>start</"
           "th><th>duration</th><th>throughput</th>"
           "<th>tries</th><th>people</th></tr>\n";
    for (const StepExecution& step : timeline.steps)
        out << "<tr><td>" << escape(step.phase) << "</td><td>" << escape(step.step) << "</td><td>"
            << escape(step.role) << "</td><td>" << escape(step.status) << "</td><td>"
            << clock_time(step.start_ms) << "</td><td class=\"num\">"
            << format_ms(static_cast<double>(step.duration_ms)) << "</td><td>"
            << escape(throughput_of(step)) << "</td><td class=\"num\">" << step.attempts
            << "</td><td class=\"num\">"
            << (step.people() ? format_ms(static_cast<double>(
                                    step.waited_ms > 0 ? step.waited_ms : step.duration_ms))
                              : "")
            << "</td></tr>\n";
    out << "</table>\n"
        << decisions_table(timeline) << "<p>Totals: " << escape(summary["totals"].dump())
        << "</p>\n</body></html>\n";
    return out.str();
}

namespace {

// Where a rehearsal's clock starts on the page: the window's opening, else the run's start.
std::int64_t origin_of(const Timeline& timeline) {
    return timeline.outages.empty() ? timeline.start_ms : timeline.outages.front().start_ms;
}

// Each rehearsal's last execution of each step (rollbacks aside), the steps in the order
// they first appear.
struct Rows {
    std::vector<std::string> ids;
    std::vector<std::map<std::string, const StepExecution*>> by_journal;
};

Rows rows_of(const std::vector<JournalInput>& journals, const Forecast* forecast) {
    Rows rows;
    std::map<std::string, bool> seen;
    if (forecast != nullptr)
        for (const StepForecast& step : forecast->steps)
            if (!seen[step.id]) rows.ids.push_back(step.id), seen[step.id] = true;
    for (const JournalInput& input : journals) {
        auto& latest = rows.by_journal.emplace_back();
        for (const StepExecution& execution : input.timeline.steps) {
            if (!execution.rollback_of.empty()) continue;
            latest[execution.step] = &execution;
            if (!seen[execution.step])
                rows.ids.push_back(execution.step), seen[execution.step] = true;
        }
    }
    return rows;
}

}  // namespace

std::string rehearsals_html(const std::vector<JournalInput>& journals, const Forecast* forecast,
                            const Backtest* backtest, const std::string& note) {
    Rows rows = rows_of(journals, forecast);
    const std::size_t n = journals.size();
    // The time axis: from the earliest start to the latest end, each rehearsal aligned at
    // its origin, the forecast's bands included.
    std::map<std::string, double> band_start;  // the forecast's start: the rehearsals' median
    double low = 0, high = 1;
    for (std::size_t j = 0; j < n; ++j) {
        std::int64_t origin = origin_of(journals[j].timeline);
        for (const auto& [id, execution] : rows.by_journal[j]) {
            low = std::min(low, static_cast<double>(execution->start_ms - origin));
            high = std::max(high, static_cast<double>(execution->end_ms - origin));
        }
    }
    if (forecast != nullptr)
        for (const StepForecast& step : forecast->steps) {
            std::vector<double> starts;
            for (std::size_t j = 0; j < n; ++j)
                if (auto it = rows.by_journal[j].find(step.id); it != rows.by_journal[j].end())
                    starts.push_back(static_cast<double>(it->second->start_ms -
                                                         origin_of(journals[j].timeline)));
            if (starts.empty() || step.source == "unknown") continue;
            band_start[step.id] = percentile(starts, 0.5);
            high = std::max(high, band_start[step.id] + step.p90_ms);
        }
    const int bar = 8, gap = 6;
    const int row_height = static_cast<int>(n) * bar + 2 * gap;
    const double span = high - low;
    auto x_of = [&](double ms) { return k_label_width + (ms - low) / span * k_chart_width; };
    auto width_of = [&](double ms) { return std::max(1.0, ms / span * k_chart_width); };
    std::ostringstream svg;
    int height = k_top + static_cast<int>(rows.ids.size()) * row_height + 10;
    svg << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\""
        << k_label_width + k_chart_width + 20 << "\" height=\"" << height
        << "\" font-family=\"sans-serif\" font-size=\"11\">\n";
    // The window's opening, where every rehearsal is aligned.
    svg << "<line class=\"origin\" x1=\"" << x_of(0) << "\" y1=\"" << k_top - 8 << "\" x2=\""
        << x_of(0) << "\" y2=\"" << height << "\" stroke=\"#c00\" stroke-dasharray=\"3,3\"/>\n"
        << "<text x=\"" << x_of(0) + 3 << "\" y=\"" << k_top - 12 << "\">window opens (0)</text>\n"
        << "<text x=\"" << k_label_width + k_chart_width - 80 << "\" y=\"" << k_top - 12 << "\">"
        << escape(format_ms(high)) << "</text>\n";
    for (std::size_t row = 0; row < rows.ids.size(); ++row) {
        const std::string& id = rows.ids[row];
        int y = k_top + static_cast<int>(row) * row_height;
        svg << "<text x=\"4\" y=\"" << y + row_height / 2 + 4 << "\">" << escape(id) << "</text>\n";
        if (forecast != nullptr)
            for (const StepForecast& step : forecast->steps)
                if (step.id == id && band_start.count(id)) {
                    double start = band_start[id];
                    svg << "<rect class=\"band\" x=\"" << x_of(start + step.p50_ms) << "\" y=\""
                        << y + 2 << "\" width=\"" << width_of(step.p90_ms - step.p50_ms)
                        << "\" height=\"" << row_height - 4
                        << "\" fill=\"#f5d76e\" fill-opacity=\"0.45\" stroke=\"#c9a400\"><title>"
                        << escape(id) << ": next run P50 " << escape(format_ms(step.p50_ms))
                        << ", P90 " << escape(format_ms(step.p90_ms)) << " ("
                        << escape(step.p90_basis) << ")</title></rect>\n";
                }
        for (std::size_t j = 0; j < n; ++j) {
            auto it = rows.by_journal[j].find(id);
            if (it == rows.by_journal[j].end()) continue;
            const StepExecution& execution = *it->second;
            std::int64_t origin = origin_of(journals[j].timeline);
            double start = static_cast<double>(execution.start_ms - origin);
            svg << "<rect class=\"rehearsal-bar\" x=\"" << x_of(start) << "\" y=\""
                << y + gap + static_cast<int>(j) * bar << "\" width=\""
                << width_of(static_cast<double>(execution.duration_ms)) << "\" height=\"" << bar - 1
                << "\" fill=\"" << k_palette[j % (sizeof k_palette / sizeof *k_palette)]
                << "\"><title>" << escape(id) << " in " << escape(journals[j].path) << ": "
                << escape(execution.status) << ", "
                << escape(format_ms(static_cast<double>(execution.duration_ms)))
                << "</title></rect>\n";
        }
    }
    svg << "</svg>\n";

    std::ostringstream out;
    std::string name = journals.front().timeline.runbook_name();
    out << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>migrate "
           "rehearsals: "
        << escape(name) << "</title>\n<style>" << k_style << "</style></head>\n<body>\n<h1>" << n
        << " rehearsals of '" << escape(name) << "' side by side</h1>\n<p>Each step: one bar per "
        << "rehearsal, aligned at the window's opening (the run's start when none opened); the "
        << "shaded band is the next run's forecast from P50 to P90.</p>\n<p>";
    for (std::size_t j = 0; j < n; ++j) {
        const Timeline& timeline = journals[j].timeline;
        out << "<span class=\"legend-item\"><span class=\"swatch\" style=\"background:"
            << k_palette[j % (sizeof k_palette / sizeof *k_palette)] << "\"></span>"
            << escape(journals[j].path) << " ("
            << (timeline.runs.empty() ? "" : escape(timeline.runs.front().id))
            << (timeline.downtime_ms()
                    ? ", window " + escape(format_ms(static_cast<double>(*timeline.downtime_ms())))
                    : "")
            << ")</span> ";
    }
    out << "</p>\n";
    if (forecast != nullptr && forecast->has_window)
        out << "<p><b>Next run: window P50 " << escape(format_ms(forecast->window_p50_ms))
            << ", P90 " << escape(format_ms(forecast->window_p90_ms)) << "</b></p>\n";
    if (backtest != nullptr)
        out << "<p class=\"backtest\"><b>" << escape(backtest->summary()) << "</b></p>\n";
    if (!note.empty()) out << "<p>" << escape(note) << "</p>\n";
    out << svg.str() << "</body></html>\n";
    return out.str();
}

}  // namespace migrate::report
