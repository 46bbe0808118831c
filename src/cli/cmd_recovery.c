/*
 * `phr recovery`: guardians, approvals, cancellation and execution of an
 * owner rotation (signed in the caller's keystore, sent through a node's
 * relay), its status, and the key shares of the patient's X25519 secret:
 * make, release (by a holder), and the re-wrap by the new owner.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cmd_api.h"
#include "cmd_recovery.h"
#include "phr/chain.h"
#include "phr/contracts.h"
#include "phr/crypto.h"
#include "phr/json.h"
#include "phr/recovery.h"

int phr_cmd_recovery(int argc, char **argv);

static const char usage[] =
	"usage: phr recovery guardians --threshold M [--patient P] GUARDIAN...   (owner)\n"
	"       phr recovery approve PATIENT NEW_OWNER                            (a guardian)\n"
	"       phr recovery cancel [PATIENT]                                     (owner)\n"
	"       phr recovery execute PATIENT                                      (anyone)\n"
	"       phr recovery update-key [PATIENT]          (new owner: register its X25519 key)\n"
	"       phr recovery status PATIENT [CANDIDATE]\n"
	"  signing: --keystore FILE [--password-file F] [--totp CODE, once enrolled];\n"
	"  node: [--node URL] [--chain-rpc URL]\n"
	"           [--token T | --token-file F]\n"
	"       phr recovery shares make --keystore OWNER --threshold T --out-dir DIR HOLDER...\n"
	"       phr recovery shares release SHARE --keystore HOLDER --to NEW_OWNER --out FILE\n"
	"       phr recovery rewrap --keystore NEW_OWNER [--patient P] [--datadir DIR]\n"
	"                           [--chain-rpc URL] [SHARE...]\n"
	"\n"
	"Guardians (up to 10) vote for a new owner address; M votes schedule the rotation,\n"
	"which any account executes after the 2-day time lock unless the current owner\n"
	"cancels. Key shares: `shares make` splits the owner's X25519 secret T-of-N, each\n"
	"share sealed to a holder's registered key (holders must be registered); a holder\n"
	"releases its share only to the current owner after a rotation, sealed to the\n"
	"patient's registered key; the new owner registers its key (update-key), collects T\n"
	"shares and runs `rewrap` on the patient's node directory: the old secret is\n"
	"recovered and every record's data key is wrapped to the new key (no record is\n"
	"uploaded again). Without shares (--patient P) rewrap only indexes, for the owner,\n"
	"capsules already sealed to its key (records minted after update-key).\n"
	"See docs/recovery.md.\n";

static const char *const opt_names[] = { "--keystore", "--password-file", "--node", "--chain-rpc",
					 "--token", "--token-file", "--threshold", "--patient",
					 "--out-dir", "--to", "--out", "--datadir", "--as", "--totp" };

static int addr_arg(uint8_t out[20], const char *s, const char *what)
{
	if (s == NULL || phr_eth_address_parse(out, s) != PHR_OK) {
		phr_cli_error("recovery: %s must be an address", what);
		return -1;
	}
	return 0;
}

static void api_from(struct phr_cli_api *api, const struct rcli_args *a)
{
	memset(api, 0, sizeof(*api));
	api->node = rcli_get(a, "--node");
	api->token_arg = rcli_get(a, "--token");
	api->token_file = rcli_get(a, "--token-file");
	api->as = rcli_get(a, "--as");
	api->totp = rcli_get(a, "--totp"); /* the relay asks callers who enrolled a second factor */
}

static const char *err_text(int rv)
{
	switch (rv) {
	case PHR_ERR_FORBIDDEN:
		return "not allowed (not the owner, or not a guardian)";
	case PHR_ERR_CONFLICT:
		return "already voted, already scheduled, or the candidate controls a patient";
	case PHR_ERR_STATE:
		return "nothing scheduled, still time-locked, or lapsed";
	default:
		return phr_strerror(rv);
	}
}

