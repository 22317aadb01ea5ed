"""`tlskit bench`: every mode against `tlskit echo`, openssl s_server and
the tutorial-style Python selectors server; error paths counted by cause;
exit codes. Small bounded runs (-n, or -d of a second or two); no timing
assertions."""
import json
import subprocess
import time

import pytest

from conftest import free_port, json_events, start_listener

MODES = ["handshake", "resume", "throughput", "rr", "idle"]


def bench(tlskit, mode, target, *args, timeout=60):
    return tlskit.run("bench", mode, target, "--timeout", "5", *args,
                      timeout=timeout)


def wait_events(proc, event, count, timeout=15):
    """The peer's JSON events of this kind once there are count of them
    (or whatever there are after timeout)."""
    deadline = time.monotonic() + timeout
    while True:
        got = json_events(proc, event)
        if len(got) >= count or time.monotonic() > deadline:
            return got
        time.sleep(0.05)


def bench_json(tlskit, mode, target, *args):
    r = bench(tlskit, mode, target, "--json", *args)
    try:
        doc = json.loads(r.out)
    except ValueError:
        raise AssertionError(f"not one JSON document: {r!r}")
    assert doc["schema"] == "tlskit/1" and doc["command"] == "bench", doc
    assert doc["mode"] == mode, doc
    return r, doc


def assert_sane(r, doc):
    assert r.rc == 0, r
    assert doc["operations"] > 0, doc
    assert doc["errors"]["total"] == 0, doc["errors"]
    lat = doc["latency_us"]
    assert 0 <= lat["p50"] <= lat["p90"] <= lat["p99"] <= lat["max"], lat
    assert doc["ops_per_s"] > 0, doc
    assert doc["elapsed_ms"] >= 0, doc


def mode_args(mode):
    if mode == "idle":
        return ["-c", "20", "--hold", "0.5"]
    return ["-c", "4", "-n", "200"]


@pytest.fixture
def echo(start_echo, pki):
    return start_echo(*pki.server_args())


@pytest.mark.parametrize("mode", MODES)
def test_modes_against_tlskit_echo(tlskit, pki, echo, mode):
    r, doc = bench_json(tlskit, mode, f"localhost:{echo.port}", "--ca",
                        pki.ca, *mode_args(mode))
    assert_sane(r, doc)
    if mode == "idle":
        assert doc["idle"]["opened"] == 20, doc["idle"]
        assert doc["idle"]["still_up"] == 20, doc["idle"]
        assert doc["operations"] == 20
    else:
        assert doc["operations"] == 200, doc
    if mode in ("throughput", "rr"):
        # Long-lived connections: at most one handshake each (a fast one
        # may use up -n before the others have finished theirs).
        assert 1 <= doc["handshakes"] <= 4, doc
    if mode == "throughput":
        assert doc["bytes"] == 200 * 16384, doc
        assert doc["mb_per_s"] > 0
    if mode == "handshake":
        assert doc["resumed"] == 0, doc
        assert doc["resumption"] is None


@pytest.mark.parametrize("version", ["1.2", "1.3"])
def test_resume_ratio(tlskit, pki, echo, version):
    r, doc = bench_json(tlskit, "resume", f"localhost:{echo.port}",
                        "--ca", pki.ca, "-c", "4", "-n", "200",
                        "--max-version", version)
    assert_sane(r, doc)
    res = doc["resumption"]
    assert res["ratio"] > 0.9, res
    assert res["resumed"] <= res["offered"] <= doc["handshakes"], res


def test_text_report(tlskit, pki, echo):
    r = bench(tlskit, "handshake", f"127.0.0.1:{echo.port}", "--ca",
              pki.ca, "-n", "20", "-c", "2")
    assert r.rc == 0, r
    for word in ("operations  20", "latency", "p50", "p90", "p99", "max",
                 "errors      0"):
        assert word in r.out, r
    # stderr is not a terminal here: no progress line.
    assert "\r" not in r.err, r


@pytest.mark.parametrize("mode", ["handshake", "rr"])
def test_requests_bound_is_exact(tlskit, pki, echo, mode):
    r, doc = bench_json(tlskit, mode, f"127.0.0.1:{echo.port}", "--ca",
                        pki.ca, "-n", "37", "-c", "5", "-j", "2")
    assert_sane(r, doc)
    assert doc["operations"] == 37, doc
    assert doc["threads"] == 2


@pytest.mark.parametrize("size", [40 * 1024, 300 * 1024])
def test_rr_request_of_many_records(tlskit, pki, echo, size):
    """A request of several TLS records, or of more than the 256 KiB
    window: written in parts while its echo is read, every byte back."""
    r, doc = bench_json(tlskit, "rr", f"127.0.0.1:{echo.port}", "--ca",
                        pki.ca, "-n", "20", "-c", "2", "--size", str(size))
    assert_sane(r, doc)
    assert doc["operations"] == 20, doc
    assert doc["bytes"] == 20 * size, doc


