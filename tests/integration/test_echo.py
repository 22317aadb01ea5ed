"""`tlskit echo` against independent clients: openssl s_client, gnutls-cli
and the tutorial-style Python ssl clients of peers/."""
import hashlib
import os
import random
import re
import signal
import socket
import ssl
import subprocess
import threading

import pytest

import custom_ca_client
import peerlib
from conftest import (PKI, converse, openssl, run_py_client,
                      split_hostport)

VERSIONS = ["1.2", "1.3"]
OPENSSL_VERSION_FLAG = {"1.2": "-tls1_2", "1.3": "-tls1_3"}
GNUTLS_PRIORITY = {"1.2": "NORMAL:-VERS-ALL:+VERS-TLS1.2",
                   "1.3": "NORMAL:-VERS-ALL:+VERS-TLS1.3"}
PROTOCOL_NAME = {"1.2": "TLSv1.2", "1.3": "TLSv1.3"}
DURATION = re.compile(r"\d+(\.\d+)?\s*(ms|s|us|µs)\b")
CONN_LINE = r"(127\.0\.0\.1|::1)\]?:\d+"
FAILED_RE = re.compile(r"handshake failed")


@pytest.fixture
def mtls_echo(start_echo, pki):
    """tlskit echo that asks for client certificates signed by pki.ca."""
    return start_echo(*pki.server_args(), "--ca", pki.ca,
                      "--verify-client", "optional")


def s_client_argv(pki, server, version, client_cert=False):
    argv = ["openssl", "s_client", "-connect", f"127.0.0.1:{server.port}",
            "-servername", "localhost", "-CAfile", pki.ca,
            "-verify_return_error", "-verify_hostname", "localhost",
            OPENSSL_VERSION_FLAG[version]]
    if client_cert:
        argv += ["-cert", pki.client, "-key", pki.client_key]
    return argv


@pytest.mark.parametrize("client_cert", [False, True],
                         ids=["anonymous", "client-cert"])
@pytest.mark.parametrize("version", VERSIONS)
def test_openssl_s_client(procs, pki, mtls_echo, version, client_cert):
    msg = f"hello from s_client over TLS {version}\n".encode()
    proc, rc, echoed = converse(procs, "s_client",
                                s_client_argv(pki, mtls_echo, version,
                                              client_cert), msg)
    out = proc.text("stdout")
    assert echoed, f"no echo; s_client printed:\n{out}{proc.text('stderr')}"
    assert rc == 0, proc.text("stderr")
    assert "Verify return code: 0 (ok)" in out
    assert f"Protocol  : {PROTOCOL_NAME[version]}" in out
    line = mtls_echo.wait_log(CONN_LINE)
    assert PROTOCOL_NAME[version] in line, line
    if client_cert:
        assert "CN=alice" in line or "CN = alice" in line, line
    else:
        assert "alice" not in line, line


@pytest.mark.parametrize("version", VERSIONS)
def test_openssl_s_client_rsa_certificate(procs, pki, start_echo, version):
    server = start_echo("--cert", pki.rsa_server, "--key",
                        pki.rsa_server_key)
    msg = b"rsa says hi\n"
    proc, rc, echoed = converse(procs, "s_client",
                                s_client_argv(pki, server, version), msg)
    out = proc.text("stdout")
    assert echoed and rc == 0, out + proc.text("stderr")
    assert "Server public key is 2048 bit" in out, out
    if version == "1.2":
        assert re.search(r"Cipher\s*: ECDHE-RSA-", out), out


@pytest.mark.parametrize("client_cert", [False, True],
                         ids=["anonymous", "client-cert"])
