// Streaming zstd/gzip compression, the in-line stream tester, and the tested compressed file.
#include <catch2/catch.hpp>

#include <zlib.h>
#include <zstd.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "fakes.h"
#include "migrate/steps/kinds.h"
#include "migrate/util/compressed_file.h"
#include "migrate/util/compression.h"
#include "migrate/util/digest.h"
#include "migrate/util/huge_pages.h"

using namespace migrate;
using Bytes = std::vector<unsigned char>;

namespace {

// Text that compresses about as well as a SQL dump: repeated shapes, varied values.
std::string dump_like_text(std::size_t rows) {
    std::mt19937 random(42);
    std::ostringstream out;
    for (std::size_t i = 0; i < rows; ++i)
        out << "INSERT INTO orders VALUES (" << i << ", " << random() % 100000 << ", 'customer-"
            << random() % 5000 << "', '2024-0" << 1 + random() % 9 << "-1" << random() % 10 << "', "
            << random() % 100000 / 100.0 << ");\n";
    return out.str();
}

Bytes compress_all(const std::string& input, CompressorOptions options, std::size_t piece = 65536) {
    Bytes out;
    auto compressor = make_compressor(options, [&](const unsigned char* data, std::size_t size) {
        out.insert(out.end(), data, data + size);
    });
    for (std::size_t at = 0; at < input.size(); at += piece)
        compressor->write(input.data() + at, std::min(piece, input.size() - at));
    compressor->finish();
    return out;
}

// Decompression by the libraries' own one-shot calls, independent of StreamTester.
std::string zstd_decompress(const Bytes& data) {
    unsigned long long size = ZSTD_getFrameContentSize(data.data(), data.size());
    REQUIRE(size != ZSTD_CONTENTSIZE_ERROR);
    REQUIRE(size != ZSTD_CONTENTSIZE_UNKNOWN);
    std::string out(size, '\0');
    std::size_t got = ZSTD_decompress(out.data(), out.size(), data.data(), data.size());
    REQUIRE_FALSE(ZSTD_isError(got));
    out.resize(got);
    return out;
}

std::string gzip_decompress(const Bytes& data, std::size_t capacity) {
    std::string out(capacity, '\0');
    z_stream stream{};
    REQUIRE(inflateInit2(&stream, 15 + 16) == Z_OK);
    stream.next_in = const_cast<unsigned char*>(data.data());
    stream.avail_in = static_cast<uInt>(data.size());
    stream.next_out = reinterpret_cast<unsigned char*>(out.data());
    stream.avail_out = static_cast<uInt>(out.size());
    int result = inflate(&stream, Z_FINISH);
    out.resize(stream.total_out);
    inflateEnd(&stream);
    REQUIRE(result == Z_STREAM_END);
    return out;
}

void test_whole(CompressionFormat format, const Bytes& data, std::uint64_t expected,
                std::size_t piece = 4096) {
    auto tester = make_stream_tester(format);
    for (std::size_t at = 0; at < data.size(); at += piece)
        tester->feed(data.data() + at, std::min(piece, data.size() - at));
    tester->finish(expected);
}

}  // namespace

TEST_CASE("formats, suffixes and level ranges") {
    CHECK(compression_from_name("zstd") == CompressionFormat::zstd);
    CHECK(compression_from_name("gzip") == CompressionFormat::gzip);
    CHECK_FALSE(compression_from_name("xz").has_value());
    CHECK(compression_suffix(CompressionFormat::zstd) == ".zst");
    CHECK(compression_suffix(CompressionFormat::gzip) == ".gz");
    CHECK(compression_levels(CompressionFormat::gzip).highest == 9);
    CHECK(compression_levels(CompressionFormat::zstd).fallback == 3);
    CHECK_THROWS_AS(make_compressor({CompressionFormat::gzip, 10, 1, 0},
                                    [](const unsigned char*, std::size_t) {}),
                    CompressionError);
    CHECK_THROWS_WITH(make_compressor({CompressionFormat::zstd, 0, 1, 0},
                                      [](const unsigned char*, std::size_t) {}),
                      Catch::Contains("out of range"));
}

