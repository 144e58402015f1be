/* SPDX-License-Identifier: MIT
 * dpdk/net.c (Ethernet/IPv4/UDP framing, drop reasons) and dpdk/port.c
 * (mempool, port set-up, in-process ring mesh). One EAL per test process.
 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <rte_byteorder.h>
#include <rte_common.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_udp.h>

#include <criterion/criterion.h>

#include "net.h"
#include "port.h"

#define PORT_BASE 7000
#define POOL_SIZE 511
#define IP_OF(i) RTE_IPV4(10, 0, 0, (i) + 1)	/* host order */

/* Frame offsets of header fields. */
#define ETH_LEN sizeof(struct rte_ether_hdr)
#define OFF_ETH(f) offsetof(struct rte_ether_hdr, f)
#define OFF_IP(f) (ETH_LEN + offsetof(struct rte_ipv4_hdr, f))
#define OFF_UDP(f) (ETH_LEN + sizeof(struct rte_ipv4_hdr) + \
		    offsetof(struct rte_udp_hdr, f))

static struct rte_mempool *pool;
static struct tr_net_conf conf;
static char run_dir[PATH_MAX];

static void
conf_init(struct tr_net_conf *c)
{
	unsigned int i;

	memset(c, 0, sizeof(*c));
	for (i = 0; i < TR_REPLICAS; i++) {
		c->addr[i].mac.addr_bytes[0] = 0x02;	/* local unicast */
		c->addr[i].mac.addr_bytes[5] = (uint8_t)(i + 1);
		c->addr[i].ip = rte_cpu_to_be_32(IP_OF(i));
	}
	c->port_base = PORT_BASE;
}

static void
eal_up(void)
{
	char prefix[64];
	char *argv[] = {"test_net", "-l", "0", "--no-huge", "--no-pci",
			"--no-shconf", prefix, "--no-telemetry",
			"--log-level=*:error", "-m", "128", NULL};

	snprintf(prefix, sizeof(prefix), "--file-prefix=trn%d", getpid());
	cr_assert(rte_eal_init((int)RTE_DIM(argv) - 1, argv) >= 0, "EAL: %s",
		  rte_strerror(rte_errno));
	snprintf(run_dir, sizeof(run_dir), "%s", rte_eal_get_runtime_dir());
	pool = tr_mempool_create("net_pool", POOL_SIZE, 0, SOCKET_ID_ANY);
	cr_assert_not_null(pool, "pool: %s", rte_strerror(rte_errno));
	conf_init(&conf);
	cr_assert_eq(tr_net_conf_check(&conf), 0);
}

static void
eal_down(void)
{
	rte_mempool_free(pool);
	rte_eal_cleanup();
	rmdir(run_dir);		/* the empty per-pid dir (cookbook §9) */
}

TestSuite(net, .init = eal_up, .fini = eal_down, .timeout = 30);

static uint8_t
pat(unsigned int seed, unsigned int k)
{
	return (uint8_t)(seed * 131 + k * 7 + (k >> 8) + 1);
}

static bool
payload_is(const uint8_t *p, unsigned int len, unsigned int seed)
{
	unsigned int k;

	for (k = 0; k < len; k++)
		if (p[k] != pat(seed, k))
			return false;
	return true;
}

/* A packet from mp, from -> to on column with len pattern bytes. */
static struct rte_mbuf *
mk_pkt_from(struct rte_mempool *mp, const struct tr_net_conf *c, uint8_t from,
	    uint8_t to, uint8_t column, uint16_t len, unsigned int seed)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(mp);
	uint8_t *p;
	unsigned int k;
	int rc;

	cr_assert_not_null(m, "mbuf alloc");
	p = tr_net_payload(m);
	for (k = 0; k < len; k++)
		p[k] = pat(seed, k);
	rc = tr_net_build(m, c, from, to, column, len);
	cr_assert_eq(rc, 0, "build %u->%u col %u len %u: %d", from, to,
		     column, len, rc);
	return m;
}

static struct rte_mbuf *
mk_pkt(const struct tr_net_conf *c, uint8_t from, uint8_t to, uint8_t column,
       uint16_t len, unsigned int seed)
{
	return mk_pkt_from(pool, c, from, to, column, len, seed);
}

static uint8_t *
frame(struct rte_mbuf *m)
{
	return rte_pktmbuf_mtod(m, uint8_t *);
}

static struct rte_ipv4_hdr *
ip_of(struct rte_mbuf *m)
{
	return (struct rte_ipv4_hdr *)(frame(m) + ETH_LEN);
}

/* Recomputes the IP header checksum (over ihl * 4 bytes, at least 20). */
static void
ip_fix(struct rte_ipv4_hdr *ip)
{
	unsigned int hlen = (ip->version_ihl & RTE_IPV4_HDR_IHL_MASK) * 4;

	ip->hdr_checksum = 0;
	ip->hdr_checksum = (uint16_t)~rte_raw_cksum(ip, RTE_MAX(hlen, 20u));
}

static void
put_be(uint8_t *p, unsigned int size, uint32_t v)
{
	while (size-- > 0) {
		p[size] = (uint8_t)v;
		v >>= 8;
	}
}

static void
set_len(struct rte_mbuf *m, uint16_t len)
{
	m->data_len = len;
	m->pkt_len = len;
}

/* tr_net_parse() plus its promises: it writes neither the frame nor the
 * mbuf, and leaves *out untouched on a drop. */
static int
parse_checked(const struct rte_mbuf *m, const struct tr_net_conf *c,
	      uint8_t self, struct tr_net_rx *out)
{
	static uint8_t before[TR_MBUF_BUF_SIZE];
	struct tr_net_rx sentinel;
	uint32_t n = RTE_MIN((uint32_t)m->data_len, sizeof(before));
	uint32_t pkt_len = m->pkt_len;
	uint16_t data_len = m->data_len, nb_segs = m->nb_segs;
	int rc;

	memset(out, 0x5a, sizeof(*out));
	memcpy(&sentinel, out, sizeof(sentinel));
	memcpy(before, rte_pktmbuf_mtod(m, const uint8_t *), n);
	rc = tr_net_parse(m, c, self, out);
	cr_assert(memcmp(before, rte_pktmbuf_mtod(m, const uint8_t *), n) == 0,
		  "parse wrote into the frame");
	cr_assert(m->pkt_len == pkt_len && m->data_len == data_len &&
		  m->nb_segs == nb_segs, "parse changed the mbuf");
	cr_assert(rc >= 0 && rc < TR_NET_DROP_COUNT, "reason %d", rc);
	if (rc != TR_NET_OK)
		cr_assert(memcmp(out, &sentinel, sizeof(sentinel)) == 0,
			  "*out written on drop %s", tr_net_drop_name(rc));
	return rc;
}

