// Structure of a runbook: which fields exist where, their types, durations and ids.
#include <cstdio>
#include <ctime>
#include <unordered_map>

#include "migrate/runbook/connection_rules.h"
#include "migrate/runbook/model.h"
#include "migrate/runbook/node_json.h"
#include "migrate/util/digest.h"
#include "migrate/util/text.h"

namespace migrate::runbook {

const char* on_failure_name(OnFailure policy) {
    switch (policy) {
        case OnFailure::continue_run:
            return "continue";
        case OnFailure::rollback:
            return "rollback";
        case OnFailure::abort:
            break;
    }
    return "abort";
}

std::vector<const Step*> Runbook::steps() const {
    std::vector<const Step*> out;
    for (const Phase& phase : phases)
        for (const Step& step : phase.steps) out.push_back(&step);
    return out;
}

const Step* Runbook::find_step(const std::string& id) const {
    for (const Phase& phase : phases)
        for (const Step& step : phase.steps) {
            if (step.id == id) return &step;
            for (const Step& undo : step.rollback)
                if (undo.id == id) return &undo;
        }
    return nullptr;
}

namespace {

const std::vector<std::string> k_top_fields = {
    "version", "name",         "description", "downtime_budget", "on_failure", "grace", "roles",
    "vars",    "environments", "connections", "hosts",           "window",     "phases"};
const std::vector<std::string> k_phase_fields = {"id", "name", "urgency", "on_failure", "steps"};
const std::vector<std::string> k_step_fields = {
    "id",          "name",  "kind",       "role",        "needs",    "when",
    "timeout",     "retry", "on_failure", "rollback",    "downtime", "estimate",
    "variability", "scale", "with",       "instructions"};
const std::vector<std::string> k_retry_fields = {"attempts", "backoff", "max_backoff"};
const std::vector<std::string> k_scale_fields = {"metric", "expect"};
const std::vector<std::string> k_scale_metrics = {"bytes", "rows", "files", "hosts"};
const std::vector<std::string> k_environment_fields = {"vars"};

bool valid_id(const std::string& id) { return is_id(id); }

class Loader {
public:
    Loader(const Document& document, Diagnostics& diagnostics)
        : m_document(document), m_diagnostics(diagnostics) {}

    Runbook load() {
        Runbook book;
        book.source = m_document.source;
        book.sha256 = sha256_hex(m_document.source->text());
        const Node& root = m_document.root;
        if (root.is_null()) {
            if (!m_diagnostics.has_errors())
                m_diagnostics.error(Mark{1, 1}, "the runbook is empty");
            return book;
        }
        if (!expect_mapping(root, "the runbook")) return book;
        check_fields(root, k_top_fields, "at the top level");
        load_header(root, book);
        if (const Node* roles = root.find("roles")) load_roles(*roles, book);
        if (const Node* vars = root.find("vars")) load_vars(*vars, book.vars, "vars");
        if (const Node* envs = root.find("environments")) load_environments(*envs, book);
        if (const Node* connections = root.find("connections"))
            load_connections(*connections, book);
        if (const Node* hosts = root.find("hosts")) {
            book.hosts = *hosts;
            expect_mapping(*hosts, "'hosts'");
        }
        const Node* phases = root.find("phases");
        if (phases == nullptr) {
            m_diagnostics.error(root.mark, "the runbook has no 'phases'");
        } else if (expect_sequence(*phases, "'phases'")) {
            if (phases->items.empty()) m_diagnostics.error(phases->mark, "'phases' is empty");
            for (const Node& phase : phases->items) load_phase(phase, book);
        }
        cutover_ends_downtime(book);
        return book;
    }

