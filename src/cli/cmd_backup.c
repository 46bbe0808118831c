/*
 * `phr backup create|verify|restore`: cold-storage bundles of a patient's
 * encrypted records (include/phr/backup.h), and the helpers `phr recovery`
 * shares (cmd_recovery.h).
 */
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cmd_api.h"
#include "cmd_recovery.h"
#include "phr/backup.h"
#include "phr/chain.h"
#include "phr/crypto.h"
#include "phr/store.h"

int phr_cmd_backup(int argc, char **argv);

int rcli_parse(struct rcli_args *a, const char *const *names, size_t n_names, int argc, char **argv)
{
	memset(a, 0, sizeof(*a));
	a->names = names;
	a->n_names = n_names;
	for (int i = 1; i < argc; i++) {
		size_t k;
		if (argv[i][0] != '-' || argv[i][1] == '\0') {
			if (a->npos == RCLI_MAX_POS) {
				phr_cli_error("too many arguments");
				return -1;
			}
			a->pos[a->npos++] = argv[i];
			continue;
		}
		for (k = 0; k < n_names && strcmp(names[k], argv[i]) != 0; k++)
			;
		if (k == n_names || k >= PHR_ARRAY_LEN(a->val)) {
			phr_cli_error("unknown option '%s'", argv[i]);
			return -1;
		}
		if (i + 1 >= argc) {
			phr_cli_error("%s needs a value", argv[i]);
			return -1;
		}
		a->val[k] = argv[++i];
	}
	return 0;
}

const char *rcli_get(const struct rcli_args *a, const char *name)
{
	for (size_t k = 0; k < a->n_names; k++)
		if (strcmp(a->names[k], name) == 0)
			return a->val[k];
	return NULL;
}

int rcli_stack_open(struct rcli_stack *s, const char *datadir, const char *chain_rpc)
{
	struct phr_chain_config cfg = { 0 };
	char p[1024];
	int rv;

	memset(s, 0, sizeof(*s));
	if (chain_rpc == NULL)
		chain_rpc = getenv("PHR_CHAIN_RPC");
	if (phr_crypto_init() != PHR_OK || (s->dir = phr_cli_datadir(datadir)) == NULL) {
		phr_cli_error("cannot use the data directory");
		return -1;
	}
	snprintf(p, sizeof(p), "%s/deployment.json", s->dir);
	if ((rv = phr_deployment_load(&s->dep, p)) != PHR_OK) {
		phr_cli_error("cannot read %s: %s", p, phr_strerror(rv));
		return -1;
	}
	if (chain_rpc != NULL) {
		rv = phr_chain_open_remote(&s->chain, chain_rpc);
	} else {
		snprintf(p, sizeof(p), "%s/chain", s->dir);
		cfg.datadir = p;
		cfg.dev = true;
		rv = phr_chain_node_open(&s->cn, &cfg);
		if (rv == PHR_OK)
			rv = phr_chain_open_embedded(&s->chain, s->cn);
	}
	if (rv != PHR_OK) {
		phr_cli_error("cannot open the chain: %s (while `phr node` runs on this directory, "
			      "pass --chain-rpc URL)", phr_strerror(rv));
		return -1;
	}
	snprintf(p, sizeof(p), "%s/store", s->dir);
	if ((rv = phr_store_open(&s->store, p)) != PHR_OK ||
	    (rv = phr_node_open(&s->node, s->chain, s->store, &s->dep, s->dir)) != PHR_OK) {
		phr_cli_error("cannot open the store or the node database: %s", phr_strerror(rv));
		return -1;
	}
	return 0;
}

void rcli_stack_close(struct rcli_stack *s)
{
	phr_node_close(s->node);
	phr_store_close(s->store);
	phr_chain_close(s->chain);
	phr_chain_node_close(s->cn);
	phr_free(s->dir);
	memset(s, 0, sizeof(*s));
}

