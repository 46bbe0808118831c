/*
 * Cold-storage backups: bundle (CARv1 + signed manifest) create, parse,
 * verify and restore; the scheduled verification job.
 */
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "phr/backup.h"
#include "phr/contracts.h"
#include "phr/crypto.h"
#include "phr/eip712.h"
#include "phr/json.h"
#include "phr/recovery.h"
#include "phr/store.h"
#include "recovery_int.h"

#define CODEC_RAW 0x55
#define CODEC_DAG_PB 0x70
#define MAX_DEPTH 64

/* ---------------------------------------------------------------- writing */

struct sink {
	FILE *fp;
	size_t blocks;
	uint64_t bytes;
};

static int sink_write(struct sink *s, const uint8_t *p, size_t n)
{
	return n == 0 || fwrite(p, 1, n, s->fp) == n ? PHR_OK : PHR_ERR_IO;
}

/* One CAR section: varint(|cid| + |data|) || cid || data. */
static int car_section(struct sink *s, const struct phr_cid *cid, const uint8_t *data, size_t len)
{
	uint8_t cb[PHR_CID_MAX_BYTES], vb[PHR_VARINT_MAX_BYTES];
	size_t cl = 0, vl;
	int rv;

	if ((rv = phr_cid_encode(cb, sizeof(cb), &cl, cid)) != PHR_OK)
		return rv;
	vl = phr_varint_encode(vb, (uint64_t)(cl + len));
	if ((rv = sink_write(s, vb, vl)) != PHR_OK || (rv = sink_write(s, cb, cl)) != PHR_OK ||
	    (rv = sink_write(s, data, len)) != PHR_OK)
		return rv;
	return PHR_OK;
}

/* CARv1 header: DAG-CBOR {"roots": [root], "version": 1}. */
static int car_header(struct sink *s, const struct phr_cid *root)
{
	uint8_t h[32 + PHR_CID_MAX_BYTES], vb[PHR_VARINT_MAX_BYTES], cb[PHR_CID_MAX_BYTES];
	size_t cl = 0, k = 0, vl;
	int rv;

	if ((rv = phr_cid_encode(cb, sizeof(cb), &cl, root)) != PHR_OK)
		return rv;
	h[k++] = 0xa2;
	h[k++] = 0x65;
	memcpy(h + k, "roots", 5);
	k += 5;
	h[k++] = 0x81;
	h[k++] = 0xd8; /* tag 42: CID */
	h[k++] = 0x2a;
	h[k++] = 0x58; /* bytes, one-byte length: 0x00 prefix + CID */
	h[k++] = (uint8_t)(cl + 1);
	h[k++] = 0x00;
	memcpy(h + k, cb, cl);
	k += cl;
	h[k++] = 0x67;
	memcpy(h + k, "version", 7);
	k += 7;
	h[k++] = 0x01;
	vl = phr_varint_encode(vb, k);
	if ((rv = sink_write(s, vb, vl)) != PHR_OK)
		return rv;
	return sink_write(s, h, k);
}

static int walk_write(void *ctx, const struct phr_cid *cid, const uint8_t *data, size_t len)
{
	struct sink *s = ctx;
	int rv = car_section(s, cid, data, len);

	if (rv == PHR_OK) {
		s->blocks++;
		s->bytes += len;
	}
	return rv;
}

/* {reader, cid} of every indexed capsule of @p id. Takes the lock. */
static int capsules_of(struct phr_node *n, json_t *arr, const struct phr_u256 *id)
{
	sqlite3_stmt *st = NULL;
	char rec[PHR_U256_DEC_LEN];
	int rv = PHR_OK, s;

	phr_u256_to_dec(rec, id);
	pthread_mutex_lock(&n->lock);
	if (sqlite3_prepare_v2(n->db, "SELECT reader, cid FROM capsules WHERE record = ?"
				      " ORDER BY reader", -1, &st, NULL) != SQLITE_OK) {
		pthread_mutex_unlock(&n->lock);
		return PHR_ERR_DB;
	}
	sqlite3_bind_text(st, 1, rec, -1, SQLITE_TRANSIENT);
	while (rv == PHR_OK && (s = sqlite3_step(st)) == SQLITE_ROW) {
		const char *cid = (const char *)sqlite3_column_text(st, 1);
		if (sqlite3_column_bytes(st, 0) != 20 || cid == NULL)
			continue;
		if (json_array_append_new(arr, json_pack("{s:o,s:s}", "reader",
							 phr_node_i_jaddr(sqlite3_column_blob(st, 0)),
							 "cid", cid)) != 0)
			rv = PHR_ERR_NOMEM;
	}
	sqlite3_finalize(st);
	pthread_mutex_unlock(&n->lock);
	return rv;
}

