// isolate: switches external sources off (services and cron lines on hosts, SQL and HTTP
// toggles) and records exactly what was on; reconnect: switches exactly those back on.
#include <algorithm>
#include <mutex>
#include <set>

#include "../families.h"
#include "fanout.h"
#include "migrate/kinds/connections.h"
#include "migrate/steps/remote/isolation.h"
#include "migrate/util/error.h"
#include "migrate/util/text.h"

namespace migrate::steps::remote {
namespace {

constexpr std::size_t k_ids_per_statement = 500;
constexpr std::size_t k_cron_file_limit = 60 * 1024;  // below the captured output's cap

std::vector<runbook::ParamSpec> isolate_params() {
    using runbook::ParamType;
    std::vector<runbook::ParamSpec> params = {
        {"sources", ParamType::any, true, "",
         "what to switch off, in order: { service: UNIT }, { cron: REGEX, file: PATH }, { sql: "
         "SELECT, off: UPDATE..{ids}, on: UPDATE..{ids} }, { http: URL, on_when: {pointer, "
         "equals}, off: {method, url, body}, on: {...} }"},
        {"hosts", ParamType::hosts, false, "",
         "the host pattern of service and cron sources that name none"},
        {"connection", ParamType::connection, false, "",
         "the connection of sql sources that name none"},
        {"systemctl", ParamType::string, false, "systemctl", "the systemctl program on the hosts"},
        {"become", ParamType::boolean, false, "false",
         "run systemctl and cron edits under sudo -n (as root)"},
    };
    for (auto& extra : fanout_params()) params.push_back(std::move(extra));
    for (auto& extra : ssh_params()) params.push_back(std::move(extra));
    return params;
}

const std::vector<runbook::ParamSpec>& isolate_param_table() {
    static const std::vector<runbook::ParamSpec> k_params = isolate_params();
    return k_params;
}

std::vector<IsolationSource> sources_of(const kinds::Params& params) {
    return parse_sources(params.raw().contains("sources") ? params.raw()["sources"] : Json(),
                         params.string("hosts"), params.string("connection"));
}

HostOutcome failed_outcome(const io::ProcessResult& result, const std::string& what) {
    HostOutcome outcome;
    outcome.exit_code = result.exit_code;
    outcome.tail = result.output_tail;
    std::string last = tail_lines(result.output_tail, 1, 200);
    outcome.error = result.exit_code == 255 ? "ssh failed: " + last
                    : result.exit_code < 0  ? "stopped"
                                            : what + ": exit " + std::to_string(result.exit_code) +
                                                 (last.empty() ? "" : ": " + last);
    return outcome;
}

std::vector<std::string> names_of(const std::vector<std::string>& hosts, std::size_t most) {
    if (hosts.size() <= most) return hosts;
    std::vector<std::string> some(hosts.begin(), hosts.begin() + static_cast<long>(most));
    some.push_back("and " + std::to_string(hosts.size() - most) + " more");
    return some;
}

class Isolation;

// A source's fan-out reports through this: its host records name the source, and its
// checkpoints become part of the step's (one per source in the record).
class SourceEvents : public kinds::StepEvents {
public:
    SourceEvents(Isolation& owner, std::string key) : m_owner(owner), m_key(std::move(key)) {}
    void progress(const std::string& message, const Json& metrics) override;
    void checkpoint(const Json& state) override;
    void confirmed(const io::Confirmation& confirmation, Millis waited) override;
    void say(const std::string& line) override;
    void record(const std::string& event, const Json& fields) override;

private:
    Isolation& m_owner;
    std::string m_key;
};

// The work on the sources of one isolate step, in either direction. `state` is what the
// step's checkpoints hold: {"sources": {KEY: entry}}; for isolate the entries are the record.
class Isolation {
public:
    Isolation(kinds::StepContext& context, const kinds::Params& params, std::string isolate_id,
              std::optional<Json> state)
        : m_context(context),
          m_params(params),
          m_isolate_id(std::move(isolate_id)),
          m_session(context, params),
          m_settings(fanout_settings(params)),
          m_systemctl(params.string("systemctl")),
          m_become(params.boolean("become")) {
        m_state = state && state->is_object() ? *state : Json::object();
        if (!m_state.contains("sources") || !m_state["sources"].is_object())
            m_state["sources"] = Json::object();
    }

