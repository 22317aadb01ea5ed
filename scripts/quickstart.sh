#!/bin/sh
# Quick start, step one: install what is missing, build, and run a verified
# mutual-TLS echo round trip on loopback with a throwaway PKI.
set -eu
cd "$(dirname "$0")/.."
scripts/install-deps.sh build
make -s -j"$(nproc)"
exec scripts/demo.sh
