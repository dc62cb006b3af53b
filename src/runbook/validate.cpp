// Semantic checks of a runbook.
#include "migrate/runbook/validate.h"

#include <algorithm>
#include <filesystem>
#include <optional>
#include <set>
#include <unordered_map>

#include "migrate/runbook/graph.h"
#include "migrate/runbook/interpolate.h"
#include "migrate/runbook/inventory.h"
#include "migrate/util/error.h"
#include "migrate/util/text.h"

namespace migrate::runbook {

const std::vector<std::string>& builtin_variable_names() {
    static const std::vector<std::string> k_names = {"env", "mode", "runbook_dir", "run_id"};
    return k_names;
}

std::map<std::string, std::string> raw_variables(
    const Runbook& book, const std::string& env, const std::map<std::string, std::string>& sets,
    const std::map<std::string, std::string>& builtins) {
    std::map<std::string, std::string> values;
    for (const auto& [name, located] : book.vars) values[name] = located.text;
    if (auto it = book.environments.find(env); it != book.environments.end())
        for (const auto& [name, located] : it->second.vars) values[name] = located.text;
    for (const auto& [name, value] : sets) values[name] = value;
    for (const auto& [name, value] : builtins) values[name] = value;
    return values;
}

Mark reference_mark(const SourceFile& source, const Mark& node_mark, const std::string& value,
                    std::size_t offset) {
    // The reference's own text, and which occurrence of it in the value this is; then the
    // same occurrence in the source from the node on. This finds it in block scalars and
    // in strings with escapes, where value offsets and source columns differ.
    std::size_t close = value.find('}', offset);
    if (close == std::string::npos) close = value.size() - 1;
    std::string needle = value.substr(offset, close - offset + 1);
    int occurrence = 0;
    for (std::size_t pos = value.find(needle); pos != std::string::npos && pos < offset;
         pos = value.find(needle, pos + 1))
        ++occurrence;
    const std::string& text = source.text();
    std::size_t from = source.offset_of(node_mark);
    std::size_t limit = std::min(text.size(), from + value.size() * 2 + 4096);
    for (std::size_t pos = text.find(needle, from); pos != std::string::npos && pos < limit;
         pos = text.find(needle, pos + 1))
        if (occurrence-- == 0) return source.mark_of_offset(pos);
    return node_mark;
}

namespace {

// The "${...}" at `at` up to its '}', when it can be a valid reference's text (no '$'
// inside, so such texts never overlap); empty otherwise.
std::string_view reference_text(std::string_view text, std::size_t at, std::size_t limit) {
    std::size_t end = std::min(limit, text.size());
    for (std::size_t pos = at + 2; pos < end; ++pos) {
        if (text[pos] == '}') return text.substr(at, pos - at + 1);
        if (text[pos] == '$') return {};
    }
    return {};
}

}  // namespace

std::vector<Mark> reference_marks(const SourceFile& source, const Mark& node_mark,
                                  const std::string& value,
                                  const std::vector<std::size_t>& offsets) {
    // As reference_mark for each offset (the n-th occurrence of the reference's text in the
    // value is its n-th occurrence in the source from the node on), in one pass over each.
    std::unordered_map<std::string_view, std::size_t> seen_in_value;
    std::unordered_map<std::size_t, std::size_t> occurrence;  // offset -> its occurrence
    std::unordered_map<std::string_view, std::size_t> wanted;
    for (std::size_t offset : offsets)
        wanted.emplace(reference_text(value, offset, value.size()), 0);
    for (std::size_t pos = value.find("${"); pos != std::string::npos;
         pos = value.find("${", pos + 1)) {
        std::string_view needle = reference_text(value, pos, value.size());
        if (needle.empty() || !wanted.count(needle)) continue;
        occurrence[pos] = seen_in_value[needle]++;
    }
    const std::string& text = source.text();
    std::size_t from = source.offset_of(node_mark);
    std::size_t limit = std::min(text.size(), from + value.size() * 2 + 4096);
    std::unordered_map<std::string_view, std::vector<std::size_t>> in_source;
    for (std::size_t pos = text.find("${", from); pos != std::string::npos && pos < limit;
         pos = text.find("${", pos + 1)) {
        std::string_view needle = reference_text(text, pos, limit);
        if (!needle.empty() && wanted.count(needle)) in_source[needle].push_back(pos);
    }
    std::vector<Mark> marks;
    for (std::size_t offset : offsets) {
        std::string_view needle = reference_text(value, offset, value.size());
        auto found = in_source.find(needle);
        std::size_t n = occurrence.count(offset) ? occurrence[offset] : 0;
        if (needle.empty() || found == in_source.end() || n >= found->second.size())
            marks.push_back(reference_mark(source, node_mark, value, offset));
        else
            marks.push_back(source.mark_of_offset(found->second[n]));
    }
    return marks;
}

namespace {

class Validator {
public:
    Validator(const Runbook& book, const KindSchemas& kinds, const ValidateOptions& options,
              Diagnostics& diagnostics)
        : m_book(book),
          m_kinds(kinds),
          m_options(options),
          m_diagnostics(diagnostics),
          m_graph(book) {
        for (const Step* step : m_graph.order()) m_ids.push_back(step->id);
        for (const Step* step : m_book.steps())
            for (const Step& undo : step->rollback) m_rollback_ids.insert(undo.id);
        m_role_names.push_back("executor");
        for (const auto& [name, description] : m_book.roles)
            if (name != "executor") m_role_names.push_back(name);
        if (m_book.connections.is_mapping())
            for (const auto& [key, connection] : m_book.connections.entries)
                m_connection_names.push_back(key.value);
        m_sorted_connections = m_connection_names;
        std::sort(m_sorted_connections.begin(), m_sorted_connections.end());
    }

