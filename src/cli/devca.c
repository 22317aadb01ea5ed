/*
 * devca.c - the development CA and localhost certificate under the user's
 * state directory, made once with the library's certgen and then reused.
 */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "devca.h"

/* A leaf (or CA) closer than this to its end is remade. */
#define RENEW_BEFORE_SECONDS (30 * 24 * 3600L)

static const char *const leaf_sans[] = { "localhost", "127.0.0.1", "::1" };

static int fail(struct tlskit_error *err, enum tlskit_error_category cat,
		const char *fmt, const char *arg)
{
	int saved = errno;

	err->category = cat;
	snprintf(err->message, sizeof(err->message), fmt, arg);
	if (saved) {
		size_t n = strlen(err->message);

		snprintf(err->message + n, sizeof(err->message) - n, ": %s",
			 strerror(saved));
	}
	return -1;
}

static int join(char *out, size_t len, const char *a, const char *b)
{
	int n = snprintf(out, len, "%s/%s", a, b);

	return n < 0 || (size_t)n >= len ? -1 : 0;
}

/* $TLSKIT_HOME, $XDG_STATE_HOME/tlskit, ~/.local/state/tlskit. */
static int find_state_dir(char *out, size_t len, struct tlskit_error *err)
{
	const char *dir = getenv("TLSKIT_HOME");
	const char *home;
	int n;

	errno = 0;
	if (dir && *dir)
		n = snprintf(out, len, "%s", dir);
	else if ((dir = getenv("XDG_STATE_HOME")) && dir[0] == '/')
		n = snprintf(out, len, "%s/tlskit", dir);
	else {
		home = getenv("HOME");
		if (!home || !*home) {
			struct passwd *pw = getpwuid(getuid());

			home = pw ? pw->pw_dir : NULL;
		}
		if (!home)
			return fail(err, TLSKIT_ERR_CONFIG, "%s",
				    "finding the state directory: neither "
				    "TLSKIT_HOME nor HOME is set");
		n = snprintf(out, len, "%s/.local/state/tlskit", home);
	}
	if (n < 0 || (size_t)n >= len)
		return fail(err, TLSKIT_ERR_CONFIG, "%s",
			    "finding the state directory: path too long");
	return 0;
}

/* mkdir -p with mode 0700 for what it creates. */
static int make_dirs(char *path, struct tlskit_error *err)
{
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		errno = 0;
		if (mkdir(path, 0700) < 0 && errno != EEXIST) {
			fail(err, TLSKIT_ERR_CONFIG, "creating directory '%s'", path);
			*p = '/';
			return -1;
		}
		*p = '/';
	}
	errno = 0;
	if (mkdir(path, 0700) < 0 && errno != EEXIST)
		return fail(err, TLSKIT_ERR_CONFIG, "creating directory '%s'", path);
	return 0;
}

/* Private keys live here: ours alone, and nobody else's to read. */
static int secure_dir(const char *path, struct tlskit_error *err)
{
	struct stat st;

	errno = 0;
	if (stat(path, &st) < 0)
		return fail(err, TLSKIT_ERR_CONFIG, "checking directory '%s'", path);
	errno = 0;
	if (!S_ISDIR(st.st_mode))
		return fail(err, TLSKIT_ERR_CONFIG,
			    "state directory '%s' is not a directory", path);
	if (st.st_uid != getuid())
		return fail(err, TLSKIT_ERR_CONFIG,
			    "state directory '%s' belongs to another user", path);
	if ((st.st_mode & 0077) && chmod(path, 0700) < 0)
		return fail(err, TLSKIT_ERR_CONFIG,
			    "making directory '%s' private (mode 0700)", path);
	return 0;
}

/* Valid for at least RENEW_BEFORE_SECONDS more, and (if issuer_subject)
 * issued by that name. */
static int cert_usable(const char *path, const char *issuer_subject)
{
	struct tlskit_error ignored;
	tlskit_cert *cert = tlskit_cert_load_file(path, &ignored);
	int ok;

	if (!cert)
		return 0;
	ok = tlskit_cert_not_after(cert) > time(NULL) + RENEW_BEFORE_SECONDS;
	if (ok && issuer_subject)
		ok = strcmp(tlskit_cert_issuer(cert), issuer_subject) == 0;
	tlskit_cert_free(cert);
	return ok;
}

static int file_exists(const char *path)
{
	return access(path, F_OK) == 0;
}

/* Writes to temporary names, then renames: a server starting meanwhile
 * never reads half a file, and a crash never leaves half a pair. */
