#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Bodies stream with bounded buffers: a 1 GiB download and a 1 GiB upload
# through an http route arrive intact (length and SHA-256), and the broker's
# resident memory stays within a few MiB of what it was idle.

. "$(dirname "$0")/lib.sh"

# Under AddressSanitizer freed memory sits in a quarantine (256 MiB by
# default) and shows up as resident: keep it tiny so RSS measures the broker.
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=1:thread_local_quarantine_size_kb=64"
export ASAN_OPTIONS

need_cmd curl
need_cmd python3
make_pki
SIZE=$((1024 * 1024 * 1024))
LIMIT_KIB=$((8 * 1024))	# "a few MiB": 64 KiB buffers per direction need far less
BULK="$TB_EP/bulk.py"

# shellcheck disable=SC2046
set -- $(free_ports 2)
BP=$1 EP=$2
_ep_run bulk "$EP" "$PYTHON" "$BULK" serve "$EP"

{
	ini_preamble "$BP" workers=1
	cat <<EOF

[route bulk]
mode = http
upstream = 127.0.0.1:$EP
upstream_tls = off
EOF
} >"$TB_TMP/broker.ini"
start_broker "$TB_TMP/broker.ini"
URL="https://broker.test:$BP"
CURL_RESOLVE="--resolve broker.test:$BP:127.0.0.1"

# Warm up (TLS contexts, pools, allocator arenas), then measure idle.
curl -sS $CURL_RESOLVE --cacert "$PKI/ca.pem" "$URL/bytes/65536" -o /dev/null ||
    fail "warm-up request failed"
idle=$(awk '/^VmRSS:/ { print $2 }' "/proc/$BROKER_PID/status")

# measure CMD...: runs CMD while sampling the broker's RSS; sets PEAK (KiB).
# A sampler that read nothing (the broker gone) fails the test instead of
# passing the memory checks with a peak of 0.
measure()
{
	rm -f "$TB_TMP/done"
	"$PYTHON" "$BULK" rss "$BROKER_PID" "$TB_TMP/done" >"$TB_TMP/peak" &
	_sampler=$!
	track "$_sampler" "$TB_TMP/peak"
	_rc=0
	"$@" || _rc=$?
	: >"$TB_TMP/done"
	wait_exit "$_sampler" 30 || fail "RSS sampler did not stop"
	untrack "$_sampler"
	PEAK=$(cat "$TB_TMP/peak")
	[ "${PEAK:-0}" -ge "$idle" ] ||
	    fail "RSS sampler saw no broker memory (peak '${PEAK:-}')"
	return $_rc
}

# Download: the client hashes what arrives.
measure sh -c "curl -sS $CURL_RESOLVE --cacert '$PKI/ca.pem' '$URL/bytes/$SIZE' | sha256sum >'$TB_TMP/down.sum'" ||
    fail "download failed"
want=$("$PYTHON" "$BULK" pattern "$SIZE" | sha256sum)
assert_eq "$(cat "$TB_TMP/down.sum")" "$want" "1 GiB download hash"
note "download: idle ${idle} KiB, peak ${PEAK} KiB"
[ $((PEAK - idle)) -le $LIMIT_KIB ] ||
    fail "download: RSS grew by $((PEAK - idle)) KiB (limit $LIMIT_KIB)"

# Upload: a sparse 1 GiB file of zeros, sent with Content-Length.
truncate -s "$SIZE" "$TB_TMP/zeros"
measure sh -c "curl -sS $CURL_RESOLVE --cacert '$PKI/ca.pem' -H 'Expect:' -X POST -T '$TB_TMP/zeros' '$URL/sink' >'$TB_TMP/up.out'" ||
    fail "upload failed"
want_up="$SIZE $(head -c "$SIZE" /dev/zero | sha256sum | cut -d' ' -f1)"
assert_eq "$(cat "$TB_TMP/up.out")" "$want_up" "1 GiB upload length and hash"
note "upload: idle ${idle} KiB, peak ${PEAK} KiB"
[ $((PEAK - idle)) -le $LIMIT_KIB ] ||
    fail "upload: RSS grew by $((PEAK - idle)) KiB (limit $LIMIT_KIB)"

wait_audit 3
assert_audit 2 route=bulk status=200 close=ok bytes_out="$SIZE"
assert_audit 3 route=bulk status=200 close=ok method=POST
stop_broker
