/*
 * Concurrent reads and submits on one node (embedded chain): 8 threads read
 * records as the same provider (half of them 3 records at a time,
 * phr_node_records_read) while 2 threads submit; every read returns the
 * exact plaintext, every read is in the patient's audit trail (the trail
 * still folds to the on-chain head), and the View entries of concurrent reads
 * share transactions (AuditTrail.logViews: fewer blocks than reads). A
 * refused read running next to an allowed one fails alone, and a refused
 * entry in a group of Views makes only its own read fail. Concurrent
 * submissions by one provider share mint transactions
 * (HealthRecordNFT.mintRecords: fewer blocks than records, every token its own
 * record), and a refused record in such a group fails alone.
 * A View sent on a gas guess without a dry run that the contract refuses is
 * mined and reverts; it is then checked and fails alone. A grant revoked
 * while reads are in flight: every answered read has its View on chain, and
 * every read begun after the revocation fails.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "node_test_util.h"
#include "phr/chain.h"
#include "phr/crypto.h"
#include "phr/phr.h"
#include "phr/records_batch.h"
#include "../../src/phr/phr_int.h" /* white box: the node's txq */

#define READERS 8
#define READS 12
#define WRITERS 2
#define WRITES 3

struct fx {
	struct node_stack s;
	const struct phr_identity *prov, *pat, *emerg, *clinic;
	struct phr_u256 ids[3];
};

struct job {
	struct fx *f;
	int index, failures;
};

static const char *const texts[3] = { "first record text", "second record, longer text",
				      "third" };

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(node_stack_open(&f->s, "concurrent"), 0);
	assert_int_equal(phr_dev_setup(f->s.node, NULL, true), PHR_OK); /* provider has Write */
	f->prov = phr_node_identity_by_name(f->s.node, "provider");
	f->pat = phr_node_identity_by_name(f->s.node, "patient");
	f->emerg = phr_node_identity_by_name(f->s.node, "emergency");
	f->clinic = phr_node_identity_by_name(f->s.node, "clinic");
	for (int i = 0; i < 3; i++) {
		struct phr_record_receipt r;
		assert_int_equal(phr_node_record_submit(f->s.node, &r, f->prov, f->pat->address, 5,
							NULL, (const uint8_t *)texts[i],
							strlen(texts[i])),
				 PHR_OK);
		f->ids[i] = r.token_id;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	node_stack_close(&f->s);
	free(f);
	return 0;
}

/* READS reads of the 3 records, 3 at a time (phr_node_records_read): several entries of one
 * caller queued together among the single reads of the others. */
static void read_together(struct job *j)
{
	for (int i = 0; i < READS / 3; i++) {
		struct phr_record_read it[3];
		struct phr_buf b[3];
		for (int k = 0; k < 3; k++) {
			phr_buf_init(&b[k], PHR_RECORD_MAX);
			it[k] = (struct phr_record_read){ &j->f->ids[k], 1, &b[k], NULL, -1 };
		}
		if (phr_node_records_read(j->f->s.node, it, 3, j->f->prov) != PHR_OK)
			j->failures++;
		for (int k = 0; k < 3; k++) {
			if (it[k].result != PHR_OK || b[k].len != strlen(texts[k]) ||
			    memcmp(b[k].data, texts[k], b[k].len) != 0)
				j->failures++;
			phr_buf_release(&b[k]);
		}
	}
}

static void *reader(void *arg)
{
	struct job *j = arg;
	struct phr_buf out;

	if (j->index % 2 == 1) {
		read_together(j);
		return NULL;
	}
	phr_buf_init(&out, 0);
	for (int i = 0; i < READS; i++) {
		int k = (j->index + i) % 3;
		phr_buf_reset(&out);
		if (phr_node_record_read(j->f->s.node, &out, NULL, j->f->prov, &j->f->ids[k], 1) !=
			    PHR_OK ||
		    out.len != strlen(texts[k]) || memcmp(out.data, texts[k], out.len) != 0)
			j->failures++;
	}
	phr_buf_release(&out);
	return NULL;
}

