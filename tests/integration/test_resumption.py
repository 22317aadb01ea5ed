"""Session resumption (issue 5, item 6): tickets on by default in
`tlskit echo`, --no-tickets, shared --ticket-keys between two processes,
and `tlskit connect --reconnect N` against tlskit echo and openssl s_server."""
import socket
import ssl

import pytest

from conftest import start_listener

VERSIONS = ["1.2", "1.3"]


def reconnect(tlskit, server, pki, version, n=3):
    r = tlskit.connect(server, "--ca", pki.ca, "--max-version", version,
                       "--reconnect", n, input=b"hello\n")
    assert r.rc == 0, r
    assert r.out == "hello\n", r
    return r


@pytest.mark.parametrize("version", VERSIONS)
def test_reconnect_resumes_against_tlskit_echo(tlskit, start_echo, pki,
                                               version):
    echo = start_echo(*pki.server_args())
    r = reconnect(tlskit, echo.addr, pki, version)
    assert "resumed 3 of 3" in r.err, r


@pytest.mark.parametrize("version", VERSIONS)
def test_no_tickets_means_no_resumption(tlskit, start_echo, pki, version):
    echo = start_echo(*pki.server_args(), "--no-tickets")
    r = reconnect(tlskit, echo.addr, pki, version)
    assert "resumed 0 of 3" in r.err, r


@pytest.mark.parametrize("version", VERSIONS)
def test_reconnect_resumes_against_openssl_s_server(tlskit, procs, pki,
                                                    version):
    def argv(port):
        return ["openssl", "s_server", "-accept", f"127.0.0.1:{port}",
                "-cert", pki.server, "-key", pki.server_key, "-www"]
    _, port = start_listener(procs, "s_server", argv, r"ACCEPT")
    r = tlskit.connect(f"127.0.0.1:{port}", "--ca", pki.ca,
                       "--max-version", version, "--reconnect", 3,
                       input=b"GET / HTTP/1.0\r\n\r\n")
    assert r.rc == 0, r
    assert "resumed 3 of 3" in r.err, r


@pytest.mark.parametrize("version", VERSIONS)
def test_reconnect_resumes_against_gnutls_serv(tlskit, procs, pki, version):
    def argv(port):
        return ["gnutls-serv", "--echo", "-p", port,
                "--x509certfile", pki.server,
                "--x509keyfile", pki.server_key]
    # gnutls-serv listens on every address (no option to bind loopback
    # only); only loopback is ever connected to.
    _, port = start_listener(procs, "gnutls-serv", argv,
                             r"listening on IPv4 .*done", key="stderr")
    r = reconnect(tlskit, f"127.0.0.1:{port}", pki, version)
    assert "resumed 3 of 3" in r.err, r


@pytest.mark.parametrize("version", VERSIONS)
def test_every_worker_resumes_every_ticket(tlskit, start_echo, pki, version):
    """Workers share the config's keys: whichever worker takes a
    reconnection resumes it."""
    echo = start_echo(*pki.server_args(), "--workers", 2)
    r = reconnect(tlskit, echo.addr, pki, version, n=12)
    assert "resumed 12 of 12" in r.err, r


def test_reconnect_needs_a_positive_count(tlskit, pki):
    for bad in ("0", "-1", "x", "1001"):
        r = tlskit.connect("127.0.0.1:1", "--ca", pki.ca, "--reconnect", bad)
        assert r.rc == 2, r
        assert "--reconnect" in r.err, r


# ---- shared ticket keys between processes --------------------------------

def client_context(pki, version):
    ctx = ssl.create_default_context(cafile=str(pki.ca))
    v = ssl.TLSVersion.TLSv1_2 if version == "1.2" else ssl.TLSVersion.TLSv1_3
    ctx.minimum_version = ctx.maximum_version = v
    return ctx


def echo_once(ctx, server, session=None):
    """One exchange; returns (session to resume later, was this resumed)."""
    with socket.create_connection((server.host, server.port), timeout=10) as s:
        with ctx.wrap_socket(s, server_hostname="localhost",
                             session=session) as t:
            t.sendall(b"ping")
            # TLS 1.3: the ticket comes after the handshake; reading the
            # echo reads it too.
            assert t.recv(16) == b"ping"
            return t.session, t.session_reused


@pytest.fixture
def key_files(tmp_path):
    import subprocess
    paths = []
    for name in ("k1", "k2"):
        path = tmp_path / name
        subprocess.run(["openssl", "rand", "-out", str(path), "80"],
                       check=True, timeout=30)
        paths.append(path)
    return paths


