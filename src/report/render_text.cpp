// Text, Markdown and JSON forms of reports, forecasts and diffs.
#include <cmath>
#include <cstdio>
#include <sstream>

#include "migrate/report/render.h"
#include "migrate/util/text.h"

namespace migrate::report {

std::string format_ms(double ms) {
    return format_duration(Millis(static_cast<std::int64_t>(std::llround(ms))));
}

std::string clock_time(std::int64_t epoch_ms) { return format_utc_ms(epoch_ms).substr(11, 8); }

std::string throughput_of(const StepExecution& step) {
    if (step.duration_ms <= 0) return "";
    double seconds = static_cast<double>(step.duration_ms) / 1000.0;
    if (step.metrics.contains("bytes") && step.metrics["bytes"].is_number())
        return format_bytes(
                   static_cast<std::uint64_t>(step.metrics["bytes"].get<double>() / seconds)) +
               "/s";
    if (step.metrics.contains("rows") && step.metrics["rows"].is_number()) {
        char buffer[40];
        std::snprintf(buffer, sizeof buffer, "%.0f rows/s",
                      step.metrics["rows"].get<double>() / seconds);
        return buffer;
    }
    return "";
}

std::string decision_of(const StepExecution& step) {
    if (!step.confirmation()) return "";
    const StepExecution::Decision& d = *step.confirmation();
    std::string text = d.decision + " by " + d.by;
    if (!d.os_user.empty() && d.os_user != d.by) text += " (account " + d.os_user + ")";
    text += " via " + d.via + " at " + clock_time(d.at_ms);
    return d.note.empty() ? text : text + ": " + d.note;
}

std::string evidence_text(const StepExecution::Decision& d) {
    if (!d.evidence_waived.empty()) return "evidence waived by " + d.evidence_waived;
    if (d.evidence.empty()) return "";
    if (d.evidence_sha256.empty()) return d.evidence;
    return d.evidence + " (sha256 " + d.evidence_sha256.substr(0, 12) + ", " +
           format_bytes(static_cast<std::uint64_t>(std::max<std::int64_t>(d.evidence_size, 0))) +
           ")";
}

std::string decision_text(const StepExecution::Decision& d) {
    std::string text = d.decision + " by " + d.by;
    if (!d.os_user.empty() && d.os_user != d.by) text += " (account " + d.os_user + ")";
    text += " via " + d.via + " at " + clock_time(d.at_ms);
    if (!approval_suffix(d).empty())
        text +=
            " [approval " + std::to_string(d.approval) + " of " + std::to_string(d.approvals) + "]";
    if (!d.note.empty()) text += ": " + d.note;
    if (std::string evidence = evidence_text(d); !evidence.empty())
        text += "; evidence " + evidence;
    return text;
}

namespace {

Json decision_json(const StepExecution::Decision& d) {
    Json item{
        {"decision", d.decision},       {"by", d.by},     {"os_user", d.os_user},    {"via", d.via},
        {"at", format_utc_ms(d.at_ms)}, {"note", d.note}, {"waited_ms", d.waited_ms}};
    if (!d.evidence.empty()) item["evidence"] = d.evidence;
    if (!d.evidence_sha256.empty()) {
        item["evidence_sha256"] = d.evidence_sha256;
        item["evidence_size"] = d.evidence_size;
    }
    if (!d.evidence_waived.empty()) item["evidence_waived"] = d.evidence_waived;
    if (d.approvals > 1) {
        item["approval"] = d.approval;
        item["approvals"] = d.approvals;
    }
    return item;
}

}  // namespace

std::string approval_suffix(const StepExecution::Decision& d) {
    return d.approvals > 1 && d.decision != "rejected"
               ? " (" + std::to_string(d.approval) + " of " + std::to_string(d.approvals) + ")"
               : "";
}

namespace {

// Columns count characters, not bytes: a step name in UTF-8 is cut between characters.
std::string pad(std::string text, std::size_t width) {
    std::size_t length = utf8_length(text);
    if (length > width) return shorten(text, width - 1, "~");
    return text + std::string(width - length, ' ');
}

std::string rpad(const std::string& text, std::size_t width) {
    std::size_t length = utf8_length(text);
    return length >= width ? text : std::string(width - length, ' ') + text;
}

struct Totals {
    int ok = 0, failed = 0, skipped = 0, interrupted = 0, retries = 0;
    std::int64_t machine_ms = 0, people_ms = 0, wall_ms = 0, gaps_ms = 0;
};

Totals totals_of(const Timeline& timeline) {
    Totals totals;
    for (const StepExecution& step : timeline.steps) {
        totals.ok += step.status == "ok";
        totals.failed += step.status == "failed";
        totals.skipped += step.status == "skipped";
        totals.interrupted += step.status == "interrupted" || step.status == "running";
        totals.retries += static_cast<int>(step.retry_ms.size());
        if (step.people())
            totals.people_ms += step.waited_ms > 0 ? step.waited_ms : step.duration_ms;
        else
            totals.machine_ms += step.duration_ms;
    }
    for (std::size_t i = 0; i < timeline.runs.size(); ++i) {
        totals.wall_ms += timeline.runs[i].end_ms - timeline.runs[i].start_ms;
        if (i > 0) totals.gaps_ms += timeline.runs[i].start_ms - timeline.runs[i - 1].end_ms;
    }
    return totals;
}

std::string outage_text(const Outage& outage, std::int64_t journal_end) {
    std::string spans = outage.runs > 1 ? "; across " + std::to_string(outage.runs) + " runs, " +
                                              format_ms(static_cast<double>(outage.gaps_ms)) +
                                              " of it between them"
                                        : "";
    if (!outage.end_ms)
        return "opened at " + clock_time(outage.start_ms) + " by '" + outage.start_step +
               "' and never closed (" +
               format_ms(static_cast<double>(journal_end - outage.start_ms)) + " so far" + spans +
               ")";
    return clock_time(outage.start_ms) + " -> " + clock_time(*outage.end_ms) + ", " +
           format_ms(static_cast<double>(*outage.end_ms - outage.start_ms)) + " (from '" +
           outage.start_step + "' to '" + outage.end_step + "'" +
           (outage.closed_by_rollback ? ", closed by the rollback" : "") + spans + ")";
}

}  // namespace

std::string window_line(const Timeline& timeline) {
    if (timeline.outages.empty()) return "downtime window: not marked in this run";
    if (timeline.outages.size() == 1)
        return "downtime window: " + outage_text(timeline.outages[0], timeline.end_ms);
    std::string line = "downtime: " + std::to_string(timeline.outages.size()) + " windows, " +
                       format_ms(static_cast<double>(*timeline.downtime_ms())) + " in all";
    for (const Outage& outage : timeline.outages)
        line += "\n  window " + outage_text(outage, timeline.end_ms);
    return line;
}

namespace {

std::vector<const StepExecution*> slowest(const Timeline& timeline, std::size_t count) {
    std::vector<const StepExecution*> steps;
    for (const StepExecution& step : timeline.steps) steps.push_back(&step);
    std::stable_sort(steps.begin(), steps.end(),
                     [](auto a, auto b) { return a->duration_ms > b->duration_ms; });
    if (steps.size() > count) steps.resize(count);
    return steps;
}

std::string title_of(const Timeline& timeline) {
    const RunInfo& first = timeline.runs.front();
    return "'" + first.name + "' (" + first.mode + (first.env.empty() ? "" : ", env " + first.env) +
           ")";
}

}  // namespace

std::string report_text(const Timeline& timeline, const std::string& journal_path) {
    // Room for every line up front (a step's line is under 100 bytes), moved in and out:
    // growing the stream's buffer and copying it out were a tenth of a long report.
    std::string room;
    room.reserve(4096 + timeline.steps.size() * 128);
    std::ostringstream out(std::move(room));
    out << "report of " << title_of(timeline) << ", journal " << journal_path << "\n\nruns:\n";
    for (std::size_t i = 0; i < timeline.runs.size(); ++i) {
        const RunInfo& run = timeline.runs[i];
        if (i > 0)
            out << "    gap of "
                << format_ms(static_cast<double>(run.start_ms - timeline.runs[i - 1].end_ms))
                << "\n";
        out << "  " << pad(run.id, 22) << pad(run.event == "run.resume" ? "resume" : "start", 8)
            << clock_time(run.start_ms) << " -> " << clock_time(run.end_ms) << "  "
            << pad(format_ms(static_cast<double>(run.end_ms - run.start_ms)), 9) << run.status
            << "\n";
    }
    out << "\n"
        << pad("step", 24) << pad("role", 11) << pad("status", 12) << pad("start", 9)
        << rpad("duration", 9) << "  " << pad("throughput", 14) << rpad("tries", 5)
        << rpad("people", 9) << "\n";
    std::string phase, run_id = timeline.runs.front().id;
    for (const StepExecution& step : timeline.steps) {
        if (step.run_id != run_id) {
            run_id = step.run_id;
            out << "-- resumed: run " << run_id << "\n";
            phase.clear();
        }
        if (step.phase != phase) {
            phase = step.phase;
            out << "phase " << phase << "\n";
        }
        std::string label = step.rollback_of.empty() ? step.step : step.step + " (undo)";
        out << "  " << pad(label, 22) << pad(step.role, 11) << pad(step.status, 12)
            << pad(clock_time(step.start_ms), 9)
            << rpad(format_ms(static_cast<double>(step.duration_ms)), 9) << "  "
            << pad(throughput_of(step), 14)
            << rpad(step.attempts > 0 ? std::to_string(step.attempts) : "", 5)
            << rpad(step.people() ? format_ms(static_cast<double>(
                                        step.waited_ms > 0 ? step.waited_ms : step.duration_ms))
                                  : "",
                    9)
            << (step.downtime.empty()      ? ""
                : step.downtime == "start" ? "  <- downtime starts"
                                           : "  <- downtime ends")
            << "\n";
        for (const StepExecution::Decision& d : step.decisions)
            out << "      " << decision_text(d) << "\n";
        if ((step.status == "failed" || step.status == "interrupted") && !step.error.empty() &&
            !(step.confirmation() && step.confirmation()->decision == "rejected"))
            out << "      " << shorten(step.error, 90, "") << "\n";
        if (!step.failed_hosts.empty())
            out << "      hosts failed: " << shorten(step.failed_hosts, 90) << "\n";
    }
    Totals totals = totals_of(timeline);
    out << "\n" << window_line(timeline) << "\n";
    out << "steps: " << totals.ok << " ok, " << totals.failed << " failed, " << totals.skipped
        << " skipped, " << totals.interrupted << " interrupted; " << totals.retries << " retries\n";
    out << "time: " << format_ms(static_cast<double>(totals.wall_ms)) << " running";
    if (totals.gaps_ms > 0)
        out << " (+ " << format_ms(static_cast<double>(totals.gaps_ms)) << " between runs)";
    out << "; machine " << format_ms(static_cast<double>(totals.machine_ms)) << ", people "
        << format_ms(static_cast<double>(totals.people_ms)) << "\n";
    out << "slowest:";
    for (const StepExecution* step : slowest(timeline, 5))
        out << " " << step->step << " " << format_ms(static_cast<double>(step->duration_ms)) << ";";
    out << "\n";
    return std::move(out).str();
}

Json report_json(const Timeline& timeline, const std::string& journal_path) {
    Json runs = Json::array(), steps = Json::array();
    for (const RunInfo& run : timeline.runs)
        runs.push_back(Json{{"run", run.id},
                            {"event", run.event},
                            {"mode", run.mode},
                            {"env", run.env},
                            {"status", run.status},
                            {"start", format_utc_ms(run.start_ms)},
                            {"end", format_utc_ms(run.end_ms)},
                            {"duration_ms", run.end_ms - run.start_ms}});
    for (const StepExecution& step : timeline.steps) {
        Json item{{"step", step.step},
                  {"phase", step.phase},
                  {"kind", step.kind},
                  {"role", step.role},
                  {"run", step.run_id},
                  {"status", step.status},
                  {"start", format_utc_ms(step.start_ms)},
                  {"duration_ms", step.duration_ms},
                  {"attempts", step.attempts},
                  {"retries", step.retry_ms.size()},
                  {"people", step.people()},
                  {"waited_ms", step.waited_ms},
                  {"metrics", step.metrics}};
        if (!step.error.empty()) item["error"] = step.error;
        if (!step.failed_hosts.empty()) item["failed_hosts"] = step.failed_hosts;
        if (const StepExecution::Decision* d = step.confirmation()) {
            item["confirmation"] = decision_json(*d);
            Json all = Json::array();
            for (const StepExecution::Decision& each : step.decisions)
                all.push_back(decision_json(each));
            item["decisions"] = all;
        }
        if (!step.downtime.empty()) item["downtime"] = step.downtime;
        if (!step.rollback_of.empty()) item["rollback_of"] = step.rollback_of;
        if (!throughput_of(step).empty()) item["throughput"] = throughput_of(step);
        steps.push_back(item);
    }
    Totals totals = totals_of(timeline);
    Json window = nullptr;
    if (!timeline.outages.empty()) {
        const Outage& first = timeline.outages.front();
        const Outage& last = timeline.outages.back();
        Json windows = Json::array();
        for (const Outage& outage : timeline.outages) {
            Json item{{"from_step", outage.start_step}, {"start", format_utc_ms(outage.start_ms)}};
            if (outage.end_ms) {
                item["to_step"] = outage.end_step;
                item["end"] = format_utc_ms(*outage.end_ms);
                item["duration_ms"] = *outage.end_ms - outage.start_ms;
                item["closed_by_rollback"] = outage.closed_by_rollback;
            }
            item["runs"] = outage.runs;
            item["between_runs_ms"] = outage.gaps_ms;
            windows.push_back(item);
        }
        window = Json{{"from_step", first.start_step}, {"start", format_utc_ms(first.start_ms)}};
        if (last.end_ms) {
            window["to_step"] = last.end_step;
            window["end"] = format_utc_ms(*last.end_ms);
            window["duration_ms"] = *timeline.downtime_ms();
        }
        window["windows"] = windows;
    }
    return Json{{"journal", journal_path},
                {"runbook", timeline.runbook_name()},
                {"runs", runs},
                {"steps", steps},
                {"downtime_window", window},
                {"totals", Json{{"ok", totals.ok},
                                {"failed", totals.failed},
                                {"skipped", totals.skipped},
                                {"interrupted", totals.interrupted},
                                {"retries", totals.retries},
                                {"running_ms", totals.wall_ms},
                                {"gaps_ms", totals.gaps_ms},
                                {"machine_ms", totals.machine_ms},
                                {"people_ms", totals.people_ms}}}};
}

std::string report_markdown(const Timeline& timeline, const std::string& journal_path) {
    std::ostringstream out;
    out << "# Report of " << title_of(timeline) << "\n\nJournal: `" << journal_path << "`\n\n";
    out << "| run | kind | start | end | duration | status |\n|---|---|---|---|---|---|\n";
    for (const RunInfo& run : timeline.runs)
        out << "| " << run.id << " | " << (run.event == "run.resume" ? "resume" : "start") << " | "
            << format_utc_ms(run.start_ms) << " | " << format_utc_ms(run.end_ms) << " | "
            << format_ms(static_cast<double>(run.end_ms - run.start_ms)) << " | " << run.status
            << " |\n";
    out << "\n| phase | step | role | status | start | duration | throughput | tries | people |\n"
           "|---|---|---|---|---|---:|---|---:|---:|\n";
    for (const StepExecution& step : timeline.steps)
        out << "| " << step.phase << " | " << step.step
            << (step.rollback_of.empty() ? "" : " (undo)") << " | " << step.role << " | "
            << step.status << (step.downtime.empty() ? "" : " (downtime " + step.downtime + ")")
            << " | " << clock_time(step.start_ms) << " | "
            << format_ms(static_cast<double>(step.duration_ms)) << " | " << throughput_of(step)
            << " | " << step.attempts << " | "
            << (step.people() ? format_ms(static_cast<double>(
                                    step.waited_ms > 0 ? step.waited_ms : step.duration_ms))
                              : "")
            << " |\n";
    bool decisions = false;
    // The evidence column only where some decision has evidence: most runs have none.
    bool evidence = false;
    for (const StepExecution& step : timeline.steps)
        for (const StepExecution::Decision& d : step.decisions)
            evidence = evidence || !evidence_text(d).empty();
    for (const StepExecution& step : timeline.steps)
        for (const StepExecution::Decision& d : step.decisions) {
            if (!decisions)
                out << "\n| step | decision | by | account | via | at | waited | note |"
                    << (evidence ? " evidence |" : "") << "\n|---|---|---|---|---|---|---:|---|"
                    << (evidence ? "---|" : "") << "\n";
            decisions = true;
            // Names and notes are free text: a '|' would end the cell.
            auto cell = [](std::string text) {
                for (std::size_t at = 0; (at = text.find('|', at)) != std::string::npos; at += 2)
                    text.insert(at, "\\");
                return text;
            };
            out << "| " << step.step << " | " << d.decision << approval_suffix(d) << " | "
                << cell(d.by) << " | " << d.os_user << " | " << d.via << " | "
                << format_utc_ms(d.at_ms) << " | " << format_ms(static_cast<double>(d.waited_ms))
                << " | " << cell(d.note)
                << (evidence ? " | " + cell(evidence_text(d)) : std::string()) << " |\n";
        }
    Totals totals = totals_of(timeline);
    out << "\n"
        << window_line(timeline) << "\n\nSteps: " << totals.ok << " ok, " << totals.failed
        << " failed, " << totals.skipped << " skipped, " << totals.interrupted << " interrupted; "
        << totals.retries << " retries. Machine time "
        << format_ms(static_cast<double>(totals.machine_ms)) << ", people time "
        << format_ms(static_cast<double>(totals.people_ms)) << ".\n";
    return out.str();
}

std::string forecast_text(const Forecast& forecast) {
    std::ostringstream out;
    out << "forecast for '" << forecast.runbook << "' from " << forecast.journals << " journal"
        << (forecast.journals == 1 ? "" : "s") << " (" << forecast.runs << " run"
        << (forecast.runs == 1 ? "" : "s") << ")\n\n";
    // Warnings first: a forecast from the wrong journals must not read as a good one.
    for (const std::string& warning : forecast.warnings) out << "warning: " << warning << "\n";
    if (!forecast.warnings.empty()) out << "\n";
    out << pad("step", 24) << pad("role", 11) << rpad("P50", 9) << rpad("P90", 9) << "  source\n";
    std::string phase;
    for (const StepForecast& step : forecast.steps) {
        if (step.phase != phase) out << "phase " << (phase = step.phase) << "\n";
        std::string mark =
            std::string(step.on_critical_path ? "*" : " ") + (step.in_window ? "|" : " ");
        out << mark << pad(step.id, 22) << pad(step.role, 11)
            << rpad(step.source == "unknown" ? "?" : format_ms(step.p50_ms), 9)
            << rpad(step.source == "unknown" ? "?" : format_ms(step.p90_ms), 9) << "  "
            << step.source << (step.detail.empty() ? "" : ": " + step.detail) << "\n";
        if (!step.p90_basis.empty() && step.source != "unknown" && step.source != "known")
            out << pad("", 51) << "  P90: " << step.p90_basis << "\n";
    }
    out << "(* on the critical path, | inside the downtime window)\n\n";
    out << "whole run (critical path): P50 " << format_ms(forecast.total_p50_ms) << ", P90 "
        << format_ms(forecast.total_p90_ms) << "\n";
    if (forecast.has_window)
        out << "downtime window (" << forecast.window_from << " -> " << forecast.window_to
            << "): P50 " << format_ms(forecast.window_p50_ms) << ", P90 "
            << format_ms(forecast.window_p90_ms) << "; of which people "
            << format_ms(forecast.window_people_p50_ms) << " (P50)\n";
    else
        out << "downtime window: not marked (add 'downtime: start' and 'downtime: end')\n";
    out << "people time (manual steps): P50 " << format_ms(forecast.people_p50_ms) << ", P90 "
        << format_ms(forecast.people_p90_ms) << "; machine time: P50 "
        << format_ms(forecast.machine_p50_ms) << ", P90 " << format_ms(forecast.machine_p90_ms)
        << "\n";
    if (forecast.budget_ms) {
        double measured = forecast.has_window ? forecast.window_p90_ms : forecast.total_p90_ms;
        out << "budget " << format_ms(static_cast<double>(*forecast.budget_ms)) << ": P90 "
            << (forecast.has_window ? "downtime " : "run ") << format_ms(measured)
            << (forecast.over_budget
                    ? " is OVER the budget by " +
                          format_ms(measured - static_cast<double>(*forecast.budget_ms))
                    : " is within the budget")
            << "\n";
    }
    for (const DeltaGrowth& delta : forecast.deltas) {
        char line[256];
        std::snprintf(line, sizeof line,
                      "delta '%s': %.0f rows %.1fh after the watermark = %.1f rows/h",
                      delta.step.c_str(), delta.rows, delta.lag_hours, delta.rows_per_hour);
        out << line;
        if (delta.forecast_rows) {
            std::snprintf(line, sizeof line, "; with a %.1fh lag expect %.0f rows",
                          *delta.forecast_lag_hours, *delta.forecast_rows);
            out << line;
        } else {
            std::snprintf(line, sizeof line,
                          "; each extra day of lag adds %.0f rows (--lag to forecast)",
                          delta.rows_per_hour * 24);
            out << line;
        }
        out << "\n";
    }
    if (!forecast.must_end_by.empty())
        out << "point of no return: the window must end by " << forecast.must_end_by
            << "; a rollback takes " << format_ms(forecast.rollback_p90_ms) << " (P90; "
            << forecast.rollback_basis << "), so it must start "
            << format_ms(forecast.rollback_p90_ms) << " before that\n";
    if (forecast.draws > 0)
        out << "(run and window: percentiles of " << forecast.draws
            << " joint draws of every step's duration, seed " << forecast.seed << ")\n";
    if (!forecast.unknown.empty())
        out << "unknown (no sample, no estimate): " << join(forecast.unknown, ", ") << "\n";
    if (!forecast.new_steps.empty())
        out << "new in the runbook (in no journal): " << join(forecast.new_steps, ", ") << "\n";
    if (!forecast.missing_steps.empty())
        out << "in the journals but not in the runbook (renamed or removed?): "
            << join(forecast.missing_steps, ", ") << "\n";
    return out.str();
}

Json forecast_json(const Forecast& forecast) {
    Json steps = Json::array();
    for (const StepForecast& step : forecast.steps)
        steps.push_back(Json{{"step", step.id},
                             {"phase", step.phase},
                             {"role", step.role},
                             {"kind", step.kind},
                             {"people", step.people},
                             {"source", step.source},
                             {"detail", step.detail},
                             {"p50_ms", std::llround(step.p50_ms)},
                             {"p90_ms", std::llround(step.p90_ms)},
                             {"p90_basis", step.p90_basis},
                             {"family", step.family},
                             {"floor", step.floor},
                             {"samples", step.samples},
                             {"critical", step.on_critical_path},
                             {"in_window", step.in_window}});
    Json deltas = Json::array();
    for (const DeltaGrowth& delta : forecast.deltas) {
        Json item{{"step", delta.step},
                  {"rows", delta.rows},
                  {"lag_hours", delta.lag_hours},
                  {"rows_per_hour", delta.rows_per_hour}};
        if (delta.forecast_rows)
            item["forecast"] =
                Json{{"lag_hours", *delta.forecast_lag_hours}, {"rows", *delta.forecast_rows}};
        deltas.push_back(item);
    }
    Json out{{"runbook", forecast.runbook},
             {"journals", forecast.journals},
             {"runs", forecast.runs},
             {"steps", steps},
             {"total", Json{{"p50_ms", std::llround(forecast.total_p50_ms)},
                            {"p90_ms", std::llround(forecast.total_p90_ms)}}},
             {"critical_path", forecast.critical_path},
             {"people", Json{{"p50_ms", std::llround(forecast.people_p50_ms)},
                             {"p90_ms", std::llround(forecast.people_p90_ms)}}},
             {"machine", Json{{"p50_ms", std::llround(forecast.machine_p50_ms)},
                              {"p90_ms", std::llround(forecast.machine_p90_ms)}}},
             {"deltas", deltas},
             {"unknown", forecast.unknown},
             {"new_steps", forecast.new_steps},
             {"missing_steps", forecast.missing_steps},
             {"warnings", forecast.warnings},
             {"monte_carlo", Json{{"draws", forecast.draws}, {"seed", forecast.seed}}}};
    if (!forecast.must_end_by.empty())
        out["point_of_no_return"] =
            Json{{"must_end_by", forecast.must_end_by},
                 {"rollback_p90_ms", std::llround(forecast.rollback_p90_ms)},
                 {"rollback_basis", forecast.rollback_basis}};
    out["downtime_window"] =
        forecast.has_window ? Json{{"from", forecast.window_from},
                                   {"to", forecast.window_to},
                                   {"p50_ms", std::llround(forecast.window_p50_ms)},
                                   {"p90_ms", std::llround(forecast.window_p90_ms)},
                                   {"people_p50_ms", std::llround(forecast.window_people_p50_ms)}}
                            : Json(nullptr);
    out["budget"] = forecast.budget_ms
                        ? Json{{"budget_ms", *forecast.budget_ms}, {"over", forecast.over_budget}}
                        : Json(nullptr);
    return out;
}

namespace {

std::string percent_of(double fraction, bool sign) {
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, sign ? "%+.0f%%" : "%.0f%%", fraction * 100);
    return buffer;
}

}  // namespace

