/*
 * dag-pb (the IPLD protobuf codec) and UnixFS Data messages: the protobuf
 * subset they need, written here. Decoding follows the strict rules of the
 * IPLD dag-pb spec; encoding is byte-for-byte what kubo writes.
 */
#include <string.h>

#include "phr/core.h"
#include "phr/store.h"
#include "store_int.h"

int phr_pb_varint(uint64_t *v, const uint8_t **p, const uint8_t *end)
{
	size_t used;
	int rc = phr_varint_decode(v, &used, *p, (size_t)(end - *p));
	if (rc != PHR_OK)
		return rc;
	*p += used;
	return PHR_OK;
}

/* Reads a length-delimited field body. */
static int pb_bytes(const uint8_t **out, size_t *out_len, const uint8_t **p, const uint8_t *end)
{
	uint64_t n;
	int rc = phr_pb_varint(&n, p, end);
	if (rc != PHR_OK)
		return rc;
	if (n > (uint64_t)(end - *p))
		return PHR_ERR_TRUNCATED;
	*out = *p;
	*out_len = (size_t)n;
	*p += n;
	return PHR_OK;
}

static int pb_key(unsigned *field, unsigned *wire, const uint8_t **p, const uint8_t *end)
{
	uint64_t k;
	int rc = phr_pb_varint(&k, p, end);
	if (rc != PHR_OK)
		return rc;
	if ((k >> 3) == 0 || (k >> 3) > 0xffff)
		return PHR_ERR_PARSE;
	*field = (unsigned)(k >> 3);
	*wire = (unsigned)(k & 7);
	return PHR_OK;
}

static int decode_link(struct phr_dagpb_link *l, const uint8_t *p, const uint8_t *end)
{
	unsigned last = 0, field, wire;
	bool has_hash = false;
	int rc;

	memset(l, 0, sizeof(*l));
	while (p < end) {
		if ((rc = pb_key(&field, &wire, &p, end)) != PHR_OK)
			return rc;
		if (field <= last)
			return PHR_ERR_PARSE; /* out of order or repeated */
		last = field;
		if (field == 1 && wire == 2) {
			const uint8_t *h;
			size_t hl, used;
			if ((rc = pb_bytes(&h, &hl, &p, end)) != PHR_OK)
				return rc;
			if ((rc = phr_cid_decode(&l->cid, &used, h, hl)) != PHR_OK)
				return rc;
			if (used != hl)
				return PHR_ERR_PARSE;
			has_hash = true;
		} else if (field == 2 && wire == 2) {
			if (!has_hash)
				return PHR_ERR_PARSE;
			if ((rc = pb_bytes(&l->name, &l->name_len, &p, end)) != PHR_OK)
				return rc;
		} else if (field == 3 && wire == 0) {
			if (!has_hash)
				return PHR_ERR_PARSE;
			if ((rc = phr_pb_varint(&l->tsize, &p, end)) != PHR_OK)
				return rc;
			l->has_tsize = true;
		} else {
			return PHR_ERR_PARSE;
		}
	}
	return has_hash ? PHR_OK : PHR_ERR_PARSE;
}

int phr_dagpb_decode(struct phr_dagpb_node *node, const uint8_t *in, size_t in_len)
{
	const uint8_t *p = in, *end = in + in_len;
	struct phr_dagpb_node n;
	size_t cap = 0;
	unsigned field, wire;
	int rc;

	memset(&n, 0, sizeof(n));
	if (in_len > PHR_STORE_BLOCK_MAX)
		return PHR_ERR_TOO_LARGE;
	while (p < end) {
		const uint8_t *body;
		size_t blen;
		if ((rc = pb_key(&field, &wire, &p, end)) != PHR_OK)
			goto fail;
		rc = PHR_ERR_PARSE;
		if (wire != 2 || (field != 1 && field != 2))
			goto fail;
		if (n.data)
			goto fail; /* nothing may follow Data */
		if ((rc = pb_bytes(&body, &blen, &p, end)) != PHR_OK)
			goto fail;
		if (field == 1) {
			/* a zero-length Data is present, not absent */
			n.data = body;
			n.data_len = blen;
			continue;
		}
		if (n.nlinks == cap) {
			size_t ncap = cap ? cap * 2 : 8;
			struct phr_dagpb_link *nl;
			if (ncap > PHR_DAGPB_MAX_LINKS) {
				rc = PHR_ERR_TOO_LARGE;
				goto fail;
			}
			nl = phr_realloc(n.links, ncap * sizeof(*nl));
			if (!nl) {
				rc = PHR_ERR_NOMEM;
				goto fail;
			}
			n.links = nl;
			cap = ncap;
		}
		if ((rc = decode_link(&n.links[n.nlinks], body, body + blen)) != PHR_OK)
			goto fail;
		n.nlinks++;
	}
	if (n.data && n.data_len == 0 && n.data == end)
		n.data = end; /* keep a non-NULL pointer for an empty Data at the end */
	*node = n;
	return PHR_OK;
fail:
	phr_free(n.links);
	return rc;
}

