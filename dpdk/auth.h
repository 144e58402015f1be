/* SPDX-License-Identifier: MIT
 * Frame authentication (issue 17, optional: trireme_conf.auth).
 *
 * With it on, every UDP payload between replicas (the columns' engine frames
 * and the snapshot channel's) ends with a 16-byte tag:
 *
 *   payload := frame | tag[16]
 *   tag     := SipHash-2-4-128(subkey(K, from, to, channel), frame)
 *   subkey  := BLAKE2b-128(key = K, "trireme-auth" | from | to | channel)
 *
 * K is the cluster's 32-byte key. The subkeys bind the tag to the direction
 * and the channel (a frame signed for 1 -> 0 on column 2 fails anywhere
 * else) at no cost per frame: they are derived when a key is loaded.
 * SipHash-2-4-128 (libsodium's crypto_shorthash_siphashx24) is a PRF with a
 * 128-bit key, the fastest of libsodium's MACs at 100..1500 bytes here
 * (bench/bench_auth.c; docs/operating.md "Authentication" says why it and
 * not BLAKE2b, HMAC-SHA-512-256 or Poly1305).
 *
 * Keys: the newest signs; during a roll-over a second key is accepted too
 * (the previous one after a rotation, or a staged next one). The key set is
 * an RCU pointer: the workers, registered with liburcu QSBR while auth is
 * on, read it without locks; a rotation publishes a new set and frees the
 * old one after a grace period. No replay protection: replayed frames are
 * harmless by the protocol (docs/protocol.md §13).
 */
#ifndef TR_AUTH_H
#define TR_AUTH_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net.h"
#include "trireme.h"

#define RT_AUTH_TAG 16
#define RT_AUTH_SUBKEY 16

/* One key's subkeys, by (from, to, channel). */
struct rt_auth_key {
	uint8_t sub[TR_REPLICAS][TR_REPLICAS][TR_NET_CHANNELS][RT_AUTH_SUBKEY];
};

/* What the workers read: key[0] signs, key[0..n) are accepted. */
struct rt_auth_keys {
	unsigned n;
	struct rt_auth_key key[2];
};

struct rt_auth {
	bool on;
	struct rt_auth_keys *keys;  /* RCU: rcu_dereference in the workers */
	pthread_mutex_t lock;       /* rotations; raw[] below */
	uint8_t raw[2][TRIREME_AUTH_KEY_LEN]; /* key[i]'s, for the next rotation */
	_Atomic uint64_t rotations, key_errors;
};

/* Start: auth->on with the first key (conf), or off. 0 or -TRIREME_ENOMEM /
 * -TRIREME_EINTERNAL (libsodium failed to initialise). */
int rt_auth_init(struct rt_auth *auth, const struct trireme_conf *conf);
/* After the workers stopped. */
void rt_auth_free(struct rt_auth *auth);

/* Payload bytes left for the frame: the tag goes after it. */
static inline uint16_t
rt_auth_room(const struct rt_auth *auth, uint16_t cap)
{
	return !auth->on ? cap : cap > RT_AUTH_TAG ? (uint16_t)(cap - RT_AUTH_TAG) : 0;
}

/* Worker side (registered with QSBR). Appends the tag at frame + len (the
 * caller left RT_AUTH_TAG bytes: rt_auth_room); returns the payload length. */
uint16_t rt_auth_sign(const struct rt_auth_keys *keys, uint8_t *frame, uint16_t len,
		      unsigned from, unsigned to, unsigned channel);
/* True when payload[0..len) ends with a tag of an accepted key; *frame_len
 * is then len - RT_AUTH_TAG. */
bool rt_auth_verify(const struct rt_auth_keys *keys, const uint8_t *payload, uint16_t len,
		    unsigned from, unsigned to, unsigned channel, uint16_t *frame_len);

/* Control side. The key set becomes {key} + the one kept: with sign the
 * key signs from now on and the one that signed stays accepted (rotation);
 * without, the key is only accepted (staged: every process of a cluster
 * accepts it before any signs with it). Returns after a grace period: no
 * worker uses the old set any more. 0, -TRIREME_EINVAL (auth off) or
 * -TRIREME_ENOMEM. */
int rt_auth_load(struct rt_auth *auth, const uint8_t key[TRIREME_AUTH_KEY_LEN], bool sign);
/* Ends a roll-over: only the signing key is accepted. */
int rt_auth_retire(struct rt_auth *auth);

#endif