    // A cutover step marks the end of the downtime window unless told otherwise: the first
    // one without a `downtime:` of its own does, when a window starts and no step ends it.
    static void cutover_ends_downtime(Runbook& book) {
        bool starts = false, ends = false;
        for (const Phase& phase : book.phases)
            for (const Step& step : phase.steps) {
                starts = starts || step.downtime == DowntimeMarker::start;
                ends = ends || step.downtime == DowntimeMarker::end;
            }
        if (!starts || ends) return;
        for (Phase& phase : book.phases)
            for (Step& step : phase.steps)
                if (step.kind == "cutover" && step.downtime_mark.line == 0) {
                    step.downtime = DowntimeMarker::end;
                    step.downtime_mark = step.kind_mark;
                    return;
                }
    }

private:
    void load_header(const Node& root, Runbook& book) {
        const Node* version = root.find("version");
        if (version == nullptr) {
            m_diagnostics.error(root.mark, "missing 'version'; this migrate reads 'version: 1'");
        } else if (!version->is_scalar() || version->value != "1") {
            m_diagnostics.error(version->mark, "unsupported runbook version '" + version->value +
                                                   "'; this migrate reads 'version: 1'");
        } else {
            book.version = 1;
        }
        if (const Node* name = root.find("name"))
            book.name = scalar(*name, "'name'");
        else
            m_diagnostics.error(root.mark, "missing 'name'");
        if (const Node* budget = root.find("downtime_budget"))
            book.downtime_budget = duration(*budget, "'downtime_budget'");
        if (const Node* on_failure = root.find("on_failure"))
            book.on_failure = failure_policy(*on_failure);
        if (const Node* grace = root.find("grace")) book.grace = duration(*grace, "'grace'");
        if (const Node* window = root.find("window")) load_window(*window, book);
    }

    // `window: { must_end_by: "10:45" | "10:45+01:00" | "2026-12-05T10:45:00Z" | 3h,
    //            on_deadline: ask | rollback | warn, decided_by: ROLE }`
    void load_window(const Node& node, Runbook& book) {
        if (!expect_mapping(node, "'window'")) return;
        check_fields(node, {"must_end_by", "on_deadline", "decided_by"}, "in 'window'");
        WindowSpec spec;
        const Node* end = node.find("must_end_by");
        if (end == nullptr) {
            m_diagnostics.error(node.mark,
                                "'window' needs 'must_end_by' (a clock time like "
                                "\"10:45\" or a duration from the window's start)");
            return;
        }
        spec.must_end_by = scalar(*end, "'window.must_end_by'");
        spec.mark = end->mark;
        if (!parse_deadline(spec.must_end_by, spec))
            m_diagnostics.error(end->mark,
                                "'window.must_end_by' '" + spec.must_end_by +
                                    "' is not a time; write a clock time (\"10:45\", "
                                    "\"10:45+01:00\", \"2026-12-05T10:45:00Z\") or a duration "
                                    "from the window's start (3h, 45m)");
        if (const Node* policy = node.find("on_deadline")) {
            spec.on_deadline = choice(*policy, {"ask", "rollback", "warn"}, "on_deadline");
            spec.on_deadline_mark = policy->mark;
        }
        if (const Node* role = node.find("decided_by")) {
            spec.decided_by = scalar(*role, "'window.decided_by'");
            spec.on_deadline_mark = role->mark;
        }
        book.window = spec;
    }

    static bool parse_deadline(const std::string& text, WindowSpec& spec) {
        if (auto duration = parse_duration(text)) {
            spec.after_start = *duration;
            return true;
        }
        int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0, used = 0;
        std::string rest;
        if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d%n", &year, &month, &day, &hour, &minute,
                        &used) == 5) {
            rest = text.substr(static_cast<std::size_t>(used));
            if (!rest.empty() && rest[0] == ':') {
                int more = 0;
                if (std::sscanf(rest.c_str(), ":%2d%n", &second, &more) != 1) return false;
                rest = rest.substr(static_cast<std::size_t>(more));
            }
            std::optional<int> offset = utc_offset(rest);
            if (!offset || month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 ||
                minute > 59 || second > 59)
                return false;
            std::tm tm{};
            tm.tm_year = year - 1900, tm.tm_mon = month - 1, tm.tm_mday = day;
            tm.tm_hour = hour, tm.tm_min = minute, tm.tm_sec = second;
            spec.at_epoch_ms = (static_cast<std::int64_t>(timegm(&tm)) - *offset) * 1000;
            return true;
        }
        if (std::sscanf(text.c_str(), "%2d:%2d%n", &hour, &minute, &used) != 2) return false;
        rest = text.substr(static_cast<std::size_t>(used));
        if (!rest.empty() && rest[0] == ':') {
            int more = 0;
            if (std::sscanf(rest.c_str(), ":%2d%n", &second, &more) != 1) return false;
            rest = rest.substr(static_cast<std::size_t>(more));
        }
        if (hour > 23 || minute > 59 || second > 59 || hour < 0 || minute < 0) return false;
        spec.time_of_day_s = hour * 3600 + minute * 60 + second;
        if (!rest.empty()) {
            std::optional<int> offset = utc_offset(rest);
            if (!offset) return false;
            spec.utc_offset_s = *offset;
        }
        return true;
    }

