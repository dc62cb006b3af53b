#!/usr/bin/env bash
# The kill-anywhere sweep: tests/scenarios/kill-anywhere.yaml (download in parts from the
# suite's nginx, verify, extract, mysql.dump, mysql.load, a delta) is run once cleanly to
# measure it, then run again into a second set of databases and directories and killed with
# SIGKILL at KILL_POINTS moments drawn uniformly from [0, the clean run's duration] (seeded
# by KILL_SEED), and resumed with --resume after each kill until it completes. A moment is
# aimed through the clean run's journal: "1.2 s after load started" kills the run (or the
# resume) 1.2 s after its journal shows load starting, so that kills land in the steps as
# the clean run spent its time, whatever the resumes redo. The end state must equal the clean run's:
# files by SHA-256, tables by CHECKSUM TABLE and row count, the journal verified, one ok
# step.end per step, every side effect counted once, nothing half-written left.
#   KILL_SEED=7 KILL_POINTS=20 MIGRATE=build/migrate ... bash tests/e2e/kill_anywhere.sh
E2E=$(cd "$(dirname "$0")" && pwd)
source "$E2E/lib.sh"
source "$E2E/mariadb_lib.sh"
RUNBOOK=$E2E/../scenarios/kill-anywhere.yaml
KILL_SEED=${KILL_SEED:-20261203}
KILL_POINTS=${KILL_POINTS:-5}
SOURCE_PORT=${MIGRATE_TEST_MYSQL_SOURCE_PORT:?}
TARGET_PORT=${MIGRATE_TEST_MYSQL_TARGET_PORT:?}
HTTP_PORT=${MIGRATE_TEST_HTTP_PORT:?}
NGINX_DIR=${MIGRATE_TEST_SERVERS:?}/nginx
SERVED=$NGINX_DIR/www/capped/kill-anywhere
SRC_DB=kill_anywhere_source
SINCE="2026-02-01 00:00:00"
STEPS="download verify extract dump load age delta"

require_fixture_servers
curl -fs "http://127.0.0.1:$HTTP_PORT/health" > /dev/null || { echo "FAIL nginx is not answering on $HTTP_PORT"; exit 1; }
now_ms() { date +%s%3N; }
# same A B: two values that are equal and not empty (an empty one is a check that failed).
same() { [ -n "$1" ] && [ "$1" = "$2" ] || { echo "     '$1' is not '$2'"; false; }; }

# ---- the backup: a tree of files, cut into parts with a manifest, served twice (one URL
# per run, so that nginx's log counts each run's bytes apart)
mkdir -p tree/data/deep/er tree/empty
for i in $(seq 1 12); do head -c $((400000 + i * 20000)) /dev/urandom > tree/data/blob-$i.bin; done
seq 1 200000 | sed 's/^/line /' > tree/data/deep/er/lines.txt
ln -s data/deep/er/lines.txt tree/lines-link
rm -rf "$SERVED"; mkdir -p "$SERVED/vendor"
tar -C tree -czf - . | split -b 2M --numeric-suffixes=1 -a 3 - "$SERVED/vendor/backup.tar.gz."
(cd "$SERVED/vendor" && sha256sum backup.tar.gz.* > SHA256SUMS)
for run in clean swept; do cp -rl "$SERVED/vendor" "$SERVED/$run"; done
BACKUP_BYTES=$(cat "$SERVED"/vendor/backup.tar.gz.* | wc -c)
echo "     backup: $(ls "$SERVED"/vendor/backup.tar.gz.* | wc -l) parts, $BACKUP_BYTES bytes"

