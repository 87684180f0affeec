#!/bin/sh
# SPDX-License-Identifier: MIT
#
# The desync oracle (tests/oracle/oracle.py), response side, bounded for
# make check: seeded pipelines of plain requests (GET, HEAD, POST; HTTP/1.1
# and 1.0) for which the recording upstream sends odd answers
# (shapes.answer(): framing fields named by Connection, Content-Length
# with Transfer-Encoding, repeated or odd Content-Length, obfuscated
# Transfer-Encoding, chunk-size tricks, close-delimited bodies, 1xx
# before the answer, bare LF and CR, obs-fold, answers cut short, bytes
# after the answer).  Every answer the client reads (strictly) must be
# the one the upstream sent for that request, whole, or the broker's own
# error for it; an invalid answer must never reach the client as the
# upstream's; nothing may follow.  ORACLE_SEED picks the run.

. "$(dirname "$0")/lib.sh"
. "$TB_SRC/../oracle/in-check.sh"

# The oracle tells a reset from a FIN however the reset races its reads.
make_pki
"$PYTHON" "$TB_SRC/../oracle/check_stream_end.py" "$PKI/legacy.pem" \
    "$PKI/legacy.key" || fail "the oracle misreads how a stream ends"

replay_oracle finding1-response-connection-content-length \
    truncated-chunked-to-http10-client close-delimited-then-pipelined
run_oracle response 1500 25 "${ORACLE_SEED:-29}"
