// The engine against in-memory fakes: scheduling, retries, timeouts, failure policies,
// rollback, `when`, step outputs, resume, interruption and secrets, each checked in the journal.
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <csignal>
#include <thread>

#include "fakes.h"
#include "migrate/engine/signals.h"
#include "migrate/util/error.h"
#include "migrate/util/redactor.h"

using namespace migrate;
using namespace migrate::test;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;

namespace {

// A one-phase runbook around `steps` (YAML list items indented by six spaces).
std::string runbook_with(const std::string& steps) {
    return "version: 1\n"
           "name: engine-test\n"
           "roles:\n"
           "  customer: Customer administrator\n"
           "phases:\n"
           "  - id: main\n"
           "    name: Main phase\n"
           "    steps:\n" +
           steps;
}

// "step.start a", "step.end a ok", ... for the step records of the journal, in file order.
std::vector<std::string> step_trace(const std::vector<journal::Record>& records) {
    std::vector<std::string> trace;
    for (const journal::Record& record : records) {
        const std::string& event = record.event();
        if (event == "step.start") trace.push_back("start " + record.string("step"));
        if (event == "step.end")
            trace.push_back("end " + record.string("step") + " " + record.string("status"));
    }
    return trace;
}

std::vector<std::string> strings(const Json& list) {
    std::vector<std::string> out;
    for (const auto& item : list) out.push_back(item.get<std::string>());
    return out;
}

// The first stop signal stops running steps at once (no grace period), as a second would.
engine::RunOptions no_grace() {
    engine::RunOptions options;
    options.grace = Millis(0);
    return options;
}

engine::RunOptions parallel(int max_parallel) {
    engine::RunOptions options;
    options.max_parallel = max_parallel;
    return options;
}

// Installs the stop-signal handlers for one test and puts the defaults back afterwards.
struct StopSignalsForTest {
    StopSignalsForTest() {
        engine::install_stop_signals();
        engine::reset_stop_requests();
    }
    ~StopSignalsForTest() {
        std::signal(SIGTERM, SIG_DFL);
        std::signal(SIGINT, SIG_DFL);
        engine::reset_stop_requests();
    }
};

}  // namespace

// ---- order ----

