// The dump manifest: JSON out, written whole through a rename; the one strict reader of its
// JSON and of the completion marker; the one check of a dump file against its entry.
#include "migrate/steps/mysql/dump_manifest.h"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <system_error>
#include <unordered_map>

#include "migrate/steps/mysql/dump_format.h"
#include "migrate/util/digest.h"
#include "migrate/util/error.h"
#include "migrate/util/partial_file.h"
#include "migrate/util/read_file.h"
#include "migrate/util/text.h"

namespace migrate::steps::mysql {
namespace {

using Json = nlohmann::ordered_json;

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

template <typename T>
Json optional_json(const std::optional<T>& value) {
    return value ? Json(*value) : Json(nullptr);
}

Json position_json(const SnapshotPosition& position) {
    return Json{{"binlog_file", optional_json(position.binlog_file)},
                {"binlog_position", optional_json(position.binlog_position)},
                {"gtid", optional_json(position.gtid)}};
}

bool is_sha256_hex(std::string_view text) {
    return text.size() == 64 && text.find_first_not_of("0123456789abcdef") == std::string::npos;
}

// `text` with control bytes written \xNN: a NUL would end the message.
std::string printable(std::string_view text) {
    std::string out;
    for (unsigned char c : text) {
        if (c >= 0x20 && c != 0x7f) {
            out.push_back(static_cast<char>(c));
        } else {
            out += "\\x";
            out.push_back("0123456789abcdef"[c >> 4]);
            out.push_back("0123456789abcdef"[c & 15]);
        }
    }
    return out;
}

// The one reader of a manifest's JSON: every field checked for its type, every problem named
// by its JSON path ('tables[3].data[0].sha256' must be ...). Fields the format requires must
// be there; the others may be missing or null and then take their defaults.
class ManifestReader {
    using In = nlohmann::json;

public:
    [[noreturn]] static void fail(const std::string& path, const std::string& problem) {
        throw StepError("'" + path + "' " + problem, false);
    }

    static const In* find(const In& object, const char* key) {
        auto it = object.find(key);
        return it == object.end() || it->is_null() ? nullptr : &*it;
    }
    static const In& member(const In& object, const char* key, const std::string& path) {
        const In* value = find(object, key);
        if (!value) fail(path + key, "is missing");
        return *value;
    }
    static const In& object(const In& parent, const char* key, const std::string& path) {
        const In& value = member(parent, key, path);
        if (!value.is_object()) fail(path + key, "must be an object");
        return value;
    }
    static const In& list(const In& parent, const char* key, const std::string& path) {
        const In& value = member(parent, key, path);
        if (!value.is_array()) fail(path + key, "must be a list");
        return value;
    }
    static std::string text(const In& object, const char* key, const std::string& path) {
        const In& value = member(object, key, path);
        if (!value.is_string()) fail(path + key, "must be a string");
        return value.get<std::string>();
    }
    static std::string optional_text(const In& object, const char* key, const std::string& path) {
        return find(object, key) ? text(object, key, path) : "";
    }
    static std::uint64_t count(const In& object, const char* key, const std::string& path) {
        const In& value = member(object, key, path);
        if (!value.is_number_unsigned() &&
            !(value.is_number_integer() && value.get<std::int64_t>() >= 0))
            fail(path + key, "must be a whole number of 0 or more");
        return value.get<std::uint64_t>();
    }
    static std::optional<std::uint64_t> optional_count(const In& object, const char* key,
                                                       const std::string& path) {
        if (!find(object, key)) return std::nullopt;
        return count(object, key, path);
    }
    static bool flag(const In& object, const char* key, const std::string& path) {
        const In& value = member(object, key, path);
        if (!value.is_boolean()) fail(path + key, "must be true or false");
        return value.get<bool>();
    }
    static std::vector<std::string> texts(const In& object, const char* key,
                                          const std::string& path) {
        std::vector<std::string> out;
        if (!find(object, key)) return out;
        const In& values = list(object, key, path);
        for (std::size_t i = 0; i < values.size(); ++i) {
            if (!values[i].is_string())
                fail(path + key + "[" + std::to_string(i) + "]", "must be a string");
            out.push_back(values[i].get<std::string>());
        }
        return out;
    }

