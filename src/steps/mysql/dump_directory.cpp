// Reading a dump directory's marker and manifest, and refusing what cannot be loaded.
#include "migrate/steps/mysql/dump_manifest.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "migrate/util/digest.h"
#include "migrate/util/error.h"
#include "migrate/util/read_file.h"

namespace migrate::steps::mysql {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

std::string newer_version(std::int64_t version) {
    return "dump format version " + std::to_string(version) +
           " is newer than this build of migrate reads (" + std::to_string(k_dump_format_version) +
           "); load it with a newer build";
}

// Reads the manifest's fields, naming where a field is wrong.
class ManifestReader {
public:
    explicit ManifestReader(std::string where) : m_where(std::move(where)) {}

    [[noreturn]] void fail(const std::string& problem) const {
        throw StepError(m_where + ": " + problem, false);
    }

    const Json& member(const Json& object, const std::string& key, const std::string& path) const {
        if (!object.is_object() || !object.contains(key)) fail("'" + path + key + "' is missing");
        return object[key];
    }

    std::string text(const Json& object, const std::string& key, const std::string& path) const {
        const Json& value = member(object, key, path);
        if (!value.is_string()) fail("'" + path + key + "' must be a string");
        return value.get<std::string>();
    }

    std::uint64_t count(const Json& object, const std::string& key, const std::string& path) const {
        const Json& value = member(object, key, path);
        if (!value.is_number_unsigned() &&
            !(value.is_number_integer() && value.get<std::int64_t>() >= 0))
            fail("'" + path + key + "' must be a whole number of 0 or more");
        return value.get<std::uint64_t>();
    }

    DumpFile file(const Json& object, const std::string& path) const {
        DumpFile file;
        file.file = text(object, "file", path);
        if (file.file.empty() || file.file == "." || file.file == ".." ||
            file.file.find('/') != std::string::npos || file.file.find('\0') != std::string::npos)
            fail("'" + path + "file' (" + file.file +
                 ") must name a file inside the dump directory");
        file.bytes = count(object, "bytes", path);
        file.raw_bytes = count(object, "raw_bytes", path);
        file.sha256 = text(object, "sha256", path);
        if (file.sha256.size() != 64 ||
            file.sha256.find_first_not_of("0123456789abcdef") != std::string::npos)
            fail("'" + path + "sha256' must be 64 lowercase hex digits");
        if (object.contains("rows") && !object["rows"].is_null())
            file.rows = count(object, "rows", path);
        return file;
    }

    std::optional<DumpFile> optional_file(const Json& object, const std::string& key,
                                          const std::string& path) const {
        if (!object.contains(key) || object[key].is_null()) return std::nullopt;
        return file(object[key], path + key + ".");
    }

private:
    std::string m_where;
};

DumpTable table_of(const ManifestReader& read, const Json& entry, std::size_t index) {
    std::string path = "tables[" + std::to_string(index) + "].";
    DumpTable table;
    table.name = read.text(entry, "name", path);
    if (table.name.empty()) read.fail("'" + path + "name' is empty");
    table.rows =
        entry.contains("rows") && !entry["rows"].is_null() ? read.count(entry, "rows", path) : 0;
    table.schema = read.optional_file(entry, "schema", path);
    if (entry.contains("data") && !entry["data"].is_null()) {
        const Json& data = entry["data"];
        if (!data.is_array()) read.fail("'" + path + "data' must be a list");
        for (std::size_t i = 0; i < data.size(); ++i)
            table.data.push_back(read.file(data[i], path + "data[" + std::to_string(i) + "]."));
    }
    table.triggers = read.optional_file(entry, "triggers", path);
    return table;
}

// The marker's hash of the manifest, after checking its version.
std::string marker_hash(const std::string& directory) {
    std::string path = directory + "/" + k_dump_marker;
    std::error_code error;
    if (!fs::exists(path, error))
        throw StepError(directory + " is not a complete dump: " + k_dump_marker +
                            " is missing (the dump did not finish, or is still being written); "
                            "run the dump again or let it resume",
                        false);
    std::string line = read_file(path);
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
    std::istringstream words(line);
    std::string format, version, hash;
    words >> format >> version >> hash;
    long long number = 0;
    try {
        number = std::stoll(version);
    } catch (const std::exception&) {
        number = -1;
    }
    if (format != "migrate-dump" || number < 1 || hash.rfind("sha256=", 0) != 0 ||
        hash.size() != 7 + 64)
        throw StepError(
            path + ": not a migrate dump marker (expected 'migrate-dump 1 sha256=<hex>', found '" +
                line.substr(0, 80) + "')",
            false);
    if (number > k_dump_format_version)
        throw StepError(directory + ": " + newer_version(number), false);
    return hash.substr(7);
}

void check_files_present(const DumpManifest& manifest) {
    auto check = [&](const DumpFile& file) {
        std::string path = manifest.path_of(file);
        std::error_code error;
        std::uintmax_t size = fs::file_size(path, error);
        if (error)
            throw StepError(path + " is missing (the manifest lists it); the dump is incomplete",
                            false);
        if (size != file.bytes)
            throw StepError(path + " has " + std::to_string(size) + " bytes, the manifest says " +
                                std::to_string(file.bytes) + ": the file is " +
                                (size < file.bytes ? "cut short" : "not the one the dump wrote") +
                                "; nothing was loaded",
                            false);
    };
    for (const DumpTable& table : manifest.tables) {
        if (table.schema) check(*table.schema);
        for (const DumpFile& file : table.data) check(file);
        if (table.triggers) check(*table.triggers);
    }
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
    ManifestReader read(directory + "/" + k_dump_manifest);
    Json json;
    try {
        json = Json::parse(text);
    } catch (const Json::parse_error& e) {
        read.fail(std::string("not valid JSON: ") + e.what());
    }
    if (!json.is_object()) read.fail("not a JSON object");
    if (!json.contains("format") || json["format"] != "migrate-dump")
        read.fail("'format' is not \"migrate-dump\"");
    const Json& version = read.member(json, "format_version", "");
    if (!version.is_number_integer() || version.get<std::int64_t>() < 1)
        read.fail("'format_version' must be a whole number of 1 or more");
    if (version.get<std::int64_t>() > k_dump_format_version)
        throw StepError(directory + ": " + newer_version(version.get<std::int64_t>()), false);
    if (!json.contains("complete") || json["complete"] != true)
        read.fail("the manifest says the dump is not complete ('complete' is not true)");
    DumpManifest manifest;
    manifest.directory = directory;
    manifest.database = json.contains("database") && json["database"].is_string()
                            ? json["database"].get<std::string>()
                            : "";
    if (json.contains("server") && json["server"].is_object() &&
        json["server"].contains("version") && json["server"]["version"].is_string())
        manifest.server_version = json["server"]["version"].get<std::string>();
    const Json& tables = read.member(json, "tables", "");
    if (!tables.is_array()) read.fail("'tables' must be a list");
    for (std::size_t i = 0; i < tables.size(); ++i)
        manifest.tables.push_back(table_of(read, tables[i], i));
    if (json.contains("views") && !json["views"].is_null()) {
        if (!json["views"].is_array()) read.fail("'views' must be a list");
        for (std::size_t i = 0; i < json["views"].size(); ++i) {
            std::string path = "views[" + std::to_string(i) + "].";
            const Json& entry = json["views"][i];
            manifest.views.push_back(
                DumpView{read.text(entry, "name", path), read.file(entry, path)});
        }
    }
    manifest.routines = read.optional_file(json, "routines", "");
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