static void
check_headers(struct rte_mbuf *m, const struct tr_net_conf *c, uint8_t from,
	      uint8_t to, uint8_t column, uint16_t len)
{
	const struct rte_ether_hdr *eth = (const void *)frame(m);
	const struct rte_ipv4_hdr *ip = (const void *)(eth + 1);
	struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(frame(m) +
		ETH_LEN + sizeof(*ip));
	uint16_t sent, good;

	cr_assert_eq(m->data_len, TR_NET_HDR_LEN + len);
	cr_assert_eq(m->pkt_len, m->data_len);
	cr_assert_eq((unsigned int)m->l2_len, ETH_LEN);
	cr_assert_eq((unsigned int)m->l3_len, sizeof(*ip));
	cr_assert_eq((unsigned int)m->l4_len, sizeof(*udp));
	cr_assert_eq(m->packet_type, RTE_PTYPE_L2_ETHER | RTE_PTYPE_L3_IPV4 |
		     RTE_PTYPE_L4_UDP);
	cr_assert_eq(m->ol_flags, 0);
	cr_assert(rte_is_same_ether_addr(&eth->dst_addr, &c->addr[to].mac));
	cr_assert(rte_is_same_ether_addr(&eth->src_addr, &c->addr[from].mac));
	cr_assert_eq(eth->ether_type, RTE_BE16(RTE_ETHER_TYPE_IPV4));
	cr_assert_eq(ip->version_ihl, 0x45);
	cr_assert_eq(ip->type_of_service, 0);
	cr_assert_eq(rte_be_to_cpu_16(ip->total_length), TR_NET_IP_UDP_LEN + len);
	cr_assert_eq(ip->packet_id, 0);
	cr_assert_eq(ip->fragment_offset, RTE_BE16(RTE_IPV4_HDR_DF_FLAG));
	cr_assert_eq(ip->time_to_live, TR_NET_TTL);
	cr_assert_eq(ip->next_proto_id, IPPROTO_UDP);
	cr_assert_eq(rte_raw_cksum(ip, sizeof(*ip)), 0xffff, "IP checksum");
	cr_assert_eq(ip->src_addr, c->addr[from].ip);
	cr_assert_eq(ip->dst_addr, c->addr[to].ip);
	cr_assert_eq(rte_be_to_cpu_16(udp->src_port),
		     c->port_base + TR_NET_SPORT_OFFSET + from);
	cr_assert_eq(rte_be_to_cpu_16(udp->dst_port), c->port_base + column);
	cr_assert_eq(rte_be_to_cpu_16(udp->dgram_len), sizeof(*udp) + len);
	if (!c->tx_udp_cksum) {
		cr_assert_eq(udp->dgram_cksum, 0);
		return;
	}
	/* recompute it with the field zeroed */
	sent = udp->dgram_cksum;
	udp->dgram_cksum = 0;
	good = rte_ipv4_udptcp_cksum(ip, udp);
	udp->dgram_cksum = sent;
	cr_assert(sent != 0 && sent == good, "UDP checksum %#x, want %#x",
		  sent, good);
}

static void
round_trip_one(const struct tr_net_conf *c, uint8_t from, uint8_t to,
	       uint8_t col, uint16_t len, unsigned int seed)
{
	struct tr_net_rx out;
	struct rte_mbuf *m;
	unsigned int self;
	int rc;

	m = mk_pkt(c, from, to, col, len, seed);
	check_headers(m, c, from, to, col, len);
	rc = parse_checked(m, c, to, &out);
	cr_assert_eq(rc, TR_NET_OK, "%u->%u col %u len %u mtu %u cksum %d: %s",
		     from, to, col, len, c->mtu, c->tx_udp_cksum,
		     tr_net_drop_name(rc));
	cr_assert_eq(out.from, from);
	cr_assert_eq(out.column, col);
	cr_assert_eq(out.len, len);
	cr_assert_eq(out.payload, tr_net_payload(m));
	cr_assert(payload_is(out.payload, len, seed), "payload %u->%u len %u",
		  from, to, len);
	/* nobody else's */
	for (self = 0; self < TR_REPLICAS; self++)
		if (self != to)
			cr_assert_eq(parse_checked(m, c, self, &out),
				     TR_NET_DROP_MISDIRECTED_MAC);
	rte_pktmbuf_free(m);
}

/* Every (from, to, column) with each payload size, on conf c. */
static void
round_trip_conf(const struct tr_net_conf *c, const uint16_t *sizes,
		unsigned int nb_sizes)
{
	unsigned int s, from, to, col, seed = 0;

	for (from = 0; from < TR_REPLICAS; from++)
		for (to = 0; to < TR_REPLICAS; to++)
			for (col = 0; col < TR_COLUMNS && from != to; col++)
				for (s = 0; s < nb_sizes; s++)
					round_trip_one(c, from, to, col,
						       sizes[s], ++seed);
}

Test(net, round_trip)
{
	static const uint16_t mtus[] = {0, 9000};	/* cap by MTU, by room */
	uint16_t sizes[] = {0, 1, 2, 17, 64, 255, 1000, 0, 0};
	struct tr_net_conf c = conf;
	struct rte_mbuf *m;
	unsigned int ck, mi;
	uint16_t cap, want;

	for (ck = 0; ck < 2; ck++) {
		for (mi = 0; mi < RTE_DIM(mtus); mi++) {
			c.tx_udp_cksum = ck != 0;
			c.mtu = mtus[mi];
			cr_assert_eq(tr_net_conf_check(&c), 0);
			m = rte_pktmbuf_alloc(pool);
			cr_assert_not_null(m);
			want = (uint16_t)RTE_MIN((c.mtu ? c.mtu : 1500) -
						 TR_NET_IP_UDP_LEN,
						 m->buf_len - m->data_off -
						 TR_NET_HDR_LEN);
			cap = tr_net_payload_cap(m, &c);
			rte_pktmbuf_free(m);
			cr_assert_eq(cap, want, "mtu %u: cap %u", c.mtu, cap);
			sizes[RTE_DIM(sizes) - 2] = cap - 1;
			sizes[RTE_DIM(sizes) - 1] = cap;	/* the maximum */
			round_trip_conf(&c, sizes, RTE_DIM(sizes));
		}
	}
}

static const char *
field_of(unsigned int b)
{
	static const struct {
		unsigned int end;
		const char *name;
	} f[] = {
		{6, "dst mac"}, {12, "src mac"}, {14, "ethertype"},
		{15, "version/ihl"}, {16, "tos"}, {18, "total length"},
		{20, "ip id"}, {22, "flags/offset"}, {23, "ttl"},
		{24, "protocol"}, {26, "ip checksum"}, {30, "src ip"},
		{34, "dst ip"}, {36, "src port"}, {38, "dst port"},
		{40, "udp length"}, {42, "udp checksum"},
	};
	unsigned int i;

	for (i = 0; i < RTE_DIM(f); i++)
		if (b < f[i].end)
			return f[i].name;
	return "payload";
}

#define CX_FROM 2
#define CX_TO 0
#define CX_COL 1
#define CX_LEN 101

/* What parse must say about the reference packet with byte b (now holding
 * its new value in p) changed; -1 when not predictable (only "not accepted"
 * is checked then). *col: the column expected on acceptance. */