int rcli_identity(struct phr_identity **id, const char *keystore, const char *password_file)
{
	uint8_t *sk;
	int rv;

	if (keystore == NULL) {
		phr_cli_error("--keystore FILE is required");
		return -1;
	}
	if (phr_crypto_init() != PHR_OK || (sk = sodium_malloc(32)) == NULL)
		return -1;
	rv = phr_cli_keystore_key(sk, keystore, password_file) == 0 ? PHR_OK : PHR_ERR_PASSWORD;
	if (rv == PHR_OK)
		rv = phr_identity_new(id, "keystore", sk);
	sodium_free(sk);
	return rv == PHR_OK ? 0 : -1;
}

static const char usage[] =
	"usage: phr backup create --keystore FILE --out BUNDLE [--patient ADDR]\n"
	"                         [--datadir DIR] [--chain-rpc URL] [--password-file F]\n"
	"       phr backup verify BUNDLE [--keystore FILE [--password-file F]]\n"
	"       phr backup restore BUNDLE [--datadir DIR] [--chain-rpc URL]\n"
	"\n"
	"create writes a cold-storage bundle (one CARv1 file: the patient's encrypted records\n"
	"and key capsules, and a manifest signed by the patient's owner with the keystore's\n"
	"key) from the node data directory, and remembers it as the latest bundle the node's\n"
	"verification job checks. verify proves the bundle restores completely without writing\n"
	"anything (blocks against CIDs, signature, complete DAGs, nothing extra); with the\n"
	"owner's keystore it also opens every record's capsule, decrypts it and checks its\n"
	"hash. restore puts a bundle into a (fresh) node's store and capsule index.\n"
	"While `phr node` runs on DIR pass --chain-rpc http://HOST:PORT/rpc (the embedded\n"
	"chain is then the node's). See docs/recovery.md.\n";

static const char *const opt_names[] = { "--keystore", "--password-file", "--out", "--patient",
					 "--datadir", "--chain-rpc" };

static void print_report(const char *what, const struct phr_backup_report *r)
{
	char p[PHR_ETH_ADDRESS_STR_LEN], s[PHR_ETH_ADDRESS_STR_LEN];

	phr_eth_address_checksum(p, r->patient);
	phr_eth_address_checksum(s, r->signer);
	printf("{\"result\":\"%s\",\"patient\":\"%s\",\"signer\":\"%s\",\"chainId\":%llu,"
	       "\"createdAt\":%llu,\"records\":%zu,\"capsules\":%zu,\"blocks\":%zu,\"bytes\":%llu,"
	       "\"opened\":%zu,\"restored\":%zu,\"skipped\":%zu}\n",
	       what, p, s, (unsigned long long)r->chain_id, (unsigned long long)r->created_at,
	       r->records, r->capsules, r->blocks, (unsigned long long)r->bytes, r->opened,
	       r->restored, r->skipped);
}

static int cmd_create(const struct rcli_args *a)
{
	struct rcli_stack s;
	struct phr_identity *id = NULL;
	struct phr_backup_report rep;
	const char *out = rcli_get(a, "--out"), *pat = rcli_get(a, "--patient");
	uint8_t patient[20];
	char tmp[1100], *abs = NULL;
	int fd = -1, rv, rc = PHR_EXIT_FAIL;

	if (out == NULL || a->npos != 0 || (pat != NULL && phr_eth_address_parse(patient, pat) != PHR_OK)) {
		fputs(usage, stderr);
		return PHR_EXIT_USAGE;
	}
	if (rcli_identity(&id, rcli_get(a, "--keystore"), rcli_get(a, "--password-file")) != 0)
		return PHR_EXIT_FAIL;
	if (pat == NULL)
		memcpy(patient, id->address, 20);
	if (rcli_stack_open(&s, rcli_get(a, "--datadir"), rcli_get(a, "--chain-rpc")) != 0)
		goto out;
	snprintf(tmp, sizeof(tmp), "%s.tmp", out);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		phr_cli_error("cannot write %s", tmp);
		goto out;
	}
	rv = phr_node_backup_create(s.node, &rep, id, patient, fd);
	close(fd);
	if (rv == PHR_OK && rename(tmp, out) != 0)
		rv = PHR_ERR_IO;
	if (rv != PHR_OK) {
		unlink(tmp);
		phr_cli_error("backup create: %s", rv == PHR_ERR_FORBIDDEN
				  ? "the keystore's account is not the patient's owner" : phr_strerror(rv));
		goto out;
	}
	abs = realpath(out, NULL);
	if (abs == NULL || phr_node_backup_set_latest(s.node, abs) != PHR_OK)
		phr_cli_error("warning: the node's verification job will not know this bundle");
	print_report("created", &rep);
	rc = PHR_EXIT_OK;
