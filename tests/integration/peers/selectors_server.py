#!/usr/bin/python3
"""Non-blocking TLS echo server on selectors, like the tutorial's last
server: the handshake runs with do_handshake_on_connect=False and each
socket's registered callback is the next step (handshake, read, write).

Unlike the tutorial it keeps a per-connection output buffer, drains what
OpenSSL has already decrypted (pending()), stops reading while its buffer
is full (backpressure) and answers close_notify, so it serves many
clients and large transfers at once. Exits after --max-conn connections.
"""
import argparse
import json
import selectors
import socket
import ssl
from functools import partial

BUFFER_LIMIT = 1 << 20


class Conn:
    def __init__(self, sslconn, peer):
        self.ssl = sslconn
        self.peer = peer
        self.out = bytearray()
        self.inflight = None   # a chunk whose SSL write must be retried as is
        self.eof = False
        self.bytes = 0
        self.version = None


class Server:
    def __init__(self, args):
        self.sslctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.sslctx.load_cert_chain(certfile=args.cert, keyfile=args.key)
        self.sel = selectors.DefaultSelector()
        self.max_conn = args.max_conn
        self.accepted = 0
        self.finished = 0

    def report(self, **fields):
        print(json.dumps(fields), flush=True)

    def accept(self, sock):
        conn, addr = sock.accept()
        conn.setblocking(False)
        sslconn = self.sslctx.wrap_socket(conn, server_side=True,
                                          do_handshake_on_connect=False)
        c = Conn(sslconn, addr[1])
        self.accepted += 1
        if self.accepted >= self.max_conn:
            self.sel.unregister(sock)
        self.sel.register(sslconn, selectors.EVENT_READ,
                          partial(self.do_handshake, c))

    def do_handshake(self, c):
        try:
            c.ssl.do_handshake()
        except ssl.SSLWantReadError:
            return self.sel.modify(c.ssl, selectors.EVENT_READ,
                                   partial(self.do_handshake, c))
        except ssl.SSLWantWriteError:
            return self.sel.modify(c.ssl, selectors.EVENT_WRITE,
                                   partial(self.do_handshake, c))
        except (ssl.SSLError, OSError) as e:
            self.report(event="handshake_failed", peer=c.peer, error=str(e))
            return self.close(c, clean=False)
        c.version = c.ssl.version()
        self.io(c)

    def io(self, c):
        # Bounded: each pass reads what fits in the buffer, then writes.
        for _ in range(64):
            if not self.read_some(c) or not self.flush(c):
                return
            if c.eof or len(c.out) >= BUFFER_LIMIT or not c.ssl.pending():
                break
        self.watch(c)

    def read_some(self, c):
        while not c.eof and len(c.out) < BUFFER_LIMIT:
            try:
                data = c.ssl.recv(65536)
            except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
                break
            except (ssl.SSLError, OSError) as e:
                self.report(event="error", peer=c.peer, error=str(e))
                self.close(c, clean=False)
                return False
            if not data:
                c.eof = True
            c.out += data
            c.bytes += len(data)
        return True

    def flush(self, c):
        while c.inflight or c.out:
            if c.inflight is None:
                c.inflight = bytes(c.out[:65536])
                del c.out[:len(c.inflight)]
            try:
                n = c.ssl.send(c.inflight)
            except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
                break
            except (ssl.SSLError, OSError) as e:
                self.report(event="error", peer=c.peer, error=str(e))
                self.close(c, clean=False)
                return False
            c.inflight = c.inflight[n:] or None
        return True

    def watch(self, c):
        events = 0
        if not c.eof and len(c.out) < BUFFER_LIMIT:
            events |= selectors.EVENT_READ
        if c.inflight or c.out:
            events |= selectors.EVENT_WRITE
        if not events:
            return self.close(c, clean=True)
        self.sel.modify(c.ssl, events, partial(self.io, c))

    def close(self, c, clean):
        self.sel.unregister(c.ssl)
        if clean:
            try:
                c.ssl.unwrap()
            except (ssl.SSLError, OSError, ValueError):
                pass
            self.report(event="conn", peer=c.peer, version=c.version,
                        bytes=c.bytes)
        c.ssl.close()
        self.finished += 1

    def serve(self, sock):
        self.sel.register(sock, selectors.EVENT_READ,
                          lambda s: self.accept(s))
        while self.finished < self.max_conn:
            events = self.sel.select(timeout=60)
            if not events:
                raise SystemExit("selectors_server: idle for 60 s")
            for key, _mask in events:
                handler = key.data
                if key.fileobj is sock:
                    handler(sock)
                else:
                    handler()


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--max-conn", type=int, default=1)
    args = p.parse_args()

    server = Server(args)
    family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((args.host, args.port))
    sock.listen(64)
    sock.setblocking(False)
    print(f"listening on {args.host}:{args.port}", flush=True)
    try:
        server.serve(sock)
    finally:
        sock.close()
        server.sel.close()


if __name__ == "__main__":
    main()