    bool dry_run() const { return m_context.mode == kinds::RunMode::dry_run; }
    kinds::StepContext& context() { return m_context; }
    Json state() const {
        std::lock_guard lock(m_mutex);
        return m_state;
    }
    std::set<std::string> hosts_seen() const { return m_hosts_seen; }

    // ---- isolate

    // Switches the source off where it is on; returns how many things it switched off (or
    // would, in a dry run).
    std::size_t switch_off(const IsolationSource& source) {
        switch (source.type) {
            case SourceType::service:
                return service_off(source);
            case SourceType::cron:
                return cron_off(source);
            case SourceType::sql:
                return sql_off(source);
            case SourceType::http:
                return http_off(source);
        }
        return 0;
    }

    // ---- reconnect: `recorded` is the isolate step's entry for the source

    std::size_t switch_on(const IsolationSource& source, const Json& recorded) {
        if (entry(source.key).value("done", false)) return 0;  // before an interruption
        std::size_t count = 0;
        switch (source.type) {
            case SourceType::service:
                count = service_on(source, recorded);
                break;
            case SourceType::cron:
                count = cron_on(source, recorded);
                break;
            case SourceType::sql:
                count = sql_on(source, recorded);
                break;
            case SourceType::http:
                count = http_on(source, recorded);
                break;
        }
        std::lock_guard lock(m_mutex);
        m_state["sources"][source.key]["done"] = true;
        save_locked();
        return count;
    }

    // The dry run of reconnect: every host answers, the connection opens, the URL answers.
    void check_reachable_source(const IsolationSource& source) {
        if (source.type == SourceType::service || source.type == SourceType::cron) {
            std::vector<runbook::InventoryHost> hosts = m_context.hosts(source.hosts);
            if (hosts.empty())
                throw StepError(
                    source.where + ": host pattern '" + source.hosts + "' selects no host", false);
            check_reachable(m_context, m_session, hosts, m_settings.parallel);
        } else if (source.type == SourceType::sql) {
            kinds::check_connection(m_context, source.connection);
        } else {
            io::HttpResponse answer = get_state(source);
            m_context.events.say(source.url + " answers " + std::to_string(answer.status));
        }
    }

    // Called by SourceEvents.
    void fanout_checkpoint(const std::string& key, const Json& fanout) {
        if (dry_run()) return;
        std::lock_guard lock(m_mutex);
        m_state["sources"][key]["fanout"] = fanout;
        save_locked();
    }

private:
    Json& entry_locked(const std::string& key) {
        Json& sources = m_state["sources"];
        if (!sources.contains(key)) sources[key] = Json::object();
        return sources[key];
    }
    Json entry(const std::string& key) {
        std::lock_guard lock(m_mutex);
        return entry_locked(key);
    }
    void save_locked() {
        if (!dry_run()) m_context.events.checkpoint(m_state);
    }

    io::ProcessResult remote(const io::SshTarget& target, const std::string& command,
                             CancelToken& cancel, const std::string& input = "",
                             bool feed = false) {
        m_session.used(target);
        io::ProcessSpec spec;
        spec.command = io::ssh_command_line(target, m_session.options(), command);
        if (feed) spec.command = feed_command(input, spec.command);
        return m_context.services.processes.run(spec, cancel);
    }

    // Runs `work` on the hosts of the source (all of them, or those `keep` accepts) through
    // the fan-out, its checkpoints kept in the source's entry.
    FanoutResult fan_out(const IsolationSource& source, const HostWork& work,
                         const std::function<bool(const std::string& host)>& keep = {}) {
        std::vector<runbook::InventoryHost> hosts = m_context.hosts(source.hosts);
        if (hosts.empty())
            throw StepError(source.where + ": host pattern '" + source.hosts + "' selects no host",
                            false);
        if (keep) std::erase_if(hosts, [&](const auto& host) { return !keep(host.name); });
        for (const auto& host : hosts) m_hosts_seen.insert(host.name);
        SourceEvents events(*this, source.key);
        std::optional<Json> earlier;
        if (Json known = entry(source.key); known.contains("fanout")) earlier = known["fanout"];
        kinds::StepContext sub{m_context.step,
                               m_context.params,
                               m_context.cancel,
                               m_context.services,
                               events,
                               m_context.mode,
                               m_context.role_description,
                               m_context.log_path,
                               earlier,
                               m_context.connections,
                               m_context.hosts,
                               m_context.steps};
        FanoutResult result = run_fanout(sub, hosts, m_settings, source.key, work);
        fail_if_over_budget(sub, result);
        return result;
    }

