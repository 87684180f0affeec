# shellcheck shell=bash
# nginx plug-in for bench/run (reverse proxy, http module).  Sourced in a
# subshell; see bench/README.md for the contract.
#
# Can do: both upstream flavours.  HTTP-aware; pools upstream connections
# (upstream block with keepalive 128, proxy_http_version 1.1 and an empty
# Connection header), resumes upstream TLS sessions (proxy_ssl_session_reuse,
# the default).  Upstream TLS 1.0 under OpenSSL 3 needs
#   proxy_ssl_ciphers DEFAULT:@SECLEVEL=0
# (without it: 502, "legacy sigalg disallowed or unsupported" in the error
# log); proxy_ssl_protocols TLSv1 pins the version.
# Workers: worker_processes $WORKERS; listen ... reuseport, so the kernel
# spreads connections over the workers as it does for tlsbroker (SO_REUSEPORT)
# and HAProxy's threads; without it one worker may take nearly all of 10,000
# idle connections.
# Buffers: request bodies up to 128 KiB stay in memory
# (client_body_buffer_size 128k; the default 16k would write every ERP body
# above 16 KiB to a temp file), responses are relayed through 8 x 16 KiB
# buffers and never spooled to disk (proxy_max_temp_file_size 0: the 64 MiB
# bulk would otherwise go through a temp file).  nginx answers a client's
# "Expect: 100-continue" itself when it reads the body and does not pass
# Expect on (its proxy module clears the header).
# Logging is off unless ACCESS_LOG is set: then the combined format,
# unbuffered (one write per request), to that file.
# Under PROXY_WRAP (valgrind) nginx runs as one process (master_process off:
# the worker's event loop in the first process): valgrind's gdbserver, which
# the massif snapshots use, does not follow a fork.

proxy_packages()   { echo nginx; }
proxy_notes()      { echo "both flavours; HTTP-aware; pools upstream connections (keepalive 128) and resumes upstream TLS sessions; upstream TLS 1.0 needs proxy_ssl_ciphers DEFAULT:@SECLEVEL=0 (without: 502); worker_processes = WORKERS with listen reuseport; bodies up to 128 KiB kept in memory, responses never spooled to disk (proxy_max_temp_file_size 0); answers Expect: 100-continue itself."; }
proxy_modes()      { echo "tls10 plain"; }
proxy_version()    { nginx -v 2>&1 | head -n1; }
proxy_access_log() { echo "access_log combined format, unbuffered, to a file"; }
proxy_idle_fds()   { echo 1; }   # file descriptors per idle client connection

proxy_start() {
    local up_scheme=http up_tls="" log="access_log off;"
    if [ "$UPSTREAM_MODE" = tls10 ]; then
        up_scheme=https
        up_tls="proxy_ssl_protocols TLSv1;
        proxy_ssl_ciphers DEFAULT:@SECLEVEL=0;
        proxy_ssl_verify on;
        proxy_ssl_verify_depth 2;
        proxy_ssl_trusted_certificate $CA;
        proxy_ssl_name $UPSTREAM_NAME;
        proxy_ssl_server_name on;
        proxy_ssl_session_reuse on;"
    fi
    [ -n "${ACCESS_LOG:-}" ] && log="access_log $ACCESS_LOG combined;"
    local fds=${FD_LIMIT:-$(ulimit -n)} master=on
    [ -n "${PROXY_WRAP:-}" ] && master=off
    cat > "$WORKDIR/nginx.conf" <<CONF
worker_processes $WORKERS;
worker_rlimit_nofile $fds;
daemon off;
master_process $master;
pid $WORKDIR/nginx.pid;
error_log $WORKDIR/error.log warn;
events { worker_connections $((fds - 100)); }
http {
    client_body_temp_path $WORKDIR/tmp_body;
    proxy_temp_path $WORKDIR/tmp_proxy;
    fastcgi_temp_path $WORKDIR/tmp_fcgi;
    uwsgi_temp_path $WORKDIR/tmp_uwsgi;
    scgi_temp_path $WORKDIR/tmp_scgi;
    $log
    keepalive_timeout 120s;
    keepalive_requests 1000000;
    client_max_body_size 16m;
    client_body_buffer_size 128k;
    upstream legacy {
        server $UPSTREAM_HOST:$UPSTREAM_PORT;
        keepalive 128;
        keepalive_requests 1000000;
        keepalive_timeout 120s;
    }
    server {
        listen 127.0.0.1:$LISTEN_PORT ssl reuseport backlog=4096;
        ssl_certificate $CERT;
        ssl_certificate_key $KEY;
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_session_cache shared:INBOUND:20m;
        ssl_session_timeout 10m;
        location / {
            proxy_pass $up_scheme://legacy;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host \$host;
            proxy_buffer_size 16k;
            proxy_buffers 8 16k;
            proxy_max_temp_file_size 0;
            $up_tls
        }
    }
}
CONF
    nginx -t -q -c "$WORKDIR/nginx.conf" || return 1
    # shellcheck disable=SC2086
    ${PROXY_WRAP:-} nginx -c "$WORKDIR/nginx.conf" > "$WORKDIR/nginx.out" 2>&1 &
    echo $! > "$WORKDIR/pid"
}
