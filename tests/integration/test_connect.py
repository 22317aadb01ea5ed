"""`tlskit connect` against independent servers: the tutorial-style Python
servers of peers/, openssl s_server and gnutls-serv."""
import random
import re
import subprocess

import pytest

from conftest import (PKI, assert_no_sanitizer_report, converse, json_events,
                      start_listener)

VERSIONS = ["1.2", "1.3"]
OPENSSL_VERSION_FLAG = {"1.2": "-tls1_2", "1.3": "-tls1_3"}
GNUTLS_PRIORITY = {"1.2": "NORMAL:-VERS-ALL:+VERS-TLS1.2",
                   "1.3": "NORMAL:-VERS-ALL:+VERS-TLS1.3"}
PROTOCOL_NAME = {"1.2": "TLSv1.2", "1.3": "TLSv1.3"}


def server_cert(pki):
    return ["--cert", pki.server, "--key", pki.server_key]


def conn_event(proc):
    """The one connection report a Python server printed (it has exited)."""
    assert proc.wait() == 0, proc.text("stderr")
    events = json_events(proc, "conn")
    assert len(events) == 1, proc.text("stdout")
    return events[0]


@pytest.mark.parametrize("script", ["simple_server.py",
                                    "selectors_server.py",
                                    "cipher_server.py",
                                    "secure_server.py"])
def test_python_servers(tlskit, pki, py_server, script):
    proc, port = py_server(script, *server_cert(pki))
    data = f"hello {script}\n".encode()
    r = tlskit.connect(f"localhost:{port}", "--ca", pki.ca, input=data)
    assert r.rc == 0, r
    assert r.stdout == data, r
    event = conn_event(proc)
    assert event["bytes"] == len(data)


def test_tutorial_server_that_closes_without_close_notify(
        tlskit_bin, tlskit_env, pki, py_server, procs):
    # The tutorial's own server: one recv(1024), send, close() -- no
    # close_notify. The echo must still come out, and nothing may hang.
    # stdin stays open until the echo is out: a close_notify sent earlier
    # would sit unread in that server and its close() would reset the
    # connection, racing the echo (the kernel drops data on a reset).
    proc, port = py_server("simple_server.py", *server_cert(pki), "--once")
    data = b"just once\n"
    client, rc, echoed = converse(
        procs, "connect", [str(tlskit_bin), "connect", f"localhost:{port}",
                           "--ca", str(pki.ca)], data, env=tlskit_env)
    assert echoed, client.text()
    assert client.data() == data
    assert_no_sanitizer_report(client.text(), "tlskit connect")
    # The peer left without close_notify, maybe before our stdin ended:
    # said on stderr; exit 0 only if all of stdin had been sent, else 1.
    assert rc in (0, 1), client.text()
    assert re.search(r"^tlskit: connect: .*close_notify", client.text(),
                     re.M), client.text()


def test_python_mtls_server(tlskit, pki, py_server):
    proc, port = py_server("mtls_server.py", *server_cert(pki),
                           "--ca", pki.ca)
    data = b"hello mTLS\n"
    r = tlskit.connect(f"localhost:{port}", "--ca", pki.ca,
                       "--cert", pki.client, "--key", pki.client_key,
                       input=data)
    assert r.rc == 0, r
    assert r.stdout == data
    event = conn_event(proc)
    assert event["client"] == "commonName=alice"


def test_cipher_server_tls12_list(tlskit, pki, py_server):
    # The tutorial's cipher server, limited to TLS 1.2 so its list decides.
    proc, port = py_server("cipher_server.py", *server_cert(pki),
                           "--max-version", "1.2",
                           "--ciphers", "ECDHE+CHACHA20")
    r = tlskit.connect(f"localhost:{port}", "--ca", pki.ca,
                       "--max-version", "1.2", input=b"chacha\n")
    assert r.rc == 0, r
    event = conn_event(proc)
    assert event["version"] == "TLSv1.2"
    assert event["cipher"] == "ECDHE-ECDSA-CHACHA20-POLY1305"
    assert "ECDHE-ECDSA-CHACHA20-POLY1305" in r.err, r


def test_client_cipher_and_ciphersuite_options(tlskit, pki, py_server):
    proc, port = py_server("cipher_server.py", *server_cert(pki),
                           "--ciphers", "ECDHE+AESGCM:ECDHE+CHACHA20",
                           "--max-conn", "2")
    r = tlskit.connect(f"localhost:{port}", "--ca", pki.ca,
                       "--max-version", "1.2",
                       "--ciphers", "ECDHE-ECDSA-AES128-GCM-SHA256",
                       input=b"one\n")
    assert r.rc == 0, r
    r = tlskit.connect(f"localhost:{port}", "--ca", pki.ca,
                       "--ciphersuites", "TLS_CHACHA20_POLY1305_SHA256",
                       input=b"two\n")
    assert r.rc == 0, r
    assert proc.wait() == 0
    got = [(e["version"], e["cipher"]) for e in json_events(proc, "conn")]
    assert got == [("TLSv1.2", "ECDHE-ECDSA-AES128-GCM-SHA256"),
                   ("TLSv1.3", "TLS_CHACHA20_POLY1305_SHA256")]


