// A file written (and readable back) under "<name>.partial" and renamed to its name only once
// complete, so a half-written file is never presented as finished.
#pragma once

#include <cstdint>
#include <string>

namespace migrate {

class PartialFile {
public:
    enum class Open { truncate, keep };  // keep: reopen what an earlier attempt left (resume)
    explicit PartialFile(std::string final_path, Open mode = Open::truncate);
    ~PartialFile();  // removes the partial file unless committed or kept
    PartialFile(const PartialFile&) = delete;
    PartialFile& operator=(const PartialFile&) = delete;

    int fd() const { return m_fd; }
    const std::string& partial_path() const { return m_partial; }
    const std::string& final_path() const { return m_final; }
    // Writes all of `data` at the current offset, or at `offset`; throws FileError naming
    // the file. Every few MiB written either way are handed to the disk at once (writeback
    // started, not waited for), so the syncs and commit()'s fsync find little left.
    void write(const void* data, std::size_t size);
    void pwrite(const void* data, std::size_t size, std::uint64_t offset);
    // fdatasync; throws on failure.
    void sync();
    // fsync, close, rename to the final name and fsync the directory.
    void commit();
    // Leave the partial file on disk when destroyed (a later run resumes from it).
    void keep() { m_keep = true; }

private:
    std::string m_final;
    std::string m_partial;
    int m_fd = -1;
    void written(std::size_t size);
    std::uint64_t m_unflushed = 0;  // bytes written since writeback was last started
    bool m_committed = false;
    bool m_keep = false;
};

// fsync of the directory holding `path`, so a rename in it is durable.
void sync_parent_directory(const std::string& path);

}  // namespace migrate
