// Checking files against their expected hashes on several threads, biggest files first, and
// collecting every file that is missing, unreadable or different rather than stopping at one.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "migrate/steps/files/checksums.h"
#include "migrate/util/clock.h"

namespace migrate::steps::files {

struct FileMismatch {
    std::string file;  // as the list names it
    std::string expected;
    std::string got;
};

struct FileProblem {
    std::string file;
    std::string error;
};

struct VerifyOutcome {
    std::vector<std::string> missing;
    std::vector<FileMismatch> mismatched;
    std::vector<FileProblem> unreadable;
    std::size_t files_checked = 0;  // hashed to the end, matching or not
    std::uint64_t bytes = 0;        // hashed
    bool stopped = false;           // the cancel token fired
    bool ok() const {
        return missing.empty() && mismatched.empty() && unreadable.empty() && !stopped;
    }
};

struct VerifyProgress {
    std::uint64_t bytes_done = 0;
    std::uint64_t bytes_total = 0;
    std::size_t files_done = 0;
    std::size_t files_total = 0;
};

struct VerifyOptions {
    std::string base_dir;  // relative names are taken from here ("" = the current directory)
    int threads = 1;
    // Called on the calling thread about every `progress_interval` while the work goes on.
    std::function<void(const VerifyProgress&)> progress;
    Millis progress_interval{250};
};

// Hashes every listed file with its entry's algorithm; each file is read by one thread, the
// threads take the next biggest file. Results keep the list's order.
VerifyOutcome verify_files(const std::vector<ChecksumEntry>& entries, const VerifyOptions& options,
                           CancelToken& cancel);

// "3 of 20 files failed: missing: a; different: b, c" (every file named); "" when all is well.
std::string describe_failures(const VerifyOutcome& outcome, std::size_t files_listed);

}  // namespace migrate::steps::files
