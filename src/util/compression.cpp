// zstd (libzstd streaming API, frame checksum on) and gzip (zlib deflate with the gzip
// wrapper) compressors, and the testers that decompress their streams on the fly.
#include "migrate/util/compression.h"

#include <zlib.h>
#define ZSTD_STATIC_LINKING_ONLY  // ZSTD_customMem, ZSTD_create{C,D}Ctx_advanced
#include <zstd.h>

#include <algorithm>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "migrate/util/huge_pages.h"
#include "parallel_gzip.h"

namespace migrate {
namespace {

constexpr std::size_t k_output_block = 1 << 20;
// zlib counts in 32-bit unsigned ints: larger buffers are fed in slices.
constexpr std::size_t k_zlib_slice = 1u << 30;
constexpr int k_gzip_window = 15 + 16;  // 32 KiB window, gzip header and trailer

// zstd's big buffers (the workers' input ring and output, a decompressor's window) go on
// huge pages (huge_pages.h): a compression of 500 MB took some 19,000 page faults, 7,000
// with them. Smaller allocations are malloc's.
class HugePageMemory {
public:
    static ZSTD_customMem for_zstd() {
        // Never destroyed: a stopped stream's context may be freed on a detached thread
        // (~ZstdCompressor) while the process exits.
        static auto* memory = new HugePageMemory;
        return {&allocate, &release, memory};
    }

private:
    static void* allocate(void* opaque, std::size_t size) {
        if (size < k_huge_page_bytes) return std::malloc(size);
        void* block = map_huge_pages(size);
        if (block == nullptr) return nullptr;
        auto* self = static_cast<HugePageMemory*>(opaque);
        try {
            std::lock_guard lock(self->m_mutex);
            self->m_mapped.emplace(block, size);
        } catch (...) {  // nothing may be thrown through zstd: it sees an allocation failing
            unmap_huge_pages(block, size);
            return nullptr;
        }
        return block;
    }

    static void release(void* opaque, void* block) {
        if (block == nullptr) return;
        auto* self = static_cast<HugePageMemory*>(opaque);
        std::size_t size = 0;
        {
            std::lock_guard lock(self->m_mutex);
            auto it = self->m_mapped.find(block);
            if (it != self->m_mapped.end()) {
                size = it->second;
                self->m_mapped.erase(it);
            }
        }
        if (size > 0)
            unmap_huge_pages(block, size);
        else
            std::free(block);
    }

    std::mutex m_mutex;
    std::unordered_map<void*, std::size_t> m_mapped;  // mapped blocks and their sizes
};

void check_zstd(std::size_t code, const std::string& what) {
    if (ZSTD_isError(code)) throw CompressionError(what + ": " + ZSTD_getErrorName(code));
}

class ZstdCompressor : public Compressor {
public:
    ZstdCompressor(const CompressorOptions& options, ByteSink sink)
        : m_context(ZSTD_createCCtx_advanced(HugePageMemory::for_zstd())),
          m_sink(std::move(sink)),
          m_buffer(k_output_block),
          m_cancel(options.cancel) {
        if (m_context == nullptr)
            throw CompressionError("zstd: cannot allocate a compression context");
        set(ZSTD_c_compressionLevel, options.level, "level");
        set(ZSTD_c_checksumFlag, 1, "frame checksum");
        if (options.threads > 0) set(ZSTD_c_nbWorkers, options.threads, "worker threads");
        m_threaded = options.threads > 0;
        if (options.content_size > 0)
            check_zstd(ZSTD_CCtx_setPledgedSrcSize(m_context, options.content_size),
                       "zstd: content size");
    }
    ~ZstdCompressor() override {
        // Freeing the context waits for the jobs its workers have in hand, which at high levels
        // takes minutes; a stopped stream lets them finish on a thread of their own instead.
        // They touch only the context's memory, and their output is thrown away.
        if (m_ended || !m_threaded)
            ZSTD_freeCCtx(m_context);
        else
            std::thread([context = m_context] { ZSTD_freeCCtx(context); }).detach();
    }

    void write(const void* data, std::size_t size) override {
        ZSTD_inBuffer input{data, size, 0};
        while (input.pos < input.size) compress(input, ZSTD_e_continue);
    }

