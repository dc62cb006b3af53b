// The one table of database drivers: a connection's `type:` to the connector that opens it.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "migrate/io/db/session.h"

namespace migrate::io::db {

struct Driver {
    std::string type;  // as written in a runbook's `connections:` entry
    std::unique_ptr<Connector> (*make)();
};

const std::vector<Driver>& drivers();
// Nullptr when no driver has that type.
const Driver* find_driver(const std::string& type);

}  // namespace migrate::io::db
