"""Several certificates on one `tlskit echo` listener, chosen by SNI
(issue 5, item 5): by the certificates' own names (exact and wildcard), an
RSA and an ECDSA certificate side by side chosen by the client's signature
algorithms, the first certificate as the default, and --sni-strict;
checked with openssl s_client and Python ssl."""
import random
import re
import socket
import ssl
import subprocess

import pytest

from conftest import openssl


class SniCerts:
    """a_rsa, a_ec: a.test (RSA, ECDSA); b: b.test; w: *.w.test; all
    signed by pki.ca."""

    def __init__(self, pki, root):
        self.pki = pki
        self.dir = root
        self.a_rsa = self._leaf("a_rsa", "a.test", "rsa")
        self.a_ec = self._leaf("a_ec", "a.test", "ec")
        self.b = self._leaf("b", "b.test", "ec")
        self.w = self._leaf("w", "*.w.test", "ec")

    def _leaf(self, name, cn, kind):
        key = self.dir / f"{name}.key"
        cert = self.dir / f"{name}.pem"
        csr = self.dir / f"{name}.csr"
        ext = self.dir / f"{name}.ext"
        if kind == "rsa":
            openssl("genpkey", "-algorithm", "RSA", "-pkeyopt",
                    "rsa_keygen_bits:2048", "-out", key)
        else:
            openssl("genpkey", "-algorithm", "EC", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-out", key)
        openssl("req", "-new", "-key", key, "-subj", f"/CN={cn}",
                "-out", csr)
        ext.write_text(f"basicConstraints=critical,CA:FALSE\n"
                       f"extendedKeyUsage=serverAuth\n"
                       f"subjectAltName=DNS:{cn}\n")
        openssl("x509", "-req", "-in", csr, "-CA", self.pki.ca, "-CAkey",
                self.pki.ca_key, "-set_serial",
                str(random.randrange(1, 1 << 62)), "-days", "2",
                "-extfile", ext, "-out", cert)
        return cert, key

    @staticmethod
    def args(*pairs):
        out = []
        for cert, key in pairs:
            out += ["--cert", cert, "--key", key]
        return out


@pytest.fixture(scope="module")
def sni(pki, tmp_path_factory):
    return SniCerts(pki, tmp_path_factory.mktemp("sni"))


def s_client(server, pki, *args):
    """(returncode, output) of one openssl s_client handshake."""
    argv = ["openssl", "s_client", "-connect", server.addr, "-CAfile",
            str(pki.ca), *map(str, args)]
    r = subprocess.run(argv, input=b"", capture_output=True, timeout=30)
    return r.returncode, (r.stdout + r.stderr).decode(errors="replace")


def served(out):
    """(subject CN, peer signature type) s_client saw."""
    subject = re.search(r"^subject=.*CN = (\S+)", out, re.M)
    sigtype = re.search(r"Peer signature type: (\S+)", out)
    assert subject and sigtype, out
    return subject.group(1), sigtype.group(1)


ECDSA = ("-sigalgs", "ECDSA+SHA256")
RSA = ("-sigalgs", "rsa_pss_rsae_sha256:RSA+SHA256")


@pytest.fixture
def many(start_echo, sni):
    return start_echo(*sni.args(sni.a_rsa, sni.a_ec, sni.b, sni.w))


@pytest.mark.parametrize("version", ["-tls1_2", "-tls1_3"])
def test_sni_picks_the_certificate_by_name(many, pki, version):
    for name, want in (("a.test", "a.test"), ("b.test", "b.test"),
                       ("x.w.test", "*.w.test")):
        rc, out = s_client(many, pki, "-servername", name, version,
                           "-verify_hostname", name,
                           "-verify_return_error")
        assert rc == 0, out
        assert served(out)[0] == want, out


@pytest.mark.parametrize("version", ["-tls1_2", "-tls1_3"])
def test_rsa_and_ecdsa_side_by_side(many, pki, version):
    rc, out = s_client(many, pki, "-servername", "a.test", version, *ECDSA)
    assert rc == 0, out
    assert served(out) == ("a.test", "ECDSA"), out
    rc, out = s_client(many, pki, "-servername", "a.test", version, *RSA)
    assert rc == 0, out
    name, sigtype = served(out)
    assert name == "a.test" and sigtype.startswith("RSA"), out


def test_wildcard_covers_one_label_only(many, pki):
    rc, out = s_client(many, pki, "-servername", "y.x.w.test")
    assert rc == 0, out
    assert served(out)[0] == "a.test", out  # the default, not *.w.test


def test_no_sni_gets_the_default(many, pki):
    rc, out = s_client(many, pki, "-noservername", *RSA)
    assert rc == 0, out
    name, sigtype = served(out)
    assert name == "a.test" and sigtype.startswith("RSA"), out
    rc, out = s_client(many, pki, "-noservername", *ECDSA)
    assert rc == 0, out
    assert served(out) == ("a.test", "ECDSA"), out


def test_unknown_name_gets_the_default(many, pki):
    rc, out = s_client(many, pki, "-servername", "nobody.test")
    assert rc == 0, out
    assert served(out)[0] == "a.test", out


def test_default_is_the_first_certificate(start_echo, sni, pki):
    echo = start_echo(*sni.args(sni.b, sni.a_rsa))
    rc, out = s_client(echo, pki, "-noservername")
    assert rc == 0, out
    assert served(out)[0] == "b.test", out
    rc, out = s_client(echo, pki, "-servername", "a.test")
    assert served(out)[0] == "a.test", out


def test_python_client_verifies_each_name(many, pki):
    ctx = ssl.create_default_context(cafile=str(pki.ca))
    for name in ("a.test", "b.test", "z.w.test"):
        with socket.create_connection((many.host, many.port),
                                      timeout=10) as s:
            with ctx.wrap_socket(s, server_hostname=name) as t:
                t.sendall(b"ping")
                assert t.recv(16) == b"ping"


def test_sni_strict_refuses_unknown_and_missing_names(start_echo, sni, pki):
    echo = start_echo(*sni.args(sni.a_rsa, sni.b), "--sni-strict")
    rc, out = s_client(echo, pki, "-servername", "b.test")
    assert rc == 0 and served(out)[0] == "b.test", out
    for args in (("-servername", "nobody.test"), ("-noservername",)):
        rc, out = s_client(echo, pki, *args)
        assert rc != 0, out
        assert "unrecognized name" in out, out
        assert "subject=" not in out, out
    # The log names the cause, not OpenSSL's "callback failed".
    line = echo.wait_log(r"handshake failed.*(nobody\.test|no server name)")
    assert "callback failed" not in line, line


def test_cert_key_pairs_must_match(tlskit, sni):
    r = tlskit.run("echo", "--listen", "127.0.0.1:0",
                   *sni.args(sni.a_rsa), "--cert", sni.b[0])
    assert r.rc == 2, r
    assert "pairs" in r.err, r
    r = tlskit.run("echo", "--listen", "127.0.0.1:0",
                   *sni.args(sni.a_rsa), "--cert", sni.b[0],
                   "--key", sni.a_ec[1])
    assert r.rc == 3, r
    assert str(sni.a_ec[1]) in r.err and "does not match" in r.err, r
    r = tlskit.run("echo", "--listen", "127.0.0.1:0",
                   *sni.args(sni.a_rsa), "--cert", sni.dir / "absent.pem",
                   "--key", sni.b[1])
    assert r.rc == 3, r
    assert "absent.pem" in r.err, r


def test_sni_strict_is_for_servers(tlskit, pki):
    r = tlskit.connect("127.0.0.1:1", "--ca", pki.ca, "--sni-strict")
    assert r.rc == 2, r


def test_sighup_rereads_the_certificate_set(start_echo, sni, pki, tmp_path):
    """Issue 5 item 9: the SNI set lives in files and is re-read on
    reload; a bad new set keeps the old one."""
    import os
    import shutil
    import signal
    second_cert, second_key = tmp_path / "second.pem", tmp_path / "second.key"
    shutil.copy(sni.b[0], second_cert)
    shutil.copy(sni.b[1], second_key)
    echo = start_echo(*sni.args(sni.a_ec, (second_cert, second_key)))
    assert served(s_client(echo, pki, "-servername", "b.test")[1])[0] == "b.test"
    shutil.copy(sni.w[0], second_cert)  # the second slot now holds *.w.test
    shutil.copy(sni.w[1], second_key)
    os.kill(echo.proc.pid, signal.SIGHUP)
    echo.wait_log(r"reloaded")
    out = s_client(echo, pki, "-servername", "x.w.test")[1]
    assert served(out)[0] == "*.w.test", out
    out = s_client(echo, pki, "-servername", "b.test")[1]
    assert served(out)[0] == "a.test", out  # b.test is gone: the default
    second_key.write_text("garbage\n")
    os.kill(echo.proc.pid, signal.SIGHUP)
    echo.wait_log(r"reload failed.*keeping the previous configuration")
    out = s_client(echo, pki, "-servername", "x.w.test")[1]
    assert served(out)[0] == "*.w.test", out
