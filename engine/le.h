/* SPDX-License-Identifier: MIT
 * Little-endian loads, byte by byte: correct on any host, one load on x86
 * once the compiler has merged them.
 */
#ifndef TRIREME_LE_H
#define TRIREME_LE_H

#include <stdint.h>

static inline uint16_t
ld_u16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (uint16_t)p[1] << 8);
}

static inline uint32_t
ld_u32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static inline uint64_t
ld_u64(const uint8_t *p)
{
	return (uint64_t)ld_u32(p) | (uint64_t)ld_u32(p + 4) << 32;
}

/* Little-endian stores (snapshots, the client table). */
static inline void
put_le32(uint8_t *p, uint32_t v)
{
	for (unsigned i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline void
put_le64(uint8_t *p, uint64_t v)
{
	put_le32(p, (uint32_t)v);
	put_le32(p + 4, (uint32_t)(v >> 32));
}

#endif
