#!/usr/bin/env bash
# bench/compare.sh: tlskit echo beside the TLS servers people pick instead
# (HAProxy, nginx stream, hitch, stunnel, a Go crypto/tls echo server and
# the tutorial's Python selectors server), under the same conditions, with
# `tlskit bench` as the load. Writes bench/results/compare-STAMP.md (and
# .csv beside it) and prints the table.
#
#   bench/compare.sh                                   # everything, ~15 min
#   PEERS="tlskit go" TESTS="rr idle" RUNS=1 bench/compare.sh
#
# Every server runs one worker on core SERVER_CPU (terminators with their
# echo_backend on the same core), the load runs on CLIENT_CPU. Figures are
# per second of server CPU time (utime+stime of all the server's
# processes, read from /proc around each measured run), because the load
# generator, not the server, is the bottleneck. See bench/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

ALL_PEERS="tlskit haproxy nginx hitch stunnel go python"
ALL_TESTS="hs-ecdsa hs-rsa resume tput rr idle"
PEERS=${PEERS:-$ALL_PEERS}
TESTS=${TESTS:-$ALL_TESTS}
RUNS=${RUNS:-2}
DURATION=${DURATION:-5}
WARMUP=${WARMUP:-1}
HS_CONNS=${HS_CONNS:-32}
TPUT_CONNS=${TPUT_CONNS:-4}
RR_CONNS=${RR_CONNS:-64}
RR_SIZE=${RR_SIZE:-64}
IDLE_CONNS=${IDLE_CONNS:-2000}
IDLE_HOLD=${IDLE_HOLD:-3}
SERVER_CPU=${SERVER_CPU:-1}
CLIENT_CPU=${CLIENT_CPU:-0}
BUILD=${BUILD:-$ROOT/build/compare}
OUTDIR=${OUTDIR:-$ROOT/bench/results}
PY=/usr/bin/python3     # Debian's, on the system OpenSSL; stdlib only
PEERDIR=$ROOT/bench/peers

die() { echo "compare.sh: $*" >&2; exit 1; }
note() { echo "compare.sh: $*" >&2; }

for p in $PEERS; do
	case " $ALL_PEERS " in *" $p "*) ;; *) die "unknown peer '$p' (known: $ALL_PEERS)";; esac
done
for t in $TESTS; do
	case " $ALL_TESTS " in *" $t "*) ;; *) die "unknown test '$t' (known: $ALL_TESTS)";; esac
done
[ "$(nproc --all)" -ge 2 ] || die "needs two CPUs (server on one, load on the other)"
[ -x "$PY" ] || die "needs $PY (python3) for the bookkeeping"

# --- what runs, and how long ---------------------------------------------

count_words() { echo "$1" | wc -w; }
n_peers=$(count_words "$PEERS")
n_load=0; n_idle=0
for t in $TESTS; do
	if [ "$t" = idle ]; then n_idle=1; else n_load=$((n_load + 1)); fi
done
# Per cell: start and stop (~2 s), warm-up, the run; idle: hold + open.
estimate=$(( RUNS * n_peers * (n_load * (DURATION + WARMUP + 3) +
	n_idle * (IDLE_HOLD + WARMUP + 8)) ))
echo "compare.sh: $n_peers servers x $(count_words "$TESTS") tests x $RUNS runs;" \
	"estimated $((estimate / 60)) min $((estimate % 60)) s (plus installs and builds)"

# --- installing and building ----------------------------------------------

packages_for() {
	case $1 in
	haproxy) echo haproxy;;
	nginx) echo nginx libnginx-mod-stream;;
	hitch) echo hitch;;
	stunnel) echo stunnel4;;
	go) echo golang-go;;
	esac
}

