/**
 * @file siwe.h
 * @brief Sign-In with Ethereum (EIP-4361) messages: a strict parser and the
 *        checks a server makes (module `api`).
 *
 * The parser accepts exactly the EIP-4361 layout: the header line
 * "<domain> wants you to sign in with your Ethereum account:", the EIP-55
 * address, an optional statement, then the fields URI, Version ("1"),
 * Chain ID, Nonce (8+ alphanumerics), Issued At, and the optional
 * Expiration Time, Not Before, Request ID and Resources, in that order,
 * each on its own line (LF). Times are RFC 3339. Anything else is
 * PHR_ERR_PARSE. No I/O, no allocation; safe on any input.
 */
#ifndef PHR_SIWE_H
#define PHR_SIWE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "phr/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Largest message accepted. */
#define PHR_SIWE_MAX_MESSAGE 4096
/** Largest resource list. */
#define PHR_SIWE_MAX_RESOURCES 8

/** A parsed message; strings are NUL-terminated copies. */
struct phr_siwe {
	char scheme[16];     /**< "" when absent */
	char domain[256];
	uint8_t address[20];
	char statement[512]; /**< "" when absent */
	char uri[512];
	uint64_t chain_id;
	char nonce[65];
	int64_t issued_at;   /**< unix seconds */
	bool has_expiration, has_not_before;
	int64_t expiration, not_before;
	char request_id[128];
	size_t n_resources;
};

/**
 * Parses an EIP-4361 message.
 * @param[out] m   filled on success (untouched fields zeroed)
 * @return PHR_OK, PHR_ERR_PARSE (layout, field, time syntax), PHR_ERR_INVALID
 *         (address not EIP-55 checksummed, version not 1), PHR_ERR_TOO_LARGE.
 */
PHR_WUR int phr_siwe_parse(struct phr_siwe *m, const char *msg, size_t len);

/**
 * Parses an RFC 3339 date-time ("2026-01-02T03:04:05Z", optional fraction,
 * "Z" or "+hh:mm"/"-hh:mm").
 * @return PHR_OK or PHR_ERR_PARSE.
 */
PHR_WUR int phr_rfc3339_parse(int64_t *t, const char *s, size_t len);

/**
 * The server-side checks after parsing: @p domain equals the message's,
 * the chain id matches, @p now lies within [not_before, expiration) and
 * issued_at is not in the future (60 s skew) nor older than @p max_age.
 * @return PHR_OK, PHR_ERR_UNAUTHENTICATED (domain, chain), PHR_ERR_EXPIRED.
 */
PHR_WUR int phr_siwe_check(const struct phr_siwe *m, const char *domain, uint64_t chain_id,
			   int64_t now, int64_t max_age);

#ifdef __cplusplus
}
#endif
#endif /* PHR_SIWE_H */
