"""`tlskit cert show`: files (PEM, bundles, DER) and live servers, every
field compared with what `openssl x509` and Python's ssl module report for
the same certificates; --json checked against docs/json-schema.md;
--check-days; bad inputs."""
import base64
import hashlib
import ipaddress
import json
import re
import ssl
import subprocess

import pytest

from conftest import openssl, start_listener

TIME_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
KU_WORDS = {
    "Digital Signature": "digitalSignature",
    "Non Repudiation": "nonRepudiation",
    "Key Encipherment": "keyEncipherment",
    "Data Encipherment": "dataEncipherment",
    "Key Agreement": "keyAgreement",
    "Certificate Sign": "keyCertSign",
    "CRL Sign": "cRLSign",
    "Encipher Only": "encipherOnly",
    "Decipher Only": "decipherOnly",
}
EKU_WORDS = {
    "TLS Web Server Authentication": "serverAuth",
    "TLS Web Client Authentication": "clientAuth",
    "Code Signing": "codeSigning",
    "E-mail Protection": "emailProtection",
    "Time Stamping": "timeStamping",
    "OCSP Signing": "OCSPSigning",
}
CERT_KEYS = {"subject", "issuer", "self_signed", "serial", "not_before",
             "not_after", "validity", "days_remaining", "sans", "public_key",
             "signature_algorithm", "key_usage", "extended_key_usage",
             "basic_constraints", "fingerprint_sha256", "fingerprint_sha1",
             "pin_sha256"}


# --------------------------------------------------------------------------
# What openssl and Python say
# --------------------------------------------------------------------------

def split_pem(path):
    """The certificates of a PEM bundle, each as its own PEM text."""
    text = open(path).read()
    return re.findall(r"-----BEGIN CERTIFICATE-----.*?"
                      r"-----END CERTIFICATE-----\n", text, re.S)


def openssl_view(pem_path):
    """The fields of one certificate (PEM file) as openssl prints them, in
    tlskit's vocabulary."""
    text = openssl("x509", "-in", pem_path, "-noout", "-text")
    view = {}
    m = re.search(r"Signature Algorithm: (\S+)", text)
    view["signature_algorithm"] = m.group(1)
    m = re.search(r"Public-Key: \((\d+) bit\)", text)
    bits = int(m.group(1)) if m else None
    if "NIST CURVE:" in text:
        curve = re.search(r"NIST CURVE: (\S+)", text).group(1)
        view["public_key"] = {"type": f"EC {curve}", "bits": bits}
    elif "rsaEncryption" in text:
        view["public_key"] = {"type": f"RSA {bits}", "bits": bits}
    elif "Public Key Algorithm: ED25519" in text:
        view["public_key"] = {"type": "Ed25519", "bits": 256}  # 32-byte key
    m = re.search(r"X509v3 Key Usage:.*\n\s+(.*)\n", text)
    view["key_usage"] = ([KU_WORDS[w.strip()] for w in m.group(1).split(",")]
                         if m else [])
    m = re.search(r"X509v3 Extended Key Usage:.*\n\s+(.*)\n", text)
    view["extended_key_usage"] = (
        [EKU_WORDS[w.strip()] for w in m.group(1).split(",")] if m else [])
    m = re.search(r"X509v3 Basic Constraints:.*\n\s+(.*)\n", text)
    if m:
        bc = m.group(1)
        pathlen = re.search(r"pathlen:(\d+)", bc)
        view["basic_constraints"] = {
            "ca": bc.startswith("CA:TRUE"),
            "path_len": int(pathlen.group(1)) if pathlen else None}
    else:
        view["basic_constraints"] = None
    fp = openssl("x509", "-in", pem_path, "-noout", "-fingerprint",
                 "-sha256").strip().split("=", 1)[1]
    view["fingerprint_sha256"] = fp.replace(":", "").lower()
    fp = openssl("x509", "-in", pem_path, "-noout", "-fingerprint",
                 "-sha1").strip().split("=", 1)[1]
    view["fingerprint_sha1"] = fp.replace(":", "").lower()
    serial = openssl("x509", "-in", pem_path, "-noout",
                     "-serial").strip().split("=", 1)[1]
    view["serial"] = serial.lower()
    for line in openssl("x509", "-in", pem_path, "-noout",
                        "-dates").splitlines():
        key, _, value = line.partition("=")
        view["not_before" if key == "notBefore" else "not_after"] = \
            int(ssl.cert_time_to_seconds(value))
    view["subject"] = openssl("x509", "-in", pem_path, "-noout", "-subject",
                              "-nameopt", "RFC2253").strip().split("=", 1)[1]
    view["issuer"] = openssl("x509", "-in", pem_path, "-noout", "-issuer",
                             "-nameopt", "RFC2253").strip().split("=", 1)[1]
    view["pin_sha256"] = openssl_pin(pem_path)
    return view


