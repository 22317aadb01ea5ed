#!/usr/bin/python3
"""Prints the server's certificate, like the tutorial's "Get Certificate
Information": getpeercert() for subject, issuer, dates and SANs, and the
DER form for its size and SHA-256. Verifies against --ca (or the system
store). Prints one JSON object.
"""
import argparse
import hashlib
import json
import socket
import ssl
import sys


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--host", default="localhost")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--ca")
    p.add_argument("--timeout", type=float, default=30.0)
    args = p.parse_args()

    context = ssl.create_default_context(cafile=args.ca)
    try:
        with socket.create_connection((args.host, args.port),
                                      timeout=args.timeout) as sock:
            with context.wrap_socket(sock, server_hostname=args.host) as ssock:
                cert = ssock.getpeercert()
                der = ssock.getpeercert(binary_form=True)
                try:
                    ssock.unwrap()
                except (ssl.SSLError, OSError):
                    pass
    except (ssl.SSLError, OSError) as e:
        print(json.dumps({"error": f"{type(e).__name__}: {e}"}))
        sys.exit(2)
    print(json.dumps({
        "subject": dict(x[0] for x in cert["subject"]),
        "issuer": dict(x[0] for x in cert["issuer"]),
        "notBefore": cert["notBefore"],
        "notAfter": cert["notAfter"],
        "subjectAltName": [list(x) for x in cert.get("subjectAltName", ())],
        "der_size": len(der),
        "der_sha256": hashlib.sha256(der).hexdigest(),
    }))


if __name__ == "__main__":
    main()
