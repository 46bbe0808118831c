/*
 * secp256k1 keys, Ethereum addresses and recoverable signatures over
 * libsecp256k1 (with its recovery module).
 */
#include "crypto_int.h"

#include <pthread.h>
#include <secp256k1_recovery.h>
#include <sodium.h>
#include <string.h>

/* The group order n and n/2, big-endian. */
static const uint8_t secp_n[32] = {
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xfe, 0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48,
	0xa0, 0x3b, 0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36, 0x41, 0x41,
};
static const uint8_t secp_half_n_plus1[32] = {
	0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0x5d, 0x57, 0x6e, 0x73, 0x57, 0xa4,
	0x50, 0x1d, 0xdf, 0xe9, 0x2f, 0x46, 0x68, 0x1b, 0x20, 0xa1,
};

static secp256k1_context *secp_ctx;
static pthread_once_t secp_once = PTHREAD_ONCE_INIT;
static int sodium_ok;

static void secp_ctx_create(void)
{
	uint8_t seed[32];

	sodium_ok = sodium_init() >= 0;
	secp_ctx = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
	if (secp_ctx && sodium_ok) {
		/* blinding against side channels in signing and key generation */
		randombytes_buf(seed, sizeof(seed));
		if (!secp256k1_context_randomize(secp_ctx, seed)) {
			/* a failed randomisation leaves the context usable, unblinded */
		}
		sodium_memzero(seed, sizeof(seed));
	}
}

const secp256k1_context *phr_crypto_secp_ctx(void)
{
	pthread_once(&secp_once, secp_ctx_create);
	if (!secp_ctx)
		abort(); /* out of memory at start-up: nothing sensible to do */
	return secp_ctx;
}

int phr_crypto_init(void)
{
	(void)phr_crypto_secp_ctx();
	return sodium_ok ? PHR_OK : PHR_ERR_CRYPTO;
}

bool phr_crypto_be32_lt(const uint8_t a[32], const uint8_t b[32])
{
	/* borrow of a - b, from the least significant byte up */
	unsigned borrow = 0;

	for (int i = 31; i >= 0; i--) {
		unsigned d = (unsigned)a[i] - (unsigned)b[i] - borrow;
		borrow = (d >> 8) & 1;
	}
	return borrow != 0;
}

static bool be32_is_zero(const uint8_t a[32])
{
	uint8_t acc = 0;

	for (int i = 0; i < 32; i++)
		acc |= a[i];
	return acc == 0;
}

bool phr_secp256k1_seckey_valid(const uint8_t seckey[PHR_SECP256K1_SECKEY_BYTES])
{
	return secp256k1_ec_seckey_verify(phr_crypto_secp_ctx(), seckey) == 1;
}

int phr_secp256k1_keygen(uint8_t seckey[PHR_SECP256K1_SECKEY_BYTES])
{
	if (phr_crypto_init() != PHR_OK)
		return PHR_ERR_CRYPTO;
	/* the chance of a second round is below 2^-127 */
	for (int tries = 0; tries < 64; tries++) {
		randombytes_buf(seckey, PHR_SECP256K1_SECKEY_BYTES);
		if (phr_secp256k1_seckey_valid(seckey))
			return PHR_OK;
	}
	sodium_memzero(seckey, PHR_SECP256K1_SECKEY_BYTES);
	return PHR_ERR_CRYPTO;
}

static void pubkey_serialize64(uint8_t pub[64], const secp256k1_pubkey *pk)
{
	uint8_t buf[65];
	size_t len = sizeof(buf);

	secp256k1_ec_pubkey_serialize(phr_crypto_secp_ctx(), buf, &len, pk, SECP256K1_EC_UNCOMPRESSED);
	memcpy(pub, buf + 1, 64);
}

static bool pubkey_load64(secp256k1_pubkey *pk, const uint8_t pub[64])
{
	uint8_t buf[65];

	buf[0] = 0x04;
	memcpy(buf + 1, pub, 64);
	return secp256k1_ec_pubkey_parse(phr_crypto_secp_ctx(), pk, buf, sizeof(buf)) == 1;
}

