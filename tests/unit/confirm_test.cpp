// What an operator types at a manual step's prompt, read against the steps that wait.
#include <catch2/catch.hpp>

#include "migrate/io/confirm.h"

using migrate::io::parse_terminal_answer;
using Kind = migrate::io::TerminalAnswer::Kind;

TEST_CASE("prompt: done, yes and y confirm the one step that waits", "[confirm]") {
    for (const char* word : {"done", "yes", "y", "DONE", "agents-out", "1"}) {
        auto answer = parse_terminal_answer(word, {"agents-out"});
        CHECK(answer.kind == Kind::confirm);
        CHECK(answer.step == "agents-out");
        CHECK(answer.by.empty());
    }
}

TEST_CASE("regression: with two steps waiting, done does not pick one", "[confirm][regression]") {
    auto answer = parse_terminal_answer("done", {"agents-out", "backup-ok"});
    CHECK(answer.kind == Kind::unclear);
    CHECK(answer.message.find("2 steps wait: 1) agents-out, 2) backup-ok") == 0);
    CHECK(parse_terminal_answer("reject: no", {"a", "b"}).kind == Kind::unclear);
}

TEST_CASE("prompt: an id or a number names the step; as NAME and a note", "[confirm]") {
    std::vector<std::string> waiting{"agents-out", "backup-ok"};
    auto by_id = parse_terminal_answer("backup-ok as Petra Dvorak: backup verified", waiting);
    CHECK(by_id.kind == Kind::confirm);
    CHECK(by_id.step == "backup-ok");
    CHECK(by_id.by == "Petra Dvorak");
    CHECK(by_id.note == "backup verified");
    auto by_number = parse_terminal_answer("1: all out", waiting);
    CHECK(by_number.step == "agents-out");
    CHECK(by_number.note == "all out");
    CHECK(parse_terminal_answer("3", waiting).kind == Kind::unclear);
    CHECK(parse_terminal_answer("0", waiting).kind == Kind::unclear);
    auto typo = parse_terminal_answer("backup-okk", waiting);
    CHECK(typo.kind == Kind::unclear);
    CHECK(typo.message.find("did you mean 'backup-ok'") != std::string::npos);
    CHECK(parse_terminal_answer("done as", {"a"}).kind == Kind::unclear);
    CHECK(parse_terminal_answer("please go", {"a"}).kind == Kind::unclear);
}

TEST_CASE("prompt: reject names its step and carries the reason", "[confirm]") {
    auto one = parse_terminal_answer("reject: customer not ready", {"go"});
    CHECK(one.kind == Kind::reject);
    CHECK(one.step == "go");
    CHECK(one.note == "customer not ready");
    auto asked = parse_terminal_answer("reject 2 as Jana", {"a", "go"});
    CHECK(asked.kind == Kind::reject);
    CHECK(asked.step == "go");
    CHECK(asked.by == "Jana");
    CHECK(asked.note.empty());  // the prompt then asks why
}
