/* SPDX-License-Identifier: MIT
 * Trireme runtime: Ethernet + IPv4 + UDP encapsulation of engine frames.
 *
 * One packet carries one engine frame (engine/wire.h) from replica `from` to
 * replica `to` for one column:
 *
 *   Ethernet  dst = MAC of `to`, src = MAC of `from`, type 0x0800
 *   IPv4      ihl 5, tos 0, id 0, DF, ttl 64, proto UDP, checksum set,
 *             src = IP of `from`, dst = IP of `to`
 *   UDP       dst port = port_base + column        (the column: NIC steering),
 *             or port_base + 3: the snapshot channel (TR_NET_SNAP, §12 T1),
 *             or port_base + 4: remote clients (TR_NET_CLIENT, trireme_proto.h;
 *             from any source address, answered by tr_net_build_reply)
 *             src port = port_base + 16 + from     (informational, not checked)
 *             checksum 0 (allowed for IPv4; the frame has its own CRC32C), or
 *             computed when conf->tx_udp_cksum is set
 *   payload   the engine frame, written by the caller in place
 *
 * Transmit without a copy: take a fresh mbuf, let the codec encode at
 * tr_net_payload(m) up to tr_net_payload_cap(m, conf) bytes, then call
 * tr_net_build() with the encoded length; it writes the 42 header bytes in
 * front of the payload and sets the mbuf lengths.
 *
 * Receive: tr_net_parse() checks a packet in the order of TR_NET_DROPS and
 * returns 0 or the first reason it fails; it reads only inside the mbuf's
 * data and never writes. What it does not check: source MAC (routers rewrite
 * it), UDP source port, TTL, TOS, IP id, Ethernet padding after the IP
 * datagram, IP options (ihl > 5 is accepted when its checksum is right).
 * A non-zero UDP checksum is verified; a zero one means "none".
 */
#ifndef TR_NET_H
#define TR_NET_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_udp.h>

#include "types.h"

#define TR_NET_HDR_LEN \
	(sizeof(struct rte_ether_hdr) + sizeof(struct rte_ipv4_hdr) + \
	 sizeof(struct rte_udp_hdr))		/* 42 */
#define TR_NET_IP_UDP_LEN \
	(sizeof(struct rte_ipv4_hdr) + sizeof(struct rte_udp_hdr))	/* 28 */
#define TR_NET_SPORT_OFFSET 16		/* src port = port_base + 16 + from */
#define TR_NET_PORT_SPAN (TR_NET_SPORT_OFFSET + TR_REPLICAS)
#define TR_NET_MTU_DEFAULT 1500
#define TR_NET_TTL 64
/* Channels: the columns' UDP ports, the snapshot transfer's, the remote
 * clients'. */
#define TR_NET_SNAP TR_COLUMNS
#define TR_NET_CLIENT (TR_COLUMNS + 1)
#define TR_NET_CHANNELS (TR_COLUMNS + 2)

/* One replica's address. */
struct tr_net_addr {
	struct rte_ether_addr mac;
	uint32_t ip;			/* network order */
};

struct tr_net_conf {
	struct tr_net_addr addr[TR_REPLICAS];
	uint16_t port_base;		/* host order; uses port_base..+18 */
	uint16_t mtu;			/* IP MTU, caps the payload; 0: 1500 */
	bool tx_udp_cksum;		/* compute the UDP checksum on build */
};

/* X-macro: every reason tr_net_parse() drops a packet, in check order. */
#define TR_NET_DROPS(X) \
	X(MULTI_SEG, "multi_seg", "multi-segment mbuf (unsupported)") \
	X(TOO_SHORT, "too_short", "frame shorter than its headers") \
	X(FOREIGN_ARP, "foreign_arp", "foreign: ARP") \
	X(FOREIGN_IPV6, "foreign_ipv6", "foreign: IPv6") \
	X(NOT_IPV4, "not_ipv4", "ethertype not IPv4") \
	X(MISDIRECTED_MAC, "misdirected_mac", \
	  "misdirected: dst MAC neither ours nor broadcast") \
	X(BAD_IP_HDR, "bad_ip_hdr", "IP version not 4 or IHL < 5") \
	X(BAD_IP_CKSUM, "bad_ip_cksum", "bad IP header checksum") \
	X(IP_FRAGMENT, "ip_fragment", "IP fragment (MF or offset set)") \
	X(BAD_IP_LEN, "bad_ip_len", \
	  "IP total length inconsistent with the frame") \
	X(NOT_UDP, "not_udp", "IP protocol not UDP") \
	X(BAD_UDP_LEN, "bad_udp_len", "UDP length inconsistent with IP") \
	X(FOREIGN_PORT, "foreign_port", \
	  "foreign: dst port not port_base..port_base+4") \
	X(FOREIGN_SRC, "foreign_src", "foreign: source IP not a peer") \
	X(MISDIRECTED_IP, "misdirected_ip", "misdirected: dst IP not ours") \
	X(BAD_UDP_CKSUM, "bad_udp_cksum", "bad UDP checksum (non-zero)")

