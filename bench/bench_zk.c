/*
 * Native Groth16 verification (include/phr/groth16.h on the EVM's bn254 precompiles):
 * time to parse the verification key and the proof, and to verify, for the two ZK
 * credential circuits (fixtures: circuits/fixtures). Run by bench/zk.sh beside snarkjs.
 *   bench_zk ROOT [ITERATIONS]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "phr/groth16.h"

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int slurp(struct phr_buf *b, const char *root, const char *rel)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", root, rel);
	phr_buf_init(b, PHR_GROTH16_MAX_JSON);
	if (phr_file_read(b, path, PHR_GROTH16_MAX_JSON) != PHR_OK) {
		fprintf(stderr, "cannot read %s\n", path);
		return -1;
	}
	return 0;
}

static int run(const char *root, const char *circuit, const char *fixture, int iters)
{
	char rel[256];
	struct phr_buf vb, pb;
	struct phr_groth16_vkey vk;
	struct phr_groth16_proof proof;
	uint8_t in[PHR_GROTH16_MAX_PUBLIC][32];
	size_t n = 0;
	double t0, t_vk, t_proof, t_verify;
	int ok = 0;

	snprintf(rel, sizeof(rel), "circuits/keys/%s_vkey.json", circuit);
	if (slurp(&vb, root, rel) != 0)
		return -1;
	snprintf(rel, sizeof(rel), "circuits/fixtures/%s", fixture);
	if (slurp(&pb, root, rel) != 0)
		return -1;
	t0 = now();
	for (int i = 0; i < iters; i++)
		ok |= phr_groth16_vkey_parse(&vk, (const char *)vb.data, vb.len);
	t_vk = (now() - t0) / iters;
	t0 = now();
	for (int i = 0; i < iters; i++) {
		ok |= phr_groth16_proof_parse(&proof, (const char *)pb.data, pb.len);
		ok |= phr_groth16_public_parse(in, PHR_GROTH16_MAX_PUBLIC, &n, (const char *)pb.data, pb.len);
	}
	t_proof = (now() - t0) / iters;
	t0 = now();
	for (int i = 0; i < iters; i++)
		ok |= phr_groth16_verify(&vk, &proof, (const uint8_t(*)[32])in, n);
	t_verify = (now() - t0) / iters;
	phr_buf_release(&vb);
	phr_buf_release(&pb);
	if (ok != PHR_OK) {
		fprintf(stderr, "%s: verification failed\n", circuit);
		return -1;
	}
	printf("{\"circuit\": \"%s\", \"publicSignals\": %zu, \"vkeyParseUs\": %.1f, \"proofParseUs\": %.1f, "
	       "\"verifyMs\": %.3f, \"iterations\": %d}\n",
	       circuit, n, t_vk * 1e6, t_proof * 1e6, t_verify * 1e3, iters);
	return 0;
}

int main(int argc, char **argv)
{
	const char *root = argc > 1 ? argv[1] : ".";
	int iters = argc > 2 ? (int)strtol(argv[2], NULL, 10) : 50;

	if (iters <= 0)
		iters = 50;
	if (run(root, "provider_credential", "provider_leaf0.json", iters) != 0 ||
	    run(root, "age_credential", "age.json", iters) != 0 ||
	    run(root, "trial_enrolment", "trial.json", iters) != 0)
		return 1;
	return 0;
}