@pytest.mark.parametrize("version", VERSIONS)
def test_gnutls_cli(pki, mtls_echo, version, client_cert):
    argv = ["gnutls-cli", "--x509cafile", str(pki.ca),
            "-p", str(mtls_echo.port),
            "--priority", GNUTLS_PRIORITY[version], "localhost"]
    if client_cert:
        argv += ["--x509certfile", str(pki.client),
                 "--x509keyfile", str(pki.client_key)]
    msg = f"hello from gnutls over TLS {version}\n".encode()
    # gnutls-cli sends close_notify at the end of its input and reads on
    # until the server closes: the echo must come back before that.
    r = subprocess.run(argv, input=msg, capture_output=True, timeout=30)
    out = r.stdout.decode(errors="replace")
    assert r.returncode == 0, out + r.stderr.decode(errors="replace")
    assert "The certificate is trusted" in out, out
    assert f"(TLS{version}" in out, out
    assert msg.decode() in out, out
    line = mtls_echo.wait_log(CONN_LINE)
    assert PROTOCOL_NAME[version] in line, line
    assert ("alice" in line) == client_cert, line


def test_python_custom_ca_client(pki, start_echo):
    server = start_echo(*pki.server_args())
    rc, rep, err = run_py_client("custom_ca_client.py", "--host",
                                 "localhost", "--port", server.port,
                                 "--ca", pki.ca, "--message", "Hello")
    assert rc == 0, err
    assert rep["echo_ok"] and rep["peer_subject"] == "commonName=localhost"
    assert rep["clean_close"], "tlskit echo did not answer close_notify"


def test_python_system_store_client(pki, start_echo):
    server = start_echo(*pki.server_args())
    env = dict(os.environ, SSL_CERT_FILE=str(pki.ca))
    rc, rep, err = run_py_client("system_client.py", "--host", "localhost",
                                 "--port", server.port, env=env)
    assert rc == 0, err
    assert rep["echo_ok"]


def test_python_mtls_client_logged_with_its_subject(pki, start_echo):
    server = start_echo(*pki.server_args(), "--ca", pki.ca,
                        "--verify-client", "require")
    rc, rep, err = run_py_client("mtls_client.py", "--host", "localhost",
                                 "--port", server.port, "--ca", pki.ca,
                                 "--cert", pki.client,
                                 "--key", pki.client_key, "--size", 12345)
    assert rc == 0, err
    assert rep["echo_ok"]
    line = server.conn_line(rep["local_port"])
    assert "CN=alice" in line, line
    assert rep["version"] in line, line
    assert rep["cipher"] in line, line
    assert "12345" in line, f"byte count missing: {line}"
    assert DURATION.search(line), f"duration missing: {line}"
    assert "handshake failed" not in line


def test_python_certinfo_client_sees_the_configured_cert(pki, start_echo):
    server = start_echo(*pki.server_args())
    rc, rep, err = run_py_client("certinfo_client.py", "--host", "localhost",
                                 "--port", server.port, "--ca", pki.ca)
    assert rc == 0, err
    der = ssl.PEM_cert_to_DER_cert(pki.server.read_text())
    assert rep["der_sha256"] == hashlib.sha256(der).hexdigest()
    assert rep["subject"] == {"commonName": "localhost"}
    assert rep["issuer"] == {"commonName": PKI.CA_NAME}
    assert ["DNS", "localhost"] in rep["subjectAltName"]
    assert ["IP Address", "127.0.0.1"] in rep["subjectAltName"]


def test_one_mebibyte_byte_exact(pki, start_echo):
    server = start_echo(*pki.server_args())
    size = 1 << 20
    rc, rep, err = run_py_client("custom_ca_client.py", "--host",
                                 "localhost", "--port", server.port,
                                 "--ca", pki.ca, "--size", size)
    assert rc == 0, err
    assert rep["echo_ok"] and rep["received"] == size
    assert rep["clean_close"], "tlskit echo did not answer close_notify"
    line = server.conn_line(rep["local_port"])
    assert str(size) in line, line