out:
	free(abs);
	phr_identity_free(id);
	if (s.dir != NULL || s.chain != NULL)
		rcli_stack_close(&s);
	return rc;
}

static int cmd_verify(const struct rcli_args *a)
{
	struct phr_identity *id = NULL;
	struct phr_backup_report rep;
	struct phr_backup *b = NULL;
	int rv;

	if (a->npos != 1) {
		fputs(usage, stderr);
		return PHR_EXIT_USAGE;
	}
	if (phr_crypto_init() != PHR_OK)
		return PHR_EXIT_FAIL;
	if (rcli_get(a, "--keystore") != NULL &&
	    rcli_identity(&id, rcli_get(a, "--keystore"), rcli_get(a, "--password-file")) != 0)
		return PHR_EXIT_FAIL;
	/* first without a key, to learn the patient whose capsules to open */
	rv = phr_backup_verify_file(&rep, a->pos[0], NULL, NULL, NULL);
	if (rv == PHR_OK && id != NULL)
		rv = phr_backup_verify_file(&rep, a->pos[0], rep.patient, id->box_pk, id->box_sk);
	phr_identity_free(id);
	phr_backup_free(b);
	if (rv != PHR_OK) {
		phr_cli_error("backup verify: %s (%s)", rep.problem[0] ? rep.problem : "invalid bundle",
			      phr_strerror(rv));
		return PHR_EXIT_FAIL;
	}
	print_report("verified", &rep);
	return PHR_EXIT_OK;
}

static int cmd_restore(const struct rcli_args *a)
{
	struct rcli_stack s;
	struct phr_backup_report rep;
	int rv, rc = PHR_EXIT_FAIL;

	if (a->npos != 1) {
		fputs(usage, stderr);
		return PHR_EXIT_USAGE;
	}
	if (rcli_stack_open(&s, rcli_get(a, "--datadir"), rcli_get(a, "--chain-rpc")) != 0)
		goto out;
	rv = phr_node_backup_restore(s.node, &rep, a->pos[0]);
	if (rv != PHR_OK) {
		phr_cli_error("backup restore: %s (%s)", rep.problem[0] ? rep.problem : "failed",
			      phr_strerror(rv));
		goto out;
	}
	print_report("restored", &rep);
	rc = PHR_EXIT_OK;
out:
	rcli_stack_close(&s);
	return rc;
}

int phr_cmd_backup(int argc, char **argv)
{
	struct rcli_args a;

	if (argc < 2 || phr_cli_wants_help(argc, argv)) {
		fputs(usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? PHR_EXIT_USAGE : PHR_EXIT_OK;
	}
	if (rcli_parse(&a, opt_names, PHR_ARRAY_LEN(opt_names), argc - 1, argv + 1) != 0)
		return PHR_EXIT_USAGE;
	if (strcmp(argv[1], "create") == 0)
		return cmd_create(&a);
	if (strcmp(argv[1], "verify") == 0)
		return cmd_verify(&a);
	if (strcmp(argv[1], "restore") == 0)
		return cmd_restore(&a);
	phr_cli_error("backup: unknown subcommand '%s'", argv[1]);
	fputs(usage, stderr);
	return PHR_EXIT_USAGE;
}