    void run() {
        check_builtins_not_declared();
        check_ids();
        check_needs();
        check_roles();
        check_downtime();
        for (const Step* step : m_book.steps()) {
            check_kind(*step);
            for (const Step& undo : step->rollback) {
                check_kind(undo);
                check_role(undo);
            }
        }
        check_variables();
    }

private:
    // "; did you mean ...?" costs an edit distance per candidate: past a budget (thousands
    // of unknown names among thousands of steps) the hint is left out, so that validation
    // stays linear in the runbook's size.
    std::string suggest(std::string_view word, const std::vector<std::string>& candidates) {
        if (candidates.size() > m_suggestion_budget) return "";
        m_suggestion_budget -= candidates.size();
        return did_you_mean(word, candidates);
    }

    void error(Mark mark, const std::string& message) {
        if (m_reported
                .insert(std::to_string(mark.line) + ":" + std::to_string(mark.column) + message)
                .second)
            m_diagnostics.error(mark, message);
    }

    void check_builtins_not_declared() {
        auto check = [&](const std::map<std::string, Located>& vars) {
            for (const std::string& name : builtin_variable_names())
                if (auto it = vars.find(name); it != vars.end())
                    error(it->second.mark,
                          "'" + name + "' is a built-in variable and cannot be declared");
        };
        check(m_book.vars);
        for (const auto& [name, env] : m_book.environments) check(env.vars);
        if (m_options.env && !m_book.environments.empty() &&
            !m_book.environments.count(*m_options.env)) {
            std::vector<std::string> names;
            for (const auto& [name, env] : m_book.environments) names.push_back(name);
            error(Mark{}, "unknown environment '" + *m_options.env + "' (declared: " +
                              join(names, ", ") + ")" + did_you_mean(*m_options.env, names));
        }
    }

    void check_ids() {
        std::map<std::string, Mark> seen;
        auto check = [&](const Step& step) {
            if (step.id.empty()) return;
            auto [it, inserted] = seen.emplace(step.id, step.id_mark);
            if (!inserted)
                error(step.id_mark, "duplicate step id '" + step.id + "' (first at line " +
                                        std::to_string(it->second.line) + ")");
        };
        for (const Step* step : m_book.steps()) {
            check(*step);
            for (const Step& undo : step->rollback) check(undo);
        }
    }

    void check_needs() {
        for (const Step* step : m_book.steps())
            for (std::size_t i = 0; i < step->needs.size(); ++i) {
                const std::string& need = step->needs[i];
                if (need == step->id)
                    error(step->needs_marks[i], "step '" + step->id + "' needs itself");
                else if (m_graph.contains(need))
                    continue;
                else if (m_rollback_ids.count(need))
                    error(
                        step->needs_marks[i],
                        "step '" + step->id + "' needs '" + need +
                            "', which is a rollback step; rollback steps run only after a failure");
                else
                    error(step->needs_marks[i], "step '" + step->id + "' needs unknown step '" +
                                                    shorten(need, 80) + "'" + suggest(need, m_ids));
            }
        std::vector<std::string> cycle = m_graph.find_cycle();
        if (!cycle.empty()) {
            const Step* first = m_graph.step(cycle.front());
            error(first->needs_marks.empty() ? first->mark : first->needs_marks.front(),
                  "steps need each other in a cycle: " + join(cycle, " -> "));
        }
    }

