/*
 * The streaming UnixFS importer: kubo's `ipfs add` with 256 KiB fixed-size
 * chunks and the balanced layout of at most 174 links per node. Memory is one
 * chunk plus one pending row of links per tree level, whatever the file size.
 *
 * Each level collects links; a full level (174) becomes one dag-pb node at
 * once, its link goes one level up. At the end, from the bottom up: a level
 * that only ever held one link is the root, otherwise its pending links are
 * packed into a node. This is the same tree as go-ipfs's balanced builder
 * and ipfs-unixfs-importer's batch-and-reduce.
 */
#include <string.h>
#include <unistd.h>

#include "phr/core.h"
#include "phr/store.h"
#include "store_int.h"

#define MAX_LEVELS 12

struct level {
	struct phr_dagpb_link links[PHR_UNIXFS_MAX_LINKS];
	uint64_t filesizes[PHR_UNIXFS_MAX_LINKS];
	size_t n;
	uint64_t total; /* links ever added at this level */
};

struct phr_importer {
	struct phr_store *st;
	struct phr_store_batch *batch;
	struct phr_import_opts o;
	uint8_t *chunk; /* grown on demand up to PHR_UNIXFS_CHUNK: a small file stays small */
	size_t fill, chunk_cap;
	uint64_t size;
	bool leaf_emitted, finished, locked;
	struct level *levels[MAX_LEVELS];
	struct phr_buf node, ufs;
};

int phr_importer_new(struct phr_importer **out, struct phr_store *st,
		     const struct phr_import_opts *opts)
{
	struct phr_importer *imp;
	struct phr_import_opts o = { .cid_version = 1, .pin = true };

	if (opts)
		o = *opts;
	if (o.cid_version > 1 || (!st && !o.only_hash))
		return PHR_ERR_INVALID;
	if (!(imp = phr_calloc(1, sizeof(*imp))))
		return PHR_ERR_NOMEM;
	imp->st = o.only_hash ? NULL : st;
	imp->o = o;
	phr_buf_init(&imp->node, PHR_STORE_BLOCK_MAX);
	phr_buf_init(&imp->ufs, PHR_STORE_BLOCK_MAX);
	if (imp->st) {
		if (phr_store_batch_new(&imp->batch, imp->st) != PHR_OK) {
			phr_importer_free(imp);
			return PHR_ERR_NOMEM;
		}
		phr_store_writer_lock(imp->st);
		imp->locked = true;
	}
	*out = imp;
	return PHR_OK;
}

void phr_importer_free(struct phr_importer *imp)
{
	if (!imp)
		return;
	phr_store_batch_free(imp->batch); /* an unfinished import: drop its temp files */
	if (imp->locked)
		phr_store_writer_unlock(imp->st);
	for (size_t i = 0; i < MAX_LEVELS; i++)
		phr_free(imp->levels[i]);
	phr_free(imp->chunk);
	phr_buf_release(&imp->node);
	phr_buf_release(&imp->ufs);
	phr_free(imp);
}

static int put_block(struct phr_importer *imp, const struct phr_cid *cid, const uint8_t *d,
		     size_t n)
{
	return imp->batch ? phr_store_batch_put(imp->batch, cid, d, n) : PHR_OK;
}

static int add_link(struct phr_importer *imp, size_t lv, const struct phr_cid *cid, uint64_t tsize,
		    uint64_t filesize);

/* Packs the pending links of level @p lv into one node and links it one level up. */
static int flush_level(struct phr_importer *imp, size_t lv)
{
	struct level *L = imp->levels[lv];
	struct phr_cid cid;
	uint64_t fsize = 0, tsize;
	int rc;

	for (size_t i = 0; i < L->n; i++)
		fsize += L->filesizes[i];
	phr_buf_reset(&imp->ufs);
	phr_buf_reset(&imp->node);
	rc = phr_unixfs_encode_file(&imp->ufs, NULL, 0, fsize, L->filesizes, L->n);
	if (rc == PHR_OK)
		rc = phr_dagpb_encode(&imp->node, L->links, L->n, imp->ufs.data, imp->ufs.len);
	if (rc != PHR_OK)
		return rc;
	tsize = imp->node.len;
	for (size_t i = 0; i < L->n; i++)
		tsize += L->links[i].tsize;
	if ((rc = phr_cid_of_block(&cid, imp->o.cid_version, PHR_CODEC_DAG_PB, imp->node.data,
				   imp->node.len)) != PHR_OK)
		return rc;
	if ((rc = put_block(imp, &cid, imp->node.data, imp->node.len)) != PHR_OK)
		return rc;
	L->n = 0;
	return add_link(imp, lv + 1, &cid, tsize, fsize);
}

static int add_link(struct phr_importer *imp, size_t lv, const struct phr_cid *cid, uint64_t tsize,
		    uint64_t filesize)
{
	struct level *L;
	if (lv >= MAX_LEVELS)
		return PHR_ERR_TOO_LARGE;
	if (!imp->levels[lv] && !(imp->levels[lv] = phr_calloc(1, sizeof(struct level))))
		return PHR_ERR_NOMEM;
	L = imp->levels[lv];
	memset(&L->links[L->n], 0, sizeof(L->links[0]));
	L->links[L->n].cid = *cid;
	L->links[L->n].name = (const uint8_t *)"";
	L->links[L->n].has_tsize = true;
	L->links[L->n].tsize = tsize;
	L->filesizes[L->n] = filesize;
	L->n++;
	L->total++;
	return L->n == PHR_UNIXFS_MAX_LINKS ? flush_level(imp, lv) : PHR_OK;
}

