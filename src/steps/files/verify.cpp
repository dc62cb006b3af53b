// verify: check files against a checksum list (sha256sum/md5sum/BSD output) or hashes written
// in the runbook, on every core, and name every file that is missing or different.
#include <cstring>
#include <filesystem>

#include "../families.h"
#include "migrate/steps/files/verify_files.h"
#include "migrate/util/error.h"
#include "migrate/util/read_file.h"
#include "migrate/util/units.h"

namespace migrate::steps::files {
namespace {

const std::vector<std::string> k_sources = {"manifest", "files"};

struct VerifyPlan {
    std::vector<ChecksumEntry> entries;
    std::string base_dir;
};

std::string read_manifest(const std::string& path) {
    try {
        return read_file(path);
    } catch (const FileError& e) {
        throw StepError("manifest '" + path + "' cannot be read: " + e.reason(), false);
    }
}

VerifyPlan plan_of(const kinds::Params& params) {
    VerifyPlan plan;
    if (params.has("manifest")) {
        std::string manifest = params.string("manifest");
        plan.entries = parse_checksum_list(read_manifest(manifest), manifest);
        plan.base_dir = std::filesystem::path(manifest).parent_path().string();
    } else {
        for (const auto& [name, hex] : params.string_map("files"))
            plan.entries.push_back(inline_checksum(name, hex, "files." + name));
    }
    if (params.has("dir")) plan.base_dir = params.string("dir");
    if (plan.entries.empty()) throw StepError("no files to check: the list is empty", false);
    return plan;
}

nlohmann::ordered_json failure_details(const VerifyOutcome& outcome) {
    nlohmann::ordered_json details = nlohmann::ordered_json::object();
    if (!outcome.missing.empty()) details["missing"] = outcome.missing;
    if (!outcome.mismatched.empty()) {
        details["mismatched"] = nlohmann::ordered_json::array();
        for (const FileMismatch& m : outcome.mismatched)
            details["mismatched"].push_back(
                {{"file", m.file}, {"expected", m.expected}, {"got", m.got}});
    }
    if (!outcome.unreadable.empty()) {
        details["unreadable"] = nlohmann::ordered_json::array();
        for (const FileProblem& p : outcome.unreadable)
            details["unreadable"].push_back({{"file", p.file}, {"error", p.error}});
    }
    return details;
}

std::string progress_line(const VerifyProgress& progress) {
    return format_bytes(progress.bytes_done) + " of " + format_bytes(progress.bytes_total) + ", " +
           std::to_string(progress.files_done) + " of " + std::to_string(progress.files_total) +
           " files";
}

class VerifyRunner : public kinds::StepRunner {
public:
    std::string describe(const kinds::StepContext& context) const override {
        const kinds::Params& p = context.params;
        std::string where = p.has("dir") ? " in " + p.string("dir") : "";
        if (p.has("manifest")) return "check the files listed in " + p.string("manifest") + where;
        return "check " + std::to_string(p.string_map("files").size()) +
               " files against their hashes" + where;
    }

    void preflight(kinds::StepContext& context) override {
        const kinds::Params& p = context.params;
        if (p.has("manifest") && !std::filesystem::exists(p.string("manifest"))) {
            context.events.say("note: " + p.string("manifest") +
                               " does not exist yet; an earlier step must make it");
            return;
        }
        plan_of(p);  // a malformed list or hash fails the dry run
        kinds::thread_count(p, "threads");
    }

    void run(kinds::StepContext& context) override {
        VerifyPlan plan = plan_of(context.params);
        VerifyOptions options;
        options.base_dir = plan.base_dir;
        options.threads = kinds::thread_count(context.params, "threads");
        options.progress = [&](const VerifyProgress& progress) {
            context.events.progress(progress_line(progress),
                                    {{"bytes", progress.bytes_done},
                                     {"bytes_total", progress.bytes_total},
                                     {"files", progress.files_done},
                                     {"files_total", progress.files_total}});
        };
        VerifyOutcome outcome = verify_files(plan.entries, options, context.cancel);
        context.metrics["bytes"] = outcome.bytes;
        context.metrics["files"] = outcome.files_checked;
        if (outcome.stopped) throw StepError("stopped while checking files", true);
        nlohmann::ordered_json details = failure_details(outcome);
        for (auto& [key, value] : details.items()) context.details[key] = value;
        if (!outcome.ok()) throw StepError(describe_failures(outcome, plan.entries.size()), false);
        context.outputs["files"] = std::to_string(outcome.files_checked);
    }
};

void check_verify(const runbook::Node& with, runbook::Diagnostics& diagnostics) {
    kinds::check_exactly_one(with, k_sources, "verify", diagnostics);
}

}  // namespace

kinds::KindSpec verify_kind() {
    return kinds::KindSpec{
        .schema =
            {
                .name = "verify",
                .summary = "check files against a sha256sum/md5sum list or inline hashes; names "
                           "every missing or "
                           "different file",
                .params = {{"manifest", runbook::ParamType::string, false, "",
                            "checksum list (sha256sum, md5sum or BSD format)"},
                           {"files", runbook::ParamType::string_map, false, "",
                            "file name -> SHA-256 or MD5 hex, inline"},
                           {"dir", runbook::ParamType::string, false, "",
                            "where the names are relative to (default: the manifest's directory)"},
                           {"threads", runbook::ParamType::integer, false, "0",
                            "files hashed at once (0: one per core)"}},
                .outputs = {"files"},
                .check = check_verify,
            },
        .make = [] { return std::make_unique<VerifyRunner>(); },
    };
}

}  // namespace migrate::steps::files
