#!/usr/bin/env bash
# Runs the independent referee (shared/peer-bench) with `tlskit echo` as the
# candidate beside HAProxy, nginx, hitch, stunnel, Go and the tutorial's
# Python server, in one run, so the report gives ratios on this machine.
#
#   bench/peer-compare.sh                         # every peer and test
#   PEERS="haproxy nginx go" TESTS="hs rr" RUNS=1 bench/peer-compare.sh
#
# Its README (shared/peer-bench/README.md) explains tests and columns.
set -euo pipefail
cd "$(dirname "$0")/.."
referee=${PEER_BENCH:-../shared/peer-bench}
[ -x "$referee/run-peers.sh" ] || { echo "no referee at $referee (set PEER_BENCH)" >&2; exit 2; }
make -s -j"$(nproc)" build/tlskit
export CANDIDATE_NAME=${CANDIDATE_NAME:-tlskit}
export CANDIDATE_CMD="$PWD/build/tlskit echo --listen 127.0.0.1:{PORT} --cert {CERT} --key {KEY}"
exec "$referee/run-peers.sh"