void phr_dagpb_node_release(struct phr_dagpb_node *node)
{
	if (!node)
		return;
	phr_free(node->links);
	node->links = NULL;
	node->nlinks = 0;
}

static int put_varint(struct phr_buf *b, uint64_t v)
{
	uint8_t t[PHR_VARINT_MAX_BYTES];
	return phr_buf_append(b, t, phr_varint_encode(t, v));
}

static int put_bytes_field(struct phr_buf *b, uint8_t key, const uint8_t *d, size_t n)
{
	int rc = phr_buf_append_byte(b, key);
	if (rc == PHR_OK)
		rc = put_varint(b, n);
	if (rc == PHR_OK && n)
		rc = phr_buf_append(b, d, n);
	return rc;
}

int phr_dagpb_encode(struct phr_buf *out, const struct phr_dagpb_link *links, size_t nlinks,
		     const uint8_t *data, size_t data_len)
{
	int rc = PHR_OK;
	for (size_t i = 0; i < nlinks && rc == PHR_OK; i++) {
		uint8_t cid[PHR_CID_MAX_BYTES], t[PHR_VARINT_MAX_BYTES];
		size_t cl;
		const struct phr_dagpb_link *l = &links[i];
		if ((rc = phr_cid_encode(cid, sizeof(cid), &cl, &l->cid)) != PHR_OK)
			return rc;
		size_t body = 1 + phr_varint_len(cl) + cl + 1 + phr_varint_len(l->name_len) +
			      l->name_len + 1 + phr_varint_len(l->tsize);
		rc = phr_buf_append_byte(out, 0x12);
		if (rc == PHR_OK)
			rc = phr_buf_append(out, t, phr_varint_encode(t, body));
		if (rc == PHR_OK)
			rc = put_bytes_field(out, 0x0a, cid, cl);
		if (rc == PHR_OK)
			rc = put_bytes_field(out, 0x12, l->name, l->name ? l->name_len : 0);
		if (rc == PHR_OK)
			rc = phr_buf_append_byte(out, 0x18);
		if (rc == PHR_OK)
			rc = put_varint(out, l->tsize);
	}
	if (rc == PHR_OK && data)
		rc = put_bytes_field(out, 0x0a, data, data_len);
	return rc;
}

int phr_unixfs_encode_file(struct phr_buf *out, const uint8_t *data, size_t data_len,
			   uint64_t filesize, const uint64_t *blocksizes, size_t n)
{
	int rc = phr_buf_append(out, "\x08\x02", 2);
	if (rc == PHR_OK && data_len)
		rc = put_bytes_field(out, 0x12, data, data_len);
	if (rc == PHR_OK)
		rc = phr_buf_append_byte(out, 0x18);
	if (rc == PHR_OK)
		rc = put_varint(out, filesize);
	for (size_t i = 0; i < n && rc == PHR_OK; i++) {
		rc = phr_buf_append_byte(out, 0x20);
		if (rc == PHR_OK)
			rc = put_varint(out, blocksizes[i]);
	}
	return rc;
}

static int skip_varint(const uint8_t **p, const uint8_t *end)
{
	uint64_t v;
	return phr_pb_varint(&v, p, end);
}

