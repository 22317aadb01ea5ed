/*
 * echo_server - the simplest TLS server: accept a connection, run the
 * handshake, read one message, send it back, close. One client at a time.
 *
 *   echo_server HOST PORT CERT KEY [COUNT]
 *
 * PORT 0 picks a free port; the "listening on" line says which. With COUNT
 * the server exits after that many connections (tests use it).
 *
 * All a server needs is a config with its certificate and key; the
 * connection itself (tlskit_server_new, tlskit_accept_fd, tlskit_handshake,
 * tlskit_read, tlskit_write, tlskit_close) is example_echo_one() in
 * example_net.h, which the other servers share.
 *
 *   $ tlskit cert new self-signed --san localhost --out server
 *   $ ./echo_server localhost 5566 server.pem server.key &
 *   $ openssl s_client -connect localhost:5566 -quiet
 */
#define EXAMPLE_NAME "echo_server"
#include "example_net.h"

int main(int argc, char **argv)
{
	tlskit_config *cfg;
	long count = -1;
	int rc = 1;

	if (argc < 5 || argc > 6) {
		fprintf(stderr, "usage: echo_server HOST PORT CERT KEY [COUNT]\n");
		return 2;
	}
	if (argc == 6 && example_parse_count(argv[5], &count) < 0)
		return 2;
	cfg = tlskit_config_new();
	if (!cfg)
		return example_out_of_memory();
	/* Checking now reports a key that does not match the certificate
	 * before the first client comes. */
	if (tlskit_config_set_cert_file(cfg, argv[3]) < 0 ||
	    tlskit_config_set_key_file(cfg, argv[4]) < 0 ||
	    tlskit_config_check(cfg, TLSKIT_SERVER) < 0) {
		fprintf(stderr, EXAMPLE_NAME ": %s\n", tlskit_config_error(cfg));
		goto out;
	}
	rc = example_serve(cfg, argv[1], argv[2], count, NULL);
out:
	tlskit_config_free(cfg);
	return rc;
}