std::string backtest_text(const Backtest& backtest, bool per_step) {
    std::ostringstream out;
    for (const std::string& note : backtest.notes) out << "note: " << note << "\n";
    for (const BacktestRun& run : backtest.runs) {
        out << "\n" << run.journal << " (run " << run.run_id << ") forecast from the others:\n";
        if (run.has_window)
            out << "  window: P50 " << format_ms(run.window_p50_ms) << ", P90 "
                << format_ms(run.window_p90_ms) << ", actual " << format_ms(run.window_actual_ms)
                << ", error " << percent_of(run.error, true) << ", "
                << (run.covered ? "covered" : "NOT covered") << " by the P90\n";
        else
            out << "  window: not closed in this run\n";
        if (!per_step) continue;
        out << "  " << pad("step", 22) << rpad("P50", 9) << rpad("P90", 9) << rpad("actual", 9)
            << rpad("error", 7) << "  P90\n";
        for (const BacktestStep& step : run.steps)
            out << "  " << pad(step.id, 22) << rpad(format_ms(step.p50_ms), 9)
                << rpad(format_ms(step.p90_ms), 9) << rpad(format_ms(step.actual_ms), 9)
                << rpad(percent_of(step.error, true), 7) << "  "
                << (step.covered ? "covered" : "NOT covered") << "\n";
    }
    out << "\n" << backtest.summary() << "\n";
    return out.str();
}