TEST_CASE("zstd and gzip round trips, checked by the libraries and by the stream tester") {
    std::string input = dump_like_text(40000);
    SECTION("zstd, single-threaded, content size announced") {
        Bytes out = compress_all(input, {CompressionFormat::zstd, 3, 0, input.size()});
        CHECK(out.size() < input.size() / 2);
        CHECK(zstd_decompress(out) == input);
        test_whole(CompressionFormat::zstd, out, input.size(), 1);  // fed a byte at a time too
    }
    SECTION("zstd with two worker threads") {
        Bytes out = compress_all(input, {CompressionFormat::zstd, 3, 2, input.size()});
        CHECK(zstd_decompress(out) == input);
        test_whole(CompressionFormat::zstd, out, input.size());
    }
    SECTION("gzip") {
        Bytes out = compress_all(input, {CompressionFormat::gzip, 6, 1, 0});
        CHECK(out.size() < input.size() / 2);
        CHECK(out[0] == 0x1f);  // the gzip magic number
        CHECK(out[1] == 0x8b);
        CHECK(gzip_decompress(out, input.size() + 1) == input);
        test_whole(CompressionFormat::gzip, out, input.size(), 1);
    }
    SECTION("gzip in parallel blocks is one ordinary gzip stream") {
        for (int level : {1, 6, 9}) {
            Bytes out = compress_all(input, {CompressionFormat::gzip, level, 3, 0}, 300000);
            Bytes single = compress_all(input, {CompressionFormat::gzip, level, 1, 0});
            INFO("level " << level);
            CHECK(out.size() < single.size() * 101 / 100);  // blocks cost under 1 % of size
            CHECK(gzip_decompress(out, input.size() + 1) == input);
            test_whole(CompressionFormat::gzip, out, input.size());
        }
        std::string two_blocks = input.substr(0, 2 << 20);  // ends exactly on a block boundary
        Bytes out = compress_all(two_blocks, {CompressionFormat::gzip, 6, 2, 0});
        CHECK(gzip_decompress(out, two_blocks.size() + 1) == two_blocks);
    }
    SECTION("an empty input still makes a valid stream") {
        for (int threads : {1, 2})
            for (CompressionFormat format : {CompressionFormat::zstd, CompressionFormat::gzip}) {
                Bytes out =
                    compress_all("", {format, compression_levels(format).fallback, threads, 0});
                CHECK_FALSE(out.empty());
                test_whole(format, out, 0);
            }
    }
}

TEST_CASE("the stream tester catches corrupt, truncated, extended and short streams") {
    std::string input = dump_like_text(20000);
    for (CompressionFormat format : {CompressionFormat::zstd, CompressionFormat::gzip}) {
        Bytes good = compress_all(input, {format, compression_levels(format).fallback, 1, 0});
        INFO(compression_name(format));
        CHECK_NOTHROW(test_whole(format, good, input.size()));

        Bytes flipped = good;
        flipped[flipped.size() / 2] ^= 0x40;
        CHECK_THROWS_AS(test_whole(format, flipped, input.size()), CompressionError);

        Bytes truncated(good.begin(), good.end() - 100);
        CHECK_THROWS_WITH(test_whole(format, truncated, input.size()),
                          Catch::Contains("truncated"));

        Bytes extended = good;
        extended.push_back(0);
        CHECK_THROWS_WITH(test_whole(format, extended, input.size()),
                          Catch::Contains("after the end"));

        CHECK_THROWS_WITH(test_whole(format, good, input.size() + 1),
                          Catch::Contains("the input had"));
    }
}

TEST_CASE("the stream tester checks the zstd frame checksum and the gzip CRC32 and length") {
    std::string input = dump_like_text(5000);
    Bytes zstd = compress_all(input, {CompressionFormat::zstd, 3, 0, 0});
    zstd.back() ^= 0x01;  // the frame ends with its content checksum
    CHECK_THROWS_WITH(test_whole(CompressionFormat::zstd, zstd, input.size()),
                      Catch::Contains("checksum"));

    Bytes gzip = compress_all(input, {CompressionFormat::gzip, 6, 1, 0});
    Bytes bad_crc = gzip;
    bad_crc[bad_crc.size() - 8] ^= 0x01;  // trailer: CRC32, then the length mod 2^32
    CHECK_THROWS_WITH(test_whole(CompressionFormat::gzip, bad_crc, input.size()),
                      Catch::Contains("incorrect data check"));
    Bytes bad_length = gzip;
    bad_length[bad_length.size() - 4] ^= 0x01;
    CHECK_THROWS_WITH(test_whole(CompressionFormat::gzip, bad_length, input.size()),
                      Catch::Contains("incorrect length check"));
}

