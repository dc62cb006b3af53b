// The isolate step's sources, its record of what was on, and the commands and edits on hosts.
#include "migrate/steps/remote/isolation.h"

#include <algorithm>

#include "migrate/runbook/interpolate.h"
#include "migrate/runbook/kind_schema.h"
#include "migrate/util/error.h"
#include "migrate/util/text.h"

namespace migrate::steps::remote {
namespace {

struct TypeFields {
    SourceType type;
    const char* name;                 // the field that says the type, and holds its subject
    std::vector<std::string> fields;  // every field it takes, its own first
};

const std::vector<TypeFields>& type_fields() {
    static const std::vector<TypeFields> k_types = {
        {SourceType::service, "service", {"service", "hosts", "disable"}},
        {SourceType::cron, "cron", {"cron", "hosts", "file"}},
        {SourceType::sql, "sql", {"sql", "connection", "off", "on"}},
        {SourceType::http, "http", {"http", "on_when", "off", "on", "headers"}},
    };
    return k_types;
}

std::vector<std::string> type_names() {
    std::vector<std::string> names;
    for (const TypeFields& type : type_fields()) names.push_back(type.name);
    return names;
}

bool takes(const TypeFields& type, const std::string& field) {
    return std::find(type.fields.begin(), type.fields.end(), field) != type.fields.end();
}

std::string text_of(const Json& entry, const std::string& field, const std::string& where) {
    if (!entry.contains(field) || entry[field].is_null()) return "";
    const Json& value = entry[field];
    if (!value.is_string()) throw StepError(where + "." + field + " must be a single value", false);
    return value.get<std::string>();
}

std::string required_text(const Json& entry, const std::string& field, const std::string& where,
                          const std::string& why) {
    std::string value = text_of(entry, field, where);
    if (value.empty()) throw StepError(where + " needs '" + field + "' (" + why + ")", false);
    return value;
}

HttpCall http_call(const Json& entry, const std::string& field, const std::string& where,
                   const std::string& default_url) {
    if (!entry.contains(field) || !entry[field].is_object())
        throw StepError(where + " needs '" + field + "': a mapping of method, url and body", false);
    const Json& call = entry[field];
    std::string at = where + "." + field;
    for (const auto& [key, value] : call.items())
        if (key != "method" && key != "url" && key != "body")
            throw StepError(at + ": unknown field '" + key + "' (fields: method, url, body)",
                            false);
    HttpCall result;
    if (std::string method = text_of(call, "method", at); !method.empty()) result.method = method;
    result.url = text_of(call, "url", at);
    if (result.url.empty()) result.url = default_url;
    result.body = text_of(call, "body", at);
    return result;
}

void need_ids(const std::string& statement, const std::string& what) {
    if (statement.find("{ids}") == std::string::npos)
        throw StepError(what + " must hold {ids}: where the keys of what was on go", false);
}

IsolationSource parse_one(const Json& entry, const std::string& where,
                          const std::string& default_hosts, const std::string& default_connection) {
    if (!entry.is_object())
        throw StepError(where + " must be a mapping with one of: " + join(type_names(), ", "),
                        false);
    const TypeFields* type = nullptr;
    for (const TypeFields& candidate : type_fields())
        if (entry.contains(candidate.name)) {
            if (type != nullptr)
                throw StepError(where + " has both '" + type->name + "' and '" + candidate.name +
                                    "'; one source per entry",
                                false);
            type = &candidate;
        }
    if (type == nullptr)
        throw StepError(where + " needs one of: " + join(type_names(), ", "), false);
    for (const auto& [key, value] : entry.items())
        if (!takes(*type, key))
            throw StepError(where + ": unknown field '" + key + "' for a " + type->name +
                                " source" + did_you_mean(key, type->fields) +
                                " (fields: " + join(type->fields, ", ") + ")",
                            false);
    IsolationSource source;
    source.type = type->type;
    source.where = where;
    switch (type->type) {
        case SourceType::service:
        case SourceType::cron: {
            source.hosts = text_of(entry, "hosts", where);
            if (source.hosts.empty()) source.hosts = default_hosts;
            if (source.hosts.empty())
                throw StepError(where + " needs 'hosts' (a host pattern), or the step's 'hosts'",
                                false);
            if (type->type == SourceType::service) {
                source.service = required_text(entry, "service", where, "the unit's name");
                std::string disable = text_of(entry, "disable", where);
                if (!disable.empty() && !runbook::parse_bool(disable, source.disable))
                    throw StepError(where + ".disable: expected true or false", false);
                source.key = "service " + source.service + " on " + source.hosts;
            } else {
                source.cron_pattern = required_text(entry, "cron", where, "a regular expression");
                source.cron_file = text_of(entry, "file", where);
                try {
                    std::regex check(source.cron_pattern);
                } catch (const std::regex_error& e) {
                    throw StepError(where + ".cron: bad regular expression '" +
                                        source.cron_pattern + "': " + e.what(),
                                    false);
                }
                source.key = "cron /" + source.cron_pattern + "/ in " +
                             (source.cron_file.empty() ? "crontab" : source.cron_file) + " on " +
                             source.hosts;
            }
            break;
        }
        case SourceType::sql:
            source.select = required_text(entry, "sql", where, "a query selecting what is on");
            source.connection = text_of(entry, "connection", where);
            if (source.connection.empty()) source.connection = default_connection;
            if (source.connection.empty())
                throw StepError(where + " needs 'connection', or the step's 'connection'", false);
            source.off_sql = required_text(entry, "off", where, "the statement that switches off");
            source.on_sql = required_text(entry, "on", where, "the statement that switches on");
            need_ids(source.off_sql, where + ".off");
            need_ids(source.on_sql, where + ".on");
            source.key = "sql " + source.connection + ": " + source.select;
            break;
        case SourceType::http: {
            source.url = required_text(entry, "http", where, "the URL that answers the state");
            if (!entry.contains("on_when") || !entry["on_when"].is_object())
                throw StepError(where + " needs 'on_when': { pointer: /enabled, equals: true }",
                                false);
            const Json& on_when = entry["on_when"];
            for (const auto& [key, value] : on_when.items())
                if (key != "pointer" && key != "equals")
                    throw StepError(
                        where + ".on_when: unknown field '" + key + "' (fields: pointer, equals)",
                        false);
            source.pointer = text_of(on_when, "pointer", where + ".on_when");
            if (!on_when.contains("equals"))
                throw StepError(where + ".on_when needs 'equals': the value that means on", false);
            source.on_equals = text_of(on_when, "equals", where + ".on_when");
            source.off_call = http_call(entry, "off", where, source.url);
            source.on_call = http_call(entry, "on", where, source.url);
            if (entry.contains("headers")) {
                const Json& headers = entry["headers"];
                if (headers.is_string())
                    source.headers.push_back(headers.get<std::string>());
                else if (headers.is_array())
                    for (const Json& header : headers) {
                        if (!header.is_string())
                            throw StepError(where + ".headers must list single values", false);
                        source.headers.push_back(header.get<std::string>());
                    }
                else
                    throw StepError(where + ".headers must be a list of 'Name: value'", false);
            }
            source.key = "http " + source.url;
            break;
        }
    }
    return source;
}

}  // namespace

std::vector<IsolationSource> parse_sources(const Json& sources, const std::string& default_hosts,
                                           const std::string& default_connection) {
    if (!sources.is_array() || sources.empty())
        throw StepError("'sources' must be a list of sources (service, cron, sql, http)", false);
    std::vector<IsolationSource> parsed;
    for (std::size_t i = 0; i < sources.size(); ++i) {
        parsed.push_back(parse_one(sources[i], "sources[" + std::to_string(i) + "]", default_hosts,
                                   default_connection));
        for (std::size_t j = 0; j + 1 < parsed.size(); ++j)
            if (parsed[j].key == parsed.back().key)
                throw StepError(parsed.back().where + " is the same source as " + parsed[j].where +
                                    " (" + parsed[j].key + ")",
                                false);
    }
    return parsed;
}

void check_sources(const runbook::Node& with, runbook::Diagnostics& diagnostics) {
    if (!with.is_mapping()) return;
    const runbook::Node* sources = with.find("sources");
    if (sources == nullptr) return;  // reported as a missing required parameter
    if (!sources->is_sequence() || sources->items.empty()) {
        diagnostics.error(sources->mark,
                          "'sources' must be a list of sources (service, cron, "
                          "sql, http), found " +
                              sources->describe());
        return;
    }
    bool step_hosts = with.find("hosts") != nullptr;
    bool step_connection = with.find("connection") != nullptr;
    for (const runbook::Node& entry : sources->items) {
        if (!entry.is_mapping()) {
            diagnostics.error(entry.mark,
                              "a source is a mapping with one of: " + join(type_names(), ", ") +
                                  "; found " + entry.describe());
            continue;
        }
        const TypeFields* type = nullptr;
        for (const TypeFields& candidate : type_fields())
            if (const runbook::Node* found = entry.find(candidate.name)) {
                if (type != nullptr) {
                    diagnostics.error(found->mark, std::string("a source has one type: '") +
                                                       type->name + "' and '" + candidate.name +
                                                       "' are two; write two entries");
                    continue;
                }
                type = &candidate;
            }
        if (type == nullptr) {
            diagnostics.error(entry.mark, "a source needs one of: " + join(type_names(), ", "));
            continue;
        }
        for (const auto& [key, value] : entry.entries)
            if (!takes(*type, key.value))
                diagnostics.error(key.mark, "unknown field '" + key.value + "' for a " +
                                                type->name + " source" +
                                                did_you_mean(key.value, type->fields) +
                                                " (fields: " + join(type->fields, ", ") + ")");
        bool on_hosts = type->type == SourceType::service || type->type == SourceType::cron;
        if (on_hosts && !step_hosts && entry.find("hosts") == nullptr)
            diagnostics.error(entry.mark, std::string("a ") + type->name +
                                              " source needs 'hosts' (or the step's 'hosts')");
        if (type->type == SourceType::sql) {
            if (!step_connection && entry.find("connection") == nullptr)
                diagnostics.error(entry.mark,
                                  "an sql source needs 'connection' (or the step's 'connection')");
            for (const char* field : {"off", "on"}) {
                const runbook::Node* statement = entry.find(field);
                if (statement == nullptr)
                    diagnostics.error(entry.mark, std::string("an sql source needs '") + field +
                                                      "': a statement with {ids}");
                else if (statement->is_scalar() &&
                         statement->value.find("{ids}") == std::string::npos)
                    diagnostics.error(statement->mark,
                                      std::string("'") + field +
                                          "' must hold {ids}: where the keys of what was on go");
            }
        }
        if (type->type == SourceType::http)
            for (const char* field : {"on_when", "off", "on"}) {
                const runbook::Node* part = entry.find(field);
                if (part == nullptr || !part->is_mapping())
                    diagnostics.error(part ? part->mark : entry.mark,
                                      std::string("an http source needs '") + field +
                                          (std::string(field) == "on_when"
                                               ? "': { pointer: /enabled, equals: true }"
                                               : "': { method: POST, url: URL, body: TEXT }"));
            }
        if (type->type == SourceType::cron) {
            const runbook::Node* pattern = entry.find("cron");
            if (pattern->is_scalar() && !runbook::has_references(pattern->value)) {
                try {
                    std::regex check(pattern->value);
                } catch (const std::regex_error& e) {
                    diagnostics.error(pattern->mark, "bad regular expression '" +
                                                         shorten(pattern->value, 80) +
                                                         "': " + e.what());
                }
            }
        }
    }
}

// ---- the record

bool ServiceState::on() const {
    return active == "active" || active == "activating" || active == "reloading";
}

ServiceState parse_service_state(const std::string& stdout_text) {
    ServiceState state;
    std::size_t start = 0;
    while (start < stdout_text.size()) {
        std::size_t end = stdout_text.find('\n', start);
        if (end == std::string::npos) end = stdout_text.size();
        std::string line = trim(stdout_text.substr(start, end - start));
        if (line.rfind("active=", 0) == 0) state.active = line.substr(7);
        if (line.rfind("enabled=", 0) == 0) state.enabled = line.substr(8);
        start = end + 1;
    }
    if (state.active.empty())
        throw StepError("systemctl is-active gave no state (is systemctl there?)", false);
    return state;
}

Json merge_service_host(const Json& earlier, const ServiceState& now) {
    bool was_on = earlier.is_object() && earlier.value("was_on", false);
    if (was_on) return earlier;  // the state before we switched it off stays the record
    Json entry{{"was_on", now.on()},
               {"active", now.active},
               {"enabled", now.enabled},
               {"disabled", false},
               {"off", false}};
    return entry;
}

Json merge_unique(const Json& earlier, const std::vector<std::string>& more) {
    Json merged = earlier.is_array() ? earlier : Json::array();
    for (const std::string& value : more)
        if (std::find(merged.begin(), merged.end(), Json(value)) == merged.end())
            merged.push_back(value);
    return merged;
}

// ---- commands

namespace {

std::string as_root(bool become, const std::string& command) {
    return become ? "sudo -n " + command : command;
}

}  // namespace

std::string service_query_command(const std::string& systemctl, bool become,
                                  const std::string& unit) {
    std::string program = as_root(become, shell_quote(systemctl));
    return "echo \"active=$(" + program + " is-active " + shell_quote(unit) +
           " 2>/dev/null)\"; echo \"enabled=$(" + program + " is-enabled " + shell_quote(unit) +
           " 2>/dev/null)\"";
}

std::string service_stop_command(const std::string& systemctl, bool become, const std::string& unit,
                                 bool disable) {
    std::string program = as_root(become, shell_quote(systemctl));
    std::string line = program + " stop " + shell_quote(unit);
    if (disable) line += " && " + program + " disable " + shell_quote(unit);
    return line;
}

std::string service_start_command(const std::string& systemctl, bool become,
                                  const std::string& unit, bool enable) {
    std::string program = as_root(become, shell_quote(systemctl));
    std::string line = program + " start " + shell_quote(unit);
    if (enable) line = program + " enable " + shell_quote(unit) + " && " + line;
    return line;
}

std::string cron_read_command(const std::string& file, bool become) {
    if (file.empty())
        // No crontab yet is an empty one; any other failure is the step's.
        return "out=$(" + as_root(become, "crontab -l") +
               " 2>&1) || { case \"$out\" in *'no crontab'*) exit 0;; esac; echo \"$out\" >&2; "
               "exit 1; }; printf '%s\\n' \"$out\"";
    return as_root(become, "cat " + shell_quote(file));
}

std::string cron_write_command(const std::string& file, bool become) {
    if (file.empty()) return as_root(become, "crontab -");
    // Into a file beside it first, so that a connection lost half-way leaves the file whole;
    // then copied over it, which keeps its owner and mode.
    std::string temp = shell_quote(file + ".migrate-isolate");
    std::string body =
        "cat > " + temp + " && cat " + temp + " > " + shell_quote(file) + " && rm -f " + temp;
    return become ? "sudo -n sh -c " + shell_quote(body) : body;
}

std::string feed_command(const std::string& content, const std::string& remote_line) {
    return "printf '%s' " + shell_quote(content) + " | " + remote_line;
}

// ---- cron edits

std::string cron_marker(const std::string& step_id) { return "#migrate-isolate:" + step_id + "# "; }

namespace {

// Calls `edit` on each line (without its newline); keeps the text's last newline as it was.
template <typename Edit>
std::string edit_lines(const std::string& text, Edit edit) {
    std::string out;
    std::size_t start = 0;
    while (start < text.size()) {
        std::size_t end = text.find('\n', start);
        bool newline = end != std::string::npos;
        if (!newline) end = text.size();
        out += edit(text.substr(start, end - start));
        if (newline) out += '\n';
        start = end + 1;
    }
    return out;
}

}  // namespace

CronEdit comment_out_lines(const std::string& text, const std::regex& pattern,
                           const std::string& marker) {
    CronEdit result;
    result.text = edit_lines(text, [&](const std::string& line) {
        if (line.rfind(marker, 0) == 0) {
            result.already.push_back(line.substr(marker.size()));
            return line;
        }
        std::string bare = trim(line);
        if (bare.empty() || bare[0] == '#' || !std::regex_search(line, pattern)) return line;
        result.changed.push_back(line);
        return marker + line;
    });
    return result;
}

CronEdit restore_lines(const std::string& text, const std::string& marker) {
    CronEdit result;
    result.text = edit_lines(text, [&](const std::string& line) {
        if (line.rfind(marker, 0) != 0) return line;
        result.changed.push_back(line.substr(marker.size()));
        return line.substr(marker.size());
    });
    return result;
}

// ---- SQL and HTTP

std::string with_ids(const std::string& statement, const std::vector<std::string>& quoted_ids) {
    std::string list = join(quoted_ids, ",");
    std::string out = statement;
    for (std::size_t at = out.find("{ids}"); at != std::string::npos;
         at = out.find("{ids}", at + list.size()))
        out.replace(at, 5, list);
    return out;
}

bool http_state_on(const std::string& body, const std::string& pointer,
                   const std::string& on_equals) {
    Json answer = Json::parse(body, nullptr, false);
    if (answer.is_discarded())
        throw StepError("the state answer is not JSON: " + shorten(body, 120), false);
    Json value;
    try {
        value = pointer.empty() ? answer : answer.at(Json::json_pointer(pointer));
    } catch (const std::exception& e) {
        throw StepError("the state answer has nothing at '" + pointer + "': " + shorten(body, 120),
                        false);
    }
    return (value.is_string() ? value.get<std::string>() : value.dump()) == on_equals;
}

}  // namespace migrate::steps::remote
