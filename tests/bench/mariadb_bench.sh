#!/usr/bin/env bash
# The benchmark database of the database pipeline: a MariaDB server of its own on loopback,
# tuned for bulk work as an operator's import server would be, and a deterministic data set
# generated on the server (no client round trips): two tables, 1.5 M rows, text and blobs.
#
#   mariadb_bench.sh start DIR [PORT=19491] [source]  a fresh server (DIR is wiped); `source`
#                                                     turns the binary log on
#   mariadb_bench.sh generate DIR DB [ROWS=1500000]   (re)creates database DB with the data
#   mariadb_bench.sh stop DIR [PORT=19491]
#   mariadb_bench.sh client DIR [mariadb options...]  the mariadb client on that server, as root
#
# The data (same bytes on every run and every server, so two servers generated alike hold
# equal tables):
#   tickets      2/3 of ROWS: id, customer, status, subject (VARCHAR utf8mb4), body (TEXT,
#                ~250 bytes of words), amount DECIMAL(12,2), created DATETIME, a NULL in
#                one row of 7, an index on (customer, created)
#   attachments  1/3 of ROWS: id, ticket_id, name, mime, content (BLOB: 64 pseudo-random
#                bytes and 192 repeated ones), sha1 BINARY(20)
# With ROWS=1500000 that is about 470 MB of InnoDB files, as in BENCH.md's dump case.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
action=${1:?usage: mariadb_bench.sh start|generate|stop|client DIR ...}
dir=${2:?the server directory}

client() {
  mariadb --no-defaults --socket="$dir/sock" -uroot "$@"
}

case "$action" in
start)
  port=${3:-19491}
  # Sized for a 2-core, 24 GiB machine: the whole data set fits in the buffer pool, the
  # redo log takes a load without checkpoint stalls, and commits are not fsynced each.
  MARIADB_OPTIONS="--innodb-buffer-pool-size=3G --innodb-log-file-size=1G --innodb-flush-log-at-trx-commit=2 --max-allowed-packet=256M" \
    bash "$here/../e2e/mariadb.sh" start "$dir" "$port" ${4:-}
  ;;
stop)
  bash "$here/../e2e/mariadb.sh" stop "$dir" "${3:-19491}"
  ;;
client)
  shift 2
  client "$@"
  ;;
generate)
  db=${3:?the database name}
  rows=${4:-1500000}
  tickets=$((rows * 2 / 3))
  attachments=$((rows - tickets))
  started=$(date +%s.%N)
  client <<SQL
DROP DATABASE IF EXISTS \`$db\`;
CREATE DATABASE \`$db\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
USE \`$db\`;
CREATE TABLE tickets (
  id INT UNSIGNED NOT NULL PRIMARY KEY,
  customer INT UNSIGNED NOT NULL,
  status ENUM('new','open','pending','solved','closed') NOT NULL,
  subject VARCHAR(200) NOT NULL,
  body TEXT,
  amount DECIMAL(12,2),
  created DATETIME NOT NULL,
  KEY by_customer (customer, created)
) ENGINE=InnoDB;
CREATE TABLE attachments (
  id INT UNSIGNED NOT NULL PRIMARY KEY,
  ticket_id INT UNSIGNED NOT NULL,
  name VARCHAR(100) NOT NULL,
  mime VARCHAR(50) NOT NULL,
  content BLOB,
  sha1 BINARY(20),
  KEY by_ticket (ticket_id)
) ENGINE=InnoDB;
SET @words = 'order customer shipped pending refund invoice payment delivery address warehouse product review rating discount coupon checkout account password session token mobile browser search filter category brand price stock supplier return quality service support ticket urgent normal thanks please naïve café Straße żółw 日本語';
INSERT INTO tickets
SELECT seq,
       1 + (seq * 7919) % 50000,
       ELT(1 + seq % 5, 'new','open','pending','solved','closed'),
       CONCAT('Ticket ', seq, ': ', SUBSTRING_INDEX(SUBSTRING_INDEX(@words, ' ', 1 + seq % 47), ' ', -3)),
       IF(seq % 7 = 0, NULL,
          CONCAT(REPEAT(CONCAT(SUBSTRING_INDEX(SUBSTRING_INDEX(@words, ' ', 1 + (seq * 31) % 50), ' ', -6), ' '), 4),
                 'ref ', MD5(seq), ' ', SUBSTRING(SHA1(seq), 1, 1 + seq % 40), ' it''s a "quote"\\\\n')),
       IF(seq % 11 = 0, NULL, ((seq * 104729) % 10000000) / 100),
       '2020-01-01 00:00:00' + INTERVAL (seq * 61) % 157680000 SECOND
FROM seq_1_to_$tickets;
INSERT INTO attachments
SELECT seq,
       1 + (seq * 3) % $tickets,
       CONCAT('file-', seq, ELT(1 + seq % 4, '.pdf', '.png', '.txt', '.eml')),
       ELT(1 + seq % 4, 'application/pdf', 'image/png', 'text/plain', 'message/rfc822'),
       CONCAT(UNHEX(SHA2(CONCAT('a', seq), 512)), REPEAT(UNHEX(MD5(seq % 1000)), 12)),
       UNHEX(SHA1(seq))
FROM seq_1_to_$attachments;
ANALYZE TABLE tickets, attachments;
SQL
  ended=$(date +%s.%N)
  client -N -e "SELECT table_name, table_rows, ROUND((data_length + index_length) / 1048576) AS mib
                FROM information_schema.tables WHERE table_schema = '$db' ORDER BY table_name" |
    while read -r name count mib; do echo "$db.$name: ~$count rows, $mib MiB"; done
  echo "generated $rows rows in $(echo "$ended - $started" | bc) s"
  ;;
*)
  echo "usage: mariadb_bench.sh start|generate|stop|client DIR ..." >&2
  exit 2
  ;;
esac
