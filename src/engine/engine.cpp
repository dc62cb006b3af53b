// Scheduling: which steps may start, failure policies, rollback, signals, run.end.
#include "migrate/engine/engine.h"

#include <atomic>
#include <condition_variable>
#include <thread>

#include "migrate/engine/signals.h"
#include "migrate/runbook/graph.h"
#include "migrate/util/error.h"
#include "step_executor.h"

namespace migrate::engine {

PriorState read_prior_state(const journal::ReadResult& journal) {
    PriorState prior;
    for (const journal::Record& record : journal.records) {
        const std::string& event = record.event();
        const Json& data = record.data;
        std::string step = record.string("step");
        if (event == "run.start" || event == "run.resume") {
            prior.has_run = true;
            prior.last_run_id = record.string("run");
            prior.last_status.clear();
            if (event == "run.start") {
                prior.runbook_sha256 = record.string("runbook_sha256");
                prior.step_hashes.clear();
                if (data.contains("step_hashes"))
                    for (const auto& [id, hash] : data["step_hashes"].items())
                        prior.step_hashes[id] = hash.get<std::string>();
            }
        } else if (event == "run.end") {
            prior.last_status = record.string("status");
        } else if (event == "step.checkpoint") {
            prior.checkpoints[step] = data.value("state", Json());
        } else if (event == "step.end") {
            std::string status = record.string("status");
            if (data.contains("rollback_of")) {
                // The step it undoes is no longer done: a resume must run it again.
                if (status == "ok") {
                    std::string undone = record.string("rollback_of");
                    prior.done.erase(undone);
                    prior.outputs.erase(undone);
                    std::erase(prior.completed_order, undone);
                }
                continue;
            }
            if (status == "ok" || status == "skipped") {
                prior.done.insert(step);
                prior.checkpoints.erase(step);
                if (status == "ok") {
                    prior.outputs[step] = data.value("outputs", Json::object());
                    prior.completed_order.push_back(step);
                }
            } else {
                prior.done.erase(step);
            }
        }
    }
    return prior;
}

struct Engine::Impl {
    explicit Impl(EngineSetup setup_in)
        : setup(std::move(setup_in)), graph(setup.book), shared{setup} {}

    struct Slot {
        const runbook::Step* step = nullptr;
        StepState state = StepState::pending;
        std::unique_ptr<StepControl> control;
        std::thread thread;
        bool finished = false;  // the worker is done; the scheduler has not reaped it yet
        StepResult result;
        std::vector<std::size_t> dependents;  // slots that need this one
        std::size_t unmet = 0;                // needs not yet satisfied
    };

    EngineSetup setup;
    runbook::StepGraph graph;
    RunShared shared;
    std::vector<Slot> slots;
    std::mutex mutex;
    std::condition_variable changed;
    std::vector<std::string> completed_order;
    std::set<std::string> phases_started;
    bool stopping = false;
    std::exception_ptr fatal_error;  // thrown on a worker thread (the journal failed)
    bool interrupted = false;
    bool rollback_wanted = false;
    std::vector<std::string> failed;
    std::vector<std::string> tolerated;
    std::string rollback_trigger;
    // Bookkeeping that keeps scheduling linear in the number of steps.
    std::set<std::size_t> ready_queue;  // pending slots whose needs are met, in file order
    std::set<std::size_t> running_slots;
    std::vector<std::size_t> finished_slots;  // filled by workers, drained by the scheduler
    std::map<std::string, int> phase_open;    // steps of a phase not yet in a final state
    std::map<std::string, bool> phase_failed;

    void skip(Slot& slot, const std::string& reason) {
        slot.state = StepState::skipped;
        shared.unavailable.insert(slot.step->id);
        Json fields{{"step", slot.step->id},   {"phase", slot.step->phase_id},
                    {"kind", slot.step->kind}, {"role", slot.step->role},
                    {"status", "skipped"},     {"reason", reason},
                    {"duration_ms", 0}};
        shared.journal("step.end", fields);
        setup.console.line("  skip   " + slot.step->id + " (" + reason + ")");
    }

