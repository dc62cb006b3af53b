#!/usr/bin/env bash
# Starts or stops the suite's own OpenSSH servers: 46 "machines" on loopback, addressed as
# 127.0.0.2 ... 127.0.0.47, all on one PORT. Used as a ctest fixture (and by
# tests/bench/fanout.sh); never binds anything but loopback.
#
#   sshd.sh start DIR PORT    fresh keys and configuration in DIR (DIR is wiped), servers
#                             started, returns once every address accepts a login
#   sshd.sh stop DIR PORT     stops every server started from DIR, waits for PORT to be free
#
# sshd listens on at most 16 sockets (MAX_LISTEN_SOCKS, fixed when it is compiled: a 17th
# ListenAddress is a fatal "Too many listen sockets"), so the 46 addresses are served by
# ceil(46 / 16) = 3 servers, DIR/sshd-K.conf, each run with `sshd -D -e` in the background.
#
# Host hNN (h01 = 127.0.0.2 ... h46 = 127.0.0.47) is the address the client connected to:
# the ForceCommand DIR/host-shell reads it from $SSH_CONNECTION, sets HOME to DIR/hosts/hNN,
# exports MIGRATE_TEST_HOST=hNN, changes to that directory and runs the client's command
# there with /bin/sh -c (sftp, hence scp, and rsync included). So per-host effects are files
# under DIR/hosts/hNN.
#
# For the clients, in DIR: ssh_config (Host h01 ... h46 and 127.0.0.*: port, user, key,
# known_hosts, BatchMode), known_hosts, id_ed25519 (the client key), inventory.ini (Ansible
# INI, group `web`), pssh_hosts (parallel-ssh's host file).
# MIGRATE_TEST_SSH_HOSTS (default 46, at most 254 - 1) changes the number of machines;
# MIGRATE_TEST_SSHD_LOG_LEVEL (default ERROR) sshd's LogLevel (logs: DIR/sshd-K.log).
set -euo pipefail
action=${1:-} dir=${2:-} port=${3:-}
if [ -z "$action" ] || [ -z "$dir" ] || [ -z "$port" ]; then
  echo "usage: $0 start|stop DIR PORT" >&2
  exit 2
fi
hosts=${MIGRATE_TEST_SSH_HOSTS:-46}
per_server=16  # sshd's MAX_LISTEN_SOCKS
sshd=/usr/sbin/sshd
sftp_server=/usr/lib/openssh/sftp-server
user=$(id -un)

# Host number i (1..) is ${names[i]} at ${addrs[i]}; computed once (no subshell per use).
names=() addrs=()
for ((i = 1; i <= hosts; i++)); do
  printf -v 'names[i]' 'h%02d' "$i"
  addrs[i]=127.0.0.$((i + 1))
done

# How many of our addresses (127.0.0.2 ... ) have a listening TCP socket on $port, read from
# /proc/net/tcp (addresses there are little-endian hex: 127.0.0.2:22 is 0200007F:0016).
listen_keys=""
for ((i = 1; i <= hosts; i++)); do
  printf -v key '%02X00007F:%04X' "$((i + 1))" "$port"
  listen_keys+="$key "
done
listening() {
  awk -v keys="$listen_keys" 'BEGIN { n = split(keys, k, " "); for (i = 1; i <= n; i++) want[k[i]] = 1 }
    $4 == "0A" && ($2 in want) { c++ }
    END { print c + 0 }' /proc/net/tcp
}