/* The signed envelope {"manifest", "signature"} as bytes. */
static int envelope(struct phr_buf *out, json_t *manifest, const uint8_t sk[32])
{
	struct phr_buf msg;
	uint8_t sig[PHR_ETH_SIG_BYTES];
	json_t *env;
	int rv;

	phr_buf_init(&msg, PHR_BACKUP_ENVELOPE_MAX);
	rv = phr_json_dump(&msg, manifest, JSON_COMPACT | JSON_SORT_KEYS);
	if (rv == PHR_OK)
		rv = phr_eip191_sign(sig, msg.data, msg.len, sk);
	phr_buf_release(&msg);
	if (rv != PHR_OK)
		return rv;
	env = json_pack("{s:O}", "manifest", manifest);
	if (env == NULL || phr_json_set_hex(env, "signature", sig, sizeof(sig)) != PHR_OK)
		rv = PHR_ERR_NOMEM;
	if (rv == PHR_OK)
		rv = phr_json_dump(out, env, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(env);
	return rv;
}

int phr_node_backup_create(struct phr_node *n, struct phr_backup_report *rep,
			   const struct phr_identity *signer, const uint8_t patient[20], int fd)
{
	struct phr_backup_report r;
	struct sink s = { NULL, 0, 0 };
	int fd2 = dup(fd);
	struct phr_u256 *ids = NULL;
	struct phr_buf env, cd, out;
	struct phr_cid root;
	uint8_t owner[20];
	size_t count = 0;
	json_t *man = NULL, *recs;
	int rv;

	memset(&r, 0, sizeof(r));
	r.created_at = (uint64_t)time(NULL);
	phr_buf_init(&env, PHR_BACKUP_ENVELOPE_MAX);
	phr_buf_init(&cd, 0);
	phr_buf_init(&out, 0);
	/* only the patient's owner signs its backups */
	pthread_mutex_lock(&n->lock);
	rv = phr_contracts_patient_registry_owner_of_patient_encode(&cd, patient);
	if (rv == PHR_OK)
		rv = phr_node_i_call(n, &out, NULL, n->dep.registry, &cd);
	if (rv == PHR_OK)
		rv = phr_contracts_patient_registry_owner_of_patient_decode(owner, out.data, out.len);
	pthread_mutex_unlock(&n->lock);
	if (rv == PHR_OK && memcmp(owner, signer->address, 20) != 0)
		rv = PHR_ERR_FORBIDDEN;
	if (rv == PHR_OK && (fd2 < 0 || (s.fp = fdopen(fd2, "wb")) == NULL))
		rv = PHR_ERR_IO;
	if (rv != PHR_OK || (rv = phr_recovery_i_live_records(n, &ids, &count, patient)) != PHR_OK)
		goto out;
	recs = json_array();
	man = json_pack("{s:s,s:o,s:o,s:I,s:o,s:o,s:I,s:o}", "format", PHR_BACKUP_FORMAT, "patient",
			phr_node_i_jaddr(patient), "signer", phr_node_i_jaddr(signer->address),
			"chainId", (json_int_t)n->dep.chain_id, "registry",
			phr_node_i_jaddr(n->dep.registry), "nft", phr_node_i_jaddr(n->dep.nft),
			"createdAt", (json_int_t)r.created_at, "records", recs);
	if (man == NULL) {
		rv = PHR_ERR_NOMEM;
		goto out;
	}
	for (size_t i = 0; rv == PHR_OK && i < count; i++) {
		struct phr_record_meta m;
		json_t *caps = json_array(), *o;
		if ((rv = phr_node_record_meta(n, &m, &ids[i])) != PHR_OK)
			break;
		o = json_pack("{s:o,s:I,s:o,s:s,s:o,s:o}", "id", phr_node_i_ju256(&ids[i]), "type",
			      (json_int_t)m.rtype, "provider", phr_node_i_jaddr(m.provider), "cid",
			      m.cid, "dataHash", phr_node_i_jhex(m.data_hash, 32), "capsules", caps);
		if (o == NULL || json_array_append_new(recs, o) != 0) {
			rv = PHR_ERR_NOMEM;
			break;
		}
		rv = capsules_of(n, caps, &ids[i]);
		r.capsules += json_array_size(caps);
	}
	r.records = count;
	if (rv != PHR_OK ||
	    (rv = envelope(&env, man, signer->seckey)) != PHR_OK ||
	    (rv = phr_cid_of_block(&root, 1, CODEC_RAW, env.data, env.len)) != PHR_OK ||
	    (rv = car_header(&s, &root)) != PHR_OK ||
	    (rv = car_section(&s, &root, env.data, env.len)) != PHR_OK)
		goto out;
	for (size_t i = 0; rv == PHR_OK && i < json_array_size(recs); i++) {
		json_t *o = json_array_get(recs, i), *c;
		struct phr_cid cid;
		size_t k;
		if ((rv = phr_cid_parse(&cid, json_string_value(json_object_get(o, "cid")))) != PHR_OK ||
		    (rv = phr_store_walk(n->store, &cid, walk_write, &s)) != PHR_OK)
			break;
		json_array_foreach(json_object_get(o, "capsules"), k, c) {
			struct phr_buf blk;
			bool seen = false;
			/* one capsule may serve two readers (the patient id and its owner after a
			 * recovery): each block goes into the CAR once */
			for (size_t j = 0; j < k && !seen; j++)
				seen = json_equal(json_object_get(json_array_get(json_object_get(o, "capsules"), j), "cid"),
						  json_object_get(c, "cid"));
			if (seen)
				continue;
			phr_buf_init(&blk, PHR_STORE_BLOCK_MAX);
			rv = phr_cid_parse(&cid, json_string_value(json_object_get(c, "cid")));
			if (rv == PHR_OK)
				rv = phr_store_get(n->store, &blk, &cid);
			if (rv == PHR_OK)
				rv = walk_write(&s, &cid, blk.data, blk.len);
			phr_buf_release(&blk);
			if (rv != PHR_OK)
				break;
		}
	}
	if (rv == PHR_OK && (fflush(s.fp) != 0 || (fsync(fd) != 0 && errno != EINVAL)))
		rv = PHR_ERR_IO;
	memcpy(r.patient, patient, 20);
	memcpy(r.signer, signer->address, 20);
	r.chain_id = n->dep.chain_id;
	r.blocks = s.blocks;
	r.bytes = s.bytes;
out:
	if (s.fp != NULL)
		fclose(s.fp); /* closes fd2 only */
	else if (fd2 >= 0)
		close(fd2);
	if (rep != NULL)
		*rep = r;
	json_decref(man);
	phr_free(ids);
	phr_buf_release(&env);
	phr_buf_release(&cd);
	phr_buf_release(&out);
	if (rv == PHR_OK)
		phr_log_info("backup", "bundle written: %zu records, %zu capsules, %zu blocks",
			     r.records, r.capsules, r.blocks);
	return rv;
}

/* ---------------------------------------------------------------- parsing */

struct blk {
	uint8_t cid[PHR_CID_MAX_BYTES];
	size_t cid_len;
	uint8_t *data;
	size_t len;
	bool used;
};

struct cap {
	uint8_t reader[20];
	struct phr_cid cid;
};

struct rec {
	struct phr_u256 id;
	unsigned type;
	uint8_t provider[20];
	struct phr_cid cid;
	char cid_text[PHR_CID_STR_MAX];
	uint8_t data_hash[32];
	struct cap *caps;
	size_t ncaps;
};

struct phr_backup {
	struct blk *blocks;
	size_t nblocks;
	struct phr_cid root;
	json_t *manifest;
	uint8_t sig[PHR_ETH_SIG_BYTES];
	uint8_t patient[20], signer[20], registry[20], nft[20];
	uint64_t chain_id, created_at;
	struct rec *recs;
	size_t nrecs, ncaps;
	uint64_t bytes; /* of the blocks but the envelope */
};

struct mem_in {
	const uint8_t *p;
	size_t len, pos;
};

static long mem_read(void *ctx, uint8_t *buf, size_t n)
{
	struct mem_in *m = ctx;
	size_t k = m->len - m->pos < n ? m->len - m->pos : n;

	memcpy(buf, m->p + m->pos, k);
	m->pos += k;
	return (long)k;
}

static int blk_cmp(const void *a, const void *b)
{
	const struct blk *x = a, *y = b;

	if (x->cid_len != y->cid_len)
		return x->cid_len < y->cid_len ? -1 : 1;
	return memcmp(x->cid, y->cid, x->cid_len);
}

static struct blk *blk_find(struct phr_backup *b, const struct phr_cid *cid)
{
	struct blk key;

	if (phr_cid_encode(key.cid, sizeof(key.cid), &key.cid_len, cid) != PHR_OK || b->nblocks == 0)
		return NULL;
	return bsearch(&key, b->blocks, b->nblocks, sizeof(*b->blocks), blk_cmp);
}

void phr_backup_free(struct phr_backup *b)
{
	if (b == NULL)
		return;
	for (size_t i = 0; i < b->nblocks; i++)
		phr_free(b->blocks[i].data);
	for (size_t i = 0; i < b->nrecs; i++)
		phr_free(b->recs[i].caps);
	phr_free(b->blocks);
	phr_free(b->recs);
	json_decref(b->manifest);
	phr_free(b);
}

static void problem(struct phr_backup_report *rep, const char *what)
{
	if (rep != NULL)
		snprintf(rep->problem, sizeof(rep->problem), "%s", what);
}

/* Reads every block of the CAR into b->blocks (sorted, no duplicates). */
static int read_blocks(struct phr_backup *b, struct phr_backup_report *rep, const uint8_t *data,
		       size_t len)
{
	struct mem_in in = { data, len, 0 };
	struct phr_car_reader *r = NULL;
	size_t cap = 0;
	int rv;

	if ((rv = phr_car_reader_new(&r, mem_read, &in)) != PHR_OK) {
		problem(rep, "not a CARv1 file");
		return rv;
	}
	if (phr_car_reader_nroots(r) != 1) {
		phr_car_reader_free(r);
		problem(rep, "a bundle has exactly one root");
		return PHR_ERR_PARSE;
	}
	b->root = *phr_car_reader_root(r, 0);
	for (;;) {
		struct phr_cid cid;
		const uint8_t *d;
		size_t n;
		struct blk *e;
		rv = phr_car_reader_next(r, &cid, &d, &n);
		if (rv == PHR_ERR_NOT_FOUND) {
			rv = PHR_OK;
			break;
		}
		if (rv != PHR_OK) {
			problem(rep, rv == PHR_ERR_CORRUPT ? "a block does not match its CID"
							   : "malformed CAR section");
			break;
		}
		if (b->nblocks == cap) {
			size_t nc = cap ? cap * 2 : 64;
			struct blk *nb = phr_calloc(nc, sizeof(*nb));
			if (nb == NULL) {
				rv = PHR_ERR_NOMEM;
				break;
			}
			if (b->nblocks > 0)
				memcpy(nb, b->blocks, b->nblocks * sizeof(*nb));
			phr_free(b->blocks);
			b->blocks = nb;
			cap = nc;
		}
		e = &b->blocks[b->nblocks];
		if ((rv = phr_cid_encode(e->cid, sizeof(e->cid), &e->cid_len, &cid)) != PHR_OK)
			break;
		e->data = phr_malloc(n ? n : 1);
		if (e->data == NULL) {
			rv = PHR_ERR_NOMEM;
			break;
		}
		if (n > 0)
			memcpy(e->data, d, n);
		e->len = n;
		b->nblocks++;
		b->bytes += n;
	}
	phr_car_reader_free(r);
	if (rv != PHR_OK)
		return rv;
	if (b->nblocks > 1)
		qsort(b->blocks, b->nblocks, sizeof(*b->blocks), blk_cmp);
	for (size_t i = 1; i < b->nblocks; i++)
		if (blk_cmp(&b->blocks[i - 1], &b->blocks[i]) == 0) {
			problem(rep, "duplicate block");
			return PHR_ERR_CORRUPT;
		}
	return PHR_OK;
}


static int get_cid(struct phr_cid *cid, char *text, const json_t *o)
{
	const char *s;

	if (phr_json_get_str(&s, o, "cid") != PHR_OK || strlen(s) >= PHR_CID_STR_MAX ||
	    phr_cid_parse(cid, s) != PHR_OK)
		return PHR_ERR_PARSE;
	if (text != NULL)
		memcpy(text, s, strlen(s) + 1);
	return PHR_OK;
}

static int parse_record(struct rec *r, const json_t *o)
{
	const json_t *caps = json_object_get(o, "capsules");
	const char *id;
	uint64_t t = 0;
	size_t i;
	json_t *c;

	if (!json_is_object(o) || phr_json_get_str(&id, o, "id") != PHR_OK ||
	    phr_u256_parse(&r->id, id) != 0 || phr_json_get_u64(&t, o, "type") != PHR_OK ||
	    t > PHR_RECORD_TYPE_MAX || phr_recovery_i_get_addr(r->provider, o, "provider") != PHR_OK ||
	    get_cid(&r->cid, r->cid_text, o) != PHR_OK ||
	    phr_json_get_str(&id, o, "dataHash") != PHR_OK ||
	    phr_hex_decode_exact(r->data_hash, 32, id) != PHR_OK || !json_is_array(caps) ||
	    json_array_size(caps) > PHR_BACKUP_MAX_CAPSULES)
		return PHR_ERR_PARSE;
	r->type = (unsigned)t;
	r->caps = phr_calloc(json_array_size(caps) + 1, sizeof(*r->caps));
	if (r->caps == NULL)
		return PHR_ERR_NOMEM;
	json_array_foreach(caps, i, c) {
		if (!json_is_object(c) || phr_recovery_i_get_addr(r->caps[i].reader, c, "reader") != PHR_OK ||
		    get_cid(&r->caps[i].cid, NULL, c) != PHR_OK)
			return PHR_ERR_PARSE;
		r->ncaps++;
	}
	return PHR_OK;
}

static int parse_manifest(struct phr_backup *b, struct phr_backup_report *rep)
{
	struct blk *e = blk_find(b, &b->root);
	json_t *env = NULL, *man, *recs, *o;
	const char *fmt, *sig;
	size_t i;
	int rv = PHR_ERR_PARSE;

	if (e == NULL) {
		problem(rep, "the manifest block is missing");
		return PHR_ERR_NOT_FOUND;
	}
	e->used = true;
	b->bytes -= e->len;
	if (b->root.codec != CODEC_RAW || e->len > PHR_BACKUP_ENVELOPE_MAX ||
	    phr_json_parse(&env, NULL, 0, (const char *)e->data, e->len) != PHR_OK) {
		problem(rep, "the manifest is not JSON");
		return PHR_ERR_PARSE;
	}
	man = json_object_get(env, "manifest");
	recs = json_object_get(man, "records");
	if (!json_is_object(env) || json_object_size(env) != 2 || !json_is_object(man) ||
	    phr_json_get_str(&sig, env, "signature") != PHR_OK ||
	    phr_hex_decode_exact(b->sig, sizeof(b->sig), sig) != PHR_OK ||
	    phr_json_get_str(&fmt, man, "format") != PHR_OK) {
		problem(rep, "malformed envelope");
		goto out;
	}
	if (strcmp(fmt, PHR_BACKUP_FORMAT) != 0) {
		problem(rep, "unsupported bundle format");
		rv = PHR_ERR_UNSUPPORTED;
		goto out;
	}
	if (phr_recovery_i_get_addr(b->patient, man, "patient") != PHR_OK ||
	    phr_recovery_i_get_addr(b->signer, man, "signer") != PHR_OK ||
	    phr_recovery_i_get_addr(b->registry, man, "registry") != PHR_OK ||
	    phr_recovery_i_get_addr(b->nft, man, "nft") != PHR_OK ||
	    phr_json_get_u64(&b->chain_id, man, "chainId") != PHR_OK ||
	    phr_json_get_u64(&b->created_at, man, "createdAt") != PHR_OK || !json_is_array(recs) ||
	    json_array_size(recs) > PHR_BACKUP_MAX_RECORDS) {
		problem(rep, "malformed manifest");
		goto out;
	}
	b->recs = phr_calloc(json_array_size(recs) + 1, sizeof(*b->recs));
	if (b->recs == NULL) {
		rv = PHR_ERR_NOMEM;
		goto out;
	}
	json_array_foreach(recs, i, o) {
		rv = parse_record(&b->recs[i], o);
		b->nrecs++;
		if (rv != PHR_OK) {
			problem(rep, "malformed record in the manifest");
			goto out;
		}
		b->ncaps += b->recs[i].ncaps;
	}
	b->manifest = json_incref(man);
	rv = PHR_OK;
out:
	json_decref(env);
	return rv;
}

static void fill_report(const struct phr_backup *b, struct phr_backup_report *rep)
{
	if (rep == NULL)
		return;
	memcpy(rep->patient, b->patient, 20);
	memcpy(rep->signer, b->signer, 20);
	rep->chain_id = b->chain_id;
	rep->created_at = b->created_at;
	rep->records = b->nrecs;
	rep->capsules = b->ncaps;
	rep->blocks = b->nblocks > 0 ? b->nblocks - 1 : 0;
	rep->bytes = b->bytes;
}

int phr_backup_parse(struct phr_backup **out, struct phr_backup_report *rep, const uint8_t *data,
		     size_t len)
{
	struct phr_backup *b;
	int rv;

	if (rep != NULL)
		memset(rep, 0, sizeof(*rep));
	if ((uint64_t)len > PHR_BACKUP_MAX) {
		problem(rep, "bundle too large");
		return PHR_ERR_TOO_LARGE;
	}
	if ((b = phr_calloc(1, sizeof(*b))) == NULL)
		return PHR_ERR_NOMEM;
	rv = read_blocks(b, rep, data, len);
	if (rv == PHR_OK)
		rv = parse_manifest(b, rep);
	if (rv != PHR_OK) {
		phr_backup_free(b);
		return rv;
	}
	fill_report(b, rep);
	*out = b;
	return PHR_OK;
}

/* ---------------------------------------------------------------- verifying */

/* Marks the DAG under @p cid used; with @p cat, appends the UnixFS file bytes. */
static int dag_walk(struct phr_backup *b, const struct phr_cid *cid, struct phr_buf *cat,
		    unsigned depth)
{
	struct phr_dagpb_node node;
	struct phr_unixfs u;
	struct blk *e;
	int rv;

	if (depth > MAX_DEPTH)
		return PHR_ERR_RANGE;
	if ((e = blk_find(b, cid)) == NULL)
		return PHR_ERR_NOT_FOUND;
	if (e->used && cat == NULL) /* each block once, unless reassembling */
		return PHR_OK;
	e->used = true;
	if (cid->codec == CODEC_RAW)
		return cat != NULL ? phr_buf_append(cat, e->data, e->len) : PHR_OK;
	if (cid->codec != CODEC_DAG_PB)
		return PHR_ERR_UNSUPPORTED;
	if ((rv = phr_dagpb_decode(&node, e->data, e->len)) != PHR_OK)
		return rv;
	if (cat != NULL) {
		rv = node.data != NULL ? phr_unixfs_decode(&u, node.data, node.data_len) : PHR_ERR_PARSE;
		if (rv == PHR_OK && u.type != PHR_UNIXFS_FILE && u.type != PHR_UNIXFS_RAW)
			rv = PHR_ERR_UNSUPPORTED;
		if (rv == PHR_OK && u.data_len > 0)
			rv = phr_buf_append(cat, u.data, u.data_len);
	}
	for (size_t i = 0; rv == PHR_OK && i < node.nlinks; i++)
		rv = dag_walk(b, &node.links[i].cid, cat, depth + 1);
	phr_dagpb_node_release(&node);
	return rv;
}

/* Opens @p r's capsule for @p reader, decrypts its ciphertext and checks dataHash. */
static int open_record(struct phr_backup *b, const struct rec *r, const uint8_t reader[20],
		       const uint8_t pk[32], const uint8_t *sk)
{
	struct phr_buf ct, pt;
	uint8_t *key = NULL, h[32];
	struct blk *e = NULL;
	int rv;

	for (size_t i = 0; e == NULL && i < r->ncaps; i++)
		if (memcmp(r->caps[i].reader, reader, 20) == 0)
			e = blk_find(b, &r->caps[i].cid);
	if (e == NULL || e->len != PHR_CRYPTO_CAPSULE_BYTES)
		return PHR_ERR_NOT_FOUND;
	if ((key = phr_crypto_key_new()) == NULL)
		return PHR_ERR_NOMEM;
	phr_buf_init(&ct, PHR_RECORD_MAX + (PHR_RECORD_MAX >> 10) + 4096);
	phr_buf_init(&pt, PHR_RECORD_MAX + 64);
	rv = phr_crypto_key_unwrap(key, e->data, pk, sk);
	if (rv == PHR_OK)
		rv = dag_walk(b, &r->cid, &ct, 0);
	if (rv == PHR_OK)
		rv = phr_crypto_decrypt_buf(&pt, key, ct.data, ct.len);
	if (rv == PHR_OK) {
		phr_keccak256(h, pt.data, pt.len);
		if (pt.len < 32 || memcmp(h, r->data_hash, 32) != 0)
			rv = PHR_ERR_CORRUPT;
	}
	if (pt.data != NULL)
		sodium_memzero(pt.data, pt.len);
	phr_buf_release(&pt);
	phr_buf_release(&ct);
	phr_crypto_key_free(key);
	return rv;
}

int phr_backup_verify(struct phr_backup *b, struct phr_backup_report *rep, const uint8_t *reader,
		      const uint8_t *box_pk, const uint8_t *box_sk)
{
	struct phr_buf msg;
	uint8_t who[20];
	int rv;

	fill_report(b, rep);
	phr_buf_init(&msg, PHR_BACKUP_ENVELOPE_MAX);
	rv = phr_json_dump(&msg, b->manifest, JSON_COMPACT | JSON_SORT_KEYS);
	if (rv == PHR_OK && (phr_eip191_recover(who, msg.data, msg.len, b->sig) != PHR_OK ||
			     memcmp(who, b->signer, 20) != 0))
		rv = PHR_ERR_SIGNATURE;
	phr_buf_release(&msg);
	if (rv != PHR_OK) {
		problem(rep, "the manifest signature does not match its signer");
		return rv;
	}
	for (size_t i = 0; i < b->nrecs; i++) {
		const struct rec *r = &b->recs[i];
		if ((rv = dag_walk(b, &r->cid, NULL, 0)) != PHR_OK) {
			problem(rep, "a record's ciphertext is incomplete");
			return rv == PHR_ERR_NOT_FOUND ? rv : PHR_ERR_CORRUPT;
		}
		for (size_t k = 0; k < r->ncaps; k++) {
			struct blk *e = blk_find(b, &r->caps[k].cid);
			if (e == NULL || r->caps[k].cid.codec != CODEC_RAW ||
			    e->len != PHR_CRYPTO_CAPSULE_BYTES) {
				problem(rep, "a key capsule is missing or malformed");
				return e == NULL ? PHR_ERR_NOT_FOUND : PHR_ERR_CORRUPT;
			}
			e->used = true;
		}
	}
	for (size_t i = 0; i < b->nblocks; i++)
		if (!b->blocks[i].used) {
			problem(rep, "a block that no record needs");
			return PHR_ERR_CORRUPT;
		}
	if (box_sk == NULL || box_pk == NULL || reader == NULL)
		return PHR_OK;
	for (size_t i = 0; i < b->nrecs; i++) {
		rv = open_record(b, &b->recs[i], reader, box_pk, box_sk);
		if (rv != PHR_OK) {
			problem(rep, rv == PHR_ERR_NOT_FOUND ? "a record has no capsule for the reader"
				     : rv == PHR_ERR_CORRUPT ? "a record does not match its dataHash"
							     : "a record does not open with the key");
			return rv;
		}
		if (rep != NULL)
			rep->opened++;
	}
	return PHR_OK;
}

/* Maps a bundle file read-only. */
static int map_file(const char *path, uint8_t **data, size_t *len)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return errno == ENOENT ? PHR_ERR_NOT_FOUND : PHR_ERR_IO;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return PHR_ERR_IO;
	}
	if ((uint64_t)st.st_size > PHR_BACKUP_MAX) {
		close(fd);
		return PHR_ERR_TOO_LARGE;
	}
	*len = (size_t)st.st_size;
	*data = *len > 0 ? mmap(NULL, *len, PROT_READ, MAP_PRIVATE, fd, 0) : NULL;
	close(fd);
	if (*len > 0 && *data == MAP_FAILED)
		return PHR_ERR_IO;
	return PHR_OK;
}

