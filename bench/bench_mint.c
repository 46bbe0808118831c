/*
 * The EVM cost of a mint: HealthRecordNFT.mintRecords run by the embedded chain's state
 * (phr_state_tx_apply, in memory, no database) with the committed contract artifacts, as
 * the node runs it for every FHIR create and imported resource.
 *
 * Deploys ProviderRegistry, PatientRegistry, AuditTrail, HealthRecordNFT, EmergencyAccess
 * and Recovery, wires them, verifies one provider, registers PATIENTS patients with a
 * Write grant on all records for it, then for each scenario applies ROUNDS transactions
 * of BATCH entries (CPU time of the thread, committed every round as a block would be) and
 * the same calldata as a dry run (the node's eth_call `simulate` before sending).
 * Prints CPU microseconds and gas per entry. Then AuditTrail.logViews of BATCH of those
 * records by the provider (a search page's View log), the same way.
 *
 * Usage: bench_mint [rounds (40)]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "phr/contracts.h"
#include "phr/core.h"
#include "phr/state.h"
#include "phr/tx.h"

#define BATCH 32
#define PATIENTS 8
#define T0 UINT64_C(1700000000)

static struct phr_state *st;
static struct phr_state_block blk;

static void die(const char *what, int rv)
{
	fprintf(stderr, "bench_mint: %s failed (%d)\n", what, rv);
	exit(1);
}

static void addr_of(uint8_t a[20], unsigned tag)
{
	memset(a, 0, 20);
	a[0] = 0xa0;
	a[18] = (uint8_t)(tag >> 8);
	a[19] = (uint8_t)tag;
}

static double cpu_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Applies one call (to NULL: a creation) from @p from; returns its gas; dies unless it
 * succeeded. @p created receives the new address of a creation. */
static uint64_t apply(const uint8_t from[20], const uint8_t *to, const struct phr_buf *data,
		      unsigned flags, uint8_t created[20])
{
	struct phr_tx tx;
	phr_tx_init(&tx);
	tx.type = PHR_TX_DYNAMIC_FEE;
	tx.has_chain_id = true;
	tx.chain_id = 1337;
	tx.gas_limit = 30000000;
	tx.has_to = to != NULL;
	if (to)
		memcpy(tx.to, to, 20);
	tx.data = data->data;
	tx.data_len = data->len;
	struct phr_state_tx_result r;
	int rv = phr_state_tx_apply(st, &r, &blk, &tx, from, flags | PHR_STATE_TX_NO_CHECKS);
	if (rv != PHR_OK || r.status != 0) {
		fprintf(stderr, "bench_mint: tx failed: rv %d status %d %s %s\n", rv, r.status,
			r.error,
			r.output ? phr_contracts_error_name(r.output, r.output_len) : "");
		exit(1);
	}
	if (created)
		memcpy(created, r.created_addr, 20);
	uint64_t gas = r.gas_used;
	phr_state_tx_result_release(&r);
	tx.data = NULL; /* borrowed */
	tx.data_len = 0;
	phr_tx_release(&tx);
	return gas;
}

static void commit(void)
{
	uint8_t root[32];
	int rv = phr_state_commit(st, root, NULL);
	if (rv != PHR_OK)
		die("commit", rv);
}

static uint8_t gov[20], auth[20], doctor[20], patients[PATIENTS][20];
static uint8_t providers[20], registry[20], audit[20], nft[20], emergency[20], recovery[20];

