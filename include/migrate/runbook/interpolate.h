// ${...} references: ${name}, ${env:NAME}, ${secret:NAME}, ${steps.ID.NAME}; "$${" is a
// literal "${".
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace migrate::runbook {

struct Reference {
    enum class Kind { var, env, secret, step_output };
    Kind kind = Kind::var;
    std::string name;        // var, env or secret name; output name for step_output
    std::string step_id;     // step_output only
    std::size_t offset = 0;  // of "${" in the text
};

class InterpolationError : public std::runtime_error {
public:
    InterpolationError(const std::string& message, std::size_t offset)
        : std::runtime_error(message), m_offset(offset) {}
    std::size_t offset() const { return m_offset; }

private:
    std::size_t m_offset;
};

// Every reference in `text`; throws InterpolationError on a malformed one.
std::vector<Reference> find_references(std::string_view text);

using Lookup = std::function<std::optional<std::string>(const Reference&)>;

// A value may not expand beyond this (variables that each repeat the one before grow
// exponentially): the size limit of a runbook.
constexpr std::size_t k_max_expanded_bytes = 16u << 20;

// Replaces every reference by what `lookup` returns; throws InterpolationError naming the
// reference when lookup has nothing, or when the result exceeds k_max_expanded_bytes.
std::string expand(std::string_view text, const Lookup& lookup);

// What is wrong when a reference has no value: "undefined variable 'x'", "secret 'x' is not
// set (...)"...
std::string missing_reference(const Reference& ref);

// In a dry run a step output is not known yet: it reads "<ID.NAME>".
std::string output_placeholder(const Reference& ref);
bool is_output_placeholder(std::string_view text);
bool contains_output_placeholder(std::string_view text);

bool has_references(std::string_view text);

// Expands variables that refer to other variables; `values` maps name to raw text.
// Throws InterpolationError (offset into the offending value) on cycles and unknown names;
// `failed_var` then names the variable whose value is at fault.
std::map<std::string, std::string> resolve_variables(
    const std::map<std::string, std::string>& values, const Lookup& outer, std::string& failed_var);

}  // namespace migrate::runbook