    // "Z", "+01:00", "-0530" -> seconds east of UTC; "" -> none.
    static std::optional<int> utc_offset(const std::string& text) {
        if (text == "Z" || text == "z") return 0;
        int hours = 0, minutes = 0;
        char sign = 0;
        if (text.size() == 6 &&
            std::sscanf(text.c_str(), "%c%2d:%2d", &sign, &hours, &minutes) == 3)
            ;
        else if (text.size() == 5 &&
                 std::sscanf(text.c_str(), "%c%2d%2d", &sign, &hours, &minutes) == 3)
            ;
        else
            return std::nullopt;
        if ((sign != '+' && sign != '-') || hours > 14 || minutes > 59) return std::nullopt;
        int seconds = hours * 3600 + minutes * 60;
        return sign == '-' ? -seconds : seconds;
    }

    OnFailure failure_policy(const Node& node) {
        std::string value = choice(node, {"abort", "continue", "rollback"}, "on_failure");
        return value == "continue"   ? OnFailure::continue_run
               : value == "rollback" ? OnFailure::rollback
                                     : OnFailure::abort;
    }

    void load_roles(const Node& roles, Runbook& book) {
        if (!expect_mapping(roles, "'roles'")) return;
        for (const auto& [key, value] : roles.entries) {
            if (!valid_id(key.value))
                m_diagnostics.error(key.mark,
                                    "role name '" + key.value + "' must match [a-z0-9][a-z0-9_-]*");
            book.roles[key.value] = value.is_scalar() ? value.value : "";
            if (!value.is_scalar() && !value.is_null())
                m_diagnostics.error(value.mark,
                                    "a role is described by a text, not " + value.describe());
        }
    }

    void load_vars(const Node& vars, std::map<std::string, Located>& out,
                   const std::string& where) {
        if (!expect_mapping(vars, "'" + where + "'")) return;
        for (const auto& [key, value] : vars.entries) {
            if (!is_name(key.value))
                m_diagnostics.error(key.mark, "variable name '" + shorten(key.value, 80) +
                                                  "' must match [A-Za-z_][A-Za-z0-9_]*");
            if (!value.is_scalar() && !value.is_null()) {
                m_diagnostics.error(
                    value.mark,
                    "variable '" + key.value + "' must be a single value, not " + value.describe());
                continue;
            }
            out[key.value] = Located{value.value, value.mark, true};
        }
    }

    void load_environments(const Node& envs, Runbook& book) {
        if (!expect_mapping(envs, "'environments'")) return;
        for (const auto& [key, value] : envs.entries) {
            Environment env;
            env.name = key.value;
            env.mark = key.mark;
            if (!valid_id(key.value))
                m_diagnostics.error(key.mark, "environment name '" + key.value +
                                                  "' must match [a-z0-9][a-z0-9_-]*");
            if (!value.is_null() && expect_mapping(value, "environment '" + key.value + "'")) {
                check_fields(value, k_environment_fields, "in environment '" + key.value + "'");
                if (const Node* vars = value.find("vars"))
                    load_vars(*vars, env.vars, key.value + ".vars");
            }
            book.environments[key.value] = std::move(env);
        }
    }

