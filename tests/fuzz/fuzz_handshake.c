/*
 * fuzz_handshake - the first bytes a peer sends: a server connection (what
 * the engine accepts from anyone) or a client connection (what a server
 * answers) is fed arbitrary bytes over an in-memory transport and driven
 * until it fails or the bytes run out. The first input byte picks the role
 * and the read size, so records arrive whole or in pieces. Nothing may
 * crash or leak, and a failed handshake must say why.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tlskit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct feed {
	const uint8_t *data;
	size_t left;
	size_t piece; /* bytes handed out per read at most */
};

static ssize_t feed_read(void *arg, void *buf, size_t len)
{
	struct feed *f = arg;

	if (f->left == 0)
		return 0; /* the peer closed */
	if (len > f->piece)
		len = f->piece;
	if (len > f->left)
		len = f->left;
	memcpy(buf, f->data, len);
	f->data += len;
	f->left -= len;
	return (ssize_t)len;
}

/* What we send goes nowhere: the fuzzer plays a peer that never listens. */
static ssize_t sink_write(void *arg, const void *buf, size_t len)
{
	(void)arg;
	(void)buf;
	return (ssize_t)len;
}

static tlskit_config *server_cfg, *client_cfg;

/* A CA and a localhost certificate in a temporary directory, made once. */
static void make_configs(void)
{
	char dir[] = "/tmp/tlskit-fuzz.XXXXXX";
	char ca[64], ca_key[64], leaf[64], leaf_key[64];
	const char *sans[] = { "localhost" };
	struct tlskit_certgen p = { .kind = TLSKIT_CERT_CA };
	struct tlskit_error err = { 0 };

	if (!mkdtemp(dir))
		abort();
	snprintf(ca, sizeof(ca), "%s/ca.pem", dir);
	snprintf(ca_key, sizeof(ca_key), "%s/ca.key", dir);
	snprintf(leaf, sizeof(leaf), "%s/leaf.pem", dir);
	snprintf(leaf_key, sizeof(leaf_key), "%s/leaf.key", dir);
	if (tlskit_certgen_write(&p, ca, ca_key, 0, &err) < 0)
		goto fail;
	p = (struct tlskit_certgen){ .kind = TLSKIT_CERT_SERVER, .sans = sans,
				     .san_count = 1, .issuer_cert_file = ca,
				     .issuer_key_file = ca_key };
	if (tlskit_certgen_write(&p, leaf, leaf_key, 0, &err) < 0)
		goto fail;
	server_cfg = tlskit_config_new();
	client_cfg = tlskit_config_new();
	if (!server_cfg || !client_cfg ||
	    tlskit_config_set_cert_file(server_cfg, leaf) < 0 ||
	    tlskit_config_set_key_file(server_cfg, leaf_key) < 0 ||
	    tlskit_config_set_ca_file(client_cfg, ca) < 0) {
		fprintf(stderr, "fuzz_handshake: setting up the configs failed\n");
		abort();
	}
	unlink(ca), unlink(ca_key), unlink(leaf), unlink(leaf_key);
	rmdir(dir);
	return;
fail:
	fprintf(stderr, "fuzz_handshake: making the test PKI: %s\n", err.message);
	abort();
}

static void drive(tlskit_conn *conn)
{
	char buf[256];
	int rc;

	/* Each step consumes input or fails; the bound only guards a bug. */
	for (int steps = 0; steps < 10000; steps++) {
		rc = tlskit_handshake(conn);
		if (rc != TLSKIT_WANT_READ && rc != TLSKIT_WANT_WRITE)
			break;
	}
	if (rc < 0 && rc != TLSKIT_WANT_READ && rc != TLSKIT_WANT_WRITE &&
	    tlskit_conn_error(conn)[0] == '\0') {
		fprintf(stderr, "handshake failed without a message\n");
		abort();
	}
	if (rc == 0) {
		(void)tlskit_read(conn, buf, sizeof(buf));
		(void)tlskit_write(conn, "ping", 4);
		(void)tlskit_close(conn);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct feed f;
	tlskit_conn *conn;
	int rc;

	if (size < 1)
		return 0;
	if (!server_cfg)
		make_configs();
	f = (struct feed){ .data = data + 1, .left = size - 1,
			   .piece = (size_t)(data[0] >> 1) * 8 + 1 };
	if (data[0] & 1) {
		conn = tlskit_client_new(client_cfg);
		rc = conn ? tlskit_connect_cbs(conn, feed_read, sink_write, &f,
					       "localhost") : -1;
	} else {
		conn = tlskit_server_new(server_cfg);
		rc = conn ? tlskit_accept_cbs(conn, feed_read, sink_write, &f) : -1;
	}
	if (rc < 0)
		abort();
	drive(conn);
	tlskit_conn_free(conn);
	return 0;
}
