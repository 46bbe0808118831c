/*
 * Differential fuzzing of the directly generated result decoders against the eth module's
 * generic decoder: the first byte picks a result type, the rest is return data; the direct
 * decoder and phr_abi_decode of the same type must agree on the error code, and on success on
 * every output (string/bytes included). A disagreement aborts.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "phr/abi.h"
#include "phr/contracts.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
	if (!ok)
		abort();
}

static struct phr_abi_value *generic(int *rc, const char *type, const uint8_t *d, size_t n)
{
	struct phr_abi_type *t = NULL;
	struct phr_abi_value *v = NULL;

	check(phr_abi_type_parse(&t, type) == PHR_OK);
	*rc = phr_abi_decode(&v, t, n ? d : (const uint8_t *)"", n);
	if (*rc) {
		phr_abi_type_free(t);
		return NULL;
	}
	return v;
}

static void release(struct phr_abi_value *v)
{
	const struct phr_abi_type *t = v ? v->type : NULL;

	phr_abi_value_free(v);
	phr_abi_type_free((struct phr_abi_type *)t);
}

static bool same_bytes(const uint8_t *a, const struct phr_abi_value *v, size_t n)
{
	return v->len == n && memcmp(a, v->bytes, n) == 0;
}

static bool same_buf(const struct phr_buf *b, const struct phr_abi_value *v)
{
	return b->len == v->len && (!v->len || memcmp(b->data, v->bytes, v->len) == 0);
}

static void record_of(const uint8_t *d, size_t n)
{
	uint8_t pat[20], prov[20], h[32];
	uint64_t rt, created;
	struct phr_u256 sup, sby;
	struct phr_buf cid;
	int rg, rd;
	struct phr_abi_value *v = generic(&rg, "((address,uint8,uint64,address,uint256,uint256,bytes32,string))", d, n);

	phr_buf_init(&cid, 1 << 20);
	rd = phr_contracts_health_record_nft_record_of_decode(pat, &rt, &created, prov, &sup, &sby, h, &cid, n ? d : NULL, n);
	check(rd == rg);
	if (!rd) {
		const struct phr_abi_value *r = &v->items[0];

		check(same_bytes(pat, &r->items[0], 20) && rt == r->items[1].num.w[0] &&
		      created == r->items[2].num.w[0] && same_bytes(prov, &r->items[3], 20) &&
		      phr_u256_eq(&sup, &r->items[4].num) && phr_u256_eq(&sby, &r->items[5].num) &&
		      same_bytes(h, &r->items[6], 32) && same_buf(&cid, &r->items[7]));
	}
	phr_buf_release(&cid);
	release(v);
}

static void proposal(const uint8_t *d, size_t n)
{
	uint8_t to[20];
	struct phr_buf data;
	struct phr_u256 conf;
	bool done;
	int rg, rd;
	struct phr_abi_value *v = generic(&rg, "(address,bytes,uint256,bool)", d, n);

	phr_buf_init(&data, 1 << 20);
	rd = phr_contracts_governance_multisig_proposal_decode(to, &data, &conf, &done, n ? d : NULL, n);
	check(rd == rg);
	if (!rd)
		check(same_bytes(to, &v->items[0], 20) && same_buf(&data, &v->items[1]) &&
		      phr_u256_eq(&conf, &v->items[2].num) && done == !phr_u256_is_zero(&v->items[3].num));
	phr_buf_release(&data);
	release(v);
}

static void provider_info(const uint8_t *d, size_t n)
{
	uint64_t status, role, since;
	uint8_t auth[20], lic[32];
	int rg, rd;
	struct phr_abi_value *v = generic(&rg, "(uint8,uint8,uint64,address,bytes32)", d, n);

	rd = phr_contracts_provider_registry_provider_info_decode(&status, &role, &since, auth, lic, n ? d : NULL, n);
	check(rd == rg);
	if (!rd)
		check(status == v->items[0].num.w[0] && role == v->items[1].num.w[0] &&
		      since == v->items[2].num.w[0] && same_bytes(auth, &v->items[3], 20) &&
		      same_bytes(lic, &v->items[4], 32));
	release(v);
}

static void can_access(const uint8_t *d, size_t n)
{
	bool yes;
	int rg, rd;
	struct phr_abi_value *v = generic(&rg, "(bool)", d, n);

	rd = phr_contracts_patient_registry_can_access_decode(&yes, n ? d : NULL, n);
	check(rd == rg);
	if (!rd)
		check(yes == !phr_u256_is_zero(&v->items[0].num));
	release(v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	switch (data[0] % 4) {
	case 0:
		record_of(data + 1, size - 1);
		break;
	case 1:
		proposal(data + 1, size - 1);
		break;
	case 2:
		provider_info(data + 1, size - 1);
		break;
	default:
		can_access(data + 1, size - 1);
		break;
	}
	return 0;
}
