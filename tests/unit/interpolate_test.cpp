// ${...} references: finding, expanding, escaping, resolving variables; `when` conditions.
#include <catch2/catch.hpp>

#include "migrate/runbook/graph.h"
#include "migrate/runbook/interpolate.h"
#include "migrate/util/error.h"

using namespace migrate::runbook;
using Catch::Matchers::Contains;

namespace {

// The message and offset of the InterpolationError that `action` throws.
template <typename Action>
std::pair<std::string, std::size_t> interpolation_error(Action action) {
    try {
        action();
    } catch (const InterpolationError& e) {
        return {e.what(), e.offset()};
    }
    FAIL("no InterpolationError was thrown");
    return {};
}

Lookup table_lookup(std::map<std::string, std::string> values) {
    return [values](const Reference& ref) -> std::optional<std::string> {
        std::string key = ref.kind == Reference::Kind::env      ? "env:" + ref.name
                          : ref.kind == Reference::Kind::secret ? "secret:" + ref.name
                          : ref.kind == Reference::Kind::step_output
                              ? "steps." + ref.step_id + "." + ref.name
                              : ref.name;
        auto it = values.find(key);
        if (it == values.end()) return std::nullopt;
        return it->second;
    };
}

}  // namespace

TEST_CASE("find_references: every kind of reference, with its offset", "[interpolate]") {
    std::vector<Reference> refs =
        find_references("${a} ${env:HOME} ${secret:DB_PW} ${steps.dump-1.bytes}");
    REQUIRE(refs.size() == 4);
    CHECK(refs[0].kind == Reference::Kind::var);
    CHECK(refs[0].name == "a");
    CHECK(refs[0].offset == 0);
    CHECK(refs[1].kind == Reference::Kind::env);
    CHECK(refs[1].name == "HOME");
    CHECK(refs[1].offset == 5);
    CHECK(refs[2].kind == Reference::Kind::secret);
    CHECK(refs[2].name == "DB_PW");
    CHECK(refs[2].offset == 17);
    CHECK(refs[3].kind == Reference::Kind::step_output);
    CHECK(refs[3].step_id == "dump-1");
    CHECK(refs[3].name == "bytes");
    CHECK(refs[3].offset == 33);
    CHECK(find_references("no references, $5, $ and $$").empty());
    CHECK(find_references("$${literal}").empty());
}

TEST_CASE("find_references: malformed references", "[interpolate]") {
    auto [empty, empty_at] = interpolation_error([] { find_references("x ${}"); });
    CHECK_THAT(empty, Contains("bad variable reference '${}'"));
    CHECK(empty_at == 2);
    CHECK_THAT(interpolation_error([] { find_references("${env:}"); }).first,
               Contains("bad name in '${env:}'"));
    CHECK_THAT(interpolation_error([] { find_references("${secret:a-b}"); }).first,
               Contains("bad name"));
    CHECK_THAT(
        interpolation_error([] { find_references("${steps.dump}"); }).first,
        Contains("bad step output reference '${steps.dump}'; write ${steps.STEP_ID.OUTPUT}"));
    CHECK_THAT(interpolation_error([] { find_references("${a b}"); }).first,
               Contains("bad variable reference"));
}

TEST_CASE("expand: an unclosed '${' names its offset and the escape", "[interpolate]") {
    auto [message, offset] = interpolation_error([] {
        expand("abc ${name", table_lookup({{"name", "x"}}));
    });
    CHECK(message == "'${' is not closed by '}' (write $${ for a literal ${)");
    CHECK(offset == 4);
}

TEST_CASE("expand: references replaced, '$${' kept as a literal '${'", "[interpolate]") {
    Lookup lookup = table_lookup({{"db", "liveagent"},
                                  {"env:USER_X", "ops"},
                                  {"secret:PW", "s3cret"},
                                  {"steps.dump.bytes", "1024"}});
    CHECK(expand("${db}/${env:USER_X}:${secret:PW} ${steps.dump.bytes}", lookup) ==
          "liveagent/ops:s3cret 1024");
    CHECK(expand("cost $${price} for ${db}", lookup) == "cost ${price} for liveagent");
    CHECK(expand("$5 and $ and $$", lookup) == "$5 and $ and $$");
    CHECK(expand("plain", lookup) == "plain");
    CHECK(expand("", lookup) == "");
    CHECK(has_references("a ${b}"));
    CHECK_FALSE(has_references("a $b"));
}

TEST_CASE("expand: a reference with no value says what is missing", "[interpolate]") {
    Lookup none = table_lookup({});
    auto [var, var_at] = interpolation_error([&] { expand("x=${nope}", none); });
    CHECK(var == "undefined variable 'nope'");
    CHECK(var_at == 2);
    CHECK(interpolation_error([&] { expand("${env:NOPE}", none); }).first ==
          "environment variable 'NOPE' is not set");
    CHECK_THAT(interpolation_error([&] { expand("${secret:PW}", none); }).first,
               Contains("secret 'PW' is not set"));
    CHECK(interpolation_error([&] { expand("${steps.a.b}", none); }).first ==
          "step 'a' has no output 'b'");
}

