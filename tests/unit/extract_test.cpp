// extract's pure pieces: the order of a multi-part archive's parts, and the path rules that
// keep every entry and link inside the destination; and its resume after a kill -9.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "fakes.h"
#include "migrate/steps/files/archive_parts.h"
#include "migrate/steps/files/archive_paths.h"
#include "migrate/steps/kinds.h"
#include "migrate/util/error.h"

using namespace migrate;
using namespace migrate::steps::files;
using Catch::Matchers::Contains;

namespace {

std::string refusal(EntryPlacer& placer, const ArchiveEntryName& entry) {
    try {
        placer.place(entry);
    } catch (const StepError& e) {
        CHECK_FALSE(e.retryable());
        return e.what();
    }
    return "";
}

std::string refusal(const ArchiveEntryName& entry) {
    EntryPlacer placer;
    return refusal(placer, entry);
}

ArchiveEntryName file_entry(const std::string& path) { return {path, EntryType::file, ""}; }
ArchiveEntryName directory_entry(const std::string& path) {
    return {path, EntryType::directory, ""};
}
ArchiveEntryName symlink_entry(const std::string& path, const std::string& target) {
    return {path, EntryType::symlink, target};
}
ArchiveEntryName hardlink_entry(const std::string& path, const std::string& target) {
    return {path, EntryType::hardlink, target};
}

}  // namespace

TEST_CASE("order_parts: numeric suffixes, not text order", "[extract]") {
    CHECK(order_parts({"b.tar.gz.10", "b.tar.gz.2", "b.tar.gz.1", "b.tar.gz.3", "b.tar.gz.4",
                       "b.tar.gz.5", "b.tar.gz.6", "b.tar.gz.7", "b.tar.gz.8", "b.tar.gz.9"})
              .parts == std::vector<std::string>{
                            "b.tar.gz.1", "b.tar.gz.2", "b.tar.gz.3", "b.tar.gz.4", "b.tar.gz.5",
                            "b.tar.gz.6", "b.tar.gz.7", "b.tar.gz.8", "b.tar.gz.9", "b.tar.gz.10"});
    CHECK(order_parts({"d/b.002", "d/b.001", "d/b.003"}).parts ==
          std::vector<std::string>{"d/b.001", "d/b.002", "d/b.003"});
    // split -d numbers from zero
    CHECK(order_parts({"x.01", "x.00", "x.02"}).parts ==
          std::vector<std::string>{"x.00", "x.01", "x.02"});
    // one match is taken as it is, numbered or not
    CHECK(order_parts({"backup.tar.gz"}).parts == std::vector<std::string>{"backup.tar.gz"});
    CHECK(order_parts({"backup.2024"}).parts == std::vector<std::string>{"backup.2024"});
}

TEST_CASE("order_parts: files beside the parts that carry no number are set aside", "[extract]") {
    PartList list =
        order_parts({"b.tar.gz.2", "b.tar.gz.sha256", "b.tar.gz.1", "b.tar.gz.partial"});
    CHECK(list.parts == std::vector<std::string>{"b.tar.gz.1", "b.tar.gz.2"});
    CHECK(list.ignored == std::vector<std::string>{"b.tar.gz.sha256", "b.tar.gz.partial"});
}

TEST_CASE("order_parts: a gap names the missing part, written like its neighbours", "[extract]") {
    CHECK_THROWS_WITH(order_parts({"b.tar.gz.1", "b.tar.gz.2", "b.tar.gz.4"}),
                      Contains("missing part: b.tar.gz.3 ") &&
                          Contains("found 3 parts, b.tar.gz.1 to b.tar.gz.4"));
    std::vector<std::string> padded;
    for (const char* number : {"010", "001", "002", "003", "004", "005", "006", "007", "008"})
        padded.push_back(std::string("b.") + number);
    CHECK_THROWS_WITH(order_parts(padded), Contains("missing part: b.009 "));
    CHECK_THROWS_WITH(
        order_parts({"b.9", "b.11", "b.8", "b.1", "b.2", "b.3", "b.4", "b.5", "b.6", "b.7"}),
        Contains("missing part: b.10 "));
    CHECK_THROWS_WITH(order_parts({"b.2", "b.3"}), Contains("missing part: b.1 "));
    CHECK_THROWS_WITH(order_parts({"b.003", "b.004"}), Contains("missing parts: b.001, b.002 "));
    CHECK_THROWS_WITH(order_parts({"b.1", "b.5"}), Contains("missing parts: b.2, b.3, b.4 "));
    // a huge gap is counted, not listed
    CHECK_THROWS_WITH(order_parts({"b.1", "b.1000000"}), Contains("b.2, b.3") &&
                                                             Contains("b.11 and 999988 more") &&
                                                             !Contains("b.12,"));
}

