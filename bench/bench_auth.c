/* SPDX-License-Identifier: MIT
 * Issue 17 item 2: what a keyed MAC on every frame would cost, per frame, at
 * the frame sizes the replicas send (100..1500 bytes), for the libsodium
 * constructions that fit: HMAC-SHA-512-256 (crypto_auth), HMAC-SHA-256, and
 * keyed BLAKE2b (crypto_generichash) with a 16- and a 32-byte tag, the same
 * with the salt the runtime binds the addressing with (dpdk/auth.c), and
 * SipHash-2-4 (crypto_shorthash, 64-bit tag) and SipHash-2-4-128
 * (crypto_shorthash_siphashx24). Poly1305 alone (crypto_onetimeauth) is left
 * out: its key must never authenticate two messages. Sign = compute the tag; verify = compute and compare in
 * constant time (what a receiver does). Single core, warm cache.
 *   bench-auth [iterations]   (default 200000 per size and construction;
 *                             the best of 5 rounds)
 */
#define _POSIX_C_SOURCE 200809L
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

enum { HMAC512, HMAC256, B2B16, B2B32, B2B16_SALT, SIP64, SIP128, KINDS };

static const char *const names[KINDS] = {"hmac-sha512-256", "hmac-sha256", "blake2b-128",
					 "blake2b-256", "blake2b-128-salt", "siphash-2-4",
					 "siphash-2-4-128"};
static const size_t tag_len[KINDS] = {32, 32, 16, 32, 16, 8, 16};

#define ROUNDS 5

static unsigned char key[32];
static volatile unsigned char sink;

static void
tag(int kind, unsigned char *out, const unsigned char *msg, size_t len)
{
	switch (kind) {
	case HMAC512:
		crypto_auth_hmacsha512256(out, msg, len, key);
		break;
	case HMAC256:
		crypto_auth_hmacsha256(out, msg, len, key);
		break;
	case B2B16:
		crypto_generichash(out, 16, msg, len, key, sizeof(key));
		break;
	case B2B16_SALT: {
		static const unsigned char salt[16] = {1, 2, 3}, personal[16] = "trireme";

		crypto_generichash_blake2b_salt_personal(out, 16, msg, len, key, sizeof(key), salt,
							 personal);
		break;
	}
	case SIP64:
		crypto_shorthash_siphash24(out, msg, len, key);
		break;
	case SIP128:
		crypto_shorthash_siphashx24(out, msg, len, key);
		break;
	default:
		crypto_generichash(out, 32, msg, len, key, sizeof(key));
		break;
	}
}

int
main(int argc, char **argv)
{
	static const size_t sizes[] = {100, 300, 500, 1000, 1500};
	static unsigned char msg[1500];
	unsigned long iters = argc > 1 ? strtoul(argv[1], NULL, 10) : 200000;

	if (sodium_init() < 0)
		return 1;
	randombytes_buf(key, sizeof(key));
	randombytes_buf(msg, sizeof(msg));
	printf("%-16s %6s %10s %10s %8s\n", "construction", "bytes", "sign ns", "verify ns",
	       "tag");
	for (int kind = 0; kind < KINDS; kind++)
		for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
			unsigned char t[32], u[32];
			size_t tlen = tag_len[kind];
			double sign = 1e30, verify = 1e30;

			/* The best of a few rounds: the machine is shared. */
			for (int round = 0; round < ROUNDS; round++) {
				double t0, t1, t2;

				t0 = now_s();
				for (unsigned long i = 0; i < iters; i++) {
					msg[0] = (unsigned char)i;
					tag(kind, t, msg, sizes[s]);
					sink ^= t[0];
				}
				t1 = now_s();
				for (unsigned long i = 0; i < iters; i++) {
					msg[0] = (unsigned char)i;
					tag(kind, u, msg, sizes[s]);
					sink ^= (unsigned char)sodium_memcmp(t, u, tlen);
				}
				t2 = now_s();
				if (t1 - t0 < sign)
					sign = t1 - t0;
				if (t2 - t1 < verify)
					verify = t2 - t1;
			}
			printf("%-16s %6zu %10.0f %10.0f %8zu\n", names[kind], sizes[s],
			       sign * 1e9 / (double)iters, verify * 1e9 / (double)iters, tlen);
		}
	return 0;
}
