// The ssh kind against the fake process runner: the command lines it gives the OpenSSH
// client, the fan-out's failure budget and batches, per-host records and outputs, and a resume
// that runs only the hosts that did not finish.
#include <catch2/catch.hpp>

#include "fakes.h"
#include "migrate/io/ssh.h"

using namespace migrate;
using namespace migrate::test;

namespace {

std::string fleet_runbook(const std::string& with) {
    return "version: 1\n"
           "name: fleet\n"
           "roles: { executor: Engineer }\n"
           "hosts:\n"
           "  web: [w1, w2, w3, w4, w5]\n"
           "  db:\n"
           "    - { host: d1, address: 10.0.0.9, port: 2222, user: admin }\n"
           "phases:\n"
           "  - id: main\n"
           "    steps:\n"
           "      - id: deploy\n"
           "        kind: ssh\n"
           "        with: " +
           with + "\n";
}

// The command line the step gives the client for `host`.
std::string line_for(const std::string& host, const std::string& remote, bool multiplex = false) {
    io::SshOptions options;
    if (multiplex) options.control_dir = "X";
    return "exec " + io::ssh_command_line(io::SshTarget{host, "", 0, ""}, options, remote);
}

std::vector<std::string> hosts_called(const std::vector<io::ProcessSpec>& calls) {
    std::vector<std::string> hosts;
    for (const io::ProcessSpec& call : calls)
        for (const char* host : {"w1", "w2", "w3", "w4", "w5", "10.0.0.9"})
            if (call.command.find(std::string(" -- ") + host + " ") != std::string::npos)
                hosts.push_back(host);
    std::sort(hosts.begin(), hosts.end());
    return hosts;
}

}  // namespace

TEST_CASE("ssh: the client's command line", "[ssh]") {
    io::SshOptions options;
    options.config_file = "/etc/fleet config";
    options.options = {"StrictHostKeyChecking=yes"};
    options.control_dir = "/tmp/m-1";
    std::string line = io::ssh_command_line(io::SshTarget{"db1", "10.0.0.9", 2222, "admin"},
                                            options, "echo 'hi' && uptime");
    CHECK(line ==
          "ssh -F '/etc/fleet config' -o BatchMode=yes -o ConnectTimeout=10 -o "
          "ServerAliveInterval=15 -o ServerAliveCountMax=4 -o ControlMaster=auto -o "
          "ControlPath=/tmp/m-1/%C -o ControlPersist=120 -o StrictHostKeyChecking=yes -p 2222 -l "
          "admin -- 10.0.0.9 'echo '\\''hi'\\'' && uptime'");
    CHECK(io::ssh_destination(io::SshTarget{"v6", "fd00::1", 0, "root"}) == "root@[fd00::1]");
}

TEST_CASE("ssh: every host runs once; per-host records, outputs and the hosts metric", "[ssh]") {
    EngineHarness h;
    h.load(fleet_runbook("{ hosts: all, command: uptime, parallel: 2, multiplex: false }"));
    h.processes.script(line_for("w3", "uptime"),
                       io::ProcessResult{0, 0, "up 3 days\n", "up 3 days"});
    engine::RunOutcome outcome = h.run();
    CHECK(outcome.status == "ok");
    CHECK(hosts_called(h.processes.calls()) ==
          std::vector<std::string>{"10.0.0.9", "w1", "w2", "w3", "w4", "w5"});
    auto hosts = h.events("step.host", "deploy");
    CHECK(hosts.size() == 6);
    for (const auto& record : hosts) CHECK(record.string("status") == "ok");
    journal::Record end = h.step_end("deploy");
    CHECK(end.data["metrics"]["hosts"] == 6);
    CHECK(end.data["outputs"]["hosts.w3.stdout"] == "up 3 days");
    CHECK(end.data["outputs"]["ok"] == "w1 w2 w3 w4 w5 d1");
    CHECK(end.data["outputs"]["failed"] == "");
    // The db host is reached at its address, port and user.
    bool d1 = false;
    for (const auto& call : h.processes.calls())
        d1 = d1 || call.command.find("-p 2222 -l admin -- 10.0.0.9 uptime") != std::string::npos;
    CHECK(d1);
}

