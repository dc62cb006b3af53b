// MySQL's and MariaDB's way of writing names and values in SQL.
#include "migrate/io/db/dialect.h"

#include <algorithm>
#include <array>

namespace migrate::io::db {
namespace {

bool one_of(std::string_view word, const auto& words) {
    return std::find(words.begin(), words.end(), word) != words.end();
}

constexpr std::array<std::string_view, 7> k_binary_types = {
    "binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob", "bit"};
constexpr std::array<std::string_view, 8> k_numeric_types = {
    "tinyint", "smallint", "mediumint", "int", "bigint", "decimal", "float", "double"};

class MysqlDialect final : public Dialect {
public:
    std::string quote_identifier(std::string_view name) const override {
        std::string out;
        out.reserve(name.size() + 2);
        out.push_back('`');
        for (char c : name) {
            if (c == '`') out.push_back('`');
            out.push_back(c);
        }
        out.push_back('`');
        return out;
    }

    std::string string_literal(Session& session, std::string_view text) const override {
        std::string out = "'";
        session.append_escaped(out, text);
        out.push_back('\'');
        return out;
    }

    std::vector<CatalogueColumn> table_columns(Session& session, std::string_view schema,
                                               std::string_view table) const override {
        std::unique_ptr<Result> result = session.query(
            "SELECT COLUMN_NAME, DATA_TYPE, COALESCE(CHARACTER_SET_NAME, ''), IS_NULLABLE, "
            "EXTRA FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = " +
            schema_sql(session, schema) + " AND TABLE_NAME = " + string_literal(session, table) +
            " ORDER BY ORDINAL_POSITION");
        std::vector<CatalogueColumn> columns;
        Row row;
        while (result->next(row)) {
            CatalogueColumn column;
            column.name = std::string(row.view(0));
            column.data_type = std::string(row.view(1));
            column.charset = std::string(row.view(2));
            column.nullable = row.view(3) != "NO";
            column.generated = row.view(4).find("GENERATED") != std::string_view::npos;
            column.binary = one_of(column.data_type, k_binary_types);
            column.numeric = one_of(column.data_type, k_numeric_types);
            columns.push_back(std::move(column));
        }
        return columns;
    }

    std::vector<CatalogueTable> tables(Session& session, std::string_view schema) const override {
        std::unique_ptr<Result> result = session.query(
            "SELECT TABLE_NAME, TABLE_TYPE, COALESCE(DATA_LENGTH, 0), COALESCE(TABLE_ROWS, 0) FROM "
            "information_schema.TABLES WHERE TABLE_SCHEMA = " +
            schema_sql(session, schema) + " ORDER BY TABLE_NAME");
        std::vector<CatalogueTable> tables;
        Row row;
        while (result->next(row)) {
            CatalogueTable table;
            table.name = std::string(row.view(0));
            std::string_view type = row.view(1);
            table.kind = type == "VIEW" ? CatalogueTable::Kind::view
                         : type == "BASE TABLE" || type == "SYSTEM VERSIONED"
                             ? CatalogueTable::Kind::table
                             : CatalogueTable::Kind::other;
            table.data_length = std::stoull(std::string(row.view(2)));
            table.estimated_rows = std::stoull(std::string(row.view(3)));
            tables.push_back(std::move(table));
        }
        return tables;
    }

private:
    std::string schema_sql(Session& session, std::string_view schema) const {
        return schema.empty() ? "DATABASE()" : string_literal(session, schema);
    }
};

}  // namespace

const Dialect& mysql_dialect() {
    static const MysqlDialect dialect;
    return dialect;
}

}  // namespace migrate::io::db
