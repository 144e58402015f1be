/* SPDX-License-Identifier: MIT
 * libFuzzer target: the runtime's frame layer, Ethernet + IPv4 + UDP
 * (dpdk/net.c, tr_net_parse), without an EAL: the parser only reads the
 * mbuf's length fields and data, so a zeroed struct rte_mbuf pointing at the
 * input is a faithful stand-in.
 *
 * Input: flags:u8 frame*. flags & 3: the receiver (self, % 3); flags & 4:
 * the IPv4 total length and UDP length are rewritten to match the frame;
 * flags & 8: the IPv4 header checksum is recomputed; flags & 16: the UDP
 * checksum is recomputed (else left as is; 0 means "none"). The fix-ups let
 * the fuzzer get past the checks a random frame fails first.
 *
 * Checks, for every input:
 *   - the answer is TR_NET_OK or a named drop reason;
 *   - an accepted frame's payload lies inside the frame, after the headers,
 *     with the length the UDP header gives; it comes from a peer (by source
 *     IP), not from the receiver, for a column (or the snapshot channel) by destination port, to the
 *     receiver's IP and MAC (or broadcast); on the remote clients' port, from
 *     any source, which rx names (no rebuild: nobody sends those to a replica);
 *   - no other replica accepts it (the destination IP names one);
 *   - rebuilt by tr_net_build (from the sender, same column and payload), it
 *     parses to the same payload, sender and column.
 * A failed check aborts; the ASan build (and libFuzzer) catch reads past the
 * input, which is an exact-size heap copy.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_ip.h>
#include <rte_mbuf.h>

#include "fuzz_net.h"

#define CHECK(cond)                                                                      \
	do {                                                                             \
		if (!(cond)) {                                                           \
			fprintf(stderr, "fuzz_net: invariant failed at %s:%d: %s\n",    \
				__FILE__, __LINE__, #cond);                              \
			abort();                                                         \
		}                                                                        \
	} while (0)

#define FRAME_MAX 9216

void
fuzz_net_conf(struct tr_net_conf *conf, bool udp_cksum)
{
	memset(conf, 0, sizeof(*conf));
	for (unsigned i = 0; i < TR_REPLICAS; i++) {
		struct rte_ether_addr mac = {{0x02, 0, 0, 0, 0, (uint8_t)(1 + i)}};

		conf->addr[i].mac = mac;
		conf->addr[i].ip = rte_cpu_to_be_32(RTE_IPV4(10, 0, 0, 1 + i));
	}
	conf->port_base = FUZZ_NET_PORT_BASE;
	conf->tx_udp_cksum = udp_cksum;
}

/* A single-segment mbuf over buf[0..len), room up to cap. */
static void
fake_mbuf(struct rte_mbuf *m, uint8_t *buf, size_t cap, size_t len)
{
	memset(m, 0, sizeof(*m));
	m->buf_addr = buf;
	m->buf_len = (uint16_t)cap;
	m->data_off = 0;
	m->data_len = (uint16_t)len;
	m->pkt_len = (uint32_t)len;
	m->nb_segs = 1;
	m->next = NULL;
}

size_t
fuzz_net_build(uint8_t *buf, size_t cap, const struct tr_net_conf *conf, uint8_t from,
	       uint8_t to, uint8_t column, const uint8_t *payload, uint16_t len)
{
	struct rte_mbuf m;

	fake_mbuf(&m, buf, cap, 0);
	if (tr_net_build(&m, conf, from, to, column, len) != 0)
		return 0;
	memcpy(buf + TR_NET_HDR_LEN, payload, len);
	if (conf->tx_udp_cksum) {
		/* tr_net_build summed the payload that was there before. */
		struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(buf + sizeof(struct rte_ether_hdr));
		struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(ip + 1);

		udp->dgram_cksum = 0;
		udp->dgram_cksum = rte_ipv4_udptcp_cksum(ip, udp);
	}
	return m.data_len;
}

static int
parse(const uint8_t *buf, size_t len, const struct tr_net_conf *conf, uint8_t self,
      struct tr_net_rx *rx)
{
	struct rte_mbuf m;

	fake_mbuf(&m, (uint8_t *)buf, len, len);
	return tr_net_parse(&m, conf, self, rx);
}

