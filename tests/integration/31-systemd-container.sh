#!/bin/sh
# SPDX-License-Identifier: MIT
#
# The package under a real systemd: Debian 12's systemd 252 as PID 1 of a
# container (tests/integration/debian.sh: a cached debootstrap tree, an
# overlay per run, systemd-nspawn -b in the host's network namespace), the
# .deb of this tree installed with dpkg -i, clients and upstreams on the
# host's 127.0.0.1:
#   - installed: the system user and group, /etc/tlsbroker, its tls/ and
#     the log directory with their owners and modes; the service neither
#     enabled nor started, no failed unit;
#   - a root-only key: certbot's privkey.pem stays root:root 0600, the
#     deploy hook copies it to /etc/tlsbroker/tls as root:tlsbroker 0640,
#     the service (never root) reads that;
#   - `systemctl start` returns, and the unit is active, only after READY=1:
#     with the broker held just before it (a test-only LD_PRELOAD shim,
#     given by a drop-in, makes the sendto() that carries READY=1 first open
#     a FIFO, which blocks until the test writes to it) the unit stays
#     "activating" with its port bound and systemctl start waiting; once
#     the FIFO has a writer both finish;
#   - `systemctl reload` with a good file (a new route serves, same PID,
#     STATUS= says reload 1) and with bad ones (an unknown key; the key made
#     root-only): the reload fails, the unit stays active with the same PID
#     and the old configuration serving, the error is in systemctl status
#     and in the journal at priority err;
#   - a renewed certificate through the deploy hook (certbot's
#     RENEWED_LINEAGE) is served after the reload it triggers, same PID;
#   - logrotate's snippet: the rotated file is left alone, the broker
#     writes a new one (SIGUSR1), owned by tlsbroker, mode 0640;
#   - the watchdog (WatchdogSec=9s by a drop-in): one worker thread stopped
#     with ptrace (its loop stops turning, nothing else changes) makes the
#     broker withhold WATCHDOG=1, systemd kills it (SIGABRT) and restarts it;
#   - `systemctl stop` drains: a request held by its upstream when stop
#     comes keeps the unit "deactivating" with the port closed, completes
#     (200, whole body) when the upstream answers, and the unit ends
#     inactive with result success;
#   - journald has the lines with their priorities (notice, warning, err,
#     info) and `systemd-analyze security tlsbroker` rates the installed
#     unit 2.0 or lower;
#   - reinstalling over a running broker restarts it; dpkg -r stops it and
#     keeps configuration, logs and user; dpkg --purge removes the
#     configuration and logs, keeps the admin's keys and the user.
# Skips (77) when not root, without systemd-nspawn/debootstrap/the Debian
# build tools, or where no container can boot (or the mirror is unreachable
# for the first debootstrap).

. "$(dirname "$0")/lib.sh"
. "$TB_SRC/debian.sh"

[ "$(id -u)" = 0 ] || skip "not running as root (systemd-nspawn needs it)"
need_cmd curl systemd-nspawn debootstrap nsenter flock
make_pki
_t_all=$(now_ms)
deb_build
ct_tree
ct_boot

uprop()
{
	ct systemctl show -p "$1" --value tlsbroker.service
}

# wait_unit PROP VALUE [SECONDS]
wait_unit()
{
	_end=$(($(now_ms) + ${3:-30} * 1000))
	while [ "$(uprop "$1")" != "$2" ]; do
		[ "$(now_ms)" -lt "$_end" ] ||
		    fail "unit $1 is '$(uprop "$1")', not '$2' after ${3:-30}s"
		sleep 0.1
	done
}

# jcursor: the journal's end now.
jcursor()
{
	ct journalctl --no-pager -n 0 --show-cursor | sed -n 's/^-- cursor: //p'
}