    // A step done in an earlier run stays done only while everything it needs is done too:
    // after a rollback undid an ancestor, its descendants' results are stale.
    std::set<std::string> still_done(const PriorState& prior) const {
        std::set<std::string> done = prior.done;
        for (bool again = true; again;) {
            again = false;
            for (auto it = done.begin(); it != done.end();) {
                const auto& needs =
                    graph.contains(*it) ? graph.needs(*it) : std::vector<std::string>{};
                bool stale = std::any_of(needs.begin(), needs.end(),
                                         [&](const std::string& n) { return !done.count(n); });
                if (stale) {
                    it = done.erase(it);
                    again = true;
                } else {
                    ++it;
                }
            }
        }
        return done;
    }

    void prepare(const PriorState& prior) {
        shared.checkpoints = prior.checkpoints;
        shared.outputs = prior.outputs;
        std::set<std::string> done = still_done(prior);
        for (const std::string& id : prior.completed_order)
            if (done.count(id)) completed_order.push_back(id);
        std::optional<std::size_t> from_index;
        if (setup.options.from) from_index = graph.index(*setup.options.from);
        for (const runbook::Step* step : graph.order()) {
            Slot& slot = slots.emplace_back();
            slot.step = step;
            slot.control = std::make_unique<StepControl>();
            if (done.count(step->id)) {
                slot.state = StepState::ok;
                continue;
            }
            const auto& only = setup.options.only;
            if (from_index && graph.index(step->id) < *from_index)
                skip(slot, "before --from " + *setup.options.from);
            else if (!only.empty() && std::find(only.begin(), only.end(), step->id) == only.end())
                skip(slot, "not in --only");
        }
        for (std::size_t i = 0; i < slots.size(); ++i) {
            const runbook::Step& step = *slots[i].step;
            if (slots[i].state == StepState::pending) ++phase_open[step.phase_id];
            for (const std::string& need : graph.needs(step.id)) {
                std::size_t j = graph.index(need);
                slots[j].dependents.push_back(i);
                if (!satisfied(slots[j].state)) ++slots[i].unmet;
            }
        }
        for (std::size_t i = 0; i < slots.size(); ++i)
            if (slots[i].state == StepState::pending && slots[i].unmet == 0) ready_queue.insert(i);
    }

    // A step reached a state its dependents may start after.
    void release_dependents(std::size_t index) {
        for (std::size_t dependent : slots[index].dependents)
            if (--slots[dependent].unmet == 0 && slots[dependent].state == StepState::pending)
                ready_queue.insert(dependent);
    }

    bool satisfied(StepState state) const {
        return state == StepState::ok || state == StepState::skipped ||
               state == StepState::tolerated;
    }

    void start_phase_if_new(const runbook::Step& step) {
        if (!phases_started.insert(step.phase_id).second) return;
        for (const runbook::Phase& phase : setup.book.phases)
            if (phase.id == step.phase_id) {
                shared.journal("phase.start", Json{{"phase", phase.id}, {"name", phase.name}});
                setup.console.line("phase " + phase.id +
                                   (phase.name.empty() ? "" : ": " + phase.name));
            }
    }

    void end_phase_if_complete(const runbook::Step& step, StepState state) {
        if (state == StepState::failed || state == StepState::tolerated)
            phase_failed[step.phase_id] = true;
        if (state == StepState::interrupted || --phase_open[step.phase_id] > 0) return;
        if (phases_started.count(step.phase_id))
            shared.journal("phase.end",
                           Json{{"phase", step.phase_id},
                                {"status", phase_failed[step.phase_id] ? "failed" : "ok"}});
    }

    void launch(std::size_t index) {
        Slot& slot = slots[index];
        start_phase_if_new(*slot.step);
        slot.state = StepState::running;
        running_slots.insert(index);
        slot.thread = std::thread([this, &slot, index] {
            StepResult result{StepState::failed, ""};
            std::exception_ptr error;
            try {
                result = StepExecutor(shared, *slot.step, *slot.control).execute();
            } catch (...) {
                error = std::current_exception();  // rethrown by run() once the others stopped
            }
            std::lock_guard lock(mutex);
            if (error && !fatal_error) fatal_error = error;
            slot.result = result;
            slot.finished = true;
            finished_slots.push_back(index);
            changed.notify_all();
        });
    }

