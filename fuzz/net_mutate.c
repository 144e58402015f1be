/* SPDX-License-Identifier: MIT
 * Property tests of the frame layer (dpdk/net.c) by seeded mutation, without
 * an EAL and without libFuzzer: valid frames built by tr_net_build, then
 * bytes flipped, fields set to telling values, frames cut short or padded.
 * Every frame goes through fuzz_net_check (fuzz_net.c: the payload stays
 * inside the frame, one receiver at most, canonical rebuild parses the same),
 * from an exact-size heap copy so that the ASan build sees any overread.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_udp.h>

#include "fuzz_net.h"
#include "prop_rng.h"

#define ETH 14
#define IP_OFF ETH
#define UDP_OFF (ETH + 20)
#define PAY_OFF (ETH + 28)


/* A valid frame from a random sender to self; returns its length. */
static size_t
valid(uint8_t *buf, size_t cap, uint8_t self, bool cksum, uint16_t max_payload)
{
	struct tr_net_conf conf;
	uint8_t payload[1500];
	uint16_t len = (uint16_t)below(max_payload + 1u);
	uint8_t from = (uint8_t)((self + 1 + below(2)) % TR_REPLICAS);

	for (unsigned i = 0; i < len; i++)
		payload[i] = (uint8_t)next();
	fuzz_net_conf(&conf, cksum);
	return fuzz_net_build(buf, cap, &conf, from, self, (uint8_t)below(TR_COLUMNS), payload, len);
}

/* Parses an exact-size copy. */
static int
check_copy(const uint8_t *buf, size_t len, uint8_t self)
{
	uint8_t *copy = malloc(len ? len : 1);
	int rc;

	cr_assert(copy != NULL);
	memcpy(copy, buf, len);
	rc = fuzz_net_check(copy, len, self);
	free(copy);
	return rc;
}

Test(net_props, valid_frames_parse_to_what_was_built)
{
	static uint8_t buf[2048];

	rng = 1;
	for (unsigned i = 0; i < 3000; i++) {
		uint8_t self = (uint8_t)below(TR_REPLICAS);
		size_t n = valid(buf, sizeof(buf), self, i & 1, 1472);

		cr_assert(n >= PAY_OFF);
		cr_assert_eq(check_copy(buf, n, self), TR_NET_OK, "frame %u", i);
	}
}

/* Any single bit flipped in the IPv4 header, or (with the UDP checksum on)
 * in the UDP header or payload, and the frame is dropped. */
Test(net_props, a_flipped_bit_in_a_checksummed_part_is_never_accepted)
{
	static uint8_t buf[2048];

	rng = 2;
	for (unsigned i = 0; i < 20000; i++) {
		uint8_t self = (uint8_t)below(TR_REPLICAS);
		size_t n = valid(buf, sizeof(buf), self, true, 64);
		size_t at = IP_OFF + below((unsigned)(n - IP_OFF));
		uint8_t bit = (uint8_t)(1u << below(8));
		int rc;

		buf[at] ^= bit;
		rc = check_copy(buf, n, self);
		/* Flipping a bit of a checksum field against a zero sum can
		 * leave an equivalent encoding (0x0000 vs 0xffff): both mean
		 * the same sum in ones' complement. */
		if (rc == TR_NET_OK) {
			bool udp_ck = at == UDP_OFF + 6 || at == UDP_OFF + 7;

			cr_assert(udp_ck, "frame %u: bit %#x at byte %zu flipped, still accepted", i,
				  bit, at);
		}
	}
}

/* Header fields set to values that must each be refused for its reason. */
Test(net_props, telling_values_are_refused_for_their_reason)
{
	static uint8_t buf[2048];
	static const struct {
		size_t off;
		uint8_t v0, v1;
		int reason;
	} cases[] = {
		{12, 0x08, 0x06, TR_NET_DROP_FOREIGN_ARP},
		{12, 0x86, 0xdd, TR_NET_DROP_FOREIGN_IPV6},
		{12, 0x88, 0xb5, TR_NET_DROP_NOT_IPV4},
		{0, 0x02, 0x07, TR_NET_DROP_MISDIRECTED_MAC}, /* byte 0 kept, mac[1] */
		{IP_OFF, 0x65, 0x65, TR_NET_DROP_BAD_IP_HDR},
		{IP_OFF, 0x44, 0x44, TR_NET_DROP_BAD_IP_HDR},
		{IP_OFF + 6, 0x20, 0x00, TR_NET_DROP_BAD_IP_CKSUM},
	};

	rng = 3;
	for (unsigned i = 0; i < 200; i++)
		for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
			uint8_t self = (uint8_t)below(TR_REPLICAS);
			size_t n = valid(buf, sizeof(buf), self, i & 1, 256);

			if (cases[k].reason == TR_NET_DROP_MISDIRECTED_MAC) {
				buf[1] = cases[k].v1;
			} else {
				buf[cases[k].off] = cases[k].v0;
				if (cases[k].off == 12)
					buf[13] = cases[k].v1;
			}
			cr_assert_eq(check_copy(buf, n, self), cases[k].reason, "case %zu: %s", k,
				     tr_net_drop_name(check_copy(buf, n, self)));
		}
}

/* Random damage: flips anywhere, cuts, padding, fields rewritten with the
 * lengths and checksums fixed up again (to reach the later checks). The
 * parser must hold its invariants throughout, and the run must reach most
 * drop reasons and still accept some frames. */
Test(net_props, random_damage_keeps_the_invariants)
{
	static uint8_t buf[4096];
	unsigned seen[TR_NET_DROP_COUNT] = {0}, reasons = 0;

	rng = 4;
	for (unsigned i = 0; i < 50000; i++) {
		uint8_t self = (uint8_t)below(TR_REPLICAS);
		size_t n = valid(buf, 2048, self, below(2), 600);
		unsigned kind = below(5);

		switch (kind) {
		case 0: /* a few flips in the headers */
			for (unsigned k = 1 + below(3); k > 0; k--)
				buf[below(PAY_OFF)] ^= (uint8_t)(1u << below(8));
			break;
		case 1: /* cut short */
			n = below((unsigned)n + 1);
			break;
		case 2: /* link padding after the datagram: still accepted */
			for (unsigned k = below(64); k > 0; k--)
				buf[n++] = (uint8_t)next();
			break;
		case 3: { /* a header byte rewritten, lengths and checksums fixed */
			struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(buf + IP_OFF);
			struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(buf + UDP_OFF);

			buf[IP_OFF + below(28)] = (uint8_t)next();
			if ((ip->version_ihl & 0xf) == 5) {
				ip->total_length = rte_cpu_to_be_16((uint16_t)(n - ETH));
				udp->dgram_len = rte_cpu_to_be_16((uint16_t)(n - UDP_OFF));
				ip->hdr_checksum = 0;
				ip->hdr_checksum = (uint16_t)~rte_raw_cksum(ip, 20);
			}
			break;
		}
		default: /* the UDP or IP length alone */
			buf[below(2) ? IP_OFF + 2 + below(2) : UDP_OFF + 4 + below(2)] =
				(uint8_t)next();
			break;
		}
		seen[check_copy(buf, n, self)]++;
	}
	for (unsigned r = 0; r < TR_NET_DROP_COUNT; r++)
		reasons += seen[r] > 0;
	cr_assert_gt(seen[TR_NET_OK], 1000);
	cr_assert_geq(reasons, 12, "only %u of the answers reached", reasons);
}