@pytest.mark.parametrize("version", VERSIONS)
def test_two_processes_with_shared_keys_resume_each_other(start_echo, pki,
                                                          key_files,
                                                          version):
    k1, _ = key_files
    a = start_echo(*pki.server_args(), "--ticket-keys", k1)
    b = start_echo(*pki.server_args(), "--ticket-keys", k1)
    ctx = client_context(pki, version)
    session, reused = echo_once(ctx, a)
    assert not reused and session is not None
    _, reused = echo_once(ctx, b, session)
    assert reused, "a session from the first server did not resume on the second"


@pytest.mark.parametrize("version", VERSIONS)
def test_second_key_file_still_decrypts(start_echo, pki, key_files, version):
    """Rotation with files: the old key moves to second place and still
    decrypts; the first encrypts."""
    k1, k2 = key_files
    old = start_echo(*pki.server_args(), "--ticket-keys", k1)
    new = start_echo(*pki.server_args(), "--ticket-keys", k2,
                     "--ticket-keys", k1)
    ctx = client_context(pki, version)
    session, _ = echo_once(ctx, old)
    _, reused = echo_once(ctx, new, session)
    assert reused
    # The new server's tickets are made with k2, which `old` lacks.
    session, _ = echo_once(ctx, new)
    _, reused = echo_once(ctx, old, session)
    assert not reused


def test_separate_processes_without_shared_keys_do_not_resume(start_echo,
                                                              pki):
    a = start_echo(*pki.server_args())
    b = start_echo(*pki.server_args())
    ctx = client_context(pki, "1.3")
    session, _ = echo_once(ctx, a)
    _, reused = echo_once(ctx, b, session)
    assert not reused
    _, reused = echo_once(ctx, a, session)
    assert reused


@pytest.mark.parametrize("size", [0, 47, 79, 81, 200])
def test_ticket_key_file_of_wrong_size_is_refused(tlskit, pki, tmp_path,
                                                  size):
    path = tmp_path / "bad.key"
    path.write_bytes(b"x" * size)
    r = tlskit.run("echo", "--listen", "127.0.0.1:0", *pki.server_args(),
                   "--ticket-keys", path)
    assert r.rc == 3, r
    assert str(path) in r.err and "48 or 80" in r.err, r


def test_missing_ticket_key_file_is_refused(tlskit, pki, tmp_path):
    path = tmp_path / "absent.key"
    r = tlskit.run("echo", "--listen", "127.0.0.1:0", *pki.server_args(),
                   "--ticket-keys", path)
    assert r.rc == 3, r
    assert str(path) in r.err and "No such file" in r.err, r


def test_short_48_byte_key_file_works(start_echo, pki, tmp_path):
    path = tmp_path / "k48"
    path.write_bytes(bytes(range(48)))
    a = start_echo(*pki.server_args(), "--ticket-keys", path)
    b = start_echo(*pki.server_args(), "--ticket-keys", path)
    ctx = client_context(pki, "1.2")
    session, _ = echo_once(ctx, a)
    _, reused = echo_once(ctx, b, session)
    assert reused


def test_no_tickets_with_ticket_keys_is_a_usage_error(tlskit, pki,
                                                      key_files):
    r = tlskit.run("echo", "--listen", "127.0.0.1:0", *pki.server_args(),
                   "--no-tickets", "--ticket-keys", key_files[0])
    assert r.rc == 2, r


# ---- sessions saved to a file ---------------------------------------------

@pytest.mark.parametrize("version", VERSIONS)
def test_session_out_then_in_resumes(tlskit, start_echo, pki, tmp_path,
                                     version):
    echo = start_echo(*pki.server_args())
    path = tmp_path / "sess.pem"
    r = tlskit.connect(echo.addr, "--ca", pki.ca, "--max-version", version,
                       "--session-out", path, input=b"one\n")
    assert r.rc == 0, r
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.read_text().startswith("-----BEGIN SSL SESSION PARAMETERS")
    r = tlskit.connect(echo.addr, "--ca", pki.ca, "--max-version", version,
                       "--session-in", path, input=b"two\n")
    assert r.rc == 0 and r.out == "two\n", r
    assert f"session from '{path}' resumed" in r.err, r


def test_tls13_resumption_hands_out_a_fresh_ticket(tlskit, start_echo, pki,
                                                   tmp_path):
    """TLS 1.3 tickets are single-use for careful clients (RFC 8446 C.4):
    each resumed connection must bring a new ticket, so a chain of
    connections that never offers a ticket twice resumes every time."""
    echo = start_echo(*pki.server_args())
    sessions = [tmp_path / f"s{i}.pem" for i in range(4)]
    r = tlskit.connect(echo.addr, "--ca", pki.ca, "--session-out",
                       sessions[0], input=b"0\n")
    assert r.rc == 0, r
    for prev, nxt in zip(sessions, sessions[1:]):
        r = tlskit.connect(echo.addr, "--ca", pki.ca, "--session-in", prev,
                           "--session-out", nxt, input=b"n\n")
        assert r.rc == 0 and f"session from '{prev}' resumed" in r.err, r
        assert nxt.read_bytes() != prev.read_bytes(), "no new ticket"


