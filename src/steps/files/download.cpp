// download: fetch one file or many parts over HTTP(S) or file URLs into a directory, with
// segmented parallel connections, resume, retries, a bandwidth limit and every file's hash
// checked as it arrives (the transfer loop is download_session.cpp).
#include <sys/statvfs.h>

#include <filesystem>
#include <set>
#include <system_error>

#include "../families.h"
#include "download_session.h"
#include "migrate/util/digest.h"
#include "migrate/util/error.h"
#include "migrate/util/partial_file.h"
#include "migrate/util/read_file.h"
#include "migrate/util/redactor.h"
#include "migrate/util/text.h"
#include "migrate/util/units.h"

namespace migrate::steps::files {
namespace {

const std::vector<std::string> k_sources = {"url", "parts", "manifest"};
// Room left free beside the download, for the journal, logs and the filesystem itself.
constexpr std::uint64_t k_free_space_margin = 64ull << 20;

std::uint64_t size_param(const kinds::Params& params, const std::string& name) {
    std::string text = params.string(name);
    if (text.empty()) return 0;
    std::optional<std::uint64_t> size = parse_size(text);
    if (!size) throw StepError("parameter '" + name + "': bad size '" + text + "'", false);
    return *size;
}

int positive_param(const kinds::Params& params, const std::string& name) {
    std::int64_t value = params.integer(name);
    if (value < 1 || value > 64)
        throw StepError(
            "parameter '" + name + "': expected 1 to 64, found " + std::to_string(value), false);
    return static_cast<int>(value);
}

// `connections`: a number, or "auto".
constexpr std::string_view k_auto = "auto";
std::string connections_problem(const std::string& value) {
    if (value == k_auto) return "";
    if (!is_whole_number(value, 2) || std::stoi(value) < 1 || std::stoi(value) > 64)
        return "parameter 'connections': expected 1 to 64 or auto, found '" + value + "'";
    return "";
}

DownloadOptions options_from(const kinds::Params& params) {
    DownloadOptions options;
    options.directory = params.string("to");
    std::string connections = params.string("connections");
    if (std::string problem = connections_problem(connections); !problem.empty())
        throw StepError(problem, false);
    if (connections == k_auto) {
        // A quarter of max_connections to start with, doubled while that pays: the second
        // doubling is made only if the first raised the rate.
        options.max_connections = positive_param(params, "max_connections");
        options.connections = std::max(1, options.max_connections / 4);
        options.grow_connections = true;
    } else {
        options.connections = positive_param(params, "connections");
        options.max_connections =
            std::max(options.connections, positive_param(params, "max_connections"));
    }
    options.min_segment = std::max<std::uint64_t>(64 * 1024, size_param(params, "min_segment"));
    options.limit_rate = size_param(params, "limit_rate");
    options.stall_timeout = params.duration("stall_timeout");
    options.retries = static_cast<int>(params.integer("retries"));
    options.refetch = static_cast<int>(params.integer("refetch"));
    options.insecure = params.boolean("insecure");
    options.ca_file = params.string("ca_file");
    return options;
}

bool has_scheme(const std::string& text) { return text.find("://") != std::string::npos; }

DownloadFile file_for(const std::string& url, std::string name, const std::string& where) {
    Redactor::global().add_url_credentials(url);  // before any request sends them
    if (name.empty()) name = file_name_of_url(url);
    if (name.empty())
        throw StepError(where + ": cannot tell a file name from '" + url + "'; give it a 'name'",
                        false);
    if (!is_safe_relative_name(name))
        throw StepError(where + ": the file name '" + name + "' must be relative and without '..'",
                        false);
    return DownloadFile{url, name};
}

std::string fetch_manifest(kinds::StepContext& context, const std::string& manifest,
                           const DownloadOptions& options) {
    if (!has_scheme(manifest)) {
        try {
            return read_file(manifest);
        } catch (const FileError&) {
            throw StepError("manifest '" + manifest + "' cannot be read", false);
        }
    }
    io::HttpRequest request;
    request.url = manifest;
    request.insecure = options.insecure;
    request.ca_file = options.ca_file;
    io::HttpResponse response = context.services.http.perform(request, context.cancel);
    bool file_scheme = manifest.rfind("file:", 0) == 0;
    if (!response.error.empty() ||
        (!file_scheme && (response.status < 200 || response.status >= 300)))
        throw StepError("manifest " + manifest + ": " +
                            (response.error.empty() ? "HTTP " + std::to_string(response.status)
                                                    : response.error),
                        response.error.empty() ? response.status >= 500 : true);
    return response.body;
}

std::vector<DownloadFile> files_from_manifest(kinds::StepContext& context,
                                              const DownloadOptions& options,
                                              std::string& manifest_text) {
    const kinds::Params& p = context.params;
    std::string manifest = p.string("manifest");
    std::string base = p.string("base_url");
    if (!has_scheme(manifest) && base.empty())
        throw StepError("manifest '" + manifest +
                            "' is a local file: give 'base_url', where its files are served",
                        false);
    if (!base.empty() && base.back() != '/') base += '/';
    manifest_text = fetch_manifest(context, manifest, options);
    std::vector<DownloadFile> files;
    for (const ChecksumEntry& entry : parse_checksum_list(manifest_text, manifest)) {
        std::string where = manifest + ":" + std::to_string(entry.line);
        DownloadFile file =
            file_for(base.empty() ? url_beside(manifest, entry.name) : url_beside(base, entry.name),
                     entry.name, where);
        file.checksum = entry;
        files.push_back(std::move(file));
    }
    if (files.empty()) throw StepError("manifest " + manifest + " lists no files", false);
    return files;
}

std::vector<DownloadFile> files_from_parts(const kinds::Params& params) {
    std::vector<DownloadFile> files;
    const auto& parts = params.raw()["parts"];
    if (!parts.is_array() || parts.empty())
        throw StepError("parameter 'parts' must be a list of URLs", false);
    for (std::size_t i = 0; i < parts.size(); ++i) {
        std::string where = "parts[" + std::to_string(i) + "]";
        const auto& part = parts[i];
        if (part.is_string()) {
            files.push_back(file_for(part.get<std::string>(), "", where));
            continue;
        }
        if (!part.is_object() || !part.contains("url") || !part["url"].is_string())
            throw StepError(
                where + ": expected a URL or a mapping with 'url' (and 'sha256', 'md5', 'name')",
                false);
        DownloadFile file = file_for(part["url"].get<std::string>(), part.value("name", ""), where);
        for (const char* algorithm : {"sha256", "md5"})
            if (part.contains(algorithm))
                file.checksum = inline_checksum(file.name, part[algorithm].get<std::string>(),
                                                where + "." + algorithm);
        files.push_back(std::move(file));
    }
    return files;
}

std::vector<DownloadFile> files_of(kinds::StepContext& context, const DownloadOptions& options,
                                   std::string& manifest_text) {
    const kinds::Params& p = context.params;
    std::vector<DownloadFile> files;
    if (p.has("manifest")) {
        files = files_from_manifest(context, options, manifest_text);
    } else if (p.has("parts")) {
        files = files_from_parts(p);
    } else {
        files.push_back(file_for(p.string("url"), p.string("name"), "url"));
        for (const char* algorithm : {"sha256", "md5"})
            if (p.has(algorithm))
                files.back().checksum =
                    inline_checksum(files.back().name, p.string(algorithm), algorithm);
    }
    std::set<std::string> names;
    for (const DownloadFile& file : files)
        if (!names.insert(file.name).second)
            throw StepError("two parts would both be saved as '" + file.name + "'", false);
    return files;
}

void check_free_space(const std::vector<DownloadFile>& files, const std::string& directory) {
    std::uint64_t needed = 0;
    for (const DownloadFile& file : files)
        if (!file.finished && file.size != k_unknown_size)
            needed += file.size - std::min(file.size, file.done_bytes());
    std::filesystem::path probe = directory;
    while (!probe.empty() && !std::filesystem::exists(probe)) probe = probe.parent_path();
    struct statvfs info {};
    if (::statvfs(probe.empty() ? "." : probe.c_str(), &info) != 0) return;
    std::uint64_t free = static_cast<std::uint64_t>(info.f_bavail) * info.f_frsize;
    if (needed + k_free_space_margin > free)
        throw StepError("not enough disk space in " + directory + ": the download needs " +
                            format_bytes(needed) + " (+" + format_bytes(k_free_space_margin) +
                            " margin), " + format_bytes(free) + " is free",
                        false);
}

std::optional<std::uint64_t> partial_size(const std::string& directory, const std::string& name) {
    std::error_code error;
    std::uint64_t size =
        std::filesystem::file_size(std::filesystem::path(directory) / (name + ".partial"), error);
    if (error) return std::nullopt;
    return size;
}

// A file already complete under its name (from an earlier run or attempt) is kept when its
// checksum proves it; without a checksum it is fetched again.
void keep_verified_files(std::vector<DownloadFile>& files, const std::string& directory,
                         kinds::StepContext& context, DownloadTotals& totals) {
    for (DownloadFile& file : files) {
        std::filesystem::path path = std::filesystem::path(directory) / file.name;
        std::error_code error;
        std::uint64_t size = std::filesystem::file_size(path, error);
        file.finished = false;
        if (error || !file.checksum || (file.size != k_unknown_size && size != file.size)) continue;
        std::string digest = hash_file(path.string(), file.checksum->algorithm);
        if (digest != file.checksum->hex) {
            context.events.say(file.name +
                               ": the file on disk does not match its checksum; fetching it again");
            continue;
        }
        file.finished = true;
        file.size = size;
        file.segments = {Segment{0, size, size}};
        totals.digests[file.name] = digest;
    }
}

class DownloadRunner : public kinds::StepRunner {
public:
    std::string describe(const kinds::StepContext& context) const override {
        const kinds::Params& p = context.params;
        std::string what = p.has("manifest") ? "the files listed in " + p.string("manifest")
                           : p.has("parts")  ? std::to_string(p.raw()["parts"].size()) + " parts"
                                             : p.string("url");
        bool grow = p.string("connections") == k_auto;
        return what + " into " + p.string("to") + " (" +
               (grow ? "connections growing while the rate does"
                     : p.string("connections") + " connections per file") +
               ", " + p.string("max_connections") + " in all" +
               (p.has("limit_rate") ? ", at most " + p.string("limit_rate") + "/s" : "") + ")";
    }