    void load_connections(const Node& connections, Runbook& book) {
        book.connections = connections;
        if (!expect_mapping(connections, "'connections'")) return;
        for (const auto& [key, value] : connections.entries) load_connection(key, value);
    }

    // What can be checked before interpolation; values with ${...} are checked at run time.
    void load_connection(const Node& key, const Node& value) {
        std::string what = "connection '" + key.value + "'";
        if (!valid_id(key.value))
            m_diagnostics.error(
                key.mark, "connection name '" + key.value + "' must match [a-z0-9][a-z0-9_-]*");
        if (!expect_mapping(value, what)) return;
        check_fields(value, connection_fields(), "in " + what);
        const Node* type = value.find("type");
        if (type == nullptr)
            m_diagnostics.error(value.mark, what + " has no 'type' (one of: mysql)");
        else
            choice(*type, connection_types(), "connection type");
        for (const char* field : {"host", "socket", "user", "password", "database"})
            if (const Node* node = value.find(field))
                scalar(*node, "'" + std::string(field) + "' of " + what);
        if (const Node* port = value.find("port")) check_port(*port, what);
        for (const char* field : {"connect_timeout", "read_timeout"})
            if (const Node* node = value.find(field); node && !has_reference(*node))
                duration(*node, "'" + std::string(field) + "' of " + what);
        const Node* host = value.find("host");
        const Node* socket = value.find("socket");
        if (std::string problem = endpoint_problem(host, socket); !problem.empty())
            m_diagnostics.error(host && socket ? socket->mark : value.mark,
                                what + (host && socket ? ": " : " ") + problem);
        if (const Node* tls = value.find("tls")) check_tls(*tls, what);
        if (const Node* password = value.find("password");
            password && password->is_scalar() &&
            password->value.find("${secret:") == std::string::npos)
            m_diagnostics.warning(password->mark,
                                  "the password of " + what +
                                      " is written in the runbook; "
                                      "use \"${secret:NAME}\" so it stays out of the file");
    }

    void check_port(const Node& port, const std::string& what) {
        std::string text = scalar(port, "'port' of " + what);
        if (!port.is_scalar() || has_reference(port)) return;
        if (std::string problem = port_problem(text); !problem.empty())
            m_diagnostics.error(port.mark, "'port' of " + what + " " + problem);
    }

    void check_tls(const Node& tls, const std::string& what) {
        if (!expect_mapping(tls, "'tls' of " + what)) return;
        check_fields(tls, tls_fields(), "in 'tls' of " + what);
        if (const Node* ca_file = tls.find("ca_file")) scalar(*ca_file, "'tls.ca_file' of " + what);
        if (const Node* verify = tls.find("verify"); verify && !has_reference(*verify))
            choice(*verify, tls_verify_choices(), "'tls.verify' value");
    }

    static bool has_reference(const Node& node) {
        return node.is_scalar() && node.value.find("${") != std::string::npos;
    }

    void load_phase(const Node& node, Runbook& book) {
        if (!expect_mapping(node, "a phase")) return;
        check_fields(node, k_phase_fields, "in a phase");
        Phase phase;
        phase.mark = node.mark;
        if (const Node* id = node.find("id")) {
            phase.id = scalar(*id, "phase 'id'");
            check_id(*id, "phase");
            // One error per duplicate, naming the first: not one per pair.
            auto [first, inserted] = m_phase_lines.try_emplace(phase.id, phase.mark.line);
            if (!inserted)
                m_diagnostics.error(id->mark, "duplicate phase id '" + phase.id +
                                                  "' (first at line " +
                                                  std::to_string(first->second) + ")");
        } else {
            m_diagnostics.error(node.mark, "a phase needs an 'id'");
        }
        if (const Node* name = node.find("name")) phase.name = scalar(*name, "phase 'name'");
        if (const Node* urgency = node.find("urgency"))
            phase.urgency = choice(*urgency, {"low", "medium", "high"}, "urgency");
        if (const Node* on_failure = node.find("on_failure"))
            phase.on_failure = failure_policy(*on_failure);
        const Node* steps = node.find("steps");
        if (steps == nullptr) {
            m_diagnostics.error(node.mark, "phase '" + phase.id + "' has no 'steps'");
        } else if (expect_sequence(*steps, "'steps'")) {
            if (steps->items.empty())
                m_diagnostics.error(steps->mark, "phase '" + phase.id + "' has no steps");
            for (const Node& item : steps->items) {
                if (!expect_mapping(item, "a step")) continue;
                phase.steps.push_back(load_step(item, phase.id, false));
            }
        }
        // A step's own on_failure wins, then its phase's, then the runbook's.
        for (Step& step : phase.steps) {
            if (step.on_failure_from != "default") continue;
            if (phase.on_failure) {
                step.on_failure = *phase.on_failure;
                step.on_failure_from = "phase";
            } else if (book.on_failure) {
                step.on_failure = *book.on_failure;
                step.on_failure_from = "runbook";
            }
        }
        book.phases.push_back(std::move(phase));
    }