/* The fix-ups of the input format, on a copy. */
static void
fix_up(uint8_t *buf, size_t len, uint8_t flags)
{
	struct rte_ipv4_hdr *ip;
	struct rte_udp_hdr *udp;
	size_t hlen;

	if (len < TR_NET_HDR_LEN)
		return;
	ip = (struct rte_ipv4_hdr *)(buf + sizeof(struct rte_ether_hdr));
	hlen = (size_t)(ip->version_ihl & RTE_IPV4_HDR_IHL_MASK) * RTE_IPV4_IHL_MULTIPLIER;
	if (hlen < sizeof(*ip) || sizeof(struct rte_ether_hdr) + hlen + sizeof(*udp) > len)
		return;
	udp = (struct rte_udp_hdr *)((uint8_t *)ip + hlen);
	if (flags & 4) {
		size_t tot = len - sizeof(struct rte_ether_hdr);

		if (tot > UINT16_MAX)
			return;
		ip->total_length = rte_cpu_to_be_16((uint16_t)tot);
		udp->dgram_len = rte_cpu_to_be_16((uint16_t)(tot - hlen));
	}
	if (flags & 8) {
		ip->hdr_checksum = 0;
		ip->hdr_checksum = (uint16_t)~rte_raw_cksum(ip, hlen);
	}
	/* (rte_ipv4_udptcp_cksum sums as far as the IPv4 total length says.) */
	if ((flags & 16) && hlen == sizeof(*ip) &&
	    rte_be_to_cpu_16(ip->total_length) == len - sizeof(struct rte_ether_hdr) &&
	    rte_be_to_cpu_16(udp->dgram_len) == len - sizeof(struct rte_ether_hdr) - hlen) {
		udp->dgram_cksum = 0;
		udp->dgram_cksum = rte_ipv4_udptcp_cksum(ip, udp);
	}
}

static unsigned accepted;

int
fuzz_net_check(const uint8_t *buf, size_t len, uint8_t self)
{
	static uint8_t again[FRAME_MAX];
	struct tr_net_conf conf;
	struct tr_net_rx rx, rx2;
	const struct rte_ether_hdr *eth = (const struct rte_ether_hdr *)buf;
	const struct rte_ipv4_hdr *ip;
	size_t n;
	int rc;

	fuzz_net_conf(&conf, false);
	rc = parse(buf, len, &conf, self, &rx);
	CHECK(rc >= TR_NET_OK && rc < TR_NET_DROP_COUNT);
	CHECK(strcmp(tr_net_drop_name(rc), "unknown") != 0);
	if (rc != TR_NET_OK)
		return rc;
	accepted++;
	CHECK(rx.payload >= buf + TR_NET_HDR_LEN && rx.payload + rx.len <= buf + len);
	ip = (const struct rte_ipv4_hdr *)(eth + 1);
	CHECK(ip->dst_addr == conf.addr[self].ip);
	CHECK(rx.src_ip == ip->src_addr && rx.src_mac == &eth->src_addr &&
	      rx.src_port == ((const struct rte_udp_hdr *)rx.payload - 1)->src_port);
	if (rx.column == TR_NET_CLIENT) {
		CHECK(rx.from == TR_REPLICAS || ip->src_addr == conf.addr[rx.from].ip);
		for (uint8_t other = 0; other < TR_REPLICAS; other++)
			if (other != self)
				CHECK(parse(buf, len, &conf, other, &rx2) != TR_NET_OK);
		return rc;
	}
	CHECK(rx.from < TR_REPLICAS && rx.from != self && rx.column < TR_NET_CHANNELS);
	CHECK(ip->src_addr == conf.addr[rx.from].ip);
	CHECK(rte_is_same_ether_addr(&eth->dst_addr, &conf.addr[self].mac) ||
	      rte_is_broadcast_ether_addr(&eth->dst_addr));
	CHECK(rx.len + sizeof(struct rte_udp_hdr) ==
	      rte_be_to_cpu_16(((const struct rte_udp_hdr *)rx.payload - 1)->dgram_len));
	for (uint8_t other = 0; other < TR_REPLICAS; other++)
		if (other != self)
			CHECK(parse(buf, len, &conf, other, &rx2) != TR_NET_OK);
	/* Rebuilt canonically, with and without the UDP checksum. */
	for (int ck = 0; ck < 2; ck++) {
		fuzz_net_conf(&conf, ck);
		n = fuzz_net_build(again, sizeof(again), &conf, rx.from, self, rx.column, rx.payload,
				   rx.len);
		if (n == 0) {
			CHECK(rx.len > TR_NET_MTU_DEFAULT - TR_NET_IP_UDP_LEN);
			continue;
		}
		CHECK(parse(again, n, &conf, self, &rx2) == TR_NET_OK);
		CHECK(rx2.from == rx.from && rx2.column == rx.column && rx2.len == rx.len);
		CHECK(memcmp(rx2.payload, rx.payload, rx.len) == 0);
	}
	return rc;
}

const char *fuzz_replay_check(unsigned inputs);

const char *
fuzz_replay_check(unsigned inputs)
{
	printf("fuzz_net: %u of %u inputs accepted\n", accepted, inputs);
	return inputs > 0 && accepted > 0 ? NULL : "no frame accepted";
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy;
	uint8_t flags;

	if (size == 0 || size - 1 > FRAME_MAX)
		return 0;
	flags = data[0];
	copy = malloc(size - 1 ? size - 1 : 1);
	CHECK(copy != NULL);
	memcpy(copy, data + 1, size - 1);
	fix_up(copy, size - 1, flags);
	fuzz_net_check(copy, size - 1, (uint8_t)((flags & 3) % TR_REPLICAS));
	free(copy);
	return 0;
}
