/*
 * Strict RLP (yellow paper appendix B). See include/phr/rlp.h.
 */
#include "phr/rlp.h"

#include <string.h>

int phr_rlp_decode_prefix(struct phr_rlp_item *item, size_t *used, const uint8_t *in, size_t n)
{
	if (n == 0)
		return PHR_ERR_TRUNCATED;
	uint8_t h = in[0];
	size_t hdr, len;
	bool list = h >= 0xc0;
	if (h < 0x80) {
		item->data = in;
		item->len = 1;
		item->is_list = false;
		if (used)
			*used = 1;
		return PHR_OK;
	}
	uint8_t base = list ? 0xc0 : 0x80;
	if (h - base <= 55) {
		hdr = 1;
		len = (size_t)(h - base);
		if (n - 1 < len)
			return PHR_ERR_TRUNCATED;
		/* a single byte below 0x80 must be encoded as itself */
		if (!list && len == 1 && in[1] < 0x80)
			return PHR_ERR_NONCANONICAL;
	} else {
		size_t ll = (size_t)(h - base - 55);
		if (n - 1 < ll)
			return PHR_ERR_TRUNCATED;
		if (in[1] == 0)
			return PHR_ERR_NONCANONICAL; /* leading zero in the length */
		if (ll > sizeof(size_t))
			return PHR_ERR_RANGE;
		len = 0;
		for (size_t i = 0; i < ll; i++)
			len = (len << 8) | in[1 + i];
		if (len <= 55)
			return PHR_ERR_NONCANONICAL; /* long form for a short payload */
		hdr = 1 + ll;
		if (n - hdr < len)
			return len > SIZE_MAX - hdr ? PHR_ERR_RANGE : PHR_ERR_TRUNCATED;
	}
	item->data = in + hdr;
	item->len = len;
	item->is_list = list;
	if (used)
		*used = hdr + len;
	return PHR_OK;
}

static int validate(const struct phr_rlp_item *item, unsigned depth)
{
	if (!item->is_list)
		return PHR_OK;
	if (depth >= PHR_RLP_MAX_DEPTH)
		return PHR_ERR_TOO_LARGE;
	const uint8_t *p = item->data;
	size_t left = item->len;
	while (left) {
		struct phr_rlp_item sub;
		size_t used;
		int rc = phr_rlp_decode_prefix(&sub, &used, p, left);
		if (rc != PHR_OK)
			return rc;
		rc = validate(&sub, depth + 1);
		if (rc != PHR_OK)
			return rc;
		p += used;
		left -= used;
	}
	return PHR_OK;
}

int phr_rlp_decode(struct phr_rlp_item *item, const uint8_t *in, size_t n)
{
	struct phr_rlp_item it;
	size_t used;
	int rc = phr_rlp_decode_prefix(&it, &used, in, n);
	if (rc != PHR_OK)
		return rc;
	if (used != n)
		return PHR_ERR_PARSE;
	rc = validate(&it, 0);
	if (rc != PHR_OK)
		return rc;
	*item = it;
	return PHR_OK;
}

int phr_rlp_iter_init(struct phr_rlp_iter *it, const struct phr_rlp_item *list)
{
	if (!list->is_list)
		return PHR_ERR_INVALID;
	it->p = list->data;
	it->left = list->len;
	return PHR_OK;
}

int phr_rlp_iter_next(struct phr_rlp_iter *it, struct phr_rlp_item *item)
{
	if (it->left == 0)
		return 0;
	size_t used;
	int rc = phr_rlp_decode_prefix(item, &used, it->p, it->left);
	if (rc != PHR_OK)
		return rc;
	it->p += used;
	it->left -= used;
	return 1;
}

int phr_rlp_list_items(struct phr_rlp_item *items, size_t max, size_t *count,
		       const struct phr_rlp_item *list)
{
	struct phr_rlp_iter it;
	struct phr_rlp_item sub;
	size_t k = 0;
	int rc = phr_rlp_iter_init(&it, list);
	if (rc != PHR_OK)
		return rc;
	while ((rc = phr_rlp_iter_next(&it, &sub)) == 1) {
		if (k == max)
			return PHR_ERR_TOO_LARGE;
		items[k++] = sub;
	}
	if (rc < 0)
		return rc;
	*count = k;
	return PHR_OK;
}

