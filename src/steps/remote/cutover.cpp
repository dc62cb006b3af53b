// cutover: the switch. An atomic replace of a symlink or a file (written beside, then renamed),
// on this machine or on the hosts of a pattern; reload commands; an HTTP call; then a health
// check. When the check fails, the previous link or file is put back and reloaded.
//
// maintenance: a maintenance page put up (or taken down) on the hosts of a pattern, with the
// page's answer checked.
#include <filesystem>

#include "../families.h"
#include "fanout.h"
#include "migrate/util/error.h"
#include "migrate/util/text.h"
#include "migrate/util/units.h"

namespace migrate::steps::remote {
namespace {

using Json = nlohmann::ordered_json;

// Where the switch happens: this machine (no `hosts`), or each host over ssh.
struct Place {
    std::optional<runbook::InventoryHost> host;
    std::string name() const { return host ? host->name : "localhost"; }
    std::string address() const {
        if (!host) return "127.0.0.1";
        return host->address.empty() ? host->name : host->address;
    }
};

class Places {
public:
    Places(kinds::StepContext& context, const kinds::Params& params) : m_context(context) {
        if (params.has("hosts")) {
            for (runbook::InventoryHost& host : selected_hosts(context))
                m_places.push_back(Place{std::move(host)});
            m_session.emplace(context, params);
        } else {
            m_places.push_back(Place{});
        }
    }
    const std::vector<Place>& all() const { return m_places; }
    // The hosts among the places (none when the work is on this machine).
    std::vector<runbook::InventoryHost> hosts() const {
        std::vector<runbook::InventoryHost> hosts;
        for (const Place& place : m_places)
            if (place.host) hosts.push_back(*place.host);
        return hosts;
    }
    bool remote() const { return m_session.has_value(); }
    SshSession* session() { return m_session ? &*m_session : nullptr; }

