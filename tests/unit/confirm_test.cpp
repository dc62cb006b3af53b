// What an operator types at a manual step's prompt, read against the steps that wait.
#include <catch2/catch.hpp>

#include "fakes.h"
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

TEST_CASE("prompt: with FILE|URL carries the evidence, in either order with as NAME",
          "[confirm][evidence]") {
    auto both = parse_terminal_answer("done as Ana Ops with /srv/restore.log: restored", {"r"});
    CHECK(both.kind == Kind::confirm);
    CHECK(both.by == "Ana Ops");
    CHECK(both.evidence == "/srv/restore.log");
    CHECK(both.note == "restored");
    auto swapped = parse_terminal_answer("r with https://t.example/1 as Ana", {"r"});
    CHECK(swapped.step == "r");
    CHECK(swapped.evidence == "https://t.example/1");
    CHECK(swapped.by == "Ana");
    auto empty = parse_terminal_answer("done with", {"r"});
    CHECK(empty.kind == Kind::unclear);
    CHECK(empty.message.find("say what after 'with'") == 0);
}

TEST_CASE("evidence: what each policy asks of a confirmation", "[confirm][evidence]") {
    using migrate::io::Confirmation;
    using migrate::io::evidence_missing;
    using migrate::io::EvidencePolicy;
    Confirmation bare{"ana", "", "migrate confirm"};
    Confirmation noted{"ana", "restored fine", "migrate confirm"};
    Confirmation url{"ana", "", "migrate confirm"};
    url.evidence = "https://tickets.example/42";
    Confirmation file{"ana", "", "migrate confirm"};
    file.evidence = "/srv/restore.log";
    file.evidence_sha256 = std::string(64, 'a');
    CHECK(evidence_missing(EvidencePolicy::none, bare).empty());
    CHECK(evidence_missing(EvidencePolicy::required, bare) == "a note, a file or a URL");
    for (const Confirmation* enough : {&noted, &url, &file})
        CHECK(evidence_missing(EvidencePolicy::required, *enough).empty());
    CHECK(evidence_missing(EvidencePolicy::file, url) == "a file");
    CHECK(evidence_missing(EvidencePolicy::url, file) == "a URL");
    CHECK(evidence_missing(EvidencePolicy::note, file) == "a note");
    CHECK(evidence_missing(EvidencePolicy::url, url).empty());
    CHECK(migrate::io::evidence_policy("sometimes") == std::nullopt);
}

TEST_CASE("evidence: a file is recorded by path, SHA-256 and size; a missing one is refused",
          "[confirm][evidence]") {
    migrate::test::TempPath path(".log");
    migrate::test::write_file(path.str(), "abc");
    migrate::io::Confirmation confirmation{"ana", "", "migrate confirm"};
    migrate::io::attach_evidence(confirmation, path.str());
    CHECK(confirmation.evidence == path.str());
    CHECK(confirmation.evidence_sha256 ==
          "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    CHECK(confirmation.evidence_size == 3);
    migrate::io::Confirmation missing{"ana", "", "migrate confirm"};
    CHECK_THROWS_WITH(migrate::io::attach_evidence(missing, path.str() + ".gone"),
                      Catch::Contains("does not exist"));
}

TEST_CASE("approvals: the same name twice (any case) is refused, saying who must confirm",
          "[confirm][approvals]") {
    migrate::io::ConfirmationRequest request;
    request.approvals = 2;
    request.approved_by = {"Marie Curie"};
    CHECK(migrate::io::already_approved(request, " marie curie "));
    CHECK_FALSE(migrate::io::already_approved(request, "Pierre Dupont"));
    CHECK(migrate::io::second_person_message(request, "Marie Curie") ==
          "already confirmed by Marie Curie; a second person must confirm");
}
