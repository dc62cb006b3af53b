// A compressed file tested while it is written: the compressed bytes go to "<name>.partial",
// into a SHA-256 and through a streaming decompressor, and the file gets its name only when
// the stream tested whole. No second pass over the file.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "migrate/util/compression.h"

namespace migrate {

struct CompressedFileResult {
    std::uint64_t bytes_in = 0;
    std::uint64_t bytes_out = 0;
    std::string sha256;  // of the compressed file, lowercase hex
};

class CompressedFileWriter {
public:
    // Creates "<path>.partial" (truncating one an earlier attempt left). Throws
    // FileError naming the file, or CompressionError for bad options.
    CompressedFileWriter(const std::string& path, const CompressorOptions& options);
    ~CompressedFileWriter();  // removes the partial file unless committed
    CompressedFileWriter(const CompressedFileWriter&) = delete;
    CompressedFileWriter& operator=(const CompressedFileWriter&) = delete;

    // Compresses `data`. Throws when writing or the in-line test has failed so far.
    void write(const void* data, std::size_t size);
    // Ends the stream, waits for the test of its last bytes, syncs and renames the file.
    // Throws CompressionError when the test fails, FileError on an I/O error.
    CompressedFileResult commit();

    std::uint64_t bytes_in() const { return m_bytes_in; }
    const std::string& partial_path() const;

private:
    class OutputStage;
    std::unique_ptr<OutputStage> m_output;
    std::unique_ptr<Compressor> m_compressor;
    std::uint64_t m_bytes_in = 0;
    CompressionFormat m_format;
};

}  // namespace migrate