    // -- services

    std::size_t service_off(const IsolationSource& source) {
        std::mutex found_mutex;
        std::vector<std::string> on_hosts;
        HostWork work = [&](const runbook::InventoryHost& host, CancelToken& cancel) {
            io::SshTarget target = ssh_target(host);
            io::ProcessResult seen = remote(
                target, service_query_command(m_systemctl, m_become, source.service), cancel);
            if (seen.exit_code != 0) return failed_outcome(seen, "systemctl is-active");
            ServiceState now = parse_service_state(seen.stdout_text);
            Json mine;
            bool disable = false;
            {
                std::lock_guard lock(m_mutex);
                Json& hosts = entry_locked(source.key)["hosts"];
                if (!hosts.is_object()) hosts = Json::object();
                Json merged =
                    merge_service_host(hosts.contains(host.name) ? hosts[host.name] : Json(), now);
                disable =
                    source.disable && merged.value("was_on", false) && now.enabled == "enabled";
                if (disable) merged["disabled"] = true;
                if (!dry_run()) hosts[host.name] = merged;
                mine = merged;
                save_locked();  // what was on is recorded before it is switched off
            }
            HostOutcome outcome;
            outcome.ok = true;
            outcome.exit_code = 0;
            bool was_on = mine.value("was_on", false);
            outcome.extra = Json{{"was_on", was_on}, {"active", now.active}};
            if (!was_on) return outcome;
            {
                std::lock_guard lock(found_mutex);
                on_hosts.push_back(host.name);
            }
            if (dry_run()) return outcome;
            if (now.on() || disable) {  // else: switched off by an earlier pass, nothing to do
                io::ProcessResult stopped = remote(
                    target, service_stop_command(m_systemctl, m_become, source.service, disable),
                    cancel);
                if (stopped.exit_code != 0) return failed_outcome(stopped, "systemctl stop");
            }
            std::lock_guard lock(m_mutex);
            entry_locked(source.key)["hosts"][host.name]["off"] = true;
            save_locked();
            outcome.extra["switched"] = "off";
            return outcome;
        };
        fan_out(source, work);
        std::sort(on_hosts.begin(), on_hosts.end());
        m_context.events.say(source.service + ": " + (dry_run() ? "would stop on " : "off on ") +
                             (on_hosts.empty() ? "no host (it was off everywhere)"
                                               : join(names_of(on_hosts, 10), ", ")));
        return on_hosts.size();
    }

    std::size_t service_on(const IsolationSource& source, const Json& recorded) {
        const Json hosts = recorded.value("hosts", Json::object());
        auto was_on = [&](const std::string& host) {
            return hosts.contains(host) && hosts[host].value("was_on", false);
        };
        HostWork work = [&](const runbook::InventoryHost& host, CancelToken& cancel) {
            bool enable = hosts[host.name].value("disabled", false);
            io::ProcessResult started = remote(
                ssh_target(host),
                service_start_command(m_systemctl, m_become, source.service, enable), cancel);
            if (started.exit_code != 0) return failed_outcome(started, "systemctl start");
            HostOutcome outcome;
            outcome.ok = true;
            outcome.exit_code = 0;
            outcome.extra = Json{{"switched", "on"}};
            return outcome;
        };
        std::size_t count = 0;
        for (const auto& [host, known] : hosts.items())
            if (known.value("was_on", false)) ++count;
        if (count == 0) return 0;
        check_recorded_hosts(source, hosts, was_on);
        fan_out(source, work, was_on);
        return count;
    }

