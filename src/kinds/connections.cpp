// Connection settings from the runbook, and sessions on them for the kinds.
#include "migrate/kinds/connections.h"

#include "migrate/runbook/connection_rules.h"
#include "migrate/util/error.h"
#include "migrate/util/redactor.h"

namespace migrate::kinds {
namespace {

std::string text_field(const nlohmann::ordered_json& fields, const std::string& key) {
    if (!fields.contains(key) || fields[key].is_null()) return "";
    const auto& value = fields[key];
    return value.is_string() ? value.get<std::string>() : value.dump();
}

class FieldReader {
public:
    FieldReader(const std::string& name, const nlohmann::ordered_json& fields)
        : m_name(name), m_fields(fields) {}

    std::string text(const std::string& key) const { return text_field(m_fields, key); }

    std::optional<unsigned> port() const {
        std::string value = text("port");
        if (value.empty()) return std::nullopt;
        if (std::string problem = runbook::port_problem(value); !problem.empty())
            fail("port", problem);
        return static_cast<unsigned>(std::stoul(value));
    }

    std::optional<Millis> duration(const std::string& key) const {
        std::string value = text(key);
        if (value.empty()) return std::nullopt;
        if (std::string problem = runbook::check_scalar(runbook::ParamType::duration, value, {});
            !problem.empty())
            fail(key, problem);
        return parse_duration(value);
    }

    [[noreturn]] void fail(const std::string& key, const std::string& problem) const {
        throw StepError("connection '" + m_name + "', '" + key + "': " + problem, false);
    }

private:
    const std::string& m_name;
    const nlohmann::ordered_json& m_fields;
};

io::db::Tls tls_of(const std::string& name, const nlohmann::ordered_json& fields) {
    io::db::Tls tls;
    if (!fields.contains("tls") || fields["tls"].is_null()) return tls;
    const auto& block = fields["tls"];
    if (!block.is_object())
        throw StepError("connection '" + name + "', 'tls' must be a mapping", false);
    tls.enabled = true;
    tls.ca_file = text_field(block, "ca_file");
    std::string verify = text_field(block, "verify");
    if (!verify.empty()) {
        std::optional<bool> value = runbook::tls_verify_value(verify);
        if (!value)
            throw StepError("connection '" + name +
                                "', 'tls.verify': expected true or false, found '" + verify + "'",
                            false);
        tls.verify = *value;
    }
    return tls;
}

}  // namespace

io::db::ConnectionSpec mysql_connection_spec(const std::string& name,
                                             const nlohmann::ordered_json& fields) {
    if (!fields.is_object()) throw StepError("connection '" + name + "' must be a mapping", false);
    FieldReader read(name, fields);
    if (std::string type = read.text("type"); type != "mysql")
        throw StepError("connection '" + name + "' is of type '" + type +
                            "'; this step needs a mysql connection",
                        false);
    io::db::ConnectionSpec spec;
    spec.name = name;
    spec.host = read.text("host");
    spec.socket = read.text("socket");
    spec.user = read.text("user");
    spec.password = read.text("password");
    spec.database = read.text("database");
    Redactor::global().add_secret(spec.password);
    if (auto port = read.port()) spec.port = *port;
    bool both = !spec.host.empty() && !spec.socket.empty();
    if (std::string problem = runbook::endpoint_problem(!spec.host.empty(), !spec.socket.empty());
        !problem.empty())
        throw StepError("connection '" + name + "'" + (both ? ": " : " ") + problem, false);
    spec.tls = tls_of(name, fields);
    if (auto timeout = read.duration("connect_timeout")) spec.connect_timeout = *timeout;
    if (auto timeout = read.duration("read_timeout")) spec.read_timeout = *timeout;
    return spec;
}

io::db::ConnectionSpec connection_spec(const StepContext& context, const std::string& name) {
    if (!context.connections)
        throw StepError("connection '" + name + "': no connections are available here", false);
    return mysql_connection_spec(name, context.connections(name));
}

std::unique_ptr<io::db::Session> connect(StepContext& context, const std::string& name) {
    return context.services.database.connect(connection_spec(context, name), context.cancel);
}

void check_connection(StepContext& context, const std::string& name) {
    std::unique_ptr<io::db::Session> session = connect(context, name);
    context.events.say(session->spec().describe() + " accepts connections: server " +
                       session->server_version());
}

}  // namespace migrate::kinds
