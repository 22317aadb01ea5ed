/*
 * client_custom_ca - a TLS client that trusts only the CA it is given, as
 * for a private PKI: the server's chain must lead to CA_FILE and its
 * certificate must be valid for HOST.
 *
 *   client_custom_ca HOST PORT CA_FILE [MESSAGE]
 *
 * Sends MESSAGE (default "Hello TLS") and a newline, prints the protocol
 * version, the cipher and the first line of the reply (example_talk() in
 * example_net.h, which the other clients share).
 *
 *   $ tlskit cert new ca --out ca
 *   $ tlskit cert new server --ca ca.pem --ca-key ca.key --san localhost --out server
 *   $ ./echo_server localhost 5566 server.pem server.key &
 *   $ ./client_custom_ca localhost 5566 ca.pem
 */
#define EXAMPLE_NAME "client_custom_ca"
#include "example_net.h"

int main(int argc, char **argv)
{
	const char *message = argc == 5 ? argv[4] : "Hello TLS";
	char hostport[512];
	tlskit_config *cfg;
	int rc = 1;

	if (argc < 4 || argc > 5) {
		fprintf(stderr, "usage: client_custom_ca HOST PORT CA_FILE [MESSAGE]\n");
		return 2;
	}
	if (example_host_port(argv[1], argv[2], hostport, sizeof(hostport)) < 0)
		return 2;
	cfg = tlskit_config_new();
	if (!cfg)
		return example_out_of_memory();
	/* The CA file replaces the system store: nothing else is trusted. */
	if (tlskit_config_set_ca_file(cfg, argv[3]) < 0 ||
	    tlskit_config_check(cfg, TLSKIT_CLIENT) < 0) {
		fprintf(stderr, EXAMPLE_NAME ": %s\n", tlskit_config_error(cfg));
		goto out;
	}
	rc = example_talk(cfg, hostport, message);
out:
	tlskit_config_free(cfg);
	return rc;
}
