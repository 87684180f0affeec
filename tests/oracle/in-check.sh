# SPDX-License-Identifier: MIT
#
# The desync oracle in make check, sourced by tests/integration/28-* and
# 29-* after lib.sh.

# run_oracle KIND CASES SECONDS SEED: oracle.py for at most CASES cases
# of KIND (request or response) or SECONDS, with its reproducers and the
# broker's log in $TB_TMP/oracle (kept when it fails); fails the test when
# the oracle fails.
run_oracle()
{
	need_broker
	_or_out="$TB_TMP/oracle"
	TB_BROKER_LOGS="$TB_BROKER_LOGS $_or_out/broker.log"
	if ! "$PYTHON" "$TB_SRC/../oracle/oracle.py" --broker "$TLSBROKER" \
	    --kind "$1" --cases "$2" --seconds "$3" --seed "$4" \
	    --log-dir "$_or_out" >"$TB_TMP/oracle.out" 2>&1; then
		cat "$TB_TMP/oracle.out" >&2
		fail "the desync oracle failed (reproducers in $_or_out)"
	fi
	cat "$TB_TMP/oracle.out"
}

# replay_oracle NAME...: the reproducers tests/oracle/repro/NAME.json
# replayed alone (each one failed on the code of its finding); fails the
# test on the first that fails again.
replay_oracle()
{
	need_broker
	for _rp in "$@"; do
		_rp="$TB_SRC/../oracle/repro/$_rp.json"
		if ! "$PYTHON" "$TB_SRC/../oracle/oracle.py" --broker "$TLSBROKER" \
		    --log-dir "$TB_TMP/replay" --replay "$_rp" \
		    >"$TB_TMP/replay.out" 2>&1; then
			cat "$TB_TMP/replay.out" >&2
			fail "oracle reproducer $(basename "$_rp") fails again"
		fi
	done
}
