// The rules a connection's fields follow, at validate time and at run time alike.
#include "migrate/runbook/connection_rules.h"

namespace migrate::runbook {

const std::vector<std::string>& connection_fields() {
    static const std::vector<std::string> k_fields = {
        "type",     "host",     "port", "socket",          "user",
        "password", "database", "tls",  "connect_timeout", "read_timeout"};
    return k_fields;
}

const std::vector<std::string>& connection_types() {
    static const std::vector<std::string> k_types = {"mysql"};
    return k_types;
}

const std::vector<std::string>& tls_fields() {
    static const std::vector<std::string> k_fields = {"ca_file", "verify"};
    return k_fields;
}

const std::vector<std::string>& tls_verify_choices() {
    static const std::vector<std::string> k_choices = {"true", "false"};
    return k_choices;
}

std::string port_problem(const std::string& text) {
    bool digits = !text.empty() && text.size() <= 5 &&
                  text.find_first_not_of("0123456789") == std::string::npos;
    if (digits && std::stoi(text) >= 1 && std::stoi(text) <= 65535) return "";
    return "must be a whole number from 1 to 65535, not '" + text + "'";
}

std::optional<bool> tls_verify_value(const std::string& text) {
    if (text == "true") return true;
    if (text == "false") return false;
    return std::nullopt;
}

std::string endpoint_problem(bool has_host, bool has_socket) {
    if (has_host && has_socket) return "give 'host' (TCP) or 'socket' (a Unix socket), not both";
    if (!has_host && !has_socket) return "needs 'host' (TCP) or 'socket' (a Unix socket)";
    return "";
}

}  // namespace migrate::runbook
