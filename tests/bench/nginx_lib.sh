# Sourced by the benchmarks that download from a local nginx (download.sh, before_after.sh).
#
#   bench_nginx_start DIR PORT [EXTRA]
#       writes DIR/nginx.conf (sendfile, no access log, loopback only, serving DIR/www, with
#       EXTRA as further lines of the server block, e.g. a capped location) and starts nginx
#       with DIR/nginx.pid; the caller stops it with: kill "$(cat DIR/nginx.pid)"

bench_nginx_start() {
    local dir=$1 port=$2 extra=${3:-}
    mkdir -p "$dir/www" "$dir/logs" "$dir/tmp"
    cat > "$dir/nginx.conf" <<CONF
daemon on;
pid $dir/nginx.pid;
error_log $dir/logs/error.log;
worker_processes 2;
events { worker_connections 256; }
http {
  access_log off;
  sendfile on;
  client_body_temp_path $dir/tmp/body;
  proxy_temp_path $dir/tmp/proxy;
  fastcgi_temp_path $dir/tmp/fastcgi;
  uwsgi_temp_path $dir/tmp/uwsgi;
  scgi_temp_path $dir/tmp/scgi;
  server {
    listen 127.0.0.1:$port;
    root $dir/www;
    $extra
  }
}
CONF
    /usr/sbin/nginx -c "$dir/nginx.conf" -p "$dir"
}
