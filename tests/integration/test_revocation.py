"""Revocation: --crl and --crl-check on tlskit echo (client certificates)
and tlskit connect (server certificates), against Python ssl, openssl
s_client and openssl s_server. The CRLs are made by `openssl ca -gencrl`
and by `tlskit cert crl`."""
import os
import re
import shutil
import signal
import socket
import ssl

import pytest

from conftest import Tlskit, converse, openssl, start_listener

CNF = """\
[ca]
default_ca = CA_default

[CA_default]
dir = {dir}
database = $dir/index.txt
new_certs_dir = $dir/newcerts
serial = $dir/serial
crlnumber = $dir/crlnumber
certificate = $dir/root.pem
private_key = $dir/root.key
default_md = sha256
default_days = 30
default_crl_days = 7
policy = policy_any
unique_subject = no
copy_extensions = none

[policy_any]
commonName = supplied

[server_ext]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost,IP:127.0.0.1

[client_ext]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = clientAuth

[inter_ext]
basicConstraints = critical,CA:TRUE,pathlen:0
keyUsage = critical,keyCertSign,cRLSign,digitalSignature
"""


class RevPKI:
    """An `openssl ca` root ("Rev Root") with its database, issuing:
    server (good), revserver (revoked), alice (client, good), bob (client,
    revoked) and inter, an intermediate CA that issues carol (client).
    CRLs: root.crl (PEM, bob and revserver revoked), root.der (the same in
    DER), expired.crl (root, next update in 2021), inter.crl (by tlskit
    cert crl, revokes nothing), tlskit-root.crl (by tlskit cert crl,
    revokes alice)."""

    def __init__(self, root, tlskit):
        self.dir = root
        d = root
        (d / "newcerts").mkdir()
        (d / "index.txt").write_text("")
        (d / "serial").write_text("1000\n")
        (d / "crlnumber").write_text("01\n")
        self.cnf = d / "ca.cnf"
        self.cnf.write_text(CNF.format(dir=d))
        self.ca = d / "root.pem"
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt",
                "ec_paramgen_curve:P-256", "-nodes", "-keyout",
                d / "root.key", "-out", self.ca, "-days", "30",
                "-subj", "/CN=Rev Root",
                "-addext", "basicConstraints=critical,CA:TRUE",
                "-addext", "keyUsage=critical,keyCertSign,cRLSign")
        self.server = self._issue("server", "/CN=localhost", "server_ext")
        self.revserver = self._issue("revserver", "/CN=localhost",
                                     "server_ext")
        self.alice = self._issue("alice", "/CN=alice", "client_ext")
        self.bob = self._issue("bob", "/CN=bob", "client_ext")
        self.inter = self._issue("inter", "/CN=Rev Inter", "inter_ext")
        self.carol = self._inter_leaf("carol")
        for name in ("bob", "revserver"):
            openssl("ca", "-batch", "-config", self.cnf, "-revoke",
                    d / f"{name}.pem")
        self.crl = d / "root.crl"
        openssl("ca", "-batch", "-config", self.cnf, "-gencrl",
                "-out", self.crl)
        self.crl_der = d / "root.der"
        openssl("crl", "-in", self.crl, "-outform", "DER",
                "-out", self.crl_der)
        self.expired_crl = d / "expired.crl"
        openssl("ca", "-batch", "-config", self.cnf, "-gencrl",
                "-crl_lastupdate", "20200101000000Z",
                "-crl_nextupdate", "20210101000000Z",
                "-out", self.expired_crl)
        self.inter_crl = d / "inter.crl"
        r = tlskit.run("cert", "crl", "--ca", self.inter[0], "--ca-key",
                       self.inter[1], "--out", self.inter_crl)
        assert r.rc == 0, r
        # OCSP responses, signed by the root itself, from its database.
        self.ocsp_good = self._ocsp(self.server[0], "good")
        self.ocsp_revoked = self._ocsp(self.revserver[0], "revoked")
        # Signed by the intermediate, which may not speak for the root.
        self.ocsp_forged = self._ocsp(self.server[0], "forged",
                                      signer=self.inter)
        self.tlskit_crl = d / "tlskit-root.crl"
        r = tlskit.run("cert", "crl", "--ca", self.ca, "--ca-key",
                       d / "root.key", "--revoke", self.alice[0],
                       "--out", self.tlskit_crl)
        assert r.rc == 0, r

    def _issue(self, name, subject, ext):
        d = self.dir
        key, csr, cert = d / f"{name}.key", d / f"{name}.csr", \
            d / f"{name}.pem"
        openssl("req", "-new", "-newkey", "ec", "-pkeyopt",
                "ec_paramgen_curve:P-256", "-nodes", "-keyout", key,
                "-out", csr, "-subj", subject)
        openssl("ca", "-batch", "-config", self.cnf, "-extensions", ext,
                "-in", csr, "-out", cert, "-notext")
        return cert, key

    def _ocsp(self, cert, name, signer=None):
        d = self.dir
        signer = signer or (self.ca, d / "root.key")
        out = d / f"{name}.ocsp.der"
        openssl("ocsp", "-index", d / "index.txt", "-rsigner", signer[0],
                "-rkey", signer[1], "-CA", self.ca, "-issuer", self.ca,
                "-cert", cert, "-respout", out, "-ndays", "1")
        return out

    def _inter_leaf(self, name):
        d = self.dir
        key, csr, cert = d / f"{name}.key", d / f"{name}.csr", \
            d / f"{name}.pem"
        ext = d / f"{name}.ext"
        ext.write_text("[v3]\nbasicConstraints = critical,CA:FALSE\n"
                       "extendedKeyUsage = clientAuth\n")
        openssl("req", "-new", "-newkey", "ec", "-pkeyopt",
                "ec_paramgen_curve:P-256", "-nodes", "-keyout", key,
                "-out", csr, "-subj", f"/CN={name}")
        openssl("x509", "-req", "-in", csr, "-CA", self.inter[0],
                "-CAkey", self.inter[1], "-CAcreateserial", "-days", "30",
                "-out", cert, "-extfile", ext, "-extensions", "v3")
        chain = d / f"{name}-chain.pem"
        chain.write_text(cert.read_text() + self.inter[0].read_text())
        return chain, key

    def server_args(self, good=True):
        cert, key = self.server if good else self.revserver
        return ["--cert", cert, "--key", key]

    @staticmethod
    def serial(cert):
        out = openssl("x509", "-in", cert, "-noout", "-serial")
        return out.strip().split("=", 1)[1]


