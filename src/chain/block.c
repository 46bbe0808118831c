/*
 * Cancun block headers (RLP, hash), EIP-1559 base fee and receipt encoding.
 */
#include "phr/chain.h"
#include "phr/crypto.h"
#include "phr/rlp.h"

const uint8_t phr_chain_empty_ommers[32] = {
	0x1d, 0xcc, 0x4d, 0xe8, 0xde, 0xc7, 0x5d, 0x7a, 0xab, 0x85, 0xb5, 0x67, 0xb6, 0xcc, 0xd4, 0x1a,
	0xd3, 0x12, 0x45, 0x1b, 0x94, 0x8a, 0x74, 0x13, 0xf0, 0xa1, 0x42, 0xfd, 0x40, 0xd4, 0x93, 0x47,
};

#define PUT(x)                     \
	do {                       \
		rc = (x);          \
		if (rc != PHR_OK)  \
			return rc; \
	} while (0)

int phr_chain_header_encode(struct phr_buf *out, const struct phr_chain_header *h)
{
	size_t mark;
	int rc;

	phr_rlp_list_begin(out, &mark);
	PUT(phr_rlp_put_bytes(out, h->parent_hash, 32));
	PUT(phr_rlp_put_bytes(out, h->ommers_hash, 32));
	PUT(phr_rlp_put_bytes(out, h->coinbase, 20));
	PUT(phr_rlp_put_bytes(out, h->state_root, 32));
	PUT(phr_rlp_put_bytes(out, h->tx_root, 32));
	PUT(phr_rlp_put_bytes(out, h->receipts_root, 32));
	PUT(phr_rlp_put_bytes(out, h->bloom, PHR_CHAIN_BLOOM_BYTES));
	PUT(phr_rlp_put_u256(out, &h->difficulty));
	PUT(phr_rlp_put_u64(out, h->number));
	PUT(phr_rlp_put_u64(out, h->gas_limit));
	PUT(phr_rlp_put_u64(out, h->gas_used));
	PUT(phr_rlp_put_u64(out, h->timestamp));
	PUT(phr_rlp_put_bytes(out, h->extra, h->extra_len));
	PUT(phr_rlp_put_bytes(out, h->mix_hash, 32));
	PUT(phr_rlp_put_bytes(out, h->nonce, 8));
	PUT(phr_rlp_put_u256(out, &h->base_fee));
	PUT(phr_rlp_put_bytes(out, h->withdrawals_root, 32));
	PUT(phr_rlp_put_u64(out, h->blob_gas_used));
	PUT(phr_rlp_put_u64(out, h->excess_blob_gas));
	PUT(phr_rlp_put_bytes(out, h->parent_beacon_root, 32));
	return phr_rlp_list_end(out, mark);
}

int phr_chain_header_decode(struct phr_chain_header *out, const uint8_t *rlp, size_t n)
{
	struct phr_rlp_item top, f[20];
	struct phr_chain_header h = { 0 };
	size_t count;
	int rc;

	PUT(phr_rlp_decode(&top, rlp, n));
	if (!top.is_list)
		return PHR_ERR_PARSE;
	PUT(phr_rlp_list_items(f, 20, &count, &top));
	if (count != 20 || f[12].is_list || f[12].len > PHR_CHAIN_EXTRA_MAX)
		return PHR_ERR_PARSE;
	PUT(phr_rlp_item_fixed(h.parent_hash, 32, &f[0]));
	PUT(phr_rlp_item_fixed(h.ommers_hash, 32, &f[1]));
	PUT(phr_rlp_item_fixed(h.coinbase, 20, &f[2]));
	PUT(phr_rlp_item_fixed(h.state_root, 32, &f[3]));
	PUT(phr_rlp_item_fixed(h.tx_root, 32, &f[4]));
	PUT(phr_rlp_item_fixed(h.receipts_root, 32, &f[5]));
	PUT(phr_rlp_item_fixed(h.bloom, PHR_CHAIN_BLOOM_BYTES, &f[6]));
	PUT(phr_rlp_item_u256(&h.difficulty, &f[7]));
	PUT(phr_rlp_item_u64(&h.number, &f[8]));
	PUT(phr_rlp_item_u64(&h.gas_limit, &f[9]));
	PUT(phr_rlp_item_u64(&h.gas_used, &f[10]));
	PUT(phr_rlp_item_u64(&h.timestamp, &f[11]));
	if (f[12].len)
		memcpy(h.extra, f[12].data, f[12].len);
	h.extra_len = f[12].len;
	PUT(phr_rlp_item_fixed(h.mix_hash, 32, &f[13]));
	PUT(phr_rlp_item_fixed(h.nonce, 8, &f[14]));
	PUT(phr_rlp_item_u256(&h.base_fee, &f[15]));
	PUT(phr_rlp_item_fixed(h.withdrawals_root, 32, &f[16]));
	PUT(phr_rlp_item_u64(&h.blob_gas_used, &f[17]));
	PUT(phr_rlp_item_u64(&h.excess_blob_gas, &f[18]));
	PUT(phr_rlp_item_fixed(h.parent_beacon_root, 32, &f[19]));
	*out = h;
	return PHR_OK;
}

