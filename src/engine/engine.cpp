// Scheduling: which steps may start, failure policies, rollback, signals, run.end.
#include "migrate/engine/engine.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <functional>
#include <thread>

#include "migrate/engine/signals.h"
#include "migrate/runbook/graph.h"
#include "migrate/util/error.h"
#include "migrate/util/text.h"
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
                // The step it undoes is no longer done: a resume must run it again, from
                // its start (what its checkpoints recorded was undone too).
                if (status == "ok") {
                    std::string undone = record.string("rollback_of");
                    prior.done.erase(undone);
                    prior.outputs.erase(undone);
                    prior.checkpoints.erase(undone);
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
        std::size_t start_seq = 0;            // order of launch in this run, from 1
    };

    EngineSetup setup;
    runbook::StepGraph graph;
    RunShared shared;
    std::vector<Slot> slots;
    std::mutex mutex;
    std::condition_variable changed;
    std::vector<std::string> prior_completed;  // completed by earlier runs, in order
    std::vector<std::size_t> touched;          // slots this run started that did work
    std::set<std::string> phases_started;
    bool stopping = false;
    std::exception_ptr fatal_error;  // thrown on a worker thread (the journal failed)
    bool interrupted = false;        // a stop signal: no step starts any more
    bool forced_stop = false;  // the running steps were told to stop (second signal, grace over)
    std::int64_t grace_deadline = 0;
    std::int64_t next_grace_notice = 0;
    std::int64_t next_watch = 0;
    std::size_t launches = 0;
    int working = 0;  // running steps that count against --max-parallel (not people's)
    bool rollback_wanted = false;
    std::vector<std::string> failed;
    std::vector<std::string> tolerated;
    std::string rollback_trigger;
    // Bookkeeping that keeps scheduling linear in the number of steps.
    // Pending slots whose needs are met, in file order: automatic steps (bounded by
    // --max-parallel) and steps waiting for people (not bounded), apart so that a full
    // machine queue is never walked.
    std::set<std::size_t> ready_queue;
    std::set<std::size_t> ready_people;
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

    // Why --from or --only leaves the step out, if they do.
    std::optional<std::string> deselected(const runbook::Step& step) const {
        const RunOptions& options = setup.options;
        if (options.from && graph.index(step.id) < graph.index(*options.from))
            return "before --from " + *options.from;
        if (!options.only.empty() &&
            std::find(options.only.begin(), options.only.end(), step.id) == options.only.end())
            return std::string("not in --only");
        return std::nullopt;
    }

    void prepare(const PriorState& prior) {
        shared.checkpoints = prior.checkpoints;
        shared.outputs = prior.outputs;
        std::set<std::string> done = still_done(prior);
        for (const std::string& id : prior.completed_order)
            if (done.count(id)) prior_completed.push_back(id);
        for (const runbook::Step* step : graph.order()) {
            Slot& slot = slots.emplace_back();
            slot.step = step;
            slot.control = std::make_unique<StepControl>();
            if (done.count(step->id)) {
                slot.state = StepState::ok;
                continue;
            }
            if (auto reason = deselected(*step)) skip(slot, *reason);
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
            if (slots[i].state == StepState::pending && slots[i].unmet == 0) make_ready(i);
    }

    void make_ready(std::size_t index) {
        (waits_for_people(*slots[index].step) ? ready_people : ready_queue).insert(index);
    }

    // A step reached a state its dependents may start after.
    void release_dependents(std::size_t index) {
        for (std::size_t dependent : slots[index].dependents)
            if (--slots[dependent].unmet == 0 && slots[dependent].state == StepState::pending)
                make_ready(dependent);
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
        slot.start_seq = ++launches;
        running_slots.insert(index);
        if (!waits_for_people(*slot.step)) ++working;
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

    // A step whose work is a person's (manual): it waits, it does not load the machine.
    bool waits_for_people(const runbook::Step& step) const {
        const kinds::KindSpec* kind = kinds::find_kind(setup.kinds, step.kind);
        return kind != nullptr && kind->schema.people;
    }

    // First stop signal: nothing new starts; running steps may finish within the grace
    // period (steps waiting for people stop at once: nobody is working for the engine). A
    // second signal, or the grace period's end, stops the rest.
    void handle_stop_signals(const std::set<std::size_t>& running,
                             const std::function<void(CancelReason)>& cancel_all,
                             const std::function<std::vector<std::string>()>& running_ids) {
        int requests = stop_requests();
        if (requests == 0) return;
        std::int64_t now = setup.services.clock.steady_ms();
        if (!interrupted) {
            interrupted = true;
            grace_deadline = now + setup.options.grace.count();
            next_grace_notice = now + 10000;
            for (std::size_t index : running)
                if (waits_for_people(*slots[index].step))
                    slots[index].control->cancel(CancelReason::interrupted);
            std::vector<std::string> ids = running_ids();
            setup.console.line(
                ids.empty() ? "stopping: signal received; no new step starts"
                            : "stopping: signal received; no new step starts; running steps (" +
                                  join(ids, ", ") + ") may finish within " +
                                  format_duration(setup.options.grace) +
                                  "; a second Ctrl-C stops them now");
        }
        if (forced_stop) return;
        if (requests >= 2 || now >= grace_deadline) {
            forced_stop = true;
            setup.console.line(requests >= 2 ? "stopping the running steps now (second signal)"
                                             : "stopping the running steps now: the grace "
                                               "period is over");
            cancel_all(CancelReason::interrupted);
        } else if (now >= next_grace_notice) {
            next_grace_notice = now + 10000;
            std::vector<std::string> ids = running_ids();
            if (!ids.empty())
                setup.console.line("  still running: " + join(ids, ", ") + "; stopped in " +
                                   format_duration(Millis(grace_deadline - now)) +
                                   " (Ctrl-C again to stop now)");
        }
    }

    std::vector<std::string> running_step_ids() const {
        std::vector<std::string> ids;
        for (std::size_t index : running_slots)
            if (!waits_for_people(*slots[index].step)) ids.push_back(slots[index].step->id);
        return ids;
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
        if (!waits_for_people(step)) --working;
        if (state != StepState::skipped && slot.result.touched) touched.push_back(index);
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
            handle_stop_signals(
                running_slots, [this](CancelReason reason) { cancel_running(reason); },
                [this] { return running_step_ids(); });
            check_deadlines();
            std::vector<std::size_t> done;
            done.swap(finished_slots);
            for (std::size_t index : done) reap(index);
            watch(lock, !done.empty());
            if (fatal_error && !stopping) {
                stopping = true;
                cancel_running(CancelReason::aborted);
            }
            // Steps waiting for people take no --max-parallel slot: a ready automatic step
            // does not sit behind a manual check.
            while (!stopping && !interrupted && !ready_people.empty()) {
                std::size_t next = *ready_people.begin();
                ready_people.erase(ready_people.begin());
                launch(next);
            }
            while (!stopping && !interrupted && !ready_queue.empty() &&
                   working < setup.options.max_parallel) {
                std::size_t next = *ready_queue.begin();
                ready_queue.erase(ready_queue.begin());
                launch(next);
            }
            if (running_slots.empty()) break;
            changed.wait_for(lock, std::chrono::milliseconds(50));
        }
    }

    // The live forecast's look at the run: after steps end, else every few seconds. The
    // scheduler's lock is let go meanwhile (it reads the journal, not the engine's state).
    void watch(std::unique_lock<std::mutex>& lock, bool step_ended) {
        if (!setup.watch || stopping || interrupted) return;
        std::int64_t now = setup.services.clock.steady_ms();
        bool look = step_ended || now >= next_watch;
        lock.unlock();
        std::optional<std::string> stop;
        try {
            stop = setup.watch(look, step_ended);
        } catch (...) {
            lock.lock();
            throw;
        }
        lock.lock();
        // A look every 5 s, or less often when it is slow (a long journal): it never takes
        // more than a tenth of the scheduler's time.
        std::int64_t after = setup.services.clock.steady_ms();
        if (look) next_watch = after + std::max<std::int64_t>(5000, 10 * (after - now));
        if (!stop || stopping) return;
        stopping = true;
        failed.push_back(*stop);
        rollback_wanted = true;
        rollback_trigger = *stop;
        cancel_running(CancelReason::aborted);
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
                handle_stop_signals(
                    {}, [&](CancelReason reason) { control.cancel(reason); },
                    [&] { return std::vector<std::string>{step.id}; });
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

    // Undo every step this run touched (completed, failed, or stopped midway), newest start
    // first, then the steps earlier runs completed, newest first (docs/engine.md).
    void roll_back() {
        std::vector<std::size_t> started = touched;
        std::sort(started.begin(), started.end(), [&](std::size_t a, std::size_t b) {
            return slots[a].start_seq > slots[b].start_seq;
        });
        std::vector<std::string> order;
        for (std::size_t index : started) order.push_back(slots[index].step->id);
        for (auto it = prior_completed.rbegin(); it != prior_completed.rend(); ++it)
            order.push_back(*it);
        bool any = false;
        for (const std::string& id : order) {
            const runbook::Step* step = graph.step(id);
            if (step == nullptr || step->rollback.empty()) continue;
            if (!any)
                setup.console.line(
                    "rollback: undoing the steps this run touched, newest start first");
            any = true;
            for (const runbook::Step& undo : step->rollback) {
                if (interrupted) return;
                StepResult result = supervise(undo);
                if (result.state == StepState::failed) failed.push_back(undo.id);
                if (result.state == StepState::interrupted || interrupted) return;
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
        if (rollback_wanted) {
            end["rolled_back"] = !interrupted;
            end["rollback_after"] = rollback_trigger;
        }
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
        if (auto reason = impl.deselected(*step)) {
            impl.setup.console.line("  skip   " + step->id + " (" + *reason + ")");
            continue;
        }
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