static int
predict(const uint8_t *p, unsigned int b, uint32_t len, bool udp_cksum,
	uint16_t udp_good, unsigned int *col)
{
	uint16_t v16 = (uint16_t)(p[b & ~1u] << 8 | p[b | 1u]);
	unsigned int ihl;

	*col = CX_COL;
	if (b < 6)		/* one byte can make it neither ours nor ff:ff.. */
		return TR_NET_DROP_MISDIRECTED_MAC;
	if (b < 12)		/* source MAC: not checked */
		return TR_NET_OK;
	if (b < 14)
		return v16 == RTE_ETHER_TYPE_ARP ? TR_NET_DROP_FOREIGN_ARP :
		       v16 == RTE_ETHER_TYPE_IPV6 ? TR_NET_DROP_FOREIGN_IPV6 :
		       TR_NET_DROP_NOT_IPV4;
	if (b == OFF_IP(version_ihl)) {
		ihl = p[b] & 0xf;
		if (p[b] >> 4 != 4 || ihl < 5)
			return TR_NET_DROP_BAD_IP_HDR;
		if (ETH_LEN + ihl * 4 > len)
			return TR_NET_DROP_TOO_SHORT;
		/* the checksum now covers ihl * 4 bytes */
		return rte_raw_cksum(p + ETH_LEN, ihl * 4) != 0xffff ?
		       TR_NET_DROP_BAD_IP_CKSUM : -1;
	}
	if (b < TR_NET_HDR_LEN - 8)	/* any other IPv4 header byte */
		return TR_NET_DROP_BAD_IP_CKSUM;
	if (b < OFF_UDP(dst_port))	/* source port: only under the cksum */
		return udp_cksum ? TR_NET_DROP_BAD_UDP_CKSUM : TR_NET_OK;
	if (b < OFF_UDP(dgram_len)) {
		if ((uint16_t)(v16 - PORT_BASE) >= TR_NET_CHANNELS)
			return TR_NET_DROP_FOREIGN_PORT;
		/* Another valid column: with no UDP checksum nothing covers
		 * the port (by design; the engine frame repeats the column). */
		*col = (uint16_t)(v16 - PORT_BASE);
		return udp_cksum ? TR_NET_DROP_BAD_UDP_CKSUM : TR_NET_OK;
	}
	if (b < OFF_UDP(dgram_cksum))
		return TR_NET_DROP_BAD_UDP_LEN;
	/* UDP checksum field: 0 is "none"; else it must be the right one */
	return v16 == 0 || v16 == udp_good ? TR_NET_OK :
	       TR_NET_DROP_BAD_UDP_CKSUM;
}

Test(net, every_header_byte_corrupted)
{
	struct tr_net_conf c = conf;
	struct tr_net_rx out;
	struct rte_udp_hdr *udp;
	struct rte_mbuf *m;
	unsigned int ck, b, v, col, n_ok;
	uint16_t udp_good;
	uint8_t *p, old;
	int rc, want;

	for (ck = 0; ck < 2; ck++) {
		c.tx_udp_cksum = ck != 0;
		m = mk_pkt(&c, CX_FROM, CX_TO, CX_COL, CX_LEN, 77);
		p = frame(m);
		udp = (struct rte_udp_hdr *)(p + OFF_UDP(src_port));
		udp_good = ck ? udp->dgram_cksum :
			   rte_ipv4_udptcp_cksum(ip_of(m), udp);
		udp_good = rte_be_to_cpu_16(udp_good);
		n_ok = 0;
		for (b = 0; b < TR_NET_HDR_LEN; b++) {
			old = p[b];
			for (v = 0; v < 256; v++) {
				if (v == old)
					continue;
				p[b] = (uint8_t)v;
				want = predict(p, b, m->data_len, ck != 0,
					       udp_good, &col);
				rc = parse_checked(m, &c, CX_TO, &out);
				p[b] = old;
				/* the IP checksum catches every header change */
				if (b >= ETH_LEN && b < ETH_LEN + 20)
					cr_assert_neq(rc, TR_NET_OK, "IP header "
						      "byte %u (%s) 0x%02x -> "
						      "0x%02x accepted", b,
						      field_of(b), old, v);
				if (want >= 0)
					cr_assert_eq(rc, want, "cksum %u byte %u "
						     "(%s) 0x%02x -> 0x%02x: %s, "
						     "want %s", ck, b,
						     field_of(b), old, v,
						     tr_net_drop_name(rc),
						     tr_net_drop_name(want));
				if (rc != TR_NET_OK)
					continue;
				n_ok++;
				cr_assert_eq(out.from, CX_FROM);
				cr_assert_eq(out.column, col, "byte %u", b);
				cr_assert_eq(out.len, CX_LEN);
				cr_assert_eq(out.payload, p + TR_NET_HDR_LEN);
				cr_assert(payload_is(out.payload, CX_LEN, 77));
			}
		}
		/* source MAC always, source port without the UDP checksum */
		cr_assert_geq(n_ok, 6 * 255u + (ck ? 0 : 2 * 255u));
		cr_assert_eq(parse_checked(m, &c, CX_TO, &out), TR_NET_OK);
		rte_pktmbuf_free(m);
	}
}

/* Drop reasons, one crafted packet each (0 -> 1, column 2, 64 bytes). */
#define DR_FROM 0
#define DR_TO 1
#define DR_COL 2
#define DR_LEN 64
#define DR_FRAME (TR_NET_HDR_LEN + DR_LEN)

enum hook {
	H_NONE,
	H_CHAIN,		/* a second segment */
	H_PKT_LEN,		/* pkt_len != data_len on one segment */
	H_DST_PEER,		/* dst MAC of replica 2 */
	H_DST_MCAST,
	H_DST_BCAST,
	H_SRC_MAC,
	H_OPTIONS,		/* ihl 6: 4 option bytes before UDP */
	H_PAYLOAD,		/* one payload byte flipped */
	H_PAD,			/* 18 bytes of link padding */
};

struct drop_case {
	const char *what;
	int want;
	bool udp_cksum;
	enum hook hook;
	uint16_t off;		/* field written big-endian when size != 0 */
	uint8_t size;
	uint32_t val;
	uint16_t off2;		/* a second field, same way */
	uint8_t size2;
	uint32_t val2;
	bool fix_ip;		/* recompute the IP checksum afterwards */
	uint16_t trim;		/* frame cut to this length when non-zero */
};

#define FIELD(o, s, v) .off = (o), .size = (s), .val = (v)
#define FIELD2(o, s, v) .off2 = (o), .size2 = (s), .val2 = (v)

