/*
 * Ethereum transactions (see include/phr/tx.h).
 *
 * Field order per type, mirrored by encode_fields() and decode_fields():
 *   legacy: nonce gasPrice gasLimit to value data v r s
 *   1:      chainId nonce gasPrice gasLimit to value data accessList y r s
 *   2:      chainId nonce maxPriority maxFee gasLimit to value data accessList y r s
 *   3:      ... accessList maxFeePerBlobGas blobHashes y r s
 */
#include "phr/tx.h"

#include <string.h>

#include "eth_int.h"

#include "phr/crypto.h"
#include "phr/rlp.h"

void phr_tx_init(struct phr_tx *tx)
{
	memset(tx, 0, sizeof(*tx));
}

void phr_tx_release(struct phr_tx *tx)
{
	if (!tx)
		return;
	phr_free(tx->data);
	for (size_t i = 0; i < tx->n_access; i++)
		phr_free(tx->access_list[i].keys);
	phr_free(tx->access_list);
	phr_free(tx->blob_hashes);
	phr_tx_init(tx);
}

int phr_tx_set_data(struct phr_tx *tx, const uint8_t *data, size_t n)
{
	uint8_t *copy = NULL;
	if (n) {
		copy = phr_malloc(n);
		if (!copy)
			return PHR_ERR_NOMEM;
		memcpy(copy, data, n);
	}
	phr_free(tx->data);
	tx->data = copy;
	tx->data_len = n;
	return PHR_OK;
}

int phr_tx_add_access(struct phr_tx *tx, const uint8_t address[20], const uint8_t (*keys)[32],
		      size_t n_keys)
{
	uint8_t(*kc)[32] = NULL;
	if (n_keys) {
		kc = phr_calloc(n_keys, 32);
		if (!kc)
			return PHR_ERR_NOMEM;
		memcpy(kc, keys, n_keys * 32);
	}
	struct phr_tx_access *al =
		phr_realloc(tx->access_list, (tx->n_access + 1) * sizeof(*tx->access_list));
	if (!al) {
		phr_free(kc);
		return PHR_ERR_NOMEM;
	}
	tx->access_list = al;
	memcpy(al[tx->n_access].address, address, 20);
	al[tx->n_access].keys = kc;
	al[tx->n_access].n_keys = n_keys;
	tx->n_access++;
	return PHR_OK;
}

/* ---------------------------------------------------------------- encoding */

static int put_access_list(struct phr_buf *b, const struct phr_tx *tx)
{
	size_t outer, entry, keys;
	int rc = PHR_OK;
	phr_rlp_list_begin(b, &outer);
	for (size_t i = 0; rc == PHR_OK && i < tx->n_access; i++) {
		const struct phr_tx_access *a = &tx->access_list[i];
		phr_rlp_list_begin(b, &entry);
		rc = phr_rlp_put_bytes(b, a->address, 20);
		phr_rlp_list_begin(b, &keys);
		for (size_t k = 0; rc == PHR_OK && k < a->n_keys; k++)
			rc = phr_rlp_put_bytes(b, a->keys[k], 32);
		if (rc == PHR_OK)
			rc = phr_rlp_list_end(b, keys);
		if (rc == PHR_OK)
			rc = phr_rlp_list_end(b, entry);
	}
	return rc == PHR_OK ? phr_rlp_list_end(b, outer) : rc;
}

