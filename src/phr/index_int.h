/*
 * The node's chain indexer (indexer.c): the logs of the deployed contracts,
 * copied into DIR/index.db with a cursor (last block number and hash).
 */
#ifndef PHR_INDEX_INT_H
#define PHR_INDEX_INT_H

#include "phr_int.h"

/** Opens (creates) the index at @p path for the deployment @p dep. */
int phr_index_i_open(struct phr_index **ix, const char *path, const struct phr_deployment *dep);
/** Closes it; NULL is a no-op. */
void phr_index_i_close(struct phr_index *ix);

/**
 * Catches the index up to the chain head: checks the cursor's block hash
 * (a mismatch — another chain, a reorg — wipes the index and starts again
 * from block 0), then copies the logs of the deployment's contracts from the
 * block after the cursor to the head, a chunk of blocks per transaction.
 * @return PHR_OK, chain transport errors (the index stays as it was), PHR_ERR_DB.
 */
int phr_index_i_sync(struct phr_index *ix, struct phr_chain *chain);

/** Wipes the index (the next sync reads the chain from block 0). */
int phr_index_i_wipe(struct phr_index *ix);

/**
 * The logs of contract @p addr with topic0 and optional topic1/topic2
 * (NULL: any), in chain order, as phr_chain_get_logs would answer over the
 * indexed range. @p logs is a new array (phr_chain_logs_free), NULL when empty.
 */
int phr_index_i_logs(struct phr_index *ix, struct phr_chain_log **logs, size_t *count,
		     const uint8_t addr[20], const uint8_t topic0[32], const uint8_t *topic1,
		     const uint8_t *topic2);

/** Whether the logs of contract @p addr are indexed (the six core contracts). */
bool phr_index_i_covers(const struct phr_index *ix, const uint8_t addr[20]);

/** Cursor and counters. */
void phr_index_i_status(struct phr_index *ix, struct phr_index_status *st);

#endif
