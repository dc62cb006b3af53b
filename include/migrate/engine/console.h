// What the operator sees while a run goes: one line per event, redacted; progress redrawn
// in place on a terminal, or one plain line at most once a second per step otherwise.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <ostream>
#include <string>

namespace migrate::engine {

class Console {
public:
    Console(std::ostream& out, bool is_terminal, bool quiet = false)
        : m_out(out), m_terminal(is_terminal), m_quiet(quiet) {}
    void line(const std::string& text);
    // Throttled: at most one update a second per key.
    void progress(const std::string& key, const std::string& text, std::int64_t now_ms);
    bool is_terminal() const { return m_terminal; }

private:
    void clear_progress_line();
    std::ostream& m_out;
    bool m_terminal;
    bool m_quiet;
    std::mutex m_mutex;
    std::map<std::string, std::int64_t> m_last_progress;
    bool m_progress_shown = false;
};

}  // namespace migrate::engine