TEST_CASE("resolve_variables: variables built from other variables", "[interpolate]") {
    std::map<std::string, std::string> raw{{"root", "/srv"},
                                           {"app", "${root}/app"},
                                           {"logs", "${app}/logs-${env:SUFFIX_X}"},
                                           {"literal", "$${root}"}};
    std::string failed;
    auto resolved = resolve_variables(raw, table_lookup({{"env:SUFFIX_X", "v2"}}), failed);
    CHECK(failed.empty());
    CHECK(resolved.at("root") == "/srv");
    CHECK(resolved.at("app") == "/srv/app");
    CHECK(resolved.at("logs") == "/srv/app/logs-v2");
    CHECK(resolved.at("literal") == "${root}");
}

TEST_CASE("resolve_variables: a cycle is named, with the variable at fault", "[interpolate]") {
    std::map<std::string, std::string> raw{
        {"a", "${b}"}, {"b", "x-${c}"}, {"c", "${a}"}, {"d", "fine"}};
    std::string failed;
    auto [message, offset] =
        interpolation_error([&] { resolve_variables(raw, table_lookup({}), failed); });
    CHECK(message == "variables refer to each other in a cycle: a -> b -> c -> a");
    CHECK(failed == "a");
}

TEST_CASE("resolve_variables: an undefined variable names the one that uses it", "[interpolate]") {
    std::map<std::string, std::string> raw{{"a", "ok"}, {"b", "${a}/${missing}"}};
    std::string failed;
    auto [message, offset] =
        interpolation_error([&] { resolve_variables(raw, table_lookup({}), failed); });
    CHECK(message == "undefined variable 'missing'");
    CHECK(offset == 5);
    CHECK(failed == "b");
}

TEST_CASE("evaluate_condition: comparisons and bare values", "[interpolate][when]") {
    CHECK(evaluate_condition("rehearsal == rehearsal"));
    CHECK_FALSE(evaluate_condition("production == rehearsal"));
    CHECK(evaluate_condition("production != rehearsal"));
    CHECK(evaluate_condition("'a b' == \"a b\""));
    CHECK(evaluate_condition("yes"));
    CHECK(evaluate_condition("1"));
    for (const char* falsy : {"", "false", "no", "off", "0", "  ", "''"}) {
        INFO(falsy);
        CHECK_FALSE(evaluate_condition(falsy));
    }
    CHECK_THROWS_AS(evaluate_condition("a == b == c"), migrate::UsageError);
}

TEST_CASE("resolve_variables: a chain of 100,000 variables does not deepen the stack",
          "[interpolate]") {
    std::map<std::string, std::string> raw;
    for (int i = 0; i < 100'000; ++i)
        raw["v" + std::to_string(i)] = "${v" + std::to_string(i + 1) + "}";
    raw["v100000"] = "end";
    std::string failed;
    auto resolved = resolve_variables(raw, table_lookup({}), failed);
    CHECK(resolved.at("v0") == "end");
}

TEST_CASE("expand: variables that double at each step stop at the size limit", "[interpolate]") {
    std::map<std::string, std::string> raw{{"v0", std::string(1024, 'x')}};
    for (int i = 1; i <= 20; ++i)
        raw["v" + std::to_string(i)] =
            "${v" + std::to_string(i - 1) + "}${v" + std::to_string(i - 1) + "}";
    std::string failed;
    auto [message, offset] =
        interpolation_error([&] { resolve_variables(raw, table_lookup({}), failed); });
    CHECK(message == "the value expands to more than 16 MiB");
    CHECK(failed == "v15");
}

TEST_CASE("find_references: a name of 26,000 characters (std::regex overflowed on it)",
          "[interpolate]") {
    std::string name(26'000, 'a');
    CHECK(find_references("${" + name + "}").at(0).name == name);
    auto [message, offset] = interpolation_error([&] { find_references("${env:" + name + "-}"); });
    CHECK(message == "bad name in '${env:" + std::string(76, 'a') +
                         "...}': names are letters, digits and '_'");
}

TEST_CASE("output placeholders of a dry run", "[interpolate]") {
    Reference ref;
    ref.kind = Reference::Kind::step_output;
    ref.step_id = "dump-1";
    ref.name = "path";
    CHECK(output_placeholder(ref) == "<dump-1.path>");
    CHECK(is_output_placeholder("<dump-1.path>"));
    CHECK_FALSE(is_output_placeholder("<dump-1.path> "));
    CHECK(contains_output_placeholder("tar -C <a.b> -x"));
    CHECK_FALSE(contains_output_placeholder("a < b.c > d"));
}

TEST_CASE("StepGraph: a chain of 100,000 steps, its cycle check and window, iteratively",
          "[graph]") {
    Runbook book;
    Phase phase;
    for (int i = 0; i < 100'000; ++i) {
        Step step;
        step.id = "s" + std::to_string(i);
        if (i == 10) step.downtime = DowntimeMarker::start;
        if (i == 99'990) step.downtime = DowntimeMarker::end;
        phase.steps.push_back(step);
    }
    book.phases.push_back(phase);
    StepGraph graph(book);
    CHECK(graph.find_cycle().empty());
    CHECK(graph.downtime_steps().size() == 99'981);
    CHECK(graph.depends_on("s99999", "s0"));
    CHECK_FALSE(graph.depends_on("s0", "s99999"));
}
