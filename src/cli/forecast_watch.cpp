// The live forecast during a run.
#include "forecast_watch.h"

#include <cmath>
#include <cstdlib>

#include "migrate/report/render.h"
#include "migrate/runbook/graph.h"
#include "migrate/util/clock.h"
#include "migrate/util/units.h"

namespace migrate::cli {

using Json = nlohmann::ordered_json;

namespace {

constexpr std::int64_t k_moved_ms = 5 * 60'000;  // a move of the end worth a new line

// The role asked at the point of no return: the runbook's choice, else the window opener's.
std::string deciding_role(const runbook::Runbook& book) {
    if (book.window && !book.window->decided_by.empty()) return book.window->decided_by;
    runbook::StepGraph graph(book);
    const runbook::Step* start = graph.downtime_start();
    return start ? start->role : "executor";
}

}  // namespace

ForecastWatch::ForecastWatch(const runbook::Runbook& book,
                             std::vector<report::JournalInput> rehearsals,
                             report::EstimateOptions options, std::string journal_path,
                             journal::Writer& writer, engine::Console& console,
                             io::ConfirmationSource& confirmations, Clock& clock)
    : m_book(book),
      m_rehearsals(std::move(rehearsals)),
      m_options(std::move(options)),
      m_forecast(report::estimate(book, m_rehearsals, m_options)),
      m_journal_path(std::move(journal_path)),
      m_writer(writer),
      m_console(console),
      m_confirmations(confirmations),
      m_clock(clock) {}

ForecastWatch::~ForecastWatch() {
    m_cancel_ask.cancel(CancelReason::aborted);
    if (m_asking.joinable()) m_asking.join();
}

std::optional<std::string> ForecastWatch::operator()(bool look, bool step_ended) {
    if (m_decision.load() == 2 && !m_rollback_asked) {
        m_rollback_asked = true;
        return std::string(report::k_deadline_step);
    }
    if (!look) return std::nullopt;
    report::Timeline run = report::load_timeline(m_journal_path, true);
    report::LiveForecast live =
        report::live_forecast(m_book, m_forecast, m_rehearsals, run, m_clock.wall_ms(), m_options);
    if (live.window_closed) return std::nullopt;
    bool moved = !m_shown_p50 || std::llabs(live.end_p50_ms - *m_shown_p50) > k_moved_ms;
    if (step_ended || moved) {
        m_console.line("  forecast: " + report::live_line(live));
        m_shown_p50 = live.end_p50_ms;
    }
    if (live.over_budget && !m_alerted) {
        m_alerted = true;
        std::int64_t over = live.end_p90_ms - *live.budget_end_ms;
        m_console.line("!!! FORECAST ALERT: the window's P90 end " +
                       report::clock_time(live.end_p90_ms) + " UTC is past the downtime budget (" +
                       report::clock_time(*live.budget_end_ms) + ") by " +
                       format_duration(Millis(over)));
        m_writer.append("forecast.alert",
                        Json{{"reason", "budget"},
                             {"end_p50", format_utc_ms(live.end_p50_ms)},
                             {"end_p90", format_utc_ms(live.end_p90_ms)},
                             {"budget_end", format_utc_ms(*live.budget_end_ms)},
                             {"over_ms", over}},
                        true);
    }
    if (live.deadline_missed && live.window_open && !m_deadline_seen) on_deadline(live);
    if (m_decision.load() == 2 && !m_rollback_asked) {
        m_rollback_asked = true;
        return std::string(report::k_deadline_step);
    }
    return std::nullopt;
}

void ForecastWatch::on_deadline(const report::LiveForecast& live) {
    m_deadline_seen = true;
    const std::string& policy = m_book.window->on_deadline;
    m_console.line("!!! POINT OF NO RETURN: finishing forward ends at " +
                   report::clock_time(live.end_p90_ms) + " UTC (P90), after must_end_by " +
                   report::clock_time(*live.deadline_ms) + "; a rollback takes " +
                   report::format_ms(live.rollback->p90_ms) + " (P90) and must start by " +
                   report::clock_time(*live.no_return_ms) + " UTC");
    m_writer.append("forecast.deadline",
                    Json{{"end_p90", format_utc_ms(live.end_p90_ms)},
                         {"must_end_by", format_utc_ms(*live.deadline_ms)},
                         {"point_of_no_return", format_utc_ms(*live.no_return_ms)},
                         {"rollback_p90_ms", std::llround(live.rollback->p90_ms)},
                         {"on_deadline", policy}},
                    true);
    if (policy == "rollback") {
        m_console.line("on_deadline: rollback: rolling back now");
        m_decision = 2;
    } else if (policy == "ask") {
        ask(live);
    }
}

// A go/no-go for the deciding role, asked the way manual steps are (terminal, migrate confirm,
// --yes), journaled as the step `point-of-no-return`; a rejection rolls back.
void ForecastWatch::ask(const report::LiveForecast& live) {
    std::string role = deciding_role(m_book);
    io::ConfirmationRequest request;
    request.step_id = report::k_deadline_step;
    request.step_name = "go/no-go at the point of no return";
    request.role = role;
    if (auto it = m_book.roles.find(role); it != m_book.roles.end())
        request.role_description = it->second;
    request.instructions = "Finishing forward is forecast to end at " +
                           report::clock_time(live.end_p90_ms) + " UTC (P90), after must_end_by " +
                           report::clock_time(*live.deadline_ms) + ". A rollback takes " +
                           report::format_ms(live.rollback->p90_ms) + " (P90): it must start by " +
                           report::clock_time(*live.no_return_ms) +
                           " UTC to end in time. Confirm to go on; reject to roll back now.";
    Json start{{"step", request.step_id}, {"phase", ""}, {"kind", "manual"}, {"role", role}};
    m_writer.append("step.start", start, true);
    m_asking = std::thread([this, request, start] {
        std::int64_t began = m_clock.steady_ms();
        std::optional<io::Confirmation> answer;
        try {
            answer = m_confirmations.wait(request, m_cancel_ask);
        } catch (const std::exception& e) {
            m_console.line("  the go/no-go could not be asked: " + std::string(e.what()));
        }
        std::int64_t waited = m_clock.steady_ms() - began;
        Json end = start;
        if (answer) {
            m_writer.append("step.confirm",
                            Json{{"step", request.step_id},
                                 {"role", request.role},
                                 {"by", answer->by},
                                 {"note", answer->note},
                                 {"via", answer->via},
                                 {"os_user", answer->os_user},
                                 {"decision", answer->rejected ? "rejected" : "confirmed"},
                                 {"waited_ms", waited}},
                            true);
            end["status"] = answer->rejected ? "failed" : "ok";
            if (answer->rejected)
                end["error"] = "rejected by " + answer->by + " at the point of no return" +
                               (answer->note.empty() ? "" : ": " + answer->note);
            m_console.line(std::string(answer->rejected ? "  rejected " : "  confirmed ") +
                           request.step_id + " by " + answer->by + " (" + answer->via + ")" +
                           (answer->rejected ? ": rolling back" : ": going on"));
        } else {
            end["status"] = "interrupted";
            end["reason"] = "the run ended before a decision";
        }
        end["duration_ms"] = waited;
        end["attempts"] = 1;
        m_writer.append("step.end", end, true);
        m_decision = answer && answer->rejected ? 2 : 1;
    });
}

}  // namespace migrate::cli