    void preflight(kinds::StepContext& context) override {
        DownloadOptions options = options_from(context.params);
        std::string manifest_text;
        std::vector<DownloadFile> files = files_of(context, options, manifest_text);
        probe_files(files, options, context.cancel, context.services.clock);
        check_free_space(files, options.directory);
    }

    void run(kinds::StepContext& context) override {
        DownloadOptions options = options_from(context.params);
        std::string manifest_text;
        std::vector<DownloadFile> files = files_of(context, options, manifest_text);
        std::filesystem::create_directories(options.directory);
        probe_files(files, options, context.cancel, context.services.clock);
        DownloadTotals totals;
        keep_verified_files(files, options.directory, context, totals);
        if (context.last_checkpoint)
            for (const std::string& line : restore_download_state(
                     files, *context.last_checkpoint, [&](const std::string& name) {
                         return partial_size(options.directory, name);
                     }))
                context.events.say(line);
        std::uint64_t resumed = 0;
        for (const DownloadFile& file : files)
            if (!file.finished) resumed += file.done_bytes();
        if (resumed > 0)
            context.events.say("resuming with " + format_bytes(resumed) +
                               " already on disk (checked against the server)");
        check_free_space(files, options.directory);
        if (!manifest_text.empty())
            save_manifest(context.params.string("manifest"), manifest_text, options.directory);
        try {
            run_download(files, options, context, totals);
        } catch (...) {
            record(context, files, totals);
            throw;
        }
        record(context, files, totals);
    }

private:
    static void save_manifest(const std::string& manifest, const std::string& text,
                              const std::string& directory) {
        std::string name =
            file_name_of_url(has_scheme(manifest) ? manifest : "file:///" + manifest);
        if (name.empty() || !is_safe_relative_name(name)) return;
        PartialFile out((std::filesystem::path(directory) / name).string());
        out.write(text.data(), text.size());
        out.commit();
    }

