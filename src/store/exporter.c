/*
 * The streaming UnixFS exporter: a depth-first walk that writes a file's bytes
 * in order, block by verified block, checking the sizes UnixFS records.
 */
#include <string.h>

#include "phr/core.h"
#include "phr/store.h"
#include "store_int.h"

#define EXPORT_MAX_DEPTH 64

struct exporter {
	struct phr_store *st;
	int (*fn)(void *ctx, const uint8_t *data, size_t len);
	void *ctx;
};

static int export_rec(struct exporter *e, const struct phr_cid *cid, unsigned depth,
		      uint64_t *written)
{
	struct phr_buf b;
	struct phr_dagpb_node node = { 0 };
	struct phr_unixfs u;
	uint64_t total = 0;
	int rc;

	if (depth > EXPORT_MAX_DEPTH)
		return PHR_ERR_RANGE;
	phr_buf_init(&b, PHR_STORE_BLOCK_MAX + 1);
	if ((rc = phr_store_get(e->st, &b, cid)) != PHR_OK)
		goto out;
	if (cid->codec == PHR_CODEC_RAW) {
		if (b.len)
			rc = e->fn(e->ctx, b.data, b.len);
		total = b.len;
		goto out;
	}
	if ((rc = phr_dagpb_decode(&node, b.data, b.len)) != PHR_OK)
		goto out;
	if (!node.data) {
		rc = PHR_ERR_PARSE;
		goto out;
	}
	if ((rc = phr_unixfs_decode(&u, node.data, node.data_len)) != PHR_OK)
		goto out;
	if (u.type != PHR_UNIXFS_FILE && u.type != PHR_UNIXFS_RAW) {
		rc = PHR_ERR_UNSUPPORTED;
		goto out;
	}
	if (u.nblocksizes != node.nlinks && u.nblocksizes != 0) {
		rc = PHR_ERR_PARSE;
		goto out;
	}
	if (u.data_len) {
		if ((rc = e->fn(e->ctx, u.data, u.data_len)) != PHR_OK)
			goto out;
		total += u.data_len;
	}
	for (size_t i = 0; i < node.nlinks; i++) {
		uint64_t child = 0, want;
		if ((rc = export_rec(e, &node.links[i].cid, depth + 1, &child)) != PHR_OK)
			goto out;
		if (u.nblocksizes && (phr_unixfs_blocksize(&u, i, &want) != PHR_OK || want != child)) {
			rc = PHR_ERR_CORRUPT;
			goto out;
		}
		total += child;
	}
	if (u.has_filesize && u.filesize != total)
		rc = PHR_ERR_CORRUPT;
out:
	phr_dagpb_node_release(&node);
	phr_buf_release(&b);
	if (rc == PHR_OK)
		*written = total;
	return rc;
}

int phr_store_cat(struct phr_store *st, const struct phr_cid *root,
		  int (*fn)(void *ctx, const uint8_t *data, size_t len), void *ctx)
{
	struct exporter e = { .st = st, .fn = fn, .ctx = ctx };
	uint64_t n;
	return export_rec(&e, root, 0, &n);
}

static int to_fd(void *ctx, const uint8_t *data, size_t len)
{
	return phr_store_write_all(*(int *)ctx, data, len);
}

int phr_store_cat_fd(struct phr_store *st, const struct phr_cid *root, int fd)
{
	return phr_store_cat(st, root, to_fd, &fd);
}