static const struct drop_case drop_cases[] = {
	{"chained mbuf", TR_NET_DROP_MULTI_SEG, .hook = H_CHAIN},
	{"pkt_len > data_len", TR_NET_DROP_MULTI_SEG, .hook = H_PKT_LEN},
	{"cut to 20 bytes", TR_NET_DROP_TOO_SHORT, .trim = 20},
	{"ihl 15 in a 60-byte frame", TR_NET_DROP_TOO_SHORT,
	 FIELD(OFF_IP(version_ihl), 1, 0x4f), .fix_ip = true, .trim = 60},
	{"ARP", TR_NET_DROP_FOREIGN_ARP,
	 FIELD(OFF_ETH(ether_type), 2, RTE_ETHER_TYPE_ARP)},
	{"IPv6", TR_NET_DROP_FOREIGN_IPV6,
	 FIELD(OFF_ETH(ether_type), 2, RTE_ETHER_TYPE_IPV6)},
	{"ethertype 0x88b5", TR_NET_DROP_NOT_IPV4,
	 FIELD(OFF_ETH(ether_type), 2, 0x88b5)},
	{"VLAN tag", TR_NET_DROP_NOT_IPV4,
	 FIELD(OFF_ETH(ether_type), 2, RTE_ETHER_TYPE_VLAN)},
	{"dst MAC of a peer", TR_NET_DROP_MISDIRECTED_MAC, .hook = H_DST_PEER},
	{"multicast dst MAC", TR_NET_DROP_MISDIRECTED_MAC,
	 .hook = H_DST_MCAST},
	{"version 6", TR_NET_DROP_BAD_IP_HDR,
	 FIELD(OFF_IP(version_ihl), 1, 0x65), .fix_ip = true},
	{"version 0", TR_NET_DROP_BAD_IP_HDR,
	 FIELD(OFF_IP(version_ihl), 1, 0x05), .fix_ip = true},
	{"ihl 4", TR_NET_DROP_BAD_IP_HDR,
	 FIELD(OFF_IP(version_ihl), 1, 0x44), .fix_ip = true},
	{"ttl changed, checksum not", TR_NET_DROP_BAD_IP_CKSUM,
	 FIELD(OFF_IP(time_to_live), 1, 1)},
	{"checksum zeroed", TR_NET_DROP_BAD_IP_CKSUM,
	 FIELD(OFF_IP(hdr_checksum), 2, 0)},
	{"src IP changed, checksum not", TR_NET_DROP_BAD_IP_CKSUM,
	 FIELD(OFF_IP(src_addr), 4, IP_OF(2))},
	{"MF", TR_NET_DROP_IP_FRAGMENT,
	 FIELD(OFF_IP(fragment_offset), 2, RTE_IPV4_HDR_MF_FLAG),
	 .fix_ip = true},
	{"DF and offset 1", TR_NET_DROP_IP_FRAGMENT,
	 FIELD(OFF_IP(fragment_offset), 2, RTE_IPV4_HDR_DF_FLAG | 1),
	 .fix_ip = true},
	{"offset 0x1fff", TR_NET_DROP_IP_FRAGMENT,
	 FIELD(OFF_IP(fragment_offset), 2, RTE_IPV4_HDR_OFFSET_MASK),
	 .fix_ip = true},
	{"total length 19", TR_NET_DROP_BAD_IP_LEN,
	 FIELD(OFF_IP(total_length), 2, 19), .fix_ip = true},
	{"total length 0", TR_NET_DROP_BAD_IP_LEN,
	 FIELD(OFF_IP(total_length), 2, 0), .fix_ip = true},
	{"total length one past the frame", TR_NET_DROP_BAD_IP_LEN,
	 FIELD(OFF_IP(total_length), 2, DR_FRAME - ETH_LEN + 1),
	 .fix_ip = true},
	{"protocol TCP", TR_NET_DROP_NOT_UDP,
	 FIELD(OFF_IP(next_proto_id), 1, IPPROTO_TCP), .fix_ip = true},
	{"protocol ICMP", TR_NET_DROP_NOT_UDP,
	 FIELD(OFF_IP(next_proto_id), 1, IPPROTO_ICMP), .fix_ip = true},
	{"datagram of 20 + 7 bytes", TR_NET_DROP_BAD_UDP_LEN,
	 FIELD(OFF_IP(total_length), 2, 27), .fix_ip = true},
	{"datagram of 20 bytes", TR_NET_DROP_BAD_UDP_LEN,
	 FIELD(OFF_IP(total_length), 2, 20), .fix_ip = true},
	{"UDP length + 1", TR_NET_DROP_BAD_UDP_LEN,
	 FIELD(OFF_UDP(dgram_len), 2, 8 + DR_LEN + 1)},
	{"UDP length - 1", TR_NET_DROP_BAD_UDP_LEN,
	 FIELD(OFF_UDP(dgram_len), 2, 8 + DR_LEN - 1)},
	{"UDP length 0", TR_NET_DROP_BAD_UDP_LEN,
	 FIELD(OFF_UDP(dgram_len), 2, 0)},
	{"dst port past the channels", TR_NET_DROP_FOREIGN_PORT,
	 FIELD(OFF_UDP(dst_port), 2, PORT_BASE + TR_NET_CHANNELS)},
	{"dst port base - 1", TR_NET_DROP_FOREIGN_PORT,
	 FIELD(OFF_UDP(dst_port), 2, PORT_BASE - 1)},
	{"dst port 0", TR_NET_DROP_FOREIGN_PORT,
	 FIELD(OFF_UDP(dst_port), 2, 0)},
	{"src IP is the receiver's", TR_NET_DROP_FOREIGN_SRC,
	 FIELD(OFF_IP(src_addr), 4, IP_OF(DR_TO)), .fix_ip = true},
	{"src IP unknown", TR_NET_DROP_FOREIGN_SRC,
	 FIELD(OFF_IP(src_addr), 4, UINT32_C(0xc0000201) /* 192.0.2.1 */), .fix_ip = true},
	{"dst IP of a peer", TR_NET_DROP_MISDIRECTED_IP,
	 FIELD(OFF_IP(dst_addr), 4, IP_OF(2)), .fix_ip = true},
	{"dst IP of the sender", TR_NET_DROP_MISDIRECTED_IP,
	 FIELD(OFF_IP(dst_addr), 4, IP_OF(DR_FROM)), .fix_ip = true},
	{"payload byte under UDP checksum", TR_NET_DROP_BAD_UDP_CKSUM,
	 .udp_cksum = true, .hook = H_PAYLOAD},
	{"src port under UDP checksum", TR_NET_DROP_BAD_UDP_CKSUM,
	 .udp_cksum = true, FIELD(OFF_UDP(src_port), 2, 1)},
	/* two faults: the first in check order wins */
	{"MF and total length 0", TR_NET_DROP_IP_FRAGMENT,
	 FIELD(OFF_IP(fragment_offset), 2, RTE_IPV4_HDR_MF_FLAG),
	 FIELD2(OFF_IP(total_length), 2, 0), .fix_ip = true},
	{"total length 19 and TCP", TR_NET_DROP_BAD_IP_LEN,
	 FIELD(OFF_IP(total_length), 2, 19),
	 FIELD2(OFF_IP(next_proto_id), 1, IPPROTO_TCP), .fix_ip = true},
	{"TCP and dst port base + 4", TR_NET_DROP_NOT_UDP,
	 FIELD(OFF_IP(next_proto_id), 1, IPPROTO_TCP),
	 FIELD2(OFF_UDP(dst_port), 2, PORT_BASE + TR_NET_CHANNELS), .fix_ip = true},
	{"src IP unknown and dst IP of a peer", TR_NET_DROP_FOREIGN_SRC,
	 FIELD(OFF_IP(src_addr), 4, UINT32_C(0xc0000201) /* 192.0.2.1 */),
	 FIELD2(OFF_IP(dst_addr), 4, IP_OF(2)), .fix_ip = true},
	{"dst IP of a peer and bad UDP checksum", TR_NET_DROP_MISDIRECTED_IP,
	 .udp_cksum = true, .hook = H_PAYLOAD,
	 FIELD(OFF_IP(dst_addr), 4, IP_OF(2)), .fix_ip = true},
	/* accepted */
	{"as built", TR_NET_OK},
	{"as built, UDP checksum", TR_NET_OK, .udp_cksum = true},
	{"broadcast dst MAC", TR_NET_OK, .hook = H_DST_BCAST},
	{"other src MAC", TR_NET_OK, .hook = H_SRC_MAC},
	{"ttl 1", TR_NET_OK, FIELD(OFF_IP(time_to_live), 1, 1),
	 .fix_ip = true},
	{"tos 0xb8", TR_NET_OK, FIELD(OFF_IP(type_of_service), 1, 0xb8),
	 .fix_ip = true},
	{"ip id 0x1234", TR_NET_OK, FIELD(OFF_IP(packet_id), 2, 0x1234),
	 .fix_ip = true},
	{"DF clear", TR_NET_OK, FIELD(OFF_IP(fragment_offset), 2, 0),
	 .fix_ip = true},
	{"src port 1", TR_NET_OK, FIELD(OFF_UDP(src_port), 2, 1)},
	{"link padding", TR_NET_OK, .hook = H_PAD},
	{"link padding, UDP checksum", TR_NET_OK, .udp_cksum = true,
	 .hook = H_PAD},
	{"IP options", TR_NET_OK, .hook = H_OPTIONS, .fix_ip = true},
	{"IP options, UDP checksum", TR_NET_OK, .udp_cksum = true,
	 .hook = H_OPTIONS, .fix_ip = true},
};

