/*
 * Fuzz the generated contract decoders with arbitrary return data and event logs: the first
 * byte picks a decoder; for events the next byte is the topic count (0..4) and 32 bytes per
 * topic follow (topic 0 is replaced by the right one when the low bit of the selector byte
 * is set, so the data paths are reached), the rest is ABI data.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "phr/contracts.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void results(uint8_t which, const uint8_t *d, size_t n)
{
	uint8_t a[20], b[20], h[32];
	uint64_t u1, u2;
	struct phr_u256 x, y;
	struct phr_buf s;
	bool yes;
	int rc = 0;

	phr_buf_init(&s, 1 << 16);
	switch (which % 6) {
	case 0:
		rc = phr_contracts_health_record_nft_record_of_decode(a, &u1, &u2, b, &x, &y, h, &s, d, n);
		break;
	case 1:
		rc = phr_contracts_patient_registry_grant_of_decode(&u1, &u2, a, d, n);
		break;
	case 2:
		rc = phr_contracts_recovery_guardians_of_decode(&s, &u1, &u2, d, n);
		break;
	case 3:
		rc = phr_contracts_health_record_nft_token_uri_decode(&s, d, n);
		break;
	case 4:
		rc = phr_contracts_patient_registry_can_access_decode(&yes, d, n);
		break;
	default:
		(void)phr_contracts_error_name(d, n);
		break;
	}
	(void)rc;
	phr_buf_release(&s);
}

static void events(uint8_t which, const uint8_t *d, size_t n)
{
	uint8_t topics[4][32];
	size_t nt;

	if (n < 1)
		return;
	nt = d[0] % 5;
	d++;
	n--;
	if (n < nt * 32)
		return;
	memcpy(topics, d, nt * 32);
	d += nt * 32;
	n -= nt * 32;
	switch ((which >> 1) % 3) {
	case 0: {
		struct phr_contracts_health_record_nft_record_minted_event ev;

		if (nt && (which & 1))
			memcpy(topics[0], phr_contracts_health_record_nft_record_minted_event_topic, 32);
		if (phr_contracts_health_record_nft_record_minted_event_decode(&ev, (const uint8_t(*)[32])topics, nt, d, n) == 0)
			phr_contracts_health_record_nft_record_minted_event_release(&ev);
		break;
	}
	case 1: {
		struct phr_contracts_audit_trail_audit_logged_event ev;

		if (nt && (which & 1))
			memcpy(topics[0], phr_contracts_audit_trail_audit_logged_event_topic, 32);
		int rc = phr_contracts_audit_trail_audit_logged_event_decode(&ev, (const uint8_t(*)[32])topics, nt, d, n);

		(void)rc;
		break;
	}
	default: {
		struct phr_contracts_recovery_guardians_set_event ev;

		if (nt && (which & 1))
			memcpy(topics[0], phr_contracts_recovery_guardians_set_event_topic, 32);
		if (phr_contracts_recovery_guardians_set_event_decode(&ev, (const uint8_t(*)[32])topics, nt, d, n) == 0)
			phr_contracts_recovery_guardians_set_event_release(&ev);
		break;
	}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (data[0] & 0x80)
		events(data[0], data + 1, size - 1);
	else
		results(data[0], data + 1, size - 1);
	return 0;
}
