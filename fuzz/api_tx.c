/*
 * Fuzzes the node's transaction relay checks (phr_api_tx_check): input = the
 * signed transaction bytes a client posts to POST /api/v1/tx. The deployment
 * is fixed (chain 31337, contracts 0x11..11 registry, 0x22..22 emergency,
 * ...), the caller the first dev account, so the seeds signed with that key
 * (fuzz/corpus/api_tx, made with cast mktx) reach every check. Nothing may
 * crash, leak or read out of bounds; an accepted transaction must come from
 * the caller and call a deployment contract.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "phr/api_tx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* 0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266 */
	static const uint8_t caller[20] = { 0xf3, 0x9f, 0xd6, 0xe5, 0x1a, 0xad, 0x88, 0xf6, 0xf4, 0xce,
					    0x6a, 0xb8, 0x82, 0x72, 0x79, 0xcf, 0xff, 0xb9, 0x22, 0x66 };
	struct phr_deployment d;
	struct phr_api_tx_info info;

	memset(&d, 0, sizeof(d));
	d.chain_id = 31337;
	memset(d.registry, 0x11, 20);
	memset(d.emergency, 0x22, 20);
	memset(d.providers, 0x33, 20);
	memset(d.audit, 0x44, 20);
	memset(d.nft, 0x55, 20);
	memset(d.recovery, 0x66, 20);
	if (phr_api_tx_check(&info, &d, caller, data, size) == PHR_OK) {
		if (memcmp(info.from, caller, 20) != 0 || info.to[0] < 0x11 || info.to[0] > 0x66)
			abort();
	}
	return 0;
}