    // A manifest names files inside its own directory only: a plain name, not hidden.
    static DumpFile file(const In& object, const std::string& path) {
        if (!object.is_object()) fail(path.substr(0, path.size() - 1), "must be an object");
        DumpFile file;
        file.file = text(object, "file", path);
        if (file.file.empty() || file.file[0] == '.' || file.file.find('/') != std::string::npos ||
            file.file.find('\\') != std::string::npos || file.file.find('\0') != std::string::npos)
            fail(path + "file",
                 "(" + printable(file.file) + ") must name a file inside the dump directory");
        file.bytes = count(object, "bytes", path);
        file.raw_bytes = count(object, "raw_bytes", path);
        file.sha256 = text(object, "sha256", path);
        if (!is_sha256_hex(file.sha256)) fail(path + "sha256", "must be 64 lowercase hex digits");
        file.rows = optional_count(object, "rows", path);
        return file;
    }
    static std::optional<DumpFile> optional_file(const In& object, const char* key,
                                                 const std::string& path) {
        if (!find(object, key)) return std::nullopt;
        return file(object[key], path + key + ".");
    }

    static SnapshotPosition position(const In& object, const std::string& path) {
        if (!object.is_object()) fail(path.substr(0, path.size() - 1), "must be an object");
        SnapshotPosition position;
        if (find(object, "binlog_file")) position.binlog_file = text(object, "binlog_file", path);
        position.binlog_position = optional_count(object, "binlog_position", path);
        if (find(object, "gtid")) position.gtid = text(object, "gtid", path);
        return position;
    }