static int load_verified(struct phr_backup **out, struct phr_backup_report *rep, const char *path,
			 const uint8_t *reader, const uint8_t *pk, const uint8_t *sk)
{
	struct phr_backup *b = NULL;
	uint8_t *data = NULL;
	size_t len = 0;
	int rv;

	if (rep != NULL)
		memset(rep, 0, sizeof(*rep));
	if ((rv = map_file(path, &data, &len)) != PHR_OK) {
		problem(rep, "cannot read the bundle");
		return rv;
	}
	rv = phr_backup_parse(&b, rep, data, len);
	if (len > 0)
		munmap(data, len);
	if (rv == PHR_OK)
		rv = phr_backup_verify(b, rep, reader, pk, sk);
	if (rv != PHR_OK || out == NULL)
		phr_backup_free(b);
	else
		*out = b;
	return rv;
}

int phr_backup_verify_file(struct phr_backup_report *rep, const char *path, const uint8_t *reader,
			   const uint8_t *box_pk, const uint8_t *box_sk)
{
	return load_verified(NULL, rep, path, reader, box_pk, box_sk);
}

/* ---------------------------------------------------------------- restoring */

static int pin_cid(struct phr_node *n, const struct phr_cid *cid)
{
	return phr_store_pin_has(n->store, cid) ? PHR_OK : phr_store_pin_add(n->store, cid);
}

