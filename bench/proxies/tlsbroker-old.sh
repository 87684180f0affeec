# shellcheck shell=bash
# tlsbroker built from another tree (the "before" of a change), run with the
# same config as proxies/tlsbroker.sh: the row to hold against tlsbroker's in
# one interleaved run when a refactor must stay within noise (issue #11).
# TLSBROKER_OLD_BIN: that binary (default: /work/wt/old/build/src/tlsbroker,
# a worktree of the last landed version built there).  It must accept the
# keys proxies/tlsbroker.sh writes; TLSBROKER_CAP and TLSBROKER_ETM are
# left unset here so both rows get the same config.
TLSBROKER_BIN=${TLSBROKER_OLD_BIN:-/work/wt/old/build/src/tlsbroker}
unset TLSBROKER_CAP TLSBROKER_ETM
# shellcheck source=tlsbroker.sh
. "$(dirname "${BASH_SOURCE[0]}")/tlsbroker.sh"
# without that binary the target is left out with a message saying so
# (a plain bench/run picks up every plug-in in proxies/)
if [ ! -x "$TLSBROKER_BIN" ]; then
    proxy_start() { echo "no tlsbroker binary at $TLSBROKER_BIN (set TLSBROKER_OLD_BIN)" >&2; return 1; }
    proxy_version() { echo "not built: $TLSBROKER_BIN"; }
fi