    Step load_step(const Node& node, const std::string& phase_id, bool is_rollback) {
        check_fields(node, k_step_fields, "in a step");
        Step step;
        step.mark = node.mark;
        step.phase_id = phase_id;
        step.is_rollback = is_rollback;
        step.definition_hash = sha256_hex(node_to_json(node).dump()).substr(0, 16);
        if (const Node* id = node.find("id")) {
            step.id = scalar(*id, "step 'id'");
            step.id_mark = id->mark;
            check_id(*id, "step");
        } else {
            step.id_mark = node.mark;
            m_diagnostics.error(node.mark, "a step needs an 'id'");
        }
        if (const Node* name = node.find("name")) step.name = scalar(*name, "step 'name'");
        if (const Node* kind = node.find("kind")) {
            step.kind = scalar(*kind, "'kind'");
            step.kind_mark = kind->mark;
        } else {
            m_diagnostics.error(node.mark, "step '" + step.id + "' has no 'kind'");
        }
        if (const Node* role = node.find("role")) {
            step.role = scalar(*role, "'role'");
            step.role_mark = role->mark;
        } else {
            step.role_mark = node.mark;
        }
        load_step_flow(node, step, is_rollback);
        step.with_mark = step.kind_mark;
        for (const auto& [key, value] : node.entries)
            if (key.value == "with") step.with_mark = key.mark;
        if (const Node* with = node.find("with")) {
            step.with = *with;
            if (!with->is_null()) expect_mapping(*with, "'with'");
        }
        if (const Node* instructions = node.find("instructions"))
            move_instructions(*instructions, step);
        return step;
    }

    // `instructions:` may stand on a manual step itself (as in the specification's example);
    // it is the same as `with: { instructions: ... }`. The validator, which knows the kinds,
    // refuses it on a step whose kind is not people's work.
    void move_instructions(const Node& instructions, Step& step) {
        if (step.with.find("instructions")) {
            m_diagnostics.error(
                instructions.mark,
                "step '" + step.id + "' has 'instructions' twice: here and in 'with'");
            return;
        }
        if (step.with.is_null()) {
            step.with.type = Node::Type::mapping;
            step.with.mark = instructions.mark;
        }
        if (!step.with.is_mapping()) return;
        Node key;
        key.type = Node::Type::scalar;
        key.value = "instructions";
        key.mark = instructions.mark;
        step.with.entries.emplace_back(key, instructions);
        step.instructions_mark = instructions.mark;
    }

