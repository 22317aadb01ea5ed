"""The command line itself: --version, --help of every subcommand, usage
errors. (Bad flags of each subcommand are in test_failures.py.)"""
import re

import pytest

ECHO_OPTIONS = ["--listen", "--cert", "--key", "--ca", "--verify-client",
                "--min-version", "--max-version", "--ciphers",
                "--ciphersuites", "--groups", "--alpn"]
CONNECT_OPTIONS = ["--ca", "--cert", "--key", "--servername",
                   "--min-version", "--max-version", "--ciphers",
                   "--ciphersuites", "--groups", "--alpn", "--timeout",
                   "--insecure", "-q"]


def listed_commands(help_text):
    """The subcommand names of the top-level help (indented first words
    of the lines after 'Commands:')."""
    names = []
    in_list = False
    for line in help_text.splitlines():
        if re.match(r"^\s*commands:?\s*$", line, re.I):
            in_list = True
            continue
        if in_list:
            m = re.match(r"^\s+([a-z][a-z0-9-]*)\s", line)
            if not m:
                break
            names.append(m.group(1))
    return names


def test_version_names_tlskit_and_openssl(tlskit):
    r = tlskit.run("--version")
    assert r.rc == 0, r
    assert re.search(r"tlskit\s+\d+\.\d+\.\d+", r.out), r
    assert re.search(r"OpenSSL 3\.\d+\.\d+", r.out), r
    assert r.err == "", r


def test_top_level_help(tlskit):
    r = tlskit.run("--help")
    assert r.rc == 0, r
    assert "usage" in r.out.lower(), r
    commands = listed_commands(r.out)
    assert "echo" in commands and "connect" in commands, r


def test_every_subcommand_has_help(tlskit):
    commands = listed_commands(tlskit.run("--help").out)
    assert commands
    for name in commands:
        r = tlskit.run(name, "--help")
        assert r.rc == 0, r
        assert "usage" in r.out.lower(), r
        assert name in r.out, r


@pytest.mark.parametrize("cmd,options", [("echo", ECHO_OPTIONS),
                                         ("connect", CONNECT_OPTIONS)])
def test_help_documents_options_and_exit_codes(tlskit, cmd, options):
    r = tlskit.run(cmd, "--help")
    assert r.rc == 0, r
    for opt in options:
        assert re.search(rf"(^|[\s,\[]){re.escape(opt)}\b", r.out), \
            f"{cmd} --help does not mention {opt}:\n{r.out}"
    # The exit-code table: one line per code with its meaning.
    for code, word in [(2, "usage"), (3, "config"), (4, "connect"),
                       (5, "handshake|protocol"), (6, "verif")]:
        assert re.search(rf"^\s*{code}\b.*({word})", r.out,
                         re.I | re.M), f"exit code {code} missing:\n{r.out}"


def test_unknown_command_is_usage_error(tlskit):
    r = tlskit.run("frobnicate")
    assert r.rc == 2, r
    assert r.err.startswith("tlskit:"), r
    assert "frobnicate" in r.err, r
    assert r.out == "", r


def test_no_command_is_usage_error(tlskit):
    r = tlskit.run()
    assert r.rc == 2, r
    assert "usage" in r.err.lower(), r
