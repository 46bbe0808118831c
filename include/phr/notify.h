/**
 * @file notify.h
 * @brief Notifications of a node (issue 8 part 2): a durable outbox in the
 *        node database, delivered by webhook with retries.
 *
 * phr_notify() writes one row per (notification, subscriber) into the
 * node's SQLite database (DIR/phr.db, tables `notifications` and
 * `notify_deliveries`) inside one transaction and returns only once it is
 * committed: a notification survives a crash or a restart of the node.
 *
 * Delivery: every webhook subscription of the recipient (phr_notify_subscribe)
 * gets an HTTP POST of the JSON document
 *   {"id":N,"recipient":"0x..","kind":"emergency","createdAt":T,"payload":{...}}
 * with the headers
 *   Content-Type: application/json
 *   X-Phr-Notification: N
 *   X-Phr-Timestamp: T             (unix seconds of this attempt)
 *   X-Phr-Signature: v1=<hex>      (HMAC-SHA256(secret, T "." body))
 * A 2xx answer marks the delivery done; anything else (refused connection,
 * timeout, other status) schedules a retry with exponential backoff
 * (base * 2^attempts, capped at PHR_NOTIFY_BACKOFF_MAX seconds). A delivery
 * is never dropped: it is retried until it succeeds or the subscription is
 * removed. Delivery is at least once (the outcomes of a pass are committed
 * together): receivers de-duplicate by X-Phr-Notification.
 *
 * Kinds used by the project: "emergency" (a break-glass session was opened on
 * the patient, or a share of its escrowed summary released), "access_request"
 * (a provider asked for access), "recovery" (an owner-key recovery was
 * started, approved, executed or cancelled), "anomaly". Any short token
 * [a-z0-9_.-]{1,32} is accepted.
 *
 * Thread safety: all functions take the node's lock except the HTTP part of
 * phr_notify_deliver_due, which runs without it.
 */
#ifndef PHR_NOTIFY_H
#define PHR_NOTIFY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "phr/core.h"
#include "phr/phr.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Largest payload (compact JSON) accepted by phr_notify. */
#define PHR_NOTIFY_PAYLOAD_MAX 16384u
/** Longest webhook URL. */
#define PHR_NOTIFY_URL_MAX 512u
/** Webhook secrets: 16..64 bytes. */
#define PHR_NOTIFY_SECRET_MIN 16u
#define PHR_NOTIFY_SECRET_MAX 64u
/** Cap of the retry delay, seconds. */
#define PHR_NOTIFY_BACKOFF_MAX 3600u

/**
 * Queues a notification for @p recipient (durable before it returns). A
 * delivery row is created for every current webhook subscription of the
 * recipient; a notification without subscriber is still kept and listed.
 * Must not be called while holding the node's lock (it takes it).
 * @param[in] node      the node (borrowed)
 * @param[in] recipient the account notified (the patient, a contact, ...)
 * @param[in] kind      "emergency", "access_request", "recovery", "anomaly", ...
 *                      ([a-z0-9_.-]{1,32})
 * @param[in] payload   a JSON object (borrowed; copied), or NULL for {}.
 *                      Never put PHI in it: it is sent to webhooks.
 * @return PHR_OK, PHR_ERR_INVALID (bad kind, payload not an object),
 *         PHR_ERR_TOO_LARGE (payload over PHR_NOTIFY_PAYLOAD_MAX), PHR_ERR_DB,
 *         PHR_ERR_NOMEM.
 */
PHR_WUR int phr_notify(struct phr_node *node, const uint8_t recipient[20], const char *kind,
		       const json_t *payload);

/**
 * Registers a webhook for notifications addressed to @p owner.
 * @param[out] id     the subscription id
 * @param[in]  url    http://host[:port]/path (https is refused: the node's HTTP
 *                    client is plain; put a TLS proxy in front), at most
 *                    PHR_NOTIFY_URL_MAX bytes
 * @param[in]  secret HMAC key, PHR_NOTIFY_SECRET_MIN..PHR_NOTIFY_SECRET_MAX
 *                    bytes; the database keeps it sealed under DIR/node.key with
 *                    @p owner as associated data (nodekey.h), opened only to
 *                    sign a delivery (the caller keeps its copy)
 * Registering a URL the owner already has replaces its secret and answers the
 * same id (no duplicate deliveries).
 * @return PHR_OK, PHR_ERR_INVALID, PHR_ERR_UNSUPPORTED (https), PHR_ERR_DB,
 *         errors of phr_nodekey_seal (DIR/node.key unreadable or malformed).
 */
PHR_WUR int phr_notify_subscribe(struct phr_node *node, uint64_t *id, const uint8_t owner[20],
				 const char *url, const uint8_t *secret, size_t secret_len);

/**
 * Removes subscription @p id of @p owner (and its pending deliveries).
 * @return PHR_OK, PHR_ERR_NOT_FOUND (no such subscription of this owner), PHR_ERR_DB.
 */
PHR_WUR int phr_notify_unsubscribe(struct phr_node *node, const uint8_t owner[20], uint64_t id);

/**
 * Subscriptions of @p owner: JSON array of {id, url, createdAt} (no secret).
 * @param[out] out new reference (json_decref)
 * @return PHR_OK, PHR_ERR_DB, PHR_ERR_NOMEM.
 */