static void *writer(void *arg)
{
	struct job *j = arg;
	char text[64];

	for (int i = 0; i < WRITES; i++) {
		struct phr_record_receipt r;
		snprintf(text, sizeof(text), "written by %d, %d", j->index, i);
		if (phr_node_record_submit(j->f->s.node, &r, j->f->prov, j->f->pat->address, 1, NULL,
					   (const uint8_t *)text, strlen(text)) != PHR_OK)
			j->failures++;
	}
	return NULL;
}

static size_t count_action(json_t *trail, const char *action, const char *accessor,
			   size_t *blocks)
{
	size_t i, n = 0, nb = 0;
	json_int_t last = -1;
	json_t *e;

	json_array_foreach(trail, i, e) {
		if (strcmp(json_string_value(json_object_get(e, "action")), action) != 0 ||
		    strcasecmp(json_string_value(json_object_get(e, "accessor")), accessor) != 0)
			continue;
		n++;
		if (json_integer_value(json_object_get(e, "block")) != last)
			nb++;
		last = json_integer_value(json_object_get(e, "block"));
	}
	*blocks = nb;
	return n;
}

static size_t count_views(json_t *trail, const char *accessor, size_t *blocks)
{
	return count_action(trail, "View", accessor, blocks);
}

static void concurrent_reads_are_batched(void **state)
{
	struct fx *f = *state;
	pthread_t th[READERS + WRITERS];
	struct job jobs[READERS + WRITERS];
	char prov[64];
	json_t *trail = NULL, *recs = NULL;
	size_t views, blocks;

	phr_eth_address_checksum(prov, f->prov->address);
	for (int i = 0; i < READERS + WRITERS; i++) {
		jobs[i] = (struct job){ f, i, 0 };
		assert_int_equal(pthread_create(&th[i], NULL, i < READERS ? reader : writer, &jobs[i]),
				 0);
	}
	for (int i = 0; i < READERS + WRITERS; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		assert_int_equal(jobs[i].failures, 0);
	}
	/* the whole trail folds to headOf/countOf (audit_list checks) */
	assert_int_equal(phr_node_audit_list(f->s.node, &trail, f->pat->address, NULL), PHR_OK);
	views = count_views(trail, prov, &blocks);
	assert_int_equal(views, READERS * READS);
	print_message("%zu View entries in %zu blocks\n", views, blocks);
	assert_true(blocks < views);
	json_decref(trail);
	assert_int_equal(phr_node_records_list(f->s.node, &recs, f->pat->address), PHR_OK);
	assert_int_equal(json_array_size(recs), 3 + 3 + WRITERS * WRITES);
	json_decref(recs);
}

static void *revoked_reader(void *arg)
{
	struct job *j = arg;
	struct phr_buf out;

	phr_buf_init(&out, 0);
	j->failures = phr_node_record_read(j->f->s.node, &out, NULL,
					   j->index ? j->f->emerg : j->f->prov, &j->f->ids[0], 1);
	phr_buf_release(&out);
	return NULL;
}

static void refused_entry_alone(void **state)
{
	struct fx *f = *state;
	uint8_t scope[32];
	struct job a = { f, 0, -1 }, b = { f, 1, -1 };
	pthread_t ta, tb;

	/* the emergency provider's demo grant is revoked: its reads fail, the provider's pass */
	phr_scope_all(scope);
	assert_int_equal(phr_node_access_revoke(f->s.node, f->pat, f->emerg->address, scope), PHR_OK);
	assert_int_equal(pthread_create(&ta, NULL, revoked_reader, &a), 0);
	assert_int_equal(pthread_create(&tb, NULL, revoked_reader, &b), 0);
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	assert_int_equal(a.failures, PHR_OK);
	assert_int_equal(b.failures, PHR_ERR_FORBIDDEN);
}

/* White box: the node's View group commit (src/phr/txq.h), called as a read does after its
 * access check, here also for an entry the contract refuses. */
int phr_node_i_log_view(struct phr_node *n, const struct phr_identity *reader,
			const uint8_t patient[20], const struct phr_u256 *record, unsigned purpose);