    void finish() override {
        ZSTD_inBuffer input{nullptr, 0, 0};
        while (compress(input, ZSTD_e_end) != 0) {
        }
        m_ended = true;
    }

private:
    void set(ZSTD_cParameter parameter, int value, const std::string& what) {
        check_zstd(ZSTD_CCtx_setParameter(m_context, parameter, value),
                   "zstd: " + what + " " + std::to_string(value));
    }

    // One call into the library; returns what it still has to flush.
    std::size_t compress(ZSTD_inBuffer& input, ZSTD_EndDirective directive) {
        if (m_cancel != nullptr && m_cancel->cancelled()) throw CompressionStopped();
        ZSTD_outBuffer output{m_buffer.data(), m_buffer.size(), 0};
        std::size_t remaining = ZSTD_compressStream2(m_context, &output, &input, directive);
        check_zstd(remaining, "zstd");
        if (output.pos > 0) m_sink(m_buffer.data(), output.pos);
        return remaining;
    }

    ZSTD_CCtx* m_context;
    ByteSink m_sink;
    std::vector<unsigned char> m_buffer;
    const CancelToken* m_cancel;
    bool m_threaded = false;
    bool m_ended = false;
};

class GzipCompressor : public Compressor {
public:
    GzipCompressor(const CompressorOptions& options, ByteSink sink)
        : m_sink(std::move(sink)), m_buffer(k_output_block) {
        if (deflateInit2(&m_stream, options.level, Z_DEFLATED, k_gzip_window, 8,
                         Z_DEFAULT_STRATEGY) != Z_OK)
            throw CompressionError("gzip: cannot start deflate at level " +
                                   std::to_string(options.level));
    }
    ~GzipCompressor() override { deflateEnd(&m_stream); }

    void write(const void* data, std::size_t size) override {
        const unsigned char* bytes = static_cast<const unsigned char*>(data);
        while (size > 0) {
            std::size_t slice = std::min(size, k_zlib_slice);
            m_stream.next_in = const_cast<unsigned char*>(bytes);
            m_stream.avail_in = static_cast<uInt>(slice);
            do deflate_into_buffer(Z_NO_FLUSH);
            while (m_stream.avail_out == 0);
            bytes += slice;
            size -= slice;
        }
    }

    void finish() override {
        m_stream.avail_in = 0;
        while (deflate_into_buffer(Z_FINISH) != Z_STREAM_END) {
        }
    }

private:
    int deflate_into_buffer(int flush) {
        m_stream.next_out = m_buffer.data();
        m_stream.avail_out = static_cast<uInt>(m_buffer.size());
        int result = deflate(&m_stream, flush);
        if (result == Z_STREAM_ERROR) throw CompressionError("gzip: deflate failed");
        std::size_t produced = m_buffer.size() - m_stream.avail_out;
        if (produced > 0) m_sink(m_buffer.data(), produced);
        return result;
    }

    z_stream m_stream{};
    ByteSink m_sink;
    std::vector<unsigned char> m_buffer;
};

// What both testers check at the end.
void check_end(const std::string& format, bool ended, std::uint64_t produced,
               std::uint64_t expected) {
    if (!ended)
        throw CompressionError(format + " test: the stream is truncated (it stops before its end)");
    if (produced != expected)
        throw CompressionError(format + " test: the stream decompresses to " +
                               std::to_string(produced) + " bytes, the input had " +
                               std::to_string(expected));
}

class ZstdTester : public StreamTester {
public:
    ZstdTester()
        : m_context(ZSTD_createDCtx_advanced(HugePageMemory::for_zstd())),
          m_buffer(k_output_block) {
        if (m_context == nullptr)
            throw CompressionError("zstd: cannot allocate a decompression context");
    }
    ~ZstdTester() override { ZSTD_freeDCtx(m_context); }

    void feed(const void* data, std::size_t size) override {
        ZSTD_inBuffer input{data, size, 0};
        bool output_full = false;
        while (input.pos < input.size || output_full) {
            if (m_ended && input.pos < input.size)
                throw CompressionError("zstd test: data after the end of the frame");
            if (m_ended) break;
            ZSTD_outBuffer output{m_buffer.data(), m_buffer.size(), 0};
            std::size_t result = ZSTD_decompressStream(m_context, &output, &input);
            check_zstd(result, "zstd test");
            m_produced += output.pos;
            output_full = output.pos == output.size;
            m_ended = result == 0;
        }
    }

