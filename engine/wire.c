/* SPDX-License-Identifier: MIT
 * Trireme wire codec (wire.h): frames, messages and client commands.
 * Every multi-byte integer is little-endian, loaded and stored byte by byte
 * so the code is correct on any host. Decoding never reads past len.
 */
#include <assert.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "le.h"
#include "types.h"
#include "wire.h"

/* Encoded sizes of the fixed parts. */
#define WIRE_BALLOT_BYTES 9
#define WIRE_VALUE_HDR_BYTES (8 * TR_COLUMNS + 1 + 2 + 4)
#define WIRE_STATUS_BYTES (8 + 8 + 8 * TR_COLUMNS + 8 + 4 + 8)
#define WIRE_READ_INDEX_BYTES 8
#define WIRE_READ_REPLY_BYTES (8 + 8 * TR_COLUMNS)
#define WIRE_JOIN_REPLY_BYTES (8 + 4 + 2 * 8 * TR_COLUMNS)
#define WIRE_DEPS_BYTES (8 * TR_COLUMNS)
/* W1-W2: the by-reference forms, on the wire only (decoded as ref). */
#define WIRE_REPLY_OK_REF 5
#define WIRE_COMMIT_REF (0x80 | TR_MSG_COMMIT)

/* Header field offsets. */
#define WIRE_OFF_MAGIC0 0
#define WIRE_OFF_MAGIC1 1
#define WIRE_OFF_VERSION 2
#define WIRE_OFF_COUNT 3
#define WIRE_OFF_CLUSTER 4
#define WIRE_OFF_FROM 8
#define WIRE_OFF_TO 9
#define WIRE_OFF_COLUMN 10
#define WIRE_OFF_RESERVED 11
#define WIRE_OFF_LENGTH 12
#define WIRE_OFF_INC 16