/* Checks an integer string item of at most @p max bytes. */
static int int_item(const struct phr_rlp_item *item, size_t max)
{
	if (item->is_list)
		return PHR_ERR_INVALID;
	if (item->len > 0 && item->data[0] == 0)
		return PHR_ERR_NONCANONICAL;
	if (item->len > max)
		return PHR_ERR_RANGE;
	return PHR_OK;
}

int phr_rlp_item_u64(uint64_t *v, const struct phr_rlp_item *item)
{
	int rc = int_item(item, 8);
	if (rc != PHR_OK)
		return rc;
	uint64_t x = 0;
	for (size_t i = 0; i < item->len; i++)
		x = (x << 8) | item->data[i];
	*v = x;
	return PHR_OK;
}

int phr_rlp_item_u256(struct phr_u256 *v, const struct phr_rlp_item *item)
{
	int rc = int_item(item, 32);
	if (rc != PHR_OK)
		return rc;
	phr_u256_from_be_n(v, item->data, item->len);
	return PHR_OK;
}

int phr_rlp_item_fixed(uint8_t *out, size_t n, const struct phr_rlp_item *item)
{
	if (item->is_list || item->len != n)
		return PHR_ERR_INVALID;
	if (n)
		memcpy(out, item->data, n);
	return PHR_OK;
}

/* Writes the header for a payload of @p len with base 0x80/0xc0; @return its size. */
static size_t header(uint8_t out[9], size_t len, uint8_t base)
{
	if (len <= 55) {
		out[0] = (uint8_t)(base + len);
		return 1;
	}
	size_t ll = 0;
	for (size_t t = len; t; t >>= 8)
		ll++;
	out[0] = (uint8_t)(base + 55 + ll);
	for (size_t i = 0; i < ll; i++)
		out[ll - i] = (uint8_t)(len >> (8 * i));
	return 1 + ll;
}

size_t phr_rlp_string_len(size_t n, uint8_t first)
{
	uint8_t h[9];
	if (n == 1 && first < 0x80)
		return 1;
	return header(h, n, 0x80) + n;
}

int phr_rlp_put_bytes(struct phr_buf *b, const void *data, size_t n)
{
	const uint8_t *d = data;
	if (n == 1 && d[0] < 0x80)
		return phr_buf_append_byte(b, d[0]);
	uint8_t h[9];
	size_t hl = header(h, n, 0x80);
	int rc = phr_buf_reserve(b, hl + n);
	if (rc != PHR_OK)
		return rc;
	rc = phr_buf_append(b, h, hl);
	if (rc == PHR_OK && n)
		rc = phr_buf_append(b, d, n);
	return rc;
}

int phr_rlp_put_u64(struct phr_buf *b, uint64_t v)
{
	uint8_t be[8];
	size_t n = 0;
	for (int i = 7; i >= 0; i--) {
		uint8_t byte = (uint8_t)(v >> (8 * i));
		if (n || byte)
			be[n++] = byte;
	}
	return phr_rlp_put_bytes(b, be, n);
}

int phr_rlp_put_u256(struct phr_buf *b, const struct phr_u256 *v)
{
	uint8_t be[32];
	unsigned n = phr_u256_bytes(v);
	phr_u256_to_be(be, v);
	return phr_rlp_put_bytes(b, be + 32 - n, n);
}

int phr_rlp_put_raw(struct phr_buf *b, const void *data, size_t n)
{
	return n ? phr_buf_append(b, data, n) : PHR_OK;
}

void phr_rlp_list_begin(struct phr_buf *b, size_t *mark)
{
	*mark = b->len;
}

int phr_rlp_list_end(struct phr_buf *b, size_t mark)
{
	if (mark > b->len)
		return PHR_ERR_INVALID;
	uint8_t h[9];
	size_t len = b->len - mark;
	size_t hl = header(h, len, 0xc0);
	int rc = phr_buf_reserve(b, hl);
	if (rc != PHR_OK)
		return rc;
	/* reserve keeps the contents; grow len by hl and shift the payload up */
	size_t old = b->len;
	rc = phr_buf_append(b, h, hl);
	if (rc != PHR_OK)
		return rc;
	memmove(b->data + mark + hl, b->data + mark, old - mark);
	memcpy(b->data + mark, h, hl);
	return PHR_OK;
}
