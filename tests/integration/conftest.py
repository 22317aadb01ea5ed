"""Fixtures for the integration tests: the real tlskit binary on loopback
against independent peers.

- Binaries come from $TLSKIT_BUILD (default <repo>/build); a relative
  path is taken from the repository root.
- `pki` is a session-wide PKI made with the openssl command (never with
  tlskit itself): two unrelated CAs and leaves signed by them, good and bad.
- `start_echo` starts `tlskit echo` on a free port and stops it with
  SIGTERM at teardown, asserting a clean exit.
- `procs` starts any other peer; every process started here is killed by
  PID at teardown, whatever the test did.
- Every tlskit stderr is checked for sanitizer reports (the build-asan
  run relies on it), and every run has a timeout: a hang is a failure.
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
PEERS = HERE / "peers"
PYTHON = "/usr/bin/python3"
TIMEOUT = 30  # seconds: any single command; a hang is a failure, not a wait

SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "runtime error:",
                     "LeakSanitizer", "ERROR: UndefinedBehaviorSanitizer")


def _build_dir():
    value = os.environ.get("TLSKIT_BUILD")
    if not value:
        return REPO / "build"
    path = Path(value)
    return path if path.is_absolute() else REPO / path


BUILD = _build_dir()
TLSKIT = BUILD / "tlskit"

# The tutorial-style peers double as modules (in-process clients).
if str(PEERS) not in sys.path:
    sys.path.insert(0, str(PEERS))


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config):
    """A private temporary root per run (unless --basetemp is given):
    others run pytest on this machine at the same time, and the shared
    /tmp/pytest-of-USER rotation is not ours to race with."""
    if config.option.basetemp is None:
        config.option.basetemp = tempfile.mkdtemp(prefix="tlskit-it-")
        config._tlskit_basetemp = config.option.basetemp


def pytest_unconfigure(config):
    path = getattr(config, "_tlskit_basetemp", None)
    if path and not os.environ.get("TLSKIT_KEEP_TMP"):
        shutil.rmtree(path, ignore_errors=True)


def assert_no_sanitizer_report(text, what):
    for marker in SANITIZER_MARKERS:
        assert marker not in text, f"{what}: sanitizer report:\n{text}"


def hostport(host, port):
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def split_hostport(text):
    host, _, port = text.rpartition(":")
    return host.strip("[]"), int(port)


def free_port(host="127.0.0.1"):
    """A port nobody listens on right now (bind to 0, read, close)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


# --------------------------------------------------------------------------
# Processes
# --------------------------------------------------------------------------

