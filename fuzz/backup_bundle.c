/*
 * Fuzz target for backup bundles (CARv1 + signed manifest): parse, then
 * verify structurally and with a fixed reader key pair.
 */
#include <stdint.h>
#include <string.h>

#include "phr/backup.h"
#include "phr/crypto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t seed[32] = { 9, 8, 7 };
	struct phr_backup_report rep;
	struct phr_backup *b = NULL;
	uint8_t pk[32], sk[32];

	if (phr_crypto_init() != PHR_OK || phr_crypto_box_seed_keypair(pk, sk, seed) != PHR_OK)
		return 0;
	if (phr_backup_parse(&b, &rep, data, size) != PHR_OK)
		return 0;
	if (phr_backup_verify(b, &rep, NULL, NULL, NULL) == PHR_OK &&
	    phr_backup_verify(b, &rep, rep.patient, pk, sk) == PHR_OK)
		__builtin_trap(); /* no capsule is sealed to this fixed key */
	phr_backup_free(b);
	return 0;
}
