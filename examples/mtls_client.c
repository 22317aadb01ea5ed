/*
 * mtls_client - mutual TLS, client side: verifies the server against CA_FILE
 * like client_custom_ca, and proves its own identity with CERT and KEY.
 *
 *   mtls_client HOST PORT CERT KEY CA_FILE [MESSAGE]
 *
 *   $ tlskit cert new client --ca ca.pem --ca-key ca.key --cn alice --out alice
 *   $ ./mtls_client localhost 5566 alice.pem alice.key ca.pem
 */
#define EXAMPLE_NAME "mtls_client"
#include "example_net.h"

int main(int argc, char **argv)
{
	const char *message = argc == 7 ? argv[6] : "Hello TLS";
	char hostport[512];
	tlskit_config *cfg;
	int rc = 1;

	if (argc < 6 || argc > 7) {
		fprintf(stderr, "usage: mtls_client HOST PORT CERT KEY CA_FILE [MESSAGE]\n");
		return 2;
	}
	if (example_host_port(argv[1], argv[2], hostport, sizeof(hostport)) < 0)
		return 2;
	cfg = tlskit_config_new();
	if (!cfg)
		return example_out_of_memory();
	/* The certificate is sent when the server asks for one. */
	if (tlskit_config_set_cert_file(cfg, argv[3]) < 0 ||
	    tlskit_config_set_key_file(cfg, argv[4]) < 0 ||
	    tlskit_config_set_ca_file(cfg, argv[5]) < 0 ||
	    tlskit_config_check(cfg, TLSKIT_CLIENT) < 0) {
		fprintf(stderr, EXAMPLE_NAME ": %s\n", tlskit_config_error(cfg));
		goto out;
	}
	rc = example_talk(cfg, hostport, message);
out:
	tlskit_config_free(cfg);
	return rc;
}
