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
};

/** Consumes --node, --token, --token-file, --as, --json at argv[*i]: 1 taken, 0 not ours, -1 error. */
int phr_cli_api_opt(struct phr_cli_api *a, int *i, int argc, char **argv);
/** Fills defaults ($PHR_NODE, $PHR_TOKEN, $PHR_DATADIR/token). @return 0 or -1 (message printed). */
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
 * Reads the account key of a keystore (password from --password-file, $PHR_PASSWORD
 * or a prompt) into @p sk (sodium memory of 32 bytes). @return 0 or -1 (message printed).
 */
int phr_cli_keystore_key(uint8_t *sk, const char *keystore, const char *password_file);
/**
 * The node's deployment (GET /api/v1/info) and a chain handle: @p chain_rpc, or the
 * node's /rpc. @return 0 or -1 (message printed).
 */
int phr_cli_api_chain(struct phr_cli_api *a, struct phr_chain **chain, struct phr_deployment *d,
		      const char *chain_rpc);

#endif