# jlines CURSOR: the unit's journal since CURSOR ("": all), one
# "PRIORITY MESSAGE" a line: its own lines and systemd's about it.  Read
# whole and filtered here: journalctl 252 with -u and --after-cursor
# together was seen to leave out some of the unit's own lines.
jlines()
{
	if [ -n "$1" ]; then set -- --after-cursor "$1"; else set --; fi
	ct journalctl --no-pager -o json "$@" | "$PYTHON" -c '
import json, signal, sys
signal.signal(signal.SIGPIPE, signal.SIG_DFL)
for ln in sys.stdin:
    e = json.loads(ln)
    if "tlsbroker.service" not in (e.get("_SYSTEMD_UNIT"), e.get("UNIT")):
        continue
    m = e.get("MESSAGE", "")
    if isinstance(m, list):
        m = bytes(m).decode("utf-8", "replace")
    print(e.get("PRIORITY", "?"), m)'
}

# jlog CURSOR: the unit's lines since CURSOR.
jlog()
{
	jlines "$1" | cut -d' ' -f2-
}

# jprio CURSOR TEXT: the syslog priority journald stored for the unit's
# first line since CURSOR that has TEXT; empty if none.
jprio()
{
	jlines "$1" | grep -F -m 1 -- "$2" | cut -d' ' -f1
}

# wait_journal CURSOR TEXT [SECONDS]: until a line of the unit since CURSOR
# has TEXT.
wait_journal()
{
	_end=$(($(now_ms) + ${3:-20} * 1000))
	while ! jlog "$1" | grep -q -F -- "$2"; do
		[ "$(now_ms)" -lt "$_end" ] ||
		    fail "no '$2' in the journal within ${3:-20}s: $(jlog "$1" | tail -n 20)"
		sleep 0.1
	done
}

# get HOST [PATH]: curl through the broker; body in CURL_OUT, status in
# CURL_CODE.
get()
{
	curl_get "https://$1:$BP${2:-/}" --resolve "$1:$BP:127.0.0.1" \
	    -w '\n%{http_code}'
	CURL_CODE=$(printf '%s\n' "$CURL_OUT" | tail -n 1)
}

serves()
{
	get "$@"
	assert_eq 200 "$CURL_CODE" "GET https://$1:$BP${2:-/} ($CURL_ERR)"
}

# write_ini AUDIT_LOG [EXTRA]: the broker's configuration in the container.
write_ini()
{
	{
		ini_preamble "$BP" workers=2 "audit_log=$1" drain_timeout=30s \
		    -- cert=/etc/tlsbroker/tls/broker.test.pem \
		    key=/etc/tlsbroker/tls/broker.test.key
		cat <<EOF

[route web]
host = web.broker.test
upstream = 127.0.0.1:$P_HTTP
upstream_tls = off
${2:-}

[route gate]
host = gate.broker.test
upstream = 127.0.0.1:$P_GATE
upstream_tls = off
EOF
	} >"$TB_TMP/tlsbroker.ini"
	printf '%s\n' "${3:-}" >>"$TB_TMP/tlsbroker.ini"
	ct_put "$TB_TMP/tlsbroker.ini" /etc/tlsbroker/tlsbroker.ini root:root 0644
}

# mode PATH: "owner:group octal-mode" in the container.
mode()
{
	ct stat -c '%U:%G %a' "$1"
}

# ---- installed, not started ----------------------------------------------------

ct_put "$DEB" /var/tmp/tlsbroker.deb
ct dpkg -i /var/tmp/tlsbroker.deb >"$TB_TMP/dpkg-i.log" 2>&1 ||
    fail "dpkg -i: $(cat "$TB_TMP/dpkg-i.log")"
