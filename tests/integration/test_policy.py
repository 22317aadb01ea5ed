"""Security policy (issue 5): client allow rules on `tlskit echo`, pins on
`tlskit connect`, profiles, renegotiation, key logging; against Python ssl
clients, openssl s_client and openssl s_server."""
import base64
import signal
import hashlib
import os
import re
import shutil
import socket
import ssl
import stat
import subprocess
import time

import pytest

from conftest import CLIENT_EXT, converse, openssl, start_listener


# --------------------------------------------------------------------------
# certificates the shared PKI lacks: SANs, OU, a self-signed server
# --------------------------------------------------------------------------

class Clients:
    """Client certificates signed by pki.ca:
    alice    CN=alice (pki.client), no SAN
    mallory  CN=mallory, URI:spiffe://x/y
    svc      OU=ops, CN=svc, DNS:svc.test, URI:spiffe://x/svc
    cnonly   CN=svc.test, DNS:other.test (CN says svc.test, SAN does not)
    """

    def __init__(self, pki, root):
        self.pki = pki
        self.dir = root
        self.alice = (pki.client, pki.client_key)
        self.mallory = self._leaf("mallory", "/CN=mallory",
                                  "URI:spiffe://x/y")
        self.svc = self._leaf("svc", "/OU=ops/CN=svc",
                              "DNS:svc.test,URI:spiffe://x/svc")
        self.cnonly = self._leaf("cnonly", "/CN=svc.test", "DNS:other.test")

    def _leaf(self, name, subject, sans):
        key = self.dir / f"{name}.key"
        csr = self.dir / f"{name}.csr"
        cert = self.dir / f"{name}.pem"
        ext = self.dir / f"{name}.ext"
        openssl("genpkey", "-algorithm", "EC", "-pkeyopt",
                "ec_paramgen_curve:P-256", "-out", key)
        openssl("req", "-new", "-key", key, "-out", csr, "-subj", subject)
        ext.write_text(f"[v3]\n{CLIENT_EXT}subjectAltName = {sans}\n")
        openssl("x509", "-req", "-in", csr, "-CA", self.pki.ca,
                "-CAkey", self.pki.ca_key, "-CAcreateserial", "-days", "30",
                "-out", cert, "-extfile", ext, "-extensions", "v3")
        return cert, key


@pytest.fixture(scope="module")
def clients(pki, tmp_path_factory):
    return Clients(pki, tmp_path_factory.mktemp("policy-clients"))


def fingerprint(cert):
    der = ssl.PEM_cert_to_DER_cert(open(cert).read())
    return "sha256:" + hashlib.sha256(der).hexdigest()


def spki_pin(cert):
    pub = subprocess.run(["openssl", "x509", "-in", str(cert), "-pubkey",
                          "-noout"], capture_output=True, check=True).stdout
    der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "der"],
                         input=pub, capture_output=True, check=True).stdout
    return "sha256//" + base64.b64encode(hashlib.sha256(der).digest()).decode()


def py_client(pki, port, cert=None, maximum=None, data=b"ping\n"):
    """A Python ssl client: connects, sends data and reads the echo.
    Returns ('echo', bytes) or ('error', text)."""
    ctx = ssl.create_default_context(cafile=str(pki.ca))
    if cert:
        ctx.load_cert_chain(str(cert[0]), str(cert[1]))
    if maximum:
        ctx.maximum_version = maximum
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            with ctx.wrap_socket(s, server_hostname="localhost") as t:
                t.sendall(data)
                got = b""
                while len(got) < max(len(data), 1):
                    chunk = t.recv(1024)
                    if not chunk:
                        break
                    got += chunk
                return ("echo", got)
    except (ssl.SSLError, OSError) as e:
        return ("error", str(e))


# --------------------------------------------------------------------------
# allow rules
# --------------------------------------------------------------------------

