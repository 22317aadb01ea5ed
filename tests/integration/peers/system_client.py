#!/usr/bin/python3
"""TLS client on the default context, like the tutorial's "TLS Client":
ssl.create_default_context() trusts the system store (tests point it at
their CA with SSL_CERT_FILE) and checks the hostname. Sends a message,
checks the echo, prints a JSON report.
"""
import ssl

import peerlib


def main():
    peerlib.quiet_env()
    args = peerlib.client_args(__doc__, need_ca=False).parse_args()
    context = ssl.create_default_context()
    peerlib.apply_options(context, args)
    peerlib.finish(peerlib.run_echo(context, args, peerlib.payload(args)))


if __name__ == "__main__":
    main()