    void cancel_running(CancelReason reason) {
        for (std::size_t index : running_slots) slots[index].control->cancel(reason);
    }

    void check_deadlines() {
        std::int64_t now = setup.services.clock.steady_ms();
        for (std::size_t index : running_slots) {
            Slot& slot = slots[index];
            std::int64_t deadline = slot.control->deadline_ms.load();
            if (deadline == 0 || now < deadline) continue;
            std::lock_guard lock(slot.control->mutex);
            if (slot.control->attempt) slot.control->attempt->cancel(CancelReason::timeout);
        }
    }

    void reap(std::size_t index) {
        Slot& slot = slots[index];
        slot.thread.join();
        slot.finished = false;
        running_slots.erase(index);
        StepState state = slot.result.state;
        const runbook::Step& step = *slot.step;
        if (state == StepState::ok) completed_order.push_back(step.id);
        if (state == StepState::skipped) {
            std::lock_guard outputs_lock(
                shared.outputs_mutex);  // step threads read it while expanding
            shared.unavailable.insert(step.id);
        }
        if (state == StepState::failed) {
            if (step.on_failure == runbook::OnFailure::continue_run) {
                state = StepState::tolerated;
                tolerated.push_back(step.id);
            } else {
                failed.push_back(step.id);
                if (!stopping) {
                    stopping = true;
                    if (step.on_failure == runbook::OnFailure::rollback) {
                        rollback_wanted = true;
                        rollback_trigger = step.id;
                    }
                    cancel_running(CancelReason::aborted);
                }
            }
        }
        slot.state = state;
        if (satisfied(state)) release_dependents(index);
        end_phase_if_complete(step, state);
    }

    void schedule() {
        std::unique_lock lock(mutex);
        for (;;) {
            if (stop_requests() > 0 && !interrupted) {
                interrupted = true;
                setup.console.line(
                    "stopping: signal received; running steps are being stopped (resume with "
                    "--resume)");
                cancel_running(CancelReason::interrupted);
            }
            check_deadlines();
            std::vector<std::size_t> done;
            done.swap(finished_slots);
            for (std::size_t index : done) reap(index);
            if (fatal_error && !stopping) {
                stopping = true;
                cancel_running(CancelReason::aborted);
            }
            while (!stopping && !interrupted && !ready_queue.empty() &&
                   static_cast<int>(running_slots.size()) < setup.options.max_parallel) {
                std::size_t next = *ready_queue.begin();
                ready_queue.erase(ready_queue.begin());
                launch(next);
            }
            if (running_slots.empty()) break;
            changed.wait_for(lock, std::chrono::milliseconds(50));
        }
    }

    // The scheduler itself failed (the journal cannot be written): stop every step and wait
    // for its thread before the error goes up.
    void abandon() {
        {
            std::lock_guard lock(mutex);
            stopping = true;
            cancel_running(CancelReason::aborted);
        }
        for (Slot& slot : slots)
            if (slot.thread.joinable()) slot.thread.join();
    }

    // Runs one step outside the scheduler (a rollback step) while still honouring its
    // timeout and stop signals.
    StepResult supervise(const runbook::Step& step) {
        StepControl control;
        StepResult result{StepState::failed, ""};
        std::exception_ptr error;
        std::atomic<bool> done{false};
        std::thread worker([&] {
            try {
                result = StepExecutor(shared, step, control).execute();
            } catch (...) {
                error = std::current_exception();
            }
            done = true;
            std::lock_guard lock(mutex);
            changed.notify_all();
        });
        {
            std::unique_lock lock(mutex);
            while (!done) {
                if (stop_requests() > 0 && !interrupted) {
                    interrupted = true;
                    control.cancel(CancelReason::interrupted);
                }
                std::int64_t deadline = control.deadline_ms.load();
                if (deadline != 0 && setup.services.clock.steady_ms() >= deadline) {
                    std::lock_guard attempt_lock(control.mutex);
                    if (control.attempt) control.attempt->cancel(CancelReason::timeout);
                }
                changed.wait_for(lock, std::chrono::milliseconds(50));
            }
        }
        worker.join();
        if (error) std::rethrow_exception(error);
        return result;
    }