    void load_step_flow(const Node& node, Step& step, bool is_rollback) {
        if (const Node* needs = node.find("needs")) {
            step.needs_given = true;
            if (needs->is_scalar()) {
                step.needs.push_back(needs->value);
                step.needs_marks.push_back(needs->mark);
            } else if (needs->is_sequence()) {
                for (const Node& item : needs->items) {
                    step.needs.push_back(scalar(item, "'needs' entry"));
                    step.needs_marks.push_back(item.mark);
                }
            } else if (!needs->is_null()) {
                m_diagnostics.error(
                    needs->mark,
                    "'needs' is a step id or a list of step ids, not " + needs->describe());
            }
            if (is_rollback)
                m_diagnostics.error(
                    needs->mark,
                    "rollback steps run in their listed order; 'needs' is not allowed there");
        }
        if (const Node* when = node.find("when"))
            step.when = Located{scalar(*when, "'when'"), when->mark, true};
        if (const Node* timeout = node.find("timeout"))
            step.timeout = duration(*timeout, "'timeout'");
        if (const Node* estimate = node.find("estimate")) load_estimate(*estimate, step);
        if (const Node* variability = node.find("variability")) {
            std::string text = scalar(*variability, "'variability'");
            double percent = -1;
            char unit = 0;
            int used = 0;
            if (std::sscanf(text.c_str(), "%lf%c%n", &percent, &unit, &used) == 2 && unit == '%' &&
                static_cast<std::size_t>(used) == text.size() && percent >= 0 && percent <= 1000)
                step.variability = percent / 100;
            else if (!text.empty())
                m_diagnostics.error(variability->mark,
                                    "'variability' is the P90's least margin over the P50, a "
                                    "percentage like 40%; found '" +
                                        text + "'");
        }
        if (const Node* retry = node.find("retry")) load_retry(*retry, step.retry);
        if (const Node* on_failure = node.find("on_failure")) {
            step.on_failure = failure_policy(*on_failure);
            step.on_failure_from = "step";
        }
        if (const Node* downtime = node.find("downtime")) {
            std::string value = choice(*downtime, {"start", "end", "none"}, "downtime");
            step.downtime = value == "start" ? DowntimeMarker::start
                            : value == "end" ? DowntimeMarker::end
                                             : DowntimeMarker::none;
            step.downtime_mark = downtime->mark;
            if (is_rollback && step.downtime == DowntimeMarker::start)
                m_diagnostics.error(downtime->mark,
                                    "a rollback step cannot open the downtime window; it may "
                                    "close it ('downtime: end': the service is back on the old "
                                    "system)");
        }
        if (const Node* scale = node.find("scale")) load_scale(*scale, step);
        if (const Node* rollback = node.find("rollback")) {
            if (is_rollback) {
                m_diagnostics.error(rollback->mark,
                                    "a rollback step cannot have its own 'rollback'");
            } else if (expect_sequence(*rollback, "'rollback'")) {
                for (const Node& item : rollback->items) {
                    if (!expect_mapping(item, "a rollback step")) continue;
                    Step undo = load_step(item, step.phase_id, true);
                    undo.rollback_of = step.id;
                    step.rollback.push_back(std::move(undo));
                }
            }
        }
    }

    void load_retry(const Node& node, RetryPolicy& retry) {
        if (!expect_mapping(node, "'retry'")) return;
        check_fields(node, k_retry_fields, "in 'retry'");
        if (const Node* attempts = node.find("attempts")) {
            std::string text = scalar(*attempts, "'attempts'");
            if (text.empty() || text[0] == '-' || !is_whole_number(text, 3) || std::stoi(text) < 1)
                m_diagnostics.error(
                    attempts->mark,
                    "'attempts' must be a whole number from 1 to 999, not '" + text + "'");
            else
                retry.attempts = std::stoi(text);
        }
        if (const Node* backoff = node.find("backoff"))
            retry.backoff = duration(*backoff, "'backoff'").value_or(retry.backoff);
        if (const Node* max_backoff = node.find("max_backoff"))
            retry.max_backoff = duration(*max_backoff, "'max_backoff'").value_or(retry.max_backoff);
        if (retry.max_backoff < retry.backoff) retry.max_backoff = retry.backoff;
    }

