// How an engine's SQL writes names and values, and what its catalogue says of a database's
// tables and columns. MySQL and MariaDB's dialect (src/io/db/mysql/dialect.cpp, queries on
// information_schema) is the one there is; a second engine supplies its own, and the kinds
// ask the dialect instead of writing quotes and catalogue queries themselves.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "migrate/io/db/session.h"

namespace migrate::io::db {

// A column as the catalogue describes it.
struct CatalogueColumn {
    std::string name;
    std::string data_type;  // the catalogue's type name: "int", "varchar", "datetime"...
    std::string charset;    // "" for numbers, dates and binary strings
    bool nullable = true;
    bool generated = false;  // computed by the server: never written by an INSERT
    bool binary = false;     // bytes: BINARY, VARBINARY, the BLOBs, BIT
    bool numeric = false;    // integers, DECIMAL, FLOAT, DOUBLE
};

// A table or view as the catalogue lists it.
struct CatalogueTable {
    enum class Kind { table, view, other };  // other: sequences, temporary tables
    std::string name;
    Kind kind = Kind::table;
    std::uint64_t data_length = 0;     // bytes of data, as the engine estimates them
    std::uint64_t estimated_rows = 0;  // the engine's estimate
};

class Dialect {
public:
    virtual ~Dialect() = default;
    // `name` as an identifier: for MySQL between backticks, a backtick in it doubled.
    virtual std::string quote_identifier(std::string_view name) const = 0;
    // `text` as a string literal, escaped by `session` for its character set.
    virtual std::string string_literal(Session& session, std::string_view text) const = 0;

    // The columns of `table` in `schema` ("": the session's database), in their order;
    // empty when there is no such table.
    virtual std::vector<CatalogueColumn> table_columns(Session& session, std::string_view schema,
                                                       std::string_view table) const = 0;
    // The tables, views and others of `schema` ("": the session's database), in name order.
    virtual std::vector<CatalogueTable> tables(Session& session, std::string_view schema) const = 0;

    // The names of tables(), of every kind.
    std::vector<std::string> table_names(Session& session, std::string_view schema) const {
        std::vector<std::string> names;
        for (CatalogueTable& table : tables(session, schema))
            names.push_back(std::move(table.name));
        return names;
    }

    // `schema`.`name`.
    std::string qualified_name(std::string_view schema, std::string_view name) const {
        return quote_identifier(schema) + "." + quote_identifier(name);
    }
};

// MySQL's and MariaDB's dialect.
const Dialect& mysql_dialect();

}  // namespace migrate::io::db
