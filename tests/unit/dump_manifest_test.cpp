// The one reader of a dump's manifest and completion marker, and the one check of a dump
// file: each rule of the reader pinned by its own section, with the JSON path it names.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "migrate/steps/mysql/dump_manifest.h"
#include "migrate/util/digest.h"
#include "migrate/util/error.h"

using namespace migrate;
using namespace migrate::steps::mysql;
namespace fs = std::filesystem;

namespace {

const std::string k_hash(64, 'a');

nlohmann::json file_entry(const std::string& name) {
    return {{"file", name}, {"bytes", 10}, {"raw_bytes", 20}, {"sha256", k_hash}};
}

// The smallest manifest the format allows, with one table of one data file.
nlohmann::json minimal_manifest() {
    return {{"format", "migrate-dump"},
            {"format_version", 1},
            {"complete", true},
            {"database", "shop"},
            {"tables",
             {{{"name", "t"},
               {"rows", 3},
               {"schema", file_entry("t.schema.sql.zst")},
               {"data", {file_entry("t.data.sql.zst")}},
               {"triggers", nullptr}}}}};
}

std::string error_of(const nlohmann::json& manifest) {
    try {
        DumpManifest::from_json(manifest);
    } catch (const StepError& e) {
        CHECK_FALSE(e.retryable());
        return e.what();
    }
    return "";
}

void write_file(const fs::path& path, const std::string& bytes) {
    std::ofstream(path, std::ios::binary) << bytes;
}

struct TempDir {
    fs::path dir = fs::temp_directory_path() / "migrate-dump-manifest-test";
    TempDir() {
        fs::remove_all(dir);
        fs::create_directories(dir);
    }
    ~TempDir() { fs::remove_all(dir); }
};

}  // namespace

TEST_CASE("manifest reader: the smallest manifest reads, with defaults", "[dump_manifest]") {
    DumpManifest m = DumpManifest::from_json(minimal_manifest());
    CHECK(m.complete);
    CHECK(m.database == "shop");
    REQUIRE(m.tables.size() == 1);
    CHECK(m.tables[0].rows == 3);
    CHECK(m.tables[0].snapshot == 0);
    REQUIRE(m.tables[0].schema);
    CHECK_FALSE(m.tables[0].triggers);
    CHECK(m.tables[0].data.at(0).sha256 == k_hash);
    CHECK(m.views.empty());
    CHECK_FALSE(m.routines);
    CHECK(m.consistent);
    CHECK(m.connections == 1);
}

TEST_CASE("manifest reader: the document and its version", "[dump_manifest]") {
    SECTION("not an object") { CHECK(error_of(nlohmann::json::array()) == "not a JSON object"); }
    SECTION("another format") {
        nlohmann::json j = minimal_manifest();
        j["format"] = "mysqldump";
        CHECK_THAT(error_of(j), Catch::Contains("'format' is not \"migrate-dump\""));
    }
    SECTION("no version") {
        nlohmann::json j = minimal_manifest();
        j.erase("format_version");
        CHECK(error_of(j) == "'format_version' is missing");
    }
    SECTION("a version that is not a whole number of 1 or more") {
        nlohmann::json j = minimal_manifest();
        j["format_version"] = 0;
        CHECK(error_of(j) == "'format_version' must be a whole number of 1 or more");
        j["format_version"] = "1";
        CHECK(error_of(j) == "'format_version' must be a whole number of 1 or more");
    }
    SECTION("a newer version") {
        nlohmann::json j = minimal_manifest();
        j["format_version"] = 2;
        CHECK(error_of(j) == "dump format version 2 is newer than this build of migrate reads (1)");
    }
}

TEST_CASE("manifest reader: required fields are named when missing", "[dump_manifest]") {
    nlohmann::json j = minimal_manifest();
    SECTION("complete") {
        j.erase("complete");
        CHECK(error_of(j) == "'complete' is missing");
    }
    SECTION("database") {
        j.erase("database");
        CHECK(error_of(j) == "'database' is missing");
    }
    SECTION("tables") {
        j.erase("tables");
        CHECK(error_of(j) == "'tables' is missing");
    }
    SECTION("a table's name") {
        j["tables"][0].erase("name");
        CHECK(error_of(j) == "'tables[0].name' is missing");
        j["tables"][0]["name"] = "";
        CHECK(error_of(j) == "'tables[0].name' is empty");
    }
    SECTION("each field of a file") {
        for (const char* field : {"file", "bytes", "raw_bytes", "sha256"}) {
            nlohmann::json k = minimal_manifest();
            k["tables"][0]["data"][0].erase(field);
            CHECK(error_of(k) == std::string("'tables[0].data[0].") + field + "' is missing");
        }
    }
}

