/* SPDX-License-Identifier: MIT
 * Trireme runtime: Ethernet + IPv4 + UDP encapsulation (see net.h).
 */
#include <errno.h>
#include <netinet/in.h>

#include <rte_byteorder.h>
#include <rte_common.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_udp.h>

#include "net.h"

#define IPV4_VHL ((4 << 4) | RTE_IPV4_MIN_IHL)
#define IPV4_MIN_MTU 68

static const char *const drop_names[TR_NET_DROP_COUNT] = {
	[TR_NET_OK] = "ok",
#define TR_NET_DROP_NAME(id, name, desc) [TR_NET_DROP_##id] = name,
	TR_NET_DROPS(TR_NET_DROP_NAME)
#undef TR_NET_DROP_NAME
};

static const char *const drop_descs[TR_NET_DROP_COUNT] = {
	[TR_NET_OK] = "accepted",
#define TR_NET_DROP_DESC(id, name, desc) [TR_NET_DROP_##id] = desc,
	TR_NET_DROPS(TR_NET_DROP_DESC)
#undef TR_NET_DROP_DESC
};

const char *
tr_net_drop_name(int reason)
{
	if ((unsigned int)reason >= TR_NET_DROP_COUNT)
		return "unknown";
	return drop_names[reason];
}

const char *
tr_net_drop_desc(int reason)
{
	if ((unsigned int)reason >= TR_NET_DROP_COUNT)
		return "unknown reason";
	return drop_descs[reason];
}

void
tr_net_stats_add(struct tr_net_stats *sum, const struct tr_net_stats *st)
{
	unsigned int i;

	sum->rx_ok += st->rx_ok;
	for (i = 0; i < TR_NET_DROP_COUNT; i++)
		sum->drops[i] += st->drops[i];
}

static uint16_t
conf_mtu(const struct tr_net_conf *conf)
{
	return conf->mtu != 0 ? conf->mtu : TR_NET_MTU_DEFAULT;
}

int
tr_net_conf_check(const struct tr_net_conf *conf)
{
	unsigned int i, j;

	if ((uint32_t)conf->port_base + TR_NET_PORT_SPAN > UINT16_MAX + 1u)
		return -EINVAL;
	if (conf->mtu != 0 && conf->mtu < IPV4_MIN_MTU)
		return -EINVAL;
	for (i = 0; i < TR_REPLICAS; i++) {
		if (conf->addr[i].ip == 0 ||
		    !rte_is_valid_assigned_ether_addr(&conf->addr[i].mac))
			return -EINVAL;
		for (j = 0; j < i; j++)
			if (conf->addr[i].ip == conf->addr[j].ip ||
			    rte_is_same_ether_addr(&conf->addr[i].mac,
						   &conf->addr[j].mac))
				return -EINVAL;
	}
	return 0;
}

uint16_t
tr_net_payload_cap(const struct rte_mbuf *m, const struct tr_net_conf *conf)
{
	uint32_t room = (uint32_t)m->buf_len - m->data_off;
	uint32_t by_mtu = conf_mtu(conf) - TR_NET_IP_UDP_LEN;

	if (room < TR_NET_HDR_LEN)
		return 0;
	return (uint16_t)RTE_MIN(room - TR_NET_HDR_LEN, by_mtu);
}

