/*
 * EVM interpreter unit tests against the in-memory host of test_host.h:
 * opcodes, exact gas (yellow paper / EIP figures), memory expansion, stack
 * limits, jumps, static context, revert and return data, calls and creates,
 * and the EIP-3529 SSTORE table (tests/vectors/evm-eip3529).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "phr/core.h"
#include "phr/evm.h"
#include "phr/u256.h"

#include "evm/test_host.h"

#define CONTRACT 0xaa
#define CALLER 0xcc
#define GAS 1000000

static struct test_host H;

static size_t unhex(uint8_t *out, size_t cap, const char *hex)
{
	size_t n = 0;
	char clean[16384];
	for (const char *p = hex; *p && n + 1 < sizeof(clean); p++)
		if (*p != ' ')
			clean[n++] = *p;
	clean[n] = 0;
	size_t len = 0;
	assert_int_equal(phr_hex_decode(out, cap, &len, clean, n), PHR_OK);
	return len;
}

static struct phr_evm_message msg_for(int64_t gas)
{
	struct phr_evm_message m;
	memset(&m, 0, sizeof(m));
	m.kind = PHR_EVM_CALL;
	m.gas = gas;
	m.recipient = th_addr(CONTRACT);
	m.code_address = th_addr(CONTRACT);
	m.sender = th_addr(CALLER);
	return m;
}

/* Runs @p hex as the code of CONTRACT with a prepared message. */
static void run_msg(struct phr_evm_result *r, const struct phr_evm_message *m, const char *hex)
{
	static uint8_t code[8192];
	size_t n = unhex(code, sizeof(code), hex);
	if (!th_find(&H, &m->recipient, false))
		th_put(&H, &m->recipient, 0, code, n < TH_CODE ? n : 0);
	phr_evm_execute(&th_host_table, &H, m, code, n, r);
}

static void run(struct phr_evm_result *r, const char *hex, int64_t gas)
{
	struct phr_evm_message m = msg_for(gas);
	run_msg(r, &m, hex);
}

/* Runs code that leaves one word in memory[0..32) and returns it. */
static struct phr_u256 run_word(const char *hex)
{
	char buf[4096];
	snprintf(buf, sizeof(buf), "%s 6000 52 6020 6000 f3", hex);
	struct phr_evm_result r;
	run(&r, buf, GAS);
	assert_int_equal(r.status, PHR_EVM_SUCCESS);
	assert_int_equal(r.output_size, 32);
	struct phr_u256 v;
	phr_u256_from_be(&v, r.output);
	phr_evm_result_release(&r);
	return v;
}

static uint64_t word_u64(const char *hex)
{
	struct phr_u256 v = run_word(hex);
	assert_true(phr_u256_fits_u64(&v));
	return v.w[0];
}

static int setup(void **state)
{
	(void)state;
	th_init(&H);
	return 0;
}

static void test_add_return_gas(void **state)
{
	(void)state;
	struct phr_evm_result r;
	run(&r, "6002 6003 01 6000 52 6020 6000 f3", 100);
	assert_int_equal(r.status, PHR_EVM_SUCCESS);
	assert_int_equal(100 - r.gas_left, 24);
	assert_int_equal(r.output_size, 32);
	assert_int_equal(r.output[31], 5);
	phr_evm_result_release(&r);
	phr_evm_result_release(&r); /* twice is harmless */
}

static void test_memory_expansion(void **state)
{
	(void)state;
	assert_int_equal(phr_evm_memory_cost(0), 0);
	assert_int_equal(phr_evm_memory_cost(1), 3);
	assert_int_equal(phr_evm_memory_cost(32), 3);
	assert_int_equal(phr_evm_memory_cost(33), 6);
	assert_int_equal(phr_evm_memory_cost(32 * 1024), 3072 + 2048);
	assert_int_equal(phr_evm_memory_cost(PHR_EVM_MEMORY_LIMIT + 1), INT64_MAX);
	/* MSTORE at 0x1000: 129 words = 387 + 16641/512 (32) = 419. */
	struct phr_evm_result r;
	run(&r, "6001 611000 52 00", GAS);
	assert_int_equal(r.status, PHR_EVM_SUCCESS);
	assert_int_equal(GAS - r.gas_left, 3 + 3 + 3 + 419);
	assert_int_equal(word_u64("6001 611000 52 59"), 0x1020);
	/* MLOAD of a huge offset is out of gas, not a crash. */
	run(&r, "7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff 51", GAS);
	assert_int_equal(r.status, PHR_EVM_OUT_OF_GAS);
	assert_int_equal(r.gas_left, 0);
	run(&r, "64ffffffffff 51", GAS);
	assert_int_equal(r.status, PHR_EVM_OUT_OF_GAS);
	/* Zero-size areas expand nothing, whatever the offset. */
	run(&r, "6000 7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff f3",
	    GAS);
	assert_int_equal(r.status, PHR_EVM_SUCCESS);
	assert_int_equal(r.output_size, 0);
}