def test_rsa_server_certificate(tlskit, pki, py_server):
    proc, port = py_server("secure_server.py", "--cert", pki.rsa_server,
                           "--key", pki.rsa_server_key, "--max-version",
                           "1.2")
    r = tlskit.connect(f"localhost:{port}", "--ca", pki.ca, input=b"rsa\n")
    assert r.rc == 0, r
    assert r.stdout == b"rsa\n"
    event = conn_event(proc)
    assert event["cipher"].startswith("ECDHE-RSA-"), event


def s_server(procs, pki, *args, cert=None, key=None):
    """openssl s_server for one connection; its stdin stays open (a pipe)
    so it neither sends nor quits on its own."""
    def argv(port):
        return ["openssl", "s_server", "-accept", f"127.0.0.1:{port}",
                "-cert", cert or pki.server, "-key", key or pki.server_key,
                "-naccept", "1", *args]
    return start_listener(procs, "s_server", argv, r"^ACCEPT",
                          stdin=subprocess.PIPE)


@pytest.mark.parametrize("version", VERSIONS)
def test_openssl_s_server_receives(tlskit, pki, procs, version):
    proc, port = s_server(procs, pki, OPENSSL_VERSION_FLAG[version])
    data = f"hi s_server over TLS {version}\n".encode()
    r = tlskit.connect(f"localhost:{port}", "--ca", pki.ca, input=data)
    assert r.rc == 0, r
    assert proc.wait_data(data), proc.text("stdout")
    assert proc.wait() == 0
    assert PROTOCOL_NAME[version] in r.err, r


@pytest.mark.parametrize("version", VERSIONS)
def test_openssl_s_server_www_page(tlskit, pki, procs, version):
    proc, port = s_server(procs, pki, "-www", OPENSSL_VERSION_FLAG[version])
    r = tlskit.connect(f"localhost:{port}", "--ca", pki.ca,
                       input=b"GET / HTTP/1.0\r\n\r\n")
    assert r.rc == 0, r
    assert r.out.startswith("HTTP/1.0 200 ok"), r
    assert "Ciphers common between both SSL end points" in r.out, r
    assert PROTOCOL_NAME[version] in r.err, r


def test_openssl_s_server_requires_client_cert(tlskit, pki, procs):
    proc, port = s_server(procs, pki, "-Verify", "1", "-CAfile", pki.ca,
                          "-verify_return_error")
    r = tlskit.connect(f"localhost:{port}", "--ca", pki.ca,
                       "--cert", pki.client, "--key", pki.client_key,
                       input=b"it is alice\n")
    assert r.rc == 0, r
    assert proc.wait_data(b"it is alice\n"), proc.text("stdout")
    assert re.search(r"subject=.*CN ?= ?alice", proc.text("stdout"))


def test_groups_option(tlskit, pki, procs):
    proc, port = s_server(procs, pki)
    r = tlskit.connect(f"localhost:{port}", "--ca", pki.ca,
                       "--groups", "P-384", input=b"groups\n")
    assert r.rc == 0, r
    proc.wait()
    m = re.search(r"^Supported groups: (\S+)", proc.text("stdout"), re.M)
    assert m and m.group(1) in ("secp384r1", "P-384"), proc.text("stdout")


def gnutls_serv(procs, pki, *args):
    def argv(port):
        return ["gnutls-serv", "--echo", "-p", port,
                "--x509certfile", pki.server,
                "--x509keyfile", pki.server_key, *args]
    # gnutls-serv listens on every address; it has no option to bind
    # loopback only. Only loopback is ever connected to.
    return start_listener(procs, "gnutls-serv", argv,
                          r"listening on IPv4 .*done", key="stderr")


@pytest.mark.parametrize("version", VERSIONS)
def test_gnutls_serv_echo(tlskit, pki, procs, version):
    proc, port = gnutls_serv(procs, pki, "--priority",
                             GNUTLS_PRIORITY[version])
    data = f"hello gnutls-serv over TLS {version}\n".encode()
    r = tlskit.connect(f"127.0.0.1:{port}", "--ca", pki.ca, input=data)
    assert r.rc == 0, r
    assert r.stdout == data, r
    assert PROTOCOL_NAME[version] in r.err, r


def test_gnutls_serv_requires_client_cert(tlskit, pki, procs):
    proc, port = gnutls_serv(procs, pki, "--x509cafile", pki.ca,
                             "--require-client-cert", "--verify-client-cert")
    data = b"client cert for gnutls\n"
    r = tlskit.connect(f"127.0.0.1:{port}", "--ca", pki.ca,
                       "--cert", pki.client, "--key", pki.client_key,
                       input=data)
    assert r.rc == 0, r
    assert r.stdout == data, r
    proc.wait_for(r"Subject: CN=alice", key="stdout", timeout=10)


