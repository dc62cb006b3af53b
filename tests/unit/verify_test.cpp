// Checking many files against their hashes: every failure named, progress, stopping.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "migrate/steps/files/verify_files.h"
#include "migrate/util/digest.h"

using namespace migrate;
using namespace migrate::steps::files;

namespace {

struct Fixture {
    std::filesystem::path dir = std::filesystem::temp_directory_path() / "migrate-verify-test";
    std::vector<ChecksumEntry> entries;
    std::uint64_t bytes_listed = 0;

    Fixture() {
        std::filesystem::remove_all(dir);
        std::filesystem::create_directories(dir / "sub");
        for (int i = 0; i < 12; ++i)
            add("part-" + std::to_string(i), std::string(1000 * i * i + 7, char('a' + i)));
        add("sub/nested", "in a sub-directory");
        Digest md5(DigestAlgorithm::md5);
        md5.update("md5 listed");
        std::ofstream(dir / "md5-file") << "md5 listed";
        entries.push_back({"md5-file", md5.hex_digest(), DigestAlgorithm::md5, 0});
        bytes_listed += 10;
    }
    ~Fixture() { std::filesystem::remove_all(dir); }

    void add(const std::string& name, const std::string& content) {
        std::ofstream(dir / name, std::ios::binary) << content;
        entries.push_back({name, sha256_hex(content), DigestAlgorithm::sha256, 0});
        bytes_listed += content.size();
    }

    VerifyOutcome verify(int threads, CancelToken& cancel,
                         const std::function<void(const VerifyProgress&)>& progress = {}) {
        VerifyOptions options;
        options.base_dir = dir.string();
        options.threads = threads;
        options.progress = progress;
        options.progress_interval = Millis(1);
        return verify_files(entries, options, cancel);
    }
};

}  // namespace

TEST_CASE("all files match, on one thread and on several") {
    Fixture fixture;
    for (int threads : {1, 2, 8}) {
        CancelToken cancel;
        VerifyProgress last;
        VerifyOutcome outcome =
            fixture.verify(threads, cancel, [&](const VerifyProgress& p) { last = p; });
        INFO(threads << " threads");
        CHECK(outcome.ok());
        CHECK(outcome.files_checked == fixture.entries.size());
        CHECK(outcome.bytes == fixture.bytes_listed);
        CHECK(last.bytes_done == fixture.bytes_listed);
        CHECK(last.bytes_total == fixture.bytes_listed);
        CHECK(last.files_done == fixture.entries.size());
        CHECK(last.files_total == fixture.entries.size());
        CHECK(describe_failures(outcome, fixture.entries.size()).empty());
    }
}

TEST_CASE("every missing, different and unreadable file is named in the order of the list") {
    Fixture fixture;
    std::filesystem::remove(fixture.dir / "part-3");
    std::ofstream(fixture.dir / "part-5", std::ios::app) << "x";
    std::ofstream(fixture.dir / "part-9", std::ios::binary | std::ios::in)
        << "Z";  // same size, one byte changed
    std::filesystem::create_directory(fixture.dir / "a-directory");
    fixture.entries.push_back({"a-directory", sha256_hex(""), DigestAlgorithm::sha256, 0});
    fixture.entries.push_back({"never-there", sha256_hex(""), DigestAlgorithm::sha256, 0});
    CancelToken cancel;
    VerifyOutcome outcome = fixture.verify(2, cancel);
    CHECK_FALSE(outcome.ok());
    CHECK(outcome.missing == std::vector<std::string>{"part-3", "never-there"});
    REQUIRE(outcome.mismatched.size() == 2);
    CHECK(outcome.mismatched[0].file == "part-5");
    CHECK(outcome.mismatched[1].file == "part-9");
    CHECK(outcome.mismatched[1].expected == fixture.entries[9].hex);
    CHECK(outcome.mismatched[1].got ==
          hash_file((fixture.dir / "part-9").string(), DigestAlgorithm::sha256));
    REQUIRE(outcome.unreadable.size() == 1);
    CHECK(outcome.unreadable[0].file == "a-directory");
    CHECK(outcome.unreadable[0].error == "not a regular file");
    CHECK(outcome.files_checked == fixture.entries.size() - 3);
    CHECK(
        describe_failures(outcome, fixture.entries.size()) ==
        "5 of 16 files failed the check: missing: part-3, never-there; different: part-5, part-9; "
        "unreadable: a-directory (not a regular file)");
}

TEST_CASE("names are taken from the base directory unless absolute") {
    Fixture fixture;
    fixture.entries[0].name = (fixture.dir / "part-0").string();
    CancelToken cancel;
    CHECK(fixture.verify(2, cancel).ok());
}

TEST_CASE("a cancelled check stops and says so") {
    Fixture fixture;
    CancelToken cancel;
    cancel.cancel(CancelReason::interrupted);
    VerifyOutcome outcome = fixture.verify(2, cancel);
    CHECK(outcome.stopped);
    CHECK_FALSE(outcome.ok());
    CHECK(outcome.files_checked < fixture.entries.size());
}