    // The engine's go/no-go at the point of no return is journaled under this id.
    void check_reserved_id(const Step& step) {
        if (step.id == "point-of-no-return")
            error(step.id_mark,
                  "step id 'point-of-no-return' is reserved: the engine journals "
                  "its go/no-go at window.must_end_by under it; choose another id");
    }

    void check_role(const Step& step) {
        if (step.role == "executor" || m_book.roles.count(step.role)) return;
        error(step.role_mark,
              "role '" + step.role + "' of step '" + step.id +
                  "' is not declared under 'roles' (declared: " + join(m_role_names, ", ") + ")" +
                  suggest(step.role, m_role_names));
    }

    void check_roles() {
        for (const Step* step : m_book.steps()) {
            check_role(*step);
            check_reserved_id(*step);
        }
    }

    void check_downtime() {
        const Step* start = nullptr;
        const Step* end = nullptr;
        for (const Step* step : m_book.steps()) {
            const Step*& slot = step->downtime == DowntimeMarker::start ? start : end;
            if (step->downtime == DowntimeMarker::none) continue;
            std::string which = step->downtime == DowntimeMarker::start ? "start" : "end";
            if (slot != nullptr)
                error(step->downtime_mark, "a second 'downtime: " + which + "' (step '" + step->id +
                                               "'); the window already " + which + "s at step '" +
                                               slot->id + "'");
            else
                slot = step;
        }
        if (end && !start)
            error(end->downtime_mark,
                  "'downtime: end' at step '" + end->id + "' but no step has 'downtime: start'");
        if (start && end && start != end && !m_graph.depends_on(end->id, start->id))
            error(end->downtime_mark, "the downtime window ends at step '" + end->id +
                                          "', which does not run after its start at step '" +
                                          start->id + "'; add it to 'needs' or move the markers");
        for (const Step* step : m_book.steps())
            for (const Step& undo : step->rollback)
                if (undo.downtime == DowntimeMarker::end && !start)
                    error(undo.downtime_mark, "rollback step '" + undo.id +
                                                  "' closes the downtime window but no step has "
                                                  "'downtime: start'");
        if (m_book.window && !start)
            error(m_book.window->mark,
                  "'window.must_end_by' needs a downtime window: no step has 'downtime: start'");
        if (m_book.window && !m_book.window->decided_by.empty() &&
            m_book.window->decided_by != "executor" &&
            !m_book.roles.count(m_book.window->decided_by))
            error(m_book.window->on_deadline_mark,
                  "'window.decided_by' role '" + m_book.window->decided_by +
                      "' is not declared under 'roles' (declared: " + join(m_role_names, ", ") +
                      ")" + suggest(m_book.window->decided_by, m_role_names));
        if (start && !end)
            m_diagnostics.warning(
                start->downtime_mark,
                "the downtime window starts at step '" + start->id +
                    "' but no step has 'downtime: end'; it lasts until the run ends");
    }

    void check_kind(const Step& step) {
        if (step.kind.empty()) return;
        const KindSchema* kind = find_schema(m_kinds, step.kind);
        if (kind == nullptr) {
            std::vector<std::string> names = schema_names(m_kinds);
            error(step.kind_mark, "unknown kind '" + step.kind + "'" + suggest(step.kind, names) +
                                      " (kinds: " + join(names, ", ") + ")");
            return;
        }
        if (!step.with.is_null() && !step.with.is_mapping()) return;  // reported by the loader
        std::vector<std::string> names;
        for (const ParamSpec& param : kind->params) names.push_back(param.name);
        for (const auto& [key, value] : step.with.entries) {
            if (key.value == "instructions" && step.instructions_mark &&
                key.mark == *step.instructions_mark && !kind->people) {
                error(key.mark, "'instructions' belongs to manual steps; step '" + step.id +
                                    "' is of kind '" + kind->name + "'");
                continue;
            }
            const std::string& name = key.value;  // clang 14 cannot capture a binding
            auto spec = std::find_if(kind->params.begin(), kind->params.end(),
                                     [&](const ParamSpec& p) { return p.name == name; });
            if (spec == kind->params.end()) {
                error(key.mark, "unknown parameter '" + key.value + "' for kind '" + kind->name +
                                    "'" + suggest(key.value, names) +
                                    " (parameters: " + join(names, ", ") + ")");
                continue;
            }
            check_param(*spec, value);
            if (spec->type == ParamType::step && value.is_scalar() && !has_references(value.value))
                check_step_reference(step, *spec, value);
        }
        for (const ParamSpec& param : kind->params)
            if (param.required && !step.with.find(param.name))
                error(step.with_mark, "step '" + step.id + "' of kind '" + kind->name +
                                          "' needs 'with." + param.name + "' (" + param.help + ")");
        if (kind->check) {
            // Checks point at `with`; when there is none, at the step's kind.
            runbook::Node with = step.with;
            if (with.is_null()) with.mark = step.kind_mark;
            kind->check(with, m_diagnostics);
        }
        if (kind->warn_without_timeout && !step.timeout)
            m_diagnostics.warning(step.kind_mark,
                                  "step '" + step.id + "' (kind " + kind->name +
                                      ") has no 'timeout'; it will wait as long as it takes");
    }