RULES = [
    # (option, value or a callable of clients, admitted, refused,
    #  what the refused certificate holds in the log)
    ("--allow-cn", "alice", "alice", "mallory",
     "CN=mallory, DNS:none, URI:spiffe://x/y"),
    ("--allow-san-dns", "svc.test", "svc", "cnonly",
     "CN=svc.test, DNS:other.test, URI:none"),
    ("--allow-san-uri", "spiffe://x/svc", "svc", "mallory",
     "CN=mallory, DNS:none, URI:spiffe://x/y"),
    ("--allow-ou", "ops", "svc", "alice",
     "CN=alice, OU=none, DNS:none, URI:none"),
    ("--allow-fingerprint", lambda c: fingerprint(c.svc[0]), "svc", "alice",
     "CN=alice, DNS:none, URI:none, sha256:"),
]


@pytest.mark.parametrize("option,value,good,bad,holds", RULES,
                         ids=[r[0] for r in RULES])
def test_allow_rule(start_echo, pki, clients, option, value, good, bad,
                    holds):
    value = value(clients) if callable(value) else value
    echo = start_echo(*pki.server_args(), "--ca", pki.ca, option, value)
    kind, got = py_client(pki, echo.port, getattr(clients, good))
    assert (kind, got) == ("echo", b"ping\n")
    # Sending nothing, the client reads the alert (data it sent would be
    # unread when the server closes, and the RST could overtake the alert).
    kind, got = py_client(pki, echo.port, getattr(clients, bad), data=b"")
    assert kind == "error", got
    assert "BAD_CERTIFICATE" in got.upper().replace(" ", "_"), got
    line = echo.wait_log(r"handshake failed: client certificate not "
                         r"authorized")
    assert holds in line, line
    assert f"match none of {option} {value}" in line, line
    # Sending at once: nothing comes back.
    kind, got = py_client(pki, echo.port, getattr(clients, bad),
                          data=b"secret\n")
    assert kind == "error", got


def test_allow_refused_with_openssl_s_client(procs, start_echo, pki,
                                             clients):
    echo = start_echo(*pki.server_args(), "--ca", pki.ca,
                      "--allow-cn", "alice",
                      "--allow-san-uri", "spiffe://x/z")
    cert, key = clients.mallory
    argv = ["openssl", "s_client", "-connect", f"127.0.0.1:{echo.port}",
            "-CAfile", pki.ca, "-cert", cert, "-key", key, "-quiet"]
    proc, rc, echoed = converse(procs, "s_client", argv, b"leak?\n",
                                timeout=5)
    assert not echoed
    assert b"leak" not in proc.data("stdout")
    line = echo.wait_log("not authorized")
    assert line.endswith(
        "client certificate not authorized: CN=mallory, DNS:none, "
        "URI:spiffe://x/y match none of --allow-cn alice, "
        "--allow-san-uri spiffe://x/z"), line


def test_allow_implies_verify_client_require(start_echo, pki):
    echo = start_echo(*pki.server_args(), "--ca", pki.ca,
                      "--allow-cn", "alice")
    kind, got = py_client(pki, echo.port, None)
    assert kind == "error", got
    echo.wait_log("peer did not return a certificate")


def test_allow_untrusted_chain_still_refused(start_echo, pki):
    # mallory of another CA: the chain fails before any rule is looked at.
    echo = start_echo(*pki.server_args(), "--ca", pki.ca,
                      "--allow-cn", "mallory")
    kind, got = py_client(pki, echo.port,
                          (pki.other_client, pki.other_client_key))
    assert kind == "error", got
    line = echo.wait_log("handshake failed")
    assert "certificate verify failed at depth 0 (CN=mallory)" in line


@pytest.mark.parametrize("args,message", [
    (["--allow-cn", "alice", "--verify-client", "optional"],
     "--allow-* rules imply --verify-client require, not 'optional'"),
    (["--allow-fingerprint", "sha256:zz"],
     "expected sha256: and 64 hex digits"),
    (["--pin", "sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="],
     "unknown option '--pin'"),
])
def test_echo_policy_usage_errors(tlskit, pki, args, message):
    r = tlskit.run("echo", "--listen", "127.0.0.1:0", *pki.server_args(),
                   "--ca", pki.ca, *args)
    assert r.rc in (2, 3), r
    assert message in r.err, r