    // Runs a /bin/sh script at a place (stdin from `input` when given).
    io::ProcessResult run(const Place& place, const std::string& script, CancelToken& cancel,
                          const std::string& input = "") {
        io::ProcessSpec spec;
        if (place.host) {
            io::SshTarget target = ssh_target(*place.host);
            spec.command = io::ssh_command_line(target, m_session->options(), script);
            m_session->used(target);
        } else {
            spec.command = script;
        }
        if (!input.empty()) spec.command = "(" + spec.command + ") < " + shell_quote(input);
        return m_context.services.processes.run(spec, cancel);
    }

private:
    kinds::StepContext& m_context;
    std::vector<Place> m_places;
    std::optional<SshSession> m_session;
};

std::string fail_text(const io::ProcessResult& result) {
    std::string last = tail_lines(result.output_tail, 1, 200);
    return "exit " + std::to_string(result.exit_code) + (last.empty() ? "" : ": " + last);
}

// {host} and {address} in a health URL stand for each place.
std::string for_place(std::string text, const Place& place) {
    for (const auto& [key, value] : {std::pair<std::string, std::string>{"{host}", place.name()},
                                     {"{address}", place.address()}})
        for (std::size_t at = text.find(key); at != std::string::npos; at = text.find(key, at))
            text.replace(at, key.size(), value), at += value.size();
    return text;
}

struct HealthCheck {
    std::string url;
    std::string expect_status = "2xx";
    std::string contains;
    Millis interval{std::chrono::seconds(2)};
    Millis deadline{std::chrono::seconds(60)};
};

// Polls every place's URL until each answers as expected or the deadline passes; returns ""
// or what was wrong at the places that never answered right.
std::string check_health(kinds::StepContext& context, const std::vector<Place>& places,
                         const HealthCheck& check) {
    std::vector<std::string> urls;
    bool per_place = check.url.find("{host}") != std::string::npos ||
                     check.url.find("{address}") != std::string::npos;
    if (per_place)
        for (const Place& place : places) urls.push_back(for_place(check.url, place));
    else
        urls.push_back(check.url);
    std::vector<std::string> problem(urls.size());
    std::vector<bool> healthy(urls.size(), false);
    std::int64_t started = context.services.clock.steady_ms();
    for (int round = 1;; ++round) {
        std::size_t good = 0;
        for (std::size_t i = 0; i < urls.size(); ++i) {
            if (healthy[i]) {
                ++good;
                continue;
            }
            io::HttpRequest request;
            request.url = urls[i];
            request.timeout = std::min<Millis>(check.deadline, std::chrono::seconds(10));
            io::HttpResponse answer = context.services.http.perform(request, context.cancel);
            if (!answer.error.empty())
                problem[i] = answer.error;
            else if (!basic::status_matches(check.expect_status, answer.status))
                problem[i] = "status " + std::to_string(answer.status) + " (expected " +
                             check.expect_status + ")";
            else if (!check.contains.empty() &&
                     answer.body.find(check.contains) == std::string::npos)
                problem[i] = "the answer does not contain '" + shorten(check.contains, 60) + "'";
            else
                healthy[i] = true, ++good;
        }
        if (good == urls.size()) {
            context.events.say("health check passed: " + std::to_string(urls.size()) + " URL(s)" +
                               " after " + std::to_string(round) + " round(s)");
            return "";
        }
        if (context.cancel.cancelled()) return "stopped";
        std::int64_t waited = context.services.clock.steady_ms() - started;
        context.events.progress("health check: " + std::to_string(good) + "/" +
                                    std::to_string(urls.size()) + " healthy after " +
                                    format_duration(Millis(waited)),
                                Json{{"healthy", good}});
        if (waited + check.interval.count() > check.deadline.count()) break;
        if (!context.services.clock.sleep(check.interval, context.cancel)) return "stopped";
    }
    std::vector<std::string> named;
    for (std::size_t i = 0; i < urls.size(); ++i)
        if (!healthy[i]) named.push_back(urls[i] + ": " + problem[i]);
    return std::to_string(named.size()) + " of " + std::to_string(urls.size()) +
           " URL(s) not healthy within " + format_duration(check.deadline) + ": " +
           join(named, "; ");
}

std::optional<HealthCheck> health_of(const kinds::Params& params) {
    if (!params.has("health_url")) return std::nullopt;
    HealthCheck check;
    check.url = params.string("health_url");
    check.expect_status = params.string("health_status");
    check.contains = params.string("health_contains");
    check.interval = params.duration("health_interval");
    check.deadline = params.duration("health_deadline");
    return check;
}

std::vector<runbook::ParamSpec> health_params(const std::string& status_default) {
    using runbook::ParamType;
    return {
        {"health_url", ParamType::string, false, "",
         "a URL that must answer after the switch; {host} and {address} make it one per host"},
        {"health_status", ParamType::string, false, status_default,
         "the status it must answer (200, 2xx, \"200,204\")"},
        {"health_contains", ParamType::string, false, "", "text the answer must contain"},
        {"health_interval", ParamType::duration, false, "2s", "pause between checks"},
        {"health_deadline", ParamType::duration, false, "60s",
         "how long the URL may take to answer right"},
    };
}

// The switch at one place: the script that records the previous state and replaces, and the
// one that puts the previous state back.
struct Switch {
    std::string kind;   // symlink or file
    std::string path;   // the link or the file
    std::string value;  // the link's new target, or the local file with the new content
};

// What was there before the switch is kept beside it, once (a second run, a resume, does not
// overwrite it): PATH.migrate-previous holds the old link or file, PATH.migrate-absent marks
// that there was none. Only a place that got as far as keeping it is undone.
std::string keep_of(const Switch& change) { return shell_quote(change.path + ".migrate-previous"); }
std::string absent_of(const Switch& change) { return shell_quote(change.path + ".migrate-absent"); }

// Keeps what is there, then replaces it atomically (written beside, renamed over).
std::string switch_script(const Switch& change) {
    std::string path = shell_quote(change.path);
    std::string keep = keep_of(change), absent = absent_of(change);
    std::string fresh = shell_quote(change.path + ".migrate-new");
    std::string record = "if [ -e " + keep + " ] || [ -L " + keep + " ] || [ -e " + absent +
                         " ]; then :; elif [ -L " + path + " ]; then cp -P " + path + " " + keep +
                         "; elif [ -e " + path + " ]; then cp -p " + path + " " + keep +
                         "; else : > " + absent + "; fi";
    if (change.kind == "symlink")
        return "set -e; " + record + "; ln -sfn " + shell_quote(change.value) + " " + fresh +
               "; mv -Tf " + fresh + " " + path;
    return "set -e; " + record + "; cat > " + fresh + "; mv -f " + fresh + " " + path;
}

// Puts back what was kept; a place where nothing was kept is left as it is.
std::string restore_script(const Switch& change) {
    std::string path = shell_quote(change.path);
    std::string keep = keep_of(change), absent = absent_of(change);
    return "set -e; if [ -e " + keep + " ] || [ -L " + keep + " ]; then mv -Tf " + keep + " " +
           path + "; elif [ -e " + absent + " ]; then rm -f " + path + " " + absent + "; fi";
}

std::string forget_script(const Switch& change) {
    return "rm -f " + keep_of(change) + " " + absent_of(change);
}

class CutoverRunner : public kinds::StepRunner {
public:
    std::string describe(const kinds::StepContext& context) const override {
        const kinds::Params& params = context.params;
        std::vector<std::string> parts;
        if (params.has("symlink"))
            parts.push_back("point " + params.string("symlink") + " at " + params.string("target"));
        if (params.has("file"))
            parts.push_back("replace " + params.string("file") + " with " +
                            params.string("content"));
        if (params.has("reload")) parts.push_back("reload: " + params.string("reload"));
        if (params.has("url"))
            parts.push_back(params.string("method") + " " + params.string("url"));
        if (params.has("health_url")) parts.push_back("check " + params.string("health_url"));
        std::string where = params.has("hosts") ? " on " + params.string("hosts") : "";
        return join(parts, ", then ") + where;
    }

