// Runs one step: interpolates its parameters, evaluates `when`, makes attempts under the
// timeout and retry policy, and journals start, retries, progress, checkpoints and end.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>

#include "migrate/engine/engine.h"

namespace migrate::engine {

enum class StepState { pending, running, ok, failed, tolerated, skipped, interrupted };
std::string state_name(StepState state);

// Shared between the scheduler and the executors of one run.
struct RunShared {
    const EngineSetup& setup;
    std::mutex outputs_mutex;
    std::map<std::string, Json> outputs;  // step id -> outputs
    std::set<std::string> unavailable;    // steps that did not run (skipped)
    // The newest checkpoint per step: from the journal (for resume), then this run's.
    std::map<std::string, Json> checkpoints;
    bool dry_run = false;  // outputs of earlier steps are placeholders
    void journal(const std::string& event, Json fields) const;
};

// The engine's handle on a running step, for timeouts and stops.
struct StepControl {
    CancelToken stop;  // interrupted or aborted: no more attempts
    std::mutex mutex;
    std::shared_ptr<CancelToken> attempt;
    std::atomic<std::int64_t> deadline_ms{0};  // steady clock; 0 = none
    void cancel(CancelReason reason);
};

struct StepResult {
    StepState state = StepState::failed;
    std::string error;
    // The step began its work (an attempt started): a rollback must undo it whatever its end.
    bool touched = true;
};

class StepExecutor {
public:
    StepExecutor(RunShared& shared, const runbook::Step& step, StepControl& control)
        : m_shared(shared), m_step(step), m_control(control) {}
    StepResult execute();
    // The dry-run path: interpolate, describe, preflight.
    StepResult preflight();

private:
    Json interpolate(const runbook::Node& node) const;
    // The runbook's connection `name`, interpolated like `with`.
    Json connection(const std::string& name) const;
    kinds::ConnectionLookup connection_lookup() const {
        return [this](const std::string& name) { return connection(name); };
    }
    // The hosts of a pattern, --limit applied (kinds::HostLookup).
    std::vector<runbook::InventoryHost> select_hosts(const std::string& pattern) const;
    // Another step's parameters, outputs and checkpoint (kinds::StepTraceLookup).
    kinds::StepTrace trace_of(const std::string& step_id) const;
    // What the kind's runner is handed, for a run or a dry run.
    kinds::StepContext context_for(const kinds::Params& params, kinds::StepEvents& events,
                                   kinds::RunMode mode, std::string log_path,
                                   std::optional<Json> checkpoint) const;
    std::string expand_text(const std::string& text, const runbook::Mark& mark) const;
    StepResult attempt_loop(kinds::StepContext& context, kinds::StepRunner& runner);
    StepResult finish(StepResult result, const kinds::StepContext* context, std::int64_t started,
                      int attempts);
    Json step_fields() const;

    RunShared& m_shared;
    const runbook::Step& m_step;
    StepControl& m_control;
};

}  // namespace migrate::engine