/* CRC32C (Castagnoli), reflected polynomial 0x82f63b78. */
static const uint32_t crc32c_table[256] = {
	0x00000000u, 0xf26b8303u, 0xe13b70f7u, 0x1350f3f4u,
	0xc79a971fu, 0x35f1141cu, 0x26a1e7e8u, 0xd4ca64ebu,
	0x8ad958cfu, 0x78b2dbccu, 0x6be22838u, 0x9989ab3bu,
	0x4d43cfd0u, 0xbf284cd3u, 0xac78bf27u, 0x5e133c24u,
	0x105ec76fu, 0xe235446cu, 0xf165b798u, 0x030e349bu,
	0xd7c45070u, 0x25afd373u, 0x36ff2087u, 0xc494a384u,
	0x9a879fa0u, 0x68ec1ca3u, 0x7bbcef57u, 0x89d76c54u,
	0x5d1d08bfu, 0xaf768bbcu, 0xbc267848u, 0x4e4dfb4bu,
	0x20bd8edeu, 0xd2d60dddu, 0xc186fe29u, 0x33ed7d2au,
	0xe72719c1u, 0x154c9ac2u, 0x061c6936u, 0xf477ea35u,
	0xaa64d611u, 0x580f5512u, 0x4b5fa6e6u, 0xb93425e5u,
	0x6dfe410eu, 0x9f95c20du, 0x8cc531f9u, 0x7eaeb2fau,
	0x30e349b1u, 0xc288cab2u, 0xd1d83946u, 0x23b3ba45u,
	0xf779deaeu, 0x05125dadu, 0x1642ae59u, 0xe4292d5au,
	0xba3a117eu, 0x4851927du, 0x5b016189u, 0xa96ae28au,
	0x7da08661u, 0x8fcb0562u, 0x9c9bf696u, 0x6ef07595u,
	0x417b1dbcu, 0xb3109ebfu, 0xa0406d4bu, 0x522bee48u,
	0x86e18aa3u, 0x748a09a0u, 0x67dafa54u, 0x95b17957u,
	0xcba24573u, 0x39c9c670u, 0x2a993584u, 0xd8f2b687u,
	0x0c38d26cu, 0xfe53516fu, 0xed03a29bu, 0x1f682198u,
	0x5125dad3u, 0xa34e59d0u, 0xb01eaa24u, 0x42752927u,
	0x96bf4dccu, 0x64d4cecfu, 0x77843d3bu, 0x85efbe38u,
	0xdbfc821cu, 0x2997011fu, 0x3ac7f2ebu, 0xc8ac71e8u,
	0x1c661503u, 0xee0d9600u, 0xfd5d65f4u, 0x0f36e6f7u,
	0x61c69362u, 0x93ad1061u, 0x80fde395u, 0x72966096u,
	0xa65c047du, 0x5437877eu, 0x4767748au, 0xb50cf789u,
	0xeb1fcbadu, 0x197448aeu, 0x0a24bb5au, 0xf84f3859u,
	0x2c855cb2u, 0xdeeedfb1u, 0xcdbe2c45u, 0x3fd5af46u,
	0x7198540du, 0x83f3d70eu, 0x90a324fau, 0x62c8a7f9u,
	0xb602c312u, 0x44694011u, 0x5739b3e5u, 0xa55230e6u,
	0xfb410cc2u, 0x092a8fc1u, 0x1a7a7c35u, 0xe811ff36u,
	0x3cdb9bddu, 0xceb018deu, 0xdde0eb2au, 0x2f8b6829u,
	0x82f63b78u, 0x709db87bu, 0x63cd4b8fu, 0x91a6c88cu,
	0x456cac67u, 0xb7072f64u, 0xa457dc90u, 0x563c5f93u,
	0x082f63b7u, 0xfa44e0b4u, 0xe9141340u, 0x1b7f9043u,
	0xcfb5f4a8u, 0x3dde77abu, 0x2e8e845fu, 0xdce5075cu,
	0x92a8fc17u, 0x60c37f14u, 0x73938ce0u, 0x81f80fe3u,
	0x55326b08u, 0xa759e80bu, 0xb4091bffu, 0x466298fcu,
	0x1871a4d8u, 0xea1a27dbu, 0xf94ad42fu, 0x0b21572cu,
	0xdfeb33c7u, 0x2d80b0c4u, 0x3ed04330u, 0xccbbc033u,
	0xa24bb5a6u, 0x502036a5u, 0x4370c551u, 0xb11b4652u,
	0x65d122b9u, 0x97baa1bau, 0x84ea524eu, 0x7681d14du,
	0x2892ed69u, 0xdaf96e6au, 0xc9a99d9eu, 0x3bc21e9du,
	0xef087a76u, 0x1d63f975u, 0x0e330a81u, 0xfc588982u,
	0xb21572c9u, 0x407ef1cau, 0x532e023eu, 0xa145813du,
	0x758fe5d6u, 0x87e466d5u, 0x94b49521u, 0x66df1622u,
	0x38cc2a06u, 0xcaa7a905u, 0xd9f75af1u, 0x2b9cd9f2u,
	0xff56bd19u, 0x0d3d3e1au, 0x1e6dcdeeu, 0xec064eedu,
	0xc38d26c4u, 0x31e6a5c7u, 0x22b65633u, 0xd0ddd530u,
	0x0417b1dbu, 0xf67c32d8u, 0xe52cc12cu, 0x1747422fu,
	0x49547e0bu, 0xbb3ffd08u, 0xa86f0efcu, 0x5a048dffu,
	0x8ecee914u, 0x7ca56a17u, 0x6ff599e3u, 0x9d9e1ae0u,
	0xd3d3e1abu, 0x21b862a8u, 0x32e8915cu, 0xc083125fu,
	0x144976b4u, 0xe622f5b7u, 0xf5720643u, 0x07198540u,
	0x590ab964u, 0xab613a67u, 0xb831c993u, 0x4a5a4a90u,
	0x9e902e7bu, 0x6cfbad78u, 0x7fab5e8cu, 0x8dc0dd8fu,
	0xe330a81au, 0x115b2b19u, 0x020bd8edu, 0xf0605beeu,
	0x24aa3f05u, 0xd6c1bc06u, 0xc5914ff2u, 0x37faccf1u,
	0x69e9f0d5u, 0x9b8273d6u, 0x88d28022u, 0x7ab90321u,
	0xae7367cau, 0x5c18e4c9u, 0x4f48173du, 0xbd23943eu,
	0xf36e6f75u, 0x0105ec76u, 0x12551f82u, 0xe03e9c81u,
	0x34f4f86au, 0xc69f7b69u, 0xd5cf889du, 0x27a40b9eu,
	0x79b737bau, 0x8bdcb4b9u, 0x988c474du, 0x6ae7c44eu,
	0xbe2da0a5u, 0x4c4623a6u, 0x5f16d052u, 0xad7d5351u,
};

uint32_t
tr_crc32c_sw(uint32_t crc, const void *data, size_t len)
{
	const uint8_t *p = data;
	uint32_t c = ~crc;
	size_t i;

	for (i = 0; i < len; i++)
		c = crc32c_table[(c ^ p[i]) & 0xff] ^ (c >> 8);
	return ~c;
}

