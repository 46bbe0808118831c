/*
 * ns per call of the generated bindings on the node's hot paths (accessUntil and canAccess
 * calldata + result, AuditTrail.logViews calldata of 8 and 64 entries of 53 bytes), side by
 * side with the generic path the bindings used before (JSON arguments + phr_abi_encode_call;
 * phr_abi_type_parse + phr_abi_decode), in one run. bench/contracts.sh --bindings runs it.
 * Usage: bench_bindings [iterations (200000)]
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "phr/abi.h"
#include "phr/contracts.h"

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static uint8_t patient[20], provider[20], entries[64 * 53];
static struct phr_u256 record;
static uint8_t word_until[32], word_true[32];
static volatile uint64_t sink;

static json_t *hex(const uint8_t *p, size_t n)
{
	char *s = malloc(2 * n + 3);
	json_t *j;

	if (!s || phr_hex_encode(s, 2 * n + 3, p, n, true))
		abort();
	j = json_string(s);
	free(s);
	return j;
}

/* The generic path, as the generated code did it before the direct encoders. */
static int generic_four(struct phr_buf *out, const char *sig)
{
	char dec[PHR_U256_DEC_LEN];
	json_t *a = json_array();
	int err;

	phr_u256_to_dec(dec, &record);
	json_array_append_new(a, hex(provider, 20));
	json_array_append_new(a, hex(patient, 20));
	json_array_append_new(a, json_string(dec));
	json_array_append_new(a, json_string("2"));
	err = phr_abi_encode_call(out, sig, a);
	json_decref(a);
	return err;
}

static int generic_decode_word(const char *type, const uint8_t *d, size_t n)
{
	struct phr_abi_type *t = NULL;
	struct phr_abi_value *v = NULL;
	int err = phr_abi_type_parse(&t, type);

	if (!err)
		err = phr_abi_decode(&v, t, d, n);
	if (!err)
		sink += v->items[0].num.w[0];
	phr_abi_value_free(v);
	phr_abi_type_free(t);
	return err;
}

static int generic_log_views(struct phr_buf *out, size_t n)
{
	json_t *a = json_array();
	int err;

	json_array_append_new(a, hex(entries, n));
	err = phr_abi_encode_call(out, "logViews(bytes)", a);
	json_decref(a);
	return err;
}

enum op { ACCESS_UNTIL, CAN_ACCESS, LOG_VIEWS_8, LOG_VIEWS_64 };

static int run(enum op op, bool generic, struct phr_buf *b)
{
	uint64_t until = 0;
	bool ok = false;
	int err;

	phr_buf_reset(b);
	switch (op) {
	case ACCESS_UNTIL:
		err = generic ? generic_four(b, "accessUntil(address,address,uint256,uint8)")
			      : phr_contracts_patient_registry_access_until_encode(b, provider, patient, &record, 2);
		if (!err)
			err = generic ? generic_decode_word("(uint64)", word_until, 32)
				      : phr_contracts_patient_registry_access_until_decode(&until, word_until, 32);
		sink += until;
		return err;
	case CAN_ACCESS:
		err = generic ? generic_four(b, "canAccess(address,address,uint256,uint8)")
			      : phr_contracts_patient_registry_can_access_encode(b, provider, patient, &record, 2);
		if (!err)
			err = generic ? generic_decode_word("(bool)", word_true, 32)
				      : phr_contracts_patient_registry_can_access_decode(&ok, word_true, 32);
		sink += ok;
		return err;
	case LOG_VIEWS_8:
	case LOG_VIEWS_64: {
		size_t n = (op == LOG_VIEWS_8 ? 8 : 64) * 53;

		return generic ? generic_log_views(b, n) : phr_contracts_audit_trail_log_views_encode(b, entries, n);
	}
	}
	return PHR_ERR_INTERNAL;
}

int main(int argc, char **argv)
{
	static const char *names[] = { "accessUntil encode+decode", "canAccess encode+decode",
				       "logViews(8 x 53 B) encode", "logViews(64 x 53 B) encode" };
	long iters = argc > 1 ? strtol(argv[1], NULL, 10) : 200000;
	struct phr_buf b;

	if (iters <= 0)
		return 2;
	memset(patient, 0x11, sizeof(patient));
	memset(provider, 0x22, sizeof(provider));
	for (size_t i = 0; i < sizeof(entries); i++)
		entries[i] = (uint8_t)(i * 7 + 1);
	record = phr_u256_from_u64(123456789);
	word_until[31] = 0x42;
	word_until[30] = 0x65;
	word_true[31] = 1;
	phr_buf_init(&b, 0);
	printf("%-28s %12s %12s %8s\n", "call", "direct ns", "generic ns", "ratio");
	for (int op = 0; op < 4; op++) {
		double ns[2];
		long n = op >= LOG_VIEWS_8 ? iters / 4 : iters;

		for (int g = 0; g < 2; g++) {
			double t0 = now_ns();

			for (long i = 0; i < n; i++)
				if (run((enum op)op, g, &b) != PHR_OK) {
					fprintf(stderr, "%s failed\n", names[op]);
					return 1;
				}
			ns[g] = (now_ns() - t0) / (double)n;
		}
		printf("%-28s %12.1f %12.1f %7.1fx\n", names[op], ns[0], ns[1], ns[1] / ns[0]);
	}
	phr_buf_release(&b);
	return 0;
}
