// The download's hashing thread.
#include "file_hasher.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "migrate/util/error.h"

namespace migrate::steps::files {

FileHasher::FileHasher() : m_thread([this] { work(); }) {}

FileHasher::~FileHasher() {
    {
        std::lock_guard lock(m_mutex);
        m_stop = true;
    }
    m_wake.notify_all();
    m_thread.join();
}

void FileHasher::start(int id, int fd, DigestAlgorithm algorithm) {
    std::unique_lock lock(m_mutex);
    m_caught.wait(lock, [&] { return m_busy != id; });
    Job& job = m_jobs[id];
    job = Job{fd, std::make_unique<Digest>(algorithm), 0, 0, 0};
}

void FileHasher::advance(int id, std::uint64_t contiguous) {
    {
        std::lock_guard lock(m_mutex);
        auto it = m_jobs.find(id);
        if (it == m_jobs.end() || contiguous <= it->second.target) return;
        it->second.target = contiguous;
    }
    m_wake.notify_one();
}

std::string FileHasher::finish(int id) {
    std::unique_lock lock(m_mutex);
    m_caught.wait(lock, [&] {
        auto it = m_jobs.find(id);
        return it == m_jobs.end() ||
               (m_busy != id && (it->second.hashed >= it->second.target || it->second.error != 0));
    });
    auto it = m_jobs.find(id);
    if (it == m_jobs.end()) return "";
    Job job = std::move(it->second);
    m_jobs.erase(it);
    if (job.error != 0)
        throw FileError("cannot read back the downloaded file", "", std::strerror(job.error),
                        false);
    return job.digest->hex_digest();
}

void FileHasher::forget(int id) {
    std::unique_lock lock(m_mutex);
    m_caught.wait(lock, [&] { return m_busy != id; });
    m_jobs.erase(id);
}

void FileHasher::work() {
    constexpr std::uint64_t k_block = 4 << 20;
    std::vector<unsigned char> buffer(k_block);
    std::unique_lock lock(m_mutex);
    for (;;) {
        if (m_stop) return;  // an abandoned download's remaining bytes need no digest
        Job* next = nullptr;
        int next_id = -1;
        for (auto& [id, job] : m_jobs)
            if (job.hashed < job.target && job.error == 0) {
                next = &job;
                next_id = id;
                break;
            }
        if (next == nullptr) {
            m_wake.wait(lock);
            continue;
        }
        m_busy = next_id;
        int fd = next->fd;
        std::uint64_t offset = next->hashed;
        std::size_t want = static_cast<std::size_t>(std::min(k_block, next->target - offset));
        Digest* digest = next->digest.get();
        lock.unlock();
        ssize_t got = ::pread(fd, buffer.data(), want, static_cast<off_t>(offset));
        int error = got < 0 ? errno : (got == 0 ? EIO : 0);
        if (error == 0) digest->update(buffer.data(), static_cast<std::size_t>(got));
        lock.lock();
        // The job may not be erased while m_busy names it, so `next` is still valid.
        if (error != 0 && error != EINTR)
            next->error = error;
        else if (error == 0)
            next->hashed += static_cast<std::uint64_t>(got);
        m_busy = -1;
        m_caught.notify_all();
    }
}

}  // namespace migrate::steps::files
