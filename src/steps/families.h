// Each family's kinds, listed by steps/kinds.cpp. A kind's file defines its function.
#pragma once

#include "migrate/kinds/checks.h"
#include "migrate/kinds/kind.h"

namespace migrate::steps::basic {
kinds::KindSpec shell_kind();
kinds::KindSpec manual_kind();
kinds::KindSpec wait_kind();
kinds::KindSpec http_kind();
kinds::KindSpec noop_kind();

// Shared by http and wait: builds a request from the common parameters.
io::HttpRequest http_request_from(const kinds::Params& params, Millis default_timeout);
std::vector<runbook::ParamSpec> http_request_params();
// "200", "2xx", "200,204" -> does `status` match?
bool status_matches(const std::string& expected, long status);
}  // namespace migrate::steps::basic

namespace migrate::steps::sql {
kinds::KindSpec sql_kind();
}  // namespace migrate::steps::sql

namespace migrate::steps::files {
kinds::KindSpec download_kind();
kinds::KindSpec verify_kind();
kinds::KindSpec extract_kind();
kinds::KindSpec compress_kind();
}  // namespace migrate::steps::files

namespace migrate::steps::remote {
kinds::KindSpec ssh_kind();
kinds::KindSpec cutover_kind();
kinds::KindSpec maintenance_kind();
kinds::KindSpec isolate_kind();
kinds::KindSpec reconnect_kind();
kinds::KindSpec transfer_kind();
}  // namespace migrate::steps::remote

namespace migrate::steps::mysql {
kinds::KindSpec mysql_dump_kind();
kinds::KindSpec mysql_load_kind();
kinds::KindSpec delta_kind();
kinds::KindSpec reconcile_kind();
}  // namespace migrate::steps::mysql