static void
apply_hook(struct rte_mbuf *m, enum hook h)
{
	static const struct rte_ether_addr mcast = {
		.addr_bytes = {0x01, 0x00, 0x5e, 0x00, 0x00, 0x01}};
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)frame(m);
	struct rte_ipv4_hdr *ip = ip_of(m);
	struct rte_mbuf *m2;
	uint8_t *p = frame(m), *pad;

	switch (h) {
	case H_NONE:
		break;
	case H_CHAIN:
		m2 = rte_pktmbuf_alloc(pool);
		cr_assert_not_null(m2);
		cr_assert_not_null(rte_pktmbuf_append(m2, 16));
		cr_assert_eq(rte_pktmbuf_chain(m, m2), 0);
		break;
	case H_PKT_LEN:
		m->pkt_len++;
		break;
	case H_DST_PEER:
		eth->dst_addr = conf.addr[2].mac;
		break;
	case H_DST_MCAST:
		eth->dst_addr = mcast;
		break;
	case H_DST_BCAST:
		memset(&eth->dst_addr, 0xff, sizeof(eth->dst_addr));
		break;
	case H_SRC_MAC:
		eth->src_addr = mcast;
		break;
	case H_OPTIONS:
		cr_assert_not_null(rte_pktmbuf_append(m, 4));
		memmove(p + TR_NET_HDR_LEN - 8 + 4, p + TR_NET_HDR_LEN - 8,
			8 + DR_LEN);
		memcpy(p + TR_NET_HDR_LEN - 8, "\x01\x01\x01\x00", 4);
		ip->version_ihl = 0x46;
		ip->total_length = rte_cpu_to_be_16(TR_NET_IP_UDP_LEN + 4 +
						    DR_LEN);
		break;
	case H_PAYLOAD:
		p[TR_NET_HDR_LEN + 5] ^= 0x10;
		break;
	case H_PAD:
		pad = (uint8_t *)rte_pktmbuf_append(m, 18);
		cr_assert_not_null(pad);
		memset(pad, 0xee, 18);
		break;
	}
}

Test(net, drop_reasons)
{
	bool covered[TR_NET_DROP_COUNT] = {false};
	struct tr_net_conf c = conf;
	struct tr_net_rx out;
	struct rte_mbuf *m;
	unsigned int i;
	int rc;

	for (i = 0; i < RTE_DIM(drop_cases); i++) {
		const struct drop_case *d = &drop_cases[i];

		c.tx_udp_cksum = d->udp_cksum;
		m = mk_pkt(&c, DR_FROM, DR_TO, DR_COL, DR_LEN, i);
		if (d->size != 0)
			put_be(frame(m) + d->off, d->size, d->val);
		if (d->size2 != 0)
			put_be(frame(m) + d->off2, d->size2, d->val2);
		apply_hook(m, d->hook);
		if (d->fix_ip)
			ip_fix(ip_of(m));
		if (d->trim != 0)
			set_len(m, d->trim);
		rc = parse_checked(m, &c, DR_TO, &out);
		cr_expect_eq(rc, d->want, "%s: got %s, want %s", d->what,
			     tr_net_drop_name(rc), tr_net_drop_name(d->want));
		covered[d->want] = true;
		if (rc == TR_NET_OK && d->want == TR_NET_OK) {
			cr_expect(out.from == DR_FROM && out.column == DR_COL &&
				  out.len == DR_LEN &&
				  payload_is(out.payload, DR_LEN, i),
				  "%s: from %u column %u len %u", d->what,
				  out.from, out.column, out.len);
		}
		rte_pktmbuf_free(m);
	}
	for (i = 1; i < TR_NET_DROP_COUNT; i++)
		cr_expect(covered[i], "no case for %s", tr_net_drop_name(i));
}

Test(net, too_short_every_length)
{
	struct tr_net_rx out;
	struct rte_mbuf *m;
	unsigned int len;
	int rc;

	for (len = 0; len < TR_NET_HDR_LEN; len++) {
		/* a valid packet cut to len: the bytes past the cut are
		 * still there, so a read past data_len would go unnoticed
		 * only if it also accepted the packet */
		m = mk_pkt(&conf, DR_FROM, DR_TO, DR_COL, DR_LEN, len);
		set_len(m, (uint16_t)len);
		rc = parse_checked(m, &conf, DR_TO, &out);
		/* Cut to 34..41 bytes: too_short (it was bad_ip_len before
		 * parse checked for the UDP header, b558c4f). */
		cr_expect_eq(rc, TR_NET_DROP_TOO_SHORT, "%u bytes (cut): %s",
			     len, tr_net_drop_name(rc));
		if (len >= ETH_LEN + sizeof(struct rte_ipv4_hdr)) {
			/* IP total length fitted to the shorter frame */
			ip_of(m)->total_length =
				rte_cpu_to_be_16((uint16_t)(len - ETH_LEN));
			ip_fix(ip_of(m));
			rc = parse_checked(m, &conf, DR_TO, &out);
			/* too_short (it was bad_udp_len, b558c4f). */
			cr_expect_eq(rc, TR_NET_DROP_TOO_SHORT, "%u bytes (IP "
				     "length fitted): %s", len,
				     tr_net_drop_name(rc));
		}
		rte_pktmbuf_free(m);
	}
}

/* parse reads only inside the mbuf's data: a frame cut short is judged on
 * the bytes before the cut, whatever lies in the buffer past it (here a
 * valid packet's own bytes, or 0x00, or 0xff: version 15, IHL 15, the
 * largest lengths). Below 42 bytes it is too_short; from there on the
 * verdict is the same for every fill. */
