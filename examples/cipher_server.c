/*
 * cipher_server - an echo server restricted to chosen TLS 1.2 ciphers. It
 * prints the ciphers the configuration enables (JSON), then for every client
 * the cipher the handshake picked.
 *
 *   cipher_server HOST PORT CERT KEY [COUNT]
 *
 * The list 'ECDHE+AESGCM:DHE+AESGCM' only governs TLS 1.2; TLS 1.3 suites
 * are configured apart (tlskit_config_set_ciphersuites) and stay enabled.
 *
 *   $ ./cipher_server localhost 5566 server.pem server.key &
 *   $ openssl s_client -connect localhost:5566 -tls1_2 -quiet
 */
#define EXAMPLE_NAME "cipher_server"
#include "example_net.h"

#define CIPHERS "ECDHE+AESGCM:DHE+AESGCM"

/* What the handshake picked: for TLS 1.2 clients, one of CIPHERS. */
static void print_cipher(tlskit_conn *conn)
{
	printf("cipher: %s (%s, %d bits)\n", tlskit_conn_cipher(conn),
	       tlskit_conn_version(conn), tlskit_conn_cipher_bits(conn));
}

/* Cipher names are plain ASCII, but a JSON printer should not assume it. */
static void print_json_string(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static void print_field(const char *name, const char *value, int last)
{
	printf("    \"%s\": ", name);
	print_json_string(value);
	printf("%s\n", last ? "" : ",");
}

/* The enabled ciphers as a JSON array, in preference order. */
static int print_ciphers(tlskit_config *cfg)
{
	struct tlskit_cipher_info *ciphers;
	ssize_t n = tlskit_config_ciphers(cfg, TLSKIT_SERVER, &ciphers);

	if (n < 0) {
		fprintf(stderr, EXAMPLE_NAME ": %s\n", tlskit_config_error(cfg));
		return -1;
	}
	printf("[\n");
	for (ssize_t i = 0; i < n; i++) {
		const struct tlskit_cipher_info *c = &ciphers[i];

		printf("  {\n");
		print_field("name", c->name, 0);
		print_field("iana", c->iana, 0);
		print_field("protocol", c->protocol, 0);
		printf("    \"id\": %u,\n", (unsigned)c->id);
		printf("    \"bits\": %d,\n", c->bits);
		print_field("kx", c->kx, 0);
		print_field("auth", c->auth, 0);
		print_field("enc", c->enc, 0);
		printf("    \"aead\": %s\n", c->aead ? "true" : "false");
		printf("  }%s\n", i + 1 < n ? "," : "");
	}
	printf("]\n");
	fflush(stdout);
	free(ciphers);
	return 0;
}

int main(int argc, char **argv)
{
	tlskit_config *cfg;
	long count = -1;
	int rc = 1;

	if (argc < 5 || argc > 6) {
		fprintf(stderr, "usage: cipher_server HOST PORT CERT KEY [COUNT]\n");
		return 2;
	}
	if (argc == 6 && example_parse_count(argv[5], &count) < 0)
		return 2;
	cfg = tlskit_config_new();
	if (!cfg)
		return example_out_of_memory();
	if (tlskit_config_set_cert_file(cfg, argv[3]) < 0 ||
	    tlskit_config_set_key_file(cfg, argv[4]) < 0 ||
	    tlskit_config_set_ciphers(cfg, CIPHERS) < 0 ||
	    tlskit_config_check(cfg, TLSKIT_SERVER) < 0) {
		fprintf(stderr, EXAMPLE_NAME ": %s\n", tlskit_config_error(cfg));
		goto out;
	}
	if (print_ciphers(cfg) < 0)
		goto out;
	rc = example_serve(cfg, argv[1], argv[2], count, print_cipher);
out:
	tlskit_config_free(cfg);
	return rc;
}
