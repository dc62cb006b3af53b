// Terminal output of a run.
#include "migrate/engine/console.h"

#include <spdlog/spdlog.h>

#include "migrate/util/redactor.h"

namespace migrate::engine {

void Console::clear_progress_line() {
    if (m_progress_shown) m_out << "\r\033[K";
    m_progress_shown = false;
}

void Console::line(const std::string& text) {
    std::string safe = Redactor::global().redact(text);
    spdlog::info(safe);  // the log file keeps the run's transcript
    if (m_quiet) return;
    std::lock_guard lock(m_mutex);
    clear_progress_line();
    m_out << safe << std::endl;
}

void Console::progress(const std::string& key, const std::string& text, std::int64_t now_ms) {
    if (m_quiet) return;
    std::lock_guard lock(m_mutex);
    auto [it, inserted] = m_last_progress.emplace(key, now_ms);
    if (!inserted && now_ms - it->second < 1000) return;
    it->second = now_ms;
    std::string safe = Redactor::global().redact(text);
    if (m_terminal) {
        clear_progress_line();
        m_out << safe << std::flush;
        m_progress_shown = true;
    } else {
        m_out << safe << std::endl;
    }
}

}  // namespace migrate::engine
