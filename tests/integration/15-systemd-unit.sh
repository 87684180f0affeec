#!/bin/sh
# SPDX-License-Identifier: MIT
#
# The systemd unit (systemd/tlsbroker.service.in, paths substituted as make
# does, ExecStart pointing at $TLSBROKER):
#   - `systemd-analyze verify` passes with nothing to say about the unit
#     (man pages looked up in the source tree's man/, so Documentation= is
#     checked too);
#   - `systemd-analyze security --offline=true` rates it 2.0 or lower;
#   - it has what a systemd service needs (Type=notify, ExecReload with SIGHUP,
#     WatchdogSec, a dedicated user, CAP_NET_BIND_SERVICE, the hardening
#     list, LogsDirectory, ConfigurationDirectory, LimitNOFILE) and gives a
#     stop timeout longer than the default drain_timeout;
#   - the daemon fits the sandbox: run under strace through start, an http
#     and a tcp exchange, /metrics, SIGHUP, SIGUSR1 and SIGTERM (and -t, as
#     ExecStartPre does), it makes no system call the unit's
#     SystemCallFilter= lines refuse, opens no socket family outside
#     RestrictAddressFamilies= and writes no file but its audit log.  (Not
#     with a sanitizer build, whose runtime makes calls of its own.)
# Skips (77) without systemd-analyze.

. "$(dirname "$0")/lib.sh"

need_cmd systemd-analyze
need_broker
TOP=${TOP_SRCDIR:-$(cd "$TB_SRC/../.." && pwd)}
TEMPLATE="$TOP/systemd/tlsbroker.service.in"
[ -f "$TEMPLATE" ] || hard_error "no unit template at $TEMPLATE"

# ---- the unit, as make builds it ------------------------------------------------

UNITDIR="$TB_TMP/unit"
UNIT="$UNITDIR/tlsbroker.service"
mkdir -p "$UNITDIR"
sed -e "s|@sbindir[@]/tlsbroker|$TLSBROKER|g" \
    -e "s|@sbindir[@]|$(dirname "$TLSBROKER")|g" \
    -e 's|@sysconfdir[@]|/etc|g' "$TEMPLATE" >"$UNIT"
TB_LOGS="$TB_LOGS $UNIT"
! grep -n '@[a-z_]*@' "$UNIT" ||
    fail "placeholders left in the unit after substitution"
# the unit make built next to the binary, when there is one
BUILT="$(dirname "$TLSBROKER")/../systemd/tlsbroker.service"
if [ -f "$BUILT" ]; then
	_sbin=$(sed -n 's|^ExecStart=\(.*\)/tlsbroker -c .*|\1|p' "$BUILT")
	_etc=$(sed -n 's|^ExecStart=.* -c \(.*\)/tlsbroker/tlsbroker.ini$|\1|p' "$BUILT")
	if [ -z "$_sbin" ] || [ -z "$_etc" ]; then
		fail "$BUILT: unexpected ExecStart=: $(grep '^ExecStart=' "$BUILT")"
	fi
	sed -e "s|@sbindir[@]|$_sbin|g" -e "s|@sysconfdir[@]|$_etc|g" \
	    "$TEMPLATE" | cmp -s - "$BUILT" ||
	    fail "$BUILT is not the template with sbindir=$_sbin" \
	    "sysconfdir=$_etc (stale? rebuild it)"
fi

# ---- systemd-analyze verify -------------------------------------------------------

_vargs=""
if command -v man >/dev/null 2>&1; then
	# man:tlsbroker(8) and man:tlsbroker.ini(5) from the tree
	mkdir -p "$TB_TMP/man/man8" "$TB_TMP/man/man5"
	ln -s "$TOP/man/tlsbroker.8" "$TB_TMP/man/man8/tlsbroker.8"
	ln -s "$TOP/man/tlsbroker.ini.5" "$TB_TMP/man/man5/tlsbroker.ini.5"
	MANPATH="$TB_TMP/man"
	export MANPATH
