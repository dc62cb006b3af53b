// The MySQL/MariaDB driver over MariaDB Connector/C (libmariadb): the only code that includes
// the client library's header.
#pragma once

#include "migrate/io/db/session.h"

namespace migrate::io::db::mysql {

class MariadbConnector : public Connector {
public:
    MariadbConnector();
    std::unique_ptr<Session> connect(const ConnectionSpec& spec, CancelToken& cancel) override;
};

// Errors worth another attempt: 2002/2003 (cannot connect), 2006 (server gone away),
// 2013 (lost connection), 1205 (lock wait timeout), 1213 (deadlock), 1053 (server shutdown).
bool error_is_transient(unsigned code);

// The protocol's column type code (MYSQL_TYPE_*) as the seam's ColumnType.
ColumnType column_type_of(unsigned protocol_type, bool numeric);

}  // namespace migrate::io::db::mysql
