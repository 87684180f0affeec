# shellcheck shell=bash
# tlsbroker in http mode with upstream_max_connections set far above what
# any scenario opens (10000), so the cap is never reached: the row to
# compare with tlsbroker's for the cap's cost per request (issue #13).
# Everything else as proxies/tlsbroker.sh.
TLSBROKER_CAP=${TLSBROKER_CAP:-10000}
# shellcheck source=tlsbroker.sh
. "$(dirname "${BASH_SOURCE[0]}")/tlsbroker.sh"