    static DumpTable table(const In& entry, const std::string& path) {
        if (!entry.is_object()) fail(path.substr(0, path.size() - 1), "must be an object");
        DumpTable table;
        table.name = text(entry, "name", path);
        if (table.name.empty()) fail(path + "name", "is empty");
        table.rows = optional_count(entry, "rows", path).value_or(0);
        table.snapshot = optional_count(entry, "snapshot", path).value_or(0);
        table.schema = optional_file(entry, "schema", path);
        if (find(entry, "data")) {
            const In& data = list(entry, "data", path);
            for (std::size_t i = 0; i < data.size(); ++i)
                table.data.push_back(file(data[i], path + "data[" + std::to_string(i) + "]."));
        }
        table.triggers = optional_file(entry, "triggers", path);
        return table;
    }
};

std::string newer_version(std::int64_t version) {
    return "dump format version " + std::to_string(version) +
           " is newer than this build of migrate reads (" + std::to_string(k_dump_format_version) +
           ")";
}

// The marker's one line, split: "migrate-dump <version> sha256=<hash>\n".
struct MarkerLine {
    std::int64_t version = 0;
    std::string hash;
};

std::optional<MarkerLine> parse_marker_line(std::string_view line) {
    constexpr std::string_view k_format = "migrate-dump ";
    constexpr std::string_view k_hash = " sha256=";
    if (line.ends_with('\n')) line.remove_suffix(1);
    if (!line.starts_with(k_format)) return std::nullopt;
    line.remove_prefix(k_format.size());
    std::size_t digits = line.find_first_not_of("0123456789");
    if (digits == 0 || digits == std::string_view::npos || digits > 9) return std::nullopt;
    MarkerLine marker{std::stoll(std::string(line.substr(0, digits))), ""};
    line.remove_prefix(digits);
    if (!line.starts_with(k_hash)) return std::nullopt;
    line.remove_prefix(k_hash.size());
    if (marker.version < 1 || !is_sha256_hex(line)) return std::nullopt;
    marker.hash = std::string(line);
    return marker;
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

DumpManifest DumpManifest::from_json(const nlohmann::json& j, ManifestCompleteness completeness) {
    using R = ManifestReader;
    if (!j.is_object()) throw StepError("not a JSON object", false);
    if (R::find(j, "format") == nullptr || j["format"] != "migrate-dump")
        throw StepError("not a migrate dump manifest ('format' is not \"migrate-dump\")", false);
    const nlohmann::json& version = R::member(j, "format_version", "");
    if (!version.is_number_integer() || version.get<std::int64_t>() < 1)
        R::fail("format_version", "must be a whole number of 1 or more");
    if (version.get<std::int64_t>() > k_dump_format_version)
        throw StepError(newer_version(version.get<std::int64_t>()), false);
    DumpManifest m;
    m.complete = R::flag(j, "complete", "");
    if (completeness == ManifestCompleteness::required && !m.complete)
        throw StepError("the manifest says the dump is not complete ('complete' is not true)",
                        false);
    m.written_by = R::optional_text(j, "written_by", "");
    m.started = R::optional_text(j, "started", "");
    m.finished = R::optional_text(j, "finished", "");
    m.database = R::text(j, "database", "");
    m.compression = R::optional_text(j, "compression", "");
    if (R::find(j, "server")) {
        const nlohmann::json& server = R::object(j, "server", "");
        m.server_version = R::optional_text(server, "version", "server.");
        m.server_connection = R::optional_text(server, "connection", "server.");
    }
    if (R::find(j, "snapshot")) {
        const nlohmann::json& snapshot = R::object(j, "snapshot", "");
        m.consistent = R::find(snapshot, "consistent") == nullptr ||
                       R::flag(snapshot, "consistent", "snapshot.");
        m.connections =
            static_cast<int>(R::optional_count(snapshot, "connections", "snapshot.").value_or(1));
    }
    if (R::find(j, "options")) m.options = R::object(j, "options", "");
    m.excluded = R::texts(j, "excluded", "");
    const nlohmann::json& tables = R::list(j, "tables", "");
    std::unordered_map<std::string, std::size_t> seen;
    for (std::size_t i = 0; i < tables.size(); ++i) {
        DumpTable table = R::table(tables[i], "tables[" + std::to_string(i) + "].");
        if (auto [earlier, added] = seen.emplace(table.name, i); !added)
            R::fail("tables[" + std::to_string(i) + "].name",
                    "('" + table.name + "') is also the name of tables[" +
                        std::to_string(earlier->second) + "]");
        m.tables.push_back(std::move(table));
    }
    if (R::find(j, "views")) {
        const nlohmann::json& views = R::list(j, "views", "");
        for (std::size_t i = 0; i < views.size(); ++i) {
            std::string path = "views[" + std::to_string(i) + "].";
            if (!views[i].is_object())
                R::fail(path.substr(0, path.size() - 1), "must be an object");
            m.views.push_back(DumpView{R::text(views[i], "name", path), R::file(views[i], path)});
        }
    }
    m.routines = R::optional_file(j, "routines", "");
    if (R::find(j, "snapshots")) {
        const nlohmann::json& snapshots = R::list(j, "snapshots", "");
        for (std::size_t i = 0; i < snapshots.size(); ++i)
            m.snapshots.push_back(
                R::position(snapshots[i], "snapshots[" + std::to_string(i) + "]."));
    }
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

DumpManifest parse_manifest(const std::string& path, const std::string& text,
                            ManifestCompleteness completeness) {
    nlohmann::json json;
    try {
        json = nlohmann::json::parse(text);
    } catch (const nlohmann::json::exception& e) {  // also a number too big (out_of_range)
        throw StepError(path + ": not valid JSON: " + e.what(), false);
    }
    try {
        return DumpManifest::from_json(json, completeness);
    } catch (const StepError& e) {
        throw StepError(path + ": " + e.what(), false);
    }
}

std::optional<DumpManifest> read_manifest(const std::string& directory) {
    std::string path = directory + "/" + k_dump_manifest;
    std::error_code error;
    if (!std::filesystem::exists(path, error)) return std::nullopt;
    DumpManifest manifest = parse_manifest(path, read_file(path));
    manifest.directory = directory;
    return manifest;
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

std::optional<std::string> read_marker(const std::string& directory) {
    std::string path = directory + "/" + k_dump_marker;
    std::error_code error;
    if (!std::filesystem::exists(path, error)) return std::nullopt;
    std::string line = read_file(path);
    std::optional<MarkerLine> marker = parse_marker_line(line);
    if (!marker)
        throw StepError(
            path + ": not a migrate dump marker (expected 'migrate-dump 1 sha256=<hex>', found '" +
                shorten(line, 80, "") + "')",
            false);
    if (marker->version > k_dump_format_version)
        throw StepError(
            directory + ": " + newer_version(marker->version) + "; read it with a newer build",
            false);
    return marker->hash;
}

bool marker_matches(const std::string& directory) {
    std::error_code error;
    std::string manifest = directory + "/" + k_dump_manifest;
    std::optional<std::string> hash = read_marker(directory);
    if (!hash || !std::filesystem::exists(manifest, error)) return false;
    return *hash == hash_file(manifest, DigestAlgorithm::sha256);
}

std::string check_dump_file(const std::string& directory, const DumpFile& file,
                            DumpFileCheck check) {
    std::string path = directory + "/" + file.file;
    std::error_code error;
    std::uint64_t size = std::filesystem::file_size(path, error);
    if (error) return path + " is missing (the manifest lists it)";
    if (size != file.bytes)
        return path + " has " + std::to_string(size) + " bytes, the manifest says " +
               std::to_string(file.bytes) + ": the file is " +
               (size < file.bytes ? "cut short" : "not the one the dump wrote");
    if (check == DumpFileCheck::size_and_sha256 &&
        hash_file(path, DigestAlgorithm::sha256) != file.sha256)
        return path + " does not match its SHA-256 in the manifest";
    return "";
}

}  // namespace migrate::steps::mysql