@pytest.fixture(scope="module")
def rev(tmp_path_factory, tlskit_bin):
    home = tmp_path_factory.mktemp("rev-home")
    env = dict(os.environ)
    env["TLSKIT_HOME"] = str(home)
    env["XDG_STATE_HOME"] = str(home / "xdg-state")
    env.pop("SSLKEYLOGFILE", None)
    return RevPKI(tmp_path_factory.mktemp("rev-pki"), Tlskit(env))


def py_client(ca, port, cert, data=b"ping\n"):
    """('echo', bytes) or ('error', text)."""
    ctx = ssl.create_default_context(cafile=str(ca))
    ctx.load_cert_chain(str(cert[0]), str(cert[1]))
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


def echo_with(start_echo, rev, *args):
    return start_echo(*rev.server_args(), "--ca", rev.ca,
                      "--verify-client", "require", *args)


# --------------------------------------------------------------------------
# servers: revoked clients
# --------------------------------------------------------------------------

@pytest.mark.parametrize("form", ["pem", "der"])
def test_echo_refuses_revoked_client(start_echo, rev, form):
    crl = rev.crl if form == "pem" else rev.crl_der
    echo = echo_with(start_echo, rev, "--crl", crl)
    assert py_client(rev.ca, echo.port, rev.alice) == ("echo", b"ping\n")
    kind, got = py_client(rev.ca, echo.port, rev.bob, data=b"")
    assert kind == "error", got
    line = echo.wait_log("handshake failed")
    assert (f"certificate verify failed at depth 0 (CN=bob): certificate "
            f"revoked (serial {rev.serial(rev.bob[0])})") in line, line


def test_echo_revoked_client_openssl_s_client(procs, start_echo, rev):
    echo = echo_with(start_echo, rev, "--crl", rev.crl)
    argv = ["openssl", "s_client", "-connect", f"127.0.0.1:{echo.port}",
            "-CAfile", rev.ca, "-cert", rev.bob[0], "-key", rev.bob[1],
            "-quiet"]
    proc, rc, echoed = converse(procs, "s_client", argv, b"leak?\n",
                                timeout=5)
    assert not echoed
    line = echo.wait_log("handshake failed")
    assert "certificate revoked (serial" in line, line
    assert "revoked" in proc.text("stderr").lower()


