#!/usr/bin/python3
"""Mutual-TLS echo server, like the tutorial's mTLS server: the context
loads the server's chain and the CA that signs client certificates, and
verify_mode CERT_REQUIRED makes a client certificate mandatory. Prints
the client's subject for each connection.
"""
import argparse
import json
import socket
import ssl


def parse_args():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--ca", required=True)
    p.add_argument("--max-conn", type=int, default=1)
    p.add_argument("--timeout", type=float, default=30.0)
    return p.parse_args()


def subject_text(cert):
    return ",".join(f"{k}={v}" for rdn in cert.get("subject", ())
                    for k, v in rdn)


def main():
    args = parse_args()
    family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((args.host, args.port))
    sock.listen(10)
    sock.settimeout(args.timeout)

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(args.cert, args.key)
    context.load_verify_locations(args.ca)
    context.verify_mode = ssl.CERT_REQUIRED

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
            cert = sslconn.getpeercert()
            info = {"event": "conn", "version": sslconn.version(),
                    "client": subject_text(cert), "bytes": 0}
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