TEST_CASE("manifest reader: fields of the wrong type are named with their path",
          "[dump_manifest]") {
    nlohmann::json j = minimal_manifest();
    SECTION("complete") {
        j["complete"] = "yes";
        CHECK(error_of(j) == "'complete' must be true or false");
    }
    SECTION("tables") {
        j["tables"] = nlohmann::json::object();
        CHECK(error_of(j) == "'tables' must be a list");
    }
    SECTION("a table") {
        j["tables"][0] = "t";
        CHECK(error_of(j) == "'tables[0]' must be an object");
    }
    SECTION("a count") {
        j["tables"][0]["data"][0]["bytes"] = -1;
        CHECK(error_of(j) == "'tables[0].data[0].bytes' must be a whole number of 0 or more");
        j["tables"][0]["data"][0]["bytes"] = "10";
        CHECK(error_of(j) == "'tables[0].data[0].bytes' must be a whole number of 0 or more");
    }
    SECTION("data") {
        j["tables"][0]["data"] = file_entry("t.data.sql.zst");
        CHECK(error_of(j) == "'tables[0].data' must be a list");
    }
    SECTION("a view") {
        j["views"] = {{{"name", "v"}, {"file", "v.view.sql.zst"}, {"bytes", 1}}};
        CHECK(error_of(j) == "'views[0].raw_bytes' is missing");
    }
    SECTION("the routines") {
        j["routines"] = file_entry("routines.sql.zst");
        j["routines"]["sha256"] = 7;
        CHECK(error_of(j) == "'routines.sha256' must be a string");
    }
    SECTION("the snapshots") {
        j["snapshots"] = {{{"binlog_file", 3}}};
        CHECK(error_of(j) == "'snapshots[0].binlog_file' must be a string");
    }
    SECTION("excluded") {
        j["excluded"] = {"a", 2};
        CHECK(error_of(j) == "'excluded[1]' must be a string");
    }
}

TEST_CASE("manifest reader: a table is listed once", "[dump_manifest]") {
    nlohmann::json j = minimal_manifest();
    j["tables"].push_back(j["tables"][0]);
    CHECK(error_of(j) == "'tables[1].name' ('t') is also the name of tables[0]");
}

TEST_CASE("manifest reader: a file name must stay inside the dump directory", "[dump_manifest]") {
    for (const std::string& name :
         {std::string(""), std::string("/etc/passwd"), std::string("../etc/passwd"),
          std::string("sub/t.sql"), std::string(".."), std::string("."), std::string(".hidden"),
          std::string("a\\b"), std::string("t\0.sql", 6)}) {
        nlohmann::json j = minimal_manifest();
        j["tables"][0]["schema"]["file"] = name;
        CHECK_THAT(error_of(j),
                   Catch::StartsWith("'tables[0].schema.file' (") &&
                       Catch::EndsWith(") must name a file inside the dump directory"));
    }
    nlohmann::json nul = minimal_manifest();
    nul["tables"][0]["schema"]["file"] = std::string("t\0.sql", 6);
    CHECK(error_of(nul) ==
          "'tables[0].schema.file' (t\\x00.sql) must name a file inside the dump directory");
    nlohmann::json j = minimal_manifest();
    j["tables"][0]["schema"]["file"] = "t%2Ex.schema.sql.zst";
    CHECK(error_of(j).empty());
}

TEST_CASE("manifest reader: a hash must be 64 lowercase hex digits", "[dump_manifest]") {
    for (const std::string& hash :
         {std::string("aa"), std::string(63, 'a'), std::string(65, 'a'), std::string(64, 'A'),
          std::string(63, 'a') + "g", std::string("")}) {
        nlohmann::json j = minimal_manifest();
        j["tables"][0]["data"][0]["sha256"] = hash;
        CHECK(error_of(j) == "'tables[0].data[0].sha256' must be 64 lowercase hex digits");
    }
}

