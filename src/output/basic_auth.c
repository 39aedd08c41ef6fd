// SPDX-License-Identifier: MIT
#include "output/basic_auth.h"

#include <crypt.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#define MAC_BYTES 32
#define REMEMBERED 16 /* of each verdict */

/* Compared against when the user is unknown, so that an unknown user takes
 * as long as a wrong password (cost 10, the usual). */
static const char dummy_hash[] = "$2b$10$QQQQQQQQQQQQQQQQQQQQQe8OYRZhZTvtCJ1JWgLNGdUs2NWV7xNWS";

struct memo {
	uint8_t mac[MAC_BYTES];
	uint64_t used; /* 0: empty */
};

struct lt_basic_auth {
	pthread_mutex_t lock; /* the memos and the clock */
	uint8_t key[MAC_BYTES];
	const struct lt_web_user *users; /* the web configuration's */
	size_t nusers;
	struct memo good[REMEMBERED], bad[REMEMBERED];
	uint64_t clock;
};

struct lt_basic_auth *lt_basic_auth_new(const struct lt_web_user *users, size_t nusers)
{
	struct lt_basic_auth *a = calloc(1, sizeof(*a));

	if (!a)
		return NULL;
	if (getrandom(a->key, sizeof(a->key), 0) != sizeof(a->key)) {
		free(a);
		return NULL;
	}
	a->users = users;
	a->nusers = nusers;
	pthread_mutex_init(&a->lock, NULL);
	return a;
}

void lt_basic_auth_free(struct lt_basic_auth *a)
{
	if (!a)
		return;
	pthread_mutex_destroy(&a->lock);
	explicit_bzero(a, sizeof(*a));
	free(a);
}

/* HMAC(key, user NUL password): what is remembered instead of either. */
static bool mac_of(const struct lt_basic_auth *a, const char *user, const char *password,
		   uint8_t out[MAC_BYTES])
{
	size_t ul = strlen(user), pl = strlen(password);
	char *msg = malloc(ul + 1 + pl);
	bool ok;

	if (!msg)
		return false;
	memcpy(msg, user, ul + 1);
	memcpy(msg + ul + 1, password, pl);
	ok = gnutls_hmac_fast(GNUTLS_MAC_SHA256, a->key, sizeof(a->key), msg, ul + 1 + pl, out) ==
	     0;
	explicit_bzero(msg, ul + 1 + pl);
	free(msg);
	return ok;
}

static struct memo *find(struct memo *m, const uint8_t mac[MAC_BYTES])
{
	for (size_t i = 0; i < REMEMBERED; i++)
		if (m[i].used && !memcmp(m[i].mac, mac, MAC_BYTES))
			return &m[i];
	return NULL;
}

enum lt_auth_verdict lt_basic_auth_recall(struct lt_basic_auth *a, const char *user,
					  const char *password)
{
	enum lt_auth_verdict v = LT_AUTH_UNKNOWN;
	uint8_t mac[MAC_BYTES];
	struct memo *m;

	if (!mac_of(a, user, password, mac))
		return LT_AUTH_UNKNOWN;
	pthread_mutex_lock(&a->lock);
	if ((m = find(a->good, mac)))
		v = LT_AUTH_GOOD;
	else if ((m = find(a->bad, mac)))
		v = LT_AUTH_BAD;
	if (m)
		m->used = ++a->clock;
	pthread_mutex_unlock(&a->lock);
	return v;
}

/* Into the least recently used slot of its own kind. */
static void remember(struct lt_basic_auth *a, const uint8_t mac[MAC_BYTES], bool good)
{
	struct memo *m = good ? a->good : a->bad, *slot = &m[0];

	pthread_mutex_lock(&a->lock);
	if (!find(m, mac)) {
		for (size_t i = 1; i < REMEMBERED; i++)
			if (m[i].used < slot->used)
				slot = &m[i];
		memcpy(slot->mac, mac, MAC_BYTES);
		slot->used = ++a->clock;
	}
	pthread_mutex_unlock(&a->lock);
}

static bool same_text(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	unsigned char diff = la != lb;

	/* Hashes have one length; the loop does not stop early. */
	for (size_t i = 0; i < la && i < lb; i++)
		diff |= (unsigned char)(a[i] ^ b[i]);
	return !diff;
}

bool lt_basic_auth_check(struct lt_basic_auth *a, const char *user, const char *password)
{
	const char *hash = dummy_hash, *got;
	struct crypt_data *cd = calloc(1, sizeof(*cd));
	uint8_t mac[MAC_BYTES];
	bool known = false, good;

	if (!cd)
		return false;
	for (size_t i = 0; i < a->nusers; i++) {
		if (!strcmp(a->users[i].name, user)) {
			hash = a->users[i].hash;
			known = true;
		}
	}
	got = crypt_rn(password, hash, cd, sizeof(*cd));
	good = known && got && same_text(got, hash);
	explicit_bzero(cd, sizeof(*cd));
	free(cd);
	if (mac_of(a, user, password, mac))
		remember(a, mac, good);
	return good;
}
