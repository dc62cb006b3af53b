// Checksum lists (sha256sum / md5sum / BSD), digests and the .partial file.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "migrate/steps/files/checksums.h"
#include "migrate/util/digest.h"
#include "migrate/util/error.h"
#include "migrate/util/partial_file.h"

using namespace migrate;
using namespace migrate::steps::files;

namespace {
const std::string k_sha_abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
const std::string k_md5_abc = "900150983cd24fb0d6963f7d28e17f72";
}  // namespace

TEST_CASE("digests of known inputs") {
    CHECK(sha256_hex("abc") == k_sha_abc);
    Digest md5(DigestAlgorithm::md5);
    md5.update("abc");
    CHECK(md5.hex_digest() == k_md5_abc);
    CHECK(digest_from_hex_length(64) == DigestAlgorithm::sha256);
    CHECK(digest_from_hex_length(32) == DigestAlgorithm::md5);
    CHECK_FALSE(digest_from_hex_length(40).has_value());
}

TEST_CASE("hash_file reads a file in blocks and reports progress") {
    std::filesystem::path path = std::filesystem::temp_directory_path() / "migrate-hash-file-test";
    std::string content(3 * 1024 * 1024 + 17, 'x');
    std::ofstream(path, std::ios::binary) << content;
    std::uint64_t last = 0;
    CHECK(hash_file(path.string(), DigestAlgorithm::sha256, [&](std::uint64_t done) {
              last = done;
              return true;
          }) == sha256_hex(content));
    CHECK(last == content.size());
    CHECK(hash_file(path.string(), DigestAlgorithm::sha256, [](std::uint64_t) {
              return false;
          }).empty());
    std::filesystem::remove(path);
    CHECK_THROWS_WITH(hash_file(path.string(), DigestAlgorithm::sha256),
                      Catch::Contains(path.string()));
}

TEST_CASE("checksum lists in sha256sum, binary-mode, md5sum and BSD form") {
    std::string text = "# parts of the backup\n" + k_sha_abc + "  backup.tar.gz.001\n" + k_sha_abc +
                       " *backup.tar.gz.002\r\n\n" + k_md5_abc + "  notes with spaces.txt\n" +
                       "SHA256 (bsd.bin) = " + k_sha_abc + "\n" + "\\" + k_sha_abc +
                       "  back\\\\slash\n";
    std::vector<ChecksumEntry> entries = parse_checksum_list(text, "parts.sha256");
    REQUIRE(entries.size() == 5);
    CHECK(entries[0].name == "backup.tar.gz.001");
    CHECK(entries[0].line == 2);
    CHECK(entries[1].name == "backup.tar.gz.002");
    CHECK(entries[2].name == "notes with spaces.txt");
    CHECK(entries[2].algorithm == DigestAlgorithm::md5);
    CHECK(entries[3].name == "bsd.bin");
    CHECK(entries[4].name == "back\\slash");
}

TEST_CASE("bad checksum lists name the line") {
    CHECK_THROWS_WITH(parse_checksum_list(k_sha_abc + "  a\nnot a checksum line\n", "m.txt"),
                      Catch::StartsWith("m.txt:2: expected 'HASH  FILE'"));
    CHECK_THROWS_WITH(parse_checksum_list("abcd  a\n", "m.txt"),
                      Catch::StartsWith("m.txt:1: 'abcd' is not a SHA-256"));
    CHECK_THROWS_WITH(parse_checksum_list(k_sha_abc + "  a\n" + k_sha_abc + "  a\n", "m.txt"),
                      Catch::Contains("m.txt:2: 'a' is listed twice"));
    CHECK_THROWS_AS(parse_checksum_list(std::string(64, 'g') + "  a\n", "m.txt"), StepError);
}

TEST_CASE("a partial file appears under its name only when committed") {
    std::filesystem::path dir = std::filesystem::temp_directory_path() / "migrate-partial-test";
    std::filesystem::create_directories(dir);
    std::string final_path = (dir / "out.bin").string();
    {
        PartialFile file(final_path);
        file.write("abc", 3);
        CHECK(std::filesystem::exists(final_path + ".partial"));
        CHECK_FALSE(std::filesystem::exists(final_path));
    }
    CHECK_FALSE(std::filesystem::exists(final_path + ".partial"));  // abandoned: removed
    {
        PartialFile file(final_path);
        file.write("abc", 3);
        file.keep();
    }
    CHECK(std::filesystem::exists(final_path + ".partial"));  // kept for a resume
    {
        PartialFile file(final_path, PartialFile::Open::keep);
        file.pwrite("d", 1, 3);
        file.commit();
    }
    CHECK(std::filesystem::file_size(final_path) == 4);
    CHECK_FALSE(std::filesystem::exists(final_path + ".partial"));
    std::filesystem::remove_all(dir);
}
