#!/usr/bin/env bash
# The suite's sshd fixture (tests/e2e/sshd.sh) does what the fleet tests rely on: 46 machines
# h01-h46 on 127.0.0.2-127.0.0.47, each with its own HOME and MIGRATE_TEST_HOST, reached by
# ssh (by name and by address), rsync, scp (sftp and the legacy protocol), Ansible and
# parallel-ssh with the files the fixture writes.
# No set -e: lib.sh's expect_exit runs commands that are meant to fail.
set -uo pipefail
source "$(dirname "$0")/lib.sh"
DIR=${MIGRATE_TEST_SSH_DIR:?set by ctest: the sshd fixture directory}
PORT=${MIGRATE_TEST_SSH_PORT:?set by ctest: the sshd fixture port}
HOSTS=46
CFG=$DIR/ssh_config
name_of() { printf 'h%02d' "$1"; }
addr_of() { echo "127.0.0.$(($1 + 1))"; }
now_ms() { date +%s%3N; }

for f in ssh_config known_hosts inventory.ini pssh_hosts id_ed25519; do
  if [ ! -s "$DIR/$f" ]; then
    echo "FAIL $DIR/$f is missing (the sshd_start fixture should have written it)"
    FAILED=1; finish; exit 1
  fi
done

# --- one host by name: its name and its own directory
ssh -F "$CFG" h07 'echo $MIGRATE_TEST_HOST; pwd; echo $HOME' > h07.out 2> h07.err || true
check "ssh h07 runs in h07's directory with HOME and MIGRATE_TEST_HOST set" \
  lines_equal h07.out "h07
$DIR/hosts/h07
$DIR/hosts/h07"

# --- by address (the Host 127.0.0.* block), and from the second and third server
for n in 17 30 46; do
  got=$(ssh -F "$CFG" "$(addr_of "$n")" 'echo $MIGRATE_TEST_HOST' 2>&1 || true)
  check "ssh $(addr_of "$n") is $(name_of "$n") (answered '$got')" [ "$got" = "$(name_of "$n")" ]
done

# --- exit status, stdin and stderr pass through
expect_exit 3 "a command's exit status comes back through ssh" ssh -F "$CFG" h01 'echo out; echo err >&2; exit 3'
check "its stdout and stderr come back apart" lines_equal last.out "out"
check "its stderr" lines_equal last.err "err"
printf 'line one\nline two\n' | ssh -F "$CFG" h02 'cat > stdin.txt' || true
check "stdin reaches the command (h02/stdin.txt)" lines_equal "$DIR/hosts/h02/stdin.txt" "line one
line two"
ssh -F "$CFG" h02 < <(echo 'echo "script on $MIGRATE_TEST_HOST"') > script.out 2>&1 || true
check "no command: a script on stdin runs under sh" lines_equal script.out "script on h02"

# --- all 46 at once, each leaving an effect file in its own directory
rm -f "$DIR"/hosts/h*/fanout.effect
start=$(now_ms)
pids=()
for i in $(seq 1 "$HOSTS"); do
  ssh -F "$CFG" "$(name_of "$i")" 'echo "$MIGRATE_TEST_HOST $PWD"; echo "$SSH_CONNECTION" > fanout.effect' \
    > "fan.$i.out" 2> "fan.$i.err" &
  pids+=($!)
done
fan_failed=0
for pid in "${pids[@]}"; do wait "$pid" || fan_failed=$((fan_failed + 1)); done
elapsed=$(($(now_ms) - start))
echo "     46 hosts over ssh in parallel: ${elapsed} ms (load $(cut -d' ' -f1 /proc/loadavg))"
check "46 parallel ssh sessions all exit 0 ($fan_failed failed)" [ "$fan_failed" -eq 0 ]
wrong=""
for i in $(seq 1 "$HOSTS"); do
  h=$(name_of "$i")
  [ "$(cat "fan.$i.out")" = "$h $DIR/hosts/$h" ] || wrong+=" $h:out"
  # The effect in the host's own directory, written through the host's own address.
  [ "$(cut -d' ' -f3-4 "$DIR/hosts/$h/fanout.effect" 2> /dev/null)" = "$(addr_of "$i") $PORT" ] || wrong+=" $h:effect"
done
check "every host answered as itself and wrote its effect in its own directory${wrong:+ (wrong:$wrong)}" [ -z "$wrong" ]

