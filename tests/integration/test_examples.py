"""The examples/ programs against independent peers on loopback.

Every example binary (from $TLSKIT_BUILD/examples, default <repo>/build) is
run against `openssl s_client` / `s_server` or Python's ssl module, with a
PKI made by the openssl command in a temporary directory. Servers are run
with a connection count so that they exit by themselves; every process has
a timeout and is killed by PID if it outlives its test. Fixtures here are
prefixed ex_ so they cannot clash with conftest.py's.
"""
import base64
import hashlib
import json
import os
import queue
import re
import signal
import socket
import ssl
import subprocess
import threading
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TIMEOUT = 20
SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "runtime error:",
                     "LeakSanitizer")


def ex_build_dir():
    value = os.environ.get("TLSKIT_BUILD", "build")
    path = Path(value)
    return path if path.is_absolute() else REPO / path


EXAMPLES = ex_build_dir() / "examples"


def example(name):
    path = EXAMPLES / name
    if not path.exists():
        pytest.fail(f"{path} is missing: build it with `make examples`")
    return str(path)


def check_clean(text, what):
    for marker in SANITIZER_MARKERS:
        assert marker not in text, f"{what}: sanitizer report:\n{text}"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(argv, timeout=TIMEOUT, **kw):
    """Runs a command to completion; a hang fails the test."""
    proc = subprocess.run(argv, capture_output=True, text=True,
                          timeout=timeout, **kw)
    check_clean(proc.stderr, argv[0])
    return proc


# --------------------------------------------------------------------------
# PKI (openssl command only, never the code under test)
# --------------------------------------------------------------------------

def openssl(*args, cwd):
    proc = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=TIMEOUT)
    assert proc.returncode == 0, f"openssl {' '.join(args)}:\n{proc.stderr}"
    return proc.stdout


def make_ca(d, name, cn):
    openssl("req", "-x509", "-new", "-newkey", "ec", "-pkeyopt",
            "ec_paramgen_curve:P-256", "-nodes", "-keyout", f"{name}.key",
            "-out", f"{name}.pem", "-days", "30", "-subj", f"/CN={cn}",
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=d)


def make_leaf(d, name, ca, cn, exts):
    (d / f"{name}.ext").write_text("\n".join(exts) + "\n")
    openssl("req", "-new", "-newkey", "ec", "-pkeyopt",
            "ec_paramgen_curve:P-256", "-nodes", "-keyout", f"{name}.key",
            "-out", f"{name}.csr", "-subj", f"/CN={cn}", cwd=d)
    openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.pem",
            "-CAkey", f"{ca}.key", "-set_serial",
            str(int.from_bytes(os.urandom(12), "big")), "-days", "30",
            "-extfile", f"{name}.ext", "-out", f"{name}.pem", cwd=d)


@pytest.fixture(scope="module")
def ex_pki(tmp_path_factory):
    d = tmp_path_factory.mktemp("ex-pki")
    make_ca(d, "ca", "Example Test CA")
    make_ca(d, "other_ca", "Unrelated CA")
    leaf = ["basicConstraints=critical,CA:FALSE",
            "keyUsage=critical,digitalSignature"]
    make_leaf(d, "server", "ca", "localhost",
              leaf + ["extendedKeyUsage=serverAuth",
                      "subjectAltName=DNS:localhost,IP:127.0.0.1"])
    make_leaf(d, "wrong_name", "ca", "wrong.test",
              leaf + ["extendedKeyUsage=serverAuth",
                      "subjectAltName=DNS:wrong.test"])
    make_leaf(d, "client", "ca", "alice",
              leaf + ["extendedKeyUsage=clientAuth"])
    make_leaf(d, "stranger", "other_ca", "mallory",
              leaf + ["extendedKeyUsage=clientAuth"])
    (d / "empty_dir").mkdir()
    return {p.name: str(p) for p in d.iterdir()} | {"dir": str(d)}


