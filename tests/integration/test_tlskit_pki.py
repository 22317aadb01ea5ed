"""The foundation's interoperability and failure tests again, on a PKI made
by `tlskit cert new` instead of openssl: openssl s_client/s_server,
gnutls-cli/gnutls-serv and Python ssl must accept (and refuse) tlskit's
certificates exactly as they do openssl's, so the two PKIs check each other.

The tests are the same functions as in test_echo, test_connect and
test_failures: importing them here collects them again with this module's
`pki` fixture."""
import subprocess
from pathlib import Path

import pytest

from conftest import PKI, openssl
from test_echo import (mtls_echo, test_gnutls_cli,  # noqa: F401
                       test_openssl_s_client,
                       test_openssl_s_client_rsa_certificate)
from test_connect import (test_gnutls_serv_requires_client_cert,  # noqa: F401
                          test_mutual_tls_with_tlskit_echo,
                          test_openssl_s_server_requires_client_cert,
                          test_python_mtls_server, test_python_servers)
from test_failures import (require_echo,  # noqa: F401
                           test_client_certificate_from_another_ca,
                           test_expired_certificate,
                           test_hostname_mismatch_lists_the_names,
                           test_not_yet_valid_certificate,
                           test_untrusted_ca)


class TlskitPKI(PKI):
    """PKI's files and names, made with `tlskit cert new`."""

    def __init__(self, root, tlskit_bin):
        self.dir = Path(root)
        self.bin = str(tlskit_bin)
        self.ca, self.ca_key = self._new("ca", "ca", "--cn", self.CA_NAME)
        self.other_ca, self.other_ca_key = self._new(
            "other_ca", "ca", "--cn", self.OTHER_CA_NAME)
        sans = "localhost,127.0.0.1,::1"
        self.server, self.server_key = self._new(
            "server", "server", "--cn", "localhost", "--san", sans, ca="ca")
        self.rsa_server, self.rsa_server_key = self._new(
            "rsa_server", "server", "--cn", "localhost", "--san", sans,
            "--key-type", "rsa2048", ca="ca")
        self.client, self.client_key = self._new(
            "client", "client", "--cn", "alice", ca="ca")
        self.other_client, self.other_client_key = self._new(
            "other_client", "client", "--cn", "mallory", ca="other_ca")
        self.other_server, self.other_server_key = self._new(
            "other_server", "server", "--cn", "localhost", "--san", sans,
            ca="other_ca")
        self.expired, self.expired_key = self._new(
            "expired", "server", "--san", sans, "--not-before", "2020-01-01",
            "--not-after", "2021-01-01", ca="ca")
        self.notyet, self.notyet_key = self._new(
            "notyet", "server", "--san", sans, "--not-before", "2099-01-01",
            "--not-after", "2100-01-01", ca="ca")
        self.wronghost, self.wronghost_key = self._new(
            "wronghost", "server", "--san", "other.example", ca="ca")
        _, self.mismatch_key = self._new("mismatch", "self-signed",
                                         "--san", "nowhere.example")
        self.garbage = self.dir / "garbage.pem"
        self.garbage.write_text("this is not a certificate\n")

    def _new(self, name, kind, *args, ca=None):
        out = self.dir / name
        argv = [self.bin, "cert", "new", kind, "--out", str(out), *args]
        if ca:
            argv += ["--ca", str(self.dir / f"{ca}.pem"),
                     "--ca-key", str(self.dir / f"{ca}.key")]
        r = subprocess.run(argv, capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        return Path(f"{out}.pem"), Path(f"{out}.key")


@pytest.fixture(scope="module")
def pki(tmp_path_factory, tlskit_bin):
    return TlskitPKI(tmp_path_factory.mktemp("tlskit-pki"), tlskit_bin)


def test_openssl_verifies_every_leaf(pki):
    for cert, ca in [(pki.server, pki.ca), (pki.rsa_server, pki.ca),
                     (pki.client, pki.ca), (pki.other_client, pki.other_ca),
                     (pki.wronghost, pki.ca)]:
        assert openssl("verify", "-CAfile", ca, cert).strip() == f"{cert}: OK"
