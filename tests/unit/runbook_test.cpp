// Loading and validating runbooks: what a good one becomes, and each mistake at its line:col.
#include <catch2/catch.hpp>

#include "fakes.h"
#include "migrate/runbook/graph.h"

using namespace migrate;
using namespace migrate::test;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;

namespace {

const kinds::KindTable& test_table() {
    static ProbeWorld world{nullptr};
    static const kinds::KindTable table = test_kinds(world);
    return table;
}

// Lines 1-7 of every runbook below; steps start on line 8.
const std::string k_head =
    "version: 1\n"
    "name: rb\n"
    "roles:\n"
    "  customer: Customer administrator\n"
    "phases:\n"
    "  - id: main\n"
    "    steps:\n";

std::vector<std::string> problems(const std::string& steps) {
    return runbook_problems(k_head + steps, test_table());
}

}  // namespace

TEST_CASE("runbook: a good runbook and what it becomes", "[runbook]") {
    runbook::Runbook book = load_test_runbook(k_head + R"(      - id: a
        kind: probe
        name: First
        timeout: 1h30m
        retry: { attempts: 3, backoff: 10s, max_backoff: 1m }
        on_failure: rollback
        downtime: start
        estimate: 15m
        rollback:
          - id: undo-a
            kind: probe
      - id: b
        kind: manual
        role: customer
        needs: [a]
        when: "${mode} == production"
        on_failure: continue
        downtime: end
        with: { instructions: "Check it." }
  - id: second
    urgency: high
    steps:
      - id: c
        kind: probe
        with: { note: "${steps.a.out}" }
)",
                                              test_table());
    CHECK(book.version == 1);
    CHECK(book.name == "rb");
    CHECK(book.roles.at("customer") == "Customer administrator");
    REQUIRE(book.phases.size() == 2);
    CHECK(book.phases[1].urgency == "high");
    const runbook::Step* a = book.find_step("a");
    REQUIRE(a != nullptr);
    CHECK(a->name == "First");
    CHECK(a->timeout == Millis(5'400'000));
    CHECK(a->retry.attempts == 3);
    CHECK(a->retry.backoff == Millis(10'000));
    CHECK(a->retry.max_backoff == Millis(60'000));
    CHECK(a->on_failure == runbook::OnFailure::rollback);
    CHECK(a->downtime == runbook::DowntimeMarker::start);
    CHECK(a->estimate == Millis(900'000));
    CHECK(a->role == "executor");
    CHECK(a->mark.line == 8);
    CHECK(a->mark.column == 9);
    REQUIRE(a->rollback.size() == 1);
    CHECK(a->rollback[0].is_rollback);
    CHECK(a->rollback[0].rollback_of == "a");
    CHECK(book.find_step("undo-a") == &a->rollback[0]);
    const runbook::Step* b = book.find_step("b");
    REQUIRE(b != nullptr);
    CHECK(b->role == "customer");
    CHECK(b->needs_given);
    CHECK(b->when.text == "${mode} == production");
    CHECK(b->on_failure == runbook::OnFailure::continue_run);
    runbook::StepGraph graph(book);
    CHECK(graph.needs("c") == std::vector<std::string>{"b"});  // the step before it, across phases
    CHECK(graph.depends_on("c", "a"));
    CHECK(graph.downtime_steps() == std::vector<std::string>{"a", "b"});
    CHECK(book.steps().size() == 3);  // rollback steps not among them
}

TEST_CASE("runbook: JSON is the same schema", "[runbook]") {
    runbook::Runbook book = load_test_runbook(
        R"({"version": 1, "name": "j", "phases": [{"id": "p", "steps": [{"id": "a", "kind": "probe", "timeout": "2h"}]}]})",
        test_table());
    REQUIRE(book.find_step("a") != nullptr);
    CHECK(book.find_step("a")->timeout == Millis(7'200'000));
}

TEST_CASE("runbook: an unknown field, with a hint, at its key", "[runbook]") {
    std::string yaml = k_head + R"(      - id: a
        kind: probe
      - id: b
        kind: probe
        neds: [a]
)";
    CHECK(runbook_problems(yaml, test_table()) ==
          std::vector<std::string>{"12:9: unknown field 'neds' in a step; did you mean 'needs'?"});
    // The printed form: file:line:col, the source line, a caret under the key.
    CHECK(runbook_diagnostics(yaml, test_table()) ==
          "test.yaml:12:9: unknown field 'neds' in a step; did you mean 'needs'?\n"
          "            neds: [a]\n"
          "            ^\n");
}

TEST_CASE("runbook: structure errors at their line:col", "[runbook]") {
    SECTION("a duration without a unit") {
        CHECK(problems("      - id: a\n        kind: probe\n        timeout: 90\n") ==
              std::vector<std::string>{
                  "10:18: bad duration '90' for 'timeout'; write it like 90s, 15m, 2h or 1h30m"});
    }
    SECTION("units in the wrong order") {
        CHECK(
            problems("      - id: a\n        kind: probe\n        retry: { attempts: 2, backoff: "
                     "30m1h }\n") ==
            std::vector<std::string>{
                "10:40: bad duration '30m1h' for 'backoff'; write it like 90s, 15m, 2h or 1h30m"});
    }
    SECTION("a bad step id") {
        CHECK(problems("      - id: Bad_Id\n        kind: probe\n") ==
              std::vector<std::string>{
                  "8:13: step id 'Bad_Id' must match [a-z0-9][a-z0-9_-]* (lowercase letters, "
                  "digits, '-' and '_')"});
    }
    SECTION("a step without a kind") {
        CHECK(problems("      - id: a\n        name: x\n") ==
              std::vector<std::string>{"8:9: step 'a' has no 'kind'"});
    }
    SECTION("an unknown on_failure") {
        CHECK(problems("      - id: a\n        kind: probe\n        on_failure: rolback\n") ==
              std::vector<std::string>{"10:21: unknown on_failure 'rolback' (one of: abort, "
                                       "continue, rollback); did you mean 'rollback'?"});
    }
    SECTION("retry attempts out of range") {
        CHECK(problems("      - id: a\n        kind: probe\n        retry: { attempts: 0 }\n") ==
              std::vector<std::string>{
                  "10:28: 'attempts' must be a whole number from 1 to 999, not '0'"});
    }
    SECTION("'needs' in a rollback step") {
        CHECK(
            problems("      - id: a\n        kind: probe\n        rollback:\n          - id: undo\n"
                     "            kind: probe\n            needs: [a]\n") ==
            std::vector<std::string>{
                "13:20: rollback steps run in their listed order; 'needs' is not allowed there"});
    }
    SECTION("steps that are not a list") {
        CHECK(runbook_problems("version: 1\nname: rb\nphases:\n  - id: main\n    steps: nothing\n",
                               test_table()) ==
              std::vector<std::string>{"5:12: 'steps' must be a list, found a value ('nothing')"});
    }
    SECTION("a missing version and name") {
        CHECK(runbook_problems(
                  "phases:\n  - id: main\n    steps:\n      - id: a\n        kind: probe\n",
                  test_table()) ==
              std::vector<std::string>{"1:1: missing 'version'; this migrate reads 'version: 1'",
                                       "1:1: missing 'name'"});
    }
    SECTION("an unsupported version") {
        CHECK(runbook_problems("version: 2\nname: x\nphases:\n  - id: main\n    steps:\n      - "
                               "id: a\n        kind: probe\n",
                               test_table()) ==
              std::vector<std::string>{
                  "1:10: unsupported runbook version '2'; this migrate reads 'version: 1'"});
    }
    SECTION("a tab in the indentation") {
        std::vector<std::string> found = problems("      - id: a\n\tkind: probe\n");
        REQUIRE_FALSE(found.empty());
        CHECK(found[0] == "9:1: tab in indentation; YAML indents with spaces only");
    }
    SECTION("a duplicate key") {
        std::vector<std::string> found =
            problems("      - id: a\n        kind: probe\n        kind: shell\n");
        REQUIRE_FALSE(found.empty());
        CHECK_THAT(found[0], StartsWith("10:9: duplicate key 'kind' (first at line 9)"));
    }
}

TEST_CASE("runbook: semantic errors at their line:col", "[runbook]") {
    SECTION("an unknown kind lists the known ones") {
        CHECK(problems("      - id: a\n        kind: prob\n") ==
              std::vector<std::string>{
                  "9:15: unknown kind 'prob'; did you mean 'probe'? (kinds: "
                  "probe, manual, shell, http, wait, sql, ssh, transfer, isolate, reconnect)"});
    }
    SECTION("an unknown step in needs") {
        CHECK(
            problems("      - id: a\n        kind: probe\n      - id: b\n        kind: probe\n     "
                     "   needs: [aa]\n") ==
            std::vector<std::string>{"12:17: step 'b' needs unknown step 'aa'; did you mean 'a'?"});
    }
    SECTION("a cycle") {
        CHECK(problems("      - id: a\n        kind: probe\n        needs: [b]\n"
                       "      - id: b\n        kind: probe\n        needs: [a]\n") ==
              std::vector<std::string>{"10:17: steps need each other in a cycle: a -> b -> a"});
    }
    SECTION("a duplicate step id, at the id") {
        CHECK(
            problems("      - id: a\n        kind: probe\n      - id: a\n        kind: probe\n") ==
            std::vector<std::string>{"10:13: duplicate step id 'a' (first at line 8)"});
    }
    SECTION("an undeclared role") {
        CHECK(problems("      - id: a\n        kind: probe\n        role: dba\n") ==
              std::vector<std::string>{"10:15: role 'dba' of step 'a' is not declared under "
                                       "'roles' (declared: executor, customer)"});
    }
    SECTION("an undefined variable, at the reference inside the value") {
        CHECK(runbook_problems(
                  k_head +
                      "      - id: a\n        kind: probe\n        with: { note: \"x ${dbb}\" }\n"
                      "vars:\n  db: main\n",
                  test_table()) ==
              std::vector<std::string>{"10:26: undefined variable 'dbb'; did you mean 'db'?"});
    }
    SECTION("an unknown parameter of the kind") {
        std::vector<std::string> found =
            problems("      - id: a\n        kind: probe\n        with: { nte: x }\n");
        REQUIRE(found.size() == 1);
        CHECK_THAT(
            found[0],
            StartsWith("10:17: unknown parameter 'nte' for kind 'probe'; did you mean 'note'? "
                       "(parameters: fail_times, retryable,"));
    }
    SECTION("a missing required parameter") {
        CHECK(problems("      - id: a\n        kind: manual\n") ==
              std::vector<std::string>{
                  "9:15: step 'a' of kind 'manual' needs 'with.instructions' (what the person in "
                  "the role must do)"});
    }
    SECTION("a parameter of the wrong type") {
        CHECK(
            problems("      - id: a\n        kind: probe\n        with: { fail_times: many }\n") ==
            std::vector<std::string>{
                "10:29: parameter 'fail_times': expected a whole number, found 'many'"});
    }
    SECTION("an output of a step that does not run before") {
        CHECK(problems("      - id: a\n        kind: probe\n        needs: []\n        with: { "
                       "note: \"${steps.b.out}\" }\n"
                       "      - id: b\n        kind: probe\n        needs: []\n") ==
              std::vector<std::string>{
                  "11:24: step 'a' uses an output of step 'b', which does not run before it; "
                  "add 'b' to its 'needs'"});
    }
    SECTION("an output the kind does not have") {
        CHECK(problems("      - id: a\n        kind: probe\n      - id: b\n        kind: probe\n"
                       "        with: { note: \"${steps.a.bytes}\" }\n") ==
              std::vector<std::string>{
                  "12:24: step 'a' (kind probe) has no output 'bytes' (outputs: out)"});
    }
    SECTION("a bad 'when'") {
        CHECK(problems("      - id: a\n        kind: probe\n        when: \"a == b == c\"\n") ==
              std::vector<std::string>{
                  "10:15: bad 'when' condition: a condition compares two values once: write "
                  "'A == B' or 'A != B'"});
    }
    SECTION("downtime end before its start") {
        CHECK(problems("      - id: a\n        kind: probe\n        downtime: end\n"
                       "      - id: b\n        kind: probe\n        downtime: start\n") ==
              std::vector<std::string>{
                  "10:19: the downtime window ends at step 'a', which does not run after its start "
                  "at step 'b'; add it to 'needs' or move the markers"});
    }
}

TEST_CASE("runbook: load_test_runbook refuses a runbook with errors", "[runbook]") {
    CHECK_THROWS_WITH(
        load_test_runbook(k_head + "      - id: a\n        kind: nope\n", test_table()),
        Contains("test.yaml:9:15: unknown kind 'nope'"));
}

TEST_CASE("validate: wait at takes ISO 8601 with an offset or HH:MM, and nothing else",
          "[runbook][wait][at]") {
    for (const char* good : {"2026-12-10T09:30+01:00", "2026-12-10T08:30:15Z", "09:30", "23:59:59"})
        CHECK(problems(std::string("      - { id: w, kind: wait, timeout: 1h, with: { at: \"") +
                       good + "\" } }\n")
                  .empty());
    for (const char* bad : {"25:99", "2026-12-10T09:30", "2026-02-30T09:30Z", "tomorrow"}) {
        auto found =
            problems(std::string("      - { id: w, kind: wait, timeout: 1h, with: { at: \"") + bad +
                     "\" } }\n");
        REQUIRE(found.size() == 1);
        CHECK_THAT(found[0], StartsWith("8:"));
        CHECK_THAT(found[0], Contains("'at: " + std::string(bad) + "' is not a clock time"));
    }
}

TEST_CASE("validate: a manual step's evidence and approvals", "[runbook][manual]") {
    CHECK(problems("      - { id: m, kind: manual, role: customer, with: { instructions: x, "
                   "evidence: required, approvals: 2 } }\n")
              .empty());
    auto evidence = problems(
        "      - { id: m, kind: manual, role: customer, with: { "
        "instructions: x, evidence: maybe } }\n");
    REQUIRE(evidence.size() == 1);
    CHECK_THAT(evidence[0], Contains("maybe"));
    auto approvals = problems(
        "      - { id: m, kind: manual, role: customer, with: { "
        "instructions: x, approvals: 0 } }\n");
    REQUIRE(approvals.size() == 1);
    CHECK_THAT(approvals[0], Contains("'approvals' must be 1 to 20"));
}

TEST_CASE("clock: an HH:MM is the next such local time; ISO offsets are honoured", "[clock]") {
    std::int64_t noon_utc = 1'790'000'000'000;  // any instant; the zone below makes it exact
    CHECK(resolve_clock_time("2026-12-10T09:30+01:00", 0) ==
          resolve_clock_time("2026-12-10T08:30Z", 0));
    CHECK(*resolve_clock_time("1970-01-02T00:00Z", 0) == 86'400'000);
    std::int64_t next = *resolve_clock_time("09:30", noon_utc);
    CHECK(next >= noon_utc);
    CHECK(next < noon_utc + 86'400'000);
    CHECK(format_local_time(next).find(" 09:30:00 ") != std::string::npos);
}