def test_duration_bound(tlskit, pki, echo):
    r, doc = bench_json(tlskit, "rr", f"127.0.0.1:{echo.port}", "--ca",
                        pki.ca, "-d", "1", "-c", "2")
    assert_sane(r, doc)
    assert 900 <= doc["elapsed_ms"] < 5000, doc
    assert r.elapsed < 20, r


def test_server_pid_figures(tlskit, pki, echo):
    r, doc = bench_json(tlskit, "idle", f"127.0.0.1:{echo.port}", "--ca",
                        pki.ca, "-c", "50", "--hold", "0.5",
                        "--server-pid", echo.proc.pid)
    assert_sane(r, doc)
    idle = doc["idle"]
    assert idle["server_pss_before_kib"] > 0, idle
    assert idle["server_pss_after_kib"] > 0, idle
    assert idle["server_kib_per_conn"] is not None, idle
    assert doc["server_cpu"]["cpu_ms"] >= 0, doc


def test_untrusted_server(tlskit, pki, echo):
    """The server's CA is not trusted: every handshake fails on
    verification, counted by cause; exit 6 (the documented code)."""
    r = bench(tlskit, "handshake", f"localhost:{echo.port}", "--ca",
              pki.other_ca, "-n", "6", "-c", "2")
    assert r.rc == 6, r
    assert "errors      6" in r.out, r
    assert "verify: certificate verify failed" in r.out, r
    r, doc = bench_json(tlskit, "handshake", f"localhost:{echo.port}",
                        "--ca", pki.other_ca, "-n", "6", "-c", "2")
    assert r.rc == 6, r
    errors = doc["errors"]
    assert errors["total"] == 6 and errors["by_kind"]["verify"] == 6, errors
    assert doc["operations"] == 0 and doc["latency_us"] is None, doc
    causes = errors["by_cause"]
    assert len(causes) == 1 and causes[0]["count"] == 6, causes
    assert "not trusted" in causes[0]["cause"], causes


def test_wrong_name(tlskit, pki, echo):
    r, doc = bench_json(tlskit, "handshake", f"127.0.0.1:{echo.port}",
                        "--ca", pki.ca, "--servername", "example.test",
                        "-n", "3", "-c", "1")
    assert r.rc == 6, r
    assert doc["errors"]["by_kind"]["verify"] == 3, doc["errors"]
    assert "hostname mismatch" in doc["errors"]["by_cause"][0]["cause"]


def test_handshake_failure_by_cause(tlskit, pki, echo):
    """A version the server does not speak: handshake errors, exit 5."""
    r, doc = bench_json(tlskit, "handshake", f"127.0.0.1:{echo.port}",
                        "--ca", pki.ca, "--max-version", "1.1",
                        "--min-version", "1.0", "-n", "4", "-c", "2")
    assert r.rc in (3, 5), r
    if r.rc == 5:
        assert doc["errors"]["by_kind"]["handshake"] == 4, doc["errors"]


def test_refused(tlskit):
    port = free_port()
    r = bench(tlskit, "rr", f"127.0.0.1:{port}", "--insecure", "-n", "5")
    assert r.rc == 4, r
    assert "connect: connecting to 127.0.0.1:" in r.out, r
    assert "Connection refused" in r.out, r
    assert "--insecure" in r.err  # the warning
    r, doc = bench_json(tlskit, "handshake", f"127.0.0.1:{port}",
                        "--insecure", "-n", "3")
    assert r.rc == 4
    assert doc["errors"]["by_kind"]["connect"] == 3, doc
    assert doc["tcp_connects"] == 0


def test_every_address_tried(tlskit, pki, start_echo):
    """localhost is ::1 and 127.0.0.1; a server on one of them is found
    whatever the order, without errors."""
    server = start_echo(*pki.server_args(), listen="127.0.0.1:0")
    r, doc = bench_json(tlskit, "handshake", f"localhost:{server.port}",
                        "--ca", pki.ca, "-n", "10", "-c", "2")
    assert_sane(r, doc)


def test_unresolvable(tlskit):
    r = bench(tlskit, "handshake", "no-such-host.invalid:443", "-n", "1")
    assert r.rc == 4, r
    assert "resolving 'no-such-host.invalid'" in r.err, r