    // Every host the record names is still selected (an inventory change or --limit would
    // otherwise leave it off without a word).
    void check_recorded_hosts(const IsolationSource& source, const Json& hosts,
                              const std::function<bool(const std::string&)>& wanted) {
        std::set<std::string> selected;
        for (const auto& host : m_context.hosts(source.hosts)) selected.insert(host.name);
        std::vector<std::string> missing;
        for (const auto& [host, known] : hosts.items())
            if (wanted(host) && !selected.count(host)) missing.push_back(host);
        if (!missing.empty())
            throw StepError(source.where + ": the record names host(s) the pattern '" +
                                source.hosts + "' no longer selects (inventory or --limit): " +
                                join(names_of(missing, 10), ", "),
                            false);
    }

    // -- cron

    io::ProcessResult read_cron(const IsolationSource& source, const io::SshTarget& target,
                                CancelToken& cancel) {
        io::ProcessResult read =
            remote(target, cron_read_command(source.cron_file, m_become), cancel);
        if (read.exit_code == 0 && read.stdout_text.size() > k_cron_file_limit) {
            read.exit_code = 1;
            read.output_tail = "the cron file is larger than " + std::to_string(k_cron_file_limit) +
                               " bytes; not edited";
        }
        // Output is masked for secrets: a file read with a masked value must not be written.
        if (read.exit_code == 0 && read.stdout_text.find("***") != std::string::npos) {
            read.exit_code = 1;
            read.output_tail = "the cron file holds '***' (a masked secret?); not edited";
        }
        return read;
    }

    std::size_t cron_off(const IsolationSource& source) {
        std::string marker = cron_marker(m_isolate_id);
        std::regex pattern(source.cron_pattern);
        std::mutex count_mutex;
        std::size_t count = 0;
        HostWork work = [&](const runbook::InventoryHost& host, CancelToken& cancel) {
            io::SshTarget target = ssh_target(host);
            io::ProcessResult read = read_cron(source, target, cancel);
            if (read.exit_code != 0) return failed_outcome(read, "reading the cron file");
            CronEdit edit = comment_out_lines(read.stdout_text, pattern, marker);
            std::size_t lines = 0;
            {
                std::lock_guard lock(m_mutex);
                Json& hosts = entry_locked(source.key)["hosts"];
                if (!hosts.is_object()) hosts = Json::object();
                Json earlier =
                    hosts.contains(host.name) ? hosts[host.name].value("lines", Json()) : Json();
                Json merged = merge_unique(merge_unique(earlier, edit.already), edit.changed);
                lines = merged.size();
                if (!dry_run()) hosts[host.name] = Json{{"lines", merged}};
                save_locked();  // the lines are recorded before they are commented out
            }
            {
                std::lock_guard lock(count_mutex);
                count += lines;
            }
            if (!edit.changed.empty() && !dry_run()) {
                io::ProcessResult written =
                    remote(target, cron_write_command(source.cron_file, m_become), cancel,
                           edit.text, true);
                if (written.exit_code != 0) return failed_outcome(written, "writing the cron file");
            }
            HostOutcome outcome;
            outcome.ok = true;
            outcome.exit_code = 0;
            outcome.extra = Json{{"lines_off", edit.changed.size()}, {"lines_recorded", lines}};
            return outcome;
        };
        fan_out(source, work);
        m_context.events.say(
            "cron /" + source.cron_pattern + "/: " + std::to_string(count) +
            (dry_run() ? " line(s) would be commented out" : " line(s) commented out"));
        return count;
    }

