// ${secret:NAME}: from the process environment or a secrets file (NAME=value lines). Every
// value handed out is registered with the redactor first.
#pragma once

#include <map>
#include <optional>
#include <string>

namespace migrate::engine {

class SecretStore {
public:
    // Throws UsageError when the file cannot be read or a line is malformed.
    explicit SecretStore(const std::string& secrets_file = "");
    std::optional<std::string> get(const std::string& name) const;

private:
    std::map<std::string, std::string> m_file_values;
};

}  // namespace migrate::engine