def store_env(cafile, pki):
    """An environment whose OpenSSL default trust store is only cafile."""
    env = dict(os.environ)
    env["SSL_CERT_FILE"] = cafile
    env["SSL_CERT_DIR"] = pki["empty_dir"]
    return env


# --------------------------------------------------------------------------
# Example servers
# --------------------------------------------------------------------------

class ExServer:
    """An example server on a free port; its output is collected by a
    thread so it can never block on a full pipe."""

    def __init__(self, argv):
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        self.lines = queue.Queue()
        self.out = []
        self.err = []
        self.readers = [
            threading.Thread(target=self._pump,
                             args=(self.proc.stdout, self.out, True)),
            threading.Thread(target=self._pump,
                             args=(self.proc.stderr, self.err, False)),
        ]
        for t in self.readers:
            t.daemon = True
            t.start()
        self.port = self._wait_listening()

    def _pump(self, stream, sink, is_stdout):
        for line in stream:
            sink.append(line)
            if is_stdout:
                self.lines.put(line)
        if is_stdout:
            self.lines.put(None)

    def _wait_listening(self):
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.5)
            except queue.Empty:
                continue
            if line is None:
                break
            m = re.match(r"listening on \S+ port (\d+)", line)
            if m:
                return int(m.group(1))
        self.kill()
        pytest.fail(f"server did not start: {''.join(self.err)}")

    def wait(self, timeout=TIMEOUT):
        """Waits for a clean exit; returns (stdout, stderr)."""
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            pytest.fail(f"server did not exit: {''.join(self.err)}")
        for t in self.readers:
            t.join(timeout=5)
        out, err = "".join(self.out), "".join(self.err)
        check_clean(err, "example server")
        assert rc == 0, f"server exit {rc}:\n{err}"
        return out, err

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=5)


@pytest.fixture
def ex_servers():
    started = []

    def start(name, *args):
        server = ExServer([example(name), *args])
        started.append(server)
        return server

    yield start
    for server in started:
        server.kill()


def py_client(port, pki, message=b"Hello SSL\n", cert=None, tls12=False,
              ciphers=None, cafile=None):
    """A Python ssl client that checks the server like a browser would;
    returns (reply, version, cipher)."""
    ctx = ssl.create_default_context(cafile=cafile or pki["ca.pem"])
    if cert:
        ctx.load_cert_chain(pki[f"{cert}.pem"], pki[f"{cert}.key"])
    if tls12:
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    if ciphers:
        ctx.set_ciphers(ciphers)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost") as s:
            s.sendall(message)
            reply = b""
            while not reply.endswith(b"\n"):
                chunk = s.recv(4096)
                if not chunk:
                    break
                reply += chunk
            return reply, s.version(), s.cipher()[0]


# --------------------------------------------------------------------------
# Python TLS peers for the example clients
# --------------------------------------------------------------------------

class PyEchoServer:
    """Serves count TLS connections in a thread: reads a line, echoes it.
    Records each client's certificate subject and any handshake error."""

    def __init__(self, pki, cert="server", require_client=False, count=1):
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(pki[f"{cert}.pem"], pki[f"{cert}.key"])
        if require_client:
            self.ctx.load_verify_locations(pki["ca.pem"])
            self.ctx.verify_mode = ssl.CERT_REQUIRED
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(TIMEOUT)
        self.port = self.sock.getsockname()[1]
        self.count = count
        self.peers = []
        self.errors = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        try:
            for _ in range(self.count):
                conn, _ = self.sock.accept()
                conn.settimeout(10)
                self._one(conn)
        except OSError as e:
            self.errors.append(str(e))
        finally:
            self.sock.close()

    def _one(self, conn):
        try:
            with self.ctx.wrap_socket(conn, server_side=True) as s:
                cert = s.getpeercert()
                if cert:
                    self.peers.append(dict(x[0] for x in cert["subject"]))
                data = b""
                while not data.endswith(b"\n"):
                    chunk = s.recv(1024)
                    if not chunk:
                        break
                    data += chunk
                s.sendall(data)
                s.unwrap()
        except (OSError, ssl.SSLError) as e:
            self.errors.append(str(e))
        finally:
            conn.close()

    def join(self):
        self.thread.join(timeout=TIMEOUT)
        assert not self.thread.is_alive(), "python server still running"


