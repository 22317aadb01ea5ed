/*
 * pkifile.c - reading and writing the files of the small CA (certgen.c,
 * csr.c, crl.c, chainverify.c): certificates in PEM or DER, private keys
 * with or without a passphrase, outputs that are never half written and
 * never silently overwritten.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>

#include "internal.h"

#define MAX_INPUT_BYTES (4 << 20)

/* ---- reading files ------------------------------------------------------ */

/* The whole file in a memory BIO (inputs are small; a limit keeps a wrong
 * path such as a device from eating memory). */
static BIO *read_file(const char *what, const char *path,
		      struct tlskit_error *err)
{
	FILE *f = fopen(path, "rb");
	BIO *bio = BIO_new(BIO_s_mem());
	char buf[8192];
	size_t n, total = 0;

	if (!f || !bio) {
		error_set_errno(err, TLSKIT_ERR_CONFIG, "loading %s '%s'", what, path);
		goto fail;
	}
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
		total += n;
		if (total > MAX_INPUT_BYTES) {
			error_set(err, TLSKIT_ERR_CONFIG,
				  "loading %s '%s': larger than %d MiB", what,
				  path, MAX_INPUT_BYTES >> 20);
			goto fail;
		}
		if (BIO_write(bio, buf, (int)n) != (int)n) {
			error_set_ssl(err, TLSKIT_ERR_SYSTEM, "loading %s '%s'",
				      what, path);
			goto fail;
		}
	}
	if (ferror(f)) {
		error_set_errno(err, TLSKIT_ERR_CONFIG, "loading %s '%s'", what, path);
		goto fail;
	}
	fclose(f);
	OPENSSL_cleanse(buf, sizeof(buf));
	return bio;
fail:
	if (f)
		fclose(f);
	OPENSSL_cleanse(buf, sizeof(buf));
	BIO_free(bio);
	return NULL;
}

/* After a PEM read loop: did it stop at the end, or at a broken block? */
static int pem_stopped_cleanly(void)
{
	unsigned long e = ERR_peek_last_error();

	ERR_clear_error();
	return !e || (ERR_GET_LIB(e) == ERR_LIB_PEM &&
		      ERR_GET_REASON(e) == PEM_R_NO_START_LINE);
}

/* PEM certificates while there are any; 0 when the reading stopped at the
 * end, -1 at a damaged block. */
