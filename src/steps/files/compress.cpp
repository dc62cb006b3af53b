// compress: gzip or zstd one file into "<output>.partial", tested by decompressing the
// compressed bytes as they are written, renamed when whole; its SHA-256 as an output.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <filesystem>
#include <optional>
#include <system_error>
#include <vector>

#include "../families.h"
#include "migrate/util/compressed_file.h"
#include "migrate/util/digest.h"
#include "migrate/util/error.h"
#include "migrate/util/units.h"

namespace migrate::steps::files {
namespace {

// Input read per call: large enough that system calls cost nothing next to compressing.
constexpr std::size_t k_read_block = 1 << 20;

struct CompressJob {
    std::string input;
    std::string output;
    CompressorOptions options;
};

CompressionFormat format_of(const kinds::Params& params) {
    std::string name = params.string("format");
    std::optional<CompressionFormat> format = compression_from_name(name);
    if (!format)
        throw StepError("parameter 'format': '" + name + "' is not one of: zstd, gzip", false);
    return *format;
}

std::string level_problem(CompressionFormat format, std::int64_t level) {
    LevelRange range = compression_levels(format);
    if (level >= range.lowest && level <= range.highest) return "";
    return compression_name(format) + " levels go from " + std::to_string(range.lowest) + " to " +
           std::to_string(range.highest) + ", not " + std::to_string(level);
}

CompressJob job_of(const kinds::Params& params) {
    CompressJob job;
    job.input = params.string("input");
    job.options.format = format_of(params);
    job.output = params.has("output") ? params.string("output")
                                      : job.input + compression_suffix(job.options.format);
    job.options.level = params.has("level") ? static_cast<int>(params.integer("level"))
                                            : compression_levels(job.options.format).fallback;
    if (std::string problem = level_problem(job.options.format, job.options.level);
        !problem.empty())
        throw StepError("parameter 'level': " + problem, false);
    job.options.threads = kinds::thread_count(params, "threads");
    return job;
}

// The checks that need no work done: the input is a file, the output is free (or may go).
std::uint64_t check_paths(const CompressJob& job, bool overwrite) {
    std::error_code error;
    if (!std::filesystem::is_regular_file(job.input, error))
        throw StepError("input '" + job.input + "' " +
                            (std::filesystem::exists(job.input, error) ? "is not a regular file"
                                                                       : "does not exist"),
                        false);
    if (std::filesystem::exists(job.output, error)) {
        if (std::filesystem::equivalent(job.input, job.output, error))
            throw StepError("output '" + job.output + "' is the input itself", false);
        if (!overwrite)
            throw StepError(
                "output '" + job.output + "' already exists; set 'overwrite: true' to replace it",
                false);
    }
    return std::filesystem::file_size(job.input);
}

class InputFile {
public:
    explicit InputFile(const std::string& path)
        : m_path(path), m_fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC)) {
        if (m_fd < 0) throw FileError("cannot open " + path, path, std::strerror(errno), true);
        ::posix_fadvise(m_fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    }
    ~InputFile() { ::close(m_fd); }
    InputFile(const InputFile&) = delete;
    InputFile& operator=(const InputFile&) = delete;

    // Bytes read into `buffer`; 0 at the end.
    std::size_t read(std::vector<unsigned char>& buffer) {
        for (;;) {
            ssize_t got = ::read(m_fd, buffer.data(), buffer.size());
            if (got >= 0) return static_cast<std::size_t>(got);
            if (errno != EINTR)
                throw FileError("cannot read " + m_path, m_path, std::strerror(errno), true);
        }
    }

private:
    std::string m_path;
    int m_fd;
};

std::string describe_job(const CompressJob& job) {
    return job.input + " -> " + job.output + " (" + compression_name(job.options.format) +
           " level " + std::to_string(job.options.level) + ", tested while written)";
}

class CompressRunner : public kinds::StepRunner {
public:
    std::string describe(const kinds::StepContext& context) const override {
        try {
            return describe_job(job_of(context.params));
        } catch (const StepError&) {
            return context.params.string("input");
        }
    }

    void preflight(kinds::StepContext& context) override {
        CompressJob job = job_of(context.params);
        std::error_code error;
        if (!std::filesystem::exists(job.input, error)) {
            context.events.say("note: " + job.input +
                               " does not exist yet; an earlier step must make it");
            return;
        }
        check_paths(job, context.params.boolean("overwrite"));
    }