else
	note "man is not installed: Documentation= not checked"
	_vargs="--man=no"
fi
_rc=0
# shellcheck disable=SC2086 # no or one option
_out=$(systemd-analyze verify $_vargs "$UNIT" 2>&1) || _rc=$?
assert_eq 0 "$_rc" "systemd-analyze verify exit status ($_out)"
_about=$(printf '%s\n' "$_out" | grep -i 'tlsbroker' || true)
[ -z "$_about" ] || fail "systemd-analyze verify about the unit: $_about"
[ -z "$_out" ] || note "systemd-analyze verify said (not about the unit): $_out"

# ---- systemd-analyze security ------------------------------------------------------

if systemd-analyze security --help 2>&1 | grep -q -- '--offline'; then
	_rc=0
	_out=$(systemd-analyze security --offline=true --no-pager "$UNIT" 2>&1) ||
	    _rc=$?
	printf '%s\n' "$_out" >"$TB_TMP/security.txt"
	TB_LOGS="$TB_LOGS $TB_TMP/security.txt"
	_level=$(printf '%s\n' "$_out" |
	    sed -n 's/.*Overall exposure level for tlsbroker.service: \([0-9.]*\).*/\1/p')
	[ -n "$_level" ] || fail "no exposure level (rc $_rc): $_out"
	note "systemd-analyze security: exposure $_level"
	awk -v l="$_level" 'BEGIN { exit !(l <= 2.0) }' ||
	    fail "exposure $_level is above 2.0: $(grep '✗' "$TB_TMP/security.txt")"
else
	note "systemd-analyze security has no --offline: rating not checked"
fi

# ---- what the unit must say ----------------------------------------------------------

# directive NAME: the values of every NAME= line, space-joined.
directive()
{
	sed -n "s/^$1=//p" "$UNIT" | tr '\n' ' ' | sed 's/ *$//'
}

for _kv in Type=notify NoNewPrivileges=yes ProtectSystem=strict \
    ProtectHome=yes PrivateTmp=yes PrivateDevices=yes \
    ProtectKernelTunables=yes ProtectKernelModules=yes ProtectKernelLogs=yes \
    ProtectControlGroups=yes RestrictNamespaces=yes LockPersonality=yes \
    MemoryDenyWriteExecute=yes SystemCallArchitectures=native \
    LogsDirectory=tlsbroker ConfigurationDirectory=tlsbroker; do
	assert_eq "${_kv#*=}" "$(directive "${_kv%%=*}")" "${_kv%%=*}="
done
assert_contains "$(directive ExecReload)" "HUP" "ExecReload="
assert_contains "$(directive ExecStart)" "$TLSBROKER -c /etc/tlsbroker/tlsbroker.ini" \
    "ExecStart="
assert_contains " $(directive SystemCallFilter) " " @system-service " \
    "SystemCallFilter="
[ -n "$(directive WatchdogSec)" ] || fail "no WatchdogSec="
[ -n "$(directive LimitNOFILE)" ] || fail "no LimitNOFILE="
[ "$(directive DynamicUser)" = yes ] || [ -n "$(directive User)" ] ||
    fail "neither DynamicUser=yes nor User="
for _c in CapabilityBoundingSet AmbientCapabilities; do
	assert_eq CAP_NET_BIND_SERVICE "$(directive "$_c")" "$_c="