struct view_job {
	struct fx *f;
	const uint8_t *patient;
	struct phr_u256 record;
	int rv;
};

static void *view_job(void *arg)
{
	struct view_job *j = arg;

	j->rv = phr_node_i_log_view(j->f->s.node, j->f->prov, j->patient, &j->record, 1);
	return NULL;
}

static void refused_entry_in_a_group(void **state)
{
	struct fx *f = *state;
	struct view_job jobs[6];
	pthread_t th[6];
	json_t *trail = NULL;
	char prov[64];
	size_t before, after, blocks;

	phr_eth_address_checksum(prov, f->prov->address);
	assert_int_equal(phr_node_audit_list(f->s.node, &trail, f->pat->address, NULL), PHR_OK);
	before = count_views(trail, prov, &blocks);
	json_decref(trail);
	/* the first takes the lead; the others queue behind its transaction and go as one
	 * logViews, which the refused entry (the provider has no grant from the clinic, a
	 * patient of nobody) makes revert: each is then sent alone and only it fails */
	for (int i = 0; i < 6; i++) {
		jobs[i] = (struct view_job){ f, i == 3 ? f->clinic->address : f->pat->address,
					     f->ids[i % 3], -1 };
		assert_int_equal(pthread_create(&th[i], NULL, view_job, &jobs[i]), 0);
	}
	for (int i = 0; i < 6; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(jobs[i].rv, i == 3 ? PHR_ERR_FORBIDDEN : PHR_OK);
	}
	assert_int_equal(phr_node_audit_list(f->s.node, &trail, f->pat->address, NULL), PHR_OK);
	after = count_views(trail, prov, &blocks);
	json_decref(trail);
	assert_int_equal(after, before + 5);
}

#define SUBMITTERS 8
#define SUBMITS 3

struct submit_job {
	struct fx *f;
	int index, rv;
	struct phr_u256 sup;
	char text[SUBMITS][48];
	struct phr_u256 ids[SUBMITS];
};

static void *submit_job(void *arg)
{
	struct submit_job *j = arg;

	for (int i = 0; i < SUBMITS && j->rv == PHR_OK; i++) {
		struct phr_record_receipt r;
		snprintf(j->text[i], sizeof(j->text[i]), "grouped submission %d.%d", j->index, i);
		j->rv = phr_node_record_submit(j->f->s.node, &r, j->f->prov, j->f->pat->address, 5,
					       phr_u256_is_zero(&j->sup) ? NULL : &j->sup,
					       (const uint8_t *)j->text[i], strlen(j->text[i]));
		j->ids[i] = r.token_id;
	}
	return NULL;
}

static size_t creates(struct fx *f, size_t *blocks)
{
	json_t *trail = NULL;
	char prov[64];
	size_t n;

	phr_eth_address_checksum(prov, f->prov->address);
	assert_int_equal(phr_node_audit_list(f->s.node, &trail, f->pat->address, NULL), PHR_OK);
	n = count_action(trail, "Create", prov, blocks);
	json_decref(trail);
	return n;
}

static void concurrent_submits_are_grouped(void **state)
{
	struct fx *f = *state;
	struct submit_job *jobs = calloc(SUBMITTERS, sizeof(*jobs));
	pthread_t th[SUBMITTERS];
	struct phr_buf out;
	size_t before, after, b0, b1;

	assert_non_null(jobs);
	before = creates(f, &b0);
	for (int i = 0; i < SUBMITTERS; i++) {
		jobs[i].f = f;
		jobs[i].index = i;
		assert_int_equal(pthread_create(&th[i], NULL, submit_job, &jobs[i]), 0);
	}
	for (int i = 0; i < SUBMITTERS; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		assert_int_equal(jobs[i].rv, PHR_OK);
	}
	after = creates(f, &b1);
	assert_int_equal(after, before + SUBMITTERS * SUBMITS);
	print_message("%d submissions minted in %zu blocks\n", SUBMITTERS * SUBMITS, b1 - b0);
	assert_true(b1 - b0 < SUBMITTERS * SUBMITS);
	/* every token is its own record: distinct ids, each reads back its own text */
	phr_buf_init(&out, 0);
	for (int i = 0; i < SUBMITTERS; i++)
		for (int k = 0; k < SUBMITS; k++) {
			for (int i2 = 0; i2 < SUBMITTERS; i2++)
				for (int k2 = 0; k2 < SUBMITS; k2++)
					if (i2 != i || k2 != k)
						assert_false(phr_u256_eq(&jobs[i].ids[k], &jobs[i2].ids[k2]));
			phr_buf_reset(&out);
			assert_int_equal(phr_node_record_read(f->s.node, &out, NULL, f->prov,
							      &jobs[i].ids[k], 1),
					 PHR_OK);
			assert_int_equal(out.len, strlen(jobs[i].text[k]));
			assert_memory_equal(out.data, jobs[i].text[k], out.len);
		}
	phr_buf_release(&out);
	free(jobs);
}