static void test_stack_limits(void **state)
{
	(void)state;
	struct phr_evm_result r;
	run(&r, "01", GAS);
	assert_int_equal(r.status, PHR_EVM_STACK_UNDERFLOW);
	assert_int_equal(r.gas_left, 0);
	run(&r, "6001 01", GAS);
	assert_int_equal(r.status, PHR_EVM_STACK_UNDERFLOW);
	run(&r, "6001 6002 6003 92 00", GAS); /* SWAP3 needs 4 */
	assert_int_equal(r.status, PHR_EVM_STACK_UNDERFLOW);

	static char code[2 * 1026 + 8];
	for (int i = 0; i < 1024; i++)
		memcpy(code + 2 * i, "5f", 2);
	memcpy(code + 2048, "00", 3);
	run(&r, code, GAS);
	assert_int_equal(r.status, PHR_EVM_SUCCESS);
	assert_int_equal(GAS - r.gas_left, 2048);
	memcpy(code + 2048, "80", 3); /* DUP1 on a full stack */
	run(&r, code, GAS);
	assert_int_equal(r.status, PHR_EVM_STACK_OVERFLOW);
	memcpy(code + 2048, "5f00", 5);
	run(&r, code, GAS);
	assert_int_equal(r.status, PHR_EVM_STACK_OVERFLOW);
	assert_int_equal(r.gas_left, 0);
}

static void test_jumps(void **state)
{
	(void)state;
	struct phr_evm_result r;
	run(&r, "6003 56 5b 00", 100);
	assert_int_equal(r.status, PHR_EVM_SUCCESS);
	assert_int_equal(100 - r.gas_left, 3 + 8 + 1);
	run(&r, "6004 56 605b 00", GAS); /* into PUSH data */
	assert_int_equal(r.status, PHR_EVM_BAD_JUMP_DESTINATION);
	assert_int_equal(r.gas_left, 0);
	run(&r, "60ff 56", GAS);
	assert_int_equal(r.status, PHR_EVM_BAD_JUMP_DESTINATION);
	run(&r, "7f0100000000000000000000000000000000000000000000000000000000000003 56 5b", GAS);
	assert_int_equal(r.status, PHR_EVM_BAD_JUMP_DESTINATION);
	run(&r, "6000 6006 57 00 fe fe", 100); /* JUMPI not taken */
	assert_int_equal(r.status, PHR_EVM_SUCCESS);
	assert_int_equal(100 - r.gas_left, 3 + 3 + 10);
	run(&r, "6001 6006 57 fe fe fe 5b 00", 100); /* lands on an INVALID byte */
	assert_int_equal(r.status, PHR_EVM_BAD_JUMP_DESTINATION);
	run(&r, "6001 6006 57 fe 5b 00", 100);
	assert_int_equal(r.status, PHR_EVM_SUCCESS);
	assert_int_equal(word_u64("6004 56 fe 5b 58"), 5); /* PC after the jump */
}

static void test_invalid_and_oog(void **state)
{
	(void)state;
	struct phr_evm_result r;
	run(&r, "fe", GAS);
	assert_int_equal(r.status, PHR_EVM_INVALID_INSTRUCTION);
	assert_int_equal(r.gas_left, 0);
	const uint8_t undefined[] = { 0x0c, 0x21, 0x4b, 0xa5, 0xb0, 0xef, 0xf6, 0xfb, 0xfc };
	for (size_t i = 0; i < sizeof(undefined); i++) {
		char hex[3];
		snprintf(hex, sizeof(hex), "%02x", undefined[i]);
		run(&r, hex, GAS);
		assert_int_equal(r.status, PHR_EVM_UNDEFINED_INSTRUCTION);
		assert_int_equal(r.gas_left, 0);
		assert_null(phr_evm_opcode_name(undefined[i]));
	}
	assert_string_equal(phr_evm_opcode_name(0x5f), "PUSH0");
	assert_string_equal(phr_evm_opcode_name(0xff), "SELFDESTRUCT");
	assert_string_equal(phr_evm_status_name(PHR_EVM_REVERT), "revert");
	run(&r, "6001 6001 01", 8);
	assert_int_equal(r.status, PHR_EVM_OUT_OF_GAS);
	assert_int_equal(r.gas_left, 0);
	run(&r, "6001 6001 01", 9);
	assert_int_equal(r.status, PHR_EVM_SUCCESS);
	assert_int_equal(r.gas_left, 0);
	run(&r, "", 5); /* empty code is STOP */
	assert_int_equal(r.status, PHR_EVM_SUCCESS);
	assert_int_equal(r.gas_left, 5);
	run(&r, "61ff", 5); /* truncated PUSH2 */
	assert_int_equal(r.status, PHR_EVM_SUCCESS);
	assert_int_equal(r.gas_left, 2);
}

static void test_arith_and_stack_ops(void **state)
{
	(void)state;
	assert_int_equal(word_u64("6005 80 01"), 10);
	assert_int_equal(word_u64("6003 6007 03"), 4); /* 7 - 3 */
	assert_int_equal(word_u64("6002 6007 04"), 3); /* 7 / 2 */
	assert_int_equal(word_u64("6002 6001 90 03"), 1); /* 2 - 1 after SWAP1 */
	assert_int_equal(word_u64("600a 6002 0a"), 1024); /* 2 ** 10 */
	assert_int_equal(word_u64("6002 6001 10"), 1);	  /* 1 < 2 */
	assert_int_equal(word_u64("6001 6004 1b"), 16);	  /* SHL(shift 4, 1) */
	assert_int_equal(word_u64("6001 6004 1b 6004 1c"), 1);
	assert_int_equal(word_u64("60ff 601e 1a"), 0); /* BYTE 30 of 0xff */
	assert_int_equal(word_u64("60ff 601f 1a"), 0xff);
	assert_int_equal(word_u64("6005 6003 6004 08"), 2); /* (4 + 3) % 5 */
	/* EXP: 10 + 50 per exponent byte (EIP-160). */
	struct phr_evm_result r;
	run(&r, "610100 6002 0a 00", GAS);
	assert_int_equal(GAS - r.gas_left, 3 + 3 + 10 + 100);
	run(&r, "6000 6002 0a 00", GAS);
	assert_int_equal(GAS - r.gas_left, 3 + 3 + 10);
	struct phr_u256 v = run_word("6001 5f 03"); /* 0 - 1 */
	struct phr_u256 max;
	phr_u256_not(&max, &PHR_U256_ZERO);
	assert_true(phr_u256_eq(&v, &max));
	run(&r, "5f 00", GAS);
	assert_int_equal(GAS - r.gas_left, 2); /* PUSH0, EIP-3855 */
}