# A process that still runs. A zombie has finished: on some machines init takes a second or
# two to reap the servers once they have exited.
alive() { [ -e "/proc/$1" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2> /dev/null; }

show_logs() {
  local log
  for log in "$dir"/sshd-*.log; do
    [ -f "$log" ] || continue
    echo "--- $log (last lines)" >&2
    tail -n 20 "$log" >&2 || true
  done
  if command -v ss > /dev/null; then
    echo "--- listening on port $port:" >&2
    ss -Hltnp "sport = :$port" >&2 || true
  fi
}

stop_servers() {
  local pidfile pid i
  for pidfile in "$dir"/sshd-*.pid; do
    [ -f "$pidfile" ] || continue
    pid=$(cat "$pidfile" 2> /dev/null || true)
    rm -f "$pidfile"
    [ -n "$pid" ] && alive "$pid" || continue
    # The per-connection children first (they outlive the listener otherwise), then it.
    pkill -TERM -P "$pid" 2> /dev/null || true
    kill -TERM "$pid" 2> /dev/null || true
    for i in $(seq 1 100); do
      alive "$pid" || break
      sleep 0.05
    done
    if alive "$pid"; then
      echo "sshd ($pid) did not stop within 5 s; killing it" >&2
      kill -KILL "$pid" 2> /dev/null || true
    fi
  done
  for i in $(seq 1 100); do
    [ "$(listening)" -eq 0 ] && return 0
    sleep 0.05
  done
  echo "port $port is still in use on 127.0.0.2-${addrs[hosts]} after stopping sshd" >&2
  show_logs
  return 1
}

write_files() {
  local i k first last n addr hostkey_pub
  rm -rf "$dir"
  mkdir -p "$dir/hosts" "${names[@]/#/$dir/hosts/}"
  ssh-keygen -q -t ed25519 -N '' -C "migrate-test-host" -f "$dir/ssh_host_ed25519_key"
  ssh-keygen -q -t ed25519 -N '' -C "migrate-test-client" -f "$dir/id_ed25519"
  cp "$dir/id_ed25519.pub" "$dir/authorized_keys"
  chmod 600 "$dir/id_ed25519" "$dir/ssh_host_ed25519_key"

  # The ForceCommand: one state directory per address.
  cat > "$dir/host-shell" <<SH
#!/bin/sh
# ForceCommand of the test suite's sshd (tests/e2e/sshd.sh): the machine is the address the
# client connected to (3rd field of SSH_CONNECTION), its state directory $dir/hosts/hNN.
set -eu
set -- \${SSH_CONNECTION:-}
addr=\${3:-}
case "\$addr" in
  127.0.0.*) ;;
  *) echo "host-shell: not a test address: '\$addr'" >&2; exit 255 ;;
esac
n=\$((\${addr##*.} - 1))
host=\$(printf 'h%02d' "\$n")
home=$dir/hosts/\$host
[ -d "\$home" ] || { echo "host-shell: no state directory \$home for \$addr" >&2; exit 255; }
HOME=\$home MIGRATE_TEST_HOST=\$host
export HOME MIGRATE_TEST_HOST
cd "\$home"
case "\${SSH_ORIGINAL_COMMAND:-}" in
  # A subsystem under ForceCommand arrives as the Subsystem line's command; internal-sftp
  # cannot run outside sshd, so it becomes the external server.
  internal-sftp | internal-sftp\ * | sftp) exec $sftp_server ;;
  "") exec /bin/sh ;;
  *) exec /bin/sh -c "\$SSH_ORIGINAL_COMMAND" ;;
esac
SH
  chmod 755 "$dir/host-shell"

  # One server per 16 addresses.
  k=0
  for ((first = 1; first <= hosts; first += per_server)); do
    k=$((k + 1))
    last=$((first + per_server - 1))
    [ "$last" -le "$hosts" ] || last=$hosts
    {
      echo "# The test suite's sshd $k: machines ${names[first]}-${names[last]} (tests/e2e/sshd.sh)"
      for ((n = first; n <= last; n++)); do echo "ListenAddress ${addrs[n]}:$port"; done
      cat <<CONF
HostKey $dir/ssh_host_ed25519_key
PidFile $dir/sshd-$k.pid
AuthorizedKeysFile $dir/authorized_keys
AllowUsers $user
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
HostbasedAuthentication no
UsePAM no
StrictModes no
UseDNS no
# sshd runs each session through the account's shell; bash run by sshd reads ~/.bashrc unless
# SHLVL says it is a nested shell. An interactive root's .bashrc (pyenv init, say) made every
# command on a test host hundreds of milliseconds slower, the fleet tests minutes slower.
SetEnv SHLVL=1
MaxStartups 200
MaxSessions 100
MaxAuthTries 3
LoginGraceTime 30
PrintMotd no
PrintLastLog no
X11Forwarding no
LogLevel ${MIGRATE_TEST_SSHD_LOG_LEVEL:-ERROR}
Subsystem sftp $sftp_server
ForceCommand $dir/host-shell
CONF
    } > "$dir/sshd-$k.conf"
  done

  # The clients' side.
  hostkey_pub=$(cut -d' ' -f1-2 "$dir/ssh_host_ed25519_key.pub")
  : > "$dir/known_hosts"
  : > "$dir/pssh_hosts"
  {
    echo "# The test suite's sshd (tests/e2e/sshd.sh): use with ssh -F $dir/ssh_config hNN"
    for i in $(seq 1 "$hosts"); do printf 'Host %s\n  HostName %s\n' "${names[i]}" "${addrs[i]}"; done
    printf 'Host'; for i in $(seq 1 "$hosts"); do printf ' %s' "${names[i]}"; done; printf ' 127.0.0.*\n'
    cat <<CONF
  Port $port
  User $user
  IdentityFile $dir/id_ed25519
  IdentitiesOnly yes
  UserKnownHostsFile $dir/known_hosts
  GlobalKnownHostsFile /dev/null
  StrictHostKeyChecking yes
  BatchMode yes
  ConnectTimeout 10
  LogLevel ERROR
CONF
  } > "$dir/ssh_config"
  {
    echo "# The test suite's sshd (tests/e2e/sshd.sh): $hosts machines on loopback"
    echo "[web]"
    for i in $(seq 1 "$hosts"); do
      echo "${names[i]} ansible_host=${addrs[i]} ansible_port=$port ansible_user=$user"
      echo "[${addrs[i]}]:$port $hostkey_pub" >> "$dir/known_hosts"
      echo "$user@${addrs[i]}:$port" >> "$dir/pssh_hosts"
    done
    echo
    echo "[web:vars]"
    echo "ansible_ssh_common_args='-F $dir/ssh_config'"
    echo "ansible_ssh_private_key_file=$dir/id_ed25519"
    echo "ansible_python_interpreter=/usr/bin/python3"
  } > "$dir/inventory.ini"
}