int phr_node_backup_restore(struct phr_node *n, struct phr_backup_report *rep, const char *path)
{
	struct phr_backup *b = NULL;
	int rv;

	if ((rv = load_verified(&b, rep, path, NULL, NULL, NULL)) != PHR_OK)
		return rv;
	if (b->chain_id != n->dep.chain_id || memcmp(b->registry, n->dep.registry, 20) != 0 ||
	    memcmp(b->nft, n->dep.nft, 20) != 0) {
		problem(rep, "the bundle is for another deployment");
		rv = PHR_ERR_CONFLICT;
		goto out;
	}
	/* the capsule index is taken from the manifest: only the patient's own signature
	 * (its current owner, or the patient id, its first owner) is trusted for it */
	if (memcmp(b->signer, b->patient, 20) != 0) {
		struct phr_recovery_status st;
		pthread_mutex_lock(&n->lock);
		rv = phr_recovery_status_read(n->chain, &n->dep, &st, b->patient, NULL);
		pthread_mutex_unlock(&n->lock);
		if (rv == PHR_OK && memcmp(st.owner, b->signer, 20) != 0)
			rv = PHR_ERR_FORBIDDEN;
		if (rv != PHR_OK) {
			problem(rep, "the bundle is not signed by the patient or its current owner");
			goto out;
		}
	}
	for (size_t i = 0; rv == PHR_OK && i < b->nblocks; i++) {
		struct phr_cid cid;
		size_t used;
		rv = phr_cid_decode(&cid, &used, b->blocks[i].cid, b->blocks[i].cid_len);
		if (rv == PHR_OK && phr_cid_equal(&cid, &b->root))
			continue; /* the envelope stays in the bundle */
		if (rv == PHR_OK)
			rv = phr_store_put_verified(n->store, &cid, b->blocks[i].data, b->blocks[i].len);
	}
	for (size_t i = 0; rv == PHR_OK && i < b->nrecs; i++) {
		const struct rec *r = &b->recs[i];
		struct phr_record_meta m;
		rv = pin_cid(n, &r->cid);
		for (size_t k = 0; rv == PHR_OK && k < r->ncaps; k++)
			rv = pin_cid(n, &r->caps[k].cid);
		if (rv != PHR_OK)
			break;
		rv = phr_node_record_meta(n, &m, &r->id);
		if (rv == PHR_ERR_NOT_FOUND) { /* burnt since: nothing to index */
			rv = PHR_OK;
			if (rep != NULL)
				rep->skipped++;
			continue;
		}
		if (rv == PHR_OK && (strcmp(m.cid, r->cid_text) != 0 ||
				     memcmp(m.patient, b->patient, 20) != 0)) {
			problem(rep, "a record's CID or patient differs from the chain's");
			rv = PHR_ERR_CONFLICT;
		}
		pthread_mutex_lock(&n->lock);
		for (size_t k = 0; rv == PHR_OK && k < r->ncaps; k++) {
			char text[PHR_CID_STR_MAX];
			rv = phr_cid_format(text, sizeof(text), &r->caps[k].cid);
			if (rv == PHR_OK)
				rv = phr_node_i_capsule_put(n, &r->id, r->caps[k].reader, text);
		}
		pthread_mutex_unlock(&n->lock);
		if (rv == PHR_OK && rep != NULL)
			rep->restored++;
	}
	if (rv == PHR_OK)
		phr_log_info("backup", "bundle restored: %zu records re-indexed, %zu skipped",
			     rep ? rep->restored : 0, rep ? rep->skipped : 0);
out:
	phr_backup_free(b);
	return rv;
}

