/*
 * Internals shared by recovery.c and backup.c.
 */
#ifndef PHR_RECOVERY_INT_H
#define PHR_RECOVERY_INT_H

#include "phr_int.h"

/**
 * Token ids of the live records of @p patient (RecordMinted logs, burnt
 * tokens left out). Takes the node's lock itself: call without it.
 * @param[out] ids heap array (phr_free), @p count entries
 */
int phr_recovery_i_live_records(struct phr_node *n, struct phr_u256 **ids, size_t *count,
				const uint8_t patient[20]);

/** Member @p key of @p o as an address. @return PHR_OK or PHR_ERR_PARSE. */
int phr_recovery_i_get_addr(uint8_t out[20], const json_t *o, const char *key);

#endif