# --------------------------------------------------------------------------
# pins
# --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def self_signed(tmp_path_factory):
    d = tmp_path_factory.mktemp("selfsigned")
    cert, key = d / "self.pem", d / "self.key"
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt",
            "ec_paramgen_curve:P-256", "-nodes", "-keyout", key,
            "-out", cert, "-days", "30", "-subj", "/CN=localhost",
            "-addext", "subjectAltName=DNS:localhost")
    return cert, key


@pytest.fixture
def s_server(procs, self_signed):
    """openssl s_server -www with the self-signed certificate."""
    cert, key = self_signed

    def argv(port):
        return ["openssl", "s_server", "-accept", f"127.0.0.1:{port}",
                "-cert", cert, "-key", key, "-www"]
    _, port = start_listener(procs, "s_server", argv, r"ACCEPT")
    return port


GET = b"GET / HTTP/1.0\r\n\r\n"


def test_cert_show_prints_the_pin_connect_takes(tlskit, self_signed):
    r = tlskit.run("cert", "show", self_signed[0])
    assert r.rc == 0, r
    assert spki_pin(self_signed[0]) in r.out


def test_pin_matches_with_ca_validation(tlskit, start_echo, pki):
    echo = start_echo(*pki.server_args())
    r = tlskit.connect(echo.addr.replace("127.0.0.1", "localhost"),
                       "--ca", pki.ca, "--pin", spki_pin(pki.rsa_server),
                       "--pin", spki_pin(pki.server), input=b"pinned\n")
    assert r.rc == 0, r
    assert r.stdout == b"pinned\n"


def test_pin_mismatch_names_expected_and_seen(tlskit, start_echo, pki):
    echo = start_echo(*pki.server_args())
    wrong = spki_pin(pki.rsa_server)
    r = tlskit.connect(f"localhost:{echo.port}", "--ca", pki.ca,
                       "--pin", wrong, input=b"x\n")
    assert r.rc == 6, r
    assert (f"certificate pin mismatch: the server's key (CN=localhost) is "
            f"{spki_pin(pki.server)}; expected {wrong}") in r.err, r


def test_pin_against_self_signed_needs_pin_only(tlskit, s_server,
                                                self_signed):
    pin = spki_pin(self_signed[0])
    r = tlskit.connect(f"localhost:{s_server}", "--pin", pin, input=GET)
    assert r.rc == 6, r
    assert "self-signed certificate" in r.err
    r = tlskit.connect(f"localhost:{s_server}", "--pin", pin, "--pin-only",
                       input=GET)
    assert r.rc == 0, r
    assert r.out.startswith("HTTP/1.0 200 ok")
    assert "WARNING: --pin-only" in r.err
    assert "NOT verified" in r.err
    assert "pin matched; chain, dates and hostname not checked" in r.err


def test_pin_only_mismatch(tlskit, s_server, pki):
    r = tlskit.connect(f"localhost:{s_server}", "--pin",
                       spki_pin(pki.server), "--pin-only", input=GET)
    assert r.rc == 6, r
    assert "certificate pin mismatch" in r.err


@pytest.mark.parametrize("args,message", [
    (["--pin-only"], "--pin-only needs at least one --pin"),
    (["--pin", "sha256//short="], "adding pin 'sha256//short='"),
    (["--pin", "x", "--pin-only", "--insecure"], "exclude each other"),
    (["--allow-cn", "alice"], "unknown option '--allow-cn'"),
    (["--profile", "paranoid"], "unknown profile 'paranoid'"),
    (["--keylog", "env"], "SSLKEYLOGFILE is not set"),
])
def test_connect_policy_usage_errors(tlskit, tlskit_env, args, message):
    env = {k: v for k, v in tlskit_env.items() if k != "SSLKEYLOGFILE"}
    r = tlskit.connect("localhost:1", *args, env=env)
    assert r.rc == 2, r
    assert message in r.err, r