done
# The families left after every RestrictAddressFamilies= line: an allow
# list sets (then adds to) the set, a "~" line takes its families out.
FAMILIES=$(sed -n 's/^RestrictAddressFamilies=//p' "$UNIT" | awk '
	/^~/ { sub(/^~/, ""); for (i = 1; i <= NF; i++) delete fam[$i]; next }
	$0 == "none" { split("", fam); next }
	{ for (i = 1; i <= NF; i++) fam[$i] = 1 }
	END { for (f in fam) printf "%s ", f }')
for _f in AF_INET AF_INET6 AF_UNIX; do
	assert_contains " $FAMILIES " " $_f " "RestrictAddressFamilies="
done
# SIGTERM drains for up to drain_timeout (default 30s): systemd must wait
# longer before it kills.
_stop=$(directive TimeoutStopSec)
case $_stop in
*min) _stop=$((${_stop%min} * 60)) ;;
*s) _stop=${_stop%s} ;;
esac
case $_stop in
''|*[!0-9]*) fail "TimeoutStopSec='$(directive TimeoutStopSec)' (want seconds > 30)" ;;
esac
[ "$_stop" -gt 30 ] || fail "TimeoutStopSec=${_stop}s is not above the" \
    "default drain_timeout (30s)"

# ---- the daemon inside the sandbox's limits -------------------------------------------

if ! command -v strace >/dev/null 2>&1; then
	note "strace not installed: system calls not checked"
	bugs_check
	exit 0
fi
if ldd "$TLSBROKER" 2>/dev/null | grep -q -E 'lib(asan|ubsan|tsan)'; then
	note "sanitizer build: system calls not checked"
	bugs_check
	exit 0
fi

need_cmd curl
make_pki
# shellcheck disable=SC2046 # one port per word
set -- $(free_ports 4)
BP=$1 AP=$2 P_HTTP=$3 P_HASH=$4
start_ep_http web "$P_HTTP"
start_ep_hash raw "$P_HASH"
start_notify_socket "$BP"
{
	ini_preamble "$BP" workers=2 "admin=127.0.0.1:$AP" drain_timeout=2s
	cat <<EOF

[route web]
mode = http
host = web.broker.test
upstream = 127.0.0.1:$P_HTTP
upstream_tls = off

[route raw]
mode = tcp
host = raw.broker.test
upstream = 127.0.0.1:$P_HASH
upstream_tls = off
EOF
} >"$TB_TMP/broker.ini"

# ExecStartPre
_rc=0
strace -f -qq -o "$TB_TMP/strace-check.out" "$TLSBROKER" -t -c \
    "$TB_TMP/broker.ini" >"$TB_TMP/check.out" 2>&1 || _rc=$?
assert_eq 0 "$_rc" "tlsbroker -t under strace ($(cat "$TB_TMP/check.out"))"

# ExecStart: strace's child is the broker, which gets the signals.
WATCHDOG_USEC=30000000
export WATCHDOG_USEC
BROKER_LOG="$TB_TMP/broker.strace.log"
strace -f -qq -o "$TB_TMP/strace.out" "$TLSBROKER" -c "$TB_TMP/broker.ini" \
    </dev/null >"$BROKER_LOG.out" 2>"$BROKER_LOG" &
STRACE_PID=$!
track "$STRACE_PID" "$BROKER_LOG" "$TB_TMP/broker.ini"
_out=$(tbutil waitgrep "$BROKER_LOG" "ready:" --timeout 20 \
    --pid "$STRACE_PID") || fail "broker under strace not ready: $_out"
BROKER_PID=$(sed -n 's/^tlsbroker\[\([0-9]*\)\].*ready:.*/\1/p' "$BROKER_LOG")
_ppid=$(sed -n 's/^PPid:[[:space:]]*//p' "/proc/${BROKER_PID:-0}/status" \
    2>/dev/null) || true
[ "$_ppid" = "$STRACE_PID" ] ||
    hard_error "cannot find the traced broker (pid '$BROKER_PID')"
wait_notify READY=1 1

curl_get "https://web.broker.test:$BP/x" --resolve "web.broker.test:$BP:127.0.0.1"
assert_eq 0 "$CURL_RC" "http request through the traced broker ($CURL_ERR)"
client_ok who --port "$BP" --sni raw.broker.test
curl_get "http://127.0.0.1:$AP/metrics" -o /dev/null
assert_eq 0 "$CURL_RC" "/metrics from the traced broker"
wait_audit 2
kill -HUP "$BROKER_PID"
_out=$(tbutil waitgrep "$BROKER_LOG" "reload 1 done" --timeout 10 \
    --pid "$BROKER_PID") || fail "reload under strace: $_out"
