/*
 * Fuzz target: arbitrary bytecode through the EVM interpreter with the
 * in-memory test host (tests/evm/test_host.h), bounded gas.
 *
 * Input: byte 0 = flags (bit 0 static, bit 1 deep frame at depth 1023,
 * bits 2-3 scale the gas), bytes 1-2 = call data length, then call data, then
 * the code. Account 0xbb gets the same code, so CALLs to 0xbb recurse.
 * Nested calls deeper than 64 are refused by the test host (C stack of
 * unoptimised sanitizer builds); the interpreter's own 1024 limit is covered
 * by tests/evm. Checks: no crash, no sanitizer report, status within the enum, gas_left in
 * [0, gas], no gas left or refund on exceptional halts, output only on
 * SUCCESS/REVERT.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "phr/evm.h"

#include "../tests/evm/test_host.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct test_host host;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 3)
		return 0;
	uint8_t flags = data[0];
	size_t in_len = (size_t)data[1] << 8 | data[2];
	data += 3;
	size -= 3;
	if (in_len > size)
		in_len = size;
	const uint8_t *input = data;
	const uint8_t *code = data + in_len;
	size_t code_len = size - in_len;

	th_init(&host);
	/* -O0 sanitizer frames take ~40 KiB of C stack per nesting level */
	host.max_depth = 64;
	struct phr_evm_address self = th_addr(0xaa), other = th_addr(0xbb);
	th_put(&host, &self, 1000000, code, code_len);
	th_put(&host, &other, 5, code, code_len);
	th_set_slot(&host, &self, 0, 1, false);
	th_set_slot(&host, &self, 1, 0, true);

	static const int64_t gas_levels[4] = { 3000, 30000, 300000, 3000000 };
	struct phr_evm_message m;
	memset(&m, 0, sizeof(m));
	m.kind = PHR_EVM_CALL;
	m.is_static = flags & 1;
	m.depth = (flags & 2) ? PHR_EVM_MAX_DEPTH - 1 : 0;
	m.gas = gas_levels[(flags >> 2) & 3];
	m.recipient = self;
	m.code_address = self;
	m.sender = th_addr(0xcc);
	m.value = phr_u256_from_u64(flags >> 4);
	m.input = input;
	m.input_size = in_len;

	struct phr_evm_result r;
	phr_evm_execute(&th_host_table, &host, &m, code, code_len, &r);
	if (r.status < PHR_EVM_SUCCESS || r.status > PHR_EVM_INTERNAL_ERROR)
		abort();
	if (r.gas_left < 0 || r.gas_left > m.gas)
		abort();
	if (r.status != PHR_EVM_SUCCESS && r.status != PHR_EVM_REVERT &&
	    (r.gas_left != 0 || r.gas_refund != 0 || r.output_size != 0))
		abort();
	if (r.status != PHR_EVM_SUCCESS && r.gas_refund != 0)
		abort();
	if ((r.output == NULL) != (r.output_size == 0))
		abort();
	phr_evm_result_release(&r);
	return 0;
}
