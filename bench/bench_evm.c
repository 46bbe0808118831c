/*
 * Interpreter micro-benchmark: a few loop-heavy bytecodes run through
 * phr_evm_execute with the in-memory test host; prints the best wall time of
 * three runs, gas, Mgas/s.
 * Usage: bench_evm [--hex] [iterations-scale]   (default scale 1)
 *   --hex  only print "name hex-bytecode" lines (bench/evm.sh feeds them to anvil)
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "phr/core.h"
#include "phr/evm.h"

#include "../tests/evm/test_host.h"

struct bench {
	const char *name;
	const char *code_hex; /* "NNNNNN" is replaced by the loop count (3 bytes) */
	unsigned loops;
};

static const struct bench benches[] = {
	/* counter loop with DUP/MUL/POP: pure stack + arithmetic + JUMPI */
	{ "arith_loop", "62NNNNNN 5b 600190 03 8080 02 50 80 6004 57 00", 2000000 },
	/* keccak of 64 bytes of memory, stored back */
	{ "keccak_loop", "62NNNNNN 5b 6040 6000 20 6000 52 600190 03 80 6004 57 00", 500000 },
	/* MSTORE/MLOAD traffic over 1 KiB */
	{ "memory_loop", "62NNNNNN 5b 80 6103ff 16 80 80 52 51 50 600190 03 80 6004 57 00", 2000000 },
	/* 256-bit MULMOD/ADDMOD/EXP chain */
	{ "bigmath_loop",
	  "7f30644e72e131a029b85045b68181585d2833e84879b9709143e1f593f0000001"
	  " 62NNNNNN 5b 81 7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff0011 82 09"
	  " 82 82 82 08 50 50 600190 03 80 6025 57 00",
	  1000000 },
};

static size_t build_code(uint8_t *out, size_t cap, const char *hex, unsigned loops)
{
	char clean[1024];
	size_t n = 0;
	for (const char *p = hex; *p && n + 7 < sizeof(clean); p++) {
		if (*p == ' ')
			continue;
		if (*p == 'N') {
			snprintf(clean + n, sizeof(clean) - n, "%06x", loops & 0xffffff);
			n += 6;
			p += 5;
			continue;
		}
		clean[n++] = *p;
	}
	size_t len = 0;
	if (phr_hex_decode(out, cap, &len, clean, n) != PHR_OK) {
		fprintf(stderr, "bad hex\n");
		exit(1);
	}
	return len;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static struct test_host host;

int main(int argc, char **argv)
{
	bool hex = argc > 1 && strcmp(argv[1], "--hex") == 0;
	if (hex) {
		argc--;
		argv++;
	}
	double scale = argc > 1 ? strtod(argv[1], NULL) : 1.0;
	if (!hex)
		printf("%-14s %10s %14s %10s\n", "bench", "seconds", "gas", "Mgas/s");
	for (size_t i = 0; i < sizeof(benches) / sizeof(benches[0]); i++) {
		uint8_t code[512];
		unsigned loops = (unsigned)(benches[i].loops * scale);
		if (loops > 0xffffff)
			loops = 0xffffff;
		size_t n = build_code(code, sizeof(code), benches[i].code_hex, loops);
		if (hex) {
			printf("%s 0x", benches[i].name);
			for (size_t j = 0; j < n; j++)
				printf("%02x", code[j]);
			printf("\n");
			continue;
		}
		struct phr_evm_message m;
		memset(&m, 0, sizeof(m));
		m.gas = INT64_C(1) << 40;
		m.recipient = th_addr(0xaa);
		m.sender = th_addr(0xcc);
		struct phr_evm_result r;
		double dt = 1e9;
		for (int run = 0; run < 3; run++) {
			th_init(&host);
			double t0 = now();
			phr_evm_execute(&th_host_table, &host, &m, code, n, &r);
			double t = now() - t0;
			dt = t < dt ? t : dt;
			if (r.status != PHR_EVM_SUCCESS) {
				fprintf(stderr, "%s: %s\n", benches[i].name,
					phr_evm_status_name(r.status));
				return 1;
			}
			if (run < 2)
				phr_evm_result_release(&r);
		}
		int64_t gas = m.gas - r.gas_left;
		printf("%-14s %10.3f %14lld %10.1f\n", benches[i].name, dt, (long long)gas,
		       (double)gas / dt / 1e6);
		phr_evm_result_release(&r);
	}
	return 0;
}
