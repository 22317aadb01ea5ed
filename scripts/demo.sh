#!/usr/bin/env bash
# The quick start's main job: a throwaway PKI made by tlskit itself, then a
# verified mutual-TLS echo round trip on loopback between `tlskit echo` and
# `tlskit connect`, printing the handshake summary and the server's log.
set -euo pipefail
cd "$(dirname "$0")/.."
tlskit=${TLSKIT:-build/tlskit}
dir=$(mktemp -d "${TMPDIR:-/tmp}/tlskit-demo.XXXXXX")
server_pid=""
cleanup() {
	[ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT

echo "== throwaway PKI in $dir"
"$tlskit" cert new ca --cn "tlskit demo CA" --out "$dir/ca" >/dev/null
"$tlskit" cert new server --san localhost,127.0.0.1,::1 \
	--ca "$dir/ca.pem" --ca-key "$dir/ca.key" --out "$dir/server" >/dev/null
"$tlskit" cert new client --cn demo-client \
	--ca "$dir/ca.pem" --ca-key "$dir/ca.key" --out "$dir/client" >/dev/null
ls "$dir"

echo "== tlskit echo (client certificates required)"
"$tlskit" echo --listen 127.0.0.1:0 --cert "$dir/server.pem" --key "$dir/server.key" \
	--ca "$dir/ca.pem" --verify-client require 2>"$dir/server.log" &
server_pid=$!
port=""
for _ in $(seq 100); do
	port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$dir/server.log")
	[ -n "$port" ] && break
	kill -0 "$server_pid" 2>/dev/null || break
	sleep 0.05
done
cat "$dir/server.log"
[ -n "$port" ] || { echo "demo: the server did not start" >&2; exit 1; }

echo "== tlskit connect localhost:$port with a client certificate"
reply=$(echo "hello over mutual TLS" | "$tlskit" connect "localhost:$port" \
	--ca "$dir/ca.pem" --cert "$dir/client.pem" --key "$dir/client.key" --timeout 10)
echo "reply: $reply"

kill "$server_pid"
wait "$server_pid" || true
server_pid=""
echo "== server log"
cat "$dir/server.log"
[ "$reply" = "hello over mutual TLS" ] || { echo "demo: FAILED: wrong reply" >&2; exit 1; }
echo "== OK: verified mutual-TLS round trip"