mv "$AUDIT" "$AUDIT.1"
kill -USR1 "$BROKER_PID"
wait_file "$AUDIT" 10
client_ok who --port "$BP" --sni raw.broker.test
wait_audit 1
kill -TERM "$BROKER_PID"
wait_exit "$STRACE_PID" 20 || fail "traced broker did not exit"
untrack "$STRACE_PID"
assert_eq 0 "$WAIT_RC" "traced broker exit status"
BROKER_PID=""

# The allowed set as systemd computes it: an allow-list line sets (then
# adds to) the list, a "~" line takes its calls out of it.
systemd-analyze syscall-filter >"$TB_TMP/syscall-groups.txt" 2>/dev/null ||
    hard_error "systemd-analyze syscall-filter failed"
sed -n 's/^SystemCallFilter=//p' "$UNIT" >"$TB_TMP/filters.txt"
_bad=$("$PYTHON" - "$TB_TMP/syscall-groups.txt" "$TB_TMP/filters.txt" \
    "$TB_TMP/strace-check.out" "$TB_TMP/strace.out" <<'EOF'
import re, sys

groups, cur = {}, None
for ln in open(sys.argv[1]):
    if ln.startswith("@"):
        cur = groups.setdefault(ln.strip(), [])
    elif ln.startswith("#"):
        cur = None
    elif cur is not None:
        w = ln.strip()
        if w and not w.startswith("#"):
            cur.append(w)

def expand(name, seen=()):
    if not name.startswith("@"):
        return {name}
    if name not in groups:
        sys.exit("unknown syscall group %s" % name)
    out = set()
    for m in groups[name]:
        if m not in seen:
            out |= expand(m, seen + (name,))
    return out

allowed = None
for ln in open(sys.argv[2]):
    ln = ln.strip()
    deny = ln.startswith("~")
    names = set()
    for w in ln.lstrip("~").split():
        names |= expand(w.split(":")[0])
    if deny:
        if allowed is None:
            allowed = expand("@known") - names
        else:
            allowed -= names
    else:
        allowed = names if allowed is None else allowed | names
if allowed is None:
    sys.exit(0)

used = set()
for path in sys.argv[3:]:
    for ln in open(path):
        m = re.match(r"\d+\s+([a-z_0-9]+)\(", ln)
        if m:
            used.add(m.group(1))
# execve happens before the filter applies to the new program
used.discard("execve")
print(" ".join(sorted(used - allowed)))
EOF
) || hard_error "syscall filter evaluation failed: $_bad"
[ -z "$_bad" ] || fail "system calls the unit's SystemCallFilter= refuses" \
    "(the broker would get EPERM): $_bad"

_fams=$(grep -h -o -E 'socket\(AF_[A-Z0-9]+' "$TB_TMP/strace.out" \
    "$TB_TMP/strace-check.out" | sed 's/socket(//' | sort -u)
for _f in $_fams; do
	# glibc's getaddrinfo(AI_ADDRCONFIG) (upstream names) asks netlink
	# which address families are configured; refused, it assumes both.
	[ "$_f" != AF_NETLINK ] || continue
	assert_contains " $FAMILIES " " $_f " "socket family the broker used"
done

# files opened for writing: only the audit log (ProtectSystem=strict)
_w=$(grep -h -E 'open(at)?\(.*O_(WRONLY|RDWR|CREAT)' "$TB_TMP/strace.out" \
    "$TB_TMP/strace-check.out" | grep -v ' = -1 ' |
    sed -n 's/.*open[at]*([^"]*"\([^"]*\)".*/\1/p' | sort -u)
for _p in $_w; do
	case $_p in
	"$AUDIT") ;;
	/dev/null) ;;
	*) fail "the broker opened $_p for writing: ProtectSystem=strict" \
	    "allows only LogsDirectory= (/var/log/tlsbroker)" ;;
	esac
done

bugs_check
