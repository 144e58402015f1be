/* SPDX-License-Identifier: MIT
 * Little-endian loads, byte by byte: correct on any host, one load on x86
 * once the compiler has merged them; short byte strings compared and
 * copied inline.
 */
#ifndef TRIREME_LE_H
#define TRIREME_LE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

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

/* Byte strings of one to two words (keys, small values) as two words that
 * may overlap: no call into the C library. */
static inline bool
bytes_equal(const uint8_t *a, const uint8_t *b, size_t len)
{
	if (len >= 8 && len <= 16)
		return ld_u64(a) == ld_u64(b) && ld_u64(a + len - 8) == ld_u64(b + len - 8);
	return len == 0 || memcmp(a, b, len) == 0;
}

/* dst and src do not overlap. */
static inline void
bytes_copy(uint8_t *dst, const uint8_t *src, size_t len)
{
	if (len >= 8 && len <= 16) {
		uint64_t x, y;

		memcpy(&x, src, 8);
		memcpy(&y, src + len - 8, 8);
		memcpy(dst, &x, 8);
		memcpy(dst + len - 8, &y, 8);
	} else if (len > 0) {
		memcpy(dst, src, len);
	}
}

#endif