    // Undo, newest first: the failed step's own rollback, then every completed step's.
    void roll_back() {
        std::vector<std::string> order{rollback_trigger};
        order.insert(order.end(), completed_order.rbegin(), completed_order.rend());
        bool any = false;
        for (const std::string& id : order) {
            const runbook::Step* step = graph.step(id);
            if (step == nullptr || step->rollback.empty()) continue;
            if (!any) setup.console.line("rollback: undoing completed steps, newest first");
            any = true;
            for (const runbook::Step& undo : step->rollback) {
                if (stop_requests() > 0) {
                    interrupted = true;
                    return;
                }
                StepResult result = supervise(undo);
                if (result.state == StepState::failed) failed.push_back(undo.id);
                if (result.state == StepState::interrupted) return;
            }
        }
    }

    RunOutcome finish(std::int64_t started) {
        RunOutcome outcome;
        outcome.failed = failed;
        outcome.tolerated = tolerated;
        bool all_done = std::all_of(slots.begin(), slots.end(),
                                    [&](const Slot& slot) { return satisfied(slot.state); });
        if (interrupted) {
            outcome.status = "interrupted";
            outcome.exit_code = exit_code::k_interrupted;
        } else if (!failed.empty() || !all_done) {
            outcome.status = "failed";
            outcome.exit_code = exit_code::k_step_failed;
        } else {
            outcome.status = "ok";
        }
        for (const runbook::Phase& phase : setup.book.phases) {
            bool open = phases_started.count(phase.id) &&
                        std::any_of(slots.begin(), slots.end(), [&](const Slot& slot) {
                            return slot.step->phase_id == phase.id && !satisfied(slot.state) &&
                                   slot.state != StepState::failed;
                        });
            if (open)
                shared.journal("phase.end",
                               Json{{"phase", phase.id},
                                    {"status", outcome.status == "ok" ? "ok" : "incomplete"}});
        }
        Json end{{"status", outcome.status},
                 {"duration_ms", setup.services.clock.steady_ms() - started}};
        if (!failed.empty()) end["failed"] = failed;
        if (!tolerated.empty()) end["tolerated"] = tolerated;
        if (rollback_wanted) end["rolled_back"] = !interrupted;
        shared.journal("run.end", end);
        return outcome;
    }
};

Engine::Engine(EngineSetup setup) : m_impl(std::make_unique<Impl>(std::move(setup))) {}

Engine::~Engine() = default;

RunOutcome Engine::run(const PriorState& prior) {
    Impl& impl = *m_impl;
    std::int64_t started = impl.setup.services.clock.steady_ms();
    impl.prepare(prior);
    try {
        impl.schedule();
    } catch (...) {
        impl.abandon();  // a std::thread still joinable at destruction would abort the process
        throw;
    }
    if (impl.fatal_error) std::rethrow_exception(impl.fatal_error);
    if (impl.rollback_wanted && !impl.interrupted) impl.roll_back();
    return impl.finish(started);
}

RunOutcome Engine::dry_run() {
    Impl& impl = *m_impl;
    impl.shared.dry_run = true;
    RunOutcome outcome{"ok", 0, {}, {}};
    for (const runbook::Step* step : impl.graph.order()) {
        StepControl control;
        StepResult result = StepExecutor(impl.shared, *step, control).preflight();
        if (result.state == StepState::failed) outcome.failed.push_back(step->id);
    }
    if (!outcome.failed.empty()) {
        outcome.status = "failed";
        outcome.exit_code = exit_code::k_step_failed;
    }
    return outcome;
}

}  // namespace migrate::engine
