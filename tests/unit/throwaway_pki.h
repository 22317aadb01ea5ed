/*
 * throwaway_pki.h - a throwaway PKI for the unit tests: a mkdtemp directory under
 * /tmp, certificates and keys made in it with tlskit_certgen_write, and its
 * removal. A test program keeps one such directory for all its tests:
 *
 *   static int setup(void **state)
 *   {
 *           if (pki_make_dir("test-conn") < 0)
 *                   return -1;
 *           pki_gen(TLSKIT_CERT_CA, "ca", "tlskit test CA", NULL, 0, 0);
 *           pki_gen(TLSKIT_CERT_SERVER, "server", "localhost", "ca", 0, 0);
 *           return 0;
 *   }
 *
 * removes it with pki_remove_dir() in its teardown, and names its files
 * with pki("server.pem"). test_dir_make,
 * test_dir_remove and test_read_file serve tests that keep their directory
 * elsewhere (in a cmocka fixture, say); assert_contains checks messages.
 *
 * Everything is static inline so that a test compiles only what it uses,
 * without warnings about the rest.
 */
#ifndef THROWAWAY_PKI_H
#define THROWAWAY_PKI_H

#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "tlskit.h"

/* A new, empty directory "/tmp/tlskit-TAG-XXXXXX", its name in dir. */
static inline int test_dir_make(char *dir, size_t len, const char *tag)
{
	int n = snprintf(dir, len, "/tmp/tlskit-%s-XXXXXX", tag);

	if (n < 0 || (size_t)n >= len)
		return -1;
	return mkdtemp(dir) ? 0 : -1;
}

/* Removes dir and the files in it; the tests make no subdirectories. */
static inline void test_dir_remove(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	while (d && (e = readdir(d)) != NULL) {
		char path[512];

		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		unlink(path);
	}
	if (d)
		closedir(d);
	rmdir(dir);
}

/* Fails the test unless needle occurs in haystack (NULL: never). */
static inline void assert_contains(const char *haystack, const char *needle)
{
	if (!haystack || !strstr(haystack, needle)) {
		print_error("expected '%s' in '%s'\n", needle,
			    haystack ? haystack : "(null)");
		fail();
	}
}

/* A small file's contents (up to 64 KiB), which the caller frees. */
static inline char *test_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = malloc(65536);

	assert_non_null(f);
	assert_non_null(buf);
	*len = fread(buf, 1, 65536, f);
	fclose(f);
	return buf;
}

/* The test program's PKI directory. */
static char pki_dir[64] __attribute__((unused));

static inline int pki_make_dir(const char *tag)
{
	return test_dir_make(pki_dir, sizeof(pki_dir), tag);
}

static inline void pki_remove_dir(void)
{
	test_dir_remove(pki_dir);
}

/*
 * The path of a file in the PKI directory. The result stays valid for 15
 * more calls, enough for every path one statement needs.
 */
static inline const char *pki(const char *name)
{
	static char paths[16][128];
	static int next;
	char *p = paths[next++ % 16];

	snprintf(p, 128, "%s/%s", pki_dir, name);
	return p;
}

/*
 * Writes NAME.pem and NAME.key in the PKI directory, signed by ISSUER (the
 * NAME of an earlier one; NULL: self-signed) and valid from nb to na (0: the
 * certgen defaults). Servers are valid for localhost and 127.0.0.1. Aborts
 * on failure: the tests cannot run without their PKI.
 */
static inline void pki_gen(enum tlskit_cert_kind kind, const char *name,
			   const char *cn, const char *issuer, time_t nb,
			   time_t na)
{
	static const char *const sans[] = { "localhost", "127.0.0.1" };
	struct tlskit_certgen p = { .kind = kind, .common_name = cn,
				    .not_before = nb, .not_after = na };
	struct tlskit_error err = { 0 };
	char file[64];
	const char *cert, *key;

	if (kind == TLSKIT_CERT_SERVER) {
		p.sans = sans;
		p.san_count = 2;
	}
	if (issuer) {
		snprintf(file, sizeof(file), "%s.pem", issuer);
		p.issuer_cert_file = pki(file);
		snprintf(file, sizeof(file), "%s.key", issuer);
		p.issuer_key_file = pki(file);
	}
	snprintf(file, sizeof(file), "%s.pem", name);
	cert = pki(file);
	snprintf(file, sizeof(file), "%s.key", name);
	key = pki(file);
	if (tlskit_certgen_write(&p, cert, key, 0, &err) < 0) {
		fprintf(stderr, "certgen %s: %s\n", name, err.message);
		abort();
	}
}

#endif /* THROWAWAY_PKI_H */
