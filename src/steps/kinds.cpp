// The one table: kind name -> specification and factory, one row per kind, grouped by family.
// Explicit, so nothing depends on static initialisers the linker could drop.
#include "migrate/steps/kinds.h"

#include "families.h"

namespace migrate::steps {

const kinds::KindTable& builtin_kinds() {
    static const kinds::KindTable k_table = {
        // basic: commands, people, conditions, requests
        basic::shell_kind(),
        basic::manual_kind(),
        basic::wait_kind(),
        basic::http_kind(),
        // sql: statements on a connection
        sql::sql_kind(),
        // files: fetch, check, unpack, pack
        files::download_kind(),
        files::verify_kind(),
        files::extract_kind(),
        files::compress_kind(),
        // mysql: the database pipeline
        mysql::mysql_dump_kind(),
        mysql::mysql_load_kind(),
        mysql::delta_kind(),
        mysql::reconcile_kind(),
        // remote: hosts over OpenSSH
        remote::ssh_kind(),
        remote::transfer_kind(),
        remote::maintenance_kind(),
        remote::cutover_kind(),
        remote::isolate_kind(),
        remote::reconnect_kind(),
        // last: the kind that does nothing (tests, placeholders)
        basic::noop_kind(),
    };
    return k_table;
}

bool is_people_kind(const std::string& kind) {
    const kinds::KindSpec* spec = kinds::find_kind(builtin_kinds(), kind);
    return spec != nullptr && spec->schema.people;
}

}  // namespace migrate::steps