install_missing() {
	local want=() pkg p
	for p in $PEERS; do
		for pkg in $(packages_for "$p"); do
			[ "$(dpkg-query -W -f='${Status}' "$pkg" 2> /dev/null)" = \
				"install ok installed" ] || want+=("$pkg")
		done
	done
	[ ${#want[@]} -gt 0 ] || return 0
	if [ "$(id -u)" -ne 0 ] || ! command -v apt-get > /dev/null; then
		note "not root or no apt-get: cannot install ${want[*]}; those peers will be n/a"
		return 0
	fi
	note "installing ${want[*]}"
	export DEBIAN_FRONTEND=noninteractive
	if ! apt-get install -y --no-install-recommends "${want[@]}" > "$WORK/apt.log" 2>&1; then
		apt-get update > "$WORK/apt.log" 2>&1 || true
		apt-get install -y --no-install-recommends "${want[@]}" >> "$WORK/apt.log" 2>&1 ||
			note "apt-get install ${want[*]} failed (see below); those peers will be n/a"
		tail -n 3 "$WORK/apt.log" >&2
	fi
	# The packages start their services; ours run in the foreground instead.
	for svc in haproxy nginx hitch stunnel4; do
		systemctl stop "$svc" > /dev/null 2>&1 || true
	done
}

build_all() {
	make -s -j2 build/tlskit || die "make build/tlskit failed"
	mkdir -p "$BUILD"
	# A private copy (statically linked to libtlskit): a rebuild of
	# build/tlskit in the middle of a run must not change or break it.
	cp build/tlskit "$WORK/tlskit"
	TLSKIT=$WORK/tlskit
	${CC:-cc} -O2 -std=c11 -Wall -Wextra -Werror -o "$BUILD/echo_backend" \
		"$PEERDIR/echo_backend.c" || die "building $PEERDIR/echo_backend.c failed"
	if command -v go > /dev/null; then
		# The stdlib only: no module downloads, ever.
		(cd "$PEERDIR/goecho" && GOFLAGS=-mod=mod GOPROXY=off CGO_ENABLED=0 \
			GOCACHE="$BUILD/gocache" go build -o "$BUILD/goecho" main.go) ||
			note "building goecho failed; go will be n/a"
	fi
}

make_pki() {
	local tk=$TLSKIT pki=$WORK/pki
	mkdir -p "$pki"
	"$tk" cert new ca --out "$pki/ca" --cn "compare.sh test CA" > /dev/null
	"$tk" cert new server --out "$pki/ecdsa" --ca "$pki/ca.pem" --ca-key "$pki/ca.key" \
		--san localhost,127.0.0.1 --key-type ec-p256 > /dev/null
	"$tk" cert new server --out "$pki/rsa" --ca "$pki/ca.pem" --ca-key "$pki/ca.key" \
		--san localhost,127.0.0.1 --key-type rsa2048 > /dev/null
	cat "$pki/ecdsa.pem" "$pki/ecdsa.key" > "$pki/ecdsa-full.pem"
	cat "$pki/rsa.pem" "$pki/rsa.key" > "$pki/rsa-full.pem"
	CA=$pki/ca.pem
}

free_port() {
	"$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# --- starting and stopping one server -------------------------------------

SPID=""; BPID=""; SERVER_LOG=""

listening() { [ -n "$(ss -Hltn "sport = :$1" 2> /dev/null)" ]; }

# Waits (bounded) until PORT listens, while PID lives.
wait_listening() {
	local port=$1 pid=$2
	for _ in $(seq 1 100); do
		listening "$port" && return 0
		kill -0 "$pid" 2> /dev/null || return 1
		sleep 0.05
	done
	return 1
}

render() {        # render TEMPLATE OUT CERT KEY PEM
	sed -e "s|@PORT@|$PORT|g" -e "s|@BACKEND_PORT@|$BACKEND_PORT|g" \
	    -e "s|@CERT@|$3|g" -e "s|@KEY@|$4|g" -e "s|@PEM@|$5|g" \
	    -e "s|@RUN@|$RUNDIR|g" -e "s|@NOFILE@|$NOFILE|g" \
	    -e "s|@MAXCONN@|$(( NOFILE / 2 - 50 ))|g" \
	    -e "s|@MAXCONN2@|$(( NOFILE - 100 ))|g" "$1" > "$2"
}

# peer_available NAME: empty if it can run, else why not.
peer_available() {
	case $1 in
	tlskit) [ -x "$TLSKIT" ] || echo "build/tlskit missing";;
	haproxy) command -v haproxy > /dev/null || echo "haproxy not installed";;
	nginx) command -v nginx > /dev/null || echo "nginx not installed"
	       [ -f /usr/lib/nginx/modules/ngx_stream_module.so ] ||
			echo "libnginx-mod-stream not installed";;
	hitch) command -v hitch > /dev/null || echo "hitch not installed";;
	stunnel) command -v stunnel4 > /dev/null || echo "stunnel4 not installed";;
	go) [ -x "$BUILD/goecho" ] || echo "goecho not built (golang-go missing?)";;
	python) [ -x "$PY" ] || echo "$PY missing";;
	esac
}