#if defined(__x86_64__) && defined(__GNUC__)
/* The SSE4.2 crc32 instruction: 8 bytes per step, some 20x the table. */
__attribute__((target("sse4.2"))) static uint32_t
crc32c_sse42(uint32_t crc, const uint8_t *p, size_t len)
{
	uint64_t c = ~crc;

	for (; len >= 8; p += 8, len -= 8)
		c = __builtin_ia32_crc32di(c, ld_u64(p));
	for (; len > 0; p++, len--)
		c = __builtin_ia32_crc32qi((uint32_t)c, *p);
	return ~(uint32_t)c;
}

uint32_t
tr_crc32c(uint32_t crc, const void *data, size_t len)
{
	if (__builtin_cpu_supports("sse4.2"))
		return crc32c_sse42(crc, data, len);
	return tr_crc32c_sw(crc, data, len);
}
#else
uint32_t
tr_crc32c(uint32_t crc, const void *data, size_t len)
{
	return tr_crc32c_sw(crc, data, len);
}
#endif

static const char *const wire_err_text[TR_WIRE_E_COUNT] = {
	[TR_WIRE_OK] = "ok",
#define TR_WIRE_TEXT(name, text) [TR_WIRE_E_##name] = text,
	TR_WIRE_ERRORS(TR_WIRE_TEXT)
#undef TR_WIRE_TEXT
};

const char *
tr_wire_strerror(int err)
{
	if (err < 0 || err >= TR_WIRE_E_COUNT)
		return "unknown error";
	return wire_err_text[err];
}

/* Little-endian stores; each returns the position after the field. */
static inline uint8_t *
st_u8(uint8_t *p, uint8_t v)
{
	p[0] = v;
	return p + 1;
}

static inline uint8_t *
st_u16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	return p + 2;
}

static inline uint8_t *
st_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
	return p + 4;
}

static inline uint8_t *
st_u64(uint8_t *p, uint64_t v)
{
	p = st_u32(p, (uint32_t)v);
	return st_u32(p, (uint32_t)(v >> 32));
}

static inline uint8_t *
st_bytes(uint8_t *p, const void *src, size_t n)
{
	bytes_copy(p, src, n);
	return p + n;
}

/* Commands. */

size_t
tr_cmd_bytes(const struct tr_cmd *c)
{
	return TR_WIRE_CMD_HDR_BYTES + (size_t)c->key_len + (size_t)c->val_len;
}

size_t
tr_cmd_encode(uint8_t *buf, size_t cap, const struct tr_cmd *c)
{
	size_t n = tr_cmd_bytes(c);
	uint8_t *p = buf;

	if (n > cap)
		return 0;
	/* Fields are written as given; tr_cmds_validate judges them. */
	p = st_u8(p, c->op);
	p = st_u8(p, c->window);
	p = st_u64(p, c->client_id);
	p = st_u64(p, c->seq);
	p = st_u16(p, c->key_len);
	p = st_u32(p, c->val_len);
	p = st_bytes(p, c->key, c->key_len);
	st_bytes(p, c->val, c->val_len);
	return n;
}

/* Malformed fields give BAD_CMD, running out of bytes TRUNCATED. */
int
tr_cmd_decode(const uint8_t *buf, size_t len, size_t *off, struct tr_cmd *c)
{
	const uint8_t *p;
	size_t left;
	uint8_t op, window;
	uint16_t key_len;
	uint32_t val_len;

	if (*off > len)
		return TR_WIRE_E_TRUNCATED;
	left = len - *off;
	if (left < TR_WIRE_CMD_HDR_BYTES)
		return TR_WIRE_E_TRUNCATED;
	p = buf + *off;
	op = p[0];
	window = p[1];
	key_len = ld_u16(p + 18);
	val_len = ld_u32(p + 20);
	if (!tr_cmd_fields_ok(op, window, key_len, val_len))
		return TR_WIRE_E_BAD_CMD;
	if (left - TR_WIRE_CMD_HDR_BYTES < (size_t)key_len + val_len)
		return TR_WIRE_E_TRUNCATED;
	*off += tr_cmd_read(p, c);
	return TR_WIRE_OK;
}

int
tr_cmds_validate(const uint8_t *cmds, size_t len, unsigned count)
{
	struct tr_cmd c;
	size_t off = 0;
	unsigned i;

	if (count > len / TR_WIRE_CMD_HDR_BYTES)
		return TR_WIRE_E_BAD_CMD;
	for (i = 0; i < count; i++)
		if (tr_cmd_decode(cmds, len, &off, &c) != TR_WIRE_OK)
			return TR_WIRE_E_BAD_CMD;
	return off == len ? TR_WIRE_OK : TR_WIRE_E_BAD_CMD;
}

