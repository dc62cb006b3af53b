// Finding and expanding ${...} references.
#include "migrate/runbook/interpolate.h"

#include <regex>
#include <set>

namespace migrate::runbook {
namespace {

Reference parse_reference(std::string_view body, std::size_t offset) {
    static const std::regex name("[A-Za-z_][A-Za-z0-9_]*");
    static const std::regex step_output("steps\\.([a-z0-9][a-z0-9_-]*)\\.([A-Za-z_][A-Za-z0-9_]*)");
    std::string text(body);
    Reference ref;
    ref.offset = offset;
    std::smatch match;
    if (text.rfind("env:", 0) == 0 || text.rfind("secret:", 0) == 0) {
        bool is_env = text[0] == 'e';
        ref.kind = is_env ? Reference::Kind::env : Reference::Kind::secret;
        ref.name = text.substr(is_env ? 4 : 7);
        if (!std::regex_match(ref.name, name))
            throw InterpolationError(
                "bad name in '${" + text + "}': names are letters, digits and '_'", offset);
    } else if (text.rfind("steps.", 0) == 0) {
        if (!std::regex_match(text, match, step_output))
            throw InterpolationError(
                "bad step output reference '${" + text + "}'; write ${steps.STEP_ID.OUTPUT}",
                offset);
        ref.kind = Reference::Kind::step_output;
        ref.step_id = match[1];
        ref.name = match[2];
    } else {
        if (!std::regex_match(text, name))
            throw InterpolationError("bad variable reference '${" + text +
                                         "}'; write ${name}, ${env:NAME}, "
                                         "${secret:NAME} or ${steps.ID.OUTPUT}",
                                     offset);
        ref.name = text;
    }
    return ref;
}

// Calls `on_ref` for each reference and `on_text` for the literal text between them.
template <typename OnText, typename OnRef>
void scan(std::string_view text, OnText on_text, OnRef on_ref) {
    std::size_t pos = 0;
    while (pos < text.size()) {
        std::size_t dollar = text.find('$', pos);
        if (dollar == std::string_view::npos || dollar + 1 >= text.size()) {
            on_text(text.substr(pos));
            return;
        }
        if (text.compare(dollar, 3, "$${") == 0) {  // escaped
            on_text(text.substr(pos, dollar - pos));
            on_text("${");
            pos = dollar + 3;
            continue;
        }
        if (text[dollar + 1] != '{') {
            on_text(text.substr(pos, dollar + 1 - pos));
            pos = dollar + 1;
            continue;
        }
        on_text(text.substr(pos, dollar - pos));
        std::size_t close = text.find('}', dollar + 2);
        if (close == std::string_view::npos)
            throw InterpolationError("'${' is not closed by '}' (write $${ for a literal ${)",
                                     dollar);
        on_ref(parse_reference(text.substr(dollar + 2, close - dollar - 2), dollar));
        pos = close + 1;
    }
}

}  // namespace

std::vector<Reference> find_references(std::string_view text) {
    std::vector<Reference> refs;
    scan(
        text, [](std::string_view) {}, [&](const Reference& ref) { refs.push_back(ref); });
    return refs;
}

bool has_references(std::string_view text) { return text.find("${") != std::string_view::npos; }

std::string expand(std::string_view text, const Lookup& lookup) {
    std::string out;
    scan(
        text, [&](std::string_view literal) { out += literal; },
        [&](const Reference& ref) {
            std::optional<std::string> value = lookup(ref);
            if (!value) {
                std::string what =
                    ref.kind == Reference::Kind::env
                        ? "environment variable '" + ref.name + "' is not set"
                    : ref.kind == Reference::Kind::secret
                        ? "secret '" + ref.name +
                              "' is not set (export it, or put it in the --secrets file)"
                    : ref.kind == Reference::Kind::step_output
                        ? "step '" + ref.step_id + "' has no output '" + ref.name + "'"
                        : "undefined variable '" + ref.name + "'";
                throw InterpolationError(what, ref.offset);
            }
            out += *value;
        });
    return out;
}

std::map<std::string, std::string> resolve_variables(
    const std::map<std::string, std::string>& values, const Lookup& outer,
    std::string& failed_var) {
    std::map<std::string, std::string> resolved;
    std::vector<std::string> stack;
    std::function<std::string(const std::string&)> resolve =
        [&](const std::string& name) -> std::string {
        if (auto done = resolved.find(name); done != resolved.end()) return done->second;
        if (std::find(stack.begin(), stack.end(), name) != stack.end()) {
            std::string cycle;
            for (auto it = std::find(stack.begin(), stack.end(), name); it != stack.end(); ++it)
                cycle += *it + " -> ";
            failed_var = name;
            throw InterpolationError("variables refer to each other in a cycle: " + cycle + name,
                                     0);
        }
        stack.push_back(name);
        const std::string& raw = values.at(name);
        std::string value;
        try {
            value = expand(raw, [&](const Reference& ref) -> std::optional<std::string> {
                if (ref.kind == Reference::Kind::var && values.count(ref.name))
                    return resolve(ref.name);
                return outer(ref);
            });
        } catch (const InterpolationError&) {
            if (failed_var.empty()) failed_var = name;
            throw;
        }
        stack.pop_back();
        resolved[name] = value;
        return value;
    };
    for (const auto& [name, raw] : values) resolve(name);
    return resolved;
}

}  // namespace migrate::runbook
