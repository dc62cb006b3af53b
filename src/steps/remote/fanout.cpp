// The fan-out: workers take hosts batch by batch; the calling thread watches timeouts, the
// step's stop and the failure budget, and journals each host as it ends.
#include "fanout.h"

#include <unistd.h>

#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <memory>
#include <mutex>
#include <thread>

#include "migrate/util/error.h"
#include "migrate/util/text.h"
#include "migrate/util/units.h"

namespace migrate::steps::remote {
namespace {

using Json = nlohmann::ordered_json;

constexpr std::size_t k_checkpoint_stdout = 1024;  // stdout kept per host for a resume
constexpr std::size_t k_record_tail = 2000;

std::string outcome_summary(const HostOutcome& outcome) {
    if (outcome.exit_code >= 0 && !outcome.ok) return "exit " + std::to_string(outcome.exit_code);
    return shorten(outcome.error, 80);
}

}  // namespace

std::vector<runbook::ParamSpec> fanout_params() {
    using runbook::ParamType;
    return {
        {"parallel", ParamType::integer, false, "10", "hosts worked on at once"},
        {"serial", ParamType::string, false, "",
         "rolling batches: a number of hosts (5) or a share (25%); a batch starts when the one "
         "before it has ended (default: all hosts in one batch)"},
        {"max_fail", ParamType::string, false, "0",
         "failed hosts tolerated, a number (1) or a share (5%); one more and no further host "
         "is started, and the step fails"},
        {"attempts", ParamType::integer, false, "1", "attempts per host, the first included"},
        {"backoff", ParamType::duration, false, "5s", "pause before a host's next attempt"},
        {"timeout", ParamType::duration, false, "", "limit of one attempt on one host"},
    };
}

std::vector<runbook::ParamSpec> ssh_params(bool multiplex_default) {
    using runbook::ParamType;
    return {
        {"ssh_config", ParamType::string, false, "",
         "an ssh client configuration file (ssh -F); default: the operator's ~/.ssh/config"},
        {"ssh_options", ParamType::string_list, false, "",
         "further client options, each Name=value (ssh -o)"},
        {"connect_timeout", ParamType::duration, false, "10s",
         "how long a host may take to accept the connection"},
        {"multiplex", ParamType::boolean, false, multiplex_default ? "true" : "false",
         "one connection per host for all the step's commands (ControlMaster), closed at its "
         "end"},
    };
}

int count_or_percent(const std::string& text, std::size_t total, bool at_least_one,
                     const std::string& what) {
    std::string value = trim(text);
    bool percent = !value.empty() && value.back() == '%';
    if (percent) value.pop_back();
    if (!is_whole_number(value, 6))
        throw StepError(
            what + ": expected a number of hosts (5) or a share (25%), found '" + text + "'",
            false);
    long n = std::stol(value);
    if (percent) {
        if (n > 100) throw StepError(what + ": a share above 100% ('" + text + "')", false);
        n = static_cast<long>(total) * n / 100;
    }
    if (at_least_one && n < 1) n = 1;
    return static_cast<int>(n);
}

FanoutSettings fanout_settings(const kinds::Params& params) {
    FanoutSettings settings;
    settings.parallel = static_cast<int>(params.integer("parallel"));
    if (settings.parallel < 1) throw StepError("parameter 'parallel' must be at least 1", false);
    settings.serial = params.string("serial");
    settings.max_fail = params.string("max_fail");
    settings.attempts = static_cast<int>(params.integer("attempts"));
    if (settings.attempts < 1) throw StepError("parameter 'attempts' must be at least 1", false);
    settings.backoff = params.duration("backoff");
    if (params.has("timeout")) settings.timeout = params.duration("timeout");
    return settings;
}

std::string host_log(const std::string& step_log, const std::string& host) {
    if (step_log.empty()) return "";
    std::filesystem::path path(step_log);
    return (path.parent_path() / (path.stem().string() + "." + host + path.extension().string()))
        .string();
}

io::SshTarget ssh_target(const runbook::InventoryHost& host) {
    return io::SshTarget{
        .name = host.name, .address = host.address, .port = host.port, .user = host.user};
}

std::vector<runbook::InventoryHost> selected_hosts(kinds::StepContext& context) {
    std::string pattern = context.params.string("hosts");
    std::vector<runbook::InventoryHost> hosts = context.hosts(pattern);
    if (hosts.empty()) throw StepError("host pattern '" + pattern + "' selects no host", false);
    return hosts;
}

// ---- the session ----

SshSession::SshSession(kinds::StepContext& context, const kinds::Params& params)
    : m_context(context) {
    m_options.config_file = params.string("ssh_config");
    if (!m_options.config_file.empty() && ::access(m_options.config_file.c_str(), R_OK) != 0)
        throw StepError("ssh_config '" + m_options.config_file + "' cannot be read", false);
    m_options.options = params.string_list("ssh_options");
    for (const std::string& option : m_options.options)
        if (option.find('=') == std::string::npos)
            throw StepError("ssh_options: '" + option + "' is not Name=value", false);
    m_options.connect_timeout = params.duration("connect_timeout");
    if (params.boolean("multiplex")) {
        // Short, under /tmp: a socket path holds at most 107 bytes.
        char dir[] = "/tmp/migrate-ssh-XXXXXX";
        if (::mkdtemp(dir) == nullptr)
            throw StepError("cannot make a directory for ssh control sockets in /tmp", true);
        m_options.control_dir = dir;
    }
}

SshSession::~SshSession() {
    if (m_options.control_dir.empty()) return;
    // Close every master at once (each `ssh -O exit` returns at once).
    std::string line;
    for (const io::SshTarget& target : m_used)
        line += io::ssh_close_master_line(target, m_options) + " & ";
    if (!line.empty()) {
        io::ProcessSpec spec;
        spec.command = line + "wait";
        CancelToken never;
        try {
            m_context.services.processes.run(spec, never);
        } catch (...) {
            // masters end by themselves after ControlPersist
        }
    }
    std::error_code ignored;
    std::filesystem::remove_all(m_options.control_dir, ignored);
}

void SshSession::used(const io::SshTarget& target) {
    std::lock_guard lock(m_mutex);
    for (const io::SshTarget& known : m_used)
        if (known.name == target.name) return;
    m_used.push_back(target);
}

// ---- the fan-out ----

const std::vector<std::string>& host_output_fields() {
    static const std::vector<std::string> k_fields = {"status", "exit_code", "stdout"};
    return k_fields;
}

FanoutResult run_fanout(kinds::StepContext& context,
                        const std::vector<runbook::InventoryHost>& hosts,
                        const FanoutSettings& settings, const std::string& label,
                        const HostWork& work) {
    FanoutResult result;
    result.budget = count_or_percent(settings.max_fail.empty() ? "0" : settings.max_fail,
                                     hosts.size(), false, "max_fail");
    int batch_size = settings.serial.empty()
                         ? static_cast<int>(hosts.size())
                         : count_or_percent(settings.serial, hosts.size(), true, "serial");

    // What finished before: hosts that ended ok are not run again.
    Json finished = Json::object();
    if (context.last_checkpoint && context.last_checkpoint->contains("hosts"))
        finished = (*context.last_checkpoint)["hosts"];
    std::vector<std::size_t> pending;
    for (std::size_t i = 0; i < hosts.size(); ++i) {
        const Json* earlier = finished.contains(hosts[i].name) ? &finished[hosts[i].name] : nullptr;
        if (earlier != nullptr && earlier->value("status", "") == "ok") {
            HostOutcome outcome;
            outcome.ok = true;
            outcome.exit_code = earlier->value("exit_code", 0);
            outcome.stdout_text = earlier->value("stdout", "");
            result.outcomes[hosts[i].name] = outcome;
            continue;
        }
        pending.push_back(i);
    }
    std::size_t earlier_ok = hosts.size() - pending.size();
    if (earlier_ok > 0)
        context.events.say(label + ": " + std::to_string(earlier_ok) + " of " +
                           std::to_string(hosts.size()) +
                           " hosts finished before the interruption; not run again");

    std::mutex mutex;
    std::condition_variable changed;
    struct Running {
        std::shared_ptr<CancelToken> cancel;
        std::int64_t deadline = 0;  // steady ms; 0: none
    };
    std::map<std::size_t, Running> running;
    std::deque<std::size_t> queue;
    std::deque<std::pair<std::size_t, HostOutcome>> ended;  // journaled by the calling thread
    bool stop_starting = false;
    int failed_count = 0;
    std::string last_failure;
    std::size_t done = 0;
    std::int64_t last_line = 0;
    Clock& clock = context.services.clock;

    auto live_line = [&](bool force) {
        std::int64_t now = clock.steady_ms();
        if (!force && now - last_line < 1000) return;
        last_line = now;
        std::string line = label + ": " + std::to_string(earlier_ok + done) + "/" +
                           std::to_string(hosts.size()) + " done, " +
                           std::to_string(running.size()) + " running, " +
                           std::to_string(failed_count) + " failed" +
                           (last_failure.empty() ? "" : " (" + last_failure + ")");
        Json metrics{{"hosts", earlier_ok + done},
                     {"hosts_total", hosts.size()},
                     {"hosts_failed", failed_count}};
        if (settings.progress_extra) {
            std::string extra = settings.progress_extra(metrics);
            if (!extra.empty()) line += "; " + extra;
        }
        context.events.progress(line, metrics);
    };

    auto worker = [&] {
        std::unique_lock lock(mutex);
        while (!queue.empty() && !stop_starting) {
            std::size_t index = queue.front();
            queue.pop_front();
            HostOutcome outcome;
            for (int attempt = 1; attempt <= settings.attempts; ++attempt) {
                auto cancel = std::make_shared<CancelToken>();
                running[index] = Running{
                    cancel, settings.timeout ? clock.steady_ms() + settings.timeout->count() : 0};
                lock.unlock();
                std::int64_t started = clock.steady_ms();
                try {
                    outcome = work(hosts[index], *cancel);
                } catch (const StepError& e) {
                    outcome = HostOutcome{};
                    outcome.error = e.what();
                    outcome.retryable = e.retryable();
                } catch (const std::exception& e) {
                    outcome = HostOutcome{};
                    outcome.error = e.what();
                    outcome.retryable = false;
                }
                std::int64_t took = clock.steady_ms() - started;
                lock.lock();
                CancelReason reason = cancel->reason();
                running.erase(index);
                if (!outcome.ok && reason == CancelReason::timeout)
                    outcome.error = "timed out after " + format_duration(*settings.timeout);
                outcome.extra["duration_ms"] = took;
                outcome.extra["attempt"] = attempt;
                bool stopped = context.cancel.cancelled();
                if (outcome.ok || stopped || !outcome.retryable || attempt == settings.attempts)
                    break;
                ended.emplace_back(index, outcome);  // a failed attempt, retried
                ended.back().second.extra["retry"] = true;
                lock.unlock();
                bool slept = context.services.clock.sleep(settings.backoff, context.cancel);
                lock.lock();
                if (!slept) break;
            }
            ended.emplace_back(index, std::move(outcome));
            changed.notify_all();
        }
    };

    std::size_t next = 0;  // into pending
    std::vector<std::thread> threads;
    while (next < pending.size() && !stop_starting) {
        // One batch: its hosts are queued, workers take them, the batch ends when all did.
        std::size_t batch_end =
            std::min(pending.size(), next + static_cast<std::size_t>(batch_size));
        std::size_t in_batch = batch_end - next;
        {
            std::lock_guard lock(mutex);
            for (std::size_t i = next; i < batch_end; ++i) queue.push_back(pending[i]);
        }
        next = batch_end;
        std::size_t workers = std::min<std::size_t>(in_batch, settings.parallel);
        for (std::size_t i = 0; i < workers; ++i) threads.emplace_back(worker);
        std::size_t batch_done = 0;
        std::unique_lock lock(mutex);
        while (batch_done < in_batch) {
            changed.wait_for(lock, std::chrono::milliseconds(100));
            if (settings.progress_extra) live_line(false);
            // The step's stop reaches every host; a host past its timeout is cancelled.
            std::int64_t now = clock.steady_ms();
            for (auto& [index, run] : running) {
                if (context.cancel.cancelled())
                    run.cancel->cancel(context.cancel.reason());
                else if (run.deadline != 0 && now >= run.deadline)
                    run.cancel->cancel(CancelReason::timeout);
            }
            if (context.cancel.cancelled()) stop_starting = true;
            while (!ended.empty()) {
                auto [index, outcome] = std::move(ended.front());
                ended.pop_front();
                const runbook::InventoryHost& host = hosts[index];
                bool final_attempt = !outcome.extra.value("retry", false);
                Json record{{"host", host.name},
                            {"address", host.address.empty() ? host.name : host.address},
                            {"status", outcome.ok                   ? "ok"
                                       : !final_attempt             ? "retry"
                                       : context.cancel.cancelled() ? "stopped"
                                                                    : "failed"},
                            {"exit_code", outcome.exit_code},
                            {"attempt", outcome.extra.value("attempt", 1)},
                            {"duration_ms", outcome.extra.value("duration_ms", 0)}};
                if (!outcome.error.empty()) record["error"] = outcome.error;
                if (!outcome.tail.empty())
                    record["tail"] = tail_lines(outcome.tail, 20, k_record_tail);
                for (const auto& [key, value] : outcome.extra.items())
                    if (key != "retry" && key != "attempt" && key != "duration_ms")
                        record[key] = value;
                lock.unlock();
                context.events.record("step.host", record);
                lock.lock();
                if (!final_attempt) continue;
                ++done;
                ++batch_done;
                if (!outcome.ok && !context.cancel.cancelled()) {
                    ++failed_count;
                    last_failure = host.name + ": " + outcome_summary(outcome);
                    if (failed_count > result.budget && !stop_starting) {
                        stop_starting = true;
                        result.over_budget = true;
                    }
                }
                result.outcomes[host.name] = outcome;
                // The checkpoint: every host that ended, so a resume skips those that ended ok.
                Json state = Json::object();
                for (const auto& [name, known] : result.outcomes) {
                    if (context.cancel.cancelled() && !known.ok) continue;
                    state[name] =
                        Json{{"status", known.ok ? "ok" : "failed"},
                             {"exit_code", known.exit_code},
                             {"stdout",
                              std::string(utf8_prefix(known.stdout_text, k_checkpoint_stdout))}};
                }
                lock.unlock();
                context.events.checkpoint(Json{{"hosts", state}});
                lock.lock();
                live_line(false);
            }
            // Hosts still queued when starting stopped are not started.
            if (stop_starting && !queue.empty()) {
                batch_done += queue.size();
                queue.clear();
            }
        }
        lock.unlock();
        for (std::thread& thread : threads) thread.join();
        threads.clear();
    }
    live_line(true);
    for (const runbook::InventoryHost& host : hosts) {
        auto found = result.outcomes.find(host.name);
        if (found == result.outcomes.end())
            result.not_started.push_back(host.name);
        else if (found->second.ok)
            result.ok.push_back(host.name);
        else
            result.failed.push_back(host.name);
    }
    context.metrics["hosts"] = hosts.size();
    context.metrics["hosts_ok"] = result.ok.size();
    context.metrics["hosts_failed"] = result.failed.size();
    return result;
}

void set_fanout_outputs(kinds::StepContext& context, const FanoutResult& result) {
    context.outputs["ok"] = join(result.ok, " ");
    context.outputs["failed"] = join(result.failed, " ");
    context.outputs["ok_count"] = std::to_string(result.ok.size());
    context.outputs["failed_count"] = std::to_string(result.failed.size());
    for (const auto& [name, outcome] : result.outcomes) {
        std::string prefix = "hosts." + name + ".";
        context.outputs[prefix + "status"] = outcome.ok ? "ok" : "failed";
        context.outputs[prefix + "exit_code"] = std::to_string(outcome.exit_code);
        context.outputs[prefix + "stdout"] = trim(outcome.stdout_text);
    }
    if (!result.failed.empty()) context.details["failed_hosts"] = join(result.failed, " ");
    if (!result.not_started.empty())
        context.details["hosts_not_started"] = join(result.not_started, " ");
}

void fail_if_over_budget(kinds::StepContext& context, const FanoutResult& result) {
    if (context.cancel.cancelled()) throw StepError("stopped", true);
    if (!result.over_budget && result.failed.size() <= static_cast<std::size_t>(result.budget))
        return;
    std::vector<std::string> named;
    for (const std::string& name : result.failed) {
        named.push_back(name + " (" + outcome_summary(result.outcomes.at(name)) + ")");
        if (named.size() == 5) break;
    }
    std::string more = result.failed.size() > named.size()
                           ? " and " + std::to_string(result.failed.size() - named.size()) + " more"
                           : "";
    throw StepError(
        std::to_string(result.failed.size()) + " host(s) failed, over the budget of " +
            std::to_string(result.budget) + " (max_fail): " + join(named, ", ") + more +
            (result.not_started.empty()
                 ? ""
                 : "; " + std::to_string(result.not_started.size()) + " host(s) not started"),
        true);
}

void preflight_fanout(kinds::StepContext& context) {
    std::vector<runbook::InventoryHost> hosts = selected_hosts(context);
    FanoutSettings settings = fanout_settings(context.params);
    count_or_percent(settings.max_fail, hosts.size(), false, "max_fail");
    if (!settings.serial.empty()) count_or_percent(settings.serial, hosts.size(), true, "serial");
    SshSession session(context, context.params);
    check_reachable(context, session, hosts, settings.parallel);
}

void check_reachable(kinds::StepContext& context, SshSession& session,
                     const std::vector<runbook::InventoryHost>& hosts, int parallel) {
    std::mutex mutex;
    std::vector<std::pair<std::size_t, std::string>> unreachable;
    std::size_t next = 0;
    auto worker = [&] {
        for (;;) {
            std::size_t index;
            {
                std::lock_guard lock(mutex);
                if (next >= hosts.size() || context.cancel.cancelled()) return;
                index = next++;
            }
            io::SshTarget target = ssh_target(hosts[index]);
            io::ProcessSpec spec;
            spec.command = io::ssh_command_line(target, session.options(), "true");
            io::ProcessResult answer = context.services.processes.run(spec, context.cancel);
            session.used(target);
            if (answer.exit_code != 0 && !context.cancel.cancelled()) {
                std::string why = tail_lines(answer.output_tail, 1, 200);
                std::lock_guard lock(mutex);
                unreachable.emplace_back(
                    index, why.empty() ? "exit " + std::to_string(answer.exit_code) : why);
            }
        }
    };
    std::vector<std::thread> threads;
    for (int i = 0; i < std::min<int>(parallel, static_cast<int>(hosts.size())); ++i)
        threads.emplace_back(worker);
    for (std::thread& thread : threads) thread.join();
    if (context.cancel.cancelled()) throw StepError("stopped", true);
    if (unreachable.empty()) {
        context.events.say("all " + std::to_string(hosts.size()) + " hosts answer over ssh");
        return;
    }
    std::sort(unreachable.begin(), unreachable.end());
    std::vector<std::string> named;
    for (const auto& [index, why] : unreachable)
        named.push_back(hosts[index].name + " (" + why + ")");
    throw StepError(std::to_string(unreachable.size()) + " of " + std::to_string(hosts.size()) +
                        " hosts do not answer over ssh: " + join(named, "; "),
                    false);
}

}  // namespace migrate::steps::remote
