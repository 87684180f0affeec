# SPDX-License-Identifier: MIT
#
# Endpoint launchers for the integration tests, sourced by lib.sh.  Each
# start_ep_* takes NAME PORT, binds ONLY 127.0.0.1:PORT, runs in the
# background with its output in $TB_TMP/ep-NAME.log, is tracked for the EXIT
# trap, and returns once the port listens (bounded poll, no probe
# connection).  The endpoint types are the legacy servers seen behind ERP
# integrations; the comment on each names its class (a-tls10-cbc, ...), what
# it does and what a stock OpenSSL 3.0 client needs to reach it.

# _ep_run NAME PORT CMD...: start CMD in the background and wait for PORT.
_ep_run()
{
	_ep_name=$1
	_ep_port=$2
	shift 2
	"$@" </dev/null >"$TB_TMP/ep-$_ep_name.log" 2>&1 &
	_ep_pid=$!
	track "$_ep_pid" "$TB_TMP/ep-$_ep_name.log"
	eval "EP_PID_$(printf '%s' "$_ep_name" | tr -c 'A-Za-z0-9_' _)=$_ep_pid"
	eval "EP_PORT_$(printf '%s' "$_ep_name" | tr -c 'A-Za-z0-9_' _)=$_ep_port"
	wait_for_port "$_ep_port" "$_ep_pid"
}

# ep_pid NAME: PID of a started endpoint.
ep_pid()
{
	eval "printf '%s\n' \"\${EP_PID_$(printf '%s' "$1" | tr -c 'A-Za-z0-9_' _)}\""
}

# ep_port NAME: the port a started endpoint listens on.
ep_port()
{
	eval "printf '%s\n' \"\${EP_PORT_$(printf '%s' "$1" | tr -c 'A-Za-z0-9_' _):-}\""
}

# ep_log NAME: path of an endpoint's log.
ep_log()
{
	printf '%s\n' "$TB_TMP/ep-$1.log"
}

# ep_conns NAME: connections a pyserver endpoint accepted so far.
ep_conns()
{
	grep -c ' from 127\.0\.0\.1:' "$(ep_log "$1")" || true
}

# stop_ep NAME: stop one endpoint now.
stop_ep()
{
	stop_pid "$(ep_pid "$1")"
}

# ---- openssl s_server --------------------------------------------------------

# start_sserver NAME PORT ARGS...: `openssl s_server -www` (answers GET / with
# a status page that names the negotiated protocol, "Protocol  : TLSv1").
start_sserver()
{
	_ep_n=$1
	_ep_p=$2
	shift 2
	make_pki
	_ep_run "$_ep_n" "$_ep_p" openssl s_server -accept "127.0.0.1:$_ep_p" \
	    -www "$@"
}

# a-tls10-cbc: TLS 1.0 only, any suite at level 0 (ECDHE-RSA-AES128-SHA is
# picked).  Needs sec0 (or krsa); baseline: "legacy sigalg disallowed".
start_ep_tls10()
{
	start_sserver "$1" "$2" -cert "$PKI/legacy.pem" -key "$PKI/legacy.key" \
	    -tls1 -cipher 'DEFAULT:@SECLEVEL=0'
}

# b-tls11-cbc: the same with TLS 1.1 only.
start_ep_tls11()
{
	start_sserver "$1" "$2" -cert "$PKI/legacy.pem" -key "$PKI/legacy.key" \
	    -tls1_1 -cipher 'DEFAULT:@SECLEVEL=0'
}

# c2-tls10-rsakx: TLS 1.0 only, plain-RSA key exchange only (AES128-SHA,
# AES256-SHA).  Reachable by a client at security level 2 with verification
# on.  The server itself needs level 0: OpenSSL 3.0's s_server refuses to
# pick its (unused) TLS 1.0 MD5+SHA-1 sigalg above it ("no suitable
# signature algorithm").
start_ep_tls10_rsakx()
{
	start_sserver "$1" "$2" -cert "$PKI/legacy.pem" -key "$PKI/legacy.key" \
	    -tls1 -cipher 'AES128-SHA:AES256-SHA:@SECLEVEL=0'
}

# e1/e2 dhe1024: TLS 1.0-1.2, DHE-RSA suites only, 1024-bit group.  TLS 1.0
# needs sec0; TLS 1.2 needs sec1; baseline: "dh key too small".
start_ep_dhe1024()
{
	need_dhparam
	start_sserver "$1" "$2" -cert "$PKI/legacy.pem" -key "$PKI/legacy.key" \
	    -no_tls1_3 -dhparam "$PKI/dh1024.pem" \
	    -cipher 'DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES128-SHA:@SECLEVEL=0'
}

