/*
 * Fuzz target for the escrow wire formats an escrow node parses from the
 * network (emergency.h): deposit bodies (with the manifest inside), release
 * requests and bare manifests. The first byte picks the parser.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "phr/crypto.h"
#include "phr/emergency.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct phr_escrow_deposit d;
	struct phr_escrow_release_req r;
	struct phr_escrow_manifest m;
	const char *text;

	if (size < 1 || phr_crypto_init() != PHR_OK)
		return 0;
	text = (const char *)data + 1;
	switch (data[0] % 3) {
	case 0:
		if (phr_escrow_deposit_parse(&d, text, size - 1) == PHR_OK) {
			/* what parsed is consistent */
			if (d.manifest.t < 2 || d.manifest.t > d.manifest.n ||
			    d.manifest.n > PHR_ESCROW_HOLDERS_MAX || d.manifest_text == NULL ||
			    d.ciphertext_len != d.manifest.summary_bytes)
				abort();
			phr_escrow_deposit_release(&d);
		}
		break;
	case 1:
		if (phr_escrow_release_req_parse(&r, text, size - 1) == PHR_OK && r.timestamp == 0 &&
		    r.patient[0] == 0xff && r.requester[0] == 0xff && r.holder[0] == 0xff)
			return 0; /* keep the result used */
		break;
	default:
		if (phr_escrow_manifest_parse(&m, text, size - 1) == PHR_OK &&
		    (m.t < 2 || m.t > m.n || m.summary_cid[0] == '\0'))
			abort();
		break;
	}
	return 0;
}
