#!/usr/bin/python3
"""pyecho: the tutorial's non-blocking selectors TLS echo server, for
bench/compare.sh.

    pyecho.py --listen 127.0.0.1:PORT --cert CERT --key KEY

The shape is the tutorial's (one selector, a callback per socket state:
accept, handshake, read, write) with what a server that runs for real
needs on top: it serves forever, writes back everything it read (partial
sends are kept and retried), drains the TLS records OpenSSL already
decrypted (they never wake the selector), sets TCP_NODELAY (without it
every small echo waits for Nagle) and closes connections that fail
instead of dying. Session tickets are Python's default (two per full
handshake).
"""
import argparse
import selectors
import socket
import ssl
import sys

READ_SIZE = 16384


class Conn:
    """One client: its TLS socket and what is still to be written back."""

    def __init__(self, tls):
        self.tls = tls
        self.out = b""


def close(sel, conn):
    try:
        sel.unregister(conn.tls)
    except (KeyError, ValueError):
        pass
    conn.tls.close()


def accept(sel, ctx, sock):
    for _ in range(64):  # a batch per wakeup, bounded
        try:
            raw, _ = sock.accept()
        except (BlockingIOError, InterruptedError):
            return
        except OSError as err:  # EMFILE: keep serving the others
            print(f"pyecho: accept: {err}", file=sys.stderr)
            return
        raw.setblocking(False)
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        tls = ctx.wrap_socket(raw, server_side=True,
                              do_handshake_on_connect=False)
        conn = Conn(tls)
        sel.register(tls, selectors.EVENT_READ, (handshake, conn))


def handshake(sel, conn):
    try:
        conn.tls.do_handshake()
    except ssl.SSLWantReadError:
        sel.modify(conn.tls, selectors.EVENT_READ, (handshake, conn))
        return
    except ssl.SSLWantWriteError:
        sel.modify(conn.tls, selectors.EVENT_WRITE, (handshake, conn))
        return
    except (ssl.SSLError, OSError):
        close(sel, conn)
        return
    sel.modify(conn.tls, selectors.EVENT_READ, (read, conn))
    read(sel, conn)  # the first request may have come with the Finished


def read(sel, conn):
    data = []
    try:
        # Drain every record already decrypted: pending() data never
        # makes the socket readable again.
        while True:
            chunk = conn.tls.recv(READ_SIZE)
            if not chunk:
                close(sel, conn)
                return
            data.append(chunk)
            if not conn.tls.pending():
                break
    except ssl.SSLWantReadError:
        pass
    except ssl.SSLWantWriteError:
        pass
    except (ssl.SSLError, OSError):
        close(sel, conn)
        return
    if data:
        conn.out = b"".join(data)
        write(sel, conn)


def write(sel, conn):
    try:
        while conn.out:
            sent = conn.tls.send(conn.out)
            conn.out = conn.out[sent:]
    except (ssl.SSLWantWriteError, ssl.SSLWantReadError):
        # Stop reading until the client takes what we owe it.
        sel.modify(conn.tls, selectors.EVENT_WRITE, (write, conn))
        return
    except (ssl.SSLError, OSError):
        close(sel, conn)
        return
    sel.modify(conn.tls, selectors.EVENT_READ, (read, conn))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--listen", default="127.0.0.1:8443")
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    args = ap.parse_args()

    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        ctx.load_cert_chain(certfile=args.cert, keyfile=args.key)
    except (OSError, ssl.SSLError) as err:
        sys.exit(f"pyecho: load {args.cert} and {args.key}: {err}")
    host, _, port = args.listen.rpartition(":")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, int(port)))
    except OSError as err:
        sys.exit(f"pyecho: listen on {args.listen}: {err}")
    sock.listen(1024)
    sock.setblocking(False)

    sel = selectors.DefaultSelector()
    sel.register(sock, selectors.EVENT_READ, None)
    while True:
        for key, _ in sel.select():
            if key.data is None:
                accept(sel, ctx, sock)
            else:
                step, conn = key.data
                step(sel, conn)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