@pytest.mark.parametrize("args", [
    [],
    ["handshake"],
    ["nosuchmode", "127.0.0.1:1"],
    ["handshake", "127.0.0.1"],
    ["handshake", "127.0.0.1:1", "extra"],
    ["handshake", "127.0.0.1:1", "-c", "0"],
    ["handshake", "127.0.0.1:1", "-c", "x"],
    ["handshake", "127.0.0.1:1", "-n", "0"],
    ["handshake", "127.0.0.1:1", "-d", "-1"],
    ["handshake", "127.0.0.1:1", "-j", "0"],
    ["handshake", "127.0.0.1:1", "--size", "12q"],
    ["rr", "127.0.0.1:1", "--size", "0"],
    ["handshake", "127.0.0.1:1", "--hold", "1"],
    ["rr", "127.0.0.1:1", "--window", "1k"],
    ["idle", "127.0.0.1:1", "-n", "5"],
    ["idle", "127.0.0.1:1", "-d", "5"],
    ["handshake", "127.0.0.1:1", "--nosuch"],
    ["handshake", "127.0.0.1:1", "--ca"],
    ["handshake", "127.0.0.1:1", "--min-version", "9"],
    ["handshake", "127.0.0.1:1", "--cert", "x.pem"],
])
def test_bad_flags(tlskit, args):
    r = tlskit.run("bench", *args)
    assert r.rc == 2, r
    assert r.err.startswith("tlskit: bench: "), r
    assert r.out == "", r


def test_bad_ca_file(tlskit, tmp_path):
    r = tlskit.run("bench", "handshake", "127.0.0.1:1", "--ca",
                   tmp_path / "missing.pem")
    assert r.rc == 3, r
    assert "missing.pem" in r.err


def test_help(tlskit):
    r = tlskit.run("bench", "--help")
    assert r.rc == 0 and "usage: tlskit bench MODE HOST:PORT" in r.out
    r = tlskit.run("help", "bench")
    assert r.rc == 0 and "Exit status" in r.out


# ---- independent servers ---------------------------------------------------

def s_server_loop(procs, pki):
    """openssl s_server accepting connections until killed (it does not
    echo: bench --size 0 makes handshakes only)."""
    def argv(port):
        return ["openssl", "s_server", "-accept", f"127.0.0.1:{port}",
                "-cert", pki.server, "-key", pki.server_key]
    return start_listener(procs, "s_server", argv, r"^ACCEPT",
                          stdin=subprocess.PIPE)


@pytest.mark.parametrize("mode", ["handshake", "idle"])
def test_openssl_s_server(tlskit, pki, procs, mode):
    proc, port = s_server_loop(procs, pki)
    # s_server serves one connection at a time: one slot.
    args = (["-c", "1", "--hold", "0.5"] if mode == "idle"
            else ["-c", "1", "-n", "20"])
    r, doc = bench_json(tlskit, mode, f"localhost:{port}", "--ca", pki.ca,
                        "--size", "0", *args)
    assert_sane(r, doc)
    if mode == "handshake":
        assert doc["operations"] == 20 and doc["handshakes"] == 20, doc
    else:
        assert doc["idle"]["still_up"] == 1, doc
    assert proc.running()


def test_openssl_s_server_untrusted(tlskit, pki, procs):
    proc, port = s_server_loop(procs, pki)
    r, doc = bench_json(tlskit, "handshake", f"localhost:{port}", "--ca",
                        pki.other_ca, "--size", "0", "-n", "3", "-c", "1")
    assert r.rc == 6, r
    assert doc["errors"]["by_kind"]["verify"] == 3, doc


@pytest.mark.parametrize("mode", ["handshake", "rr", "throughput"])
def test_python_selectors_server(tlskit, pki, py_server, mode):
    """The tutorial's non-blocking server (it echoes; exits after
    --max-conn connections)."""
    conns = {"handshake": 10, "rr": 2, "throughput": 2}[mode]
    proc, port = py_server("selectors_server.py", "--cert", pki.server,
                           "--key", pki.server_key, "--max-conn",
                           str(conns))
    n = {"handshake": 10, "rr": 100, "throughput": 50}[mode]
    r, doc = bench_json(tlskit, mode, f"localhost:{port}", "--ca", pki.ca,
                        "-c", "2" if mode != "handshake" else "1",
                        "-n", str(n))
    assert_sane(r, doc)
    assert doc["operations"] == n, doc
    # A slot whose TCP connect is still under way when another slot has
    # spent the budget is closed: the server may see fewer than -c
    # connections, or one more that ends before its handshake.
    made = doc["tcp_connects"]
    assert 1 <= made <= conns, doc
    served = wait_events(proc, "conn", made)
    assert len(served) == made, proc.text("stdout") + proc.text("stderr")
    assert not json_events(proc, "error"), proc.text("stdout")
    cut = json_events(proc, "handshake_failed")
    assert len(cut) <= conns - made, proc.text("stdout")
    if made + len(cut) == conns:
        assert proc.wait() == 0, proc.text("stderr")
    else:
        proc.stop()