TB_LOGS="$TB_LOGS $TB_TMP/dpkg-i.log"
_pw=$(ct getent passwd tlsbroker) || fail "no user tlsbroker after dpkg -i"
assert_contains "$_pw" ":/nonexistent:/usr/sbin/nologin" "user tlsbroker"
_uid=$(printf '%s\n' "$_pw" | cut -d: -f3)
[ "$_uid" -lt 1000 ] || fail "tlsbroker has uid $_uid: not a system user"
ct getent group tlsbroker >/dev/null || fail "no group tlsbroker after dpkg -i"
assert_eq "root:root 755" "$(mode /etc/tlsbroker)" "/etc/tlsbroker"
assert_eq "root:tlsbroker 750" "$(mode /etc/tlsbroker/tls)" "/etc/tlsbroker/tls"
assert_eq "root:root 644" "$(mode /etc/tlsbroker/tlsbroker.ini)" "tlsbroker.ini"
assert_eq "tlsbroker:tlsbroker 750" "$(mode /var/log/tlsbroker)" "/var/log/tlsbroker"
assert_eq disabled "$(ct systemctl is-enabled tlsbroker.service || true)" \
    "tlsbroker.service after dpkg -i"
assert_eq inactive "$(ct systemctl is-active tlsbroker.service || true)" \
    "tlsbroker.service after dpkg -i"
assert_eq "" "$(ct systemctl --failed --no-legend)" "failed units after dpkg -i"
note "installed: user tlsbroker ($_uid), service disabled and inactive, no failed unit"

# ---- a root-only key, through the deploy hook ------------------------------------

LIVE=/etc/letsencrypt/live/broker.test
# deploy LABEL CERT KEY: certbot's files for broker.test (the key 0600
# root), then its deploy hook.
deploy()
{
	ct mkdir -p -m 0700 "$LIVE"
	ct_put "$2" "$LIVE/fullchain.pem" root:root 0644
	ct_put "$3" "$LIVE/privkey.pem" root:root 0600
	_rc=0
	ct env RENEWED_LINEAGE="$LIVE" /usr/libexec/tlsbroker/deploy-hook \
	    >"$TB_TMP/hook-$1.log" 2>&1 || _rc=$?
	TB_LOGS="$TB_LOGS $TB_TMP/hook-$1.log"
	assert_eq 0 "$_rc" "deploy hook ($1): $(cat "$TB_TMP/hook-$1.log")"
	assert_eq "root:root 600" "$(mode "$LIVE/privkey.pem")" "certbot's key after the hook"
	assert_eq "root:tlsbroker 640" "$(mode /etc/tlsbroker/tls/broker.test.key)" \
	    "the broker's copy of the key"
	ct cmp -s "$LIVE/privkey.pem" /etc/tlsbroker/tls/broker.test.key ||
	    fail "the hook's copy of the key differs from privkey.pem"
}
deploy first "$PKI/broker.pem" "$PKI/broker.key"
assert_eq inactive "$(ct systemctl is-active tlsbroker.service || true)" \
    "the hook started a broker that was not running"

# ---- start: active only after READY=1 -------------------------------------------------

# Ports taken just before their use (other tests on this machine take
# ports too), the upstreams started at once.
# shellcheck disable=SC2046 # one port per word
set -- $(free_ports 3)
BP=$1 P_HTTP=$2 P_GATE=$3
start_httpd web "$P_HTTP"
# One request at a time; each is held until $TB_TMP/release exists.
cat >"$TB_TMP/gate.py" <<'EOF'
import os, socket, sys, time
port, release = int(sys.argv[1]), sys.argv[2]
ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("127.0.0.1", port))
ls.listen(8)
while True:
    c, _ = ls.accept()
    head = b""
    while b"\r\n\r\n" not in head:
        d = c.recv(4096)
        if not d:
            break
        head += d
    print("request %s" % head.split(b"\r\n")[0].decode(), flush=True)
    end = time.time() + 60
    while not os.path.exists(release) and time.time() < end:
        time.sleep(0.05)
    c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 11\r\nConnection: close\r\n\r\n"
              b"held, done.")
    print("answered", flush=True)
    c.close()
EOF
"$PYTHON" -u "$TB_TMP/gate.py" "$P_GATE" "$TB_TMP/release" >"$TB_TMP/gate.log" 2>&1 &
track "$!" "$TB_TMP/gate.log"
wait_for_port "$P_GATE" "$!"

