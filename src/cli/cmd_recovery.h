/*
 * Shared by `phr recovery` (cmd_recovery.c) and `phr backup` (cmd_backup.c):
 * option parsing and an offline node opened over a data directory.
 */
#ifndef PHR_CMD_RECOVERY_H
#define PHR_CMD_RECOVERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "phr/phr.h"

#define RCLI_MAX_POS 16

/** Parsed options: values of @p names (NULL when absent) and positionals. */
struct rcli_args {
	const char *const *names;
	size_t n_names;
	const char *val[16];
	const char *pos[RCLI_MAX_POS];
	size_t npos;
};

/** Parses argv[1..]; every name takes a value. @return 0, or -1 (message printed). */
int rcli_parse(struct rcli_args *a, const char *const *names, size_t n_names, int argc, char **argv);
/** The value of option @p name, or NULL. */
const char *rcli_get(const struct rcli_args *a, const char *name);

/** A node opened over DIR without serving: chain (embedded DIR/chain or remote), store, domain. */
struct rcli_stack {
	char *dir;
	struct phr_chain_node *cn;
	struct phr_chain *chain;
	struct phr_store *store;
	struct phr_node *node;
	struct phr_deployment dep;
};

/**
 * Opens the stack of --datadir (or $PHR_DATADIR, ~/.phr) with the deployment
 * DIR/deployment.json; @p chain_rpc (or $PHR_CHAIN_RPC) instead of the
 * embedded chain (required while `phr node` runs on DIR). @return 0 or -1.
 */
int rcli_stack_open(struct rcli_stack *s, const char *datadir, const char *chain_rpc);
void rcli_stack_close(struct rcli_stack *s);

/** Loads the identity of a keystore (password as phr_cli_password). @return 0 or -1. */
int rcli_identity(struct phr_identity **id, const char *keystore, const char *password_file);

#endif