/* Transactions of @p from mined and reverted in blocks @p lo..head. */
static size_t reverted_from(struct fx *f, const uint8_t from[20], uint64_t lo)
{
	struct phr_chain *c = phr_node_chain(f->s.node);
	uint64_t head = 0;
	size_t n = 0;

	assert_int_equal(phr_chain_block_number(c, &head), PHR_OK);
	for (uint64_t b = lo; b <= head; b++) {
		struct phr_rpc_error err = { 0 };
		char num[24];
		json_t *blk = NULL, *h;
		size_t i;
		snprintf(num, sizeof(num), "0x%llx", (unsigned long long)b);
		assert_int_equal(phr_chain_request(c, &blk, &err, "eth_getBlockByNumber", json_pack("[sb]", num, 0)),
				 PHR_OK);
		json_array_foreach (json_object_get(blk, "transactions"), i, h) {
			struct phr_chain_receipt r;
			uint8_t hash[32];
			assert_int_equal(phr_hex_decode_exact(hash, 32, json_string_value(h) + 2), PHR_OK);
			assert_int_equal(phr_chain_receipt(c, &r, hash), PHR_OK);
			if (!r.status && memcmp(r.from, from, 20) == 0)
				n++;
			phr_chain_receipt_release(&r);
		}
		json_decref(blk);
	}
	return n;
}

/* Six concurrent submissions, the fourth amending a token that does not exist. */
static void submit_six_one_bad(struct fx *f, int base)
{
	struct submit_job *jobs = calloc(6, sizeof(*jobs));
	pthread_t th[6];
	size_t before, after, blocks;

	assert_non_null(jobs);
	before = creates(f, &blocks);
	for (int i = 0; i < 6; i++) {
		jobs[i].f = f;
		jobs[i].index = base + i;
		if (i == 3)
			jobs[i].sup = phr_u256_from_u64(999999);
		assert_int_equal(pthread_create(&th[i], NULL, submit_job, &jobs[i]), 0);
	}
	for (int i = 0; i < 6; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		assert_int_equal(jobs[i].rv, i == 3 ? PHR_ERR_NOT_FOUND : PHR_OK);
	}
	after = creates(f, &blocks);
	assert_int_equal(after, before + 5 * SUBMITS);
	free(jobs);
}

static void refused_mint_in_a_group(void **state)
{
	struct fx *f = *state;
	uint64_t b0 = 0, b1 = 0;
	size_t r0, r1;

	/* one submission amends a token that does not exist: a group holding it reverts
	 * (NonexistentToken), each record is then sent alone and only that one fails */
	assert_int_equal(phr_chain_block_number(phr_node_chain(f->s.node), &b0), PHR_OK);
	submit_six_one_bad(f, 100);
	r0 = reverted_from(f, f->prov->address, b0 + 1);
	/* a group sent on the gas guess (no refusal before it) reverts once at most */
	assert_true(r0 <= 1);
	/* after a refused group, groups are sent checked: the same again reverts nothing */
	assert_int_equal(phr_chain_block_number(phr_node_chain(f->s.node), &b1), PHR_OK);
	submit_six_one_bad(f, 200);
	r1 = reverted_from(f, f->prov->address, b1 + 1);
	print_message("reverted mint transactions: %zu, then %zu\n", r0, r1);
	assert_int_equal(r1, 0);
}

