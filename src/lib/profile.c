/*
 * profile.c - Mozilla's server-side TLS configurations as one setting.
 *
 * https://wiki.mozilla.org/Security/Server_Side_TLS (v5.7). Intermediate is
 * what a new config already has; the others are spelled out here.
 */
#include <string.h>

#include "internal.h"

#define MOZ_SUITES                                                          \
	"TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:"                    \
	"TLS_CHACHA20_POLY1305_SHA256"
#define MOZ_GROUPS "X25519:prime256v1:secp384r1"
#define MOZ_INTERMEDIATE_CIPHERS                                            \
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"        \
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"        \
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"        \
	"DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:"              \
	"DHE-RSA-CHACHA20-POLY1305"
/* OpenSSL 3.0 refuses TLS 1.0/1.1 and SHA-1 signatures above level 0.
 * Mozilla's list ends with DES-CBC3-SHA, which Debian's OpenSSL 3.0 does
 * not offer at any security level, so it is left out. */
#define MOZ_OLD_CIPHERS                                                     \
	MOZ_INTERMEDIATE_CIPHERS ":"                                        \
	"ECDHE-ECDSA-AES128-SHA256:ECDHE-RSA-AES128-SHA256:"                \
	"ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES128-SHA:"                      \
	"ECDHE-ECDSA-AES256-SHA384:ECDHE-RSA-AES256-SHA384:"                \
	"ECDHE-ECDSA-AES256-SHA:ECDHE-RSA-AES256-SHA:"                      \
	"DHE-RSA-AES128-SHA256:DHE-RSA-AES256-SHA256:"                      \
	"AES128-GCM-SHA256:AES256-GCM-SHA384:AES128-SHA256:AES256-SHA256:"  \
	"AES128-SHA:AES256-SHA:@SECLEVEL=0"

struct profile_def {
	enum tlskit_profile id;
	const char *name;
	enum tlskit_protocol min, max;
	const char *ciphers;
};

static const struct profile_def profiles[] = {
	{ TLSKIT_PROFILE_MODERN, "modern", TLSKIT_TLS1_3, TLSKIT_TLS1_3,
	  MOZ_INTERMEDIATE_CIPHERS },
	{ TLSKIT_PROFILE_INTERMEDIATE, "intermediate", TLSKIT_TLS1_2,
	  TLSKIT_TLS1_3, MOZ_INTERMEDIATE_CIPHERS },
	{ TLSKIT_PROFILE_OLD, "old", TLSKIT_TLS1_0, TLSKIT_TLS1_3,
	  MOZ_OLD_CIPHERS },
};

static const struct profile_def *profile_find(enum tlskit_profile id)
{
	for (size_t i = 0; i < sizeof(profiles) / sizeof(profiles[0]); i++)
		if (profiles[i].id == id)
			return &profiles[i];
	return NULL;
}

const char *tlskit_profile_name(enum tlskit_profile profile)
{
	const struct profile_def *def = profile_find(profile);

	return def ? def->name : "unknown";
}

int tlskit_profile_parse(const char *name, enum tlskit_profile *out)
{
	if (!name || !out)
		return -1;
	for (size_t i = 0; i < sizeof(profiles) / sizeof(profiles[0]); i++) {
		if (strcmp(name, profiles[i].name) == 0) {
			*out = profiles[i].id;
			return 0;
		}
	}
	return -1;
}

int tlskit_config_set_profile(tlskit_config *cfg, enum tlskit_profile profile)
{
	const struct profile_def *def = profile_find(profile);

	if (!cfg)
		return -1;
	if (!def)
		return error_set(config_error_slot(cfg), TLSKIT_ERR_USAGE,
				 "setting profile: unknown profile %d",
				 (int)profile);
	if (tlskit_config_set_protocols(cfg, def->min, def->max) < 0 ||
	    tlskit_config_set_ciphers(cfg, def->ciphers) < 0 ||
	    tlskit_config_set_ciphersuites(cfg, MOZ_SUITES) < 0 ||
	    tlskit_config_set_groups(cfg, MOZ_GROUPS) < 0)
		return -1;
	return 0;
}