# The hold: a shim whose sendto() and sendmsg() open $HOLD_FIFO (blocking until a writer
# comes) before it passes on the first datagram that says READY=1.  A
# missing FIFO holds nothing, so the test removes it once released, and later
# starts (the watchdog's restart) run free.
HOLD_FIFO=/etc/tlsbroker/hold-ready.fifo
cat >"$TB_TMP/holdready.c" <<EOF
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

typedef ssize_t (*sendto_fn)(int, const void *, size_t, int,
    const struct sockaddr *, socklen_t);
typedef ssize_t (*sendmsg_fn)(int, const struct msghdr *, int);

/* Blocks in open(2) of the FIFO before the first READY=1 goes out. */
static void
hold(const void *buf, size_t len)
{
	static int held;
	int f;

	if (held || memmem(buf, len, "READY=1", 7) == NULL)
		return;
	held = 1;
	if ((f = open("$HOLD_FIFO", O_RDONLY)) != -1)
		close(f);
}

/* sdnotify.c without libsystemd */
ssize_t
sendto(int fd, const void *buf, size_t len, int flags,
    const struct sockaddr *to, socklen_t tolen)
{
	static sendto_fn real;

	if (real == NULL)
		real = (sendto_fn)dlsym(RTLD_NEXT, "sendto");
	hold(buf, len);
	return real(fd, buf, len, flags, to, tolen);
}

/* libsystemd's sd_notify() */
ssize_t
sendmsg(int fd, const struct msghdr *msg, int flags)
{
	static sendmsg_fn real;
	size_t i;

	if (real == NULL)
		real = (sendmsg_fn)dlsym(RTLD_NEXT, "sendmsg");
	for (i = 0; i < msg->msg_iovlen; i++)
		hold(msg->msg_iov[i].iov_base, msg->msg_iov[i].iov_len);
	return real(fd, msg, flags);
}
EOF
${CC:-cc} -shared -fPIC -O2 -o "$TB_TMP/holdready.so" "$TB_TMP/holdready.c" -ldl ||
    hard_error "cannot build the READY=1 hold shim"
ct mkdir -p /usr/local/lib/tlsbroker-test /etc/systemd/system/tlsbroker.service.d
ct_put "$TB_TMP/holdready.so" /usr/local/lib/tlsbroker-test/holdready.so root:root 0644
printf '[Service]\nEnvironment=LD_PRELOAD=/usr/local/lib/tlsbroker-test/holdready.so\n' \
    >"$TB_TMP/hold.conf"
ct_put "$TB_TMP/hold.conf" /etc/systemd/system/tlsbroker.service.d/hold.conf root:root 0644
ct systemctl daemon-reload || fail "systemctl daemon-reload (hold drop-in)"
ct mkfifo -m 0644 "$HOLD_FIFO"
ct chown tlsbroker:tlsbroker "$HOLD_FIFO"
write_ini /var/log/tlsbroker/audit.jsonl
ct systemctl enable tlsbroker.service >/dev/null 2>&1 || fail "systemctl enable"
ct systemctl start tlsbroker.service >"$TB_TMP/start.log" 2>&1 &
START_PID=$!
track "$START_PID" "$TB_TMP/start.log"
_out=$(tbutil waitport "$BP" --timeout 30) ||
    fail "the broker did not bind 127.0.0.1:$BP: $_out"
