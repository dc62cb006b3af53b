// gzip on several threads, the way pigz does it: the input is cut into blocks, each block is
// deflated on a worker thread with the 32 KiB before it as its dictionary and ended on a byte
// boundary (a sync flush), so the blocks' outputs join into one deflate stream; the caller's
// thread writes one gzip header, the blocks in order, and a trailer whose CRC32 combines the
// blocks' CRCs. Any gzip reader sees one ordinary member.
#include "parallel_gzip.h"

#include <zlib.h>

#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace migrate {
namespace {

constexpr std::size_t k_block = 1 << 20;
constexpr std::size_t k_dictionary = 32 * 1024;  // deflate's window
constexpr std::size_t k_blocks_per_thread = 3;   // in flight, so no worker waits for the writer

struct Block {
    std::vector<unsigned char> input;  // the dictionary, then the data
    std::size_t dictionary = 0;
    bool last = false;
    std::vector<unsigned char> output;
    uLong crc = 0;
    bool done = false;
    std::exception_ptr failure;

    std::size_t data_size() const { return input.size() - dictionary; }
};

// One worker's deflate state, reset for every block.
class BlockDeflater {
public:
    explicit BlockDeflater(int level) {
        if (deflateInit2(&m_stream, level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
            throw CompressionError("gzip: cannot start deflate at level " + std::to_string(level));
    }
    ~BlockDeflater() { deflateEnd(&m_stream); }
    BlockDeflater(const BlockDeflater&) = delete;
    BlockDeflater& operator=(const BlockDeflater&) = delete;

    void compress(Block& block) {
        deflateReset(&m_stream);
        if (block.dictionary > 0 &&
            deflateSetDictionary(&m_stream, block.input.data(),
                                 static_cast<uInt>(block.dictionary)) != Z_OK)
            throw CompressionError("gzip: deflate refused the dictionary");
        const unsigned char* data = block.input.data() + block.dictionary;
        std::size_t size = block.data_size();
        block.crc = crc32(crc32(0, Z_NULL, 0), data, static_cast<uInt>(size));
        m_stream.next_in = const_cast<unsigned char*>(data);
        m_stream.avail_in = static_cast<uInt>(size);
        // Room for the worst case, and the few bytes of the sync flush's empty stored block.
        block.output.resize(deflateBound(&m_stream, size) + 16);
        m_stream.next_out = block.output.data();
        m_stream.avail_out = static_cast<uInt>(block.output.size());
        int result = deflate(&m_stream, block.last ? Z_FINISH : Z_SYNC_FLUSH);
        if (result != (block.last ? Z_STREAM_END : Z_OK) || m_stream.avail_in != 0)
            throw CompressionError("gzip: deflate of a block failed");
        block.output.resize(block.output.size() - m_stream.avail_out);
    }

private:
    z_stream m_stream{};
};

class ParallelGzipCompressor : public Compressor {
public:
    ParallelGzipCompressor(const CompressorOptions& options, ByteSink sink)
        : m_sink(std::move(sink)),
          m_level(options.level),
          m_limit(options.threads * k_blocks_per_thread) {
        BlockDeflater check(m_level);  // a bad level fails here, not on a worker
        for (int i = 0; i < options.threads; ++i) m_workers.emplace_back([this] { work(); });
        m_current = new_block();
    }

    ~ParallelGzipCompressor() override {
        {
            std::lock_guard lock(m_mutex);
            m_stopping = true;
        }
        m_work_ready.notify_all();
        for (std::thread& worker : m_workers) worker.join();
    }

    void write(const void* data, std::size_t size) override {
        const unsigned char* bytes = static_cast<const unsigned char*>(data);
        while (size > 0) {
            std::size_t room = m_current->dictionary + k_block - m_current->input.size();
            std::size_t take = std::min(room, size);
            m_current->input.insert(m_current->input.end(), bytes, bytes + take);
            bytes += take;
            size -= take;
            if (m_current->data_size() == k_block) submit(false);
        }
    }

    void finish() override {
        submit(true);
        while (!m_in_flight.empty()) emit_oldest();
        unsigned char trailer[8];
        put_le32(trailer, m_crc);
        put_le32(trailer + 4, static_cast<std::uint32_t>(m_length));  // the length mod 2^32
        m_sink(trailer, sizeof trailer);
    }

private:
    std::unique_ptr<Block> new_block() {
        std::unique_ptr<Block> block;
        if (!m_spare.empty()) {
            block = std::move(m_spare.back());
            m_spare.pop_back();
        } else {
            block = std::make_unique<Block>();
            block->input.reserve(k_dictionary + k_block);
        }
        block->input.clear();
        block->dictionary = 0;
        block->done = false;
        block->failure = nullptr;
        return block;
    }

    // Hands the current block to the workers and starts the next with its tail as dictionary.
    void submit(bool last) {
        std::unique_ptr<Block> next = new_block();
        std::size_t tail = std::min(k_dictionary, m_current->data_size());
        next->input.assign(m_current->input.end() - static_cast<std::ptrdiff_t>(tail),
                           m_current->input.end());
        next->dictionary = tail;
        m_current->last = last;
        {
            std::lock_guard lock(m_mutex);
            m_queue.push_back(m_current.get());
        }
        m_work_ready.notify_one();
        m_in_flight.push_back(std::move(m_current));
        m_current = std::move(next);
        while (m_in_flight.size() > m_limit) emit_oldest();
    }

    // Waits for the oldest block in flight and hands its output to the sink.
    void emit_oldest() {
        Block* block = m_in_flight.front().get();
        {
            std::unique_lock lock(m_mutex);
            m_block_done.wait(lock, [&] { return block->done; });
        }
        if (block->failure) std::rethrow_exception(block->failure);
        if (!m_header_written) write_header();
        m_sink(block->output.data(), block->output.size());
        m_crc = crc32_combine(m_crc, block->crc, static_cast<z_off_t>(block->data_size()));
        m_length += block->data_size();
        m_spare.push_back(std::move(m_in_flight.front()));
        m_in_flight.pop_front();
    }

    void write_header() {
        // Magic, deflate, no flags, no time, extra flags for the level (as zlib sets them), Unix.
        unsigned char extra = m_level == 9 ? 2 : m_level == 1 ? 4 : 0;
        const unsigned char header[10] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, extra, 3};
        m_sink(header, sizeof header);
        m_header_written = true;
    }

    void work() {
        BlockDeflater deflater(m_level);
        for (;;) {
            Block* block = nullptr;
            {
                std::unique_lock lock(m_mutex);
                m_work_ready.wait(lock, [&] { return m_stopping || !m_queue.empty(); });
                if (m_stopping) return;
                block = m_queue.front();
                m_queue.pop_front();
            }
            try {
                deflater.compress(*block);
            } catch (...) {
                block->failure = std::current_exception();
            }
            {
                std::lock_guard lock(m_mutex);
                block->done = true;
            }
            m_block_done.notify_all();
        }
    }

    static void put_le32(unsigned char* out, std::uint32_t value) {
        for (int i = 0; i < 4; ++i) out[i] = static_cast<unsigned char>(value >> (8 * i));
    }

    ByteSink m_sink;
    int m_level;
    std::size_t m_limit;
    std::unique_ptr<Block> m_current;
    std::deque<std::unique_ptr<Block>> m_in_flight;  // in input order
    std::vector<std::unique_ptr<Block>> m_spare;
    uLong m_crc = crc32(0, Z_NULL, 0);
    std::uint64_t m_length = 0;
    bool m_header_written = false;

    std::mutex m_mutex;
    std::condition_variable m_work_ready;
    std::condition_variable m_block_done;
    std::deque<Block*> m_queue;  // submitted, not yet taken by a worker
    bool m_stopping = false;
    std::vector<std::thread> m_workers;  // last: they start once everything they use exists
};

}  // namespace

std::unique_ptr<Compressor> make_parallel_gzip(const CompressorOptions& options, ByteSink sink) {
    return std::make_unique<ParallelGzipCompressor>(options, std::move(sink));
}

}  // namespace migrate
