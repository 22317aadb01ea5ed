"""Every failure gives its specific message and exit code, and never
hangs: tlskit connect against bad servers (openssl s_server), tlskit echo
against bad clients (Python ssl, openssl s_client), bad configurations
and bad command lines.

Exit codes: 2 usage, 3 configuration, 4 connection, 5 TLS handshake or
protocol, 6 certificate verification. Messages: 'tlskit: <cmd>: ...'.
"""
import os
import re
import socket
import subprocess
import threading
import time

import pytest

from conftest import (PKI, TLSKIT, converse, free_port, run_py_client,
                      start_listener)

VERIFY, TLS, CONFIG, CONNECT, USAGE = 6, 5, 3, 4, 2
FAILED = r"handshake failed"


def s_server(procs, pki, *args, cert=None, key=None):
    def argv(port):
        return ["openssl", "s_server", "-accept", f"127.0.0.1:{port}",
                "-cert", cert or pki.server, "-key", key or pki.server_key,
                "-naccept", "1", *args]
    return start_listener(procs, "s_server", argv, r"^ACCEPT",
                          stdin=subprocess.PIPE)


def assert_error(r, code, *patterns, cmd="connect"):
    """Exit status code, a 'tlskit: cmd: ' message matching every pattern
    (case-insensitive), nothing on stdout."""
    assert r.rc == code, r
    lines = [l for l in r.err.splitlines()
             if l.startswith(f"tlskit: {cmd}: ")]
    assert lines, f"no 'tlskit: {cmd}:' message: {r!r}"
    text = "\n".join(lines)
    for pattern in patterns:
        assert re.search(pattern, text, re.I), \
            f"{pattern!r} not in the message:\n{text}"
    assert r.stdout == b"", r


# --------------------------------------------------------------------------
# tlskit connect against bad servers
# --------------------------------------------------------------------------

def test_untrusted_ca(tlskit, pki, procs):
    proc, port = s_server(procs, pki)
    r = tlskit.connect(f"localhost:{port}", "--ca", pki.other_ca,
                       input=b"x\n")
    assert_error(r, VERIFY, r"untrusted|unable to get (local )?issuer|"
                 r"unknown (ca|issuer)",
                 re.escape(PKI.CA_NAME) + "|CN=localhost")


def test_expired_certificate(tlskit, pki, procs):
    proc, port = s_server(procs, pki, cert=pki.expired, key=pki.expired_key)
    r = tlskit.connect(f"localhost:{port}", "--ca", pki.ca, input=b"x\n")
    assert_error(r, VERIFY, r"expired", r"2021-01-01|Jan\s+1 .*2021")


def test_not_yet_valid_certificate(tlskit, pki, procs):
    proc, port = s_server(procs, pki, cert=pki.notyet, key=pki.notyet_key)
    r = tlskit.connect(f"localhost:{port}", "--ca", pki.ca, input=b"x\n")
    assert_error(r, VERIFY, r"not (yet )?valid", r"2099")


def test_hostname_mismatch_lists_the_names(tlskit, pki, procs):
    proc, port = s_server(procs, pki, cert=pki.wronghost,
                          key=pki.wronghost_key)
    r = tlskit.connect(f"localhost:{port}", "--ca", pki.ca, input=b"x\n")
    assert_error(r, VERIFY, r"host\s*name|mismatch", r"other\.example",
                 r"localhost")


def test_ip_address_mismatch(tlskit, pki, procs):
    proc, port = s_server(procs, pki, cert=pki.wronghost,
                          key=pki.wronghost_key)
    r = tlskit.connect(f"127.0.0.1:{port}", "--ca", pki.ca, input=b"x\n")
    assert_error(r, VERIFY, r"other\.example", r"127\.0\.0\.1")


def test_servername_that_the_certificate_lacks(tlskit, pki, procs):
    proc, port = s_server(procs, pki)
    r = tlskit.connect(f"127.0.0.1:{port}", "--ca", pki.ca,
                       "--servername", "other.example", input=b"x\n")
    assert_error(r, VERIFY, r"other\.example", r"localhost")


def test_server_requires_a_client_certificate(tlskit, pki, procs):
    proc, port = s_server(procs, pki, "-Verify", "1", "-CAfile", pki.ca,
                          "-verify_return_error")
    r = tlskit.connect(f"localhost:{port}", "--ca", pki.ca, input=b"x\n")
    assert r.rc in (TLS, VERIFY), r
    assert re.search(r"^tlskit: connect: .*certificate", r.err, re.M), r
    proc.wait()
    said = proc.text("stdout") + proc.text("stderr")
    assert re.search(r"peer did not return a certificate|"
                     r"certificate required", said, re.I), said


