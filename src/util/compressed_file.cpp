// The compressed file writer: the caller's thread compresses (with zstd's own workers), a
// second thread writes, hashes and test-decompresses each compressed chunk, so the test costs
// no pass of its own and mostly overlaps the compression.
#include "migrate/util/compressed_file.h"

#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "migrate/util/digest.h"
#include "migrate/util/partial_file.h"

namespace migrate {
namespace {

// Compressed chunks that may wait for the output thread; beyond this the compressor waits.
constexpr std::size_t k_queue_limit = 16;

}  // namespace

class CompressedFileWriter::OutputStage {
public:
    OutputStage(const std::string& path, CompressionFormat format)
        : m_file(path), m_tester(make_stream_tester(format)), m_thread([this] { drain(); }) {}

    ~OutputStage() {
        {
            std::lock_guard lock(m_mutex);
            m_closing = true;
            m_abandoned = true;
        }
        m_changed.notify_all();
        if (m_thread.joinable()) m_thread.join();
    }

    // Queues a copy of the chunk; waits while the queue is full. Rethrows an output failure.
    void push(const unsigned char* data, std::size_t size) {
        std::unique_lock lock(m_mutex);
        m_changed.wait(lock, [&] { return m_waiting.size() < k_queue_limit || m_failure; });
        if (m_failure) std::rethrow_exception(m_failure);
        std::vector<unsigned char> chunk;
        if (!m_spare.empty()) {
            chunk = std::move(m_spare.back());
            m_spare.pop_back();
        }
        lock.unlock();
        chunk.assign(data, data + size);
        lock.lock();
        m_waiting.push_back(std::move(chunk));
        m_changed.notify_all();
    }

    // Waits until every queued chunk is written, hashed and tested; rethrows a failure.
    void close() {
        {
            std::lock_guard lock(m_mutex);
            m_closing = true;
        }
        m_changed.notify_all();
        m_thread.join();
        if (m_failure) std::rethrow_exception(m_failure);
    }

    PartialFile& file() { return m_file; }
    StreamTester& tester() { return *m_tester; }
    std::uint64_t bytes_out() const { return m_bytes_out; }
    std::string sha256() { return m_hash.hex_digest(); }

private:
    void drain() {
        for (;;) {
            std::vector<unsigned char> chunk;
            {
                std::unique_lock lock(m_mutex);
                m_changed.wait(lock, [&] { return !m_waiting.empty() || m_closing; });
                if (m_abandoned || m_waiting.empty()) return;
                chunk = std::move(m_waiting.front());
                m_waiting.pop_front();
            }
            m_changed.notify_all();
            try {
                handle(chunk);
            } catch (...) {
                std::lock_guard lock(m_mutex);
                m_failure = std::current_exception();
                m_changed.notify_all();
                return;
            }
            std::lock_guard lock(m_mutex);
            m_spare.push_back(std::move(chunk));
        }
    }

    void handle(const std::vector<unsigned char>& chunk) {
        m_file.write(chunk.data(), chunk.size());
        m_hash.update(chunk.data(), chunk.size());
        m_tester->feed(chunk.data(), chunk.size());
        m_bytes_out += chunk.size();
    }

    PartialFile m_file;
    Sha256 m_hash;
    std::unique_ptr<StreamTester> m_tester;
    std::uint64_t m_bytes_out = 0;
    std::mutex m_mutex;
    std::condition_variable m_changed;
    std::deque<std::vector<unsigned char>> m_waiting;
    std::vector<std::vector<unsigned char>> m_spare;
    bool m_closing = false;
    bool m_abandoned = false;
    std::exception_ptr m_failure;
    std::thread m_thread;  // last: it starts once everything it uses exists
};

CompressedFileWriter::CompressedFileWriter(const std::string& path,
                                           const CompressorOptions& options)
    : m_format(options.format) {
    // The compressor first: bad options fail before a partial file exists.
    ByteSink sink = [this](const unsigned char* data, std::size_t size) {
        m_output->push(data, size);
    };
    m_compressor = make_compressor(options, sink);
    m_output = std::make_unique<OutputStage>(path, options.format);
}

CompressedFileWriter::~CompressedFileWriter() {
    m_compressor.reset();  // zstd's workers stop before the stage they feed goes
}

const std::string& CompressedFileWriter::partial_path() const {
    return m_output->file().partial_path();
}

void CompressedFileWriter::write(const void* data, std::size_t size) {
    m_compressor->write(data, size);
    m_bytes_in += size;
}

CompressedFileResult CompressedFileWriter::commit() {
    m_compressor->finish();
    m_output->close();
    m_output->tester().finish(m_bytes_in);
    m_output->file().commit();
    return {m_bytes_in, m_output->bytes_out(), m_output->sha256()};
}

}  // namespace migrate
