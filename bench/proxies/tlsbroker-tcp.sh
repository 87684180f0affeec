# shellcheck shell=bash
# tlsbroker in tcp mode (bytes relayed after both handshakes, no HTTP
# parsing, one upstream connection per client connection): the row to hold
# against stunnel.  Everything else as proxies/tlsbroker.sh.
TLSBROKER_MODE=${TLSBROKER_MODE:-tcp}
# shellcheck source=tlsbroker.sh
. "$(dirname "${BASH_SOURCE[0]}")/tlsbroker.sh"
