/*
 * session.c - client session resumption: take the session a connection
 * established and offer it on a later connection to the same server.
 *
 * A tlskit_session is an OpenSSL SSL_SESSION under another name; OpenSSL
 * counts its references and locks them, so one session may be offered by
 * several threads at once.
 */
#include <errno.h>
#include <stdint.h>

#include <openssl/err.h>
#include <openssl/pem.h>

#include "internal.h"

static SSL_SESSION *to_ssl_session(tlskit_session *s)
{
	return (SSL_SESSION *)s;
}

tlskit_session *tlskit_conn_session_get(tlskit_conn *conn)
{
	SSL_SESSION *sess;
	SSL *ssl;

	if (!conn)
		return NULL;
	ssl = conn_ssl(conn);
	if (!ssl)
		return NULL;
	sess = SSL_get1_session(ssl);
	if (sess && !SSL_SESSION_is_resumable(sess)) {
		SSL_SESSION_free(sess);
		return NULL;
	}
	return (tlskit_session *)sess;
}

int tlskit_conn_session_set(tlskit_conn *conn, tlskit_session *session)
{
	SSL *ssl;

	if (!conn)
		return -1;
	ssl = conn_ssl(conn);
	if (!ssl || !session || SSL_in_before(ssl) == 0 || SSL_is_server(ssl))
		return error_set(conn_error_slot(conn), TLSKIT_ERR_USAGE,
				 "offering a session: needs a client connection after a connect call and before its handshake");
	ERR_clear_error();
	if (SSL_set_session(ssl, to_ssl_session(session)) != 1)
		return error_set_ssl(conn_error_slot(conn), TLSKIT_ERR_USAGE,
				     "offering a session");
	return 0;
}

void tlskit_session_free(tlskit_session *session)
{
	SSL_SESSION_free(to_ssl_session(session));
}

int tlskit_session_save_file(const tlskit_session *session, const char *path,
			     struct tlskit_error *err)
{
	BIO *bio = NULL;
	int ret = -1;

	if (!session || !path)
		return error_set(err, TLSKIT_ERR_USAGE,
				 "saving a session: no session or no file name");
	bio = BIO_new(BIO_s_mem());
	ERR_clear_error();
	if (!bio || PEM_write_bio_SSL_SESSION(
			    bio, (SSL_SESSION *)(uintptr_t)session) != 1) {
		error_set_ssl(err, TLSKIT_ERR_SYSTEM,
			      "saving session to '%s': encoding it", path);
		goto out;
	}
	/* The session holds its master secret: owner only. */
	ret = certgen_write_file("session", path, bio, 0600, 1, err);
out:
	BIO_free(bio);
	return ret;
}

tlskit_session *tlskit_session_load_file(const char *path,
					 struct tlskit_error *err)
{
	SSL_SESSION *sess = NULL;
	BIO *bio;

	if (!path) {
		error_set(err, TLSKIT_ERR_USAGE,
			  "loading a session: no file name");
		return NULL;
	}
	bio = BIO_new_file(path, "r");
	if (!bio) {
		error_set_errno(err, TLSKIT_ERR_CONFIG,
				"loading session '%s'", path);
		ERR_clear_error();
		return NULL;
	}
	ERR_clear_error();
	sess = PEM_read_bio_SSL_SESSION(bio, NULL, NULL, NULL);
	BIO_free(bio);
	if (!sess)
		error_set(err, TLSKIT_ERR_CONFIG,
			  "loading session '%s': no PEM SSL SESSION PARAMETERS in it (or a damaged one)",
			  path);
	ERR_clear_error();
	return (tlskit_session *)sess;
}