is_terminator() { case $1 in haproxy|nginx|hitch|stunnel) return 0;; esac; return 1; }

# start_server PEER KEYTYPE: sets SPID (and BPID); returns 1 with the
# reason in START_ERROR when it does not come up.
start_server() {
	local peer=$1 kt=$2 pki=$WORK/pki
	local cert=$pki/$kt.pem key=$pki/$kt.key pem=$pki/$kt-full.pem
	local pin=(taskset -c "$SERVER_CPU")
	SPID=""; BPID=""; START_ERROR=""
	SERVER_LOG=$RUNDIR/$peer.log
	: > "$SERVER_LOG"
	if listening "$PORT"; then
		START_ERROR="port $PORT is taken by another process"; return 1
	fi
	if is_terminator "$peer"; then
		"${pin[@]}" "$BUILD/echo_backend" "$BACKEND_PORT" >> "$RUNDIR/backend.log" 2>&1 &
		BPID=$!
		if ! wait_listening "$BACKEND_PORT" "$BPID"; then
			START_ERROR="echo_backend did not listen on $BACKEND_PORT: $(tail -n 1 "$RUNDIR/backend.log")"
			return 1
		fi
	fi
	case $peer in
	tlskit)
		"${pin[@]}" "$TLSKIT" echo --workers 1 --listen "127.0.0.1:$PORT" \
			--cert "$cert" --key "$key" >> "$SERVER_LOG" 2>&1 &;;
	haproxy)
		render "$PEERDIR/haproxy.cfg.in" "$RUNDIR/haproxy.cfg" "$cert" "$key" "$pem"
		"${pin[@]}" haproxy -db -f "$RUNDIR/haproxy.cfg" >> "$SERVER_LOG" 2>&1 &;;
	nginx)
		render "$PEERDIR/nginx.conf.in" "$RUNDIR/nginx.conf" "$cert" "$key" "$pem"
		"${pin[@]}" nginx -p "$RUNDIR" -e "$RUNDIR/nginx-error.log" \
			-c "$RUNDIR/nginx.conf" >> "$SERVER_LOG" 2>&1 &;;
	hitch)
		render "$PEERDIR/hitch.conf.in" "$RUNDIR/hitch.conf" "$cert" "$key" "$pem"
		"${pin[@]}" hitch --config="$RUNDIR/hitch.conf" >> "$SERVER_LOG" 2>&1 &;;
	stunnel)
		render "$PEERDIR/stunnel.conf.in" "$RUNDIR/stunnel.conf" "$cert" "$key" "$pem"
		"${pin[@]}" stunnel4 "$RUNDIR/stunnel.conf" >> "$SERVER_LOG" 2>&1 &;;
	go)
		GOMAXPROCS=1 "${pin[@]}" "$BUILD/goecho" -listen "127.0.0.1:$PORT" \
			-cert "$cert" -key "$key" >> "$SERVER_LOG" 2>&1 &;;
	python)
		"${pin[@]}" "$PY" "$PEERDIR/pyecho.py" --listen "127.0.0.1:$PORT" \
			--cert "$cert" --key "$key" >> "$SERVER_LOG" 2>&1 &;;
	esac
	SPID=$!
	if ! wait_listening "$PORT" "$SPID"; then
		START_ERROR="$peer did not listen on $PORT within 5 s: $(tail -n 1 "$SERVER_LOG" "$RUNDIR"/*error.log 2> /dev/null | grep -v '^==>' | grep . | tail -n 1)"
		return 1
	fi
	sleep 0.2   # let forking servers finish starting their workers
}

