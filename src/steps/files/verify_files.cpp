// Many files hashed on a small pool of threads: each thread takes the next biggest file and
// hashes it alone with large sequential reads, so one big file costs one core and many files
// keep every core busy.
#include "migrate/steps/files/verify_files.h"

#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "migrate/util/error.h"
#include "migrate/util/text.h"
#include "migrate/util/work_pool.h"

namespace migrate::steps::files {
namespace {

enum class Verdict { matched, mismatched, missing, unreadable, stopped };

struct FileResult {
    Verdict verdict = Verdict::stopped;  // until hashed
    std::string detail;                  // the hash found, or what went wrong
};

struct HashTask {
    std::size_t entry;
    std::string path;
    std::uint64_t size;
};

std::string path_of(const std::string& name, const std::string& base_dir) {
    if (base_dir.empty() || std::filesystem::path(name).is_absolute()) return name;
    return (std::filesystem::path(base_dir) / name).string();
}

// Sorts out the files that cannot be hashed; the others become tasks, biggest first.
std::vector<HashTask> plan_tasks(const std::vector<ChecksumEntry>& entries,
                                 const std::string& base_dir, std::vector<FileResult>& results) {
    std::vector<HashTask> tasks;
    for (std::size_t i = 0; i < entries.size(); ++i) {
        std::string path = path_of(entries[i].name, base_dir);
        struct stat info {};
        if (::stat(path.c_str(), &info) != 0) {
            bool absent = errno == ENOENT || errno == ENOTDIR;
            results[i] = {absent ? Verdict::missing : Verdict::unreadable, std::strerror(errno)};
        } else if (!S_ISREG(info.st_mode)) {
            results[i] = {Verdict::unreadable, "not a regular file"};
        } else {
            tasks.push_back({i, path, static_cast<std::uint64_t>(info.st_size)});
        }
    }
    std::stable_sort(tasks.begin(), tasks.end(),
                     [](const HashTask& a, const HashTask& b) { return a.size > b.size; });
    return tasks;
}

// What the pool's tasks share: each hashes one file into its result slot.
class HashTasks {
public:
    HashTasks(const std::vector<ChecksumEntry>& entries, const std::vector<HashTask>& tasks,
              std::vector<FileResult>& results, CancelToken& cancel)
        : m_entries(entries), m_tasks(tasks), m_results(results), m_cancel(cancel) {}

    void hash(std::size_t index) {
        const HashTask& task = m_tasks[index];
        const ChecksumEntry& entry = m_entries[task.entry];
        std::uint64_t counted = 0;
        auto progress = [&](std::uint64_t done) {
            m_bytes += done - counted;
            counted = done;
            return !m_cancel.cancelled();
        };
        FileResult& result = m_results[task.entry];
        try {
            std::string got = hash_file(task.path, entry.algorithm, progress);
            if (got.empty()) return;  // stopped: the verdict stays `stopped`
            result = {got == entry.hex ? Verdict::matched : Verdict::mismatched, got};
        } catch (const FileError& e) {
            result = {Verdict::unreadable, e.reason()};
        }
        ++m_files;
    }

    std::uint64_t bytes_done() const { return m_bytes.load(); }
    std::size_t files_done() const { return m_files.load(); }

private:
    const std::vector<ChecksumEntry>& m_entries;
    const std::vector<HashTask>& m_tasks;
    std::vector<FileResult>& m_results;
    CancelToken& m_cancel;
    std::atomic<std::uint64_t> m_bytes{0};
    std::atomic<std::size_t> m_files{0};
};

VerifyOutcome collect(const std::vector<ChecksumEntry>& entries,
                      const std::vector<FileResult>& results) {
    VerifyOutcome outcome;
    for (std::size_t i = 0; i < entries.size(); ++i) {
        const std::string& name = entries[i].name;
        switch (results[i].verdict) {
            case Verdict::matched:
                ++outcome.files_checked;
                break;
            case Verdict::mismatched:
                ++outcome.files_checked;
                outcome.mismatched.push_back({name, entries[i].hex, results[i].detail});
                break;
            case Verdict::missing:
                outcome.missing.push_back(name);
                break;
            case Verdict::unreadable:
                outcome.unreadable.push_back({name, results[i].detail});
                break;
            case Verdict::stopped:
                outcome.stopped = true;
                break;
        }
    }
    return outcome;
}

}  // namespace

VerifyOutcome verify_files(const std::vector<ChecksumEntry>& entries, const VerifyOptions& options,
                           CancelToken& cancel) {
    std::vector<FileResult> results(entries.size());
    std::vector<HashTask> tasks = plan_tasks(entries, options.base_dir, results);
    VerifyProgress progress;
    progress.files_total = entries.size();
    for (const HashTask& task : tasks) progress.bytes_total += task.size;
    HashTasks work(entries, tasks, results, cancel);
    auto tick = [&] {
        progress.bytes_done = work.bytes_done();
        progress.files_done = work.files_done();
        if (options.progress) options.progress(progress);
    };
    std::size_t threads = std::min<std::size_t>(std::max(options.threads, 1), tasks.size());
    if (threads > 0)
        WorkPool::run(
            tasks.size(), threads, [&](std::size_t task, std::size_t) { work.hash(task); }, &cancel,
            options.progress_interval, tick);
    VerifyOutcome outcome = collect(entries, results);
    outcome.bytes = work.bytes_done();
    return outcome;
}

std::string describe_failures(const VerifyOutcome& outcome, std::size_t files_listed) {
    std::size_t failed =
        outcome.missing.size() + outcome.mismatched.size() + outcome.unreadable.size();
    if (failed == 0) return "";
    std::vector<std::string> parts;
    if (!outcome.missing.empty()) parts.push_back("missing: " + join(outcome.missing, ", "));
    std::vector<std::string> names;
    for (const FileMismatch& mismatch : outcome.mismatched) names.push_back(mismatch.file);
    if (!names.empty()) parts.push_back("different: " + join(names, ", "));
    names.clear();
    for (const FileProblem& problem : outcome.unreadable)
        names.push_back(problem.file + " (" + problem.error + ")");
    if (!names.empty()) parts.push_back("unreadable: " + join(names, ", "));
    return std::to_string(failed) + " of " + std::to_string(files_listed) +
           " files failed the check: " + join(parts, "; ");
}

}  // namespace migrate::steps::files
