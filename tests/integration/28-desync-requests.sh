#!/bin/sh
# SPDX-License-Identifier: MIT
#
# The desync oracle (tests/oracle/oracle.py), request side, bounded for
# make check: seeded request streams of every shape (valid, malformed, the
# smuggling shapes: CL.TE, TE.CL, obfuscated Transfer-Encoding, framing
# fields named by Connection, odd Content-Length, chunk-size tricks, bare
# CR/LF, obs-fold, pipelines, 100-continue, absolute-form, Host tricks)
# through the daemon, TLS in, to recording upstreams (a strict and a
# lenient raw recorder, an HTTP/1.0 one, one that says HTTP/1.1 but cannot
# read chunked, nginx).  Every request an upstream parsed must be one the
# broker audited on the same client connection, with the same route,
# method, target, Host and body; every answer the client read must be the
# one its upstream sent for it.  ORACLE_SEED picks the run (default
# fixed); failing cases are saved as repro-*.json in the kept temp dir.
# `make soak` runs the same oracle longer with a random seed.

. "$(dirname "$0")/lib.sh"
. "$TB_SRC/../oracle/in-check.sh"

replay_oracle finding1-connection-content-length-nginx \
    finding1-connection-content-length-strict finding8-absolute-query \
    host-empty-routed-by-sni te-comma-forwarded-verbatim \
    te-lead-comma-forwarded-verbatim finding5-chunked-to-fake11
run_oracle request 2000 30 "${ORACLE_SEED:-28}"