def openssl_pin(pem_path):
    """curl's recipe: x509 -pubkey | pkey -pubin -outform der | sha256 |
    base64."""
    pub = subprocess.run(["openssl", "x509", "-in", str(pem_path),
                          "-pubkey", "-noout"], check=True,
                         capture_output=True).stdout
    der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "der"],
                         input=pub, check=True, capture_output=True).stdout
    digest = subprocess.run(["openssl", "dgst", "-sha256", "-binary"],
                            input=der, check=True,
                            capture_output=True).stdout
    return "sha256//" + base64.b64encode(digest).decode()


def python_view(pem_path):
    """What Python's ssl module (the tutorial's getpeercert()) decodes."""
    d = ssl._ssl._test_decode_cert(str(pem_path))
    sans = []
    for kind, value in d.get("subjectAltName", ()):
        if kind == "DNS":
            sans.append(f"DNS:{value}")
        elif kind == "IP Address":
            sans.append(f"IP:{ipaddress.ip_address(value.strip())}")
        elif kind == "email":
            sans.append(f"email:{value}")
        elif kind == "URI":
            sans.append(f"URI:{value}")
    cn = [v for rdn in d["subject"] for k, v in rdn if k == "commonName"]
    return {
        "sans": sans,
        "serial": d["serialNumber"].lower().lstrip("0") or "0",
        "not_before": int(ssl.cert_time_to_seconds(d["notBefore"])),
        "not_after": int(ssl.cert_time_to_seconds(d["notAfter"])),
        "cn": cn[0] if cn else None,
    }


def rfc3339_seconds(text):
    import calendar
    import time
    return calendar.timegm(time.strptime(text, "%Y-%m-%dT%H:%M:%SZ"))


# --------------------------------------------------------------------------
# Checking tlskit's answer
# --------------------------------------------------------------------------

def check_schema_cert(c):
    assert set(c) == CERT_KEYS, set(c) ^ CERT_KEYS
    assert TIME_RE.match(c["not_before"]) and TIME_RE.match(c["not_after"])
    assert re.fullmatch(r"[0-9a-f]{64}", c["fingerprint_sha256"])
    assert re.fullmatch(r"[0-9a-f]{40}", c["fingerprint_sha1"])
    assert re.fullmatch(r"sha256//[A-Za-z0-9+/]{43}=", c["pin_sha256"])
    assert re.fullmatch(r"[0-9a-f]+", c["serial"])
    assert c["validity"] in ("valid", "expired", "not_yet_valid")
    assert isinstance(c["days_remaining"], int)
    assert isinstance(c["self_signed"], bool)
    for key in ("sans", "key_usage", "extended_key_usage"):
        assert isinstance(c[key], list)
        assert all(isinstance(x, str) for x in c[key])
    assert set(c["public_key"]) == {"type", "bits"}
    bc = c["basic_constraints"]
    assert bc is None or set(bc) == {"ca", "path_len"}


def check_schema(doc):
    assert doc["schema"] == "tlskit/1"
    for key in doc:
        assert re.fullmatch(r"[a-z][a-z0-9_]*", key), key
    for c in doc["certificates"]:
        check_schema_cert(c)
    for c in doc["verified_chain"] or []:
        check_schema_cert(c)
    v = doc["verification"]
    assert v is None or (set(v) == {"ok", "reason"} and
                         isinstance(v["ok"], bool))