static int read_pem_certs(const char *data, long len, STACK_OF(X509) *certs)
{
	BIO *bio = BIO_new_mem_buf(data, (int)len);
	X509 *x;
	int rc = bio ? 0 : -1;

	while (bio && (x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
		if (!sk_X509_push(certs, x)) {
			X509_free(x);
			rc = -1;
			break;
		}
	}
	BIO_free(bio);
	if (!pem_stopped_cleanly())
		rc = -1;
	return rc;
}

int certgen_load_certs(const char *what, const char *path,
		       STACK_OF(X509) **out, struct tlskit_error *err)
{
	BIO *file = read_file(what, path, err);
	STACK_OF(X509) *certs = sk_X509_new_null();
	const unsigned char *der;
	char *data;
	X509 *x;
	long len;

	if (!file || !certs)
		goto fail;
	len = BIO_get_mem_data(file, &data);
	if (read_pem_certs(data, len, certs) < 0) {
		error_set(err, TLSKIT_ERR_CONFIG,
			  "loading %s '%s': corrupt PEM certificate (truncated or damaged base64)",
			  what, path);
		goto fail;
	}
	if (sk_X509_num(certs) == 0) {
		der = (const unsigned char *)data;
		x = len > 0 ? d2i_X509(NULL, &der, len) : NULL;
		ERR_clear_error();
		if (!x || der != (const unsigned char *)data + len ||
		    !sk_X509_push(certs, x)) {
			X509_free(x);
			error_set(err, TLSKIT_ERR_CONFIG,
				  "loading %s '%s': no PEM or DER certificate found",
				  what, path);
			goto fail;
		}
	}
	BIO_free(file);
	*out = certs;
	return 0;
fail:
	if (file && !certs)
		error_set_ssl(err, TLSKIT_ERR_SYSTEM, "loading %s '%s'", what, path);
	BIO_free(file);
	sk_X509_pop_free(certs, X509_free);
	return -1;
}

struct passphrase_arg {
	const char *passphrase;
	int asked;
};

/* Never lets OpenSSL prompt on a terminal: a key is encrypted or not,
 * and the passphrase was given or not. */
static int give_passphrase(char *buf, int size, int rwflag, void *u)
{
	struct passphrase_arg *arg = u;
	size_t len;

	(void)rwflag;
	arg->asked = 1;
	if (!arg->passphrase)
		return -1;
	len = strlen(arg->passphrase);
	if (len > (size_t)size)
		return -1;
	memcpy(buf, arg->passphrase, len);
	return (int)len;
}

EVP_PKEY *certgen_load_key(const char *what, const char *path,
			   const char *passphrase, struct tlskit_error *err)
{
	struct passphrase_arg arg = { .passphrase = passphrase };
	BIO *bio = BIO_new(BIO_s_secmem());
	BIO *file = read_file(what, path, err);
	EVP_PKEY *key = NULL;
	char *data;
	long len;

	if (!file)
		goto out;
	len = BIO_get_mem_data(file, &data);
	if (!bio || BIO_write(bio, data, (int)len) != (int)len) {
		error_set_ssl(err, TLSKIT_ERR_SYSTEM, "loading %s '%s'", what, path);
		goto out;
	}
	OPENSSL_cleanse(data, (size_t)len);
	key = PEM_read_bio_PrivateKey(bio, NULL, give_passphrase, &arg);
	ERR_clear_error();
	if (!key && arg.asked && !passphrase)
		error_set(err, TLSKIT_ERR_CONFIG,
			  "loading %s '%s': the key is encrypted and no passphrase was given",
			  what, path);
	else if (!key && arg.asked)
		error_set(err, TLSKIT_ERR_CONFIG,
			  "loading %s '%s': cannot decrypt the key (wrong passphrase?)",
			  what, path);
	else if (!key)
		error_set(err, TLSKIT_ERR_CONFIG,
			  "loading %s '%s': no PEM private key found", what, path);
out:
	BIO_free(file);
	BIO_free(bio);
	return key;
}

/* ---- files ----------------------------------------------------------------- */

static int write_all(int fd, const char *data, size_t len)
{
	while (len) {
		ssize_t n = write(fd, data, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

static int refuse_existing(const char *what, const char *path,
			   struct tlskit_error *err)
{
	return error_set(err, TLSKIT_ERR_CONFIG,
			 "writing %s '%s': file exists (use --force to overwrite)",
			 what, path);
}

int certgen_check_absent(const char *what, const char *path, int overwrite,
			 struct tlskit_error *err)
{
	struct stat st;

	if (path && !overwrite && lstat(path, &st) == 0)
		return refuse_existing(what, path, err);
	return 0;
}

/*
 * Without overwrite, O_EXCL makes the existence check and the creation one
 * step; with it, an existing file is also brought to mode (a key must not
 * stay world-readable).
 */
int certgen_write_file(const char *what, const char *path, BIO *bio,
		       mode_t mode, int overwrite, struct tlskit_error *err)
{
	int flags = O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW |
		    (overwrite ? O_TRUNC : O_EXCL);
	char *data;
	long len = BIO_get_mem_data(bio, &data);
	int fd = open(path, flags, mode);

	if (fd < 0 && errno == EEXIST)
		return refuse_existing(what, path, err);
	if (fd < 0)
		return error_set_errno(err, TLSKIT_ERR_CONFIG, "writing %s '%s'",
				       what, path);
	if ((overwrite && fchmod(fd, mode) < 0) ||
	    write_all(fd, data, (size_t)len) < 0) {
		error_set_errno(err, TLSKIT_ERR_CONFIG, "writing %s '%s'", what,
				path);
		close(fd);
		unlink(path);
		return -1;
	}
	if (close(fd) < 0)
		return error_set_errno(err, TLSKIT_ERR_CONFIG,
				       "writing %s '%s'", what, path);
	return 0;
}