/* ---------------------------------------------------------------- the job */

#define MAX_JOBS 8

struct job {
	struct phr_node *node;
	pthread_t thread;
	bool running, stop;
	unsigned interval;
	struct phr_backup_job_status st;
};

static pthread_mutex_t jobs_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t jobs_cond = PTHREAD_COND_INITIALIZER;
static struct job jobs[MAX_JOBS];

/* The slot of @p n (created when @p make). Caller holds jobs_lock. */
static struct job *job_of(struct phr_node *n, bool make)
{
	struct job *free_slot = NULL;

	for (size_t i = 0; i < MAX_JOBS; i++) {
		if (jobs[i].node == n)
			return &jobs[i];
		if (jobs[i].node == NULL && free_slot == NULL)
			free_slot = &jobs[i];
	}
	if (make && free_slot != NULL) {
		memset(free_slot, 0, sizeof(*free_slot));
		free_slot->node = n;
	}
	return make ? free_slot : NULL;
}

static void latest_path(const struct phr_node *n, char *p, size_t cap)
{
	snprintf(p, cap, "%s/backups/latest", n->datadir);
}

int phr_node_backup_set_latest(struct phr_node *n, const char *path)
{
	char p[1024], dir[1024];
	size_t len = strlen(path);

	if (len == 0 || len >= sizeof(((struct phr_backup_job_status *)0)->backup_path))
		return PHR_ERR_INVALID;
	snprintf(dir, sizeof(dir), "%s/backups", n->datadir);
	if (phr_mkdir_p(dir, 0700) != PHR_OK)
		return PHR_ERR_IO;
	latest_path(n, p, sizeof(p));
	return phr_file_write_atomic(p, path, len, 0600);
}

