/*
 * Fuzz target for recovery key shares (phr-recovery-share/1 JSON): parse,
 * serialise again, and try to open/reseal and combine with a fixed key pair.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "phr/crypto.h"
#include "phr/recovery.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t seed[32] = { 1, 2, 3 };
	struct phr_recovery_share sh, out, two[2];
	uint8_t pk[32], sk[32], secret[32];
	json_t *j;

	if (phr_crypto_init() != PHR_OK || phr_crypto_box_seed_keypair(pk, sk, seed) != PHR_OK)
		return 0;
	if (phr_recovery_share_parse(&sh, (const char *)data, size) != PHR_OK)
		return 0;
	j = phr_recovery_share_json(&sh);
	if (j != NULL) {
		char *t = json_dumps(j, JSON_COMPACT);
		struct phr_recovery_share again;
		/* what we write we read back identically */
		if (t != NULL && (phr_recovery_share_parse(&again, t, strlen(t)) != PHR_OK ||
				  memcmp(&again, &sh, sizeof(sh)) != 0))
			__builtin_trap();
		free(t);
		json_decref(j);
	}
	if (phr_recovery_share_reseal(&out, &sh, pk, sk, sh.to, pk) == PHR_OK) {
		two[0] = out;
		two[1] = out;
		two[1].index = out.index % 16 + 1;
		if (phr_recovery_shares_combine(secret, two, 2, pk, sk) == PHR_OK)
			memset(secret, 0, sizeof(secret));
	}
	return 0;
}
