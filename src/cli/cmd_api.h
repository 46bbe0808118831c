/*
 * Helpers shared by the commands that talk to a node's API (cmd_login.c
 * defines them): phr login, patient, record, access, audit.
 */
#ifndef PHR_CMD_API_H
#define PHR_CMD_API_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include <stdint.h>

#include "phr/api.h"

struct phr_cli_api {
	const char *node, *token_arg, *token_file, *as;
	char token[PHR_API_TOKEN_LEN];
	bool raw_json;
	/* the token came from phr login's store, for this address (or "" when unknown) */
	bool saved;
	char saved_addr[64];
	/* the token was made by phr_cli_api_signer for this command: logged out at the end */
	bool ephemeral;
	/* second factor sent with relayed transactions (X-PHR-TOTP), or NULL */
	const char *totp;
	char node_buf[512];
};

/** Consumes --node, --token, --token-file, --as, --json at argv[*i]: 1 taken, 0 not ours, -1 error. */
int phr_cli_api_opt(struct phr_cli_api *a, int *i, int argc, char **argv);
/**
 * Fills defaults: the node ($PHR_NODE, else http://127.0.0.1:8080, without a
 * trailing slash) and, when @p need_token, the token ($PHR_TOKEN, or the one
 * phr login saved for this node URL in $PHR_DATADIR/tokens.json, or the older
 * $PHR_DATADIR/token). @return 0 or -1 (message printed).
 */
int phr_cli_api_ready(struct phr_cli_api *a, bool need_token);
/** One request; JSON result in *out (or the body to stdout when out is NULL). @return exit status. */
int phr_cli_api_call(struct phr_cli_api *a, json_t **out, const char *method, const char *path,
		     const char *ctype, const void *body, size_t len, const char *extra);
/** A JSON request whose JSON answer is printed. @return exit status. */
int phr_cli_api_print(struct phr_cli_api *a, const char *method, const char *path,
		      const json_t *body, const char *extra);

/** The signed-in address (GET /api/v1/me). @return 0 or -1. */
int phr_cli_api_me(struct phr_cli_api *a, char addr[64]);

struct phr_chain;
struct phr_deployment;

/**
 * The signing key of a keystore command and a bearer token for it: reads the
 * keystore into @p sk (sodium memory of 32 bytes) and, unless a token was
 * given (--token, --token-file, $PHR_TOKEN) or phr login saved one for this
 * node and this address, signs in with the key (SIWE) for this command only
 * (phr_cli_api_done logs that token out). @return 0 or -1 (message printed).
 */
int phr_cli_api_signer(struct phr_cli_api *a, uint8_t *sk, const char *keystore,
		       const char *password_file);

/** Logs out a token phr_cli_api_signer made for this command; no-op otherwise. */
void phr_cli_api_done(struct phr_cli_api *a);

/**
 * Reads the account key of a keystore (password from --password-file, $PHR_PASSWORD
 * or a prompt) into @p sk (sodium memory of 32 bytes). @return 0 or -1 (message printed).
 */
int phr_cli_keystore_key(uint8_t *sk, const char *keystore, const char *password_file);
/**
 * The node's deployment (GET /api/v1/info) and a chain handle for a client
 * that signs with its own key: reads go to @p chain_rpc (or $PHR_CHAIN_RPC,
 * or the node's /rpc when it embeds the chain); eth_sendRawTransaction goes
 * to the node's relay, POST /api/v1/tx, with the bearer token (and
 * a->totp as X-PHR-TOTP). @return 0 or -1 (message printed).
 */
int phr_cli_api_chain(struct phr_cli_api *a, struct phr_chain **chain, struct phr_deployment *d,
		      const char *chain_rpc);

/** A keystore command's signing session: key, address, chain (reads + relay), deployment. */
struct phr_cli_local {
	uint8_t *sk; /* sodium memory */
	uint8_t addr[20];
	char addr_s[64];
	struct phr_chain *chain;
	struct phr_deployment *d;
};

/**
 * Opens a signing session: phr_cli_api_signer, then phr_cli_api_chain.
 * Close it with phr_cli_local_close on every path. @return 0 or -1 (message printed).
 */
int phr_cli_local_open(struct phr_cli_api *a, struct phr_cli_local *l, const char *keystore,
		       const char *password_file, const char *chain_rpc);

struct phr_chain_receipt;
struct phr_buf;

/**
 * Signs the call @p cd to @p to with the session's key and sends it (node relay);
 * waits for the receipt (into @p r when not NULL: release it). @p what names the
 * action in the error message. @return 0 or -1 (message printed).
 */
int phr_cli_local_send(struct phr_cli_local *l, struct phr_chain_receipt *r, const uint8_t to[20],
		       const struct phr_buf *cd, const char *what);

/** Wipes the key, closes the chain, logs out a per-command token. */
void phr_cli_local_close(struct phr_cli_api *a, struct phr_cli_local *l);

#endif