Json backtest_json(const Backtest& backtest) {
    Json runs = Json::array();
    for (const BacktestRun& run : backtest.runs) {
        Json steps = Json::array();
        for (const BacktestStep& step : run.steps)
            steps.push_back(Json{{"step", step.id},
                                 {"source", step.source},
                                 {"p50_ms", std::llround(step.p50_ms)},
                                 {"p90_ms", std::llround(step.p90_ms)},
                                 {"actual_ms", std::llround(step.actual_ms)},
                                 {"error", step.error},
                                 {"covered", step.covered}});
        Json item{{"journal", run.journal}, {"run", run.run_id}, {"steps", steps}};
        item["window"] = run.has_window ? Json{{"p50_ms", std::llround(run.window_p50_ms)},
                                               {"p90_ms", std::llround(run.window_p90_ms)},
                                               {"actual_ms", std::llround(run.window_actual_ms)},
                                               {"error", run.error},
                                               {"covered", run.covered}}
                                        : Json(nullptr);
        runs.push_back(item);
    }
    Json out{{"runs", runs}, {"notes", backtest.notes}, {"summary", backtest.summary()}};
    out["window"] =
        Json{{"median_error", backtest.median_error ? Json(*backtest.median_error) : Json(nullptr)},
             {"covered", backtest.covered},
             {"counted", backtest.counted}};
    out["steps"] =
        Json{{"median_error",
              backtest.steps_median_error ? Json(*backtest.steps_median_error) : Json(nullptr)},
             {"covered", backtest.steps_covered},
             {"counted", backtest.steps_counted}};
    return out;
}

