/*
 * Unit tests: RIPEMD-160 against the test vectors on its authors' page
 * (homes.esat.kuleuven.be/~bosselae/ripemd160.html), sha256/identity through
 * the precompile interface, pricing edge cases, dispatch and status rules.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "phr/core.h"
#include "phr/precompile.h"

static void addr_of(uint8_t a[20], uint8_t id)
{
	memset(a, 0, 20);
	a[19] = id;
}

static void hex32(uint8_t *out, size_t n, const char *hex)
{
	assert_int_equal(phr_hex_decode_exact(out, n, hex), PHR_OK);
}

/* Runs @p id with plenty of gas; returns the status, output in @p out. */
static int run(uint8_t id, const void *in, size_t n, struct phr_buf *out, int64_t *used)
{
	uint8_t a[20];
	addr_of(a, id);
	return phr_precompile_run(a, in, n, 10000000, out, used);
}

static void test_ripemd160_vectors(void **state)
{
	(void)state;
	static const struct {
		const char *msg;
		const char *digest;
	} v[] = {
		{"", "9c1185a5c5e9fc54612808977ee8f548b2258d31"},
		{"a", "0bdc9d2d256b3ee9daae347be6f4dc835a467ffe"},
		{"abc", "8eb208f7e05d987a9b044a8e98c6b087f15a0bfc"},
		{"message digest", "5d0689ef49d2fae572b881b123a85ffa21595f36"},
		{"abcdefghijklmnopqrstuvwxyz", "f71c27109c692c1b56bbdceb5b9d2865b3708dbc"},
		{"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
		 "12a053384a9c0c88e405a06c27dcf49ada62eb2b"},
		{"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
		 "b0e20b6e3116640286ed3a87a5713079b21f5189"},
		{"12345678901234567890123456789012345678901234567890123456789012345678901234567890",
		 "9b752e45573d4b39f4dbd3323cab82bf63326bfb"},
	};
	struct phr_buf out;
	phr_buf_init(&out, 0);
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		int64_t used;
		size_t n = strlen(v[i].msg);
		assert_int_equal(run(3, v[i].msg, n, &out, &used), PHR_PRECOMPILE_OK);
		assert_int_equal(used, 600 + 120 * (int64_t)((n + 31) / 32));
		uint8_t want[32] = {0};
		hex32(want + 12, 20, v[i].digest);
		assert_int_equal(out.len, 32);
		assert_memory_equal(out.data, want, 32);
	}
	/* one million 'a' */
	size_t big = 1000000;
	char *m = malloc(big);
	assert_non_null(m);
	memset(m, 'a', big);
	int64_t used;
	assert_int_equal(run(3, m, big, &out, &used), PHR_PRECOMPILE_OK);
	uint8_t want[32] = {0};
	hex32(want + 12, 20, "52783243c1697bdbe16d37f97f68f08325dc1528");
	assert_memory_equal(out.data, want, 32);
	free(m);
	phr_buf_release(&out);
}