    void check_param(const ParamSpec& spec, const Node& value) {
        std::string what = "parameter '" + spec.name + "'";
        switch (spec.type) {
            case ParamType::any:
                return;
            case ParamType::string_list:
                if (value.is_scalar()) return;
                if (!value.is_sequence())
                    return error(value.mark, what + " must be a list, found " + value.describe());
                for (const Node& item : value.items)
                    if (!item.is_scalar())
                        error(item.mark,
                              what + " must list single values, found " + item.describe());
                return;
            case ParamType::string_map:
                if (!value.is_mapping())
                    return error(value.mark,
                                 what + " must be a mapping, found " + value.describe());
                for (const auto& [k, item] : value.entries)
                    if (!item.is_scalar() && !item.is_null())
                        error(item.mark, what + "." + k.value + " must be a single value, found " +
                                             item.describe());
                return;
            default:
                if (!value.is_scalar())
                    return error(value.mark,
                                 what + " must be a single value, found " + value.describe());
                if (has_references(value.value)) return;  // checked once interpolated, at run time
                if (std::string problem = check_scalar(spec.type, value.value, spec.choices);
                    !problem.empty())
                    error(value.mark, what + ": " + problem);
                if (spec.type == ParamType::connection) check_connection_name(value);
        }
    }

    // A step named by a parameter: it exists, is of a kind the parameter accepts, and runs
    // before the step that names it (or is the step a rollback step undoes).
    void check_step_reference(const Step& step, const ParamSpec& spec, const Node& value) {
        const std::string& id = value.value;
        const Step* named = m_graph.step(id);
        std::string what = "parameter '" + spec.name + "'";
        if (named == nullptr) {
            error(value.mark,
                  what + (m_rollback_ids.count(id)
                              ? ": '" + id + "' is a rollback step; name the step it belongs to"
                              : ": unknown step '" + shorten(id, 80) + "'" + suggest(id, m_ids)));
            return;
        }
        if (!spec.choices.empty() && std::find(spec.choices.begin(), spec.choices.end(),
                                               named->kind) == spec.choices.end()) {
            error(value.mark, what + ": step '" + id + "' is of kind '" + named->kind + "', not " +
                                  join(spec.choices, " or "));
            return;
        }
        const std::string& user = step.is_rollback ? step.rollback_of : step.id;
        if (user == id && !step.is_rollback)
            error(value.mark, what + ": step '" + step.id + "' names itself");
        else if (user != id && !depends_on(user, id))
            error(value.mark, what + ": step '" + step.id + "' names step '" + id +
                                  "', which does not run before it; add '" + id +
                                  "' to its 'needs'");
    }

    void check_connection_name(const Node& value) {
        const std::vector<std::string>& names = m_connection_names;
        if (std::binary_search(m_sorted_connections.begin(), m_sorted_connections.end(),
                               value.value))
            return;
        error(value.mark,
              "unknown connection '" + value.value + "'" + suggest(value.value, names) +
                  (names.empty() ? " (no connections are declared; add it under 'connections:')"
                                 : " (declared: " + join(names, ", ") + ")"));
    }

    // ---- variables, per environment ----

