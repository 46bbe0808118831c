/**
 * @file records_batch.h
 * @brief Many records in one call (module `phr`, src/phr/records_batch.c):
 *        what a FHIR transaction Bundle becomes.
 *
 * A batch is the provider-to-patient flow of phr_node_record_submit for
 * every record, with the tokens minted by HealthRecordNFT.mintRecords:
 * ceil(count / PHR_RECORD_BATCH_CHUNK) chain transactions, each all or
 * nothing on chain. Ciphertexts and key capsules are stored first (concurrent
 * workers), then every chunk is simulated (eth_call) before the first is
 * sent, then the chunks are sent together (per-sender nonces).
 */
#ifndef PHR_RECORDS_BATCH_H
#define PHR_RECORDS_BATCH_H

#include "phr/phr.h"

#ifdef __cplusplus
extern "C" {
#endif

/** One record of a batch (borrowed for the duration of the call). */
struct phr_record_item {
	uint8_t patient[20];
	unsigned rtype;                  /**< 0..PHR_RECORD_TYPE_MAX */
	struct phr_u256 supersedes;      /**< zero for a new record */
	const uint8_t *data;
	size_t len;
};

/** Most records in one batch. */
#define PHR_RECORD_BATCH_MAX 10000

/** Records per mint transaction (HealthRecordNFT.MAX_MINT_BATCH). */
#define PHR_RECORD_BATCH_CHUNK 32

/**
 * Submits @p count records by @p provider (each as phr_node_record_submit).
 * @param[out] out     @p count receipts, in the order of @p items (zeroed
 *                     first; an item whose result is not PHR_OK has none)
 * @param[out] results @p count codes, in the order of @p items (may be NULL)
 * @return PHR_OK when every record was minted; else the cause (the
 *         first failing item's or chunk's code, never PHR_ERR_STATE): PHR_ERR_INVALID (bad type, NULL data), PHR_ERR_TOO_LARGE,
 *         PHR_ERR_CONFLICT (two items supersede one token), PHR_ERR_NOT_FOUND
 *         (patient not registered), PHR_ERR_FORBIDDEN (no Write), other
 *         revert, store and chain errors, PHR_ERR_NOMEM.
 *
 * What a failure leaves: any failure before the mint phase (checks, store,
 * a chunk the chain refuses in simulation) mints nothing; the items it did
 * not concern get PHR_ERR_STATE. A batch of up to PHR_RECORD_BATCH_CHUNK
 * records is one transaction: all minted or none. A larger batch can end
 * half minted only when the chain's state changes between the simulation
 * and a later chunk's inclusion (a grant revoked, the provider unverified,
 * a patient's record superseded by someone else) or the chain fails in
 * between: the items of the chunks that were minted have PHR_OK and their
 * receipts, the others their chunk's error. Unreferenced ciphertext blocks
 * of records never minted stay in the store (as for a failed single submit).
 * Thread safety: as phr_node_record_submit.
 */
PHR_WUR int phr_node_records_submit_batch(struct phr_node *node, struct phr_record_receipt *out,
					  int *results, const struct phr_identity *provider,
					  const struct phr_record_item *items, size_t count);

#ifdef __cplusplus
}
#endif
#endif /* PHR_RECORDS_BATCH_H */
