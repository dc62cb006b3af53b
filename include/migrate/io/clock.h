// The real clock: the system's wall time for the journal, its steady clock for durations.
// The Clock interface itself sits in util/clock.h, below the journal and util's rate meter,
// which take it.
#pragma once

#include "migrate/util/clock.h"

namespace migrate::io {

class SystemClock : public Clock {
public:
    std::int64_t wall_ms() override;
    std::int64_t steady_ms() override;
    bool sleep(Millis duration, CancelToken& cancel) override;
};

}  // namespace migrate::io
