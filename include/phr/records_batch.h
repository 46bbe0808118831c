/**
 * @file records_batch.h
 * @brief Many records in one call (module `phr`, src/phr/records_batch.c):
 *        what a FHIR transaction Bundle becomes.
 *
 * Until HealthRecordNFT has a batch mint, a batch is each record's own
 * provider-to-patient flow (phr_node_record_submit), run by concurrent
 * workers so that their store writes and mint transactions are in flight
 * together and the chain commits their blocks together. Callers do not
 * depend on that: when a batch mint exists, only this file changes.
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

/**
 * Submits @p count records by @p provider (as phr_node_record_submit each).
 * @param[out] out     @p count receipts, in the order of @p items
 * @param[out] results @p count codes, in the order of @p items (may be NULL)
 * @return PHR_OK when every record was minted; else the first error by
 *         index (PHR_ERR_FORBIDDEN, PHR_ERR_NOT_FOUND, PHR_ERR_INVALID,
 *         PHR_ERR_TOO_LARGE, PHR_ERR_NOMEM, store and chain errors). The
 *         records whose result is PHR_OK are minted even then: the batch is
 *         not atomic on chain.
 * Thread safety: as phr_node_record_submit.
 */
PHR_WUR int phr_node_records_submit_batch(struct phr_node *node, struct phr_record_receipt *out,
					  int *results, const struct phr_identity *provider,
					  const struct phr_record_item *items, size_t count);

#ifdef __cplusplus
}
#endif
#endif /* PHR_RECORDS_BATCH_H */
