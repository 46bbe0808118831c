/*
 * CARv1: a varint-prefixed DAG-CBOR header {roots: [CID...], version: 1} then
 * varint-prefixed (CID, block) sections. Written root first, depth-first;
 * read with every block checked against its CID.
 */
#include <string.h>
#include <unistd.h>

#include "phr/core.h"
#include "phr/store.h"
#include "store_int.h"

#define CAR_HEADER_MAX 65536
#define CAR_ROOTS_MAX 16
#define CAR_BUF 65536

/* ---- writing ---- */

struct car_writer {
	int (*fn)(void *ctx, const uint8_t *data, size_t len);
	void *ctx;
	enum phr_dag_scope scope;
	const struct phr_cid *root;
};

static int write_header(struct car_writer *w, const struct phr_cid *root)
{
	uint8_t h[128], cid[PHR_CID_MAX_BYTES], t[PHR_VARINT_MAX_BYTES];
	size_t cl, k = 0;
	int rc = phr_cid_encode(cid, sizeof(cid), &cl, root);

	if (rc != PHR_OK)
		return rc;
	h[k++] = 0xa2; /* map(2), keys in DAG-CBOR order: "roots" before "version" */
	h[k++] = 0x65;
	memcpy(h + k, "roots", 5);
	k += 5;
	h[k++] = 0x81;            /* array(1) */
	h[k++] = 0xd8;            /* tag(42) */
	h[k++] = 0x2a;
	h[k++] = 0x58;            /* bytes, 1-byte length */
	h[k++] = (uint8_t)(cl + 1);
	h[k++] = 0x00;            /* multibase identity prefix */
	memcpy(h + k, cid, cl);
	k += cl;
	h[k++] = 0x67;
	memcpy(h + k, "version", 7);
	k += 7;
	h[k++] = 0x01;
	rc = w->fn(w->ctx, t, phr_varint_encode(t, k));
	return rc == PHR_OK ? w->fn(w->ctx, h, k) : rc;
}

static int write_block(void *ctx, const struct phr_cid *cid, const uint8_t *data, size_t len)
{
	struct car_writer *w = ctx;
	uint8_t c[PHR_CID_MAX_BYTES], t[PHR_VARINT_MAX_BYTES];
	size_t cl;
	int rc;

	if (cid->mh_code == PHR_MH_IDENTITY)
		return PHR_OK; /* identity blocks travel inside their CID */
	if ((rc = phr_cid_encode(c, sizeof(c), &cl, cid)) != PHR_OK)
		return rc;
	rc = w->fn(w->ctx, t, phr_varint_encode(t, cl + len));
	if (rc == PHR_OK)
		rc = w->fn(w->ctx, c, cl);
	if (rc == PHR_OK && len)
		rc = w->fn(w->ctx, data, len);
	if (rc == PHR_OK && w->scope == PHR_DAG_SCOPE_BLOCK && phr_cid_equal(cid, w->root))
		rc = 1; /* stop after the root block */
	return rc;
}

int phr_car_export(struct phr_store *st, const struct phr_cid *root, enum phr_dag_scope scope,
		   int (*fn)(void *ctx, const uint8_t *data, size_t len), void *ctx)
{
	struct car_writer w = { .fn = fn, .ctx = ctx, .scope = scope, .root = root };
	int rc = write_header(&w, root);
	if (rc == PHR_OK)
		rc = phr_store_walk(st, root, write_block, &w);
	return rc == 1 ? PHR_OK : rc;
}

static int to_fd(void *ctx, const uint8_t *data, size_t len)
{
	return phr_store_write_all(*(int *)ctx, data, len);
}

int phr_car_export_fd(struct phr_store *st, const struct phr_cid *root, enum phr_dag_scope scope,
		      int fd)
{
	return phr_car_export(st, root, scope, to_fd, &fd);
}

/* ---- reading ---- */

struct phr_car_reader {
	long (*read)(void *ctx, uint8_t *buf, size_t n);
	void *ctx;
	uint8_t buf[CAR_BUF];
	size_t pos, end;
	bool eof;
	struct phr_buf block;
	struct phr_cid roots[CAR_ROOTS_MAX];
	size_t nroots;
};

/* Makes at least @p n bytes available unless the input ends first. */
static int rd_fill(struct phr_car_reader *r, size_t n)
{
	if (r->end - r->pos >= n)
		return PHR_OK;
	memmove(r->buf, r->buf + r->pos, r->end - r->pos);
	r->end -= r->pos;
	r->pos = 0;
	while (r->end < n && !r->eof) {
		long got = r->read(r->ctx, r->buf + r->end, sizeof(r->buf) - r->end);
		if (got < 0)
			return PHR_ERR_IO;
		if (got == 0)
			r->eof = true;
		r->end += (size_t)got;
	}
	return PHR_OK;
}