# bound, and held in open(2) of the FIFO before READY=1
assert_eq activating "$(uprop ActiveState)" "ActiveState, listening before READY=1"
assert_eq start "$(uprop SubState)" "SubState, listening before READY=1"
assert_eq "" "$(uprop StatusText)" "StatusText before READY=1"
_tb_alive "$START_PID" || fail "systemctl start returned before READY=1: $(cat "$TB_TMP/start.log")"
# Opening the FIFO for writing is the release; nothing is written, since
# the shim closes its end at once (a write could meet EPIPE).
ct sh -c ': >"$1"' _ "$HOLD_FIFO" || fail "cannot release the READY=1 hold"
ct rm -f "$HOLD_FIFO" /etc/systemd/system/tlsbroker.service.d/hold.conf
ct systemctl daemon-reload || fail "systemctl daemon-reload (hold drop-in removed)"
wait_exit "$START_PID" 30 || fail "systemctl start still waiting 30s after the FIFO opened"
untrack "$START_PID"
assert_eq 0 "$WAIT_RC" "systemctl start ($(cat "$TB_TMP/start.log"))"
assert_eq active "$(uprop ActiveState)" "ActiveState after READY=1"
assert_contains "$(uprop StatusText)" "1 listeners, 2 routes, 2 workers" "StatusText"
MAIN=$(uprop MainPID)
assert_eq "tlsbroker" "$(ct stat -c %U "/proc/$MAIN")" "the broker's user"
serves web.broker.test /first
note "start: activating with 127.0.0.1:$BP bound and systemctl start waiting" \
    "until READY=1, then active (pid $MAIN, user tlsbroker)"

# ---- reload: a good file ----------------------------------------------------------------

_cur=$(jcursor)
get web2.broker.test /
assert_eq 404 "$CURL_CODE" "web2 before the reload"
write_ini /var/log/tlsbroker/audit.jsonl "" "[route web2]
host = web2.broker.test
upstream = 127.0.0.1:$P_HTTP
upstream_tls = off"
ct systemctl reload tlsbroker.service >"$TB_TMP/reload1.log" 2>&1 ||
    fail "systemctl reload with a good file: $(cat "$TB_TMP/reload1.log")"
wait_journal "$_cur" "reload 1 done"
assert_eq "$MAIN" "$(uprop MainPID)" "MainPID after the reload"
assert_eq active "$(uprop ActiveState)" "ActiveState after the reload"
assert_contains "$(uprop StatusText)" "(reload 1)" "StatusText after the reload"
serves web2.broker.test /after-reload
assert_contains "$(ct cat /var/log/tlsbroker/audit.jsonl)" '"/first"' "audit record of the first request"
note "reload (good): route added, same pid, STATUS= reload 1"

# ---- reload: bad files ----------------------------------------------------------------------

# bad_reload LABEL TEXT: systemctl reload must fail with TEXT in status and
# the journal (priority err), leaving the same broker serving.
bad_reload()
{
	_cur=$(jcursor)
	_rc=0
	ct systemctl reload tlsbroker.service >"$TB_TMP/reload-$1.log" 2>&1 || _rc=$?
	[ "$_rc" -ne 0 ] || fail "systemctl reload with $1 succeeded"
	wait_journal "$_cur" "$2"
	assert_eq active "$(uprop ActiveState)" "ActiveState after a reload with $1"
	assert_eq "$MAIN" "$(uprop MainPID)" "MainPID after a reload with $1"
	_st=$(ct systemctl status --no-pager -n 20 tlsbroker.service 2>&1 || true)
	assert_contains "$_st" "$2" "systemctl status after a reload with $1"
	assert_contains "$_st" "Active: active (running)" "systemctl status after a reload with $1"
	assert_eq 3 "$(jprio "$_cur" "$2")" \
	    "the journal's priority of '$2' (3, err) after a reload with $1"
	serves web2.broker.test "/after-$1"
	note "reload ($1): systemctl reload exit $_rc, unit active, same pid," \
	    "status says: $(printf '%s\n' "$_st" | grep -F -- "$2" | tail -n 1 | sed 's/^ *//')"
}
write_ini /var/log/tlsbroker/audit.jsonl "bogus = 1" "[route web2]
host = web2.broker.test
upstream = 127.0.0.1:$P_HTTP
upstream_tls = off"
bad_reload unknown-key "bogus: unknown key"
ct chown root:root /etc/tlsbroker/tls/broker.test.key
ct chmod 0600 /etc/tlsbroker/tls/broker.test.key
write_ini /var/log/tlsbroker/audit.jsonl "" "[route web2]
host = web2.broker.test
upstream = 127.0.0.1:$P_HTTP
upstream_tls = off"
bad_reload root-only-key "Permission denied"

