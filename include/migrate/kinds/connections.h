// How a kind reaches a database named in the runbook's `connections:`: the connection's
// settings, interpolated at run time, and a session on it through the MySQL seam.
#pragma once

#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "migrate/io/db/session.h"
#include "migrate/kinds/kind.h"

namespace migrate::kinds {

// The settings of connection `name` from its interpolated fields; throws StepError (not
// retryable) on a value that is wrong once interpolated, such as a port that is no number.
// The password is registered with the redactor.
io::db::ConnectionSpec mysql_connection_spec(const std::string& name,
                                             const nlohmann::ordered_json& fields);

// The settings of the runbook's connection `name` (through context.connections).
io::db::ConnectionSpec connection_spec(const StepContext& context, const std::string& name);

// A session on the runbook's connection `name`, cancelled with the step attempt. Throws
// engine::MysqlError (retryable when the server may answer next time).
std::unique_ptr<io::db::Session> connect(StepContext& context, const std::string& name);

// The dry run's check: opens a session on connection `name`, says which server answered,
// and closes it.
void check_connection(StepContext& context, const std::string& name);

}  // namespace migrate::kinds
