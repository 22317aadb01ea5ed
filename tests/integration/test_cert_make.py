"""`tlskit cert new|csr|sign|verify|crl`: what it makes is used for real in
handshakes between `tlskit echo` and `tlskit connect`, and checked by the
openssl command (verify, x509 -text, req, crl) so the two check each other.
"""
import re
import subprocess
from pathlib import Path

import pytest

from conftest import openssl

KEY_TYPES = ["ec-p256", "ec-p384", "ed25519", "rsa2048", "rsa3072",
             "rsa4096"]
SIGNATURE = {"ec-p256": "ecdsa-with-SHA256", "ec-p384": "ecdsa-with-SHA384",
             "ed25519": "ED25519", "rsa2048": "sha256WithRSAEncryption",
             "rsa3072": "sha256WithRSAEncryption",
             "rsa4096": "sha256WithRSAEncryption"}
PUBKEY = {"ec-p256": "id-ecPublicKey", "ec-p384": "id-ecPublicKey",
          "ed25519": "ED25519", "rsa2048": "rsaEncryption",
          "rsa3072": "rsaEncryption", "rsa4096": "rsaEncryption"}


class Maker:
    """Runs tlskit cert ... in a directory; paths are PREFIX-relative."""

    def __init__(self, tlskit, root):
        self.tlskit = tlskit
        self.dir = Path(root)

    def p(self, name):
        return self.dir / name

    def run(self, *args):
        return self.tlskit.run("cert", *args)

    def ok(self, *args):
        r = self.run(*args)
        assert r.rc == 0, r
        return r

    def new(self, kind, name, *args, issuer=None):
        extra = []
        if issuer:
            extra = ["--ca", self.p(f"{issuer}.pem"),
                     "--ca-key", self.p(f"{issuer}.key")]
        self.ok("new", kind, "--out", self.p(name), *extra, *args)
        return self.p(f"{name}.pem"), self.p(f"{name}.key")


@pytest.fixture
def mk(tlskit, tmp_path):
    return Maker(tlskit, tmp_path)


def x509_text(path):
    return openssl("x509", "-in", path, "-noout", "-text")


