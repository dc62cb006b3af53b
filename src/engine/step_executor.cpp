// One step's life: when, start, attempts, retries, end.
#include "step_executor.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <iterator>

#include "migrate/runbook/graph.h"
#include "migrate/runbook/interpolate.h"
#include "migrate/runbook/inventory.h"
#include "migrate/runbook/validate.h"
#include "migrate/util/error.h"
#include "migrate/util/text.h"

namespace migrate::engine {

std::string state_name(StepState state) {
    switch (state) {
        case StepState::pending:
            return "pending";
        case StepState::running:
            return "running";
        case StepState::ok:
            return "ok";
        case StepState::failed:
            return "failed";
        case StepState::tolerated:
            return "failed";
        case StepState::skipped:
            return "skipped";
        case StepState::interrupted:
            return "interrupted";
    }
    return "?";
}

void RunShared::journal(const std::string& event, Json fields) const {
    if (setup.journal != nullptr)
        setup.journal->append(event, std::move(fields), journal::is_sync_point(event));
}

void StepControl::cancel(CancelReason reason) {
    stop.cancel(reason);
    std::lock_guard lock(mutex);
    if (attempt) attempt->cancel(reason);
}

namespace {

// A confirmation's evidence as step.confirm fields (docs/journal.md).
void add_evidence(Json& record, const io::Confirmation& confirmation) {
    if (!confirmation.evidence.empty()) {
        bool file = !confirmation.evidence_sha256.empty();
        record["evidence_kind"] = file ? "file" : "url";
        record["evidence"] = confirmation.evidence;
        if (file) {
            record["evidence_sha256"] = confirmation.evidence_sha256;
            record["evidence_size"] = confirmation.evidence_size;
        }
    }
    if (!confirmation.evidence_waived.empty())
        record["evidence_waived"] = confirmation.evidence_waived;
}

class ExecutorEvents : public kinds::StepEvents {
public:
    ExecutorEvents(RunShared& shared, const runbook::Step& step) : m_shared(shared), m_step(step) {}
    void progress(const std::string& message, const Json& metrics) override {
        std::int64_t now = m_shared.setup.services.clock.steady_ms();
        m_shared.setup.console.progress(m_step.id, "  .. " + m_step.id + ": " + message, now);
        if (now - m_last_journaled < 1000 && m_last_journaled != 0) return;
        m_last_journaled = now;
        m_shared.journal("step.progress",
                         Json{{"step", m_step.id}, {"message", message}, {"metrics", metrics}});
    }
    void checkpoint(const Json& state) override {
        m_shared.journal("step.checkpoint", Json{{"step", m_step.id}, {"state", state}});
        if (m_latest != nullptr) *m_latest = state;
        std::lock_guard lock(m_shared.outputs_mutex);  // other steps read it (trace_of)
        m_shared.checkpoints[m_step.id] = state;
    }
    // The next attempt of the step starts from the newest checkpoint, not the run's first.
    void remember_checkpoints_in(std::optional<Json>* latest) { m_latest = latest; }
    void confirmed(const io::Confirmation& confirmation, Millis waited) override {
        Json record{{"step", m_step.id},
                    {"role", m_step.role},
                    {"by", confirmation.by},
                    {"note", confirmation.note},
                    {"via", confirmation.via},
                    {"os_user", confirmation.os_user},
                    {"decision", confirmation.rejected ? "rejected" : "confirmed"},
                    {"waited_ms", waited.count()}};
        add_evidence(record, confirmation);
        if (confirmation.approvals > 1) {
            record["approval"] = confirmation.approval;
            record["approvals"] = confirmation.approvals;
        }
        m_shared.journal("step.confirm", record);
        std::string count = confirmation.approvals > 1 && !confirmation.rejected
                                ? " (approval " + std::to_string(confirmation.approval) + " of " +
                                      std::to_string(confirmation.approvals) + ")"
                                : "";
        m_shared.setup.console.line(
            std::string(confirmation.rejected ? "  rejected " : "  confirmed ") + m_step.id +
            " by " + confirmation.by + " (" + confirmation.via + ") after " +
            format_duration(waited) + count);
    }
    void say(const std::string& line) override { m_shared.setup.console.line("  " + line); }
    void record(const std::string& event, const Json& fields) override {
        Json record{{"step", m_step.id}};
        for (const auto& [key, value] : fields.items()) record[key] = value;
        m_shared.journal(event, std::move(record));
    }

private:
    RunShared& m_shared;
    const runbook::Step& m_step;
    std::int64_t m_last_journaled = 0;
    std::optional<Json>* m_latest = nullptr;
};

// One line for the console: the first line of a description, shortened.
std::string one_line(const std::string& text) {
    std::string line = text.substr(0, text.find('\n'));
    if (utf8_length(line) > 160) line = shorten(line, 157);
    return line.size() < text.size() && text.find('\n') != std::string::npos ? line + " ..." : line;
}

std::string where(const runbook::SourceFile& source, const runbook::Mark& mark) {
    return source.path() + ":" + std::to_string(mark.line) + ":" + std::to_string(mark.column) +
           ": ";
}

}  // namespace

std::string StepExecutor::expand_text(const std::string& text, const runbook::Mark& mark) const {
    using runbook::Reference;
    try {
        return runbook::expand(text, [&](const Reference& ref) -> std::optional<std::string> {
            switch (ref.kind) {
                case Reference::Kind::var: {
                    auto it = m_shared.setup.variables.find(ref.name);
                    if (it == m_shared.setup.variables.end()) return std::nullopt;
                    return it->second;
                }
                case Reference::Kind::env:
                    if (const char* value = std::getenv(ref.name.c_str()))
                        return std::string(value);
                    return std::nullopt;
                case Reference::Kind::secret:
                    return m_shared.setup.secrets(ref.name);
                case Reference::Kind::step_output: {
                    std::lock_guard lock(m_shared.outputs_mutex);
                    if (m_shared.dry_run) return "<" + ref.step_id + "." + ref.name + ">";
                    if (m_shared.unavailable.count(ref.step_id))
                        throw runbook::InterpolationError("step '" + ref.step_id +
                                                              "' was skipped, so its output '" +
                                                              ref.name + "' does not exist",
                                                          ref.offset);
                    auto step = m_shared.outputs.find(ref.step_id);
                    if (step == m_shared.outputs.end() || !step->second.contains(ref.name))
                        return std::nullopt;
                    const Json& value = step->second[ref.name];
                    return value.is_string() ? value.get<std::string>() : value.dump();
                }
            }
            return std::nullopt;
        });
    } catch (const runbook::InterpolationError& e) {
        const auto& source = *m_shared.setup.book.source;
        throw StepError(
            where(source, runbook::reference_mark(source, mark, text, e.offset())) + e.what(),
            false);
    }
}

Json StepExecutor::interpolate(const runbook::Node& node) const {
    switch (node.type) {
        case runbook::Node::Type::null:
            return nullptr;
        case runbook::Node::Type::scalar:
            return expand_text(node.value, node.mark);
        case runbook::Node::Type::sequence: {
            Json list = Json::array();
            for (const auto& item : node.items) list.push_back(interpolate(item));
            return list;
        }
        case runbook::Node::Type::mapping: {
            Json object = Json::object();
            for (const auto& [key, value] : node.entries) object[key.value] = interpolate(value);
            return object;
        }
    }
    return nullptr;
}

Json StepExecutor::connection(const std::string& name) const {
    const runbook::Node& connections = m_shared.setup.book.connections;
    if (const runbook::Node* found = connections.is_mapping() ? connections.find(name) : nullptr)
        return interpolate(*found);
    throw StepError("no connection '" + name + "' is declared under 'connections'", false);
}

std::vector<runbook::InventoryHost> StepExecutor::select_hosts(const std::string& pattern) const {
    const EngineSetup& setup = m_shared.setup;
    runbook::Diagnostics problems(setup.book.source);
    std::string dir = std::filesystem::path(setup.book.source->path()).parent_path().string();
    std::optional<runbook::Inventory> inventory = runbook::build_inventory(
        setup.book.hosts,
        [this](const runbook::Node& node) { return expand_text(node.value, node.mark); }, dir,
        problems);
    if (!inventory) {
        std::string message = problems.all().empty() ? "the inventory cannot be read"
                                                     : problems.all().front().message;
        throw StepError("inventory: " + message, false);
    }
    auto select = [&](const std::string& text, const std::string& what) {
        try {
            return runbook::select_hosts(*inventory, text);
        } catch (const runbook::InventoryError& e) {
            throw StepError(what + " '" + text + "': " + e.what(), false);
        }
    };
    std::vector<std::size_t> chosen = select(pattern, "host pattern");
    if (!setup.options.limit.empty()) {
        std::vector<std::size_t> limit = select(setup.options.limit, "--limit");
        std::vector<std::size_t> both;
        std::set_intersection(chosen.begin(), chosen.end(), limit.begin(), limit.end(),
                              std::back_inserter(both));
        chosen = std::move(both);
    }
    std::vector<runbook::InventoryHost> hosts;
    for (std::size_t index : chosen) hosts.push_back(inventory->hosts()[index]);
    return hosts;
}

kinds::StepTrace StepExecutor::trace_of(const std::string& step_id) const {
    const runbook::Step* step = m_shared.setup.book.find_step(step_id);
    if (step == nullptr) throw StepError("no step '" + step_id + "' in the runbook", false);
    kinds::StepTrace trace;
    trace.kind = step->kind;
    trace.params = interpolate(step->with);
    if (trace.params.is_null()) trace.params = Json::object();
    std::lock_guard lock(m_shared.outputs_mutex);
    if (m_shared.dry_run) return trace;  // nothing ran: earlier outputs are placeholders
    if (auto it = m_shared.outputs.find(step_id); it != m_shared.outputs.end())
        trace.outputs = it->second;
    if (auto it = m_shared.checkpoints.find(step_id); it != m_shared.checkpoints.end())
        trace.checkpoint = it->second;
    return trace;
}

Json StepExecutor::step_fields() const {
    Json fields{{"step", m_step.id},
                {"phase", m_step.phase_id},
                {"kind", m_step.kind},
                {"role", m_step.role}};
    if (m_step.is_rollback) fields["rollback_of"] = m_step.rollback_of;
    if (m_step.downtime != runbook::DowntimeMarker::none)
        fields["downtime"] = m_step.downtime == runbook::DowntimeMarker::start ? "start" : "end";
    return fields;
}

StepResult StepExecutor::execute() {
    const EngineSetup& setup = m_shared.setup;
    std::int64_t started = setup.services.clock.steady_ms();
    if (m_step.when.present) {
        try {
            std::string condition = expand_text(m_step.when.text, m_step.when.mark);
            if (!runbook::evaluate_condition(condition)) {
                Json fields = step_fields();
                fields["status"] = "skipped";
                fields["reason"] = "when: '" + m_step.when.text + "' is false";
                fields["duration_ms"] = 0;
                m_shared.journal("step.end", fields);
                setup.console.line("  skip   " + m_step.id + " (when: " + m_step.when.text +
                                   " is false)");
                return {StepState::skipped, ""};
            }
        } catch (const std::exception& e) {
            m_shared.journal("step.start", step_fields());
            return finish({StepState::failed, std::string("bad 'when': ") + e.what(), false},
                          nullptr, started, 0);
        }
    }
    std::string log_path =
        setup.options.log_dir.empty() ? "" : setup.options.log_dir + "/" + m_step.id + ".log";
    Json start = step_fields();
    if (!m_step.name.empty()) start["name"] = m_step.name;
    if (!log_path.empty()) start["log"] = log_path;
    m_shared.journal("step.start", start);
    const kinds::KindSpec* kind = kinds::find_kind(setup.kinds, m_step.kind);
    if (kind == nullptr)
        return finish({StepState::failed, "unknown kind '" + m_step.kind + "'", false}, nullptr,
                      started, 0);
    kinds::Params params;
    try {
        params = kinds::Params(interpolate(m_step.with), &kind->schema.params);
    } catch (const StepError& e) {
        return finish({StepState::failed, e.what(), false}, nullptr, started, 0);
    }
    std::unique_ptr<kinds::StepRunner> runner = kind->make();
    ExecutorEvents events(m_shared, m_step);
    std::optional<Json> checkpoint;
    {
        std::lock_guard lock(m_shared.outputs_mutex);
        if (auto it = m_shared.checkpoints.find(m_step.id); it != m_shared.checkpoints.end())
            checkpoint = it->second;
    }
    kinds::StepContext context =
        context_for(params, events, setup.options.mode, log_path, checkpoint);
    events.remember_checkpoints_in(&context.last_checkpoint);
    setup.console.line("  start  " + m_step.id + " (" + m_step.role + ", " + m_step.kind +
                       "): " + one_line(runner->describe(context)));
    int attempts = 0;
    StepResult result;
    try {
        result = attempt_loop(context, *runner);
        attempts = context.details.value("attempts", 1);
        context.details.erase("attempts");
    } catch (const Fatal&) {
        throw;  // the journal cannot be written: not the step's failure, the run's end
    } catch (const std::exception& e) {
        result = {StepState::failed, e.what()};
    }
    return finish(result, &context, started, attempts);
}

StepResult StepExecutor::attempt_loop(kinds::StepContext& context, kinds::StepRunner& runner) {
    const EngineSetup& setup = m_shared.setup;
    const runbook::RetryPolicy& retry = m_step.retry;
    Millis backoff = retry.backoff;
    for (int attempt = 1;; ++attempt) {
        context.details["attempts"] = attempt;
        auto token = std::make_shared<CancelToken>();
        {
            std::lock_guard lock(m_control.mutex);
            m_control.attempt = token;
            if (m_control.stop.cancelled())
                return {StepState::interrupted, "stopped before the attempt started", attempt > 1};
        }
        m_control.deadline_ms =
            m_step.timeout ? setup.services.clock.steady_ms() + m_step.timeout->count() : 0;
        kinds::StepContext attempt_context{context.step,
                                           context.params,
                                           *token,
                                           context.services,
                                           context.events,
                                           context.mode,
                                           context.role_description,
                                           context.log_path,
                                           context.last_checkpoint,
                                           context.connections,
                                           context.hosts,
                                           context.steps};
        std::string error;
        bool retryable = false;
        try {
            runner.run(attempt_context);
            m_control.deadline_ms = 0;
            context.metrics = attempt_context.metrics;
            context.outputs = attempt_context.outputs;
            for (auto& [key, value] : attempt_context.details.items()) context.details[key] = value;
            return {StepState::ok, ""};
        } catch (const StepError& e) {
            error = e.what();
            retryable = e.retryable();
        } catch (const Fatal&) {
            throw;
        } catch (const std::exception& e) {
            error = e.what();
        }
        m_control.deadline_ms = 0;
        for (auto& [key, value] : attempt_context.details.items()) context.details[key] = value;
        context.metrics = attempt_context.metrics;
        CancelReason reason = token->reason();
        if (reason == CancelReason::interrupted || reason == CancelReason::aborted)
            return {StepState::interrupted, reason == CancelReason::interrupted
                                                ? "interrupted by a signal"
                                                : "stopped: another step failed"};
        if (reason == CancelReason::timeout) {
            error = "timed out after " + format_duration(*m_step.timeout);
            retryable = true;
        }
        if (!retryable || attempt >= retry.attempts) return {StepState::failed, error};
        m_shared.journal("step.retry", Json{{"step", m_step.id},
                                            {"attempt", attempt},
                                            {"error", error},
                                            {"backoff_ms", backoff.count()}});
        setup.console.line("  retry  " + m_step.id + " in " + format_duration(backoff) +
                           " (attempt " + std::to_string(attempt) + " of " +
                           std::to_string(retry.attempts) + " failed: " + error + ")");
        if (!setup.services.clock.sleep(backoff, m_control.stop))
            return {StepState::interrupted, "interrupted during the retry backoff"};
        backoff = std::min(backoff * 2, retry.max_backoff);
    }
}

StepResult StepExecutor::finish(StepResult result, const kinds::StepContext* context,
                                std::int64_t started, int attempts) {
    const EngineSetup& setup = m_shared.setup;
    std::int64_t duration = setup.services.clock.steady_ms() - started;
    Json fields = step_fields();
    fields["status"] = state_name(result.state);
    fields["duration_ms"] = duration;
    fields["attempts"] = attempts;
    if (context != nullptr) {
        fields["metrics"] = context->metrics;
        fields["outputs"] = context->outputs;
        for (auto& [key, value] : context->details.items()) fields[key] = value;
        if (!context->log_path.empty()) fields["log"] = context->log_path;
        if (result.state == StepState::ok) {
            std::lock_guard lock(m_shared.outputs_mutex);
            m_shared.outputs[m_step.id] = context->outputs;
        }
    }
    if (!result.error.empty()) fields["error"] = result.error;
    m_shared.journal("step.end", fields);
    std::string verdict = result.state == StepState::ok            ? "ok    "
                          : result.state == StepState::interrupted ? "stop  "
                                                                   : "FAILED";
    setup.console.line("  " + verdict + " " + m_step.id + " " + format_duration(Millis(duration)) +
                       (result.error.empty() ? "" : ": " + result.error));
    if (result.state == StepState::failed && context != nullptr &&
        context->details.contains("tail")) {
        std::string tail = context->details["tail"].get<std::string>();
        if (!tail.empty()) setup.console.line("         output (last lines):\n" + tail);
    }
    return result;
}

kinds::StepContext StepExecutor::context_for(const kinds::Params& params, kinds::StepEvents& events,
                                             kinds::RunMode mode, std::string log_path,
                                             std::optional<Json> checkpoint) const {
    const EngineSetup& setup = m_shared.setup;
    auto role = setup.book.roles.find(m_step.role);
    return kinds::StepContext{
        .step = m_step,
        .params = params,
        .cancel = m_control.stop,
        .services = setup.services,
        .events = events,
        .mode = mode,
        .role_description = role == setup.book.roles.end() ? "" : role->second,
        .log_path = std::move(log_path),
        .last_checkpoint = std::move(checkpoint),
        .connections = connection_lookup(),
        .hosts = [this](const std::string& pattern) { return select_hosts(pattern); },
        .steps = [this](const std::string& step_id) { return trace_of(step_id); },
    };
}

StepResult StepExecutor::preflight() {
    const EngineSetup& setup = m_shared.setup;
    const kinds::KindSpec* kind = kinds::find_kind(setup.kinds, m_step.kind);
    if (kind == nullptr) return {StepState::failed, "unknown kind '" + m_step.kind + "'"};
    try {
        if (m_step.when.present &&
            !runbook::evaluate_condition(expand_text(m_step.when.text, m_step.when.mark))) {
            setup.console.line("  skip   " + m_step.id + " (when: " + m_step.when.text +
                               " is false)");
            return {StepState::skipped, ""};
        }
        kinds::Params params(interpolate(m_step.with), &kind->schema.params);
        std::unique_ptr<kinds::StepRunner> runner = kind->make();
        ExecutorEvents events(m_shared, m_step);
        kinds::StepContext context =
            context_for(params, events, kinds::RunMode::dry_run, "", std::nullopt);
        setup.console.line("  would  " + m_step.id + " (" + m_step.role + ", " + m_step.kind +
                           "): " + one_line(runner->describe(context)));
        runner->preflight(context);
        return {StepState::ok, ""};
    } catch (const std::exception& e) {
        setup.console.line("  FAILED " + m_step.id + " preflight: " + e.what());
        return {StepState::failed, e.what()};
    }
}

}  // namespace migrate::engine
