/*
 * `phr account paper-key export|import`: the account key on paper, as a BIP-39
 * mnemonic of its 32 bytes or as Shamir shares written in words (paperkey.h).
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bip39_words.h"
#include "cli.h"
#include "cmd_api.h"
#include "paperkey.h"
#include "phr/crypto.h"
#include "phr/json.h"

int phr_cli_paperkey(int argc, char **argv);

static int word_index(const char *w, size_t n)
{
	int lo = 0, hi = 2047;

	while (lo <= hi) {
		int mid = (lo + hi) / 2;
		int c = strncmp(phr_cli_bip39_words[mid], w, n);
		if (c == 0 && phr_cli_bip39_words[mid][n] != '\0')
			c = 1;
		if (c == 0)
			return mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return -1;
}

int phr_cli_bip39_encode(char out[PHR_PAPERKEY_WORDS_MAX], const uint8_t ent[32])
{
	uint8_t bits[33], h[32];
	size_t k = 0;

	crypto_hash_sha256(h, ent, 32);
	memcpy(bits, ent, 32);
	bits[32] = h[0]; /* 256 bits of entropy + 8 bits of checksum = 24 x 11 bits */
	for (unsigned i = 0; i < 24; i++) {
		unsigned idx = 0;
		for (unsigned b = 0; b < 11; b++) {
			unsigned bit = i * 11 + b;
			idx = idx << 1 | ((bits[bit / 8] >> (7 - bit % 8)) & 1u);
		}
		k += (size_t)snprintf(out + k, PHR_PAPERKEY_WORDS_MAX - k, "%s%s", i ? " " : "",
				      phr_cli_bip39_words[idx]);
	}
	sodium_memzero(bits, sizeof(bits));
	return 0;
}

int phr_cli_bip39_decode(uint8_t ent[32], const char *words)
{
	uint8_t bits[33] = { 0 }, h[32];
	unsigned n = 0;
	const char *p = words;
	int rv = 0;

	while (*p != '\0') {
		size_t len;
		int idx;
		p += strspn(p, " \t\r\n");
		if (*p == '\0')
			break;
		len = strcspn(p, " \t\r\n");
		if (n == 24 || (idx = word_index(p, len)) < 0) {
			rv = -1;
			goto out;
		}
		for (unsigned b = 0; b < 11; b++) {
			unsigned bit = n * 11 + b;
			if ((unsigned)idx >> (10 - b) & 1u)
				bits[bit / 8] |= (uint8_t)(0x80u >> (bit % 8));
		}
		n++;
		p += len;
	}
	if (n != 24) {
		rv = -1;
		goto out;
	}
	crypto_hash_sha256(h, bits, 32);
	if (h[0] != bits[32]) {
		rv = -2;
		goto out;
	}
	memcpy(ent, bits, 32);
out:
	sodium_memzero(bits, sizeof(bits));
	return rv;
}

/* First 4 bytes of keccak256(address of @p seckey), as 8 hex digits. */
static int key_id(char id[9], const uint8_t seckey[32])
{
	uint8_t addr[20], h[32];

	if (phr_eth_address_from_seckey(addr, seckey) != PHR_OK)
		return -1;
	phr_keccak256(h, addr, 20);
	return phr_hex_encode(id, 9, h, 4, false) == PHR_OK ? 0 : -1;
}

int phr_cli_paperkey_split(char *out, size_t cap, const uint8_t seckey[32], unsigned t, unsigned n)
{
	uint8_t *sh;
	char id[9], words[PHR_PAPERKEY_WORDS_MAX];
	size_t k = 0;
	int rv = -1;

	if (t < 2 || n < t || n > 16 || key_id(id, seckey) != 0)
		return -1;
	if ((sh = sodium_malloc(n * 33)) == NULL)
		return -1;
	if (phr_shamir_split(sh, seckey, 32, t, n) != PHR_OK)
		goto out;
	for (unsigned i = 0; i < n; i++) {
		int w;
		phr_cli_bip39_encode(words, sh + i * 33 + 1);
		w = snprintf(out + k, cap - k, "phr-share %u-of-%u #%u id=%s: %s\n", t, n,
			     sh[i * 33], id, words);
		if (w < 0 || (size_t)w >= cap - k)
			goto out;
		k += (size_t)w;
	}
	rv = 0;
out:
	sodium_memzero(words, sizeof(words));
	sodium_free(sh);
	return rv;
}