TEST_CASE("a compressed file is tested, hashed and renamed only on commit") {
    std::filesystem::path dir =
        std::filesystem::temp_directory_path() / "migrate-compressed-file-test";
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    std::string input = dump_like_text(60000);
    std::string path = (dir / "dump.sql.zst").string();

    SECTION("committed") {
        CompressedFileWriter writer(path, {CompressionFormat::zstd, 3, 2, input.size()});
        CHECK(std::filesystem::exists(path + ".partial"));
        for (std::size_t at = 0; at < input.size(); at += 100000)
            writer.write(input.data() + at, std::min<std::size_t>(100000, input.size() - at));
        CHECK_FALSE(std::filesystem::exists(path));
        CompressedFileResult result = writer.commit();
        CHECK_FALSE(std::filesystem::exists(path + ".partial"));
        REQUIRE(std::filesystem::exists(path));
        CHECK(result.bytes_in == input.size());
        CHECK(result.bytes_out == std::filesystem::file_size(path));
        CHECK(result.sha256 == hash_file(path, DigestAlgorithm::sha256));
        std::ifstream in(path, std::ios::binary);
        Bytes written((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        CHECK(zstd_decompress(written) == input);
    }
    SECTION("abandoned: no output, no partial file") {
        {
            CompressedFileWriter writer(path, {CompressionFormat::gzip, 1, 1, 0});
            writer.write(input.data(), input.size());
        }
        CHECK_FALSE(std::filesystem::exists(path));
        CHECK_FALSE(std::filesystem::exists(path + ".partial"));
    }
    SECTION("announced size not met: the stream is refused and nothing is left") {
        {
            CompressedFileWriter writer(path, {CompressionFormat::zstd, 3, 0, input.size() + 10});
            writer.write(input.data(), input.size());
            CHECK_THROWS_AS(writer.commit(), CompressionError);
        }
        CHECK_FALSE(std::filesystem::exists(path));
        CHECK_FALSE(std::filesystem::exists(path + ".partial"));
    }
    std::filesystem::remove_all(dir);
}

namespace {
// One compress step of `input` that removes the input once the output is complete.
std::string compress_book(const std::string& input) {
    return "version: 1\nname: compress-resume\nphases:\n  - id: p\n    steps:\n"
           "      - { id: pack, kind: compress, with: { input: \"" +
           input + "\", remove_input: true } }\n";
}
}  // namespace

// A run killed after the output was renamed into place and the input removed (remove_input),
// before its step.end: every --resume failed on "input does not exist" (or, with the input
// still there, "output already exists"). Found while checking each step's end for the
// kill-anywhere sweep.
TEST_CASE("compress: a resumed step takes the output its killed attempt completed") {
    test::TempPath dir("");
    std::filesystem::create_directories(dir.str());
    std::string input = dir.str() + "/data.sql", output = input + ".zst";
    test::write_file(input, dump_like_text(2000));
    test::EngineHarness h;
    h.kinds = steps::builtin_kinds();
    h.load(compress_book(input));
    REQUIRE(h.run().status == "ok");
    REQUIRE_FALSE(std::filesystem::exists(input));
    test::Json checkpoint = h.events("step.checkpoint", "pack").at(0).data["state"];
    CHECK(checkpoint["output"] == output);
    std::string sha256 = hash_file(output, DigestAlgorithm::sha256);
    CHECK(checkpoint["sha256"] == sha256);

    // The resume of a run killed after that checkpoint.
    test::EngineHarness again;
    again.kinds = steps::builtin_kinds();
    again.load(compress_book(input));
    engine::PriorState prior;
    prior.has_run = true;
    prior.checkpoints["pack"] = checkpoint;

    SECTION("the output whose SHA-256 is the one recorded is kept") {
        CHECK(again.run({}, prior).status == "ok");
        CHECK(again.step_end("pack").data["outputs"]["sha256"] == sha256);
        CHECK(again.step_end("pack").data["metrics"]["bytes"] == checkpoint["bytes"]);
        CHECK_THAT(again.console_text.str(),
                   Catch::Matchers::Contains("written by an earlier attempt"));
    }
    SECTION("an output changed since is not taken") {
        test::write_file(output, "something else");
        CHECK(again.run({}, prior).status == "failed");
    }
}

TEST_CASE("zstd's big buffers: a mapping on a huge page's boundary, whole huge pages long") {
    for (std::size_t bytes : {migrate::k_huge_page_bytes, migrate::k_huge_page_bytes * 3 + 1}) {
        void* block = migrate::map_huge_pages(bytes);
        REQUIRE(block != nullptr);
        CHECK(reinterpret_cast<std::uintptr_t>(block) % migrate::k_huge_page_bytes == 0);
        std::size_t length = migrate::huge_pages_length(bytes);
        CHECK(length % migrate::k_huge_page_bytes == 0);
        CHECK(length >= bytes);
        CHECK(length < bytes + migrate::k_huge_page_bytes);
        std::memset(block, 0x5a, length);  // all of it is mapped and writable
        CHECK(static_cast<unsigned char*>(block)[length - 1] == 0x5a);
        migrate::unmap_huge_pages(block, bytes);
    }
}
