// The isolate and reconnect kinds against the fakes: the record of what was on and its merge
// (a second pass never records "off" for what the first switched off), the command lines for
// systemctl and cron files, SQL and HTTP toggles, reconnect as a later step and as rollback.
#include <catch2/catch.hpp>

#include "fakes.h"
#include "migrate/io/ssh.h"
#include "migrate/steps/remote/isolation.h"

using namespace migrate;
using namespace migrate::test;
using namespace migrate::steps::remote;

namespace {

std::string book(const std::string& steps) {
    return "version: 1\n"
           "name: isolation\n"
           "roles: { executor: Engineer }\n"
           "connections:\n"
           "  crm: { type: mysql, host: 127.0.0.1, user: m, password: isolate-test-pw, database: "
           "crm }\n"
           "hosts:\n"
           "  web: [w1, w2, w3]\n"
           "phases:\n"
           "  - id: main\n"
           "    steps:\n" +
           steps;
}

const std::string k_isolate =
    "      - id: iso\n"
    "        kind: isolate\n"
    "        with:\n"
    "          hosts: web\n"
    "          multiplex: false\n"
    "          sources:\n"
    "            - { service: nginx, disable: true }\n";

std::string line_for(const std::string& host, const std::string& remote) {
    return io::ssh_command_line(io::SshTarget{host, "", 0, ""}, io::SshOptions{}, remote);
}

io::ProcessResult answer(const std::string& text) { return io::ProcessResult{0, 0, text, ""}; }

void script_state(EngineHarness& h, const std::string& host, const std::string& active,
                  const std::string& enabled) {
    h.processes.script(line_for(host, service_query_command("systemctl", false, "nginx")),
                       answer("active=" + active + "\nenabled=" + enabled + "\n"));
}

// Remote commands run on `host`, in order.
std::vector<std::string> commands_on(const EngineHarness& h, const std::string& host) {
    std::vector<std::string> commands;
    std::string prefix = io::ssh_command_line(io::SshTarget{host, "", 0, ""}, io::SshOptions{}, "");
    prefix = prefix.substr(0, prefix.size() - 2);  // the empty command's quotes
    for (const io::ProcessSpec& call : h.processes.calls())
        if (call.command.rfind(prefix, 0) == 0)
            commands.push_back(call.command.substr(prefix.size()));
    return commands;
}

bool ran(const EngineHarness& h, const std::string& host, const std::string& remote) {
    std::string line = line_for(host, remote);
    for (const io::ProcessSpec& call : h.processes.calls())
        if (call.command == line) return true;
    return false;
}

Json record_output(const EngineHarness& h, const std::string& step) {
    return Json::parse(h.step_end(step).data["outputs"]["record"].get<std::string>());
}

}  // namespace

TEST_CASE("isolate: what was on stays on record", "[isolate]") {
    ServiceState active{"active", "enabled"};
    ServiceState inactive{"inactive", "disabled"};
    Json first = merge_service_host(Json(), active);
    CHECK(first["was_on"] == true);
    CHECK(first["enabled"] == "enabled");
    // A second look after we switched it off (and disabled it): the first look wins.
    first["disabled"] = true;
    Json second = merge_service_host(first, inactive);
    CHECK(second["was_on"] == true);
    CHECK(second["active"] == "active");
    CHECK(second["disabled"] == true);
    // Off before isolation, off after: off.
    CHECK(merge_service_host(merge_service_host(Json(), inactive), inactive)["was_on"] == false);
    // Off at the first look, switched on by someone since: on now.
    CHECK(merge_service_host(merge_service_host(Json(), inactive), active)["was_on"] == true);
    CHECK(merge_unique(Json::array({"1", "2"}), {"2", "3"}) == Json::array({"1", "2", "3"}));
    CHECK(merge_unique(Json(), {}) == Json::array());
}