/* Appends the transaction; with @p sig the v, r, s fields, otherwise the signing payload. */
static int encode_fields(struct phr_buf *b, const struct phr_tx *tx, bool sig)
{
	bool typed = tx->type != PHR_TX_LEGACY;
	size_t mark;
	int rc = PHR_OK;
	if (tx->type > PHR_TX_BLOB || (tx->type == PHR_TX_BLOB && !tx->has_to))
		return PHR_ERR_INVALID;
	if (typed)
		rc = phr_buf_append_byte(b, (uint8_t)tx->type);
	phr_rlp_list_begin(b, &mark);
	if (rc == PHR_OK && typed)
		rc = phr_rlp_put_u64(b, tx->chain_id);
	if (rc == PHR_OK)
		rc = phr_rlp_put_u64(b, tx->nonce);
	if (tx->type == PHR_TX_LEGACY || tx->type == PHR_TX_ACCESS_LIST) {
		if (rc == PHR_OK)
			rc = phr_rlp_put_u256(b, &tx->gas_price);
	} else {
		if (rc == PHR_OK)
			rc = phr_rlp_put_u256(b, &tx->max_priority_fee);
		if (rc == PHR_OK)
			rc = phr_rlp_put_u256(b, &tx->max_fee);
	}
	if (rc == PHR_OK)
		rc = phr_rlp_put_u64(b, tx->gas_limit);
	if (rc == PHR_OK)
		rc = phr_rlp_put_bytes(b, tx->to, tx->has_to ? 20 : 0);
	if (rc == PHR_OK)
		rc = phr_rlp_put_u256(b, &tx->value);
	if (rc == PHR_OK)
		rc = phr_rlp_put_bytes(b, tx->data, tx->data_len);
	if (rc == PHR_OK && typed)
		rc = put_access_list(b, tx);
	if (rc == PHR_OK && tx->type == PHR_TX_BLOB) {
		size_t hm;
		rc = phr_rlp_put_u256(b, &tx->max_fee_per_blob_gas);
		phr_rlp_list_begin(b, &hm);
		for (size_t i = 0; rc == PHR_OK && i < tx->n_blob_hashes; i++)
			rc = phr_rlp_put_bytes(b, tx->blob_hashes[i], 32);
		if (rc == PHR_OK)
			rc = phr_rlp_list_end(b, hm);
	}
	if (sig) {
		if (rc == PHR_OK)
			rc = phr_rlp_put_u64(b, tx->v);
		if (rc == PHR_OK)
			rc = phr_rlp_put_u256(b, &tx->r);
		if (rc == PHR_OK)
			rc = phr_rlp_put_u256(b, &tx->s);
	} else if (!typed && tx->has_chain_id) {
		/* EIP-155: sign over [..., chainId, 0, 0] */
		if (rc == PHR_OK)
			rc = phr_rlp_put_u64(b, tx->chain_id);
		if (rc == PHR_OK)
			rc = phr_rlp_put_u64(b, 0);
		if (rc == PHR_OK)
			rc = phr_rlp_put_u64(b, 0);
	}
	return rc == PHR_OK ? phr_rlp_list_end(b, mark) : rc;
}

int phr_tx_encode(struct phr_buf *out, const struct phr_tx *tx)
{
	return encode_fields(out, tx, true);
}

static int hash_fields(uint8_t out[32], const struct phr_tx *tx, bool sig)
{
	struct phr_buf b;
	phr_buf_init(&b, 0);
	int rc = encode_fields(&b, tx, sig);
	if (rc == PHR_OK)
		phr_keccak256(out, b.data, b.len);
	phr_buf_release(&b);
	return rc;
}

int phr_tx_signing_hash(uint8_t out[32], const struct phr_tx *tx)
{
	return hash_fields(out, tx, false);
}

int phr_tx_hash(uint8_t out[32], const struct phr_tx *tx)
{
	return hash_fields(out, tx, true);
}

/* ---------------------------------------------------------------- decoding */

static int get_to(struct phr_tx *tx, const struct phr_rlp_item *it)
{
	if (it->is_list)
		return PHR_ERR_INVALID;
	if (it->len == 0) {
		tx->has_to = false;
		return PHR_OK;
	}
	tx->has_to = true;
	return phr_rlp_item_fixed(tx->to, 20, it);
}