int phr_node_backup_check(struct phr_node *n, struct phr_backup_job_status *out)
{
	struct phr_backup_job_status st;
	struct phr_store_verify_report vr;
	struct phr_backup_report br;
	struct phr_buf lp;
	char p[1024];
	struct job *j;
	int rv;

	memset(&st, 0, sizeof(st));
	memset(&vr, 0, sizeof(vr));
	rv = phr_store_verify(n->store, &vr, NULL, NULL);
	st.blocks_checked = vr.blocks_ok + vr.blocks_corrupt;
	st.failures = vr.blocks_corrupt + vr.pins_broken;
	if (rv != PHR_OK && rv != PHR_ERR_CORRUPT)
		snprintf(st.problem, sizeof(st.problem), "store check failed: %s", phr_strerror(rv));
	else if (st.failures > 0)
		snprintf(st.problem, sizeof(st.problem), "%llu corrupt blocks, %llu broken pins",
			 (unsigned long long)vr.blocks_corrupt, (unsigned long long)vr.pins_broken);
	latest_path(n, p, sizeof(p));
	phr_buf_init(&lp, sizeof(st.backup_path) - 1);
	if (phr_file_read(&lp, p, sizeof(st.backup_path) - 1) == PHR_OK && lp.len > 0) {
		memcpy(st.backup_path, lp.data, lp.len);
		st.backup_path[strcspn(st.backup_path, "\r\n")] = '\0';
		st.backup_checked = true;
		st.backup_ok = phr_backup_verify_file(&br, st.backup_path, NULL, NULL, NULL) == PHR_OK;
		if (!st.backup_ok) {
			st.failures++;
			snprintf(st.problem, sizeof(st.problem), "latest bundle: %.140s", br.problem);
		}
	}
	phr_buf_release(&lp);
	st.last_run = (uint64_t)time(NULL);
	pthread_mutex_lock(&jobs_lock);
	if ((j = job_of(n, true)) != NULL) {
		st.runs = j->st.runs + 1;
		j->st = st;
	}
	pthread_mutex_unlock(&jobs_lock);
	if (st.failures > 0)
		phr_log_error("backup", "verification: %s", st.problem);
	if (out != NULL)
		*out = st;
	if (rv != PHR_OK && rv != PHR_ERR_CORRUPT)
		return rv;
	return st.failures > 0 ? PHR_ERR_CORRUPT : PHR_OK;
}