/* Emits the chunk as a leaf: linked into the tree, or, for a file of one chunk
 * (@p single), that leaf is the root. */
static int emit_leaf(struct phr_importer *imp, struct phr_cid *single)
{
	struct phr_cid cid;
	const uint8_t *blk = imp->chunk ? imp->chunk : (const uint8_t *)""; /* empty file */
	size_t blen = imp->fill;
	int rc;

	if (imp->o.cid_version == 0) {
		phr_buf_reset(&imp->ufs);
		phr_buf_reset(&imp->node);
		rc = phr_unixfs_encode_file(&imp->ufs, blk, imp->fill, imp->fill, NULL, 0);
		if (rc == PHR_OK)
			rc = phr_dagpb_encode(&imp->node, NULL, 0, imp->ufs.data, imp->ufs.len);
		if (rc != PHR_OK)
			return rc;
		blk = imp->node.data;
		blen = imp->node.len;
		rc = phr_cid_of_block(&cid, 0, PHR_CODEC_DAG_PB, blk, blen);
	} else {
		rc = phr_cid_of_block(&cid, 1, PHR_CODEC_RAW, blk, blen);
	}
	if (rc == PHR_OK)
		rc = put_block(imp, &cid, blk, blen);
	if (rc == PHR_OK && single)
		*single = cid;
	else if (rc == PHR_OK)
		rc = add_link(imp, 0, &cid, blen, imp->fill);
	imp->fill = 0;
	imp->leaf_emitted = true;
	return rc;
}

int phr_importer_write(struct phr_importer *imp, const uint8_t *data, size_t len)
{
	int rc;
	if (imp->finished)
		return PHR_ERR_STATE;
	while (len > 0) {
		size_t take = PHR_UNIXFS_CHUNK - imp->fill;
		if (take > len)
			take = len;
		if (imp->fill + take > imp->chunk_cap) {
			size_t ncap = imp->chunk_cap ? imp->chunk_cap * 2 : 4096;
			while (ncap < imp->fill + take)
				ncap *= 2;
			if (ncap > PHR_UNIXFS_CHUNK)
				ncap = PHR_UNIXFS_CHUNK;
			uint8_t *nc = phr_realloc(imp->chunk, ncap);
			if (!nc) {
				imp->finished = true;
				return PHR_ERR_NOMEM;
			}
			imp->chunk = nc;
			imp->chunk_cap = ncap;
		}
		memcpy(imp->chunk + imp->fill, data, take);
		imp->fill += take;
		imp->size += take;
		data += take;
		len -= take;
		if (imp->fill == PHR_UNIXFS_CHUNK && (rc = emit_leaf(imp, NULL)) != PHR_OK) {
			imp->finished = true;
			return rc;
		}
	}
	return PHR_OK;
}

int phr_importer_finish(struct phr_importer *imp, struct phr_cid *root, uint64_t *size)
{
	int rc = PHR_OK;
	if (imp->finished)
		return PHR_ERR_STATE;
	imp->finished = true;
	if (!imp->leaf_emitted)
		rc = emit_leaf(imp, root); /* one chunk (or none): its leaf is the file */
	else if (imp->fill > 0)
		rc = emit_leaf(imp, NULL);
	for (size_t lv = 0; rc == PHR_OK && imp->levels[0]; lv++) {
		struct level *L = lv < MAX_LEVELS ? imp->levels[lv] : NULL;
		if (!L)
			return PHR_ERR_INTERNAL;
		if (L->total == 1) {
			*root = L->links[0].cid;
			break;
		}
		if (L->n > 0)
			rc = flush_level(imp, lv);
	}
	/* every block durable before the pin (its record follows theirs: one wait for all) */
	if (rc == PHR_OK && imp->batch)
		rc = phr_store_batch_commit_pin(imp->batch, imp->o.pin ? root : NULL);
	if (rc == PHR_OK && size)
		*size = imp->size;
	if (imp->locked) {
		phr_store_writer_unlock(imp->st);
		imp->locked = false;
	}
	return rc;
}

int phr_store_add_fd(struct phr_store *st, struct phr_cid *root, uint64_t *size, int fd,
		     const struct phr_import_opts *opts, void (*progress)(void *ctx, uint64_t done),
		     void *ctx)
{
	struct phr_importer *imp;
	uint8_t *buf;
	uint64_t done = 0;
	int rc = phr_importer_new(&imp, st, opts);

	if (rc != PHR_OK)
		return rc;
	if (!(buf = phr_malloc(PHR_UNIXFS_CHUNK))) {
		phr_importer_free(imp);
		return PHR_ERR_NOMEM;
	}
	for (;;) {
		long got = phr_store_read_full(fd, buf, PHR_UNIXFS_CHUNK);
		if (got < 0) {
			rc = PHR_ERR_IO;
			break;
		}
		if (got == 0)
			break;
		if ((rc = phr_importer_write(imp, buf, (size_t)got)) != PHR_OK)
			break;
		done += (uint64_t)got;
		if (progress)
			progress(ctx, done);
	}
	if (rc == PHR_OK)
		rc = phr_importer_finish(imp, root, size);
	phr_free(buf);
	phr_importer_free(imp);
	return rc;
}

int phr_store_add_bytes(struct phr_store *st, struct phr_cid *root, const uint8_t *data,
			size_t len, const struct phr_import_opts *opts)
{
	struct phr_importer *imp;
	int rc = phr_importer_new(&imp, st, opts);
	if (rc != PHR_OK)
		return rc;
	rc = phr_importer_write(imp, data, len);
	if (rc == PHR_OK)
		rc = phr_importer_finish(imp, root, NULL);
	phr_importer_free(imp);
	return rc;
}