    void preflight(kinds::StepContext& context) override {
        check_params(context.params);
        Places places(context, context.params);
        if (places.remote()) check_reachable(context, *places.session(), places.hosts(), 10);
        if (context.params.has("file") &&
            !std::filesystem::is_regular_file(context.params.string("content")))
            throw StepError("content '" + context.params.string("content") + "' is not a file",
                            false);
    }

    void run(kinds::StepContext& context) override {
        const kinds::Params& params = context.params;
        check_params(params);
        Places places(context, params);
        std::vector<Switch> changes;
        if (params.has("symlink"))
            changes.push_back({"symlink", params.string("symlink"), params.string("target")});
        if (params.has("file")) {
            std::string content = params.string("content");
            if (!std::filesystem::is_regular_file(content))
                throw StepError("content '" + content + "' is not a file", false);
            changes.push_back({"file", params.string("file"), content});
        }
        std::string reload = params.string("reload");
        // 1. The switch at every place (and the reload). A failure at one place fails the
        // switch, and the places it reached are undone below.
        std::string problem;
        try {
            each_place(context, places, "switch", [&](const Place& place, CancelToken& cancel) {
                for (const Switch& change : changes) {
                    io::ProcessResult result =
                        places.run(place, switch_script(change), cancel,
                                   change.kind == "file" ? change.value : "");
                    if (result.exit_code != 0)
                        throw StepError("replacing " + change.path + " at " + place.name() + ": " +
                                            fail_text(result),
                                        true);
                }
                if (!reload.empty()) {
                    io::ProcessResult result = places.run(place, reload, cancel);
                    if (result.exit_code != 0)
                        throw StepError("reload at " + place.name() + ": " + fail_text(result),
                                        true);
                }
            });
        } catch (const StepError& e) {
            if (context.cancel.cancelled()) throw;
            problem = e.what();
        }
        // 2. The call, then the health check.
        if (problem.empty() && params.has("url")) {
            io::HttpRequest request = basic::http_request_from(params, std::chrono::seconds(60));
            io::HttpResponse answer = context.services.http.perform(request, context.cancel);
            if (!answer.error.empty())
                problem = request.method + " " + request.url + ": " + answer.error;
            else if (!basic::status_matches(params.string("expect_status"), answer.status))
                problem = request.method + " " + request.url + " answered " +
                          std::to_string(answer.status) + " (expected " +
                          params.string("expect_status") + ")";
            context.outputs["status"] = std::to_string(answer.status);
        }
        if (problem.empty())
            if (std::optional<HealthCheck> check = health_of(params))
                problem = check_health(context, places.all(), *check);
        if (problem.empty()) {
            each_place(context, places, "keep", [&](const Place& place, CancelToken& cancel) {
                for (const Switch& change : changes)
                    places.run(place, forget_script(change), cancel);
            });
            context.outputs["switched"] = std::to_string(places.all().size());
            return;
        }
        if (context.cancel.cancelled()) throw StepError("stopped", true);
        if (!params.boolean("restore_on_failure") || changes.empty())
            throw StepError(problem, false);
        // 3. The switch, the call or the check failed: the previous link or file back wherever
        // it was kept, and reloaded.
        CancelToken restore_cancel;
        std::vector<std::string> restore_problems;
        for (const Place& place : places.all()) {
            for (const Switch& change : changes) {
                io::ProcessResult result =
                    places.run(place, restore_script(change), restore_cancel);
                if (result.exit_code != 0)
                    restore_problems.push_back(place.name() + ": " + fail_text(result));
            }
            if (!reload.empty()) places.run(place, reload, restore_cancel);
        }
        context.details["restored"] = restore_problems.empty();
        throw StepError(
            problem + (restore_problems.empty()
                           ? "; the switch was undone: the previous " + changes.front().kind +
                                 " is back at " + changes.front().path
                           : "; undoing the switch failed at " + join(restore_problems, ", ")),
            false);
    }

private:
    static void check_params(const kinds::Params& params) {
        if (params.has("symlink") != params.has("target"))
            throw StepError("'symlink' and 'target' go together", false);
        if (params.has("file") != params.has("content"))
            throw StepError("'file' and 'content' go together", false);
        if (!params.has("symlink") && !params.has("file") && !params.has("url") &&
            !params.has("health_url") && !params.has("reload"))
            throw StepError("a cutover needs a symlink, a file, a url, a reload or a health_url",
                            false);
    }