# --------------------------------------------------------------------------
# echo_server
# --------------------------------------------------------------------------

def test_echo_server_with_openssl_s_client(ex_pki, ex_servers):
    server = ex_servers("echo_server", "127.0.0.1", "0", ex_pki["server.pem"],
                        ex_pki["server.key"], "1")
    proc = subprocess.run(
        ["openssl", "s_client", "-connect", f"127.0.0.1:{server.port}",
         "-servername", "localhost", "-verify_hostname", "localhost",
         "-CAfile", ex_pki["ca.pem"], "-verify_return_error", "-quiet"],
        input="Hello SSL\n", capture_output=True, text=True, timeout=TIMEOUT)
    assert proc.returncode == 0, proc.stderr
    assert "Hello SSL" in proc.stdout
    out, _ = server.wait()
    assert "echoed 10 bytes" in out


def test_echo_server_with_python_client(ex_pki, ex_servers):
    server = ex_servers("echo_server", "localhost", "0", ex_pki["server.pem"],
                        ex_pki["server.key"], "2")
    assert py_client(server.port, ex_pki)[0] == b"Hello SSL\n"
    reply, version, _ = py_client(server.port, ex_pki, message=b"again\n",
                                  tls12=True)
    assert reply == b"again\n" and version == "TLSv1.2"
    server.wait()


def test_echo_server_survives_a_bad_client(ex_pki, ex_servers):
    """A client that does not trust the server aborts; the next one works."""
    server = ex_servers("echo_server", "127.0.0.1", "0", ex_pki["server.pem"],
                        ex_pki["server.key"], "3")
    with pytest.raises(ssl.SSLCertVerificationError):
        py_client(server.port, ex_pki, cafile=ex_pki["other_ca.pem"])
    # Plain TCP that says something which is not TLS.
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
        s.sendall(b"GET / HTTP/1.0\r\n\r\n")
        try:
            s.recv(100)  # an alert, then the close
        except ConnectionResetError:
            pass
    assert py_client(server.port, ex_pki)[0] == b"Hello SSL\n"
    _, err = server.wait()
    assert err.count("echo_server: handshake:") == 2


def test_echo_server_config_errors(ex_pki, tmp_path):
    missing = str(tmp_path / "missing.pem")
    proc = run([example("echo_server"), "127.0.0.1", "0", missing,
                ex_pki["server.key"], "1"])
    assert proc.returncode != 0
    assert missing in proc.stderr
    assert "No such file or directory" in proc.stderr
    # A key that belongs to another certificate.
    proc = run([example("echo_server"), "127.0.0.1", "0",
                ex_pki["server.pem"], ex_pki["client.key"], "1"])
    assert proc.returncode != 0 and proc.stderr.startswith("echo_server: ")


@pytest.mark.parametrize("name", [
    "echo_server", "cipher_server", "client_system_ca", "client_custom_ca",
    "mtls_server", "mtls_client", "nonblocking_server", "cert_info"])
def test_usage(name):
    proc = run([example(name)])
    assert proc.returncode == 2
    assert proc.stderr.startswith(f"usage: {name} ")


def test_bad_count(ex_pki):
    proc = run([example("echo_server"), "127.0.0.1", "0",
                ex_pki["server.pem"], ex_pki["server.key"], "lots"])
    assert proc.returncode == 2 and "COUNT 'lots'" in proc.stderr


# --------------------------------------------------------------------------
# cipher_server
# --------------------------------------------------------------------------