/* Message encoding. */

static size_t
value_bytes(const struct tr_value *v)
{
	return WIRE_VALUE_HDR_BYTES + (size_t)v->cmds_len;
}

size_t
tr_wire_msg_bytes(const struct tr_msg *m)
{
	switch (m->type) {
	case TR_MSG_ACCEPT:
		return 1 + 8 + 2 * WIRE_BALLOT_BYTES + value_bytes(&m->value);
	case TR_MSG_ACCEPT_REPLY:
		assert(m->reply == TR_REPLY_OK || m->reply == TR_REPLY_OK_COMMITTED ||
		       m->reply == TR_REPLY_REJECT || m->reply == TR_REPLY_REFUSED);
		if (m->reply == TR_REPLY_REFUSED)
			return 1 + 8 + WIRE_BALLOT_BYTES + 1;
		if (m->reply == TR_REPLY_OK && m->ref)
			return 1 + 8 + WIRE_BALLOT_BYTES + 1 + WIRE_DEPS_BYTES;
		return 1 + 8 + WIRE_BALLOT_BYTES + 1 +
		       (m->reply == TR_REPLY_REJECT ? WIRE_BALLOT_BYTES :
						      value_bytes(&m->value));
	case TR_MSG_COMMIT:
		if (m->ref)
			return 1 + 8 + WIRE_BALLOT_BYTES;
		return 1 + 8 + value_bytes(&m->value);
	case TR_MSG_FETCH_REPLY:
		return 1 + 8 + value_bytes(&m->value);
	case TR_MSG_FETCH:
		return 1 + 8 + 8;
	case TR_MSG_STATUS:
		return 1 + WIRE_STATUS_BYTES;
	case TR_MSG_READ_INDEX:
		return 1 + WIRE_READ_INDEX_BYTES;
	case TR_MSG_READ_INDEX_REPLY:
		return 1 + WIRE_READ_REPLY_BYTES;
	case TR_MSG_TOO_OLD:
	case TR_MSG_JOIN:
		return 1 + 8;
	case TR_MSG_JOIN_REPLY:
		return 1 + WIRE_JOIN_REPLY_BYTES;
	default:
		assert(0 && "tr_wire_msg_bytes: unknown message type");
		return 0;
	}
}

static uint8_t *
put_ballot(uint8_t *p, struct tr_ballot b)
{
	p = st_u32(p, b.n);
	p = st_u8(p, b.replica);
	return st_u32(p, b.inc);
}

static uint8_t *
put_value(uint8_t *p, const struct tr_value *v)
{
	int i;

	for (i = 0; i < TR_COLUMNS; i++)
		p = st_u64(p, v->deps[i]);
	p = st_u8(p, v->proposer);
	p = st_u16(p, v->cmd_count);
	p = st_u32(p, v->cmds_len);
	return st_bytes(p, v->cmds, v->cmds_len);
}

