# shellcheck shell=bash
# tlsbroker in tcp mode (bytes relayed after both handshakes, no HTTP
# parsing, one upstream connection per client connection): the row to hold
# against stunnel.  Everything else as proxies/tlsbroker.sh.
TLSBROKER_MODE=${TLSBROKER_MODE:-tcp}
# shellcheck source=tlsbroker.sh
. "$(dirname "${BASH_SOURCE[0]}")/tlsbroker.sh"
# tcp mode writes one audit record per connection, not per request: no
# log-on row for it (the log-on rows compare per-request access logs)
unset -f proxy_access_log