def compare_with_openssl(c, pem_path):
    """Field by field against openssl x509 and Python's ssl."""
    o = openssl_view(pem_path)
    p = python_view(pem_path)
    for key in ("subject", "issuer", "serial", "signature_algorithm",
                "public_key", "key_usage", "extended_key_usage",
                "basic_constraints", "fingerprint_sha256",
                "fingerprint_sha1", "pin_sha256"):
        assert c[key] == o[key], (key, c[key], o[key])
    assert rfc3339_seconds(c["not_before"]) == o["not_before"] == \
        p["not_before"]
    assert rfc3339_seconds(c["not_after"]) == o["not_after"] == p["not_after"]
    assert c["serial"].lstrip("0") == p["serial"]
    assert c["sans"] == p["sans"]
    if p["cn"]:
        assert f"CN={p['cn']}" in c["subject"]
    # the fingerprint is of the DER, as Python computes it too
    der = ssl.PEM_cert_to_DER_cert(open(pem_path).read())
    assert c["fingerprint_sha256"] == hashlib.sha256(der).hexdigest()


def show_json(tlskit, *args):
    res = tlskit.run("cert", "show", *args, "--json")
    assert res.rc == 0, res
    doc = json.loads(res.out)
    check_schema(doc)
    return doc


# --------------------------------------------------------------------------
# Certificates made with openssl for these tests
# --------------------------------------------------------------------------

class Chain:
    """root -> intermediate -> leaf (P-256), an Ed25519 self-signed leaf and
    a leaf expiring in 5 days, all made with the openssl command."""

    def __init__(self, d):
        self.dir = d
        self.root, self.root_key = self._ca("root", "Chain Root CA", None)
        self.inter, self.inter_key = self._ca("inter", "Chain Intermediate",
                                              ("root", "pathlen:0"))
        self.leaf, self.leaf_key = self._leaf(
            "leaf", "chain.test", "inter", 30,
            "subjectAltName=DNS:localhost,DNS:chain.test,IP:127.0.0.1,"
            "IP:::1,email:ops@chain.test,URI:spiffe://chain.test/svc")
        self.soon, self.soon_key = self._leaf(
            "soon", "soon.test", "inter", 5, "subjectAltName=DNS:soon.test")
        self.bundle = d / "bundle.pem"
        self.bundle.write_text(open(self.leaf).read() +
                               open(self.inter).read())
        self.ed = d / "ed.pem"
        self.ed_key = d / "ed.key"
        openssl("req", "-x509", "-newkey", "ed25519", "-nodes",
                "-keyout", self.ed_key, "-out", self.ed, "-days", "10",
                "-subj", "/CN=ed.test/O=tlskit tests",
                "-addext", "subjectAltName=DNS:ed.test")
        self.der = d / "leaf.der"
        openssl("x509", "-in", self.leaf, "-outform", "der",
                "-out", self.der)

    def _key(self, name):
        key = self.dir / f"{name}.key"
        openssl("genpkey", "-algorithm", "EC", "-pkeyopt",
                "ec_paramgen_curve:P-256", "-out", key)
        return key

    def _ca(self, name, cn, issuer):
        key = self._key(name)
        cert = self.dir / f"{name}.pem"
        if issuer is None:
            openssl("req", "-x509", "-new", "-key", key, "-out", cert,
                    "-days", "3650", "-subj", f"/CN={cn}",
                    "-addext", "basicConstraints=critical,CA:TRUE",
                    "-addext", "keyUsage=critical,keyCertSign,cRLSign")
            return cert, key
        ext = self.dir / f"{name}.ext"
        ext.write_text(f"basicConstraints=critical,CA:TRUE,{issuer[1]}\n"
                       "keyUsage=critical,keyCertSign,cRLSign\n")
        self._sign(name, cn, key, issuer[0], ext, 3650)
        return cert, key

    def _leaf(self, name, cn, issuer, days, sans):
        key = self._key(name)
        ext = self.dir / f"{name}.ext"
        ext.write_text("basicConstraints=critical,CA:FALSE\n"
                       "keyUsage=critical,digitalSignature\n"
                       "extendedKeyUsage=serverAuth,clientAuth\n"
                       f"{sans}\n")
        self._sign(name, cn, key, issuer, ext, days)
        return self.dir / f"{name}.pem", key

    def _sign(self, name, cn, key, issuer, ext, days):
        csr = self.dir / f"{name}.csr"
        openssl("req", "-new", "-key", key, "-out", csr, "-subj", f"/CN={cn}")
        openssl("x509", "-req", "-in", csr, "-CA", self.dir / f"{issuer}.pem",
                "-CAkey", self.dir / f"{issuer}.key", "-CAcreateserial",
                "-out", self.dir / f"{name}.pem", "-days", str(days),
                "-extfile", ext)