static int generate(const struct tlskit_certgen *p, const char *cert,
		    const char *key, struct tlskit_error *err)
{
	char tmp_cert[PATH_MAX + 8], tmp_key[PATH_MAX + 8];

	snprintf(tmp_cert, sizeof(tmp_cert), "%s.new", cert);
	snprintf(tmp_key, sizeof(tmp_key), "%s.new", key);
	if (tlskit_certgen_write(p, tmp_cert, tmp_key, 1, err) < 0)
		return -1;
	errno = 0;
	if (rename(tmp_key, key) < 0 || rename(tmp_cert, cert) < 0) {
		fail(err, TLSKIT_ERR_CONFIG, "replacing '%s'", cert);
		unlink(tmp_cert);
		unlink(tmp_key);
		return -1;
	}
	return 0;
}

static int make_ca(struct devca *d, const char *ca_key,
		   struct tlskit_error *err)
{
	char cn[128], host[64] = "localhost";
	struct passwd *pw = getpwuid(getuid());
	struct tlskit_certgen p = { .kind = TLSKIT_CERT_CA };

	gethostname(host, sizeof(host) - 1);
	host[sizeof(host) - 1] = '\0';
	/* Says whose CA it is when it shows up in a trust store. */
	snprintf(cn, sizeof(cn), "tlskit development CA (%s@%s)",
		 pw ? pw->pw_name : "user", host);
	p.common_name = cn;
	if (generate(&p, d->ca_cert, ca_key, err) < 0)
		return -1;
	d->created_ca = 1;
	return 0;
}

static int make_leaf(struct devca *d, const char *ca_key,
		     struct tlskit_error *err)
{
	struct tlskit_certgen p = {
		.kind = TLSKIT_CERT_SERVER,
		.common_name = "localhost",
		.sans = leaf_sans,
		.san_count = sizeof(leaf_sans) / sizeof(leaf_sans[0]),
		.issuer_cert_file = d->ca_cert,
		.issuer_key_file = ca_key,
	};

	if (generate(&p, d->cert, d->key, err) < 0)
		return -1;
	d->created_leaf = 1;
	return 0;
}

/* The CA's subject, to check the leaf was issued by this CA. */
static int ca_subject(const char *path, char *out, size_t len,
		      struct tlskit_error *err)
{
	tlskit_cert *ca = tlskit_cert_load_file(path, err);

	if (!ca)
		return -1;
	snprintf(out, len, "%s", tlskit_cert_subject(ca));
	tlskit_cert_free(ca);
	return 0;
}

static int ensure_files(struct devca *d, struct tlskit_error *err)
{
	char ca_key[PATH_MAX], subject[1024];

	if (join(ca_key, sizeof(ca_key), d->dir, "dev-ca.key") < 0 ||
	    join(d->ca_cert, sizeof(d->ca_cert), d->dir, "dev-ca.pem") < 0 ||
	    join(d->cert, sizeof(d->cert), d->dir, "localhost.pem") < 0 ||
	    join(d->key, sizeof(d->key), d->dir, "localhost.key") < 0) {
		errno = 0;
		return fail(err, TLSKIT_ERR_CONFIG,
			    "state directory '%s': path too long", d->dir);
	}
	if (!file_exists(ca_key) || !cert_usable(d->ca_cert, NULL)) {
		if (make_ca(d, ca_key, err) < 0)
			return -1;
	}
	if (ca_subject(d->ca_cert, subject, sizeof(subject), err) < 0)
		return -1;
	if (d->created_ca || !file_exists(d->key) ||
	    !cert_usable(d->cert, subject))
		return make_leaf(d, ca_key, err);
	return 0;
}

int devca_ensure(struct devca *d, struct tlskit_error *err)
{
	char lock_path[PATH_MAX];
	int lock_fd = -1, rc = -1;

	memset(d, 0, sizeof(*d));
	if (find_state_dir(d->dir, sizeof(d->dir), err) < 0 ||
	    make_dirs(d->dir, err) < 0 || secure_dir(d->dir, err) < 0)
		return -1;
	if (join(lock_path, sizeof(lock_path), d->dir, ".lock") < 0) {
		errno = 0;
		return fail(err, TLSKIT_ERR_CONFIG,
			    "state directory '%s': path too long", d->dir);
	}
	/* Two servers starting at once make one CA, not two. */
	errno = 0;
	lock_fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (lock_fd < 0 || flock(lock_fd, LOCK_EX) < 0) {
		fail(err, TLSKIT_ERR_CONFIG, "locking '%s'", lock_path);
		goto out;
	}
	rc = ensure_files(d, err);
out:
	if (lock_fd >= 0)
		close(lock_fd);
	return rc;
}
