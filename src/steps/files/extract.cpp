// extract: restore a tar, tar.gz, tar.zst or zip archive, one file or parts read as one
// stream, into "<to>.partial" renamed to `to` once complete; or only test it.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>

#include "../families.h"
#include "archive_pass.h"
#include "migrate/runbook/interpolate.h"
#include "migrate/steps/files/archive_parts.h"
#include "migrate/util/error.h"
#include "migrate/util/partial_file.h"
#include "migrate/util/text.h"
#include "migrate/util/units.h"

namespace migrate::steps::files {
namespace {

namespace fs = std::filesystem;

// The checkpoint journaled just before the staging directory is renamed to `to`: a run
// killed between the rename and its step.end left its own complete tree there.
constexpr const char* k_renaming_to = "renaming_to";

struct Destination {
    fs::path final_path;  // absolute, its directory resolved (no symlinks on the way)
    fs::path staging;     // "<to>.partial" beside it: same filesystem, so the rename is atomic
};

// In a dry run a step output reads "<step.name>": its value exists only once that step ran.
bool from_earlier_step(const std::string& value) {
    return runbook::contains_output_placeholder(value);
}

std::vector<std::string> resolve_parts(kinds::StepContext& context) {
    const kinds::Params& p = context.params;
    if (p.has("parts")) {
        std::vector<std::string> parts = p.string_list("parts");
        if (parts.empty()) throw StepError("`parts` lists no file", false);
        return parts;
    }
    std::string archive = p.string("archive");
    if (!is_glob(archive)) return {archive};
    PartList list = expand_parts(archive);
    for (const std::string& ignored : list.ignored)
        context.events.say("not a part (no part number): " + ignored);
    return list.parts;
}

// Every part is a regular file this process can open, before a byte is read.
void check_parts(const std::vector<std::string>& parts) {
    std::string label = parts.size() == 1 ? "archive" : "part";
    for (const std::string& part : parts) {
        struct stat info {};
        if (::stat(part.c_str(), &info) != 0)
            throw StepError(label + " " + part + " " +
                                (errno == ENOENT ? "does not exist" : std::strerror(errno)),
                            false);
        if (!S_ISREG(info.st_mode))
            throw StepError(label + " " + part + " is not a regular file", false);
        int fd = ::open(part.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            throw StepError("cannot read " + label + " " + part + ": " + std::strerror(errno),
                            false);
        ::close(fd);
    }
}

Destination destination_of(const std::string& to) {
    fs::path path = fs::absolute(to).lexically_normal();
    if (path.filename().empty()) path = path.parent_path();  // "site/" -> "site"
    fs::path parent = path.parent_path();
    std::error_code error;
    if (!fs::is_directory(parent, error))
        throw StepError(
            "the directory that is to hold '" + to + "' (" + parent.string() + ") does not exist",
            false);
    // The disk writer refuses to write through a symlink anywhere in a path, so resolve them here.
    parent = fs::canonical(parent);
    return {parent / path.filename(), parent / (path.filename().string() + ".partial")};
}

// `to` must not exist, or be an empty directory: extract never merges into an existing tree.
void check_destination_free(const fs::path& path, const std::string& to) {
    std::error_code error;
    fs::file_status status = fs::symlink_status(path, error);
    if (!fs::exists(status)) return;
    if (!fs::is_directory(status))
        throw StepError(
            "'" + to + "' exists and is not a directory; move it aside or choose another `to`",
            false);
    if (!fs::is_empty(path, error))
        throw StepError("'" + to +
                            "' exists and is not empty: extract restores into a new or empty "
                            "directory and never "
                            "merges; move it aside (or remove it) or choose another `to`",
                        false);
}

// Removes a tree even where a restored directory mode made it read-only.
void remove_tree(const fs::path& path) {
    std::error_code error;
    fs::remove_all(path, error);
    if (!error) return;
    for (auto it = fs::recursive_directory_iterator(path, error);
         !error && it != fs::recursive_directory_iterator(); it.increment(error))
        if (it->is_directory(error) && !it->is_symlink(error))
            fs::permissions(it->path(), fs::perms::owner_all, fs::perm_options::add, error);
    fs::permissions(path, fs::perms::owner_all, fs::perm_options::add, error);
    fs::remove_all(path, error);
}

// The staging directory: removed on failure, renamed to the destination on success.
class StagingDirectory {
public:
    explicit StagingDirectory(fs::path path) : m_path(std::move(path)) {
        std::error_code error;
        if (!fs::create_directory(m_path, error) || error)
            throw StepError(
                "cannot create " + m_path.string() + ": " + (error ? error.message() : "it exists"),
                false);
    }
    ~StagingDirectory() {
        if (!m_committed) remove_tree(m_path);
    }
    StagingDirectory(const StagingDirectory&) = delete;
    StagingDirectory& operator=(const StagingDirectory&) = delete;
    const fs::path& path() const { return m_path; }

    // Flushes the tree to disk.
    void flush() {
        int fd = ::open(m_path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        // One syncfs for the whole tree instead of an fsync per file.
        if (fd < 0 || ::syncfs(fd) != 0) {
            int code = errno;
            if (fd >= 0) ::close(fd);
            throw StepError("cannot flush " + m_path.string() + " to disk: " + std::strerror(code),
                            false);
        }
        ::close(fd);
    }

    // Renames the flushed tree over the (absent or empty) destination.
    void rename_to(const fs::path& destination) {
        if (std::rename(m_path.c_str(), destination.c_str()) != 0)
            throw StepError("cannot rename " + m_path.string() + " to " + destination.string() +
                                ": " + std::strerror(errno),
                            false);
        m_committed = true;
        sync_parent_directory(destination.string());
    }

private:
    fs::path m_path;
    bool m_committed = false;
};

int strip_components(const kinds::Params& params) {
    std::int64_t strip = params.integer("strip_components");
    if (strip < 0 || strip > 1000)
        throw StepError("strip_components must be between 0 and 1000", false);
    return static_cast<int>(strip);
}

std::string source_of(const kinds::Params& p) {
    if (p.has("parts")) return std::to_string(p.string_list("parts").size()) + " listed parts";
    std::string archive = p.string("archive");
    return is_glob(archive) ? "the parts of " + archive + " (in the order of their number)"
                            : archive;
}

class ExtractRunner : public kinds::StepRunner {
public:
    std::string describe(const kinds::StepContext& context) const override {
        const kinds::Params& p = context.params;
        std::string strip = p.integer("strip_components") > 0
                                ? ", without the first " +
                                      std::to_string(p.integer("strip_components")) +
                                      " path components"
                                : "";
        if (p.boolean("test"))
            return "test " + source_of(p) + ": read every entry, write nothing" + strip;
        return "extract " + source_of(p) + " into " + p.string("to") + strip;
    }

    void preflight(kinds::StepContext& context) override {
        const kinds::Params& p = context.params;
        strip_components(p);
        std::string source =
            p.has("parts") ? join(p.string_list("parts"), " ") : p.string("archive");
        if (from_earlier_step(source))
            context.events.say(
                "the archive comes from an earlier step; its parts are checked when this step "
                "runs");
        else
            check_parts(resolve_parts(context));
        if (p.boolean("test")) return;
        std::string to = required_to(p);
        if (from_earlier_step(to)) return;
        Destination destination = destination_of(to);
        check_destination_free(destination.final_path, to);
        if (fs::exists(fs::symlink_status(destination.staging)))
            context.events.say("would remove " + destination.staging.string() +
                               ", left by an earlier attempt");
    }

    void run(kinds::StepContext& context) override {
        const kinds::Params& p = context.params;
        int strip = strip_components(p);
        std::vector<std::string> parts = resolve_parts(context);
        check_parts(parts);
        ArchiveTotals totals;
        if (p.boolean("test")) {
            totals = ArchivePass(context, parts, "", strip).run();
            context.outputs["path"] = "";
        } else {
            Destination destination = destination_of(required_to(p));
            clear_renamed_tree(context, destination.final_path);
            check_destination_free(destination.final_path, p.string("to"));
            clear_earlier_attempt(context, destination.staging);
            StagingDirectory staging(destination.staging);
            totals = ArchivePass(context, parts, staging.path().string(), strip).run();
            staging.flush();
            context.events.checkpoint({{k_renaming_to, destination.final_path.string()}});
            staging.rename_to(destination.final_path);
            context.outputs["path"] = destination.final_path.string();
        }
        context.metrics["bytes"] = totals.bytes_in;
        context.metrics["bytes_out"] = totals.bytes_out;
        context.metrics["files"] = totals.entries;
        context.outputs["files"] = std::to_string(totals.entries);
        context.details["parts"] = parts.size();
        if (totals.warnings > 0) context.details["warnings"] = totals.warnings;
    }

private:
    static std::string required_to(const kinds::Params& params) {
        if (!params.has("to"))
            throw StepError("`to` (the destination directory) is needed unless `test: true`",
                            false);
        return params.string("to");
    }

    // `to` was free when the checkpoint before the rename was written, so a tree there now is
    // the one an earlier attempt renamed into place before it was stopped (kill -9 before its
    // step.end): extract never merges, so it is removed and the archive extracted again.
    static void clear_renamed_tree(kinds::StepContext& context, const fs::path& destination) {
        const std::optional<nlohmann::ordered_json>& checkpoint = context.last_checkpoint;
        if (!checkpoint || !checkpoint->is_object() ||
            checkpoint->value(k_renaming_to, std::string()) != destination.string() ||
            !fs::exists(fs::symlink_status(destination)))
            return;
        context.events.say("removing " + destination.string() +
                           ", renamed into place by an earlier attempt stopped before its end; "
                           "extracting from the start");
        remove_tree(destination);
        if (fs::exists(fs::symlink_status(destination)))
            throw StepError("cannot remove " + destination.string() +
                                ", renamed into place by an earlier attempt",
                            false);
    }

    static void clear_earlier_attempt(kinds::StepContext& context, const fs::path& staging) {
        if (!fs::exists(fs::symlink_status(staging))) return;
        context.events.say("removing " + staging.string() +
                           ", left by an earlier attempt; extracting from the start");
        remove_tree(staging);
        if (fs::exists(fs::symlink_status(staging)))
            throw StepError("cannot remove " + staging.string() + ", left by an earlier attempt",
                            false);
    }
};

void check_extract(const runbook::Node& with, runbook::Diagnostics& diagnostics) {
    kinds::check_exactly_one(with, {"archive", "parts"}, "extract", diagnostics);
    const runbook::Node* test = with.find("test");
    bool testing = test != nullptr && test->is_scalar() &&
                   (test->value == "true" || test->value == "yes" || test->value == "on");
    bool literal =
        test == nullptr || (test->is_scalar() && test->value.find("${") == std::string::npos);
    if (!testing && literal && with.find("to") == nullptr)
        diagnostics.error(
            with.mark,
            "an extract step needs `to` (the destination directory) unless `test: true`");
}

}  // namespace

kinds::KindSpec extract_kind() {
    return kinds::KindSpec{
        .schema =
            {
                .name = "extract",
                .summary = "restore a tar, tar.gz, tar.zst or zip archive (one file or parts read "
                           "as one stream) into a new directory",
                .params =
                    {{"archive", runbook::ParamType::string, false, "",
                      "the archive; a glob (backup.tar.gz.*) reads the parts in the order of their "
                      "number (.1 .2 .10, .001 .002)"},
                     {"parts", runbook::ParamType::string_list, false, "",
                      "the parts of a multi-part archive, in order (instead of `archive`)"},
                     {"to", runbook::ParamType::string, false, "",
                      "destination directory: must not exist or be empty; filled through "
                      "\"<to>.partial\" (needed unless test)"},
                     {"test", runbook::ParamType::boolean, false, "false",
                      "test only: read every entry and its data (checksums verified) and apply the "
                      "path rules; write nothing"},
                     {"strip_components", runbook::ParamType::integer, false, "0",
                      "leave out this many leading path components; shorter entries are skipped"}},
                .outputs = {"path", "files"},
                .check = check_extract,
            },
        .make = [] { return std::make_unique<ExtractRunner>(); },
    };
}

}  // namespace migrate::steps::files
