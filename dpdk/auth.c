/* SPDX-License-Identifier: MIT
 * Frame authentication: keys, tags, rotation (see auth.h).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>
#include <urcu-qsbr.h>

#include <rte_log.h>

#include "auth.h"
#include "runtime.h"

_Static_assert(crypto_shorthash_siphashx24_BYTES == RT_AUTH_TAG, "tag size");
_Static_assert(crypto_shorthash_siphashx24_KEYBYTES == RT_AUTH_SUBKEY, "subkey size");
_Static_assert(crypto_generichash_KEYBYTES_MAX >= TRIREME_AUTH_KEY_LEN, "key size");

static void
derive(struct rt_auth_key *k, const uint8_t raw[TRIREME_AUTH_KEY_LEN])
{
	static const char label[] = "trireme-auth";
	uint8_t in[sizeof(label) - 1 + 3];

	memcpy(in, label, sizeof(label) - 1);
	for (unsigned f = 0; f < TR_REPLICAS; f++)
		for (unsigned t = 0; t < TR_REPLICAS; t++)
			for (unsigned c = 0; c < TR_NET_CHANNELS; c++) {
				in[sizeof(label) - 1] = (uint8_t)f;
				in[sizeof(label)] = (uint8_t)t;
				in[sizeof(label) + 1] = (uint8_t)c;
				crypto_generichash(k->sub[f][t][c], RT_AUTH_SUBKEY, in, sizeof(in),
						   raw, TRIREME_AUTH_KEY_LEN);
			}
}

static void
keys_free(struct rt_auth_keys *keys)
{
	if (keys == NULL)
		return;
	sodium_memzero(keys, sizeof(*keys));
	free(keys);
}

/* A new set from raw[0..n) (raw[0] signs), published; the old one freed
 * after a grace period. Under auth->lock. */
static int
publish(struct rt_auth *auth, unsigned n)
{
	struct rt_auth_keys *keys = calloc(1, sizeof(*keys)), *old;

	if (keys == NULL)
		return -TRIREME_ENOMEM;
	keys->n = n;
	for (unsigned i = 0; i < n; i++)
		derive(&keys->key[i], auth->raw[i]);
	old = rcu_xchg_pointer(&auth->keys, keys);
	if (old != NULL) {
		urcu_qsbr_synchronize_rcu(); /* offline meanwhile if this thread is a reader */
		keys_free(old);
	}
	return 0;
}

int
rt_auth_init(struct rt_auth *auth, const struct trireme_conf *conf)
{
	memset(auth, 0, sizeof(*auth));
	pthread_mutex_init(&auth->lock, NULL);
	if (!conf->auth)
		return 0;
	if (sodium_init() < 0)
		return -TRIREME_EINTERNAL;
	auth->on = true;
	memcpy(auth->raw[0], conf->auth_key, TRIREME_AUTH_KEY_LEN);
	return publish(auth, 1);
}

void
rt_auth_free(struct rt_auth *auth)
{
	keys_free(auth->keys);
	auth->keys = NULL;
	sodium_memzero(auth->raw, sizeof(auth->raw));
	pthread_mutex_destroy(&auth->lock);
}

uint16_t
rt_auth_sign(const struct rt_auth_keys *keys, uint8_t *frame, uint16_t len, unsigned from,
	     unsigned to, unsigned channel)
{
	crypto_shorthash_siphashx24(frame + len, frame, len, keys->key[0].sub[from][to][channel]);
	return (uint16_t)(len + RT_AUTH_TAG);
}

bool
rt_auth_verify(const struct rt_auth_keys *keys, const uint8_t *payload, uint16_t len,
	       unsigned from, unsigned to, unsigned channel, uint16_t *frame_len)
{
	uint8_t tag[RT_AUTH_TAG];
	uint16_t n;

	if (len < RT_AUTH_TAG || from >= TR_REPLICAS || to >= TR_REPLICAS ||
	    channel >= TR_NET_CHANNELS)
		return false;
	n = (uint16_t)(len - RT_AUTH_TAG);
	for (unsigned i = 0; i < keys->n; i++) {
		crypto_shorthash_siphashx24(tag, payload, n, keys->key[i].sub[from][to][channel]);
		if (crypto_verify_16(tag, payload + n) == 0) {
			*frame_len = n;
			return true;
		}
	}
	return false;
}