# Stops what start_server started: SIGTERM, a bounded wait, then SIGKILL
# for whatever of its process tree is left.
stop_pid() {
	local pid=$1 tree p
	[ -n "$pid" ] || return 0
	tree=$("$PY" "$PEERDIR/procstat.py" pids "$pid")
	kill -TERM "$pid" 2> /dev/null || true
	for _ in $(seq 1 60); do
		kill -0 "$pid" 2> /dev/null || break
		sleep 0.05
	done
	for p in $tree; do kill -KILL "$p" 2> /dev/null || true; done
	wait "$pid" 2> /dev/null || true
}

stop_server() {
	stop_pid "$SPID"; SPID=""
	stop_pid "$BPID"; BPID=""
	# the next server must find the port free
	for _ in $(seq 1 40); do listening "$PORT" || break; sleep 0.05; done
}

cleanup() {
	stop_server 2> /dev/null || true
	rm -rf "$WORK"
}

# --- one measured cell ----------------------------------------------------

bench_args() {   # the tlskit bench mode and options of a test
	case $1 in
	hs-ecdsa|hs-rsa) echo "handshake -c $HS_CONNS";;
	resume) echo "resume -c $HS_CONNS";;
	tput) echo "throughput -c $TPUT_CONNS";;
	rr) echo "rr -c $RR_CONNS --size $RR_SIZE";;
	idle) echo "idle -c $IDLE_CONNS --hold $IDLE_HOLD";;
	esac
}

load() {         # load SECONDS ARGS...: one bounded tlskit bench run
	local secs=$1; shift
	timeout -k 2 $((secs + IDLE_HOLD + 30)) "$TLSKIT" bench "$@" \
		"127.0.0.1:$PORT" --servername localhost --ca "$CA" --timeout 10
}

cpu_of() { "$PY" "$PEERDIR/procstat.py" cpu "$@"; }
pss_of() { "$PY" "$PEERDIR/procstat.py" pss "$@"; }

established() { ss -Htn state established "sport = :$PORT" 2> /dev/null | wc -l; }

# Waits until the idle connections are all up (or stop coming), bounded.
wait_idle_held() {
	local last=-1 same=0 n
	for _ in $(seq 1 $(( (IDLE_HOLD + 30) * 5 ))); do
		n=$(established)
		[ "$n" -ge "$IDLE_CONNS" ] && return 0
		if [ "$n" -eq "$last" ] && [ "$n" -gt 0 ]; then
			same=$((same + 1))
			[ "$same" -ge 8 ] && return 0
		else
			same=0
		fi
		last=$n
		sleep 0.2
	done
	return 1
}

