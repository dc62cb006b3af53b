#!/usr/bin/env bash
# Many machines: migrate's `ssh` and `transfer` kinds against the tools operators use, on the
# test suite's own sshd (tests/e2e/sshd.sh: 46 machines h01-h46 on 127.0.0.2-127.0.0.47,
# started here in the work directory on a port of its own). BENCH.md's goals:
#   1. fan-out, a trivial command (`true`) on 46 hosts, 46 at a time:
#        migrate `ssh` step (parallel 46)       >= 5x faster than Ansible, no slower than
#        ansible all -m command -a true -f 46   parallel-ssh
#        parallel-ssh -p 46
#      and, for reference, Ansible with pipelining (a common tuning) and 46 plain `ssh &` from
#      the shell (the floor: one handshake per host, nothing else);
#   2. one file (SIZE_MB, default 1024 MiB) to one host: migrate `transfer` within 1.1x of
#      plain rsync over the same ssh; scp (sftp) and rsync followed by a remote sha256sum
#      for reference.
# The migrate rows run only when `migrate kinds` lists the kind (ssh, transfer); the peers'
# figures are printed either way. Rounds are interleaved (interleave.sh): every command once
# per round, so a change in the machine's load hits all of them alike.
#
# Every command starts cold: Ansible's ControlPersist masters (its default ssh arguments) are
# closed before each command (hyperfine --prepare, not timed), so no run reuses the
# handshakes of the one before; the destination file is removed before each transfer. CPU
# times are the client side's (hyperfine's rusage of the command); sshd's share is not in it.
#
# Run by hand, not by CI. See tests/bench/README.md. Environment knobs:
#   MIGRATE=path     the binary (default: build-bench/migrate in the source tree)
#   ROUNDS=5         rounds after one warm-up round
#   SSH_PORT=port    the fixture's port (default: PORT_BASE+15, PORT_BASE default 23480)
#   SIZE_MB=1024     the transferred file
#   WITH_FANOUT=1, WITH_TRANSFER=1   0 to skip a part
#   QUIET=1          start each round only when nothing else runs (see interleave.sh)
#   BENCH_DIR=dir    where the data goes (default: a new dir under /var/tmp); KEEP=1 keeps it
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
MIGRATE=${MIGRATE:-$root/build-bench/migrate}
ROUNDS=${ROUNDS:-5}
PORT_BASE=${PORT_BASE:-23480}
SSH_PORT=${SSH_PORT:-$((PORT_BASE + 15))}
SIZE_MB=${SIZE_MB:-1024}
WITH_FANOUT=${WITH_FANOUT:-1}
WITH_TRANSFER=${WITH_TRANSFER:-1}
HOSTS=46
PSSH=$(command -v parallel-ssh || command -v pssh || echo parallel-ssh)  # Debian: parallel-ssh

source "$here/interleave.sh"
# The peers are measured even without a migrate binary.
migrate_bin=$MIGRATE
[ -x "$MIGRATE" ] || MIGRATE=/bin/true
bench_setup fanout.sh hyperfine jq ssh rsync scp ansible "$PSSH" sha256sum
[ -x /usr/sbin/sshd ] || { echo "fanout.sh: /usr/sbin/sshd is required (apt-get install openssh-server)" >&2; exit 2; }
MIGRATE=$migrate_bin
echo "tools:   $(ssh -V 2>&1), $(ansible --version | head -1), parallel-ssh $("$PSSH" --version 2>&1), $(rsync --version | head -1)"

# The fixture, stopped at exit whatever happens.
ssh_dir=$work/sshd
cleanup() {
  bash "$here/../e2e/sshd.sh" stop "$ssh_dir" "$SSH_PORT" || true
  [ "${KEEP:-0}" = 1 ] || rm -rf "$work"
}
trap cleanup EXIT
bash "$here/../e2e/sshd.sh" start "$ssh_dir" "$SSH_PORT"
cfg=$ssh_dir/ssh_config

# What this migrate binary can do.
has_kind() { [ -x "$MIGRATE" ] && "$MIGRATE" kinds 2> /dev/null | awk '{print $1}' | grep -qx "$1"; }
# validate_or_skip FILE KIND: the runbook must validate, or its rows are skipped with the reason.
validate_or_skip() {
  if "$MIGRATE" validate "$1" > "$1.validate" 2>&1; then return 0; fi
  echo "  migrate $2: $1 does not validate with this binary; its rows are skipped:" >&2
  sed 's/^/    /' "$1.validate" >&2
  return 1
}

