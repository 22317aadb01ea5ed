#!/usr/bin/python3
"""Simple blocking TLS echo server, set up like the tutorial's first server.

One SSLContext(PROTOCOL_TLS_SERVER) with a certificate chain; accept,
wrap, echo, close, one connection at a time. It echoes until the client
closes (so large transfers pass through) and answers the client's
close_notify with its own; --once keeps the tutorial's single recv(1024).

Prints "listening on HOST:PORT" once bound, then one JSON line per
connection, and exits after --max-conn connections.
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
    p.add_argument("--max-conn", type=int, default=1)
    p.add_argument("--once", action="store_true",
                   help="one recv(1024), send, close without close_notify")
    p.add_argument("--alpn", help="comma separated ALPN protocols")
    p.add_argument("--timeout", type=float, default=30.0)
    return p.parse_args()


def report(**fields):
    print(json.dumps(fields), flush=True)


def echo_until_close(sslconn):
    total = 0
    while True:
        msg = sslconn.recv(65536)
        if not msg:
            return total
        sslconn.sendall(msg)
        total += len(msg)


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
    if args.alpn:
        sslctx.set_alpn_protocols(args.alpn.split(","))

    servernames = []
    sslctx.sni_callback = lambda obj, name, ctx: servernames.append(name)

    print(f"listening on {args.host}:{args.port}", flush=True)
    try:
        for _ in range(args.max_conn):
            conn, addr = sock.accept()
            conn.settimeout(args.timeout)
            servernames.clear()
            try:
                sslconn = sslctx.wrap_socket(conn, server_side=True)
            except (ssl.SSLError, OSError) as e:
                report(event="handshake_failed", peer=addr[1], error=str(e))
                conn.close()
                continue
            info = dict(event="conn", peer=addr[1],
                        version=sslconn.version(),
                        cipher=sslconn.cipher()[0],
                        alpn=sslconn.selected_alpn_protocol(),
                        sni=servernames[0] if servernames else None)
            try:
                if args.once:
                    msg = sslconn.recv(1024)
                    if msg:
                        sslconn.send(msg)
                    info["bytes"] = len(msg)
                    sslconn.close()
                else:
                    info["bytes"] = echo_until_close(sslconn)
                    sslconn.unwrap()
                    conn.close()
            except (ssl.SSLError, OSError) as e:
                info["error"] = str(e)
                sslconn.close()
            report(**info)
    finally:
        sock.close()


if __name__ == "__main__":
    main()
