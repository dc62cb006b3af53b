# Shared by the end-to-end tests that use the suite's MariaDB fixtures (source them after
# lib.sh): `db PORT [mariadb options...]`, the client as the test user, and a check that
# both fixture servers answer — a missing server fails the test, it never skips it.
export MIGRATE_TEST_DB_PW=${MIGRATE_TEST_MYSQL_PASSWORD:-migrate-test-pw}

db() {
  local port=$1; shift
  mariadb --no-defaults --default-character-set=utf8mb4 -h127.0.0.1 -P"$port" -umigrate -p"$MIGRATE_TEST_DB_PW" -N -B "$@"
}

require_fixture_servers() {
  local port
  for port in "${MIGRATE_TEST_MYSQL_SOURCE_PORT:?}" "${MIGRATE_TEST_MYSQL_TARGET_PORT:?}"; do
    if ! db "$port" -e 'SELECT 1' > /dev/null 2>&1; then
      echo "FAIL MariaDB is not answering on 127.0.0.1:$port (the mariadb_source and mariadb_target fixtures start it)"
      FAILED=1; finish; exit 1
    fi
  done
}