def ext_block(text, name):
    """The lines of extension `name` in x509 -text output (header first)."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.strip().startswith(name):
            out = [line.strip()]
            for nxt in lines[i + 1:]:
                if re.match(r"\s+X509v3 |\s+Signature Algorithm", nxt) or \
                        not nxt.startswith(" " * 16):
                    break
                out.append(nxt.strip())
            return out
    return None


def openssl_verify(ca, cert, untrusted=None, *extra):
    argv = ["openssl", "verify", "-CAfile", str(ca)]
    if untrusted:
        argv += ["-untrusted", str(untrusted)]
    argv += [*map(str, extra), str(cert)]
    return subprocess.run(argv, capture_output=True, text=True, timeout=30)


def roundtrip(tlskit, server, *args, data=b"ping through tlskit\n"):
    r = tlskit.connect(f"localhost:{server.port}", *args, input=data)
    assert r.rc == 0, r
    assert r.stdout == data, r
    return r


# --------------------------------------------------------------------------
# Every kind and key type, used for real
# --------------------------------------------------------------------------

@pytest.mark.parametrize("key_type", KEY_TYPES)
def test_mtls_through_an_intermediate(mk, tlskit, start_echo, key_type):
    kt = ["--key-type", key_type]
    ca, _ = mk.new("ca", "ca", "--cn", f"root {key_type}", *kt)
    mid, _ = mk.new("intermediate", "mid", "--cn", f"mid {key_type}", *kt,
                    issuer="ca")
    srv, srv_key = mk.new("server", "srv", "--san",
                          "localhost,127.0.0.1,::1", *kt, issuer="mid")
    cli, cli_key = mk.new("client", "cli", "--cn", "carol", *kt,
                          issuer="mid")
    for leaf in (srv, cli):
        chain = leaf.with_name(leaf.stem + "-chain.pem")
        assert chain.exists(), f"{chain} was not written"
        assert chain.read_text().count("BEGIN CERTIFICATE") == 2
        r = openssl_verify(ca, leaf, mid)
        assert r.returncode == 0 and ": OK" in r.stdout, r.stderr
    assert openssl_verify(ca, mid).returncode == 0

    for cert in (ca, mid, srv, cli):
        text = x509_text(cert)
        assert f"Signature Algorithm: {SIGNATURE[key_type]}" in text, text
        assert f"Public Key Algorithm: {PUBKEY[key_type]}" in text, text

    server = start_echo("--cert", mk.p("srv-chain.pem"), "--key", srv_key,
                        "--ca", ca, "--verify-client", "require")
    roundtrip(tlskit, server, "--ca", ca, "--cert", mk.p("cli-chain.pem"),
              "--key", cli_key)
    assert "CN=carol" in server.wait_log(r"CN=carol")


@pytest.mark.parametrize("key_type", KEY_TYPES)
def test_self_signed_server(mk, tlskit, start_echo, key_type):
    cert, key = mk.new("self-signed", "self", "--san", "localhost",
                       "--key-type", key_type)
    assert not mk.p("self-chain.pem").exists()
    assert openssl_verify(cert, cert).returncode == 0
    server = start_echo("--cert", cert, "--key", key)
    roundtrip(tlskit, server, "--ca", cert)


def test_root_signed_leaf_gets_no_chain_file(mk, tlskit, start_echo):
    ca, _ = mk.new("ca", "ca")
    r = mk.ok("new", "server", "--ca", ca, "--ca-key", mk.p("ca.key"),
              "--san", "localhost", "--out", mk.p("srv"))
    assert r.out.split() == [str(mk.p("srv.pem")), str(mk.p("srv.key"))]
    assert not mk.p("srv-chain.pem").exists()
    server = start_echo("--cert", mk.p("srv.pem"), "--key", mk.p("srv.key"))
    roundtrip(tlskit, server, "--ca", ca)


def test_two_intermediates_chain(mk, tlskit, start_echo):
    """A chain file given as --ca carries its intermediates on."""
    ca, _ = mk.new("ca", "ca")
    mk.new("intermediate", "mid1", "--pathlen", "1", issuer="ca")
    mk.ok("new", "intermediate", "--out", mk.p("mid2"),
          "--ca", mk.p("mid1.pem"), "--ca-key", mk.p("mid1.key"))
    mk.ok("new", "server", "--out", mk.p("srv"), "--san", "localhost",
          "--ca", mk.p("mid2-chain.pem"), "--ca-key", mk.p("mid2.key"))
    chain = mk.p("srv-chain.pem").read_text()
    assert chain.count("BEGIN CERTIFICATE") == 3
    server = start_echo("--cert", mk.p("srv-chain.pem"),
                        "--key", mk.p("srv.key"))
    roundtrip(tlskit, server, "--ca", ca)


# --------------------------------------------------------------------------
# Profiles, as openssl x509 -text shows them
# --------------------------------------------------------------------------

def test_profiles(mk):
    ca, _ = mk.new("ca", "ca")
    ca2, _ = mk.new("ca", "ca2", "--pathlen", "2")
    mid, _ = mk.new("intermediate", "mid", issuer="ca")
    mid3, _ = mk.new("intermediate", "mid3", "--pathlen", "3", issuer="ca")
    srv, _ = mk.new("server", "srv", "--san", "localhost", issuer="ca")
    rsa, _ = mk.new("server", "rsa", "--san", "localhost", "--key-type",
                    "rsa2048", issuer="ca")
    cli, _ = mk.new("client", "cli", "--cn", "bob", issuer="ca")
    self_, _ = mk.new("self-signed", "self", "--san", "localhost")

    def bc(cert):
        return ext_block(x509_text(cert), "X509v3 Basic Constraints")

    assert bc(ca) == ["X509v3 Basic Constraints: critical", "CA:TRUE"]
    assert bc(ca2) == ["X509v3 Basic Constraints: critical",
                       "CA:TRUE, pathlen:2"]
    assert bc(mid) == ["X509v3 Basic Constraints: critical",
                       "CA:TRUE, pathlen:0"]
    assert bc(mid3)[1] == "CA:TRUE, pathlen:3"
    for leaf in (srv, cli, self_):
        assert bc(leaf) == ["X509v3 Basic Constraints: critical",
                            "CA:FALSE"]

    def ku(cert):
        return ext_block(x509_text(cert), "X509v3 Key Usage")

    def eku(cert):
        return ext_block(x509_text(cert), "X509v3 Extended Key Usage")

    for cert in (ca, mid):
        assert ku(cert) == ["X509v3 Key Usage: critical",
                            "Digital Signature, Certificate Sign, CRL Sign"]
        assert eku(cert) is None
    assert ku(srv)[1] == "Digital Signature"
    assert ku(rsa)[1] == "Digital Signature, Key Encipherment"
    assert ku(cli)[1] == "Digital Signature"
    assert eku(srv)[1] == "TLS Web Server Authentication"
    assert eku(cli)[1] == "TLS Web Client Authentication"
    assert eku(self_)[1] == ("TLS Web Server Authentication, "
                             "TLS Web Client Authentication")

    ca_ski = ext_block(x509_text(ca), "X509v3 Subject Key Identifier")[1]
    mid_text = x509_text(mid)
    assert ext_block(mid_text, "X509v3 Authority Key Identifier")[1] \
        .replace("keyid:", "") == ca_ski
    mid_ski = ext_block(mid_text, "X509v3 Subject Key Identifier")[1]
    assert mid_ski != ca_ski
    serials = set()
    for cert in (ca, ca2, mid, srv, cli, self_):
        text = x509_text(cert)
        assert ext_block(text, "X509v3 Subject Key Identifier")
        assert ext_block(text, "X509v3 Authority Key Identifier")
        serial = openssl("x509", "-in", cert, "-noout", "-serial")
        hexpart = serial.strip().split("=", 1)[1]
        assert len(hexpart) == 32, serial
        serials.add(hexpart)
    assert len(serials) == 6


def test_default_validity(mk):
    ca, _ = mk.new("ca", "ca")
    srv, _ = mk.new("server", "srv", "--san", "localhost", issuer="ca")
    short, _ = mk.new("server", "short", "--san", "localhost", "--days",
                      "7", issuer="ca")

    def days(cert):
        r = openssl("x509", "-in", cert, "-noout", "-checkend",
                    str(86400 * (days_expected[cert] - 1)))
        return r

    days_expected = {ca: 3650, srv: 825, short: 7}
    for cert, n in days_expected.items():
        # Still valid one day before the expected end, not one day after.
        openssl("x509", "-in", cert, "-noout", "-checkend",
                str(86400 * (n - 1)))
        r = subprocess.run(["openssl", "x509", "-in", str(cert), "-noout",
                            "-checkend", str(86400 * (n + 1))],
                           capture_output=True, text=True)
        assert r.returncode == 1, (cert, r.stdout)


def test_sans_of_every_type(mk):
    cert, _ = mk.new("self-signed", "all", "--cn", "svc", "--san",
                     "localhost, *.wild.test,127.0.0.1,::1,DNS:api.test,"
                     "IP:10.1.2.3,email:ops@example.test,"
                     "uri:spiffe://example.test/ns/default/sa/svc")
    san = ext_block(x509_text(cert), "X509v3 Subject Alternative Name")
    assert san[1] == ("DNS:localhost, DNS:*.wild.test, IP Address:127.0.0.1, "
                      "IP Address:0:0:0:0:0:0:0:1, DNS:api.test, "
                      "IP Address:10.1.2.3, email:ops@example.test, "
                      "URI:spiffe://example.test/ns/default/sa/svc")


def test_subject_fields_and_default_cn(mk):
    ca, _ = mk.new("ca", "ca", "--subject", "/C=DE/O=Example/OU=PKI Team")
    assert openssl("x509", "-in", ca, "-noout", "-subject").strip() == \
        "subject=C = DE, O = Example, OU = PKI Team, CN = tlskit development CA"
    srv, _ = mk.new("server", "srv", "--san", "api.test,127.0.0.1",
                    "--subject", "/O=Example", issuer="ca")
    assert openssl("x509", "-in", srv, "-noout", "-subject").strip() == \
        "subject=O = Example, CN = api.test"
    assert openssl("x509", "-in", srv, "-noout", "-issuer").strip() == \
        "issuer=C = DE, O = Example, OU = PKI Team, CN = tlskit development CA"


def test_explicit_dates(mk, tlskit):
    ca, _ = mk.new("ca", "ca")
    old, _ = mk.new("server", "old", "--san", "localhost", "--not-before",
                    "2020-01-01", "--not-after", "2021-01-01T12:30:00Z",
                    issuer="ca")
    dates = openssl("x509", "-in", old, "-noout", "-dates")
    assert "notBefore=Jan  1 00:00:00 2020 GMT" in dates
    assert "notAfter=Jan  1 12:30:00 2021 GMT" in dates
    offset, _ = mk.new("server", "offset", "--san", "localhost",
                       "--not-before", "2030-06-01T10:00:00+02:00",
                       "--days", "10", issuer="ca")
    dates = openssl("x509", "-in", offset, "-noout", "-dates")
    assert "notBefore=Jun  1 08:00:00 2030 GMT" in dates
    assert "notAfter=Jun 11 08:00:00 2030 GMT" in dates


def test_key_reuse_for_renewal(mk):
    ca, _ = mk.new("ca", "ca")
    first, key = mk.new("server", "v1", "--san", "localhost", issuer="ca")
    second, key2 = mk.new("server", "v2", "--san", "localhost", "--key", key,
                          "--days", "30", issuer="ca")
    pub = openssl("x509", "-in", first, "-noout", "-pubkey")
    assert openssl("x509", "-in", second, "-noout", "-pubkey") == pub
    assert openssl("pkey", "-in", key2, "-pubout") == pub
    assert openssl("x509", "-in", first, "-noout", "-serial") != \
        openssl("x509", "-in", second, "-noout", "-serial")


def test_passphrase_encrypts_and_decrypts(mk, tlskit, start_echo):
    pw = mk.p("pw.txt")
    pw.write_text("correct horse\n")
    ca, ca_key = mk.new("ca", "ca", "--passphrase-file", pw)
    assert "BEGIN ENCRYPTED PRIVATE KEY" in ca_key.read_text()
    assert (ca_key.stat().st_mode & 0o777) == 0o600
    # openssl reads it with the same passphrase: PKCS#8 with AES-256.
    info = openssl("asn1parse", "-in", ca_key)
    assert "aes-256-cbc" in info, info
    openssl("pkey", "-in", ca_key, "-passin", "pass:correct horse", "-noout")
    # Without the passphrase the CA key cannot be used: a clear error.
    r = mk.run("new", "server", "--out", mk.p("srv"), "--san", "localhost",
               "--ca", ca, "--ca-key", ca_key)
    assert r.rc == 3, r
    assert f"loading issuer key '{ca_key}': the key is encrypted and no " \
           "passphrase was given" in r.err
    bad = mk.p("bad.txt")
    bad.write_text("wrong\n")
    r = mk.run("new", "server", "--out", mk.p("srv"), "--san", "localhost",
               "--ca", ca, "--ca-key", ca_key, "--passphrase-file", bad)
    assert r.rc == 3 and "wrong passphrase" in r.err, r
    assert not mk.p("srv.key").exists()
    srv, srv_key = mk.new("server", "srv", "--san", "localhost",
                          "--passphrase-file", pw, issuer="ca")
    assert "ENCRYPTED" in srv_key.read_text()
    # --key with an encrypted key (renewal) uses the same option.
    mk.ok("new", "server", "--out", mk.p("srv2"), "--san", "localhost",
          "--key", srv_key, "--passphrase-file", pw, "--ca", ca,
          "--ca-key", ca_key)
    plain = mk.p("plain.key")
    openssl("pkey", "-in", srv_key, "-passin", "pass:correct horse",
            "-out", plain)
    server = start_echo("--cert", srv, "--key", plain)
    roundtrip(tlskit, server, "--ca", ca)


# --------------------------------------------------------------------------
# csr and sign, against openssl
# --------------------------------------------------------------------------

def test_sign_a_request_made_by_openssl(mk, tlskit, start_echo):
    ca, _ = mk.new("ca", "ca")
    mid, _ = mk.new("intermediate", "mid", issuer="ca")
    key, csr = mk.p("req.key"), mk.p("req.csr")
    openssl("req", "-new", "-newkey", "ec", "-pkeyopt",
            "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", csr,
            "-subj", "/O=Outside/CN=localhost",
            "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
            "-addext", "basicConstraints=critical,CA:TRUE")
    r = mk.ok("sign", csr, "--ca", mid, "--ca-key", mk.p("mid.key"),
              "--out", mk.p("signed"))
    assert r.out.split() == [str(mk.p("signed.pem")),
                             str(mk.p("signed-chain.pem"))]
    signed = mk.p("signed.pem")
    text = x509_text(signed)
    assert "Subject: O = Outside, CN = localhost" in text
    assert ext_block(text, "X509v3 Subject Alternative Name")[1] == \
        "DNS:localhost, IP Address:127.0.0.1"
    # Our profile, not what the request asked for.
    assert ext_block(text, "X509v3 Basic Constraints")[1] == "CA:FALSE"
    assert ext_block(text, "X509v3 Extended Key Usage")[1] == \
        "TLS Web Server Authentication"
    assert openssl_verify(ca, signed, mid, "-purpose",
                          "sslserver").returncode == 0
    server = start_echo("--cert", mk.p("signed-chain.pem"), "--key", key)
    roundtrip(tlskit, server, "--ca", ca)

    # --san replaces the request's SANs; --kind client gives clientAuth.
    mk.ok("sign", csr, "--ca", ca, "--ca-key", mk.p("ca.key"), "--kind",
          "client", "--san", "email:x@example.test", "--out", mk.p("c"))
    text = x509_text(mk.p("c.pem"))
    assert ext_block(text, "X509v3 Subject Alternative Name")[1] == \
        "email:x@example.test"
    assert ext_block(text, "X509v3 Extended Key Usage")[1] == \
        "TLS Web Client Authentication"
    assert not mk.p("c-chain.pem").exists()


def test_sign_intermediate_request(mk):
    ca, _ = mk.new("ca", "ca")
    mk.ok("csr", "--out", mk.p("sub"), "--cn", "Sub CA")
    mk.ok("sign", mk.p("sub.csr"), "--kind", "intermediate", "--pathlen",
          "1", "--ca", ca, "--ca-key", mk.p("ca.key"), "--out", mk.p("sub"))
    text = x509_text(mk.p("sub.pem"))
    assert ext_block(text, "X509v3 Basic Constraints")[1] == \
        "CA:TRUE, pathlen:1"


def test_csr_signed_by_openssl(mk, tlskit, start_echo, pki):
    r = mk.ok("csr", "--out", mk.p("req"), "--san",
              "localhost,127.0.0.1", "--subject", "/O=Example",
              "--key-type", "ec-p384")
    assert r.out.split() == [str(mk.p("req.csr")), str(mk.p("req.key"))]
    assert (mk.p("req.key").stat().st_mode & 0o777) == 0o600
    openssl("req", "-in", mk.p("req.csr"), "-noout", "-verify")
    text = openssl("req", "-in", mk.p("req.csr"), "-noout", "-text")
    assert "Subject: O = Example, CN = localhost" in text
    assert "DNS:localhost, IP Address:127.0.0.1" in text
    assert "ecdsa-with-SHA384" in text
    cert = mk.p("req.pem")
    openssl("x509", "-req", "-in", mk.p("req.csr"), "-CA", pki.ca,
            "-CAkey", pki.ca_key, "-CAcreateserial", "-days", "30",
            "-copy_extensions", "copy", "-out", cert)
    assert openssl_verify(pki.ca, cert).returncode == 0
    server = start_echo("--cert", cert, "--key", mk.p("req.key"))
    roundtrip(tlskit, server, "--ca", pki.ca)


def test_sign_refuses_a_tampered_request(mk):
    ca, _ = mk.new("ca", "ca")
    mk.ok("csr", "--out", mk.p("req"), "--cn", "victim.test")
    der = openssl("req", "-in", mk.p("req.csr"), "-outform", "DER") \
        if False else subprocess.run(
            ["openssl", "req", "-in", str(mk.p("req.csr")), "-outform",
             "DER"], capture_output=True, check=True).stdout
    assert b"victim" in der
    bad = mk.p("bad.der")
    bad.write_bytes(der.replace(b"victim", b"victor"))
    r = mk.run("sign", bad, "--ca", ca, "--ca-key", mk.p("ca.key"),
               "--out", mk.p("bad"))
    assert r.rc == 3, r
    assert f"loading request '{bad}': its signature does not verify" in r.err
    assert not mk.p("bad.pem").exists()


# --------------------------------------------------------------------------
# crl
# --------------------------------------------------------------------------

def test_crl_revokes(mk):
    ca, _ = mk.new("ca", "ca")
    bad, _ = mk.new("server", "bad", "--san", "localhost", issuer="ca")
    good, _ = mk.new("server", "good", "--san", "localhost", issuer="ca")
    crl = mk.p("crl.pem")
    mk.ok("crl", "--ca", ca, "--ca-key", mk.p("ca.key"), "--revoke", bad,
          "--revoke", "0x00:ab:cd", "--days", "7", "--out", crl)
    text = openssl("crl", "-in", crl, "-noout", "-text", "-CAfile", ca)
    bad_serial = openssl("x509", "-in", bad, "-noout", "-serial") \
        .strip().split("=")[1]
    assert f"Serial Number: {bad_serial}" in text
    assert "Serial Number: ABCD" in text
    assert "X509v3 Authority Key Identifier" in text
    assert "X509v3 CRL Number" in text
    r = openssl_verify(ca, bad, None, "-crl_check", "-CRLfile", crl)
    assert r.returncode != 0
    assert "revoked" in r.stdout + r.stderr
    r = openssl_verify(ca, good, None, "-crl_check", "-CRLfile", crl)
    assert r.returncode == 0, r.stdout + r.stderr


def test_crl_through_an_intermediate_and_empty(mk):
    ca, _ = mk.new("ca", "ca")
    mid, _ = mk.new("intermediate", "mid", issuer="ca")
    a, _ = mk.new("client", "a", "--cn", "a", issuer="mid")
    b, _ = mk.new("client", "b", "--cn", "b", issuer="mid")
    mk.ok("crl", "--ca", mid, "--ca-key", mk.p("mid.key"), "--out",
          mk.p("mid.crl"), "--revoke", a, b)
    mk.ok("crl", "--ca", ca, "--ca-key", mk.p("ca.key"), "--out",
          mk.p("root.crl"))
    both = mk.p("both.crl")
    both.write_text(mk.p("mid.crl").read_text() + mk.p("root.crl").read_text())
    for leaf in (a, b):
        r = openssl_verify(ca, leaf, mid, "-crl_check_all", "-CRLfile", both)
        assert "revoked" in r.stdout + r.stderr, r.stdout + r.stderr
    # A certificate of another CA cannot be revoked here.
    other, _ = mk.new("ca", "other")
    r = mk.run("crl", "--ca", mid, "--ca-key", mk.p("mid.key"), "--out",
               mk.p("x.crl"), "--revoke", other)
    assert r.rc == 3 and f"revoking certificate '{other}': it was not " \
        f"issued by CA '{mid}'" in r.err, r
    r = mk.run("crl", "--ca", mid, "--ca-key", mk.p("mid.key"), "--out",
               mk.p("x.crl"), "--revoke", "nothex")
    assert r.rc == 2 and "revoking 'nothex': no such certificate file, " \
        "and not a hexadecimal serial" in r.err, r
    assert not mk.p("x.crl").exists()


# --------------------------------------------------------------------------
# verify
# --------------------------------------------------------------------------

def test_verify_verdicts(mk, pki):
    ca, _ = mk.new("ca", "ca")
    mid, _ = mk.new("intermediate", "mid", issuer="ca")
    srv, _ = mk.new("server", "srv", "--san", "localhost,127.0.0.1",
                    issuer="mid")
    cli, _ = mk.new("client", "cli", "--cn", "alice", issuer="ca")
    old, _ = mk.new("server", "old", "--san", "localhost", "--not-before",
                    "2020-01-01", "--not-after", "2021-01-01", issuer="ca")
    chain = mk.p("srv-chain.pem")

    r = mk.ok("verify", chain, "--ca", ca, "--hostname", "localhost",
              "--purpose", "server")
    assert r.out == f"{chain}: OK\n"
    mk.ok("verify", srv, "--ca", ca, "--untrusted", mid, "--hostname",
          "127.0.0.1")
    mk.ok("verify", cli, "--ca", ca, "--purpose", "client")

    def fails(*args):
        r = mk.run("verify", *args)
        assert r.rc == 6, r
        assert r.out == "", r
        return r.err

    err = fails(old, "--ca", ca)
    assert "certificate verify failed at depth 0 (CN=localhost): " \
           "certificate has expired (notAfter 2021-01-01 00:00:00 UTC)" in err
    err = fails(srv, "--ca", ca)
    assert "unable to get local issuer certificate: issuer " \
           "'CN=tlskit intermediate CA' is not trusted" in err
    err = fails(chain, "--ca", pki.other_ca)
    assert "certificate verify failed at depth 1" in err
    err = fails(chain, "--ca", ca, "--hostname", "example.test")
    assert "hostname mismatch: certificate is valid for localhost, " \
           "127.0.0.1; not example.test" in err
    err = fails(cli, "--ca", ca, "--purpose", "server")
    assert "certificate verify failed at depth 0 (CN=alice): unsuitable " \
           "certificate purpose" in err
    # The same words as for the openssl-made PKI, and the same verdicts.
    mk.ok("verify", pki.server, "--ca", pki.ca, "--hostname", "localhost")
    assert "certificate has expired" in fails(pki.expired, "--ca", pki.ca)
    assert "not yet valid" in fails(pki.notyet, "--ca", pki.ca)
    assert "hostname mismatch" in fails(pki.wronghost, "--ca", pki.ca,
                                        "--hostname", "localhost")
    assert "self-signed certificate" in fails(pki.ca)  # not in system store


def test_verify_der_and_unreadable(mk):
    ca, _ = mk.new("ca", "ca")
    srv, _ = mk.new("server", "srv", "--san", "localhost", issuer="ca")
    der = mk.p("srv.der")
    openssl("x509", "-in", srv, "-outform", "DER", "-out", der)
    mk.ok("verify", der, "--ca", ca)
    r = mk.run("verify", mk.p("missing.pem"), "--ca", ca)
    assert r.rc == 3, r
    assert f"loading certificate '{mk.p('missing.pem')}': No such file or " \
           "directory" in r.err


# --------------------------------------------------------------------------
# Bad input: a clear message naming the object, a documented exit code
# --------------------------------------------------------------------------

def test_bad_inputs(mk, pki):
    ca, ca_key = mk.new("ca", "ca")
    truncated = mk.p("truncated.pem")
    text = ca.read_text()
    truncated.write_text(text[: len(text) // 2])

    def fails(rc, message, *args):
        r = mk.run(*args)
        assert r.rc == rc, r
        assert message in r.err, r
        assert r.err.startswith("tlskit: cert: "), r
        return r

    leaf = ["new", "server", "--san", "localhost", "--out", mk.p("leaf")]
    fails(3, f"loading issuer certificate '{pki.garbage}': no PEM or DER "
          "certificate found", *leaf, "--ca", pki.garbage, "--ca-key", ca_key)
    fails(3, f"loading issuer certificate '{truncated}': corrupt PEM "
          "certificate", *leaf, "--ca", truncated, "--ca-key", ca_key)
    fails(3, f"loading issuer key '{pki.ca_key}': it does not match issuer "
          f"certificate '{ca}'", *leaf, "--ca", ca, "--ca-key", pki.ca_key)
    fails(3, f"loading issuer key '{ca}': no PEM private key found",
          *leaf, "--ca", ca, "--ca-key", ca)
    fails(3, f"loading certificate '{truncated}': corrupt PEM certificate",
          "verify", truncated)
    fails(3, f"loading certificate '{pki.garbage}': no PEM or DER "
          "certificate found", "verify", pki.garbage)
    fails(3, f"loading request '{pki.garbage}': no PEM or DER certificate "
          "request found", "sign", pki.garbage, "--ca", ca, "--ca-key",
          ca_key, "--out", mk.p("x"))
    nodir = mk.p("no/such/dir/leaf")
    fails(3, f"writing key '{nodir}.key': No such file or directory",
          "new", "ca", "--out", nodir)
    fails(3, f"writing CRL '{nodir}.crl': No such file or directory",
          "crl", "--ca", ca, "--ca-key", ca_key, "--out", f"{nodir}.crl")
    fails(2, "generating certificate: SAN 'exa mple.test': not a valid DNS "
          "name or IP address", "new", "self-signed", "--san",
          "ok.test,exa mple.test", "--out", mk.p("x"))
    fails(2, "SAN 'IP:1.2.3.999': not a valid IPv4 or IPv6 address",
          "new", "self-signed", "--san", "IP:1.2.3.999", "--out", mk.p("x"))
    fails(2, "generating certificate: empty SAN entry", "new",
          "self-signed", "--san", "a.test,,b.test", "--out", mk.p("x"))
    fails(2, "--not-after: '2021-02-30' is not a date", "new", "ca",
          "--not-after", "2021-02-30", "--out", mk.p("x"))
    fails(2, "--not-before: 'yesterday' is not a date", "new", "ca",
          "--not-before", "yesterday", "--out", mk.p("x"))
    fails(2, "--days: '0' is not a number from 1 to 36500", "new", "ca",
          "--days", "0", "--out", mk.p("x"))
    fails(2, "not_after is not later than not_before", "new", "ca",
          "--not-before", "2030-01-01", "--not-after", "2029-01-01",
          "--out", mk.p("x"))
    fails(2, "unknown certificate kind 'leaf'", "new", "leaf", "--out",
          mk.p("x"))
    fails(2, "--key-type: unknown value 'dsa'", "new", "ca", "--key-type",
          "dsa", "--out", mk.p("x"))
    fails(2, "server and client certificates need an issuer", "new",
          "server", "--san", "x.test", "--out", mk.p("x"))
    fails(2, "intermediate certificates need an issuer", "new",
          "intermediate", "--out", mk.p("x"))
    fails(2, "a path length applies to CA certificates only", "new",
          "self-signed", "--san", "x.test", "--pathlen", "1", "--out",
          mk.p("x"))
    fails(2, "cert verify does not take --out", "verify", ca, "--out",
          mk.p("x"))
    fails(2, "subject '/O': expected /FIELD=value", "new", "ca",
          "--subject", "/O", "--out", mk.p("x"))
    fails(2, "subject '/XX=y'", "new", "ca", "--subject", "/XX=y",
          "--out", mk.p("x"))
    fails(2, "unknown subcommand 'frobnicate'", "frobnicate")
    assert not list(mk.dir.glob("x*")), list(mk.dir.glob("x*"))
    assert not mk.p("leaf.key").exists()


def test_existing_files_need_force(mk):
    ca, ca_key = mk.new("ca", "ca")
    before = (ca.read_bytes(), ca_key.read_bytes())
    r = mk.run("new", "ca", "--out", mk.p("ca"))
    assert r.rc == 3, r
    assert f"writing key '{ca_key}': file exists (use --force to " \
           "overwrite)" in r.err
    assert (ca.read_bytes(), ca_key.read_bytes()) == before
    ca_key.unlink()
    r = mk.run("new", "ca", "--out", mk.p("ca"))
    assert r.rc == 3 and f"writing certificate '{ca}': file exists" in r.err
    assert not ca_key.exists(), "a key was left without its certificate"
    mk.ok("new", "ca", "--out", mk.p("ca"), "--force")
    assert ca.read_bytes() != before[0]
    crl = mk.p("c.crl")
    mk.ok("crl", "--ca", ca, "--ca-key", ca_key, "--out", crl)
    r = mk.run("crl", "--ca", ca, "--ca-key", ca_key, "--out", crl)
    assert r.rc == 3 and f"writing CRL '{crl}': file exists" in r.err
    mk.ok("crl", "--ca", ca, "--ca-key", ca_key, "--out", crl, "--force")


def test_help_lists_every_subcommand(tlskit):
    r = tlskit.run("cert", "--help")
    assert r.rc == 0
    for word in ("cert new KIND", "cert csr", "cert sign CSR",
                 "cert verify CERT", "cert crl", "cert show", "intermediate",
                 "--passphrase-file", "--pathlen", "--untrusted",
                 "--hostname", "--purpose", "--revoke", "Exit codes:"):
        assert word in r.out, word
    assert tlskit.run("cert", "new", "--help").out == r.out