# f-tls12-expired: TLS 1.2 only, expired self-signed certificate.  Needs
# verification off plus a pin; baseline: "self-signed certificate".
start_ep_expired()
{
	start_sserver "$1" "$2" -cert "$PKI/expired.pem" \
	    -key "$PKI/expired.key" -tls1_2
}

# e3-tls12-weakcert: TLS 1.2, RSA-1024 leaf SHA-1-signed by the test CA.
# Needs sec0 (verification on); baseline: "EE certificate key too weak".
start_ep_weakcert()
{
	start_sserver "$1" "$2" -cert "$PKI/weak.pem" -key "$PKI/weak.key" \
	    -tls1_2 -cipher 'DEFAULT:@SECLEVEL=0'
}

# h3-tls12plus: TLS 1.2/1.3 only; a client pinned to TLS 1.0 gets alert 70
# (protocol_version).
start_ep_tls12plus()
{
	start_sserver "$1" "$2" -cert "$PKI/legacy.pem" -key "$PKI/legacy.key" \
	    -min_protocol TLSv1.2
}

# ---- lighttpd + mod_gnutls ---------------------------------------------------

# start_lighttpd_gnutls NAME PORT PRIORITY: lighttpd in the foreground (-D)
# serving "hello from NAME" as /index.html over TLS with the given GnuTLS
# priority string (ssl.openssl.ssl-conf-cmd "gnutls-override").
start_lighttpd_gnutls()
{
	need_cmd lighttpd
	_ep_mod=""
	for _ep_d in /usr/lib/lighttpd /usr/lib64/lighttpd \
	    /usr/local/lib/lighttpd; do
		[ -f "$_ep_d/mod_gnutls.so" ] && _ep_mod=$_ep_d
	done
	[ -n "$_ep_mod" ] || skip "lighttpd mod_gnutls not installed"
	make_pki
	mkdir -p "$TB_TMP/www-$1"
	printf 'hello from %s\n' "$1" >"$TB_TMP/www-$1/index.html"
	cat >"$TB_TMP/lighttpd-$1.conf" <<EOF
server.modules = ( "mod_gnutls" )
server.document-root = "$TB_TMP/www-$1"
server.bind = "127.0.0.1"
server.port = $2
server.errorlog = "$TB_TMP/ep-$1.err"
server.max-keep-alive-idle = 5
index-file.names = ( "index.html" )
mimetype.assign = ( ".html" => "text/html" )
ssl.engine = "enable"
ssl.pemfile = "$PKI/legacy.pem"
ssl.privkey = "$PKI/legacy.key"
ssl.openssl.ssl-conf-cmd = ( "gnutls-override" => "$3" )
EOF
	TB_LOGS="$TB_LOGS $TB_TMP/lighttpd-$1.conf $TB_TMP/ep-$1.err"
	_ep_run "$1" "$2" lighttpd -D -f "$TB_TMP/lighttpd-$1.conf"
}

# d1-tls10-noreneg: TLS 1.0 only, no RFC 5746 renegotiation_info.  Needs sec0
# + legacy server connect; baseline: "unsafe legacy renegotiation disabled".
start_ep_noreneg10()
{
	start_lighttpd_gnutls "$1" "$2" \
	    'NORMAL:%DISABLE_SAFE_RENEGOTIATION:-VERS-ALL:+VERS-TLS1.0'
}

# d2-tls12-noreneg: TLS 1.2 only, no RFC 5746.  Needs only legacy server
# connect.
start_ep_noreneg12()
{
	start_lighttpd_gnutls "$1" "$2" \
	    'NORMAL:%DISABLE_SAFE_RENEGOTIATION:-VERS-ALL:+VERS-TLS1.2'
}

# ---- python endpoints (pyserver.py) ------------------------------------------

# start_py MODE NAME PORT ARGS...: see pyserver.py for the modes.
start_py()
{
	_ep_mode=$1
	_ep_n=$2
	_ep_p=$3
	shift 3
	_ep_run "$_ep_n" "$_ep_p" "$PYTHON" -u -W ignore::DeprecationWarning \
	    "$TB_EP/pyserver.py" "$_ep_mode" \
	    "$_ep_p" --name "$_ep_n" "$@"
}

# plain TCP hash endpoint (byte-exact relay checks).
start_ep_hash()
{
	_ep_n=$1
	_ep_p=$2
	shift 2
	start_py hash "$_ep_n" "$_ep_p" "$@"
}

