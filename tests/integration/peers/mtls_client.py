#!/usr/bin/python3
"""Mutual-TLS client, like the tutorial's mTLS client: the context loads
the client's certificate chain and the CA that signed the server. Sends a
message, checks the echo, prints a JSON report.
"""
import ssl

import peerlib


def make_context(ca, cert, key):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_cert_chain(cert, key)
    context.load_verify_locations(ca)
    return context


def main():
    peerlib.quiet_env()
    args = peerlib.client_args(__doc__, client_cert=True).parse_args()
    context = make_context(args.ca, args.cert, args.key)
    peerlib.apply_options(context, args)
    peerlib.finish(peerlib.run_echo(context, args, peerlib.payload(args)))


if __name__ == "__main__":
    main()
