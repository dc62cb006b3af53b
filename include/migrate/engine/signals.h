// SIGINT and SIGTERM ask the engine to stop cleanly: running commands get SIGTERM, then
// SIGKILL after the grace period. Further signals are counted and change nothing.
#pragma once

namespace migrate::engine {

void install_stop_signals();
// 0 when no stop was asked, else how many times.
int stop_requests();
// For tests: forget earlier requests.
void reset_stop_requests();

}  // namespace migrate::engine
