#!/bin/sh
# Installs, with apt-get, the Debian 12 packages tlskit needs that are missing.
#   install-deps.sh build   compiler, make, OpenSSL 3 headers
#   install-deps.sh test    the above plus what the test suite runs
set -eu

build_pkgs="gcc make pkg-config libssl-dev openssl"
test_pkgs="$build_pkgs clang libclang-rt-14-dev libcmocka-dev python3 python3-pytest gnutls-bin procps"

case "${1:-build}" in
build) wanted=$build_pkgs ;;
test) wanted=$test_pkgs ;;
*) echo "usage: $0 build|test" >&2; exit 2 ;;
esac

missing=""
for p in $wanted; do
	status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$status" in
	*"ok installed"*) ;;
	*) missing="$missing $p" ;;
	esac
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: missing packages:$missing" >&2
	echo "install-deps: run as root, or: sudo apt-get install$missing" >&2
	exit 1
fi
echo "install-deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