start_servers() {
  local conf k pid i running
  local -a pids=()
  # The privilege separation directory (root only: an unprivileged sshd does without).
  [ "$(id -u)" != 0 ] || mkdir -p -m 0755 /run/sshd
  for conf in "$dir"/sshd-*.conf; do
    if ! "$sshd" -t -f "$conf" 2> "$dir/sshd-check.err"; then
      echo "sshd rejects $conf:" >&2
      cat "$dir/sshd-check.err" >&2
      exit 1
    fi
  done
  for conf in "$dir"/sshd-*.conf; do
    k=$(basename "$conf" .conf)
    # Detached from ctest's pipes (or ctest would wait for the servers to end).
    setsid "$sshd" -D -e -f "$conf" < /dev/null >> "$dir/$k.log" 2>&1 &
    pids+=($!)
  done
  for i in $(seq 1 200); do
    [ "$(listening)" -eq "$hosts" ] && break
    running=0
    for pid in "${pids[@]}"; do alive "$pid" && running=$((running + 1)); done
    if [ "$running" -ne "${#pids[@]}" ]; then
      echo "an sshd exited during start-up (port $port in use on one of 127.0.0.2-${addrs[hosts]}?)" >&2
      show_logs
      stop_servers || true
      exit 1
    fi
    sleep 0.05
  done
  if [ "$(listening)" -ne "$hosts" ]; then
    echo "only $(listening) of $hosts addresses listen on port $port after 10 s" >&2
    show_logs
    stop_servers || true
    exit 1
  fi
  # A login on the first machine of every server, at once: keys, known_hosts and ForceCommand
  # work.
  local -a checks=()
  for ((i = 1; i <= hosts; i += per_server)); do
    ssh -F "$dir/ssh_config" "${names[i]}" 'echo "$MIGRATE_TEST_HOST $PWD"' \
      > "$dir/login-check-$i.out" 2> "$dir/login-check-$i.err" &
    checks+=($!)
  done
  wait "${checks[@]}" || true
  local want got failed=0
  for ((i = 1; i <= hosts; i += per_server)); do
    want="${names[i]} $dir/hosts/${names[i]}"
    got=$(cat "$dir/login-check-$i.out")
    if [ "$got" != "$want" ]; then
      echo "login to ${names[i]} (${addrs[i]}:$port) answered '$got', expected '$want':" >&2
      cat "$dir/login-check-$i.err" >&2
      failed=1
    fi
  done
  rm -f "$dir"/login-check-*
  if [ "$failed" = 1 ]; then
    show_logs
    stop_servers || true
    exit 1
  fi
}

case "$action" in
start)
  [ -x "$sshd" ] || { echo "$sshd is missing (apt-get install openssh-server)" >&2; exit 1; }
  command -v ssh-keygen > /dev/null || { echo "ssh-keygen is missing (apt-get install openssh-client)" >&2; exit 1; }
  if [ "$hosts" -lt 1 ] || [ "$hosts" -gt 253 ]; then
    echo "MIGRATE_TEST_SSH_HOSTS must be 1-253, not $hosts" >&2; exit 2
  fi
  [ -d "$dir" ] && { stop_servers || exit 1; }
  write_files
  start_servers
  echo "sshd: $hosts machines h01-${names[hosts]} on 127.0.0.2-${addrs[hosts]}:$port; ssh -F $dir/ssh_config h01"
  ;;
stop)
  [ -d "$dir" ] || exit 0
  stop_servers
  ;;
*)
  echo "usage: $0 start|stop DIR PORT" >&2
  exit 2
  ;;
esac
