// Parts read as one stream; gzip (zlib) and zstd (libzstd) decoded on a thread of their own.
#include "migrate/steps/files/archive_stream.h"

#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "migrate/util/digest.h"
#include "migrate/util/error.h"

namespace migrate::steps::files {
namespace {

constexpr std::size_t k_input_block = 1 << 20;
constexpr std::size_t k_output_block = 1 << 20;
constexpr std::size_t k_blocks_ahead = 4;

[[noreturn]] void damaged(const PartReader& reader, const std::string& problem) {
    throw StepError(reader.current_part() + ": " + problem, false);
}

class GzipDecoder : public Decoder {
public:
    explicit GzipDecoder(PartReader& reader) : m_reader(reader), m_input(k_input_block) {
        if (inflateInit2(&m_stream, 16 + MAX_WBITS) != Z_OK)
            throw StepError("cannot set up gzip decoding", false);
    }
    ~GzipDecoder() override { inflateEnd(&m_stream); }

    std::size_t decode(char* out, std::size_t size) override {
        m_stream.next_out = reinterpret_cast<Bytef*>(out);
        m_stream.avail_out = static_cast<uInt>(size);
        while (m_stream.avail_out > 0 && !m_ended) {
            if (m_stream.avail_in == 0 && !refill()) {
                if (m_in_member)
                    damaged(m_reader, "the gzip stream ends early: the archive is truncated");
                m_ended = true;
                break;
            }
            int status = inflate(&m_stream, Z_NO_FLUSH);
            m_in_member = true;
            if (status == Z_STREAM_END) {
                next_member();
            } else if (status != Z_OK && status != Z_BUF_ERROR) {
                damaged(m_reader, "damaged gzip data (" + zlib_problem() + ")");
            }
        }
        return size - m_stream.avail_out;
    }

private:
    std::string zlib_problem() const {
        std::string message = m_stream.msg != nullptr ? m_stream.msg : "zlib error";
        if (message == "incorrect data check") return "the CRC-32 does not match the data";
        if (message == "incorrect length check")
            return "the length in the trailer does not match the data";
        return message;
    }

    // Reads more input after what inflate has not taken yet.
    bool refill() {
        std::size_t rest = m_stream.avail_in;
        if (rest > 0) std::memmove(m_input.data(), m_stream.next_in, rest);
        std::size_t got = m_reader.read(m_input.data() + rest, m_input.size() - rest);
        m_stream.next_in = reinterpret_cast<Bytef*>(m_input.data());
        m_stream.avail_in = static_cast<uInt>(rest + got);
        return got > 0;
    }

    // A gzip file may hold several members one after the other (cat a.gz b.gz); anything
    // else after a member is ignored, as gzip does.
    void next_member() {
        m_in_member = false;
        while (m_stream.avail_in < 2 && refill()) {
        }
        if (m_stream.avail_in < 2 || m_stream.next_in[0] != 0x1f || m_stream.next_in[1] != 0x8b) {
            m_ended = true;
            return;
        }
        inflateReset(&m_stream);
    }

    PartReader& m_reader;
    std::vector<char> m_input;
    z_stream m_stream{};
    bool m_in_member = false;
    bool m_ended = false;
};

class ZstdDecoder : public Decoder {
public:
    explicit ZstdDecoder(PartReader& reader)
        : m_reader(reader), m_input(k_input_block), m_context(ZSTD_createDCtx()) {
        if (m_context == nullptr) throw StepError("cannot set up zstd decoding", false);
    }
    ~ZstdDecoder() override { ZSTD_freeDCtx(m_context); }

    std::size_t decode(char* out, std::size_t size) override {
        ZSTD_outBuffer output{out, size, 0};
        while (output.pos < output.size) {
            if (m_in.pos == m_in.size && !m_input_done) refill();
            std::size_t in_before = m_in.pos, out_before = output.pos;
            std::size_t hint = ZSTD_decompressStream(m_context, &output, &m_in);
            if (ZSTD_isError(hint))
                damaged(m_reader,
                        std::string("damaged zstd data (") + ZSTD_getErrorName(hint) + ")");
            // 0: a frame is complete and flushed. A call with nothing to do says nothing.
            bool progressed = m_in.pos != in_before || output.pos != out_before;
            if (progressed) m_frame_open = hint != 0;
            if (!progressed && m_input_done) {
                if (m_frame_open)
                    damaged(m_reader, "the zstd stream ends early: the archive is truncated");
                break;
            }
        }
        return output.pos;
    }

private:
    void refill() {
        std::size_t got = m_reader.read(m_input.data(), m_input.size());
        m_in = ZSTD_inBuffer{m_input.data(), got, 0};
        m_input_done = got == 0;
    }