static void *job_main(void *arg)
{
	struct phr_node *n = arg;

	for (;;) {
		struct job *j;
		struct timespec ts;
		unsigned interval;
		if (phr_node_backup_check(n, NULL) != PHR_OK)
			phr_log_debug("backup", "verification pass found problems");
		pthread_mutex_lock(&jobs_lock);
		j = job_of(n, false);
		interval = j != NULL ? j->interval : 1;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += (time_t)interval;
		while (j != NULL && !j->stop &&
		       pthread_cond_timedwait(&jobs_cond, &jobs_lock, &ts) != ETIMEDOUT)
			;
		if (j == NULL || j->stop) {
			pthread_mutex_unlock(&jobs_lock);
			return NULL;
		}
		pthread_mutex_unlock(&jobs_lock);
	}
}

int phr_node_backup_job_start(struct phr_node *n, unsigned interval)
{
	struct job *j;
	int rv = PHR_OK;

	if (interval == 0)
		return PHR_ERR_INVALID;
	pthread_mutex_lock(&jobs_lock);
	j = job_of(n, true);
	if (j == NULL)
		rv = PHR_ERR_NOMEM;
	else if (j->running)
		rv = PHR_ERR_EXISTS;
	if (rv == PHR_OK) {
		j->interval = interval;
		j->stop = false;
		if (pthread_create(&j->thread, NULL, job_main, n) != 0)
			rv = PHR_ERR_INTERNAL;
		else
			j->running = true;
	}
	pthread_mutex_unlock(&jobs_lock);
	return rv;
}

