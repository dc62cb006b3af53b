// Hashes files while a download writes them: the download says how far each file is
// contiguous on disk, one worker thread reads those bytes back (from the page cache) and
// digests them, so hashing runs on the second core beside the transfers.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "migrate/util/digest.h"

namespace migrate::steps::files {

class FileHasher {
public:
    FileHasher();
    ~FileHasher();
    FileHasher(const FileHasher&) = delete;
    FileHasher& operator=(const FileHasher&) = delete;

    // Starts (or restarts from byte 0) hashing file `id` read through `fd`.
    void start(int id, int fd, DigestAlgorithm algorithm);
    // Bytes [0, contiguous) of file `id` are on disk.
    void advance(int id, std::uint64_t contiguous);
    // Waits until every announced byte is hashed and returns the hex digest; the file is
    // then forgotten. Throws FileError when a read failed.
    std::string finish(int id);
    void forget(int id);

private:
    struct Job {
        int fd = -1;
        std::unique_ptr<Digest> digest;
        std::uint64_t hashed = 0;
        std::uint64_t target = 0;
        int error = 0;
    };
    void work();

    std::mutex m_mutex;
    std::condition_variable m_wake;    // the worker: more to hash, or stop
    std::condition_variable m_caught;  // finish(): the worker caught up
    std::map<int, Job> m_jobs;
    int m_busy = -1;  // the file whose block is being hashed outside the lock
    bool m_stop = false;
    std::thread m_thread;
};

}  // namespace migrate::steps::files