def test_client_certificate_from_another_ca_refused_by_s_server(
        tlskit, pki, procs):
    proc, port = s_server(procs, pki, "-Verify", "1", "-CAfile", pki.ca,
                          "-verify_return_error")
    r = tlskit.connect(f"localhost:{port}", "--ca", pki.ca,
                       "--cert", pki.other_client,
                       "--key", pki.other_client_key, input=b"x\n")
    assert r.rc in (TLS, VERIFY), r
    assert re.search(r"^tlskit: connect: .*(unknown ca|alert)", r.err,
                     re.M | re.I), r


def test_server_below_minimum_version(tlskit, pki, procs):
    proc, port = s_server(procs, pki, "-tls1_2")
    r = tlskit.connect(f"localhost:{port}", "--ca", pki.ca,
                       "--min-version", "1.3", input=b"x\n")
    assert_error(r, TLS, r"version")


def test_no_shared_cipher_with_server(tlskit, pki, procs):
    proc, port = s_server(procs, pki, "-tls1_2",
                          "-cipher", "ECDHE-ECDSA-AES256-GCM-SHA384")
    r = tlskit.connect(f"localhost:{port}", "--ca", pki.ca,
                       "--max-version", "1.2",
                       "--ciphers", "ECDHE-ECDSA-AES128-GCM-SHA256",
                       input=b"x\n")
    assert_error(r, TLS, r"handshake|cipher|alert")


def test_connection_refused(tlskit):
    port = free_port()
    r = tlskit.connect(f"127.0.0.1:{port}", input=b"x\n")
    assert_error(r, CONNECT, r"refused", rf"127\.0\.0\.1.*{port}|{port}")


def test_unresolvable_host(tlskit):
    r = tlskit.connect("no-such-host.invalid:443", "--timeout", "5",
                       input=b"x\n")
    assert_error(r, CONNECT, r"no-such-host\.invalid")


