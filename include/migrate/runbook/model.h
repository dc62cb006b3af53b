// The runbook as the engine uses it: phases of role-tagged steps, vars, environments.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "migrate/runbook/document.h"
#include "migrate/util/units.h"

namespace migrate::runbook {

enum class OnFailure { abort, continue_run, rollback };
enum class DowntimeMarker { none, start, end };
const char* on_failure_name(OnFailure policy);  // abort, continue, rollback

struct RetryPolicy {
    int attempts = 1;  // total attempts, the first included
    Millis backoff{std::chrono::seconds(10)};
    Millis max_backoff{std::chrono::minutes(10)};
};

struct ScaleSpec {
    std::string metric;  // bytes, rows, files, hosts
    std::string expect;  // may hold ${...}; resolved at estimate time
    Mark mark;           // of `expect` (of `scale` when there is none)
};

// A text with its position, so interpolation errors can point into the file.
struct Located {
    std::string text;
    Mark mark;
    bool present = false;
};

struct Step {
    std::string id;
    Mark mark;     // of the step's mapping
    Mark id_mark;  // of its id
    std::string name;
    std::string kind;
    Mark kind_mark;
    std::string role = "executor";
    Mark role_mark;
    std::vector<std::string> needs;
    std::vector<Mark> needs_marks;
    bool needs_given = false;  // false: needs the step before it
    Located when;
    std::optional<Millis> timeout;
    RetryPolicy retry;
    OnFailure on_failure =
        OnFailure::abort;  // the step's own, else its phase's, else the runbook's
    std::string on_failure_from = "default";  // step, phase, runbook or default
    std::vector<Step> rollback;  // run in order, after a failure, in reverse step order
    DowntimeMarker downtime = DowntimeMarker::none;
    Mark downtime_mark;
    std::optional<Millis> estimate;      // the prior's P50 (`estimate: 15m` or `{ p50: 15m }`)
    std::optional<Millis> estimate_p90;  // `estimate: { p50: 2h, p90: 4h }`; none: the P50
    // `variability: 40%`: the least margin of the forecast's P90 over its P50, in place of
    // the floor of the step's kind family (docs/estimating-downtime.md). 0.4 for 40%.
    std::optional<double> variability;
    std::optional<ScaleSpec> scale;
    Node with;                              // the kind's own parameters, still uninterpolated
    std::optional<Mark> instructions_mark;  // a step-level `instructions:`, moved into `with`
    Mark with_mark;  // of the `with` key (the kind's mark when there is none)
    std::string phase_id;
    bool is_rollback = false;
    std::string rollback_of;
    // SHA-256 of the step's source text: resume names the steps that changed.
    std::string definition_hash;
};

struct Phase {
    std::string id;
    std::string name;
    std::string urgency;
    Mark mark;
    std::optional<OnFailure> on_failure;  // the default of its steps
    std::vector<Step> steps;
};

struct Environment {
    std::string name;
    Mark mark;
    std::map<std::string, Located> vars;
};

// `window: { must_end_by: "10:45", on_deadline: ask }`: by when the downtime window must be
// over, so the latest moment a rollback can start and still end in time.
struct WindowSpec {
    std::string must_end_by;  // as written
    Mark mark;                // of must_end_by
    // One of: a duration from the window's start; a time of day (seconds after midnight,
    // the first such moment after the window starts), at a UTC offset or in local time; an
    // instant (epoch ms).
    std::optional<Millis> after_start;
    std::optional<int> time_of_day_s;
    std::optional<int> utc_offset_s;  // none: the machine's local time
    std::optional<std::int64_t> at_epoch_ms;
    std::string on_deadline = "ask";  // ask (a go/no-go for decided_by), rollback, warn
    std::string decided_by;           // a role; default: the role of the downtime: start step
    Mark on_deadline_mark;
};

struct Runbook {
    std::shared_ptr<const SourceFile> source;
    std::string sha256;
    int version = 0;
    std::string name;
    std::optional<Millis> downtime_budget;
    std::optional<OnFailure> on_failure;  // the default of every step
    // After the first stop signal, how long running steps may go on before they are stopped.
    std::optional<Millis> grace;
    std::map<std::string, std::string> roles;  // id -> description
    std::map<std::string, Located> vars;
    std::map<std::string, Environment> environments;
    Node connections;  // checked by the kinds that use them
    Node hosts;
    std::optional<WindowSpec> window;
    std::vector<Phase> phases;

    // Every step (rollback steps excluded) in document order.
    std::vector<const Step*> steps() const;
    const Step* find_step(const std::string& id) const;  // rollback steps included
};

// Parses and checks the structure of a runbook document. Semantic checks (needs, vars,
// kinds) are in validate.h. Diagnostics are added for every problem found.
Runbook load_runbook(const Document& document, Diagnostics& diagnostics);

}  // namespace migrate::runbook