# ---- the source database: orders (a key, changed rows after the backup's time for the
# delta), a log without a key (a row loaded twice would show), and a view
db "$SOURCE_PORT" -e "DROP DATABASE IF EXISTS $SRC_DB; CREATE DATABASE $SRC_DB"
db "$SOURCE_PORT" "$SRC_DB" -e "
  CREATE TABLE orders (id INT PRIMARY KEY, kind VARCHAR(20) NOT NULL, amount DECIMAL(12,2), note VARCHAR(200),
    updated_at DATETIME(6) NOT NULL, KEY (updated_at)) CHARSET utf8mb4;
  INSERT INTO orders SELECT seq, IF(seq % 3, 'invoice', 'credit'), seq * 1.25, CONCAT('order ', seq, ' Zürich ☃ ''q'''),
    IF(seq % 4, '2026-01-10 08:00:00', TIMESTAMPADD(SECOND, seq, '$SINCE')) FROM seq_1_to_100000;
  CREATE TABLE events (at DATETIME NOT NULL, what VARCHAR(100), payload BLOB);
  INSERT INTO events SELECT TIMESTAMPADD(MINUTE, seq, '2026-01-01'), CONCAT('event ', seq), UNHEX(SHA2(seq, 256))
    FROM seq_1_to_60000;
  CREATE VIEW credits AS SELECT id, amount FROM orders WHERE kind = 'credit'"
DELTA_ROWS=$(db "$SOURCE_PORT" "$SRC_DB" -e "SELECT COUNT(*) FROM orders WHERE updated_at >= '$SINCE'")

# A run's vars (into RUN_VARS): its own URL, directory and target database.
run_vars() {  # RUN
  RUN_VARS=(--set "base_url=http://127.0.0.1:$HTTP_PORT/capped/kill-anywhere/$1/" --set "work=$WORK/$1"
    --set "source_port=$SOURCE_PORT" --set "target_port=$TARGET_PORT" --set "source_db=$SRC_DB"
    --set "target_db=kill_anywhere_$1" --set "since=$SINCE")
}
for run in clean swept; do
  db "$TARGET_PORT" -e "DROP DATABASE IF EXISTS kill_anywhere_$run"
  rm -rf "${WORK:?}/$run" && mkdir "$WORK/$run"
done

LOG_FROM=$(stat -c %s "$NGINX_DIR/logs/access.log")  # what nginx logs from here on is this test's

# ---- the clean run, timed
CLEAN_T0=$(now_ms)
run_vars clean
expect_exit 0 "the clean run completes" "$MIGRATE" run "$RUNBOOK" --rehearsal --yes --journal clean.jsonl "${RUN_VARS[@]}"
CLEAN_MS=$(( $(now_ms) - CLEAN_T0 ))
echo "     clean run: $CLEAN_MS ms; per step: $(events clean.jsonl step.end | jq -r '"\(.step) \(.duration_ms)ms"' | tr '\n' ' ')"

# Its timeline: "OFFSET_MS EVENT:STEP" for every step.start and step.end, in ms from the launch.
jq -r --argjson t0 "$CLEAN_T0" 'select(.ev == "step.start" or .ev == "step.end")
  | (.ts | capture("(?<s>.*)\\.(?<ms>[0-9]+)Z")) as $t | (($t.s + "Z" | fromdateiso8601) * 1000 + ($t.ms | tonumber)) as $at
  | "\($at - $t0) \(.ev):\(.step)"' clean.jsonl > timeline
# A moment of the clean run as "EVENT:STEP DELAY": the last step.start or step.end before it and
# the time after that ("launch DELAY" before the first step starts).
# the time after that ("launch DELAY" before the first step starts), and the event after it.
aim() {
  awk -v t="$1" 'BEGIN { a = "launch"; o = 0; n = "" } $1 <= t { a = $2; o = $1; n = "" } $1 > t && n == "" { n = $2 }
    END { print a, t - o, n }' timeline
}

# ---- the kill moments: uniform in [0, CLEAN_MS], from the seed
RANDOM=$KILL_SEED
MOMENTS=$(for _ in $(seq 1 "$KILL_POINTS"); do echo $(( (RANDOM * 32768 + RANDOM) % (CLEAN_MS + 1) )); done | sort -n)