TEST_CASE("order_parts: what it cannot order", "[extract]") {
    CHECK_THROWS_WITH(order_parts({"b.1", "b.01", "b.2"}),
                      Contains("b.1 and b.01 both number part 1"));
    CHECK_THROWS_WITH(order_parts({"a.tar", "b.tar"}),
                      Contains("none ends in a part number") && Contains("`parts:`"));
    CHECK_THROWS_AS(order_parts({"a.tar", "b.tar"}), StepError);
}

TEST_CASE("expand_parts lists the directory and orders the matches", "[extract]") {
    std::filesystem::path dir =
        std::filesystem::temp_directory_path() / "migrate-extract-parts-test";
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    for (const char* name : {"site.tar.gz.1", "site.tar.gz.2", "site.tar.gz.10", "site.tar.gz.3",
                             "site.tar.gz.4", "site.tar.gz.5", "site.tar.gz.6", "site.tar.gz.7",
                             "site.tar.gz.8", "site.tar.gz.9", "other.1"})
        std::ofstream(dir / name) << "x";
    PartList list = expand_parts((dir / "site.tar.gz.*").string());
    REQUIRE(list.parts.size() == 10);
    CHECK(list.parts.front() == (dir / "site.tar.gz.1").string());
    CHECK(list.parts.back() == (dir / "site.tar.gz.10").string());
    std::filesystem::remove(dir / "site.tar.gz.7");
    CHECK_THROWS_WITH(expand_parts((dir / "site.tar.gz.*").string()),
                      Contains("missing part: " + (dir / "site.tar.gz.7").string()));
    CHECK_THROWS_WITH(expand_parts((dir / "none.*").string()), Contains("no file matches"));
    CHECK_THROWS_WITH(expand_parts((dir / "*" / "x.*").string()),
                      Contains("only the file name may hold a glob"));
    CHECK(is_glob("a/b.tar.gz.*"));
    CHECK(is_glob("b.tar.gz.[0-9]"));
    CHECK_FALSE(is_glob("a*/b.tar.gz"));
    std::filesystem::remove_all(dir);
}

TEST_CASE("path_components drops empty and '.' components", "[extract]") {
    CHECK(path_components("./a//b/") == std::vector<std::string>{"a", "b"});
    CHECK(path_components("a/./../b") == std::vector<std::string>{"a", "..", "b"});
    CHECK(path_components("./").empty());
    CHECK(path_components("").empty());
}

TEST_CASE("symlink_escapes resolves the target in the link's directory", "[extract]") {
    CHECK_FALSE(symlink_escapes("a/link", "b"));
    CHECK_FALSE(symlink_escapes("a/link", ".."));  // the destination itself
    CHECK_FALSE(symlink_escapes("a/b/link", "../../c"));
    CHECK_FALSE(symlink_escapes("link", "."));
    CHECK_FALSE(symlink_escapes("a/link", "./../x/./y"));
    CHECK(symlink_escapes("link", ".."));
    CHECK(symlink_escapes("a/link", "../.."));
    CHECK(symlink_escapes("a/b/link", "../../../outside"));
    CHECK(symlink_escapes("link", "../../outside"));
    CHECK(symlink_escapes("a/link", "x/../../../y"));
    CHECK(symlink_escapes("a/link", "/etc/passwd"));
    CHECK(symlink_escapes("a/link", ""));
}