/* Reads a varint; *clean_end is set when the input ended right before it. */
static int rd_varint(struct phr_car_reader *r, uint64_t *v, bool *clean_end)
{
	size_t used;
	int rc = rd_fill(r, PHR_VARINT_MAX_BYTES);
	if (rc != PHR_OK)
		return rc;
	if (clean_end)
		*clean_end = r->pos == r->end;
	if (r->pos == r->end)
		return PHR_ERR_TRUNCATED;
	rc = phr_varint_decode(v, &used, r->buf + r->pos, r->end - r->pos);
	if (rc != PHR_OK)
		return rc;
	r->pos += used;
	return PHR_OK;
}

/* Reads exactly @p n bytes into r->block. */
static int rd_bytes(struct phr_car_reader *r, size_t n)
{
	phr_buf_reset(&r->block);
	while (n > 0) {
		int rc = rd_fill(r, 1);
		if (rc != PHR_OK)
			return rc;
		size_t take = r->end - r->pos;
		if (take == 0)
			return PHR_ERR_TRUNCATED;
		if (take > n)
			take = n;
		if ((rc = phr_buf_append(&r->block, r->buf + r->pos, take)) != PHR_OK)
			return rc;
		r->pos += take;
		n -= take;
	}
	return PHR_OK;
}

/* CBOR: reads one head (major type and argument). */
static int cbor_head(const uint8_t **p, const uint8_t *end, unsigned *major, uint64_t *arg)
{
	unsigned ai, nb;
	if (*p >= end)
		return PHR_ERR_TRUNCATED;
	*major = **p >> 5;
	ai = **p & 31;
	(*p)++;
	if (ai < 24) {
		*arg = ai;
		return PHR_OK;
	}
	if (ai > 27)
		return PHR_ERR_PARSE; /* indefinite lengths are not DAG-CBOR */
	nb = 1u << (ai - 24);
	if ((size_t)(end - *p) < nb)
		return PHR_ERR_TRUNCATED;
	*arg = 0;
	for (unsigned i = 0; i < nb; i++)
		*arg = (*arg << 8) | (*p)[i];
	*p += nb;
	return PHR_OK;
}

static int parse_header(struct phr_car_reader *r, const uint8_t *p, const uint8_t *end)
{
	unsigned major;
	uint64_t n, v;
	bool have_roots = false, have_version = false;
	int rc;

	if ((rc = cbor_head(&p, end, &major, &n)) != PHR_OK)
		return rc;
	if (major != 5 || n != 2)
		return PHR_ERR_PARSE;
	for (unsigned k = 0; k < 2; k++) {
		if ((rc = cbor_head(&p, end, &major, &n)) != PHR_OK)
			return rc;
		if (major != 3 || n > (uint64_t)(end - p))
			return major != 3 ? PHR_ERR_PARSE : PHR_ERR_TRUNCATED;
		if (n == 7 && !memcmp(p, "version", 7) && !have_version) {
			p += 7;
			if ((rc = cbor_head(&p, end, &major, &v)) != PHR_OK)
				return rc;
			if (major != 0)
				return PHR_ERR_PARSE;
			if (v != 1)
				return PHR_ERR_UNSUPPORTED;
			have_version = true;
		} else if (n == 5 && !memcmp(p, "roots", 5) && !have_roots) {
			uint64_t count;
			p += 5;
			if ((rc = cbor_head(&p, end, &major, &count)) != PHR_OK)
				return rc;
			if (major != 4 || count == 0 || count > CAR_ROOTS_MAX)
				return major != 4 ? PHR_ERR_PARSE : PHR_ERR_UNSUPPORTED;
			for (uint64_t i = 0; i < count; i++) {
				size_t used;
				if ((rc = cbor_head(&p, end, &major, &v)) != PHR_OK)
					return rc;
				if (major != 6 || v != 42)
					return PHR_ERR_PARSE;
				if ((rc = cbor_head(&p, end, &major, &v)) != PHR_OK)
					return rc;
				if (major != 2 || v < 2 || v > (uint64_t)(end - p))
					return major != 2 || v < 2 ? PHR_ERR_PARSE : PHR_ERR_TRUNCATED;
				if (p[0] != 0x00)
					return PHR_ERR_PARSE;
				rc = phr_cid_decode(&r->roots[i], &used, p + 1, (size_t)v - 1);
				if (rc != PHR_OK)
					return rc;
				if (used != v - 1)
					return PHR_ERR_PARSE;
				p += v;
			}
			r->nroots = (size_t)count;
			have_roots = true;
		} else {
			return PHR_ERR_PARSE;
		}
	}
	return p == end ? PHR_OK : PHR_ERR_PARSE;
}

