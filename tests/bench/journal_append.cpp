// Journal append throughput: migrate::journal::Writer against a plain write()(+fdatasync)
// loop writing the very same bytes, side by side in one run.
//
//   journal_append [--dir DIR] [--unsynced N] [--synced N] [--reps R]
//
// For each repetition, four timed cases, each on a fresh file in DIR:
//   writer   unsynced  Writer::append(step.end-like record, sync=false) x N
//   baseline unsynced  write(fd, line) x N                       (same lines, O_APPEND)
//   writer   synced    Writer::append(..., sync=true) x N        (fdatasync per record)
//   baseline synced    write(fd, line) + fdatasync(fd) x N
// The baseline's lines are the ones a Writer produced (hash chain and all), so the
// difference between the two is what building the record, the JSON formatting, the
// redaction pass and the SHA-256 chain cost. Writer and baseline alternate which goes
// first. Reported: median over the repetitions, with min and max.
//
// Run by hand; see tests/bench/README.md. DIR must be on a real disk (not tmpfs) for the
// synced figures to mean anything.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "migrate/io/clock.h"
#include "migrate/journal/journal.h"
#include "migrate/util/clock.h"

namespace {

using migrate::journal::Json;
using Seconds = std::chrono::duration<double>;

struct Options {
    std::string dir = "/var/tmp";
    long unsynced = 100000;
    long synced = 10000;
    int reps = 5;
};

[[noreturn]] void die(const std::string& message) {
    std::fprintf(stderr, "journal_append: %s\n", message.c_str());
    std::exit(2);
}

Options parse(int argc, char** argv) {
    Options options;
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) die(arg + " needs a value");
            return argv[++i];
        };
        if (arg == "--dir")
            options.dir = value();
        else if (arg == "--unsynced")
            options.unsynced = std::stol(value());
        else if (arg == "--synced")
            options.synced = std::stol(value());
        else if (arg == "--reps")
            options.reps = std::stoi(value());
        else if (arg == "-h" || arg == "--help") {
            std::printf(
                "usage: journal_append [--dir DIR] [--unsynced N] [--synced N] [--reps R]\n");
            std::exit(0);
        } else
            die("unknown argument " + arg);
    }
    if (options.unsynced < 1 || options.synced < 1 || options.reps < 1) die("counts must be >= 1");
    return options;
}

// The fields of a no-op step's step.end, as the engine writes them.
Json step_end_fields(long i) {
    char id[16];
    std::snprintf(id, sizeof id, "s%05ld", i % 100000);
    return Json{{"step", id},
                {"phase", "p"},
                {"kind", "noop"},
                {"role", "executor"},
                {"status", "ok"},
                {"duration_ms", 0},
                {"attempts", 1},
                {"metrics", Json::object()},
                {"outputs", Json::object()},
                {"log", std::string("journal.jsonl.logs/") + id + ".log"}};
}

void remove_file(const std::string& path) {
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) die(path + ": " + std::strerror(errno));
}

// Flushes what an unsynced case left in the page cache, untimed, so that the next case
// does not pay for its writeback.
void settle(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        ::fsync(fd);
        ::close(fd);
    }
    remove_file(path);
}

double time_writer(const std::string& path, long count, bool sync) {
    remove_file(path);
    migrate::io::SystemClock clock;
    auto writer = migrate::journal::Writer::open(path, "20260101T000000-bench", clock);
    auto start = std::chrono::steady_clock::now();
    for (long i = 1; i <= count; ++i) writer->append("step.end", step_end_fields(i), sync);
    auto elapsed = Seconds(std::chrono::steady_clock::now() - start).count();
    writer.reset();
    return elapsed;
}

double time_baseline(const std::string& path, const std::vector<std::string>& lines, long count,
                     bool sync) {
    remove_file(path);
    int fd = ::open(path.c_str(), O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) die(path + ": " + std::strerror(errno));
    auto start = std::chrono::steady_clock::now();
    for (long i = 0; i < count; ++i) {
        const std::string& line = lines[static_cast<std::size_t>(i) % lines.size()];
        if (::write(fd, line.data(), line.size()) != static_cast<ssize_t>(line.size()))
            die(path + ": write: " + std::strerror(errno));
        if (sync && ::fdatasync(fd) != 0) die(path + ": fdatasync: " + std::strerror(errno));
    }
    auto elapsed = Seconds(std::chrono::steady_clock::now() - start).count();
    ::close(fd);
    return elapsed;
}

