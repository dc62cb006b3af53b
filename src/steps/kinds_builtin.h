// The kinds this build has; each is defined in its own file and listed in kinds.cpp.
#pragma once

#include "migrate/steps/kind.h"

namespace migrate::steps {

KindSpec shell_kind();
KindSpec manual_kind();
KindSpec wait_kind();
KindSpec http_kind();
KindSpec sql_kind();
KindSpec download_kind();
KindSpec verify_kind();
KindSpec extract_kind();
KindSpec compress_kind();
KindSpec mysql_dump_kind();
KindSpec mysql_load_kind();
KindSpec delta_kind();
KindSpec reconcile_kind();
KindSpec noop_kind();

// Shared by http and wait: builds a request from the common parameters.
engine::HttpRequest http_request_from(const Params& params, Millis default_timeout);
std::vector<ParamSpec> http_request_params();
// "200", "2xx", "200,204" -> does `status` match?
bool status_matches(const std::string& expected, long status);
// The names declared under `with.outputs` (http's and sql's `outputs:` maps).
std::vector<std::string> outputs_map_names(const runbook::Node& with);
// Checks `with` for at least one of and at most one of the named parameters.
void check_exactly_one(const runbook::Node& with, const std::vector<std::string>& names, const std::string& kind,
                       runbook::Diagnostics& diagnostics);
// A thread-count parameter: 0 means one per core. Throws StepError for a negative count.
int thread_count(const Params& params, const std::string& name);

}  // namespace migrate::steps