static uint8_t *
put_msg(uint8_t *p, const struct tr_msg *m)
{
	int i;

	if (m->type == TR_MSG_COMMIT && m->ref) {
		p = st_u8(p, WIRE_COMMIT_REF); /* W2 */
		p = st_u64(p, m->lsn);
		return put_ballot(p, m->ballot);
	}
	p = st_u8(p, m->type);
	switch (m->type) {
	case TR_MSG_ACCEPT:
		p = st_u64(p, m->lsn);
		p = put_ballot(p, m->ballot);
		p = put_ballot(p, m->vbal);
		p = put_value(p, &m->value);
		break;
	case TR_MSG_ACCEPT_REPLY:
		p = st_u64(p, m->lsn);
		p = put_ballot(p, m->ballot);
		if (m->reply == TR_REPLY_OK && m->ref) {
			p = st_u8(p, WIRE_REPLY_OK_REF); /* W1 */
			for (i = 0; i < TR_COLUMNS; i++)
				p = st_u64(p, m->value.deps[i]);
			break;
		}
		p = st_u8(p, m->reply);
		if (m->reply == TR_REPLY_REJECT)
			p = put_ballot(p, m->promised);
		else if (m->reply != TR_REPLY_REFUSED)
			p = put_value(p, &m->value);
		break;
	case TR_MSG_COMMIT:
	case TR_MSG_FETCH_REPLY:
		p = st_u64(p, m->lsn);
		p = put_value(p, &m->value);
		break;
	case TR_MSG_FETCH:
		p = st_u64(p, m->lsn);
		p = st_u64(p, m->lsn_end);
		break;
	case TR_MSG_STATUS:
		p = st_u64(p, m->committed);
		p = st_u64(p, m->applied);
		for (i = 0; i < TR_COLUMNS; i++)
			p = st_u64(p, m->known[i]);
		p = st_u64(p, m->sm_keys_max);
		p = st_u32(p, m->sm_clients_max);
		p = st_u64(p, m->heard);
		break;
	case TR_MSG_READ_INDEX:
		p = st_u64(p, m->read_id);
		break;
	case TR_MSG_READ_INDEX_REPLY:
		p = st_u64(p, m->read_id);
		for (i = 0; i < TR_COLUMNS; i++)
			p = st_u64(p, m->known[i]);
		break;
	case TR_MSG_TOO_OLD:
		p = st_u64(p, m->lsn);
		break;
	case TR_MSG_JOIN:
		p = st_u64(p, m->read_id);
		break;
	case TR_MSG_JOIN_REPLY:
		p = st_u64(p, m->read_id);
		p = st_u32(p, m->inc_seen);
		for (i = 0; i < TR_COLUMNS; i++)
			p = st_u64(p, m->known[i]);
		for (i = 0; i < TR_COLUMNS; i++)
			p = st_u64(p, m->frontier[i]);
		break;
	default:
		assert(0 && "put_msg: unknown message type");
		break;
	}
	return p;
}

int
tr_frame_begin(struct tr_frame_writer *w, uint8_t *buf, size_t cap,
	       const struct tr_frame_hdr *hdr)
{
	uint8_t *p = buf;

	assert(hdr->from < TR_REPLICAS && hdr->to < TR_REPLICAS);
	assert(hdr->from != hdr->to);
	assert(hdr->column < TR_COLUMNS);
	w->buf = buf;
	w->cap = 0;
	w->len = 0;
	w->msg_count = 0;
	if (cap < TR_WIRE_HDR_BYTES + TR_WIRE_CRC_BYTES)
		return TR_WIRE_E_NO_SPACE;
	p = st_u8(p, TR_WIRE_MAGIC0);
	p = st_u8(p, TR_WIRE_MAGIC1);
	p = st_u8(p, TR_WIRE_VERSION);
	p = st_u8(p, 0); /* msg_count, patched by tr_frame_end */
	p = st_u32(p, hdr->cluster_id);
	p = st_u8(p, hdr->from);
	p = st_u8(p, hdr->to);
	p = st_u8(p, hdr->column);
	p = st_u8(p, 0); /* reserved */
	p = st_u32(p, 0); /* length, patched by tr_frame_end */
	st_u32(p, hdr->inc);
	w->cap = cap;
	w->len = TR_WIRE_HDR_BYTES;
	return TR_WIRE_OK;
}

int
tr_frame_add(struct tr_frame_writer *w, const struct tr_msg *m)
{
	size_t n;

	assert(w->len >= TR_WIRE_HDR_BYTES && w->len + TR_WIRE_CRC_BYTES <= w->cap);
	if (w->msg_count >= TR_FRAME_MSGS_MAX)
		return TR_WIRE_E_NO_SPACE;
	n = tr_wire_msg_bytes(m);
	if (n == 0) /* unknown type, with NDEBUG */
		return TR_WIRE_E_BAD_TYPE;
	if (n > w->cap - w->len - TR_WIRE_CRC_BYTES)
		return TR_WIRE_E_NO_SPACE;
	/* The length field is a u32. */
	if (n > UINT32_MAX - TR_WIRE_CRC_BYTES - w->len)
		return TR_WIRE_E_NO_SPACE;
	put_msg(w->buf + w->len, m);
	w->len += n;
	w->msg_count++;
	return TR_WIRE_OK;
}

size_t
tr_frame_end(struct tr_frame_writer *w)
{
	size_t total = w->len + TR_WIRE_CRC_BYTES;

	assert(w->len >= TR_WIRE_HDR_BYTES && total <= w->cap);
	w->buf[WIRE_OFF_COUNT] = w->msg_count;
	st_u32(w->buf + WIRE_OFF_LENGTH, (uint32_t)total);
	st_u32(w->buf + w->len, tr_crc32c(0, w->buf, w->len));
	w->len = total;
	return total;
}