# --------------------------------------------------------------------------
# profiles, renegotiation
# --------------------------------------------------------------------------

def test_profile_modern_refuses_tls12(start_echo, pki):
    echo = start_echo(*pki.server_args(), "--profile", "modern")
    kind, got = py_client(pki, echo.port, maximum=ssl.TLSVersion.TLSv1_2)
    assert kind == "error", got
    assert "unsupported protocol" in echo.wait_log("handshake failed")
    assert py_client(pki, echo.port) == ("echo", b"ping\n")


def test_profile_old_accepts_tls10(procs, start_echo, pki):
    echo = start_echo(*pki.server_args(), "--profile", "old")
    assert "warning: --profile old" in echo.log()
    argv = ["openssl", "s_client", "-connect", f"127.0.0.1:{echo.port}",
            "-CAfile", pki.ca, "-tls1", "-cipher", "DEFAULT@SECLEVEL=0"]
    proc, rc, echoed = converse(procs, "s_client", argv, b"old client\n")
    assert echoed, proc.text("stdout") + proc.text("stderr")
    assert "Protocol  : TLSv1\n" in proc.text("stdout")
    assert re.search(r"TLSv1 \S+ ", echo.wait_log(r"TLSv1 "))


def test_default_refuses_tls10(procs, start_echo, pki):
    echo = start_echo(*pki.server_args())
    assert "warning" not in echo.log()
    argv = ["openssl", "s_client", "-connect", f"127.0.0.1:{echo.port}",
            "-CAfile", pki.ca, "-tls1", "-cipher", "DEFAULT@SECLEVEL=0"]
    proc, rc, echoed = converse(procs, "s_client", argv, b"x\n", timeout=5)
    assert not echoed


def test_ciphers_profile(tlskit):
    modern = tlskit.run("ciphers", "--profile", "modern")
    assert modern.rc == 0, modern
    assert "TLSv1.2" not in modern.out and "TLS_AES_128_GCM_SHA256" in modern.out
    old = tlskit.run("ciphers", "--profile", "old")
    assert old.rc == 0 and "warning: --profile old" in old.err
    assert "ECDHE-RSA-AES128-SHA " in old.out
    inter = tlskit.run("ciphers", "--profile", "intermediate")
    default = tlskit.run("ciphers")
    assert inter.out == default.out
    assert "ECDHE-RSA-AES128-SHA " not in inter.out


def test_connect_profile_modern(tlskit, start_echo, pki):
    echo = start_echo(*pki.server_args(), "--max-version", "1.2")
    r = tlskit.connect(f"localhost:{echo.port}", "--ca", pki.ca,
                       "--profile", "modern", input=b"x\n")
    assert r.rc == 5, r


def test_client_renegotiation_refused(procs, start_echo, pki):
    echo = start_echo(*pki.server_args())
    argv = ["openssl", "s_client", "-connect", f"127.0.0.1:{echo.port}",
            "-CAfile", pki.ca, "-tls1_2", "-legacy_renegotiation"]
    proc = procs("s_client", argv, stdin=subprocess.PIPE)
    proc.write(b"before\n")
    assert proc.wait_data(b"before\n", timeout=10)
    proc.write(b"R\n")
    proc.wait_for("RENEGOTIATING", key="stderr", timeout=10)
    proc.wait_for("no renegotiation", key="stderr", timeout=10)
    try:
        proc.write(b"after\n")
    except BrokenPipeError:
        pass
    proc.close_stdin()
    proc.wait()
    assert b"after" not in proc.data("stdout")


# --------------------------------------------------------------------------
# key logging
# --------------------------------------------------------------------------

def keylog_lines(path):
    return [line.split(" ")[0] for line in path.read_text().splitlines()]


