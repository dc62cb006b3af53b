// run --forecast-from: the live forecast of the window's end, printed as steps end and when
// it moves, the alert when its P90 passes the budget, and the point of no return.
#pragma once

#include <atomic>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "migrate/engine/console.h"
#include "migrate/io/services.h"
#include "migrate/journal/journal.h"
#include "migrate/report/estimate.h"
#include "migrate/report/live.h"
#include "migrate/runbook/model.h"

namespace migrate::cli {

class ForecastWatch {
public:
    ForecastWatch(const runbook::Runbook& book, std::vector<report::JournalInput> rehearsals,
                  report::EstimateOptions options, std::string journal_path,
                  journal::Writer& writer, engine::Console& console,
                  io::ConfirmationSource& confirmations, Clock& clock);
    ~ForecastWatch();
    ForecastWatch(const ForecastWatch&) = delete;
    ForecastWatch& operator=(const ForecastWatch&) = delete;

    // The engine's watch: a reason to stop and roll back, or none. Without `look` only the
    // go/no-go's answer is checked.
    std::optional<std::string> operator()(bool look, bool step_ended);
    const report::Forecast& forecast() const { return m_forecast; }

private:
    void on_deadline(const report::LiveForecast& live);
    void ask(const report::LiveForecast& live);

    const runbook::Runbook& m_book;
    std::vector<report::JournalInput> m_rehearsals;
    report::EstimateOptions m_options;
    report::Forecast m_forecast;
    std::string m_journal_path;
    journal::Writer& m_writer;
    engine::Console& m_console;
    io::ConfirmationSource& m_confirmations;
    Clock& m_clock;
    std::optional<std::int64_t> m_shown_p50;  // the end last printed
    bool m_alerted = false;                   // forecast.alert written
    bool m_deadline_seen = false;             // forecast.deadline written
    bool m_rollback_asked = false;            // the stop reason given to the engine
    std::thread m_asking;
    CancelToken m_cancel_ask;
    std::atomic<int> m_decision{0};  // 0 none yet, 1 go on, 2 roll back
};

}  // namespace migrate::cli
