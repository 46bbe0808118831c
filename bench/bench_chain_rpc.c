/*
 * Chain benchmark driver over JSON-RPC (the phr client, libcurl), pointed at
 * any node: phr chain or anvil.
 *
 *   bench_chain_rpc call URL BYTECODE CALLDATA REPS
 *       deploys BYTECODE, runs eth_call(CALLDATA) REPS times, prints the median.
 *   bench_chain_rpc load URL BYTECODE CALLDATA NTX THREADS
 *       deploys BYTECODE, pre-signs NTX contract-call transactions spread over
 *       THREADS dev accounts, sends them (one connection per thread, each
 *       waiting for its answer), prints tx/s and latency percentiles, then
 *       checks that every transaction has a successful receipt.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "chain_bench_tx.h"
#include "phr/chain.h"
#include "phr/crypto.h"
#include "phr/tx.h"

#define MNEMONIC "test test test test test test test test test test test junk"
#define MAX_THREADS 10

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static uint8_t *hex_arg(const char *s, size_t *len)
{
	size_t n = strlen(s), got = 0;
	uint8_t *p = malloc(n / 2 + 1);

	if (!p || phr_hex_decode(p, n / 2 + 1, &got, s, n) != PHR_OK) {
		fprintf(stderr, "bad hex argument\n");
		exit(2);
	}
	*len = got;
	return p;
}


static void die(const char *what, int rc)
{
	fprintf(stderr, "bench_chain_rpc: %s: %s\n", what, phr_strerror(rc));
	exit(1);
}

static struct phr_u256 fee_cap(struct phr_chain *c)
{
	struct phr_u256 p, k = phr_u256_from_u64(4);
	int rc = phr_chain_gas_price(c, &p);

	if (rc != PHR_OK)
		die("gas price", rc);
	phr_u256_mul(&p, &p, &k);
	return p;
}

static void deploy(struct phr_chain *c, uint8_t addr[20], const uint8_t *code, size_t len)
{
	struct phr_rpc_error err = { 0 };
	struct phr_chain_receipt r;
	struct phr_buf raw;
	struct phr_u256 fee = fee_cap(c);
	uint8_t from[20], key[32], hash[32];
	uint64_t id, nonce;
	int rc;

	if ((rc = phr_bip32_eth_key(key, MNEMONIC, 0)) != PHR_OK ||
	    (rc = phr_eth_address_from_seckey(from, key)) != PHR_OK)
		die("key", rc);
	memset(key, 0, sizeof(key));
	if ((rc = phr_chain_chain_id(c, &id)) != PHR_OK || (rc = phr_chain_nonce(c, &nonce, from)) != PHR_OK)
		die("chain", rc);
	if ((rc = chain_bench_sign_tx(&raw, 0, id, nonce, 5000000, &fee, NULL, code, len)) != PHR_OK)
		die("sign", rc);
	rc = phr_chain_send_raw(c, hash, &err, raw.data, raw.len);
	phr_buf_release(&raw);
	if (rc != PHR_OK) {
		fprintf(stderr, "deploy: %s\n", err.message);
		exit(1);
	}
	if ((rc = phr_chain_wait_receipt(c, &r, hash, 30000)) != PHR_OK)
		die("deploy receipt", rc);
	if (!r.status || !r.has_contract) {
		fprintf(stderr, "deploy failed\n");
		exit(1);
	}
	memcpy(addr, r.contract_address, 20);
	phr_chain_receipt_release(&r);
}

static int run_call(const char *url, const uint8_t *code, size_t code_len, const uint8_t *data,
		    size_t data_len, int reps)
{
	struct phr_chain *c;
	uint8_t addr[20];
	double *t = calloc((size_t)reps, sizeof(double));
	int i, rc;

	if (!t || phr_chain_open_remote(&c, url) != PHR_OK)
		return 1;
	deploy(c, addr, code, code_len);
	for (i = -1; i < reps; i++) {
		struct phr_buf out;
		double t0 = now_s();

		phr_buf_init(&out, 0);
		rc = phr_chain_call(c, &out, NULL, addr, data, data_len);
		phr_buf_release(&out);
		if (rc != PHR_OK)
			die("eth_call", rc);
		if (i >= 0)
			t[i] = now_s() - t0;
	}
	qsort(t, (size_t)reps, sizeof(double), cmp_double);
	printf("median_ms %.3f min_ms %.3f\n", t[reps / 2] * 1e3, t[0] * 1e3);
	free(t);
	phr_chain_close(c);
	return 0;
}

struct worker {
	const char *url;
	struct phr_buf *raws;
	size_t n;
	double *lat;
	uint8_t (*hashes)[32];
	int failed;
	pthread_barrier_t *start;
};

static void *work(void *arg)
{
	struct worker *w = arg;
	struct phr_chain *c;
	size_t i;

	if (phr_chain_open_remote(&c, w->url) != PHR_OK) {
		w->failed = 1;
		return NULL;
	}
	pthread_barrier_wait(w->start);
	for (i = 0; i < w->n; i++) {
		struct phr_rpc_error err = { 0 };
		double t0 = now_s();

		if (phr_chain_send_raw(c, w->hashes[i], &err, w->raws[i].data, w->raws[i].len) != PHR_OK) {
			fprintf(stderr, "send: %s\n", err.message);
			phr_rpc_error_release(&err);
			w->failed = 1;
			break;
		}
		w->lat[i] = now_s() - t0;
	}
	phr_chain_close(c);
	return NULL;
}

static int run_load(const char *url, const uint8_t *code, size_t code_len, const uint8_t *data,
		    size_t data_len, size_t ntx, int threads)
{
	struct phr_chain *c;
	struct worker w[MAX_THREADS];
	pthread_t th[MAX_THREADS];
	pthread_barrier_t start;
	struct phr_u256 fee;
	uint8_t addr[20];
	uint64_t id, gas;
	double *all, t0, elapsed;
	size_t per = ntx / (size_t)threads, k = 0, i;
	int t, rc, bad = 0;

	if (phr_chain_open_remote(&c, url) != PHR_OK)
		return 1;
	deploy(c, addr, code, code_len);
	if ((rc = phr_chain_chain_id(c, &id)) != PHR_OK)
		die("chain id", rc);
	if ((rc = phr_chain_estimate_gas(c, &gas, NULL, addr, NULL, data, data_len)) != PHR_OK)
		die("estimate", rc);
	fee = fee_cap(c);
	pthread_barrier_init(&start, NULL, (unsigned)threads + 1);
	for (t = 0; t < threads; t++) {
		uint8_t from[20], key[32];
		uint64_t nonce;

		if ((rc = phr_bip32_eth_key(key, MNEMONIC, (uint32_t)t)) != PHR_OK ||
		    (rc = phr_eth_address_from_seckey(from, key)) != PHR_OK ||
		    (rc = phr_chain_nonce(c, &nonce, from)) != PHR_OK)
			die("account", rc);
		memset(key, 0, sizeof(key));
		w[t] = (struct worker){ .url = url, .n = per, .start = &start };
		w[t].raws = calloc(per, sizeof(struct phr_buf));
		w[t].lat = calloc(per, sizeof(double));
		w[t].hashes = calloc(per, 32);
		if (!w[t].raws || !w[t].lat || !w[t].hashes)
			return 1;
		for (i = 0; i < per; i++)
			if ((rc = chain_bench_sign_tx(&w[t].raws[i], (uint32_t)t, id, nonce + i, gas * 2, &fee, addr, data,
					  data_len)) != PHR_OK)
				die("sign", rc);
		pthread_create(&th[t], NULL, work, &w[t]);
	}
	pthread_barrier_wait(&start);
	t0 = now_s();
	for (t = 0; t < threads; t++)
		pthread_join(th[t], NULL);
	elapsed = now_s() - t0;
	all = calloc(per * (size_t)threads, sizeof(double));
	for (t = 0; t < threads; t++) {
		bad |= w[t].failed;
		for (i = 0; i < per; i++)
			all[k++] = w[t].lat[i];
	}
	qsort(all, k, sizeof(double), cmp_double);
	/* every acknowledged transaction is mined and succeeded */
	for (t = 0; t < threads && !bad; t++) {
		for (i = 0; i < per; i++) {
			struct phr_chain_receipt r;

			rc = phr_chain_wait_receipt(c, &r, w[t].hashes[i], 30000);
			if (rc != PHR_OK || !r.status) {
				fprintf(stderr, "tx %d/%zu: %s\n", t, i,
					rc != PHR_OK ? phr_strerror(rc) : "failed (status 0)");
				if (rc == PHR_OK)
					phr_chain_receipt_release(&r);
				bad = 1;
				break;
			}
			phr_chain_receipt_release(&r);
		}
	}
	printf("tx %zu threads %d seconds %.3f tx_per_s %.1f p50_ms %.3f p99_ms %.3f receipts %s\n", k,
	       threads, elapsed, (double)k / elapsed, all[k / 2] * 1e3, all[(k * 99) / 100] * 1e3,
	       bad ? "MISSING" : "all");
	for (t = 0; t < threads; t++) {
		for (i = 0; i < per; i++)
			phr_buf_release(&w[t].raws[i]);
		free(w[t].raws);
		free(w[t].lat);
		free(w[t].hashes);
	}
	free(all);
	phr_chain_close(c);
	return bad;
}

int main(int argc, char **argv)
{
	uint8_t *code, *data;
	size_t code_len, data_len;

	if (phr_crypto_init() != PHR_OK)
		return 1;
	if (argc == 6 && strcmp(argv[1], "call") == 0) {
		code = hex_arg(argv[3], &code_len);
		data = hex_arg(argv[4], &data_len);
		return run_call(argv[2], code, code_len, data, data_len, (int)strtol(argv[5], NULL, 10));
	}
	if (argc == 7 && strcmp(argv[1], "load") == 0) {
		long th = strtol(argv[6], NULL, 10);

		if (th < 1 || th > MAX_THREADS)
			return 2;
		code = hex_arg(argv[3], &code_len);
		data = hex_arg(argv[4], &data_len);
		return run_load(argv[2], code, code_len, data, data_len, strtoul(argv[5], NULL, 10), (int)th);
	}
	fprintf(stderr, "usage: bench_chain_rpc call URL BYTECODE CALLDATA REPS\n"
			"       bench_chain_rpc load URL BYTECODE CALLDATA NTX THREADS\n");
	return 2;
}
