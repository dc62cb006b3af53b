#!/usr/bin/env bash
# cutover and maintenance against the suite's nginx and sshd: a symlink switched atomically
# and kept when the health check passes; switched back (here and on five hosts) when it fails;
# a file replaced; a maintenance page put up and taken down with its answer checked.
source "$(dirname "$0")/lib.sh"
WWW=$MIGRATE_TEST_SERVERS/nginx/www
SSH_DIR=${MIGRATE_TEST_SSH_DIR:?the sshd fixture sets MIGRATE_TEST_SSH_DIR}
HOSTS=$SSH_DIR/hosts
tag=cut$$
site=$WWW/$tag
mkdir -p "$site/releases/v1" "$site/releases/v2" "$site/releases/v3"
echo "v1 ok" > "$site/releases/v1/health.txt"
echo "v2 ok" > "$site/releases/v2/health.txt"
# v3 is broken: no health.txt
ln -s releases/v1 "$site/current"
URL=http://127.0.0.1:$MIGRATE_TEST_HTTP_PORT/$tag

cat > cut.yaml <<YAML
version: 1
name: cut
roles: { executor: Engineer }
vars: { release: v2 }
hosts: { inventory: $SSH_DIR/inventory.ini }
phases:
  - id: p
    steps:
      - id: close
        kind: noop
        downtime: start
      - id: switch
        kind: cutover
        with:
          symlink: $site/current
          target: "releases/\${release}"
          health_url: $URL/current/health.txt
          health_contains: "\${release} ok"
          health_interval: 1s
          health_deadline: 3s
YAML
expect_exit 0 "a cutover whose health check passes" "$MIGRATE" run cut.yaml --rehearsal --yes --journal ok.jsonl
check "the link points at v2" test "$(readlink "$site/current")" = releases/v2
check "no previous copy is left behind" test -z "$(ls -d "$site"/current.migrate-* 2>/dev/null)"
check "the cutover ended the downtime window by default" test "$(jq -r 'select(.ev=="step.start" and .step=="switch") | .downtime' ok.jsonl)" = end
expect_exit 0 "report shows the window" "$MIGRATE" report ok.jsonl
check "report: the window closed at the cutover" grep -q "downtime" last.out

expect_exit 1 "a cutover to a broken release fails its health check" "$MIGRATE" run cut.yaml --rehearsal --yes --journal bad.jsonl --set release=v3
check "the error says the check failed and the switch was undone" grep -q "not healthy within .*the switch was undone: the previous symlink is back at $site/current" last.out
check "the link points at v2 again" test "$(readlink "$site/current")" = releases/v2
check "the site answers v2" test "$(curl -s "$URL/current/health.txt")" = "v2 ok"

# A file replaced atomically, with a reload command.
echo "db=old" > "$site/app.conf"
echo "db=new" > new.conf
cat > file.yaml <<YAML
version: 1
name: file
phases:
  - id: p
    steps:
      - id: conf
        kind: cutover
        with: { file: $site/app.conf, content: $WORK/new.conf, reload: "echo reloaded >> $WORK/reloads", health_url: $URL/app.conf, health_contains: "db=new" }
YAML
expect_exit 0 "a file replaced and reloaded" "$MIGRATE" run file.yaml --rehearsal --yes --journal file.jsonl
check "the file has the new content" test "$(cat "$site/app.conf")" = "db=new"
check "the reload ran once" test "$(cat reloads)" = reloaded

# On five hosts over ssh: the health check fails, every host gets its link back.
for h in h01 h02 h03 h04 h05; do mkdir -p "$HOSTS/$h/$tag/r1" "$HOSTS/$h/$tag/r2"; ln -sfn r1 "$HOSTS/$h/$tag/app"; done
cat > hosts.yaml <<YAML
version: 1
name: hosts-cut
hosts: { inventory: $SSH_DIR/inventory.ini }
phases:
  - id: p
    steps:
      - id: fleet
        kind: cutover
        with:
          hosts: "web[0:4]"
          ssh_config: $SSH_DIR/ssh_config
          symlink: $tag/app
          target: r2
          reload: "echo reload >> $tag/reloads"
          health_url: $URL/nothing-here
          health_interval: 1s
          health_deadline: 2s
YAML
expect_exit 1 "a cutover on five hosts fails its health check" "$MIGRATE" run hosts.yaml --rehearsal --yes --journal hosts.jsonl
links_back=0
for h in h01 h02 h03 h04 h05; do [ "$(readlink "$HOSTS/$h/$tag/app")" = r1 ] && links_back=$((links_back + 1)); done
check "all five hosts point at r1 again" test "$links_back" -eq 5
check "each host reloaded twice (switch, undo)" test "$(cat "$HOSTS"/h0[1-5]/$tag/reloads | wc -l)" -eq 10
check "h06 was not touched" test ! -e "$HOSTS/h06/$tag"
check "five step.host records" test "$(jq -r 'select(.ev=="step.host") | .host' hosts.jsonl | sort -u | wc -l)" -eq 5

# The switch itself fails on one host (its directory is a file there): the hosts it reached
# are switched back, and the broken host is left as it was.
for h in h01 h02 h04 h05; do ln -sfn r1 "$HOSTS/$h/$tag/app"; done
rm -rf "$HOSTS/h03/$tag"; echo "not a directory" > "$HOSTS/h03/$tag"
sed -e 's|health_url: $URL/nothing-here|health_url: $URL/current/health.txt|' hosts.yaml > broken.yaml
expect_exit 1 "a switch that fails on one of five hosts" "$MIGRATE" run broken.yaml --rehearsal --yes --journal broken.jsonl
check "the error names h03 and says the switch was undone" grep -q "h03.*the switch was undone" last.out
links_back=0
for h in h01 h02 h04 h05; do [ "$(readlink "$HOSTS/$h/$tag/app")" = r1 ] && links_back=$((links_back + 1)); done
check "the four hosts the switch reached point at r1 again" test "$links_back" -eq 4
check "h03's file is untouched" test "$(cat "$HOSTS/h03/$tag")" = "not a directory"
check "no kept copies are left behind" test -z "$(ls -d "$HOSTS"/h0[1245]/$tag/app.migrate-* 2>/dev/null)"
rm -f "$HOSTS/h03/$tag"

# Maintenance page up, checked; then down, checked.
echo "<h1>Down for maintenance</h1>" > page.html
cat > maint.yaml <<YAML
version: 1
name: maint
phases:
  - id: p
    steps:
      - id: up
        kind: maintenance
        with: { state: "on", page: $WORK/page.html, path: $site/maintenance.html, check_url: $URL/maintenance.html, check_status: "200", check_contains: "maintenance" }
      - id: down
        kind: maintenance
        with: { state: "off", path: $site/maintenance.html, check_url: $URL/maintenance.html, check_status: "404", health_interval: 1s, health_deadline: 3s }
YAML
expect_exit 0 "the maintenance page goes up and comes down" "$MIGRATE" run maint.yaml --rehearsal --yes --journal maint.jsonl
check "both checks passed" test "$(grep -c 'health check passed' last.out)" -eq 2
check "the page is gone" test ! -e "$site/maintenance.html"
sed -e 's/check_status: "404"/check_status: "200"/' maint.yaml > maint-bad.yaml
expect_exit 1 "taking the page down fails when the URL still answers" "$MIGRATE" run maint-bad.yaml --rehearsal --yes --journal maint-bad.jsonl
check "the error says the page is still up" contains last.out "the maintenance page is still up"

rm -rf "$site"; for h in h01 h02 h03 h04 h05; do rm -rf "$HOSTS/$h/$tag"; done
finish