// The lines a Writer produces, for the baseline to write byte for byte.
std::vector<std::string> writer_lines(const std::string& path, long count) {
    time_writer(path, count, false);
    std::vector<std::string> lines;
    std::ifstream in(path);
    for (std::string line; std::getline(in, line);) lines.push_back(line + "\n");
    remove_file(path);
    if (lines.size() != static_cast<std::size_t>(count))
        die("the writer wrote " + std::to_string(lines.size()) + " lines");
    return lines;
}

struct Stats {
    double median, min, max;
};

Stats stats(std::vector<double> samples) {
    std::sort(samples.begin(), samples.end());
    std::size_t n = samples.size();
    double median = n % 2 ? samples[n / 2] : (samples[n / 2 - 1] + samples[n / 2]) / 2;
    return {median, samples.front(), samples.back()};
}

}  // namespace

int main(int argc, char** argv) {
    Options options = parse(argc, argv);
    struct statfs fs {};
    if (::statfs(options.dir.c_str(), &fs) != 0) die(options.dir + ": " + std::strerror(errno));
    if (fs.f_type == 0x01021994)
        std::fprintf(stderr, "journal_append: WARNING: %s is tmpfs; fsync is free there\n",
                     options.dir.c_str());

    std::string stem = options.dir + "/journal_append." + std::to_string(::getpid());
    std::string path = stem + ".jsonl";
    std::vector<std::string> lines = writer_lines(path, std::max(options.unsynced, options.synced));
    std::size_t bytes = 0;
    for (const auto& line : lines) bytes += line.size();
    double mean_line = static_cast<double>(bytes) / static_cast<double>(lines.size());

    struct Case {
        const char* name;
        bool writer;
        bool sync;
        long count;
        std::vector<double> seconds;
    };
    std::vector<Case> cases = {{"writer   unsynced", true, false, options.unsynced, {}},
                               {"baseline unsynced", false, false, options.unsynced, {}},
                               {"writer   synced", true, true, options.synced, {}},
                               {"baseline synced", false, true, options.synced, {}}};
    auto run = [&](Case& c) {
        double s = c.writer ? time_writer(path, c.count, c.sync)
                            : time_baseline(path, lines, c.count, c.sync);
        settle(path);
        c.seconds.push_back(s);
        std::fprintf(stderr, "  rep %zu %-18s %9.4f s  %8.2f us/record\n", c.seconds.size(), c.name,
                     s, s / static_cast<double>(c.count) * 1e6);
    };
    std::printf(
        "journal_append: %ld unsynced + %ld synced records per repetition, %d repetitions, in %s\n",
        options.unsynced, options.synced, options.reps, options.dir.c_str());
    std::printf("record: a no-op step.end, %.0f bytes per line on average\n", mean_line);
    std::fflush(stdout);
    for (int rep = 0; rep < options.reps; ++rep) {
        // Alternate which of the pair goes first, so drift in the machine's load hits both.
        for (std::size_t pair : {0u, 2u}) {
            if (rep % 2 == 0) {
                run(cases[pair]);
                run(cases[pair + 1]);
            } else {
                run(cases[pair + 1]);
                run(cases[pair]);
            }
        }
    }

    std::printf(
        "\n| case | records | median s (min-max) | records/s (median) | us/record median (min-max) "
        "|\n");
    std::printf("|---|---:|---:|---:|---:|\n");
    std::vector<double> us_median(cases.size());
    for (std::size_t i = 0; i < cases.size(); ++i) {
        const Case& c = cases[i];
        Stats s = stats(c.seconds);
        double n = static_cast<double>(c.count);
        us_median[i] = s.median / n * 1e6;
        std::printf("| %s | %ld | %.4f (%.4f-%.4f) | %.0f | %.2f (%.2f-%.2f) |\n", c.name, c.count,
                    s.median, s.min, s.max, n / s.median, us_median[i], s.min / n * 1e6,
                    s.max / n * 1e6);
    }
    // The disk's fsync latency drifts by an order of magnitude between minutes on a shared
    // machine; the per-repetition ratio (both cases of a pair ran back to back) is steadier.
    for (std::size_t pair : {0u, 2u}) {
        std::vector<double> ratios;
        for (std::size_t r = 0; r < cases[pair].seconds.size(); ++r)
            ratios.push_back(cases[pair].seconds[r] / cases[pair + 1].seconds[r]);
        Stats q = stats(ratios);
        std::printf(
            "writer / baseline, %s: %.2fx from the medians; per repetition %.2fx median "
            "(%.2f-%.2f); "
            "the writer's own cost: %.2f us/record\n",
            cases[pair].sync ? "synced  " : "unsynced", us_median[pair] / us_median[pair + 1],
            q.median, q.min, q.max, us_median[pair] - us_median[pair + 1]);
    }
    return 0;
}