TEST_CASE("isolate: systemctl's answer", "[isolate]") {
    CHECK(parse_service_state("active=active\nenabled=enabled\n").on());
    CHECK(parse_service_state("active=reloading\nenabled=\n").on());
    CHECK_FALSE(parse_service_state("active=failed\nenabled=enabled\n").on());
    CHECK_THROWS_WITH(parse_service_state("active=\nenabled=\n"),
                      Catch::Contains("is systemctl there?"));
    CHECK(service_query_command("bin/systemctl", false, "nginx") ==
          "echo \"active=$(bin/systemctl is-active nginx 2>/dev/null)\"; echo "
          "\"enabled=$(bin/systemctl is-enabled nginx 2>/dev/null)\"");
    CHECK(service_stop_command("systemctl", true, "my unit", true) ==
          "sudo -n systemctl stop 'my unit' && sudo -n systemctl disable 'my unit'");
    CHECK(service_start_command("systemctl", false, "nginx", true) ==
          "systemctl enable nginx && systemctl start nginx");
    CHECK(service_start_command("systemctl", false, "nginx", false) == "systemctl start nginx");
}

TEST_CASE("isolate: cron lines are commented with a marker and restored", "[isolate]") {
    std::string marker = cron_marker("iso");
    CHECK(marker == "#migrate-isolate:iso# ");
    std::string text =
        "MAILTO=ops\n"
        "*/5 * * * * /opt/crm/sync-telephony\n"
        "# */5 * * * * /opt/crm/sync-old\n"
        "0 3 * * * /opt/backup\n"
        "#migrate-isolate:iso# 0 * * * * /opt/crm/sync-mail\n";
    CronEdit off = comment_out_lines(text, std::regex("/opt/crm/"), marker);
    CHECK(off.changed == std::vector<std::string>{"*/5 * * * * /opt/crm/sync-telephony"});
    CHECK(off.already == std::vector<std::string>{"0 * * * * /opt/crm/sync-mail"});
    CHECK(off.text ==
          "MAILTO=ops\n"
          "#migrate-isolate:iso# */5 * * * * /opt/crm/sync-telephony\n"
          "# */5 * * * * /opt/crm/sync-old\n"
          "0 3 * * * /opt/backup\n"
          "#migrate-isolate:iso# 0 * * * * /opt/crm/sync-mail\n");
    // Twice is once.
    CHECK(comment_out_lines(off.text, std::regex("/opt/crm/"), marker).changed.empty());
    CronEdit on = restore_lines(off.text, marker);
    CHECK(on.changed.size() == 2);
    CHECK(on.text ==
          "MAILTO=ops\n"
          "*/5 * * * * /opt/crm/sync-telephony\n"
          "# */5 * * * * /opt/crm/sync-old\n"
          "0 3 * * * /opt/backup\n"
          "0 * * * * /opt/crm/sync-mail\n");
    // Another step's marker is not ours; a file without a last newline keeps it so.
    CHECK(restore_lines("#migrate-isolate:other# x", marker).changed.empty());
    CHECK(comment_out_lines("a b", std::regex("a"), marker).text == "#migrate-isolate:iso# a b");
    CHECK(cron_write_command("/etc/cron.d/crm", false) ==
          "cat > /etc/cron.d/crm.migrate-isolate && cat /etc/cron.d/crm.migrate-isolate > "
          "/etc/cron.d/crm && rm -f /etc/cron.d/crm.migrate-isolate");
    CHECK(cron_write_command("", true) == "sudo -n crontab -");
    CHECK(feed_command("a'b\n", "ssh h x") == "printf '%s' 'a'\\''b\n' | ssh h x");
}

TEST_CASE("isolate: SQL and HTTP toggles", "[isolate]") {
    CHECK(with_ids("UPDATE t SET on=0 WHERE id IN ({ids})", {"'1'", "'2'"}) ==
          "UPDATE t SET on=0 WHERE id IN ('1','2')");
    CHECK(http_state_on(R"({"enabled": true})", "/enabled", "true"));
    CHECK_FALSE(http_state_on(R"({"enabled": false})", "/enabled", "true"));
    CHECK(http_state_on(R"({"state": {"mode": "live"}})", "/state/mode", "live"));
    CHECK_THROWS_WITH(http_state_on("<html>", "/enabled", "true"), Catch::Contains("not JSON"));
    CHECK_THROWS_WITH(http_state_on("{}", "/enabled", "true"), Catch::Contains("nothing at"));
}