    void check_variables() {
        // An unknown --env was reported; its variables would only add noise.
        if (m_options.env && !m_book.environments.empty() &&
            !m_book.environments.count(*m_options.env))
            return;
        std::vector<std::string> envs;
        if (m_options.env)
            envs.push_back(*m_options.env);
        else
            for (const auto& [name, env] : m_book.environments) envs.push_back(name);
        if (envs.empty()) envs.push_back("");
        for (const std::string& env : envs) check_environment(env, envs.size() > 1);
    }

    void check_environment(const std::string& env, bool name_env) {
        m_env_label = name_env ? " (environment '" + env + "')" : "";
        std::map<std::string, std::string> builtins;
        for (const std::string& name : builtin_variable_names()) builtins[name] = "<" + name + ">";
        // The environment checked is the one a run with --env would have.
        if (!env.empty()) builtins["env"] = env;
        m_placeholders.clear();
        for (const auto& [name, value] : builtins)
            if (value == "<" + name + ">") m_placeholders.push_back(value);
        m_placeholders.push_back("<deferred>");
        std::map<std::string, std::string> raw =
            raw_variables(m_book, env, m_options.sets, builtins);
        m_var_names.clear();
        for (const auto& [name, value] : raw) m_var_names.push_back(name);
        std::string failed;
        try {
            m_vars = resolve_variables(
                raw,
                [](const Reference& ref) -> std::optional<std::string> {
                    if (ref.kind == Reference::Kind::var) return std::nullopt;
                    return "<deferred>";
                },
                failed);
        } catch (const InterpolationError& e) {
            report_variable_error(env, failed, e);
            m_vars = raw;
        }
        for (const Step* step : m_book.steps()) {
            check_step_references(*step);
            for (const Step& undo : step->rollback) check_step_references(undo);
        }
        check_node_references(m_book.connections, nullptr);
        check_node_references(m_book.hosts, nullptr);
        check_inventory();
    }

    // The inventory of this environment, when its values are known before the run, and every
    // literal host pattern of a step against it.
    void check_inventory() {
        struct Deferred {};
        auto expand_node = [&](const Node& node) {
            return expand(node.value, [&](const Reference& ref) -> std::optional<std::string> {
                if (ref.kind == Reference::Kind::var && m_vars.count(ref.name)) {
                    // A variable built on what only the run knows (a secret, the process
                    // environment, the run's id) is known at run time only.
                    const std::string& value = m_vars.at(ref.name);
                    for (const std::string& placeholder : m_placeholders)
                        if (value.find(placeholder) != std::string::npos) throw Deferred{};
                    return value;
                }
                throw Deferred{};
            });
        };
        std::optional<Inventory> inventory;
        Diagnostics found(m_book.source);
        try {
            std::string dir = std::filesystem::path(m_book.source->path()).parent_path().string();
            inventory = build_inventory(m_book.hosts, expand_node, dir, found, m_env_label);
        } catch (const Deferred&) {
            return;  // known at run time only (a secret or the process environment)
        } catch (const InterpolationError&) {
            return;  // reported with the references
        }
        for (const Diagnostic& item : found.all()) error(item.mark, item.message);
        if (!inventory) return;
        auto check_step = [&](const Step& step) {
            const KindSchema* kind = find_schema(m_kinds, step.kind);
            if (kind == nullptr || !step.with.is_mapping()) return;
            for (const ParamSpec& spec : kind->params) {
                if (spec.type != ParamType::hosts) continue;
                const Node* value = step.with.find(spec.name);
                if (value == nullptr || !value->is_scalar()) continue;
                std::string pattern;
                try {
                    pattern = expand_node(*value);
                } catch (...) {
                    continue;
                }
                try {
                    if (select_hosts(*inventory, pattern).empty())
                        error(value->mark, "host pattern '" + shorten(pattern, 80) +
                                               "' selects no host" + m_env_label);
                } catch (const InventoryError& e) {
                    Mark at = value->mark;
                    if (pattern == value->value && e.column > 0)
                        at.column += e.column - 1 + (value->quoted ? 1 : 0);
                    error(at, "in host pattern '" + shorten(pattern, 80) + "': " + e.what() +
                                  m_env_label);
                }
            }
        };
        for (const Step* step : m_book.steps()) {
            check_step(*step);
            for (const Step& undo : step->rollback) check_step(undo);
        }
    }

