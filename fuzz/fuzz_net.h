/* SPDX-License-Identifier: MIT
 * The frame-layer target (fuzz_net.c) and its seeded mutation test
 * (net_mutate.c): what they share.
 */
#ifndef TR_FUZZ_NET_H
#define TR_FUZZ_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net.h"

#define FUZZ_NET_PORT_BASE 9000

/* Three replicas 02:00:00:00:00:0{1,2,3}, 10.0.0.{1,2,3}, ports 9000... */
void fuzz_net_conf(struct tr_net_conf *conf, bool udp_cksum);
/* A frame from -> to for column carrying payload, into buf; its length, or
 * 0 if it does not fit. */
size_t fuzz_net_build(uint8_t *buf, size_t cap, const struct tr_net_conf *conf, uint8_t from,
		      uint8_t to, uint8_t column, const uint8_t *payload, uint16_t len);
/* Parses buf as replica self and checks everything fuzz_net.c lists;
 * returns tr_net_parse's answer. Aborts on a failed check. */
int fuzz_net_check(const uint8_t *buf, size_t len, uint8_t self);

#endif