/* Reads a list of 32-byte strings (storage keys, blob hashes) into a new array. */
static int get_words(uint8_t (**out)[32], size_t *count, const struct phr_rlp_item *list)
{
	struct phr_rlp_iter it;
	struct phr_rlp_item h;
	size_t n = 0;
	int rc = phr_rlp_iter_init(&it, list);
	if (rc != PHR_OK)
		return rc;
	while ((rc = phr_rlp_iter_next(&it, &h)) == 1) {
		if (h.is_list || h.len != 32)
			return PHR_ERR_INVALID;
		n++;
	}
	if (rc < 0)
		return rc;
	if (n > PHR_TX_MAX_LIST)
		return PHR_ERR_TOO_LARGE;
	*out = NULL;
	if (n) {
		*out = phr_calloc(n, 32);
		if (!*out)
			return PHR_ERR_NOMEM;
		/* each validated item is 0xa0 followed by its 32 bytes */
		for (size_t i = 0; i < n; i++)
			memcpy((*out)[i], list->data + i * 33 + 1, 32);
	}
	*count = n;
	return PHR_OK;
}

static int get_access_list(struct phr_tx *tx, const struct phr_rlp_item *list)
{
	struct phr_rlp_iter it;
	struct phr_rlp_item entry;
	int rc = phr_rlp_iter_init(&it, list);
	while (rc == PHR_OK && (rc = phr_rlp_iter_next(&it, &entry)) == 1) {
		struct phr_rlp_item parts[2];
		size_t cnt, nk = 0;
		uint8_t addr[20], (*keys)[32] = NULL;
		if (tx->n_access >= PHR_TX_MAX_LIST)
			return PHR_ERR_TOO_LARGE;
		rc = phr_rlp_list_items(parts, 2, &cnt, &entry);
		if (rc == PHR_ERR_TOO_LARGE || (rc == PHR_OK && cnt != 2))
			return PHR_ERR_PARSE;
		if (rc == PHR_OK)
			rc = phr_rlp_item_fixed(addr, 20, &parts[0]);
		if (rc == PHR_OK)
			rc = get_words(&keys, &nk, &parts[1]);
		if (rc != PHR_OK)
			return rc;
		rc = phr_tx_add_access(tx, addr, (const uint8_t(*)[32])keys, nk);
		phr_free(keys);
	}
	return rc < 0 ? rc : PHR_OK;
}

static int get_data(struct phr_tx *tx, const struct phr_rlp_item *it)
{
	if (it->is_list)
		return PHR_ERR_INVALID;
	if (it->len > PHR_TX_MAX_DATA)
		return PHR_ERR_TOO_LARGE;
	return phr_tx_set_data(tx, it->data, it->len);
}

static int decode_fields(struct phr_tx *tx, const struct phr_rlp_item *f, size_t cnt)
{
	static const size_t counts[] = { 9, 11, 12, 14 };
	bool typed = tx->type != PHR_TX_LEGACY;
	size_t i = 0;
	int rc = PHR_OK;
	if (cnt != counts[tx->type])
		return PHR_ERR_PARSE;
	if (typed) {
		tx->has_chain_id = true;
		rc = phr_rlp_item_u64(&tx->chain_id, &f[i++]);
	}
	if (rc == PHR_OK)
		rc = phr_rlp_item_u64(&tx->nonce, &f[i++]);
	if (tx->type == PHR_TX_LEGACY || tx->type == PHR_TX_ACCESS_LIST) {
		if (rc == PHR_OK)
			rc = phr_rlp_item_u256(&tx->gas_price, &f[i++]);
	} else {
		if (rc == PHR_OK)
			rc = phr_rlp_item_u256(&tx->max_priority_fee, &f[i++]);
		if (rc == PHR_OK)
			rc = phr_rlp_item_u256(&tx->max_fee, &f[i++]);
	}
	if (rc == PHR_OK)
		rc = phr_rlp_item_u64(&tx->gas_limit, &f[i++]);
	if (rc == PHR_OK)
		rc = get_to(tx, &f[i++]);
	if (rc == PHR_OK)
		rc = phr_rlp_item_u256(&tx->value, &f[i++]);
	if (rc == PHR_OK)
		rc = get_data(tx, &f[i++]);
	if (rc == PHR_OK && typed)
		rc = get_access_list(tx, &f[i++]);
	if (rc == PHR_OK && tx->type == PHR_TX_BLOB) {
		rc = phr_rlp_item_u256(&tx->max_fee_per_blob_gas, &f[i++]);
		if (rc == PHR_OK)
			rc = get_words(&tx->blob_hashes, &tx->n_blob_hashes, &f[i++]);
		if (rc == PHR_OK && !tx->has_to)
			rc = PHR_ERR_INVALID;
	}
	if (rc == PHR_OK)
		rc = phr_rlp_item_u64(&tx->v, &f[i++]);
	if (rc == PHR_OK)
		rc = phr_rlp_item_u256(&tx->r, &f[i++]);
	if (rc == PHR_OK)
		rc = phr_rlp_item_u256(&tx->s, &f[i++]);
	if (rc != PHR_OK)
		return rc;
	if (typed)
		return tx->v <= 1 ? PHR_OK : PHR_ERR_SIGNATURE;
	if (tx->v == 27 || tx->v == 28) {
		tx->has_chain_id = false;
		return PHR_OK;
	}
	if (tx->v < 35)
		return PHR_ERR_SIGNATURE;
	tx->has_chain_id = true;
	tx->chain_id = (tx->v - 35) / 2;
	return PHR_OK;
}

