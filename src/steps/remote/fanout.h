// Work on many hosts at once, as every remote kind does it: a concurrency limit, rolling
// batches, a failure budget, attempts and a timeout per host, one journal record per host, and
// a checkpoint after each so that a resume runs only the hosts that did not finish.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "migrate/io/ssh.h"
#include "migrate/kinds/kind.h"

namespace migrate::steps::remote {

struct HostOutcome {
    bool ok = false;
    int exit_code = -1;       // -1: none (killed, timed out, not run)
    std::string stdout_text;  // redacted
    std::string tail;         // last lines of stdout and stderr, redacted
    std::string error;        // why it failed, one line
    bool retryable = true;    // a failed attempt may be tried again
    nlohmann::ordered_json extra = nlohmann::ordered_json::object();  // kind's own fields
};

struct FanoutSettings {
    int parallel = 10;
    std::string serial;    // "" (one batch), "5" or "25%"
    std::string max_fail;  // "0" (default), "1" or "5%": failed hosts tolerated
    int attempts = 1;      // per host, the first included
    Millis backoff{std::chrono::seconds(5)};
    std::optional<Millis> timeout;  // per host attempt
    // Called by the fan-out's own thread about once a second for the live line: adds the
    // kind's metrics (bytes so far) and returns words appended to the line ("" for none).
    std::function<std::string(nlohmann::ordered_json& metrics)> progress_extra;
};

// The fan-out parameters every remote kind takes (parallel, serial, max_fail, attempts,
// backoff, timeout) and the ssh client's (ssh_config, ssh_options, connect_timeout,
// multiplex), for the kinds' tables.
std::vector<runbook::ParamSpec> fanout_params();
// `multiplex_default`: true for kinds that send a host several commands (transfer, cutover,
// isolate); false for one command per host, where a master is a process more and no gain.
std::vector<runbook::ParamSpec> ssh_params(bool multiplex_default = true);
FanoutSettings fanout_settings(const kinds::Params& params);
// "5" -> 5, "25%" of 46 -> 11 (at least 1 when `at_least_one`); throws StepError naming `what`.
int count_or_percent(const std::string& text, std::size_t total, bool at_least_one,
                     const std::string& what);

// The log of one host's command beside the step's log: "STEP.HOST.log" ("" when none).
std::string host_log(const std::string& step_log, const std::string& host);

io::SshTarget ssh_target(const runbook::InventoryHost& host);

// The hosts of the step's `hosts` pattern; throws StepError when it selects none.
std::vector<runbook::InventoryHost> selected_hosts(kinds::StepContext& context);

// The ssh options of a step, with a control directory for multiplexing it owns: made on
// construction when `multiplex` is on, masters closed and the directory removed on destruction.
class SshSession {
public:
    SshSession(kinds::StepContext& context, const kinds::Params& params);
    ~SshSession();
    SshSession(const SshSession&) = delete;
    SshSession& operator=(const SshSession&) = delete;
    const io::SshOptions& options() const { return m_options; }
    // Remembers a host so that its master is closed at the end.
    void used(const io::SshTarget& target);

private:
    kinds::StepContext& m_context;
    io::SshOptions m_options;
    std::mutex m_mutex;
    std::vector<io::SshTarget> m_used;
};

// One attempt on one host.
using HostWork =
    std::function<HostOutcome(const runbook::InventoryHost& host, CancelToken& cancel)>;

struct FanoutResult {
    std::vector<std::string> ok;           // in inventory order, finished earlier included
    std::vector<std::string> failed;       // likewise
    std::vector<std::string> not_started;  // the budget was spent, or the step was stopped
    std::map<std::string, HostOutcome> outcomes;
    bool over_budget = false;
    int budget = 0;
};

// Runs `work` on each host and journals a step.host record per host. Hosts that ended ok in
// the checkpoint (context.last_checkpoint) are not run again. `label` names the fan-out in the
// live line ("web: 31/46 done, 2 running, 1 failed (web23: exit 3)"). Sets the `hosts` metric.
FanoutResult run_fanout(kinds::StepContext& context,
                        const std::vector<runbook::InventoryHost>& hosts,
                        const FanoutSettings& settings, const std::string& label,
                        const HostWork& work);

// Outputs every fan-out kind offers: ok and failed (space-separated names), their counts,
// and per host hosts.NAME.status / exit_code / stdout.
void set_fanout_outputs(kinds::StepContext& context, const FanoutResult& result);
// Throws the step's error when the budget was spent or the step was stopped.
void fail_if_over_budget(kinds::StepContext& context, const FanoutResult& result);

// Fields every host's output offers: ${steps.ID.hosts.HOST.FIELD}.
const std::vector<std::string>& host_output_fields();

// The dry run of a fan-out kind: the pattern selects hosts, max_fail and serial make sense
// for that many, and every host answers (check_reachable). Throws StepError.
void preflight_fanout(kinds::StepContext& context);

// The dry run of a host step: each host answers `ssh HOST true` within the connect timeout;
// every one that does not is named. Throws StepError.
void check_reachable(kinds::StepContext& context, SshSession& session,
                     const std::vector<runbook::InventoryHost>& hosts, int parallel);

}  // namespace migrate::steps::remote
