/**
 * @file milestone.h
 * @brief Health milestone tokens (seed §5): the metadata of record tokens of
 *        the milestone types (Vaccination, MajorProcedure,
 *        ChronicConditionAchievement, PreventiveCare), attested by the
 *        provider with an EIP-712 signature (module `phr`).
 *
 * A milestone is a record token of types 1..4 (HealthRecordNFT.isMilestone).
 * Its metadata follows seed §5.2 in two parts:
 *
 * - the **details** (vaccine name, manufacturer, lot, date; the procedure,
 *   the condition and its achievement; the preventive service) are health
 *   data: they are sealed (crypto_box_seal) to the patient's and to the
 *   provider's X25519 keys and kept in the store as raw blocks;
 * - the **public metadata** holds only non-identifying fields: recordType,
 *   the provider's address, the timestamp (the token's block time), the
 *   keccak-256 of the canonical details (detailsHash), the CIDs of the
 *   record ciphertext (encryptedData) and of the sealed details, and the
 *   verificationProof: the provider's EIP-712 signature of
 *
 *       Milestone(uint256 tokenId,uint8 recordType,bytes32 dataHash,
 *                 bytes32 detailsHash,uint64 timestamp)
 *
 *   under the domain {name "phr milestone", version "1", chainId,
 *   verifyingContract: HealthRecordNFT}.
 *
 * Anyone can check a milestone against the chain (the token is live and a
 * milestone, its provider signed, its dataHash and type are the token's, the
 * provider is verified); the patient can also open the details and check
 * them against detailsHash. See docs/milestones.md.
 */
#ifndef PHR_MILESTONE_H
#define PHR_MILESTONE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "phr/eip712.h"
#include "phr/phr.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Whether record type @p rtype is a milestone type (1..4). */
bool phr_milestone_type(unsigned rtype);

/** The seed's name of a record type ("Vaccination", ...; "General" for unknown codes). */
const char *phr_milestone_type_name(unsigned rtype);

/**
 * Details of a milestone from the record's FHIR resource (JSON text):
 * Immunization → {kind "vaccination", name, code, manufacturer, lotNumber,
 * date}; Procedure → {kind "procedure", name, code, date}; Condition,
 * Observation, Goal or CarePlan → {kind "achievement", ...}; other
 * resources → {kind "record", resourceType, name, date}. Missing elements
 * are left out; a non-JSON record gives {kind "record"}.
 * @param[out] details new JSON object
 * @return PHR_OK, PHR_ERR_NOMEM.
 */
PHR_WUR int phr_milestone_details(json_t **details, const uint8_t *record, size_t len);

/** keccak-256 of the canonical (sorted keys, compact) JSON of @p details. */
PHR_WUR int phr_milestone_details_hash(uint8_t out[32], const json_t *details);

/**
 * The EIP-712 typed data a provider signs for a milestone.
 * @param[out] typed new JSON object (types, primaryType, domain, message)
 * @return PHR_OK, PHR_ERR_NOMEM.
 */
PHR_WUR int phr_milestone_typed_data(json_t **typed, uint64_t chain_id, const uint8_t nft[20],
				     const struct phr_u256 *token, unsigned rtype,
				     const uint8_t data_hash[32], const uint8_t details_hash[32],
				     uint64_t timestamp);

/**
 * Publishes a milestone: checks on chain that @p token is a live milestone
 * token, that @p sig (r||s||v over phr_milestone_typed_data of the token's
 * type, dataHash, block time and keccak(@p details)) recovers to the
 * token's provider, seals @p details to the patient's and the provider's
 * registered X25519 keys, stores the sealed blobs and the public metadata
 * in the store, and indexes the metadata (DIR/phr.db). Publishing again
 * replaces the earlier metadata.
 * @param[out] meta new JSON object: the public metadata (may be NULL)
 * @return PHR_OK, PHR_ERR_NOT_FOUND (no live token), PHR_ERR_INVALID (not a
 *         milestone type), PHR_ERR_SIGNATURE (not the provider's
 *         signature), store, chain and DB errors.
 */
PHR_WUR int phr_node_milestone_publish(struct phr_node *node, json_t **meta,
				       const struct phr_u256 *token, const json_t *details,
				       const uint8_t sig[PHR_ETH_SIG_BYTES]);

/**
 * Attests a milestone as the hosted provider @p provider: reads the record
 * (Treatment purpose, audited View), derives its details
 * (phr_milestone_details), signs and publishes.
 * @return as phr_node_record_read and phr_node_milestone_publish;
 *         PHR_ERR_FORBIDDEN when @p provider is not the token's provider.
 */
PHR_WUR int phr_node_milestone_attest(struct phr_node *node, json_t **meta,
				      const struct phr_identity *provider, const struct phr_u256 *token);

/**
 * As phr_node_milestone_attest with the record's plaintext already in hand
 * (the provider attesting right after it submitted the record): no read,
 * no View entry. The caller vouches that @p plain is the record's content.
 * @return as phr_node_milestone_attest.
 */
PHR_WUR int phr_node_milestone_attest_plain(struct phr_node *node, json_t **meta,
					    const struct phr_identity *provider,
					    const struct phr_u256 *token, const uint8_t *plain, size_t len);

/**
 * The public metadata of a milestone (no chain check; see
 * phr_node_milestone_check).
 * @return PHR_OK, PHR_ERR_NOT_FOUND (no metadata published), PHR_ERR_DB,
 *         store errors.
 */
PHR_WUR int phr_node_milestone_get(struct phr_node *node, json_t **meta, const struct phr_u256 *token);

/**
 * Verifies public metadata against the chain: the token is live and a
 * milestone; recordType, provider, dataHash and timestamp are the token's;
 * the signature recovers to that provider; the provider is verified now.
 * @param[out] report new JSON object {valid, checks: {name: bool}, reason}
 * @return PHR_OK (see report.valid), PHR_ERR_PARSE (not milestone
 *         metadata), chain errors.
 */
PHR_WUR int phr_node_milestone_check(struct phr_node *node, json_t **report, const json_t *meta);

/**
 * Opens the sealed details of a milestone with the hosted identity @p who
 * (the patient or the provider) and checks them against detailsHash.
 * @return PHR_OK, PHR_ERR_NOT_FOUND, PHR_ERR_FORBIDDEN (no sealed copy for
 *         @p who), PHR_ERR_TAMPERED (does not open or hash mismatch).
 */
PHR_WUR int phr_node_milestone_details_open(struct phr_node *node, json_t **details,
					    const struct phr_identity *who, const json_t *meta);

/**
 * Milestones of a patient: the patient's live tokens of milestone types, as
 * a JSON array of {id, type, typeName, provider, block, metadata (public
 * metadata or null when not yet attested)}.
 * @return PHR_OK, chain and DB errors.
 */
PHR_WUR int phr_node_milestones_list(struct phr_node *node, json_t **out, const uint8_t patient[20]);

#ifdef __cplusplus
}
#endif

#endif