/* The headers of every packet we send: Ethernet, IPv4, UDP. */
static int
build_hdrs(struct rte_mbuf *m, const struct tr_net_conf *conf, const struct rte_ether_addr *src_mac,
	   const struct rte_ether_addr *dst_mac, uint32_t src_ip, uint32_t dst_ip,
	   uint16_t src_port, uint16_t dst_port, uint16_t payload_len)
{
	struct rte_ether_hdr *eth;
	struct rte_ipv4_hdr *ip;
	struct rte_udp_hdr *udp;

	if (m->nb_segs != 1 || m->next != NULL)
		return -EINVAL;
	if ((uint32_t)m->buf_len - m->data_off < TR_NET_HDR_LEN ||
	    payload_len > tr_net_payload_cap(m, conf))
		return -EMSGSIZE;

	eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	rte_ether_addr_copy(dst_mac, &eth->dst_addr);
	rte_ether_addr_copy(src_mac, &eth->src_addr);
	eth->ether_type = RTE_BE16(RTE_ETHER_TYPE_IPV4);

	ip = (struct rte_ipv4_hdr *)(eth + 1);
	ip->version_ihl = IPV4_VHL;
	ip->type_of_service = 0;
	ip->total_length = rte_cpu_to_be_16(TR_NET_IP_UDP_LEN + payload_len);
	ip->packet_id = 0;	/* atomic datagram (DF): id unused, RFC 6864 */
	ip->fragment_offset = RTE_BE16(RTE_IPV4_HDR_DF_FLAG);
	ip->time_to_live = TR_NET_TTL;
	ip->next_proto_id = IPPROTO_UDP;
	ip->hdr_checksum = 0;
	ip->src_addr = src_ip;
	ip->dst_addr = dst_ip;
	ip->hdr_checksum = rte_ipv4_cksum(ip);

	udp = (struct rte_udp_hdr *)(ip + 1);
	udp->src_port = src_port;
	udp->dst_port = dst_port;
	udp->dgram_len = rte_cpu_to_be_16(sizeof(*udp) + payload_len);
	udp->dgram_cksum = 0;
	if (conf->tx_udp_cksum)
		udp->dgram_cksum = rte_ipv4_udptcp_cksum(ip, udp);

	m->data_len = TR_NET_HDR_LEN + payload_len;
	m->pkt_len = m->data_len;
	m->l2_len = sizeof(*eth);
	m->l3_len = sizeof(*ip);
	m->l4_len = sizeof(*udp);
	m->packet_type = RTE_PTYPE_L2_ETHER | RTE_PTYPE_L3_IPV4 |
			 RTE_PTYPE_L4_UDP;
	m->ol_flags = 0;
	return 0;
}

int
tr_net_build(struct rte_mbuf *m, const struct tr_net_conf *conf,
	     uint8_t from, uint8_t to, uint8_t column, uint16_t payload_len)
{
	if (from >= TR_REPLICAS || to >= TR_REPLICAS || from == to ||
	    column >= TR_NET_CHANNELS)
		return -EINVAL;
	return build_hdrs(m, conf, &conf->addr[from].mac, &conf->addr[to].mac,
			  conf->addr[from].ip, conf->addr[to].ip,
			  rte_cpu_to_be_16(conf->port_base + TR_NET_SPORT_OFFSET + from),
			  rte_cpu_to_be_16(conf->port_base + column), payload_len);
}

int
tr_net_build_reply(struct rte_mbuf *m, const struct tr_net_conf *conf, uint8_t from,
		   const struct rte_ether_addr *dst_mac, uint32_t dst_ip, uint16_t dst_port,
		   uint16_t payload_len)
{
	if (from >= TR_REPLICAS)
		return -EINVAL;
	return build_hdrs(m, conf, &conf->addr[from].mac, dst_mac, conf->addr[from].ip, dst_ip,
			  rte_cpu_to_be_16(conf->port_base + TR_NET_CLIENT), dst_port,
			  payload_len);
}

/* Pseudo-header + UDP header + payload must sum to 0xffff. */
static int
udp_cksum_ok(const struct rte_ipv4_hdr *ip, const struct rte_udp_hdr *udp,
	     uint32_t udp_len)
{
	uint32_t sum = rte_ipv4_phdr_cksum(ip, 0);

	sum += rte_raw_cksum(udp, udp_len);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return sum == 0xffff;
}