int phr_tx_decode(struct phr_tx *tx, const uint8_t *raw, size_t n)
{
	struct phr_rlp_item top, fields[14];
	size_t cnt;
	int rc;
	phr_tx_init(tx);
	if (n == 0)
		return PHR_ERR_TRUNCATED;
	if (raw[0] >= 0xc0) {
		tx->type = PHR_TX_LEGACY;
	} else if (raw[0] >= 1 && raw[0] <= 3) {
		tx->type = (enum phr_tx_type)raw[0];
		raw++;
		n--;
	} else {
		return raw[0] < 0x80 ? PHR_ERR_UNSUPPORTED : PHR_ERR_PARSE;
	}
	rc = phr_rlp_decode(&top, raw, n);
	if (rc == PHR_OK && !top.is_list)
		rc = PHR_ERR_PARSE;
	if (rc == PHR_OK) {
		rc = phr_rlp_list_items(fields, PHR_ARRAY_LEN(fields), &cnt, &top);
		if (rc == PHR_ERR_TOO_LARGE)
			rc = PHR_ERR_PARSE;
	}
	if (rc == PHR_OK)
		rc = decode_fields(tx, fields, cnt);
	if (rc != PHR_OK)
		phr_tx_release(tx);
	return rc;
}

/* ---------------------------------------------------------------- signatures */

int phr_tx_sign(struct phr_tx *tx, const uint8_t seckey[32])
{
	uint8_t hash[32], sig[64];
	int recid;
	if (tx->type == PHR_TX_LEGACY && tx->has_chain_id && tx->chain_id > (UINT64_MAX - 36) / 2)
		return PHR_ERR_INVALID;
	int rc = phr_tx_signing_hash(hash, tx);
	if (rc == PHR_OK)
		rc = phr_secp256k1_sign(sig, &recid, hash, seckey);
	if (rc != PHR_OK)
		return rc;
	if (tx->type != PHR_TX_LEGACY)
		tx->v = (uint64_t)recid;
	else if (tx->has_chain_id)
		tx->v = tx->chain_id * 2 + 35 + (uint64_t)recid;
	else
		tx->v = 27 + (uint64_t)recid;
	phr_u256_from_be(&tx->r, sig);
	phr_u256_from_be(&tx->s, sig + 32);
	return PHR_OK;
}

