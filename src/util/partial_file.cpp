// "<name>.partial" until complete, then an atomic rename.
#include "migrate/util/partial_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "migrate/util/error.h"

namespace migrate {
namespace {

// How much write() lets pile up in the page cache before it starts their writeback.
constexpr std::uint64_t k_writeback_step = 8u << 20;

[[noreturn]] void fail(const std::string& what, const std::string& path) {
    throw FileError(what + " " + path, path, std::strerror(errno), false);
}

}  // namespace

PartialFile::PartialFile(std::string final_path, Open mode)
    : m_final(std::move(final_path)), m_partial(m_final + ".partial") {
    int flags = O_RDWR | O_CREAT | O_CLOEXEC | (mode == Open::truncate ? O_TRUNC : 0);
    m_fd = ::open(m_partial.c_str(), flags, 0644);
    if (m_fd < 0) fail("cannot create", m_partial);
}

PartialFile::~PartialFile() {
    if (m_fd >= 0) ::close(m_fd);
    if (!m_committed && !m_keep) ::unlink(m_partial.c_str());
}

void PartialFile::write(const void* data, std::size_t size) {
    const char* bytes = static_cast<const char*>(data);
    while (size > 0) {
        ssize_t done = ::write(m_fd, bytes, size);
        if (done < 0 && errno == EINTR) continue;
        if (done < 0) fail("cannot write", m_partial);
        bytes += done;
        size -= static_cast<std::size_t>(done);
        written(static_cast<std::size_t>(done));
    }
}

// Both write() and pwrite() count here; every k_writeback_step bytes the whole file's dirty
// pages are handed to the disk (only a hint: an error shows at the fsync, which waits).
void PartialFile::written(std::size_t size) {
    m_unflushed += size;
    if (m_unflushed < k_writeback_step) return;
    ::sync_file_range(m_fd, 0, 0, SYNC_FILE_RANGE_WRITE);
    m_unflushed = 0;
}

void PartialFile::pwrite(const void* data, std::size_t size, std::uint64_t offset) {
    const char* bytes = static_cast<const char*>(data);
    while (size > 0) {
        ssize_t done = ::pwrite(m_fd, bytes, size, static_cast<off_t>(offset));
        if (done < 0 && errno == EINTR) continue;
        if (done < 0) fail("cannot write", m_partial);
        bytes += done;
        offset += static_cast<std::uint64_t>(done);
        size -= static_cast<std::size_t>(done);
        written(static_cast<std::size_t>(done));
    }
}

void PartialFile::sync() {
    if (::fdatasync(m_fd) != 0) fail("cannot sync", m_partial);
}

void PartialFile::commit() {
    if (::fsync(m_fd) != 0) fail("cannot sync", m_partial);
    if (::close(m_fd) != 0) {
        m_fd = -1;
        fail("cannot close", m_partial);
    }
    m_fd = -1;
    if (std::rename(m_partial.c_str(), m_final.c_str()) != 0)
        fail("cannot rename to " + m_final + ":", m_partial);
    m_committed = true;
    sync_parent_directory(m_final);
}

void sync_parent_directory(const std::string& path) {
    std::string directory = std::filesystem::path(path).parent_path().string();
    if (directory.empty()) directory = ".";
    int fd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return;  // best effort: the rename itself happened
    ::fsync(fd);
    ::close(fd);
}

}  // namespace migrate