    void finish(std::uint64_t expected_length) override {
        check_end("zstd", m_ended, m_produced, expected_length);
    }
    std::uint64_t decompressed_bytes() const override { return m_produced; }

private:
    ZSTD_DCtx* m_context;
    std::vector<unsigned char> m_buffer;
    std::uint64_t m_produced = 0;
    bool m_ended = false;
};

class GzipTester : public StreamTester {
public:
    GzipTester() : m_buffer(k_output_block) {
        if (inflateInit2(&m_stream, k_gzip_window) != Z_OK)
            throw CompressionError("gzip: cannot start inflate");
    }
    ~GzipTester() override { inflateEnd(&m_stream); }

    void feed(const void* data, std::size_t size) override {
        const unsigned char* bytes = static_cast<const unsigned char*>(data);
        while (size > 0) {
            std::size_t slice = std::min(size, k_zlib_slice);
            inflate_slice(bytes, slice);
            bytes += slice;
            size -= slice;
        }
    }

    void finish(std::uint64_t expected_length) override {
        check_end("gzip", m_ended, m_produced, expected_length);
    }
    std::uint64_t decompressed_bytes() const override { return m_produced; }

private:
    void inflate_slice(const unsigned char* bytes, std::size_t size) {
        m_stream.next_in = const_cast<unsigned char*>(bytes);
        m_stream.avail_in = static_cast<uInt>(size);
        bool output_full = false;
        while (m_stream.avail_in > 0 || output_full) {
            if (m_ended && m_stream.avail_in > 0)
                throw CompressionError("gzip test: data after the end of the stream");
            if (m_ended) break;
            m_stream.next_out = m_buffer.data();
            m_stream.avail_out = static_cast<uInt>(m_buffer.size());
            int result = inflate(&m_stream, Z_NO_FLUSH);
            m_produced += m_buffer.size() - m_stream.avail_out;
            output_full = m_stream.avail_out == 0;
            if (result == Z_STREAM_END)
                m_ended = true;
            else if (result == Z_BUF_ERROR)
                break;  // no progress possible until more input comes
            else if (result != Z_OK)
                throw CompressionError(std::string("gzip test: ") +
                                       (m_stream.msg != nullptr ? m_stream.msg : "corrupt stream"));
        }
    }

    z_stream m_stream{};
    std::vector<unsigned char> m_buffer;
    std::uint64_t m_produced = 0;
    bool m_ended = false;
};

}  // namespace

std::string compression_name(CompressionFormat format) {
    return format == CompressionFormat::gzip ? "gzip" : "zstd";
}

std::optional<CompressionFormat> compression_from_name(std::string_view name) {
    if (name == "zstd") return CompressionFormat::zstd;
    if (name == "gzip") return CompressionFormat::gzip;
    return std::nullopt;
}

std::string compression_suffix(CompressionFormat format) {
    return format == CompressionFormat::gzip ? ".gz" : ".zst";
}

LevelRange compression_levels(CompressionFormat format) {
    if (format == CompressionFormat::gzip) return {1, 9, 6};
    return {1, ZSTD_maxCLevel(), 3};
}

std::unique_ptr<Compressor> make_compressor(const CompressorOptions& options, ByteSink sink) {
    LevelRange range = compression_levels(options.format);
    if (options.level < range.lowest || options.level > range.highest)
        throw CompressionError(compression_name(options.format) + " level " +
                               std::to_string(options.level) + " is out of range (" +
                               std::to_string(range.lowest) + " to " +
                               std::to_string(range.highest) + ")");
    if (options.format == CompressionFormat::gzip && options.threads >= 2)
        return make_parallel_gzip(options, std::move(sink));
    if (options.format == CompressionFormat::gzip)
        return std::make_unique<GzipCompressor>(options, std::move(sink));
    return std::make_unique<ZstdCompressor>(options, std::move(sink));
}

std::unique_ptr<StreamTester> make_stream_tester(CompressionFormat format) {
    if (format == CompressionFormat::gzip) return std::make_unique<GzipTester>();
    return std::make_unique<ZstdTester>();
}

}  // namespace migrate
