#!/usr/bin/env bash
# The ERP update through a copy (runbooks/erp-update-through-copy.yaml) rehearsed on this
# machine: the live base on one local MariaDB server, the copy on another. Users keep
# working on the live base (a writer inserting and changing documents, partners and stock)
# while the copy is dumped, loaded and upgraded through the release chain (each release an
# SQL script here: new columns, a new constraint). One document the new release refuses is
# set aside by the exchange; the developer fixes it on the live base at the review step.
# Then the users leave, the final exchange runs, the reconcile must find both bases equal,
# and the switch happens. Manual steps are confirmed by this script, each by its role,
# through `migrate confirm` — the business confirms `users-out` only after the writer stops.
#   bash tests/scenarios/erp.sh      (MIGRATE=path/to/migrate, WORK, KEEP=1, DOCUMENTS)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
MIGRATE=${MIGRATE:-$ROOT/build/migrate}
BASE=${MIGRATE_TEST_PORT_BASE:-18480}
LIVE_PORT=$((BASE + 32)) COPY_PORT=$((BASE + 33))
DOCUMENTS=${DOCUMENTS:-60000}
WORK=${WORK:-$(mktemp -d "${TMPDIR:-/tmp}/migrate-erp.XXXXXX")}
SERVERS=$WORK/servers
cleanup() {
  [ -n "${WRITER:-}" ] && kill "$WRITER" 2> /dev/null || true
  [ -n "${RUN:-}" ] && kill "$RUN" 2> /dev/null || true
  bash "$ROOT/tests/e2e/mariadb.sh" stop "$SERVERS/live" "$LIVE_PORT" || true
  bash "$ROOT/tests/e2e/mariadb.sh" stop "$SERVERS/copy" "$COPY_PORT" || true
  [ -n "${KEEP:-}" ] || rm -rf "$WORK"
}
trap cleanup EXIT
[ -x "$MIGRATE" ] || { echo "no migrate binary at $MIGRATE: build first (see README)" >&2; exit 1; }
live() { mariadb --no-defaults --socket="$SERVERS/live/sock" -uroot erp "$@"; }
copy() { mariadb --no-defaults --socket="$SERVERS/copy/sock" -uroot erp_new "$@"; }

echo "== the live base (127.0.0.1:$LIVE_PORT) and the server of the copy (:$COPY_PORT)"
bash "$ROOT/tests/e2e/mariadb.sh" start "$SERVERS/live" "$LIVE_PORT" source
bash "$ROOT/tests/e2e/mariadb.sh" start "$SERVERS/copy" "$COPY_PORT"
mariadb --no-defaults --socket="$SERVERS/live/sock" -uroot -e "CREATE DATABASE erp CHARACTER SET utf8mb4"
mariadb --no-defaults --socket="$SERVERS/copy/sock" -uroot -e "CREATE DATABASE erp_new CHARACTER SET utf8mb4"

echo "== release 2.5.5.82: $DOCUMENTS documents with lines, partners, items, stock balances"
live <<SQL
CREATE TABLE config_version (id INT PRIMARY KEY, version VARCHAR(20) NOT NULL) ENGINE=InnoDB;
INSERT INTO config_version VALUES (1, '2.5.5.82');
CREATE TABLE partners (id INT PRIMARY KEY, name VARCHAR(150) NOT NULL, kind VARCHAR(20) NOT NULL,
  changed_at DATETIME(6) NOT NULL, KEY (changed_at)) ENGINE=InnoDB;
CREATE TABLE items (id INT PRIMARY KEY, name VARCHAR(150) NOT NULL, unit VARCHAR(10),
  changed_at DATETIME(6) NOT NULL, KEY (changed_at)) ENGINE=InnoDB;
CREATE TABLE documents (id INT PRIMARY KEY, doc_type VARCHAR(40) NOT NULL, number VARCHAR(20) NOT NULL,
  doc_date DATE NOT NULL, partner_id INT NOT NULL, amount DECIMAL(15,2) NOT NULL, posted TINYINT NOT NULL,
  comment TEXT, changed_at DATETIME(6) NOT NULL, KEY (changed_at), KEY (doc_type)) ENGINE=InnoDB;
CREATE TABLE document_lines (document_id INT NOT NULL, line INT NOT NULL, item_id INT NOT NULL,
  quantity DECIMAL(15,3) NOT NULL, price DECIMAL(15,2) NOT NULL, changed_at DATETIME(6) NOT NULL,
  PRIMARY KEY (document_id, line), KEY (changed_at)) ENGINE=InnoDB;
