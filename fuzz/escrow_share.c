/*
 * Fuzz target for what a provider's client parses from escrow nodes: release
 * answers (JSON with a manifest, its signature, a sealed share and the
 * ciphertext) combined by phr_emergency_combine, and raw sealed shares opened
 * with a fixed key pair. The first byte picks the path.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "phr/crypto.h"
#include "phr/emergency.h"
#include "phr/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t sk_acct[32] = { 0x4c, 0x08, 0x83, 0xa6, 0x91, 0x02, 0x93, 0x7d,
					     0x62, 0x31, 0x47, 0x1b, 0x5d, 0xbb, 0x62, 0x04,
					     0xfe, 0x51, 0x29, 0x61, 0x70, 0x82, 0x79, 0x2a,
					     0xe4, 0x68, 0xd0, 0x1a, 0x3f, 0x36, 0x23, 0x18 };
	static const uint8_t patient[20] = { 0xf3, 0x9f, 0xd6, 0xe5 };
	uint8_t pk[32], sk[32], share[33];
	struct phr_buf out;
	json_t *arr = NULL, *list[PHR_ESCROW_HOLDERS_MAX];
	char err[32];
	size_t n = 0;

	if (size < 1 || phr_crypto_init() != PHR_OK)
		return 0;
	if (data[0] & 1) {
		if (size - 1 < PHR_ESCROW_SEALED_BYTES ||
		    phr_identity_box_keys(pk, sk, sk_acct) != PHR_OK)
			return 0;
		if (phr_escrow_share_open(share, data + 1, pk, sk, patient, "bafkreiaaaa") == PHR_OK &&
		    share[0] == 0)
			abort(); /* x = 0 is never accepted */
		return 0;
	}
	if (phr_json_parse(&arr, err, sizeof(err), (const char *)data + 1, size - 1) != PHR_OK)
		return 0;
	if (json_is_array(arr)) {
		for (size_t i = 0; i < json_array_size(arr) && n < PHR_ESCROW_HOLDERS_MAX; i++)
			list[n++] = json_array_get(arr, i);
	} else {
		list[n++] = arr;
	}
	phr_buf_init(&out, 0);
	if (phr_emergency_combine(&out, sk_acct, patient, NULL, list, n) == PHR_OK && out.len == 0 &&
	    out.data != NULL)
		abort();
	phr_buf_release(&out);
	json_decref(arr);
	return 0;
}