int phr_secp256k1_pubkey(uint8_t pub[PHR_SECP256K1_PUBKEY_BYTES],
			 const uint8_t seckey[PHR_SECP256K1_SECKEY_BYTES])
{
	secp256k1_pubkey pk;

	if (!secp256k1_ec_pubkey_create(phr_crypto_secp_ctx(), &pk, seckey))
		return PHR_ERR_INVALID;
	pubkey_serialize64(pub, &pk);
	return PHR_OK;
}

int phr_secp256k1_pubkey_parse(uint8_t pub[PHR_SECP256K1_PUBKEY_BYTES], const uint8_t *in, size_t n)
{
	secp256k1_pubkey pk;

	if (n == 64) {
		if (!pubkey_load64(&pk, in))
			return PHR_ERR_INVALID;
	} else if (n == 33 || n == 65) {
		if ((n == 33 && in[0] != 0x02 && in[0] != 0x03) || (n == 65 && in[0] != 0x04))
			return PHR_ERR_INVALID; /* no hybrid 0x06/0x07 encodings */
		if (!secp256k1_ec_pubkey_parse(phr_crypto_secp_ctx(), &pk, in, n))
			return PHR_ERR_INVALID;
	} else {
		return PHR_ERR_INVALID;
	}
	pubkey_serialize64(pub, &pk);
	return PHR_OK;
}

int phr_secp256k1_pubkey_compress(uint8_t out[PHR_SECP256K1_COMPRESSED_BYTES],
				  const uint8_t pub[PHR_SECP256K1_PUBKEY_BYTES])
{
	secp256k1_pubkey pk;
	size_t len = PHR_SECP256K1_COMPRESSED_BYTES;

	if (!pubkey_load64(&pk, pub))
		return PHR_ERR_INVALID;
	secp256k1_ec_pubkey_serialize(phr_crypto_secp_ctx(), out, &len, &pk, SECP256K1_EC_COMPRESSED);
	return PHR_OK;
}

int phr_secp256k1_sign(uint8_t sig[PHR_SECP256K1_SIG_BYTES], int *recid, const uint8_t hash[32],
		       const uint8_t seckey[PHR_SECP256K1_SECKEY_BYTES])
{
	secp256k1_ecdsa_recoverable_signature rs;
	int id = 0;

	if (!phr_secp256k1_seckey_valid(seckey))
		return PHR_ERR_INVALID;
	/* NULL nonce function: RFC 6979; libsecp256k1 always emits low-s */
	if (!secp256k1_ecdsa_sign_recoverable(phr_crypto_secp_ctx(), &rs, hash, seckey, NULL, NULL))
		return PHR_ERR_CRYPTO;
	secp256k1_ecdsa_recoverable_signature_serialize_compact(phr_crypto_secp_ctx(), sig, &id, &rs);
	*recid = id;
	return PHR_OK;
}

/* r and s each in 1..n-1 */
static bool sig_scalars_in_range(const uint8_t sig[64])
{
	return !be32_is_zero(sig) && !be32_is_zero(sig + 32) && phr_crypto_be32_lt(sig, secp_n) &&
	       phr_crypto_be32_lt(sig + 32, secp_n);
}

int phr_secp256k1_recover(uint8_t pub[PHR_SECP256K1_PUBKEY_BYTES], const uint8_t hash[32],
			  const uint8_t sig[PHR_SECP256K1_SIG_BYTES], int recid)
{
	secp256k1_ecdsa_recoverable_signature rs;
	secp256k1_pubkey pk;
	const secp256k1_context *ctx = phr_crypto_secp_ctx();

	if (recid < 0 || recid > 3 || !sig_scalars_in_range(sig))
		return PHR_ERR_SIGNATURE;
	if (!secp256k1_ecdsa_recoverable_signature_parse_compact(ctx, &rs, sig, recid))
		return PHR_ERR_SIGNATURE;
	if (!secp256k1_ecdsa_recover(ctx, &pk, &rs, hash))
		return PHR_ERR_SIGNATURE;
	pubkey_serialize64(pub, &pk);
	return PHR_OK;
}