int
rt_auth_load(struct rt_auth *auth, const uint8_t key[TRIREME_AUTH_KEY_LEN], bool sign)
{
	int rc;

	if (!auth->on)
		return -TRIREME_EINVAL;
	pthread_mutex_lock(&auth->lock);
	if (sign) /* the one that signed stays accepted */
		memcpy(auth->raw[1], auth->raw[0], TRIREME_AUTH_KEY_LEN);
	memcpy(auth->raw[sign ? 0 : 1], key, TRIREME_AUTH_KEY_LEN);
	rc = publish(auth, 2);
	if (rc == 0)
		atomic_fetch_add(&auth->rotations, 1);
	pthread_mutex_unlock(&auth->lock);
	return rc;
}

int
rt_auth_retire(struct rt_auth *auth)
{
	int rc;

	if (!auth->on)
		return -TRIREME_EINVAL;
	pthread_mutex_lock(&auth->lock);
	sodium_memzero(auth->raw[1], TRIREME_AUTH_KEY_LEN);
	rc = publish(auth, 1);
	pthread_mutex_unlock(&auth->lock);
	return rc;
}

static int key_fail(char *err, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int
key_fail(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (err != NULL && len > 0)
		vsnprintf(err, len, fmt, ap);
	va_end(ap);
	return -TRIREME_EINVAL;
}

int
trireme_auth_key_read(const char *path, uint8_t key[TRIREME_AUTH_KEY_LEN], char *err,
		      size_t err_len)
{
	uint8_t buf[2 * TRIREME_AUTH_KEY_LEN + 3];
	size_t n, bin_len = 0;
	FILE *f;

	if (path == NULL || key == NULL)
		return key_fail(err, err_len, "no key file given");
	if (sodium_init() < 0)
		return key_fail(err, err_len, "libsodium did not initialise");
	f = fopen(path, "rb");
	if (f == NULL)
		return key_fail(err, err_len, "cannot open the key file %.200s: %s", path,
				strerror(errno));
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	if (n == TRIREME_AUTH_KEY_LEN) { /* raw */
		memcpy(key, buf, TRIREME_AUTH_KEY_LEN);
		sodium_memzero(buf, sizeof(buf));
		return 0;
	}
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
		n--;
	if (n != 2 * TRIREME_AUTH_KEY_LEN ||
	    sodium_hex2bin(key, TRIREME_AUTH_KEY_LEN, (const char *)buf, n, NULL, &bin_len,
			   NULL) != 0 || bin_len != TRIREME_AUTH_KEY_LEN) {
		sodium_memzero(buf, sizeof(buf));
		sodium_memzero(key, TRIREME_AUTH_KEY_LEN);
		return key_fail(err, err_len,
				"the key file %.200s is not a key: %s (make one with "
				"`head -c 32 /dev/urandom > FILE`)", path,
				n < 2 * TRIREME_AUTH_KEY_LEN ? "too short for 32 raw bytes or 64 "
				"hex digits" : "not 32 raw bytes nor 64 hex digits");
	}
	sodium_memzero(buf, sizeof(buf));
	return 0;
}

int
trireme_auth_load(struct trireme *t, const char *path, unsigned flags, char *err,
		  size_t err_len)
{
	uint8_t key[TRIREME_AUTH_KEY_LEN];
	int rc;

	if (t == NULL || (flags & ~TRIREME_AUTH_ACCEPT) != 0)
		return -TRIREME_EINVAL;
	if (!t->auth.on) {
		rc = key_fail(err, err_len, "authentication is off: start with a key "
			      "(trireme_conf.auth, --auth-key) to rotate keys");
	} else {
		rc = trireme_auth_key_read(path, key, err, err_len);
		if (rc == 0)
			rc = rt_auth_load(&t->auth, key, (flags & TRIREME_AUTH_ACCEPT) == 0);
		sodium_memzero(key, sizeof(key));
	}
	if (rc != 0) {
		atomic_fetch_add(&t->auth.key_errors, 1);
		rte_log(RTE_LOG_WARNING, tr_logtype, "trireme: auth: key not loaded: %s\n",
			err != NULL && err_len > 0 ? err : trireme_strerror(rc));
	}
	return rc;
}

int
trireme_auth_retire(struct trireme *t)
{
	return t == NULL ? -TRIREME_EINVAL : rt_auth_retire(&t->auth);
}