/* guardians, approve, cancel, execute, update-key: signed in the keystore, relayed by the node. */
static int cmd_tx(const char *sub, const struct rcli_args *a)
{
	struct phr_cli_api api;
	struct phr_cli_local l = { 0 };
	struct phr_recovery_args ra;
	enum phr_recovery_op op;
	const char *pat = rcli_get(a, "--patient");
	uint64_t thr = 0;
	int rv, rc = PHR_EXIT_USAGE;

	memset(&ra, 0, sizeof(ra));
	if (strcmp(sub, "guardians") == 0) {
		op = PHR_RECOVERY_SET_GUARDIANS;
		if (a->npos == 0 || a->npos > PHR_RECOVERY_MAX_GUARDIANS ||
		    rcli_get(a, "--threshold") == NULL ||
		    phr_parse_u64(&thr, rcli_get(a, "--threshold")) != PHR_OK || thr == 0 ||
		    thr > a->npos) {
			phr_cli_error("recovery guardians: --threshold 1..N and 1 to 10 guardians");
			return PHR_EXIT_USAGE;
		}
		for (size_t i = 0; i < a->npos; i++)
			if (addr_arg(ra.guardians[i], a->pos[i], "GUARDIAN") != 0)
				return PHR_EXIT_USAGE;
		ra.n_guardians = a->npos;
		ra.threshold = (unsigned)thr;
	} else if (strcmp(sub, "approve") == 0) {
		op = PHR_RECOVERY_APPROVE;
		if (a->npos != 2 || addr_arg(ra.patient, a->pos[0], "PATIENT") != 0 ||
		    addr_arg(ra.new_owner, a->pos[1], "NEW_OWNER") != 0)
			return PHR_EXIT_USAGE;
		pat = a->pos[0];
	} else {
		op = strcmp(sub, "cancel") == 0    ? PHR_RECOVERY_CANCEL
		     : strcmp(sub, "execute") == 0 ? PHR_RECOVERY_EXECUTE
						   : PHR_RECOVERY_UPDATE_KEY;
		if (a->npos > 1 || (op == PHR_RECOVERY_EXECUTE && a->npos != 1)) {
			fputs(usage, stderr);
			return PHR_EXIT_USAGE;
		}
		if (a->npos == 1)
			pat = a->pos[0];
	}
	if (pat != NULL && addr_arg(ra.patient, pat, "PATIENT") != 0)
		return PHR_EXIT_USAGE;
	api_from(&api, a);
	rc = PHR_EXIT_FAIL;
	if (rcli_get(a, "--keystore") == NULL) {
		phr_cli_error("recovery %s: --keystore FILE is required", sub);
		return PHR_EXIT_USAGE;
	}
	if (phr_cli_local_open(&api, &l, rcli_get(a, "--keystore"), rcli_get(a, "--password-file"),
			       rcli_get(a, "--chain-rpc")) != 0)
		goto out;
	if (pat == NULL)
		memcpy(ra.patient, l.addr, 20);
	if (op == PHR_RECOVERY_UPDATE_KEY) {
		uint8_t *bsk = sodium_malloc(32);
		rv = bsk == NULL ? PHR_ERR_NOMEM : phr_identity_box_keys(ra.enc_key, bsk, l.sk);
		if (bsk != NULL)
			sodium_free(bsk);
		if (rv != PHR_OK)
			goto out;
	}
	rv = phr_recovery_send(l.chain, l.d, l.sk, op, &ra);
	if (rv != PHR_OK) {
		phr_cli_error("recovery %s: %s", sub, err_text(rv));
		goto out;
	}
	printf("{\"result\":\"ok\",\"action\":\"%s\"}\n", sub);
	rc = PHR_EXIT_OK;
out:
	phr_cli_local_close(&api, &l);
	return rc;
}