int phr_tx_sender(uint8_t addr[20], const struct phr_tx *tx)
{
	uint8_t hash[32], rs[64];
	int recid;
	if (tx->type != PHR_TX_LEGACY)
		recid = tx->v <= 1 ? (int)tx->v : -1;
	else if (tx->v == 27 || tx->v == 28)
		recid = (int)(tx->v - 27);
	else if (tx->v >= 35)
		recid = (int)((tx->v - 35) & 1);
	else
		recid = -1;
	if (recid < 0)
		return PHR_ERR_SIGNATURE;
	int rc = phr_tx_signing_hash(hash, tx);
	if (rc != PHR_OK)
		return rc;
	phr_u256_to_be(rs, &tx->r);
	phr_u256_to_be(rs + 32, &tx->s);
	return phr_eth_recover_rs(addr, hash, rs, recid);
}

/* ---------------------------------------------------------------- rules */

static bool add_gas(uint64_t *g, uint64_t x)
{
	if (*g > UINT64_MAX - x)
		return false;
	*g += x;
	return true;
}

int phr_tx_intrinsic_gas(uint64_t *gas, const struct phr_tx *tx)
{
	uint64_t g = tx->has_to ? 21000 : 53000;
	uint64_t zeros = 0;
	for (size_t i = 0; i < tx->data_len; i++)
		zeros += tx->data[i] == 0;
	uint64_t nonzero = (uint64_t)tx->data_len - zeros;
	bool ok = add_gas(&g, zeros * 4) && nonzero <= UINT64_MAX / 16 && add_gas(&g, nonzero * 16);
	if (ok && !tx->has_to)
		ok = add_gas(&g, ((uint64_t)tx->data_len + 31) / 32 * 2);
	for (size_t i = 0; ok && i < tx->n_access; i++)
		ok = add_gas(&g, 2400) && add_gas(&g, (uint64_t)tx->access_list[i].n_keys * 1900);
	if (!ok)
		return PHR_ERR_RANGE;
	*gas = g;
	return PHR_OK;
}

int phr_tx_validate(uint8_t sender[20], const struct phr_tx *tx, uint64_t chain_id)
{
	uint8_t addr[20];
	uint64_t ig;
	if (tx->type == PHR_TX_BLOB)
		return PHR_ERR_UNSUPPORTED;
	if (tx->has_chain_id && tx->chain_id != chain_id)
		return PHR_ERR_INVALID;
	if (tx->type != PHR_TX_LEGACY && !tx->has_chain_id)
		return PHR_ERR_INVALID;
	if (tx->nonce == UINT64_MAX)
		return PHR_ERR_RANGE; /* EIP-2681 */
	const struct phr_u256 *fee =
		tx->type == PHR_TX_DYNAMIC_FEE ? &tx->max_fee : &tx->gas_price;
	if (tx->type == PHR_TX_DYNAMIC_FEE && phr_u256_cmp(&tx->max_priority_fee, &tx->max_fee) > 0)
		return PHR_ERR_INVALID;
	/* gasLimit * fee must fit 256 bits: fee <= (2^256-1) / gasLimit */
	if (tx->gas_limit) {
		struct phr_u256 lim, all;
		struct phr_u256 gl = phr_u256_from_u64(tx->gas_limit);
		phr_u256_not(&all, &PHR_U256_ZERO);
		phr_u256_div(&lim, &all, &gl);
		if (phr_u256_cmp(fee, &lim) > 0)
			return PHR_ERR_RANGE;
	}
	if (!tx->has_to && tx->data_len > PHR_TX_MAX_INITCODE)
		return PHR_ERR_INVALID;
	int rc = phr_tx_intrinsic_gas(&ig, tx);
	if (rc != PHR_OK)
		return rc;
	if (ig > tx->gas_limit)
		return PHR_ERR_INVALID;
	rc = phr_tx_sender(addr, tx);
	if (rc != PHR_OK)
		return rc;
	if (sender)
		memcpy(sender, addr, 20);
	return PHR_OK;
}

/* ---------------------------------------------------------------- JSON */