static void test_keccak(void **state)
{
	(void)state;
	struct phr_u256 v = run_word("6000 6000 20");
	uint8_t be[32], want[32];
	phr_u256_to_be(be, &v);
	unhex(want, 32, "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470");
	assert_memory_equal(be, want, 32);
	v = run_word("6020 6000 20");
	phr_u256_to_be(be, &v);
	unhex(want, 32, "290decd9548b62a8d60345a988386fc84ba6bc95484008f6362f93160ef3e563");
	assert_memory_equal(be, want, 32);
	struct phr_evm_result r;
	run(&r, "6040 6000 20 00", GAS); /* 30 + 6*2 words + memory 2 words (6) */
	assert_int_equal(GAS - r.gas_left, 3 + 3 + 30 + 12 + 6);
}

static void test_env_and_block(void **state)
{
	(void)state;
	assert_int_equal(word_u64("46"), 31337);
	assert_int_equal(word_u64("48"), 1000000000);
	assert_int_equal(word_u64("4a"), 1);
	assert_int_equal(word_u64("44"), 0x42);
	assert_int_equal(word_u64("43"), 1000);
	assert_int_equal(word_u64("42"), 1700000000);
	assert_int_equal(word_u64("45"), 30000000);
	assert_int_equal(word_u64("3a"), 7);
	assert_int_equal(word_u64("33"), CALLER);
	assert_int_equal(word_u64("30"), CONTRACT);
	assert_int_equal(word_u64("32"), 0x0a);
	assert_int_equal(word_u64("41"), 0xcb);
	assert_int_equal(word_u64("38"), 9); /* CODESIZE of "38 6000 52 6020 6000 f3" */
	struct phr_u256 v = run_word("6000 49");
	uint8_t be[32];
	phr_u256_to_be(be, &v);
	assert_int_equal(be[0], 0x01);
	assert_int_equal(be[31], 0xaa);
	assert_int_equal(word_u64("6002 49"), 0); /* past the end */
	v = run_word("6103e7 40"); /* block 999 */
	phr_u256_to_be(be, &v);
	assert_int_equal(be[0], 0xbb);
	assert_int_equal(be[31], 0xe7);
	assert_int_equal(word_u64("6103e8 40"), 0); /* current block */
	assert_int_equal(word_u64("6102e7 40"), 0); /* 257 back */
	v = run_word("6102e8 40");		    /* 256 back */
	phr_u256_to_be(be, &v);
	assert_int_equal(be[0], 0xbb);
	struct phr_evm_result r;
	run(&r, "6000 40 00", GAS);
	assert_int_equal(GAS - r.gas_left, 23);

	/* Call data: loads are zero-padded on the right. */
	struct phr_evm_message m = msg_for(GAS);
	static const uint8_t in[] = { 0x01, 0x02 };
	m.input = in;
	m.input_size = sizeof(in);
	run_msg(&r, &m, "6001 35 6000 52 36 6020 52 6040 6000 f3");
	assert_int_equal(r.status, PHR_EVM_SUCCESS);
	assert_int_equal(r.output[0], 0x02);
	assert_int_equal(r.output[1], 0x00);
	assert_int_equal(r.output[63], 2);
	phr_evm_result_release(&r);
	run_msg(&r, &m, "6004 6000 6000 37 6020 6000 f3"); /* CALLDATACOPY 4 bytes */
	assert_int_equal(r.output[0], 1);
	assert_int_equal(r.output[1], 2);
	assert_int_equal(r.output[2], 0);
	phr_evm_result_release(&r);
}

static void test_balance_cold_warm(void **state)
{
	(void)state;
	struct phr_evm_address other = th_addr(0x77);
	th_put(&H, &other, 1234, (const uint8_t *)"\x60\x01", 2);
	struct phr_evm_result r;
	run(&r, "6077 31 00", GAS);
	assert_int_equal(GAS - r.gas_left, 3 + 2600);
	run(&r, "6077 31 00", GAS); /* now warm */
	assert_int_equal(GAS - r.gas_left, 3 + 100);
	assert_int_equal(word_u64("6077 31"), 1234);
	assert_int_equal(word_u64("6077 3b"), 2);
	assert_int_equal(word_u64("6078 3b"), 0);
	run(&r, "6079 3f 00", GAS); /* EXTCODEHASH, cold */
	assert_int_equal(GAS - r.gas_left, 3 + 2600);
	assert_int_equal(word_u64("6079 3f"), 0); /* absent account: 0 */
	/* EXTCODECOPY: cold 2600 + copy 3/word + memory, zero-padded. */
	run(&r, "6020 6000 6000 607a 3c 6020 6000 f3", GAS);
	assert_int_equal(r.status, PHR_EVM_SUCCESS);
	assert_int_equal(GAS - r.gas_left, 4 * 3 + 2600 + 3 + 3 + 6);
	phr_evm_result_release(&r);
	run(&r, "6020 6000 6000 6077 3c 6020 6000 f3", GAS);
	assert_int_equal(r.output[0], 0x60);
	assert_int_equal(r.output[1], 0x01);
	assert_int_equal(r.output[2], 0x00);
	phr_evm_result_release(&r);
	/* SELFBALANCE, EIP-1884: 5 gas, no access charge. */
	th_find(&H, &(struct phr_evm_address){ .bytes = { [19] = CONTRACT } }, true)->balance =
		phr_u256_from_u64(99);
	run(&r, "47 00", GAS);
	assert_int_equal(GAS - r.gas_left, 5);
	assert_int_equal(word_u64("47"), 99);
}

