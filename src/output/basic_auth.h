/* SPDX-License-Identifier: MIT */
/*
 * Basic authentication against bcrypt hashes, checked with the system's
 * crypt (libxcrypt). A check costs what the hash's cost says (about 56 ms
 * at cost 10 here), so verdicts are remembered, keyed by an HMAC of the
 * user and password under a key drawn at start: a scraper that sends the
 * same credentials every 15 s pays once. Good and bad verdicts are kept
 * apart, so a flood of wrong passwords cannot push the good ones out.
 * Thread-safe.
 */
#ifndef LT_BASIC_AUTH_H
#define LT_BASIC_AUTH_H

#include <stdbool.h>
#include <stddef.h>

#include "output/web_config.h"

enum lt_auth_verdict {
	LT_AUTH_UNKNOWN, /* not remembered: lt_basic_auth_check it */
	LT_AUTH_GOOD,
	LT_AUTH_BAD,
};

struct lt_basic_auth;

/* users must outlive it (they are the web configuration's). NULL: out of
 * memory, or no random key to be had. */
struct lt_basic_auth *lt_basic_auth_new(const struct lt_web_user *users, size_t nusers);
void lt_basic_auth_free(struct lt_basic_auth *a);

/* Immediate: from what is remembered only. */
enum lt_auth_verdict lt_basic_auth_recall(struct lt_basic_auth *a, const char *user,
					  const char *password);
/* Slow: one bcrypt (an unknown user costs the same), then remembered. */
bool lt_basic_auth_check(struct lt_basic_auth *a, const char *user, const char *password);

#endif
