/*
 * cert_info - connects to a TLS server and prints its certificate: subject,
 * issuer, alternative names, validity, serial, SHA-256 fingerprint and size.
 * The certificate is verified first (against CA_FILE, or the system store
 * without it): what is printed is what the connection trusted.
 *
 *   cert_info HOST PORT [CA_FILE]
 *
 *   $ ./cert_info localhost 5566 ca.pem
 */
#include <time.h>

#define EXAMPLE_NAME "cert_info"
#include "example_net.h"

static void print_time(const char *label, time_t t)
{
	char text[64];
	struct tm tm;

	if (!gmtime_r(&t, &tm) ||
	    !strftime(text, sizeof(text), "%Y-%m-%d %H:%M:%S UTC", &tm))
		snprintf(text, sizeof(text), "%lld", (long long)t);
	printf("%-12s %s\n", label, text);
}

static void print_cert(const tlskit_cert *cert)
{
	size_t der_len = 0;

	printf("%-12s %s\n", "subject:", tlskit_cert_subject(cert));
	printf("%-12s %s\n", "issuer:", tlskit_cert_issuer(cert));
	for (size_t i = 0; i < tlskit_cert_san_count(cert); i++)
		printf("%-12s %s\n", "san:", tlskit_cert_san(cert, i));
	print_time("not before:", tlskit_cert_not_before(cert));
	print_time("not after:", tlskit_cert_not_after(cert));
	printf("%-12s %s\n", "serial:", tlskit_cert_serial(cert));
	printf("%-12s %s\n", "sha256:", tlskit_cert_fingerprint_sha256(cert));
	tlskit_cert_der(cert, &der_len);
	printf("%-12s %zu bytes\n", "DER size:", der_len);
}

/* Connecting runs the handshake, so the certificate is verified before
 * anything of it is printed. */
static int inspect(tlskit_config *cfg, const char *hostport)
{
	tlskit_conn *conn = example_connect(cfg, hostport);
	const tlskit_cert *cert;
	int rc = 1;

	if (!conn)
		return 1;
	cert = tlskit_conn_peer_cert(conn);
	if (!cert) {
		fprintf(stderr, EXAMPLE_NAME ": %s sent no certificate\n", hostport);
		goto out;
	}
	print_cert(cert);
	tlskit_close(conn);
	rc = 0;
out:
	tlskit_conn_free(conn);
	return rc;
}

int main(int argc, char **argv)
{
	char hostport[512];
	tlskit_config *cfg;
	int rc = 1;

	if (argc < 3 || argc > 4) {
		fprintf(stderr, "usage: cert_info HOST PORT [CA_FILE]\n");
		return 2;
	}
	if (example_host_port(argv[1], argv[2], hostport, sizeof(hostport)) < 0)
		return 2;
	cfg = tlskit_config_new();
	if (!cfg)
		return example_out_of_memory();
	if ((argc == 4 && tlskit_config_set_ca_file(cfg, argv[3]) < 0) ||
	    tlskit_config_check(cfg, TLSKIT_CLIENT) < 0) {
		fprintf(stderr, EXAMPLE_NAME ": %s\n", tlskit_config_error(cfg));
		goto out;
	}
	rc = inspect(cfg, hostport);
out:
	tlskit_config_free(cfg);
	return rc;
}