int phr_chain_header_hash(uint8_t hash[32], const struct phr_chain_header *h)
{
	struct phr_buf b;
	int rc;

	phr_buf_init(&b, 4096);
	rc = phr_chain_header_encode(&b, h);
	if (rc == PHR_OK)
		phr_keccak256(hash, b.data, b.len);
	phr_buf_release(&b);
	return rc;
}

void phr_chain_base_fee_next(struct phr_u256 *out, const struct phr_u256 *parent_base_fee,
			     uint64_t parent_gas_used, uint64_t parent_gas_limit)
{
	uint64_t target = parent_gas_limit / 2;
	struct phr_u256 delta, num, den;

	if (target == 0 || parent_gas_used == target) {
		*out = *parent_base_fee;
		return;
	}
	den = phr_u256_from_u64(target * 8);
	if (parent_gas_used > target) {
		num = phr_u256_from_u64(parent_gas_used - target);
		phr_u256_mul(&num, parent_base_fee, &num);
		phr_u256_div(&delta, &num, &den);
		if (phr_u256_is_zero(&delta))
			delta = phr_u256_from_u64(1);
		phr_u256_add(out, parent_base_fee, &delta);
	} else {
		num = phr_u256_from_u64(target - parent_gas_used);
		phr_u256_mul(&num, parent_base_fee, &num);
		phr_u256_div(&delta, &num, &den);
		phr_u256_sub(out, parent_base_fee, &delta);
	}
}

int phr_chain_receipt_encode(struct phr_buf *out, const struct phr_chain_receipt *r)
{
	size_t mark, lmark, tmark, i, t;
	int rc;

	if (r->type)
		PUT(phr_buf_append_byte(out, r->type));
	phr_rlp_list_begin(out, &mark);
	PUT(phr_rlp_put_u64(out, r->status ? 1 : 0));
	PUT(phr_rlp_put_u64(out, r->cumulative_gas));
	PUT(phr_rlp_put_bytes(out, r->bloom, PHR_CHAIN_BLOOM_BYTES));
	phr_rlp_list_begin(out, &lmark);
	for (i = 0; i < r->logs_count; i++) {
		const struct phr_chain_log *l = &r->logs[i];
		size_t one;

		phr_rlp_list_begin(out, &one);
		PUT(phr_rlp_put_bytes(out, l->address, 20));
		phr_rlp_list_begin(out, &tmark);
		for (t = 0; t < l->topics_count; t++)
			PUT(phr_rlp_put_bytes(out, l->topics[t], 32));
		PUT(phr_rlp_list_end(out, tmark));
		PUT(phr_rlp_put_bytes(out, l->data, l->data_len));
		PUT(phr_rlp_list_end(out, one));
	}
	PUT(phr_rlp_list_end(out, lmark));
	return phr_rlp_list_end(out, mark);
}

void phr_chain_logs_free(struct phr_chain_log *logs, size_t n)
{
	size_t i;

	if (!logs)
		return;
	for (i = 0; i < n; i++)
		phr_free(logs[i].data);
	phr_free(logs);
}

void phr_chain_receipt_release(struct phr_chain_receipt *r)
{
	phr_chain_logs_free(r->logs, r->logs_count);
	r->logs = NULL;
	r->logs_count = 0;
}
