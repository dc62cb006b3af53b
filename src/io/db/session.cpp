// The parts of the database seam every driver shares.
#include "migrate/io/db/session.h"

namespace migrate::io::db {

std::string ConnectionSpec::describe() const {
    std::string where = socket.empty() ? host + ":" + std::to_string(port) : "socket " + socket;
    return "connection '" + name + "' (" + where + ")";
}

int Result::column_index(std::string_view name) const {
    const std::vector<Column>& all = columns();
    for (std::size_t i = 0; i < all.size(); ++i)
        if (all[i].name == name) return static_cast<int>(i);
    return -1;
}

std::uint64_t Session::load_data(std::string_view, std::string_view, unsigned&) {
    throw DbError(spec().describe() + ": LOAD DATA LOCAL is not available on this session",
                  k_load_data_unavailable, false);
}

std::vector<std::string> Session::first_column(std::string_view sql) {
    std::vector<std::string> values;
    std::unique_ptr<Result> result = query(sql);
    Row row;
    while (result->next(row)) values.emplace_back(row.view(0));
    return values;
}

std::optional<std::string> Session::first_value(std::string_view sql) {
    std::unique_ptr<Result> result = query(sql);
    Row row;
    std::optional<std::string> value;
    if (result->next(row) && row.size() > 0) value = row.value(0);
    while (result->next(row)) {
    }
    return value;
}

}  // namespace migrate::io::db