def test_cipher_server(ex_pki, ex_servers):
    server = ex_servers("cipher_server", "127.0.0.1", "0",
                        ex_pki["server.pem"], ex_pki["server.key"], "3")
    listed = json.loads("".join(server.out).split("listening on")[0])
    tls12 = [c for c in listed if c["protocol"] == "TLSv1.2"]
    assert tls12, listed
    for c in tls12:
        assert "GCM" in c["name"] and "DHE" in c["name"], c
        assert c["aead"] is True
        assert c["iana"].startswith("TLS_")
    # TLS 1.3 suites are not governed by the TLS 1.2 list.
    assert any(c["protocol"] == "TLSv1.3" for c in listed)

    _, version, cipher = py_client(server.port, ex_pki, tls12=True)
    assert version == "TLSv1.2"
    assert cipher in {c["name"] for c in tls12}
    # A TLS 1.2 client offering only CBC ciphers is refused.
    with pytest.raises(ssl.SSLError):
        py_client(server.port, ex_pki, tls12=True,
                  ciphers="ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA")
    _, version, cipher13 = py_client(server.port, ex_pki)
    assert version == "TLSv1.3"
    out, err = server.wait()
    assert f"cipher: {cipher} (TLSv1.2," in out
    assert f"cipher: {cipher13} (TLSv1.3," in out
    assert "cipher_server: handshake:" in err


# --------------------------------------------------------------------------
# client_system_ca, client_custom_ca
# --------------------------------------------------------------------------

def check_client_output(out, reply):
    assert re.search(r"^version: TLSv1\.[23]$", out, re.M), out
    assert re.search(r"^cipher: \S+ \(\d+ bits\)$", out, re.M), out
    assert f"reply: {reply}\n" in out


def test_client_system_ca(ex_pki):
    peer = PyEchoServer(ex_pki)
    proc = run([example("client_system_ca"), "localhost", str(peer.port),
                "Hello system store"], env=store_env(ex_pki["ca.pem"], ex_pki))
    peer.join()
    assert proc.returncode == 0, proc.stderr
    check_client_output(proc.stdout, "Hello system store")


def test_client_system_ca_untrusted(ex_pki):
    peer = PyEchoServer(ex_pki)
    proc = run([example("client_system_ca"), "localhost", str(peer.port)],
               env=store_env(ex_pki["other_ca.pem"], ex_pki))
    peer.join()
    assert proc.returncode == 1
    assert proc.stderr.startswith("client_system_ca: handshake: ")
    assert "verif" in proc.stderr
    assert "reply:" not in proc.stdout


def test_client_custom_ca(ex_pki):
    peer = PyEchoServer(ex_pki, count=2)
    for host in ("localhost", "127.0.0.1"):
        proc = run([example("client_custom_ca"), host, str(peer.port),
                    ex_pki["ca.pem"]])
        assert proc.returncode == 0, proc.stderr
        check_client_output(proc.stdout, "Hello TLS")
    peer.join()


def test_client_custom_ca_wrong_ca_and_name(ex_pki):
    peer = PyEchoServer(ex_pki)
    proc = run([example("client_custom_ca"), "localhost", str(peer.port),
                ex_pki["other_ca.pem"]])
    peer.join()
    assert proc.returncode == 1 and "handshake:" in proc.stderr

    peer = PyEchoServer(ex_pki, cert="wrong_name")
    proc = run([example("client_custom_ca"), "localhost", str(peer.port),
                ex_pki["ca.pem"]])
    peer.join()
    assert proc.returncode == 1
    assert "wrong.test" in proc.stderr and "localhost" in proc.stderr


def test_client_custom_ca_missing_file(ex_pki, tmp_path):
    missing = str(tmp_path / "nope.pem")
    proc = run([example("client_custom_ca"), "localhost", "1", missing])
    assert proc.returncode == 1
    assert missing in proc.stderr and "No such file" in proc.stderr