TEST_CASE("isolate: services stopped only where they ran; reconnect starts exactly those",
          "[isolate]") {
    EngineHarness h;
    h.load(book(k_isolate + "      - id: back\n"
                            "        kind: reconnect\n"
                            "        with: { isolate: iso }\n"));
    script_state(h, "w1", "active", "enabled");
    script_state(h, "w2", "inactive", "disabled");
    script_state(h, "w3", "active", "static");
    REQUIRE(h.run().status == "ok");
    CHECK(ran(h, "w1", service_stop_command("systemctl", false, "nginx", true)));
    CHECK(ran(h, "w3", service_stop_command("systemctl", false, "nginx", false)));
    CHECK(commands_on(h, "w2").size() == 1);  // looked, left alone
    Json record = record_output(h, "iso")["sources"]["service nginx on web"]["hosts"];
    CHECK(record["w1"]["was_on"] == true);
    CHECK(record["w1"]["disabled"] == true);
    CHECK(record["w2"]["was_on"] == false);
    CHECK(record["w3"]["disabled"] == false);
    CHECK(h.step_end("iso").data["outputs"]["switched_off"] == "2");
    CHECK(ran(h, "w1", service_start_command("systemctl", false, "nginx", true)));
    CHECK(ran(h, "w3", service_start_command("systemctl", false, "nginx", false)));
    CHECK(commands_on(h, "w2").size() == 1);  // what was off stays off
    CHECK(h.step_end("back").data["outputs"]["switched_on"] == "2");
    // Every host has a step.host record naming the source.
    for (const auto& host_record : h.events("step.host", "iso"))
        CHECK(host_record.string("source") == "service nginx on web");
}

TEST_CASE("isolate: a resume after a kill keeps what the first pass found on",
          "[isolate][resume]") {
    EngineHarness h;
    h.load(book(k_isolate));
    script_state(h, "w1", "active", "enabled");
    script_state(h, "w1", "inactive", "disabled");  // stopped by the first pass
    script_state(h, "w2", "inactive", "disabled");
    script_state(h, "w3", "active", "enabled");
    script_state(h, "w3", "inactive", "disabled");
    REQUIRE(h.run().status == "ok");
    // As if killed after every host's state was recorded but before the fan-out's checkpoint:
    // the checkpoint that recorded the last intent, without the fan-out's progress.
    auto checkpoints = h.events("step.checkpoint", "iso");
    REQUIRE(!checkpoints.empty());
    Json state = checkpoints.back().data["state"];
    state["sources"]["service nginx on web"].erase("fanout");
    engine::PriorState prior;
    prior.has_run = true;
    prior.last_run_id = h.run_id;
    prior.checkpoints["iso"] = state;
    std::size_t before = h.processes.calls().size();
    REQUIRE(h.run({}, prior).status == "ok");
    // Looked again at every host, stopped nothing (all off now), and the record still says
    // w1 and w3 were on.
    CHECK(h.processes.calls().size() - before == 3);
    auto ends = h.events("step.end", "iso");
    Json record = Json::parse(ends.back().data["outputs"]["record"].get<std::string>());
    Json hosts = record["sources"]["service nginx on web"]["hosts"];
    CHECK(hosts["w1"]["was_on"] == true);
    CHECK(hosts["w1"]["active"] == "active");
    CHECK(hosts["w3"]["was_on"] == true);
    CHECK(hosts["w2"]["was_on"] == false);
    CHECK(ends.back().data["outputs"]["switched_off"] == "2");
}

TEST_CASE("isolate: SQL keys recorded, switched off and back on", "[isolate][sql]") {
    EngineHarness h;
    FakeMysqlAnswer on;
    on.columns = {"id"};
    on.rows = {{"4"}, {"it's"}};
    h.mysql.script("SELECT id FROM hooks WHERE active = 1", on);
    // A later step fails: the rollback reconnects from iso's record.
    h.load(
        book("      - id: iso\n"
             "        kind: isolate\n"
             "        with:\n"
             "          connection: crm\n"
             "          sources:\n"
             "            - sql: SELECT id FROM hooks WHERE active = 1\n"
             "              off: UPDATE hooks SET active = 0 WHERE id IN ({ids})\n"
             "              on: UPDATE hooks SET active = 1 WHERE id IN ({ids})\n"
             "        rollback:\n"
             "          - id: iso-undo\n"
             "            kind: reconnect\n"
             "            with: { isolate: iso }\n"
             "      - id: later\n"
             "        kind: probe\n"
             "        on_failure: rollback\n"
             "        with: { fail_times: 1 }\n"));
    engine::RunOutcome outcome = h.run();
    CHECK(outcome.status == "failed");
    std::vector<std::string> statements = h.mysql.statements();
    CHECK(std::find(statements.begin(), statements.end(),
                    "crm: UPDATE hooks SET active = 0 WHERE id IN ('4','it\\'s')") !=
          statements.end());
    CHECK(statements.back() == "crm: UPDATE hooks SET active = 1 WHERE id IN ('4','it\\'s')");
    CHECK(h.step_end("iso-undo").data["outputs"]["switched_on"] == "2");
}

