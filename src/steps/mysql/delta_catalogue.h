// The delta kind's look-ups in the servers' catalogues (information_schema): table entries
// resolved into plans, the watermark column's type, index and lag.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "migrate/io/db/session.h"
#include "migrate/steps/mysql/delta_plan.h"

namespace migrate::steps::mysql::delta {

// The plan of one `tables` entry: its columns (every stored one, or those listed, plus the
// key and the watermark), key (default the primary key) and watermark, checked against the
// source's table and the target's. Throws StepError (not retryable) naming what is missing.
TablePlan resolve_table(io::db::Session& source, io::db::Session& target,
                        const TableRequest& request);

// The watermark column's DATA_TYPE ("datetime", "int"...).
std::string column_type(io::db::Session& source, const TablePlan& plan);

// Whether an index of the source's table starts with the watermark column.
bool watermark_indexed(io::db::Session& source, const TablePlan& plan);

// Milliseconds from `since` to now, by the source's clock, for a date-and-time watermark;
// nullopt for numbers. Throws StepError for a `since` that does not fit the column.
std::optional<std::int64_t> watermark_lag_ms(io::db::Session& source, const TablePlan& plan,
                                             const std::string& type);

}  // namespace migrate::steps::mysql::delta
