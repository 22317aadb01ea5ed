/*
 * security_settings - the settings a hardened server states explicitly:
 * TLS 1.2 as the oldest protocol and only forward-secret AEAD ciphers.
 * Compression and renegotiation are already off in every tlskit config and
 * the server's cipher order already wins, so there is nothing to set for them.
 *
 *   security_settings [HOST PORT CERT KEY [COUNT]]
 *
 * Prints the minimum version and how many ciphers the configuration enables;
 * given a certificate it then serves echo clients like echo_server, printing
 * what each one negotiated.
 *
 *   $ ./security_settings
 *   $ ./security_settings localhost 5566 server.pem server.key &
 *   $ openssl s_client -connect localhost:5566 -tls1_1    # refused
 */
#define EXAMPLE_NAME "security_settings"
#include "example_net.h"

#define CIPHERS "ECDHE+AESGCM:DHE+AESGCM:!aNULL:!MD5:!DSS"

/* What the settings left this client: TLS 1.2 or 1.3, an AEAD cipher. */
static void print_negotiated(tlskit_conn *conn)
{
	printf("client negotiated %s with %s\n", tlskit_conn_version(conn),
	       tlskit_conn_cipher(conn));
}

/*
 * Counts the enabled ciphers by protocol: the list above only governs
 * TLS 1.2; TLS 1.3 has its own, all of them AEAD. A server configuration
 * cannot be built without its certificate, so without one the same settings
 * are listed as a client would offer them.
 */
static int print_settings(tlskit_config *cfg, enum tlskit_role role)
{
	struct tlskit_cipher_info *ciphers;
	ssize_t n = tlskit_config_ciphers(cfg, role, &ciphers);
	int tls12 = 0, tls13 = 0;

	if (n < 0) {
		fprintf(stderr, EXAMPLE_NAME ": %s\n", tlskit_config_error(cfg));
		return -1;
	}
	for (ssize_t i = 0; i < n; i++) {
		if (strcmp(ciphers[i].protocol, "TLSv1.3") == 0)
			tls13++;
		else
			tls12++;
	}
	free(ciphers);
	printf("min version: TLSv1.2\n");
	printf("ciphers: %zd (TLSv1.2: %d, TLSv1.3: %d)\n", n, tls12, tls13);
	fflush(stdout);
	return 0;
}

int main(int argc, char **argv)
{
	tlskit_config *cfg;
	long count = -1;
	int rc = 1;

	if (argc != 1 && argc != 5 && argc != 6) {
		fprintf(stderr, "usage: security_settings [HOST PORT CERT KEY [COUNT]]\n");
		return 2;
	}
	if (argc == 6 && example_parse_count(argv[5], &count) < 0)
		return 2;
	cfg = tlskit_config_new();
	if (!cfg)
		return example_out_of_memory();
	if (tlskit_config_set_protocols(cfg, TLSKIT_TLS1_2, 0) < 0 ||
	    tlskit_config_set_ciphers(cfg, CIPHERS) < 0 ||
	    (argc > 1 && (tlskit_config_set_cert_file(cfg, argv[3]) < 0 ||
			  tlskit_config_set_key_file(cfg, argv[4]) < 0 ||
			  tlskit_config_check(cfg, TLSKIT_SERVER) < 0))) {
		fprintf(stderr, EXAMPLE_NAME ": %s\n", tlskit_config_error(cfg));
		goto out;
	}
	if (print_settings(cfg, argc > 1 ? TLSKIT_SERVER : TLSKIT_CLIENT) < 0)
		goto out;
	if (argc > 1)
		rc = example_serve(cfg, argv[1], argv[2], count, print_negotiated);
	else
		rc = 0;
out:
	tlskit_config_free(cfg);
	return rc;
}
