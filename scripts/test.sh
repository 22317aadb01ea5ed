#!/bin/sh
# Quick start, step two: install what the tests need, build, and run the
# whole test suite (plain, then under ASan + UBSan).
set -eu
cd "$(dirname "$0")/.."
scripts/install-deps.sh test
exec scripts/run-tests.sh