def test_forty_concurrent_clients(pki, start_echo):
    server = start_echo(*pki.server_args())
    count = 40
    # Everyone connects and handshakes, then all talk at once.
    barrier = threading.Barrier(count, timeout=30)
    results = [None] * count
    context = custom_ca_client.make_context(str(pki.ca))

    def client(i):
        data = random.Random(i).randbytes(4000 + i) + b"client %d" % i
        try:
            with socket.create_connection(("127.0.0.1", server.port),
                                          timeout=30) as sock:
                with context.wrap_socket(sock,
                                         server_hostname="localhost") as s:
                    barrier.wait()
                    echoed = peerlib.echo_roundtrip(s, data)
                    port = s.getsockname()[1]
                    clean = peerlib.close_cleanly(s)
            results[i] = (echoed == data, clean, port)
        except Exception as e:  # reported below, per client
            barrier.abort()
            results[i] = (False, False, repr(e))

    threads = [threading.Thread(target=client, args=(i,))
               for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not any(t.is_alive() for t in threads), "clients hung"
    failed = [(i, r) for i, r in enumerate(results) if not (r and r[0])]
    assert not failed, failed
    for ok, clean, port in results:
        server.conn_line(port)


def test_alpn_negotiation(pki, start_echo, procs):
    server = start_echo(*pki.server_args(), "--alpn", "h2,http/1.1")
    rc, rep, err = run_py_client("custom_ca_client.py", "--host",
                                 "localhost", "--port", server.port,
                                 "--ca", pki.ca, "--alpn", "http/1.1")
    assert rc == 0, err
    assert rep["alpn"] == "http/1.1"
    argv = s_client_argv(pki, server, "1.3") + ["-alpn", "h2"]
    proc, rc, echoed = converse(procs, "s_client", argv, b"alpn\n")
    assert echoed and rc == 0, proc.text("stdout") + proc.text("stderr")
    assert "ALPN protocol: h2" in proc.text("stdout")


def test_version_cipher_and_group_options(pki, start_echo, procs):
    server = start_echo(*pki.server_args(), "--max-version", "1.2",
                        "--ciphers", "ECDHE-ECDSA-CHACHA20-POLY1305",
                        "--groups", "P-384")
    rc, rep, err = run_py_client("custom_ca_client.py", "--host",
                                 "localhost", "--port", server.port,
                                 "--ca", pki.ca)
    assert rc == 0, err
    assert rep["version"] == "TLSv1.2"
    assert rep["cipher"] == "ECDHE-ECDSA-CHACHA20-POLY1305"
    argv = s_client_argv(pki, server, "1.2")
    proc, rc, echoed = converse(procs, "s_client", argv, b"groups\n")
    out = proc.text("stdout")
    assert echoed and rc == 0, out + proc.text("stderr")
    assert re.search(r"Server Temp Key: ECDH, (P-384|secp384r1)", out), out


def test_tls13_ciphersuites_and_min_version(pki, start_echo):
    server = start_echo(*pki.server_args(), "--min-version", "1.3",
                        "--ciphersuites", "TLS_CHACHA20_POLY1305_SHA256")
    rc, rep, err = run_py_client("custom_ca_client.py", "--host",
                                 "localhost", "--port", server.port,
                                 "--ca", pki.ca)
    assert rc == 0, err
    assert rep["version"] == "TLSv1.3"
    assert rep["cipher"] == "TLS_CHACHA20_POLY1305_SHA256"


def test_ipv6_listen(pki, start_echo):
    server = start_echo(*pki.server_args(), listen="[::1]:0")
    assert server.host == "::1"
    # The client verifies the certificate's IP SAN ::1.
    rc, rep, err = run_py_client("custom_ca_client.py", "--host", "::1",
                                 "--port", server.port, "--ca", pki.ca)
    assert rc == 0, err
    assert rep["echo_ok"]
    line = server.conn_line(rep["local_port"])
    assert "::1" in line, line


def find_dev_ca(text, home):
    """The CA certificate path tlskit echo printed (under home)."""
    for token in re.findall(r"/[^\s'\"()]+", text):
        path = token.rstrip(".,;:")
        if not path.startswith(str(home)) or not os.path.isfile(path):
            continue
        body = open(path, "rb").read()
        if b"BEGIN CERTIFICATE" not in body:
            continue
        ext = openssl("x509", "-in", path, "-noout", "-ext",
                      "basicConstraints")
        if "CA:TRUE" in ext:
            return path
    return None


def test_dev_ca_created_once_and_reused(start_echo, tlskit, tlskit_home):
    first = start_echo()
    said = first.log() + first.proc.text("stdout")
    ca = find_dev_ca(said, tlskit_home)
    assert ca, f"no CA path under {tlskit_home} printed:\n{said}"
    ca_pem = open(ca, "rb").read()
    rc, rep, err = run_py_client("custom_ca_client.py", "--host",
                                 "localhost", "--port", first.port,
                                 "--ca", ca)
    assert rc == 0, err
    # The README's round trip: tlskit on both ends with the printed CA.
    r = tlskit.connect(f"localhost:{first.port}", "--ca", ca, input=b"hi\n")
    assert r.rc == 0 and r.stdout == b"hi\n", r
    first.stop()

    second = start_echo()
    said = second.log() + second.proc.text("stdout")
    assert find_dev_ca(said, tlskit_home) == ca, said
    assert open(ca, "rb").read() == ca_pem, "the dev CA was regenerated"
    rc, rep, err = run_py_client("custom_ca_client.py", "--host",
                                 "localhost", "--port", second.port,
                                 "--ca", ca)
    assert rc == 0, err


def insecure_echo(port, data=b"anyone there?"):
    """An unverifying Python client (the certificate is known bad)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        with context.wrap_socket(sock, server_hostname="localhost") as s:
            echoed = peerlib.echo_roundtrip(s, data)
            peerlib.close_cleanly(s)
    return echoed == data


@pytest.mark.parametrize("which,words", [
    ("expired", r"expired.*2021-01-01"),
    ("notyet", r"not (yet )?valid.*2099-01-01"),
])
def test_out_of_date_certificate_served_with_warning(pki, start_echo, which,
                                                     words):
    server = start_echo("--cert", getattr(pki, which),
                        "--key", getattr(pki, f"{which}_key"))
    log = server.log()
    assert re.search(r"tlskit: echo: warning: .*" + words, log, re.I), log
    assert insecure_echo(server.port)


def test_failing_client_does_not_disturb_others(pki, start_echo):
    server = start_echo(*pki.server_args())
    context = custom_ca_client.make_context(str(pki.ca))
    with socket.create_connection(("127.0.0.1", server.port),
                                  timeout=30) as sock:
        with context.wrap_socket(sock, server_hostname="localhost") as good:
            assert peerlib.echo_roundtrip(good, b"before") == b"before"
            # A client that speaks no TLS at all, and one that hangs up.
            with socket.create_connection(("127.0.0.1", server.port),
                                          timeout=30) as bad:
                bad.sendall(b"GET / HTTP/1.0\r\n\r\n")
                try:
                    bad.recv(4096)
                except ConnectionResetError:
                    pass
            socket.create_connection(("127.0.0.1", server.port),
                                     timeout=30).close()
            server.wait_log(r"handshake failed")
            assert peerlib.echo_roundtrip(good, b"after") == b"after"
            assert peerlib.close_cleanly(good)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT],
                         ids=["SIGTERM", "SIGINT"])
def test_signal_stops_cleanly_with_open_connection(pki, start_echo, sig):
    # An idle connection outlives a short drain; the server still exits 0.
    server = start_echo(*pki.server_args(), "--drain-timeout", "1")
    context = custom_ca_client.make_context(str(pki.ca))
    with socket.create_connection(("127.0.0.1", server.port),
                                  timeout=30) as sock:
        with context.wrap_socket(sock, server_hostname="localhost") as s:
            assert peerlib.echo_roundtrip(s, b"idle next") == b"idle next"
            server.stop(sig)  # asserts exit status 0, no sanitizer report


def test_listening_line_gives_the_real_port(start_echo, pki):
    server = start_echo(*pki.server_args())
    assert server.port != 0
    host, port = split_hostport(server.addr)
    with socket.create_connection((host, port), timeout=10) as sock:
        client_port = sock.getsockname()[1]
    # A client that hangs up before the handshake is logged as such.
    assert FAILED_RE.search(server.conn_line(client_port))