@pytest.fixture(scope="module")
def chain(tmp_path_factory):
    return Chain(tmp_path_factory.mktemp("chain"))


def s_server(procs, cert, key, *args):
    """openssl s_server on a free port; returns its port. Its stdin stays
    open (a pipe): at end of input s_server would hang up on clients."""
    def argv(port):
        return ["openssl", "s_server", "-accept", f"127.0.0.1:{port}",
                "-cert", cert, "-key", key, "-naccept", "1", *args]
    _, port = start_listener(procs, "s_server", argv, r"ACCEPT",
                             stdin=subprocess.PIPE)
    return port


# --------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------

def test_single_pem_matches_openssl_and_python(tlskit, pki):
    doc = show_json(tlskit, pki.server)
    assert doc["source"] == {"type": "file", "path": str(pki.server)}
    assert len(doc["certificates"]) == 1
    compare_with_openssl(doc["certificates"][0], pki.server)
    assert doc["verification"] is None and doc["verified_chain"] is None


@pytest.mark.parametrize("name", ["ca", "rsa_server", "client", "expired",
                                  "notyet", "wronghost"])
def test_pki_certificates_match_openssl(tlskit, pki, name):
    path = getattr(pki, name)
    c = show_json(tlskit, path)["certificates"][0]
    compare_with_openssl(c, path)


def test_chain_leaf_with_every_san_kind(tlskit, chain):
    c = show_json(tlskit, chain.leaf)["certificates"][0]
    compare_with_openssl(c, chain.leaf)
    assert c["sans"] == ["DNS:localhost", "DNS:chain.test", "IP:127.0.0.1",
                         "IP:::1", "email:ops@chain.test",
                         "URI:spiffe://chain.test/svc"]
    assert c["extended_key_usage"] == ["serverAuth", "clientAuth"]
    assert c["self_signed"] is False


def test_intermediate_pathlen_and_root(tlskit, chain):
    inter = show_json(tlskit, chain.inter)["certificates"][0]
    assert inter["basic_constraints"] == {"ca": True, "path_len": 0}
    root = show_json(tlskit, chain.root)["certificates"][0]
    assert root["basic_constraints"] == {"ca": True, "path_len": None}
    assert root["self_signed"] is True
    assert root["key_usage"] == ["keyCertSign", "cRLSign"]


def test_ed25519(tlskit, chain):
    c = show_json(tlskit, chain.ed)["certificates"][0]
    compare_with_openssl(c, chain.ed)
    assert c["public_key"]["type"] == "Ed25519"
    assert c["signature_algorithm"] == "ED25519"
    assert c["subject"] == "O=tlskit tests,CN=ed.test"


def test_bundle_shows_every_certificate_in_order(tlskit, chain, tmp_path):
    doc = show_json(tlskit, chain.bundle)
    assert len(doc["certificates"]) == 2
    for i, pem in enumerate(split_pem(chain.bundle)):
        one = tmp_path / f"part{i}.pem"
        one.write_text(pem)
        compare_with_openssl(doc["certificates"][i], one)