static void test_sload_cold_warm(void **state)
{
	(void)state;
	struct phr_evm_address self = th_addr(CONTRACT);
	th_set_slot(&H, &self, 5, 77, false);
	struct phr_evm_result r;
	run(&r, "6005 54 50 6005 54 00", GAS);
	assert_int_equal(GAS - r.gas_left, 3 + 2100 + 2 + 3 + 100);
	assert_int_equal(word_u64("6005 54"), 77);
}

/* EIP-3529 test table (tests/vectors/evm-eip3529/sstore_refunds.csv). */
static void test_sstore_eip3529_table(void **state)
{
	(void)state;
	FILE *fp = fopen("tests/vectors/evm-eip3529/sstore_refunds.csv", "r");
	assert_non_null(fp);
	char line[256];
	int cases = 0;
	while (fgets(line, sizeof(line), fp)) {
		if (line[0] == '#' || line[0] == '\n')
			continue;
		char code[128];
		long used, refund, orig;
		assert_int_equal(sscanf(line, "%127[^,],%ld,%ld,%ld", code, &used, &refund, &orig),
				 4);
		th_init(&H);
		struct phr_evm_address self = th_addr(CONTRACT);
		th_set_slot(&H, &self, 0, (uint64_t)orig, true);
		struct phr_evm_result r;
		run(&r, code, 100000);
		assert_int_equal(r.status, PHR_EVM_SUCCESS);
		if (100000 - r.gas_left != used || r.gas_refund != refund)
			print_error("case %s orig %ld: used %ld refund %ld\n", code, orig,
				    (long)(100000 - r.gas_left), (long)r.gas_refund);
		assert_int_equal(100000 - r.gas_left, used);
		assert_int_equal(r.gas_refund, refund);
		cases++;
	}
	fclose(fp);
	assert_int_equal(cases, 17);
}

static void test_sstore_cold_and_sentry(void **state)
{
	(void)state;
	struct phr_evm_result r;
	/* Cold slot: + 2100 once (EIP-2929). */
	run(&r, "6001 6000 55 6000 6000 55", 100000);
	assert_int_equal(100000 - r.gas_left, 20112 + 2100);
	assert_int_equal(r.gas_refund, 19900);
	/* EIP-2200 sentry: gas left <= 2300 fails even for a no-op store. */
	th_init(&H);
	run(&r, "6000 6000 55", 6 + 2300);
	assert_int_equal(r.status, PHR_EVM_OUT_OF_GAS);
	th_init(&H);
	struct phr_evm_address self = th_addr(CONTRACT);
	th_set_slot(&H, &self, 0, 0, true);
	run(&r, "6000 6000 55", 6 + 2301);
	assert_int_equal(r.status, PHR_EVM_SUCCESS);
	assert_int_equal(r.gas_left, 2201);
	/* A failed frame returns no refund. */
	th_set_slot(&H, &self, 0, 1, true);
	run(&r, "6000 6000 55 fe", 100000);
	assert_int_equal(r.status, PHR_EVM_INVALID_INSTRUCTION);
	assert_int_equal(r.gas_refund, 0);
}

static void test_transient_storage(void **state)
{
	(void)state;
	struct phr_evm_result r;
	run(&r, "602a 6001 5d 6001 5c 6000 52 6020 6000 f3", GAS);
	assert_int_equal(r.status, PHR_EVM_SUCCESS);
	assert_int_equal(r.output[31], 0x2a);
	assert_int_equal(GAS - r.gas_left, 3 + 3 + 100 + 3 + 100 + 3 + 6 + 3 + 3);
	phr_evm_result_release(&r);
	assert_int_equal(word_u64("6002 5c"), 0);
}

static void test_mcopy(void **state)
{
	(void)state;
	struct phr_evm_result r;
	run(&r, "602a 6020 52 6020 6020 6000 5e 6020 6000 f3", GAS);
	assert_int_equal(r.status, PHR_EVM_SUCCESS);
	assert_int_equal(r.output[31], 0x2a);
	assert_int_equal(GAS - r.gas_left, (3 + 3 + 3 + 6) + (9 + 3 + 3) + 6);
	phr_evm_result_release(&r);
	/* Overlapping copy (memmove semantics) and expansion by the destination. */
	struct phr_u256 v = run_word("7f0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20"
				     " 6000 52 6020 6000 6001 5e 6000 51");
	uint8_t be[32];
	phr_u256_to_be(be, &v);
	assert_int_equal(be[0], 0x01);
	assert_int_equal(be[1], 0x01);
	assert_int_equal(be[31], 0x1f);
	assert_int_equal(word_u64("6020 6000 6040 5e 59"), 0x60);
	/* Zero length with a huge destination is free of memory cost. */
	run(&r, "6000 6000 7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff 5e 00",
	    GAS);
	assert_int_equal(r.status, PHR_EVM_SUCCESS);
	assert_int_equal(GAS - r.gas_left, 9 + 3);
}