    static void record(kinds::StepContext& context, const std::vector<DownloadFile>& files,
                       const DownloadTotals& totals) {
        std::uint64_t bytes = 0;
        int finished = 0;
        for (const DownloadFile& file : files) {
            if (file.size != k_unknown_size) bytes += file.size;
            finished += file.finished ? 1 : 0;
        }
        context.metrics["bytes"] = bytes;
        context.metrics["bytes_fetched"] = totals.bytes_fetched;
        context.metrics["bytes_refetched"] = totals.bytes_refetched;
        context.metrics["parts"] = files.size();
        context.metrics["files"] = finished;
        context.metrics["retries"] = totals.retries;
        context.metrics["connections"] = totals.connections;
        if (!totals.refetched.empty()) context.details["refetched"] = totals.refetched;
        context.details["digests"] = totals.digests;
        std::string directory = context.params.string("to");
        context.outputs["path"] = files.size() == 1
                                      ? (std::filesystem::path(directory) / files[0].name).string()
                                      : directory;
        context.outputs["files"] = std::to_string(finished);
        context.outputs["bytes"] = std::to_string(bytes);
        if (files.size() == 1 && totals.digests.contains(files[0].name))
            context.outputs["sha256"] = totals.digests[files[0].name].get<std::string>();
    }
};

void check_download(const runbook::Node& with, runbook::Diagnostics& diagnostics) {
    kinds::check_exactly_one(with, k_sources, "download", diagnostics);
    if (!with.find("url"))
        for (const char* name : {"sha256", "md5", "name"})
            if (const runbook::Node* node = with.find(name))
                diagnostics.error(
                    node->mark,
                    std::string("'") + name +
                        "' goes with 'url'; for parts give it per part or use a manifest");
    if (const runbook::Node* base = with.find("base_url"); base && !with.find("manifest"))
        diagnostics.error(base->mark, "'base_url' goes with 'manifest'");
    if (const runbook::Node* parts = with.find("parts"); parts && !parts->is_sequence())
        diagnostics.error(parts->mark, "'parts' must be a list of URLs or of mappings with 'url'");
    if (const runbook::Node* connections = with.find("connections");
        connections && connections->is_scalar() &&
        connections->value.find("${") == std::string::npos)
        if (std::string problem = connections_problem(connections->value); !problem.empty())
            diagnostics.error(connections->mark, problem);
}

}  // namespace

kinds::KindSpec download_kind() {
    return kinds::KindSpec{
        .schema =
            {
                .name = "download",
                .summary = "fetch files over HTTP(S)/file URLs: parallel ranges, resume, retries, "
                           "hashes checked as bytes arrive",
                .params =
                    {{"url", runbook::ParamType::string, false, "",
                      "one file to fetch (http, https or file URL)"},
                     {"name", runbook::ParamType::string, false, "",
                      "file name for `url` (default: the URL's last part)"},
                     {"sha256", runbook::ParamType::string, false, "", "expected SHA-256 of `url`"},
                     {"md5", runbook::ParamType::string, false, "", "expected MD5 of `url`"},
                     {"parts", runbook::ParamType::any, false, "",
                      "several files: a list of URLs, or of {url, sha256 or md5, name}"},
                     {"manifest", runbook::ParamType::string, false, "",
                      "a checksum list (sha256sum/md5sum output) naming the files: its URL, or a "
                      "path with base_url"},
                     {"base_url", runbook::ParamType::string, false, "",
                      "where the files of a local manifest are served"},
                     {"to", runbook::ParamType::string, true, "", "destination directory"},
                     {"connections", runbook::ParamType::string, false, "4",
                      "parallel connections per file (HTTP Range segments), or auto: a quarter "
                      "of max_connections, doubled while that raises the rate"},
                     {"max_connections", runbook::ParamType::integer, false, "8",
                      "connections in all, over several files at once"},
                     {"min_segment", runbook::ParamType::size, false, "4MiB",
                      "a file is split into segments no smaller than this"},
                     {"limit_rate", runbook::ParamType::size, false, "",
                      "bandwidth limit for the step, bytes per second (shared by its connections)"},
                     {"stall_timeout", runbook::ParamType::duration, false, "30s",
                      "a connection with no byte for this long is dropped and retried"},
                     {"retries", runbook::ParamType::integer, false, "10",
                      "retries of a range after a reset, 5xx or stall (with backoff), counted "
                      "since its last progress"},
                     {"refetch", runbook::ParamType::integer, false, "2",
                      "times a file whose hash does not match is fetched again"},
                     {"insecure", runbook::ParamType::boolean, false, "false",
                      "do not verify the TLS certificate"},
                     {"ca_file", runbook::ParamType::string, false, "",
                      "CA bundle to verify the server with"}},
                .outputs = {"path", "files", "bytes", "sha256"},
                .check = check_download,
            },
        .resumable_inside = true,
        .make = [] { return std::make_unique<DownloadRunner>(); },
    };
}

}  // namespace migrate::steps::files