class Proc:
    """A started process; threads collect its stdout and stderr by line,
    so a test can wait for a line (with a timeout) instead of sleeping."""

    def __init__(self, name, argv, env=None, stdin=subprocess.DEVNULL,
                 cwd=None):
        self.name = name
        self.argv = [str(a) for a in argv]
        self.p = subprocess.Popen(self.argv, stdin=stdin,
                                  stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, env=env, cwd=cwd)
        self.pid = self.p.pid
        self.lines = {"stdout": [], "stderr": []}
        self.raw = {"stdout": bytearray(), "stderr": bytearray()}
        self.eof = {"stdout": False, "stderr": False}
        self.cond = threading.Condition()
        self.threads = [
            threading.Thread(target=self._pump, args=(stream, key),
                             daemon=True)
            for stream, key in ((self.p.stdout, "stdout"),
                                (self.p.stderr, "stderr"))]
        for t in self.threads:
            t.start()

    def _pump(self, stream, key):
        for raw in iter(stream.readline, b""):
            with self.cond:
                self.raw[key] += raw
                self.lines[key].append(raw.decode(errors="replace"))
                self.cond.notify_all()
        with self.cond:
            self.eof[key] = True
            self.cond.notify_all()

    def text(self, key="stderr"):
        with self.cond:
            return "".join(self.lines[key])

    def data(self, key="stdout"):
        with self.cond:
            return bytes(self.raw[key])

    def line_count(self, key="stderr"):
        with self.cond:
            return len(self.lines[key])

    def wait_for(self, pattern, key="stderr", timeout=15, start=0):
        """The first match of pattern in a line (from line `start` on)."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        i = start
        with self.cond:
            while True:
                while i < len(self.lines[key]):
                    m = rx.search(self.lines[key][i])
                    if m:
                        return m
                    i += 1
                if self.eof[key]:
                    raise AssertionError(
                        f"{self.name} closed its {key} without a line "
                        f"matching {pattern!r}; it printed:\n"
                        f"{''.join(self.lines['stdout'])}"
                        f"{''.join(self.lines['stderr'])}")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"{self.name}: no line matching {pattern!r} on "
                        f"{key} within {timeout} s; it printed:\n"
                        f"{''.join(self.lines[key])}")
                self.cond.wait(left)

    def wait_data(self, needle, key="stdout", timeout=15):
        """Waits until the raw output contains needle (bytes)."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while needle not in self.raw[key]:
                left = deadline - time.monotonic()
                if self.eof[key] or left <= 0:
                    return False
                self.cond.wait(left)
            return True

    def write(self, data):
        self.p.stdin.write(data)
        self.p.stdin.flush()

    def close_stdin(self):
        # A peer that already exited makes the final flush fail: nothing is
        # lost that the test could still read.
        if self.p.stdin and not self.p.stdin.closed:
            try:
                self.p.stdin.close()
            except BrokenPipeError:
                pass

    def running(self):
        return self.p.poll() is None

    def wait(self, timeout=TIMEOUT):
        """Exit status; a process still running after timeout is killed
        and the test fails (a hang is a bug)."""
        try:
            rc = self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(
                f"{self.name} still running after {timeout} s; stderr:\n"
                f"{self.text('stderr')}")
        self._join()
        return rc

    def stop(self, sig=signal.SIGTERM, timeout=15):
        if self.running():
            os.kill(self.pid, sig)
        return self.wait(timeout)

    def kill(self):
        if self.p.poll() is None:
            os.kill(self.pid, signal.SIGKILL)
            self.p.wait(10)
        self.close_stdin()
        self._join()

    def _join(self):
        for t in self.threads:
            t.join(5)


@pytest.fixture
def procs():
    """start(name, argv, env=None, stdin=DEVNULL) -> Proc; each process is
    killed by PID at teardown if still running."""
    started = []

    def start(name, argv, env=None, stdin=subprocess.DEVNULL, cwd=None):
        proc = Proc(name, argv, env=env, stdin=stdin, cwd=cwd)
        started.append(proc)
        return proc

    try:
        yield start
    finally:
        for proc in started:
            proc.kill()


def start_listener(start, name, make_argv, ready, host="127.0.0.1",
                   key="stdout", env=None, stdin=subprocess.DEVNULL,
                   attempts=3):
    """Starts a server peer on a free port; waits for its ready line.
    Retries on another port if someone took the one picked meanwhile."""
    for attempt in range(attempts):
        port = free_port(host)
        proc = start(name, make_argv(port), env=env, stdin=stdin)
        try:
            proc.wait_for(ready, key=key, timeout=15)
            return proc, port
        except AssertionError:
            proc.kill()
            said = proc.text("stdout") + proc.text("stderr")
            if "in use" in said.lower() and attempt + 1 < attempts:
                continue
            raise
    raise AssertionError("unreachable")


@pytest.fixture
def py_server(procs):
    """py_server(script, *args, host='127.0.0.1') -> (Proc, port): one of
    the tutorial-style Python servers in peers/."""

    def start(script, *args, host="127.0.0.1"):
        def argv(port):
            return [PYTHON, PEERS / script, "--host", host,
                    "--port", port, *args]
        return start_listener(procs, script, argv, r"^listening on ",
                              host=host)

    return start


def run_py_client(script, *args, env=None, timeout=TIMEOUT):
    """Runs a tutorial-style Python client from peers/; returns
    (returncode, report dict or None, stderr)."""
    r = subprocess.run([PYTHON, str(PEERS / script), *map(str, args)],
                       capture_output=True, env=env, timeout=timeout)
    report = None
    for line in r.stdout.decode(errors="replace").splitlines():
        if line.startswith("{"):
            report = json.loads(line)
    return r.returncode, report, r.stderr.decode(errors="replace")


