/* u256: known answers from tests/vectors/u256/ops.txt (BigInt-generated) and EVM edge cases. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "phr/u256.h"

static struct phr_u256 H(const char *hex)
{
	char buf[80];
	struct phr_u256 r;
	snprintf(buf, sizeof(buf), "0x%s", hex);
	assert_int_equal(phr_u256_parse(&r, buf), 0);
	return r;
}

static void check(const char *what, const struct phr_u256 *got, const struct phr_u256 *want)
{
	if (!phr_u256_eq(got, want)) {
		char g[67], w[67];
		phr_u256_to_quantity(g, got);
		phr_u256_to_quantity(w, want);
		fail_msg("%s: got %s want %s", what, g, w);
	}
}

static void test_vectors(void **state)
{
	(void)state;
	FILE *f = fopen("tests/vectors/u256/ops.txt", "r");
	assert_non_null(f);
	char line[512];
	int n = 0;
	while (fgets(line, sizeof(line), f)) {
		if (line[0] == '#' || line[0] == '\n')
			continue;
		char op[16], a[80], b[80], c[80], d[80];
		int k = sscanf(line, "%15s %79s %79s %79s %79s", op, a, b, c, d);
		struct phr_u256 x, y, r, want;
		if (strcmp(op, "dec") == 0) {
			assert_int_equal(k, 3);
			x = H(a);
			char dec[PHR_U256_DEC_LEN];
			phr_u256_to_dec(dec, &x);
			assert_string_equal(dec, b);
			assert_int_equal(phr_u256_parse(&y, b), 0);
			check(line, &y, &x);
			n++;
			continue;
		}
		x = H(a);
		y = H(b);
		if (strcmp(op, "addmod") == 0 || strcmp(op, "mulmod") == 0) {
			assert_int_equal(k, 5);
			struct phr_u256 m = H(c);
			want = H(d);
			if (op[0] == 'a')
				phr_u256_addmod(&r, &x, &y, &m);
			else
				phr_u256_mulmod(&r, &x, &y, &m);
			check(line, &r, &want);
			n++;
			continue;
		}
		assert_int_equal(k, 4);
		want = H(c);
		if (!strcmp(op, "add")) (void)phr_u256_add(&r, &x, &y);
		else if (!strcmp(op, "sub")) (void)phr_u256_sub(&r, &x, &y);
		else if (!strcmp(op, "mul")) phr_u256_mul(&r, &x, &y);
		else if (!strcmp(op, "div")) phr_u256_div(&r, &x, &y);
		else if (!strcmp(op, "mod")) phr_u256_mod(&r, &x, &y);
		else if (!strcmp(op, "sdiv")) phr_u256_sdiv(&r, &x, &y);
		else if (!strcmp(op, "smod")) phr_u256_smod(&r, &x, &y);
		else if (!strcmp(op, "exp")) phr_u256_exp(&r, &x, &y);
		else if (!strcmp(op, "signextend")) phr_u256_signextend(&r, &x, &y);
		else if (!strcmp(op, "byte")) phr_u256_byte(&r, &x, &y);
		else if (!strcmp(op, "shl")) phr_u256_shl_u256(&r, &x, &y);
		else if (!strcmp(op, "shr")) phr_u256_shr_u256(&r, &x, &y);
		else if (!strcmp(op, "sar")) phr_u256_sar_u256(&r, &x, &y);
		else if (!strcmp(op, "lt")) r = phr_u256_from_u64(phr_u256_cmp(&x, &y) < 0);
		else if (!strcmp(op, "slt")) r = phr_u256_from_u64(phr_u256_scmp(&x, &y) < 0);
		else fail_msg("unknown op %s", op);
		check(line, &r, &want);
		/* divmod must agree with div and mod */
		if (!strcmp(op, "div")) {
			struct phr_u256 q, rem, m2;
			phr_u256_divmod(&q, &rem, &x, &y);
			check("divmod q", &q, &want);
			phr_u256_mod(&m2, &x, &y);
			check("divmod r", &rem, &m2);
		}
		n++;
	}
	fclose(f);
	assert_true(n > 2500);
}