TEST_CASE("ssh: a failing host within the budget is named; beyond it no host starts", "[ssh]") {
    SECTION("within max_fail") {
        EngineHarness h;
        h.load(
            fleet_runbook("{ hosts: web, command: deploy, parallel: 1, max_fail: 1, "
                          "multiplex: false }"));
        h.processes.script(line_for("w2", "deploy"), io::ProcessResult{3, 0, "", "no space left"});
        engine::RunOutcome outcome = h.run();
        CHECK(outcome.status == "ok");
        journal::Record end = h.step_end("deploy");
        CHECK(end.data["outputs"]["failed"] == "w2");
        CHECK(end.data["outputs"]["hosts.w2.exit_code"] == "3");
        bool named = false;
        for (const auto& record : h.events("step.host", "deploy"))
            if (record.string("host") == "w2") {
                CHECK(record.string("status") == "failed");
                CHECK_THAT(record.string("error"), Catch::Contains("exit 3: no space left"));
                named = true;
            }
        CHECK(named);
    }
    SECTION("over max_fail, in batches of 2") {
        EngineHarness h;
        h.load(fleet_runbook("{ hosts: web, command: deploy, serial: 2, multiplex: false }"));
        h.processes.script(line_for("w2", "deploy"), io::ProcessResult{3, 0, "", ""});
        engine::RunOutcome outcome = h.run();
        CHECK(outcome.status == "failed");
        // The first batch (w1, w2) ran; the failure stopped the next batches.
        CHECK(hosts_called(h.processes.calls()) == std::vector<std::string>{"w1", "w2"});
        journal::Record end = h.step_end("deploy");
        CHECK_THAT(end.string("error"), Catch::Contains("w2 (exit 3)"));
        CHECK_THAT(end.string("error"), Catch::Contains("3 host(s) not started"));
    }
}

TEST_CASE("ssh: a host that fails once is tried again", "[ssh]") {
    EngineHarness h;
    h.load(
        fleet_runbook("{ hosts: 'web[0:1]', command: restart, attempts: 2, backoff: 3s, "
                      "multiplex: false }"));
    h.processes.script(line_for("w2", "restart"), io::ProcessResult{1, 0, "", "busy"});
    h.processes.script(line_for("w2", "restart"), io::ProcessResult{0, 0, "", ""});
    engine::RunOutcome outcome = h.run();
    CHECK(outcome.status == "ok");
    std::vector<std::string> statuses;
    for (const auto& record : h.events("step.host", "deploy"))
        if (record.string("host") == "w2") statuses.push_back(record.string("status"));
    CHECK(statuses == std::vector<std::string>{"retry", "ok"});
    CHECK(h.clock.sleeps() == std::vector<Millis>{std::chrono::seconds(3)});
}

TEST_CASE("ssh: a resume runs only the hosts that did not end ok", "[ssh][resume]") {
    EngineHarness h;
    h.load(fleet_runbook("{ hosts: web, command: migrate-db, multiplex: false, max_fail: 5 }"));
    h.processes.script(line_for("w4", "migrate-db"), io::ProcessResult{2, 0, "", ""});
    engine::RunOutcome first = h.run();
    CHECK(first.status == "ok");
    // As if the run had died after the checkpoint: the step's last checkpoint drives a resume.
    engine::PriorState prior;
    prior.has_run = true;
    prior.last_run_id = h.run_id;
    auto checkpoints = h.events("step.checkpoint", "deploy");
    REQUIRE(checkpoints.size() == 5);
    prior.checkpoints["deploy"] = checkpoints.back().data["state"];
    FakeProcessRunner& runner = h.processes;
    std::size_t before = runner.calls().size();
    engine::RunOutcome second = h.run({}, prior);
    CHECK(second.status == "ok");
    auto calls = runner.calls();
    std::vector<io::ProcessSpec> again(calls.begin() + static_cast<long>(before), calls.end());
    CHECK(hosts_called(again) == std::vector<std::string>{"w4"});
}

TEST_CASE("ssh: a pattern the inventory does not know fails validation", "[ssh][validate]") {
    EngineHarness h;
    CHECK_THROWS_WITH(h.load(fleet_runbook("{ hosts: 'web:!w6', command: x }")),
                      Catch::Contains("no group or host named 'w6'"));
    CHECK_THROWS_WITH(h.load(fleet_runbook("{ hosts: web }")),
                      Catch::Contains("needs 'command' or 'script'"));
}