static void test_static_violations(void **state)
{
	(void)state;
	static const char *const writes[] = {
		"6001 6000 55",		      /* SSTORE */
		"6001 6000 5d",		      /* TSTORE */
		"6000 6000 a0",		      /* LOG0 */
		"6000 6000 6000 f0",	      /* CREATE */
		"6000 6000 6000 6000 f5",     /* CREATE2 */
		"60dd ff",		      /* SELFDESTRUCT */
		"6000 6000 6000 6000 6001 60bb 6000 f1", /* CALL with value */
	};
	for (size_t i = 0; i < PHR_ARRAY_LEN(writes); i++) {
		th_init(&H);
		struct phr_evm_message m = msg_for(GAS);
		m.is_static = true;
		struct phr_evm_result r;
		run_msg(&r, &m, writes[i]);
		assert_int_equal(r.status, PHR_EVM_STATIC_MODE_VIOLATION);
		assert_int_equal(r.gas_left, 0);
	}
	/* A value-less CALL, reads and CALLCODE with value are allowed. */
	th_init(&H);
	struct phr_evm_message m = msg_for(GAS);
	m.is_static = true;
	struct phr_evm_result r;
	run_msg(&r, &m, "6000 6000 6000 6000 6000 60bb 6000 f1 6000 54 6000 5c 00");
	assert_int_equal(r.status, PHR_EVM_SUCCESS);

	/* STATICCALL to a writer: the child fails, the caller gets 0, no write. */
	th_init(&H);
	struct phr_evm_address callee = th_addr(0xbb);
	th_put(&H, &callee, 0, (const uint8_t *)"\x60\x01\x60\x00\x55\x00", 6);
	assert_int_equal(word_u64("6000 6000 6000 6000 60bb 61ffff fa"), 0);
	assert_int_equal(H.last_child_depth, 1);
	struct phr_u256 k = PHR_U256_ZERO;
	struct th_slot *s = th_slot_find(&H, &callee, &k, false);
	assert_true(!s || phr_u256_is_zero(&s->cur));
	/* The same through CALL works. */
	assert_int_equal(word_u64("6000 6000 6000 6000 6000 60bb 61ffff f1"), 1);
}

static void test_revert_data(void **state)
{
	(void)state;
	struct phr_evm_result r;
	run(&r, "60aa 6000 52 6020 6000 fd", 1000);
	assert_int_equal(r.status, PHR_EVM_REVERT);
	assert_int_equal(1000 - r.gas_left, 3 + 3 + 6 + 3 + 3);
	assert_int_equal(r.gas_refund, 0);
	assert_int_equal(r.output_size, 32);
	assert_int_equal(r.output[31], 0xaa);
	phr_evm_result_release(&r);
	run(&r, "6000 6000 fd", 1000);
	assert_int_equal(r.status, PHR_EVM_REVERT);
	assert_int_equal(r.output_size, 0);
	assert_null(r.output);
}

static void test_return_data(void **state)
{
	(void)state;
	struct phr_evm_address callee = th_addr(0xbb);
	/* callee returns the word 0x2a */
	th_put(&H, &callee, 0, (const uint8_t *)"\x60\x2a\x60\x00\x52\x60\x20\x60\x00\xf3", 10);
	assert_int_equal(word_u64("6000 6000 6000 6000 6000 60bb 61ffff f1 50"
				  " 6020 6000 6000 3e 6000 51"),
			 0x2a);
	assert_int_equal(word_u64("6000 6000 6000 6000 6000 60bb 61ffff f1 50 3d"), 32);
	assert_int_equal(word_u64("3d"), 0);
	/* CALL copies the output into its own output area. */
	assert_int_equal(word_u64("6020 6000 6000 6000 6000 60bb 61ffff f1 50 6000 51"), 0x2a);
	assert_int_equal(word_u64("6040 6000 6000 6000 6000 60bb 61ffff f1 50 59"), 0x40);
	struct phr_evm_result r;
	run(&r, "6000 6000 6000 6000 6000 60bb 61ffff f1 50 6021 6000 6000 3e", GAS);
	assert_int_equal(r.status, PHR_EVM_INVALID_MEMORY_ACCESS);
	assert_int_equal(r.gas_left, 0);
	run(&r, "6000 6021 6000 3e", GAS); /* empty buffer, offset past it */
	assert_int_equal(r.status, PHR_EVM_INVALID_MEMORY_ACCESS);
	run(&r, "6000 6000 6000 3e 00", GAS); /* empty copy of an empty buffer */
	assert_int_equal(r.status, PHR_EVM_SUCCESS);

	/* Revert data of a child is the return data; the call pushes 0. */
	struct phr_evm_address reverter = th_addr(0xbc);
	th_put(&H, &reverter, 0, (const uint8_t *)"\x60\x2b\x60\x00\x52\x60\x20\x60\x00\xfd", 10);
	assert_int_equal(word_u64("6000 6000 6000 6000 6000 60bc 61ffff f1"), 0);
	assert_int_equal(word_u64("6000 6000 6000 6000 6000 60bc 61ffff f1 50"
				  " 6020 6000 6000 3e 6000 51"),
			 0x2b);
}

