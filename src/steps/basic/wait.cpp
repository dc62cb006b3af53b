// wait: poll until a condition holds (a command succeeds or fails, a file exists or is
// gone, a URL answers with a status, a query returns no row or a row), every `interval`,
// within the step's timeout; or wait until a clock time (`at`), which a resume honours.
#include <filesystem>

#include "../families.h"
#include "migrate/kinds/connections.h"
#include "migrate/util/error.h"
#include "migrate/util/units.h"

namespace migrate::steps::basic {
namespace {

const std::vector<std::string> k_conditions = {"command", "file", "url", "sql", "at"};

// How long a clock-time wait sleeps between looks at the wall clock (which may be set while
// it waits).
constexpr Millis k_at_chunk{std::chrono::seconds(10)};

const char* k_at_forms =
    "write 2026-12-10T09:30+01:00 (ISO 8601 with its offset), 2026-12-10T08:30Z, or HH:MM "
    "(the next such time in this machine's zone)";

// The instant `at` names: from the checkpoint on a resume (an "HH:MM" was resolved when the
// step first started, and a resume on another day keeps that day), else resolved now.
std::int64_t target_of(const kinds::StepContext& context) {
    if (context.last_checkpoint && context.last_checkpoint->contains("at_ms"))
        return (*context.last_checkpoint)["at_ms"].get<std::int64_t>();
    std::string at = context.params.string("at");
    std::optional<std::int64_t> target = resolve_clock_time(at, context.services.clock.wall_ms());
    if (!target) throw StepError("'at: " + at + "' is not a clock time: " + k_at_forms, false);
    return *target;
}

class WaitRunner : public kinds::StepRunner {
public:
    std::string describe(const kinds::StepContext& context) const override {
        const kinds::Params& p = context.params;
        if (p.has("at")) {
            std::int64_t target = target_of(context);
            std::int64_t left = target - context.services.clock.wall_ms();
            return "until " + p.string("at") + ": starts at " + format_local_time(target) +
                   (left > 0 ? ", in " + format_duration(Millis(left))
                             : " (passed already: at once)");
        }
        std::string every = " (every " + p.string("interval") + ")";
        if (p.has("command"))
            return "until `" + p.string("command") + "` " + until(p, "succeeds") + every;
        if (p.has("file")) return "until " + p.string("file") + " " + until(p, "exists") + every;
        if (p.has("sql"))
            return "until `" + p.string("sql") + "` on connection '" + p.string("connection") +
                   "' returns " + (until(p, "empty") == "row" ? "a row" : "no rows") + every;
        return "until " + p.string("url") + " answers " + p.string("status") + every;
    }

    void preflight(kinds::StepContext& context) override {
        if (context.params.has("at")) target_of(context);
        if (context.params.has("file")) {
            std::filesystem::path parent =
                std::filesystem::path(context.params.string("file")).parent_path();
            if (!parent.empty() && !std::filesystem::is_directory(parent))
                throw StepError("directory '" + parent.string() + "' does not exist", false);
        }
        if (context.params.has("url")) {
            io::HttpRequest request = http_request_from(context.params, std::chrono::seconds(15));
            request.method = "HEAD";
            if (context.services.http.perform(request, context.cancel).status == 0)
                throw StepError("'" + request.url + "' does not answer", false);
        }
        if (context.params.has("sql"))
            kinds::check_connection(context, context.params.string("connection"));
    }

    void run(kinds::StepContext& context) override {
        if (context.params.has("at")) return wait_until(context);
        Millis interval = context.params.duration("interval");
        std::int64_t started = context.services.clock.steady_ms();
        std::unique_ptr<io::db::Session> session;  // kept from poll to poll
        for (int poll = 1;; ++poll) {
            std::string state;
            if (holds(context, session, state)) {
                context.metrics["polls"] = poll;
                context.outputs["polls"] = std::to_string(poll);
                return;
            }
            Millis elapsed(context.services.clock.steady_ms() - started);
            const auto& timeout = context.step.timeout;
            context.events.progress(
                "not yet (" + state + "), poll " + std::to_string(poll) + ", " +
                    format_duration(elapsed) +
                    (timeout ? " of its " + format_duration(*timeout) + " timeout"
                             : " (no timeout)"),
                {{"polls", poll}, {"elapsed_ms", elapsed.count()}});
            if (!context.services.clock.sleep(interval, context.cancel))
                throw StepError("stopped while waiting", true);
        }
    }

private:
    static void wait_until(kinds::StepContext& context) {
        Clock& clock = context.services.clock;
        std::int64_t target = target_of(context);
        if (!context.last_checkpoint || !context.last_checkpoint->contains("at_ms"))
            context.events.checkpoint({{"at", context.params.string("at")}, {"at_ms", target}});
        std::string when = format_local_time(target);
        context.outputs["at"] = format_utc_ms(target);
        std::int64_t late = clock.wall_ms() - target;
        if (late >= 1000) {
            context.events.say(context.step.id + ": " + when + " has passed (" +
                               format_duration(Millis(late)) + " ago): going on at once");
            context.metrics["late_ms"] = late;
            return;
        }
        for (std::int64_t left; (left = target - clock.wall_ms()) > 0;) {
            context.events.progress(
                "until " + when + ", " + format_duration(Millis(left)) + " to go",
                {{"left_ms", left}});
            if (!clock.sleep(std::min(Millis(left), k_at_chunk), context.cancel))
                throw StepError("stopped while waiting for " + when, true);
        }
    }

    static std::string until(const kinds::Params& params, const std::string& fallback) {
        return params.has("until") ? params.string("until") : fallback;
    }