def json_events(proc, event=None):
    """The JSON lines a Python peer printed on stdout."""
    out = []
    for line in proc.text("stdout").splitlines():
        if line.startswith("{"):
            obj = json.loads(line)
            if event is None or obj.get("event") == event:
                out.append(obj)
    return out


# --------------------------------------------------------------------------
# tlskit
# --------------------------------------------------------------------------

@pytest.fixture(scope="session")
def tlskit_bin():
    if not os.access(TLSKIT, os.X_OK):
        pytest.fail(f"{TLSKIT} is not built (set TLSKIT_BUILD or run make)")
    return TLSKIT


@pytest.fixture
def tlskit_home(tmp_path):
    home = tmp_path / "tlskit-home"
    home.mkdir()
    return home


@pytest.fixture
def tlskit_env(tlskit_home, tmp_path):
    """Environment for tlskit processes: its state directory in a temporary
    directory, sanitizer options that make any report fail the run."""
    env = dict(os.environ)
    env["TLSKIT_HOME"] = str(tlskit_home)
    env["XDG_STATE_HOME"] = str(tmp_path / "xdg-state")
    env.setdefault("ASAN_OPTIONS", "detect_leaks=1:exitcode=99")
    env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
    env.pop("SSLKEYLOGFILE", None)
    return env


class Result:
    """A finished tlskit run: rc, out/err (text), stdout (bytes), elapsed."""

    def __init__(self, argv, cp, elapsed):
        self.argv = argv
        self.rc = cp.returncode
        self.stdout = cp.stdout
        self.out = cp.stdout.decode(errors="replace")
        self.err = cp.stderr.decode(errors="replace")
        self.elapsed = elapsed

    def __repr__(self):
        return (f"<{' '.join(self.argv)}: exit {self.rc}, "
                f"{self.elapsed:.1f} s\nstderr: {self.err}"
                f"stdout: {self.out[:2000]}>")


class Tlskit:
    def __init__(self, env):
        self.env = env

    def run(self, *args, input=b"", env=None, timeout=TIMEOUT):
        argv = [str(TLSKIT), *map(str, args)]
        t0 = time.monotonic()
        try:
            cp = subprocess.run(argv, input=input, capture_output=True,
                                env=env or self.env, timeout=timeout)
        except subprocess.TimeoutExpired as e:
            raise AssertionError(
                f"{' '.join(argv)} hung (killed after {timeout} s); "
                f"stderr:\n{(e.stderr or b'').decode(errors='replace')}")
        res = Result(argv, cp, time.monotonic() - t0)
        assert_no_sanitizer_report(res.err, " ".join(argv))
        assert res.rc >= 0, f"killed by signal {-res.rc}: {res!r}"
        assert res.rc not in (124, 137), res
        return res

    def connect(self, target, *args, input=b"", env=None, timeout=TIMEOUT):
        return self.run("connect", target, *args, input=input, env=env,
                        timeout=timeout)


@pytest.fixture
def tlskit(tlskit_bin, tlskit_env):
    return Tlskit(tlskit_env)


class EchoServer:
    """A running `tlskit echo`; its stderr is the connection log."""

    def __init__(self, proc, host, port, ready_line):
        self.proc = proc
        self.host = host
        self.port = port
        self.ready_line = ready_line
        self.stopped = False  # by the test: its stop() checked the exit

    @property
    def addr(self):
        return hostport(self.host, self.port)

    def log(self):
        return self.proc.text("stderr")

    def wait_log(self, pattern, timeout=15):
        """The first log line after the listening line matching pattern."""
        m = self.proc.wait_for(pattern, "stderr", timeout,
                               start=self.ready_line + 1)
        return m.string.rstrip("\n")

    def conn_line(self, client_port, timeout=15):
        """The log line of the connection from local port client_port."""
        return self.wait_log(rf"[:\]]{client_port}(?!\d)", timeout)

    def stop(self, sig=signal.SIGTERM):
        self.stopped = True
        rc = self.proc.stop(sig)
        log = self.log()
        assert_no_sanitizer_report(log, "tlskit echo")
        assert rc == 0, f"tlskit echo exited {rc} on {sig!r}; log:\n{log}"
        return log