static int cmd_status(const struct rcli_args *a)
{
	struct phr_cli_api api;
	struct phr_chain *chain = NULL;
	struct phr_deployment d;
	struct phr_recovery_status st;
	uint8_t patient[20], cand[20];
	json_t *o, *g;
	char *text;
	int rv, rc = PHR_EXIT_FAIL;

	if (a->npos < 1 || a->npos > 2 || addr_arg(patient, a->pos[0], "PATIENT") != 0 ||
	    (a->npos == 2 && addr_arg(cand, a->pos[1], "CANDIDATE") != 0))
		return PHR_EXIT_USAGE;
	api_from(&api, a);
	if (phr_cli_api_ready(&api, false) != 0 ||
	    phr_cli_api_chain(&api, &chain, &d, rcli_get(a, "--chain-rpc")) != 0)
		goto out;
	rv = phr_recovery_status_read(chain, &d, &st, patient, a->npos == 2 ? cand : NULL);
	if (rv != PHR_OK) {
		phr_cli_error("recovery status: %s", phr_strerror(rv));
		goto out;
	}
	g = json_array();
	for (size_t i = 0; i < st.n_guardians; i++) {
		char s[PHR_ETH_ADDRESS_STR_LEN];
		phr_eth_address_checksum(s, st.guardians[i]);
		json_array_append_new(g, json_string(s));
	}
	{
		char ow[PHR_ETH_ADDRESS_STR_LEN], po[PHR_ETH_ADDRESS_STR_LEN];
		phr_eth_address_checksum(ow, st.owner);
		phr_eth_address_checksum(po, st.pending_owner);
		o = json_pack("{s:s,s:o,s:I,s:I,s:b,s:s,s:I}", "owner", ow, "guardians", g,
			      "threshold", (json_int_t)st.threshold, "round", (json_int_t)st.round,
			      "pending", st.pending, "pendingOwner", po, "readyAt",
			      (json_int_t)st.ready_at);
	}
	if (o != NULL && phr_json_set_hex(o, "encryptionKey", st.enc_key, 32) == PHR_OK &&
	    (a->npos < 2 || json_object_set_new(o, "votes", json_integer((json_int_t)st.votes)) == 0) &&
	    (text = json_dumps(o, JSON_COMPACT)) != NULL) {
		puts(text);
		free(text);
		rc = PHR_EXIT_OK;
	}
	json_decref(o);
out:
	phr_chain_close(chain);
	phr_cli_api_done(&api);
	return rc;
}

/* Reads a share document file. @return 0 or -1. */
static int share_load(struct phr_recovery_share *sh, const char *path)
{
	struct phr_buf b;
	int rv;

	phr_buf_init(&b, PHR_RECOVERY_SHARE_MAX);
	rv = phr_file_read(&b, path, PHR_RECOVERY_SHARE_MAX);
	if (rv == PHR_OK)
		rv = phr_recovery_share_parse(sh, (const char *)b.data, b.len);
	phr_buf_release(&b);
	if (rv != PHR_OK)
		phr_cli_error("%s: not a share (%s)", path, phr_strerror(rv));
	return rv == PHR_OK ? 0 : -1;
}

static int share_save(const struct phr_recovery_share *sh, const char *path)
{
	json_t *o = phr_recovery_share_json(sh);
	char *text = o ? json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS) : NULL;
	int rv = text ? phr_file_write_atomic(path, text, strlen(text), 0600) : PHR_ERR_NOMEM;

	free(text);
	json_decref(o);
	if (rv != PHR_OK)
		phr_cli_error("cannot write %s: %s", path, phr_strerror(rv));
	return rv == PHR_OK ? 0 : -1;
}

/* The registered X25519 key of @p who (patientInfo, via the recovery status). */
static int enc_key_of(struct phr_chain *c, const struct phr_deployment *d, uint8_t pk[32],
		      const uint8_t who[20])
{
	struct phr_recovery_status st;
	int rv = phr_recovery_status_read(c, d, &st, who, NULL);

	if (rv == PHR_OK && sodium_is_zero(st.enc_key, 32))
		rv = PHR_ERR_NOT_FOUND;
	if (rv == PHR_OK)
		memcpy(pk, st.enc_key, 32);
	return rv;
}

