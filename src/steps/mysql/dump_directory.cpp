// mysql.load's look at a dump directory: its marker and manifest read by the one reader
// (dump_manifest.cpp), and refusing what cannot be loaded before anything is.
#include <filesystem>
#include <fstream>
#include <sstream>

#include "migrate/steps/mysql/dump_manifest.h"
#include "migrate/util/digest.h"
#include "migrate/util/error.h"
#include "migrate/util/read_file.h"

namespace migrate::steps::mysql {
namespace {

namespace fs = std::filesystem;

// The marker's hash of the manifest; a missing marker is an unfinished dump.
std::string marker_hash(const std::string& directory) {
    std::optional<std::string> hash = read_marker(directory);
    if (!hash)
        throw StepError(directory + " is not a complete dump: " + k_dump_marker +
                            " is missing (the dump did not finish, or is still being written); "
                            "run the dump again or let it resume",
                        false);
    return *hash;
}

void check_files_present(const DumpManifest& manifest) {
    auto check = [&](const DumpFile& file) {
        std::string problem = check_dump_file(manifest.directory, file, DumpFileCheck::size);
        if (!problem.empty()) throw StepError(problem + "; nothing was loaded", false);
    };
    for (const DumpTable& table : manifest.tables)
        for (const DumpFile* file : table.files()) check(*file);
    for (const DumpView& view : manifest.views) check(view.file);
    if (manifest.routines) check(*manifest.routines);
}

}  // namespace

std::uint64_t DumpTable::data_raw_bytes() const {
    std::uint64_t total = 0;
    for (const DumpFile& file : data) total += file.raw_bytes;
    return total;
}

DumpManifest parse_dump_manifest(const std::string& directory, const std::string& text) {
    DumpManifest manifest =
        parse_manifest(directory + "/" + k_dump_manifest, text, ManifestCompleteness::required);
    manifest.directory = directory;
    return manifest;
}

DumpManifest read_dump_directory(const std::string& directory) {
    std::error_code error;
    if (!fs::is_directory(directory, error))
        throw StepError(directory + " is not a directory", false);
    std::string expected = marker_hash(directory);
    std::string manifest_path = directory + "/" + k_dump_manifest;
    if (!fs::exists(manifest_path, error))
        throw StepError(manifest_path + " is missing: " + directory + " is not a migrate dump",
                        false);
    std::string text = read_file(manifest_path);
    std::string actual = sha256_hex(text);
    if (actual != expected)
        throw StepError(manifest_path + " does not match " + k_dump_marker + " (SHA-256 " +
                            actual.substr(0, 12) + "..., the marker says " +
                            expected.substr(0, 12) +
                            "...): the manifest was changed or damaged after the dump finished",
                        false);
    DumpManifest manifest = parse_dump_manifest(directory, text);
    manifest.sha256 = actual;
    check_files_present(manifest);
    return manifest;
}

bool looks_like_dump_directory(const std::string& path) {
    std::error_code error;
    return fs::is_directory(path, error);
}

}  // namespace migrate::steps::mysql
