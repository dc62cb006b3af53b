// Finding and expanding ${...} references.
#include "migrate/runbook/interpolate.h"

#include <algorithm>
#include <cctype>
#include <unordered_map>

#include "migrate/util/text.h"

namespace migrate::runbook {
namespace {

// The reference as written, shortened for a message: a name can be any length.
std::string quoted(std::string_view body) { return "'${" + shorten(body, 80) + "}'"; }

// hosts.HOST.FIELD: one host's output of a step that works on many (a host name may hold dots).
bool is_host_output(std::string_view name) {
    if (name.rfind("hosts.", 0) != 0) return false;
    std::size_t last = name.rfind('.');
    if (last <= 6 || !is_name(name.substr(last + 1))) return false;
    for (char c : name.substr(6, last - 6))
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_'))
            return false;
    return true;
}

Reference parse_reference(std::string_view body, std::size_t offset) {
    Reference ref;
    ref.offset = offset;
    if (body.rfind("env:", 0) == 0 || body.rfind("secret:", 0) == 0) {
        bool is_env = body[0] == 'e';
        ref.kind = is_env ? Reference::Kind::env : Reference::Kind::secret;
        ref.name = body.substr(is_env ? 4 : 7);
        if (!is_name(ref.name))
            throw InterpolationError(
                "bad name in " + quoted(body) + ": names are letters, digits and '_'", offset);
    } else if (body.rfind("steps.", 0) == 0) {
        std::string_view rest = body.substr(6);
        std::size_t id = scan_id(rest);
        if (id == 0 || id >= rest.size() || rest[id] != '.' ||
            !(is_name(rest.substr(id + 1)) || is_host_output(rest.substr(id + 1))))
            throw InterpolationError(
                "bad step output reference " + quoted(body) + "; write ${steps.STEP_ID.OUTPUT}",
                offset);
        ref.kind = Reference::Kind::step_output;
        ref.step_id = rest.substr(0, id);
        ref.name = rest.substr(id + 1);
    } else {
        if (!is_name(body))
            throw InterpolationError("bad variable reference " + quoted(body) +
                                         "; write ${name}, ${env:NAME}, "
                                         "${secret:NAME} or ${steps.ID.OUTPUT}",
                                     offset);
        ref.name = body;
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

std::string missing_reference(const Reference& ref) {
    switch (ref.kind) {
        case Reference::Kind::env:
            return "environment variable '" + ref.name + "' is not set";
        case Reference::Kind::secret:
            return "secret '" + ref.name +
                   "' is not set (export it, or put it in the --secrets file)";
        case Reference::Kind::step_output:
            return "step '" + ref.step_id + "' has no output '" + ref.name + "'";
        case Reference::Kind::var:
            break;
    }
    return "undefined variable '" + ref.name + "'";
}

std::string expand(std::string_view text, const Lookup& lookup) {
    std::string out;
    scan(
        text, [&](std::string_view literal) { out += literal; },
        [&](const Reference& ref) {
            std::optional<std::string> value = lookup(ref);
            if (!value) throw InterpolationError(missing_reference(ref), ref.offset);
            out += *value;
            // Variables that each repeat the one before would otherwise grow exponentially.
            if (out.size() > k_max_expanded_bytes)
                throw InterpolationError("the value expands to more than " +
                                             std::to_string(k_max_expanded_bytes >> 20) + " MiB",
                                         ref.offset);
        });
    return out;
}

std::string output_placeholder(const Reference& ref) {
    return "<" + ref.step_id + "." + ref.name + ">";
}

namespace {

// The length of a placeholder "<ID.NAME>" at the start of `text`, or 0.
std::size_t scan_placeholder(std::string_view text) {
    if (text.empty() || text[0] != '<') return 0;
    std::size_t id = scan_id(text.substr(1));
    if (id == 0 || 1 + id >= text.size() || text[1 + id] != '.') return 0;
    std::size_t name = scan_name(text.substr(2 + id));
    std::size_t close = 2 + id + name;
    return name > 0 && close < text.size() && text[close] == '>' ? close + 1 : 0;
}

}  // namespace

bool is_output_placeholder(std::string_view text) {
    return !text.empty() && scan_placeholder(text) == text.size();
}

bool contains_output_placeholder(std::string_view text) {
    for (std::size_t at = text.find('<'); at != std::string_view::npos; at = text.find('<', at + 1))
        if (scan_placeholder(text.substr(at)) > 0) return true;
    return false;
}

// Depth first with an explicit stack (a chain of 100,000 variables must not deepen the
// call stack), each variable expanded once, after the variables it uses.
std::map<std::string, std::string> resolve_variables(
    const std::map<std::string, std::string>& values, const Lookup& outer,
    std::string& failed_var) {
    enum class State { unseen, open, done };
    struct Frame {
        const std::string* name;
        std::vector<Reference> refs;
        std::size_t next = 0;
    };
    std::map<std::string, std::string> resolved;
    std::unordered_map<std::string_view, State> state;
    std::vector<Frame> stack;
    auto open = [&](const std::string& name) {
        state[name] = State::open;
        stack.push_back(Frame{&name, {}, 0});
        try {
            stack.back().refs = find_references(values.at(name));
        } catch (const InterpolationError&) {
            failed_var = name;
            throw;
        }
    };
    auto lookup = [&](const Reference& ref) -> std::optional<std::string> {
        if (ref.kind == Reference::Kind::var)
            if (auto it = resolved.find(ref.name); it != resolved.end()) return it->second;
        return outer(ref);
    };
    for (const auto& [first, raw] : values) {
        if (state[first] == State::done) continue;
        open(first);
        while (!stack.empty()) {
            Frame& frame = stack.back();
            const std::string& name = *frame.name;
            if (frame.next < frame.refs.size()) {
                const Reference& ref = frame.refs[frame.next++];
                if (ref.kind != Reference::Kind::var) continue;
                auto known = values.find(ref.name);
                if (known == values.end()) {
                    if (!outer(ref)) {
                        failed_var = name;
                        throw InterpolationError(missing_reference(ref), ref.offset);
                    }
                    continue;
                }
                State& used = state[known->first];
                if (used == State::done) continue;
                if (used == State::open) {
                    std::string cycle;
                    auto from = std::find_if(stack.begin(), stack.end(),
                                             [&](const Frame& f) { return *f.name == ref.name; });
                    for (auto it = from; it != stack.end(); ++it) cycle += *it->name + " -> ";
                    failed_var = ref.name;
                    throw InterpolationError(
                        "variables refer to each other in a cycle: " + cycle + ref.name, 0);
                }
                open(known->first);
                continue;
            }
            try {
                resolved[name] = expand(values.at(name), lookup);
            } catch (const InterpolationError&) {
                failed_var = name;
                throw;
            }
            state[name] = State::done;
            stack.pop_back();
        }
    }
    return resolved;
}

}  // namespace migrate::runbook