Test(net, a_cut_frame_is_judged_on_its_own_bytes)
{
	static const int fills[] = {-1, 0x00, 0xff};
	struct tr_net_rx out;
	struct rte_mbuf *m;
	unsigned int len, f;
	int rc, first = 0;

	for (len = 0; len < DR_FRAME; len++) {
		for (f = 0; f < RTE_DIM(fills); f++) {
			m = mk_pkt(&conf, DR_FROM, DR_TO, DR_COL, DR_LEN, len);
			if (fills[f] >= 0)
				memset(frame(m) + len, fills[f],
				       m->buf_len - m->data_off - len);
			set_len(m, (uint16_t)len);
			rc = parse_checked(m, &conf, DR_TO, &out);
			rte_pktmbuf_free(m);
			if (f == 0)
				first = rc;
			if (len < TR_NET_HDR_LEN)
				cr_assert_eq(rc, TR_NET_DROP_TOO_SHORT, "%u bytes, fill %d "
					     "past them: %s", len, fills[f],
					     tr_net_drop_name(rc));
			cr_assert_neq(rc, TR_NET_OK, "%u bytes of %u accepted", len,
				      DR_FRAME);
			cr_assert_eq(rc, first, "%u bytes: %s with fill %d past them, %s "
				     "with the packet's own bytes", len,
				     tr_net_drop_name(rc), fills[f],
				     tr_net_drop_name(first));
		}
	}
}

Test(net, build_refuses)
{
	static const uint8_t bad[][3] = {	/* from, to, column */
		{0, 0, 0}, {1, 1, 1}, {2, 2, 2},
		{3, 0, 0}, {0, 3, 0}, {255, 0, 0}, {0, 255, 0},
		{0, 1, TR_NET_CHANNELS}, {0, 1, 255},
	};
	struct tr_net_conf c = conf;
	struct rte_mbuf *m, *m2;
	unsigned int i;
	uint16_t cap;

	m = rte_pktmbuf_alloc(pool);
	cr_assert_not_null(m);
	for (i = 0; i < RTE_DIM(bad); i++)
		cr_assert_eq(tr_net_build(m, &c, bad[i][0], bad[i][1],
					  bad[i][2], 10), -EINVAL,
			     "from %u to %u column %u", bad[i][0], bad[i][1],
			     bad[i][2]);
	cap = tr_net_payload_cap(m, &c);
	cr_assert_eq(cap, 1500 - TR_NET_IP_UDP_LEN);
	cr_assert_eq(tr_net_build(m, &c, 0, 1, 0, cap + 1), -EMSGSIZE);
	cr_assert_eq(tr_net_build(m, &c, 0, 1, 0, UINT16_MAX), -EMSGSIZE);
	c.mtu = 100;
	cap = tr_net_payload_cap(m, &c);
	cr_assert_eq(cap, 100 - TR_NET_IP_UDP_LEN);
	cr_assert_eq(tr_net_build(m, &c, 0, 1, 0, cap + 1), -EMSGSIZE);
	cr_assert_eq(m->data_len, 0, "a refused build wrote the lengths");
	cr_assert_eq(tr_net_build(m, &c, 0, 1, 0, cap), 0);

	rte_pktmbuf_reset(m);
	m2 = rte_pktmbuf_alloc(pool);
	cr_assert_not_null(m2);
	cr_assert_eq(rte_pktmbuf_chain(m, m2), 0);
	cr_assert_eq(tr_net_build(m, &conf, 0, 1, 0, 0), -EINVAL, "chained");
	rte_pktmbuf_free(m);
}

/* An mbuf whose buffer leaves fewer than 42 bytes after data_off (a pool
 * with a small data room; simulated by shrinking buf_len, so the real
 * buffer behind it catches any overrun). */
Test(net, build_without_room_for_headers)
{
	static const uint16_t rooms[] = {0, 10, 41, 42, 43};
	struct rte_mbuf *m;
	uint16_t real_len, end;
	uint8_t *buf;
	unsigned int i, k, over;
	int rc;

	m = rte_pktmbuf_alloc(pool);
	cr_assert_not_null(m);
	real_len = m->buf_len;
	buf = m->buf_addr;
	for (i = 0; i < RTE_DIM(rooms); i++) {
		memset(buf, 0xa5, real_len);
		end = m->data_off + rooms[i];
		m->buf_len = end;
		cr_expect_eq(tr_net_payload_cap(m, &conf),
			     rooms[i] > TR_NET_HDR_LEN ?
			     rooms[i] - TR_NET_HDR_LEN : 0);
		rc = tr_net_build(m, &conf, 0, 1, 0, 0);
		for (over = 0, k = end; k < real_len; k++)
			over += buf[k] != 0xa5;
		m->buf_len = real_len;
		if (rooms[i] >= TR_NET_HDR_LEN) {
			cr_expect_eq(rc, 0, "room %u", rooms[i]);
			continue;
		}
		/* BUG (net.c): cap is 0 both when 0 payload bytes fit and
		 * when the headers do not; build(len 0) then returns 0 and
		 * writes the 42 header bytes past the end of the buffer. */
		cr_expect_eq(rc, -EMSGSIZE, "room %u: build returned %d and "
			     "wrote %u bytes past the buffer", rooms[i], rc,
			     over);
		cr_expect_eq(over, 0, "room %u: %u bytes written past the "
			     "buffer", rooms[i], over);
	}
	rte_pktmbuf_free(m);
}

Test(net, drop_names_and_stats)
{
	struct tr_net_stats st, sum;
	unsigned int i, j;

	cr_assert_str_eq(tr_net_drop_name(TR_NET_OK), "ok");
	cr_assert_str_eq(tr_net_drop_name(-1), "unknown");
	cr_assert_str_eq(tr_net_drop_name(TR_NET_DROP_COUNT), "unknown");
	cr_assert_str_eq(tr_net_drop_desc(TR_NET_DROP_COUNT), "unknown reason");
	for (i = 1; i < TR_NET_DROP_COUNT; i++) {
		cr_assert_not_null(tr_net_drop_name(i));
		cr_assert_not_null(tr_net_drop_desc(i));
		cr_assert_gt(strlen(tr_net_drop_desc(i)), 0);
		for (j = 0; j < i; j++)
			cr_assert_str_neq(tr_net_drop_name(i),
					  tr_net_drop_name(j));
	}
	cr_assert_str_eq(tr_net_drop_name(TR_NET_DROP_TOO_SHORT), "too_short");

	memset(&st, 0, sizeof(st));
	memset(&sum, 0, sizeof(sum));
	for (i = 0; i < TR_NET_DROP_COUNT; i++)
		for (j = 0; j <= i; j++)
			tr_net_stats_count(&st, (int)i);
	tr_net_stats_count(&st, -1);			/* ignored */
	tr_net_stats_count(&st, TR_NET_DROP_COUNT);	/* ignored */
	tr_net_stats_add(&sum, &st);
	tr_net_stats_add(&sum, &st);
	cr_assert_eq(sum.rx_ok, 2);
	for (i = 1; i < TR_NET_DROP_COUNT; i++)
		cr_assert_eq(sum.drops[i], 2 * (i + 1), "%s",
			     tr_net_drop_name(i));
}

