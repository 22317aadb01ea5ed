#!/bin/sh
# Builds the libFuzzer targets in tests/fuzz (clang, ASan + UBSan, into
# build-fuzz/) and runs each for FUZZ_SECONDS (default 60) from fresh seeds
# (tests/fuzz/make_seeds.py). A crash, leak or sanitizer report fails the
# run; its input is kept in build-fuzz/artifacts/ to replay with
#   build-fuzz/fuzz/TARGET build-fuzz/artifacts/crash-...
# Ends with one line "fuzz: N passed, N failed".
set -u
cd "$(dirname "$0")/.."

seconds=${FUZZ_SECONDS:-60}
jobs=$(nproc 2>/dev/null || echo 2)
passed=0
failed=0

if ! make -s -j"$jobs" build/tlskit ||
   ! make -s -j"$jobs" CC=clang SANITIZE=fuzz fuzzers; then
	echo "fuzz: building the fuzz targets failed"
	echo "fuzz: 0 passed, 1 failed"
	exit 1
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/tlskit-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT
if ! timeout 120 python3 tests/fuzz/make_seeds.py build/tlskit "$work"; then
	echo "fuzz: making the seed corpora failed"
	echo "fuzz: 0 passed, 1 failed"
	exit 1
fi
mkdir -p build-fuzz/artifacts
for target in build-fuzz/fuzz/fuzz_*; do
	[ -x "$target" ] || continue
	name=$(basename "$target")
	mkdir -p "$work/$name"
	echo "=== fuzz: $name for ${seconds}s"
	# -rss_limit_mb: a leak or runaway allocation fails instead of
	# swapping; timeout: a hang fails instead of stalling the run.
	if timeout $((seconds + 60)) "$target" -max_total_time="$seconds" \
		-rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
		-artifact_prefix=build-fuzz/artifacts/"$name"- \
		"$work/$name" >"$work/$name.log" 2>&1; then
		passed=$((passed + 1))
		grep -E '^(#[0-9]+.*DONE|stat::number_of_executed_units)' \
			"$work/$name.log" | tail -2
	else
		failed=$((failed + 1))
		tail -60 "$work/$name.log"
		echo "FAILED: $name (input kept in build-fuzz/artifacts/)"
	fi
done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