def test_echo_crl_made_by_tlskit(start_echo, rev):
    echo = echo_with(start_echo, rev, "--crl", rev.tlskit_crl)
    assert py_client(rev.ca, echo.port, rev.bob) == ("echo", b"ping\n")
    kind, got = py_client(rev.ca, echo.port, rev.alice, data=b"")
    assert kind == "error", got
    line = echo.wait_log("handshake failed")
    assert (f"(CN=alice): certificate revoked (serial "
            f"{rev.serial(rev.alice[0])})") in line, line


def test_echo_crl_check_leaf_and_chain(start_echo, rev):
    # carol is issued by the intermediate; only its CRL is given.
    echo = echo_with(start_echo, rev, "--crl", rev.inter_crl)
    assert py_client(rev.ca, echo.port, rev.carol) == ("echo", b"ping\n")
    echo = echo_with(start_echo, rev, "--crl", rev.inter_crl,
                     "--crl-check", "chain")
    kind, got = py_client(rev.ca, echo.port, rev.carol, data=b"")
    assert kind == "error", got
    line = echo.wait_log("handshake failed")
    assert ("certificate verify failed at depth 1 (CN=Rev Inter): no CRL "
            "from issuer 'CN=Rev Root'") in line, line
    echo = echo_with(start_echo, rev, "--crl", rev.inter_crl,
                     "--crl", rev.crl, "--crl-check", "chain")
    assert py_client(rev.ca, echo.port, rev.carol) == ("echo", b"ping\n")


# --------------------------------------------------------------------------
# clients: revoked servers, missing and expired CRLs
# --------------------------------------------------------------------------

@pytest.fixture
def s_server(procs, rev):
    """s_server(good=True) -> port of openssl s_server -www."""
    def start(good=True):
        cert, key = rev.server if good else rev.revserver

        def argv(port):
            return ["openssl", "s_server", "-accept", f"127.0.0.1:{port}",
                    "-cert", cert, "-key", key, "-www"]
        return start_listener(procs, "s_server", argv, r"ACCEPT")[1]
    return start


GET = b"GET / HTTP/1.0\r\n\r\n"


def test_connect_refuses_revoked_server(tlskit, s_server, rev):
    port = s_server(good=False)
    r = tlskit.connect(f"localhost:{port}", "--ca", rev.ca, "--crl",
                       rev.crl, input=GET)
    assert r.rc == 6, r
    assert (f"certificate verify failed at depth 0 (CN=localhost): "
            f"certificate revoked (serial {rev.serial(rev.revserver[0])})"
            ) in r.err, r
    port = s_server(good=True)
    r = tlskit.connect(f"localhost:{port}", "--ca", rev.ca, "--crl",
                       rev.crl_der, input=GET)
    assert r.rc == 0, r
    assert r.out.startswith("HTTP/1.0 200 ok")


def test_connect_no_crl_for_issuer(tlskit, s_server, rev):
    port = s_server(good=True)
    r = tlskit.connect(f"localhost:{port}", "--ca", rev.ca, "--crl",
                       rev.inter_crl, input=GET)
    assert r.rc == 6, r
    assert ("certificate verify failed at depth 0 (CN=localhost): no CRL "
            "from issuer 'CN=Rev Root' among the CRLs given") in r.err, r


def test_connect_expired_crl(tlskit, s_server, rev):
    port = s_server(good=True)
    r = tlskit.connect(f"localhost:{port}", "--ca", rev.ca, "--crl",
                       rev.expired_crl, input=GET)
    assert r.rc == 6, r
    assert "the CRL of issuer 'CN=Rev Root' has expired" in r.err, r


def test_echo_expired_crl(start_echo, rev):
    echo = echo_with(start_echo, rev, "--crl", rev.expired_crl)
    kind, got = py_client(rev.ca, echo.port, rev.alice, data=b"")
    assert kind == "error", got
    line = echo.wait_log("handshake failed")
    assert "the CRL of issuer 'CN=Rev Root' has expired" in line, line


# --------------------------------------------------------------------------
# bad files and usage
# --------------------------------------------------------------------------

