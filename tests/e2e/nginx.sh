#!/usr/bin/env bash
# Starts or stops the suite's own nginx on 127.0.0.1:$MIGRATE_TEST_HTTP_PORT, serving
# $DIR/www. Used as a ctest fixture; never binds anything but loopback.
set -eu
action=$1 dir=$2 port=$3
case "$action" in
start)
  if ! command -v nginx >/dev/null && [ ! -x /usr/sbin/nginx ]; then
    echo "nginx is not installed (apt-get install nginx-light)" >&2; exit 1
  fi
  rm -rf "$dir"; mkdir -p "$dir/www/api" "$dir/logs" "$dir/tmp"
  printf '{"backup":{"id":"b-1234","state":"ready","bytes":31457280000}}\n' > "$dir/www/api/backup.json"
  printf 'ok\n' > "$dir/www/health"
  cat > "$dir/nginx.conf" <<CONF
daemon on;
pid $dir/nginx.pid;
error_log $dir/logs/error.log;
worker_processes 1;
events { worker_connections 64; }
http {
  access_log $dir/logs/access.log;
  client_body_temp_path $dir/tmp/body;
  proxy_temp_path $dir/tmp/proxy;
  fastcgi_temp_path $dir/tmp/fastcgi;
  uwsgi_temp_path $dir/tmp/uwsgi;
  scgi_temp_path $dir/tmp/scgi;
  default_type application/octet-stream;
  server {
    listen 127.0.0.1:$port;
    root $dir/www;
    location = /api/order { return 202 '{"order":"o-77","eta_s":5}'; }
    location = /api/fail { return 503 'down for maintenance'; }
    location = /api/backup.json { default_type application/json; }
    # Each connection capped, as the vendor's cloud capped the backup download.
    location /capped/ { limit_rate 1m; }
  }
}
CONF
  /usr/sbin/nginx -c "$dir/nginx.conf" -p "$dir"
  for _ in $(seq 1 50); do curl -fs "http://127.0.0.1:$port/health" >/dev/null && exit 0; sleep 0.1; done
  echo "nginx did not answer on 127.0.0.1:$port" >&2; cat "$dir/logs/error.log" >&2; exit 1
  ;;
stop)
  [ -f "$dir/nginx.pid" ] && kill "$(cat "$dir/nginx.pid")" 2>/dev/null || true
  ;;
esac
