"""`tlskit ciphers`: the cipher list a configuration resolves to, compared
with `openssl ciphers -v -s` and `openssl ciphers -stdname` for the same
settings; the table, --json, and invalid lists."""
import json
import re
import subprocess

import pytest

LISTS_12 = ["ECDHE+AESGCM", "ECDHE+AESGCM:ECDHE+CHACHA20",
            "HIGH:!aNULL:!MD5", "AES128-SHA:AES256-SHA256:ECDHE-RSA-AES128-SHA"]
SUITES_13 = ["TLS_AES_256_GCM_SHA384",
             "TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256"]


def openssl_ciphers(*args):
    """openssl ciphers -v lines as dicts (name, version, kx, au, enc,
    mac); with -stdname also the IANA name."""
    r = subprocess.run(["openssl", "ciphers", "-v", "-s", *args],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    out = []
    for line in r.stdout.splitlines():
        iana = None
        if "-stdname" in args:
            iana, _, line = line.partition(" - ")
            iana = iana.strip()
        fields = line.split()
        f = dict(x.split("=", 1) for x in fields[2:])
        # openssl's description says TLSv1 where the version name is TLSv1.0
        version = "TLSv1.0" if fields[1] == "TLSv1" else fields[1]
        out.append({"name": fields[0], "protocol": version,
                    "key_exchange": f["Kx"], "authentication": f["Au"],
                    "encryption": f["Enc"], "mac": f["Mac"], "iana": iana})
    return out


def tlskit_json(tlskit, *args):
    res = tlskit.run("ciphers", "--json", *args)
    assert res.rc == 0, res
    doc = json.loads(res.out)
    assert doc["schema"] == "tlskit/1"
    for c in doc["ciphers"]:
        assert set(c) == {"name", "iana_name", "id", "protocol",
                          "key_exchange", "authentication", "encryption",
                          "bits", "aead", "mac"}
        assert re.fullmatch(r"0x[0-9a-f]{4}", c["id"])
        assert isinstance(c["bits"], int) and isinstance(c["aead"], bool)
        assert c["aead"] == (c["mac"] == "AEAD")
        m = re.search(r"\((\d+)\)$", c["encryption"])
        assert m and int(m.group(1)) == c["bits"], c
    return doc


def same(ours, theirs):
    assert [c["name"] for c in ours] == [c["name"] for c in theirs]
    for a, b in zip(ours, theirs):
        for key in ("protocol", "key_exchange", "authentication",
                    "encryption", "mac"):
            assert a[key] == b[key], (a["name"], key, a[key], b[key])
        if b["iana"]:
            assert a["iana_name"] == b["iana"], a


@pytest.mark.parametrize("cipher_list", LISTS_12)
def test_tls12_lists_match_openssl(tlskit, cipher_list):
    doc = tlskit_json(tlskit, "--max-version", "1.2", "--ciphers",
                      cipher_list)
    assert doc["settings"]["ciphers"] == cipher_list
    same(doc["ciphers"],
         openssl_ciphers("-stdname", "-tls1_2", cipher_list))


@pytest.mark.parametrize("suites", SUITES_13)
def test_tls13_suites_match_openssl(tlskit, suites):
    doc = tlskit_json(tlskit, "--min-version", "1.3", "--ciphersuites",
                      suites)
    same(doc["ciphers"],
         openssl_ciphers("-stdname", "-tls1_3", "-ciphersuites", suites))
    for c in doc["ciphers"]:
        assert c["key_exchange"] == "any" and c["name"] == c["iana_name"]


def test_defaults_are_modern(tlskit):
    doc = tlskit_json(tlskit)
    protocols = {c["protocol"] for c in doc["ciphers"]}
    assert protocols == {"TLSv1.3", "TLSv1.2"}
    assert all(c["aead"] for c in doc["ciphers"])
    assert all(c["key_exchange"] in ("any", "ECDH", "DH")
               for c in doc["ciphers"])
    # TLS 1.3 suites first, as a handshake would prefer them
    assert doc["ciphers"][0]["protocol"] == "TLSv1.3"


def test_protocol_range_filters(tlskit):
    only13 = tlskit_json(tlskit, "--min-version", "1.3")["ciphers"]
    assert only13 and all(c["protocol"] == "TLSv1.3" for c in only13)
    only12 = tlskit_json(tlskit, "--max-version", "1.2")["ciphers"]
    assert only12 and all(c["protocol"] != "TLSv1.3" for c in only12)


def test_table(tlskit):
    res = tlskit.run("ciphers", "--max-version", "1.2", "--ciphers",
                     "AES128-SHA:ECDHE-ECDSA-AES128-GCM-SHA256")
    assert res.rc == 0, res
    lines = res.out.splitlines()
    assert lines[0].split() == ["NAME", "IANA", "NAME", "VERSION", "KX",
                                "AUTH", "CIPHER", "BITS", "MAC"]
    rows = [line.split() for line in lines[1:]]
    # the order given is the preference order
    assert rows == [
        ["AES128-SHA", "TLS_RSA_WITH_AES_128_CBC_SHA", "SSLv3", "RSA",
         "RSA", "AES(128)", "128", "SHA1"],
        ["ECDHE-ECDSA-AES128-GCM-SHA256",
         "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "TLSv1.2", "ECDH",
         "ECDSA", "AESGCM(128)", "128", "AEAD"],
    ], res.out


@pytest.mark.parametrize("args,part", [
    (["--ciphers", "ECDHE+AESGCM:NOPE"], "'NOPE'"),
    (["--ciphers", "RC4"], "'RC4'"),
    (["--ciphersuites", "TLS_AES_128_GCM_SHA256:TLS_FAKE"], "'TLS_FAKE'"),
])
def test_invalid_lists_name_the_part(tlskit, args, part):
    res = tlskit.run("ciphers", *args)
    assert res.rc == 3, res
    assert part in res.err and "unknown" in res.err, res.err
    assert res.out == ""


@pytest.mark.parametrize("args,words", [
    (["--min-version", "2.0"], "unknown TLS version '2.0'"),
    (["--bogus"], "unknown option '--bogus'"),
    (["extra"], "unexpected argument 'extra'"),
])
def test_usage_errors(tlskit, args, words):
    res = tlskit.run("ciphers", *args)
    assert res.rc == 2, res
    assert words in res.err, res.err


def test_empty_range_is_an_error(tlskit):
    res = tlskit.run("ciphers", "--min-version", "1.3", "--max-version",
                     "1.2")
    assert res.rc != 0 and "1.3" in res.err, res


def test_help(tlskit):
    res = tlskit.run("ciphers", "--help")
    assert res.rc == 0 and "--ciphersuites" in res.out