static void test_edges(void **state)
{
	(void)state;
	struct phr_u256 zero = PHR_U256_ZERO, one = phr_u256_from_u64(1), r, t;
	struct phr_u256 min = H("8000000000000000000000000000000000000000000000000000000000000000");
	struct phr_u256 all = H("ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff");
	/* division by zero */
	phr_u256_div(&r, &all, &zero);
	assert_true(phr_u256_is_zero(&r));
	phr_u256_sdiv(&r, &all, &zero);
	assert_true(phr_u256_is_zero(&r));
	phr_u256_smod(&r, &all, &zero);
	assert_true(phr_u256_is_zero(&r));
	phr_u256_mulmod(&r, &all, &all, &zero);
	assert_true(phr_u256_is_zero(&r));
	/* -2^255 / -1 = -2^255 */
	phr_u256_sdiv(&r, &min, &all);
	check("min/-1", &r, &min);
	/* -2^255 smod -1 = 0 */
	phr_u256_smod(&r, &min, &all);
	assert_true(phr_u256_is_zero(&r));
	/* shifts >= 256 */
	phr_u256_shl(&r, &all, 256);
	assert_true(phr_u256_is_zero(&r));
	phr_u256_shr(&r, &all, 1000);
	assert_true(phr_u256_is_zero(&r));
	phr_u256_sar(&r, &min, 256);
	check("sar neg 256", &r, &all);
	phr_u256_sar(&r, &one, 300);
	assert_true(phr_u256_is_zero(&r));
	t = H("10000000000000000"); /* 2^64: shift amount with upper limbs set */
	phr_u256_sar_u256(&r, &t, &min);
	check("sar big shift", &r, &all);
	phr_u256_shl(&r, &one, 255);
	check("1<<255", &r, &min);
	/* signextend of byte 31 and beyond: identity */
	t = phr_u256_from_u64(31);
	phr_u256_signextend(&r, &t, &min);
	check("signextend 31", &r, &min);
	t = H("100000000000000000000");
	struct phr_u256 x = phr_u256_from_u64(0xff);
	phr_u256_signextend(&r, &t, &x);
	check("signextend big", &r, &x);
	t = phr_u256_from_u64(0);
	phr_u256_signextend(&r, &t, &x);
	check("signextend 0 of 0xff", &r, &all);
	/* mulmod with 512-bit intermediate: (2^256-1)^2 mod (2^256-2) = 1 */
	struct phr_u256 m = H("fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffe");
	phr_u256_mulmod(&r, &all, &all, &m);
	check("mulmod", &r, &one);
	phr_u256_addmod(&r, &all, &all, &m);
	struct phr_u256 two = phr_u256_from_u64(2);
	check("addmod", &r, &two);
	/* byte */
	t = phr_u256_from_u64(0);
	phr_u256_byte(&r, &t, &min);
	x = phr_u256_from_u64(0x80);
	check("byte0", &r, &x);
	t = phr_u256_from_u64(32);
	phr_u256_byte(&r, &t, &all);
	assert_true(phr_u256_is_zero(&r));
	/* carry/borrow */
	assert_true(phr_u256_add(&r, &all, &one));
	assert_true(phr_u256_is_zero(&r));
	assert_true(phr_u256_sub(&r, &zero, &one));
	check("0-1", &r, &all);
	/* bits/bytes/compare */
	assert_int_equal(phr_u256_bits(&all), 256);
	assert_int_equal(phr_u256_bytes(&one), 1);
	assert_int_equal(phr_u256_bits(&zero), 0);
	assert_int_equal(phr_u256_scmp(&min, &one), -1);
	assert_int_equal(phr_u256_cmp(&min, &one), 1);
	/* parse/print */
	char q[67], dec[PHR_U256_DEC_LEN];
	phr_u256_to_quantity(q, &zero);
	assert_string_equal(q, "0x0");
	phr_u256_to_dec(dec, &all);
	assert_string_equal(dec, "115792089237316195423570985008687907853269984665640564039457584007913129639935");
	assert_int_equal(phr_u256_parse(&r, "115792089237316195423570985008687907853269984665640564039457584007913129639936"), -1);
	assert_int_equal(phr_u256_parse(&r, "0x1" "0000000000000000000000000000000000000000000000000000000000000000"), -1);
	assert_int_equal(phr_u256_parse(&r, "0x000000000000000000000000000000000000000000000000000000000000000000001"), 0);
	check("leading zeros", &r, &one);
	assert_int_equal(phr_u256_parse(&r, ""), -1);
	assert_int_equal(phr_u256_parse(&r, "0x"), -1);
	assert_int_equal(phr_u256_parse(&r, "-1"), -1);
	assert_int_equal(phr_u256_parse(&r, "12a"), -1);
	assert_int_equal(phr_u256_parse(&r, "0xg"), -1);
	/* big-endian round trip */
	uint8_t be[32];
	phr_u256_to_be(be, &min);
	assert_int_equal(be[0], 0x80);
	phr_u256_from_be_n(&r, (const uint8_t *)"\x01\x02", 2);
	x = phr_u256_from_u64(0x102);
	check("from_be_n", &r, &x);
	/* aliasing: r = a */
	r = phr_u256_from_u64(7);
	phr_u256_mul(&r, &r, &r);
	x = phr_u256_from_u64(49);
	check("alias mul", &r, &x);
}

