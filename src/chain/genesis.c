/*
 * Block 0 of a new chain: the pre-funded accounts of a geth-style genesis
 * file and/or the ten dev-mnemonic accounts, the genesis header, metadata.
 */
#include <time.h>

#include "chain_int.h"
#include "phr/json.h"
#include "phr/trie.h"

#define GENESIS_MAX_FILE ((size_t)64 << 20)

/* A genesis number: JSON integer, decimal string or 0x-hex string. */
static int num_u256(struct phr_u256 *v, const json_t *j)
{
	if (json_is_integer(j) && json_integer_value(j) >= 0) {
		*v = phr_u256_from_u64((uint64_t)json_integer_value(j));
		return PHR_OK;
	}
	if (json_is_string(j) && phr_u256_parse(v, json_string_value(j)) == 0)
		return PHR_OK;
	return PHR_ERR_PARSE;
}

static int num_u64(uint64_t *v, const json_t *j)
{
	struct phr_u256 u;

	if (num_u256(&u, j) != PHR_OK || !phr_u256_fits_u64(&u))
		return PHR_ERR_PARSE;
	*v = u.w[0];
	return PHR_OK;
}

/* Hex data with or without 0x into a new buffer. */
static int hex_bytes(uint8_t **out, size_t *len, const json_t *j)
{
	const char *s;
	size_t n, got = 0;
	uint8_t *p;

	if (!json_is_string(j))
		return PHR_ERR_PARSE;
	s = json_string_value(j);
	n = json_string_length(j);
	if (n >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		s += 2;
		n -= 2;
	}
	p = phr_malloc(n / 2 + 1);
	if (!p)
		return PHR_ERR_NOMEM;
	if (phr_hex_decode(p, n / 2 + 1, &got, s, n) != PHR_OK) {
		phr_free(p);
		return PHR_ERR_PARSE;
	}
	*out = p;
	*len = got;
	return PHR_OK;
}

static int word32(uint8_t out[32], const json_t *j)
{
	struct phr_u256 v;

	if (num_u256(&v, j) != PHR_OK)
		return PHR_ERR_PARSE;
	phr_u256_to_be(out, &v);
	return PHR_OK;
}

static int apply_alloc(struct phr_state *st, const json_t *alloc)
{
	const char *key;
	json_t *acc;
	int rc;

	if (!json_is_object(alloc))
		return PHR_ERR_PARSE;
	json_object_foreach((json_t *)alloc, key, acc) {
		uint8_t addr[20];
		struct phr_u256 bal = PHR_U256_ZERO;
		uint64_t nonce = 0;
		const json_t *v;
		const char *k2;
		json_t *sv;

		if (strlen(key) != 40 && strlen(key) != 42)
			return PHR_ERR_PARSE;
		if (phr_hex_decode_exact(addr, 20, key) != PHR_OK || !json_is_object(acc))
			return PHR_ERR_PARSE;
		if ((v = json_object_get(acc, "balance")) && num_u256(&bal, v) != PHR_OK)
			return PHR_ERR_PARSE;
		if ((v = json_object_get(acc, "nonce")) && num_u64(&nonce, v) != PHR_OK)
			return PHR_ERR_PARSE;
		rc = phr_state_set_account(st, addr, nonce, &bal);
		if (rc != PHR_OK)
			return rc;
		if ((v = json_object_get(acc, "code"))) {
			uint8_t *code = NULL;
			size_t len = 0;

			rc = hex_bytes(&code, &len, v);
			if (rc == PHR_OK && len)
				rc = phr_state_set_code(st, addr, code, len);
			phr_free(code);
			if (rc != PHR_OK)
				return rc;
		}
		if ((sv = json_object_get(acc, "storage"))) {
			if (!json_is_object(sv))
				return PHR_ERR_PARSE;
			json_object_foreach(sv, k2, v) {
				uint8_t slot[32], val[32];
				json_t *kj = json_string(k2);

				rc = kj ? word32(slot, kj) : PHR_ERR_NOMEM;
				json_decref(kj);
				if (rc == PHR_OK)
					rc = word32(val, v);
				if (rc == PHR_OK)
					rc = phr_state_set_storage(st, addr, slot, val);
				if (rc != PHR_OK)
					return rc;
			}
		}
	}
	return PHR_OK;
}

