// The inventory: Ansible INI and YAML inventories, inline groups, host ranges, host patterns.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "fakes.h"
#include "migrate/runbook/inventory.h"

using namespace migrate;
using namespace migrate::runbook;

namespace {

Inventory from_ini(const std::string& text) {
    Inventory inventory;
    read_ini_inventory(text, inventory);
    inventory.finish();
    return inventory;
}

std::vector<std::string> names(const Inventory& inventory, const std::string& pattern) {
    std::vector<std::string> out;
    for (std::size_t index : select_hosts(inventory, pattern))
        out.push_back(inventory.hosts()[index].name);
    return out;
}

const char* k_ini = R"(# the platform
bastion ansible_host=10.0.0.1

[web]
web[01:04] ansible_user=deploy
web05:2222

[db]
db1 ansible_host=10.0.1.1 ansible_port=3307 role="primary db"
db2

[web:vars]
ansible_port=22
tier=front

[prod:children]
web
db

[all:vars]
tier=any
ansible_user=root
)";

}  // namespace

TEST_CASE("inventory: INI groups, children, vars, ranges and host:port", "[inventory]") {
    Inventory inventory = from_ini(k_ini);
    CHECK(inventory.hosts().size() == 8);
    CHECK(names(inventory, "web") ==
          std::vector<std::string>{"web01", "web02", "web03", "web04", "web05"});
    CHECK(names(inventory, "prod").size() == 7);
    CHECK(names(inventory, "ungrouped") == std::vector<std::string>{"bastion"});
    const InventoryHost* web = inventory.find("web02");
    REQUIRE(web != nullptr);
    CHECK(web->user == "deploy");  // the host's own beats group vars
    CHECK(web->port == 22);
    CHECK(web->vars.at("tier") == "front");  // a group's var beats all's
    const InventoryHost* five = inventory.find("web05");
    REQUIRE(five != nullptr);
    CHECK(five->port == 2222);  // host:port beats the group's ansible_port
    const InventoryHost* db1 = inventory.find("db1");
    REQUIRE(db1 != nullptr);
    CHECK(db1->address == "10.0.1.1");
    CHECK(db1->port == 3307);
    CHECK(db1->user == "root");
    CHECK(db1->vars.at("role") == "primary db");
    CHECK(inventory.find("bastion")->vars.at("tier") == "any");
}

TEST_CASE("inventory: patterns as Ansible users write them", "[inventory]") {
    Inventory inventory = from_ini(k_ini);
    CHECK(names(inventory, "all").size() == 8);
    CHECK(names(inventory, "*").size() == 8);
    CHECK(names(inventory, "web:!web03") ==
          std::vector<std::string>{"web01", "web02", "web04", "web05"});
    CHECK(names(inventory, "web[0:2]") == std::vector<std::string>{"web01", "web02", "web03"});
    CHECK(names(inventory, "web[-1]") == std::vector<std::string>{"web05"});
    CHECK(names(inventory, "web[3:]") == std::vector<std::string>{"web04", "web05"});
    CHECK(names(inventory, "prod:&db") == std::vector<std::string>{"db1", "db2"});
    CHECK(names(inventory, "web0*") ==
          std::vector<std::string>{"web01", "web02", "web03", "web04", "web05"});
    CHECK(names(inventory, "db1,bastion") == std::vector<std::string>{"bastion", "db1"});
    CHECK(names(inventory, "!web") == std::vector<std::string>{"bastion", "db1", "db2"});
}

// A fan-out step's `failed` output lists host names separated by spaces; a later step's
// `hosts: ${steps.check.failed}` must select exactly those hosts.
TEST_CASE("inventory: blanks between names separate them like ','", "[inventory]") {
    Inventory inventory = from_ini(k_ini);
    CHECK(names(inventory, "web02 db1") == std::vector<std::string>{"web02", "db1"});
    CHECK(names(inventory, "web02  db1\tbastion") ==
          std::vector<std::string>{"bastion", "web02", "db1"});
    CHECK(names(inventory, " web03 ") == std::vector<std::string>{"web03"});
    CHECK(names(inventory, "web01, db2 ,bastion") ==
          std::vector<std::string>{"bastion", "web01", "db2"});
    CHECK(names(inventory, "web !web03") ==
          std::vector<std::string>{"web01", "web02", "web04", "web05"});
    // Blanks beside ':' are only padding, as before.
    CHECK(names(inventory, "web : !web03") ==
          std::vector<std::string>{"web01", "web02", "web04", "web05"});
    CHECK_THROWS_WITH(select_hosts(inventory, "web01,,db1"), Catch::Contains("empty term"));
    CHECK_THROWS_WITH(select_hosts(inventory, "web01 wbe02"),
                      Catch::Contains("did you mean 'web02'"));
}

TEST_CASE("inventory: a bad pattern names the spot and a likely name", "[inventory]") {
    Inventory inventory = from_ini(k_ini);
    try {
        select_hosts(inventory, "web:!wbe03");
        FAIL("no error");
    } catch (const InventoryError& e) {
        CHECK_THAT(e.what(), Catch::Contains("no group or host named 'wbe03'"));
        CHECK_THAT(e.what(), Catch::Contains("did you mean 'web03'"));
        CHECK(e.column == 6);
    }
    CHECK_THROWS_WITH(select_hosts(inventory, "web[x]"), Catch::Contains("bad position"));
    CHECK_THROWS_WITH(select_hosts(inventory, "web:"), Catch::Contains("empty term"));
    CHECK_THROWS_WITH(select_hosts(inventory, "nothing*"), Catch::Contains("matches no group"));
    CHECK_THROWS_WITH(select_hosts(inventory, "web[9]"), Catch::Contains("selects no host"));
}