int phr_secp256k1_verify(const uint8_t sig[PHR_SECP256K1_SIG_BYTES], const uint8_t hash[32],
			 const uint8_t pub[PHR_SECP256K1_PUBKEY_BYTES])
{
	secp256k1_ecdsa_signature s;
	secp256k1_pubkey pk;
	const secp256k1_context *ctx = phr_crypto_secp_ctx();

	if (!sig_scalars_in_range(sig) || !pubkey_load64(&pk, pub))
		return PHR_ERR_SIGNATURE;
	if (!secp256k1_ecdsa_signature_parse_compact(ctx, &s, sig))
		return PHR_ERR_SIGNATURE;
	return secp256k1_ecdsa_verify(ctx, &s, hash, &pk) == 1 ? PHR_OK : PHR_ERR_SIGNATURE;
}

bool phr_secp256k1_is_low_s(const uint8_t sig[PHR_SECP256K1_SIG_BYTES])
{
	return !be32_is_zero(sig + 32) && phr_crypto_be32_lt(sig + 32, secp_half_n_plus1);
}

void phr_eth_address(uint8_t addr[PHR_ETH_ADDRESS_BYTES], const uint8_t pub[PHR_SECP256K1_PUBKEY_BYTES])
{
	uint8_t h[32];

	phr_keccak256(h, pub, PHR_SECP256K1_PUBKEY_BYTES);
	memcpy(addr, h + 12, PHR_ETH_ADDRESS_BYTES);
}

int phr_eth_address_from_seckey(uint8_t addr[PHR_ETH_ADDRESS_BYTES],
				const uint8_t seckey[PHR_SECP256K1_SECKEY_BYTES])
{
	uint8_t pub[64];
	int rc = phr_secp256k1_pubkey(pub, seckey);

	if (rc == PHR_OK)
		phr_eth_address(addr, pub);
	return rc;
}

/* EIP-55: lower-case hex of the address; a letter is upper-cased when the
 * matching nibble of keccak256(lower-case hex) is 8 or more. */
static void eip55_apply(char hex[40])
{
	uint8_t h[32];

	phr_keccak256(h, hex, 40);
	for (int i = 0; i < 40; i++) {
		unsigned nib = (i % 2 == 0) ? (h[i / 2] >> 4) : (h[i / 2] & 0x0f);
		if (hex[i] >= 'a' && hex[i] <= 'f' && nib >= 8)
			hex[i] = (char)(hex[i] - 'a' + 'A');
	}
}

void phr_eth_address_checksum(char out[PHR_ETH_ADDRESS_STR_LEN], const uint8_t addr[PHR_ETH_ADDRESS_BYTES])
{
	static const char digits[] = "0123456789abcdef";

	out[0] = '0';
	out[1] = 'x';
	for (int i = 0; i < 20; i++) {
		out[2 + 2 * i] = digits[addr[i] >> 4];
		out[3 + 2 * i] = digits[addr[i] & 0x0f];
	}
	out[42] = '\0';
	eip55_apply(out + 2);
}

int phr_eth_address_parse(uint8_t addr[PHR_ETH_ADDRESS_BYTES], const char *s)
{
	uint8_t tmp[20];
	char lower[40];
	bool has_lower = false, has_upper = false;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		s += 2;
	if (strlen(s) != 40)
		return PHR_ERR_PARSE;
	for (int i = 0; i < 40; i++) {
		char c = s[i];
		int v;
		if (c >= '0' && c <= '9') {
			v = c - '0';
		} else if (c >= 'a' && c <= 'f') {
			v = c - 'a' + 10;
			has_lower = true;
		} else if (c >= 'A' && c <= 'F') {
			v = c - 'A' + 10;
			has_upper = true;
		} else {
			return PHR_ERR_PARSE;
		}
		lower[i] = "0123456789abcdef"[v];
		if (i % 2 == 0)
			tmp[i / 2] = (uint8_t)(v << 4);
		else
			tmp[i / 2] |= (uint8_t)v;
	}
	if (has_lower && has_upper) {
		eip55_apply(lower);
		if (memcmp(lower, s, 40) != 0)
			return PHR_ERR_INVALID;
	}
	memcpy(addr, tmp, 20);
	return PHR_OK;
}