journal_lines() { if [ -f swept.jsonl ]; then wc -l < swept.jsonl; else echo 0; fi; }
# The swept journal's records from line FROM+1 on (a torn last line left out, as migrate does).
records_after() { [ -f swept.jsonl ] && tail -n +$(($1 + 1)) swept.jsonl | jq -cR 'fromjson?'; }
step_ended_ok() { [ -f swept.jsonl ] && grep "\"ev\":\"step.end\",\"step\":\"$1\"" swept.jsonl | grep -q '"status":"ok"'; }
# Where a run killed after journal line FROM was: the steps it had begun and not ended, with
# their last progress.
landed_in() {  # FROM
  records_after "$1" | jq -rs '. as $seg
    | (($seg | map(select(.ev == "step.start") | .step)) - ($seg | map(select(.ev == "step.end") | .step))) as $open
    | if ($seg | map(select(.ev == "run.start" or .ev == "run.resume")) | length) == 0 then "startup (nothing journaled)"
      elif ($open | length) == 0 then "between steps (after \($seg | map(select(.ev == "step.end") | .step) | last // "the start"))"
      else $open | map(. as $st | "\($st) (\($seg | map(select(.ev == "step.progress" and .step == $st)) | last
             | .message // "no progress yet"))") | join(", ") end'
}
completed() { [ -f swept.jsonl ] && grep '"ev":"run.end"' swept.jsonl | grep -q '"status":"ok"'; }

# A moment aimed at a step the swept run has finished already (a resume went on from a
# checkpoint faster than the clean run's clock): moved to the first step still to do, at the
# same fraction of that step's clean duration (its start when aimed between two steps).
reaim() {  # EVENT:STEP DELAY
  local first
  first=$(awk '$2 ~ /^step.start:/ { print substr($2, 12) }' timeline | while read -r step; do
    step_ended_ok "$step" || { echo "$step"; break; }; done)
  [ -n "$first" ] || { echo "launch 0"; return; }  # every step done: only run.end is left
  awk -v ev="${1%%:*}" -v old="${1#*:}" -v new="$first" -v d="$2" '
    $2 == "step.start:" old { s0 = $1 } $2 == "step.end:" old { e0 = $1 }
    $2 == "step.start:" new { s1 = $1 } $2 == "step.end:" new { e1 = $1 }
    END { f = (ev == "step.start" && e0 > s0) ? d / (e0 - s0) : 0; printf "step.start:%s %d step.end:%s\n", new, f * (e1 - s1), new }' timeline
}

# One run of migrate on the swept state (a resume once the journal holds a run.start). With
# ANCHOR DELAY [NEXT] it is killed DELAY ms after this run journals ANCHOR (EVENT:STEP, or
# launch: its start), or at once when it journals NEXT first (a resumed step can take less
# time than it took the clean run). Sets SEG_EXIT and SEG_FROM (the journal's lines before
# it) and adds to RAN_MS.
RAN_MS=0
journaled() { tail -n +$((SEG_FROM + 1)) swept.jsonl 2> /dev/null | grep -q "\"ev\":\"${1%%:*}\",\"step\":\"${1#*:}"; }
segment() {  # [ANCHOR DELAY [NEXT]]
  local anchor=${1:-} delay=${2:-0} next=${3:-} resume=() t0 pid t_anchor=""
  SEG_FROM=$(journal_lines)
  grep -q '"ev":"run.start"' swept.jsonl 2> /dev/null && resume=(--resume)
  t0=$(now_ms)
  run_vars swept
  "$MIGRATE" run "$RUNBOOK" --rehearsal --yes --journal swept.jsonl "${resume[@]}" "${RUN_VARS[@]}" >> swept.out 2>&1 &
  pid=$!
  [ "$anchor" = launch ] && t_anchor=$t0
  while is_alive $pid; do
    [ -n "$anchor" ] && [ -z "$t_anchor" ] && journaled "$anchor" && t_anchor=$(now_ms)
    if [ -n "$t_anchor" ] && { [ $(($(now_ms) - t_anchor)) -ge "$delay" ] || { [ -n "$next" ] && journaled "$next"; }; }; then
      kill -9 $pid 2> /dev/null; break
    fi
    sleep 0.02
  done
  { wait $pid; SEG_EXIT=$?; } 2> /dev/null
  RAN_MS=$((RAN_MS + $(now_ms) - t0))
}

# ---- the sweep
echo "     seed $KILL_SEED, $KILL_POINTS kill points (ms into the clean run): $(echo $MOMENTS)"
kill_no=0
: > kills.txt
for moment in $MOMENTS; do
  kill_no=$((kill_no + 1))
  read -r anchor delay next <<< "$(aim "$moment")"
  aimed="$anchor +$delay ms"
  if [ "$anchor" != launch ] && step_ended_ok "${anchor#*:}"; then
    read -r anchor delay next <<< "$(reaim "$anchor" "$delay")"
    aimed="$aimed, moved to $anchor +$delay ms"
  fi
  if completed; then
    echo "| $kill_no | $moment | $aimed | the run had completed |" >> kills.txt; continue
  fi
  segment "$anchor" "$delay" "$next"
  if [ "$SEG_EXIT" -eq 137 ]; then
    echo "| $kill_no | $moment | $aimed | $(landed_in "$SEG_FROM") |" >> kills.txt
    [ -s swept.jsonl ] && check "kill $kill_no: the journal verifies" "$MIGRATE" journal verify swept.jsonl
  else
    echo "| $kill_no | $moment | $aimed | migrate ended first (exit $SEG_EXIT) |" >> kills.txt
    check "kill $kill_no: the run it cut short did not fail" test "$SEG_EXIT" -eq 0
  fi
done
for attempt in 1 2 3 4 5; do
  completed && break
  segment
  echo "     resume to the end (attempt $attempt): exit $SEG_EXIT"
done
RESUMES=$(events swept.jsonl run.resume | wc -l)
echo "     kill | ms into the clean run | aimed at | landed in (the journal)"
sed 's/^/     /' kills.txt
echo "     resumes: $RESUMES; migrate ran $RAN_MS ms in all (the clean run $CLEAN_MS ms)"
check "the swept run completed" completed
check "it was resumed after the kills" test "$RESUMES" -ge 1
check "no resume failed" test -z "$(events swept.jsonl run.end | jq -r 'select(.status != "ok")')"


# ---- the journal: verified, one ok step.end per step, none failed
for run in clean swept; do
  check "$run: migrate journal verify" "$MIGRATE" journal verify $run.jsonl
  for step in $STEPS; do
    check "$run: exactly one ok step.end for $step" \
      same "$(events $run.jsonl step.end | jq -c --arg s "$step" 'select(.step == $s and .status == "ok")' | wc -l)" 1
  done
  check "$run: no step.end other than ok" test -z "$(events $run.jsonl step.end | jq -c 'select(.status != "ok")')"
done

# ---- files: the parts, the restored tree and the dump's data, by SHA-256
tree_sums() { (cd "$1" && find . \( -type f -o -type l \) -print0 | sort -z | xargs -0 -r sha256sum; find . -type d | sort); }
same_tree() {  # A B
  diff <(tree_sums "$1") <(tree_sums "$2") > tree.diff || { head -5 tree.diff | sed 's/^/     | /'; false; }
}
check "the parts are the served files" same_tree "$SERVED/vendor" swept/parts
check "the parts equal the clean run's" same_tree clean/parts swept/parts
check "the restored tree is the backup's" same_tree tree swept/restored
check "and equals the clean run's" same_tree clean/restored swept/restored
dump_data() { (cd "$1" && sha256sum $(ls | grep -v '^migrate-dump\.\|^SHA256SUMS$') ); }
check "the dump's files equal the clean run's (all but the manifest, marker and list)" \
  diff <(dump_data clean/dump) <(dump_data swept/dump)
check "the dump's SHA256SUMS holds" eval "(cd swept/dump && sha256sum --quiet -c SHA256SUMS)"
check "nothing half-written is left (no *.partial anywhere)" test -z "$(find swept -name '*.partial*')"
check "the swept directories hold what the clean run's hold, nothing more" \
  diff <(cd clean && find . | sort) <(cd swept && find . | sort)

# ---- tables: CHECKSUM TABLE and row counts, against the clean run's and the source's
checksum() { db "$TARGET_PORT" -e "CHECKSUM TABLE $1.$2" | cut -f2; }
for table in orders events; do
  check "$table: the same CHECKSUM TABLE as the clean run's" same "$(checksum kill_anywhere_swept $table)" "$(checksum kill_anywhere_clean $table)"
  count=$(db "$TARGET_PORT" -e "SELECT COUNT(*) FROM kill_anywhere_swept.$table")
  check "$table: the same row count as the source ($count), no row twice" \
    same "$count" "$(db "$SOURCE_PORT" -e "SELECT COUNT(*) FROM $SRC_DB.$table")"
  check "$table: the source's rows" same "$(checksum kill_anywhere_swept $table)" "$(db "$SOURCE_PORT" -e "CHECKSUM TABLE $SRC_DB.$table" | cut -f2)"
done
check "the view came over" same "$(db "$TARGET_PORT" -e "SELECT COUNT(*) FROM kill_anywhere_swept.credits")" \
  "$(db "$SOURCE_PORT" -e "SELECT COUNT(*) FROM $SRC_DB.credits")"

# ---- every side effect counted: the metrics of the last step.end equal the clean run's
metric() { events "$1.jsonl" step.end | jq -r --arg s "$2" "select(.step == \$s) | $3"; }
check "download: bytes are the backup's size" same "$(metric swept download .metrics.bytes)" "$BACKUP_BYTES"
check "delta: rows copied = the rows changed after the backup ($DELTA_ROWS), as in the clean run" \
  same "$(metric swept delta .metrics.rows)/$(metric clean delta .metrics.rows)" "$DELTA_ROWS/$DELTA_ROWS"
check "delta: the same watermark as the clean run" same "$(metric swept delta .outputs.watermark)" "$(metric clean delta .outputs.watermark)"
check "dump: its tables and rows (kept ones counted once)" same "$(metric swept dump '"\(.metrics.tables) \(.metrics.rows)"')" \
  "$(metric clean dump '"\(.metrics.tables) \(.metrics.rows)"')"
check "load: every table loaded or kept" same "$(metric swept load '.metrics.tables + (.metrics.tables_kept // 0)')" "$(metric clean load .metrics.tables)"
sent() {
  tail -c +$((LOG_FROM + 1)) "$NGINX_DIR/logs/access.log" |
    awk -v p="/capped/kill-anywhere/$1/backup" '$7 ~ p { s += $10 } END { print s + 0 }'
}
echo "     bytes nginx sent: clean $(sent clean), swept $(sent swept) (backup $BACKUP_BYTES)"
check "the clean run fetched the backup once" same "$(sent clean)" "$BACKUP_BYTES"
check "the swept run fetched every byte, at most once per attempt" \
  test "$(sent swept)" -ge "$BACKUP_BYTES" -a "$(sent swept)" -le $((BACKUP_BYTES * (RESUMES + 1)))

if [ "$FAILED" -eq 0 ]; then
  for run in clean swept; do db "$TARGET_PORT" -e "DROP DATABASE kill_anywhere_$run"; done
  db "$SOURCE_PORT" -e "DROP DATABASE $SRC_DB"
  rm -rf "$SERVED"
fi
finish
