// Where a run stands, read from its journal: for `migrate status` and `migrate confirm`.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "migrate/journal/journal.h"

namespace migrate::report {

struct StepStanding {
    std::string id;
    std::string state = "left";  // left, running, waiting, ok, failed, skipped, interrupted
    std::string role;
    std::string kind;
    std::string detail;  // last progress message, error, or who is awaited
    std::int64_t duration_ms = 0;
    int start_line = 0;
    std::string started;  // the step.start record's time (UTC)
    std::string log;      // its output log, when it has one
};

struct RunStanding {
    std::string run_id;  // of the latest run.start / run.resume
    std::string runbook;
    std::string mode;
    std::string env;
    std::string status;  // running, ok, failed, interrupted, stopped (ended without run.end)
    std::vector<StepStanding> steps;  // in runbook order
    const StepStanding* find(const std::string& id) const;
};

// `locked`: whether a writer holds the journal now (a run is alive).
RunStanding standing_of(const journal::ReadResult& journal, bool locked);

}  // namespace migrate::report