CREATE TABLE stock_balances (warehouse VARCHAR(20) NOT NULL, item_id INT NOT NULL, quantity DECIMAL(15,3) NOT NULL,
  changed_at DATETIME(6) NOT NULL, PRIMARY KEY (warehouse, item_id), KEY (changed_at)) ENGINE=InnoDB;
SET @t = UTC_TIMESTAMP(6) - INTERVAL 30 DAY;
INSERT INTO partners SELECT seq, CONCAT('Контрагент ', seq), ELT(1 + seq % 3, 'customer', 'supplier', 'both'), @t
  FROM seq_1_to_2000;
INSERT INTO items SELECT seq, CONCAT('Товар ', seq), ELT(1 + seq % 3, 'pcs', 'kg', 'm'), @t FROM seq_1_to_5000;
INSERT INTO documents SELECT seq,
  ELT(1 + seq % 6, 'SalesOfGoods', 'CustomerOrder', 'SalesAdjustment', 'Invoice', 'PurchaseOfGoods', 'PurchaseAdjustment'),
  LPAD(seq, 11, '0'), '2024-01-01' + INTERVAL seq % 540 DAY, 1 + seq % 2000, (seq % 100000) / 100 + 1, 1,
  IF(seq % 5 = 0, NULL, CONCAT('Комментарий ', seq)), @t FROM seq_1_to_$DOCUMENTS;
INSERT INTO document_lines SELECT d.id, l.seq, 1 + (d.id * l.seq) % 5000, l.seq, 10.5 * l.seq, @t
  FROM documents d JOIN seq_1_to_3 l;
INSERT INTO stock_balances SELECT ELT(1 + seq % 4, 'MSK-1', 'MSK-2', 'SPB-1', 'EKB-1'), seq, seq % 500, @t
  FROM seq_1_to_5000;
SQL

echo "== the users keep working on the live base"
( n=0
  while true; do
    n=$((n + 1))
    live -e "INSERT INTO documents SELECT MAX(id) + 1, 'SalesOfGoods', LPAD(MAX(id) + 1, 11, '0'), CURDATE(),
               1 + $n % 2000, 100 + $n, 0, 'new', UTC_TIMESTAMP(6) FROM documents;
             UPDATE documents SET posted = 1, changed_at = UTC_TIMESTAMP(6) WHERE id = 1 + ($n * 7919) % $DOCUMENTS;
             UPDATE stock_balances SET quantity = quantity - 1, changed_at = UTC_TIMESTAMP(6) WHERE item_id = 1 + $n % 5000;
             UPDATE partners SET name = CONCAT('Контрагент ', id, ' (изм. $n)'), changed_at = UTC_TIMESTAMP(6)
               WHERE id = 1 + ($n * 31) % 2000" || true
    sleep 0.05
  done ) &
WRITER=$!

echo "== the releases: SQL scripts standing in for the configurator"
cat > "$WORK/install-release.sh" <<EOF
#!/usr/bin/env bash
# install-release.sh VERSION: one release on the copy (schema and data changes), in order.
set -euo pipefail
version=\$1
copy() { mariadb --no-defaults --socket="$SERVERS/copy/sock" -uroot erp_new "\$@"; }
previous=\$(copy -N -e "SELECT version FROM config_version")
echo "installing \$version over \$previous"
case "\$version" in
  2.5.6.290) copy -e "ALTER TABLE documents ADD COLUMN settlement_object INT NULL" ;;
  2.5.7.298)
    copy -e "ALTER TABLE documents ADD CONSTRAINT amount_not_negative CHECK (amount >= 0)"
    # Meanwhile a user posts a storno with a negative amount on the live base: the new
    # release refuses it, and the exchange sets it aside.
    mariadb --no-defaults --socket="$SERVERS/live/sock" -uroot erp -e "INSERT INTO documents VALUES
      (9000000, 'SalesAdjustment', 'STORNO-1', CURDATE(), 7, -250.00, 1, 'storno', UTC_TIMESTAMP(6))" ;;
esac
copy -e "UPDATE config_version SET version = '\$version'"
sleep 0.3
EOF
cat > "$WORK/switch.sh" <<EOF
#!/usr/bin/env bash
# Points the cluster's infobase at the copy: a symbolic link here.
mkdir -p "$WORK/cluster" && ln -sfn erp_new "$WORK/cluster/infobase" && ls -l "$WORK/cluster/infobase"
EOF