    void load_scale(const Node& node, Step& step) {
        if (!expect_mapping(node, "'scale'")) return;
        check_fields(node, k_scale_fields, "in 'scale'");
        ScaleSpec scale;
        scale.mark = node.mark;
        if (const Node* expect = node.find("expect")) scale.mark = expect->mark;
        if (const Node* metric = node.find("metric"))
            scale.metric = choice(*metric, k_scale_metrics, "scale metric");
        else
            m_diagnostics.error(node.mark,
                                "'scale' needs a 'metric' (bytes, rows, files or hosts)");
        if (const Node* expect = node.find("expect")) scale.expect = scalar(*expect, "'expect'");
        step.scale = scale;
    }

    // ---- field-level helpers ----

    bool expect_mapping(const Node& node, const std::string& what) {
        if (node.is_mapping()) return true;
        m_diagnostics.error(node.mark,
                            what + " must be a mapping (key: value), found " + node.describe());
        return false;
    }

    bool expect_sequence(const Node& node, const std::string& what) {
        if (node.is_sequence()) return true;
        m_diagnostics.error(node.mark, what + " must be a list, found " + node.describe());
        return false;
    }

    void check_fields(const Node& node, const std::vector<std::string>& allowed,
                      const std::string& where) {
        for (const auto& [key, value] : node.entries)
            if (std::find(allowed.begin(), allowed.end(), key.value) == allowed.end())
                m_diagnostics.error(key.mark, "unknown field '" + key.value + "' " + where +
                                                  did_you_mean(key.value, allowed));
    }

    std::string scalar(const Node& node, const std::string& what) {
        if (node.is_scalar()) return node.value;
        m_diagnostics.error(node.mark, what + " must be a single value, found " + node.describe());
        return "";
    }

    // `estimate: 15m`, or a three-point prior `estimate: { p50: 2h, p90: 4h }`.
    void load_estimate(const Node& node, Step& step) {
        if (!node.is_mapping()) {
            step.estimate = duration(node, "'estimate'");
            return;
        }
        check_fields(node, {"p50", "p90"}, "in 'estimate'");
        const Node* p50 = node.find("p50");
        if (p50 == nullptr) {
            m_diagnostics.error(node.mark,
                                "'estimate' as a mapping needs 'p50' (and may give 'p90')");
            return;
        }
        step.estimate = duration(*p50, "'estimate.p50'");
        if (const Node* p90 = node.find("p90")) {
            step.estimate_p90 = duration(*p90, "'estimate.p90'");
            if (step.estimate && step.estimate_p90 && *step.estimate_p90 < *step.estimate)
                m_diagnostics.error(p90->mark, "'estimate.p90' (" + p90->value +
                                                   ") is shorter than its p50 (" + p50->value +
                                                   ")");
        }
    }

    std::optional<Millis> duration(const Node& node, const std::string& what) {
        std::string text = scalar(node, what);
        if (text.empty() && !node.is_scalar()) return std::nullopt;
        auto parsed = parse_duration(text);
        if (!parsed)
            m_diagnostics.error(node.mark, "bad duration '" + text + "' for " + what +
                                               "; write it like 90s, 15m, 2h or 1h30m");
        return parsed;
    }

    std::string choice(const Node& node, const std::vector<std::string>& choices,
                       const std::string& what) {
        std::string text = scalar(node, what);
        if (!node.is_scalar()) return "";
        if (std::find(choices.begin(), choices.end(), text) == choices.end()) {
            m_diagnostics.error(node.mark, "unknown " + what + " '" + text +
                                               "' (one of: " + join(choices, ", ") + ")" +
                                               did_you_mean(text, choices));
            return "";
        }
        return text;
    }

    void check_id(const Node& node, const std::string& what) {
        if (node.is_scalar() && !valid_id(node.value))
            m_diagnostics.error(node.mark,
                                what + " id '" + shorten(node.value, 80) +
                                    "' must match [a-z0-9][a-z0-9_-]* (lowercase letters, "
                                    "digits, '-' and '_')");
    }

    const Document& m_document;
    Diagnostics& m_diagnostics;
    std::unordered_map<std::string, int> m_phase_lines;  // phase id -> line of its first
};

}  // namespace

Runbook load_runbook(const Document& document, Diagnostics& diagnostics) {
    return Loader(document, diagnostics).load();
}

}  // namespace migrate::runbook