static int json_u256(struct phr_u256 *out, const json_t *j)
{
	if (json_is_integer(j) && json_integer_value(j) >= 0) {
		*out = phr_u256_from_u64((uint64_t)json_integer_value(j));
		return PHR_OK;
	}
	if (json_is_string(j) && phr_u256_parse(out, json_string_value(j)) == 0)
		return PHR_OK;
	return PHR_ERR_INVALID;
}

static int json_u64(uint64_t *out, const json_t *j)
{
	struct phr_u256 x;
	int rc = json_u256(&x, j);
	if (rc == PHR_OK && !phr_u256_fits_u64(&x))
		rc = PHR_ERR_INVALID;
	if (rc == PHR_OK)
		*out = x.w[0];
	return rc;
}

static int json_access_list(struct phr_tx *tx, const json_t *al)
{
	size_t i;
	const json_t *e;
	if (!json_is_array(al))
		return PHR_ERR_INVALID;
	json_array_foreach(al, i, e) {
		uint8_t addr[20], (*keys)[32] = NULL;
		const json_t *ks = json_object_get(e, "storageKeys");
		const char *as = json_string_value(json_object_get(e, "address"));
		size_t nk = json_array_size(ks), k;
		const json_t *kj;
		int rc = as && phr_eth_address_parse(addr, as) == PHR_OK && (!ks || json_is_array(ks))
				 ? PHR_OK : PHR_ERR_INVALID;
		if (rc == PHR_OK && nk) {
			keys = phr_calloc(nk, 32);
			if (!keys)
				rc = PHR_ERR_NOMEM;
		}
		json_array_foreach(ks, k, kj) {
			if (rc == PHR_OK && (!json_is_string(kj) ||
					     phr_hex_decode_exact(keys[k], 32, json_string_value(kj)) != PHR_OK))
				rc = PHR_ERR_INVALID;
		}
		if (rc == PHR_OK)
			rc = phr_tx_add_access(tx, addr, (const uint8_t(*)[32])keys, nk);
		phr_free(keys);
		if (rc != PHR_OK)
			return rc;
	}
	return PHR_OK;
}

static int from_json(struct phr_tx *tx, const json_t *o)
{
	const json_t *j;
	uint64_t type;
	int rc = PHR_OK;
	if (!json_is_object(o))
		return PHR_ERR_INVALID;
	if ((j = json_object_get(o, "type"))) {
		if (json_u64(&type, j) != PHR_OK)
			return PHR_ERR_INVALID;
		if (type > 2)
			return PHR_ERR_UNSUPPORTED;
	} else {
		type = json_object_get(o, "maxFeePerGas") ? 2 : json_object_get(o, "accessList") ? 1 : 0;
	}
	tx->type = (enum phr_tx_type)type;
	if ((j = json_object_get(o, "chainId"))) {
		tx->has_chain_id = true;
		rc = json_u64(&tx->chain_id, j);
	} else if (type != 0) {
		return PHR_ERR_INVALID;
	}
	if (rc == PHR_OK && (j = json_object_get(o, "nonce")))
		rc = json_u64(&tx->nonce, j);
	if (rc == PHR_OK && (j = json_object_get(o, "gasPrice")))
		rc = json_u256(&tx->gas_price, j);
	if (rc == PHR_OK && (j = json_object_get(o, "maxFeePerGas")))
		rc = json_u256(&tx->max_fee, j);
	if (rc == PHR_OK && (j = json_object_get(o, "maxPriorityFeePerGas")))
		rc = json_u256(&tx->max_priority_fee, j);
	j = json_object_get(o, "gas");
	if (!j)
		j = json_object_get(o, "gasLimit");
	if (rc == PHR_OK && j)
		rc = json_u64(&tx->gas_limit, j);
	if (rc == PHR_OK && (j = json_object_get(o, "to")) && !json_is_null(j)) {
		tx->has_to = true;
		if (!json_is_string(j) || phr_eth_address_parse(tx->to, json_string_value(j)) != PHR_OK)
			rc = PHR_ERR_INVALID;
	}
	if (rc == PHR_OK && (j = json_object_get(o, "value")))
		rc = json_u256(&tx->value, j);
	j = json_object_get(o, "data");
	if (!j)
		j = json_object_get(o, "input");
	if (rc == PHR_OK && j) {
		rc = phr_eth_json_unhex(&tx->data, &tx->data_len, j);
		if (rc == PHR_OK && tx->data_len == 0) {
			phr_free(tx->data);
			tx->data = NULL;
		}
	}
	if (rc == PHR_OK && (j = json_object_get(o, "accessList"))) {
		if (type == 0)
			rc = PHR_ERR_INVALID;
		else
			rc = json_access_list(tx, j);
	}
	return rc;
}

