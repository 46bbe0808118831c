/*
 * Backups end to end on an embedded chain: a provider submits records for a
 * patient (one of them spans several blocks); the patient's owner writes a
 * bundle; it verifies (every record opened with the patient's key and
 * checked against its hash); the verification job passes; the node's data
 * directory is destroyed; a new node restores the bundle and every record
 * reads back verified against the chain. Every one-byte flip of the bundle
 * (at spread positions) is rejected by verify; a corrupt store block fails
 * the job and shows in its metrics.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "node/node_test_util.h"
#include "phr/backup.h"
#include "phr/crypto.h"
#include "phr/eip712.h"
#include "phr/json.h"
#include "phr/phr.h"
#include "phr/store.h"

#define NREC 3
static const size_t rec_len[NREC] = { 700, 600 * 1024, 4096 };

struct fx {
	struct node_stack s;
	struct phr_store *store;
	struct phr_node *node;
	char dir[600], bundle[700];
	const struct phr_identity *gov, *auth, *prov, *pat;
	struct phr_record_receipt rec[NREC];
	uint8_t *body[NREC];
};

static const struct phr_identity *add_id(struct phr_node *n, const char *name, uint32_t index)
{
	uint8_t sk[32];
	struct phr_identity *id = NULL;

	assert_int_equal(phr_bip32_eth_key(sk, NODE_TEST_MNEMONIC, index), PHR_OK);
	assert_int_equal(phr_identity_new(&id, name, sk), PHR_OK);
	sodium_memzero(sk, sizeof(sk));
	assert_int_equal(phr_node_add_identity(n, id), PHR_OK);
	return id;
}

/* A node of its own over the stack's chain, data in @p sub. */
static void node_open(struct fx *f, const char *sub)
{
	char p[700];

	snprintf(f->dir, sizeof(f->dir), "%s/%s", f->s.dir, sub);
	snprintf(p, sizeof(p), "%s/store", f->dir);
	assert_int_equal(phr_store_open(&f->store, p), PHR_OK);
	assert_int_equal(phr_node_open(&f->node, f->s.chain, f->store, phr_node_deployment(f->s.node),
				       f->dir),
			 PHR_OK);
	f->gov = add_id(f->node, "operator", 0);
	f->auth = add_id(f->node, "authority", 1);
	f->prov = add_id(f->node, "provider", 2);
	f->pat = add_id(f->node, "patient", 3);
}