    void run(kinds::StepContext& context) override {
        CompressJob job = job_of(context.params);
        if (std::optional<CompressedFileResult> earlier = output_of_earlier_attempt(context, job)) {
            finish(context, job, *earlier);
            return;
        }
        std::uint64_t size = check_paths(job, context.params.boolean("overwrite"));
        job.options.content_size = size;
        job.options.cancel = &context.cancel;
        try {
            CompressedFileResult result = compress(context, job, size);
            context.events.checkpoint({{"output", job.output},
                                       {"sha256", result.sha256},
                                       {"bytes", result.bytes_in},
                                       {"bytes_out", result.bytes_out}});
            finish(context, job, result);
        } catch (const CompressionStopped&) {
            throw StepError("stopped while compressing", true);
        } catch (const CompressionError& e) {
            throw StepError(std::string(e.what()) + "; " + job.output + " was not written", false);
        } catch (const FileError& e) {  // the output's .partial: the disk may have room again
            throw StepError(e.what(), true);
        } catch (const std::system_error& e) {
            throw StepError(e.what(), true);
        }
    }

private:
    // The checkpoint journaled once the output was renamed into place: a run killed after it
    // (and before its step.end) has left a complete output, and maybe removed its input. A
    // resumed attempt takes that output when its SHA-256 is still the one recorded.
    static std::optional<CompressedFileResult> output_of_earlier_attempt(
        kinds::StepContext& context, const CompressJob& job) {
        const std::optional<nlohmann::ordered_json>& checkpoint = context.last_checkpoint;
        std::error_code error;
        if (!checkpoint || !checkpoint->is_object() ||
            checkpoint->value("output", std::string()) != job.output ||
            !std::filesystem::is_regular_file(job.output, error))
            return std::nullopt;
        CompressedFileResult earlier{checkpoint->value("bytes", std::uint64_t{0}),
                                     checkpoint->value("bytes_out", std::uint64_t{0}),
                                     checkpoint->value("sha256", std::string())};
        if (hash_file(job.output, DigestAlgorithm::sha256) != earlier.sha256) return std::nullopt;
        context.events.say("kept " + job.output +
                           ", written by an earlier attempt stopped before its end (its SHA-256 "
                           "is the one recorded)");
        return earlier;
    }

    static void finish(kinds::StepContext& context, const CompressJob& job,
                       const CompressedFileResult& result) {
        if (context.params.boolean("remove_input")) std::filesystem::remove(job.input);
        report(context, job, result);
    }

    static CompressedFileResult compress(kinds::StepContext& context, const CompressJob& job,
                                         std::uint64_t size) {
        InputFile input(job.input);
        CompressedFileWriter writer(job.output, job.options);
        std::vector<unsigned char> buffer(k_read_block);
        std::string total = format_bytes(size);
        while (std::size_t got = input.read(buffer)) {
            if (context.cancel.cancelled()) throw StepError("stopped while compressing", true);
            writer.write(buffer.data(), got);
            context.events.progress(format_bytes(writer.bytes_in()) + " of " + total,
                                    {{"bytes", writer.bytes_in()}, {"bytes_total", size}});
        }
        if (writer.bytes_in() != size)
            throw StepError("input '" + job.input + "' changed while it was compressed (" +
                                std::to_string(size) + " bytes before, " +
                                std::to_string(writer.bytes_in()) + " read)",
                            true);
        return writer.commit();
    }

    static void report(kinds::StepContext& context, const CompressJob& job,
                       const CompressedFileResult& result) {
        double ratio = result.bytes_out == 0 ? 0.0
                                             : static_cast<double>(result.bytes_in) /
                                                   static_cast<double>(result.bytes_out);
        context.metrics["bytes"] = result.bytes_in;
        context.metrics["bytes_out"] = result.bytes_out;
        context.metrics["ratio"] = std::round(ratio * 1000.0) / 1000.0;
        context.outputs["path"] = job.output;
        context.outputs["sha256"] = result.sha256;
        context.outputs["bytes_out"] = std::to_string(result.bytes_out);
    }
};

// What the validator can tell before a run: a literal level outside the format's range.
void check_compress(const runbook::Node& with, runbook::Diagnostics& diagnostics) {
    const runbook::Node* level = with.find("level");
    if (level == nullptr || !level->is_scalar() || level->value.find("${") != std::string::npos)
        return;
    const runbook::Node* format_node = with.find("format");
    std::optional<CompressionFormat> format = CompressionFormat::zstd;
    if (format_node != nullptr && format_node->is_scalar())
        format = compression_from_name(format_node->value);
    if (!format) return;  // the choices check names a bad format
    try {
        if (std::string problem = level_problem(*format, std::stoll(level->value));
            !problem.empty())
            diagnostics.error(level->mark, "'level': " + problem);
    } catch (const std::exception&) {
        // not a number: the type check reports it
    }
}

}  // namespace

kinds::KindSpec compress_kind() {
    return kinds::KindSpec{
        .schema =
            {
                .name = "compress",
                .summary = "gzip or zstd a file, tested while it is written (no second pass); its "
                           "SHA-256 as an "
                           "output",
                .params = {{"input", runbook::ParamType::string, true, "", "the file to compress"},
                           {"output", runbook::ParamType::string, false, "",
                            "the compressed file (default: input + .zst or .gz)"},
                           {"format",
                            runbook::ParamType::string,
                            false,
                            "zstd",
                            "zstd or gzip",
                            {"zstd", "gzip"}},
                           {"level", runbook::ParamType::integer, false, "",
                            "zstd 1-22 (default 3), gzip 1-9 (default 6)"},
                           {"threads", runbook::ParamType::integer, false, "0",
                            "compression threads (0: one per core)"},
                           {"remove_input", runbook::ParamType::boolean, false, "false",
                            "delete the input once the output is complete and tested"},
                           {"overwrite", runbook::ParamType::boolean, false, "false",
                            "replace an existing output file"}},
                .outputs = {"path", "sha256", "bytes_out"},
                .check = check_compress,
            },
        .make = [] { return std::make_unique<CompressRunner>(); },
    };
}

}  // namespace migrate::steps::files