/* View entries by @p accessor in the patient's trail (which folds to the on-chain head). */
static size_t views_by(struct fx *f, const uint8_t accessor[20])
{
	json_t *trail = NULL;
	char addr[64];
	size_t n, blocks;

	phr_eth_address_checksum(addr, accessor);
	assert_int_equal(phr_node_audit_list(f->s.node, &trail, f->pat->address, NULL), PHR_OK);
	n = count_views(trail, addr, &blocks);
	json_decref(trail);
	return n;
}

static void guessed_view_refused_after_mining(void **state)
{
	struct fx *f = *state;
	struct phr_buf out;
	uint64_t n0 = 0, n1 = 0;
	size_t before;

	/* a read teaches the node the gas of a View transaction */
	phr_buf_init(&out, 0);
	assert_int_equal(phr_node_record_read(f->s.node, &out, NULL, f->prov, &f->ids[0], 1), PHR_OK);
	assert_int_equal(out.len, strlen(texts[0]));
	assert_memory_equal(out.data, texts[0], out.len);
	phr_buf_release(&out);
	before = views_by(f, f->prov->address);
	assert_int_equal(phr_chain_nonce(f->s.chain, &n0, f->prov->address), PHR_OK);
	/* an entry the contract refuses (the clinic gave the provider no grant), sent on the
	 * guess: mined, reverted, then checked, which names the refusal */
	assert_int_equal(phr_node_i_log_view(f->s.node, f->prov, f->clinic->address, &f->ids[0], 1),
			 PHR_ERR_FORBIDDEN);
	assert_int_equal(phr_chain_nonce(f->s.chain, &n1, f->prov->address), PHR_OK);
	assert_int_equal(n1, n0 + 1); /* the reverted transaction, and nothing after it */
	assert_int_equal(views_by(f, f->prov->address), before);
	/* the next allowed View goes through */
	assert_int_equal(phr_node_i_log_view(f->s.node, f->prov, f->pat->address, &f->ids[1], 1),
			 PHR_OK);
	assert_int_equal(views_by(f, f->prov->address), before + 1);
}

#define RREADERS 6
#define READS_MAX 400

struct rjob {
	struct fx *f;
	int index;
	atomic_bool *revoked;
	atomic_size_t *done;
	size_t ok, refused, late_ok, other;
};

static void *revoke_reader(void *arg)
{
	struct rjob *j = arg;
	struct phr_buf out;

	phr_buf_init(&out, 0);
	for (int i = 0; i < READS_MAX; i++) {
		bool after = atomic_load(j->revoked);
		int k = (j->index + i) % 3, rv;
		phr_buf_reset(&out);
		rv = phr_node_record_read(j->f->s.node, &out, NULL, j->f->emerg, &j->f->ids[k], 1);
		if (rv == PHR_OK && (out.len != strlen(texts[k]) ||
				     memcmp(out.data, texts[k], out.len) != 0))
			j->other++;
		else if (rv == PHR_OK)
			j->ok++;
		else if (rv == PHR_ERR_FORBIDDEN)
			j->refused++;
		else
			j->other++;
		if (rv == PHR_OK && after)
			j->late_ok++;
		atomic_fetch_add(j->done, 1);
		if (after && j->refused >= 3)
			break;
	}
	phr_buf_release(&out);
	return NULL;
}