TEST_CASE("EntryPlacer places ordinary entries, normalised", "[extract]") {
    EntryPlacer placer;
    CHECK(placer.place(directory_entry("./")).path.empty());
    CHECK(placer.place(directory_entry("./site/")).path == "site");
    CHECK(placer.place(file_entry("./site//index.html")).path == "site/index.html");
    CHECK(placer.place(symlink_entry("site/current", "releases/3")).path == "site/current");
    CHECK(placer.place(symlink_entry("site/up", "..")).path == "site/up");
    CHECK(placer.place(symlink_entry("site/a/b/shared", "../../shared/x")).path ==
          "site/a/b/shared");
    PlacedEntry link = placer.place(hardlink_entry("site/copy.html", "./site/index.html"));
    CHECK(link.path == "site/copy.html");
    CHECK(link.target == "site/index.html");
    CHECK(placer.place(hardlink_entry("site/current-link", "site/current")).target ==
          "site/current");  // a link to a symlink
    CHECK(placer.place({"site/fifo", EntryType::other, ""}).path == "site/fifo");
}

TEST_CASE("EntryPlacer refuses names outside the destination, naming the entry", "[extract]") {
    CHECK_THAT(refusal(file_entry("/etc/cron.d/x")),
               Contains("'/etc/cron.d/x'") && Contains("an absolute path"));
    CHECK_THAT(refusal(file_entry("../escape")),
               Contains("'../escape'") && Contains("'..' component"));
    CHECK_THAT(refusal(file_entry("a/../../escape")), Contains("'..' component"));
    CHECK_THAT(refusal(file_entry("a/../b")),
               Contains("'..' component"));  // inside, but no '..' is taken at all
    CHECK_THAT(refusal(directory_entry("..")), Contains("'..' component"));
    CHECK_THAT(refusal(file_entry("")), Contains("an empty name"));
    CHECK_THAT(refusal(file_entry("./")), Contains("names the destination itself"));
    CHECK_THAT(refusal({"dev/sda", EntryType::device, ""}),
               Contains("'dev/sda'") && Contains("device node"));
    CHECK(refusal(file_entry("x")).empty());
}

TEST_CASE("EntryPlacer refuses symlinks that point out", "[extract]") {
    CHECK_THAT(refusal(symlink_entry("evil", "../../outside")),
               Contains("'evil'") && Contains("points outside the destination"));
    CHECK_THAT(refusal(symlink_entry("a/evil", "../..")), Contains("points outside"));
    CHECK_THAT(refusal(symlink_entry("up", "..")), Contains("points outside"));
    CHECK_THAT(refusal(symlink_entry("evil", "/etc")),
               Contains("'evil'") && Contains("absolute path '/etc'"));
    CHECK_THAT(refusal(symlink_entry("evil", "")), Contains("empty target"));
    // inside on paper, but "a" may itself be a link: climbing after a name is refused
    CHECK_THAT(refusal(symlink_entry("d/x", "sub/../y")), Contains("'..' after a name"));
}

TEST_CASE("EntryPlacer: a chain of links cannot climb out", "[extract]") {
    // d/up -> .. is the destination; d/up2 -> up/.. would be its parent on disk.
    EntryPlacer placer;
    placer.place(directory_entry("d"));
    placer.place(symlink_entry("d/up", ".."));
    CHECK_THAT(refusal(placer, symlink_entry("d/up2", "up/..")), Contains("'d/up2'"));
}

TEST_CASE("EntryPlacer refuses writes through an earlier symlink", "[extract]") {
    EntryPlacer placer;
    placer.place(symlink_entry("inner", "sub"));
    CHECK_THAT(refusal(placer, file_entry("inner/evil")),
               Contains("'inner/evil'") && Contains("through the symlink 'inner'"));
    CHECK_THAT(refusal(placer, directory_entry("inner/deeper/")),
               Contains("through the symlink 'inner'"));
    CHECK_THAT(refusal(placer, file_entry("./inner")), Contains("replace the symlink"));
    CHECK_THAT(refusal(placer, hardlink_entry("h", "inner/x")),
               Contains("'h'") && Contains("through the symlink 'inner'"));
    CHECK(placer.place(file_entry("innerfile")).path ==
          "innerfile");  // a name that only starts alike
}

TEST_CASE("EntryPlacer refuses hard links to outside", "[extract]") {
    CHECK_THAT(refusal(hardlink_entry("h", "/etc/shadow")),
               Contains("'h'") && Contains("absolute path '/etc/shadow'"));
    CHECK_THAT(refusal(hardlink_entry("h", "../outside")),
               Contains("'h'") && Contains("'..' component"));
    CHECK_THAT(refusal(hardlink_entry("h", "")), Contains("empty target"));
    CHECK_THAT(refusal(hardlink_entry("h", "./")), Contains("destination itself"));
}

