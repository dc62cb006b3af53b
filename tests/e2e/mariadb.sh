#!/usr/bin/env bash
# Starts or stops one of the suite's own MariaDB servers on 127.0.0.1:PORT, with its data,
# socket and logs under DIR. Used as a ctest fixture; never binds anything but loopback.
#
#   mariadb.sh start DIR PORT [source]   a fresh server (DIR is wiped); `source` also turns on
#                                        the binary log (ROW, server-id 1), as a primary has
#   mariadb.sh restart DIR PORT          stop if running, then start again on the same data
#   mariadb.sh stop DIR PORT
#
# The server has a user migrate@127.0.0.1 and migrate@localhost, password migrate-test-pw,
# with all privileges; root@localhost has no password (socket DIR/sock). Further mariadbd
# options (TLS certificates, say) come from $MARIADB_OPTIONS at start, kept for restart.
set -eu
action=$1 dir=$2 port=$3 role=${4:-}
user=migrate password=migrate-test-pw
socket=$dir/sock

find_binary() {
  local name
  for name in "$@"; do
    if command -v "$name" > /dev/null; then command -v "$name"; return; fi
    if [ -x "/usr/sbin/$name" ]; then echo "/usr/sbin/$name"; return; fi
  done
  echo "none of $* is installed (apt-get install mariadb-server)" >&2
  exit 1
}

server_pid() {
  [ -f "$dir/mariadbd.pid" ] && cat "$dir/mariadbd.pid" 2> /dev/null || true
}

running() {
  local pid
  pid=$(server_pid)
  [ -n "$pid" ] && kill -0 "$pid" 2> /dev/null
}

show_log() {
  echo "--- $dir/error.log (last lines)" >&2
  tail -n 40 "$dir/error.log" >&2 2> /dev/null || true
  if command -v ss > /dev/null; then
    echo "--- listening on port $port:" >&2
    ss -ltnp "sport = :$port" >&2 || true
  fi
}

stop_server() {
  local pid i
  pid=$(server_pid)
  [ -n "$pid" ] || return 0
  kill "$pid" 2> /dev/null || return 0
  for i in $(seq 1 600); do
    kill -0 "$pid" 2> /dev/null || { rm -f "$dir/mariadbd.pid"; return 0; }
    sleep 0.1
  done
  echo "mariadbd ($pid) did not stop within 60 s; killing it" >&2
  kill -9 "$pid" 2> /dev/null || true
  rm -f "$dir/mariadbd.pid"
}

install_data() {
  local install_db
  install_db=$(find_binary mariadb-install-db mysql_install_db)
  rm -rf "$dir"
  mkdir -p "$dir/data" "$dir/tmp"
  # A temporary directory of its own: two servers set up at once in a shared /tmp have
  # been seen to lose each other's temporary tables.
  if ! "$install_db" --no-defaults --datadir="$dir/data" --tmpdir="$dir/tmp" --auth-root-authentication-method=normal \
      --skip-test-db --skip-name-resolve --user="$(id -un)" > "$dir/install.log" 2>&1; then
    echo "mariadb-install-db failed:" >&2
    tail -n 30 "$dir/install.log" >&2
    exit 1
  fi
}

start_server() {
  local mariadbd
  mariadbd=$(find_binary mariadbd mysqld)
  local -a options=(--no-defaults --datadir="$dir/data" --tmpdir="$dir/tmp" --port="$port" --socket="$socket"
    --bind-address=127.0.0.1 --skip-name-resolve --pid-file="$dir/mariadbd.pid"
    --log-error="$dir/error.log" --innodb-buffer-pool-size=256M --max-connections=200
    --character-set-server=utf8mb4 --collation-server=utf8mb4_unicode_ci)
  [ "$(id -u)" = 0 ] && options+=(--user=root)
  local -a extra=()
  [ -s "$dir/options" ] && read -r -a extra < "$dir/options"
  options+=(${extra[@]+"${extra[@]}"})
  if [ -f "$dir/role" ] && [ "$(cat "$dir/role")" = source ]; then
    options+=(--log-bin="$dir/binlog" --server-id=1 --binlog-format=ROW)
  else
    options+=(--skip-log-bin --server-id=2)
  fi
  # Detached from ctest's pipes (or ctest would wait for the server to end).
  setsid "$mariadbd" "${options[@]}" < /dev/null > "$dir/mariadbd.out" 2>&1 &
  local launched=$! i
  for i in $(seq 1 600); do
    if [ -S "$socket" ] && "$client" --no-defaults --socket="$socket" -uroot -e 'SELECT 1' > /dev/null 2>&1; then
      return 0
    fi
    if ! kill -0 "$launched" 2> /dev/null; then
      echo "mariadbd exited during start-up (port $port in use?)" >&2
      cat "$dir/mariadbd.out" >&2 2> /dev/null || true
      show_log
      exit 1
    fi
    sleep 0.1
  done
  echo "mariadbd did not answer on $socket within 60 s" >&2
  show_log
  kill "$launched" 2> /dev/null || true
  exit 1
}

create_user() {
  "$client" --no-defaults --socket="$socket" -uroot <<SQL || { echo "could not create the user $user" >&2; show_log; exit 1; }
CREATE USER IF NOT EXISTS '$user'@'127.0.0.1' IDENTIFIED BY '$password';
CREATE USER IF NOT EXISTS '$user'@'localhost' IDENTIFIED BY '$password';
GRANT ALL PRIVILEGES ON *.* TO '$user'@'127.0.0.1' WITH GRANT OPTION;
GRANT ALL PRIVILEGES ON *.* TO '$user'@'localhost' WITH GRANT OPTION;
FLUSH PRIVILEGES;
SQL
}

client=$(find_binary mariadb mysql)
# A Unix socket path holds at most 107 bytes.
if [ ${#socket} -gt 100 ]; then
  echo "the socket path $socket is too long for a Unix socket; use a shorter build directory" >&2
  exit 1
fi
case "$action" in
start)
  running && stop_server
  install_data
  [ "$role" = source ] && echo source > "$dir/role"
  echo "${MARIADB_OPTIONS:-}" > "$dir/options"
  start_server
  create_user
  echo "MariaDB on 127.0.0.1:$port, socket $socket${role:+ ($role)}"
  ;;
restart)
  running && stop_server
  start_server
  ;;
stop)
  stop_server
  ;;
*)
  echo "usage: $0 start|restart|stop DIR PORT [source]" >&2
  exit 2
  ;;
esac