/* A failed call leaves no return data and writes nothing to the output area,
 * and costs the child's gas, even if a host attaches output or gas to it. */
static void test_failed_call_has_no_output(void **state)
{
	(void)state;
	H.fail_addr = 0xfa;
	assert_int_equal(word_u64("6020 6000 6000 6000 6000 60fa 6103e8 f1 3d"), 0);
	assert_int_equal(word_u64("6001 6000 52 6020 6000 6000 6000 6000 60fa 6103e8 f1 50"
				  " 6000 51"),
			 1);
	struct phr_evm_result r;
	run(&r, "6000 6000 6000 6000 6000 60fa 6103e8 f1 00", 100000);
	assert_int_equal(r.status, PHR_EVM_SUCCESS);
	assert_int_equal(100000 - r.gas_left, 21 + 100 + 1000); /* 0xfa warm by now */
}

static void test_call_gas_rules(void **state)
{
	(void)state;
	struct phr_evm_result r;
	/* EIP-150: the child gets all but 1/64 of what is left. */
	run(&r, "6000 6000 6000 6000 6000 60bb 62ffffff f1 00", 100000);
	assert_int_equal(r.status, PHR_EVM_SUCCESS);
	int64_t avail = 100000 - 21 - 2600;
	assert_int_equal(H.last_child_gas, avail - avail / 64);
	assert_int_equal(100000 - r.gas_left, 21 + 2600); /* empty child returns all */
	/* A smaller request is honoured. */
	run(&r, "6000 6000 6000 6000 6000 60bb 6064 f1 00", 100000);
	assert_int_equal(H.last_child_gas, 100);

	/* Value to a new account: 9000 + 25000, child gets the 2300 stipend, and
	 * the unused stipend comes back to the caller. */
	th_init(&H);
	struct phr_evm_address self = th_addr(CONTRACT);
	th_put(&H, &self, 10, NULL, 0);
	run(&r, "6000 6000 6000 6000 6001 60dd 6000 f1 00", 100000);
	assert_int_equal(r.status, PHR_EVM_SUCCESS);
	assert_int_equal(H.last_child_gas, 2300);
	assert_int_equal(100000 - r.gas_left, 21 + 2600 + 9000 + 25000 - 2300);
	struct th_account *dd = th_find(&H, &(struct phr_evm_address){ .bytes = { [19] = 0xdd } },
					false);
	assert_non_null(dd);
	assert_int_equal(dd->balance.w[0], 1);
	/* Existing account: no 25000. CALLCODE never pays it. */
	run(&r, "6000 6000 6000 6000 6001 60dd 6000 f1 00", 100000);
	assert_int_equal(100000 - r.gas_left, 21 + 100 + 9000 - 2300);
	run(&r, "6000 6000 6000 6000 6001 60de 6000 f2 00", 100000);
	assert_int_equal(100000 - r.gas_left, 21 + 2600 + 9000 - 2300);

	/* Not enough balance: no call, 0 pushed, the gas (stipend too) kept. */
	unsigned calls = H.calls;
	assert_int_equal(word_u64("6000 6000 6000 6000 6064 60dd 6000 f1"), 0);
	assert_int_equal(H.calls, calls);

	/* Depth 1024: no call. */
	struct phr_evm_message m = msg_for(100000);
	m.depth = PHR_EVM_MAX_DEPTH;
	run_msg(&r, &m, "6000 6000 6000 6000 6000 60bb 6000 f1 6000 52 6020 6000 f3");
	assert_int_equal(r.status, PHR_EVM_SUCCESS);
	assert_int_equal(r.output[31], 0);
	assert_int_equal(H.calls, calls);
	phr_evm_result_release(&r);
	m.depth = PHR_EVM_MAX_DEPTH - 1;
	run_msg(&r, &m, "6000 6000 6000 6000 6000 60bb 6000 f1 6000 52 6020 6000 f3");
	assert_int_equal(r.output[31], 1);
	assert_int_equal(H.last_child_depth, PHR_EVM_MAX_DEPTH);
	phr_evm_result_release(&r);

	/* DELEGATECALL keeps sender and value; the callee sees CALLER. */
	th_init(&H);
	struct phr_evm_address callee = th_addr(0xbb);
	th_put(&H, &callee, 0, (const uint8_t *)"\x33\x60\x00\x52\x60\x20\x60\x00\xf3", 9);
	assert_int_equal(word_u64("6020 6000 6000 6000 60bb 61ffff f4 50 6000 51"), CALLER);
	assert_int_equal(word_u64("6020 6000 6000 6000 6000 60bb 61ffff f1 50 6000 51"), CONTRACT);
}

