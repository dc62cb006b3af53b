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
        if (step.confirmation) hover << "; " << decision_of(step);
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

}  // namespace migrate::report