static int shares_make(const struct rcli_args *a)
{
	struct phr_cli_api api;
	struct phr_chain *chain = NULL;
	struct phr_deployment d;
	struct phr_identity *id = NULL;
	struct phr_recovery_holder h[PHR_RECOVERY_MAX_SHARES];
	const char *dir = rcli_get(a, "--out-dir");
	uint8_t patient[20], owner[20];
	uint64_t t = 0;
	json_t *arr = NULL, *e;
	size_t i;
	int rv, rc = PHR_EXIT_USAGE;

	if (dir == NULL || a->npos < 3 || a->npos > PHR_RECOVERY_MAX_SHARES + 1 ||
	    rcli_get(a, "--threshold") == NULL ||
	    phr_parse_u64(&t, rcli_get(a, "--threshold")) != PHR_OK || t < 2 || t > a->npos - 1) {
		phr_cli_error("recovery shares make: --out-dir DIR, --threshold 2..N and N >= 2 holders");
		return PHR_EXIT_USAGE;
	}
	api_from(&api, a);
	rc = PHR_EXIT_FAIL;
	if (rcli_identity(&id, rcli_get(a, "--keystore"), rcli_get(a, "--password-file")) != 0 ||
	    phr_cli_api_ready(&api, false) != 0 ||
	    phr_cli_api_chain(&api, &chain, &d, rcli_get(a, "--chain-rpc")) != 0)
		goto out;
	memcpy(owner, id->address, 20);
	memcpy(patient, id->address, 20);
	if (rcli_get(a, "--patient") != NULL && addr_arg(patient, rcli_get(a, "--patient"), "--patient"))
		goto out;
	for (i = 1; i < a->npos; i++) {
		if (addr_arg(h[i - 1].address, a->pos[i], "HOLDER") != 0)
			goto out;
		if ((rv = enc_key_of(chain, &d, h[i - 1].box_pk, h[i - 1].address)) != PHR_OK) {
			phr_cli_error("holder %s has no registered encryption key (%s)", a->pos[i],
				      phr_strerror(rv));
			goto out;
		}
	}
	rv = phr_recovery_shares_make(&arr, patient, owner, id->box_pk, id->box_sk, h, a->npos - 1,
				      (unsigned)t);
	if (rv != PHR_OK || phr_mkdir_p(dir, 0700) != PHR_OK) {
		phr_cli_error("recovery shares make: %s", phr_strerror(rv));
		goto out;
	}
	json_array_foreach(arr, i, e) {
		char path[1024], *text = json_dumps(e, JSON_INDENT(2) | JSON_SORT_KEYS);
		snprintf(path, sizeof(path), "%s/share-%zu.json", dir, i + 1);
		rv = text ? phr_file_write_atomic(path, text, strlen(text), 0600) : PHR_ERR_NOMEM;
		free(text);
		if (rv != PHR_OK) {
			phr_cli_error("cannot write %s", path);
			goto out;
		}
		printf("%s -> %s\n", path, a->pos[i + 1]);
	}
	rc = PHR_EXIT_OK;
out:
	json_decref(arr);
	phr_identity_free(id);
	phr_chain_close(chain);
	phr_cli_api_done(&api);
	return rc;
}

static int shares_release(const struct rcli_args *a)
{
	struct phr_cli_api api;
	struct phr_chain *chain = NULL;
	struct phr_deployment d;
	struct phr_identity *id = NULL;
	struct phr_recovery_share in, out;
	uint8_t to[20];
	int rv, rc = PHR_EXIT_USAGE;

	if (a->npos != 2 || rcli_get(a, "--out") == NULL || addr_arg(to, rcli_get(a, "--to"), "--to"))
		return PHR_EXIT_USAGE;
	api_from(&api, a);
	rc = PHR_EXIT_FAIL;
	if (share_load(&in, a->pos[1]) != 0 ||
	    rcli_identity(&id, rcli_get(a, "--keystore"), rcli_get(a, "--password-file")) != 0 ||
	    phr_cli_api_ready(&api, false) != 0 ||
	    phr_cli_api_chain(&api, &chain, &d, rcli_get(a, "--chain-rpc")) != 0)
		goto done;
	rv = phr_recovery_share_release(chain, &d, &out, id->address, id->box_pk, id->box_sk, &in, to);
	if (rv != PHR_OK) {
		phr_cli_error("recovery shares release: %s",
			      rv == PHR_ERR_FORBIDDEN ? "refused: not this holder's share, or --to is "
							"not the owner after a rotation"
			      : rv == PHR_ERR_STATE ? "the new owner has not registered its key yet"
						    : phr_strerror(rv));
		goto done;
	}
	if (share_save(&out, rcli_get(a, "--out")) == 0)
		rc = PHR_EXIT_OK;
done:
	phr_identity_free(id);
	phr_chain_close(chain);
	phr_cli_api_done(&api);
	return rc;
}

