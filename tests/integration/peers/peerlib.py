"""What the tutorial-style Python clients share: argument parsing, the
echo round trip (lockstep chunks, so a blocking client never deadlocks
against an echo server) and the JSON report on stdout.

A client's report: version, cipher, alpn, local_port, peer_subject,
sent, echo_ok, clean_close (the server answered our close_notify), or
error. Exit status 0 when the echo matched, 1 when it did not, 2 on a
TLS or socket error.
"""
import argparse
import json
import os
import random
import socket
import ssl
import sys

VERSIONS = {"1.2": ssl.TLSVersion.TLSv1_2, "1.3": ssl.TLSVersion.TLSv1_3}
CHUNK = 16384


def client_args(description, need_ca=True, client_cert=False):
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--host", default="localhost")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--ca", required=need_ca)
    if client_cert:
        p.add_argument("--cert", required=True)
        p.add_argument("--key", required=True)
    p.add_argument("--servername", help="SNI and name checked (default host)")
    p.add_argument("--message", default="Hello TLS")
    p.add_argument("--size", type=int, help="send SIZE pseudo-random bytes")
    p.add_argument("--alpn", help="comma separated ALPN protocols")
    p.add_argument("--min-version", choices=VERSIONS)
    p.add_argument("--max-version", choices=VERSIONS)
    p.add_argument("--timeout", type=float, default=30.0)
    return p


def apply_options(context, args):
    if args.alpn:
        context.set_alpn_protocols(args.alpn.split(","))
    if args.min_version:
        context.minimum_version = VERSIONS[args.min_version]
    if args.max_version:
        context.maximum_version = VERSIONS[args.max_version]


def payload(args):
    if args.size is None:
        return args.message.encode()
    return random.Random(args.size).randbytes(args.size)


def subject_text(cert):
    if not cert:
        return None
    return ",".join(f"{k}={v}" for rdn in cert.get("subject", ())
                    for k, v in rdn)


def recv_exactly(ssock, n):
    parts = []
    while n > 0:
        data = ssock.recv(min(n, 65536))
        if not data:
            break
        parts.append(data)
        n -= len(data)
    return b"".join(parts)


def echo_roundtrip(ssock, data):
    """Sends data in chunks, reading each chunk's echo before the next."""
    echoed = bytearray()
    for off in range(0, len(data), CHUNK):
        chunk = data[off:off + CHUNK]
        ssock.sendall(chunk)
        echoed += recv_exactly(ssock, len(chunk))
    return bytes(echoed)


def close_cleanly(ssock):
    """Sends close_notify and waits for the server's; True if it came."""
    try:
        ssock.unwrap()
        return True
    except (ssl.SSLError, OSError, ValueError):
        return False


def session_info(ssock):
    return {"version": ssock.version(), "cipher": ssock.cipher()[0],
            "alpn": ssock.selected_alpn_protocol(),
            "local_port": ssock.getsockname()[1],
            "peer_subject": subject_text(ssock.getpeercert())}


def run_echo(context, args, data):
    """Connects, runs the round trip and returns the report."""
    servername = args.servername or args.host
    report = {"sent": len(data)}
    try:
        with socket.create_connection((args.host, args.port),
                                      timeout=args.timeout) as sock:
            with context.wrap_socket(sock, server_hostname=servername) as ssock:
                report.update(session_info(ssock))
                echoed = echo_roundtrip(ssock, data)
                report["echo_ok"] = echoed == data
                report["received"] = len(echoed)
                report["clean_close"] = close_cleanly(ssock)
    except (ssl.SSLError, ssl.CertificateError, OSError) as e:
        report["error"] = f"{type(e).__name__}: {e}"
    return report


def finish(report):
    print(json.dumps(report), flush=True)
    if "error" in report:
        print(report["error"], file=sys.stderr)
        sys.exit(2)
    sys.exit(0 if report.get("echo_ok") else 1)


def quiet_env():
    # Never let a test's environment point a peer at an unexpected key log.
    os.environ.pop("SSLKEYLOGFILE", None)