def test_bundle_with_a_key_block_first(tlskit, chain, tmp_path):
    mixed = tmp_path / "mixed.pem"
    mixed.write_text(open(chain.leaf_key).read() + open(chain.bundle).read())
    doc = show_json(tlskit, mixed)
    assert [c["subject"] for c in doc["certificates"]] == [
        "CN=chain.test", "CN=Chain Intermediate"]


def test_der_file(tlskit, chain):
    doc = show_json(tlskit, chain.der)
    assert len(doc["certificates"]) == 1
    compare_with_openssl(doc["certificates"][0], chain.leaf)


def test_file_verified_against_ca(tlskit, chain):
    doc = show_json(tlskit, chain.bundle, "--ca", chain.root,
                    "--servername", "chain.test")
    assert doc["verification"] == {"ok": True, "reason": "ok"}
    assert [c["subject"] for c in doc["verified_chain"]] == [
        "CN=chain.test", "CN=Chain Intermediate", "CN=Chain Root CA"]
    doc = show_json(tlskit, chain.leaf, "--ca", chain.root)
    assert doc["verification"]["ok"] is False
    assert "unable to get local issuer certificate" in \
        doc["verification"]["reason"]


def test_text_output_has_every_field(tlskit, chain):
    res = tlskit.run("cert", "show", chain.bundle, "--ca", chain.root)
    assert res.rc == 0, res
    leaf = openssl_view(chain.leaf)
    for needle in ("subject:", "CN=chain.test", "issuer:", "serial:",
                   leaf["serial"], "not before:", "not after:", "days left",
                   "DNS:localhost, DNS:chain.test, IP:127.0.0.1, IP:::1",
                   "EC P-256 (256 bits)", "ecdsa-with-SHA256",
                   "digitalSignature", "serverAuth, clientAuth",
                   "CA:FALSE", "CA:TRUE, path length 0",
                   leaf["fingerprint_sha256"], leaf["fingerprint_sha1"],
                   leaf["pin_sha256"], "verification:", "ok",
                   "Chain as built to a trust anchor (3 certificates)",
                   "CN=Chain Root CA (from the trust store)"):
        assert needle in res.out, (needle, res.out)


# --------------------------------------------------------------------------
# --check-days
# --------------------------------------------------------------------------

def test_check_days_expiring(tlskit, chain):
    res = tlskit.run("cert", "show", chain.soon, "--check-days", "30")
    assert res.rc == 7, res
    assert "CN=soon.test" in res.err and "expires in 4 days" in res.err \
        or "expires in 5 days" in res.err, res.err
    assert "--check-days 30" in res.err
    res = tlskit.run("cert", "show", chain.soon, "--check-days", "3")
    assert res.rc == 0, res


def test_check_days_json_reports_problems(tlskit, chain):
    res = tlskit.run("cert", "show", chain.soon, "--check-days", "30",
                     "--json")
    assert res.rc == 7, res
    doc = json.loads(res.out)
    check_schema(doc)
    assert doc["check"]["ok"] is False and doc["check"]["days"] == 30
    assert "CN=soon.test" in doc["check"]["problems"][0]


def test_check_days_healthy(tlskit, pki):
    res = tlskit.run("cert", "show", pki.server, "--check-days", "30")
    assert res.rc == 0, res
    assert res.err == ""


@pytest.mark.parametrize("name,words", [("expired", "has expired"),
                                        ("notyet", "is not yet valid")])
def test_check_days_expired_and_not_yet_valid(tlskit, pki, name, words):
    res = tlskit.run("cert", "show", getattr(pki, name), "--check-days", "0")
    assert res.rc == 7, res
    assert words in res.err and "CN=localhost" in res.err, res.err
    doc = show_json(tlskit, getattr(pki, name))
    c = doc["certificates"][0]
    assert c["validity"] == ("expired" if name == "expired"
                             else "not_yet_valid")
    if name == "expired":
        assert c["days_remaining"] < 0


# --------------------------------------------------------------------------
# Live servers
# --------------------------------------------------------------------------