@pytest.fixture
def silent_listener():
    """A TCP listener that accepts and never says a word."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    sock.settimeout(30)
    held = []
    stop = threading.Event()

    def accept():
        while not stop.is_set():
            try:
                conn, _ = sock.accept()
            except OSError:
                return
            held.append(conn)

    t = threading.Thread(target=accept, daemon=True)
    t.start()
    try:
        yield sock.getsockname()[1]
    finally:
        stop.set()
        try:
            sock.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
        except OSError:
            pass
        sock.close()
        for conn in held:
            conn.close()
        t.join(5)


def test_handshake_timeout_against_silent_server(tlskit, silent_listener):
    r = tlskit.connect(f"127.0.0.1:{silent_listener}", "--timeout", "2",
                       input=b"x\n", timeout=20)
    assert r.rc in (CONNECT, TLS), r
    assert re.search(r"^tlskit: connect: .*(time|no answer|within)", r.err,
                     re.M | re.I), r
    assert r.elapsed < 10, f"--timeout 2 took {r.elapsed:.1f} s"


def test_idle_server_times_out_after_the_handshake(tlskit, pki, procs):
    # s_server with nothing on its stdin says nothing after the handshake;
    # stdin stays open too, so only --timeout ends the wait.
    proc, port = s_server(procs, pki)
    argv = [TLSKIT, "connect", f"localhost:{port}",
            "--ca", str(pki.ca), "--timeout", "2"]
    client = procs("tlskit connect", argv, stdin=subprocess.PIPE,
                   env=tlskit.env)
    t0 = time.monotonic()
    rc = client.wait(20)
    elapsed = time.monotonic() - t0
    assert rc != 0, client.text("stderr")
    assert elapsed < 10, f"--timeout 2 idle took {elapsed:.1f} s"
    assert re.search(r"^tlskit: connect: .*(time|no data|idle)",
                     client.text("stderr"), re.M | re.I), client.text("stderr")


# --------------------------------------------------------------------------
# tlskit echo against bad clients: the log says what went wrong
# --------------------------------------------------------------------------

@pytest.fixture
def require_echo(start_echo, pki):
    return start_echo(*pki.server_args(), "--ca", pki.ca,
                      "--verify-client", "require")


def test_missing_client_certificate_python(pki, require_echo):
    rc, rep, err = run_py_client("custom_ca_client.py", "--host",
                                 "localhost", "--port", require_echo.port,
                                 "--ca", pki.ca)
    # What the client reads depends on the race between the server's
    # alert and TCP's reset; the server's log is what must be specific.
    assert rc == 2, (rep, err)
    line = require_echo.conn_line(rep["local_port"])
    assert re.search(FAILED, line), line
    assert re.search(r"no (client )?certificate|did not (return|send|"
                     r"present) a certificate|certificate required|"
                     r"missing", line, re.I), line


def test_missing_client_certificate_s_client(procs, pki, require_echo):
    argv = ["openssl", "s_client", "-connect",
            f"127.0.0.1:{require_echo.port}", "-servername", "localhost",
            "-CAfile", pki.ca, "-tls1_2"]
    proc, rc, echoed = converse(procs, "s_client", argv,
                                b"no certificate, no echo\n", timeout=5)
    assert not echoed
    line = require_echo.wait_log(FAILED)
    assert re.search(r"no (client )?certificate|did not (return|send|"
                     r"present) a certificate|certificate required|"
                     r"missing", line, re.I), line


def test_client_certificate_from_another_ca(pki, require_echo):
    rc, rep, err = run_py_client("mtls_client.py", "--host", "localhost",
                                 "--port", require_echo.port,
                                 "--ca", pki.ca, "--cert", pki.other_client,
                                 "--key", pki.other_client_key)
    assert rc == 2, (rep, err)
    line = require_echo.conn_line(rep["local_port"])
    assert re.search(FAILED, line), line
    assert "CN=mallory" in line, f"which certificate? {line}"
    assert re.search(r"issuer|untrusted|unknown ca", line, re.I), line


def test_then_a_good_client_still_gets_through(pki, require_echo):
    rc, rep, err = run_py_client("custom_ca_client.py", "--host",
                                 "localhost", "--port", require_echo.port,
                                 "--ca", pki.ca)
    assert rc == 2
    rc, rep, err = run_py_client("mtls_client.py", "--host", "localhost",
                                 "--port", require_echo.port,
                                 "--ca", pki.ca, "--cert", pki.client,
                                 "--key", pki.client_key)
    assert rc == 0, err
    assert "CN=alice" in require_echo.conn_line(rep["local_port"])


def test_client_below_minimum_version(tlskit, pki, start_echo):
    server = start_echo(*pki.server_args(), "--min-version", "1.3")
    rc, rep, err = run_py_client("custom_ca_client.py", "--host",
                                 "localhost", "--port", server.port,
                                 "--ca", pki.ca, "--max-version", "1.2")
    assert rc == 2, (rep, err)
    line = server.wait_log(FAILED)
    assert re.search(r"version|unsupported protocol", line, re.I), line
    # tlskit on both ends: the client says it too, with exit code 5.
    r = tlskit.connect(server.addr, "--servername", "localhost",
                       "--ca", pki.ca, "--max-version", "1.2", input=b"x\n")
    assert_error(r, TLS, r"version|alert")


def test_no_shared_cipher_with_client(tlskit, pki, start_echo, procs):
    server = start_echo(*pki.server_args(), "--max-version", "1.2",
                        "--ciphers", "ECDHE-ECDSA-AES256-GCM-SHA384")
    argv = ["openssl", "s_client", "-connect", f"127.0.0.1:{server.port}",
            "-servername", "localhost", "-CAfile", pki.ca, "-tls1_2",
            "-cipher", "ECDHE-ECDSA-AES128-GCM-SHA256"]
    proc, rc, echoed = converse(procs, "s_client", argv,
                                b"no shared cipher, no echo\n", timeout=5)
    assert not echoed and rc != 0
    line = server.wait_log(FAILED)
    assert re.search(r"no shared cipher", line, re.I), line
    r = tlskit.connect(server.addr, "--servername", "localhost",
                       "--ca", pki.ca, "--max-version", "1.2",
                       "--ciphers", "ECDHE-ECDSA-AES128-GCM-SHA256",
                       input=b"x\n")
    assert_error(r, TLS, r"handshake|cipher|alert")


def test_tlskit_echo_with_untrusted_cert(tlskit, pki, start_echo):
    server = start_echo("--cert", pki.other_server,
                        "--key", pki.other_server_key)
    r = tlskit.connect(server.addr, "--servername", "localhost",
                       "--ca", pki.ca, input=b"x\n")
    assert_error(r, VERIFY, r"untrusted|issuer|unknown ca",
                 re.escape(PKI.OTHER_CA_NAME) + "|CN=localhost")
    server.wait_log(FAILED)


# --------------------------------------------------------------------------
# Configuration errors (exit 3), at start, naming the culprit
# --------------------------------------------------------------------------

def run_echo(tlskit, *args):
    """tlskit echo expected to refuse to start."""
    return tlskit.run("echo", "--listen", "127.0.0.1:0", *args, timeout=20)


@pytest.mark.parametrize("role", ["echo", "connect"])
def test_missing_certificate_file(tlskit, pki, tmp_path, role):
    missing = tmp_path / "nope" / "missing-cert.pem"
    args = ["--cert", missing, "--key", pki.server_key]
    r = (run_echo(tlskit, *args) if role == "echo"
         else tlskit.connect(f"127.0.0.1:{free_port()}", "--ca", pki.ca,
                             *args, input=b"x\n"))
    assert_error(r, CONFIG, re.escape(str(missing)),
                 r"no such file|not found|missing", cmd=role)


@pytest.mark.parametrize("role", ["echo", "connect"])
def test_missing_ca_file(tlskit, pki, tmp_path, role):
    missing = tmp_path / "missing-ca.pem"
    r = (run_echo(tlskit, *pki.server_args(), "--ca", missing,
                  "--verify-client", "require") if role == "echo"
         else tlskit.connect(f"127.0.0.1:{free_port()}", "--ca", missing,
                             input=b"x\n"))
    assert_error(r, CONFIG, re.escape(str(missing)), cmd=role)


@pytest.mark.parametrize("kind", ["directory", "garbage", "unreadable"])
def test_unreadable_certificate_file(tlskit, pki, tmp_path, kind):
    """Unreadable: a directory where a file should be, a file that is not
    PEM, and (only when not root, who reads anything) a mode-000 file."""
    if kind == "directory":
        bad = tmp_path / "a-directory.pem"
        bad.mkdir()
        why = r"directory"
    elif kind == "garbage":
        bad = pki.garbage
        why = r"PEM|no certificate|not a certificate"
    else:
        if os.geteuid() == 0:
            pytest.skip("root can read a mode-000 file")
        bad = tmp_path / "locked.pem"
        bad.write_bytes(pki.server.read_bytes())
        bad.chmod(0)
        why = r"permission denied"
    r = run_echo(tlskit, "--cert", bad, "--key", pki.server_key)
    assert_error(r, CONFIG, re.escape(str(bad)), why, cmd="echo")
    r = tlskit.connect(f"127.0.0.1:{free_port()}", "--ca", bad,
                       input=b"x\n")
    assert_error(r, CONFIG, re.escape(str(bad)), why)


@pytest.mark.parametrize("role", ["echo", "connect"])
def test_key_does_not_match_certificate(tlskit, pki, role):
    if role == "echo":
        r = run_echo(tlskit, "--cert", pki.server, "--key", pki.mismatch_key)
    else:
        r = tlskit.connect(f"127.0.0.1:{free_port()}", "--ca", pki.ca,
                           "--cert", pki.client, "--key", pki.mismatch_key,
                           input=b"x\n")
    assert_error(r, CONFIG, r"(does not|doesn't|not) match|mismatch",
                 r"key", cmd=role)


@pytest.mark.parametrize("option,value,bad", [
    ("--ciphers", "ECDHE-ECDSA-AES128-GCM-SHA256:BOGUS-CIPHER",
     "BOGUS-CIPHER"),
    ("--ciphersuites", "TLS_AES_128_GCM_SHA256:TLS_FAKE_SUITE",
     "TLS_FAKE_SUITE"),
    ("--groups", "P-256:nosuchgroup", "nosuchgroup"),
])
@pytest.mark.parametrize("role", ["echo", "connect"])
def test_invalid_list_element_is_named(tlskit, pki, role, option, value,
                                       bad):
    if role == "echo":
        r = run_echo(tlskit, *pki.server_args(), option, value)
    else:
        r = tlskit.connect(f"127.0.0.1:{free_port()}", "--ca", pki.ca,
                           option, value, input=b"x\n")
    assert_error(r, CONFIG, re.escape(bad), cmd=role)


def test_listen_address_in_use(tlskit, pki):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        r = tlskit.run("echo", "--listen", f"127.0.0.1:{port}",
                       *pki.server_args(), timeout=20)
    assert r.rc not in (0, USAGE), r
    assert re.search(r"^tlskit: echo: .*in use", r.err, re.M | re.I), r


# --------------------------------------------------------------------------
# Usage errors (exit 2)
# --------------------------------------------------------------------------

@pytest.mark.parametrize("argv,named", [
    (["echo", "--bogus-flag"], "--bogus-flag"),
    (["connect", "localhost:1", "--bogus-flag"], "--bogus-flag"),
    (["echo", "--cert", "x.pem"], "--key"),
    (["connect", "localhost:1", "--cert", "x.pem"], "--key"),
    (["echo", "--key", "x.key"], "--cert"),
    (["echo", "--verify-client", "sometimes"], "sometimes"),
    (["echo", "--min-version", "1.7"], "1.7"),
    (["connect", "localhost:1", "--max-version", "tls9"], "tls9"),
    (["connect", "localhost:1", "--timeout", "soon"], "soon"),
    (["connect"], "HOST:PORT"),
    (["connect", "localhost"], "localhost"),
    (["echo", "--listen", "nowhere"], "nowhere"),
    (["connect", "127.0.0.1:99999"], "99999"),
    (["connect", "127.0.0.1:0"], "port '0'"),
    (["echo", "--listen", "127.0.0.1:70000"], "70000"),
])
def test_usage_errors(tlskit, argv, named):
    r = tlskit.run(*argv, timeout=20)
    cmd = argv[0]
    assert_error(r, USAGE, re.escape(named), cmd=cmd)
