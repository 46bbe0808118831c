/*
 * Fuzz the snarkjs JSON parsers of the native Groth16 verifier. The input is tried whole
 * as a verification key, a proof and public signals; when it holds a NUL byte, the part
 * before it is read as a key and the part after as a proof with public signals, and if
 * both parse the proof is verified (arbitrary points through the bn254 precompiles).
 * Properties: no crash; a verification with a mismatched signal count is rejected; the
 * provider, age and trial policies with nothing required agree with the bare
 * verification; decimal formatting of a parsed signal parses back to the same value, and
 * so does a value phr_groth16_value_parse accepts (short inputs, as a string).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <phr/groth16.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void roundtrip(const uint8_t v[32])
{
	char dec[80], json[90];
	uint8_t back[1][32];
	size_t n = 0;

	if (phr_groth16_dec_format(dec, sizeof(dec), v) != PHR_OK)
		abort();
	snprintf(json, sizeof(json), "[\"%s\"]", dec);
	if (phr_groth16_public_parse(back, 1, &n, json, strlen(json)) != PHR_OK || n != 1 ||
	    memcmp(back[0], v, 32) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	const uint8_t *nul = memchr(data, 0, size);
	struct phr_groth16_vkey vk;
	struct phr_groth16_proof proof;
	uint8_t in[PHR_GROTH16_MAX_PUBLIC][32];
	size_t n = 0;

	if (size > PHR_GROTH16_MAX_JSON)
		return 0;
	if (!nul) {
		if (size < 100) {
			char str[100];
			uint8_t v[32];
			memcpy(str, text, size);
			str[size] = '\0';
			if (phr_groth16_value_parse(v, str) == PHR_OK)
				roundtrip(v);
		}
		if (phr_groth16_vkey_parse(&vk, text, size) == PHR_OK && vk.n_public > PHR_GROTH16_MAX_PUBLIC)
			abort();
		if (phr_groth16_proof_parse(&proof, text, size) > 0)
			abort();
		if (phr_groth16_public_parse(in, PHR_GROTH16_MAX_PUBLIC, &n, text, size) == PHR_OK)
			for (size_t i = 0; i < n; i++)
				roundtrip(in[i]);
		return 0;
	}
	{
		size_t klen = (size_t)(nul - data);
		const char *p = text + klen + 1;
		size_t plen = size - klen - 1;
		if (phr_groth16_vkey_parse(&vk, text, klen) != PHR_OK ||
		    phr_groth16_proof_parse(&proof, p, plen) != PHR_OK ||
		    phr_groth16_public_parse(in, PHR_GROTH16_MAX_PUBLIC, &n, p, plen) != PHR_OK)
			return 0;
		if (n != vk.n_public &&
		    phr_groth16_verify(&vk, &proof, (const uint8_t(*)[32])in, n) != PHR_ERR_INVALID)
			abort();
		if (phr_groth16_verify(&vk, &proof, (const uint8_t(*)[32])in, n) > 0)
			abort();
		/* the policies with nothing required reduce to the proof check */
		{
			struct phr_groth16_policy pp;
			struct phr_groth16_age_policy ap;
			struct phr_groth16_trial_policy tp;
			int v = phr_groth16_verify(&vk, &proof, (const uint8_t(*)[32])in, n);
			memset(&pp, 0, sizeof(pp));
			memset(&ap, 0, sizeof(ap));
			memset(&tp, 0, sizeof(tp));
			if (n == PHR_GROTH16_P_COUNT &&
			    phr_groth16_provider_check(&vk, &proof, (const uint8_t(*)[32])in, n, &pp) != v)
				abort();
			if (n == PHR_GROTH16_A_COUNT &&
			    phr_groth16_age_check(&vk, &proof, (const uint8_t(*)[32])in, n, &ap) != v)
				abort();
			if (n == PHR_GROTH16_T_COUNT &&
			    phr_groth16_trial_check(&vk, &proof, (const uint8_t(*)[32])in, n, &tp) != v)
				abort();
		}
	}
	return 0;
}
