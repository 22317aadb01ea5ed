#!/usr/bin/env bash
# The whole test suite: builds with gcc and clang (-Werror), then runs the
# cmocka unit tests and the pytest integration tests twice: on the plain
# build and on the AddressSanitizer + UndefinedBehaviorSanitizer build,
# then each libFuzzer target (tests/fuzz) for FUZZ_SECONDS (default 20).
# Ends with cmocka's and pytest's own summaries and one plain line
# "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."

jobs=$(nproc 2>/dev/null || echo 2)
passed=0
failed=0
log=$(mktemp -d "${TMPDIR:-/tmp}/tlskit-tests.XXXXXX")
trap 'rm -rf "$log"' EXIT

step() { printf '\n=== %s\n' "$*"; }

build() {
	step "build: $*"
	if ! make -s -j"$jobs" "$@" all unit; then
		echo "BUILD FAILED: make $*"
		failed=$((failed + 1))
		return 1
	fi
}

# Runs every unit test binary of build dir $1; counts cmocka's own totals.
run_units() {
	local dir=$1 t out n
	for t in "$dir"/tests/test_*; do
		[ -x "$t" ] || continue
		step "unit: $t"
		out="$log/$(basename "$t").out"
		timeout 300 "$t" 2>&1 | tee "$out"
		n=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$out" | tail -1)
		passed=$((passed + ${n:-0}))
		n=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$out" | tail -1)
		if [ -n "$n" ]; then
			failed=$((failed + n))
		elif ! grep -q '^\[  PASSED  \]' "$out"; then
			echo "unit test $t did not finish"
			failed=$((failed + 1))
		fi
	done
}

# Runs the integration tests against the binaries of build dir $1.
run_integration() {
	local dir=$1 out="$log/pytest-$1.out" line n
	step "integration: TLSKIT_BUILD=$dir"
	TLSKIT_BUILD="$PWD/$dir" timeout 1200 /usr/bin/python3 -m pytest -q \
		-p no:cacheprovider tests/integration 2>&1 | tee "$out"
	line=$(grep -E '^(=+ )?[0-9]+ (passed|failed)|no tests ran' "$out" | tail -1)
	n=$(grep -oE '[0-9]+ passed' <<<"$line" | grep -oE '[0-9]+')
	passed=$((passed + ${n:-0}))
	n=$(grep -oE '[0-9]+ (failed|errors?)' <<<"$line" | awk '{s += $1} END {print s + 0}')
	failed=$((failed + ${n:-0}))
	[ -n "$line" ] || { echo "integration tests did not finish"; failed=$((failed + 1)); }
}

build CC=clang B=build-clang || true
if build; then
	run_units build
	run_integration build
fi
if build SANITIZE=1; then
	export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=99
	export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
	run_units build-asan
	run_integration build-asan
fi

# Fuzz smoke: each libFuzzer target for a short while (longer by hand:
# FUZZ_SECONDS=600 sh scripts/fuzz.sh).
step "fuzz: ${FUZZ_SECONDS:=20}s per target"
out="$log/fuzz.out"
FUZZ_SECONDS=$FUZZ_SECONDS sh scripts/fuzz.sh 2>&1 | tee "$out"
n=$(sed -n 's/^fuzz: \([0-9]*\) passed, \([0-9]*\) failed$/\1 \2/p' "$out")
if [ -n "$n" ]; then
	passed=$((passed + ${n% *}))
	failed=$((failed + ${n#* }))
else
	echo "fuzzing did not finish"
	failed=$((failed + 1))
fi

echo
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
