// Secrets from the environment and a secrets file.
#include "migrate/engine/secrets.h"

#include <cstdlib>
#include <fstream>

#include "migrate/util/error.h"
#include "migrate/util/redactor.h"
#include "migrate/util/text.h"

namespace migrate::engine {

SecretStore::SecretStore(const std::string& secrets_file) {
    if (secrets_file.empty()) return;
    std::ifstream in(secrets_file);
    if (!in) throw UsageError(secrets_file + ": cannot read the secrets file");
    std::string line;
    int number = 0;
    while (std::getline(in, line)) {
        ++number;
        std::string text = trim(line);
        if (text.empty() || text[0] == '#') continue;
        std::size_t equals = text.find('=');
        if (equals == std::string::npos || equals == 0)
            throw UsageError(secrets_file + ":" + std::to_string(number) + ": expected NAME=value");
        std::string value = line.substr(line.find('=') + 1);
        if (!value.empty() && value.back() == '\r') value.pop_back();
        m_file_values[trim(text.substr(0, equals))] = value;
    }
}

std::optional<std::string> SecretStore::get(const std::string& name) const {
    std::optional<std::string> value;
    if (const char* env = std::getenv(name.c_str()))
        value = env;
    else if (auto it = m_file_values.find(name); it != m_file_values.end())
        value = it->second;
    if (value) Redactor::global().add_secret(*value);
    return value;
}

}  // namespace migrate::engine