Test(net, conf_check)
{
	struct tr_net_conf c;

	c = conf;
	c.port_base = UINT16_MAX + 1 - TR_NET_PORT_SPAN;
	cr_assert_eq(tr_net_conf_check(&c), 0);
	c.port_base++;
	cr_assert_eq(tr_net_conf_check(&c), -EINVAL, "port range wraps");
	c = conf;
	c.mtu = 68;
	cr_assert_eq(tr_net_conf_check(&c), 0);
	c.mtu = 67;
	cr_assert_eq(tr_net_conf_check(&c), -EINVAL, "mtu 67");
	c = conf;
	c.addr[2].ip = c.addr[0].ip;
	cr_assert_eq(tr_net_conf_check(&c), -EINVAL, "same IP");
	c = conf;
	c.addr[1].ip = 0;
	cr_assert_eq(tr_net_conf_check(&c), -EINVAL, "zero IP");
	c = conf;
	c.addr[2].mac = c.addr[1].mac;
	cr_assert_eq(tr_net_conf_check(&c), -EINVAL, "same MAC");
	c = conf;
	c.addr[0].mac.addr_bytes[0] = 0x03;	/* multicast */
	cr_assert_eq(tr_net_conf_check(&c), -EINVAL, "multicast MAC");
}

Test(net, mempool)
{
	struct rte_mbuf *m[POOL_SIZE + 1];
	struct rte_mempool *mp;
	unsigned int n, i;

	n = tr_mempool_size(0, 1, 32, 0);
	cr_assert_eq(n, 511);	/* 384 + 64 -> 2^9 - 1 */
	for (i = 1; i < 100000; i = i * 3 + 1) {
		n = tr_mempool_size(i, 2, 32, i / 2);
		cr_assert(rte_is_power_of_2(n + 1) && n >= i + i / 2 +
			  2 * (TR_MEMPOOL_CACHE_MAX * 3 / 2 + 64), "%u", n);
	}
	cr_assert_eq(tr_mempool_size(UINT32_MAX, 1, 32, 0), UINT32_MAX / 2);

	/* under --no-huge IOVA is VA: the pool is the dense one */
	cr_assert_eq(rte_eal_iova_mode(), RTE_IOVA_VA);
	cr_assert(pool->flags & RTE_MEMPOOL_F_NO_IOVA_CONTIG);
	cr_assert_eq(pool->size, POOL_SIZE);
	cr_assert_eq(rte_pktmbuf_data_room_size(pool), TR_MBUF_BUF_SIZE);
	for (i = 0; i < POOL_SIZE; i++) {
		m[i] = rte_pktmbuf_alloc(pool);
		cr_assert_not_null(m[i], "mbuf %u of %u", i, POOL_SIZE);
		cr_assert_eq(m[i]->buf_len, TR_MBUF_BUF_SIZE);
		memset(m[i]->buf_addr, (int)i, m[i]->buf_len);	/* no overlap */
	}
	cr_assert_null(rte_pktmbuf_alloc(pool));
	for (i = 0; i < POOL_SIZE; i++) {
		cr_assert_eq(((uint8_t *)m[i]->buf_addr)[0], (uint8_t)i);
		cr_assert_eq(((uint8_t *)m[i]->buf_addr)[TR_MBUF_BUF_SIZE - 1],
			     (uint8_t)i);
		rte_pktmbuf_free(m[i]);
	}
	cr_assert_eq(rte_mempool_avail_count(pool), POOL_SIZE);

	mp = tr_mempool_create("net_pool", 63, 0, SOCKET_ID_ANY);
	cr_assert_null(mp, "name in use");
}

#define MESH_RING 64

static unsigned int
mesh_seed(unsigned int i, unsigned int j, unsigned int c)
{
	return 100 + i * 9 + j * 3 + c;
}

static uint16_t
mesh_len(unsigned int i, unsigned int j, unsigned int c)
{
	return (uint16_t)(10 + 50 * (i * 9 + j * 3 + c));
}

Test(net, ring_mesh)
{
	struct tr_ring_mesh mesh;
	struct rte_eth_dev_info info;
	struct rte_mempool *mp;
	struct rte_mbuf *m, *rx[8];
	struct tr_net_rx out;
	char err[TR_ERR_LEN];
	unsigned int n, i, j, c, q, k, got;
	uint16_t port;
	int rc;

	n = tr_mempool_size(0, 1, 32, MESH_RING * TR_REPLICAS * TR_REPLICAS *
			    TR_COLUMNS);
	mp = tr_mempool_create("mesh_pool", n, 0, SOCKET_ID_ANY);
	cr_assert_not_null(mp, "%s", rte_strerror(rte_errno));
	cr_assert_eq(rte_eth_dev_count_avail(), 0);

	/* bad arguments leave nothing behind */
	err[0] = '\0';
	cr_assert_eq(tr_ring_mesh_create(&mesh, "a_name_too_long", MESH_RING,
					 mp, SOCKET_ID_ANY, err, sizeof(err)),
		     -EINVAL);
	cr_assert_neq(err[0], '\0');
	err[0] = '\0';
	cr_assert_eq(tr_ring_mesh_create(&mesh, "tm", 48, mp, SOCKET_ID_ANY,
					 err, sizeof(err)), -EINVAL);
	cr_assert_neq(err[0], '\0');
	cr_assert_eq(rte_eth_dev_count_avail(), 0);

	rc = tr_ring_mesh_create(&mesh, "tm", MESH_RING, mp, SOCKET_ID_ANY,
				 err, sizeof(err));
	cr_assert_eq(rc, 0, "%s", err);
	cr_assert_eq(mesh.nb_ports, TR_REPLICAS);
	cr_assert_eq(rte_eth_dev_count_avail(), TR_REPLICAS);
	for (i = 0; i < TR_REPLICAS; i++) {
		cr_assert_eq(rte_eth_dev_info_get(mesh.port[i], &info), 0);
		cr_assert_eq(info.nb_rx_queues, TR_MESH_QUEUES);
		cr_assert_eq(info.nb_tx_queues, TR_MESH_QUEUES);
		for (j = 0; j < i; j++)
			cr_assert_neq(mesh.port[i], mesh.port[j]);
	}
	/* a started port: set-up checks come before configure */
	err[0] = '\0';
	rc = tr_port_setup(mesh.port[0], TR_MESH_QUEUES, TR_MESH_QUEUES, NULL,
			   0, err, sizeof(err));
	cr_assert_eq(rc, -EINVAL);
	cr_assert_neq(err[0], '\0');

	/* i -> j on column c: tx port i queue (j, c), rx port j queue (i, c) */
	for (i = 0; i < TR_REPLICAS; i++)
		for (j = 0; j < TR_REPLICAS; j++)
			for (c = 0; c < TR_COLUMNS; c++) {
				if (i == j)
					continue;
				m = mk_pkt_from(mp, &conf, i, j, c,
						mesh_len(i, j, c),
						mesh_seed(i, j, c));
				cr_assert_eq(rte_eth_tx_burst(mesh.port[i],
					tr_mesh_queue(j, c), &m, 1), 1,
					"tx %u->%u col %u", i, j, c);
			}
	for (j = 0; j < TR_REPLICAS; j++)
		for (q = 0; q < TR_MESH_QUEUES; q++) {
			i = q / TR_COLUMNS;	/* queue (i, c): from i */
			c = q % TR_COLUMNS;
			cr_assert_eq(tr_mesh_queue(i, c), q);
			got = rte_eth_rx_burst(mesh.port[j], q, rx, RTE_DIM(rx));
			cr_assert_eq(got, i == j ? 0u : 1u,
				     "port %u rxq %u: %u packets", j, q, got);
			for (k = 0; k < got; k++) {
				rc = parse_checked(rx[k], &conf, j, &out);
				cr_assert_eq(rc, TR_NET_OK, "%s",
					     tr_net_drop_name(rc));
				cr_assert_eq(out.from, i);
				cr_assert_eq(out.column, c);
				cr_assert_eq(out.len, mesh_len(i, j, c));
				cr_assert(payload_is(out.payload, out.len,
						     mesh_seed(i, j, c)),
					  "payload %u->%u col %u", i, j, c);
				rte_pktmbuf_free(rx[k]);
			}
		}
	/* nothing else anywhere */
	for (j = 0; j < TR_REPLICAS; j++)
		for (q = 0; q < TR_MESH_QUEUES; q++)
			cr_assert_eq(rte_eth_rx_burst(mesh.port[j], q, rx,
						      RTE_DIM(rx)), 0,
				     "port %u rxq %u", j, q);

	/* one left in flight: free must return it to the pool */
	m = mk_pkt_from(mp, &conf, 0, 1, 2, 5, 1);
	cr_assert_eq(rte_eth_tx_burst(mesh.port[0], tr_mesh_queue(1, 2), &m,
				      1), 1);
	port = mesh.port[0];
	tr_ring_mesh_free(&mesh);
	cr_assert_eq(mesh.nb_ports, 0);
	for (i = 0; i < TR_REPLICAS; i++)
		for (j = 0; j < TR_REPLICAS; j++)
			for (c = 0; c < TR_COLUMNS; c++)
				cr_assert_null(mesh.ring[i][j][c]);
	cr_assert_eq(rte_eth_dev_count_avail(), 0);
	cr_assert(!rte_eth_dev_is_valid_port(port));
	cr_assert_eq(rte_mempool_avail_count(mp), n, "mbufs leaked: %u of %u",
		     n - rte_mempool_avail_count(mp), n);
	tr_ring_mesh_free(&mesh);	/* second free: no-op */

	/* the names are free again */
	rc = tr_ring_mesh_create(&mesh, "tm", MESH_RING, mp, SOCKET_ID_ANY,
				 err, sizeof(err));
	cr_assert_eq(rc, 0, "re-create: %s", err);
	tr_ring_mesh_free(&mesh);
	cr_assert_eq(rte_eth_dev_count_avail(), 0);
	rte_mempool_free(mp);
}