def test_tlskit_echo_verified(tlskit, pki, start_echo):
    server = start_echo(*pki.server_args())
    doc = show_json(tlskit, server.addr, "--ca", pki.ca,
                    "--servername", "localhost")
    assert doc["source"] == {"type": "server", "address": server.addr,
                             "servername": "localhost"}
    conn = doc["connection"]
    assert conn["version"] == "TLSv1.3" and conn["cipher"].startswith("TLS_")
    assert conn["handshake"] == {"ok": True, "error": None}
    assert conn["client_certificate_requested"] is False
    assert doc["verification"] == {"ok": True, "reason": "ok"}
    compare_with_openssl(doc["certificates"][0], pki.server)
    assert [c["subject"] for c in doc["verified_chain"]] == [
        "CN=localhost", f"CN={pki.CA_NAME}"]


def test_tlskit_echo_text(tlskit, pki, start_echo):
    server = start_echo(*pki.server_args())
    res = tlskit.run("cert", "show", server.addr, "--ca", pki.ca)
    assert res.rc == 0, res
    for needle in ("connection:", "TLSv1.3", "ALPN (none)", "verification:",
                   "Chain as sent (1 certificate)",
                   "Chain as built to a trust anchor (2 certificates)",
                   openssl_view(pki.server)["pin_sha256"]):
        assert needle in res.out, (needle, res.out)


def test_server_chain_via_openssl_cert_chain(tlskit, chain, procs):
    port = s_server(procs, chain.leaf, chain.leaf_key, "-cert_chain",
                    chain.inter)
    doc = show_json(tlskit, f"127.0.0.1:{port}", "--ca", chain.root,
                    "--servername", "chain.test")
    assert [c["subject"] for c in doc["certificates"]] == [
        "CN=chain.test", "CN=Chain Intermediate"]
    assert [c["subject"] for c in doc["verified_chain"]] == [
        "CN=chain.test", "CN=Chain Intermediate", "CN=Chain Root CA"]
    assert doc["verification"]["ok"] is True
    compare_with_openssl(doc["certificates"][0], chain.leaf)
    compare_with_openssl(doc["verified_chain"][2], chain.root)


def test_untrusted_chain_still_shown(tlskit, pki, start_echo):
    server = start_echo("--cert", pki.other_server, "--key",
                        pki.other_server_key)
    doc = show_json(tlskit, server.addr, "--ca", pki.ca)
    assert doc["verification"]["ok"] is False
    assert doc["verification"]["reason"].startswith(
        "certificate verify failed at depth 0 (CN=localhost)")
    assert f"issuer 'CN={pki.OTHER_CA_NAME}' is not trusted" in \
        doc["verification"]["reason"]
    compare_with_openssl(doc["certificates"][0], pki.other_server)
    assert doc["connection"]["handshake"]["ok"] is True


def test_system_store_does_not_know_test_ca(tlskit, pki, start_echo):
    server = start_echo(*pki.server_args())
    doc = show_json(tlskit, server.addr)
    assert doc["verification"]["ok"] is False
    assert "not trusted" in doc["verification"]["reason"]
    assert len(doc["certificates"]) == 1


@pytest.mark.parametrize("name,words", [
    ("expired", "certificate has expired"),
    ("wronghost", "hostname mismatch: certificate is valid for other.example"
                  "; not localhost"),
])
def test_verdict_words(tlskit, pki, start_echo, name, words):
    server = start_echo("--cert", getattr(pki, name), "--key",
                        getattr(pki, f"{name}_key"))
    doc = show_json(tlskit, server.addr, "--ca", pki.ca, "--servername",
                    "localhost")
    assert doc["verification"]["ok"] is False
    assert words in doc["verification"]["reason"], doc["verification"]


@pytest.mark.parametrize("version", ["-tls1_2", "-tls1_3"])
def test_server_demanding_client_certificate(tlskit, chain, procs, version):
    port = s_server(procs, chain.leaf, chain.leaf_key, "-cert_chain",
                    chain.inter, "-Verify", "1", version)
    doc = show_json(tlskit, f"127.0.0.1:{port}", "--ca", chain.root)
    assert doc["connection"]["client_certificate_requested"] is True
    assert doc["verification"] == {"ok": True, "reason": "ok"}
    assert len(doc["certificates"]) == 2
    if version == "-tls1_2":
        # the server gives up before finishing; the chain came before
        hs = doc["connection"]["handshake"]
        assert hs["ok"] is False and "client certificate" in hs["error"]