    // Runs `work` at every place: on hosts through the fan-out (a record per host, resume
    // skips hosts done), on this machine directly.
    static void each_place(kinds::StepContext& context, Places& places, const std::string& what,
                           const std::function<void(const Place&, CancelToken&)>& work) {
        if (!places.remote()) {
            work(places.all().front(), context.cancel);
            return;
        }
        FanoutSettings settings = fanout_settings(context.params);
        std::vector<runbook::InventoryHost> hosts = places.hosts();
        // The switch is idempotent (the previous state is kept once): a resume does it again
        // on every host rather than trusting a checkpoint of another phase.
        kinds::StepContext scoped = context;
        scoped.last_checkpoint.reset();
        FanoutResult result =
            run_fanout(scoped, hosts, settings, what,
                       [&](const runbook::InventoryHost& host, CancelToken& cancel) {
                           HostOutcome outcome;
                           outcome.extra["stage"] = what;  // the records of a host apart
                           work(Place{host}, cancel);
                           outcome.ok = true;
                           outcome.exit_code = 0;
                           return outcome;
                       });
        context.metrics = scoped.metrics;
        fail_if_over_budget(context, result);
    }
};

}  // namespace

kinds::KindSpec cutover_kind() {
    using runbook::ParamType;
    std::vector<runbook::ParamSpec> params = {
        {"hosts", ParamType::hosts, false, "",
         "a host pattern: the switch happens on each host over ssh (default: this machine)"},
        {"symlink", ParamType::string, false, "", "a symlink to point at 'target' atomically"},
        {"target", ParamType::string, false, "", "what the symlink points at after the switch"},
        {"file", ParamType::string, false, "",
         "a file to replace atomically (written beside, renamed)"},
        {"content", ParamType::string, false, "", "a local file with the new content of 'file'"},
        {"reload", ParamType::text, false, "",
         "a command after the switch (and after an undo), such as nginx -s reload"},
        {"restore_on_failure", ParamType::boolean, false, "true",
         "when the call or the health check fails, put the previous link or file back"},
    };
    params.push_back({"url", ParamType::string, false, "",
                      "an HTTP call after the switch, before the health check"});
    for (auto& extra : basic::http_request_params()) params.push_back(std::move(extra));
    params.push_back(
        {"expect_status", ParamType::string, false, "2xx", "the status the call must answer"});
    for (auto& extra : health_params("2xx")) params.push_back(std::move(extra));
    for (auto& extra : fanout_params()) params.push_back(std::move(extra));
    for (auto& extra : ssh_params()) params.push_back(std::move(extra));
    return kinds::KindSpec{
        .schema =
            {
                .name = "cutover",
                .summary = "the switch: an atomic replace of a symlink or a file (here or on "
                           "hosts), a reload, an HTTP call, then a health check; the previous "
                           "state comes back when the check fails; ends the downtime window",
                .params = std::move(params),
                .outputs = {"status", "switched"},
            },
        .make = [] { return std::make_unique<CutoverRunner>(); },
    };
}

namespace {

class MaintenanceRunner : public kinds::StepRunner {
public:
    std::string describe(const kinds::StepContext& context) const override {
        const kinds::Params& params = context.params;
        bool on = params.string("state") == "on";
        return std::string(on ? "put up " : "take down ") + "the maintenance page " +
               params.string("path") +
               (params.has("hosts") ? " on " + params.string("hosts") : "") +
               (params.has("check_url") ? ", check " + params.string("check_url") : "");
    }

    void preflight(kinds::StepContext& context) override {
        check_page(context.params);
        Places places(context, context.params);
        if (places.remote()) check_reachable(context, *places.session(), places.hosts(), 10);
    }

