/*
 * The embedded chain's cost per sealed block and per minted record, and its memory per
 * record: a node on a fresh data directory (automine, synchronous=FULL) deploys MintLike
 * (bench/chain_seal_contract.mjs: per record 5 storage slots in a mapping of structs, a
 * push on the patient's list and 3 logs, the shape of HealthRecordNFT.mintRecords), then
 * one thread sends BLOCKS transactions of BATCH records each through
 * phr_chain_node_send_raw (execution, sealing, SQLite writes and the commit, all on the
 * calling thread). Prints thread CPU per block and per record for each stretch of STEP
 * blocks, and the process's anonymous memory per record.
 *
 * Usage: bench_chain_seal [blocks (400)] [batch (24)] [step (100)]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "chain_bench_tx.h"
#include "phr/chain.h"
#include "phr/crypto.h"
#include "phr/rlp.h"

static const char code_hex[] =
	"6080604052348015600e575f5ffd5b506103008061001c5f395ff3fe608060405234801561000f575f5ffd5b50600436"
	"10610029575f3560e01c806394bf804d1461002d575b5f5ffd5b61004061003b36600461026d565b610042565b005b5f"
	"5b82811015610268575f60025f815461005b906102a6565b91905081905590505f818460405160200161008992919091"
	"82526001600160a01b0316602082015260400190565b60408051601f19818403018152828252805160209182012060c0"
	"84018352858452838201818152438585019081526001600160a01b03808b1660608801818152600760808a0190815233"
	"60a08b019081525f8d8152808a528a81209b518c5596516001808d0191909155955160028c0155915190516bffffffff"
	"ffffffffffffffff16600160a01b029084161760038a01555160049098018054989092166001600160a01b0319989098"
	"1697909717905585825280845284822080549182018155825292812090920186905591519193508492917fddf252ad1b"
	"e2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef908290a46040518281527f032bc66be43dbccb7487"
	"781d168eb7bda224628a3b2c3388bdf69b532a3a16119060200160405180910390a1336001600160a01b031684600160"
	"0160a01b0316837fc65404879010c7837f38c7e7e8422d009a31173807913d05485fc84d202284ac8460405161025691"
	"8152604060208201819052603b908201527f6261666b726569676832616b69736361696c646371616273796733646672"
	"366360608201527f68753366677072656769796d73636b376537617161347335327a790000000000608082015260a001"
	"90565b60405180910390a45050600101610044565b505050565b5f5f6040838503121561027e575f5ffd5b8235915060"
	"208301356001600160a01b038116811461029b575f5ffd5b809150509250929050565b5f600182016102c357634e487b"
	"7160e01b5f52601160045260245ffd5b506001019056fea264697066735822122038f16abe8fa3130ba632c00f239452"
	"851517f876880451c9054882444bb892cf64736f6c63430008250033";

static void die(const char *what, int rc)
{
	fprintf(stderr, "bench_chain_seal: %s failed (%d)\n", what, rc);
	exit(1);
}

static double cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* anonymous memory of the process in KiB (RssAnon of /proc/self/status) */
static long anon_kb(void)
{
	char line[256];
	long kb = -1;
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, "RssAnon:", 8) == 0)
			kb = strtol(line + 8, NULL, 10);
	fclose(f);
	return kb;
}

static uint8_t from[20];
static uint64_t nonce;

static void send(struct phr_chain_node *n, const uint8_t *to, const uint8_t *data, size_t len,
		 uint64_t gas)
{
	struct phr_rpc_error err = { 0 };
	struct phr_u256 fee = phr_u256_from_u64(100000000000ull);
	struct phr_buf raw;
	uint8_t hash[32];
	int rc = chain_bench_sign_tx(&raw, 0, 31337, nonce++, gas, &fee, to, data, len);

	if (rc == PHR_OK)
		rc = phr_chain_node_send_raw(n, hash, &err, raw.data, raw.len);
	if (rc != PHR_OK) {
		fprintf(stderr, "send: %d %s\n", err.code, err.message);
		die("send", rc);
	}
	phr_buf_release(&raw);
	phr_rpc_error_release(&err);
}

