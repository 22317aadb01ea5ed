/*
 * mtls_server - mutual TLS, server side: like echo_server, but every client
 * must present a certificate that chains to CA_FILE; the handshake fails
 * without one. The server prints each client's subject.
 *
 *   mtls_server HOST PORT CERT KEY CA_FILE [COUNT]
 *
 *   $ ./mtls_server localhost 5566 server.pem server.key ca.pem &
 *   $ ./mtls_client localhost 5566 alice.pem alice.key ca.pem
 */
#define EXAMPLE_NAME "mtls_server"
#include "example_net.h"

/* REQUIRE guarantees a verified certificate once the handshake is done. */
static void print_client(tlskit_conn *conn)
{
	printf("client: %s\n", tlskit_cert_subject(tlskit_conn_peer_cert(conn)));
	fflush(stdout);
}

int main(int argc, char **argv)
{
	tlskit_config *cfg;
	long count = -1;
	int rc = 1;

	if (argc < 6 || argc > 7) {
		fprintf(stderr, "usage: mtls_server HOST PORT CERT KEY CA_FILE [COUNT]\n");
		return 2;
	}
	if (argc == 7 && example_parse_count(argv[6], &count) < 0)
		return 2;
	cfg = tlskit_config_new();
	if (!cfg)
		return example_out_of_memory();
	if (tlskit_config_set_cert_file(cfg, argv[3]) < 0 ||
	    tlskit_config_set_key_file(cfg, argv[4]) < 0 ||
	    tlskit_config_set_ca_file(cfg, argv[5]) < 0 ||
	    tlskit_config_set_verify_client(cfg, TLSKIT_VERIFY_CLIENT_REQUIRE) < 0 ||
	    tlskit_config_check(cfg, TLSKIT_SERVER) < 0) {
		fprintf(stderr, EXAMPLE_NAME ": %s\n", tlskit_config_error(cfg));
		goto out;
	}
	rc = example_serve(cfg, argv[1], argv[2], count, print_client);
out:
	tlskit_config_free(cfg);
	return rc;
}