    std::size_t cron_on(const IsolationSource& source, const Json& recorded) {
        std::string marker = cron_marker(m_isolate_id);
        const Json hosts = recorded.value("hosts", Json::object());
        auto has_lines = [&](const std::string& host) {
            return hosts.contains(host) && !hosts[host].value("lines", Json::array()).empty();
        };
        std::mutex count_mutex;
        std::size_t count = 0;
        std::vector<std::string> notes;
        HostWork work = [&](const runbook::InventoryHost& host, CancelToken& cancel) {
            io::SshTarget target = ssh_target(host);
            io::ProcessResult read = read_cron(source, target, cancel);
            if (read.exit_code != 0) return failed_outcome(read, "reading the cron file");
            CronEdit edit = restore_lines(read.stdout_text, marker);
            if (!edit.changed.empty()) {
                io::ProcessResult written =
                    remote(target, cron_write_command(source.cron_file, m_become), cancel,
                           edit.text, true);
                if (written.exit_code != 0) return failed_outcome(written, "writing the cron file");
            }
            // Lines recorded but no longer carrying the marker: someone edited them since.
            std::size_t gone = 0;
            for (const Json& line : hosts[host.name]["lines"])
                if (std::find(edit.changed.begin(), edit.changed.end(), line.get<std::string>()) ==
                    edit.changed.end())
                    ++gone;
            std::lock_guard lock(count_mutex);
            count += edit.changed.size();
            if (gone > 0)
                notes.push_back(host.name + ": " + std::to_string(gone) +
                                " recorded line(s) no longer commented by this step");
            HostOutcome outcome;
            outcome.ok = true;
            outcome.exit_code = 0;
            outcome.extra = Json{{"lines_on", edit.changed.size()}};
            return outcome;
        };
        bool any = false;
        for (const auto& [host, known] : hosts.items()) any = any || has_lines(host);
        if (!any) return 0;
        check_recorded_hosts(source, hosts, has_lines);
        fan_out(source, work, has_lines);
        for (const std::string& note : notes) m_context.events.say("note: " + note);
        return count;
    }

    // -- SQL

    std::vector<std::string> quoted(io::db::Session& session, const Json& ids, std::size_t from,
                                    std::size_t count) {
        std::vector<std::string> out;
        for (std::size_t i = from; i < std::min(ids.size(), from + count); ++i)
            out.push_back("'" + session.escape(ids[i].get<std::string>()) + "'");
        return out;
    }

    void run_in_chunks(io::db::Session& session, const std::string& statement, const Json& ids) {
        for (std::size_t from = 0; from < ids.size(); from += k_ids_per_statement)
            session.execute(with_ids(statement, quoted(session, ids, from, k_ids_per_statement)));
    }

    std::size_t sql_off(const IsolationSource& source) {
        std::unique_ptr<io::db::Session> session = kinds::connect(m_context, source.connection);
        std::vector<std::string> on_now = session->first_column(source.select);
        Json ids;
        {
            std::lock_guard lock(m_mutex);
            Json& mine = entry_locked(source.key);
            ids = merge_unique(mine.value("ids", Json::array()), on_now);
            if (!dry_run()) mine["ids"] = ids;
            save_locked();  // the keys are recorded before the update
        }
        std::string shown = join(names_of(on_now, 10), ", ");
        if (dry_run()) {
            m_context.events.say(source.connection + ": would switch off " +
                                 std::to_string(on_now.size()) + " (" + shown + ")");
            return on_now.size();
        }
        run_in_chunks(*session, source.off_sql, Json(on_now));
        m_context.events.record("step.source", Json{{"source", source.key},
                                                    {"switched", "off"},
                                                    {"found_on", on_now.size()},
                                                    {"recorded", ids.size()}});
        m_context.metrics["rows"] = m_context.metrics.value("rows", 0) + on_now.size();
        return ids.size();
    }

    std::size_t sql_on(const IsolationSource& source, const Json& recorded) {
        Json ids = recorded.value("ids", Json::array());
        if (ids.empty()) return 0;
        std::unique_ptr<io::db::Session> session = kinds::connect(m_context, source.connection);
        run_in_chunks(*session, source.on_sql, ids);
        m_context.events.record(
            "step.source", Json{{"source", source.key}, {"switched", "on"}, {"ids", ids.size()}});
        m_context.metrics["rows"] = m_context.metrics.value("rows", 0) + ids.size();
        return ids.size();
    }

    // -- HTTP

    io::HttpResponse perform(const IsolationSource& source, const std::string& method,
                             const std::string& url, const std::string& body) {
        io::HttpRequest request;
        request.method = method;
        request.url = url;
        request.body = body;
        request.headers = source.headers;
        io::HttpResponse answer = m_context.services.http.perform(request, m_context.cancel);
        if (answer.status == 0) throw StepError(method + " " + url + ": " + answer.error, true);
        if (answer.status < 200 || answer.status > 299)
            throw StepError(method + " " + url + " answered " + std::to_string(answer.status) +
                                ": " + shorten(answer.body, 200),
                            answer.status >= 500);
        return answer;
    }

