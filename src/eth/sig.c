/*
 * Ethereum signatures over 32-byte hashes and EIP-191 personal messages
 * (see include/phr/eip712.h).
 */
#include <string.h>

#include "eth_int.h"
#include "phr/crypto.h"
#include "phr/eip712.h"

/* secp256k1 group order n and n/2, big-endian */
static const uint8_t SECP_N[32] = {
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe,
	0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48, 0xa0, 0x3b, 0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36, 0x41, 0x41
};
static const uint8_t SECP_HALF_N[32] = {
	0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0x5d, 0x57, 0x6e, 0x73, 0x57, 0xa4, 0x50, 0x1d, 0xdf, 0xe9, 0x2f, 0x46, 0x68, 0x1b, 0x20, 0xa0
};
static const uint8_t ZERO32[32];

int phr_eth_recover_rs(uint8_t addr[20], const uint8_t hash[32], const uint8_t rs[64], int recid)
{
	uint8_t pub[64];
	/* big-endian byte strings of equal length compare like the numbers */
	if (recid < 0 || recid > 1 || memcmp(rs, ZERO32, 32) == 0 || memcmp(rs + 32, ZERO32, 32) == 0 ||
	    memcmp(rs, SECP_N, 32) >= 0 || memcmp(rs + 32, SECP_HALF_N, 32) > 0)
		return PHR_ERR_SIGNATURE;
	if (phr_secp256k1_recover(pub, hash, rs, recid) != PHR_OK)
		return PHR_ERR_SIGNATURE;
	phr_eth_address(addr, pub);
	return PHR_OK;
}

int phr_eth_sign_hash(uint8_t sig[PHR_ETH_SIG_BYTES], const uint8_t hash[32], const uint8_t seckey[32])
{
	uint8_t rs[64];
	int recid;
	int rc = phr_secp256k1_sign(rs, &recid, hash, seckey);
	if (rc != PHR_OK)
		return rc;
	memcpy(sig, rs, 64);
	sig[64] = (uint8_t)(27 + recid);
	return PHR_OK;
}

int phr_eth_recover_hash(uint8_t addr[20], const uint8_t hash[32], const uint8_t sig[PHR_ETH_SIG_BYTES])
{
	int v = sig[64];
	if (v >= 27)
		v -= 27;
	return phr_eth_recover_rs(addr, hash, sig, v);
}

void phr_eip191_hash(uint8_t out[32], const void *msg, size_t n)
{
	static const char prefix[] = "\x19" "Ethereum Signed Message:\n";
	char len[24];
	struct phr_keccak k;
	int ll = snprintf(len, sizeof(len), "%zu", n);
	phr_keccak_init(&k);
	phr_keccak_update(&k, prefix, sizeof(prefix) - 1);
	phr_keccak_update(&k, len, (size_t)ll);
	phr_keccak_update(&k, msg, n);
	phr_keccak_final(&k, out);
}

int phr_eip191_sign(uint8_t sig[PHR_ETH_SIG_BYTES], const void *msg, size_t n, const uint8_t seckey[32])
{
	uint8_t h[32];
	phr_eip191_hash(h, msg, n);
	return phr_eth_sign_hash(sig, h, seckey);
}

int phr_eip191_recover(uint8_t addr[20], const void *msg, size_t n, const uint8_t sig[PHR_ETH_SIG_BYTES])
{
	uint8_t h[32];
	phr_eip191_hash(h, msg, n);
	return phr_eth_recover_hash(addr, h, sig);
}