int chain_genesis(struct phr_chain_node *n, const struct phr_chain_config *cfg)
{
	struct phr_chain_header h = { 0 };
	struct phr_state_changes changes = { 0 };
	json_t *g = NULL;
	const json_t *v;
	uint8_t hash[32];
	uint64_t chain_id = cfg->chain_id;
	char msg[160];
	size_t i;
	int rc = PHR_OK;

	memcpy(h.ommers_hash, phr_chain_empty_ommers, 32);
	memcpy(h.tx_root, phr_trie_empty_root, 32);
	memcpy(h.receipts_root, phr_trie_empty_root, 32);
	memcpy(h.withdrawals_root, phr_trie_empty_root, 32);
	h.gas_limit = cfg->gas_limit ? cfg->gas_limit : 30000000;
	h.timestamp = (uint64_t)time(NULL);
	h.base_fee = phr_u256_from_u64(1000000000);
	if (cfg->genesis_path) {
		rc = phr_json_load_file(&g, msg, sizeof(msg), cfg->genesis_path, GENESIS_MAX_FILE);
		if (rc != PHR_OK) {
			phr_log_error("chain", "genesis %s: %s", cfg->genesis_path, msg);
			return rc;
		}
		if (!chain_id && (v = json_object_get(json_object_get(g, "config"), "chainId")) &&
		    num_u64(&chain_id, v) != PHR_OK)
			rc = PHR_ERR_PARSE;
		if (rc == PHR_OK && (v = json_object_get(g, "gasLimit")) && !cfg->gas_limit)
			rc = num_u64(&h.gas_limit, v);
		if (rc == PHR_OK && (v = json_object_get(g, "timestamp")))
			rc = num_u64(&h.timestamp, v);
		if (rc == PHR_OK && (v = json_object_get(g, "baseFeePerGas")))
			rc = num_u256(&h.base_fee, v);
		if (rc == PHR_OK && (v = json_object_get(g, "extraData"))) {
			uint8_t *e = NULL;
			size_t len = 0;

			rc = hex_bytes(&e, &len, v);
			if (rc == PHR_OK && len > PHR_CHAIN_EXTRA_MAX)
				rc = PHR_ERR_PARSE;
			if (rc == PHR_OK && len)
				memcpy(h.extra, e, len);
			h.extra_len = rc == PHR_OK ? len : 0;
			phr_free(e);
		}
		if (rc == PHR_OK && (v = json_object_get(g, "alloc")))
			rc = apply_alloc(n->state, v);
		if (rc != PHR_OK) {
			phr_log_error("chain", "genesis %s: bad contents", cfg->genesis_path);
			goto out;
		}
	}
	if (!chain_id)
		chain_id = 31337;
	if (cfg->dev) {
		/* 10000 ETH each, as anvil and hardhat do */
		struct phr_u256 eth = phr_u256_from_u64(1000000000000000000ull), k = phr_u256_from_u64(10000);

		phr_u256_mul(&eth, &eth, &k);
		for (i = 0; rc == PHR_OK && i < n->dev_count; i++)
			rc = phr_state_set_account(n->state, n->dev_addrs[i], 0, &eth);
		if (rc != PHR_OK)
			goto out;
	}
	rc = phr_state_commit(n->state, h.state_root, &changes);
	if (rc != PHR_OK)
		goto out;
	rc = db_meta_put_u64(&n->db, "chain_id", chain_id);
	if (rc == PHR_OK)
		rc = chain_persist(n, hash, &h, &changes, NULL, NULL, 0);
	if (rc == PHR_OK)
		rc = chain_sync(n);
out:
	phr_state_changes_release(&changes);
	if (g)
		json_decref(g);
	return rc;
}