    void run(kinds::StepContext& context) override {
        const kinds::Params& params = context.params;
        check_page(params);
        bool on = params.string("state") == "on";
        Places places(context, params);
        std::string path = params.string("path");
        std::string script = on ? "set -e; cat > " + shell_quote(path + ".migrate-new") +
                                      "; mv -f " + shell_quote(path + ".migrate-new") + " " +
                                      shell_quote(path)
                                : "rm -f " + shell_quote(path);
        std::string reload = params.string("reload");
        std::vector<runbook::InventoryHost> hosts = places.hosts();
        auto at_place = [&](const Place& place, CancelToken& cancel) {
            io::ProcessResult result =
                places.run(place, script, cancel, on ? params.string("page") : "");
            if (result.exit_code != 0)
                throw StepError((on ? "writing " : "removing ") + path + " at " + place.name() +
                                    ": " + fail_text(result),
                                true);
            if (!reload.empty()) {
                result = places.run(place, reload, cancel);
                if (result.exit_code != 0)
                    throw StepError("reload at " + place.name() + ": " + fail_text(result), true);
            }
        };
        if (hosts.empty()) {
            at_place(places.all().front(), context.cancel);
        } else {
            FanoutResult result = run_fanout(
                context, hosts, fanout_settings(params), on ? "maintenance on" : "maintenance off",
                [&](const runbook::InventoryHost& host, CancelToken& cancel) {
                    at_place(Place{host}, cancel);
                    HostOutcome outcome;
                    outcome.ok = true;
                    outcome.exit_code = 0;
                    return outcome;
                });
            fail_if_over_budget(context, result);
        }
        if (!params.has("check_url")) return;
        HealthCheck check;
        check.url = params.string("check_url");
        check.expect_status =
            params.has("check_status") ? params.string("check_status") : (on ? "503" : "2xx");
        check.contains = params.string("check_contains");
        check.interval = params.duration("health_interval");
        check.deadline = params.duration("health_deadline");
        if (std::string problem = check_health(context, places.all(), check); !problem.empty())
            throw StepError("the maintenance page is " + std::string(on ? "not up" : "still up") +
                                ": " + problem,
                            true);
    }

private:
    static void check_page(const kinds::Params& params) {
        if (params.string("state") == "on" &&
            !std::filesystem::is_regular_file(params.string("page")))
            throw StepError(
                "page '" + params.string("page") + "' is not a file (the page to put up)", false);
    }
};

}  // namespace

kinds::KindSpec maintenance_kind() {
    using runbook::ParamType;
    std::vector<runbook::ParamSpec> params = {
        {"state",
         ParamType::string,
         true,
         "",
         "on: put the page up; off: take it down",
         {"on", "off"}},
        {"path", ParamType::string, true, "",
         "where the web server looks for the page (its presence switches maintenance on)"},
        {"page", ParamType::string, false, "", "a local file: the page to put up (state on)"},
        {"hosts", ParamType::hosts, false, "", "the web hosts (default: this machine)"},
        {"reload", ParamType::text, false, "",
         "a command after the change, such as nginx -s reload"},
        {"check_url", ParamType::string, false, "",
         "a URL whose answer shows the page is up or down; {host} and {address} make it one per "
         "host"},
        {"check_status", ParamType::string, false, "",
         "the status expected (default: 503 when on, 2xx when off)"},
        {"check_contains", ParamType::string, false, "", "text the answer must contain"},
        {"health_interval", ParamType::duration, false, "2s", "pause between checks"},
        {"health_deadline", ParamType::duration, false, "30s", "how long the answer may take"},
    };
    for (auto& extra : fanout_params()) params.push_back(std::move(extra));
    for (auto& extra : ssh_params()) params.push_back(std::move(extra));
    return kinds::KindSpec{
        .schema =
            {
                .name = "maintenance",
                .summary = "a maintenance page put up or taken down on the web hosts (or here), "
                           "its answer checked",
                .params = std::move(params),
                .outputs = {},
                .host_outputs = {},
                .check =
                    [](const runbook::Node& with, runbook::Diagnostics& diagnostics) {
                        if (!with.is_mapping()) return;
                        const runbook::Node* state = with.find("state");
                        if (state && state->is_scalar() && state->value == "on" &&
                            !with.find("page"))
                            diagnostics.error(with.mark,
                                              "'state: on' needs 'page' (the page to put up)");
                    },
            },
        .resumable_inside = true,
        .make = [] { return std::make_unique<MaintenanceRunner>(); },
    };
}

}  // namespace migrate::steps::remote