@pytest.fixture
def start_echo(tlskit_bin, tlskit_env, procs):
    """start_echo(*args, listen='127.0.0.1:0', env=None) -> EchoServer,
    once it printed 'tlskit: echo: listening on HOST:PORT'. Stopped with
    SIGTERM at teardown: it must exit 0 without sanitizer reports."""
    servers = []

    def start(*args, listen="127.0.0.1:0", env=None):
        argv = [TLSKIT, "echo", "--listen", listen, *args]
        proc = procs("tlskit echo", argv, env=env or tlskit_env)
        m = proc.wait_for(r"tlskit: echo: listening on (\S+)", "stderr",
                          timeout=15)
        host, port = split_hostport(m.group(1))
        ready = next(i for i, line in enumerate(proc.lines["stderr"])
                     if m.group(0) in line)
        server = EchoServer(proc, host, port, ready)
        servers.append(server)
        return server

    yield start
    for server in servers:
        if server.stopped:
            continue
        if server.proc.running():
            server.stop()
        else:
            assert_no_sanitizer_report(server.log(), "tlskit echo")
            raise AssertionError(f"tlskit echo died during the test "
                                 f"(exit {server.proc.p.returncode}); "
                                 f"log:\n{server.log()}")


# --------------------------------------------------------------------------
# PKI, made with the openssl command
# --------------------------------------------------------------------------

CA_CNF = """\
[ca]
default_ca = CA_default
[CA_default]
dir = {dir}
database = {dir}/index.txt
new_certs_dir = {dir}/newcerts
serial = {dir}/serial
default_md = sha256
policy = policy_any
unique_subject = no
copy_extensions = none
preserve = yes
email_in_dn = no
[policy_any]
commonName = supplied
"""

SERVER_EXT = """\
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = {sans}
"""

CLIENT_EXT = """\
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = clientAuth
"""


def openssl(*args, cwd=None):
    r = subprocess.run(["openssl", *map(str, args)], cwd=cwd,
                       capture_output=True, timeout=60)
    if r.returncode != 0:
        raise RuntimeError(f"openssl {' '.join(map(str, args))}: "
                           f"{r.stderr.decode(errors='replace')}")
    return r.stdout.decode()


