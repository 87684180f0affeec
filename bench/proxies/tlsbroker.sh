# shellcheck shell=bash
# tlsbroker plug-in for bench/run (see bench/README.md for the contract).
#
# Can do: both upstream flavours.  mode = http (default) parses HTTP/1.1,
# pools upstream connections per worker and route, and resumes upstream TLS
# sessions; TLSBROKER_MODE=tcp relays bytes (the row to hold against stunnel;
# proxies/tlsbroker-tcp.sh sets it).  workers = WORKERS.  The audit log is off
# (audit_log = off) to match the other proxies, which run without access logs,
# unless ACCESS_LOG is set (the harness's log-on targets): then audit_log =
# that file (one JSON line per request); TLSBROKER_AUDIT=1 writes it to
# WORKDIR in every target.
#
# keepalive_timeout = 120s like the other plug-ins' (HAProxy timeout
# http-keep-alive, nginx keepalive_timeout): the default 60s would close
# the scale run's idle clients before it ends.  pool_max_requests =
# 1000000 like nginx's upstream keepalive_requests here (HAProxy has no
# such limit): the default 1000 reconnected about 200 upstream TLS 1.0
# connections per S1 round where nginx reconnected one.
#
# TLSBROKER_BIN: the binary (default: the build next to bench/, else PATH).
# TLSBROKER_CAP: upstream_max_connections of the route (default: none);
# proxies/tlsbroker-cap.sh sets one that is never reached, to measure what
# the cap costs per request.
# TLSBROKER_ETM: upstream_encrypt_then_mac for the tls10 flavour (default:
# the key's default, yes; "no" measures the stitched AES-CBC-HMAC-SHA1 path).

proxy_packages() { :; }   # built from this repository
proxy_notes() {
    echo "mode ${TLSBROKER_MODE:-http}; workers = WORKERS; upstream verified by CA and name; audit log off except in the log-on targets (audit_log = file)"
}
proxy_modes() { echo "tls10 plain"; }
proxy_access_log() { echo "audit_log = file (JSON lines, one write per request)"; }
# file descriptors per idle client connection (tcp mode: its upstream too)
proxy_idle_fds() { if [ "${TLSBROKER_MODE:-http}" = tcp ]; then echo 2; else echo 1; fi; }

tlsbroker_bin() {
    local here
    here=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
    if [ -n "${TLSBROKER_BIN:-}" ]; then echo "$TLSBROKER_BIN"
    elif [ -x "$here/build/src/tlsbroker" ]; then echo "$here/build/src/tlsbroker"
    elif [ -x "$here/src/tlsbroker" ]; then echo "$here/src/tlsbroker"
    else command -v tlsbroker
    fi
}
proxy_version() { "$(tlsbroker_bin)" --version 2>&1 | head -n1; }

proxy_start() {
    local bin upstream_tls audit=off tls_keys=""
    bin=$(tlsbroker_bin) || { echo "tlsbroker binary not found (set TLSBROKER_BIN)" >&2; return 1; }
    case $UPSTREAM_MODE in
        tls10)
            upstream_tls=1.0
            tls_keys="upstream_ciphers = DEFAULT:@SECLEVEL=0
upstream_verify = ca
upstream_ca = $CA
upstream_sni = $UPSTREAM_NAME"
            [ -n "${TLSBROKER_ETM:-}" ] && tls_keys="$tls_keys
upstream_encrypt_then_mac = $TLSBROKER_ETM" ;;
        plain) upstream_tls=off ;;
        *) echo "unknown UPSTREAM_MODE $UPSTREAM_MODE" >&2; return 1 ;;
    esac
    [ -n "${TLSBROKER_AUDIT:-}" ] && audit=$WORKDIR/audit.jsonl
    [ -n "${ACCESS_LOG:-}" ] && audit=$ACCESS_LOG
    cat "$CERT" "$KEY" > "$WORKDIR/inbound.pem"
    cat > "$WORKDIR/tlsbroker.ini" <<INI
[broker]
workers = $WORKERS
max_connections = $MAXCONN
audit_log = $audit
log_level = warning

[listener bench]
bind = 127.0.0.1:$LISTEN_PORT
cert = $WORKDIR/inbound.pem
keepalive_timeout = 120s

[route legacy]
listener = bench
mode = ${TLSBROKER_MODE:-http}
upstream = $UPSTREAM_HOST:$UPSTREAM_PORT
upstream_tls = $upstream_tls
$tls_keys
pool_max_idle = 128
pool_idle_timeout = 120s
pool_max_requests = 1000000
idle_timeout = 120s
${TLSBROKER_CAP:+upstream_max_connections = $TLSBROKER_CAP}
INI
    "$bin" -t -c "$WORKDIR/tlsbroker.ini" >/dev/null || return 1
    # shellcheck disable=SC2086
    ${PROXY_WRAP:-} "$bin" -c "$WORKDIR/tlsbroker.ini" > "$WORKDIR/tlsbroker.out" 2>&1 &
    echo $! > "$WORKDIR/pid"
}
