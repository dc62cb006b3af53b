// The transfer kind against the fake process runner: scp where the far side has no rsync (into
// a temporary name, renamed once its SHA-256 matched), a copy whose SHA-256 differs (set aside,
// the step fails naming both hashes, the next attempt compares contents), and the checksum
// list line the directory manifest is written with.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "fakes.h"
#include "migrate/io/ssh.h"
#include "migrate/steps/files/checksums.h"
#include "migrate/util/digest.h"
#include "migrate/util/text.h"

using namespace migrate;
using namespace migrate::test;

namespace {

struct Source {
    std::filesystem::path dir = std::filesystem::temp_directory_path() / "migrate-transfer-test";
    std::string file = (dir / "dump.sql.zst").string();
    std::string sha256;
    Source() {
        std::filesystem::remove_all(dir);
        std::filesystem::create_directories(dir);
        std::ofstream(file) << "a dump of a few bytes\n";
        sha256 = hash_file(file, DigestAlgorithm::sha256);
    }
    ~Source() { std::filesystem::remove_all(dir); }
};

std::string carry_runbook(const std::string& with) {
    return "version: 1\n"
           "name: carry\n"
           "roles: { executor: Engineer }\n"
           "hosts:\n"
           "  cloud: [c1]\n"
           "phases:\n"
           "  - id: main\n"
           "    steps:\n"
           "      - id: put\n"
           "        kind: transfer\n"
           "        with: " +
           with + "\n";
}

io::SshTarget c1{"c1", "", 0, ""};

std::string on_c1(const std::string& remote) {
    return io::ssh_command_line(c1, io::SshOptions{}, remote);
}

std::string prepare(const std::string& parent, const std::string& temp) {
    return on_c1("mkdir -p -- " + parent + " && rm -rf -- " + temp +
                 " && { command -v rsync >/dev/null 2>&1 && echo rsync; echo ready; }");
}

std::string sha_of(const std::string& path) {
    return on_c1("if command -v openssl >/dev/null 2>&1; then openssl dgst -sha256 -r -- " + path +
                 "; else sha256sum -- " + path + "; fi");
}

bool called(const std::vector<io::ProcessSpec>& calls, const std::string& needle) {
    for (const io::ProcessSpec& call : calls)
        if (call.command.find(needle) != std::string::npos) return true;
    return false;
}

}  // namespace

TEST_CASE("transfer: scp where the far side has no rsync, renamed once checked", "[transfer]") {
    Source source;
    EngineHarness h;
    h.load(carry_runbook("{ hosts: c1, from: " + source.file +
                         ", to: in/dump.sql.zst, multiplex: false }"));
    h.processes.script(prepare("in", "in/dump.sql.zst.migrate-partial"),
                       io::ProcessResult{0, 0, "ready\n", ""});
    h.processes.script(sha_of("in/dump.sql.zst.migrate-partial"),
                       io::ProcessResult{0, 0, source.sha256 + "  in/dump.sql.zst\n", ""});
    engine::RunOutcome outcome = h.run();
    CHECK(outcome.status == "ok");
    auto calls = h.processes.calls();
    CHECK(called(calls, "scp -q -p -o BatchMode=yes"));
    CHECK(called(calls, " -- " + source.file + " c1:in/dump.sql.zst.migrate-partial"));
    CHECK(called(calls, "mv -f -- in/dump.sql.zst.migrate-partial in/dump.sql.zst"));
    CHECK_FALSE(called(calls, "rsync -a"));
    auto hosts = h.events("step.host", "put");
    REQUIRE(hosts.size() == 1);
    CHECK(hosts[0].string("method") == "scp");
    CHECK(hosts[0].string("sha256") == source.sha256);
    CHECK(h.step_end("put").data["outputs"]["sha256"] == source.sha256);
}