    io::HttpResponse get_state(const IsolationSource& source) {
        return perform(source, "GET", source.url, "");
    }

    std::size_t http_off(const IsolationSource& source) {
        bool on = http_state_on(get_state(source).body, source.pointer, source.on_equals);
        bool was_on = false;
        {
            std::lock_guard lock(m_mutex);
            Json& mine = entry_locked(source.key);
            was_on = mine.value("was_on", false) || on;
            if (!dry_run()) mine["was_on"] = was_on;
            save_locked();  // recorded before it is switched off
        }
        if (dry_run()) {
            m_context.events.say(source.url + (on ? ": on, would be switched off" : ": off"));
            return on ? 1 : 0;
        }
        if (on) perform(source, source.off_call.method, source.off_call.url, source.off_call.body);
        m_context.events.record(
            "step.source",
            Json{{"source", source.key}, {"switched", on ? "off" : "none"}, {"was_on", was_on}});
        return was_on ? 1 : 0;
    }

    std::size_t http_on(const IsolationSource& source, const Json& recorded) {
        if (!recorded.value("was_on", false)) return 0;
        perform(source, source.on_call.method, source.on_call.url, source.on_call.body);
        m_context.events.record("step.source", Json{{"source", source.key}, {"switched", "on"}});
        return 1;
    }

    kinds::StepContext& m_context;
    const kinds::Params& m_params;
    std::string m_isolate_id;
    SshSession m_session;
    FanoutSettings m_settings;
    std::string m_systemctl;
    bool m_become;
    mutable std::mutex m_mutex;
    Json m_state;
    std::set<std::string> m_hosts_seen;
};

void SourceEvents::progress(const std::string& message, const Json& metrics) {
    m_owner.context().events.progress(message, metrics);
}
void SourceEvents::checkpoint(const Json& state) { m_owner.fanout_checkpoint(m_key, state); }
void SourceEvents::confirmed(const io::Confirmation& confirmation, Millis waited) {
    m_owner.context().events.confirmed(confirmation, waited);
}
void SourceEvents::say(const std::string& line) { m_owner.context().events.say(line); }
void SourceEvents::record(const std::string& event, const Json& fields) {
    if (m_owner.dry_run()) return;
    Json with_source{{"source", m_key}};
    for (const auto& [key, value] : fields.items()) with_source[key] = value;
    m_owner.context().events.record(event, with_source);
}

// The record without the fan-out's bookkeeping: what the step's output shows.
Json record_of(const Json& state) {
    Json record = state;
    for (auto& [key, entry] : record["sources"].items()) entry.erase("fanout");
    return record;
}

std::string describe_sources(const kinds::Params& params) {
    try {
        std::vector<std::string> keys;
        for (const IsolationSource& source : sources_of(params)) keys.push_back(source.key);
        return join(keys, "; ");
    } catch (const std::exception& e) {
        return e.what();
    }
}

class IsolateRunner : public kinds::StepRunner {
public:
    std::string describe(const kinds::StepContext& context) const override {
        return "switch off and record: " + describe_sources(context.params);
    }

    void preflight(kinds::StepContext& context) override {
        std::vector<IsolationSource> sources = sources_of(context.params);
        Isolation isolation(context, context.params, context.step.id, std::nullopt);
        std::size_t total = 0;
        for (const IsolationSource& source : sources) total += isolation.switch_off(source);
        context.events.say("would switch off " + std::to_string(total) + " thing(s) in " +
                           std::to_string(sources.size()) + " source(s)");
    }