# ---- a renewed certificate through the deploy hook ------------------------------------------

make_server_cert renewed broker.test "DNS:broker.test,DNS:*.broker.test,IP:127.0.0.1"
_cur=$(jcursor)
deploy renewal "$PKI/renewed.pem" "$PKI/renewed.key"
wait_journal "$_cur" "reload 2 done"
assert_eq "$MAIN" "$(uprop MainPID)" "MainPID after the renewal"
_served=$(timeout 20 openssl s_client -connect "127.0.0.1:$BP" \
    -servername web.broker.test </dev/null 2>/dev/null |
    openssl x509 -noout -fingerprint -sha256) || fail "no certificate from the broker"
assert_eq "$(openssl x509 -in "$PKI/renewed.pem" -noout -fingerprint -sha256)" \
    "$_served" "the certificate served after the renewal"
serves web.broker.test /after-renewal
note "renewal: deploy hook (RENEWED_LINEAGE) copied a 0600 root key as" \
    "root:tlsbroker 0640 and reloaded; the new certificate is served, same pid"

# ---- logrotate --------------------------------------------------------------------------------

ct logrotate -f /etc/logrotate.d/tlsbroker >"$TB_TMP/logrotate.log" 2>&1 ||
    fail "logrotate: $(cat "$TB_TMP/logrotate.log")"
ct test -s /var/log/tlsbroker/audit.jsonl.1 || fail "logrotate left no audit.jsonl.1"
serves web.broker.test /after-rotate
_end=$(($(now_ms) + 10000))
until ct grep -q -F '"/after-rotate"' /var/log/tlsbroker/audit.jsonl 2>/dev/null; do
	[ "$(now_ms)" -lt "$_end" ] || fail "no record in a new audit.jsonl after logrotate"
	sleep 0.1
done
assert_eq "tlsbroker:tlsbroker 640" "$(mode /var/log/tlsbroker/audit.jsonl)" \
    "the audit log reopened after logrotate"
! ct grep -q -F '"/after-rotate"' /var/log/tlsbroker/audit.jsonl.1 ||
    fail "a record went to the rotated file"
note "logrotate: rotated, the broker reopened (SIGUSR1) a new tlsbroker:tlsbroker 0640 file"

# ---- the watchdog restarts a broker whose worker stopped ----------------------------------

ct mkdir -p /etc/systemd/system/tlsbroker.service.d
printf '[Service]\nWatchdogSec=9s\n' >"$TB_TMP/watchdog.conf"
ct_put "$TB_TMP/watchdog.conf" /etc/systemd/system/tlsbroker.service.d/watchdog.conf
ct systemctl daemon-reload
ct systemctl restart tlsbroker.service || fail "systemctl restart"
assert_eq 9s "$(uprop WatchdogUSec)" "WatchdogUSec with the drop-in"
MAIN=$(uprop MainPID)
_restarts=$(uprop NRestarts)
HMAIN=$(ct_hostpid "$MAIN") || hard_error "no host pid for the broker's pid $MAIN"
cat >"$TB_TMP/stall.py" <<'EOF'
# stall.py PID: stop one worker thread of PID (ptrace: only that thread
# stops), then wait until the process is gone.
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
PTRACE_SEIZE, PTRACE_INTERRUPT, WALL = 0x4206, 0x4207, 0x40000000
pid = int(sys.argv[1])
tid = min(int(t) for t in os.listdir("/proc/%d/task" % pid) if int(t) != pid)
for req in (PTRACE_SEIZE, PTRACE_INTERRUPT):
    if libc.ptrace(req, tid, None, None) == -1:
        sys.exit("ptrace: %s" % os.strerror(ctypes.get_errno()))
os.waitpid(tid, WALL)
print("stopped thread %d of %d" % (tid, pid), flush=True)
while True:
    _, st = os.waitpid(tid, WALL)
    if os.WIFEXITED(st) or os.WIFSIGNALED(st):
        print("thread %d gone" % tid, flush=True)
        break
