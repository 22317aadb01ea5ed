/*
 * session.c - client session resumption: take the session a connection
 * established and offer it on a later connection to the same server.
 *
 * A tlskit_session is an OpenSSL SSL_SESSION under another name; OpenSSL
 * counts its references and locks them, so one session may be offered by
 * several threads at once.
 */
#include <openssl/err.h>

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