static int cmd_rewrap(const struct rcli_args *a)
{
	struct rcli_stack s;
	struct phr_identity *id = NULL;
	struct phr_recovery_share sh[PHR_RECOVERY_MAX_SHARES];
	uint8_t *old = NULL, patient[20];
	size_t ok = 0, failed = 0;
	int rv, rc = PHR_EXIT_FAIL;

	memset(&s, 0, sizeof(s));
	if (a->npos > PHR_RECOVERY_MAX_SHARES || (a->npos == 0 && rcli_get(a, "--patient") == NULL)) {
		fputs(usage, stderr);
		return PHR_EXIT_USAGE;
	}
	for (size_t i = 0; i < a->npos; i++)
		if (share_load(&sh[i], a->pos[i]) != 0)
			return PHR_EXIT_FAIL;
	if (a->npos > 0)
		memcpy(patient, sh[0].patient, 20);
	if ((rcli_get(a, "--patient") != NULL && addr_arg(patient, rcli_get(a, "--patient"), "--patient")) ||
	    (a->npos > 0 && memcmp(patient, sh[0].patient, 20) != 0)) {
		phr_cli_error("recovery rewrap: the shares are for another patient");
		return PHR_EXIT_USAGE;
	}
	if (rcli_identity(&id, rcli_get(a, "--keystore"), rcli_get(a, "--password-file")) != 0 ||
	    (old = sodium_malloc(32)) == NULL)
		goto out;
	/* without shares: only index the capsules already sealed to the owner's key */
	rv = a->npos == 0 ? PHR_OK : phr_recovery_shares_combine(old, sh, a->npos, id->box_pk, id->box_sk);
	if (rv != PHR_OK) {
		phr_cli_error("recovery rewrap: the shares do not recover the key (%s)",
			      rv == PHR_ERR_INVALID ? "too few, mixed or duplicated" : phr_strerror(rv));
		goto out;
	}
	if (rcli_stack_open(&s, rcli_get(a, "--datadir"), rcli_get(a, "--chain-rpc")) != 0)
		goto out;
	rv = phr_node_recovery_rewrap(s.node, &ok, &failed, id, patient, a->npos == 0 ? NULL : old);
	if (rv != PHR_OK) {
		phr_cli_error("recovery rewrap: %s", rv == PHR_ERR_FORBIDDEN
				  ? "the keystore's account is not the patient's owner" : phr_strerror(rv));
		goto out;
	}
	printf("{\"result\":\"ok\",\"rewrapped\":%zu,\"failed\":%zu}\n", ok, failed);
	rc = failed == 0 ? PHR_EXIT_OK : PHR_EXIT_FAIL;
out:
	if (old != NULL)
		sodium_free(old);
	phr_identity_free(id);
	if (s.dir != NULL)
		rcli_stack_close(&s);
	return rc;
}

int phr_cmd_recovery(int argc, char **argv)
{
	struct rcli_args a;
	const char *sub;

	if (argc < 2 || phr_cli_wants_help(argc, argv)) {
		fputs(usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? PHR_EXIT_USAGE : PHR_EXIT_OK;
	}
	sub = argv[1];
	if (rcli_parse(&a, opt_names, PHR_ARRAY_LEN(opt_names), argc - 1, argv + 1) != 0)
		return PHR_EXIT_USAGE;
	if (strcmp(sub, "status") == 0)
		return cmd_status(&a);
	if (strcmp(sub, "rewrap") == 0)
		return cmd_rewrap(&a);
	if (strcmp(sub, "shares") == 0 && a.npos >= 1 && strcmp(a.pos[0], "make") == 0)
		return shares_make(&a);
	if (strcmp(sub, "shares") == 0 && a.npos >= 1 && strcmp(a.pos[0], "release") == 0)
		return shares_release(&a);
	if (strcmp(sub, "guardians") == 0 || strcmp(sub, "approve") == 0 ||
	    strcmp(sub, "cancel") == 0 || strcmp(sub, "execute") == 0 ||
	    strcmp(sub, "update-key") == 0)
		return cmd_tx(sub, &a);
	phr_cli_error("recovery: unknown subcommand '%s'", sub);
	fputs(usage, stderr);
	return PHR_EXIT_USAGE;
}