static void setup(void)
{
	struct phr_buf b;
	int rv;
	phr_buf_init(&b, 0);
	addr_of(gov, 1);
	addr_of(auth, 2);
	addr_of(doctor, 3);
	for (unsigned i = 0; i < PATIENTS; i++)
		addr_of(patients[i], 0x100 + i);
#define STEP(expr, ...)                                  \
	do {                                             \
		phr_buf_reset(&b);                       \
		if ((rv = (expr)) != PHR_OK)             \
			die(#expr, rv);                  \
		apply(__VA_ARGS__);                      \
	} while (0)
	STEP(phr_contracts_provider_registry_deploy_encode(&b, gov), gov, NULL, &b, 0, providers);
	STEP(phr_contracts_patient_registry_deploy_encode(&b, providers), gov, NULL, &b, 0, registry);
	STEP(phr_contracts_audit_trail_deploy_encode(&b, registry), gov, NULL, &b, 0, audit);
	STEP(phr_contracts_health_record_nft_deploy_encode(&b, registry, providers, audit), gov, NULL,
	     &b, 0, nft);
	STEP(phr_contracts_emergency_access_deploy_encode(&b, registry, providers, audit), gov, NULL,
	     &b, 0, emergency);
	STEP(phr_contracts_recovery_deploy_encode(&b, registry, audit), gov, NULL, &b, 0, recovery);
	STEP(phr_contracts_patient_registry_wire_encode(&b, nft, emergency, recovery, audit), gov,
	     registry, &b, 0, NULL);
	uint8_t mods[4][20];
	memcpy(mods[0], registry, 20);
	memcpy(mods[1], nft, 20);
	memcpy(mods[2], emergency, 20);
	memcpy(mods[3], recovery, 20);
	STEP(phr_contracts_audit_trail_wire_encode(&b, (const uint8_t(*)[20])mods, 4), gov, audit,
	     &b, 0, NULL);
	STEP(phr_contracts_provider_registry_set_authority_encode(&b, auth, true), gov, providers, &b,
	     0, NULL);
	uint8_t lic[32] = { 1 };
	STEP(phr_contracts_provider_registry_verify_provider_encode(&b, doctor, 1, lic,
								    T0 + 365 * 86400),
	     auth, providers, &b, 0, NULL);
	for (unsigned i = 0; i < PATIENTS; i++) {
		uint8_t key[32] = { 0x55, (uint8_t)i };
		uint8_t scope[32] = { 0 };
		STEP(phr_contracts_patient_registry_register_encode(&b, key), patients[i], registry,
		     &b, 0, NULL);
		STEP(phr_contracts_patient_registry_grant_access_encode(&b, patients[i], doctor, 2,
									scope, T0 + 30 * 86400),
		     patients[i], registry, &b, 0, NULL);
	}
#undef STEP
	commit();
	phr_buf_release(&b);
}

static const char CID[] = "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy";

/* Packed mintRecords entries: entry i for patients[pat(i)] with type typ(i). */
static void entries(struct phr_buf *e, unsigned round, unsigned npat, unsigned ntypes)
{
	phr_buf_reset(e);
	for (unsigned i = 0; i < BATCH; i++) {
		uint8_t h[32] = { 0x11 };
		h[28] = (uint8_t)(round >> 8);
		h[29] = (uint8_t)round;
		h[31] = (uint8_t)(i + 1);
		uint8_t t = (uint8_t)(i % ntypes), sup[32] = { 0 }, len = (uint8_t)(sizeof(CID) - 1);
		if (phr_buf_append(e, patients[(i / (BATCH / npat)) % PATIENTS], 20) ||
		    phr_buf_append(e, h, 32) || phr_buf_append_byte(e, t) ||
		    phr_buf_append(e, sup, 32) || phr_buf_append_byte(e, len) ||
		    phr_buf_append(e, CID, len))
			die("entries", PHR_ERR_NOMEM);
	}
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* The buffers and timing arrays of a scenario. */
static void start(struct phr_buf *e, struct phr_buf *cd, double **tx_t, double **dry_t,
		  unsigned rounds)
{
	phr_buf_init(e, 0);
	phr_buf_init(cd, 0);
	*tx_t = calloc(rounds, sizeof(double));
	*dry_t = calloc(rounds, sizeof(double));
	if (!*tx_t || !*dry_t)
		die("calloc", PHR_ERR_NOMEM);
}

/* One batch: its dry run, the transaction and the commit, timed into *dry, *tx, *com. */
static uint64_t run_batch(const uint8_t to[20], const struct phr_buf *cd, double *dry, double *tx,
			  double *com)
{
	double t0 = cpu_now();
	apply(doctor, to, cd, PHR_STATE_TX_DRY_RUN, NULL);
	double t1 = cpu_now();
	uint64_t gas = apply(doctor, to, cd, 0, NULL);
	double t2 = cpu_now();
	commit();
	double t3 = cpu_now();
	*dry = t1 - t0;
	*tx = t2 - t1;
	*com = t3 - t2;
	return gas;
}

/* Medians (and the best transaction) per entry; frees the arrays. */
static void report(const char *name, double *tx_t, double *dry_t, unsigned rounds, double commit_t,
		   uint64_t gas)
{
	qsort(tx_t, rounds, sizeof(double), cmp_double);
	qsort(dry_t, rounds, sizeof(double), cmp_double);
	printf("%-26s %9.1f %9.1f %9.1f %9.1f %9llu\n", name, 1e6 * tx_t[rounds / 2] / BATCH,
	       1e6 * tx_t[0] / BATCH, 1e6 * dry_t[rounds / 2] / BATCH,
	       1e6 * commit_t / rounds / BATCH, (unsigned long long)(gas / BATCH));
	free(tx_t);
	free(dry_t);
}

static void scenario(const char *name, unsigned rounds, unsigned npat, unsigned ntypes)
{
	struct phr_buf e, cd;
	double *tx_t, *dry_t;
	start(&e, &cd, &tx_t, &dry_t, rounds);
	static unsigned round_no;
	uint64_t gas = 0;
	double commit_t = 0;
	for (unsigned r = 0; r < rounds; r++) {
		entries(&e, ++round_no, npat, ntypes);
		phr_buf_reset(&cd);
		if (phr_contracts_health_record_nft_mint_records_encode(&cd, e.data, e.len))
			die("encode", PHR_ERR_NOMEM);
		double com;
		gas = run_batch(nft, &cd, &dry_t[r], &tx_t[r], &com);
		commit_t += com;
	}
	report(name, tx_t, dry_t, rounds, commit_t, gas);
	phr_buf_release(&e);
	phr_buf_release(&cd);
}

/* AuditTrail.logViews of BATCH records by the provider (the View log of a search page):
 * token first + i of patients[pat_of(i)], as minted by the scenarios above. */
static void views(const char *name, unsigned rounds, uint64_t first, unsigned npat)
{
	struct phr_buf e, cd;
	double *tx_t, *dry_t;
	start(&e, &cd, &tx_t, &dry_t, rounds);
	uint64_t gas = 0;
	double commit_t = 0;
	for (unsigned r = 0; r < rounds; r++) {
		phr_buf_reset(&e);
		for (unsigned i = 0; i < BATCH; i++) {
			uint8_t id[32] = { 0 }, purpose = 1;
			uint64_t t = first + i;
			for (int k = 0; k < 8; k++)
				id[31 - k] = (uint8_t)(t >> (8 * k));
			if (phr_buf_append(&e, patients[(i / (BATCH / npat)) % PATIENTS], 20) ||
			    phr_buf_append(&e, id, 32) || phr_buf_append_byte(&e, purpose))
				die("entries", PHR_ERR_NOMEM);
		}
		phr_buf_reset(&cd);
		if (phr_contracts_audit_trail_log_views_encode(&cd, e.data, e.len))
			die("encode", PHR_ERR_NOMEM);
		double com;
		gas = run_batch(audit, &cd, &dry_t[r], &tx_t[r], &com);
		commit_t += com;
	}
	report(name, tx_t, dry_t, rounds, commit_t, gas);
	phr_buf_release(&e);
	phr_buf_release(&cd);
}

int main(int argc, char **argv)
{
	unsigned rounds = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 40;
	if (rounds == 0)
		rounds = 1;
	int rv = phr_state_new(&st, NULL);
	if (rv != PHR_OK)
		die("phr_state_new", rv);
	memset(&blk, 0, sizeof(blk));
	blk.number = 1;
	blk.timestamp = T0;
	blk.gas_limit = 60000000;
	blk.chain_id = (struct phr_u256){ { 1337, 0, 0, 0 } };
	setup();
	printf("mintRecords of %d entries, in-memory state, CPU us per entry\n", BATCH);
	printf("%-26s %9s %9s %9s %9s %9s\n", "scenario", "tx_med", "tx_min", "dry_med",
	       "commit", "gas");
	scenario("1 patient, 1 type", rounds, 1, 1);
	scenario("1 patient, 4 types", rounds, 1, 4);
	scenario("4 patients in runs of 8", rounds, 4, 1);
	scenario("8 patients alternating", rounds, BATCH, 3);
	printf("logViews of %d entries (tokens minted above), CPU us per entry (commit: of the log)\n", BATCH);
	views("views: 1 patient", rounds, 1, 1);
	views("views: 8 patients alternating", rounds, (uint64_t)3 * rounds * BATCH + 1, BATCH);
	phr_state_free(st);
	return 0;
}