class PKI:
    """Certificates and keys for the tests (all PEM files in one dir).

    ca / ca_key           EC P-256 root "tlskit test root CA"
    server / server_key   CN=localhost, DNS:localhost IP:127.0.0.1 IP:::1
    rsa_server / _key     the same names, RSA-2048 key
    client / client_key   CN=alice, clientAuth, signed by ca
    other_ca              an unrelated root "tlskit other CA"
    other_client / _key   CN=mallory, clientAuth, signed by other_ca
    other_server / _key   CN=localhost (same SANs), signed by other_ca
    expired / _key        localhost, valid 2020-01-01 .. 2021-01-01
    notyet / _key         localhost, valid 2099-01-01 .. 2100-01-01
    wronghost / _key      CN and SAN other.example, signed by ca
    mismatch_key          a key belonging to no certificate
    garbage               a file that is not PEM at all
    """

    CA_NAME = "tlskit test root CA"
    OTHER_CA_NAME = "tlskit other CA"
    SANS = "DNS:localhost,IP:127.0.0.1,IP:::1"

    def __init__(self, root):
        self.dir = Path(root)
        self.ca, self.ca_key = self._root("ca", self.CA_NAME)
        self.other_ca, self.other_ca_key = self._root("other_ca",
                                                      self.OTHER_CA_NAME)
        server_ext = SERVER_EXT.format(sans=self.SANS)
        self.server, self.server_key = self._leaf(
            "ca", "server", "localhost", server_ext)
        self.rsa_server, self.rsa_server_key = self._leaf(
            "ca", "rsa_server", "localhost", server_ext, key="rsa")
        self.client, self.client_key = self._leaf(
            "ca", "client", "alice", CLIENT_EXT)
        self.other_client, self.other_client_key = self._leaf(
            "other_ca", "other_client", "mallory", CLIENT_EXT)
        self.other_server, self.other_server_key = self._leaf(
            "other_ca", "other_server", "localhost", server_ext)
        self.expired, self.expired_key = self._leaf(
            "ca", "expired", "localhost", server_ext,
            dates=("20200101000000Z", "20210101000000Z"))
        self.notyet, self.notyet_key = self._leaf(
            "ca", "notyet", "localhost", server_ext,
            dates=("20990101000000Z", "21000101000000Z"))
        self.wronghost, self.wronghost_key = self._leaf(
            "ca", "wronghost", "other.example",
            SERVER_EXT.format(sans="DNS:other.example"))
        self.mismatch_key = self._key("mismatch")
        self.garbage = self.dir / "garbage.pem"
        self.garbage.write_text("this is not a certificate\n")

    def _key(self, name, key="ec"):
        path = self.dir / f"{name}.key"
        if key == "ec":
            openssl("genpkey", "-algorithm", "EC", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-out", path)
        else:
            openssl("genpkey", "-algorithm", "RSA", "-pkeyopt",
                    "rsa_keygen_bits:2048", "-out", path)
        return path

    def _root(self, name, cn):
        key = self._key(name)
        cert = self.dir / f"{name}.pem"
        openssl("req", "-x509", "-new", "-key", key, "-out", cert,
                "-days", "3650", "-subj", f"/CN={cn}",
                "-addext", "basicConstraints=critical,CA:TRUE",
                "-addext", "keyUsage=critical,keyCertSign,cRLSign")
        db = self.dir / f"{name}.db"
        (db / "newcerts").mkdir(parents=True)
        (db / "index.txt").write_text("")
        (db / "serial").write_text("1000\n")
        (db / "ca.cnf").write_text(CA_CNF.format(dir=db))
        return cert, key

    def _leaf(self, ca, name, cn, ext, key="ec", dates=None):
        key_path = self._key(name, key)
        csr = self.dir / f"{name}.csr"
        openssl("req", "-new", "-key", key_path, "-out", csr,
                "-subj", f"/CN={cn}")
        ext_file = self.dir / f"{name}.ext"
        ext_file.write_text("[v3]\n" + ext)
        cert = self.dir / f"{name}.pem"
        validity = (["-startdate", dates[0], "-enddate", dates[1]]
                    if dates else ["-days", "825"])
        db = self.dir / f"{ca}.db"
        openssl("ca", "-batch", "-notext", "-config", db / "ca.cnf",
                "-cert", self.dir / f"{ca}.pem",
                "-keyfile", self.dir / f"{ca}.key",
                *validity, "-in", csr, "-out", cert,
                "-extfile", ext_file, "-extensions", "v3")
        return cert, key_path

    @staticmethod
    def not_after(cert):
        """notAfter as 'Jan  1 00:00:00 2021 GMT'."""
        return openssl("x509", "-in", cert, "-noout",
                       "-enddate").strip().split("=", 1)[1]

    def server_args(self):
        """tlskit echo arguments for the localhost server certificate."""
        return ["--cert", self.server, "--key", self.server_key]


@pytest.fixture(scope="session")
def pki(tmp_path_factory):
    return PKI(tmp_path_factory.mktemp("pki"))


def converse(start, name, argv, data, expect=None, env=None, timeout=15):
    """Runs an interactive client (openssl s_client, gnutls-cli): writes
    data to its stdin, waits until `expect` (default: data) shows on its
    stdout, then closes stdin and waits for it to exit. Returns
    (proc, exit status, whether expect was seen)."""
    proc = start(name, argv, env=env, stdin=subprocess.PIPE)
    try:
        proc.write(data)
    except BrokenPipeError:
        pass
    seen = proc.wait_data(expect if expect is not None else data,
                          timeout=timeout)
    proc.close_stdin()
    return proc, proc.wait(), seen
