/*
 * Fuzz target for the EVM precompiles: the first byte picks the precompile
 * (0x01..0x0a), the rest is the call input. Checks the status/gas contract:
 * gas used never negative nor above the limit, OK costs exactly the price,
 * failures consume everything and leave no output.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "phr/core.h"
#include "phr/precompile.h"

/* Bounded so that slow-but-paid-for inputs (modexp) stay fast under the fuzzer. */
#define FUZZ_GAS_LIMIT 1000000

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	uint8_t addr[20] = {0};
	addr[19] = (uint8_t)((data[0] + 9) % PHR_PRECOMPILE_LAST + 1); /* 1..10 map to themselves */
	const uint8_t *in = data + 1;
	size_t n = size - 1;
	struct phr_buf out;
	int64_t used = -1;
	phr_buf_init(&out, 0);
	int64_t price = phr_precompile_gas(addr, in, n);
	int st = phr_precompile_run(addr, in, n, FUZZ_GAS_LIMIT, &out, &used);
	if (price < 0 || used < 0 || used > FUZZ_GAS_LIMIT)
		abort();
	switch (st) {
	case PHR_PRECOMPILE_OK:
		if (used != price)
			abort();
		break;
	case PHR_PRECOMPILE_OUT_OF_GAS:
		if (price <= FUZZ_GAS_LIMIT || used != FUZZ_GAS_LIMIT || out.len != 0)
			abort();
		break;
	case PHR_PRECOMPILE_FAILURE:
	case PHR_PRECOMPILE_UNSUPPORTED:
		if (used != FUZZ_GAS_LIMIT || out.len != 0)
			abort();
		break;
	default:
		abort();
	}
	/* fixed output sizes */
	switch (addr[19]) {
	case 1:
		if (st == PHR_PRECOMPILE_OK && out.len != 0 && out.len != 32)
			abort();
		break;
	case 6:
	case 7:
		if (st == PHR_PRECOMPILE_OK && out.len != 64)
			abort();
		break;
	case 8:
	case 2:
	case 3:
		if (st == PHR_PRECOMPILE_OK && out.len != 32)
			abort();
		break;
	case 4:
		if (st == PHR_PRECOMPILE_OK && (out.len != n || (n && memcmp(out.data, in, n))))
			abort();
		break;
	default:
		break;
	}
	phr_buf_release(&out);
	return 0;
}
