// Signal handlers only count; the engine's loop reads the count.
#include "migrate/engine/signals.h"

#include <signal.h>

#include <atomic>

namespace migrate::engine {
namespace {

std::atomic<int> g_requests{0};

void on_stop_signal(int) { g_requests.fetch_add(1); }

}  // namespace

void install_stop_signals() {
    struct sigaction action {};
    action.sa_handler = on_stop_signal;
    sigemptyset(&action.sa_mask);
    sigaction(SIGINT, &action, nullptr);
    sigaction(SIGTERM, &action, nullptr);
    signal(SIGPIPE, SIG_IGN);
}

int stop_requests() { return g_requests.load(); }

void reset_stop_requests() { g_requests.store(0); }

}  // namespace migrate::engine