def test_client_connection_refused(ex_pki):
    proc = run([example("client_custom_ca"), "127.0.0.1", str(free_port()),
                ex_pki["ca.pem"]])
    assert proc.returncode == 1
    assert proc.stderr.startswith("client_custom_ca: connecting: ")


def wait_for_line(proc, text):
    """Reads proc's stdout in a thread until a line starts with text."""
    found = threading.Event()

    def pump():
        for line in proc.stdout:
            if line.startswith(text):
                found.set()

    threading.Thread(target=pump, daemon=True).start()
    assert found.wait(TIMEOUT), f"no '{text}' line from {proc.args[0]}"


def test_client_custom_ca_with_openssl_s_server(ex_pki):
    """openssl s_server -rev answers each line reversed."""
    port = free_port()
    server = subprocess.Popen(
        ["openssl", "s_server", "-accept", f"127.0.0.1:{port}", "-naccept",
         "1", "-cert", ex_pki["server.pem"], "-key", ex_pki["server.key"],
         "-rev"], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True)
    try:
        wait_for_line(server, "ACCEPT")
        proc = run([example("client_custom_ca"), "localhost", str(port),
                    ex_pki["ca.pem"], "Hello TLS"])
        assert proc.returncode == 0, proc.stderr
        check_client_output(proc.stdout, "SLT olleH")
    finally:
        server.kill()
        server.wait(timeout=5)


# --------------------------------------------------------------------------
# mtls_server, mtls_client
# --------------------------------------------------------------------------

def test_mtls_server(ex_pki, ex_servers):
    server = ex_servers("mtls_server", "127.0.0.1", "0", ex_pki["server.pem"],
                        ex_pki["server.key"], ex_pki["ca.pem"], "3")
    assert py_client(server.port, ex_pki, cert="client")[0] == b"Hello SSL\n"
    # No certificate, then one from another CA: both refused. With TLS 1.3
    # the client learns it on its first read.
    for cert in (None, "stranger"):
        with pytest.raises((ssl.SSLError, ConnectionError)):
            reply = py_client(server.port, ex_pki, cert=cert)[0]
            assert reply == b"", "server answered a client it must refuse"
            raise ConnectionError("closed")
    out, err = server.wait()
    assert "client: CN=alice\n" in out
    assert "mallory" not in out
    assert err.count("mtls_server: handshake:") == 2


def test_mtls_client_with_python_server(ex_pki):
    peer = PyEchoServer(ex_pki, require_client=True)
    proc = run([example("mtls_client"), "localhost", str(peer.port),
                ex_pki["client.pem"], ex_pki["client.key"], ex_pki["ca.pem"],
                "Hello mTLS"])
    peer.join()
    assert proc.returncode == 0, proc.stderr
    check_client_output(proc.stdout, "Hello mTLS")
    assert peer.peers == [{"commonName": "alice"}]


def test_mtls_client_and_server_together(ex_pki, ex_servers):
    server = ex_servers("mtls_server", "127.0.0.1", "0", ex_pki["server.pem"],
                        ex_pki["server.key"], ex_pki["ca.pem"], "1")
    proc = run([example("mtls_client"), "localhost", str(server.port),
                ex_pki["client.pem"], ex_pki["client.key"], ex_pki["ca.pem"]])
    assert proc.returncode == 0, proc.stderr
    check_client_output(proc.stdout, "Hello TLS")
    out, _ = server.wait()
    assert "client: CN=alice" in out


# --------------------------------------------------------------------------
# nonblocking_server
# --------------------------------------------------------------------------