TEST_CASE("transfer: a copy whose SHA-256 differs is set aside and sent again", "[transfer]") {
    Source source;
    std::string wrong(64, 'e');
    SECTION("one attempt: the step fails naming both hashes") {
        EngineHarness h;
        h.load(carry_runbook("{ hosts: c1, from: " + source.file +
                             ", to: in/dump.sql.zst, method: rsync, multiplex: false }"));
        h.processes.script(prepare("in", "in/dump.sql.zst.migrate-partial"),
                           io::ProcessResult{0, 0, "rsync\nready\n", ""});
        h.processes.script(sha_of("in/dump.sql.zst"),
                           io::ProcessResult{0, 0, wrong + "  in/dump.sql.zst\n", ""});
        engine::RunOutcome outcome = h.run();
        CHECK(outcome.status == "failed");
        CHECK_THAT(h.step_end("put").string("error"), Catch::Contains("c1 (SHA-256 differs"));
        auto hosts = h.events("step.host", "put");
        REQUIRE(hosts.size() == 1);
        std::string error = hosts[0].string("error");
        CHECK_THAT(error, Catch::Contains(wrong));
        CHECK_THAT(error, Catch::Contains(source.sha256));
        CHECK(called(h.processes.calls(),
                     "mv -f -- in/dump.sql.zst in/dump.sql.zst.migrate-mismatch"));
    }
    SECTION("two attempts: the second compares contents (--checksum) and ends ok") {
        EngineHarness h;
        h.load(
            carry_runbook("{ hosts: c1, from: " + source.file +
                          ", to: in/dump.sql.zst, attempts: 2, backoff: 1s, multiplex: false }"));
        h.processes.script(prepare("in", "in/dump.sql.zst.migrate-partial"),
                           io::ProcessResult{0, 0, "rsync\nready\n", ""});
        h.processes.script(sha_of("in/dump.sql.zst"),
                           io::ProcessResult{0, 0, wrong + "  in/dump.sql.zst\n", ""});
        h.processes.script(sha_of("in/dump.sql.zst"),
                           io::ProcessResult{0, 0, source.sha256 + "  in/dump.sql.zst\n", ""});
        engine::RunOutcome outcome = h.run();
        CHECK(outcome.status == "ok");
        std::vector<std::string> rsyncs;
        for (const io::ProcessSpec& call : h.processes.calls())
            if (call.command.rfind("rsync ", 0) == 0) rsyncs.push_back(call.command);
        REQUIRE(rsyncs.size() == 2);
        CHECK(rsyncs[0].find("--checksum") == std::string::npos);
        CHECK(rsyncs[1].find("--checksum") != std::string::npos);
        CHECK(rsyncs[1].find("--partial-dir=.migrate-partial") != std::string::npos);
    }
}

TEST_CASE("transfer: method rsync on a host without it is refused, not retried", "[transfer]") {
    Source source;
    EngineHarness h;
    h.load(carry_runbook("{ hosts: c1, from: " + source.file +
                         ", to: x.zst, method: rsync, attempts: 3, multiplex: false }"));
    h.processes.script(prepare(".", "x.zst.migrate-partial"),
                       io::ProcessResult{0, 0, "ready\n", ""});
    engine::RunOutcome outcome = h.run();
    CHECK(outcome.status == "failed");
    CHECK_THAT(h.step_end("put").string("error"),
               Catch::Contains("rsync is not installed on c1 (method: auto falls back to scp)"));
    CHECK(h.events("step.host", "put").size() == 1);
}

TEST_CASE("transfer: manifest lines read back by the checksum list parser", "[transfer]") {
    std::string hex(64, 'a');
    std::string text = steps::files::checksum_list_line("plain.txt", hex) +
                       steps::files::checksum_list_line("odd\\name\nwith newline", hex);
    auto entries = steps::files::parse_checksum_list(text, "manifest");
    REQUIRE(entries.size() == 2);
    CHECK(entries[0].name == "plain.txt");
    CHECK(entries[1].name == "odd\\name\nwith newline");
    CHECK(text.substr(text.find('\n') + 1, 1) == "\\");
}
