// The dump manifest: JSON in and out, written whole through a rename, and the checks a
// resumed dump makes before it keeps a finished table.
#include "migrate/steps/mysql/dump_manifest.h"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <system_error>

#include "migrate/steps/mysql/dump_format.h"
#include "migrate/util/digest.h"
#include "migrate/util/partial_file.h"
#include "migrate/util/read_file.h"

namespace migrate::steps::mysql {
namespace {

using Json = nlohmann::ordered_json;

template <typename T>
std::optional<T> optional_from(const nlohmann::json& j, const char* key) {
    if (!j.contains(key) || j.at(key).is_null()) return std::nullopt;
    return j.at(key).get<T>();
}

Json file_json(const DumpFile& file) {
    Json j{{"file", file.file}};
    if (file.rows) j["rows"] = *file.rows;
    j["bytes"] = file.bytes;
    j["raw_bytes"] = file.raw_bytes;
    j["sha256"] = file.sha256;
    return j;
}

Json optional_file_json(const std::optional<DumpFile>& file) {
    return file ? file_json(*file) : Json(nullptr);
}

DumpFile file_from(const nlohmann::json& j) {
    DumpFile file{j.at("file").get<std::string>(), j.at("bytes").get<std::uint64_t>(),
                  j.at("raw_bytes").get<std::uint64_t>(), j.at("sha256").get<std::string>(),
                  optional_from<std::uint64_t>(j, "rows")};
    // A manifest names files inside its own directory only.
    if (file.file.empty() || file.file.find('/') != std::string::npos || file.file[0] == '.')
        throw std::runtime_error("a file name '" + file.file + "' that is not a plain name");
    return file;
}

std::optional<DumpFile> optional_file_from(const nlohmann::json& j) {
    if (j.is_null()) return std::nullopt;
    return file_from(j);
}

template <typename T>
Json optional_json(const std::optional<T>& value) {
    return value ? Json(*value) : Json(nullptr);
}

Json position_json(const SnapshotPosition& position) {
    return Json{{"binlog_file", optional_json(position.binlog_file)},
                {"binlog_position", optional_json(position.binlog_position)},
                {"gtid", optional_json(position.gtid)}};
}

SnapshotPosition position_from(const nlohmann::json& j) {
    return SnapshotPosition{optional_from<std::string>(j, "binlog_file"),
                            optional_from<std::uint64_t>(j, "binlog_position"),
                            optional_from<std::string>(j, "gtid")};
}

void write_whole(const std::string& path, const std::string& text) {
    PartialFile file(path);
    file.write(text.data(), text.size());
    file.commit();
}

}  // namespace

std::vector<const DumpFile*> DumpTable::files() const {
    std::vector<const DumpFile*> all;
    if (schema) all.push_back(&*schema);
    for (const DumpFile& file : data) all.push_back(&file);
    if (triggers) all.push_back(&*triggers);
    return all;
}

Json DumpManifest::to_json() const {
    Json tables_json = Json::array();
    for (const DumpTable& table : tables) {
        Json data_json = Json::array();
        for (const DumpFile& file : table.data) data_json.push_back(file_json(file));
        tables_json.push_back(Json{{"name", table.name},
                                   {"rows", table.rows},
                                   {"snapshot", table.snapshot},
                                   {"schema", optional_file_json(table.schema)},
                                   {"data", data_json},
                                   {"triggers", optional_file_json(table.triggers)}});
    }
    Json views_json = Json::array();
    for (const DumpView& view : views) {
        Json entry{{"name", view.name}};
        Json file = file_json(view.file);  // a named object: items() of a temporary would dangle
        for (auto& [key, value] : file.items()) entry[key] = value;
        views_json.push_back(entry);
    }
    Json snapshots_json = Json::array();
    for (const SnapshotPosition& position : snapshots)
        snapshots_json.push_back(position_json(position));
    Json snapshot =
        snapshots.empty() ? position_json(SnapshotPosition{}) : position_json(snapshots.front());
    snapshot["consistent"] = consistent;
    snapshot["connections"] = connections;
    return Json{{"format", "migrate-dump"},
                {"format_version", k_dump_format_version},
                {"written_by", written_by},
                {"started", started},
                {"finished", finished.empty() ? Json(nullptr) : Json(finished)},
                {"complete", complete},
                {"database", database},
                {"compression", compression},
                {"server", Json{{"version", server_version}, {"connection", server_connection}}},
                {"snapshot", snapshot},
                {"options", options},
                {"excluded", excluded},
                {"tables", tables_json},
                {"views", views_json},
                {"routines", optional_file_json(routines)},
                {"snapshots", snapshots_json}};
}

DumpManifest DumpManifest::from_json(const nlohmann::json& j) {
    if (!j.is_object() || j.value("format", "") != "migrate-dump")
        throw std::runtime_error("not a migrate dump manifest (no \"format\": \"migrate-dump\")");
    int version = j.at("format_version").get<int>();
    if (version > k_dump_format_version)
        throw std::runtime_error("dump format version " + std::to_string(version) +
                                 " is newer than this build of migrate reads (" +
                                 std::to_string(k_dump_format_version) + ")");
    DumpManifest m;
    m.written_by = j.value("written_by", "");
    m.started = j.value("started", "");
    m.finished =
        j.contains("finished") && j["finished"].is_string() ? j["finished"].get<std::string>() : "";
    m.complete = j.at("complete").get<bool>();
    m.database = j.at("database").get<std::string>();
    m.compression = j.at("compression").get<std::string>();
    m.server_version = j.at("server").value("version", "");
    m.server_connection = j.at("server").value("connection", "");
    m.consistent = j.at("snapshot").value("consistent", false);
    m.connections = j.at("snapshot").value("connections", 1);
    m.options = j.at("options");
    m.excluded = j.at("excluded").get<std::vector<std::string>>();
    for (const auto& t : j.at("tables")) {
        DumpTable table{t.at("name").get<std::string>(),
                        t.at("rows").get<std::uint64_t>(),
                        t.at("snapshot").get<std::size_t>(),
                        optional_file_from(t.at("schema")),
                        {},
                        optional_file_from(t.at("triggers"))};
        for (const auto& file : t.at("data")) table.data.push_back(file_from(file));
        m.tables.push_back(std::move(table));
    }
    for (const auto& v : j.at("views"))
        m.views.push_back(DumpView{v.at("name").get<std::string>(), file_from(v)});
    m.routines = optional_file_from(j.at("routines"));
    for (const auto& s : j.at("snapshots")) m.snapshots.push_back(position_from(s));
    return m;
}

const DumpTable* DumpManifest::find_table(const std::string& name) const {
    for (const DumpTable& table : tables)
        if (table.name == name) return &table;
    return nullptr;
}

bool DumpManifest::one_snapshot() const {
    for (const DumpTable& table : tables)
        if (table.snapshot != tables.front().snapshot) return false;
    return true;
}

std::uint64_t DumpManifest::rows() const {
    std::uint64_t total = 0;
    for (const DumpTable& table : tables) total += table.rows;
    return total;
}

namespace {
template <typename Field>
std::uint64_t sum_files(const DumpManifest& m, Field field) {
    std::uint64_t total = 0;
    for (const DumpTable& table : m.tables)
        for (const DumpFile* file : table.files()) total += field(*file);
    for (const DumpView& view : m.views) total += field(view.file);
    if (m.routines) total += field(*m.routines);
    return total;
}
}  // namespace

std::uint64_t DumpManifest::bytes() const {
    return sum_files(*this, [](const DumpFile& f) { return f.bytes; });
}

std::uint64_t DumpManifest::raw_bytes() const {
    return sum_files(*this, [](const DumpFile& f) { return f.raw_bytes; });
}

std::string write_manifest(const std::string& directory, const DumpManifest& manifest) {
    std::string text = manifest.to_json().dump(2) + "\n";
    write_whole(directory + "/" + k_dump_manifest, text);
    return sha256_hex(text);
}

std::optional<DumpManifest> read_manifest(const std::string& directory) {
    std::string path = directory + "/" + k_dump_manifest;
    std::error_code error;
    if (!std::filesystem::exists(path, error)) return std::nullopt;
    try {
        return DumpManifest::from_json(nlohmann::json::parse(read_file(path)));
    } catch (const nlohmann::json::exception& e) {
        throw std::runtime_error(path + ": not a manifest this build reads: " + e.what());
    } catch (const std::runtime_error& e) {
        throw std::runtime_error(path + ": " + e.what());
    }
}

void write_checksums(const std::string& directory, const DumpManifest& manifest,
                     const std::string& manifest_sha256) {
    std::string text;
    auto line = [&](const std::string& sha256, const std::string& file) {
        text += sha256 + "  " + file + "\n";
    };
    for (const DumpTable& table : manifest.tables)
        for (const DumpFile* file : table.files()) line(file->sha256, file->file);
    for (const DumpView& view : manifest.views) line(view.file.sha256, view.file.file);
    if (manifest.routines) line(manifest.routines->sha256, manifest.routines->file);
    line(manifest_sha256, k_dump_manifest);
    write_whole(directory + "/" + k_dump_checksums, text);
}

void write_marker(const std::string& directory, const std::string& manifest_sha256) {
    write_whole(directory + "/" + k_dump_marker, dump_marker_line(manifest_sha256));
}

bool marker_matches(const std::string& directory) {
    std::error_code error;
    std::string marker = directory + "/" + k_dump_marker;
    std::string manifest = directory + "/" + k_dump_manifest;
    if (!std::filesystem::exists(marker, error) || !std::filesystem::exists(manifest, error))
        return false;
    return read_file(marker) == dump_marker_line(hash_file(manifest, DigestAlgorithm::sha256));
}

std::string check_dump_file(const std::string& directory, const DumpFile& file) {
    std::string path = directory + "/" + file.file;
    std::error_code error;
    std::uint64_t size = std::filesystem::file_size(path, error);
    if (error) return file.file + " is missing";
    if (size != file.bytes)
        return file.file + " has " + std::to_string(size) + " bytes, the manifest says " +
               std::to_string(file.bytes);
    if (hash_file(path, DigestAlgorithm::sha256) != file.sha256)
        return file.file + " does not match its SHA-256";
    return "";
}

}  // namespace migrate::steps::mysql
