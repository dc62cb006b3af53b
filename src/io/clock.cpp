// The real clock.
#include "migrate/io/clock.h"

#include <chrono>

namespace migrate::io {

std::int64_t SystemClock::wall_ms() {
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

std::int64_t SystemClock::steady_ms() {
    using namespace std::chrono;
    return duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count();
}

bool SystemClock::sleep(Millis duration, CancelToken& cancel) { return cancel.wait_for(duration); }

}  // namespace migrate::io