# --- rsync and scp land in the host's directory
head -c 3000000 /dev/urandom > payload.bin
rm -rf "$DIR/hosts/h03/"{payload.bin,sub,scp-sftp.bin,scp-legacy.bin}
rsync -e "ssh -F $CFG" payload.bin h03: > rsync.out 2>&1 || cat rsync.out
check "rsync to h03: lands in h03's directory" cmp -s payload.bin "$DIR/hosts/h03/payload.bin"
rsync -a --partial -e "ssh -F $CFG" payload.bin h03:sub/ > rsync.out 2>&1 || cat rsync.out
check "rsync -a --partial to h03:sub/ makes the directory there" cmp -s payload.bin "$DIR/hosts/h03/sub/payload.bin"
scp -q -F "$CFG" payload.bin h03:scp-sftp.bin > scp.out 2>&1 || cat scp.out
check "scp (sftp protocol, the default) to h03 lands in h03's directory" cmp -s payload.bin "$DIR/hosts/h03/scp-sftp.bin"
scp -q -O -F "$CFG" payload.bin h03:scp-legacy.bin > scp.out 2>&1 || cat scp.out
check "scp -O (legacy scp protocol) to h03 lands in h03's directory" cmp -s payload.bin "$DIR/hosts/h03/scp-legacy.bin"
scp -q -F "$CFG" h03:scp-sftp.bin back.bin > scp.out 2>&1 || cat scp.out
check "scp from h03 fetches the file back" cmp -s payload.bin back.bin
check "nothing of it landed on another host" [ ! -e "$DIR/hosts/h02/payload.bin" ] && [ ! -e "$DIR/hosts/h04/scp-sftp.bin" ]

# --- Ansible with the fixture's inventory (its default ssh arguments: ControlMaster,
# ControlPersist). Pipelining on: one ssh session per host instead of five or six, the
# cheapest way through on a loaded CI machine (sftp is proven by scp above).
if command -v ansible > /dev/null; then
  export ANSIBLE_HOME=$WORK/ansible ANSIBLE_LOCAL_TEMP=$WORK/ansible/tmp ANSIBLE_SSH_CONTROL_PATH_DIR=$WORK/ansible/cp
  export ANSIBLE_NOCOLOR=1 ANSIBLE_RETRY_FILES_ENABLED=0 ANSIBLE_PIPELINING=1
  rm -f "$DIR"/hosts/h*/ansible.effect
  start=$(now_ms)
  # Ten workers: 46 Python workers at once only thrash two cores.
  expect_exit 0 "ansible all -m command on the 46 hosts" \
    ansible all -i "$DIR/inventory.ini" -m command -a 'touch ansible.effect' -f 10 -o
  echo "     ansible -f 10 on 46 hosts: $(($(now_ms) - start)) ms (load $(cut -d' ' -f1 /proc/loadavg))"
  check "ansible: 46 hosts CHANGED, rc=0" [ "$(grep -c '| CHANGED | rc=0' last.out)" -eq "$HOSTS" ]
  missing=""
  for i in $(seq 1 "$HOSTS"); do [ -e "$DIR/hosts/$(name_of "$i")/ansible.effect" ] || missing+=" $(name_of "$i")"; done
  check "ansible's command ran in every host's own directory${missing:+ (missing:$missing)}" [ -z "$missing" ]
  # Its persistent masters would outlive the test.
  for sock in "$WORK"/ansible/cp/*; do
    [ -S "$sock" ] && ssh -F "$CFG" -o ControlPath="$sock" -O exit h01 2> /dev/null || true
  done
else
  check "ansible is installed (apt-get install ansible)" false
fi

# --- parallel-ssh with the fixture's host file
pssh=$(command -v parallel-ssh || command -v pssh || true)
if [ -n "$pssh" ]; then
  start=$(now_ms)
  expect_exit 0 "parallel-ssh -p 46 on the 46 hosts" \
    "$pssh" -h "$DIR/pssh_hosts" -p 46 -t 0 -x "-F $CFG" -o pssh-out 'echo $MIGRATE_TEST_HOST'
  echo "     parallel-ssh -p 46 on 46 hosts: $(($(now_ms) - start)) ms (load $(cut -d' ' -f1 /proc/loadavg))"
  check "parallel-ssh: 46 SUCCESS lines" [ "$(grep -c '\[SUCCESS\]' last.out)" -eq "$HOSTS" ]
  wrong=""
  for i in $(seq 1 "$HOSTS"); do
    out=$(cat "pssh-out/$(id -un)@$(addr_of "$i"):$PORT" 2> /dev/null || true)
    [ "$out" = "$(name_of "$i")" ] || wrong+=" $(name_of "$i")"
  done
  check "parallel-ssh: every host's output is its own name${wrong:+ (wrong:$wrong)}" [ -z "$wrong" ]
else
  check "parallel-ssh is installed (apt-get install pssh)" false
fi

finish