static void revoked_while_reading(void **state)
{
	struct fx *f = *state;
	pthread_t th[RREADERS];
	struct rjob jobs[RREADERS];
	atomic_bool revoked = false;
	atomic_size_t done = 0;
	uint8_t scope[32];
	size_t before, ok = 0, refused = 0;

	uint64_t now = 0;

	/* the emergency provider's grant (revoked by refused_entry_alone) again, then revoked
	 * once reads are going */
	phr_scope_all(scope);
	assert_int_equal(phr_node_chain_time(f->s.node, &now), PHR_OK);
	assert_int_equal(phr_node_access_grant(f->s.node, f->pat, f->emerg->address,
					       PHR_LEVEL_READ, scope, now + 86400),
			 PHR_OK);
	before = views_by(f, f->emerg->address);
	for (int i = 0; i < RREADERS; i++) {
		jobs[i] = (struct rjob){ .f = f, .index = i, .revoked = &revoked, .done = &done };
		assert_int_equal(pthread_create(&th[i], NULL, revoke_reader, &jobs[i]), 0);
	}
	while (atomic_load(&done) < 20) {
		struct timespec ts = { 0, 1000000 };
		nanosleep(&ts, NULL);
	}
	assert_int_equal(phr_node_access_revoke(f->s.node, f->pat, f->emerg->address, scope), PHR_OK);
	atomic_store(&revoked, true);
	for (int i = 0; i < RREADERS; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		assert_int_equal(jobs[i].other, 0);
		assert_int_equal(jobs[i].late_ok, 0); /* revocation stops reads at once */
		assert_true(jobs[i].refused >= 3);
		ok += jobs[i].ok;
		refused += jobs[i].refused;
	}
	print_message("%zu reads answered, %zu refused\n", ok, refused);
	/* every answered read has its View on chain, and no refused one has */
	assert_int_equal(views_by(f, f->emerg->address), before + ok);
}

/* White box: the node's table of what recordOf said of each token (src/phr/txq.h). */
struct phr_txq;
int phr_txq_i_open(struct phr_txq **q, const char *db_path);
void phr_txq_i_close(struct phr_txq *q);
bool phr_txq_i_meta_get(struct phr_txq *q, struct phr_record_meta *m, const struct phr_u256 *id);
void phr_txq_i_meta_put(struct phr_txq *q, const struct phr_record_meta *m);
void phr_txq_i_meta_drop(struct phr_txq *q, const struct phr_u256 *id);

static void meta_of(struct phr_record_meta *m, uint64_t t)
{
	memset(m, 0, sizeof(*m));
	m->token_id = phr_u256_from_u64(t);
	m->supersedes = phr_u256_from_u64(t - 1);
	memset(m->patient, (int)(t & 0xff), 20);
	memset(m->provider, (int)((t >> 8) & 0xff), 20);
	memset(m->data_hash, (int)((t * 7) & 0xff), 32);
	m->rtype = (unsigned)(t % 8);
	m->created_at = t * 10;
	snprintf(m->cid, sizeof(m->cid), "bafkreitoken%llu", (unsigned long long)t);
}

/* Tokens past the first table's 16,384 slots are kept too (it grows), each apart from the others. */
static void record_meta_table(void **state)
{
	const uint64_t n = 70000;
	char *dir = node_test_tmpdir("txq-meta"), path[512];
	struct phr_txq *q = NULL;
	struct phr_record_meta m, want;
	struct phr_u256 wide = phr_u256_from_u64(3);

	(void)state;
	snprintf(path, sizeof(path), "%s/phr.db", dir);
	{ /* the node makes DIR/phr.db before the queue opens it; an empty file is an empty database */
		FILE *f = fopen(path, "w");
		assert_non_null(f);
		fclose(f);
	}
	assert_int_equal(phr_txq_i_open(&q, path), PHR_OK);
	for (uint64_t t = 1; t <= n; t++) {
		meta_of(&m, t);
		phr_txq_i_meta_put(q, &m);
	}
	for (uint64_t t = 1; t <= n; t++) {
		struct phr_u256 id = phr_u256_from_u64(t);
		meta_of(&want, t);
		assert_true(phr_txq_i_meta_get(q, &m, &id));
		assert_true(phr_u256_eq(&m.token_id, &want.token_id));
		assert_true(phr_u256_eq(&m.supersedes, &want.supersedes));
		assert_memory_equal(m.patient, want.patient, 20);
		assert_memory_equal(m.provider, want.provider, 20);
		assert_memory_equal(m.data_hash, want.data_hash, 32);
		assert_int_equal(m.rtype, want.rtype);
		assert_int_equal(m.created_at, want.created_at);
		assert_string_equal(m.cid, want.cid);
	}
	{
		struct phr_u256 id = phr_u256_from_u64(n + 1);
		assert_false(phr_txq_i_meta_get(q, &m, &id)); /* never put */
		id = phr_u256_from_u64(5);
		phr_txq_i_meta_drop(q, &id);
		assert_false(phr_txq_i_meta_get(q, &m, &id));
		id = phr_u256_from_u64(6);
		assert_true(phr_txq_i_meta_get(q, &m, &id));
	}
	/* an id wider than 64 bits is not kept (nor one whose low word another token has) */
	wide.w[1] = 1;
	meta_of(&m, 3);
	m.token_id = wide;
	phr_txq_i_meta_put(q, &m);
	assert_false(phr_txq_i_meta_get(q, &m, &wide));
	{
		struct phr_u256 id = phr_u256_from_u64(3);
		assert_true(phr_txq_i_meta_get(q, &m, &id));
		assert_string_equal(m.cid, "bafkreitoken3");
	}
	/* nor a CID of 60 characters or more */
	meta_of(&m, n + 2);
	memset(m.cid, 'b', 60);
	m.cid[60] = '\0';
	phr_txq_i_meta_put(q, &m);
	assert_false(phr_txq_i_meta_get(q, &m, &m.token_id));
	phr_txq_i_close(q);
	node_test_rmrf(dir);
	free(dir);
}

