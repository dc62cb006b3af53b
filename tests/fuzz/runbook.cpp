// libFuzzer target: a runbook's text through the parser (YAML, and JSON when it starts with
// '{'), the loader and the validator, as `migrate validate` and `plan` run them, then the
// diagnostics printed as text and as JSON (which must be valid UTF-8).
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "migrate/runbook/document.h"
#include "migrate/runbook/graph.h"
#include "migrate/runbook/interpolate.h"
#include "migrate/runbook/validate.h"
#include "migrate/util/error.h"

namespace {

using namespace migrate::runbook;

std::vector<std::string> declared_outputs(const Node& with) {
    std::vector<std::string> names;
    if (const Node* outputs = with.find("outputs"))
        for (const auto& [key, value] : outputs->entries) names.push_back(key.value);
    return names;
}

// Kinds with each sort of parameter, output and flag the validator reads (the real table
// would pull every step kind, and its libraries, into the build).
const KindSchemas& kinds() {
    static const KindSchema shell{
        .name = "shell",
        .params = {{"command", ParamType::string, true, "", "what to run"},
                   {"env", ParamType::string_map, false, "", ""},
                   {"attempts", ParamType::integer, false, "", ""}},
        .outputs = {"stdout"},
        .warn_without_timeout = true};
    static const KindSchema manual{
        .name = "manual",
        .params = {{"instructions", ParamType::string, true, "", "what to do"}},
        .people = true};
    static const KindSchema noop{.name = "noop",
                                 .params = {{"note", ParamType::any, false, "", ""}}};
    static const KindSchema wait{
        .name = "wait",
        .params = {{"for", ParamType::duration, false, "", ""},
                   {"size", ParamType::size, false, "", ""},
                   {"strict", ParamType::boolean, false, "", ""},
                   {"mode", ParamType::string, false, "", "", {"a", "b"}}}};
    static const KindSchema sql{.name = "sql",
                                .params = {{"connection", ParamType::connection, true, "", ""},
                                           {"statements", ParamType::string_list, true, "", ""},
                                           {"outputs", ParamType::string_map, false, "", ""}},
                                .declared_outputs = declared_outputs};
    static const KindSchemas all{&shell, &manual, &noop, &wait, &sql};
    return all;
}

void check(const std::string& path, const std::string& text) {
    auto source = std::make_shared<SourceFile>(path, text);
    Diagnostics diagnostics(source);
    Document document{source, parse_document(*source, diagnostics)};
    if (!diagnostics.has_errors()) {
        Runbook book = load_runbook(document, diagnostics);
        validate_runbook(book, kinds(), ValidateOptions{}, diagnostics);
        // What `plan` and the engine ask of the graph.
        StepGraph graph(book);
        graph.find_cycle();
        graph.downtime_steps();
        for (const Step* step : graph.order()) {
            if (!step->when.present) continue;
            try {
                evaluate_condition(expand(step->when.text, [](const Reference&) {
                    return std::optional<std::string>("x");
                }));
            } catch (const InterpolationError&) {
            } catch (const migrate::UsageError&) {
            }
        }
    }
    diagnostics.sort_by_position();
    diagnostics.format();
    // Throws on a message that is not UTF-8, i.e. text cut inside a character; unless the
    // text has escapes, which can spell a byte sequence that is not UTF-8 ("\xC3").
    if (text.find('\\') == std::string::npos) diagnostics.to_json().dump();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string text(reinterpret_cast<const char*>(data), size);
    check("fuzz.yaml", text);
    std::size_t first = text.find_first_not_of(" \t\r\n");
    if (first != std::string::npos && text[first] == '{') check("fuzz.json", text);
    return 0;
}