/* Decoding: a bounds-checked cursor over the message area. */
struct wire_rd {
	const uint8_t *buf;
	size_t len;
	size_t off; /* always <= len */
};

static inline bool
rd_has(const struct wire_rd *r, size_t n)
{
	return r->len - r->off >= n;
}

static bool
rd_u8(struct wire_rd *r, uint8_t *v)
{
	if (!rd_has(r, 1))
		return false;
	*v = r->buf[r->off];
	r->off += 1;
	return true;
}

static bool
rd_u16(struct wire_rd *r, uint16_t *v)
{
	if (!rd_has(r, 2))
		return false;
	*v = ld_u16(r->buf + r->off);
	r->off += 2;
	return true;
}

static bool
rd_u32(struct wire_rd *r, uint32_t *v)
{
	if (!rd_has(r, 4))
		return false;
	*v = ld_u32(r->buf + r->off);
	r->off += 4;
	return true;
}

static bool
rd_u64(struct wire_rd *r, uint64_t *v)
{
	if (!rd_has(r, 8))
		return false;
	*v = ld_u64(r->buf + r->off);
	r->off += 8;
	return true;
}

/* A ballot: replica in range; n == 0 (none) only as (0, 0) and only where
 * none is allowed. */
static int
rd_ballot(struct wire_rd *r, struct tr_ballot *b, bool none_ok)
{
	if (!rd_u32(r, &b->n) || !rd_u8(r, &b->replica) || !rd_u32(r, &b->inc))
		return TR_WIRE_E_TRUNCATED;
	if (b->replica >= TR_REPLICAS || b->inc >= TR_INC_MAX)
		return TR_WIRE_E_BAD_BALLOT;
	if (b->n == 0 && (!none_ok || b->replica != 0 || b->inc != 0))
		return TR_WIRE_E_BAD_BALLOT;
	if (b->n > TR_BALLOT_N_MAX)
		return TR_WIRE_E_BAD_BALLOT; /* P2's n + 1 must never wrap */
	return TR_WIRE_OK;
}

static int
rd_lsn(struct wire_rd *r, uint64_t *lsn)
{
	if (!rd_u64(r, lsn))
		return TR_WIRE_E_TRUNCATED;
	return *lsn < TR_LSN_MAX ? TR_WIRE_OK : TR_WIRE_E_BAD_LSN;
}

static int
rd_value(struct wire_rd *r, const struct tr_wire_limits *lim, struct tr_value *v)
{
	int i;

	if (!rd_has(r, WIRE_VALUE_HDR_BYTES))
		return TR_WIRE_E_TRUNCATED;
	for (i = 0; i < TR_COLUMNS; i++)
		rd_u64(r, &v->deps[i]);
	rd_u8(r, &v->proposer);
	rd_u16(r, &v->cmd_count);
	rd_u32(r, &v->cmds_len);
	if (v->proposer >= TR_REPLICAS)
		return TR_WIRE_E_BAD_VALUE;
	for (i = 0; i < TR_COLUMNS; i++)
		if (v->deps[i] > TR_LSN_MAX)
			return TR_WIRE_E_BAD_VALUE;
	if (v->cmd_count > lim->cmd_count_max || v->cmd_count > TR_BATCH_CMDS_MAX)
		return TR_WIRE_E_TOO_BIG;
	if (v->cmds_len > lim->cmds_bytes_max || v->cmds_len > TR_BATCH_BYTES_MAX)
		return TR_WIRE_E_TOO_BIG;
	if ((v->cmd_count == 0) != (v->cmds_len == 0))
		return TR_WIRE_E_BAD_VALUE;
	if (!rd_has(r, v->cmds_len))
		return TR_WIRE_E_TRUNCATED;
	v->cmds = v->cmds_len != 0 ? r->buf + r->off : NULL;
	if (tr_cmds_validate(v->cmds, v->cmds_len, v->cmd_count) != TR_WIRE_OK)
		return TR_WIRE_E_BAD_CMD;
	r->off += v->cmds_len;
	return TR_WIRE_OK;
}

static int
rd_fetch_range(struct wire_rd *r, const struct tr_wire_limits *lim, struct tr_msg *m)
{
	int err = rd_lsn(r, &m->lsn);

	if (err != TR_WIRE_OK)
		return err;
	if (!rd_u64(r, &m->lsn_end))
		return TR_WIRE_E_TRUNCATED;
	if (m->lsn_end <= m->lsn || m->lsn_end > TR_LSN_MAX ||
	    m->lsn_end - m->lsn > lim->fetch_span_max)
		return TR_WIRE_E_BAD_RANGE;
	return TR_WIRE_OK;
}

