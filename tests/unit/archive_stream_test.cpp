// The stream under extract: parts read as one, gzip and zstd decoded with their checksums
// verified, and damage or truncation named with the part.
#include <catch2/catch.hpp>

#include <zlib.h>
#include <zstd.h>

#include <filesystem>
#include <fstream>

#include "migrate/steps/files/archive_stream.h"
#include "migrate/util/error.h"

using namespace migrate;
using namespace migrate::steps::files;
using Catch::Matchers::Contains;

namespace {

const std::filesystem::path k_dir =
    std::filesystem::temp_directory_path() / "migrate-archive-stream-test";

std::string sample_text() {
    std::string text;
    for (int i = 0; i < 200000; ++i) text += "line " + std::to_string(i * 7919 % 100003) + "\n";
    return text;
}

std::string gzip(const std::string& data) {
    z_stream stream{};
    REQUIRE(deflateInit2(&stream, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) == Z_OK);
    std::string out(deflateBound(&stream, data.size()), '\0');
    stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
    stream.avail_in = static_cast<uInt>(data.size());
    stream.next_out = reinterpret_cast<Bytef*>(out.data());
    stream.avail_out = static_cast<uInt>(out.size());
    REQUIRE(deflate(&stream, Z_FINISH) == Z_STREAM_END);
    out.resize(stream.total_out);
    deflateEnd(&stream);
    return out;
}

std::string zstd(const std::string& data) {
    ZSTD_CCtx* context = ZSTD_createCCtx();
    ZSTD_CCtx_setParameter(context, ZSTD_c_checksumFlag, 1);
    std::string out(ZSTD_compressBound(data.size()), '\0');
    std::size_t size = ZSTD_compress2(context, out.data(), out.size(), data.data(), data.size());
    ZSTD_freeCCtx(context);
    REQUIRE_FALSE(ZSTD_isError(size));
    out.resize(size);
    return out;
}

// Writes `data` as `count` parts of about equal size; returns their paths in order.
std::vector<std::string> write_parts(const std::string& data, std::size_t count) {
    std::filesystem::remove_all(k_dir);
    std::filesystem::create_directories(k_dir);
    std::vector<std::string> parts;
    std::size_t step = data.size() / count + 1;
    for (std::size_t i = 0; i < count; ++i) {
        parts.push_back((k_dir / ("a." + std::to_string(i + 1))).string());
        std::ofstream(parts.back(), std::ios::binary)
            << data.substr(std::min(data.size(), i * step), step);
    }
    return parts;
}

std::string decode_all(const std::vector<std::string>& parts) {
    PartReader reader(parts);
    std::unique_ptr<Decoder> decoder = make_decoder(sniff_compression(reader), reader);
    REQUIRE(decoder != nullptr);
    std::string out;
    std::vector<char> block(100000);
    while (std::size_t n = decoder->decode(block.data(), block.size())) out.append(block.data(), n);
    return out;
}

}  // namespace

TEST_CASE("PartReader reads the parts as one stream and seeks across them", "[extract]") {
    std::vector<std::string> parts = write_parts("0123456789abcdefghij", 3);  // 7 + 7 + 6 bytes
    PartReader reader(parts);
    CHECK(reader.total_size() == 20);
    std::string all;
    char buffer[4];
    while (std::size_t n = reader.read(buffer, sizeof buffer)) all.append(buffer, n);
    CHECK(all == "0123456789abcdefghij");
    CHECK(reader.position() == 20);
    CHECK(reader.current_part() == parts[2] + " (part 3 of 3)");
    reader.seek(9);
    CHECK(reader.read(buffer, 3) == 3);
    CHECK(std::string(buffer, 3) == "9ab");
    CHECK(reader.current_part() == parts[1] + " (part 2 of 3)");
    CHECK(sniff_compression(reader) == Compression::none);
    std::filesystem::remove_all(k_dir);
}

TEST_CASE("gzip across parts, several members, damage and truncation named", "[extract]") {
    std::string text = sample_text();
    std::string packed = gzip(text);
    CHECK(decode_all(write_parts(packed, 5)) == text);
    CHECK(decode_all(write_parts(packed + gzip("and more\n"), 2)) == text + "and more\n");
    CHECK(decode_all(write_parts(packed + std::string(512, '\0'), 2)) ==
          text);  // padding after the member is ignored

    std::string bad_crc = packed;
    bad_crc[bad_crc.size() - 8] ^= 0x01;
    CHECK_THROWS_WITH(decode_all(write_parts(bad_crc, 1)),
                      Contains("a.1: damaged gzip data (the CRC-32 does not match"));
    std::vector<std::string> parts = write_parts(packed.substr(0, packed.size() * 2 / 3), 3);
    CHECK_THROWS_WITH(decode_all(parts),
                      Contains(parts[2] + " (part 3 of 3): the gzip stream ends early"));
    std::filesystem::remove_all(k_dir);
}

TEST_CASE("zstd across parts, its checksum, truncation named", "[extract]") {
    std::string text = sample_text();
    std::string packed = zstd(text);
    CHECK(decode_all(write_parts(packed, 4)) == text);
    CHECK(decode_all(write_parts(packed + zstd("two frames\n"), 2)) == text + "two frames\n");
    std::string damaged = packed;
    damaged[damaged.size() - 2] ^= 0x01;  // in the frame's checksum
    CHECK_THROWS_WITH(decode_all(write_parts(damaged, 2)),
                      Contains("(part 2 of 2): damaged zstd data"));
    std::vector<std::string> parts = write_parts(packed.substr(0, packed.size() - 100), 2);
    CHECK_THROWS_WITH(decode_all(parts),
                      Contains(parts[1] + " (part 2 of 2): the zstd stream ends early"));
    std::filesystem::remove_all(k_dir);
}

TEST_CASE("DecodedStream hands over every block, then the decoder's error", "[extract]") {
    std::string text = sample_text();
    std::string packed = gzip(text);
    {
        PartReader reader(write_parts(packed, 3));
        DecodedStream stream(make_decoder(sniff_compression(reader), reader));
        std::string out;
        for (std::string_view block = stream.next(); !block.empty(); block = stream.next())
            out.append(block);
        CHECK(out == text);
    }
    {
        PartReader reader(write_parts(packed.substr(0, packed.size() / 2), 1));
        DecodedStream stream(make_decoder(sniff_compression(reader), reader));
        std::size_t got = 0;
        auto drain = [&] {
            for (std::string_view block = stream.next(); !block.empty(); block = stream.next())
                got += block.size();
        };
        CHECK_THROWS_WITH(drain(), Contains("the gzip stream ends early"));
        CHECK(got > 0);  // the data before the damage came through first
    }
    {
        // Destroyed while the decoder is still ahead: the thread stops.
        PartReader reader(write_parts(packed, 1));
        DecodedStream stream(make_decoder(sniff_compression(reader), reader));
        CHECK_FALSE(stream.next().empty());
    }
    std::filesystem::remove_all(k_dir);
}