std::string diff_text(const RunDiff& diff) {
    std::ostringstream out;
    out << "A: " << diff.path_a << " ('" << diff.name_a << "')\nB: " << diff.path_b << " ('"
        << diff.name_b << "')\n\n";
    out << pad("step", 24) << pad("A", 18) << pad("B", 18) << rpad("change", 10) << "  notes\n";
    auto cell = [](const std::optional<StepSummary>& s) {
        if (!s) return std::string("-");
        return s->status + " " + format_ms(static_cast<double>(s->duration_ms));
    };
    for (const StepDiff& step : diff.steps) {
        std::string change;
        if (step.a && step.b && step.a->duration_ms > 0) {
            double delta = static_cast<double>(step.b->duration_ms - step.a->duration_ms);
            char buffer[32];
            std::snprintf(buffer, sizeof buffer, "%+.0f%%",
                          100.0 * delta / static_cast<double>(step.a->duration_ms));
            change = buffer;
        }
        std::vector<std::string> notes;
        if (!step.a) notes.push_back("only in B");
        if (!step.b) notes.push_back("only in A");
        if (step.new_failure) notes.push_back("new failure");
        if (step.new_retries)
            notes.push_back("new retries (" + std::to_string(step.b->retries) + ")");
        out << "  " << pad(step.step, 22) << pad(cell(step.a), 18) << pad(cell(step.b), 18)
            << rpad(change, 10) << "  " << join(notes, ", ") << "\n";
    }
    out << "\ntotal running time: A " << format_ms(static_cast<double>(diff.total_a_ms)) << ", B "
        << format_ms(static_cast<double>(diff.total_b_ms)) << "\n";
    auto window = [](const std::optional<std::int64_t>& w) {
        return w ? format_ms(static_cast<double>(*w)) : std::string("not closed");
    };
    out << "downtime window: A " << window(diff.window_a_ms) << ", B " << window(diff.window_b_ms)
        << "\n";
    return out.str();
}

Json diff_json(const RunDiff& diff) {
    Json steps = Json::array();
    auto summary = [](const std::optional<StepSummary>& s) -> Json {
        if (!s) return nullptr;
        return Json{{"status", s->status},
                    {"duration_ms", s->duration_ms},
                    {"attempts", s->attempts},
                    {"retries", s->retries},
                    {"failures", s->failures}};
    };
    for (const StepDiff& step : diff.steps)
        steps.push_back(Json{{"step", step.step},
                             {"a", summary(step.a)},
                             {"b", summary(step.b)},
                             {"new_failure", step.new_failure},
                             {"new_retries", step.new_retries}});
    return Json{{"a", diff.path_a},
                {"b", diff.path_b},
                {"steps", steps},
                {"total_a_ms", diff.total_a_ms},
                {"total_b_ms", diff.total_b_ms},
                {"window_a_ms", diff.window_a_ms ? Json(*diff.window_a_ms) : Json(nullptr)},
                {"window_b_ms", diff.window_b_ms ? Json(*diff.window_b_ms) : Json(nullptr)}};
}

}  // namespace migrate::report