def test_saved_session_resumes_in_openssl_s_client(tlskit, start_echo, pki,
                                                   tmp_path):
    import subprocess
    echo = start_echo(*pki.server_args())
    path = tmp_path / "sess.pem"
    r = tlskit.connect(echo.addr, "--ca", pki.ca, "--session-out", path,
                       input=b"one\n")
    assert r.rc == 0, r
    out = subprocess.run(["openssl", "s_client", "-connect", echo.addr,
                          "-CAfile", str(pki.ca), "-sess_in", str(path)],
                         input=b"", capture_output=True, timeout=30)
    assert b"Reused, TLSv1.3" in out.stdout, out


def test_session_in_bad_file(tlskit, start_echo, pki, tmp_path):
    echo = start_echo(*pki.server_args())
    bad = tmp_path / "bad.pem"
    bad.write_text("not a session\n")
    for path, why in ((bad, "no PEM SSL SESSION"),
                      (tmp_path / "absent.pem", "No such file")):
        r = tlskit.connect(echo.addr, "--ca", pki.ca, "--session-in", path)
        assert r.rc == 3, r
        assert str(path) in r.err and why in r.err, r


def test_session_out_without_tickets_fails(tlskit, start_echo, pki,
                                           tmp_path):
    echo = start_echo(*pki.server_args(), "--no-tickets")
    r = tlskit.connect(echo.addr, "--ca", pki.ca, "--max-version", "1.3",
                       "--session-out", tmp_path / "s.pem", input=b"x\n")
    assert r.rc == 5, r
    assert "no session" in r.err, r


def test_reload_rereads_ticket_key_files(start_echo, pki, key_files):
    """SIGHUP reads --ticket-keys again: a ticket made before resumes
    after; a bad file keeps the old keys."""
    import signal
    k1, _ = key_files
    echo = start_echo(*pki.server_args(), "--ticket-keys", k1)
    ctx = client_context(pki, "1.3")
    session, _ = echo_once(ctx, echo)
    echo.proc.p.send_signal(signal.SIGHUP)
    echo.wait_log(r"reloaded certificates and keys")
    _, reused = echo_once(ctx, echo, session)
    assert reused
    k1.write_bytes(b"short")
    echo.proc.p.send_signal(signal.SIGHUP)
    line = echo.wait_log(r"reload failed")
    assert str(k1) in line and "48 or 80" in line, line
    _, reused = echo_once(ctx, echo, session)
    assert reused


@pytest.mark.parametrize("version", VERSIONS)
def test_reload_keeps_own_ticket_keys(start_echo, pki, version):
    import signal
    echo = start_echo(*pki.server_args())
    ctx = client_context(pki, version)
    session, _ = echo_once(ctx, echo)
    echo.proc.p.send_signal(signal.SIGHUP)
    echo.wait_log(r"reloaded certificates and keys")
    _, reused = echo_once(ctx, echo, session)
    assert reused


# ---- sessions resume only under the rules they were admitted by ----------

def mtls_context(pki, version):
    ctx = client_context(pki, version)
    ctx.load_cert_chain(str(pki.client), str(pki.client_key))
    return ctx


@pytest.mark.parametrize("version", VERSIONS)
def test_shared_keys_do_not_carry_a_session_past_other_allow_rules(
        start_echo, pki, key_files, version):
    """A resumed session skips verification: alice, admitted by a server
    allowing alice, must not resume on a server (same ticket keys, same CA)
    that allows only bob; she gets a full handshake there, and is refused."""
    k1, _ = key_files
    common = (*pki.server_args(), "--ca", pki.ca, "--ticket-keys", k1)
    alice_ok = start_echo(*common, "--allow-cn", "alice")
    alice_too = start_echo(*common, "--allow-cn", "alice")
    bob_only = start_echo(*common, "--allow-cn", "bob")
    ctx = mtls_context(pki, version)
    session, _ = echo_once(ctx, alice_ok)
    _, reused = echo_once(ctx, alice_too, session)
    assert reused, "the same rules should resume"
    with pytest.raises((ssl.SSLError, ConnectionError, AssertionError)):
        echo_once(ctx, bob_only, session)
    line = bob_only.wait_log(r"handshake failed")
    assert "not authorized" in line and "alice" in line, line