EOF
_cur=$(jcursor)
timeout 120 "$PYTHON" "$TB_TMP/stall.py" "$HMAIN" >"$TB_TMP/stall.log" 2>&1 &
STALL_PID=$!
track "$STALL_PID" "$TB_TMP/stall.log"
wait_journal "$_cur" "Watchdog timeout" 60
wait_journal "$_cur" "Started tlsbroker.service" 30
wait_unit ActiveState active
[ "$(uprop NRestarts)" -gt "$_restarts" ] ||
    fail "NRestarts did not grow ($(uprop NRestarts))"
[ "$(uprop MainPID)" != "$MAIN" ] || fail "the same broker still runs"
wait_exit "$STALL_PID" 20 || fail "the stalled broker did not go away"
untrack "$STALL_PID"
assert_contains "$(cat "$TB_TMP/stall.log")" "gone"
assert_eq 4 "$(jprio "$_cur" "withholding the watchdog ping")" \
    "the journal's priority of the broker's watchdog warning (4, warning)"
assert_contains "$(jlog "$_cur")" "Failed with result 'watchdog'" "the journal"
MAIN=$(uprop MainPID)
serves web.broker.test /after-watchdog
note "watchdog: one worker thread stopped; '$(jlog "$_cur" |
    grep -m 1 -F 'withholding')'; systemd killed and restarted it (pid $MAIN)"
ct rm -f /etc/systemd/system/tlsbroker.service.d/watchdog.conf
ct systemctl daemon-reload

# ---- journald priorities, systemd-analyze security ------------------------------------------

assert_eq 5 "$(jprio "" "ready:")" "the journal's priority of 'ready:' (5, notice)"
assert_eq 6 "$(jprio "" "route=web client=127.0.0.1")" \
    "the journal's priority of a connection's summary line (6, info)"
assert_eq 6 "$(jprio "" "configuration OK")" \
    "the journal's priority of 'configuration OK' (6, info)"
_j=$(ct journalctl --no-pager -u tlsbroker.service -o cat -p err)
assert_contains "$_j" "bogus: unknown key" "journalctl -p err"
assert_not_contains "$_j" "ready:" "journalctl -p err"
_sec=$(ct systemd-analyze security --no-pager tlsbroker.service 2>&1) ||
    fail "systemd-analyze security: $_sec"
_level=$(printf '%s\n' "$_sec" |
    sed -n 's/.*Overall exposure level for tlsbroker.service: \([0-9.]*\).*/\1/p')
[ -n "$_level" ] || fail "no exposure level: $_sec"
awk -v l="$_level" 'BEGIN { exit !(l <= 2.0) }' ||
    fail "exposure $_level is above 2.0: $(printf '%s\n' "$_sec" | grep '✗')"
note "journal: ready: at notice, summaries at info, the watchdog warning at" \
    "warning, config errors at err; systemd-analyze security: $_level"

# ---- stop drains ------------------------------------------------------------------------------

# the gate (gate.py, above) holds the request until $TB_TMP/release exists
timeout 60 curl -sS --cacert "$PKI/ca.pem" --resolve "gate.broker.test:$BP:127.0.0.1" \
    -w '\n%{http_code}' "https://gate.broker.test:$BP/held" \
    >"$TB_TMP/held.out" 2>"$TB_TMP/held.err" &
HELD_PID=$!
track "$HELD_PID" "$TB_TMP/held.out" "$TB_TMP/held.err"
_out=$(tbutil waitgrep "$TB_TMP/gate.log" "request GET /held" --timeout 20 \
    --pid "$HELD_PID") || fail "the held request did not reach the upstream: $_out"