static int
rd_status(struct wire_rd *r, struct tr_msg *m)
{
	int i;

	if (!rd_u64(r, &m->committed) || !rd_u64(r, &m->applied))
		return TR_WIRE_E_TRUNCATED;
	for (i = 0; i < TR_COLUMNS; i++)
		if (!rd_u64(r, &m->known[i]))
			return TR_WIRE_E_TRUNCATED;
	if (!rd_u64(r, &m->sm_keys_max) || !rd_u32(r, &m->sm_clients_max) ||
	    !rd_u64(r, &m->heard))
		return TR_WIRE_E_TRUNCATED;
	if (m->committed > TR_LSN_MAX || m->applied > TR_LSN_MAX || m->heard > TR_LSN_MAX)
		return TR_WIRE_E_BAD_LSN;
	for (i = 0; i < TR_COLUMNS; i++)
		if (m->known[i] > TR_LSN_MAX)
			return TR_WIRE_E_BAD_LSN;
	return TR_WIRE_OK;
}

/* A known vector: every entry a count of lsns, so at most TR_LSN_MAX. */
static int
rd_known(struct wire_rd *r, uint64_t known[TR_COLUMNS])
{
	int i;

	for (i = 0; i < TR_COLUMNS; i++)
		if (!rd_u64(r, &known[i]))
			return TR_WIRE_E_TRUNCATED;
	for (i = 0; i < TR_COLUMNS; i++)
		if (known[i] > TR_LSN_MAX)
			return TR_WIRE_E_BAD_LSN;
	return TR_WIRE_OK;
}

/* Q1: the barrier id is opaque to everyone but the reader. */
static int
rd_read_index(struct wire_rd *r, struct tr_msg *m, bool reply)
{
	if (!rd_u64(r, &m->read_id))
		return TR_WIRE_E_TRUNCATED;
	return reply ? rd_known(r, m->known) : TR_WIRE_OK;
}

/* Decodes one message (m zeroed by the caller). */
static int
rd_msg(struct wire_rd *r, const struct tr_wire_limits *lim, struct tr_msg *m)
{
	int err;

	if (!rd_u8(r, &m->type))
		return TR_WIRE_E_TRUNCATED;
	switch (m->type) {
	case TR_MSG_ACCEPT:
		err = rd_lsn(r, &m->lsn);
		if (err == TR_WIRE_OK)
			err = rd_ballot(r, &m->ballot, false);
		if (err == TR_WIRE_OK)
			err = rd_ballot(r, &m->vbal, true);
		if (err == TR_WIRE_OK)
			err = rd_value(r, lim, &m->value);
		return err;
	case TR_MSG_ACCEPT_REPLY:
		err = rd_lsn(r, &m->lsn);
		if (err == TR_WIRE_OK)
			err = rd_ballot(r, &m->ballot, false);
		if (err != TR_WIRE_OK)
			return err;
		if (!rd_u8(r, &m->reply))
			return TR_WIRE_E_TRUNCATED;
		if (m->reply == TR_REPLY_OK || m->reply == TR_REPLY_OK_COMMITTED)
			return rd_value(r, lim, &m->value);
		if (m->reply == TR_REPLY_REJECT)
			return rd_ballot(r, &m->promised, false);
		if (m->reply == TR_REPLY_REFUSED)
			return TR_WIRE_OK;
		if (m->reply == WIRE_REPLY_OK_REF) {
			m->reply = TR_REPLY_OK;
			m->ref = true;
			return rd_known(r, m->value.deps); /* deps: lsn counts too */
		}
		return TR_WIRE_E_BAD_REPLY;
	case TR_MSG_COMMIT:
	case TR_MSG_FETCH_REPLY:
		err = rd_lsn(r, &m->lsn);
		if (err == TR_WIRE_OK)
			err = rd_value(r, lim, &m->value);
		return err;
	case TR_MSG_FETCH:
		return rd_fetch_range(r, lim, m);
	case TR_MSG_STATUS:
		return rd_status(r, m);
	case TR_MSG_READ_INDEX:
		return rd_read_index(r, m, false);
	case TR_MSG_READ_INDEX_REPLY:
		return rd_read_index(r, m, true);
	case TR_MSG_TOO_OLD:
		return rd_lsn(r, &m->lsn);
	case WIRE_COMMIT_REF:
		m->type = TR_MSG_COMMIT;
		m->ref = true;
		err = rd_lsn(r, &m->lsn);
		return err != TR_WIRE_OK ? err : rd_ballot(r, &m->ballot, false);
	case TR_MSG_JOIN:
		return rd_read_index(r, m, false);
	case TR_MSG_JOIN_REPLY:
		if (!rd_u64(r, &m->read_id) || !rd_u32(r, &m->inc_seen))
			return TR_WIRE_E_TRUNCATED;
		if (m->inc_seen >= TR_INC_MAX)
			return TR_WIRE_E_BAD_VALUE;
		err = rd_known(r, m->known);
		return err != TR_WIRE_OK ? err : rd_known(r, m->frontier);
	default:
		return TR_WIRE_E_BAD_TYPE;
	}
}