# The hash endpoint over TLS 1.0 only at level 0 (ECDHE-RSA-AES*-SHA).
start_ep_hash_tls10()
{
	make_pki
	start_py hash "$1" "$2" --tls-cert "$PKI/legacy.pem" \
	    --tls-key "$PKI/legacy.key" --tls-min 1.0 --tls-max 1.0 \
	    --ciphers 'DEFAULT:@SECLEVEL=0'
}

# g-http: plain HTTP/1.0 endpoint, "hello from NAME".
start_ep_http()
{
	start_py http "$1" "$2"
}

# h1-rst-after-hello: reads the ClientHello, then RST (SO_LINGER 0).
start_ep_rst()
{
	start_py rst "$1" "$2"
}

# h2-blackhole: accepts and reads, never answers.
start_ep_blackhole()
{
	start_py blackhole "$1" "$2"
}

# synfull: listens, never accepts, and drops every SYN (a full accept
# queue): connects to it time out.  Ready once it says so, not when its
# port first listens (its own queue-filling connection comes after that).
start_ep_synfull()
{
	start_py synfull "$1" "$2"
	_tb_out=$(tbutil waitgrep "$(ep_log "$1")" 'backlog full' \
	    --timeout 10 --pid "$(ep_pid "$1")") ||
	    fail "synfull endpoint: $_tb_out"
}

# ---- http endpoints (http-mode tests) ----------------------------------------

# start_httpd NAME PORT ARGS...: httpd.py, a literal HTTP/1.1 server that
# echoes each request as JSON and logs every connection and request (see
# httpd.py for the options: --http10, --continue, --idle-close S,
# --drop-nth N).  ep_conns NAME counts the connections it accepted.
start_httpd()
{
	_ep_n=$1
	_ep_p=$2
	shift 2
	_ep_run "$_ep_n" "$_ep_p" "$PYTHON" -u "$TB_EP/httpd.py" "$_ep_p" \
	    --name "$_ep_n" "$@"
}

# start_recorder NAME PORT: recorder.py, a plain HTTP/1.1 origin that keeps
# every byte each connection brought and every request it parsed, under
# $TB_TMP/rec-NAME.  rec NAME CMD [N]: ask it (requests, req N, bytes,
# raw N; see recorder.py).
start_recorder()
{
	mkdir -p "$TB_TMP/rec-$1"
	_ep_run "$1" "$2" "$PYTHON" -u "$TB_EP/recorder.py" serve "$2" \
	    --dir "$TB_TMP/rec-$1" --name "$1"
}

rec()
{
	_ep_rn=$1
	_ep_rc=$2
	shift 2
	"$PYTHON" "$TB_EP/recorder.py" "$_ep_rc" "$TB_TMP/rec-$_ep_rn" "$@"
}

# ep_requests NAME METHOD: requests with METHOD an httpd.py endpoint read
# completely (including ones it then dropped).
ep_requests()
{
	grep -c " req [0-9]* $2 " "$(ep_log "$1")" || true
}

