// Streaming zstd and gzip: a compressor that hands its output to a sink piece by piece, and a
// tester that decompresses such a stream as it arrives and proves it whole (checksum, length).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "migrate/util/clock.h"

namespace migrate {

enum class CompressionFormat { zstd, gzip };

std::string compression_name(CompressionFormat format);
// "zstd" / "gzip" -> the format; nullopt otherwise.
std::optional<CompressionFormat> compression_from_name(std::string_view name);
// The usual file name suffix: ".zst", ".gz".
std::string compression_suffix(CompressionFormat format);

struct LevelRange {
    int lowest;
    int highest;
    int fallback;  // the level when none is given: what the command-line tools use
};
LevelRange compression_levels(CompressionFormat format);

// A stream that cannot be made or does not test whole.
class CompressionError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// The cancel token fired while the compressor worked.
class CompressionStopped : public CompressionError {
public:
    CompressionStopped() : CompressionError("stopped") {}
};

// Receives compressed bytes, in order. The pointer is valid only during the call.
using ByteSink = std::function<void(const unsigned char* data, std::size_t size)>;

struct CompressorOptions {
    CompressionFormat format = CompressionFormat::zstd;
    int level = 3;
    // zstd: worker threads (0: all on the caller's thread); gzip: 2 or more cut the input into
    // blocks deflated in parallel (as pigz does), else one stream on the caller's thread.
    int threads = 1;
    std::uint64_t content_size = 0;  // the input's length when known in advance (0: unknown)
    // Checked between library calls: a call can wait for zstd's workers to finish a job.
    const CancelToken* cancel = nullptr;
};

class Compressor {
public:
    virtual ~Compressor() = default;
    // Compresses `data`; output reaches the sink now or during later calls. Throws
    // CompressionStopped when the options' cancel token fires.
    virtual void write(const void* data, std::size_t size) = 0;
    // Ends the stream (zstd frame checksum, gzip CRC32 and length) and hands out the rest.
    virtual void finish() = 0;
};

// Throws CompressionError for a level out of range or a library that refuses the settings.
std::unique_ptr<Compressor> make_compressor(const CompressorOptions& options, ByteSink sink);

// Decompresses a stream fed in pieces, keeping nothing but the count of bytes it yields.
// Throws CompressionError when the stream is corrupt: a bad block, a zstd frame checksum or
// gzip CRC32/length that does not match, data after the end.
class StreamTester {
public:
    virtual ~StreamTester() = default;
    virtual void feed(const void* data, std::size_t size) = 0;
    // The stream must have ended and decompressed to exactly `expected_length` bytes.
    virtual void finish(std::uint64_t expected_length) = 0;
    virtual std::uint64_t decompressed_bytes() const = 0;
};

std::unique_ptr<StreamTester> make_stream_tester(CompressionFormat format);

}  // namespace migrate