static uint64_t rng_state = 0x853c49e6748fea9bull;

static uint64_t rnd(void)
{
	/* splitmix64 */
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Random values with the limb patterns that stress long division. */
static struct phr_u256 rnd_u256(void)
{
	struct phr_u256 v = PHR_U256_ZERO;
	unsigned limbs = 1 + (unsigned)(rnd() % 4);
	for (unsigned i = 0; i < limbs; i++) {
		switch (rnd() % 6) {
		case 0: v.w[i] = 0; break;
		case 1: v.w[i] = UINT64_MAX; break;
		case 2: v.w[i] = 1; break;
		case 3: v.w[i] = (uint64_t)1 << 63; break;
		default: v.w[i] = rnd(); break;
		}
	}
	if (rnd() % 3 == 0)
		phr_u256_shr(&v, &v, (unsigned)(rnd() % 64));
	return v;
}

/* Algebraic identities over many random operands: a = q*b + r with r < b,
 * the same for SDIV/SMOD, shifts undoing each other, and MULMOD/ADDMOD
 * agreeing with DIVMOD where no 256-bit overflow is possible. */
static void test_identities(void **state)
{
	(void)state;
	for (int i = 0; i < 200000; i++) {
		struct phr_u256 a = rnd_u256(), b = rnd_u256(), q, r, t, u;
		if (phr_u256_is_zero(&b))
			continue;
		phr_u256_divmod(&q, &r, &a, &b);
		assert_true(phr_u256_cmp(&r, &b) < 0);
		phr_u256_mul(&t, &q, &b);
		assert_false(phr_u256_add(&t, &t, &r));
		check("q*b+r", &t, &a);
		phr_u256_sdiv(&q, &a, &b);
		phr_u256_smod(&r, &a, &b);
		phr_u256_mul(&t, &q, &b);
		(void)phr_u256_add(&t, &t, &r);
		check("sq*b+sr", &t, &a);
		unsigned n = (unsigned)(rnd() % 256);
		phr_u256_shl(&t, &a, n);
		phr_u256_shr(&t, &t, n);
		/* keeps the low 256-n bits: a & (~0 >> n) */
		phr_u256_not(&u, &PHR_U256_ZERO);
		phr_u256_shr(&u, &u, n);
		phr_u256_and(&u, &u, &a);
		check("shr(shl)", &t, &u);
		/* products of two values below 2^128 fit: mulmod = (a*b) mod m */
		struct phr_u256 x = a, y = b, m = rnd_u256();
		x.w[2] = x.w[3] = y.w[2] = y.w[3] = 0;
		phr_u256_mulmod(&t, &x, &y, &m);
		phr_u256_mul(&u, &x, &y);
		phr_u256_mod(&u, &u, &m);
		check("mulmod small", &t, &u);
		/* sums of two values below 2^255 fit: addmod = (a+b) mod m */
		x = a;
		y = b;
		x.w[3] >>= 1;
		y.w[3] >>= 1;
		phr_u256_addmod(&t, &x, &y, &m);
		(void)phr_u256_add(&u, &x, &y);
		phr_u256_mod(&u, &u, &m);
		check("addmod small", &t, &u);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors),
		cmocka_unit_test(test_edges),
		cmocka_unit_test(test_identities),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