@pytest.mark.parametrize("cmd", ["echo", "connect"])
def test_bad_crl_files(tlskit, rev, tmp_path, cmd):
    junk = tmp_path / "junk.crl"
    junk.write_text("not a CRL\n")
    missing = tmp_path / "missing.crl"
    base = (["echo", "--listen", "127.0.0.1:0", *rev.server_args()]
            if cmd == "echo" else ["connect", "localhost:1", "--ca", rev.ca])
    r = tlskit.run(*base, "--crl", junk)
    assert r.rc == 3, r
    assert f"--crl: loading CRL file '{junk}': no CRL in it" in r.err, r
    r = tlskit.run(*base, "--crl", missing)
    assert r.rc == 3, r
    assert (f"--crl: loading CRL file '{missing}': No such file or "
            f"directory") in r.err, r
    # A certificate is not a CRL.
    r = tlskit.run(*base, "--crl", rev.ca)
    assert r.rc == 3, r
    assert "no CRL in it" in r.err, r


@pytest.mark.parametrize("args,message", [
    (["--crl-check", "chain"], "--crl-check needs at least one --crl"),
    (["--crl-check", "all", "--crl", "X"],
     "--crl-check: unknown mode 'all' (leaf, chain)"),
])
def test_crl_usage_errors(tlskit, rev, args, message):
    args = [rev.crl if a == "X" else a for a in args]
    r = tlskit.run("connect", "localhost:1", "--ca", rev.ca, *args)
    assert r.rc == 2, r
    assert message in r.err, r


# --------------------------------------------------------------------------
# OCSP stapling
# --------------------------------------------------------------------------

@pytest.mark.parametrize("version", ["1.2", "1.3"])
def test_ocsp_good_staple_from_tlskit_echo(tlskit, start_echo, rev,
                                           version):
    echo = start_echo(*rev.server_args(), "--ocsp-staple", rev.ocsp_good)
    r = tlskit.connect(f"localhost:{echo.port}", "--ca", rev.ca,
                       "--max-version", version, "--require-ocsp",
                       input=b"ping\n")
    assert r.rc == 0, r
    assert r.stdout == b"ping\n"
    m = re.search(r"  ocsp      good \(this update (.*) UTC, next update "
                  r"(.*) UTC\)", r.err)
    assert m, r
    # Without --ocsp nothing is asked and nothing shown.
    r = tlskit.connect(f"localhost:{echo.port}", "--ca", rev.ca,
                       input=b"ping\n")
    assert r.rc == 0, r
    assert "ocsp" not in r.err


def test_ocsp_staple_seen_by_openssl_s_client(procs, start_echo, rev):
    echo = start_echo(*rev.server_args(), "--ocsp-staple", rev.ocsp_good)
    argv = ["openssl", "s_client", "-connect", f"127.0.0.1:{echo.port}",
            "-CAfile", rev.ca, "-status"]
    proc, rc, seen = converse(procs, "s_client", argv, b"hello\n",
                              timeout=10)
    assert seen
    out = proc.text("stdout")
    assert "OCSP Response Status: successful" in out, out
    assert "Cert Status: good" in out, out


def test_ocsp_revoked_staple_from_openssl_s_server(tlskit, procs, rev):
    cert, key = rev.revserver

    def argv(port):
        return ["openssl", "s_server", "-accept", f"127.0.0.1:{port}",
                "-cert", cert, "-key", key, "-www",
                "-status_file", rev.ocsp_revoked]
    port = start_listener(procs, "s_server", argv, r"ACCEPT")[1]
    r = tlskit.connect(f"localhost:{port}", "--ca", rev.ca, "--ocsp",
                       input=GET)
    assert r.rc == 6, r
    assert ("the server's certificate is revoked (stapled OCSP response: "
            "revoked on ") in r.err, r


def test_ocsp_good_staple_from_openssl_s_server(tlskit, procs, rev):
    cert, key = rev.server

    def argv(port):
        return ["openssl", "s_server", "-accept", f"127.0.0.1:{port}",
                "-cert", cert, "-key", key, "-www",
                "-status_file", rev.ocsp_good]
    port = start_listener(procs, "s_server", argv, r"ACCEPT")[1]
    r = tlskit.connect(f"localhost:{port}", "--ca", rev.ca,
                       "--require-ocsp", input=GET)
    assert r.rc == 0, r
    assert "  ocsp      good (this update" in r.err, r


