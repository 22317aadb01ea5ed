"""The engine under `tlskit echo`: timeouts, limits, drain, reload, workers,
counters and structured logs (issue 6, items 1-3). Real processes on
loopback; every wait is bounded and no test asserts a speed."""
import json
import os
import re
import resource
import shutil
import signal
import socket
import ssl
import struct
import threading
import time

import pytest

import custom_ca_client
import peerlib
from conftest import TLSKIT, Proc, assert_no_sanitizer_report, split_hostport

FAILED_LINE = r"handshake failed: "


def asan_build():
    """ASan's allocator keeps freed memory in quarantine and its own pools:
    RSS cannot return to a baseline there."""
    with open(TLSKIT, "rb") as f:
        return b"__asan_init" in f.read()


def tls_client(pki, port, host="127.0.0.1", timeout=20):
    """A verifying TLS connection to the server (handshake done)."""
    context = custom_ca_client.make_context(str(pki.ca))
    sock = socket.create_connection((host, port), timeout=timeout)
    return context.wrap_socket(sock, server_hostname="localhost")


def client_hello():
    """The bytes of a real TLS ClientHello (made by Python's ssl)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = context.wrap_bio(incoming, outgoing, server_hostname="localhost")
    with pytest.raises(ssl.SSLWantReadError):
        obj.do_handshake()
    return outgoing.read()


def served(pki, port, data=b"still serving?", host="127.0.0.1"):
    with tls_client(pki, port, host) as s:
        ok = peerlib.echo_roundtrip(s, data) == data
        peerlib.close_cleanly(s)
    return ok


def conn_lines(server, pattern):
    start = server.ready_line + 1
    return [line for line in server.proc.lines["stderr"][start:]
            if re.search(pattern, line)]


def wait_closed(sock, timeout=10):
    """Reads until the peer closes (EOF, reset); True if it did in time."""
    sock.settimeout(timeout)
    try:
        while sock.recv(4096):
            pass
    except (ConnectionResetError, ssl.SSLError):
        pass
    except socket.timeout:
        return False
    return True


# --------------------------------------------------------------------------
# Timeouts
# --------------------------------------------------------------------------

def test_slowloris_cut_by_absolute_handshake_deadline(pki, start_echo):
    server = start_echo(*pki.server_args(), "--handshake-timeout", "1")
    hello = client_hello()
    cut = False
    start = time.monotonic()
    with socket.create_connection(("127.0.0.1", server.port),
                                  timeout=10) as sock:
        sock.settimeout(0.3)
        # One byte every 0.3 s: each byte is activity, yet the deadline
        # counts from accept. Bounded: at most 30 bytes (9 s).
        for i in range(min(30, len(hello))):
            try:
                sock.sendall(hello[i:i + 1])
                if sock.recv(1) == b"":
                    cut = True
                    break
            except socket.timeout:
                continue
            except (ConnectionResetError, BrokenPipeError):
                cut = True
                break
    assert cut, "the server kept the slow client beyond its deadline"
    assert time.monotonic() - start < 9
    line = server.wait_log(r"handshake timeout")
    assert re.search(r"handshake failed: handshake timeout \(not complete "
                     r"within 1\.000 s of accept\)", line), line
    assert served(pki, server.port)


def test_idle_timeout_closes_with_close_notify(pki, start_echo):
    server = start_echo(*pki.server_args(), "--idle-timeout", "1")
    with tls_client(pki, server.port) as s:
        assert peerlib.echo_roundtrip(s, b"then idle") == b"then idle"
        s.settimeout(10)
        # close_notify arrives: Python's recv returns b"".
        assert s.recv(100) == b""
    line = server.wait_log(r"idle timeout")
    assert re.search(r"TLSv1\.3 .* timed out: idle timeout \(no data for "
                     r"1\.000 s\)", line), line


def fd_count(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def test_many_silent_connections_closed_by_handshake_timeout(pki,
                                                            start_echo):
    n = 2000
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < n + 200:
        pytest.skip(f"needs {n + 200} descriptors, hard limit {hard}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, n + 200), hard))
    try:
        server = start_echo(*pki.server_args(), "--handshake-timeout", "1")
        server.proc.wait_for(r"max-conns")
        assert served(pki, server.port)
        server.wait_log(r"TLSv1\.3 .* closed")
        time.sleep(0.3)  # the line is written just before the close()
        baseline = fd_count(server.proc.pid)
        rss_before = rss_kib(server.proc.pid)
        socks = []
        try:
            for _ in range(n):
                socks.append(socket.create_connection(
                    ("127.0.0.1", server.port), timeout=10))
            # Every one is cut by the deadline (bounded wait).
            deadline = time.monotonic() + 60
            while len(conn_lines(server, "handshake timeout")) < n:
                assert time.monotonic() < deadline, \
                    len(conn_lines(server, "handshake timeout"))
                time.sleep(0.2)
        finally:
            for s in socks:
                s.close()
        assert served(pki, server.port)
        for _ in range(50):  # the last close may still be under way
            before = server.proc.line_count()
            os.kill(server.proc.pid, signal.SIGUSR1)
            m = server.proc.wait_for(r"stats: total open=(\d+) .*?"
                                     r"timeouts_handshake=(\d+)",
                                     start=before)
            if m.group(1) == "0" and fd_count(server.proc.pid) <= baseline:
                break
            time.sleep(0.1)
        assert m.group(1) == "0" and int(m.group(2)) == n, m.group(0)
        assert fd_count(server.proc.pid) == baseline
        # Their memory went back to the system too (about 14 KiB each
        # at the peak); the margin is for heap fragments and stacks.
        grown = rss_kib(server.proc.pid) - rss_before
        if not asan_build():
            assert grown < 2048, f"RSS still {grown} KiB above the baseline"
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_active_connection_outlives_idle_timeout(pki, start_echo):
    server = start_echo(*pki.server_args(), "--idle-timeout", "1")
    with tls_client(pki, server.port) as s:
        for i in range(8):  # 2 s of activity, every 0.25 s
            assert peerlib.echo_roundtrip(s, b"%d" % i) == b"%d" % i
            time.sleep(0.25)
        assert peerlib.close_cleanly(s)
    assert "idle timeout" not in server.log()


# --------------------------------------------------------------------------
# Limits
# --------------------------------------------------------------------------

def test_max_conns_holds_the_next_client_in_the_backlog(pki, start_echo):
    server = start_echo(*pki.server_args(), "--max-conns", "2",
                        "--workers", "2")
    first = tls_client(pki, server.port)
    second = tls_client(pki, server.port)
    assert peerlib.echo_roundtrip(first, b"one") == b"one"
    assert peerlib.echo_roundtrip(second, b"two") == b"two"
    done = threading.Event()
    result = {}

    def third_client():
        try:
            result["ok"] = served(pki, server.port, b"three")
        except Exception as e:  # reported by the assertion below
            result["error"] = repr(e)
        done.set()

    t = threading.Thread(target=third_client, daemon=True)
    t.start()
    # The TCP connect succeeds (backlog); the handshake must wait.
    assert not done.wait(1.5), f"served beyond --max-conns: {result}"
    server.wait_log(r"max-conns 2 reached: not accepting")
    first.close()
    assert done.wait(15), "the waiting client was never served"
    t.join(5)
    assert result.get("ok"), result
    assert peerlib.close_cleanly(second)
    second.close()
    # Waiting is not an error: no connection was refused or reset.
    assert not re.search(r"accepting on .*: ", server.log())


def test_emfile_pauses_accepting_and_recovers(pki, procs, tlskit_env,
                                              tlskit_bin):
    # 40 descriptors, more connections allowed than that: accept() hits
    # EMFILE, the server pauses instead of spinning, then recovers.
    argv = ["prlimit", "--nofile=40:40", TLSKIT, "echo", "--listen",
            "127.0.0.1:0", "--workers", "1", "--max-conns", "1000",
            "--handshake-timeout", "3", *pki.server_args()]
    proc = procs("tlskit echo", argv, env=tlskit_env)
    m = proc.wait_for(r"tlskit: echo: listening on (\S+)")
    port = split_hostport(m.group(1))[1]
    socks = []
    try:
        for _ in range(45):
            socks.append(socket.create_connection(("127.0.0.1", port),
                                                  timeout=10))
        proc.wait_for(r"accepting on 127\.0\.0\.1:\d+: Too many open files;"
                      r" pausing accepts for 100 ms", timeout=15)
    finally:
        for s in socks:
            s.close()
    # The idle ones time out; a real client is served afterwards.
    deadline = time.monotonic() + 20
    ok = False
    while not ok and time.monotonic() < deadline:
        try:
            ok = served(pki, port)
        except OSError:
            time.sleep(0.2)
    assert ok
    rc = proc.stop()
    log = proc.text()
    assert_no_sanitizer_report(log, "tlskit echo")
    assert rc == 0, log
    # Pausing, not spinning: a handful of lines, not thousands.
    assert len(re.findall(r"Too many open files", log)) < 50, log


# --------------------------------------------------------------------------
# Bad clients: one line each, nobody else disturbed
# --------------------------------------------------------------------------

def test_bad_clients_one_line_each(pki, start_echo):
    server = start_echo(*pki.server_args())
    hello = client_hello()
    with tls_client(pki, server.port) as good:
        assert peerlib.echo_roundtrip(good, b"before") == b"before"
        ports = {}
        # Garbage (not TLS at all).
        with socket.create_connection(("127.0.0.1", server.port),
                                      timeout=10) as s:
            ports["garbage"] = s.getsockname()[1]
            s.sendall(os.urandom(8) + b"\x00" * 300)
            wait_closed(s)
        # A ClientHello cut short, then EOF.
        with socket.create_connection(("127.0.0.1", server.port),
                                      timeout=10) as s:
            ports["truncated"] = s.getsockname()[1]
            s.sendall(hello[:len(hello) // 2])
            s.shutdown(socket.SHUT_WR)
            wait_closed(s)
        # A reset in the middle of the handshake.
        s = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        ports["reset"] = s.getsockname()[1]
        s.sendall(hello[:len(hello) // 2])
        time.sleep(0.2)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                     struct.pack("ii", 1, 0))
        s.close()
        causes = {
            "garbage": r"handshake failed: .*(wrong version|not TLS|"
                       r"packet length|record|unknown protocol|http)",
            "truncated": r"handshake failed: .*closed the connection",
            "reset": r"handshake failed: .*reset by peer",
        }
        for kind, pattern in causes.items():
            line = server.conn_line(ports[kind])
            assert re.search(pattern, line, re.I), (kind, line)
            assert len(conn_lines(server, rf":{ports[kind]}(?!\d)")) == 1
        assert peerlib.echo_roundtrip(good, b"after") == b"after"
        assert peerlib.close_cleanly(good)


# --------------------------------------------------------------------------
# SIGHUP reload
# --------------------------------------------------------------------------

def peer_der(pki, port):
    with tls_client(pki, port) as s:
        der = s.getpeercert(binary_form=True)
        assert peerlib.echo_roundtrip(s, b"x") == b"x"
        peerlib.close_cleanly(s)
    return der


def file_der(path):
    return ssl.PEM_cert_to_DER_cert(open(path).read())


def test_sighup_reload(pki, start_echo, tmp_path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    shutil.copy(pki.server, cert)
    shutil.copy(pki.server_key, key)
    server = start_echo("--cert", cert, "--key", key)
    assert peer_der(pki, server.port) == file_der(pki.server)
    established = tls_client(pki, server.port)
    assert peerlib.echo_roundtrip(established, b"old") == b"old"

    # New files while clients handshake in a loop: none fails, new
    # connections get the new certificate, the open one is untouched.
    stop = threading.Event()
    seen = {"ok": 0, "failed": [], "ders": set()}

    def handshake_loop():
        for _ in range(2000):  # bounded
            if stop.is_set():
                break
            try:
                seen["ders"].add(peer_der(pki, server.port))
                seen["ok"] += 1
            except Exception as e:  # counted, asserted below
                seen["failed"].append(repr(e))

    t = threading.Thread(target=handshake_loop, daemon=True)
    t.start()
    time.sleep(0.3)
    shutil.copy(pki.rsa_server, cert)
    shutil.copy(pki.rsa_server_key, key)
    os.kill(server.proc.pid, signal.SIGHUP)
    server.wait_log(r"reloaded certificates and keys")
    time.sleep(0.3)
    stop.set()
    t.join(30)
    assert not seen["failed"], seen["failed"][:3]
    assert seen["ok"] > 0
    assert peer_der(pki, server.port) == file_der(pki.rsa_server)
    assert peerlib.echo_roundtrip(established, b"still") == b"still"

    # Broken files: one line saying why; the last good ones stay.
    before = server.proc.line_count()
    key.write_text("not a key\n")
    os.kill(server.proc.pid, signal.SIGHUP)
    line = server.wait_log(r"reload failed")
    assert re.search(r"tlskit: echo: reload failed: .*key\.pem.*; keeping "
                     r"the previous configuration$", line), line
    assert peer_der(pki, server.port) == file_der(pki.rsa_server)
    new_lines = server.proc.lines["stderr"][before:]
    assert len([x for x in new_lines if "reload" in x]) == 1, new_lines
    assert peerlib.echo_roundtrip(established, b"end") == b"end"
    assert peerlib.close_cleanly(established)
    established.close()


# --------------------------------------------------------------------------
# SIGTERM / SIGINT drain
# --------------------------------------------------------------------------

def test_sigterm_drain_lets_open_connection_finish(pki, start_echo):
    server = start_echo(*pki.server_args(), "--drain-timeout", "20")
    s = tls_client(pki, server.port)
    assert peerlib.echo_roundtrip(s, b"before") == b"before"
    os.kill(server.proc.pid, signal.SIGTERM)
    server.wait_log(r"stopping \(SIGTERM\): not accepting; 1 connections")
    # No new connections...
    refused = False
    for _ in range(20):
        try:
            socket.create_connection(("127.0.0.1", server.port),
                                     timeout=2).close()
            time.sleep(0.1)
        except OSError:
            refused = True
            break
    assert refused
    # ...but the open one finishes its work, byte-exact.
    data = os.urandom(256 * 1024)
    assert peerlib.echo_roundtrip(s, data) == data
    assert peerlib.close_cleanly(s)
    s.close()
    rc = server.proc.wait(15)
    server.stopped = True
    assert rc == 0, server.log()
    assert "drain timeout" not in server.log()


def test_drain_timeout_closes_the_rest_with_close_notify(pki, start_echo):
    server = start_echo(*pki.server_args(), "--drain-timeout", "1")
    with tls_client(pki, server.port) as s:
        assert peerlib.echo_roundtrip(s, b"idle") == b"idle"
        os.kill(server.proc.pid, signal.SIGINT)
        s.settimeout(15)
        assert s.recv(100) == b""  # close_notify, not a reset
    rc = server.proc.wait(15)
    server.stopped = True
    assert rc == 0, server.log()
    assert re.search(r"drain timeout: closing 1 connections", server.log())


def test_second_signal_stops_at_once(pki, start_echo):
    server = start_echo(*pki.server_args(), "--drain-timeout", "120")
    with tls_client(pki, server.port) as s:
        assert peerlib.echo_roundtrip(s, b"x") == b"x"
        os.kill(server.proc.pid, signal.SIGTERM)
        server.wait_log(r"stopping \(SIGTERM\)")
        os.kill(server.proc.pid, signal.SIGTERM)
        rc = server.proc.wait(10)
        server.stopped = True
    assert rc == 0, server.log()
    assert "stopping now (second signal" in server.log()
    assert_no_sanitizer_report(server.log(), "tlskit echo")


# --------------------------------------------------------------------------
# Workers, counters, JSON logs, listeners
# --------------------------------------------------------------------------

STATS_RE = (r"tlskit: echo: stats: total open=(\d+) accepted=(\d+) "
            r"handshakes=(\d+).*\| worker 0 open=\d+ accepted=(\d+) .*"
            r"\| worker 1 open=\d+ accepted=(\d+) ")


@pytest.mark.parametrize("balance", ["reuseport", "exclusive"])
def test_two_workers_serve_and_counters_add_up(pki, start_echo, balance):
    server = start_echo(*pki.server_args(), "--workers", "2",
                        "--balance", balance)
    server.proc.wait_for(r"2 workers, max-conns")
    for i in range(30):
        assert served(pki, server.port, b"%d" % i)
    before = server.proc.line_count()
    os.kill(server.proc.pid, signal.SIGUSR1)
    m = server.proc.wait_for(STATS_RE, start=before)
    total, w0, w1 = int(m.group(2)), int(m.group(4)), int(m.group(5))
    assert total == 30 and w0 + w1 == 30, m.group(0)
    assert int(m.group(3)) == 30
    if balance == "reuseport":
        # The kernel hashes each connection to a worker's socket.
        assert w0 > 0 and w1 > 0, m.group(0)


def test_stats_interval_line(pki, start_echo):
    server = start_echo(*pki.server_args(), "--stats-interval", "0.3",
                        "--workers", "2")
    assert served(pki, server.port)
    # Lines keep coming on their own; the counters include the client.
    server.proc.wait_for(r"stats: total open=0 accepted=1 handshakes=1 ",
                         start=server.ready_line, timeout=10)
    n = len(conn_lines(server, r"stats: total"))
    deadline = time.monotonic() + 10
    while len(conn_lines(server, r"stats: total")) < n + 2:
        assert time.monotonic() < deadline, "no periodic stats lines"
        time.sleep(0.1)


def test_json_log_format(pki, start_echo):
    server = start_echo(*pki.server_args(), "--log-format", "json",
                        "--workers", "2")
    with tls_client(pki, server.port) as s:
        port = s.getsockname()[1]
        assert peerlib.echo_roundtrip(s, b"hello") == b"hello"
        assert peerlib.close_cleanly(s)
    with socket.create_connection(("127.0.0.1", server.port),
                                  timeout=10) as bad:
        bad.sendall(b"GET / HTTP/1.0\r\n\r\n")
        wait_closed(bad)
    server.wait_log(r'"outcome":"handshake_failed"')
    os.kill(server.proc.pid, signal.SIGUSR1)
    server.wait_log(r'"event":"stats"')
    objs = [json.loads(line) for line in
            server.proc.lines["stderr"][server.ready_line + 1:]
            if line.startswith("{")]
    conns = [o for o in objs if o["event"] == "connection"]
    for o in objs:
        assert o["schema"] == "tlskit/1"
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z",
                            o["time"]), o
    good = next(o for o in conns if o["peer"] == f"127.0.0.1:{port}")
    assert good["outcome"] == "closed" and good["reason"] is None
    assert good["version"] == "TLSv1.3" and good["bytes_in"] == 5
    assert good["bytes_out"] == 5 and good["worker"] in (0, 1)
    assert isinstance(good["duration_ms"], int)
    failed = [o for o in conns if o["outcome"] == "handshake_failed"]
    assert failed and "HTTP" in failed[0]["reason"]
    assert failed[0]["version"] is None
    stats = next(o for o in objs if o["event"] == "stats")
    assert stats["total"]["accepted"] == 2
    assert stats["total"]["handshakes_failed"]["http"] == 1
    assert len(stats["workers"]) == 2
    assert sum(w["accepted"] for w in stats["workers"]) == 2


def ipv6_loopback():
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.mark.skipif(not ipv6_loopback(), reason="no IPv6 loopback")
def test_listen_twice_ipv4_and_ipv6(pki, start_echo):
    server = start_echo(*pki.server_args(), "--listen", "[::1]:0")
    m = server.proc.wait_for(r"listening on \[::1\]:(\d+)")
    assert served(pki, server.port)
    assert served(pki, int(m.group(1)), host="::1")


@pytest.mark.parametrize("args,words", [
    (["--workers", "0"], r"--workers: '0' is not a whole number"),
    (["--max-conns", "x"], r"--max-conns: 'x' is not a whole number"),
    (["--handshake-timeout", "-1"], r"--handshake-timeout: '-1' is not"),
    (["--log-format", "xml"], r"--log-format: unknown value 'xml'"),
    (["--balance", "rr"], r"--balance: unknown value 'rr'"),
    (["--listen", "nope"], r"listen address 'nope'"),
])
def test_bad_engine_options(tlskit, args, words):
    r = tlskit.run("echo", *args)
    assert r.rc == 2, r
    assert re.search(words, r.err), r


def test_unknown_user_is_refused(pki, tlskit):
    r = tlskit.run("echo", "--listen", "127.0.0.1:0", *pki.server_args(),
                   "--user", "no-such-user-tlskit")
    assert r.rc != 0
    assert re.search(r"dropping privileges to user 'no-such-user-tlskit': "
                     r"no such user", r.err), r


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to change user")
def test_user_drops_privileges_after_binding(pki, start_echo):
    server = start_echo(*pki.server_args(), "--user", "nobody")
    status = open(f"/proc/{server.proc.pid}/status").read()
    uids = re.search(r"^Uid:\s+(.*)$", status, re.M).group(1).split()
    assert set(uids) == {"65534"}, status
    assert served(pki, server.port)


def test_resumed_sessions_counted_and_logged(pki, start_echo):
    server = start_echo(*pki.server_args(), "--workers", "1")
    context = custom_ca_client.make_context(str(pki.ca))
    with socket.create_connection(("127.0.0.1", server.port),
                                  timeout=20) as sock:
        with context.wrap_socket(sock, server_hostname="localhost") as s:
            assert peerlib.echo_roundtrip(s, b"first") == b"first"
            session = s.session
            peerlib.close_cleanly(s)
    with socket.create_connection(("127.0.0.1", server.port),
                                  timeout=20) as sock:
        with context.wrap_socket(sock, server_hostname="localhost",
                                 session=session) as s:
            port = s.getsockname()[1]
            assert peerlib.echo_roundtrip(s, b"again") == b"again"
            assert s.session_reused
            peerlib.close_cleanly(s)
    assert " resumed in=5 out=5 " in server.conn_line(port)
    before = server.proc.line_count()
    os.kill(server.proc.pid, signal.SIGUSR1)
    server.proc.wait_for(r"stats: total open=\d+ accepted=2 handshakes=2 "
                         r"resumed=1 ", start=before)


# --------------------------------------------------------------------------
# Read-ahead, one send per wake-up, backpressure
# --------------------------------------------------------------------------

class MemoryClient:
    """A TLS client over memory BIOs, so a test decides which records
    leave together in one TCP write."""

    def __init__(self, pki, port):
        context = custom_ca_client.make_context(str(pki.ca))
        self.incoming, self.outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        self.tls = context.wrap_bio(self.incoming, self.outgoing,
                                    server_hostname="localhost")
        self.sock = socket.create_connection(("127.0.0.1", port),
                                             timeout=10)

    def handshake(self):
        """Up to the server's Finished; the client's own Finished stays in
        self.outgoing, to leave with what the test adds."""
        for _ in range(20):  # bounded: a handshake is a few flights
            try:
                self.tls.do_handshake()
                return
            except ssl.SSLWantReadError:
                self.sock.sendall(self.outgoing.read())
                data = self.sock.recv(65536)
                assert data, "the server closed during the handshake"
                self.incoming.write(data)
        raise AssertionError("handshake did not finish in 20 flights")

    def read_exactly(self, n):
        got = b""
        for _ in range(200):  # bounded
            try:
                while len(got) < n:
                    got += self.tls.read(n - len(got))
                return got
            except ssl.SSLWantReadError:
                data = self.sock.recv(65536)
                if not data:
                    break
                self.incoming.write(data)
        return got


def test_records_sent_together_are_all_echoed(pki, start_echo):
    """With read-ahead one read takes the client's Finished and two
    requests: the server must serve both from what it holds instead of
    waiting for the socket to signal again (it would not: nothing more
    comes)."""
    server = start_echo(*pki.server_args())
    client = MemoryClient(pki, server.port)
    try:
        client.handshake()
        client.tls.write(b"first request;")
        client.tls.write(b"second request")
        client.sock.sendall(client.outgoing.read())  # one write, 3 records
        want = b"first request;second request"
        assert client.read_exactly(len(want)) == want
        # Then two records in one write on an established connection.
        client.tls.write(b"third;")
        client.tls.write(b"fourth")
        client.sock.sendall(client.outgoing.read())
        assert client.read_exactly(12) == b"third;fourth"
    finally:
        client.sock.close()
    assert served(pki, server.port)


def test_data_and_fin_together_end_the_connection(pki, start_echo):
    """A request, then the TCP close without close_notify, taken by one
    read: the server must still read on and see the end (not wait for an
    edge that never comes), echo, and log the truncation."""
    server = start_echo(*pki.server_args())
    client = MemoryClient(pki, server.port)
    port = client.sock.getsockname()[1]
    try:
        client.handshake()
        client.tls.write(b"last words")
        client.sock.sendall(client.outgoing.read())
        client.sock.shutdown(socket.SHUT_WR)
        assert client.read_exactly(10) == b"last words"
    finally:
        client.sock.close()
    # Far sooner than the idle timeout (300 s): wait_log gives up at 15 s.
    line = server.conn_line(port)
    assert "without close_notify" in line, line


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_peer_that_never_reads_is_not_read_from(pki, start_echo, tlskit_env):
    """A client sends up to 50 MiB and reads nothing: once the echoes it
    does not read fill the socket, the server keeps what is left of one
    run (bounded) and stops reading; its memory stays small and other
    clients are served meanwhile."""
    env = dict(tlskit_env)
    # Under ASan freed memory waits in quarantine: RSS would measure that.
    env["ASAN_OPTIONS"] = env.get("ASAN_OPTIONS", "") + ":quarantine_size_mb=1"
    server = start_echo(*pki.server_args(), env=env)
    assert served(pki, server.port)
    baseline = rss_kib(server.proc.pid)
    chunk = os.urandom(64 * 1024)
    sent, stalls = 0, 0
    with tls_client(pki, server.port) as hog:
        hog.settimeout(0.5)
        # Bounded: 800 chunks (50 MiB) or 4 stalls of 0.5 s in a row.
        for _ in range(800):
            try:
                hog.sendall(chunk)
                sent += len(chunk)
                stalls = 0
            except socket.timeout:
                stalls += 1
                if stalls == 4:
                    break
        assert stalls == 4, f"the server took all {sent} bytes"
        grown = rss_kib(server.proc.pid) - baseline
        assert served(pki, server.port, b"not stalled by the hog")
        # Sockets hold megabytes; the server itself a few buffers.
        assert grown < 4096, f"server grew by {grown} KiB"
    assert served(pki, server.port)