def test_check_days_on_server(tlskit, chain, procs):
    port = s_server(procs, chain.soon, chain.soon_key, "-cert_chain",
                    chain.inter)
    res = tlskit.run("cert", "show", f"127.0.0.1:{port}", "--ca", chain.root,
                     "--check-days", "10")
    assert res.rc == 7, res
    assert "certificate #0 (CN=soon.test)" in res.err


# --------------------------------------------------------------------------
# Bad input
# --------------------------------------------------------------------------

def test_not_a_certificate(tlskit, pki):
    res = tlskit.run("cert", "show", pki.garbage)
    assert res.rc == 3, res
    assert str(pki.garbage) in res.err and "no PEM or DER certificate" in \
        res.err


def test_key_file_is_not_a_certificate(tlskit, pki):
    res = tlskit.run("cert", "show", pki.server_key)
    assert res.rc == 3, res
    assert "no certificate found" in res.err and "PRIVATE KEY" in res.err


def test_truncated_pem(tlskit, pki, tmp_path):
    cut = tmp_path / "cut.pem"
    cut.write_text(open(pki.server).read()[:300])
    res = tlskit.run("cert", "show", cut)
    assert res.rc == 3, res
    assert str(cut) in res.err and "certificate #1 is truncated" in res.err
    second = tmp_path / "second.pem"
    second.write_text(open(pki.server).read() + open(pki.ca).read()[:200])
    res = tlskit.run("cert", "show", second)
    assert res.rc == 3, res
    assert "certificate #2 is truncated" in res.err


def test_empty_and_der_with_trailing_bytes(tlskit, chain, tmp_path):
    empty = tmp_path / "empty.pem"
    empty.write_bytes(b"")
    res = tlskit.run("cert", "show", empty)
    assert res.rc == 3 and "empty" in res.err, res
    der = tmp_path / "junk.der"
    der.write_bytes(open(chain.der, "rb").read() + b"junk")
    res = tlskit.run("cert", "show", der)
    assert res.rc == 3 and str(der) in res.err, res


def test_missing_file_is_not_taken_for_a_server(tlskit, tmp_path):
    res = tlskit.run("cert", "show", tmp_path / "nope.pem")
    assert res.rc == 3, res
    assert "no such file, and not HOST:PORT" in res.err


def test_connection_refused(tlskit):
    from conftest import free_port
    res = tlskit.run("cert", "show", f"127.0.0.1:{free_port()}")
    assert res.rc == 4, res
    assert "Connection refused" in res.err


def test_not_a_tls_server_times_out(tlskit):
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        port = s.getsockname()[1]
        res = tlskit.run("cert", "show", f"127.0.0.1:{port}", "--timeout",
                         "0.5")
    assert res.rc == 4, res
    assert "no answer within 0.5 s" in res.err


@pytest.mark.parametrize("args,words", [
    ([], "missing SOURCE"),
    (["a.pem", "b.pem"], "unexpected argument"),
    (["x.pem", "--check-days", "soon"], "--check-days"),
    (["x.pem", "--check-days", "-1"], "--check-days"),
    (["x.pem", "--timeout", "0"], "--timeout"),
    (["x.pem", "--bogus"], "unknown option '--bogus'"),
])
def test_usage_errors(tlskit, args, words):
    res = tlskit.run("cert", "show", *args)
    assert res.rc == 2, res
    assert words in res.err, res.err


def test_bad_ca_file(tlskit, pki):
    res = tlskit.run("cert", "show", pki.server, "--ca", pki.garbage)
    assert res.rc == 3, res
    assert "--ca" in res.err and str(pki.garbage) in res.err


def test_help(tlskit):
    res = tlskit.run("cert", "show", "--help")
    assert res.rc == 0 and "--check-days" in res.out
