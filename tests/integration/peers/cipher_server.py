#!/usr/bin/python3
"""TLS echo server with a configured cipher list, like the tutorial's
"TLS Server with Cipher Configuration": set_ciphers() on the context,
the configured ciphers printed as JSON, the negotiated cipher printed per
connection. TLS 1.2 cipher lists only apply to TLS 1.2, so --max-version
1.2 makes the list the one that decides.
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
    p.add_argument("--ciphers", default="ECDHE+AESGCM:DHE+AESGCM")
    p.add_argument("--max-version", choices=VERSIONS)
    p.add_argument("--max-conn", type=int, default=1)
    p.add_argument("--timeout", type=float, default=30.0)
    return p.parse_args()


def main():
    args = parse_args()
    family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((args.host, args.port))
    sock.listen(10)
    sock.settimeout(args.timeout)

    sslctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    sslctx.load_cert_chain(certfile=args.cert, keyfile=args.key)
    sslctx.set_ciphers(args.ciphers)
    if args.max_version:
        sslctx.maximum_version = VERSIONS[args.max_version]

    print(json.dumps({"event": "ciphers",
                      "ciphers": [c["name"] for c in sslctx.get_ciphers()]}),
          flush=True)
    print(f"listening on {args.host}:{args.port}", flush=True)
    try:
        for _ in range(args.max_conn):
            conn, addr = sock.accept()
            conn.settimeout(args.timeout)
            try:
                sslconn = sslctx.wrap_socket(conn, server_side=True)
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