TEST_CASE("EntryPlacer with strip_components", "[extract]") {
    EntryPlacer placer(1);
    CHECK(placer.place(directory_entry("site/")).skipped);
    CHECK(placer.place(file_entry("site/index.html")).path == "index.html");
    CHECK(placer.place(file_entry("site//a/b")).path == "a/b");
    // as tar counts: "./" is a component
    CHECK(placer.place(directory_entry("./")).skipped);
    CHECK(placer.place(directory_entry("./site/")).path == "site");
    CHECK(placer.place(file_entry("./site/a/b")).path == "site/a/b");
    EntryPlacer two(2);
    CHECK(two.place(file_entry("./site/a/b")).path == "a/b");
    CHECK(two.place(directory_entry("./site/")).skipped);
    CHECK(two.place(directory_entry("./site//")).skipped);
    PlacedEntry link = placer.place(hardlink_entry("site/copy", "site/index.html"));
    CHECK(link.target == "index.html");
    CHECK(placer.place(hardlink_entry("site/copy2", "top")).skipped);  // its target was skipped
    // the rules apply to the name as stored, before stripping
    CHECK_THAT(refusal(placer, file_entry("../site/x")), Contains("'..' component"));
    CHECK_THAT(refusal(placer, file_entry("/site/x")), Contains("an absolute path"));
    // a link is resolved where it lands
    CHECK_THAT(refusal(placer, symlink_entry("site/up", "..")), Contains("points outside"));
}

// Found by the kill-anywhere sweep (tests/e2e/kill_anywhere.sh): a run killed after the
// staging directory was renamed to `to` and before the step.end was journaled left a complete
// tree in `to`, and every --resume then failed on "exists and is not empty".
TEST_CASE(
    "extract: the tree an attempt killed before its step.end renamed into place is "
    "extracted again on resume, not refused",
    "[extract]") {
    namespace fs = std::filesystem;
    test::TempPath dir("");
    fs::path root = fs::weakly_canonical(dir.str());
    fs::create_directories(root / "tree/sub");
    test::write_file((root / "tree/sub/a.txt").string(), "restored\n");
    test::write_file((root / "tree/b.txt").string(), "also restored\n");
    std::string archive = (root / "backup.tar.gz").string();
    REQUIRE(std::system(
                ("tar -C '" + (root / "tree").string() + "' -czf '" + archive + "' .").c_str()) ==
            0);
    fs::path out = root / "out";
    // What the killed attempt left: the whole tree in `to` (as the rename put it there).
    fs::copy(root / "tree", out, fs::copy_options::recursive);

    test::EngineHarness h;
    h.kinds = steps::builtin_kinds();
    h.load(
        "version: 1\nname: extract-resume\nphases:\n  - id: p\n    steps:\n"
        "      - { id: unpack, kind: extract, with: { archive: \"" +
        archive + "\", to: \"" + out.string() + "\" } }\n");

    SECTION("with the checkpoint journaled before the rename: removed and extracted again") {
        engine::PriorState prior;
        prior.has_run = true;
        prior.checkpoints["unpack"] = test::Json{{"renaming_to", out.string()}};
        engine::RunOutcome outcome = h.run({}, prior);
        CHECK(outcome.status == "ok");
        CHECK(test::read_file((out / "sub/a.txt").string()) == "restored\n");
        CHECK(test::read_file((out / "b.txt").string()) == "also restored\n");
        CHECK_FALSE(fs::exists(root / "out.partial"));
        CHECK_THAT(h.console_text.str(), Contains("renamed into place by an earlier attempt"));
        REQUIRE(h.events("step.checkpoint", "unpack").size() == 1);
    }
    SECTION("without it, a tree in `to` is someone else's: still refused") {
        engine::RunOutcome outcome = h.run();
        CHECK(outcome.status == "failed");
        CHECK(h.step_end("unpack")
                  .data.value("error", std::string())
                  .find("exists and is not empty") != std::string::npos);
    }
}
