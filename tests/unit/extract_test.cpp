// extract's pure pieces: the order of a multi-part archive's parts.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "migrate/steps/archive_parts.h"
#include "migrate/util/error.h"

using namespace migrate;
using namespace migrate::steps;
using Catch::Matchers::Contains;

TEST_CASE("order_parts: numeric suffixes, not text order", "[extract]") {
    CHECK(order_parts({"b.tar.gz.10", "b.tar.gz.2", "b.tar.gz.1", "b.tar.gz.3", "b.tar.gz.4", "b.tar.gz.5", "b.tar.gz.6",
                       "b.tar.gz.7", "b.tar.gz.8", "b.tar.gz.9"})
              .parts == std::vector<std::string>{"b.tar.gz.1", "b.tar.gz.2", "b.tar.gz.3", "b.tar.gz.4", "b.tar.gz.5",
                                                 "b.tar.gz.6", "b.tar.gz.7", "b.tar.gz.8", "b.tar.gz.9", "b.tar.gz.10"});
    CHECK(order_parts({"d/b.002", "d/b.001", "d/b.003"}).parts == std::vector<std::string>{"d/b.001", "d/b.002", "d/b.003"});
    // split -d numbers from zero
    CHECK(order_parts({"x.01", "x.00", "x.02"}).parts == std::vector<std::string>{"x.00", "x.01", "x.02"});
    // one match is taken as it is, numbered or not
    CHECK(order_parts({"backup.tar.gz"}).parts == std::vector<std::string>{"backup.tar.gz"});
    CHECK(order_parts({"backup.2024"}).parts == std::vector<std::string>{"backup.2024"});
}

TEST_CASE("order_parts: files beside the parts that carry no number are set aside", "[extract]") {
    PartList list = order_parts({"b.tar.gz.2", "b.tar.gz.sha256", "b.tar.gz.1", "b.tar.gz.partial"});
    CHECK(list.parts == std::vector<std::string>{"b.tar.gz.1", "b.tar.gz.2"});
    CHECK(list.ignored == std::vector<std::string>{"b.tar.gz.sha256", "b.tar.gz.partial"});
}

TEST_CASE("order_parts: a gap names the missing part, written like its neighbours", "[extract]") {
    CHECK_THROWS_WITH(order_parts({"b.tar.gz.1", "b.tar.gz.2", "b.tar.gz.4"}),
                      Contains("missing part: b.tar.gz.3 ") && Contains("found 3 parts, b.tar.gz.1 to b.tar.gz.4"));
    std::vector<std::string> padded;
    for (const char* number : {"010", "001", "002", "003", "004", "005", "006", "007", "008"}) padded.push_back(std::string("b.") + number);
    CHECK_THROWS_WITH(order_parts(padded), Contains("missing part: b.009 "));
    CHECK_THROWS_WITH(order_parts({"b.9", "b.11", "b.8", "b.1", "b.2", "b.3", "b.4", "b.5", "b.6", "b.7"}),
                      Contains("missing part: b.10 "));
    CHECK_THROWS_WITH(order_parts({"b.2", "b.3"}), Contains("missing part: b.1 "));
    CHECK_THROWS_WITH(order_parts({"b.003", "b.004"}), Contains("missing parts: b.001, b.002 "));
    CHECK_THROWS_WITH(order_parts({"b.1", "b.5"}), Contains("missing parts: b.2, b.3, b.4 "));
    // a huge gap is counted, not listed
    CHECK_THROWS_WITH(order_parts({"b.1", "b.1000000"}),
                      Contains("b.2, b.3") && Contains("b.11 and 999988 more") && !Contains("b.12,"));
}

TEST_CASE("order_parts: what it cannot order", "[extract]") {
    CHECK_THROWS_WITH(order_parts({"b.1", "b.01", "b.2"}), Contains("b.1 and b.01 both number part 1"));
    CHECK_THROWS_WITH(order_parts({"a.tar", "b.tar"}), Contains("none ends in a part number") && Contains("`parts:`"));
    CHECK_THROWS_AS(order_parts({"a.tar", "b.tar"}), StepError);
}

TEST_CASE("expand_parts lists the directory and orders the matches", "[extract]") {
    std::filesystem::path dir = std::filesystem::temp_directory_path() / "migrate-extract-parts-test";
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    for (const char* name : {"site.tar.gz.1", "site.tar.gz.2", "site.tar.gz.10", "site.tar.gz.3", "site.tar.gz.4",
                             "site.tar.gz.5", "site.tar.gz.6", "site.tar.gz.7", "site.tar.gz.8", "site.tar.gz.9", "other.1"})
        std::ofstream(dir / name) << "x";
    PartList list = expand_parts((dir / "site.tar.gz.*").string());
    REQUIRE(list.parts.size() == 10);
    CHECK(list.parts.front() == (dir / "site.tar.gz.1").string());
    CHECK(list.parts.back() == (dir / "site.tar.gz.10").string());
    std::filesystem::remove(dir / "site.tar.gz.7");
    CHECK_THROWS_WITH(expand_parts((dir / "site.tar.gz.*").string()),
                      Contains("missing part: " + (dir / "site.tar.gz.7").string()));
    CHECK_THROWS_WITH(expand_parts((dir / "none.*").string()), Contains("no file matches"));
    CHECK_THROWS_WITH(expand_parts((dir / "*" / "x.*").string()), Contains("only the file name may hold a glob"));
    CHECK(is_glob("a/b.tar.gz.*"));
    CHECK(is_glob("b.tar.gz.[0-9]"));
    CHECK_FALSE(is_glob("a*/b.tar.gz"));
    std::filesystem::remove_all(dir);
}
