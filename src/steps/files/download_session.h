// The transfer loop of the download kind: libcurl's multi interface drives every
// connection from one thread; segments of a file go to parallel connections with HTTP
// Range, several files at once, each byte hashed as it lands (FileHasher), each file
// verified and renamed from ".partial" when complete, a file failing its hash fetched again
// on its own.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "migrate/kinds/kind.h"
#include "migrate/steps/files/download_plan.h"

namespace migrate::steps::files {

struct DownloadOptions {
    std::string directory;
    int connections = 4;      // per file
    int max_connections = 8;  // in all
    // connections: auto. Starts at `connections` (a quarter of max_connections) per file
    // and in all, and doubles both while doubling pays (the step's rate grows by 15 %), up
    // to max_connections.
    bool grow_connections = false;
    std::uint64_t min_segment = 4 << 20;
    std::uint64_t limit_rate = 0;  // bytes/s for the whole step, 0 = none
    Millis stall_timeout{30'000};
    int retries = 10;  // per segment, for resets, 5xx and stalls
    int refetch = 2;   // times a file failing its hash is fetched again
    bool insecure = false;
    std::string ca_file;
    Millis checkpoint_every{1'000};
};

// What a HEAD request learnt about each file; fills size, ranges and validator. Retries wait
// on `clock`'s steady time.
void probe_files(std::vector<DownloadFile>& files, const DownloadOptions& options,
                 CancelToken& cancel, Clock& clock);

struct DownloadTotals {
    std::uint64_t bytes_fetched = 0;    // body bytes written to disk in this attempt
    std::uint64_t bytes_refetched = 0;  // of those, fetched again after a hash mismatch
    std::uint64_t retries = 0;
    int connections = 0;  // the most open at once
    nlohmann::ordered_json refetched =
        nlohmann::ordered_json::array();  // [{file, bytes, expected, got}]
    nlohmann::ordered_json digests =
        nlohmann::ordered_json::object();  // file -> sha256 (or md5 when expected)
};

// Fetches every unfinished file of `files` into options.directory. Throws StepError on a
// failure; files are left as ".partial" with their progress in the last checkpoint.
void run_download(std::vector<DownloadFile>& files, const DownloadOptions& options,
                  kinds::StepContext& context, DownloadTotals& totals);

}  // namespace migrate::steps::files