def chatty_client(port, pki, rounds, size, results):
    """Several messages on one connection, one of them large enough that
    the server's writes would block."""
    ctx = ssl.create_default_context(cafile=pki["ca.pem"])
    with socket.create_connection(("127.0.0.1", port), timeout=15) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost") as s:
            for i in range(rounds):
                msg = (b"%d:" % i) + os.urandom(size // 2).hex().encode()
                s.sendall(msg)
                got = b""
                while len(got) < len(msg):
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    got += chunk
                results.append(got == msg)


def test_nonblocking_server_concurrent_clients(ex_pki, ex_servers):
    server = ex_servers("nonblocking_server", "127.0.0.1", "0",
                        ex_pki["server.pem"], ex_pki["server.key"], "6")
    results = []
    threads = [threading.Thread(target=chatty_client,
                                args=(server.port, ex_pki, 5, size, results))
               for size in (10, 100, 1000, 10000, 300000)]
    for t in threads:
        t.start()
    # A client that connects and never speaks must not hold the others up.
    idle = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    for t in threads:
        t.join(timeout=TIMEOUT)
    idle.close()
    assert results == [True] * 25
    out, _ = server.wait()
    assert "served 6 connections" in out
    assert out.count("bytes echoed") == 5


def test_nonblocking_server_stops_on_sigterm(ex_pki, ex_servers):
    server = ex_servers("nonblocking_server", "127.0.0.1", "0",
                        ex_pki["server.pem"], ex_pki["server.key"])
    assert py_client(server.port, ex_pki)[0] == b"Hello SSL\n"
    server.proc.send_signal(signal.SIGTERM)
    out, _ = server.wait()
    assert "served 1 connections" in out


# --------------------------------------------------------------------------
# cert_info
# --------------------------------------------------------------------------

def test_cert_info(ex_pki, ex_servers):
    server = ex_servers("echo_server", "127.0.0.1", "0", ex_pki["server.pem"],
                        ex_pki["server.key"], "1")
    proc = run([example("cert_info"), "localhost", str(server.port),
                ex_pki["ca.pem"]])
    assert proc.returncode == 0, proc.stderr
    server.wait()
    fields = {}
    for line in proc.stdout.splitlines():
        key, _, value = line.partition(":")
        fields.setdefault(key, []).append(value.strip())

    d = ex_pki["dir"]
    pem = ex_pki["server.pem"]
    assert fields["subject"] == ["CN=localhost"]
    assert fields["issuer"] == ["CN=Example Test CA"]
    assert fields["san"] == ["DNS:localhost", "IP:127.0.0.1"]
    serial = openssl("x509", "-in", pem, "-noout", "-serial", cwd=d)
    assert fields["serial"][0] == serial.split("=")[1].strip().lower()
    fp = openssl("x509", "-in", pem, "-noout", "-fingerprint", "-sha256",
                 cwd=d)
    assert fields["sha256"][0] == fp.split("=")[1].strip().replace(":", "").lower()
    der = subprocess.run(["openssl", "x509", "-in", pem, "-outform", "DER"],
                         capture_output=True, timeout=TIMEOUT).stdout
    assert fields["DER size"] == [f"{len(der)} bytes"]
    dates = openssl("x509", "-in", pem, "-noout", "-startdate", "-enddate",
                    cwd=d)
    for key, label in (("notBefore", "not before"), ("notAfter", "not after")):
        text = re.search(key + r"=(.*)", dates).group(1)
        expected = time.strftime(
            "%Y-%m-%d %H:%M:%S UTC",
            time.gmtime(ssl.cert_time_to_seconds(text)))
        assert fields[label] == [expected]


def test_cert_info_untrusted(ex_pki, ex_servers):
    server = ex_servers("echo_server", "127.0.0.1", "0", ex_pki["server.pem"],
                        ex_pki["server.key"], "1")
    proc = run([example("cert_info"), "localhost", str(server.port)],
               env=store_env(ex_pki["other_ca.pem"], ex_pki))
    assert proc.returncode == 1
    assert proc.stderr.startswith("cert_info: handshake: ")
    assert "subject:" not in proc.stdout
    server.wait()


# --------------------------------------------------------------------------
# security_settings
# --------------------------------------------------------------------------

def test_security_settings_prints(ex_pki):
    proc = run([example("security_settings")])
    assert proc.returncode == 0, proc.stderr
    assert "min version: TLSv1.2\n" in proc.stdout
    m = re.search(r"^ciphers: (\d+) \(TLSv1\.2: (\d+), TLSv1\.3: (\d+)\)$",
                  proc.stdout, re.M)
    assert m, proc.stdout
    total, tls12, tls13 = map(int, m.groups())
    assert total == tls12 + tls13 and tls12 > 0 and tls13 > 0
    proc = run([example("security_settings"), "127.0.0.1"])
    assert proc.returncode == 2
    assert proc.stderr.startswith("usage: security_settings ")


def test_security_settings_serves_only_modern_clients(ex_pki, ex_servers):
    server = ex_servers("security_settings", "127.0.0.1", "0",
                        ex_pki["server.pem"], ex_pki["server.key"], "3")
    # TLS 1.1, enabled on the client side on purpose (security level 0).
    proc = subprocess.run(
        ["openssl", "s_client", "-connect", f"127.0.0.1:{server.port}",
         "-tls1_1", "-cipher", "DEFAULT:@SECLEVEL=0", "-CAfile",
         ex_pki["ca.pem"]], input="", capture_output=True, text=True,
        timeout=TIMEOUT)
    assert proc.returncode != 0
    with pytest.raises(ssl.SSLError):
        py_client(server.port, ex_pki, tls12=True,
                  ciphers="ECDHE-ECDSA-AES128-SHA256:ECDHE-ECDSA-AES128-SHA")
    reply, version, cipher = py_client(server.port, ex_pki, tls12=True)
    assert reply == b"Hello SSL\n" and "GCM" in cipher
    out, err = server.wait()
    assert f"client negotiated TLSv1.2 with {cipher}" in out
    assert err.count("security_settings: handshake:") == 2


# --------------------------------------------------------------------------
# pinning_client: pinning written with the verification hook
# --------------------------------------------------------------------------

def spki_pin(cert):
    pub = subprocess.run(["openssl", "x509", "-in", cert, "-pubkey",
                          "-noout"], capture_output=True, check=True).stdout
    der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "der"],
                         input=pub, capture_output=True, check=True).stdout
    return "sha256//" + base64.b64encode(hashlib.sha256(der).digest()).decode()


