/*
 * Emergency break-glass sessions (seed §8) on EmergencyAccess.
 */
#include <string.h>

#include "phr/contracts.h"
#include "phr/crypto.h"
#include "phr_int.h"

int phr_node_emergency_open(struct phr_node *n, uint64_t *expires_at,
			    const struct phr_identity *provider, const uint8_t patient[20],
			    unsigned reason_code, const char *reason)
{
	struct phr_buf cd, out;
	uint8_t h[32];
	int rv;

	if (reason_code == 0 || reason_code > 255 || reason == NULL)
		return PHR_ERR_INVALID;
	phr_keccak256(h, reason, strlen(reason));
	phr_buf_init(&cd, 0);
	phr_buf_init(&out, 0);
	pthread_mutex_lock(&n->lock);
	rv = phr_contracts_emergency_access_open_emergency_access_encode(&cd, patient, reason_code, h);
	if (rv == PHR_OK)
		rv = phr_node_i_tx(n, NULL, provider, n->dep.emergency, &cd);
	if (rv == PHR_OK) {
		/* read back the session's end */
		uint64_t opened = 0, exp = 0, code = 0;
		uint8_t rh[32];
		phr_buf_reset(&cd);
		rv = phr_contracts_emergency_access_session_of_encode(&cd, patient, provider->address);
		if (rv == PHR_OK)
			rv = phr_node_i_call(n, &out, NULL, n->dep.emergency, &cd);
		if (rv == PHR_OK)
			rv = phr_contracts_emergency_access_session_of_decode(&opened, &exp, &code, rh,
									       out.data, out.len);
		if (rv == PHR_OK)
			*expires_at = exp;
	}
	pthread_mutex_unlock(&n->lock);
	phr_buf_release(&cd);
	phr_buf_release(&out);
	if (rv == PHR_OK)
		phr_log_warn("phr", "break-glass session opened (reason code %u)", reason_code);
	return rv;
}

int phr_node_emergency_close(struct phr_node *n, const struct phr_identity *signer,
			     const uint8_t patient[20], const uint8_t provider[20])
{
	struct phr_buf cd;
	int rv;

	phr_buf_init(&cd, 0);
	pthread_mutex_lock(&n->lock);
	rv = phr_contracts_emergency_access_close_emergency_access_encode(&cd, patient, provider);
	if (rv == PHR_OK)
		rv = phr_node_i_tx(n, NULL, signer, n->dep.emergency, &cd);
	pthread_mutex_unlock(&n->lock);
	phr_buf_release(&cd);
	return rv;
}