static void test_create(void **state)
{
	(void)state;
	/* initcode: PUSH5 60016000f3, MSTORE at 0, RETURN(27, 5). */
	const char *creator = "6d 6460016000f36000526005601bf3 6000 52"
			      " 600e 6012 6000 f0 6000 52 6020 6000 f3";
	struct phr_evm_result r;
	run(&r, creator, GAS);
	assert_int_equal(r.status, PHR_EVM_SUCCESS);
	assert_int_equal(r.output[12], 0xc0);
	assert_int_equal(r.output[31], 0xc0);
	assert_int_equal(GAS - r.gas_left, 12 + 9 + 32002 + 18 + 1000 + 12);
	struct phr_evm_address created;
	memcpy(created.bytes, r.output + 12, 20);
	phr_evm_result_release(&r);
	struct th_account *a = th_find(&H, &created, false);
	assert_non_null(a);
	assert_int_equal(a->code_len, 5);
	assert_int_equal(a->code[0], 0x60);
	assert_int_equal(word_u64("6000 6000 6000 f0 3d"), 0); /* no return data after success */

	/* CREATE2 costs 6 more per initcode word (EIP-1014) plus the salt push. */
	th_init(&H);
	run(&r, "6040 6000 6000 f0 00", GAS);
	int64_t c1 = GAS - r.gas_left;
	th_init(&H);
	run(&r, "6000 6040 6000 6000 f5 00", GAS);
	assert_int_equal(GAS - r.gas_left, c1 + 3 + 12);
	assert_int_equal(c1, 9 + 32000 + 4 + 6); /* 2 words initcode, 2 words memory */

	/* EIP-3860: 49152 bytes are fine, 49153 are an exceptional halt. */
	th_init(&H);
	run(&r, "61c000 6000 6000 f0 00", 10000000);
	assert_int_equal(r.status, PHR_EVM_SUCCESS);
	run(&r, "61c001 6000 6000 f0 00", 10000000);
	assert_int_equal(r.status, PHR_EVM_OUT_OF_GAS);
	assert_int_equal(r.gas_left, 0);

	/* A reverting initcode: 0 pushed, its revert data is the return data. */
	th_init(&H);
	const char *rev = "69 60bb6000526020 6000fd 6000 52 600a 6016 6000 f0 50 3d";
	assert_int_equal(word_u64(rev), 32);
	/* Depth limit and balance checks push 0 without calling. */
	unsigned calls = H.calls;
	assert_int_equal(word_u64("6000 6000 6001 f0"), 0); /* value 1, balance 0 */
	assert_int_equal(H.calls, calls);
}

static void test_logs(void **state)
{
	(void)state;
	struct phr_evm_result r;
	run(&r, "6002 6001 6020 6000 a2 00", GAS);
	assert_int_equal(r.status, PHR_EVM_SUCCESS);
	assert_int_equal(GAS - r.gas_left, 12 + 375 + 2 * 375 + 8 * 32 + 3);
	assert_int_equal(H.s.logs_n, 1);
	assert_int_equal(H.s.logs[0].topics_count, 2);
	assert_int_equal(H.s.logs[0].topics[0].bytes[31], 1);
	assert_int_equal(H.s.logs[0].topics[1].bytes[31], 2);
	assert_int_equal(H.s.logs[0].data_size, 32);
	assert_int_equal(H.s.logs[0].addr.bytes[19], CONTRACT);
	run(&r, "6000 6000 a0 00", GAS);
	assert_int_equal(GAS - r.gas_left, 6 + 375);
	assert_int_equal(H.s.logs_n, 2);
}

static void test_selfdestruct(void **state)
{
	(void)state;
	struct phr_evm_address self = th_addr(CONTRACT);
	th_put(&H, &self, 10, NULL, 0);
	struct phr_evm_result r;
	run(&r, "60dd ff fe", GAS);
	assert_int_equal(r.status, PHR_EVM_SUCCESS);
	assert_int_equal(GAS - r.gas_left, 3 + 5000 + 2600 + 25000);
	assert_int_equal(H.s.selfdestructs, 1);
	struct th_account *dd = th_find(&H, &(struct phr_evm_address){ .bytes = { [19] = 0xdd } },
					false);
	assert_non_null(dd);
	assert_int_equal(dd->balance.w[0], 10);
	/* Warm beneficiary, nothing to send: 5000 only. */
	run(&r, "60dd ff", GAS);
	assert_int_equal(GAS - r.gas_left, 3 + 5000);
}

/* The interpreter's inline fast paths against include/phr/u256.h, on
 * pseudo-random operands (fixed seed) that hit small, large and shift cases. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static struct phr_u256 rnd_word(void)
{
	struct phr_u256 v;
	unsigned shape = (unsigned)(rng() % 4);
	for (int i = 0; i < 4; i++)
		v.w[i] = rng();
	if (shape == 0) /* fits in 64 bits */
		v.w[1] = v.w[2] = v.w[3] = 0;
	else if (shape == 1) /* small: a shift amount or tiny divisor */
		v = phr_u256_from_u64(rng() % 300);
	else if (shape == 2) /* zero limbs in the middle */
		v.w[1] = v.w[2] = 0;
	return v;
}