run_cell() {     # run_cell RUN TEST PEER
	local run=$1 test=$2 peer=$3 kt=ecdsa why args pids json cpu0 cpu1 lpid
	local s0 s1 b0 b1 p0=- p1=- bp0 bp1=- rc=0
	json=$RUNDIR/$peer-$test-$run.json
	why=$(peer_available "$peer")
	if [ -n "$why" ]; then
		"$PY" "$PEERDIR/report.py" fail "$run" "$test" "$peer" "$why" >> "$CSV"
		return
	fi
	[ "$test" = hs-rsa ] && kt=rsa
	if ! start_server "$peer" "$kt"; then
		"$PY" "$PEERDIR/report.py" fail "$run" "$test" "$peer" "$START_ERROR" >> "$CSV"
		stop_server
		return
	fi
	read -r -a args <<< "$(bench_args "$test")"
	pids=("$SPID")
	[ -z "$BPID" ] || pids+=("$BPID")
	if [ "$test" = idle ]; then
		# Warm up with a few connections so one-off allocations are in
		# the baseline, not divided among the idle connections.
		load "$WARMUP" handshake -c 8 -d "$WARMUP" > /dev/null 2>&1 || true
		sleep 0.3
		read -r p0 bp0 <<< "$(pss_of "${pids[@]}")"
		read -r s0 b0 <<< "$(cpu_of "${pids[@]}")"
		load "$IDLE_HOLD" "${args[@]}" --json > "$json" 2> "$json.err" &
		lpid=$!
		if wait_idle_held; then
			sleep 0.5
			read -r p1 bp1 <<< "$(pss_of "${pids[@]}")"
		fi
		wait "$lpid" || rc=$?
	else
		load "$WARMUP" "${args[@]}" -d "$WARMUP" > /dev/null 2>&1 || true
		read -r s0 b0 <<< "$(cpu_of "${pids[@]}")"
		load "$DURATION" "${args[@]}" -d "$DURATION" --json > "$json" 2> "$json.err" || rc=$?
	fi
	read -r s1 b1 <<< "$(cpu_of "${pids[@]}")"
	if ! kill -0 "$SPID" 2> /dev/null; then
		"$PY" "$PEERDIR/report.py" fail "$run" "$test" "$peer" \
			"server died during the run: $(tail -n 1 "$SERVER_LOG")" >> "$CSV"
	elif [ ! -s "$json" ]; then
		"$PY" "$PEERDIR/report.py" fail "$run" "$test" "$peer" \
			"tlskit bench exited $rc without a report: $(tail -n 1 "$json.err")" >> "$CSV"
	else
		cpu0=$(awk -v a="$s0" -v b="$s1" 'BEGIN { printf "%.2f", b - a }')
		cpu1=-
		[ -z "$BPID" ] || cpu1=$(awk -v a="$b0" -v b="$b1" 'BEGIN { printf "%.2f", b - a }')
		"$PY" "$PEERDIR/report.py" row "$run" "$test" "$peer" "$cpu0" "$cpu1" \
			"$p0" "$p1" "${bp0:--}" "${bp1:--}" < "$json" >> "$CSV"
	fi
	stop_server
}

# --- the report header ----------------------------------------------------

versions() {     # (sed, not head: an early exit would SIGPIPE the writer)
	local p
	for p in $PEERS; do
		case $p in
		tlskit) echo "tlskit $(git -C "$ROOT" describe --always --dirty 2> /dev/null || echo '?')";;
		haproxy) command -v haproxy > /dev/null && haproxy -v | sed -n 1p;;
		nginx) command -v nginx > /dev/null && nginx -v 2>&1;;
		hitch) command -v hitch > /dev/null && hitch --version 2>&1 | sed -n 1p;;
		stunnel) command -v stunnel4 > /dev/null && stunnel4 -version 2>&1 | awk '/^stunnel/ && !n++';;
		go) command -v go > /dev/null && go version;;
		python) "$PY" -c 'import sys, ssl; print("Python", sys.version.split()[0], ssl.OPENSSL_VERSION)';;
		esac
	done | sed 's/^/- /'
}