    void run(kinds::StepContext& context) override {
        std::vector<IsolationSource> sources = sources_of(context.params);
        // A resume starts from the record so far: what was on stays on record as on.
        Isolation isolation(context, context.params, context.step.id, context.last_checkpoint);
        std::size_t total = 0;
        for (const IsolationSource& source : sources) {
            if (context.cancel.cancelled()) throw StepError("stopped", true);
            total += isolation.switch_off(source);
        }
        Json record = record_of(isolation.state());
        context.outputs["record"] = record.dump();
        context.outputs["switched_off"] = std::to_string(total);
        context.metrics["hosts"] = isolation.hosts_seen().size();
        context.events.checkpoint(isolation.state());
    }
};

// The record an isolate step left: its output when it ended ok, else its newest checkpoint.
std::optional<Json> isolate_record(const kinds::StepTrace& trace) {
    if (trace.outputs && trace.outputs->contains("record")) {
        Json record = Json::parse((*trace.outputs)["record"].get<std::string>(), nullptr, false);
        if (!record.is_discarded()) return record;
    }
    if (trace.checkpoint && trace.checkpoint->contains("sources"))
        return record_of(*trace.checkpoint);
    return std::nullopt;
}

class ReconnectRunner : public kinds::StepRunner {
public:
    std::string describe(const kinds::StepContext& context) const override {
        return "switch on exactly what step '" + context.params.string("isolate") +
               "' switched off";
    }

    void preflight(kinds::StepContext& context) override {
        std::string id = context.params.string("isolate");
        kinds::StepTrace trace = isolate_trace(context, id);
        kinds::Params params(trace.params, &isolate_param_table());
        Isolation isolation(context, params, id, std::nullopt);
        for (const IsolationSource& source : sources_of(params))
            isolation.check_reachable_source(source);
        context.events.say("would switch on what step '" + id + "' records as switched off");
    }

    void run(kinds::StepContext& context) override {
        std::string id = context.params.string("isolate");
        kinds::StepTrace trace = isolate_trace(context, id);
        kinds::Params params(trace.params, &isolate_param_table());
        std::vector<IsolationSource> sources = sources_of(params);
        std::optional<Json> record = isolate_record(trace);
        if (!record) {
            context.events.say("step '" + id + "' switched nothing off; nothing to switch on");
            context.outputs["switched_on"] = "0";
            return;
        }
        const Json& recorded = (*record)["sources"];
        for (const auto& [key, entry] : recorded.items())
            if (std::none_of(sources.begin(), sources.end(),
                             [&](const IsolationSource& s) { return s.key == key; }))
                throw StepError("step '" + id + "' recorded source '" + key +
                                    "', which it no longer has; restore the runbook it ran with",
                                false);
        Isolation isolation(context, params, id, context.last_checkpoint);
        std::size_t total = 0;
        // The last switched off is the first switched on.
        for (auto source = sources.rbegin(); source != sources.rend(); ++source) {
            if (context.cancel.cancelled()) throw StepError("stopped", true);
            if (recorded.contains(source->key))
                total += isolation.switch_on(*source, recorded[source->key]);
        }
        context.outputs["switched_on"] = std::to_string(total);
        context.metrics["hosts"] = isolation.hosts_seen().size();
        context.events.say("switched on " + std::to_string(total) + " thing(s) that step '" + id +
                           "' had switched off");
    }

private:
    static kinds::StepTrace isolate_trace(kinds::StepContext& context, const std::string& id) {
        if (!context.steps) throw StepError("reconnect: earlier steps are not available", false);
        kinds::StepTrace trace = context.steps(id);
        if (trace.kind != "isolate")
            throw StepError("step '" + id + "' is of kind '" + trace.kind + "', not isolate",
                            false);
        return trace;
    }
};

}  // namespace

kinds::KindSpec isolate_kind() {
    return kinds::KindSpec{
        .schema =
            {
                .name = "isolate",
                .summary = "switch external sources off (services and cron lines on hosts, SQL "
                           "and HTTP toggles) and record exactly what was on, for reconnect",
                .params = isolate_param_table(),
                .outputs = {"record", "switched_off"},
                .check = check_sources,
            },
        .resumable_inside = true,
        .make = [] { return std::make_unique<IsolateRunner>(); },
    };
}

kinds::KindSpec reconnect_kind() {
    using runbook::ParamType;
    return kinds::KindSpec{
        .schema =
            {
                .name = "reconnect",
                .summary = "switch on exactly what an isolate step switched off (and nothing "
                           "that was off before it); also its rollback",
                .params = {{"isolate",
                            ParamType::step,
                            true,
                            "",
                            "the id of the isolate step whose record to restore",
                            {"isolate"}}},
                .outputs = {"switched_on"},
            },
        .resumable_inside = true,
        .make = [] { return std::make_unique<ReconnectRunner>(); },
    };
}

}  // namespace migrate::steps::remote