TEST_CASE("isolate: an HTTP toggle switched off only when on", "[isolate][http]") {
    EngineHarness h;
    h.load(
        book("      - id: iso\n"
             "        kind: isolate\n"
             "        with:\n"
             "          sources:\n"
             "            - http: http://tel/api/link\n"
             "              on_when: { pointer: /enabled, equals: 'true' }\n"
             "              off: { method: PUT, body: '{\"enabled\":false}' }\n"
             "              on: { method: PUT, body: '{\"enabled\":true}' }\n"
             "            - http: http://mail/api/link\n"
             "              on_when: { pointer: /enabled, equals: 'true' }\n"
             "              off: { url: http://mail/api/off }\n"
             "              on: { url: http://mail/api/on }\n"
             "      - id: back\n"
             "        kind: reconnect\n"
             "        with: { isolate: iso }\n"));
    h.http.script("GET", "http://tel/api/link", io::HttpResponse{200, R"({"enabled":true})", ""});
    h.http.script("PUT", "http://tel/api/link", io::HttpResponse{204, "", ""});
    h.http.script("GET", "http://mail/api/link", io::HttpResponse{200, R"({"enabled":false})", ""});
    REQUIRE(h.run().status == "ok");
    std::vector<std::string> calls;
    for (const io::HttpRequest& call : h.http.calls())
        calls.push_back(call.method + " " + call.url + " " + call.body);
    CHECK(calls == std::vector<std::string>{
                       "GET http://tel/api/link ", "PUT http://tel/api/link {\"enabled\":false}",
                       "GET http://mail/api/link ", "PUT http://tel/api/link {\"enabled\":true}"});
}

TEST_CASE("isolate: bad sources and bad references fail validation", "[isolate][validate]") {
    EngineHarness h;
    CHECK_THROWS_WITH(h.load(book("      - id: iso\n"
                                  "        kind: isolate\n"
                                  "        with: { hosts: web, sources: [ { service: a, disabel: "
                                  "true } ] }\n")),
                      Catch::Contains("unknown field 'disabel' for a service source; did you "
                                      "mean 'disable'?"));
    CHECK_THROWS_WITH(h.load(book("      - id: iso\n"
                                  "        kind: isolate\n"
                                  "        with: { sources: [ { cron: '(' } ] }\n")),
                      Catch::Contains("needs 'hosts'"));
    CHECK_THROWS_WITH(h.load(book("      - id: iso\n"
                                  "        kind: isolate\n"
                                  "        with: { hosts: web, sources: [ { cron: 'a(' } ] }\n")),
                      Catch::Contains("bad regular expression 'a('"));
    CHECK_THROWS_WITH(h.load(book(k_isolate + "      - id: back\n"
                                              "        kind: reconnect\n"
                                              "        with: { isolate: isp }\n")),
                      Catch::Contains("unknown step 'isp'; did you mean 'iso'?"));
    CHECK_THROWS_WITH(h.load(book(k_isolate + "      - id: other\n"
                                              "        kind: probe\n"
                                              "      - id: back\n"
                                              "        kind: reconnect\n"
                                              "        with: { isolate: other }\n")),
                      Catch::Contains("step 'other' is of kind 'probe', not isolate"));
    CHECK_THROWS_WITH(h.load(book("      - id: back\n"
                                  "        kind: reconnect\n"
                                  "        with: { isolate: iso }\n" +
                                  k_isolate)),
                      Catch::Contains("which does not run before it"));
}