_cur=$(jcursor)
ct systemctl stop tlsbroker.service >"$TB_TMP/stop.log" 2>&1 &
STOP_PID=$!
track "$STOP_PID" "$TB_TMP/stop.log"
wait_journal "$_cur" "stopping: no new connections"
wait_port_closed "$BP" 10
assert_eq deactivating "$(uprop ActiveState)" "ActiveState while draining"
_tb_alive "$HELD_PID" || fail "the held request ended before its answer: $(cat "$TB_TMP/held.err")"
_tb_alive "$STOP_PID" || fail "systemctl stop returned while a request was open"
: >"$TB_TMP/release"
wait_exit "$HELD_PID" 30 || fail "the held request did not finish"
untrack "$HELD_PID"
assert_eq 0 "$WAIT_RC" "curl of the held request ($(cat "$TB_TMP/held.err"))"
assert_eq "held, done.
200" "$(cat "$TB_TMP/held.out")" "the held request's answer"
wait_exit "$STOP_PID" 30 || fail "systemctl stop still waiting after the drain"
untrack "$STOP_PID"
assert_eq 0 "$WAIT_RC" "systemctl stop ($(cat "$TB_TMP/stop.log"))"
assert_eq inactive "$(uprop ActiveState)" "ActiveState after stop"
assert_eq success "$(uprop Result)" "Result after stop"
assert_not_contains "$(jlog "$_cur")" "drain_timeout passed" "the journal"
ct grep -q -F '"/held"' /var/log/tlsbroker/audit.jsonl ||
    fail "no audit record of the held request"
note "stop: deactivating with the port closed while a request was held;" \
    "it completed (200) when the upstream answered, then inactive, result success"

# ---- upgrade, remove, purge -------------------------------------------------------------------

ct systemctl start tlsbroker.service || fail "systemctl start"
MAIN=$(uprop MainPID)
ct dpkg -i /var/tmp/tlsbroker.deb >"$TB_TMP/dpkg-up.log" 2>&1 ||
    fail "dpkg -i over the installed package: $(cat "$TB_TMP/dpkg-up.log")"
wait_unit ActiveState active
[ "$(uprop MainPID)" != "$MAIN" ] || fail "reinstalling did not restart the broker"
serves web.broker.test /after-upgrade

ct dpkg -r tlsbroker >"$TB_TMP/dpkg-r.log" 2>&1 || fail "dpkg -r: $(cat "$TB_TMP/dpkg-r.log")"
assert_eq inactive "$(ct systemctl is-active tlsbroker.service || true)" "after dpkg -r"
! ct test -e /usr/sbin/tlsbroker || fail "/usr/sbin/tlsbroker left after dpkg -r"
for _f in /etc/tlsbroker/tlsbroker.ini /etc/logrotate.d/tlsbroker \
    /var/log/tlsbroker/audit.jsonl /etc/tlsbroker/tls/broker.test.key; do
	ct test -e "$_f" || fail "dpkg -r removed $_f"
done
assert_contains "$(ct dpkg -s tlsbroker 2>&1)" "deinstall ok config-files" "dpkg -s after dpkg -r"
ct getent passwd tlsbroker >/dev/null || fail "dpkg -r removed the user"

ct dpkg --purge tlsbroker >"$TB_TMP/dpkg-purge.log" 2>&1 ||
    fail "dpkg --purge: $(cat "$TB_TMP/dpkg-purge.log")"
for _f in /etc/tlsbroker/tlsbroker.ini /etc/logrotate.d/tlsbroker /var/log/tlsbroker; do
	! ct test -e "$_f" || fail "dpkg --purge left $_f"
done
ct test -e /etc/tlsbroker/tls/broker.test.key || fail "dpkg --purge removed the admin's key"
! ct dpkg -s tlsbroker >/dev/null 2>&1 || fail "tlsbroker still known to dpkg after purge"
ct getent passwd tlsbroker >/dev/null || fail "purge removed the user"
assert_eq "" "$(ct systemctl --failed --no-legend)" "failed units at the end"
note "upgrade restarted the running broker; dpkg -r stopped it and kept config," \
    "logs and user; purge removed config and logs, kept the admin's key and the user"
note "done in $(($(now_ms) - _t_all)) ms"