static void test_inline_arith_matches_u256(void **state)
{
	(void)state;
	static const uint8_t ops[] = { 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x10,
				       0x11, 0x12, 0x13, 0x14, 0x16, 0x17, 0x18, 0x1b, 0x1c };
	for (int iter = 0; iter < 720; iter++) {
		struct phr_u256 a = rnd_word(), b = rnd_word(), want;
		struct phr_u256 m = rnd_word();
		if (rng() % 2) { /* negative small values for the signed paths */
			phr_u256_neg(&a, &a);
			if (rng() % 2)
				phr_u256_neg(&b, &b);
		}
		uint8_t op = ops[iter % sizeof(ops)];
		switch (op) {
		case 0x01: phr_u256_add(&want, &a, &b); break;
		case 0x02: phr_u256_mul(&want, &a, &b); break;
		case 0x03: phr_u256_sub(&want, &a, &b); break;
		case 0x04: phr_u256_div(&want, &a, &b); break;
		case 0x05: phr_u256_sdiv(&want, &a, &b); break;
		case 0x06: phr_u256_mod(&want, &a, &b); break;
		case 0x07: phr_u256_smod(&want, &a, &b); break;
		case 0x08:
			if (rng() % 2) { /* reduced addends: the inline path */
				phr_u256_mod(&a, &a, &m);
				phr_u256_mod(&b, &b, &m);
			}
			phr_u256_addmod(&want, &a, &b, &m);
			break;
		case 0x12: want = phr_u256_from_u64(phr_u256_scmp(&a, &b) < 0); break;
		case 0x13: want = phr_u256_from_u64(phr_u256_scmp(&a, &b) > 0); break;
		case 0x10: want = phr_u256_from_u64(phr_u256_cmp(&a, &b) < 0); break;
		case 0x11: want = phr_u256_from_u64(phr_u256_cmp(&a, &b) > 0); break;
		case 0x14: want = phr_u256_from_u64(phr_u256_eq(&a, &b)); break;
		case 0x16: phr_u256_and(&want, &a, &b); break;
		case 0x17: phr_u256_or(&want, &a, &b); break;
		case 0x18: phr_u256_xor(&want, &a, &b); break;
		case 0x1b: phr_u256_shl_u256(&want, &a, &b); break; /* shift a, value b */
		default: phr_u256_shr_u256(&want, &a, &b); break;
		}
		/* [PUSH32 m,] PUSH32 b, PUSH32 a, op: a is the top */
		char hex[3 * 70 + 64];
		uint8_t be[32];
		size_t n = 0;
		if (op == 0x08) {
			n += (size_t)snprintf(hex + n, sizeof(hex) - n, "7f");
			phr_u256_to_be(be, &m);
			for (int i = 0; i < 32; i++)
				n += (size_t)snprintf(hex + n, sizeof(hex) - n, "%02x", be[i]);
		}
		n += (size_t)snprintf(hex + n, sizeof(hex) - n, "7f");
		phr_u256_to_be(be, &b);
		for (int i = 0; i < 32; i++)
			n += (size_t)snprintf(hex + n, sizeof(hex) - n, "%02x", be[i]);
		n += (size_t)snprintf(hex + n, sizeof(hex) - n, "7f");
		phr_u256_to_be(be, &a);
		for (int i = 0; i < 32; i++)
			n += (size_t)snprintf(hex + n, sizeof(hex) - n, "%02x", be[i]);
		snprintf(hex + n, sizeof(hex) - n, "%02x", op);
		struct phr_u256 got = run_word(hex);
		if (!phr_u256_eq(&got, &want))
			print_error("op %02x iter %d mismatch\n", op, iter);
		assert_true(phr_u256_eq(&got, &want));
	}
}

/* Self-recursion down to the depth limit: the 1025th frame is refused. */
static void test_call_depth_recursion(void **state)
{
	(void)state;
	struct phr_evm_result r;
	run(&r, "6000 6000 6000 6000 6000 30 5a f1 00", INT64_C(1000000000000));
	assert_int_equal(r.status, PHR_EVM_SUCCESS);
	assert_int_equal(H.last_child_depth, PHR_EVM_MAX_DEPTH);
	assert_int_equal(H.calls, PHR_EVM_MAX_DEPTH);
}

static void test_gas_opcode(void **state)
{
	(void)state;
	struct phr_evm_result r;
	run(&r, "5a 6000 52 6020 6000 f3", 1000);
	assert_int_equal(r.output[30] * 256 + r.output[31], 998);
	phr_evm_result_release(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_add_return_gas, setup),
		cmocka_unit_test_setup(test_memory_expansion, setup),
		cmocka_unit_test_setup(test_stack_limits, setup),
		cmocka_unit_test_setup(test_jumps, setup),
		cmocka_unit_test_setup(test_invalid_and_oog, setup),
		cmocka_unit_test_setup(test_arith_and_stack_ops, setup),
		cmocka_unit_test_setup(test_keccak, setup),
		cmocka_unit_test_setup(test_env_and_block, setup),
		cmocka_unit_test_setup(test_balance_cold_warm, setup),
		cmocka_unit_test_setup(test_sload_cold_warm, setup),
		cmocka_unit_test_setup(test_sstore_eip3529_table, setup),
		cmocka_unit_test_setup(test_sstore_cold_and_sentry, setup),
		cmocka_unit_test_setup(test_transient_storage, setup),
		cmocka_unit_test_setup(test_mcopy, setup),
		cmocka_unit_test_setup(test_static_violations, setup),
		cmocka_unit_test_setup(test_revert_data, setup),
		cmocka_unit_test_setup(test_return_data, setup),
		cmocka_unit_test_setup(test_failed_call_has_no_output, setup),
		cmocka_unit_test_setup(test_call_gas_rules, setup),
		cmocka_unit_test_setup(test_create, setup),
		cmocka_unit_test_setup(test_logs, setup),
		cmocka_unit_test_setup(test_selfdestruct, setup),
		cmocka_unit_test_setup(test_inline_arith_matches_u256, setup),
		cmocka_unit_test_setup(test_call_depth_recursion, setup),
		cmocka_unit_test_setup(test_gas_opcode, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