int phr_cli_paperkey_combine(uint8_t seckey[32], const char *text)
{
	uint8_t *sh = sodium_malloc(16 * 33 + 32), *key;
	char id0[9] = "", id[9];
	unsigned t0 = 0, k = 0;
	const char *p = text;
	int rv = 0;

	if (sh == NULL)
		return -1;
	key = sh + 16 * 33;
	while (rv == 0 && *p != '\0') {
		size_t len = strcspn(p, "\n");
		char line[PHR_PAPERKEY_LINE_MAX];
		unsigned t, n, x;
		int used = 0;
		if (len >= sizeof(line)) {
			rv = -1;
			break;
		}
		memcpy(line, p, len);
		line[len] = '\0';
		p += len + (p[len] == '\n');
		if (line[strspn(line, " \t\r")] == '\0')
			continue;
		if (sscanf(line, "phr-share %u-of-%u #%u id=%8[0-9a-f]: %n", &t, &n, &x, id, &used) != 4 ||
		    used == 0 || t < 2 || n < t || n > 16 || x == 0 || x > n || strlen(id) != 8) {
			rv = -1;
		} else if (k > 0 && (t != t0 || strcmp(id, id0) != 0)) {
			rv = -3;
		} else if (k == 16) {
			rv = -3;
		} else {
			for (unsigned j = 0; j < k; j++)
				if (sh[j * 33] == x)
					rv = -3;
			if (rv == 0)
				rv = phr_cli_bip39_decode(sh + k * 33 + 1, line + used);
			sh[k * 33] = (uint8_t)x;
			t0 = t;
			memcpy(id0, id, 9);
			k++;
		}
		sodium_memzero(line, sizeof(line));
	}
	if (rv == 0 && (k == 0 || k < t0))
		rv = -3;
	if (rv == 0 && phr_shamir_combine(key, sh, 33, k) != PHR_OK)
		rv = -3;
	if (rv == 0 && (key_id(id, key) != 0 || strcmp(id, id0) != 0))
		rv = -4;
	if (rv == 0)
		memcpy(seckey, key, 32);
	sodium_free(sh);
	return rv;
}

static const char usage[] =
	"usage: phr account paper-key export --keystore FILE [--shares N --threshold T]\n"
	"                                    [--password-file F]\n"
	"       phr account paper-key import --out KEYSTORE [--light] [--password-file F] [FILE...]\n"
	"\n"
	"export prints the account key as 24 BIP-39 words (the key's 32 bytes are the\n"
	"entropy: any BIP-39 tool turns the words back into the same 32 bytes), or as N\n"
	"lines 'phr-share T-of-N #X id=IIIIIIII: <24 words>' of which any T give the key\n"
	"back (Shamir over GF(256); id names the key and checks the result). Write them on\n"
	"paper; keep shares in different places. import reads words or share lines from\n"
	"the FILEs or stdin and writes a new keystore (password asked twice).\n"
	"See docs/recovery.md.\n";

static int pk_export(char **argv, int argc)
{
	const char *ks = NULL, *pwf = NULL, *sn = NULL, *st = NULL;
	uint8_t *sk = NULL;
	uint64_t n = 0, t = 0;
	char *text = NULL;
	int rc = PHR_EXIT_USAGE;

	for (int i = 1; i < argc; i++) {
		const char **dst = !strcmp(argv[i], "--keystore") ? &ks
				   : !strcmp(argv[i], "--password-file") ? &pwf
				   : !strcmp(argv[i], "--shares") ? &sn
				   : !strcmp(argv[i], "--threshold") ? &st : NULL;
		if (dst == NULL || i + 1 >= argc) {
			fputs(usage, stderr);
			return PHR_EXIT_USAGE;
		}
		*dst = argv[++i];
	}
	if (ks == NULL || (sn == NULL) != (st == NULL) ||
	    (sn != NULL && (phr_parse_u64(&n, sn) != PHR_OK || phr_parse_u64(&t, st) != PHR_OK ||
			    t < 2 || n < t || n > 16))) {
		phr_cli_error("paper-key export: --keystore FILE, and --shares N --threshold T with 2 <= T <= N <= 16");
		return PHR_EXIT_USAGE;
	}
	rc = PHR_EXIT_FAIL;
	if (phr_crypto_init() != PHR_OK || (sk = sodium_malloc(32)) == NULL ||
	    (text = sodium_malloc(16 * PHR_PAPERKEY_LINE_MAX)) == NULL ||
	    phr_cli_keystore_key(sk, ks, pwf) != 0)
		goto out;
	if (sn == NULL ? phr_cli_bip39_encode(text, sk) != 0
		       : phr_cli_paperkey_split(text, 16 * PHR_PAPERKEY_LINE_MAX, sk, (unsigned)t,
						(unsigned)n) != 0)
		goto out;
	fputs(text, stdout);
	if (sn == NULL)
		fputc('\n', stdout);
	rc = fflush(stdout) == 0 ? PHR_EXIT_OK : PHR_EXIT_FAIL;
out:
	if (sk != NULL)
		sodium_free(sk);
	if (text != NULL)
		sodium_free(text);
	return rc;
}