int phr_unixfs_decode(struct phr_unixfs *u, const uint8_t *in, size_t in_len)
{
	const uint8_t *p = in, *end = in + in_len;
	struct phr_unixfs r;
	unsigned field, wire, seen = 0;
	uint64_t v;
	int rc;

	memset(&r, 0, sizeof(r));
	while (p < end) {
		if ((rc = pb_key(&field, &wire, &p, end)) != PHR_OK)
			return rc;
		if (field > 8)
			return PHR_ERR_PARSE;
		if (field != 4) {
			if (seen & (1u << field))
				return PHR_ERR_PARSE;
			seen |= 1u << field;
		}
		switch (field) {
		case 1:
			if (wire != 0 || (rc = phr_pb_varint(&v, &p, end)) != PHR_OK)
				return wire != 0 ? PHR_ERR_PARSE : rc;
			if (v > PHR_UNIXFS_HAMT)
				return PHR_ERR_PARSE;
			r.type = (enum phr_unixfs_type)v;
			break;
		case 2:
			if (wire != 2)
				return PHR_ERR_PARSE;
			if ((rc = pb_bytes(&r.data, &r.data_len, &p, end)) != PHR_OK)
				return rc;
			break;
		case 3:
			if (wire != 0 || (rc = phr_pb_varint(&r.filesize, &p, end)) != PHR_OK)
				return wire != 0 ? PHR_ERR_PARSE : rc;
			r.has_filesize = true;
			break;
		case 4:
			if (wire == 0) {
				const uint8_t *start = p;
				if (r.blocksizes_packed)
					return PHR_ERR_PARSE;
				if ((rc = skip_varint(&p, end)) != PHR_OK)
					return rc;
				if (!r.blocksizes)
					r.blocksizes = start - 1;
				r.nblocksizes++;
			} else if (wire == 2) {
				const uint8_t *b, *q;
				size_t bl;
				if (r.blocksizes)
					return PHR_ERR_PARSE;
				if ((rc = pb_bytes(&b, &bl, &p, end)) != PHR_OK)
					return rc;
				for (q = b; q < b + bl; r.nblocksizes++)
					if ((rc = skip_varint(&q, b + bl)) != PHR_OK)
						return rc;
				r.blocksizes = b;
				r.blocksizes_len = bl;
				r.blocksizes_packed = true;
			} else {
				return PHR_ERR_PARSE;
			}
			break;
		case 5:
		case 6:
		case 7:
			if (wire != 0)
				return PHR_ERR_PARSE;
			if ((rc = skip_varint(&p, end)) != PHR_OK)
				return rc;
			break;
		case 8: {
			const uint8_t *b;
			size_t bl;
			if (wire != 2)
				return PHR_ERR_PARSE;
			if ((rc = pb_bytes(&b, &bl, &p, end)) != PHR_OK)
				return rc;
			break;
		}
		default:
			return PHR_ERR_PARSE;
		}
	}
	if (!(seen & 2u))
		return PHR_ERR_PARSE;
	if (r.blocksizes && !r.blocksizes_packed)
		r.blocksizes_len = (size_t)(end - r.blocksizes);
	*u = r;
	return PHR_OK;
}

int phr_unixfs_blocksize(const struct phr_unixfs *u, size_t i, uint64_t *out)
{
	const uint8_t *p = u->blocksizes, *end = u->blocksizes + u->blocksizes_len;
	uint64_t v;
	size_t k = 0;
	unsigned field, wire;

	if (i >= u->nblocksizes)
		return PHR_ERR_RANGE;
	while (p < end) {
		if (!u->blocksizes_packed) {
			if (pb_key(&field, &wire, &p, end) != PHR_OK)
				return PHR_ERR_RANGE;
			if (field != 4) {
				/* another field between blocksizes: skip it */
				const uint8_t *b;
				size_t bl;
				int rc = wire == 0 ? skip_varint(&p, end) : pb_bytes(&b, &bl, &p, end);
				if (rc != PHR_OK)
					return PHR_ERR_RANGE;
				continue;
			}
		}
		if (phr_pb_varint(&v, &p, end) != PHR_OK)
			return PHR_ERR_RANGE;
		if (k++ == i) {
			*out = v;
			return PHR_OK;
		}
	}
	return PHR_ERR_RANGE;
}