static void test_sha256_identity(void **state)
{
	(void)state;
	struct phr_buf out;
	int64_t used;
	phr_buf_init(&out, 0);
	uint8_t want[32];
	hex32(want, 32, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	assert_int_equal(run(2, "abc", 3, &out, &used), PHR_PRECOMPILE_OK);
	assert_int_equal(used, 72);
	assert_memory_equal(out.data, want, 32);
	hex32(want, 32, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	assert_int_equal(run(2, NULL, 0, &out, &used), PHR_PRECOMPILE_OK);
	assert_int_equal(used, 60);
	assert_memory_equal(out.data, want, 32);
	uint8_t data[33];
	for (int i = 0; i < 33; i++)
		data[i] = (uint8_t)i;
	assert_int_equal(run(4, data, 33, &out, &used), PHR_PRECOMPILE_OK);
	assert_int_equal(used, 15 + 3 * 2);
	assert_int_equal(out.len, 33);
	assert_memory_equal(out.data, data, 33);
	assert_int_equal(run(4, NULL, 0, &out, &used), PHR_PRECOMPILE_OK);
	assert_int_equal(used, 15);
	assert_int_equal(out.len, 0);
	phr_buf_release(&out);
}

static void test_dispatch_and_status(void **state)
{
	(void)state;
	uint8_t a[20];
	for (int id = 0; id < 256; id++) {
		addr_of(a, (uint8_t)id);
		assert_int_equal(phr_precompile_is(a), id >= 1 && id <= 10);
		assert_int_equal(phr_precompile_name(a) != NULL, id >= 1 && id <= 10);
	}
	addr_of(a, 1);
	a[0] = 1;
	assert_false(phr_precompile_is(a));
	assert_int_equal(phr_precompile_gas(a, NULL, 0), -1);

	struct phr_buf out;
	int64_t used;
	phr_buf_init(&out, 0);
	/* point evaluation: a bad length fails and consumes all gas */
	addr_of(a, 10);
	assert_int_equal(phr_precompile_gas(a, NULL, 0), 50000);
	assert_int_equal(phr_precompile_run(a, NULL, 0, 60000, &out, &used), PHR_PRECOMPILE_FAILURE);
	assert_int_equal(used, 60000);
	assert_int_equal(phr_precompile_run(a, NULL, 0, 49999, &out, &used),
			 PHR_PRECOMPILE_OUT_OF_GAS);
	assert_int_equal(used, 49999);
	/* out of gas leaves output empty; negative limits count as zero */
	addr_of(a, 4);
	assert_int_equal(phr_precompile_run(a, (const uint8_t *)"x", 1, 17, &out, &used), PHR_PRECOMPILE_OUT_OF_GAS);
	assert_int_equal(out.len, 0);
	assert_int_equal(used, 17);
	assert_int_equal(phr_precompile_run(a, (const uint8_t *)"x", 1, -5, &out, &used), PHR_PRECOMPILE_OUT_OF_GAS);
	assert_int_equal(used, 0);
	assert_int_equal(phr_precompile_run(a, (const uint8_t *)"x", 1, 18, &out, &used), PHR_PRECOMPILE_OK);
	assert_int_equal(used, 18);
	/* ecrecover: any bad input gives empty output and full price, not failure */
	uint8_t in[128] = {0};
	in[63] = 27;
	assert_int_equal(run(1, in, 128, &out, &used), PHR_PRECOMPILE_OK);
	assert_int_equal(out.len, 0);
	assert_int_equal(used, 3000);
	assert_int_equal(run(1, NULL, 0, &out, &used), PHR_PRECOMPILE_OK);
	assert_int_equal(out.len, 0);
	phr_buf_release(&out);
}

static void test_modexp_small(void **state)
{
	(void)state;
	struct phr_buf out;
	int64_t used;
	phr_buf_init(&out, 0);
	/* 3^5 mod 7 = 5 with 1-byte lengths; 2^256 mod (2^64+1) cases via vectors */
	uint8_t in[99] = {0};
	in[31] = 1;
	in[63] = 1;
	in[95] = 1;
	in[96] = 3;
	in[97] = 5;
	in[98] = 7;
	assert_int_equal(run(5, in, sizeof in, &out, &used), PHR_PRECOMPILE_OK);
	assert_int_equal(out.len, 1);
	assert_int_equal(out.data[0], 5);
	assert_int_equal(used, 200);
	/* modulus 0 gives zeros of mod_len */
	in[98] = 0;
	assert_int_equal(run(5, in, sizeof in, &out, &used), PHR_PRECOMPILE_OK);
	assert_int_equal(out.len, 1);
	assert_int_equal(out.data[0], 0);
	/* exponent 0: 1 mod m; modulus 1: 0 */
	in[97] = 0;
	in[98] = 9;
	assert_int_equal(run(5, in, sizeof in, &out, &used), PHR_PRECOMPILE_OK);
	assert_int_equal(out.data[0], 1);
	in[98] = 1;
	assert_int_equal(run(5, in, sizeof in, &out, &used), PHR_PRECOMPILE_OK);
	assert_int_equal(out.data[0], 0);
	/* huge declared lengths: price saturates, the call runs out of gas */
	uint8_t huge[96];
	memset(huge, 0xff, sizeof huge);
	uint8_t a[20];
	addr_of(a, 5);
	assert_int_equal(phr_precompile_gas(a, huge, sizeof huge), INT64_MAX);
	assert_int_equal(run(5, huge, sizeof huge, &out, &used), PHR_PRECOMPILE_OUT_OF_GAS);
	/* zero base and modulus lengths with a huge exponent length: 200 gas, empty */
	memset(huge, 0, 64);
	memset(huge + 64, 0, 32);
	memset(huge + 32, 0xff, 32);
	assert_int_equal(phr_precompile_gas(a, huge, sizeof huge), 200);
	assert_int_equal(run(5, huge, sizeof huge, &out, &used), PHR_PRECOMPILE_OK);
	assert_int_equal(out.len, 0);
	phr_buf_release(&out);
}

/* G1 generator (1, 2) and the G2 generator of EIP-197, hex. */
#define G1_GEN                                                                                     \
	"0000000000000000000000000000000000000000000000000000000000000001"                         \
	"0000000000000000000000000000000000000000000000000000000000000002"
#define G2_GEN                                                                                     \
	"198e9393920d483a7260bfb731fb5d25f1aa493335a9e71297e485b7aef312c2"                         \
	"1800deef121f1e76426a00665e5c4479674322d4f75edadd46debd5cd992f6ed"                         \
	"090689d0585ff075ec9e99ad690c3395bc4b313370b38ef355acdadcd122975b"                         \
	"12c85ea5db8c6deb4aab71808dcb408fe3d1e7690c43d37b4ce6cc0166fa7daa"
/* x = 2 + i on the twist y^2 = x^3 + 3/(9+i) (y from a Python square root),
 * not in the order-r subgroup. */
#define G2_OFF_SUBGROUP                                                                            \
	"0000000000000000000000000000000000000000000000000000000000000001"                         \
	"0000000000000000000000000000000000000000000000000000000000000002"                         \
	"2b76c179599bb92a963dac85546a005a777f7c13f6a7b75d5918b6b5808f5fde"                         \
	"101f7278419308b95099eca02dcee0c5381f4d26d1d62313f057167f064101ce"
#define FIELD_P "30644e72e131a029b85045b68181585d97816a916871ca8d3c208c16d87cfd47"

static int run_hex(uint8_t id, const char *hex, struct phr_buf *out)
{
	uint8_t buf[512];
	size_t n;
	int64_t used;
	assert_int_equal(phr_hex_decode(buf, sizeof buf, &n, hex, strlen(hex)), PHR_OK);
	return run(id, buf, n, out, &used);
}

static void test_bn254_invalid_points(void **state)
{
	(void)state;
	struct phr_buf out;
	phr_buf_init(&out, 0);
	/* valid pairs first, so the failures below are about the one changed field */
	assert_int_equal(run_hex(6, G1_GEN G1_GEN, &out), PHR_PRECOMPILE_OK);
	assert_int_equal(run_hex(8, G1_GEN G2_GEN, &out), PHR_PRECOMPILE_OK);
	assert_int_equal(out.len, 32);
	assert_int_equal(out.data[31], 0); /* e(G1, G2) != 1 */
	/* (1, 3) is not on the curve */
	const char *bad = "0000000000000000000000000000000000000000000000000000000000000001"
			  "0000000000000000000000000000000000000000000000000000000000000003";
	char in[1024];
	snprintf(in, sizeof in, "%s%s", G1_GEN, bad);
	assert_int_equal(run_hex(6, in, &out), PHR_PRECOMPILE_FAILURE);
	assert_int_equal(out.len, 0);
	snprintf(in, sizeof in, "%s%s", bad, "00");
	assert_int_equal(run_hex(7, in, &out), PHR_PRECOMPILE_FAILURE);
	snprintf(in, sizeof in, "%s%s", bad, G2_GEN);
	assert_int_equal(run_hex(8, in, &out), PHR_PRECOMPILE_FAILURE);
	/* x = p (not reduced) with y = 2: (p, 2) is (0, 2) mod p, still invalid encoding */
	snprintf(in, sizeof in, "%s%s%s", FIELD_P,
		 "0000000000000000000000000000000000000000000000000000000000000002", G1_GEN);
	assert_int_equal(run_hex(6, in, &out), PHR_PRECOMPILE_FAILURE);
	/* G2 point on the twist but outside the subgroup */
	snprintf(in, sizeof in, "%s%s", G1_GEN, G2_OFF_SUBGROUP);
	assert_int_equal(run_hex(8, in, &out), PHR_PRECOMPILE_FAILURE);
	/* G2 point off the twist: change the last byte of y */
	snprintf(in, sizeof in, "%s%s", G1_GEN, G2_GEN);
	in[strlen(in) - 1] = 'b';
	assert_int_equal(run_hex(8, in, &out), PHR_PRECOMPILE_FAILURE);
	/* G2 coordinate >= p */
	snprintf(in, sizeof in, "%s%s%s", G1_GEN, FIELD_P, G2_GEN + 64);
	assert_int_equal(run_hex(8, in, &out), PHR_PRECOMPILE_FAILURE);
	/* pairing length not a multiple of 192 */
	snprintf(in, sizeof in, "%s%s00", G1_GEN, G2_GEN);
	assert_int_equal(run_hex(8, in, &out), PHR_PRECOMPILE_FAILURE);
	/* infinity in either slot contributes 1: (O, G2) and (G1, O) pairs give 1 */
	snprintf(in, sizeof in, "%0128d%s", 0, G2_GEN);
	assert_int_equal(run_hex(8, in, &out), PHR_PRECOMPILE_OK);
	assert_int_equal(out.data[31], 1);
	snprintf(in, sizeof in, "%s%0256d", G1_GEN, 0);
	assert_int_equal(run_hex(8, in, &out), PHR_PRECOMPILE_OK);
	assert_int_equal(out.data[31], 1);
	phr_buf_release(&out);
}

/* go-ethereum's ecRecover "ValidKey" case: hash, v = 28, r, s (s is high). */
#define EC_HASH "18c547e4f7b0f325ad1e56f57e26c745b09a3e503d86e00e5255ff7f715d3d1c"
#define EC_R "73b1693892219d736caba55bdb67216e485557ea6b6af75f37096c9aa6a5a75f"
#define EC_S_HIGH "eeb940b1d03b21e36b0e47e79769f095fe2ab855bd91e3a38756b7d75a9c4549"
/* n - s (computed with Python), valid with the other parity */
#define EC_S_LOW "1146bf4e2fc4de1c94f1b81868960f68bc842490f1b6bc98387ba6b57599fbf8"
#define EC_ORDER "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141"
#define EC_V(v) "00000000000000000000000000000000000000000000000000000000000000" v
#define EC_ADDR "000000000000000000000000a94f5374fce5edbc8e2a8697c15331677e6ebf0b"

static void test_ecrecover_ranges(void **state)
{
	(void)state;
	struct phr_buf out;
	uint8_t want[32];
	phr_buf_init(&out, 0);
	hex32(want, 32, EC_ADDR);
	/* the high-s original and its low-s twin recover the same address */
	assert_int_equal(run_hex(1, EC_HASH EC_V("1c") EC_R EC_S_HIGH, &out), PHR_PRECOMPILE_OK);
	assert_int_equal(out.len, 32);
	assert_memory_equal(out.data, want, 32);
	assert_int_equal(run_hex(1, EC_HASH EC_V("1b") EC_R EC_S_LOW, &out), PHR_PRECOMPILE_OK);
	assert_int_equal(out.len, 32);
	assert_memory_equal(out.data, want, 32);
	/* trailing bytes past 128 are ignored */
	assert_int_equal(run_hex(1, EC_HASH EC_V("1c") EC_R EC_S_HIGH "ffff", &out), PHR_PRECOMPILE_OK);
	assert_memory_equal(out.data, want, 32);
	/* v = 29, 0, 1 */
	assert_int_equal(run_hex(1, EC_HASH EC_V("1d") EC_R EC_S_HIGH, &out), PHR_PRECOMPILE_OK);
	assert_int_equal(out.len, 0);
	assert_int_equal(run_hex(1, EC_HASH EC_V("01") EC_R EC_S_HIGH, &out), PHR_PRECOMPILE_OK);
	assert_int_equal(out.len, 0);
	/* r = n, s = n, r = 0, s = 0 */
	assert_int_equal(run_hex(1, EC_HASH EC_V("1c") EC_ORDER EC_S_HIGH, &out), PHR_PRECOMPILE_OK);
	assert_int_equal(out.len, 0);
	assert_int_equal(run_hex(1, EC_HASH EC_V("1c") EC_R EC_ORDER, &out), PHR_PRECOMPILE_OK);
	assert_int_equal(out.len, 0);
	assert_int_equal(run_hex(1, EC_HASH EC_V("1c") EC_V("00") EC_S_HIGH, &out), PHR_PRECOMPILE_OK);
	assert_int_equal(out.len, 0);
	assert_int_equal(run_hex(1, EC_HASH EC_V("1c") EC_R EC_V("00"), &out), PHR_PRECOMPILE_OK);
	assert_int_equal(out.len, 0);
	phr_buf_release(&out);
}

/* Twist points generated with Python (tests' own arithmetic, checked there
 * against [r]Q): multiples [2], [3], [r-1] of the G2 generator (in G2), and
 * points on the twist outside G2 (x = k + 3i, and [2]G2 plus one of those). */
static const char *const g2_in[] = {
	"203e205db4f19b37b60121b83a7333706db86431c6d835849957ed8c3928ad7927dc7234fd11d3e8c36c59277c3e6f149d5cd3cfa9a62aee49f8130962b4b3b9195e8aa5b7827463722b8c153931579d3505566b4edf48d498e185f0509de15204bb53b8977e5f92a0bc372742c4830944a59b4fe6b1c0466e2a6dad122b5d2e"
	"",
	"1014772f57bb9742735191cd5dcfe4ebbc04156b6878a0a7c9824f32ffb66e8506064e784db10e9051e52826e192715e8d7e478cb09a5e0012defa0694fbc7f5021e2335f3354bb7922ffcc2f38d3323dd9453ac49b55441452aeaca147711b2058e1d5681b5b9e0074b0f9c8d2c68a069b920d74521e79765036d57666c5597"
	"",
	"198e9393920d483a7260bfb731fb5d25f1aa493335a9e71297e485b7aef312c21800deef121f1e76426a00665e5c4479674322d4f75edadd46debd5cd992f6ed275dc4a288d1afb3cbb1ac09187524c7db36395df7be3b99e673b13a075a65ec1d9befcd05a5323e6da4d435f3b617cdb3af83285c2df711ef39c01571827f9d"
	"",
};
static const char *const g2_off[] = {
	"000000000000000000000000000000000000000000000000000000000000000300000000000000000000000000000000000000000000000000000000000000021b3983aba87e776f3bce1885442ec3e9c6ad7f6f05321c57eebe5dcf0c2e7f320239d6264efb1d130c43464ef93b83508adf1cf49b9571dc36dbbaa2a17dc655"
	"",
	"000000000000000000000000000000000000000000000000000000000000000300000000000000000000000000000000000000000000000000000000000000042285ae9d51c46989a11f4842444bbc851594b225b9a0a6d35554022ad433a0b41b95b320d1c253f67624cf89a3adbe8209f0753fc8e867ae9812e06e7bc22fe1"
	"",
	"000000000000000000000000000000000000000000000000000000000000000300000000000000000000000000000000000000000000000000000000000000051cd9e8ca33b2daa24f86345d063a9575730130a8c3ca9186055424561d7aca7c1c4c5d3c144f02ce2554f9c28b268155ab1964d1739b8d2aada3302de88351b7"
	"",
	"0000000000000000000000000000000000000000000000000000000000000003000000000000000000000000000000000000000000000000000000000000000728c41d8c6e29a2845bd9166d11c30a86392b353f14321ead7a6518f49f74b2d12d195734dff657b3c493d6a507524ba0e9bc57edf1f90026bde1603f5cfaff25"
	"",
	"000000000000000000000000000000000000000000000000000000000000000300000000000000000000000000000000000000000000000000000000000000091664122d6452f0cbef1cc550aab6b728dd9bad1c2356a4d963c38182a7b76f8100e6728be3781c82457f29ea3777179418b9a996ef6302025a3783900dc81a9e"
	"",
	"30136fa2d6eae436b4eb1104f7dfe656e245ddbbbf8fe01aafb2612c5928c613079b1a4572ae50bb5a28fe3dbd60e4ddaca187fb5f0da6911872e21d3f7399fa0e6d39326fd897fd1db4747f754e857b261da44f819346fb4c05ef89d785c99425ed67c9b3809c16abb2c9816e2ed7b65d34c5f65a7351a1d14ff0ba241d427e"
	"",
};

static void test_bn254_g2_subgroup(void **state)
{
	(void)state;
	struct phr_buf out;
	char in[1024];
	phr_buf_init(&out, 0);
	for (size_t i = 0; i < sizeof g2_in / sizeof g2_in[0]; i++) {
		snprintf(in, sizeof in, "%s%s", G1_GEN, g2_in[i]);
		assert_int_equal(run_hex(8, in, &out), PHR_PRECOMPILE_OK);
		assert_int_equal(out.data[31], 0);
	}
	for (size_t i = 0; i < sizeof g2_off / sizeof g2_off[0]; i++) {
		snprintf(in, sizeof in, "%s%s", G1_GEN, g2_off[i]);
		assert_int_equal(run_hex(8, in, &out), PHR_PRECOMPILE_FAILURE);
	}
	phr_buf_release(&out);
}

static void test_internal_errors(void **state)
{
	(void)state;
	uint8_t a[20];
	struct phr_buf out;
	int64_t used;
	phr_buf_init(&out, 0);
	addr_of(a, 5);
	/* base_len 2^26 (64 MiB), mod_len 1: priced below INT64_MAX, refused at run time */
	uint8_t in[99] = {0};
	in[28] = 0x04; /* 0x04000000 */
	in[63] = 1;
	in[95] = 1;
	int64_t price = phr_precompile_gas(a, in, sizeof in);
	assert_true(price > 0 && price < INT64_MAX);
	assert_int_equal(phr_precompile_run(a, in, sizeof in, INT64_MAX, &out, &used),
			 PHR_PRECOMPILE_INTERNAL_ERROR);
	assert_int_equal(used, 0);
	assert_int_equal(out.len, 0);
	/* an allocation failure inside modexp is an internal error, not a result */
	uint8_t small[99] = {0};
	small[31] = 1;
	small[63] = 1;
	small[95] = 1;
	small[96] = 3;
	small[97] = 5;
	small[98] = 7;
	phr_alloc_fail_at(1);
	int st = phr_precompile_run(a, small, sizeof small, 1000, &out, &used);
	phr_alloc_fail_at(0);
	assert_int_equal(st, PHR_PRECOMPILE_INTERNAL_ERROR);
	assert_int_equal(used, 0);
	/* not a precompile */
	addr_of(a, 11);
	assert_int_equal(phr_precompile_run(a, NULL, 0, 1000, &out, &used),
			 PHR_PRECOMPILE_INTERNAL_ERROR);
	phr_buf_release(&out);
}

/* ethereum/tests (EEST) point-evaluation case correct_proof_02e696ada7d4631d, fields split:
 * versioned hash, z, y, commitment, proof (valid proof). */
#define KZG_VHASH "010657f37554c781402a22917dee2f75def7ab966d7b770905398eba3c444014"
#define KZG_Z "0000000000000000000000000000000000000000000000000000000000000002"
#define KZG_Y "0000000000000000000000000000000000000000000000000000000000000000"
#define KZG_C                                                                                      \
	"c00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
#define KZG_PROOF                                                                                  \
	"c00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
#define BLS_R "73eda753299d7d483339d80809a1d80553bda402fffe5bfeffffffff00000001"

static void test_point_evaluation_rejects(void **state)
{
	(void)state;
	struct phr_buf out;
	char in[512];
	phr_buf_init(&out, 0);
	snprintf(in, sizeof in, "%s%s%s%s%s", KZG_VHASH, KZG_Z, KZG_Y, KZG_C, KZG_PROOF);
	assert_int_equal(run_hex(10, in, &out), PHR_PRECOMPILE_OK);
	assert_int_equal(out.len, 64);
	/* wrong y (last digit changed): the pairing check fails */
	snprintf(in, sizeof in, "%s%s%.63s%c%s%s", KZG_VHASH, KZG_Z, KZG_Y, 'd', KZG_C, KZG_PROOF);
	assert_int_equal(run_hex(10, in, &out), PHR_PRECOMPILE_FAILURE);
	/* wrong versioned hash (version byte 02) */
	snprintf(in, sizeof in, "02%s%s%s%s%s", KZG_VHASH + 2, KZG_Z, KZG_Y, KZG_C, KZG_PROOF);
	assert_int_equal(run_hex(10, in, &out), PHR_PRECOMPILE_FAILURE);
	/* z = r is not a field element */
	snprintf(in, sizeof in, "%s%s%s%s%s", KZG_VHASH, BLS_R, KZG_Y, KZG_C, KZG_PROOF);
	assert_int_equal(run_hex(10, in, &out), PHR_PRECOMPILE_FAILURE);
	/* proof without the compression flag, proof = infinity with a stray bit */
	snprintf(in, sizeof in, "%s%s%s%s3%s", KZG_VHASH, KZG_Z, KZG_Y, KZG_C, KZG_PROOF + 1);
	assert_int_equal(run_hex(10, in, &out), PHR_PRECOMPILE_FAILURE);
	snprintf(in, sizeof in, "%s%s%s%sc%094d1", KZG_VHASH, KZG_Z, KZG_Y, KZG_C, 0);
	assert_int_equal(run_hex(10, in, &out), PHR_PRECOMPILE_FAILURE);
	/* one byte short */
	snprintf(in, sizeof in, "%s%s%s%s%.94s", KZG_VHASH, KZG_Z, KZG_Y, KZG_C, KZG_PROOF);
	assert_int_equal(run_hex(10, in, &out), PHR_PRECOMPILE_FAILURE);
	phr_buf_release(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ripemd160_vectors),
		cmocka_unit_test(test_sha256_identity),
		cmocka_unit_test(test_dispatch_and_status),
		cmocka_unit_test(test_modexp_small),
		cmocka_unit_test(test_bn254_invalid_points),
		cmocka_unit_test(test_ecrecover_ranges),
		cmocka_unit_test(test_bn254_g2_subgroup),
		cmocka_unit_test(test_internal_errors),
		cmocka_unit_test(test_point_evaluation_rejects),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