static int pk_import(char **argv, int argc)
{
	const char *out = NULL, *pwf = NULL;
	const struct phr_keystore_params light = PHR_KEYSTORE_PARAMS_LIGHT;
	bool use_light = false;
	struct phr_buf in;
	uint8_t *sk = NULL, addr[20];
	char *pw = NULL, *json = NULL, shown[PHR_ETH_ADDRESS_STR_LEN];
	int rc = PHR_EXIT_USAGE, rv, nfiles = 0;

	phr_buf_init(&in, 64 * 1024);
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--light")) {
			use_light = true;
		} else if ((!strcmp(argv[i], "--out") || !strcmp(argv[i], "--password-file")) &&
			   i + 1 < argc) {
			*(!strcmp(argv[i], "--out") ? &out : &pwf) = argv[i + 1];
			i++;
		} else if (argv[i][0] == '-') {
			fputs(usage, stderr);
			goto done;
		} else {
			struct phr_buf f;
			phr_buf_init(&f, 64 * 1024);
			rv = phr_file_read(&f, argv[i], 64 * 1024);
			if (rv == PHR_OK)
				rv = phr_buf_append(&in, f.data, f.len);
			if (rv == PHR_OK)
				rv = phr_buf_append(&in, "\n", 1);
			if (f.data != NULL)
				sodium_memzero(f.data, f.len);
			phr_buf_release(&f);
			if (rv != PHR_OK) {
				phr_cli_error("cannot read %s", argv[i]);
				rc = PHR_EXIT_FAIL;
				goto done;
			}
			nfiles++;
		}
	}
	if (out == NULL) {
		phr_cli_error("paper-key import: --out KEYSTORE is required");
		goto done;
	}
	rc = PHR_EXIT_FAIL;
	if (nfiles == 0) {
		uint8_t buf[4096];
		size_t r;
		while ((r = fread(buf, 1, sizeof(buf), stdin)) > 0)
			if (phr_buf_append(&in, buf, r) != PHR_OK)
				goto done;
		sodium_memzero(buf, sizeof(buf));
	}
	if (phr_buf_append(&in, "", 1) != PHR_OK || phr_crypto_init() != PHR_OK ||
	    (sk = sodium_malloc(32)) == NULL)
		goto done;
	rv = strstr((const char *)in.data, "phr-share") != NULL
		     ? phr_cli_paperkey_combine(sk, (const char *)in.data)
		     : phr_cli_bip39_decode(sk, (const char *)in.data);
	if (rv != 0) {
		phr_cli_error("paper-key import: %s",
			      rv == -1   ? "not 24 BIP-39 words or share lines"
			      : rv == -2 ? "a word is wrong (checksum)"
			      : rv == -3 ? "too few shares, or shares of different keys"
					 : "the shares do not give back the key they name (id)");
		goto done;
	}
	if (phr_eth_address_from_seckey(addr, sk) != PHR_OK) {
		phr_cli_error("paper-key import: not a valid secp256k1 key");
		goto done;
	}
	if ((pw = phr_cli_password(pwf, "Password for the new keystore: ", true)) == NULL ||
	    phr_keystore_encrypt(&json, sk, pw, strlen(pw), use_light ? &light : NULL) != PHR_OK ||
	    phr_file_write_atomic(out, json, strlen(json), 0600) != PHR_OK) {
		phr_cli_error("paper-key import: cannot write %s", out);
		goto done;
	}
	phr_eth_address_checksum(shown, addr);
	printf("%s\n", shown);
	rc = PHR_EXIT_OK;
done:
	if (in.data != NULL)
		sodium_memzero(in.data, in.len);
	phr_buf_release(&in);
	if (sk != NULL)
		sodium_free(sk);
	if (pw != NULL)
		sodium_free(pw);
	phr_free(json);
	return rc;
}

int phr_cli_paperkey(int argc, char **argv)
{
	if (argc < 2 || phr_cli_wants_help(argc, argv)) {
		fputs(usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? PHR_EXIT_USAGE : PHR_EXIT_OK;
	}
	if (strcmp(argv[1], "export") == 0)
		return pk_export(argv + 1, argc - 1);
	if (strcmp(argv[1], "import") == 0)
		return pk_import(argv + 1, argc - 1);
	fputs(usage, stderr);
	return PHR_EXIT_USAGE;
}