def test_servername_sets_sni_and_the_name_checked(tlskit, pki, py_server):
    proc, port = py_server("simple_server.py", *server_cert(pki),
                           "--max-conn", "3")
    # An IP address: checked against the IP SANs, no SNI sent.
    r = tlskit.connect(f"127.0.0.1:{port}", "--ca", pki.ca, input=b"ip\n")
    assert r.rc == 0, r
    # --servername: the SNI and the name checked, whatever the address.
    r = tlskit.connect(f"127.0.0.1:{port}", "--ca", pki.ca,
                       "--servername", "localhost", input=b"sni\n")
    assert r.rc == 0, r
    # A host name is the SNI by default.
    r = tlskit.connect(f"localhost:{port}", "--ca", pki.ca, input=b"dns\n")
    assert r.rc == 0, r
    assert proc.wait() == 0
    sni = [e["sni"] for e in json_events(proc, "conn")]
    assert sni == [None, "localhost", "localhost"]


def test_alpn(tlskit, pki, py_server):
    proc, port = py_server("simple_server.py", *server_cert(pki),
                           "--alpn", "h2,http/1.1")
    r = tlskit.connect(f"localhost:{port}", "--ca", pki.ca,
                       "--alpn", "http/1.1", input=b"alpn\n")
    assert r.rc == 0, r
    assert conn_event(proc)["alpn"] == "http/1.1"
    assert "http/1.1" in r.err, r


def test_eight_mebibytes_byte_exact_full_duplex(tlskit, pki, py_server):
    # The blocking server echoes each block while tlskit connect is still
    # sending: only a full-duplex client gets through without deadlock.
    proc, port = py_server("simple_server.py", *server_cert(pki))
    data = random.Random(8).randbytes(8 << 20)
    r = tlskit.connect(f"localhost:{port}", "--ca", pki.ca, "-q",
                       input=data, timeout=60)
    assert r.rc == 0, r
    assert len(r.stdout) == len(data)
    assert r.stdout == data
    assert conn_event(proc)["bytes"] == len(data)


def test_quiet_suppresses_summary(tlskit, pki, py_server):
    proc, port = py_server("simple_server.py", *server_cert(pki))
    r = tlskit.connect(f"localhost:{port}", "--ca", pki.ca, "-q",
                       input=b"quiet\n")
    assert r.rc == 0, r
    assert r.stdout == b"quiet\n"
    assert r.err == "", r


def test_summary_fields(tlskit, pki, py_server):
    proc, port = py_server("simple_server.py", *server_cert(pki))
    r = tlskit.connect(f"localhost:{port}", "--ca", pki.ca,
                       input=b"summary\n")
    assert r.rc == 0, r
    event = conn_event(proc)
    err = r.err
    assert event["version"] in err, err
    assert event["cipher"] in err, err
    assert "CN=localhost" in err, err
    assert PKI.CA_NAME in err, err
    year = PKI.not_after(pki.server).split()[-2]
    assert re.search(rf"expir\w*\W.*{year}", err, re.I), err
    assert re.search(r"verif\w*\W+.*\bok\b", err, re.I), err
    # Only the data on stdout: the summary never mixes into it.
    assert r.stdout == b"summary\n"


def test_ipv6_literal(tlskit, pki, py_server):
    proc, port = py_server("simple_server.py", *server_cert(pki),
                           host="::1")
    r = tlskit.connect(f"[::1]:{port}", "--ca", pki.ca, input=b"six\n")
    assert r.rc == 0, r
    assert r.stdout == b"six\n"
    assert conn_event(proc)["sni"] is None


def test_round_trip_with_tlskit_echo(tlskit, pki, start_echo):
    server = start_echo(*server_cert(pki))
    r = tlskit.connect(f"localhost:{server.port}", "--ca", pki.ca,
                       input=b"hi\n")
    assert r.rc == 0, r
    assert r.stdout == b"hi\n"


def test_mutual_tls_with_tlskit_echo(tlskit, pki, start_echo):
    server = start_echo(*server_cert(pki), "--ca", pki.ca,
                        "--verify-client", "require")
    data = random.Random(1).randbytes(1 << 20)
    r = tlskit.connect(server.addr, "--servername", "localhost",
                       "--ca", pki.ca, "--cert", pki.client,
                       "--key", pki.client_key, input=data)
    assert r.rc == 0, r
    assert r.stdout == data
    line = server.wait_log(r"127\.0\.0\.1:\d+")
    assert "CN=alice" in line and str(len(data)) in line, line


def test_insecure_skips_verification_loudly(tlskit, pki, procs):
    proc, port = s_server(procs, pki, cert=pki.wronghost,
                          key=pki.wronghost_key)
    r = tlskit.connect(f"localhost:{port}", "--ca", pki.other_ca,
                       "--insecure", input=b"whatever\n")
    assert r.rc == 0, r
    assert re.search(r"insecure|not verified", r.err, re.I), r
    assert re.search(r"warning", r.err, re.I), r