    void report_variable_error(const std::string& env, const std::string& failed,
                               const InterpolationError& e) {
        const Located* where = nullptr;
        if (auto it = m_book.environments.find(env);
            it != m_book.environments.end() && it->second.vars.count(failed))
            where = &it->second.vars.at(failed);
        else if (m_book.vars.count(failed))
            where = &m_book.vars.at(failed);
        std::string message = e.what();
        if (message.rfind("undefined variable", 0) == 0) {
            std::string name = message.substr(message.find('\'') + 1);
            name.pop_back();
            message += did_you_mean(name, m_var_names);
        }
        if (where)
            error(reference_mark(*m_book.source, where->mark, where->text, e.offset()),
                  "in variable '" + failed + "': " + message + m_env_label);
        else
            error(Mark{}, "in --set " + failed + ": " + message);
    }

    void check_step_references(const Step& step) {
        if (step.when.present) {
            check_text_references(step.when.text, step.when.mark, &step);
            check_condition(step);
        }
        if (step.scale) {
            check_text_references(step.scale->expect, step.scale->mark, &step);
            check_expected_volume(step);
        }
        check_node_references(step.with, &step);
    }

    // A literal volume (or one made of variables) must read as a number or a size.
    void check_expected_volume(const Step& step) {
        const std::string& expect = step.scale->expect;
        if (expect.empty()) return;
        try {
            std::string expanded =
                expand(expect, [&](const Reference& ref) -> std::optional<std::string> {
                    if (ref.kind == Reference::Kind::var && m_vars.count(ref.name))
                        return m_vars.at(ref.name);
                    throw InterpolationError("deferred", ref.offset);
                });
            if (!parse_size(expanded))
                error(step.scale->mark, "scale.expect '" + expanded +
                                            "' is not a number or a size (write it like 35GB, "
                                            "1.5GiB or 120000)" +
                                            m_env_label);
        } catch (const InterpolationError&) {
            // unknown until run time, or reported as an undefined variable
        }
    }

    void check_condition(const Step& step) {
        try {
            std::string expanded =
                expand(step.when.text, [&](const Reference& ref) -> std::optional<std::string> {
                    if (ref.kind == Reference::Kind::var && m_vars.count(ref.name))
                        return m_vars.at(ref.name);
                    return "x";
                });
            evaluate_condition(expanded);
        } catch (const UsageError& e) {
            error(step.when.mark, std::string("bad 'when' condition: ") + e.what());
        } catch (const InterpolationError&) {
            // reported by check_text_references
        }
    }

    void check_node_references(const Node& node, const Step* step) {
        if (node.is_scalar()) check_text_references(node.value, node.mark, step);
        for (const Node& item : node.items) check_node_references(item, step);
        for (const auto& [key, value] : node.entries) check_node_references(value, step);
    }

    void check_text_references(const std::string& text, Mark mark, const Step* step) {
        if (!has_references(text)) return;
        std::vector<Reference> refs;
        try {
            refs = find_references(text);
        } catch (const InterpolationError& e) {
            error(reference_mark(*m_book.source, mark, text, e.offset()), e.what());
            return;
        }
        // Positions are found only for the references that need one, all at once: a value
        // may hold 100,000 of them. An undefined name is reported once per value.
        std::vector<const Reference*> undefined;
        std::vector<std::pair<const Reference*, std::string>> outputs;
        std::map<std::string_view, std::size_t> undefined_uses;
        for (const Reference& ref : refs) {
            if (ref.kind == Reference::Kind::var && !m_vars.count(ref.name) &&
                undefined_uses[ref.name]++ == 0)
                undefined.push_back(&ref);
            if (ref.kind != Reference::Kind::step_output) continue;
            if (std::optional<std::string> problem = output_problem(ref, step))
                outputs.emplace_back(&ref, std::move(*problem));
        }
        std::vector<std::size_t> offsets;
        for (const Reference* ref : undefined) offsets.push_back(ref->offset);
        for (const auto& [ref, problem] : outputs) offsets.push_back(ref->offset);
        if (offsets.empty()) return;
        std::vector<Mark> marks = reference_marks(*m_book.source, mark, text, offsets);
        for (std::size_t i = 0; i < undefined.size(); ++i) {
            const std::string& name = undefined[i]->name;
            std::size_t more = undefined_uses[name] - 1;
            error(marks[i],
                  "undefined variable '" + shorten(name, 80) + "'" + suggest(name, m_var_names) +
                      (more ? " (used " + std::to_string(more + 1) + " times here)" : "") +
                      m_env_label);
        }
        for (std::size_t i = 0; i < outputs.size(); ++i)
            error(marks[undefined.size() + i], outputs[i].second);
    }