def test_keylog_echo_and_connect(tlskit, start_echo, pki, tmp_path):
    server_log = tmp_path / "server.keys"
    client_log = tmp_path / "client.keys"
    echo = start_echo(*pki.server_args(), "--keylog", server_log)
    assert "warning: --keylog" in echo.log()
    r = tlskit.connect(f"localhost:{echo.port}", "--ca", pki.ca,
                       "--keylog", client_log, input=b"k\n")
    assert r.rc == 0, r
    assert "warning: --keylog" in r.err
    for path in (server_log, client_log):
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        labels = keylog_lines(path)
        assert "CLIENT_TRAFFIC_SECRET_0" in labels
        assert "SERVER_HANDSHAKE_TRAFFIC_SECRET" in labels
    # The same secrets on both sides; a second connection appends.
    assert (sorted(server_log.read_text().splitlines()) ==
            sorted(client_log.read_text().splitlines()))
    r = tlskit.connect(f"localhost:{echo.port}", "--ca", pki.ca,
                       "--keylog", client_log, "--max-version", "1.2",
                       input=b"k\n")
    assert r.rc == 0, r
    assert keylog_lines(client_log).count("CLIENT_TRAFFIC_SECRET_0") == 1
    assert "CLIENT_RANDOM" in keylog_lines(client_log)


def test_keylog_env_only_when_asked(tlskit, tlskit_env, start_echo, pki,
                                    tmp_path):
    echo = start_echo(*pki.server_args())
    path = tmp_path / "env.keys"
    env = dict(tlskit_env, SSLKEYLOGFILE=str(path))
    r = tlskit.connect(f"localhost:{echo.port}", "--ca", pki.ca,
                       input=b"k\n", env=env)
    assert r.rc == 0, r
    assert not path.exists()
    assert "keylog" not in r.err
    r = tlskit.connect(f"localhost:{echo.port}", "--ca", pki.ca,
                       "--keylog", "env", input=b"k\n", env=env)
    assert r.rc == 0, r
    assert f"writing TLS secrets to '{path}'" in r.err
    assert "CLIENT_TRAFFIC_SECRET_0" in keylog_lines(path)


def test_keylog_unwritable(tlskit, pki):
    r = tlskit.connect("localhost:1", "--keylog", "/nonexistent/dir/k")
    assert r.rc == 3, r
    assert ("--keylog: opening key log file '/nonexistent/dir/k': "
            "No such file or directory") in r.err


def tshark_follow(capture, keylog=None):
    argv = ["tshark", "-r", str(capture), "-q", "-z", "follow,tls,ascii,0"]
    if keylog:
        argv[1:1] = ["-o", f"tls.keylog_file:{keylog}"]
    return subprocess.run(argv, capture_output=True, timeout=60,
                          text=True).stdout


@pytest.mark.skipif(not shutil.which("tshark"), reason="tshark not installed")
@pytest.mark.parametrize("side", ["echo", "connect"])
def test_keylog_decrypts_a_capture(procs, tlskit, start_echo, pki, tmp_path,
                                   side):
    keys = tmp_path / "keys.log"
    capture = tmp_path / "cap.pcapng"
    echo = start_echo(*pki.server_args(),
                      *(["--keylog", keys] if side == "echo" else []))
    shark = procs("tshark", ["tshark", "-i", "lo", "-f",
                             f"tcp port {echo.port}", "-w", capture])
    try:
        shark.wait_for("Capture started", key="stderr", timeout=20)
    except AssertionError:
        pytest.skip("tshark cannot capture on lo here: "
                    + shark.text("stderr")[-300:])
    marker = b"keylog-marker-7f3a\n"
    # 127.0.0.1: one TCP stream, the first tshark follows.
    r = tlskit.connect(f"127.0.0.1:{echo.port}", "--ca", pki.ca,
                       *(["--keylog", keys] if side == "connect" else []),
                       input=marker)
    assert r.rc == 0 and r.stdout == marker, r
    time.sleep(0.5)  # let the capture see the last packets
    shark.stop(signal.SIGINT)
    decrypted = tshark_follow(capture, keys)
    assert "keylog-marker-7f3a" in decrypted, (decrypted,
                                               shark.text("stderr"))
    assert "keylog-marker-7f3a" not in tshark_follow(capture)