@pytest.mark.parametrize("staple,message", [
    ("forged", "the stapled OCSP response's signature does not verify "
               "against the trusted CAs"),
    ("revoked", "the stapled OCSP response is not about the server's "
                "certificate"),
])
def test_ocsp_untrustworthy_staples(tlskit, start_echo, rev, staple,
                                    message):
    resp = rev.ocsp_forged if staple == "forged" else rev.ocsp_revoked
    echo = start_echo(*rev.server_args(), "--ocsp-staple", resp)
    r = tlskit.connect(f"localhost:{echo.port}", "--ca", rev.ca, "--ocsp",
                       input=b"x\n")
    assert r.rc == 6, r
    assert message in r.err, r
    assert r.stdout == b""


def test_ocsp_missing_staple(tlskit, start_echo, rev):
    echo = start_echo(*rev.server_args())
    r = tlskit.connect(f"localhost:{echo.port}", "--ca", rev.ca, "--ocsp",
                       input=b"x\n")
    assert r.rc == 0, r
    assert "  ocsp      none (the server stapled no response)" in r.err, r
    r = tlskit.connect(f"localhost:{echo.port}", "--ca", rev.ca,
                       "--require-ocsp", input=b"x\n")
    assert r.rc == 6, r
    assert "OCSP response required but the server stapled none" in r.err, r
    assert r.stdout == b""


def test_ocsp_bad_files_and_usage(tlskit, rev, tmp_path):
    junk = tmp_path / "junk.der"
    junk.write_bytes(b"\x30\x03junk")
    r = tlskit.run("echo", "--listen", "127.0.0.1:0", *rev.server_args(),
                   "--ocsp-staple", junk)
    assert r.rc == 3, r
    assert (f"--ocsp-staple: loading OCSP response '{junk}': not a DER "
            f"OCSP response") in r.err, r
    r = tlskit.run("echo", "--listen", "127.0.0.1:0", *rev.server_args(),
                   "--ocsp-staple", tmp_path / "none.der")
    assert r.rc == 3, r
    assert "No such file or directory" in r.err, r
    r = tlskit.run("connect", "localhost:1", "--ca", rev.ca,
                   "--ocsp-staple", rev.ocsp_good)
    assert r.rc == 2, r
    assert "unrecognized option" in r.err or "--ocsp-staple" in r.err, r
    r = tlskit.run("echo", "--listen", "127.0.0.1:0", *rev.server_args(),
                   "--ocsp")
    assert r.rc == 2, r


# --------------------------------------------------------------------------
# reload
# --------------------------------------------------------------------------

def test_sighup_rereads_crls(start_echo, rev, tmp_path):
    crl = tmp_path / "current.crl"
    shutil.copy(rev.tlskit_crl, crl)  # alice revoked
    echo = echo_with(start_echo, rev, "--crl", crl)
    assert py_client(rev.ca, echo.port, rev.bob) == ("echo", b"ping\n")
    assert py_client(rev.ca, echo.port, rev.alice, data=b"")[0] == "error"
    shutil.copy(rev.crl, crl)  # bob revoked instead
    os.kill(echo.proc.pid, signal.SIGHUP)
    echo.wait_log(r"reloaded certificates and keys")
    assert py_client(rev.ca, echo.port, rev.alice) == ("echo", b"ping\n")
    assert py_client(rev.ca, echo.port, rev.bob, data=b"")[0] == "error"
    crl.write_text("garbage\n")
    os.kill(echo.proc.pid, signal.SIGHUP)
    line = echo.wait_log(r"reload failed")
    assert f"loading CRL file '{crl}': no CRL in it" in line, line
    assert py_client(rev.ca, echo.port, rev.alice) == ("echo", b"ping\n")
    assert py_client(rev.ca, echo.port, rev.bob, data=b"")[0] == "error"


def test_sighup_rereads_the_ocsp_staple(tlskit, start_echo, rev, tmp_path):
    staple = tmp_path / "staple.der"
    shutil.copy(rev.ocsp_good, staple)
    echo = start_echo(*rev.server_args(), "--ocsp-staple", staple)

    def connect():
        return tlskit.connect(f"localhost:{echo.port}", "--ca", rev.ca,
                              "--require-ocsp", input=b"ping\n")

    assert connect().rc == 0
    shutil.copy(rev.ocsp_forged, staple)  # signed by the wrong key
    os.kill(echo.proc.pid, signal.SIGHUP)
    echo.wait_log(r"reloaded certificates and keys")
    r = connect()
    assert r.rc == 6, r
    staple.write_bytes(b"garbage")
    os.kill(echo.proc.pid, signal.SIGHUP)
    line = echo.wait_log(r"reload failed")
    assert str(staple) in line, line
    assert connect().rc == 6  # the previous (forged) staple is still served
