// A journal read back as a timeline: the runs (a run and its resumes), every step
// execution with its times, attempts, metrics and the time people spent, and the downtime
// window as it happened.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "migrate/journal/journal.h"

namespace migrate::report {

using Json = nlohmann::ordered_json;

struct RunInfo {
    std::string id;
    std::string event;  // run.start or run.resume
    std::string name;   // the runbook's name
    std::string runbook;
    std::string runbook_sha256;
    std::string mode;
    std::string env;
    std::string status;  // from run.end; "stopped" when there is none
    std::int64_t start_ms = 0;
    std::int64_t end_ms = 0;  // run.end, or the last record of the run
    std::optional<std::int64_t> downtime_budget_ms;
};

struct StepExecution {
    std::string step;
    std::string phase;
    std::string kind;
    std::string role;
    std::string name;
    std::string run_id;
    std::string status;  // ok, failed, skipped, interrupted, running (no end recorded)
    std::int64_t start_ms = 0;
    std::int64_t end_ms = 0;
    std::int64_t duration_ms = 0;
    int attempts = 0;
    std::vector<std::int64_t> retry_ms;  // when each retry was recorded
    std::int64_t waited_ms = 0;          // waiting for people (confirmations)
    // The step.confirm of a people step: who decided, how, when, why, and on what evidence.
    struct Decision {
        std::string decision;  // confirmed / rejected
        std::string by, os_user, via, note;
        std::int64_t at_ms = 0;
        std::int64_t waited_ms = 0;
        std::string evidence;  // a file's path or a URL; "" for none
        std::string evidence_sha256;
        std::int64_t evidence_size = -1;
        std::string evidence_waived;      // "--yes"
        int approval = 0, approvals = 0;  // "approval 1 of 2"; 0 when the step needs one
    };
    std::vector<Decision> decisions;  // every approval and rejection, in order
    // The last decision: the one that ended the wait (none: the step asked nobody).
    const Decision* confirmation() const { return decisions.empty() ? nullptr : &decisions.back(); }
    Json metrics = Json::object();
    // Its step.progress records that carried a count: cumulative bytes or rows at a moment
    // (-1: not in that record). The forecast reads throughput variation from them.
    struct ProgressPoint {
        std::int64_t at_ms = 0;
        double bytes = -1;
        double rows = -1;
    };
    std::vector<ProgressPoint> progress;
    std::string error;
    std::string failed_hosts;  // a host step's hosts that failed, space-separated
    std::string downtime;      // start / end on the markers
    std::string rollback_of;
    bool people_kind = false;  // a kind whose steps are people's work (manual)
    bool people() const { return people_kind || waited_ms > 0; }
};

// The outage as it happened: it opens at a `downtime: start` step's start and closes at the
// end of the first `downtime: end` step that succeeded after it (a rollback step's too: the
// service is back on the old system), across failures, rollbacks and resumes, the time
// between runs included.
struct Outage {
    std::int64_t start_ms = 0;
    std::optional<std::int64_t> end_ms;  // none: still open when the journal ends
    std::string start_step;
    std::string end_step;
    bool closed_by_rollback = false;
    std::int64_t gaps_ms = 0;  // time between runs inside it
    int runs = 1;              // how many runs it spans
};

struct Timeline {
    std::vector<RunInfo> runs;
    std::vector<StepExecution> steps;  // in the order they started
    std::int64_t start_ms = 0;
    std::int64_t end_ms = 0;
    std::vector<Outage> outages;  // usually one; a resume after a rollback may open another
    // The outages' length together (an open one up to the journal's end); none when the
    // runbook marks no window or it never opened.
    std::optional<std::int64_t> downtime_ms() const;
    bool downtime_closed() const { return !outages.empty() && outages.back().end_ms.has_value(); }
    const RunInfo* run(const std::string& id) const;
    // The runbook name the journal's runs were made from ("" when none).
    std::string runbook_name() const { return runs.empty() ? "" : runs.front().name; }
};

Timeline build_timeline(const journal::ReadResult& journal);

// Reads a journal for analysis. A journal that does not verify is refused (UsageError
// naming the line) unless `force`, which analyses the records before the bad line.
// A newer format version is always refused.
journal::ReadResult read_for_analysis(const std::string& path, bool force);
void check_for_analysis(const std::string& path, const journal::ReadResult& read,
                        std::size_t records, bool force);

// The fast path: verifies and reads a journal straight into a timeline, without holding its
// records (million-record journals). Same refusals as read_for_analysis.
Timeline load_timeline(const std::string& path, bool force);

}  // namespace migrate::report
