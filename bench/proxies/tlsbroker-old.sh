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
