#!/usr/bin/python3
"""Seed corpora for the fuzz targets, made fresh each run (nothing binary
is committed):

  fuzz_cert/       PEM bundles and DER certificates made by `tlskit cert new`
  fuzz_handshake/  real first flights, captured on loopback: ClientHellos of
                   openssl s_client (TLS 1.2 and 1.3), prefixed with a
                   server-role byte; the answers of openssl s_server to them,
                   prefixed with a client-role byte.

usage: make_seeds.py TLSKIT_BINARY OUT_DIR
"""
import os
import socket
import subprocess
import sys
import tempfile
import time

SERVER_ROLE = bytes([0xfe])  # even: server; large read pieces
CLIENT_ROLE = bytes([0xff])  # odd: client


def run(*argv):
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, timeout=60)


def make_pki(tlskit, d):
    run(tlskit, "cert", "new", "ca", "--out", f"{d}/ca")
    run(tlskit, "cert", "new", "server", "--ca", f"{d}/ca.pem", "--ca-key",
        f"{d}/ca.key", "--san", "localhost,127.0.0.1", "--out", f"{d}/srv")
    run(tlskit, "cert", "new", "server", "--ca", f"{d}/ca.pem", "--ca-key",
        f"{d}/ca.key", "--key-type", "rsa2048", "--san", "localhost",
        "--out", f"{d}/rsa")


def cert_seeds(d, out):
    for name in ("ca", "srv", "rsa"):
        with open(f"{d}/{name}.pem", "rb") as f:
            pem = f.read()
        write(out, f"{name}.pem", pem)
        der = subprocess.run(["openssl", "x509", "-outform", "DER"],
                             input=pem, capture_output=True, check=True,
                             timeout=30).stdout
        write(out, f"{name}.der", der)
    with open(f"{d}/srv.pem", "rb") as a, open(f"{d}/ca.pem", "rb") as b:
        write(out, "chain.pem", a.read() + b.read())


def read_for(sock, seconds):
    """Whatever arrives within seconds (bounded)."""
    data = b""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            break
        if not chunk:
            break
        data += chunk
    return data


def client_hello(version):
    """The first flight of openssl s_client, caught by a silent listener."""
    with socket.socket() as lsock:
        lsock.bind(("127.0.0.1", 0))
        lsock.listen(1)
        port = lsock.getsockname()[1]
        client = subprocess.Popen(
            ["openssl", "s_client", "-connect", f"127.0.0.1:{port}",
             "-servername", "localhost", f"-{version}"],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        try:
            lsock.settimeout(10)
            conn, _ = lsock.accept()
            with conn:
                return read_for(conn, 1.0)
        finally:
            client.kill()
            client.wait(10)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_flight(d, hello):
    """What openssl s_server answers to a captured ClientHello."""
    port = free_port()
    server = subprocess.Popen(
        ["openssl", "s_server", "-accept", f"127.0.0.1:{port}", "-cert",
         f"{d}/srv.pem", "-key", f"{d}/srv.key", "-naccept", "1"],
        stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                sock = socket.create_connection(("127.0.0.1", port), 1)
                break
            except OSError:
                time.sleep(0.05)
        else:
            raise SystemExit("make_seeds: openssl s_server did not start")
        with sock:
            sock.sendall(hello)
            return read_for(sock, 1.0)
    finally:
        server.kill()
        server.wait(10)


def write(out, name, data):
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)


def main():
    tlskit, out = sys.argv[1], sys.argv[2]
    cert_out = os.path.join(out, "fuzz_cert")
    hs_out = os.path.join(out, "fuzz_handshake")
    os.makedirs(cert_out, exist_ok=True)
    os.makedirs(hs_out, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="tlskit-seeds.") as d:
        make_pki(tlskit, d)
        cert_seeds(d, cert_out)
        for version in ("tls1_2", "tls1_3"):
            hello = client_hello(version)
            if not hello:
                raise SystemExit(f"make_seeds: no ClientHello ({version})")
            write(hs_out, f"client-hello-{version}", SERVER_ROLE + hello)
            flight = server_flight(d, hello)
            write(hs_out, f"server-flight-{version}", CLIENT_ROLE + flight)


if __name__ == "__main__":
    main()