static void node_close(struct fx *f)
{
	phr_node_backup_job_stop(f->node);
	phr_node_close(f->node);
	phr_store_close(f->store);
	f->node = NULL;
	f->store = NULL;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	uint8_t scope[32];
	uint64_t now;

	assert_non_null(f);
	assert_int_equal(node_stack_open(&f->s, "backup"), 0);
	node_open(f, "a");
	assert_int_equal(phr_node_register(f->node, f->pat), PHR_OK);
	assert_int_equal(phr_node_register(f->node, f->prov), PHR_OK);
	assert_int_equal(phr_node_appoint_authority(f->node, f->gov, f->auth->address), PHR_OK);
	assert_int_equal(phr_node_chain_time(f->node, &now), PHR_OK);
	assert_int_equal(phr_node_verify_provider(f->node, f->auth, f->prov->address,
						  PHR_ROLE_PROVIDER, now + 365 * 86400), PHR_OK);
	phr_scope_all(scope);
	assert_int_equal(phr_node_access_grant(f->node, f->pat, f->prov->address, PHR_LEVEL_WRITE,
					       scope, now + 30 * 86400),
			 PHR_OK);
	for (int i = 0; i < NREC; i++) {
		f->body[i] = malloc(rec_len[i]);
		assert_non_null(f->body[i]);
		randombytes_buf(f->body[i], rec_len[i]);
		assert_int_equal(phr_node_record_submit(f->node, &f->rec[i], f->prov, f->pat->address,
							(unsigned)(1 + i), NULL, f->body[i],
							rec_len[i]),
				 PHR_OK);
	}
	snprintf(f->bundle, sizeof(f->bundle), "%s/bundle.car", f->s.dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	if (f->node != NULL)
		node_close(f);
	node_stack_close(&f->s);
	for (int i = 0; i < NREC; i++)
		free(f->body[i]);
	free(f);
	return 0;
}

static void read_all(struct fx *f, const struct phr_identity *who)
{
	for (int i = 0; i < NREC; i++) {
		struct phr_buf out;
		phr_buf_init(&out, 0);
		assert_int_equal(phr_node_record_read(f->node, &out, NULL, who, &f->rec[i].token_id, 1),
				 PHR_OK);
		assert_int_equal(out.len, rec_len[i]);
		assert_memory_equal(out.data, f->body[i], rec_len[i]);
		phr_buf_release(&out);
	}
}

static uint8_t *slurp(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	uint8_t *buf;
	long n;

	assert_non_null(fp);
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	fseek(fp, 0, SEEK_SET);
	buf = malloc((size_t)n);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
	fclose(fp);
	*len = (size_t)n;
	return buf;
}

/* Flips one byte of some block file in the store. */
static void corrupt_a_block(const char *store_dir)
{
	char p[1024];
	DIR *d, *d2;
	struct dirent *e, *e2;
	bool done = false;

	snprintf(p, sizeof(p), "%s/blocks", store_dir);
	d = opendir(p);
	assert_non_null(d);
	while (!done && (e = readdir(d)) != NULL) {
		char sub[1400];
		if (e->d_name[0] == '.')
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", p, e->d_name);
		if ((d2 = opendir(sub)) == NULL)
			continue;
		while (!done && (e2 = readdir(d2)) != NULL) {
			char file[1800];
			uint8_t c;
			int fd;
			if (e2->d_name[0] == '.')
				continue;
			snprintf(file, sizeof(file), "%s/%s", sub, e2->d_name);
			fd = open(file, O_RDWR);
			assert_true(fd >= 0);
			assert_int_equal(pread(fd, &c, 1, 0), 1);
			c ^= 0x01;
			assert_int_equal(pwrite(fd, &c, 1, 0), 1);
			close(fd);
			done = true;
		}
		closedir(d2);
	}
	closedir(d);
	assert_true(done);
}

static void test_backup_restore(void **state)
{
	struct fx *f = *state;
	struct phr_backup_report rep;
	struct phr_backup_job_status js;
	struct phr_buf m;
	int fd;

	/* only the patient's owner signs a backup */
	fd = open(f->bundle, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(phr_node_backup_create(f->node, &rep, f->prov, f->pat->address, fd),
			 PHR_ERR_FORBIDDEN);
	assert_int_equal(phr_node_backup_create(f->node, &rep, f->pat, f->pat->address, fd), PHR_OK);
	close(fd);
	assert_int_equal(rep.records, NREC);
	assert_int_equal(rep.capsules, 2 * NREC); /* patient and provider */
	assert_true(rep.blocks >= NREC + 2 * NREC + 3); /* the big record has leaves + a root */

	/* it verifies: structure, signature, and every record opened with the patient's key */
	assert_int_equal(phr_backup_verify_file(&rep, f->bundle, f->pat->address, f->pat->box_pk,
						f->pat->box_sk),
			 PHR_OK);
	assert_int_equal(rep.opened, NREC);
	assert_memory_equal(rep.signer, f->pat->address, 20);
	assert_memory_equal(rep.patient, f->pat->address, 20);
	/* the wrong key opens nothing */
	assert_int_equal(phr_backup_verify_file(&rep, f->bundle, f->pat->address, f->prov->box_pk,
						f->prov->box_sk),
			 PHR_ERR_TAMPERED);

	/* the verification job on the node: store sound, latest bundle verifies */
	assert_int_equal(phr_node_backup_set_latest(f->node, f->bundle), PHR_OK);
	assert_int_equal(phr_node_backup_check(f->node, &js), PHR_OK);
	assert_true(js.blocks_checked >= rep.blocks);
	assert_int_equal(js.failures, 0);
	assert_true(js.backup_checked && js.backup_ok);

	/* the data directory is lost */
	node_close(f);
	node_test_rmrf(f->dir);
	node_open(f, "b");
	{
		struct phr_buf out;
		phr_buf_init(&out, 0);
		assert_int_not_equal(phr_node_record_read(f->node, &out, NULL, f->pat,
							  &f->rec[0].token_id, 1),
				     PHR_OK);
		phr_buf_release(&out);
	}
	assert_int_equal(phr_node_backup_restore(f->node, &rep, f->bundle), PHR_OK);
	assert_int_equal(rep.restored, NREC);
	assert_int_equal(rep.skipped, 0);
	read_all(f, f->pat);
	read_all(f, f->prov);
	/* restoring twice is harmless */
	assert_int_equal(phr_node_backup_restore(f->node, &rep, f->bundle), PHR_OK);

	/* the job, scheduled, on the new node; then a corrupt block shows in the metrics */
	assert_int_equal(phr_node_backup_set_latest(f->node, f->bundle), PHR_OK);
	assert_int_equal(phr_node_backup_job_start(f->node, 3600), PHR_OK);
	assert_int_equal(phr_node_backup_job_start(f->node, 3600), PHR_ERR_EXISTS);
	for (int i = 0; i < 200; i++) {
		phr_node_backup_job_status(f->node, &js);
		if (js.runs > 0)
			break;
		usleep(20000);
	}
	assert_true(js.runs > 0);
	assert_int_equal(js.failures, 0);
	{
		char sd[700];
		snprintf(sd, sizeof(sd), "%s/store", f->dir);
		corrupt_a_block(sd);
	}
	assert_int_equal(phr_node_backup_check(f->node, &js), PHR_ERR_CORRUPT);
	assert_true(js.failures >= 1);
	phr_buf_init(&m, 0);
	assert_int_equal(phr_node_backup_metrics(f->node, &m), PHR_OK);
	assert_int_equal(phr_buf_append(&m, "", 1), PHR_OK);
	assert_non_null(strstr((const char *)m.data, "\nphr_backup_verify_failures "));
	assert_null(strstr((const char *)m.data, "\nphr_backup_verify_failures 0\n"));
	assert_non_null(strstr((const char *)m.data, "phr_backup_verify_bundle_ok 1\n"));
	phr_buf_release(&m);
}

/* Re-signs the bundle's manifest as @p who (signer field and signature), a
 * self-consistent bundle: verify accepts it, restore must not trust it. */
static uint8_t *forge(const uint8_t *data, size_t len, size_t *out_len, const struct phr_identity *who)
{
	uint64_t hl = 0, sl = 0;
	size_t u1 = 0, u2 = 0, cl = 36, k = 0;
	const uint8_t *sec, *env;
	json_t *j, *man;
	char addr[PHR_ETH_ADDRESS_STR_LEN], *mtext, *etext;
	uint8_t sig[65], *out, vb[10];
	char sighex[140];
	struct phr_cid oldc, newc;
	size_t envlen, vl;

	assert_int_equal(phr_varint_decode(&hl, &u1, data, len), PHR_OK);
	sec = data + u1 + hl;
	assert_int_equal(phr_varint_decode(&sl, &u2, sec, len - u1 - hl), PHR_OK);
	assert_int_equal(phr_cid_decode(&oldc, &cl, sec + u2, (size_t)sl), PHR_OK);
	env = sec + u2 + cl;
	envlen = (size_t)sl - cl;
	j = json_loadb((const char *)env, envlen, 0, NULL);
	assert_non_null(j);
	man = json_object_get(j, "manifest");
	phr_eth_address_checksum(addr, who->address);
	json_object_set_new(man, "signer", json_string(addr));
	mtext = json_dumps(man, JSON_COMPACT | JSON_SORT_KEYS);
	assert_int_equal(phr_eip191_sign(sig, mtext, strlen(mtext), who->seckey), PHR_OK);
	assert_int_equal(phr_hex_encode(sighex, sizeof(sighex), sig, 65, true), PHR_OK);
	json_object_set_new(j, "signature", json_string(sighex));
	etext = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	assert_int_equal(phr_cid_of_block(&newc, 1, 0x55, (const uint8_t *)etext, strlen(etext)), PHR_OK);
	out = malloc(len + 4096);
	assert_non_null(out);
	/* header: the same bytes with the root's digest replaced */
	memcpy(out, data, u1 + hl);
	{
		uint8_t *d = memmem(out, u1 + hl, oldc.digest, 32);
		assert_non_null(d);
		memcpy(d, newc.digest, 32);
	}
	k = u1 + hl;
	vl = phr_varint_encode(vb, cl + strlen(etext));
	memcpy(out + k, vb, vl);
	k += vl;
	memcpy(out + k, sec + u2, cl);
	memcpy(out + k + 4, newc.digest, 32); /* CIDv1 raw sha2-256: 4 prefix bytes */
	k += cl;
	memcpy(out + k, etext, strlen(etext));
	k += strlen(etext);
	memcpy(out + k, env + envlen, len - (size_t)(env + envlen - data));
	k += len - (size_t)(env + envlen - data);
	*out_len = k;
	free(mtext);
	free(etext);
	json_decref(j);
	return out;
}

static void test_flipped_bytes(void **state)
{
	struct fx *f = *state;
	struct phr_backup_report rep;
	struct phr_backup *b = NULL;
	char path[800];
	uint8_t *data;
	size_t len, tried = 0;

	data = slurp(f->bundle, &len);
	assert_int_equal(phr_backup_parse(&b, &rep, data, len), PHR_OK);
	assert_int_equal(phr_backup_verify(b, &rep, NULL, NULL, NULL), PHR_OK);
	phr_backup_free(b);
	/* the whole header and envelope region byte by byte, then spread positions */
	for (size_t pos = 0; pos < len; pos += pos < 2048 ? 1 : len / 97 + 1) {
		b = NULL;
		data[pos] ^= 0x20;
		if (phr_backup_parse(&b, &rep, data, len) == PHR_OK) {
			assert_int_not_equal(phr_backup_verify(b, &rep, NULL, NULL, NULL), PHR_OK);
			assert_true(rep.problem[0] != '\0');
		}
		phr_backup_free(b);
		data[pos] ^= 0x20;
		tried++;
	}
	assert_true(tried > 2000);
	/* the same through the file API, and restore refuses it */
	data[len / 2] ^= 0x01;
	snprintf(path, sizeof(path), "%s/flipped.car", f->s.dir);
	{
		FILE *fp = fopen(path, "wb");
		assert_non_null(fp);
		assert_int_equal(fwrite(data, 1, len, fp), len);
		fclose(fp);
	}
	assert_int_not_equal(phr_backup_verify_file(&rep, path, NULL, NULL, NULL), PHR_OK);
	assert_int_not_equal(phr_node_backup_restore(f->node, &rep, path), PHR_OK);
	/* a bundle re-signed by someone who is not the patient's owner: it verifies (it is
	 * self-consistent), but a node does not take its capsule index */
	data[len / 2] ^= 0x01;
	{
		size_t flen = 0;
		uint8_t *forged = forge(data, len, &flen, f->prov);
		FILE *fp;
		assert_int_equal(phr_backup_parse(&b, &rep, forged, flen), PHR_OK);
		assert_int_equal(phr_backup_verify(b, &rep, NULL, NULL, NULL), PHR_OK);
		assert_memory_equal(rep.signer, f->prov->address, 20);
		phr_backup_free(b);
		b = NULL;
		fp = fopen(path, "wb");
		assert_non_null(fp);
		assert_int_equal(fwrite(forged, 1, flen, fp), flen);
		fclose(fp);
		assert_int_equal(phr_node_backup_restore(f->node, &rep, path), PHR_ERR_FORBIDDEN);
		free(forged);
	}
	data[len / 2] ^= 0x01;
	/* truncated */
	assert_int_not_equal(phr_backup_parse(&b, &rep, data, len - 1) == PHR_OK &&
				     phr_backup_verify(b, &rep, NULL, NULL, NULL) == PHR_OK,
			     1);
	phr_backup_free(b);
	free(data);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_backup_restore),
		cmocka_unit_test(test_flipped_bytes),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