TEST_CASE("inventory: INI errors carry line and column", "[inventory]") {
    auto error_of = [](const std::string& text) {
        try {
            from_ini(text);
        } catch (const InventoryError& e) {
            return std::to_string(e.line) + ":" + std::to_string(e.column) + " " + e.what();
        }
        return std::string("no error");
    };
    CHECK_THAT(error_of("[web]\nweb1 port\n"), Catch::StartsWith("2:6 expected NAME=VALUE"));
    CHECK_THAT(error_of("[web\n"), Catch::StartsWith("1:1 a section header"));
    CHECK_THAT(error_of("[web:hosts]\n"), Catch::Contains("unknown section kind"));
    CHECK_THAT(error_of("[web]\n  web[3:1]\n"), Catch::StartsWith("2:6 bad host range"));
    CHECK_THAT(error_of("[web:vars]\nnovalue\n"), Catch::StartsWith("2:1 expected NAME=VALUE"));
    CHECK_THAT(error_of("[a:children]\nb\n[b:children]\na\n"),
               Catch::Contains("contain each other"));
    CHECK_THAT(error_of("[web]\nw1 ansible_port=http\n"), Catch::Contains("not a number"));
}

TEST_CASE("inventory: host ranges", "[inventory]") {
    CHECK(expand_host_range("web[01:03].example.com") ==
          std::vector<std::string>{"web01.example.com", "web02.example.com", "web03.example.com"});
    CHECK(expand_host_range("db-[a:c]") == std::vector<std::string>{"db-a", "db-b", "db-c"});
    CHECK(expand_host_range("n[0:10:5]") == std::vector<std::string>{"n0", "n5", "n10"});
    CHECK(expand_host_range("r[1:2]c[1:2]") ==
          std::vector<std::string>{"r1c1", "r1c2", "r2c1", "r2c2"});
    CHECK(expand_host_range("plain") == std::vector<std::string>{"plain"});
    CHECK_THROWS_AS(expand_host_range("web[1:999999]"), InventoryError);
}

TEST_CASE("inventory: inline groups in the runbook and a YAML inventory file", "[inventory]") {
    test::TempPath temp("");
    std::string dir_path = temp.str();
    std::filesystem::create_directories(dir_path);
    {
        std::ofstream file(dir_path + "/hosts.yml");
        file << "all:\n  vars: { ansible_user: ops }\n  children:\n    app:\n      hosts:\n"
                "        app[1:3]: { ansible_port: 2200 }\n      vars: { tier: app }\n";
    }
    SourceFile source(
        "r.yaml",
        "hosts:\n"
        "  inventory: hosts.yml\n"
        "  web: [web1, \"web2\"]\n"
        "  db:\n"
        "    - { host: db1, address: 10.1.1.1, port: 2201, user: admin, vars: { a: b } }\n");
    Diagnostics diagnostics(std::make_shared<SourceFile>(source));
    Node root = parse_document(source, diagnostics);
    REQUIRE(!diagnostics.has_errors());
    std::optional<Inventory> inventory = build_inventory(
        *root.find("hosts"), [](const Node& node) { return node.value; }, dir_path, diagnostics);
    INFO(diagnostics.format());
    REQUIRE(inventory);
    CHECK(names(*inventory, "app") == std::vector<std::string>{"app1", "app2", "app3"});
    CHECK(inventory->find("app2")->port == 2200);
    CHECK(inventory->find("app2")->user == "ops");
    CHECK(inventory->find("app2")->vars.at("tier") == "app");
    CHECK(names(*inventory, "web") == std::vector<std::string>{"web1", "web2"});
    const InventoryHost* db1 = inventory->find("db1");
    REQUIRE(db1 != nullptr);
    CHECK(db1->address == "10.1.1.1");
    CHECK(db1->port == 2201);
    CHECK(db1->user == "admin");
    CHECK(db1->vars.at("a") == "b");
}

TEST_CASE("inventory: problems in the runbook's hosts are reported at their marks", "[inventory]") {
    SourceFile source("r.yaml",
                      "hosts:\n"
                      "  inventory: missing.ini\n"
                      "  all: [x]\n"
                      "  web: { a: b }\n"
                      "  db:\n"
                      "    - { host: db1, prot: 22 }\n");
    Diagnostics diagnostics(std::make_shared<SourceFile>(source));
    Node root = parse_document(source, diagnostics);
    REQUIRE(!diagnostics.has_errors());
    std::optional<Inventory> inventory = build_inventory(
        *root.find("hosts"), [](const Node& node) { return node.value; }, "/nonexistent",
        diagnostics);
    CHECK(!inventory);
    std::string text = diagnostics.format();
    CHECK_THAT(text, Catch::Contains("r.yaml:2:14: cannot read the inventory"));
    CHECK_THAT(text, Catch::Contains("r.yaml:3:3: bad group name 'all'"));
    CHECK_THAT(text, Catch::Contains("r.yaml:4:8: group 'web' must list its hosts"));
    CHECK_THAT(text, Catch::Contains("unknown field 'prot' of a host; did you mean 'port'"));
}
