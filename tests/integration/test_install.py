"""`make install` with PREFIX/DESTDIR, and a program built against the
installed library through pkg-config, linked to the shared object."""
import os
import subprocess
import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("TLSKIT_BUILD", os.path.join(REPO, "build"))

PROGRAM = r"""
#include <stdio.h>
#include <tlskit.h>
int main(void)
{
	tlskit_config *cfg = tlskit_config_new();
	int bad = tlskit_config_set_ciphers(cfg, "ECDHE+AESGCM:NO-SUCH-CIPHER");
	printf("%s | %s | %s\n", tlskit_version(), tlskit_openssl_version(),
	       bad < 0 ? tlskit_config_error(cfg) : "accepted");
	tlskit_config_free(cfg);
	return 0;
}
"""

pytestmark = pytest.mark.skipif("asan" in os.path.basename(BUILD),
                                reason="install is checked on the plain build")


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=True, **kw)


def test_install_and_link_with_pkg_config(tmp_path):
    prefix = tmp_path / "prefix"
    stage = tmp_path / "stage"
    b = os.path.relpath(BUILD, REPO)
    run(["make", "-s", "-C", REPO, f"B={b}", "install", f"PREFIX={prefix}"])
    # DESTDIR stages under another root without changing the paths inside.
    run(["make", "-s", "-C", REPO, f"B={b}", "install", "PREFIX=/usr", f"DESTDIR={stage}"])
    assert (stage / "usr/lib/pkgconfig/tlskit.pc").read_text().startswith("prefix=/usr\n")
    assert (stage / "usr/bin/tlskit").exists()

    lib = prefix / "lib"
    assert os.readlink(lib / "libtlskit.so.0") == "libtlskit.so.0.1.0"
    soname = run(["readelf", "-d", str(lib / "libtlskit.so")]).stdout
    assert "Library soname: [libtlskit.so.0]" in soname

    env = dict(os.environ, PKG_CONFIG_PATH=str(lib / "pkgconfig"))
    flags = run(["pkg-config", "--cflags", "--libs", "tlskit"], env=env).stdout.split()
    src = tmp_path / "prog.c"
    src.write_text(PROGRAM)
    exe = tmp_path / "prog"
    run(["cc", "-Wall", "-Werror", "-o", str(exe), str(src)] + flags)
    out = run([str(exe)], env=dict(os.environ, LD_LIBRARY_PATH=str(lib))).stdout
    assert out.startswith("tlskit 0.1.0 | OpenSSL 3.")
    assert "NO-SUCH-CIPHER" in out

    version = run([str(prefix / "bin/tlskit"), "--version"]).stdout
    assert "tlskit 0.1.0" in version and "OpenSSL 3." in version