# start_nginx NAME PORT KEEPALIVE [EXTRA]: nginx in the foreground
# (master_process off, daemon off) with a private prefix under
# $TB_TMP/nginx-NAME, as a g-class endpoint: TLS 1.0 only
# at security level 0 (ssl_ciphers DEFAULT:@SECLEVEL=0; the broker's route
# needs upstream_tls = 1.0), a shared session cache (resumption), and
# keepalive_timeout KEEPALIVE.  EXTRA is added to the server block.
# Locations (the echo module, libnginx-mod-http-echo):
#   /            200 "nginx NAME METHOD URI proto=... host=..." (chunked)
#   /echo        the request body, read completely, echoed back
#   /status/204, /status/304   those answers, without a body
# Its access log, $TB_TMP/nginx-NAME/access.log, has one line per request:
#   CONNECTION_SERIAL REQUESTS_ON_IT METHOD URI STATUS PROTOCOL REUSED
# where REUSED is "r" for a resumed TLS session (see nginx_conns).
start_nginx()
{
	need_cmd nginx
	_ep_echo=""
	for _ep_d in /usr/lib/nginx/modules /usr/share/nginx/modules \
	    /usr/lib64/nginx/modules; do
		[ -f "$_ep_d/ngx_http_echo_module.so" ] &&
		    _ep_echo="$_ep_d/ngx_http_echo_module.so"
	done
	[ -n "$_ep_echo" ] || skip "nginx echo module not installed" \
	    "(libnginx-mod-http-echo)"
	make_pki
	_ep_dir="$TB_TMP/nginx-$1"
	mkdir -p "$_ep_dir/logs" "$_ep_dir/tmp"
	cat >"$_ep_dir/nginx.conf" <<EOF
load_module $_ep_echo;
master_process off;
daemon off;
pid $_ep_dir/nginx.pid;
error_log stderr notice;
events {
	worker_connections 512;
}
http {
	log_format tb '\$connection \$connection_requests \$request_method '
	    '\$request_uri \$status \$ssl_protocol \$ssl_session_reused';
	access_log $_ep_dir/access.log tb;
	client_body_temp_path $_ep_dir/tmp/body;
	proxy_temp_path $_ep_dir/tmp/proxy;
	fastcgi_temp_path $_ep_dir/tmp/fastcgi;
	uwsgi_temp_path $_ep_dir/tmp/uwsgi;
	scgi_temp_path $_ep_dir/tmp/scgi;
	keepalive_timeout $3;
	keepalive_requests 100000;
	server {
		listen 127.0.0.1:$2 ssl;
		server_name localhost;
		ssl_certificate $PKI/legacy.pem;
		ssl_certificate_key $PKI/legacy.key;
		ssl_protocols TLSv1;
		ssl_ciphers DEFAULT:@SECLEVEL=0;
		ssl_session_cache shared:tb:1m;
		ssl_session_timeout 10m;
		client_body_buffer_size 4m;
		client_max_body_size 16m;
		location / {
			default_type text/plain;
			echo "nginx $1 \$request_method \$uri proto=\$ssl_protocol host=\$http_host";
		}
		location = /echo {
			default_type application/octet-stream;
			echo_read_request_body;
			echo_request_body;
		}
		location = /status/204 {
			return 204;
		}
		location = /status/304 {
			add_header ETag '"tb1"';
			return 304;
		}
		${4:-}
	}
}
EOF
	TB_LOGS="$TB_LOGS $_ep_dir/nginx.conf $_ep_dir/access.log"
	_ep_run "$1" "$2" nginx -p "$_ep_dir" -e stderr -c "$_ep_dir/nginx.conf"
}

# nginx_conns NAME: distinct connections in an nginx endpoint's access log
# (connections that carried at least one request).
nginx_conns()
{
	_ep_f="$TB_TMP/nginx-$1/access.log"
	[ -f "$_ep_f" ] || { echo 0; return 0; }
	awk '{ print $1 }' "$_ep_f" | sort -u | wc -l | tr -d ' '
}

# ---- forward proxies (upstream_proxy tests) ------------------------------------

# start_squid NAME PORT ALLOWED_PORT...: squid in the foreground on
# 127.0.0.1:PORT, no cache, allowing CONNECT to the ALLOWED_PORTs only
# (anything else: 403).  Its files are in $TB_TMP/NAME, which its own user
# can write; the access log is $TB_TMP/NAME/access.log (a tunnel is logged
# when it closes).
start_squid()
{
	_sq_n=$1
	_sq_p=$2
	shift 2
	_sq_d="$TB_TMP/$_sq_n"
	mkdir -p "$_sq_d"
	chmod 711 "$TB_TMP"
	chmod 777 "$_sq_d"
	cat >"$_sq_d/squid.conf" <<SQEOF
http_port 127.0.0.1:$_sq_p
pid_filename $_sq_d/squid.pid
cache_log stdio:$_sq_d/cache.log
access_log stdio:$_sq_d/access.log
coredump_dir $_sq_d
cache deny all
cache_mem 8 MB
shutdown_lifetime 1 seconds
acl CONNECT method CONNECT
acl tunnel_ok port $*
http_access allow CONNECT tunnel_ok
http_access deny all
SQEOF
	_ep_run "$_sq_n" "$_sq_p" /usr/sbin/squid -N -f "$_sq_d/squid.conf"
	TB_LOGS="$TB_LOGS $_sq_d/cache.log $_sq_d/access.log"
}

# start_tinyproxy NAME PORT [USER PASSWORD]: tinyproxy in the foreground
# on 127.0.0.1:PORT, any CONNECT port, with Basic auth when USER is given.
start_tinyproxy()
{
	{
		printf 'Port %s\nListen 127.0.0.1\nTimeout 30\nMaxClients 20\n' "$2"
		printf 'LogFile "%s"\nLogLevel Info\n' "$TB_TMP/$1.tinyproxy.log"
		[ $# -lt 4 ] || printf 'BasicAuth %s %s\n' "$3" "$4"
	} >"$TB_TMP/$1.tinyproxy.conf"
	_ep_run "$1" "$2" tinyproxy -d -c "$TB_TMP/$1.tinyproxy.conf"
	TB_LOGS="$TB_LOGS $TB_TMP/$1.tinyproxy.log"
}