    bool depends_on(const std::string& user, const std::string& source) {
        auto [it, inserted] = m_depends_on.try_emplace(user + '\n' + source, false);
        if (inserted) it->second = m_graph.depends_on(user, source);
        return it->second;
    }

    // What is wrong with a ${steps.ID.NAME} in `step` (or outside any step), if anything.
    std::optional<std::string> output_problem(const Reference& ref, const Step* step) {
        std::string written =
            "'${steps." + shorten(ref.step_id, 80) + "." + shorten(ref.name, 80) + "}'";
        const Step* source = m_graph.step(ref.step_id);
        if (source == nullptr)
            return written + " refers to unknown step '" + shorten(ref.step_id, 80) + "'" +
                   suggest(ref.step_id, m_ids);
        if (step == nullptr)
            return "step outputs are not known before the run; " + written +
                   " can only be used inside a step";
        const std::string& user = step->is_rollback ? step->rollback_of : step->id;
        if (user == source->id && !step->is_rollback)
            return "step '" + step->id + "' uses its own output '" + shorten(ref.name, 80) + "'";
        if (user != source->id && !depends_on(user, source->id))
            return "step '" + step->id + "' uses an output of step '" + source->id +
                   "', which does not run before it; add '" + source->id + "' to its 'needs'";
        if (const KindSchema* kind = find_schema(m_kinds, source->kind)) {
            if (ref.name.rfind("hosts.", 0) == 0 && !kind->host_outputs.empty()) {
                std::string field = ref.name.substr(ref.name.rfind('.') + 1);
                if (ref.name.size() > 6 + field.size() + 1 &&
                    std::find(kind->host_outputs.begin(), kind->host_outputs.end(), field) !=
                        kind->host_outputs.end())
                    return std::nullopt;
                return "step '" + source->id + "' (kind " + kind->name + ") has no host output '" +
                       shorten(ref.name, 80) + "'; write ${steps." + source->id +
                       ".hosts.HOST.FIELD} with FIELD one of " + join(kind->host_outputs, ", ");
            }
            std::vector<std::string> outputs = outputs_of(*kind, source->with);
            if (std::find(outputs.begin(), outputs.end(), ref.name) == outputs.end())
                return "step '" + source->id + "' (kind " + kind->name + ") has no output '" +
                       shorten(ref.name, 80) + "'" + suggest(ref.name, outputs) +
                       " (outputs: " + (outputs.empty() ? "none" : join(outputs, ", ")) + ")";
        }
        return std::nullopt;
    }

    const Runbook& m_book;
    const KindSchemas& m_kinds;
    const ValidateOptions& m_options;
    Diagnostics& m_diagnostics;
    StepGraph m_graph;
    std::set<std::string> m_reported;
    std::map<std::string, std::string> m_vars;
    std::vector<std::string> m_var_names;
    std::string m_env_label;
    std::vector<std::string> m_placeholders;  // values standing for what only a run knows
    std::vector<std::string> m_ids;           // of the steps that run (not rollback steps)
    std::set<std::string> m_rollback_ids;
    std::vector<std::string> m_role_names;
    std::vector<std::string> m_connection_names;         // in file order, for messages
    std::vector<std::string> m_sorted_connections;       // to look them up
    std::unordered_map<std::string, bool> m_depends_on;  // "user\nsource": does it run after
    std::size_t m_suggestion_budget = 100'000;           // candidates compared for "did you mean"
};

}  // namespace

void validate_runbook(const Runbook& book, const KindSchemas& kinds, const ValidateOptions& options,
                      Diagnostics& diagnostics) {
    Validator(book, kinds, options, diagnostics).run();
}

LoadedRunbook load_and_validate(const std::string& path, const KindSchemas& kinds,
                                const ValidateOptions& options) {
    std::shared_ptr<SourceFile> source = read_source(path);
    LoadedRunbook loaded{std::make_shared<Diagnostics>(source), {}};
    Document document{source, parse_document(*source, *loaded.diagnostics)};
    if (loaded.diagnostics->has_errors()) {
        loaded.book.source = source;
        return loaded;
    }
    loaded.book = load_runbook(document, *loaded.diagnostics);
    validate_runbook(loaded.book, kinds, options, *loaded.diagnostics);
    loaded.diagnostics->sort_by_position();
    return loaded;
}

}  // namespace migrate::runbook
