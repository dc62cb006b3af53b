// In-memory fakes for the engine's side effects (clock, processes, HTTP, confirmations, MySQL), a
// "probe" step kind whose behaviour the runbook scripts, and helpers to build runbooks from
// YAML text and read journals back, so engine tests run in milliseconds.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "migrate/engine/console.h"
#include "migrate/engine/engine.h"
#include "migrate/io/services.h"
#include "migrate/journal/journal.h"
#include "migrate/kinds/kind.h"
#include "migrate/runbook/model.h"
#include "migrate/util/clock.h"

namespace migrate::test {

using Json = nlohmann::ordered_json;

// Time moves only when someone sleeps (or a test advances it): steady and wall time together.
class FakeClock : public Clock {
public:
    static constexpr std::int64_t k_wall_start =
        1'790'000'000'000;  // 2026-09-21, any fixed instant
    std::int64_t wall_ms() override { return k_wall_start + m_now.load(); }
    std::int64_t steady_ms() override { return m_now.load(); }
    // Returns false at once when `cancel` fired; otherwise records the duration and advances.
    bool sleep(Millis duration, CancelToken& cancel) override;
    void advance(Millis duration) { m_now += duration.count(); }
    std::vector<Millis> sleeps() const;

private:
    std::atomic<std::int64_t> m_now{0};
    mutable std::mutex m_mutex;
    std::vector<Millis> m_sleeps;
};

// Scripted results per command string; unscripted commands exit 0 with no output.
class FakeProcessRunner : public io::ProcessRunner {
public:
    void script(const std::string& command, io::ProcessResult result);
    io::ProcessResult run(const io::ProcessSpec& spec, CancelToken& cancel) override;
    std::vector<io::ProcessSpec> calls() const;

private:
    mutable std::mutex m_mutex;
    std::map<std::string, std::deque<io::ProcessResult>> m_scripts;  // the last one repeats
    std::vector<io::ProcessSpec> m_calls;
};

// Scripted responses per "METHOD URL"; unscripted requests get a transport error.
class FakeHttpClient : public io::HttpClient {
public:
    void script(const std::string& method, const std::string& url, io::HttpResponse response);
    io::HttpResponse perform(const io::HttpRequest& request, CancelToken& cancel) override;
    std::vector<io::HttpRequest> calls() const;

private:
    mutable std::mutex m_mutex;
    std::map<std::string, io::HttpResponse> m_scripts;
    std::vector<io::HttpRequest> m_calls;
};

// Answers every request with `answer`, or (when none is set) waits until cancelled.
class FakeConfirmations : public io::ConfirmationSource {
public:
    void answer_with(io::Confirmation confirmation) { m_answer = std::move(confirmation); }
    // Answers these in order, then none (wait returns nullopt at once, as if stopped).
    void answer_in_turn(std::vector<io::Confirmation> answers) {
        m_in_turn = std::deque<io::Confirmation>(answers.begin(), answers.end());
        m_taking_turns = true;
    }
    std::optional<io::Confirmation> wait(const io::ConfirmationRequest& request,
                                         CancelToken& cancel) override;
    std::vector<io::ConfirmationRequest> requests() const;

private:
    mutable std::mutex m_mutex;
    std::optional<io::Confirmation> m_answer;
    std::deque<io::Confirmation> m_in_turn;
    bool m_taking_turns = false;
    std::vector<io::ConfirmationRequest> m_requests;
};

// What the fake database answers to one statement.
struct FakeMysqlAnswer {
    std::vector<std::string> columns;  // empty: the statement returns no rows
    std::vector<std::vector<std::optional<std::string>>> rows;
    std::uint64_t affected = 0;
    unsigned error = 0;  // non-zero: the statement fails with this errno
    std::string message = "fake error";
};

// A scripted database. Answers per statement text (a queue; the last one repeats);
// unscripted statements change no rows. Connects can be made to fail.
class FakeMysqlConnector : public io::db::Connector {
public:
    void script(const std::string& sql, FakeMysqlAnswer answer);
    // The next `times` connects to the connection named `name` fail with `code`.
    void fail_connects(const std::string& name, unsigned code, int times = 1);
    std::unique_ptr<io::db::Session> connect(const io::db::ConnectionSpec& spec,
                                             CancelToken& cancel) override;
    // "NAME: SQL", in the order run; statements that failed included.
    std::vector<std::string> statements() const;
    std::vector<io::db::ConnectionSpec> connects() const;  // successful ones
    int open_sessions() const { return m_open.load(); }

    // Used by the fake sessions.
    FakeMysqlAnswer answer(const std::string& name, const std::string& sql);
    void session_closed() { --m_open; }

private:
    mutable std::mutex m_mutex;
    std::map<std::string, std::deque<FakeMysqlAnswer>> m_scripts;
    std::map<std::string, std::deque<unsigned>> m_connect_failures;
    std::vector<std::string> m_statements;
    std::vector<io::db::ConnectionSpec> m_connects;
    std::atomic<int> m_open{0};
};

// One call of a probe step, as the probe saw it.
struct ProbeCall {
    std::string step;
    Json params;                          // interpolated `with`
    std::optional<Json> last_checkpoint;  // what the engine handed over on resume
};

// Shared state of the probe kind: the call log, failure counters, the concurrency gauge.
class ProbeWorld {
public:
    explicit ProbeWorld(FakeClock* clock) : m_clock(clock) {}
    std::vector<ProbeCall> calls() const;
    std::vector<std::string> call_order() const;  // step ids, one per attempt
    int max_concurrent() const { return m_max_active.load(); }