def test_pinning_client(ex_pki):
    peer = PyEchoServer(ex_pki)
    proc = run([example("pinning_client"), "localhost", str(peer.port),
                spki_pin(ex_pki["server.pem"]), ex_pki["ca.pem"], "pinned"])
    peer.join()
    assert proc.returncode == 0, proc.stderr
    check_client_output(proc.stdout, "pinned")


def test_pinning_client_mismatch(ex_pki):
    peer = PyEchoServer(ex_pki)
    wrong = spki_pin(ex_pki["client.pem"])
    proc = run([example("pinning_client"), "localhost", str(peer.port),
                wrong, ex_pki["ca.pem"]])
    peer.join()
    assert proc.returncode == 1
    assert ("pinning_client: handshake: verification hook rejected the "
            "certificate: pin mismatch: the server's key is "
            f"{spki_pin(ex_pki['server.pem'])}, expected {wrong}"
            in proc.stderr), proc.stderr
    assert "reply:" not in proc.stdout


def test_pinning_client_keeps_ca_validation(ex_pki):
    # The right pin does not make an untrusted chain acceptable.
    peer = PyEchoServer(ex_pki)
    proc = run([example("pinning_client"), "localhost", str(peer.port),
                spki_pin(ex_pki["server.pem"]), ex_pki["other_ca.pem"]])
    peer.join()
    assert proc.returncode == 1
    assert "certificate verify failed" in proc.stderr, proc.stderr


def test_pinning_client_usage():
    proc = run([example("pinning_client")])
    assert proc.returncode == 2
    assert proc.stderr.startswith("usage: pinning_client ")
    proc = run([example("pinning_client"), "localhost", "1", "md5//x", "ca"])
    assert proc.returncode == 2 and "sha256//BASE64" in proc.stderr