/* Header checks, in the order the reasons are reported. */
static int
rd_header(const uint8_t *buf, size_t len, const struct tr_wire_limits *lim)
{
	uint8_t from, to;

	if (len < TR_WIRE_HDR_BYTES + TR_WIRE_CRC_BYTES)
		return TR_WIRE_E_TRUNCATED;
	if (buf[WIRE_OFF_MAGIC0] != TR_WIRE_MAGIC0 || buf[WIRE_OFF_MAGIC1] != TR_WIRE_MAGIC1)
		return TR_WIRE_E_BAD_MAGIC;
	if (buf[WIRE_OFF_VERSION] != TR_WIRE_VERSION)
		return TR_WIRE_E_BAD_VERSION;
	if ((size_t)ld_u32(buf + WIRE_OFF_LENGTH) != len)
		return TR_WIRE_E_BAD_LENGTH;
	if (tr_crc32c(0, buf, len - TR_WIRE_CRC_BYTES) != ld_u32(buf + len - TR_WIRE_CRC_BYTES))
		return TR_WIRE_E_BAD_CHECKSUM;
	if (buf[WIRE_OFF_RESERVED] != 0)
		return TR_WIRE_E_BAD_VALUE;
	if (ld_u32(buf + WIRE_OFF_CLUSTER) != lim->cluster_id)
		return TR_WIRE_E_WRONG_CLUSTER;
	from = buf[WIRE_OFF_FROM];
	to = buf[WIRE_OFF_TO];
	if (from >= TR_REPLICAS || to >= TR_REPLICAS || from == to)
		return TR_WIRE_E_BAD_REPLICA;
	if (to != lim->self)
		return TR_WIRE_E_MISDIRECTED;
	if (buf[WIRE_OFF_COLUMN] >= TR_COLUMNS)
		return TR_WIRE_E_BAD_COLUMN;
	if (ld_u32(buf + WIRE_OFF_INC) >= TR_INC_MAX)
		return TR_WIRE_E_BAD_VALUE;
	return TR_WIRE_OK;
}

int
tr_frame_decode(const uint8_t *buf, size_t len, const struct tr_wire_limits *lim,
		struct tr_frame_hdr *hdr, struct tr_msg *msgs, unsigned msgs_cap,
		unsigned *count)
{
	struct wire_rd r;
	unsigned i, n;
	int err;

	*count = 0;
	err = rd_header(buf, len, lim);
	if (err != TR_WIRE_OK)
		return err;
	n = buf[WIRE_OFF_COUNT];
	if (n == 0 || n > msgs_cap)
		return TR_WIRE_E_BAD_COUNT;
	r.buf = buf;
	r.len = len - TR_WIRE_CRC_BYTES;
	r.off = TR_WIRE_HDR_BYTES;
	for (i = 0; i < n; i++) {
		memset(&msgs[i], 0, sizeof(msgs[i]));
		err = rd_msg(&r, lim, &msgs[i]);
		if (err != TR_WIRE_OK)
			return err;
		msgs[i].from = buf[WIRE_OFF_FROM];
		msgs[i].to = buf[WIRE_OFF_TO];
		msgs[i].column = buf[WIRE_OFF_COLUMN];
		msgs[i].inc = ld_u32(buf + WIRE_OFF_INC);
	}
	if (r.off != r.len)
		return TR_WIRE_E_TRAILING;
	if (hdr != NULL) {
		hdr->cluster_id = ld_u32(buf + WIRE_OFF_CLUSTER);
		hdr->from = buf[WIRE_OFF_FROM];
		hdr->to = buf[WIRE_OFF_TO];
		hdr->column = buf[WIRE_OFF_COLUMN];
		hdr->msg_count = (uint8_t)n;
		hdr->inc = ld_u32(buf + WIRE_OFF_INC);
	}
	*count = n;
	return TR_WIRE_OK;
}
