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

}  // namespace migrate::io::db