    bool holds(kinds::StepContext& context, std::unique_ptr<io::db::Session>& session,
               std::string& state) const {
        const kinds::Params& p = context.params;
        if (p.has("sql")) return query_holds(context, session, state);
        if (p.has("command")) {
            io::ProcessSpec spec{p.string("command"), "", {}, context.log_path};
            io::ProcessResult result = context.services.processes.run(spec, context.cancel);
            if (context.cancel.cancelled()) throw StepError("stopped while waiting", true);
            state = "exit status " + std::to_string(result.exit_code);
            return (result.exit_code == 0) == (until(p, "succeeds") == "succeeds");
        }
        if (p.has("file")) {
            bool exists = std::filesystem::exists(p.string("file"));
            state = exists ? "exists" : "absent";
            return exists == (until(p, "exists") == "exists");
        }
        io::HttpRequest request = http_request_from(p, std::chrono::seconds(30));
        io::HttpResponse response = context.services.http.perform(request, context.cancel);
        state = response.status == 0 ? response.error : "status " + std::to_string(response.status);
        return response.status != 0 && status_matches(p.string("status"), response.status);
    }

    // A lost or refused connection is polled again (on a new session) at the next interval;
    // an error that another poll will meet again (bad SQL, access denied) fails the step.
    static bool query_holds(kinds::StepContext& context, std::unique_ptr<io::db::Session>& session,
                            std::string& state) {
        const kinds::Params& p = context.params;
        try {
            if (!session) session = connect(context, p.string("connection"));
            std::unique_ptr<io::db::Result> result = session->query(p.string("sql"));
            io::db::Row row;
            bool found = result->next(row);
            state = found ? "a row" : "no rows";
            return found == (until(p, "empty") == "row");
        } catch (const io::db::DbError& e) {
            if (!e.retryable() || context.cancel.cancelled()) throw;
            session.reset();
            state = std::string(e.what()) + "; trying again at the next poll";
            context.events.say(context.step.id + ": " + state);
            return false;
        }
    }
};

void check_wait(const runbook::Node& with, runbook::Diagnostics& diagnostics) {
    kinds::check_exactly_one(with, k_conditions, "wait", diagnostics);
    const runbook::Node* connection = with.find("connection");
    if (with.find("sql") && connection == nullptr)
        diagnostics.error(with.find("sql")->mark,
                          "a wait on 'sql' needs 'connection' (a name under 'connections:')");
    if (connection != nullptr && !with.find("sql"))
        diagnostics.error(connection->mark, "'connection' goes with 'sql'; this wait has no query");
    const runbook::Node* at = with.find("at");
    if (at != nullptr && at->is_scalar() && at->value.find("${") == std::string::npos &&
        !resolve_clock_time(at->value, 0))
        diagnostics.error(at->mark, "'at: " + at->value + "' is not a clock time: " + k_at_forms);
    const runbook::Node* until = with.find("until");
    if (until == nullptr || !until->is_scalar()) return;
    if (at != nullptr) {
        diagnostics.error(until->mark, "'until' does not apply to 'at' (it waits for a time)");
        return;
    }
    std::vector<std::string> allowed =
        with.find("command") ? std::vector<std::string>{"succeeds", "fails"}
        : with.find("file")  ? std::vector<std::string>{"exists", "absent"}
        : with.find("sql")   ? std::vector<std::string>{"empty", "row"}
                             : std::vector<std::string>{};
    if (allowed.empty())
        diagnostics.error(until->mark, "'until' does not apply to a url condition; use 'status'");
    else if (std::find(allowed.begin(), allowed.end(), until->value) == allowed.end())
        diagnostics.error(until->mark, "'until: " + until->value +
                                           "' does not fit this condition (one of: " + allowed[0] +
                                           ", " + allowed[1] + ")");
}

}  // namespace

kinds::KindSpec wait_kind() {
    std::vector<runbook::ParamSpec> params = {
        {"command", runbook::ParamType::text, false, "",
         "poll until this command succeeds (or fails)"},
        {"file", runbook::ParamType::string, false, "", "poll until this file exists (or is gone)"},
        {"url", runbook::ParamType::string, false, "", "poll until this URL answers with `status`"},
        {"sql", runbook::ParamType::text, false, "",
         "poll until this query returns no rows (or a row)"},
        {"at", runbook::ParamType::string, false, "",
         "wait until this clock time: 2026-12-10T09:30+01:00 (ISO 8601 with offset or Z), or "
         "HH:MM (the next such local time; a resume keeps the day it first resolved to)"},
        {"connection", runbook::ParamType::connection, false, "",
         "for sql: a name under 'connections:'"},
        {"until",
         runbook::ParamType::string,
         false,
         "",
         "succeeds/fails (command), exists/absent (file), empty/row (sql)",
         {"succeeds", "fails", "exists", "absent", "empty", "row"}},
        {"status", runbook::ParamType::string, false, "2xx", "accepted HTTP statuses for url"},
        {"interval", runbook::ParamType::duration, false, "10s", "time between polls"}};
    for (runbook::ParamSpec& param : http_request_params())
        if (param.name != "body" && param.name != "json") params.push_back(param);
    return kinds::KindSpec{
        .schema =
            {
                .name = "wait",
                .summary = "poll until a condition holds: a command succeeds, a file exists, a URL "
                           "answers, a query returns no rows; or wait until a clock time",
                .params = params,
                .outputs = {"polls", "at"},
                .check = check_wait,
                .warn_without_timeout = true,
            },
        .make = [] { return std::make_unique<WaitRunner>(); },
    };
}

}  // namespace migrate::steps::basic
