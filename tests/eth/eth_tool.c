/*
 * eth_tool: a thin command-line front end over the eth module for the interop
 * tests (tests/interop/eth_*.mjs), which compare its output with ethers.
 *
 *   eth_tool tx-sign KEYHEX TXJSON         signed raw transaction (hex)
 *   eth_tool tx-sender RAWHEX              sender address
 *   eth_tool tx-hash RAWHEX                transaction hash
 *   eth_tool typed-sign KEYHEX FILE        EIP-712 signature (hex r||s||v)
 *   eth_tool typed-recover FILE SIGHEX     EIP-712 signer
 *   eth_tool msg-sign KEYHEX MESSAGE       EIP-191 signature
 *   eth_tool msg-recover MESSAGE SIGHEX    EIP-191 signer
 *   eth_tool abi-encode TYPE JSON          ABI encoding (hex)
 *   eth_tool abi-decode TYPE HEX           decoded value (JSON)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "phr/abi.h"
#include "phr/core.h"
#include "phr/crypto.h"
#include "phr/eip712.h"
#include "phr/tx.h"

static int die(const char *what, int rc)
{
	fprintf(stderr, "eth_tool: %s: %s\n", what, phr_strerror(rc));
	return 1;
}

static int print_hex(const uint8_t *d, size_t n)
{
	char *s = malloc(PHR_HEX_LEN(n, true));
	if (!s || phr_hex_encode(s, PHR_HEX_LEN(n, true), d, n, true) != PHR_OK)
		return die("hex", PHR_ERR_NOMEM);
	puts(s);
	free(s);
	return 0;
}

static int print_addr(const uint8_t a[20])
{
	char s[PHR_ETH_ADDRESS_STR_LEN];
	phr_eth_address_checksum(s, a);
	puts(s);
	return 0;
}

static uint8_t *unhex(const char *s, size_t *n)
{
	size_t l = strlen(s);
	uint8_t *d = malloc(l / 2 + 2);
	if (d && phr_hex_decode(d, l / 2 + 2, n, s, l) != PHR_OK) {
		free(d);
		d = NULL;
	}
	return d;
}

int main(int argc, char **argv)
{
	uint8_t key[32], sig[65], addr[20], h[32];
	int rc;
	if (argc < 3 || phr_crypto_init() != PHR_OK) {
		fprintf(stderr, "usage: eth_tool COMMAND ARGS...\n");
		return 2;
	}
	const char *cmd = argv[1];
	bool keyed = !strcmp(cmd, "tx-sign") || !strcmp(cmd, "typed-sign") || !strcmp(cmd, "msg-sign");
	if (keyed && (argc < 4 || phr_hex_decode_exact(key, 32, argv[2]) != PHR_OK))
		return die("key", PHR_ERR_INVALID);
	if (!strcmp(cmd, "tx-sign")) {
		json_error_t err;
		json_t *j = json_loads(argv[3], 0, &err);
		struct phr_tx tx;
		struct phr_buf b;
		if (!j)
			return die("tx json", PHR_ERR_PARSE);
		rc = phr_tx_from_json(&tx, j);
		json_decref(j);
		if (rc == PHR_OK)
			rc = phr_tx_sign(&tx, key);
		phr_buf_init(&b, 0);
		if (rc == PHR_OK)
			rc = phr_tx_encode(&b, &tx);
		phr_tx_release(&tx);
		if (rc != PHR_OK)
			return die("tx-sign", rc);
		rc = print_hex(b.data, b.len);
		phr_buf_release(&b);
		return rc;
	}
	if (!strcmp(cmd, "tx-sender") || !strcmp(cmd, "tx-hash")) {
		size_t n;
		uint8_t *raw = unhex(argv[2], &n);
		struct phr_tx tx;
		if (!raw)
			return die("raw", PHR_ERR_PARSE);
		rc = phr_tx_decode(&tx, raw, n);
		free(raw);
		if (rc == PHR_OK)
			rc = cmd[3] == 's' ? phr_tx_sender(addr, &tx) : phr_tx_hash(h, &tx);
		phr_tx_release(&tx);
		if (rc != PHR_OK)
			return die(cmd, rc);
		return cmd[3] == 's' ? print_addr(addr) : print_hex(h, 32);
	}
	if (!strcmp(cmd, "typed-sign") || !strcmp(cmd, "typed-recover")) {
		bool sign = cmd[6] == 's';
		json_error_t err;
		json_t *j = json_load_file(sign ? argv[3] : argv[2], 0, &err);
		if (!j || argc < 4)
			return die("typed data", PHR_ERR_PARSE);
		if (sign) {
			rc = phr_eip712_sign(sig, j, key);
		} else {
			rc = phr_hex_decode_exact(sig, 65, argv[3]);
			if (rc == PHR_OK)
				rc = phr_eip712_recover(addr, j, sig);
		}
		json_decref(j);
		if (rc != PHR_OK)
			return die(cmd, rc);
		return sign ? print_hex(sig, 65) : print_addr(addr);
	}
	if (!strcmp(cmd, "msg-sign")) {
		rc = phr_eip191_sign(sig, argv[3], strlen(argv[3]), key);
		return rc == PHR_OK ? print_hex(sig, 65) : die(cmd, rc);
	}
	if (!strcmp(cmd, "msg-recover") && argc >= 4) {
		rc = phr_hex_decode_exact(sig, 65, argv[3]);
		if (rc == PHR_OK)
			rc = phr_eip191_recover(addr, argv[2], strlen(argv[2]), sig);
		return rc == PHR_OK ? print_addr(addr) : die(cmd, rc);
	}
	if ((!strcmp(cmd, "abi-encode") || !strcmp(cmd, "abi-decode")) && argc >= 4) {
		struct phr_abi_type *t = NULL;
		struct phr_abi_value *v = NULL;
		struct phr_buf b;
		phr_buf_init(&b, 0);
		rc = phr_abi_type_parse(&t, argv[2]);
		if (rc == PHR_OK && cmd[4] == 'e') {
			json_error_t err;
			json_t *j = json_loads(argv[3], JSON_DECODE_ANY, &err);
			rc = j ? phr_abi_value_from_json(&v, t, j) : PHR_ERR_PARSE;
			json_decref(j);
			if (rc == PHR_OK)
				rc = phr_abi_encode(&b, v);
			if (rc == PHR_OK)
				rc = print_hex(b.data, b.len);
		} else if (rc == PHR_OK) {
			size_t n;
			uint8_t *d = unhex(argv[3], &n);
			rc = d ? phr_abi_decode(&v, t, d, n) : PHR_ERR_PARSE;
			free(d);
			if (rc == PHR_OK) {
				json_t *j = phr_abi_value_to_json(v);
				char *s = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
				puts(s ? s : "null");
				free(s);
				json_decref(j);
			}
		}
		phr_buf_release(&b);
		phr_abi_value_free(v);
		phr_abi_type_free(t);
		return rc == PHR_OK ? 0 : die(cmd, rc);
	}
	fprintf(stderr, "eth_tool: unknown command %s\n", cmd);
	return 2;
}
