/* Shared helpers of the chain tests: a scenario run against any struct phr_chain,
 * and spawning a node process whose port is read from its output. */
#ifndef CHAIN_TEST_UTIL_H
#define CHAIN_TEST_UTIL_H

#include <stdint.h>
#include <sys/types.h>

#include "phr/chain.h"

/* Deploys a contract with events, sends calls, checks receipts, logs, calls,
 * storage, balances and nonces. Fails the current cmocka test on a mismatch. */
void chain_scenario_run(struct phr_chain *c);

/* Signs and sends a type-2 transaction from dev account @p key_index; returns its hash. */
int chain_test_send(struct phr_chain *c, uint8_t hash[32], uint32_t key_index, const uint8_t *to,
		    const uint8_t *data, size_t data_len, uint64_t value_wei);

/* Deploys the scenario's contract (no calldata: returns sload(0); else
 * sstore(0, word 0) and log1) from dev account @p key_index; its address
 * into @p addr. Returns PHR_OK or the send's error. */
int chain_test_deploy(struct phr_chain *c, uint8_t addr[20], uint32_t key_index);

/* Deploys the scenario's contract (@p contract: its address) and sends it one call
 * storing a word of @p fill bytes, which logs; the call's receipt into @p r (with at
 * least one log; phr_chain_receipt_release). Fails the current test otherwise. */
void chain_test_logged_call(struct phr_chain *c, struct phr_chain_receipt *r, uint8_t contract[20],
			    uint8_t fill);

/* Starts argv (argv[0] a path) with stdout piped; waits until a line contains
 * @p marker followed by a port (digits after the last ':'). Returns the pid and
 * stores the port, or -1. */
pid_t chain_spawn(const char *const argv[], const char *marker, unsigned *port);
/* SIGTERM (or SIGKILL when hard) and wait; returns the exit status or -1. */
int chain_stop(pid_t pid, int sig);
/* A fresh temporary directory (heap string, phr_free). */
char *chain_tmpdir(void);
/* rm -rf of a temporary directory made by chain_tmpdir. */
void chain_rmdir(const char *dir);

#endif
