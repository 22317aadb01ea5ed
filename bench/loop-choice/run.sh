#!/usr/bin/env bash
# The event-loop decision, measured: `tlskit echo` (own epoll loop, one
# edge-triggered registration per connection) against the same TLS echo on
# libuv (bench/loop-choice/uvecho.c), interleaved, server on core 1 and the
# referee's load generator on core 0. Prints server CPU per operation and
# epoll_ctl calls per connection. Needs libuv1-dev and the referee
# (PEER_BENCH, default ../shared/peer-bench); bounded: RUNS x 2 x T seconds.
set -euo pipefail
cd "$(dirname "$0")/../.."
referee=${PEER_BENCH:-../shared/peer-bench}
runs=${RUNS:-3} secs=${T:-6}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
make -s -j"$(nproc)" build/tlskit build/libtlskit.a
cp -r "$referee"/. "$work/pb" && make -s -C "$work/pb" tlsload >/dev/null
cc -D_GNU_SOURCE -O2 -Iinclude -o "$work/uvecho" bench/loop-choice/uvecho.c \
	build/libtlskit.a -luv -lssl -lcrypto -pthread
pki=$work/pb/pki
[ -f "$pki/server-ecdsa.crt" ] || "$pki/make-pki.sh" >/dev/null

server_cmd() { # name port
	if [ "$1" = engine ]; then
		echo "build/tlskit echo --listen 127.0.0.1:$2 --cert $pki/server-ecdsa.crt --key $pki/server-ecdsa.key"
	else
		echo "$work/uvecho $2 $pki/server-ecdsa.crt $pki/server-ecdsa.key"
	fi
}

measure() { # name port mode
	taskset -c 1 $(server_cmd "$1" "$2") 2>/dev/null &
	local pid=$! line
	sleep 0.5
	line=$(taskset -c 0 "$work/pb/tlsload" "$3" -H 127.0.0.1 -p "$2" \
		-A "$pki/ca-ecdsa.crt" -c 32 -t "$secs" -w 1 -P "$pid" 2>&1 | grep RESULT)
	kill "$pid"; wait "$pid" 2>/dev/null || true
	awk -v n="$1" -v m="$3" '{for (i = 1; i <= NF; i++) {split($i, a, "="); v[a[1]] = a[2]}
		printf "%-7s %-3s rate=%-8s client_cpu=%-5s server_cpu=%-5s server_us_per_op=%.1f\n",
		n, m, v["rate"], v["client_cpu"], v["server_cpu"], v["server_cpu"] * secs * 10000 / v["ops"] }' secs="$secs" <<<"$line"
}

epoll_ctl_per_conn() { # name port
	strace -f -c -e trace=epoll_ctl -o "$work/$1.strace" $(server_cmd "$1" "$2") 2>/dev/null &
	sleep 0.7
	"$work/pb/tlsload" hs -H 127.0.0.1 -p "$2" -A "$pki/ca-ecdsa.crt" -c 8 -n 1000 -t 20 -w 0 >/dev/null 2>&1
	pkill -TERM -f "^$(server_cmd "$1" "$2")\$" || true
	wait 2>/dev/null || true
	awk -v n="$1" '$NF == "epoll_ctl" {printf "%-7s epoll_ctl per connection: %.2f\n", n, $4 / 1000}' "$work/$1.strace"
}

for mode in hs rr; do
	for _ in $(seq "$runs"); do
		measure engine 18471 "$mode"
		measure libuv 18472 "$mode"
	done
done
epoll_ctl_per_conn engine 18473
epoll_ctl_per_conn libuv 18474
