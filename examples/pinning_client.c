/*
 * pinning_client - certificate pinning written with the verification hook:
 * on top of the usual checks (chain to CA_FILE, name HOST), the server's
 * public key must be the one pinned.
 *
 *   pinning_client HOST PORT PIN CA_FILE [MESSAGE]
 *
 * PIN is "sha256//BASE64", as `tlskit cert show server.pem` prints it. The
 * library has pins built in (tlskit_config_add_pin, `tlskit connect --pin`);
 * this example shows how any rule of your own plugs into the handshake: the
 * hook sees the chain the server sent and the library's verdict, and its
 * refusal fails the handshake with its own words.
 *
 *   $ tlskit cert new ca --out ca
 *   $ tlskit cert new server --ca ca.pem --ca-key ca.key --san localhost --out server
 *   $ ./echo_server localhost 5566 server.pem server.key &
 *   $ tlskit cert show server.pem | grep sha256//
 *   $ ./pinning_client localhost 5566 sha256//...the pin shown... ca.pem
 */
#define EXAMPLE_NAME "pinning_client"
#include "example_net.h"

/* Runs during the handshake, after the library's own checks. */
static enum tlskit_verify_decision check_pin(void *arg,
					     const struct tlskit_verify_info *info,
					     char *msg, size_t len)
{
	const char *expected = arg;
	const tlskit_cert *leaf = tlskit_cert_list_get(info->chain, 0);
	const char *seen = leaf ? tlskit_cert_pin_sha256(leaf) : NULL;

	/* The library refused already (untrusted, expired, wrong name): that
	 * stands whatever we answer, so there is nothing to add. */
	if (!info->library_ok)
		return TLSKIT_VERIFY_ACCEPT;
	if (seen && strcmp(seen, expected) == 0)
		return TLSKIT_VERIFY_ACCEPT;
	snprintf(msg, len, "pin mismatch: the server's key is %s, expected %s",
		 seen ? seen : "(none)", expected);
	return TLSKIT_VERIFY_REJECT;
}

int main(int argc, char **argv)
{
	const char *message = argc == 6 ? argv[5] : "Hello TLS";
	char hostport[512];
	tlskit_config *cfg;
	int rc = 1;

	if (argc < 5 || argc > 6) {
		fprintf(stderr, "usage: pinning_client HOST PORT PIN CA_FILE [MESSAGE]\n");
		return 2;
	}
	if (strncmp(argv[3], "sha256//", 8) != 0) {
		fprintf(stderr, EXAMPLE_NAME ": PIN must look like sha256//BASE64, not '%s'\n",
			argv[3]);
		return 2;
	}
	if (example_host_port(argv[1], argv[2], hostport, sizeof(hostport)) < 0)
		return 2;
	cfg = tlskit_config_new();
	if (!cfg)
		return example_out_of_memory();
	if (tlskit_config_set_ca_file(cfg, argv[4]) < 0 ||
	    tlskit_config_set_verify_hook(cfg, check_pin, argv[3]) < 0 ||
	    tlskit_config_check(cfg, TLSKIT_CLIENT) < 0) {
		fprintf(stderr, EXAMPLE_NAME ": %s\n", tlskit_config_error(cfg));
		goto out;
	}
	rc = example_talk(cfg, hostport, message);
out:
	tlskit_config_free(cfg);
	return rc;
}
