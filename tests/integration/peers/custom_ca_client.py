#!/usr/bin/python3
"""TLS client that trusts a custom CA, like the tutorial's "TLS Client
with Custom CA": SSLContext(PROTOCOL_TLS_CLIENT), load_verify_locations,
check_hostname, CERT_REQUIRED. Sends a message (or --size bytes), checks
the echo, prints a JSON report.
"""
import ssl

import peerlib


def make_context(ca):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(ca)
    context.check_hostname = True
    context.verify_mode = ssl.CERT_REQUIRED
    return context


def main():
    peerlib.quiet_env()
    args = peerlib.client_args(__doc__).parse_args()
    context = make_context(args.ca)
    peerlib.apply_options(context, args)
    peerlib.finish(peerlib.run_echo(context, args, peerlib.payload(args)))


if __name__ == "__main__":
    main()
