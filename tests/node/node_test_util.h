/* Helpers shared by the node tests. */
#ifndef NODE_TEST_UTIL_H
#define NODE_TEST_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NODE_TEST_MNEMONIC "test test test test test test test test test test test junk"

/** mkdtemp under $TMPDIR; returns a heap path. */
char *node_test_tmpdir(const char *tag);
/** rm -rf of a test directory. */
void node_test_rmrf(const char *path);
/** Counts files under @p dir whose bytes contain @p needle; adds the file count to *files. */
size_t node_test_scan(const char *dir, const uint8_t *needle, size_t n, size_t *files);

#include <sys/types.h>

/**
 * Starts @p argv with stdout and stderr in files and waits (up to 60 s) for
 * @p marker on stdout; copies the rest of that line to @p after.
 * @return the pid, or -1.
 */
pid_t node_test_spawn(const char *const argv[], const char *out_path, const char *err_path,
		      const char *marker, char *after, size_t after_cap);
/** SIGTERM, wait (10 s, then SIGKILL). @return the wait status, -1 when killed or not started. */
int node_test_stop(pid_t pid);

/** A `phr node --dev --threads 16` process of a test; DIR/n is its data directory. */
struct node_proc {
	char *dir;          /**< the test's temp dir (heap) */
	char node_dir[700]; /**< DIR/n */
	char url[128];      /**< http://127.0.0.1:PORT once listening */
	pid_t pid;          /**< 0 when not running */
};

/** Makes the temp dir (@p tag) and starts the node (run 1). @return 0 or -1. */
int node_proc_open(struct node_proc *p, const char *tag);
/** Starts the node on the same data directory, logging to DIR/node<run>.{out,log}. @return its pid or -1. */
pid_t node_proc_start(struct node_proc *p, unsigned run);
/** Stops the node and removes the temp dir (unless PHR_KEEP_TMP is set). */
void node_proc_close(struct node_proc *p);

/**
 * Bearer token (and address, when @p addr is non-NULL) of the dev identity
 * @p name from NODE_DIR/dev/tokens.json. @return 0, or -1 when missing.
 */
int node_test_token(char *token, size_t token_cap, char addr[64], const char *node_dir,
		    const char *name);

struct phr_chain_node;
struct phr_chain;
struct phr_store;
struct phr_node;
struct phr_identity;

/** A temp dir with an embedded dev chain, a store, the deployed contracts and a domain node. */
struct node_stack {
	char *dir;
	struct phr_chain_node *cn;
	struct phr_chain *chain;
	struct phr_store *store;
	struct phr_node *node;
};

/** The identity of NODE_TEST_MNEMONIC's key @p index, named @p name, hosted by @p node
 * (which owns it). @return it, or NULL. */
const struct phr_identity *node_test_identity(struct phr_node *node, const char *name,
					      uint32_t index);

/** Opens the stack (deploys the contracts from contracts/artifacts). @return 0 or -1. */
int node_stack_open(struct node_stack *s, const char *tag);
/** node_stack_open with the contracts of @p artifacts (a directory of <Name>.json). */
int node_stack_open_artifacts(struct node_stack *s, const char *tag, const char *artifacts);
/** Closes it and removes the directory (unless PHR_KEEP_TMP is set). */
void node_stack_close(struct node_stack *s);

#endif