# Ansible's own state here, not in ~/.ansible; its masters closed before every command.
export ANSIBLE_HOME=$work/ansible ANSIBLE_LOCAL_TEMP=$work/ansible/tmp ANSIBLE_SSH_CONTROL_PATH_DIR=$work/ansible/cp
export ANSIBLE_NOCOLOR=1 ANSIBLE_RETRY_FILES_ENABLED=0
mkdir -p "$work/ansible/cp"
cat > close-masters.sh <<SH
for s in "$work"/ansible/cp/*; do
  [ -S "\$s" ] && ssh -F "$cfg" -o ControlPath="\$s" -O exit h01 2> /dev/null
done
rm -f j.jsonl; rm -rf j.jsonl.logs
true
SH
# 46 plain ssh clients from the shell, waited for; fails if one does.
cat > ssh-loop.sh <<SH
pids=""
for i in \$(seq 1 $HOSTS); do ssh -F "$cfg" "\$(printf 'h%02d' "\$i")" true & pids="\$pids \$!"; done
for p in \$pids; do wait "\$p" || exit 1; done
SH

# fanout_table NAME: per command median wall time, min-max, per host, ratio to parallel-ssh,
# median client CPU, runs.
fanout_table() {
  jq -s -r --argjson hosts "$HOSTS" "$interleave_stats_jq"'
    | (map(select(.command | startswith("parallel-ssh"))) | .[0].wall) as $base
    | .[] | "| " + .command + " | " + (.wall | fmt | tostring) + " s | "
        + (.lo | fmt | tostring) + "–" + (.hi | fmt | tostring) + " s | "
        + (.wall / $hosts * 1000 | round | tostring) + " ms | "
        + (.wall / $base * 100 | round / 100 | tostring) + "× | "
        + (.cpu | fmt | tostring) + " s | " + (.n | tostring) + " |"' "$1".round-*.json
  echo
  echo "load average at the end of $1: $(cat "$1.load")"
}

if [ "$WITH_FANOUT" = 1 ]; then
  echo
  echo "== fan-out: true on $HOSTS hosts, $HOSTS at a time"
  cmds=()
  if has_kind ssh; then
    cat > fanout.yaml <<YAML
version: 1
name: fanout
roles: { executor: Engineer }
hosts:
  inventory: $ssh_dir/inventory.ini
phases:
  - id: p
    steps:
      - id: fan
        kind: ssh
        with: { hosts: all, command: "true", parallel: "$HOSTS", ssh_config: $cfg }
YAML
    if validate_or_skip fanout.yaml ssh; then
      cmds+=(-n "migrate ssh step, parallel $HOSTS" "$MIGRATE run fanout.yaml --journal j.jsonl --rehearsal --yes")
    fi
  else
    echo "  migrate: no ssh kind in \`migrate kinds\` of $MIGRATE; its row is skipped"
  fi
  cmds+=(-n "parallel-ssh -p $HOSTS" "$PSSH -h $ssh_dir/pssh_hosts -p $HOSTS -t 0 -x '-F $cfg' true"
    -n "ansible -m command -f $HOSTS (defaults)" "ansible all -i $ssh_dir/inventory.ini -m command -a true -f $HOSTS"
    -n "ansible -m command -f $HOSTS, pipelining" "ANSIBLE_PIPELINING=1 ansible all -i $ssh_dir/inventory.ini -m command -a true -f $HOSTS"
    -n "$HOSTS × ssh & from the shell" "sh ssh-loop.sh")
  interleave fanout "$ROUNDS" "sh close-masters.sh" "${cmds[@]}"
  echo
  echo "| command | median | min–max | per host | vs parallel-ssh | client CPU (user+sys) | runs |"
  echo "|---|---|---|---|---|---|---|"
  fanout_table fanout
  sh close-masters.sh
fi

if [ "$WITH_TRANSFER" = 1 ]; then
  echo
  echo "== one file to one host: ${SIZE_MB} MiB to h01 over ssh"
  head -c $((SIZE_MB << 20)) /dev/urandom > big.bin
  size=$(stat -c %s big.bin)
  cat big.bin > /dev/null
  dest=$ssh_dir/hosts/h01
  echo "  ssh cipher: $(ssh -F "$cfg" -v h01 true 2>&1 | sed -n 's/.*cipher: \([^ ]*\).*/\1/p' | head -1)"
  clean="rm -rf $dest/big.bin $dest/.big.bin.* $dest/migrate-transfer* j.jsonl j.jsonl.logs"
  cmds=(-n "rsync -e ssh" "rsync -e 'ssh -F $cfg' big.bin h01:big.bin"
    -n "rsync -e ssh, then sha256sum on the host" "rsync -e 'ssh -F $cfg' big.bin h01:big.bin && ssh -F $cfg h01 sha256sum big.bin > /dev/null"
    -n "scp (sftp)" "scp -q -F $cfg big.bin h01:big.bin")
  if has_kind transfer; then
    # rsync with the source's and the copy's SHA-256 compared (docs/kinds/transfer.md).
    cat > transfer.yaml <<YAML
version: 1
name: transfer
roles: { executor: Engineer }
hosts:
  inventory: $ssh_dir/inventory.ini
phases:
  - id: p
    steps:
      - id: put
        kind: transfer
        with: { hosts: h01, from: $work/big.bin, to: big.bin, ssh_config: $cfg }
YAML
    if validate_or_skip transfer.yaml transfer; then
      cmds+=(-n "migrate transfer" "$MIGRATE run transfer.yaml --journal j.jsonl --rehearsal --yes")
    fi
  else
    echo "  migrate: no transfer kind in \`migrate kinds\` of $MIGRATE; its row is skipped"
  fi
  interleave transfer "$ROUNDS" "$clean" "${cmds[@]}"
  cmp big.bin "$dest/big.bin" || { echo "fanout.sh: the last transfer's file differs from big.bin" >&2; exit 1; }
  echo
  interleave_header throughput rsync
  interleave_table transfer "$size"
  eval "$clean"
fi