PHR_WUR int phr_notify_subscriptions(struct phr_node *node, json_t **out, const uint8_t owner[20]);

/**
 * Notifications of @p recipient, newest first: JSON array of
 * {id, kind, createdAt, payload, deliveries:[{subscription, state
 * ("pending"|"delivered"), attempts, nextAttempt, lastError, deliveredAt}]}.
 * @param[in] limit at most this many (0: 100)
 * @param[out] out  new reference (json_decref)
 * @return PHR_OK, PHR_ERR_DB, PHR_ERR_NOMEM.
 */
PHR_WUR int phr_notify_list(struct phr_node *node, json_t **out, const uint8_t recipient[20],
			    size_t limit);

/**
 * One delivery pass: POSTs every pending delivery whose next attempt is due
 * (at most @p max of them; 0: 64) and records the outcome. The HTTP requests
 * run without the node's lock, with a timeout of a few seconds each.
 * @param[out] delivered number delivered in this pass (may be NULL)
 * @param[out] failed    number that failed and were rescheduled (may be NULL)
 * @return PHR_OK, PHR_ERR_DB, PHR_ERR_NOMEM.
 */
PHR_WUR int phr_notify_deliver_due(struct phr_node *node, size_t *delivered, size_t *failed,
				   size_t max);

/**
 * Sets the retry base delay (seconds, default 5; 1 in tests). The delay
 * after the k-th failure is base * 2^(k-1), capped at PHR_NOTIFY_BACKOFF_MAX.
 */
void phr_notify_set_backoff(struct phr_node *node, unsigned base_seconds);

/**
 * Starts the node's delivery thread: a pass of phr_notify_deliver_due every
 * second (and at once after phr_notify). Idempotent. It also turns chain
 * events (emergency, access requests, recovery) into notifications
 * (phr_notify_scan_chain).
 * @return PHR_OK, PHR_ERR_INTERNAL (thread creation failed).
 */
PHR_WUR int phr_notify_worker_start(struct phr_node *node);

/** Stops and joins the delivery thread (no-op when not started). Called by phr_node_close. */
void phr_notify_worker_stop(struct phr_node *node);

/**
 * Scans the chain's events since the last scan (cursor kept in the node DB)
 * and queues notifications for accounts that have a webhook subscription on
 * this node or are identities hosted here: EmergencyAccess
 * EmergencyNotification ("emergency", event break_glass_opened, for each
 * notified account), PatientRegistry AccessRequested ("access_request", for
 * the patient), and Recovery's RecoveryApproved, RecoveryScheduled,
 * RecoveryCancelled and RecoveryExecuted ("recovery", events approved (with
 * readyAt when the vote scheduled the rotation), scheduled, cancelled,
 * executed; for the patient's current owner, the owner an execution replaced
 * and the emergency contacts), whoever signed the transaction (keystore users
 * relay through POST /api/v1/tx). Recovery notifications are de-duplicated
 * with phr_notify_recovery's per-transaction key.
 * @param[out] queued number of notifications queued (may be NULL)
 * @return PHR_OK, chain errors, PHR_ERR_DB.
 */
PHR_WUR int phr_notify_scan_chain(struct phr_node *node, size_t *queued);

/**
 * Queues one "recovery" notification (payload {event, patient, by, newOwner?,
 * readyAt?}) for @p owners and for the patient's emergency contacts (read on
 * chain), whether or not they have a webhook here. With @p tx_hash, each
 * recipient gets it once per transaction: the chain scan
 * (phr_notify_scan_chain) uses the same key for the Recovery events of that
 * transaction, so an action the node signed itself is not notified twice.
 * Must not be called while holding the node's lock.
 * @param[out] queued  notifications newly queued (may be NULL)
 * @param[in]  tx_hash the transaction (32 bytes), or NULL (no de-duplication)
 * @param[in]  patient the patient id
 * @param[in]  owners  two owner addresses (before and after; either may be NULL,
 *                     equal ones are notified once)
 * @param[in]  payload a JSON object (borrowed), or NULL for {}
 * @return PHR_OK, PHR_ERR_INVALID, PHR_ERR_TOO_LARGE, PHR_ERR_DB, PHR_ERR_NOMEM.
 */
PHR_WUR int phr_notify_recovery(struct phr_node *node, size_t *queued, const uint8_t *tx_hash,
				const uint8_t patient[20], const uint8_t *const owners[2],
				const json_t *payload);

/**
 * The signature header value of a delivery: "v1=" + hex(HMAC-SHA256(secret,
 * decimal(ts) "." body)). For receivers written in C and for tests.
 * @param[out] out NUL-terminated, 68 bytes
 * @return PHR_OK, PHR_ERR_INVALID.
 */
PHR_WUR int phr_notify_sign(char out[68], const uint8_t *secret, size_t secret_len, uint64_t ts,
			    const uint8_t *body, size_t body_len);

/**
 * Checks a received delivery: the signature matches (constant time) and @p ts
 * is within @p tolerance seconds of @p now.
 * @return PHR_OK, PHR_ERR_SIGNATURE, PHR_ERR_EXPIRED, PHR_ERR_INVALID.
 */
PHR_WUR int phr_notify_verify(const char *sig_header, const uint8_t *secret, size_t secret_len,
			      uint64_t ts, uint64_t now, uint64_t tolerance, const uint8_t *body,
			      size_t body_len);

#ifdef __cplusplus
}
#endif

#endif
