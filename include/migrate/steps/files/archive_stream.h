// The bytes of an archive for libarchive: its parts read in order as one stream, never
// joined on disk, and, for gzip and zstd, decompressed on a thread of their own with every
// checksum verified (libarchive's gzip reader does not check the CRC).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace migrate {
class Digest;
}

namespace migrate::steps::files {

class PartReader {
public:
    explicit PartReader(std::vector<std::string> parts);
    ~PartReader();
    PartReader(const PartReader&) = delete;
    PartReader& operator=(const PartReader&) = delete;

    // Up to `size` bytes, crossing from part to part; 0 after the last. Throws StepError
    // naming the part on a read error.
    std::size_t read(char* buffer, std::size_t size);
    void seek(std::uint64_t offset);
    std::uint64_t position() const { return m_position.load(std::memory_order_relaxed); }
    std::uint64_t total_size() const { return m_ends.empty() ? 0 : m_ends.back(); }
    // The part being read: its path, with "(part 3 of 4)" when there are several.
    std::string current_part() const;
    // Every byte read from now on also goes into `digest` (a hash computed as the file
    // streams, not in a pass of its own); nullptr stops it.
    void hash_into(Digest* digest) { m_digest = digest; }

private:
    void open_part(std::size_t index);

    std::vector<std::string> m_parts;
    std::vector<std::uint64_t> m_ends;  // cumulative sizes
    std::size_t m_index = 0;
    int m_fd = -1;
    std::atomic<std::uint64_t> m_position{0};
    std::atomic<std::size_t> m_reading{0};  // m_index, for the other thread's messages
    Digest* m_digest = nullptr;
};

enum class Compression { none, gzip, zstd };

// From the first bytes, then back to the start.
Compression sniff_compression(PartReader& reader);

class Decoder {
public:
    virtual ~Decoder() = default;
    // Fills `out` as far as it can; 0 means the end. Throws StepError naming the part on
    // damaged or truncated data.
    virtual std::size_t decode(char* out, std::size_t size) = 0;
};

std::unique_ptr<Decoder> make_decoder(Compression compression, PartReader& reader);

// Runs a decoder on its own thread, a few blocks ahead of the reader, so decompression and
// writing the files overlap on two cores.
class DecodedStream {
public:
    explicit DecodedStream(std::unique_ptr<Decoder> decoder);
    ~DecodedStream();  // stops the thread
    DecodedStream(const DecodedStream&) = delete;
    DecodedStream& operator=(const DecodedStream&) = delete;

    // The next block, valid until the next call; empty at the end. Rethrows the decoder's
    // error once the blocks before it are taken.
    std::string_view next();

private:
    struct Block {
        std::vector<char> data;
        std::size_t size = 0;
    };
    void produce();

    std::unique_ptr<Decoder> m_decoder;
    std::mutex m_mutex;
    std::condition_variable m_changed;
    std::deque<Block> m_ready;
    std::vector<Block> m_free;
    Block m_current;
    bool m_done = false;
    bool m_stop = false;
    std::exception_ptr m_error;
    std::thread m_thread;
};

}  // namespace migrate::steps::files