/* Kept at the mint equals what recordOf says (the chain's answer, asked directly). */
static void same_meta(struct fx *f, const struct phr_u256 *id)
{
	struct phr_record_meta kept, chain;

	assert_true(phr_txq_i_meta_get(f->s.node->txq, &kept, id));
	assert_int_equal(phr_node_record_meta(f->s.node, &chain, id), PHR_OK);
	assert_true(phr_u256_eq(&kept.token_id, &chain.token_id));
	assert_memory_equal(kept.patient, chain.patient, 20);
	assert_memory_equal(kept.provider, chain.provider, 20);
	assert_int_equal(kept.rtype, chain.rtype);
	assert_int_equal(kept.created_at, chain.created_at);
	assert_true(kept.created_at > 0);
	assert_true(phr_u256_eq(&kept.supersedes, &chain.supersedes));
	assert_memory_equal(kept.data_hash, chain.data_hash, 32);
	assert_string_equal(kept.cid, chain.cid);
}

/* The node keeps what recordOf will say of the records it mints (one, a batch, an amendment). */
static void minted_meta_kept(void **state)
{
	struct fx *f = *state;
	struct phr_record_receipt one, rc[3];
	struct phr_record_item items[3];
	int res[3];
	static const char *const t[3] = { "batch one", "batch two", "batch three" };
	struct phr_u256 zero = PHR_U256_ZERO;

	assert_int_equal(phr_node_record_submit(f->s.node, &one, f->prov, f->pat->address, 3, &zero,
						(const uint8_t *)"kept at the mint", 16),
			 PHR_OK);
	same_meta(f, &one.token_id);
	memset(items, 0, sizeof(items));
	for (int i = 0; i < 3; i++) {
		memcpy(items[i].patient, f->pat->address, 20);
		items[i].rtype = (unsigned)(i + 1);
		items[i].data = (const uint8_t *)t[i];
		items[i].len = strlen(t[i]);
	}
	items[2].supersedes = one.token_id; /* an amendment */
	assert_int_equal(phr_node_records_submit_batch(f->s.node, rc, res, f->prov, items, 3), PHR_OK);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(res[i], PHR_OK);
		same_meta(f, &rc[i].token_id);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(concurrent_reads_are_batched),
		cmocka_unit_test(refused_entry_alone),
		cmocka_unit_test(refused_entry_in_a_group),
		cmocka_unit_test(concurrent_submits_are_grouped),
		cmocka_unit_test(refused_mint_in_a_group),
		cmocka_unit_test(guessed_view_refused_after_mining),
		cmocka_unit_test(revoked_while_reading),
		cmocka_unit_test(record_meta_table),
		cmocka_unit_test(minted_meta_kept),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