int phr_car_reader_new(struct phr_car_reader **out, long (*read)(void *ctx, uint8_t *buf, size_t n),
		       void *ctx)
{
	struct phr_car_reader *r = phr_calloc(1, sizeof(*r));
	uint64_t hlen;
	int rc;

	if (!r)
		return PHR_ERR_NOMEM;
	r->read = read;
	r->ctx = ctx;
	phr_buf_init(&r->block, PHR_STORE_BLOCK_MAX + PHR_CID_MAX_BYTES);
	rc = rd_varint(r, &hlen, NULL);
	if (rc == PHR_OK && (hlen == 0 || hlen > CAR_HEADER_MAX))
		rc = PHR_ERR_PARSE;
	if (rc == PHR_OK)
		rc = rd_bytes(r, (size_t)hlen);
	if (rc == PHR_OK)
		rc = parse_header(r, r->block.data, r->block.data + r->block.len);
	if (rc != PHR_OK) {
		phr_car_reader_free(r);
		return rc;
	}
	*out = r;
	return PHR_OK;
}

size_t phr_car_reader_nroots(const struct phr_car_reader *r)
{
	return r->nroots;
}

const struct phr_cid *phr_car_reader_root(const struct phr_car_reader *r, size_t i)
{
	return i < r->nroots ? &r->roots[i] : NULL;
}

int phr_car_reader_next(struct phr_car_reader *r, struct phr_cid *cid, const uint8_t **data,
			size_t *len)
{
	uint64_t n;
	size_t used;
	bool clean = false;
	int rc = rd_varint(r, &n, &clean);

	if (rc == PHR_ERR_TRUNCATED && clean)
		return PHR_ERR_NOT_FOUND;
	if (rc != PHR_OK)
		return rc;
	if (n == 0)
		return PHR_ERR_PARSE;
	if (n > PHR_STORE_BLOCK_MAX + PHR_CID_MAX_BYTES)
		return PHR_ERR_TOO_LARGE;
	if ((rc = rd_bytes(r, (size_t)n)) != PHR_OK)
		return rc;
	if ((rc = phr_cid_decode(cid, &used, r->block.data, r->block.len)) != PHR_OK)
		return rc;
	if (r->block.len - used > PHR_STORE_BLOCK_MAX)
		return PHR_ERR_TOO_LARGE;
	*data = r->block.data + used;
	*len = r->block.len - used;
	return phr_cid_verify(cid, *data, *len);
}

void phr_car_reader_free(struct phr_car_reader *r)
{
	if (!r)
		return;
	phr_buf_release(&r->block);
	phr_free(r);
}

static long read_fd(void *ctx, uint8_t *buf, size_t n)
{
	return phr_store_read_full(*(int *)ctx, buf, n);
}

int phr_car_import_fd(struct phr_store *st, struct phr_cid *root_out, uint64_t *nblocks, int fd)
{
	struct phr_car_reader *r;
	struct phr_store_batch *batch;
	struct phr_cid cid;
	const uint8_t *data;
	size_t len;
	uint64_t count = 0;
	int rc;

	if ((rc = phr_store_batch_new(&batch, st)) != PHR_OK)
		return rc;
	phr_store_writer_lock(st);
	rc = phr_car_reader_new(&r, read_fd, &fd);
	if (rc != PHR_OK) {
		phr_store_writer_unlock(st);
		phr_store_batch_free(batch);
		return rc;
	}
	while ((rc = phr_car_reader_next(r, &cid, &data, &len)) == PHR_OK) {
		if ((rc = phr_store_batch_put(batch, &cid, data, len)) != PHR_OK)
			break;
		count++;
	}
	if (rc == PHR_ERR_NOT_FOUND)
		rc = phr_store_batch_commit(batch);
	phr_store_batch_free(batch);
	for (size_t i = 0; rc == PHR_OK && i < r->nroots; i++)
		rc = phr_store_pin_add(st, &r->roots[i]);
	if (rc == PHR_OK && root_out)
		*root_out = r->roots[0];
	if (nblocks)
		*nblocks = count;
	phr_car_reader_free(r);
	phr_store_writer_unlock(st);
	return rc;
}