TEST_CASE("manifest reader: an unfinished manifest reads for a resume; the load refuses it",
          "[dump_manifest]") {
    nlohmann::json j = minimal_manifest();
    j["complete"] = false;
    CHECK_FALSE(DumpManifest::from_json(j).complete);
    // The load's requirement comes before the tables are read.
    j["tables"][0]["data"][0].erase("sha256");
    CHECK_THROWS_WITH(DumpManifest::from_json(j, ManifestCompleteness::required),
                      "the manifest says the dump is not complete ('complete' is not true)");
    CHECK_THAT(
        [&] {
            try {
                parse_dump_manifest("/d", j.dump());
            } catch (const StepError& e) {
                return std::string(e.what());
            }
            return std::string();
        }(),
        Catch::StartsWith("/d/migrate-dump.json: ") && Catch::Contains("'complete' is not true"));
}

TEST_CASE("manifest reader: a resume reads the same rules, naming the file", "[dump_manifest]") {
    TempDir temp;
    nlohmann::json j = minimal_manifest();
    j["tables"][0]["data"][0]["file"] = "../x";
    write_file(temp.dir / k_dump_manifest, j.dump());
    CHECK_THROWS_AS(read_manifest(temp.dir.string()), StepError);
    CHECK_THROWS_WITH(read_manifest(temp.dir.string()),
                      Catch::StartsWith((temp.dir / k_dump_manifest).string() + ": ") &&
                          Catch::Contains("'tables[0].data[0].file' (../x)"));
    write_file(temp.dir / k_dump_manifest, "{");
    CHECK_THROWS_WITH(read_manifest(temp.dir.string()), Catch::Contains(": not valid JSON: "));
}

TEST_CASE("completion marker: one strict reader", "[dump_manifest]") {
    TempDir temp;
    std::string dir = temp.dir.string();
    CHECK_FALSE(read_marker(dir));
    write_file(temp.dir / k_dump_marker, dump_marker_line(k_hash));
    CHECK(read_marker(dir) == k_hash);
    write_file(temp.dir / k_dump_marker, "migrate-dump 1 sha256=" + k_hash);
    CHECK(read_marker(dir) == k_hash);
    for (const std::string& bad :
         {"migrate-dump 1 sha256=" + k_hash + "\r\n", "migrate-dump  1 sha256=" + k_hash,
          "migrate-dump 1 sha256=" + std::string(64, 'A'), "migrate-dump 0 sha256=" + k_hash,
          "migrate-dump x sha256=" + k_hash, "migrate-dump 1 sha256=" + k_hash + " extra",
          "migrate-dump 1 md5=" + std::string(32, 'a'), std::string("")}) {
        write_file(temp.dir / k_dump_marker, bad);
        CHECK_THROWS_WITH(read_marker(dir), Catch::Contains("not a migrate dump marker"));
        // A dump's resume refuses it too, rather than taking it for no marker.
        CHECK_THROWS_AS(marker_matches(dir), StepError);
    }
    write_file(temp.dir / k_dump_marker, "migrate-dump 2 sha256=" + k_hash + "\n");
    CHECK_THROWS_WITH(read_marker(dir),
                      Catch::Contains("dump format version 2 is newer than this build of migrate "
                                      "reads (1)"));
}

TEST_CASE("dump file check: size, then SHA-256 when asked", "[dump_manifest]") {
    TempDir temp;
    std::string dir = temp.dir.string();
    write_file(temp.dir / "t.data.sql", "12345");
    DumpFile file{"t.data.sql", 5, 5, sha256_hex("12345"), std::nullopt};
    CHECK(check_dump_file(dir, file) == "");
    CHECK(check_dump_file(dir, file, DumpFileCheck::size) == "");
    write_file(temp.dir / "t.data.sql", "12346");
    CHECK(check_dump_file(dir, file, DumpFileCheck::size) == "");
    CHECK(check_dump_file(dir, file) == dir +
                                            "/t.data.sql does not match its SHA-256 in the "
                                            "manifest");
    write_file(temp.dir / "t.data.sql", "123");
    CHECK(check_dump_file(dir, file, DumpFileCheck::size) ==
          dir + "/t.data.sql has 3 bytes, the manifest says 5: the file is cut short");
    write_file(temp.dir / "t.data.sql", "1234567");
    CHECK(check_dump_file(dir, file, DumpFileCheck::size) ==
          dir +
              "/t.data.sql has 7 bytes, the manifest says 5: the file is not the one the dump "
              "wrote");
    fs::remove(temp.dir / "t.data.sql");
    CHECK(check_dump_file(dir, file) == dir + "/t.data.sql is missing (the manifest lists it)");
}