void phr_node_backup_job_stop(struct phr_node *n)
{
	struct job *j;
	pthread_t t;

	pthread_mutex_lock(&jobs_lock);
	j = job_of(n, false);
	if (j == NULL) {
		pthread_mutex_unlock(&jobs_lock);
		return;
	}
	if (!j->running) {
		j->node = NULL;
		pthread_mutex_unlock(&jobs_lock);
		return;
	}
	j->stop = true;
	t = j->thread;
	pthread_cond_broadcast(&jobs_cond);
	pthread_mutex_unlock(&jobs_lock);
	pthread_join(t, NULL);
	pthread_mutex_lock(&jobs_lock);
	j->node = NULL;
	j->running = false;
	pthread_mutex_unlock(&jobs_lock);
}

void phr_node_backup_job_status(struct phr_node *n, struct phr_backup_job_status *st)
{
	struct job *j;

	memset(st, 0, sizeof(*st));
	pthread_mutex_lock(&jobs_lock);
	if ((j = job_of(n, false)) != NULL)
		*st = j->st;
	pthread_mutex_unlock(&jobs_lock);
}

int phr_node_backup_metrics(struct phr_node *n, struct phr_buf *out)
{
	struct phr_backup_job_status st;

	phr_node_backup_job_status(n, &st);
	return phr_buf_appendf(
		out,
		"# HELP phr_backup_verify_last_run_seconds Unix time of the last backup verification.\n"
		"# TYPE phr_backup_verify_last_run_seconds gauge\n"
		"phr_backup_verify_last_run_seconds %llu\n"
		"# HELP phr_backup_verify_blocks_checked Blocks checked against their CIDs in the last verification.\n"
		"# TYPE phr_backup_verify_blocks_checked gauge\n"
		"phr_backup_verify_blocks_checked %llu\n"
		"# HELP phr_backup_verify_failures Failures found by the last verification.\n"
		"# TYPE phr_backup_verify_failures gauge\n"
		"phr_backup_verify_failures %llu\n"
		"# HELP phr_backup_verify_bundle_ok 1 when the latest bundle verified, 0 otherwise.\n"
		"# TYPE phr_backup_verify_bundle_ok gauge\n"
		"phr_backup_verify_bundle_ok %d\n",
		(unsigned long long)st.last_run, (unsigned long long)st.blocks_checked,
		(unsigned long long)st.failures, st.backup_checked && st.backup_ok ? 1 : 0);
}