enum tr_net_drop {
	TR_NET_OK = 0,
#define TR_NET_DROP_ENUM(id, name, desc) TR_NET_DROP_##id,
	TR_NET_DROPS(TR_NET_DROP_ENUM)
#undef TR_NET_DROP_ENUM
	TR_NET_DROP_COUNT
};

/* Short snake_case name (a stats key) and a sentence; "ok" for 0,
 * "unknown" out of range. */
const char *tr_net_drop_name(int reason);
const char *tr_net_drop_desc(int reason);

/* Per-lcore counters; one writer, read racily by stats readers. */
struct tr_net_stats {
	uint64_t rx_ok;
	uint64_t drops[TR_NET_DROP_COUNT];	/* by reason; [TR_NET_OK] unused */
} __rte_cache_aligned;

static inline void
tr_net_stats_count(struct tr_net_stats *st, int reason)
{
	if (likely(reason == TR_NET_OK))
		st->rx_ok++;
	else if ((unsigned int)reason < TR_NET_DROP_COUNT)
		st->drops[reason]++;
}

void tr_net_stats_add(struct tr_net_stats *sum, const struct tr_net_stats *st);

/* What a parsed packet carries. payload points into the mbuf. */
struct tr_net_rx {
	const uint8_t *payload;
	uint16_t len;
	uint8_t from;			/* replica, by source IP (TR_NET_CLIENT:
					 * TR_REPLICAS when not a peer's) */
	uint8_t column;			/* by UDP dst port (TR_NET_SNAP: snapshot) */
	/* The sender, for a reply (network order). */
	const struct rte_ether_addr *src_mac;
	uint32_t src_ip;
	uint16_t src_port;
};

/* 0, or -EINVAL: port range overflows, an IP or MAC repeats or is zero,
 * an MTU below 28 + 1. */
int tr_net_conf_check(const struct tr_net_conf *conf);

/* Where the caller writes the payload: 42 bytes after the mbuf's data start
 * (a fresh mbuf from the pool). */
static inline uint8_t *
tr_net_payload(struct rte_mbuf *m)
{
	return rte_pktmbuf_mtod_offset(m, uint8_t *, TR_NET_HDR_LEN);
}

/* Payload bytes that fit: min(mtu - 28, room in the segment after the
 * headers). 0 if not even the headers fit. */
uint16_t tr_net_payload_cap(const struct rte_mbuf *m,
			    const struct tr_net_conf *conf);

/* Writes the headers for payload_len bytes already at tr_net_payload(m) and
 * sets data_len, pkt_len, l2/l3/l4_len, packet_type; clears ol_flags.
 * m must be a single segment. 0, -EINVAL (replica or column out of range,
 * from == to, chained mbuf) or -EMSGSIZE (over tr_net_payload_cap). */
int tr_net_build(struct rte_mbuf *m, const struct tr_net_conf *conf,
		 uint8_t from, uint8_t to, uint8_t column, uint16_t payload_len);

/* A reply from replica `from` to a remote client (TR_NET_CLIENT): the
 * headers as tr_net_build, to dst_mac/dst_ip/dst_port (network order, from a
 * request's tr_net_rx), from UDP port port_base + 4. 0, -EINVAL, -EMSGSIZE. */
int tr_net_build_reply(struct rte_mbuf *m, const struct tr_net_conf *conf, uint8_t from,
		       const struct rte_ether_addr *dst_mac, uint32_t dst_ip, uint16_t dst_port,
		       uint16_t payload_len);

/* Checks a received packet addressed to replica self (< TR_REPLICAS).
 * Returns TR_NET_OK and fills *out, or a TR_NET_DROP_* reason (*out is then
 * left untouched). */
int tr_net_parse(const struct rte_mbuf *m, const struct tr_net_conf *conf,
		 uint8_t self, struct tr_net_rx *out);

#endif