int
tr_net_parse(const struct rte_mbuf *m, const struct tr_net_conf *conf,
	     uint8_t self, struct tr_net_rx *out)
{
	const struct rte_ether_hdr *eth;
	const struct rte_ipv4_hdr *ip;
	const struct rte_udp_hdr *udp;
	const struct tr_net_addr *me;
	uint32_t len, hlen, tot, udp_len;
	uint16_t column;
	rte_be16_t type;
	unsigned int from;

	if (unlikely(m->nb_segs != 1 || m->next != NULL ||
		     m->pkt_len != m->data_len))
		return TR_NET_DROP_MULTI_SEG;
	if (unlikely(self >= TR_REPLICAS))	/* caller bug: nothing is ours */
		return TR_NET_DROP_MISDIRECTED_IP;
	me = &conf->addr[self];
	len = m->data_len;

	if (unlikely(len < sizeof(*eth)))
		return TR_NET_DROP_TOO_SHORT;
	eth = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
	type = eth->ether_type;
	if (unlikely(type != RTE_BE16(RTE_ETHER_TYPE_IPV4))) {
		if (type == RTE_BE16(RTE_ETHER_TYPE_ARP))
			return TR_NET_DROP_FOREIGN_ARP;
		if (type == RTE_BE16(RTE_ETHER_TYPE_IPV6))
			return TR_NET_DROP_FOREIGN_IPV6;
		return TR_NET_DROP_NOT_IPV4;
	}
	if (unlikely(!rte_is_same_ether_addr(&eth->dst_addr, &me->mac) &&
		     !rte_is_broadcast_ether_addr(&eth->dst_addr)))
		return TR_NET_DROP_MISDIRECTED_MAC;

	/* IPv4 */
	if (unlikely(len < sizeof(*eth) + sizeof(*ip)))
		return TR_NET_DROP_TOO_SHORT;
	ip = (const struct rte_ipv4_hdr *)(eth + 1);
	if (unlikely((ip->version_ihl >> 4) != 4 ||
		     (ip->version_ihl & RTE_IPV4_HDR_IHL_MASK) <
		     RTE_IPV4_MIN_IHL))
		return TR_NET_DROP_BAD_IP_HDR;
	hlen = (ip->version_ihl & RTE_IPV4_HDR_IHL_MASK) *
	       RTE_IPV4_IHL_MULTIPLIER;
	if (unlikely(len < sizeof(*eth) + hlen + sizeof(*udp)))
		return TR_NET_DROP_TOO_SHORT;
	if (unlikely(rte_raw_cksum(ip, hlen) != 0xffff))
		return TR_NET_DROP_BAD_IP_CKSUM;
	if (unlikely(ip->fragment_offset &
		     RTE_BE16(RTE_IPV4_HDR_MF_FLAG | RTE_IPV4_HDR_OFFSET_MASK)))
		return TR_NET_DROP_IP_FRAGMENT;
	/* Bytes past the datagram are link padding and are ignored. */
	tot = rte_be_to_cpu_16(ip->total_length);
	if (unlikely(tot < hlen || tot > len - sizeof(*eth)))
		return TR_NET_DROP_BAD_IP_LEN;
	if (unlikely(ip->next_proto_id != IPPROTO_UDP))
		return TR_NET_DROP_NOT_UDP;

	/* UDP: the header lies inside the datagram, so inside the frame. */
	if (unlikely(tot - hlen < sizeof(*udp)))
		return TR_NET_DROP_BAD_UDP_LEN;
	udp = (const struct rte_udp_hdr *)((const uint8_t *)ip + hlen);
	udp_len = rte_be_to_cpu_16(udp->dgram_len);
	if (unlikely(udp_len != tot - hlen))
		return TR_NET_DROP_BAD_UDP_LEN;
	column = (uint16_t)(rte_be_to_cpu_16(udp->dst_port) - conf->port_base);
	if (unlikely(column >= TR_NET_CHANNELS))
		return TR_NET_DROP_FOREIGN_PORT;

	/* Addresses: a remote client may send from anywhere. */
	for (from = 0; from < TR_REPLICAS; from++)
		if (from != self && ip->src_addr == conf->addr[from].ip)
			break;
	if (unlikely(from == TR_REPLICAS && column != TR_NET_CLIENT))
		return TR_NET_DROP_FOREIGN_SRC;
	if (unlikely(ip->dst_addr != me->ip))
		return TR_NET_DROP_MISDIRECTED_IP;

	if (udp->dgram_cksum != 0 && unlikely(!udp_cksum_ok(ip, udp, udp_len)))
		return TR_NET_DROP_BAD_UDP_CKSUM;

	out->payload = (const uint8_t *)(udp + 1);
	out->len = (uint16_t)(udp_len - sizeof(*udp));
	out->from = (uint8_t)from;
	out->column = (uint8_t)column;
	out->src_mac = &eth->src_addr;
	out->src_ip = ip->src_addr;
	out->src_port = udp->src_port;
	return TR_NET_OK;
}