write_header() {
	{
		echo "# tlskit echo beside other TLS servers ($STAMP)"
		echo
		echo "Machine: $(nproc --all) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')),"
		echo "Linux $(uname -r), $(openssl version 2> /dev/null || echo 'openssl ?')."
		echo
		echo "Settings: RUNS=$RUNS (interleaved: every run goes through every test and"
		echo "server before the next), DURATION=$DURATION s per measured run after a"
		echo "WARMUP=$WARMUP s warm-up, HS_CONNS=$HS_CONNS, TPUT_CONNS=$TPUT_CONNS,"
		echo "RR_CONNS=$RR_CONNS with RR_SIZE=$RR_SIZE B, IDLE_CONNS=$IDLE_CONNS held"
		echo "IDLE_HOLD=$IDLE_HOLD s. TLS 1.3, X25519, certificates from \`tlskit cert new\`"
		echo "(ECDSA P-256, or RSA-2048 for hs-rsa), verified by the client."
		echo "Each cell starts a fresh server with one worker on core $SERVER_CPU"
		echo "(terminators' echo_backend on the same core); the load, \`tlskit bench\`,"
		echo "runs on core $CLIENT_CPU."
		echo
		echo "**Rates are per second of server CPU time** (user+system of every"
		echo "process of the server, plus echo_backend for terminators, from"
		echo "/proc/PID/stat right before and after the measured run): the load"
		echo "generator, not the server, is the bottleneck in most tests, so rates"
		echo "per wall-clock second measure the client. Raw rates are shown too."
		echo "Medians over the runs; ±x% is half the min–max range over the runs."
		echo "Ratio = server ÷ tlskit (tlskit = 1.00); for memory lower is better."
		echo "Idle memory: PSS (/proc/PID/smaps_rollup) of all the server's"
		echo "processes while the connections are held minus before, per held"
		echo "connection (after one round trip each)."
		echo
		echo "Versions:"
		echo
		versions
		echo
	} > "$HEADER"
}

# --- main -----------------------------------------------------------------

WORK=$(mktemp -d "${TMPDIR:-/tmp}/tlskit-compare.XXXXXX")
trap cleanup EXIT
trap 'exit 130' INT TERM
RUNDIR=$WORK/run
mkdir -p "$RUNDIR" "$OUTDIR"
chmod 755 "$WORK" "$RUNDIR"     # hitch's and nginx's workers run as nobody

install_missing
build_all
make_pki

# Everything of ours (this shell, python, ss, the load) stays off the
# server's core; servers are started with taskset -c SERVER_CPU.
taskset -cp "$CLIENT_CPU" $$ > /dev/null
ulimit -n "$(ulimit -Hn)" 2> /dev/null || note "could not raise the open-files limit"
NOFILE=$(ulimit -n)
[ "$NOFILE" = unlimited ] && NOFILE=1048576
if [ "$IDLE_CONNS" -gt $(( NOFILE / 2 - 100 )) ]; then
	note "IDLE_CONNS=$IDLE_CONNS needs ~2 descriptors each in terminators; the limit is $NOFILE"
fi
PORT=${PORT:-$(free_port)}
BACKEND_PORT=${BACKEND_PORT:-$(free_port)}
[ "$PORT" != "$BACKEND_PORT" ] || BACKEND_PORT=$((PORT + 1))

STAMP=$(date +%Y%m%d-%H%M%S)
CSV=$OUTDIR/compare-$STAMP.csv
REPORT=$OUTDIR/compare-$STAMP.md
HEADER=$WORK/header.md
"$PY" "$PEERDIR/report.py" header > "$CSV"
write_header

started=$(date +%s)
for run in $(seq 1 "$RUNS"); do
	for test in $TESTS; do
		for peer in $PEERS; do
			printf 'compare.sh: run %s/%s %-8s %-8s (%ds)\n' "$run" "$RUNS" \
				"$test" "$peer" $(( $(date +%s) - started )) >&2
			run_cell "$run" "$test" "$peer"
		done
	done
done

"$PY" "$PEERDIR/report.py" table "$CSV" "$HEADER" > "$REPORT"
cat "$REPORT"
echo "compare.sh: took $(( $(date +%s) - started )) s; report $REPORT, raw data $CSV" >&2