    PartReader& m_reader;
    std::vector<char> m_input;
    ZSTD_DCtx* m_context;
    ZSTD_inBuffer m_in{nullptr, 0, 0};
    bool m_input_done = false;
    bool m_frame_open = false;
};

}  // namespace

PartReader::PartReader(std::vector<std::string> parts) : m_parts(std::move(parts)) {
    std::uint64_t end = 0;
    for (const std::string& part : m_parts) {
        std::error_code error;
        std::uintmax_t size = std::filesystem::file_size(part, error);
        end += error ? 0 : size;
        m_ends.push_back(end);
    }
}

PartReader::~PartReader() {
    if (m_fd >= 0) ::close(m_fd);
}

void PartReader::open_part(std::size_t index) {
    m_index = index;
    m_reading.store(std::min(index, m_parts.size() - 1));
    m_fd = ::open(m_parts[index].c_str(), O_RDONLY | O_CLOEXEC);
    if (m_fd < 0)
        throw StepError("cannot open " + current_part() + ": " + std::strerror(errno), false);
    ::posix_fadvise(m_fd, 0, 0, POSIX_FADV_SEQUENTIAL);
}

std::size_t PartReader::read(char* buffer, std::size_t size) {
    while (m_index < m_parts.size()) {
        if (m_fd < 0) open_part(m_index);
        ssize_t got = ::read(m_fd, buffer, size);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0)
            throw StepError("cannot read " + current_part() + ": " + std::strerror(errno), false);
        if (got > 0) {
            if (m_digest != nullptr) m_digest->update(buffer, static_cast<std::size_t>(got));
            m_position.fetch_add(static_cast<std::uint64_t>(got), std::memory_order_relaxed);
            return static_cast<std::size_t>(got);
        }
        ::close(m_fd);
        m_fd = -1;
        ++m_index;
    }
    return 0;
}

void PartReader::seek(std::uint64_t offset) {
    std::size_t index = 0;
    while (index + 1 < m_ends.size() && offset >= m_ends[index]) ++index;
    if (m_fd >= 0) ::close(m_fd);
    m_fd = -1;
    open_part(index);
    std::uint64_t start = index == 0 ? 0 : m_ends[index - 1];
    if (::lseek(m_fd, static_cast<off_t>(offset - start), SEEK_SET) < 0)
        throw StepError("cannot seek in " + current_part() + ": " + std::strerror(errno), false);
    m_position.store(offset);
}

std::string PartReader::current_part() const {
    std::size_t index = m_reading.load();
    if (m_parts.size() == 1) return m_parts[0];
    return m_parts[index] + " (part " + std::to_string(index + 1) + " of " +
           std::to_string(m_parts.size()) + ")";
}

Compression sniff_compression(PartReader& reader) {
    unsigned char magic[4] = {};
    std::size_t got = 0;
    while (got < sizeof magic) {
        std::size_t n = reader.read(reinterpret_cast<char*>(magic) + got, sizeof magic - got);
        if (n == 0) break;
        got += n;
    }
    reader.seek(0);
    if (got >= 2 && magic[0] == 0x1f && magic[1] == 0x8b) return Compression::gzip;
    if (got >= 4 && magic[0] == 0x28 && magic[1] == 0xb5 && magic[2] == 0x2f && magic[3] == 0xfd)
        return Compression::zstd;
    return Compression::none;
}

std::unique_ptr<Decoder> make_decoder(Compression compression, PartReader& reader) {
    switch (compression) {
        case Compression::gzip:
            return std::make_unique<GzipDecoder>(reader);
        case Compression::zstd:
            return std::make_unique<ZstdDecoder>(reader);
        case Compression::none:
            break;
    }
    return nullptr;
}

DecodedStream::DecodedStream(std::unique_ptr<Decoder> decoder) : m_decoder(std::move(decoder)) {
    for (std::size_t i = 0; i < k_blocks_ahead; ++i)
        m_free.push_back(Block{std::vector<char>(k_output_block), 0});
    m_thread = std::thread([this] { produce(); });
}

DecodedStream::~DecodedStream() {
    {
        std::lock_guard lock(m_mutex);
        m_stop = true;
    }
    m_changed.notify_all();
    m_thread.join();
}

void DecodedStream::produce() {
    try {
        for (;;) {
            Block block;
            {
                std::unique_lock lock(m_mutex);
                m_changed.wait(lock, [&] { return m_stop || !m_free.empty(); });
                if (m_stop) break;
                block = std::move(m_free.back());
                m_free.pop_back();
            }
            block.size = m_decoder->decode(block.data.data(), block.data.size());
            if (block.size == 0) break;
            {
                std::lock_guard lock(m_mutex);
                m_ready.push_back(std::move(block));
            }
            m_changed.notify_all();
        }
    } catch (...) {
        std::lock_guard lock(m_mutex);
        m_error = std::current_exception();
    }
    {
        std::lock_guard lock(m_mutex);
        m_done = true;
    }
    m_changed.notify_all();
}

std::string_view DecodedStream::next() {
    std::unique_lock lock(m_mutex);
    if (!m_current.data.empty()) m_free.push_back(std::move(m_current));
    m_current = Block{};
    m_changed.notify_all();
    m_changed.wait(lock, [&] { return !m_ready.empty() || m_done; });
    if (m_ready.empty()) {
        if (m_error) std::rethrow_exception(m_error);
        return {};
    }
    m_current = std::move(m_ready.front());
    m_ready.pop_front();
    return {m_current.data.data(), m_current.size};
}

}  // namespace migrate::steps::files
