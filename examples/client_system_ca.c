/*
 * client_system_ca - a TLS client that trusts what the system trusts: the
 * default config verifies the server's certificate chain against the system
 * store and checks that the certificate is valid for HOST.
 *
 *   client_system_ca HOST PORT [MESSAGE]
 *
 * Sends MESSAGE (default "Hello TLS") and a newline, prints the protocol
 * version, the cipher and the first line of the reply (example_talk() in
 * example_net.h). OpenSSL honours SSL_CERT_FILE and SSL_CERT_DIR, so a test
 * can point it at its own CA:
 *
 *   $ SSL_CERT_FILE=ca.pem ./client_system_ca localhost 5566
 */
#define EXAMPLE_NAME "client_system_ca"
#include "example_net.h"

int main(int argc, char **argv)
{
	const char *message = argc == 4 ? argv[3] : "Hello TLS";
	char hostport[512];
	tlskit_config *cfg;
	int rc = 1;

	if (argc < 3 || argc > 4) {
		fprintf(stderr, "usage: client_system_ca HOST PORT [MESSAGE]\n");
		return 2;
	}
	if (example_host_port(argv[1], argv[2], hostport, sizeof(hostport)) < 0)
		return 2;
	cfg = tlskit_config_new();
	if (!cfg)
		return example_out_of_memory();
	/* Nothing to set: verification against the system store is the
	 * default. Checking now reports an unreadable store before we connect. */
	if (tlskit_config_check(cfg, TLSKIT_CLIENT) < 0) {
		fprintf(stderr, EXAMPLE_NAME ": %s\n", tlskit_config_error(cfg));
		goto out;
	}
	rc = example_talk(cfg, hostport, message);
out:
	tlskit_config_free(cfg);
	return rc;
}
