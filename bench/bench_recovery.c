/*
 * Backup and recovery benchmark (bench/recovery.sh runs it): a patient with
 * N records of M MiB on an embedded chain; times bundle create, verify
 * (structure + signature), verify with decryption, restore into a fresh
 * node, and the recovery re-wrap of every data key. Prints one line per step:
 *   step <name> <seconds> <MB/s of ciphertext or records/s>
 * and leaves the bundle at argv[3] for the peer (a JavaScript CAR verifier).
 * Usage: bench_recovery RECORDS MIB BUNDLE_PATH
 */
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../tests/node/node_test_util.h"
#include "phr/backup.h"
#include "phr/crypto.h"
#include "phr/phr.h"
#include "phr/recovery.h"
#include "phr/store.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const struct phr_identity *add_id(struct phr_node *n, const char *name, uint32_t index)
{
	uint8_t sk[32];
	struct phr_identity *id = NULL;

	if (phr_bip32_eth_key(sk, NODE_TEST_MNEMONIC, index) != PHR_OK ||
	    phr_identity_new(&id, name, sk) != PHR_OK || phr_node_add_identity(n, id) != PHR_OK)
		exit(1);
	sodium_memzero(sk, sizeof(sk));
	return id;
}

#define CHECK(x)                                                                               \
	do {                                                                                   \
		int rv_ = (x);                                                                 \
		if (rv_ != PHR_OK) {                                                           \
			fprintf(stderr, "%s: %s\n", #x, phr_strerror(rv_));                    \
			return 1;                                                              \
		}                                                                              \
	} while (0)

int main(int argc, char **argv)
{
	struct node_stack s;
	const struct phr_identity *gov, *auth, *prov, *pat, *newo, *g1, *g2;
	struct phr_backup_report rep;
	struct phr_store *st2 = NULL;
	struct phr_node *n2 = NULL;
	unsigned long nrec, mib;
	uint8_t scope[32], *data;
	uint64_t now, bytes;
	char dir2[600], sp[700];
	double t, mb;
	int fd;

	if (argc != 4 || (nrec = strtoul(argv[1], NULL, 10)) == 0 ||
	    (mib = strtoul(argv[2], NULL, 10)) == 0 || mib > 64) {
		fprintf(stderr, "usage: bench_recovery RECORDS MIB BUNDLE_PATH\n");
		return 2;
	}
	phr_log_set_level(PHR_LOG_WARN);
	if (node_stack_open(&s, "bench-recovery") != 0)
		return 1;
	gov = add_id(s.node, "operator", 0);
	auth = add_id(s.node, "authority", 1);
	prov = add_id(s.node, "provider", 2);
	pat = add_id(s.node, "patient", 3);
	g1 = add_id(s.node, "g1", 5);
	g2 = add_id(s.node, "g2", 6);
	newo = add_id(s.node, "new", 8);
	CHECK(phr_node_register(s.node, pat));
	CHECK(phr_node_register(s.node, prov));
	CHECK(phr_node_appoint_authority(s.node, gov, auth->address));
	CHECK(phr_node_chain_time(s.node, &now));
	CHECK(phr_node_verify_provider(s.node, auth, prov->address, PHR_ROLE_PROVIDER, now + 86400 * 365));
	phr_scope_all(scope);
	CHECK(phr_node_access_grant(s.node, pat, prov->address, PHR_LEVEL_WRITE, scope, now + 86400));
	data = malloc(mib << 20);
	if (data == NULL)
		return 1;
	for (unsigned long i = 0; i < nrec; i++) {
		struct phr_record_receipt r;
		randombytes_buf(data, mib << 20);
		CHECK(phr_node_record_submit(s.node, &r, prov, pat->address, 1, NULL, data, mib << 20));
	}
	free(data);
	bytes = (uint64_t)nrec * (mib << 20);
	mb = (double)bytes / 1e6;
	printf("records %lu x %lu MiB\n", nrec, mib);

	fd = open(argv[3], O_WRONLY | O_CREAT | O_TRUNC, 0600);
	t = now_s();
	CHECK(phr_node_backup_create(s.node, &rep, pat, pat->address, fd));
	t = now_s() - t;
	close(fd);
	printf("step create %.3f %.1f\n", t, mb / t);
	t = now_s();
	CHECK(phr_backup_verify_file(&rep, argv[3], NULL, NULL, NULL));
	t = now_s() - t;
	printf("step verify %.3f %.1f\n", t, mb / t);
	t = now_s();
	CHECK(phr_backup_verify_file(&rep, argv[3], pat->address, pat->box_pk, pat->box_sk));
	t = now_s() - t;
	printf("step verify-decrypt %.3f %.1f\n", t, mb / t);
	snprintf(dir2, sizeof(dir2), "%s/fresh", s.dir);
	snprintf(sp, sizeof(sp), "%s/store", dir2);
	CHECK(phr_store_open(&st2, sp));
	CHECK(phr_node_open(&n2, s.chain, st2, phr_node_deployment(s.node), dir2));
	t = now_s();
	CHECK(phr_node_backup_restore(n2, &rep, argv[3]));
	t = now_s() - t;
	printf("step restore %.3f %.1f\n", t, mb / t);
	phr_node_close(n2);
	phr_store_close(st2);

	/* recovery: rotate to a new owner, then time the re-wrap of every data key */
	{
		struct phr_recovery_args a;
		size_t ok = 0, failed = 0;
		memset(&a, 0, sizeof(a));
		memcpy(a.patient, pat->address, 20);
		memcpy(a.guardians[0], g1->address, 20);
		memcpy(a.guardians[1], g2->address, 20);
		a.n_guardians = 2;
		a.threshold = 2;
		CHECK(phr_node_recovery_send(s.node, pat, PHR_RECOVERY_SET_GUARDIANS, &a));
		memcpy(a.new_owner, newo->address, 20);
		CHECK(phr_node_recovery_send(s.node, g1, PHR_RECOVERY_APPROVE, &a));
		CHECK(phr_node_recovery_send(s.node, g2, PHR_RECOVERY_APPROVE, &a));
		CHECK(phr_node_advance_time(s.node, 2 * 86400 + 60));
		CHECK(phr_node_recovery_send(s.node, g1, PHR_RECOVERY_EXECUTE, &a));
		t = now_s();
		CHECK(phr_node_recovery_rewrap(s.node, &ok, &failed, newo, pat->address, pat->box_sk));
		t = now_s() - t;
		printf("step rewrap %.3f %.1f records/s (%zu records, %zu failed; includes updateEncryptionKey)\n",
		       t, (double)ok / t, ok, failed);
	}
	node_stack_close(&s);
	return 0;
}