int main(int argc, char **argv)
{
	unsigned long blocks = argc > 1 ? strtoul(argv[1], NULL, 10) : 400;
	unsigned long batch = argc > 2 ? strtoul(argv[2], NULL, 10) : 24;
	unsigned long step = argc > 3 ? strtoul(argv[3], NULL, 10) : 100;
	char dir[] = "/tmp/phr-bench-seal-XXXXXX";
	struct phr_chain_config cfg = { 0 };
	struct phr_chain_node *n;
	struct phr_buf code, call;
	uint8_t contract[20], h[32];
	struct phr_buf ab;
	unsigned long b;
	double t0;
	long m0;
	int rc;

	if (phr_crypto_init() != PHR_OK)
		die("crypto init", -1);
	if (!mkdtemp(dir))
		die("mkdtemp", -1);
	cfg.datadir = dir;
	cfg.dev = true;
	rc = phr_chain_node_open(&n, &cfg);
	if (rc != PHR_OK)
		die("open", rc);
	{
		uint8_t key[32];

		rc = phr_bip32_eth_key(key, "test test test test test test test test test test test junk", 0);
		if (rc == PHR_OK)
			rc = phr_eth_address_from_seckey(from, key);
		memset(key, 0, sizeof(key));
		if (rc != PHR_OK)
			die("key", rc);
	}
	phr_buf_init(&code, 0);
	rc = phr_buf_reserve(&code, sizeof(code_hex) / 2);
	if (rc == PHR_OK)
		rc = phr_hex_decode(code.data, code.cap, &code.len, code_hex, strlen(code_hex));
	if (rc != PHR_OK)
		die("hex", rc);
	send(n, NULL, code.data, code.len, 3000000);
	/* the contract's address: keccak(rlp([sender, 0]))[12:] */
	phr_buf_init(&ab, 64);
	{
		size_t mark;

		phr_rlp_list_begin(&ab, &mark);
		if (phr_rlp_put_bytes(&ab, from, 20) || phr_rlp_put_u64(&ab, 0) ||
		    phr_rlp_list_end(&ab, mark))
			die("rlp", -1);
	}
	phr_keccak256(h, ab.data, ab.len);
	memcpy(contract, h + 12, 20);
	phr_buf_release(&ab);
	/* mint(uint256 n, address patient) */
	phr_buf_init(&call, 68);
	{
		uint8_t w[68] = { 0x94, 0xbf, 0x80, 0x4d };

		w[35] = (uint8_t)batch;
		w[34] = (uint8_t)(batch >> 8);
		memset(w + 48, 0x5a, 20);
		if (phr_buf_append(&call, w, sizeof(w)))
			die("call", -1);
	}
	printf("bench_chain_seal: %lu blocks of %lu records (MintLike.mint), step %lu\n", blocks,
	       batch, step);
	printf("%10s %12s %14s %12s\n", "records", "us/block", "us/record", "anon KB/rec");
	m0 = anon_kb();
	t0 = cpu_now();
	for (b = 1; b <= blocks; b++) {
		send(n, contract, call.data, call.len, 60000 + 200000 * batch);
		if (b % step == 0) {
			double t = cpu_now();
			long m = anon_kb();

			printf("%10lu %12.1f %14.2f %12.2f\n", b * batch, (t - t0) * 1e6 / (double)step,
			       (t - t0) * 1e6 / (double)(step * batch),
			       (double)(m - m0) / (double)(b * batch));
			t0 = cpu_now();
		}
	}
	phr_buf_release(&call);
	phr_buf_release(&code);
	phr_chain_node_close(n);
	{
		char cmd[64];

		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", dir);
	}
	return 0;
}
