// The one set of rules for a connection under `connections:`: its fields, its port, its
// host or socket, its `tls.verify`. The loader applies them at `migrate validate` time to
// values without ${...}; kinds/connections applies them at run time to interpolated values.
// They live here, below kinds/, because the runbook layer does not call up into kinds.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace migrate::runbook {

const std::vector<std::string>& connection_fields();
const std::vector<std::string>& connection_types();
const std::vector<std::string>& tls_fields();
const std::vector<std::string>& tls_verify_choices();  // "true", "false"

// "" for a port (digits only, 1 to 65535); else the problem ("must be a whole number from 1
// to 65535, not '33o6'").
std::string port_problem(const std::string& text);

// `tls.verify`: true or false, nullopt for anything else ("yes", "off"...).
std::optional<bool> tls_verify_value(const std::string& text);

// "" when exactly one of `host` and `socket` is given; else the problem.
std::string endpoint_problem(bool has_host, bool has_socket);

}  // namespace migrate::runbook