    // Used by the probe runner.
    int record_call(const ProbeCall& call);  // returns the attempt number of that step (1-based)
    void enter_gate(int gate, std::chrono::milliseconds linger);
    FakeClock* clock() const { return m_clock; }

private:
    FakeClock* m_clock;
    mutable std::mutex m_mutex;
    std::condition_variable m_changed;
    std::vector<ProbeCall> m_calls;
    std::map<std::string, int> m_attempts;
    int m_entered = 0;
    std::atomic<int> m_active{0};
    std::atomic<int> m_max_active{0};
};

// How long a blocking probe waits in real time for a cancellation before giving up, so a
// broken engine fails a test instead of hanging it.
constexpr std::chrono::milliseconds k_probe_safety_limit{3000};

// The "probe" kind. `with` parameters:
//   fail_times: N      the first N attempts fail (error: `error`, retryable: `retryable`)
//   block: true        wait until cancelled (bounded by k_probe_safety_limit, or `limit_ms`)
//   tick: 10s          while blocking, advance the fake clock by this much every few ms
//   gate: N            wait (bounded) until N probes have entered, then linger `linger_ms`
//   raise_signal: true raise(SIGTERM) first (install_stop_signals() must be in effect)
//   output: TEXT       becomes the output `out`
//   checkpoint: TEXT   journals a checkpoint {"at": TEXT} before anything else
//   work_ms: N         work N ms of real time (a cancellation ends it early)
//   note: TEXT         anything; shows up in the call log
kinds::KindSpec probe_kind(ProbeWorld& world);
// The probe kind plus the builtin "manual", "shell", "http", "wait" and "sql" kinds.
kinds::KindTable test_kinds(ProbeWorld& world);

// Loads and validates a runbook from YAML text; throws std::runtime_error with the formatted
// diagnostics when it has errors.
runbook::Runbook load_test_runbook(const std::string& yaml, const kinds::KindTable& kinds);

// The formatted diagnostics (errors and warnings) of loading and validating `yaml`.
std::string runbook_diagnostics(const std::string& yaml, const kinds::KindTable& kinds);
// The same as "line:col: message" ("line:col: warning: message"), one per diagnostic.
std::vector<std::string> runbook_problems(const std::string& yaml, const kinds::KindTable& kinds);

// A unique path in the temp directory, removed (with "<path>.*" siblings) on destruction.
class TempPath {
public:
    explicit TempPath(const std::string& suffix = ".jsonl");
    ~TempPath();
    TempPath(const TempPath&) = delete;
    TempPath& operator=(const TempPath&) = delete;
    const std::string& str() const { return m_path; }

private:
    std::string m_path;
};

std::string read_file(const std::string& path);
void write_file(const std::string& path, const std::string& text);

// Everything an engine test needs: fakes, the probe world, a journal on disk, a quiet console.
class EngineHarness {
public:
    EngineHarness();  // also quiets the console's transcript log (spdlog) until destroyed
    ~EngineHarness();
    EngineHarness(const EngineHarness&) = delete;
    EngineHarness& operator=(const EngineHarness&) = delete;
    // Loads `yaml` as the runbook of the next run().
    void load(const std::string& yaml);
    const runbook::Runbook& book() const { return *m_book; }
    // Opens the journal, writes run.start (run.resume when it holds records), runs the
    // engine, closes the journal.
    engine::RunOutcome run(engine::RunOptions options = {}, const engine::PriorState& prior = {});
    // Runs the engine on `writer` (null: nothing journaled), writing no run.start of its own.
    engine::RunOutcome run_with(journal::Writer* writer, engine::RunOptions options = {},
                                const engine::PriorState& prior = {});
    // The engine's dry run: every preflight, nothing journaled.
    engine::RunOutcome dry_run();
    // Every record of the journal file (REQUIREs that it verifies).
    std::vector<journal::Record> records() const;
    // Records of one event, optionally only those of one step.
    std::vector<journal::Record> events(const std::string& event,
                                        const std::string& step = "") const;
    // The single step.end of `step` (REQUIREs exactly one).
    journal::Record step_end(const std::string& step) const;
    engine::PriorState prior_state() const;

    FakeClock clock;
    FakeProcessRunner processes;
    FakeHttpClient http;
    FakeConfirmations confirmations;
    FakeMysqlConnector mysql;
    ProbeWorld world{&clock};
    kinds::KindTable kinds;
    io::Services services{.processes = processes,
                          .http = http,
                          .confirmations = confirmations,
                          .clock = clock,
                          .database = mysql};
    std::ostringstream console_text;
    engine::Console console{console_text, false};
    TempPath journal_path;
    std::map<std::string, std::string> variables{
        {"env", "test"}, {"mode", "rehearsal"}, {"runbook_dir", "/tmp"}, {"run_id", "run-1"}};
    std::map<std::string, std::string> secrets;
    std::string run_id = "run-1";

private:
    engine::EngineSetup setup(journal::Writer* writer, engine::RunOptions options);
    std::unique_ptr<runbook::Runbook> m_book;
    int m_log_level;
};

}  // namespace migrate::test