Test(net, port_setup_invalid_port)
{
	static const uint16_t ids[] = {0, 1, RTE_MAX_ETHPORTS - 1,
				       RTE_MAX_ETHPORTS, UINT16_MAX};
	char err[TR_ERR_LEN], small[4] = "xyz";
	unsigned int i;
	int rc;

	cr_assert_eq(rte_eth_dev_count_avail(), 0);
	for (i = 0; i < RTE_DIM(ids); i++) {
		err[0] = '\0';
		rc = tr_port_setup(ids[i], 1, 1, pool, 0, err, sizeof(err));
		cr_assert_lt(rc, 0, "port %u", ids[i]);
		cr_assert_eq(rc, -ENODEV, "port %u: %d", ids[i], rc);
		cr_assert_neq(err[0], '\0', "port %u: no message", ids[i]);
		cr_assert_lt(strlen(err), sizeof(err));
	}
	/* no buffer, or a tiny one: no crash, no overrun */
	cr_assert_eq(tr_port_setup(7, 1, 1, pool, 0, NULL, 0), -ENODEV);
	cr_assert_eq(tr_port_setup(7, 1, 1, pool, 0, small, 1), -ENODEV);
	cr_assert_eq(small[0], '\0');
	cr_assert_eq(small[1], 'y');
}

/* The remote clients' port (TR_NET_CLIENT): any source, which rx names;
 * tr_net_build_reply answers it from port_base + 4. */
Test(net, client_port_any_source)
{
	const struct rte_ether_addr client_mac = {.addr_bytes = {0x02, 0, 0, 0, 0, 0x0a}};
	struct rte_mbuf *m = mk_pkt(&conf, DR_FROM, DR_TO, DR_COL, DR_LEN, 9), *r;
	struct tr_net_rx out;
	uint32_t client_ip = rte_cpu_to_be_32(UINT32_C(0xc0000201) /* 192.0.2.1 */);
	struct tr_net_conf c = conf;

	put_be(frame(m) + OFF_UDP(dst_port), 2, PORT_BASE + TR_NET_CLIENT);
	put_be(frame(m) + OFF_UDP(src_port), 2, 40000);
	put_be(frame(m) + OFF_IP(src_addr), 4, UINT32_C(0xc0000201) /* 192.0.2.1 */);
	ip_fix(ip_of(m));
	cr_assert_eq(parse_checked(m, &conf, DR_TO, &out), TR_NET_OK);
	cr_assert_eq(out.from, TR_REPLICAS);
	cr_assert_eq(out.column, TR_NET_CLIENT);
	cr_assert_eq(out.src_ip, client_ip);
	cr_assert_eq(out.src_port, rte_cpu_to_be_16(40000));
	cr_assert(rte_is_same_ether_addr(out.src_mac, &conf.addr[DR_FROM].mac));
	cr_assert(payload_is(out.payload, DR_LEN, 9));
	/* The same packet to a column: a foreign source. */
	put_be(frame(m) + OFF_UDP(dst_port), 2, PORT_BASE + DR_COL);
	cr_assert_eq(parse_checked(m, &conf, DR_TO, &out), TR_NET_DROP_FOREIGN_SRC);
	rte_pktmbuf_free(m);

	/* A reply to the client, with and without the UDP checksum. */
	for (int ck = 0; ck < 2; ck++) {
		struct rte_ipv4_hdr *ip;
		struct rte_udp_hdr *udp;

		c.tx_udp_cksum = ck != 0;
		r = rte_pktmbuf_alloc(pool);
		cr_assert_not_null(r);
		memset(tr_net_payload(r), 0x5a, 16);
		cr_assert_eq(tr_net_build_reply(r, &c, DR_TO, &client_mac, client_ip,
						rte_cpu_to_be_16(40000), 16), 0);
		ip = ip_of(r);
		udp = (struct rte_udp_hdr *)(ip + 1);
		cr_assert(rte_is_same_ether_addr(&((struct rte_ether_hdr *)frame(r))->dst_addr,
						 &client_mac));
		cr_assert_eq(ip->src_addr, conf.addr[DR_TO].ip);
		cr_assert_eq(ip->dst_addr, client_ip);
		cr_assert_eq(rte_raw_cksum(ip, sizeof(*ip)), 0xffff);
		cr_assert_eq(udp->src_port, rte_cpu_to_be_16(PORT_BASE + TR_NET_CLIENT));
		cr_assert_eq(udp->dst_port, rte_cpu_to_be_16(40000));
		cr_assert_eq(r->data_len, TR_NET_HDR_LEN + 16);
		if (ck) { /* pseudo-header + UDP header + payload sum to 0xffff */
			uint32_t sum = rte_ipv4_phdr_cksum(ip, 0) + rte_raw_cksum(udp, 8 + 16);

			sum = (sum & 0xffff) + (sum >> 16);
			sum = (sum & 0xffff) + (sum >> 16);
			cr_assert_eq(sum, 0xffff);
		}
		cr_assert_eq(tr_net_build_reply(r, &c, TR_REPLICAS, &client_mac, client_ip, 1, 16),
			     -EINVAL);
		rte_pktmbuf_free(r);
	}
}