echo "== the rehearsal (manual steps confirmed below, each by its role)"
LIVE_DB_PASSWORD=migrate-test-pw COPY_DB_PASSWORD=migrate-test-pw \
  ERP_INSTALL_RELEASE="bash $WORK/install-release.sh" ERP_SWITCH="bash $WORK/switch.sh" \
  "$MIGRATE" run "$ROOT/runbooks/erp-update-through-copy.yaml" --env local --rehearsal \
  --journal "$WORK/erp.jsonl" --set "live_port=$LIVE_PORT" --set "copy_port=$COPY_PORT" \
  --set "work=$WORK/copy" < /dev/null > "$WORK/run.out" 2>&1 &
RUN=$!

awaits() {  # STEP: the run is waiting for its confirmation
  for _ in $(seq 1 6000); do
    grep -q "\"ev\":\"step.start\",\"step\":\"$1\"" "$WORK/erp.jsonl" 2> /dev/null && return 0
    kill -0 "$RUN" 2> /dev/null || { cat "$WORK/run.out" >&2; echo "the run ended before $1" >&2; exit 1; }
    sleep 0.1
  done
  echo "the run never reached $1" >&2; exit 1
}
confirm() {  # STEP ROLE NOTE
  awaits "$1"
  "$MIGRATE" confirm "$WORK/erp.jsonl" "$1" --as "$2" --by scenario --note "$3"
}
confirm skip-settlement-handler developer "settlement objects removed from the update plan"
confirm functional-tests consultants "documents, reports, month closing fine"

awaits review-quarantine
echo "== the review: the storno is in quarantine, with the copy's reason"
grep -q 'STORNO-1' "$WORK/copy/quarantine.jsonl"
grep -qi 'amount_not_negative' "$WORK/copy/quarantine.jsonl"
live -e "UPDATE documents SET doc_type = 'SalesAdjustment', amount = 250.00, comment = 'storno, sign fixed',
           changed_at = UTC_TIMESTAMP(6) WHERE id = 9000000"
"$MIGRATE" confirm "$WORK/erp.jsonl" review-quarantine --as developer --by scenario --note "STORNO-1: sign fixed on live"

awaits users-out
kill "$WRITER"; wait "$WRITER" 2> /dev/null || true; WRITER=
echo "== the users are out ($(live -N -e "SELECT COUNT(*) FROM documents WHERE id > $DOCUMENTS") documents created during the upgrade)"
"$MIGRATE" confirm "$WORK/erp.jsonl" users-out --as business --by scenario --note "users out, jobs stopped"
confirm smoke-test consultants "document posted, balance report fine"
wait "$RUN" || { cat "$WORK/run.out" >&2; exit 1; }
RUN=
tail -n 30 "$WORK/run.out"

echo "== the copy equals the live base, row for row, on the old release's columns"
cols="id, doc_type, number, doc_date, partner_id, amount, posted, comment, changed_at"
digest="SET SESSION group_concat_max_len = 1 << 30;
        SELECT COUNT(*), MD5(GROUP_CONCAT(MD5(CONCAT_WS('|', $cols)) ORDER BY id)) FROM documents"
[ "$(live -N -e "$digest")" = "$(copy -N -e "$digest")" ] || { echo "documents differ" >&2; exit 1; }
for table in partners items document_lines stock_balances; do
  [ "$(live -N -e "CHECKSUM TABLE $table" | cut -f2)" = "$(copy -N -e "CHECKSUM TABLE $table" | cut -f2)" ] ||
    { echo "$table differs" >&2; exit 1; }
done
[ "$(copy -N -e "SELECT version FROM config_version")" = 2.5.7.316 ]
[ "$(readlink "$WORK/cluster/infobase")" = erp_new ]
echo "equal; the copy is on 2.5.7.316 and the cluster points at it"

echo "== the report, and the forecast of the window when the final round runs a day after the first"
"$MIGRATE" report "$WORK/erp.jsonl" > "$WORK/report-1.txt"
head -60 "$WORK/report-1.txt"
# estimate exits 4 when the forecast window is over the runbook's budget: an answer, not a failure.
status=0
"$MIGRATE" estimate "$ROOT/runbooks/erp-update-through-copy.yaml" --journal "$WORK/erp.jsonl" --lag 24h \
  > "$WORK/estimate.out" || status=$?
head -60 "$WORK/estimate.out"
[ "$status" = 0 ] || [ "$status" = 4 ] || { echo "estimate failed ($status)" >&2; exit 1; }
grep -q "delta 'final-exchange'" "$WORK/estimate.out"