TEST_CASE("engine: by default a step needs the step before it", "[engine][order]") {
    EngineHarness h;
    h.load(runbook_with(R"(
      - id: a
        kind: probe
      - id: b
        kind: probe
      - id: c
        kind: probe
)"));
    engine::RunOutcome outcome = h.run(parallel(4));
    CHECK(outcome.status == "ok");
    CHECK(outcome.exit_code == 0);
    CHECK(h.world.call_order() == std::vector<std::string>{"a", "b", "c"});
    CHECK(step_trace(h.records()) == std::vector<std::string>{"start a", "end a ok", "start b",
                                                              "end b ok", "start c", "end c ok"});
    CHECK(h.world.max_concurrent() == 0);  // no gates used
    auto run_end = h.events("run.end");
    REQUIRE(run_end.size() == 1);
    CHECK(run_end[0].string("status") == "ok");
}

TEST_CASE("engine: explicit needs decide the order", "[engine][order]") {
    EngineHarness h;
    h.load(runbook_with(R"(
      - id: a
        kind: probe
      - id: b
        kind: probe
        needs: [c]
      - id: c
        kind: probe
        needs: []
)"));
    engine::RunOutcome outcome = h.run(parallel(1));
    CHECK(outcome.status == "ok");
    // With one slot, ready steps start in document order: a, then c (b waits for c), then b.
    CHECK(h.world.call_order() == std::vector<std::string>{"a", "c", "b"});
    CHECK(step_trace(h.records()) == std::vector<std::string>{"start a", "end a ok", "start c",
                                                              "end c ok", "start b", "end b ok"});
}

TEST_CASE("engine: independent steps run in parallel up to max_parallel", "[engine][order]") {
    EngineHarness h;
    // Each probe waits until two have entered, then stays 30 ms: in sequence none could pass
    // the gate, and without the limit all four would be inside at once.
    h.load(runbook_with(R"(
      - id: a
        kind: probe
        needs: []
        with: { gate: "2", linger_ms: "30" }
      - id: b
        kind: probe
        needs: []
        with: { gate: "2", linger_ms: "30" }
      - id: c
        kind: probe
        needs: []
        with: { gate: "2", linger_ms: "30" }
      - id: d
        kind: probe
        needs: []
        with: { gate: "2", linger_ms: "30" }
)"));
    engine::RunOutcome outcome = h.run(parallel(2));
    INFO(h.console_text.str());
    CHECK(outcome.status == "ok");
    CHECK(h.world.max_concurrent() == 2);
    for (const char* id : {"a", "b", "c", "d"}) CHECK(h.step_end(id).string("status") == "ok");
    // The first two both started before either ended.
    std::vector<std::string> trace = step_trace(h.records());
    REQUIRE(trace.size() == 8);
    CHECK_THAT(trace[0], StartsWith("start"));
    CHECK_THAT(trace[1], StartsWith("start"));
}

TEST_CASE("engine: max_parallel 3 lets three independent steps overlap", "[engine][order]") {
    EngineHarness h;
    h.load(runbook_with(R"(
      - id: a
        kind: probe
        needs: []
        with: { gate: "3" }
      - id: b
        kind: probe
        needs: []
        with: { gate: "3" }
      - id: c
        kind: probe
        needs: []
        with: { gate: "3" }
)"));
    engine::RunOutcome outcome = h.run(parallel(3));
    CHECK(outcome.status == "ok");
    CHECK(h.world.max_concurrent() == 3);
}

// ---- retry ----

TEST_CASE("engine: retries back off 1s, 2s, 3s (doubling, capped by max_backoff)",
          "[engine][retry]") {
    EngineHarness h;
    h.load(runbook_with(R"(
      - id: a
        kind: probe
        retry: { attempts: 4, backoff: 1s, max_backoff: 3s }
        with: { fail_times: "10", error: "flaky" }
)"));
    engine::RunOutcome outcome = h.run();
    CHECK(outcome.status == "failed");
    CHECK(outcome.exit_code == 1);
    CHECK(outcome.failed == std::vector<std::string>{"a"});
    CHECK(h.world.call_order() == std::vector<std::string>{"a", "a", "a", "a"});
    CHECK(h.clock.sleeps() == std::vector<Millis>{Millis(1000), Millis(2000), Millis(3000)});
    auto retries = h.events("step.retry", "a");
    REQUIRE(retries.size() == 3);
    for (int i = 0; i < 3; ++i) {
        CHECK(retries[i].data["attempt"] == i + 1);
        CHECK(retries[i].data["backoff_ms"] == 1000 * (i + 1));
        CHECK(retries[i].string("error") == "flaky (attempt " + std::to_string(i + 1) + ")");
    }
    journal::Record end = h.step_end("a");
    CHECK(end.string("status") == "failed");
    CHECK(end.data["attempts"] == 4);
    CHECK(end.string("error") == "flaky (attempt 4)");
    CHECK(end.data["duration_ms"] == 6000);  // the fake clock moved only by the backoffs
}

TEST_CASE("engine: a step that succeeds on a later attempt ends ok", "[engine][retry]") {
    EngineHarness h;
    h.load(runbook_with(R"(
      - id: a
        kind: probe
        retry: { attempts: 5, backoff: 10s }
        with: { fail_times: "2" }
      - id: b
        kind: probe
)"));
    engine::RunOutcome outcome = h.run();
    CHECK(outcome.status == "ok");
    CHECK(h.world.call_order() == std::vector<std::string>{"a", "a", "a", "b"});
    CHECK(h.clock.sleeps() == std::vector<Millis>{Millis(10'000), Millis(20'000)});
    journal::Record end = h.step_end("a");
    CHECK(end.string("status") == "ok");
    CHECK(end.data["attempts"] == 3);
    CHECK(end.data["metrics"]["rows"] == 3);
    CHECK_FALSE(end.data.contains("error"));
}

TEST_CASE("engine: a non-retryable error is not retried", "[engine][retry]") {
    EngineHarness h;
    h.load(runbook_with(R"(
      - id: a
        kind: probe
        retry: { attempts: 4, backoff: 1s }
        with: { fail_times: "1", retryable: "false", error: "bad input" }
      - id: b
        kind: probe
)"));
    engine::RunOutcome outcome = h.run();
    CHECK(outcome.status == "failed");
    CHECK(h.world.call_order() == std::vector<std::string>{"a"});
    CHECK(h.clock.sleeps().empty());
    CHECK(h.events("step.retry").empty());
    journal::Record end = h.step_end("a");
    CHECK(end.string("status") == "failed");
    CHECK(end.data["attempts"] == 1);
    CHECK(end.string("error") == "bad input (attempt 1)");
}

// ---- timeout ----

TEST_CASE("engine: a step that outlives its timeout fails with 'timed out'", "[engine][timeout]") {
    EngineHarness h;
    // The probe blocks and advances the fake clock 10s every few milliseconds.
    h.load(runbook_with(R"(
      - id: a
        kind: probe
        timeout: 1m
        with: { block: "true", tick: 10s }
      - id: b
        kind: probe
)"));
    engine::RunOutcome outcome = h.run();
    CHECK(outcome.status == "failed");
    CHECK(outcome.exit_code == 1);
    CHECK(outcome.failed == std::vector<std::string>{"a"});
    CHECK(h.world.call_order() == std::vector<std::string>{"a"});
    journal::Record end = h.step_end("a");
    CHECK(end.string("status") == "failed");
    CHECK(end.string("error") == "timed out after 1m");
    CHECK(end.data["duration_ms"].get<std::int64_t>() >= 60'000);
    CHECK(h.events("step.start", "b").empty());
}

TEST_CASE("engine: a timed-out attempt is retried under the retry policy", "[engine][timeout]") {
    EngineHarness h;
    h.load(runbook_with(R"(
      - id: a
        kind: probe
        timeout: 1m
        retry: { attempts: 2, backoff: 5s }
        with: { block: "true", tick: 10s }
)"));
    engine::RunOutcome outcome = h.run();
    CHECK(outcome.status == "failed");
    CHECK(h.world.call_order() == std::vector<std::string>{"a", "a"});
    auto retries = h.events("step.retry", "a");
    REQUIRE(retries.size() == 1);
    CHECK_THAT(retries[0].string("error"), StartsWith("timed out after 1m"));
    CHECK(h.clock.sleeps() == std::vector<Millis>{Millis(5000)});
    CHECK(h.step_end("a").data["attempts"] == 2);
}

// ---- failure policies ----

TEST_CASE("engine: on_failure continue lets dependents run and the run end ok",
          "[engine][failure]") {
    EngineHarness h;
    h.load(runbook_with(R"(
      - id: a
        kind: probe
        on_failure: continue
        with: { fail_times: "1", retryable: "false" }
      - id: b
        kind: probe
)"));
    engine::RunOutcome outcome = h.run();
    CHECK(outcome.status == "ok");
    CHECK(outcome.exit_code == 0);
    CHECK(outcome.failed.empty());
    CHECK(outcome.tolerated == std::vector<std::string>{"a"});
    CHECK(h.world.call_order() == std::vector<std::string>{"a", "b"});
    CHECK(h.step_end("a").string("status") == "failed");
    CHECK(h.step_end("b").string("status") == "ok");
    auto run_end = h.events("run.end");
    REQUIRE(run_end.size() == 1);
    CHECK(run_end[0].string("status") == "ok");
    CHECK(strings(run_end[0].data["tolerated"]) == std::vector<std::string>{"a"});
    CHECK_FALSE(run_end[0].data.contains("failed"));
}

TEST_CASE("engine: on_failure abort (the default) starts no later step", "[engine][failure]") {
    EngineHarness h;
    h.load(runbook_with(R"(
      - id: a
        kind: probe
      - id: b
        kind: probe
        with: { gate: "2", fail_times: "1", retryable: "false", error: "disk full" }
      - id: c
        kind: probe
      - id: d
        kind: probe
        needs: [a]
        with: { gate: "2", block: "true", limit_ms: "2000" }
)"));
    // d runs beside b (b fails only once both are inside); d is stopped, and c never starts.
    engine::RunOutcome outcome = h.run(parallel(4));
    INFO(h.console_text.str());
    CHECK(outcome.status == "failed");
    CHECK(outcome.exit_code == 1);
    CHECK(outcome.failed == std::vector<std::string>{"b"});
    CHECK(h.events("step.start", "c").empty());
    CHECK(h.events("step.end", "c").empty());
    journal::Record b_end = h.step_end("b");
    CHECK(b_end.string("status") == "failed");
    CHECK(b_end.string("error") == "disk full (attempt 1)");
    journal::Record d_end = h.step_end("d");
    CHECK(d_end.string("status") == "interrupted");
    CHECK(d_end.string("error") == "stopped: another step failed");
    auto run_end = h.events("run.end");
    REQUIRE(run_end.size() == 1);
    CHECK(run_end[0].string("status") == "failed");
    CHECK(strings(run_end[0].data["failed"]) == std::vector<std::string>{"b"});
}

// ---- rollback ----

TEST_CASE("engine: rollback undoes the touched steps in reverse order of start, failed step first",
          "[engine][rollback]") {
    EngineHarness h;
    h.load(runbook_with(R"(
      - id: a
        kind: probe
        rollback:
          - id: undo-a
            kind: probe
      - id: b
        kind: probe
        rollback:
          - id: undo-b
            kind: probe
      - id: c
        kind: probe
        on_failure: rollback
        with: { fail_times: "1", retryable: "false" }
        rollback:
          - id: undo-c1
            kind: probe
          - id: undo-c2
            kind: probe
)"));
    engine::RunOutcome outcome = h.run();
    CHECK(outcome.status == "failed");
    CHECK(outcome.exit_code == 1);
    CHECK(outcome.failed == std::vector<std::string>{"c"});
    CHECK(h.world.call_order() ==
          std::vector<std::string>{"a", "b", "c", "undo-c1", "undo-c2", "undo-b", "undo-a"});
    CHECK(h.step_end("undo-c1").string("rollback_of") == "c");
    CHECK(h.step_end("undo-c2").string("rollback_of") == "c");
    CHECK(h.step_end("undo-b").string("rollback_of") == "b");
    CHECK(h.step_end("undo-a").string("rollback_of") == "a");
    CHECK(h.step_end("undo-a").string("status") == "ok");
    CHECK_FALSE(h.step_end("a").data.contains("rollback_of"));
    auto run_end = h.events("run.end");
    REQUIRE(run_end.size() == 1);
    CHECK(run_end[0].string("status") == "failed");
    CHECK(run_end[0].data["rolled_back"] == true);
    // A resume must redo every rolled-back step.
    engine::PriorState prior = h.prior_state();
    CHECK(prior.done.empty());
    CHECK(prior.completed_order.empty());
}

TEST_CASE("engine: rollback follows the order of start, not the document", "[engine][rollback]") {
    EngineHarness h;
    h.load(runbook_with(R"(
      - id: a
        kind: probe
        needs: [b]
        rollback:
          - id: undo-a
            kind: probe
      - id: b
        kind: probe
        needs: []
        rollback:
          - id: undo-b
            kind: probe
      - id: c
        kind: probe
        needs: [a]
        on_failure: rollback
        with: { fail_times: "1", retryable: "false" }
)"));
    engine::RunOutcome outcome = h.run();
    CHECK(outcome.status == "failed");
    // b completed first, then a: undo a first.
    CHECK(h.world.call_order() == std::vector<std::string>{"b", "a", "c", "undo-a", "undo-b"});
}

TEST_CASE("engine: rollback also undoes steps stopped midway by the failure, newest start first",
          "[engine][rollback]") {
    // A 46-host upgrade: database conversions run beside the deploy; the deploy fails, the
    // conversions are stopped 3 s in. Their restores must run, not only the failed step's.
    EngineHarness h;
    h.load(runbook_with(R"(
      - id: convert-db
        kind: probe
        needs: []
        with: { gate: "2", block: "true" }
        rollback:
          - id: restore-db
            kind: probe
      - id: deploy
        kind: probe
        needs: []
        on_failure: rollback
        with: { gate: "2", fail_times: "1", retryable: "false" }
        rollback:
          - id: undeploy
            kind: probe
      - id: after-convert
        kind: probe
        needs: [convert-db]
        rollback:
          - id: undo-after
            kind: probe
)"));
    engine::RunOutcome outcome = h.run();
    CHECK(outcome.status == "failed");
    CHECK(h.step_end("convert-db").string("status") == "interrupted");
    std::vector<std::string> calls = h.world.call_order();
    REQUIRE(calls.size() == 4);
    // convert-db started first (file order), so it is undone last.
    CHECK(std::set<std::string>(calls.begin(), calls.begin() + 2) ==
          std::set<std::string>{"convert-db", "deploy"});
    CHECK(std::vector<std::string>(calls.begin() + 2, calls.end()) ==
          std::vector<std::string>{"undeploy", "restore-db"});
    CHECK(h.step_end("restore-db").string("rollback_of") == "convert-db");
    CHECK(h.events("step.start", "undo-after").empty());  // never started: nothing to undo
    auto run_end = h.events("run.end");
    REQUIRE(run_end.size() == 1);
    CHECK(run_end[0].string("rollback_after") == "deploy");
}

TEST_CASE("engine: on_failure defaults: the step's own, then its phase's, then the runbook's",
          "[engine][rollback]") {
    EngineHarness h;
    h.load(
        "version: 1\n"
        "name: defaults\n"
        "on_failure: rollback\n"
        "phases:\n"
        "  - id: prepare\n"
        "    on_failure: continue\n"
        "    steps:\n"
        "      - id: optional-check\n"
        "        kind: probe\n"
        "        with: { fail_times: \"1\", retryable: \"false\" }\n"
        "  - id: cutover\n"
        "    steps:\n"
        "      - id: switch\n"
        "        kind: probe\n"
        "        rollback:\n"
        "          - id: switch-back\n"
        "            kind: probe\n"
        "      - id: verify\n"
        "        kind: probe\n"
        "        with: { fail_times: \"1\", retryable: \"false\" }\n"
        "      - id: never\n"
        "        kind: probe\n"
        "        on_failure: abort\n");
    const runbook::Step* check = h.book().find_step("optional-check");
    REQUIRE(check != nullptr);
    CHECK(check->on_failure == runbook::OnFailure::continue_run);
    CHECK(check->on_failure_from == "phase");
    CHECK(h.book().find_step("verify")->on_failure_from == "runbook");
    CHECK(h.book().find_step("never")->on_failure_from == "step");
    engine::RunOutcome outcome = h.run();
    CHECK(outcome.tolerated == std::vector<std::string>{"optional-check"});
    CHECK(outcome.failed == std::vector<std::string>{"verify"});
    CHECK(h.world.call_order() ==
          std::vector<std::string>{"optional-check", "switch", "verify", "switch-back"});
}

TEST_CASE("engine: on_failure abort does not roll back", "[engine][rollback]") {
    EngineHarness h;
    h.load(runbook_with(R"(
      - id: a
        kind: probe
        rollback:
          - id: undo-a
            kind: probe
      - id: b
        kind: probe
        with: { fail_times: "1", retryable: "false" }
)"));
    engine::RunOutcome outcome = h.run();
    CHECK(outcome.status == "failed");
    CHECK(h.world.call_order() == std::vector<std::string>{"a", "b"});
    CHECK_FALSE(h.events("run.end")[0].data.contains("rolled_back"));
}

TEST_CASE("engine: a failing rollback step is recorded and the other rollbacks still run",
          "[engine][rollback]") {
    EngineHarness h;
    h.load(runbook_with(R"(
      - id: a
        kind: probe
        rollback:
          - id: undo-a
            kind: probe
      - id: b
        kind: probe
        on_failure: rollback
        with: { fail_times: "1", retryable: "false" }
        rollback:
          - id: undo-b
            kind: probe
            with: { fail_times: "1", retryable: "false", error: "cannot undo" }
)"));
    engine::RunOutcome outcome = h.run();
    CHECK(outcome.status == "failed");
    CHECK(outcome.failed == std::vector<std::string>{"b", "undo-b"});
    CHECK(h.world.call_order() == std::vector<std::string>{"a", "b", "undo-b", "undo-a"});
    CHECK(h.step_end("undo-b").string("status") == "failed");
    CHECK(h.step_end("undo-a").string("status") == "ok");
    auto run_end = h.events("run.end");
    REQUIRE(run_end.size() == 1);
    CHECK(strings(run_end[0].data["failed"]) == std::vector<std::string>{"b", "undo-b"});
    CHECK(run_end[0].data["rolled_back"] == true);
}

TEST_CASE("regression: a rollback step's timeout is enforced", "[engine][rollback][regression]") {
    // Rollback steps run after the scheduler loop, which is where deadlines are checked.
    EngineHarness h;
    h.load(runbook_with(R"(
      - id: a
        kind: probe
        on_failure: rollback
        with: { fail_times: "1", retryable: "false" }
        rollback:
          - id: undo-a
            kind: probe
            timeout: 1m
            with: { block: "true", tick: 10s, limit_ms: "400" }
)"));
    engine::RunOutcome outcome = h.run();
    CHECK(outcome.status == "failed");
    journal::Record end = h.step_end("undo-a");
    CHECK(end.string("status") == "failed");
    CHECK_THAT(end.string("error"), StartsWith("timed out after 1m"));
}

TEST_CASE("regression: a stop signal stops a running rollback step",
          "[engine][rollback][regression]") {
    // Signals are only looked at between rollback steps, so a rollback step that blocks cannot
    // be interrupted: the run hangs until the step gives up by itself.
    StopSignalsForTest signals;
    EngineHarness h;
    h.load(runbook_with(R"(
      - id: a
        kind: probe
        on_failure: rollback
        with: { fail_times: "1", retryable: "false" }
        rollback:
          - id: undo-a
            kind: probe
            with: { raise_signal: "true", block: "true", limit_ms: "400" }
          - id: undo-a2
            kind: probe
)"));
    engine::RunOutcome outcome = h.run(no_grace());
    CHECK(outcome.status == "interrupted");
    CHECK(outcome.exit_code == 3);
    journal::Record end = h.step_end("undo-a");
    CHECK(end.string("status") == "interrupted");
    CHECK(h.events("step.start", "undo-a2").empty());
}

// ---- --from, --only, phases, checkpoints, dry run ----

TEST_CASE("engine: --from skips the steps before it, recorded with a reason", "[engine][options]") {
    EngineHarness h;
    h.load(runbook_with(R"(
      - id: a
        kind: probe
      - id: b
        kind: probe
      - id: c
        kind: probe
      - id: d
        kind: probe
)"));
    engine::RunOptions options;
    options.from = "c";
    engine::RunOutcome outcome = h.run(options);
    CHECK(outcome.status == "ok");
    CHECK(h.world.call_order() == std::vector<std::string>{"c", "d"});
    CHECK(h.step_end("a").string("status") == "skipped");
    CHECK(h.step_end("a").string("reason") == "before --from c");
    CHECK(h.step_end("b").string("reason") == "before --from c");
}

TEST_CASE("engine: --only runs just the named steps", "[engine][options]") {
    EngineHarness h;
    h.load(runbook_with(R"(
      - id: a
        kind: probe
      - id: b
        kind: probe
      - id: c
        kind: probe
)"));
    engine::RunOptions options;
    options.only = {"b"};
    engine::RunOutcome outcome = h.run(options);
    CHECK(outcome.status == "ok");
    CHECK(h.world.call_order() == std::vector<std::string>{"b"});
    CHECK(h.step_end("a").string("reason") == "not in --only");
    CHECK(h.step_end("c").string("reason") == "not in --only");
}

TEST_CASE("engine: phases start before their first step and end after their last",
          "[engine][phases]") {
    EngineHarness h;
    h.load(R"(version: 1
name: phases
phases:
  - id: one
    name: First
    steps:
      - id: a
        kind: probe
      - id: b
        kind: probe
  - id: two
    steps:
      - id: c
        kind: probe
)");
    engine::RunOutcome outcome = h.run();
    CHECK(outcome.status == "ok");
    std::vector<std::string> trace;
    for (const journal::Record& record : h.records()) {
        const std::string& event = record.event();
        if (event.rfind("phase.", 0) == 0)
            trace.push_back(event + " " + record.string("phase") +
                            (event == "phase.end" ? " " + record.string("status") : ""));
        else if (event == "step.end")
            trace.push_back("end " + record.string("step"));
    }
    CHECK(trace == std::vector<std::string>{"phase.start one", "end a", "end b", "phase.end one ok",
                                            "phase.start two", "end c", "phase.end two ok"});
    CHECK(h.events("phase.start")[0].string("name") == "First");
}

TEST_CASE("engine: an aborted phase ends 'incomplete'", "[engine][phases]") {
    EngineHarness h;
    h.load(runbook_with(R"(
      - id: a
        kind: probe
        with: { fail_times: "1", retryable: "false" }
      - id: b
        kind: probe
)"));
    h.run();
    auto ends = h.events("phase.end");
    REQUIRE(ends.size() == 1);
    CHECK(ends[0].string("phase") == "main");
    CHECK(ends[0].string("status") == "incomplete");
}

TEST_CASE("engine: a step's checkpoints are journaled", "[engine][resume]") {
    EngineHarness h;
    h.load(runbook_with(R"(
      - id: a
        kind: probe
        with: { checkpoint: "table-3" }
)"));
    h.run();
    auto checkpoints = h.events("step.checkpoint", "a");
    REQUIRE(checkpoints.size() == 1);
    CHECK(checkpoints[0].data["state"] == Json{{"at", "table-3"}});
    // Done steps need no checkpoint on resume.
    CHECK(h.prior_state().checkpoints.empty());
}

TEST_CASE("engine: a dry run runs every preflight and nothing else", "[engine][dry-run]") {
    EngineHarness h;
    h.load(runbook_with(R"(
      - id: a
        kind: probe
        with: { output: "x" }
      - id: b
        kind: shell
        with: { command: "rm -rf ${steps.a.out}", cwd: /nonexistent/dir }
      - id: c
        kind: http
        with: { url: "https://example.invalid/" }
)"));
    h.http.script("HEAD", "https://example.invalid/", io::HttpResponse{200, "", ""});
    engine::RunOutcome outcome = h.dry_run();
    CHECK(outcome.status == "failed");
    CHECK(outcome.exit_code == 1);
    CHECK(outcome.failed == std::vector<std::string>{"b"});
    CHECK(h.world.calls().empty());
    CHECK(h.processes.calls().empty());
    REQUIRE(h.http.calls().size() == 1);
    CHECK(h.http.calls()[0].method == "HEAD");
    CHECK_THAT(h.console_text.str(), Contains("rm -rf <a.out>"));
    CHECK_THAT(h.console_text.str(),
               Contains("working directory '/nonexistent/dir' does not exist"));
    CHECK(read_file(h.journal_path.str()).empty());
}

// ---- when ----

TEST_CASE("engine: a false 'when' skips the step with a reason; dependents still run",
          "[engine][when]") {
    EngineHarness h;
    h.load(runbook_with(R"(
      - id: a
        kind: probe
        when: "${mode} == production"
      - id: b
        kind: probe
      - id: c
        kind: probe
        when: "${mode} == rehearsal"
)"));
    engine::RunOutcome outcome = h.run();
    CHECK(outcome.status == "ok");
    CHECK(h.world.call_order() == std::vector<std::string>{"b", "c"});
    journal::Record end = h.step_end("a");
    CHECK(end.string("status") == "skipped");
    CHECK(end.string("reason") == "when: '${mode} == production' is false");
    CHECK(end.data["duration_ms"] == 0);
    CHECK(h.events("step.start", "a").empty());
    CHECK(h.step_end("c").string("status") == "ok");
    CHECK(h.events("run.end")[0].string("status") == "ok");
}

TEST_CASE(
    "regression: marking a skipped step unavailable races with a step reading outputs "
    "(ThreadSanitizer)",
    "[engine][when][race][regression]") {
    // The scheduler inserts x into RunShared::unavailable (in reap, under the engine's mutex)
    // while y's thread reads that std::set in expand_text (under outputs_mutex): two different
    // locks, so a data race. Only a -fsanitize=thread build shows it; elsewhere this passes.
    std::string refs;
    for (int i = 0; i < 300; ++i) refs += "${steps.z.out} ";
    EngineHarness h;
    h.load(runbook_with(R"(
      - id: z
        kind: probe
        with: { output: "v" }
      - id: x
        kind: probe
        needs: [z]
        when: "false"
      - id: y
        kind: probe
        needs: [z]
        with: { note: ")" +
                        refs + R"(" }
)"));
    for (int round = 0; round < 3; ++round) {
        engine::RunOutcome outcome = h.run_with(nullptr);
        CHECK(outcome.status == "ok");
    }
    CHECK(h.world.call_order() == std::vector<std::string>{"z", "y", "z", "y", "z", "y"});
}

TEST_CASE("engine: a step using the output of a skipped step fails and says why",
          "[engine][when]") {
    EngineHarness h;
    h.load(runbook_with(R"(
      - id: a
        kind: probe
        when: "false"
        with: { output: "x" }
      - id: b
        kind: probe
        with: { note: "${steps.a.out}" }
)"));
    engine::RunOutcome outcome = h.run();
    CHECK(outcome.status == "failed");
    CHECK(h.world.call_order().empty());
    CHECK_THAT(h.step_end("b").string("error"),
               Contains("step 'a' was skipped, so its output 'out' does not exist"));
}

// ---- outputs ----

TEST_CASE("engine: a step's output reaches a later step's parameters", "[engine][outputs]") {
    EngineHarness h;
    h.load(runbook_with(R"(
      - id: a
        kind: probe
        with: { output: "hello-${env}" }
      - id: b
        kind: probe
        with: { note: "got ${steps.a.out} in ${mode}" }
)"));
    engine::RunOutcome outcome = h.run();
    CHECK(outcome.status == "ok");
    std::vector<ProbeCall> calls = h.world.calls();
    REQUIRE(calls.size() == 2);
    CHECK(calls[1].step == "b");
    CHECK(calls[1].params["note"] == "got hello-test in rehearsal");
    CHECK(h.step_end("a").data["outputs"]["out"] == "hello-test");
}

// ---- resume ----

TEST_CASE("engine: resume runs only the step that did not end and those after it",
          "[engine][resume]") {
    EngineHarness h;
    {
        auto writer = journal::Writer::open(h.journal_path.str(), "run-0", h.clock);
        writer->append("run.start", Json{{"runbook", "test.yaml"}, {"runbook_sha256", "x"}}, true);
        writer->append("step.start", Json{{"step", "a"}}, false);
        writer->append("step.end",
                       Json{{"step", "a"}, {"status", "ok"}, {"outputs", {{"out", "A1"}}}}, true);
        writer->append("step.start", Json{{"step", "b"}}, false);
        writer->append("step.end",
                       Json{{"step", "b"}, {"status", "ok"}, {"outputs", Json::object()}}, true);
        writer->append("step.start", Json{{"step", "c"}}, false);
        writer->append("step.checkpoint", Json{{"step", "c"}, {"state", {{"at", "batch-7"}}}},
                       true);
    }
    engine::PriorState prior = h.prior_state();
    CHECK(prior.has_run);
    CHECK(prior.last_run_id == "run-0");
    CHECK(prior.last_status.empty());
    CHECK(prior.done == std::set<std::string>{"a", "b"});
    CHECK(prior.completed_order == std::vector<std::string>{"a", "b"});
    REQUIRE(prior.checkpoints.count("c") == 1);
    CHECK(prior.checkpoints["c"] == Json{{"at", "batch-7"}});

    h.load(runbook_with(R"(
      - id: a
        kind: probe
        with: { output: "never" }
      - id: b
        kind: probe
      - id: c
        kind: probe
      - id: d
        kind: probe
        with: { note: "from ${steps.a.out}" }
)"));
    engine::RunOutcome outcome = h.run({}, prior);
    CHECK(outcome.status == "ok");
    std::vector<ProbeCall> calls = h.world.calls();
    REQUIRE(calls.size() == 2);
    CHECK(calls[0].step == "c");
    REQUIRE(calls[0].last_checkpoint);
    CHECK(*calls[0].last_checkpoint == Json{{"at", "batch-7"}});
    CHECK(calls[1].step == "d");
    CHECK(calls[1].params["note"] == "from A1");
    CHECK(h.events("run.resume").size() == 1);
    CHECK(h.events("step.end", "c").size() == 1);
    CHECK(h.events("step.end", "a").size() == 1);  // only the earlier run's
}

TEST_CASE("engine: a rolled-back step is not done on resume", "[engine][resume]") {
    EngineHarness h;
    {
        auto writer = journal::Writer::open(h.journal_path.str(), "run-0", h.clock);
        writer->append("run.start", Json{{"runbook", "test.yaml"}}, true);
        writer->append("step.end", Json{{"step", "a"}, {"status", "ok"}}, true);
        writer->append("step.end", Json{{"step", "b"}, {"status", "ok"}}, true);
        writer->append("step.end", Json{{"step", "c"}, {"status", "failed"}, {"error", "boom"}},
                       true);
        writer->append("step.end", Json{{"step", "undo-b"}, {"rollback_of", "b"}, {"status", "ok"}},
                       true);
        writer->append("run.end", Json{{"status", "failed"}, {"rolled_back", true}}, true);
    }
    engine::PriorState prior = h.prior_state();
    CHECK(prior.done == std::set<std::string>{"a"});
    CHECK(prior.completed_order == std::vector<std::string>{"a"});
    CHECK(prior.last_status == "failed");

    h.load(runbook_with(R"(
      - id: a
        kind: probe
      - id: b
        kind: probe
        rollback:
          - id: undo-b
            kind: probe
      - id: c
        kind: probe
)"));
    engine::RunOutcome outcome = h.run({}, prior);
    CHECK(outcome.status == "ok");
    CHECK(h.world.call_order() == std::vector<std::string>{"b", "c"});
}

TEST_CASE("engine: a resumed run that fails rolls back steps done in the earlier run",
          "[engine][resume]") {
    EngineHarness h;
    {
        auto writer = journal::Writer::open(h.journal_path.str(), "run-0", h.clock);
        writer->append("run.start", Json{{"runbook", "test.yaml"}}, true);
        writer->append("step.end", Json{{"step", "a"}, {"status", "ok"}}, true);
    }
    h.load(runbook_with(R"(
      - id: a
        kind: probe
        rollback:
          - id: undo-a
            kind: probe
      - id: b
        kind: probe
        on_failure: rollback
        with: { fail_times: "1", retryable: "false" }
)"));
    engine::RunOutcome outcome = h.run({}, h.prior_state());
    CHECK(outcome.status == "failed");
    CHECK(h.world.call_order() == std::vector<std::string>{"b", "undo-a"});
}

// ---- interruption ----

TEST_CASE("engine: a stop signal interrupts the running step and the run (exit 3)",
          "[engine][signals]") {
    StopSignalsForTest signals;
    EngineHarness h;
    h.load(runbook_with(R"(
      - id: a
        kind: probe
      - id: b
        kind: probe
        with: { raise_signal: "true", block: "true" }
      - id: c
        kind: probe
)"));
    engine::RunOutcome outcome = h.run(no_grace());
    CHECK(engine::stop_requests() == 1);
    CHECK(outcome.status == "interrupted");
    CHECK(outcome.exit_code == 3);
    CHECK(h.world.call_order() == std::vector<std::string>{"a", "b"});
    journal::Record end = h.step_end("b");
    CHECK(end.string("status") == "interrupted");
    CHECK(end.string("error") == "interrupted by a signal");
    CHECK(h.events("step.start", "c").empty());
    auto run_end = h.events("run.end");
    REQUIRE(run_end.size() == 1);
    CHECK(run_end[0].string("status") == "interrupted");
    // Resumable: a is done, b is not.
    CHECK(h.prior_state().done == std::set<std::string>{"a"});
}

TEST_CASE("engine: after the first stop signal running steps may finish; nothing new starts",
          "[engine][signals]") {
    StopSignalsForTest signals;
    EngineHarness h;
    h.load(runbook_with(R"(
      - id: signal
        kind: probe
        needs: []
        with: { raise_signal: "true" }
      - id: conversion
        kind: probe
        needs: []
        with: { work_ms: "300" }
      - id: next
        kind: probe
        needs: [conversion]
)"));
    engine::RunOutcome outcome = h.run();  // the default grace period: 60 s of (fake) time
    CHECK(outcome.status == "interrupted");
    CHECK(outcome.exit_code == 3);
    CHECK(h.step_end("conversion").string("status") == "ok");
    CHECK(h.events("step.start", "next").empty());
    CHECK(h.prior_state().done == std::set<std::string>{"signal", "conversion"});
}

TEST_CASE("engine: a second stop signal stops the running steps at once", "[engine][signals]") {
    StopSignalsForTest signals;
    EngineHarness h;
    h.load(runbook_with(R"(
      - id: signal
        kind: probe
        needs: []
        with: { raise_signal: "true" }
      - id: conversion
        kind: probe
        needs: []
        with: { block: "true" }
)"));
    std::thread second([] {
        while (engine::stop_requests() == 0) std::this_thread::sleep_for(Millis(5));
        std::this_thread::sleep_for(Millis(100));
        std::raise(SIGTERM);
    });
    engine::RunOutcome outcome = h.run();
    second.join();
    CHECK(outcome.exit_code == 3);
    CHECK(h.step_end("conversion").string("status") == "interrupted");
    CHECK(h.step_end("conversion").string("error") == "interrupted by a signal");
}

TEST_CASE("engine: the grace period's end stops the running steps", "[engine][signals]") {
    StopSignalsForTest signals;
    EngineHarness h;
    h.load(runbook_with(R"(
      - id: signal
        kind: probe
        needs: []
        with: { raise_signal: "true" }
      - id: conversion
        kind: probe
        needs: []
        with: { block: "true", tick: "5s" }
)"));
    engine::RunOptions options;
    options.grace = std::chrono::seconds(30);
    engine::RunOutcome outcome = h.run(options);
    CHECK(outcome.exit_code == 3);
    CHECK(h.step_end("conversion").string("status") == "interrupted");
    CHECK(h.clock.steady_ms() >= 30'000);
}

TEST_CASE("engine: steps waiting for people take no --max-parallel slot", "[engine][manual]") {
    StopSignalsForTest signals;
    EngineHarness h;
    h.load(runbook_with(R"(
      - id: customer-check
        kind: manual
        role: customer
        needs: []
        with: { instructions: "Check the agents." }
      - id: copy
        kind: probe
        needs: []
      - id: verify
        kind: probe
        needs: [copy]
        with: { raise_signal: "true" }
)"));
    engine::RunOutcome outcome = h.run(parallel(1));
    // copy and verify ran while the check waited; the signal then stopped the check at once.
    CHECK(h.step_end("copy").string("status") == "ok");
    CHECK(h.step_end("verify").string("status") == "ok");
    CHECK(h.step_end("customer-check").string("status") == "interrupted");
    CHECK(outcome.exit_code == 3);
}

// ---- secrets ----

TEST_CASE("engine: secrets never reach the journal", "[engine][secrets]") {
    EngineHarness h;
    h.secrets["DB_PASSWORD"] = "pa55-W0rd-xyzzy-9471";
    Redactor::global().add_secret("tok-Qv8Rk2-literal");
    h.load(runbook_with(R"(
      - id: a
        kind: probe
        with:
          output: "password=${secret:DB_PASSWORD}"
          note: "token tok-Qv8Rk2-literal"
      - id: b
        kind: probe
        with: { note: "got ${steps.a.out}" }
        retry: { attempts: 2, backoff: 1s }
      - id: c
        kind: probe
        with: { fail_times: "1", retryable: "false", error: "login with ${secret:DB_PASSWORD} refused" }
)"));
    engine::RunOutcome outcome = h.run();
    CHECK(outcome.status == "failed");
    // The step itself sees the real value.
    std::vector<ProbeCall> calls = h.world.calls();
    REQUIRE(calls.size() == 3);
    CHECK(calls[1].params["note"] == "got password=pa55-W0rd-xyzzy-9471");
    std::string text = read_file(h.journal_path.str());
    CHECK_THAT(text, !Contains("pa55-W0rd-xyzzy-9471"));
    CHECK_THAT(text, !Contains("tok-Qv8Rk2-literal"));
    CHECK(h.step_end("a").data["outputs"]["out"] == "password=***");
    CHECK(h.step_end("c").string("error") == "login with *** refused (attempt 1)");
    CHECK_THAT(h.console_text.str(), !Contains("pa55-W0rd-xyzzy-9471"));
}

// ---- builtin kinds against the fakes ----

TEST_CASE("engine: a manual step is confirmed through the confirmation source",
          "[engine][manual]") {
    EngineHarness h;
    h.confirmations.answer_with(io::Confirmation{"alice", "agents are out", "terminal"});
    h.load(runbook_with(R"(
      - id: agents-out
        kind: manual
        role: customer
        with: { instructions: "Make sure no agent works." }
)"));
    engine::RunOutcome outcome = h.run();
    CHECK(outcome.status == "ok");
    auto requests = h.confirmations.requests();
    REQUIRE(requests.size() == 1);
    CHECK(requests[0].step_id == "agents-out");
    CHECK(requests[0].role == "customer");
    CHECK(requests[0].role_description == "Customer administrator");
    CHECK(requests[0].instructions == "Make sure no agent works.");
    auto confirms = h.events("step.confirm", "agents-out");
    REQUIRE(confirms.size() == 1);
    CHECK(confirms[0].string("by") == "alice");
    CHECK(confirms[0].string("role") == "customer");
    CHECK(confirms[0].string("via") == "terminal");
    CHECK(confirms[0].string("note") == "agents are out");
    CHECK(confirms[0].string("decision") == "confirmed");
    CHECK(h.step_end("agents-out").data["outputs"]["by"] == "alice");
}

TEST_CASE("engine: approvals: the step completes at the N-th different person",
          "[engine][manual][approvals]") {
    EngineHarness h;
    h.confirmations.answer_in_turn({io::Confirmation{"Marie", "", "migrate confirm"},
                                    io::Confirmation{"MARIE", "", "terminal"},
                                    io::Confirmation{"Pierre", "go", "migrate confirm"}});
    h.load(runbook_with(R"(
      - id: go
        kind: manual
        role: customer
        with: { instructions: "Go?", approvals: 2 }
)"));
    CHECK(h.run().status == "ok");
    auto confirms = h.events("step.confirm", "go");
    REQUIRE(confirms.size() == 2);  // the same person twice is not counted
    CHECK(confirms[0].string("by") == "Marie");
    CHECK(confirms[0].data["approval"] == 1);
    CHECK(confirms[1].string("by") == "Pierre");
    CHECK(confirms[1].data["approval"] == 2);
    CHECK(confirms[1].data["approvals"] == 2);
    CHECK_THAT(h.console_text.str(),
               Contains("already confirmed by MARIE; a second person must confirm"));
    CHECK(h.step_end("go").data["outputs"]["by"] == "Marie, Pierre");
    auto requests = h.confirmations.requests();
    REQUIRE(requests.size() == 3);
    CHECK(requests[1].approved_by == std::vector<std::string>{"Marie"});
}

TEST_CASE("engine: approvals given before an interruption count after the resume",
          "[engine][manual][approvals][resume]") {
    EngineHarness h;
    h.confirmations.answer_in_turn({io::Confirmation{"Marie", "", "migrate confirm"}});
    h.load(runbook_with(R"(
      - id: go
        kind: manual
        role: customer
        with: { instructions: "Go?", approvals: 2 }
)"));
    CHECK(h.run().status != "ok");  // the second approval never came
    REQUIRE(h.events("step.confirm", "go").size() == 1);
    h.confirmations.answer_in_turn({io::Confirmation{"Marie", "", "migrate confirm"},
                                    io::Confirmation{"Pierre", "", "migrate confirm"}});
    CHECK(h.run({}, h.prior_state()).status == "ok");
    auto confirms = h.events("step.confirm", "go");
    REQUIRE(confirms.size() == 2);
    CHECK(confirms[1].string("by") == "Pierre");
    CHECK(confirms[1].data["approval"] == 2);
    CHECK_THAT(h.console_text.str(), Contains("1 of 2 approvals recorded before (by Marie)"));
}

TEST_CASE("engine: evidence required: a bare confirmation is not counted; --yes waives it",
          "[engine][manual][evidence]") {
    io::Confirmation with_file{"Ana", "", "migrate confirm"};
    with_file.evidence = "/srv/restore.log";
    with_file.evidence_sha256 = std::string(64, 'b');
    with_file.evidence_size = 1234;
    std::string steps = R"(
      - id: restored
        kind: manual
        role: customer
        with: { instructions: "Restore a backup.", evidence: required }
)";
    {
        EngineHarness h;
        h.confirmations.answer_in_turn({io::Confirmation{"Ana", "", "terminal"}, with_file});
        h.load(runbook_with(steps));
        CHECK(h.run().status == "ok");
        auto confirms = h.events("step.confirm", "restored");
        REQUIRE(confirms.size() == 1);
        CHECK(confirms[0].string("evidence") == "/srv/restore.log");
        CHECK(confirms[0].string("evidence_kind") == "file");
        CHECK(confirms[0].string("evidence_sha256") == std::string(64, 'b'));
        CHECK(confirms[0].data["evidence_size"] == 1234);
        CHECK_THAT(h.console_text.str(), Contains("evidence needed: a note, a file or a URL"));
    }
    {
        EngineHarness h;
        h.confirmations.answer_with(io::Confirmation{"--yes", "confirmed by --yes", "--yes"});
        h.load(runbook_with(steps));
        CHECK(h.run().status == "ok");
        auto confirms = h.events("step.confirm", "restored");
        REQUIRE(confirms.size() == 1);
        CHECK(confirms[0].string("evidence_waived") == "--yes");
    }
}

TEST_CASE("engine: wait at a clock time sleeps on the clock until then", "[engine][wait][at]") {
    EngineHarness h;
    // FakeClock's wall time starts at k_wall_start; wait 90 minutes past it.
    std::int64_t target = FakeClock::k_wall_start + 90 * 60'000;
    h.load(runbook_with("      - { id: start-at, kind: wait, timeout: 3h, with: { at: \"" +
                        format_utc_ms(target) + "\" } }\n"));
    CHECK(h.run().status == "ok");
    CHECK(h.clock.wall_ms() >= target);
    CHECK(h.clock.wall_ms() < target + 1000);
    auto checkpoints = h.events("step.checkpoint", "start-at");
    REQUIRE(checkpoints.size() == 1);
    CHECK(checkpoints[0].data["state"]["at_ms"] == target);
}

TEST_CASE("engine: wait at a time that has passed goes on at once and says so",
          "[engine][wait][at]") {
    EngineHarness h;
    h.load(runbook_with(R"(
      - { id: start-at, kind: wait, timeout: 1h, with: { at: "2026-01-01T09:30+01:00" } }
)"));
    CHECK(h.run().status == "ok");
    CHECK(h.clock.sleeps().empty());
    CHECK_THAT(h.console_text.str(), Contains("has passed"));
    CHECK(h.step_end("start-at").data["metrics"]["late_ms"] > 0);
}

TEST_CASE("engine: a resume keeps the instant an HH:MM wait first resolved to",
          "[engine][wait][at][resume]") {
    EngineHarness h;
    h.load(runbook_with(R"(
      - { id: start-at, kind: wait, timeout: 1h, with: { at: "23:59" } }
)"));
    std::int64_t recorded = FakeClock::k_wall_start + 5 * 60'000;
    engine::PriorState prior;
    prior.checkpoints["start-at"] = Json{{"at", "23:59"}, {"at_ms", recorded}};
    CHECK(h.run({}, prior).status == "ok");
    CHECK(h.clock.wall_ms() >= recorded);
    CHECK(h.clock.wall_ms() < recorded + 1000);  // not tonight's 23:59: the recorded instant
}

TEST_CASE("engine: a rejected manual step fails with who and why, and its rollback runs",
          "[engine][manual][rollback]") {
    EngineHarness h;
    h.confirmations.answer_with(
        io::Confirmation{"Jana Novak", "customer not ready", "migrate confirm", "jana", true});
    h.load(runbook_with(R"(
      - id: a
        kind: probe
        rollback:
          - id: undo-a
            kind: probe
      - id: go
        kind: manual
        role: customer
        on_failure: rollback
        retry: { attempts: 3 }
        with: { instructions: "Go or no-go?" }
      - id: b
        kind: probe
)"));
    engine::RunOutcome outcome = h.run();
    CHECK(outcome.status == "failed");
    CHECK(outcome.failed == std::vector<std::string>{"go"});
    CHECK(h.world.call_order() == std::vector<std::string>{"a", "undo-a"});
    CHECK(h.confirmations.requests().size() == 1);  // a no-go is not asked again
    auto confirms = h.events("step.confirm", "go");
    REQUIRE(confirms.size() == 1);
    CHECK(confirms[0].string("decision") == "rejected");
    CHECK(confirms[0].string("os_user") == "jana");
    CHECK(confirms[0].string("note") == "customer not ready");
    CHECK(h.step_end("go").string("status") == "failed");
    CHECK(h.step_end("go").string("error") == "rejected by Jana Novak: customer not ready");
    CHECK(h.events("run.end")[0].data["rolled_back"] == true);
}

TEST_CASE("engine: an unconfirmed manual step is interrupted by a stop signal",
          "[engine][manual][signals]") {
    StopSignalsForTest signals;
    EngineHarness h;
    h.load(runbook_with(R"(
      - id: trigger
        kind: probe
        needs: []
        with: { raise_signal: "true" }
      - id: wait-for-customer
        kind: manual
        role: customer
        needs: []
        with: { instructions: "Say when." }
)"));
    engine::RunOutcome outcome = h.run();
    CHECK(outcome.status == "interrupted");
    CHECK(outcome.exit_code == 3);
    CHECK(h.step_end("wait-for-customer").string("status") == "interrupted");
    CHECK(h.events("step.confirm").empty());
}

TEST_CASE("engine: shell steps run through the process runner and retry", "[engine][shell]") {
    EngineHarness h;
    h.processes.script("./migrate-data.sh", io::ProcessResult{1, 0, "", "connection reset"});
    h.processes.script("./migrate-data.sh",
                       io::ProcessResult{0, 0, "copied 42 rows\n", "copied 42 rows"});
    h.load(runbook_with(R"(
      - id: copy
        kind: shell
        retry: { attempts: 3, backoff: 5s }
        with: { command: ./migrate-data.sh, env: { TARGET: "${env}" } }
      - id: report
        kind: probe
        with: { note: "${steps.copy.stdout}" }
)"));
    engine::RunOutcome outcome = h.run();
    CHECK(outcome.status == "ok");
    auto calls = h.processes.calls();
    REQUIRE(calls.size() == 2);
    CHECK(calls[0].command == "./migrate-data.sh");
    CHECK(calls[0].env == std::map<std::string, std::string>{{"TARGET", "test"}});
    auto retries = h.events("step.retry", "copy");
    REQUIRE(retries.size() == 1);
    CHECK(retries[0].string("error") == "the command exited with status 1: connection reset");
    CHECK(h.clock.sleeps() == std::vector<Millis>{Millis(5000)});
    journal::Record end = h.step_end("copy");
    CHECK(end.string("status") == "ok");
    CHECK(end.data["exit_code"] == 0);
    CHECK(h.world.calls().at(0).params["note"] == "copied 42 rows");
}

TEST_CASE("engine: http steps use the HTTP client and take outputs from the answer",
          "[engine][http]") {
    EngineHarness h;
    h.http.script("POST", "https://api.example.com/backups",
                  io::HttpResponse{201, R"({"data": {"id": "b-17"}})", ""});
    h.load(runbook_with(R"(
      - id: order-backup
        kind: http
        with:
          url: https://api.example.com/backups
          method: POST
          body: "{}"
          outputs: { backup_id: /data/id }
      - id: use
        kind: probe
        with: { note: "${steps.order-backup.backup_id}" }
)"));
    engine::RunOutcome outcome = h.run();
    CHECK(outcome.status == "ok");
    REQUIRE(h.http.calls().size() == 1);
    CHECK(h.http.calls()[0].body == "{}");
    journal::Record end = h.step_end("order-backup");
    CHECK(end.data["outputs"]["status"] == "201");
    CHECK(end.data["outputs"]["backup_id"] == "b-17");
    CHECK(h.world.calls().at(0).params["note"] == "b-17");
}

// ---- the journal failing under the engine ----

namespace {

// Runs the harness's runbook in a child process whose journal cannot grow more than `room`
// bytes past its run.start record (a disk that fills up mid-run). Returns the child's wait
// status; it exits 0 when Engine::run threw Fatal, 10 when it returned as if all was well,
// 20 when it threw something else.
int run_with_full_disk(EngineHarness& h, off_t room) {
    std::fflush(nullptr);
    pid_t child = ::fork();
    if (child < 0) return -1;
    if (child == 0) {
        std::signal(SIGABRT, SIG_DFL);  // die of it: Catch's handler belongs to the parent
        int code = 0;
        try {
            auto writer = journal::Writer::open(h.journal_path.str(), "run-1", h.clock);
            writer->append("run.start", Json{{"runbook", "test.yaml"}}, true);
            struct stat info {};
            ::stat(h.journal_path.str().c_str(), &info);
            std::signal(SIGXFSZ, SIG_IGN);
            rlimit limit{static_cast<rlim_t>(info.st_size + room),
                         static_cast<rlim_t>(info.st_size + room)};
            ::setrlimit(RLIMIT_FSIZE, &limit);
            h.run_with(writer.get());
            code = 10;
        } catch (const Fatal&) {
            code = 0;
        } catch (...) {
            code = 20;
        }
        ::_exit(code);
    }
    int status = 0;
    if (::waitpid(child, &status, 0) != child) return -1;
    return status;
}

void check_fatal_reached_the_caller(int status) {
    INFO("child wait status " << status
                              << (WIFSIGNALED(status)
                                      ? ", killed by signal " + std::to_string(WTERMSIG(status))
                                      : ""));
    bool exited = status >= 0 && WIFEXITED(status);  // not killed by SIGABRT from std::terminate
    REQUIRE(exited);
    int exit_code = WEXITSTATUS(status);
    INFO("exit code 10: Engine::run returned normally; 20: it threw something other than Fatal");
    CHECK(exit_code == 0);
}

}  // namespace

TEST_CASE("regression: a journal write failing in a step's thread reaches the caller as Fatal",
          "[engine][journal][regression]") {
    // Fatal thrown on a worker thread escaped std::thread and called std::terminate: a full
    // disk mid-run aborted migrate instead of reporting "cannot write the journal". The room
    // left takes the phase.start record, not the step.start (long because of the step's name).
    EngineHarness h;
    h.load(runbook_with(R"(
      - id: a
        kind: probe
        name: ")" + std::string(600, 'n') +
                        R"("
)"));
    check_fatal_reached_the_caller(run_with_full_disk(h, 300));
}

TEST_CASE(
    "regression: a journal write failing on the scheduler while a step runs reaches the caller as "
    "Fatal",
    "[engine][journal][regression]") {
    // phase.end is written by the scheduler thread; when that write fails while another step's
    // thread still runs, the exception leaves Engine::run with a joinable std::thread, whose
    // destructor calls std::terminate.
    const std::string yaml = R"(version: 1
name: two-phases
phases:
  - id: one
    steps:
      - id: a
        kind: probe
        needs: []
        with: { gate: "2" }
  - id: two
    steps:
      - id: b
        kind: probe
        needs: []
        with: { gate: "2", block: "true", limit_ms: "300" }
)";
    // A run with room enough measures the records written before phase one ends: both
    // phase.start, both step.start and a's step.end (the same bytes in any order).
    off_t room = 0;
    {
        EngineHarness measure;
        measure.load(yaml);
        {
            auto writer = journal::Writer::open(measure.journal_path.str(), "run-1", measure.clock);
            writer->append("run.start", Json{{"runbook", "test.yaml"}}, true);
            measure.run_with(writer.get());
        }
        std::vector<std::string> lines;
        std::istringstream text(read_file(measure.journal_path.str()));
        for (std::string line; std::getline(text, line);) {
            Json record = Json::parse(line);
            std::string event = record["ev"].get<std::string>();
            if (event == "phase.start" || event == "step.start" ||
                (event == "step.end" && record["step"] == "a"))
                room += static_cast<off_t>(line.size() + 1);
        }
    }
    REQUIRE(room > 0);
    EngineHarness h;
    h.load(yaml);
    check_fatal_reached_the_caller(run_with_full_disk(h, room + 20));  // phase.end one does not fit
}
