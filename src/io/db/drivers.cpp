// The one table of database drivers. A second engine adds its folder beside mysql/ and a row.
#include "migrate/io/db/drivers.h"

#include "migrate/io/db/mysql/mariadb.h"

namespace migrate::io::db {

const std::vector<Driver>& drivers() {
    static const std::vector<Driver> k_drivers = {
        {"mysql",
         [] { return std::unique_ptr<Connector>(std::make_unique<mysql::MariadbConnector>()); }},
    };
    return k_drivers;
}

const Driver* find_driver(const std::string& type) {
    for (const Driver& driver : drivers())
        if (driver.type == type) return &driver;
    return nullptr;
}

}  // namespace migrate::io::db
