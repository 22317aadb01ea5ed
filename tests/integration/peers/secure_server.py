#!/usr/bin/python3
"""TLS echo server with the tutorial's "TLS Version and Security Settings":
a minimum protocol version, old protocols and compression off, server
cipher preference, strong ciphers only. --min-version / --max-version
narrow the range further (tests use them for version mismatches).
"""
import argparse
import json
import socket
import ssl

VERSIONS = {"1.2": ssl.TLSVersion.TLSv1_2, "1.3": ssl.TLSVersion.TLSv1_3}


def parse_args():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--min-version", choices=VERSIONS, default="1.2")
    p.add_argument("--max-version", choices=VERSIONS)
    p.add_argument("--max-conn", type=int, default=1)
    p.add_argument("--timeout", type=float, default=30.0)
    return p.parse_args()


def make_context(args):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = VERSIONS[args.min_version]
    if args.max_version:
        context.maximum_version = VERSIONS[args.max_version]
    context.options |= ssl.OP_NO_COMPRESSION
    context.options |= ssl.OP_CIPHER_SERVER_PREFERENCE
    context.load_cert_chain(args.cert, args.key)
    context.set_ciphers("ECDHE+AESGCM:DHE+AESGCM:!aNULL:!MD5:!DSS")
    return context


def main():
    args = parse_args()
    context = make_context(args)
    family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((args.host, args.port))
    sock.listen(10)
    sock.settimeout(args.timeout)
    print(json.dumps({"event": "settings",
                      "min_version": context.minimum_version.name,
                      "ciphers": len(context.get_ciphers())}), flush=True)
    print(f"listening on {args.host}:{args.port}", flush=True)
    try:
        for _ in range(args.max_conn):
            conn, _addr = sock.accept()
            conn.settimeout(args.timeout)
            try:
                sslconn = context.wrap_socket(conn, server_side=True)
            except (ssl.SSLError, OSError) as e:
                print(json.dumps({"event": "handshake_failed",
                                  "error": str(e)}), flush=True)
                conn.close()
                continue
            info = {"event": "conn", "version": sslconn.version(),
                    "cipher": sslconn.cipher()[0], "bytes": 0}
            try:
                while True:
                    msg = sslconn.recv(65536)
                    if not msg:
                        break
                    sslconn.sendall(msg)
                    info["bytes"] += len(msg)
                sslconn.unwrap()
            except (ssl.SSLError, OSError) as e:
                info["error"] = str(e)
            conn.close()
            print(json.dumps(info), flush=True)
    finally:
        sock.close()


if __name__ == "__main__":
    main()
