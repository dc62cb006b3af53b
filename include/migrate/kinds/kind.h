// What a step kind is: its parameter table (shared by the validator, `migrate kinds` and the
// runtime), its outputs, and the runner that previews and executes it.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "migrate/io/services.h"
#include "migrate/runbook/inventory.h"
#include "migrate/runbook/kind_schema.h"
#include "migrate/runbook/model.h"

namespace migrate::kinds {

// A step's `with`, interpolated, with typed accessors. Every value was a string in the
// runbook; accessors parse it and throw StepError (not retryable) naming the parameter.
class Params {
public:
    Params() = default;
    Params(nlohmann::ordered_json values, const std::vector<runbook::ParamSpec>* specs)
        : m_values(std::move(values)), m_specs(specs) {}
    bool has(const std::string& name) const;
    std::string string(const std::string& name) const;
    std::int64_t integer(const std::string& name) const;
    bool boolean(const std::string& name) const;
    Millis duration(const std::string& name) const;
    std::vector<std::string> string_list(const std::string& name) const;
    std::map<std::string, std::string> string_map(const std::string& name) const;
    const nlohmann::ordered_json& raw() const { return m_values; }

private:
    // The given value, or the spec's default, or nullopt.
    std::optional<std::string> scalar(const std::string& name) const;
    nlohmann::ordered_json m_values = nlohmann::ordered_json::object();
    const std::vector<runbook::ParamSpec>* m_specs = nullptr;
};

enum class RunMode { dry_run, rehearsal, production };
std::string run_mode_name(RunMode mode);

// What a step reports while it runs; the engine journals it.
class StepEvents {
public:
    virtual ~StepEvents() = default;
    virtual void progress(const std::string& message, const nlohmann::ordered_json& metrics) = 0;
    virtual void checkpoint(const nlohmann::ordered_json& state) = 0;
    virtual void confirmed(const io::Confirmation& confirmation, Millis waited) = 0;
    virtual void say(const std::string& line) = 0;
    // A record of its own in the journal ("step.host": one host's result), the step's id added.
    virtual void record(const std::string& event, const nlohmann::ordered_json& fields) = 0;
};

// A connection declared under the runbook's `connections:`, interpolated like `with`.
// Throws StepError when none has that name or a reference in it cannot be resolved.
using ConnectionLookup = std::function<nlohmann::ordered_json(const std::string& name)>;

// The hosts a pattern selects in the runbook's inventory (interpolated for the run), with the
// run's --limit applied, in inventory order. Throws StepError (not retryable) on a bad pattern.
using HostLookup = std::function<std::vector<runbook::InventoryHost>(const std::string& pattern)>;

// What another step of the runbook left, for a kind that works on its behalf (reconnect reads
// what an isolate step switched off): its `with` interpolated now, its outputs when it ended ok
// (in this run or an earlier one of the journal), its newest checkpoint (this run's, else the
// journal's). Throws StepError (not retryable) when no step has that id.
struct StepTrace {
    std::string kind;
    nlohmann::ordered_json params = nlohmann::ordered_json::object();
    std::optional<nlohmann::ordered_json> outputs;
    std::optional<nlohmann::ordered_json> checkpoint;
};
using StepTraceLookup = std::function<StepTrace(const std::string& step_id)>;

struct StepContext {
    const runbook::Step& step;
    const Params& params;
    CancelToken& cancel;
    io::Services& services;
    StepEvents& events;
    RunMode mode;
    std::string role_description;
    std::string log_path;
    std::optional<nlohmann::ordered_json> last_checkpoint;  // on resume, where it stopped
    ConnectionLookup connections;  // see steps/connections.h for sessions on them
    HostLookup hosts;
    StepTraceLookup steps;
    nlohmann::ordered_json metrics = nlohmann::ordered_json::object();
    nlohmann::ordered_json outputs = nlohmann::ordered_json::object();
    // Further fields for the step.end record, such as a command's exit code and output tail.
    nlohmann::ordered_json details = nlohmann::ordered_json::object();
};

class StepRunner {
public:
    virtual ~StepRunner() = default;
    // One line: what the step will do (dry run, plan).
    virtual std::string describe(const StepContext& context) const = 0;
    // Dry-run checks without side effects; throws StepError on a problem.
    virtual void preflight(StepContext&) {}
    // Does the work; throws StepError on failure. Fills context.metrics and outputs.
    virtual void run(StepContext& context) = 0;
};

// A kind: what the runbook format knows of it, and how it runs.
struct KindSpec {
    runbook::KindSchema schema;
    // It can continue from its last checkpoint after an interruption (download, dump, delta).
    bool resumable_inside = false;
    std::function<std::unique_ptr<StepRunner>()> make;
};

using KindTable = std::vector<KindSpec>;

const KindSpec* find_kind(const KindTable& table, const std::string& name);
std::vector<std::string> kind_names(const KindTable& table);
// The table as the validator reads it.
runbook::KindSchemas schemas_of(const KindTable& table);

}  // namespace migrate::kinds