int phr_tx_from_json(struct phr_tx *tx, const json_t *obj)
{
	phr_tx_init(tx);
	int rc = from_json(tx, obj);
	if (rc != PHR_OK)
		phr_tx_release(tx);
	return rc;
}

static json_t *qty(const struct phr_u256 *x)
{
	char q[67];
	phr_u256_to_quantity(q, x);
	return json_string(q);
}

static json_t *qty64(uint64_t v)
{
	struct phr_u256 x = phr_u256_from_u64(v);
	return qty(&x);
}

static json_t *addrj(const uint8_t a[20])
{
	char s[PHR_ETH_ADDRESS_STR_LEN];
	phr_eth_address_checksum(s, a);
	return json_string(s);
}

json_t *phr_tx_to_json(const struct phr_tx *tx)
{
	json_t *o = json_object();
	int bad = !o;
	if (bad)
		return NULL;
	bad |= json_object_set_new(o, "type", qty64((uint64_t)tx->type));
	if (tx->has_chain_id)
		bad |= json_object_set_new(o, "chainId", qty64(tx->chain_id));
	bad |= json_object_set_new(o, "nonce", qty64(tx->nonce));
	if (tx->type == PHR_TX_LEGACY || tx->type == PHR_TX_ACCESS_LIST) {
		bad |= json_object_set_new(o, "gasPrice", qty(&tx->gas_price));
	} else {
		bad |= json_object_set_new(o, "maxFeePerGas", qty(&tx->max_fee));
		bad |= json_object_set_new(o, "maxPriorityFeePerGas", qty(&tx->max_priority_fee));
	}
	bad |= json_object_set_new(o, "gas", qty64(tx->gas_limit));
	bad |= json_object_set_new(o, "to", tx->has_to ? addrj(tx->to) : json_null());
	bad |= json_object_set_new(o, "value", qty(&tx->value));
	bad |= json_object_set_new(o, "input", phr_eth_json_hex(tx->data, tx->data_len));
	if (tx->type != PHR_TX_LEGACY) {
		json_t *al = json_array();
		for (size_t i = 0; al && i < tx->n_access; i++) {
			json_t *keys = json_array();
			for (size_t k = 0; keys && k < tx->access_list[i].n_keys; k++)
				bad |= json_array_append_new(keys, phr_eth_json_hex(tx->access_list[i].keys[k], 32));
			bad |= json_array_append_new(al, json_pack("{s:o,s:o*}", "address",
								   addrj(tx->access_list[i].address),
								   "storageKeys", keys));
		}
		bad |= json_object_set_new(o, "accessList", al);
		bad |= json_object_set_new(o, "yParity", qty64(tx->v));
	}
	if (tx->type == PHR_TX_BLOB) {
		json_t *bh = json_array();
		for (size_t i = 0; bh && i < tx->n_blob_hashes; i++)
			bad |= json_array_append_new(bh, phr_eth_json_hex(tx->blob_hashes[i], 32));
		bad |= json_object_set_new(o, "maxFeePerBlobGas", qty(&tx->max_fee_per_blob_gas));
		bad |= json_object_set_new(o, "blobVersionedHashes", bh);
	}
	bad |= json_object_set_new(o, "v", qty64(tx->v));
	bad |= json_object_set_new(o, "r", qty(&tx->r));
	bad |= json_object_set_new(o, "s", qty(&tx->s));
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}
