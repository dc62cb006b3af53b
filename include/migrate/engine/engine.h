// The engine: runs a validated runbook's steps in dependency order (in parallel up to a
// limit), with timeouts, retries, failure policies and rollback, journaling every action.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "migrate/engine/console.h"
#include "migrate/io/services.h"
#include "migrate/journal/journal.h"
#include "migrate/kinds/kind.h"
#include "migrate/runbook/model.h"

namespace migrate::engine {

using Json = nlohmann::ordered_json;
using SecretLookup = std::function<std::optional<std::string>(const std::string& name)>;

struct RunOptions {
    kinds::RunMode mode = kinds::RunMode::rehearsal;
    std::optional<std::string> from;  // steps before it are skipped
    std::vector<std::string> only;    // when given, every other step is skipped
    int max_parallel = 4;             // steps waiting for people do not count
    std::string log_dir;              // per-step output logs; "" for none
    std::string limit;                // --limit: a host pattern every host step is narrowed to
    // After the first stop signal, running steps may finish within this; a second signal or
    // its end stops them.
    Millis grace{std::chrono::seconds(60)};
};

// What the journal says earlier runs finished, for --resume.
struct PriorState {
    std::set<std::string> done;  // ended ok or skipped, and not rolled back since
    std::map<std::string, Json> outputs;
    std::map<std::string, Json> checkpoints;  // last checkpoint of steps that did not end ok
    std::vector<std::string> completed_order;
    std::string last_run_id;
    std::string runbook_sha256;
    std::map<std::string, std::string> step_hashes;
    std::string last_status;  // status of the last run.end, "" when the run never ended
    bool has_run = false;
};

PriorState read_prior_state(const journal::ReadResult& journal);

struct RunOutcome {
    std::string status;  // ok, failed, interrupted
    int exit_code = 0;
    std::vector<std::string> failed;
    std::vector<std::string> tolerated;
};

struct EngineSetup {
    const runbook::Runbook& book;
    const kinds::KindTable& kinds;
    io::Services& services;
    journal::Writer* journal;  // null: nothing is journaled (a dry run without --journal)
    Console& console;
    RunOptions options;
    std::map<std::string, std::string> variables;  // resolved
    SecretLookup secrets;
    // The live forecast's watch (run --forecast-from), called on every turn of the
    // scheduler: `look` when steps have ended or a few seconds have passed (it may then read
    // the journal), else it only says whether a decision came in. Returning a reason stops
    // the run and rolls back (the point of no return passed with on_deadline: rollback, or
    // its go/no-go was rejected); the reason is the run's failure.
    std::function<std::optional<std::string>(bool look, bool step_ended)> watch;
};

class Engine {
public:
    explicit Engine(EngineSetup setup);
    ~Engine();
    RunOutcome run(const PriorState& prior);
    // Every step's preflight, in order, without side effects.
    RunOutcome dry_run();

private:
    struct Impl;
    std::unique_ptr<Impl> m_impl;
};

}  // namespace migrate::engine
