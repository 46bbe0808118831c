/*
 * `phr emergency`: break-glass with an escrowed emergency summary
 * (emergency.h, docs/emergency.md). The patient's and the provider's own
 * clients: keys come from keystores, transactions go straight to the chain's
 * JSON-RPC, shares to and from the escrow holders' APIs.
 */
#include <sodium.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "cmd_api.h"
#include "phr/api.h"
#include "phr/contracts.h"
#include "phr/crypto.h"
#include "phr/eip712.h"
#include "phr/emergency.h"
#include "phr/json.h"
#include "phr/phr.h"

int phr_cmd_emergency(int argc, char **argv);

static const char usage[] =
	"usage: phr emergency setup|open|read|close|status [options]\n"
	"\n"
	"Break-glass that works while the patient is unconscious (docs/emergency.md).\n"
	"\n"
	"  setup  --keystore F --summary FILE --escrow URL... --threshold T\n"
	"         [--webhook URL --webhook-secret HEX] [--patient ADDR]\n"
	"         The patient's client encrypts FILE (the emergency summary, e.g. a FHIR\n"
	"         Bundle) under a fresh key, splits the key T-of-n among the escrow nodes\n"
	"         (each share sealed to the node's escrow key) and deposits them; every\n"
	"         holder registers the webhook for the patient's notifications. Logs\n"
	"         Share with purpose Emergency on chain. F is the patient owner's key;\n"
	"         --patient names the patient when that differs (after a recovery).\n"
	"  open   --keystore F --patient ADDR --reason-code N --reason TEXT\n"
	"         A verified emergency provider opens break-glass (24 h) on chain.\n"
	"  read   --keystore F --patient ADDR --escrow URL... [--out FILE]\n"
	"         Asks each escrow node (and the others the patient's manifest lists)\n"
	"         for its share (signed request), combines T of\n"
	"         them and writes the summary (stdout by default); logs View with\n"
	"         purpose Emergency on chain. Fails without an open, verified,\n"
	"         unexpired session or with fewer than T holders answering.\n"
	"  close  --keystore F --patient ADDR [--provider ADDR]\n"
	"  status --patient ADDR [--provider ADDR] [--escrow URL...] [--keystore F]\n"
	"         The session on chain; each holder's key; with the patient's (or an\n"
	"         auditor's) keystore, what each holder keeps and its release log.\n"
	"\n"
	"Common: --password-file F (else $PHR_PASSWORD or a prompt), --chain-rpc URL\n"
	"(else $PHR_CHAIN_RPC), --deployment FILE (else $PHR_DEPLOYMENT).\n";

#define MAX_ESCROW PHR_ESCROW_HOLDERS_MAX

struct em_opts {
	const char *keystore, *password_file, *chain_rpc, *deployment, *patient, *provider;
	const char *summary, *out, *reason, *reason_code, *threshold, *webhook, *webhook_secret;
	const char *escrow[MAX_ESCROW];
	size_t n_escrow;
};

static int parse_opts(struct em_opts *o, int argc, char **argv)
{
	static const struct {
		const char *name;
		size_t off;
	} tab[] = {
#define O(n, f) { n, offsetof(struct em_opts, f) }
		O("--keystore", keystore), O("--password-file", password_file),
		O("--chain-rpc", chain_rpc), O("--deployment", deployment), O("--patient", patient),
		O("--provider", provider), O("--summary", summary), O("--out", out),
		O("--reason", reason), O("--reason-code", reason_code), O("--threshold", threshold),
		O("--webhook", webhook), O("--webhook-secret", webhook_secret),
#undef O
	};

	memset(o, 0, sizeof(*o));
	if (phr_cli_wants_help(argc, argv)) {
		fputs(usage, stdout);
		return 1;
	}
	for (int i = 1; i < argc; i++) {
		bool done = false;
		if (i + 1 < argc && strcmp(argv[i], "--escrow") == 0) {
			if (o->n_escrow == MAX_ESCROW) {
				phr_cli_error("emergency: at most %u --escrow", MAX_ESCROW);
				return -1;
			}
			o->escrow[o->n_escrow++] = argv[++i];
			continue;
		}
		for (size_t k = 0; k < PHR_ARRAY_LEN(tab) && !done; k++)
			if (i + 1 < argc && strcmp(argv[i], tab[k].name) == 0) {
				*(const char **)((char *)o + tab[k].off) = argv[++i];
				done = true;
			}
		if (!done) {
			phr_cli_error("emergency %s: unexpected %s (see phr emergency --help)", argv[0],
				      argv[i]);
			return -1;
		}
	}
	if (o->chain_rpc == NULL)
		o->chain_rpc = getenv("PHR_CHAIN_RPC");
	if (o->deployment == NULL)
		o->deployment = getenv("PHR_DEPLOYMENT");
	return 0;
}

/* The chain and the deployment of a command. */
static int chain_of(const struct em_opts *o, struct phr_chain **c, struct phr_deployment *d)
{
	int rv;

	if (o->chain_rpc == NULL || o->deployment == NULL) {
		phr_cli_error("emergency: --chain-rpc URL and --deployment FILE are required");
		return -1;
	}
	if ((rv = phr_deployment_load(d, o->deployment)) != PHR_OK) {
		phr_cli_error("emergency: cannot read %s: %s", o->deployment, phr_strerror(rv));
		return -1;
	}
	if ((rv = phr_chain_open_remote(c, o->chain_rpc)) != PHR_OK) {
		phr_cli_error("emergency: cannot use the chain at %s: %s", o->chain_rpc, phr_strerror(rv));
		return -1;
	}
	return 0;
}

static int need_addr(uint8_t a[20], const char *s, const char *what)
{
	if (s == NULL || phr_eth_address_parse(a, s) != PHR_OK) {
		phr_cli_error("emergency: %s needs a 0x address", what);
		return -1;
	}
	return 0;
}

/* PatientRegistry.ownerOfPatient(patient): who signs the patient's manifests. */
static int owner_of(struct phr_chain *c, const struct phr_deployment *d, uint8_t owner[20],
		    const uint8_t patient[20])
{
	struct phr_buf cd, out;
	int rv;

	phr_buf_init(&cd, 0);
	phr_buf_init(&out, 0);
	rv = phr_contracts_patient_registry_owner_of_patient_encode(&cd, patient);
	if (rv == PHR_OK)
		rv = phr_chain_call(c, &out, NULL, d->registry, cd.data, cd.len);
	if (rv == PHR_OK)
		rv = phr_contracts_patient_registry_owner_of_patient_decode(owner, out.data, out.len);
	phr_buf_release(&cd);
	phr_buf_release(&out);
	return rv;
}

/* AuditTrail.logAccess(patient, 0, action, Emergency) from @p sk. */
static int audit_emergency(struct phr_chain *c, const struct phr_deployment *d, const uint8_t sk[32],
			   const uint8_t patient[20], unsigned action)
{
	struct phr_u256 zero = PHR_U256_ZERO;
	struct phr_buf cd;
	int rv;

	phr_buf_init(&cd, 0);
	rv = phr_contracts_audit_trail_log_access_encode(&cd, patient, &zero, action, 4 /* Emergency */);
	if (rv == PHR_OK)
		rv = phr_node_tx_send(c, d->chain_id, NULL, sk, d->audit, cd.data, cd.len);
	phr_buf_release(&cd);
	return rv;
}

/* One JSON request to an escrow node; *out the parsed answer (any status). */
static int http_json(json_t **out, long *status, const char *base, const char *method,
		     const char *path, const char *body)
{
	struct phr_buf resp;
	char err[64];
	int rv;

	*out = NULL;
	phr_buf_init(&resp, 0);
	rv = phr_api_client_call(status, &resp, base, method, path, NULL,
				 body ? "application/json" : NULL, body, body ? strlen(body) : 0, NULL);
	if (rv == PHR_OK && phr_json_parse(out, err, sizeof(err), (const char *)resp.data, resp.len) !=
				    PHR_OK)
		rv = PHR_ERR_PARSE;
	phr_buf_release(&resp);
	return rv;
}

/* GET /api/v1/escrow of @p url into @p h. */
static int holder_info(struct phr_escrow_holder *h, const char *url)
{
	json_t *j = NULL;
	long st = 0;
	size_t got = 0;
	const char *a;
	int rv = http_json(&j, &st, url, "GET", "/api/v1/escrow", NULL);

	if (rv == PHR_OK && (st != 200 || phr_json_get_str(&a, j, "address") != PHR_OK ||
			     phr_eth_address_parse(h->address, a) != PHR_OK ||
			     phr_json_get_hex(h->box_pk, 32, &got, j, "boxPk") != PHR_OK || got != 32))
		rv = PHR_ERR_PARSE;
	json_decref(j);
	if (rv == PHR_OK)
		snprintf(h->url, sizeof(h->url), "%s", url);
	return rv;
}

static uint8_t *load_key(const struct em_opts *o)
{
	uint8_t *sk = sodium_malloc(32);

	if (sk == NULL || o->keystore == NULL) {
		phr_cli_error("emergency: --keystore FILE is required");
		if (sk != NULL)
			sodium_free(sk);
		return NULL;
	}
	if (phr_cli_keystore_key(sk, o->keystore, o->password_file) != 0) {
		sodium_free(sk);
		return NULL;
	}
	return sk;
}

static int cmd_setup(int argc, char **argv)
{
	struct em_opts o;
	struct phr_escrow_holder hs[MAX_ESCROW];
	struct phr_chain *c = NULL;
	struct phr_deployment d;
	struct phr_buf sum;
	uint8_t *sk = NULL, patient[20], secret[PHR_NOTIFY_SECRET_MAX];
	char cid[PHR_CID_STR_MAX], ps[PHR_ETH_ADDRESS_STR_LEN];
	size_t secret_len = 0, kept = 0;
	uint64_t t = 0;
	json_t *deps = NULL, *e;
	int rc = PHR_EXIT_FAIL, rv;

	phr_buf_init(&sum, 0);
	if ((rc = parse_opts(&o, argc, argv)) != 0)
		return rc > 0 ? PHR_EXIT_OK : PHR_EXIT_USAGE;
	rc = PHR_EXIT_FAIL;
	if (o.summary == NULL || o.n_escrow < 2 || o.threshold == NULL ||
	    phr_parse_u64(&t, o.threshold) != PHR_OK || t < 2 || t > o.n_escrow) {
		phr_cli_error("emergency setup: --summary FILE, two or more --escrow URL and "
			      "--threshold T (2 <= T <= n) are required");
		return PHR_EXIT_USAGE;
	}
	if ((o.webhook == NULL) != (o.webhook_secret == NULL) ||
	    (o.webhook_secret != NULL &&
	     (phr_hex_decode(secret, sizeof(secret), &secret_len, o.webhook_secret,
			     strlen(o.webhook_secret)) != PHR_OK ||
	      secret_len < PHR_NOTIFY_SECRET_MIN))) {
		phr_cli_error("emergency setup: --webhook URL goes with --webhook-secret HEX (16..64 bytes)");
		return PHR_EXIT_USAGE;
	}
	if (phr_crypto_init() != PHR_OK || chain_of(&o, &c, &d) != 0 || (sk = load_key(&o)) == NULL)
		goto out;
	if ((rv = phr_file_read(&sum, o.summary, PHR_ESCROW_CIPHERTEXT_MAX - 1024)) != PHR_OK) {
		phr_cli_error("emergency setup: cannot read %s: %s", o.summary, phr_strerror(rv));
		goto out;
	}
	for (size_t i = 0; i < o.n_escrow; i++)
		if ((rv = holder_info(&hs[i], o.escrow[i])) != PHR_OK) {
			phr_cli_error("emergency setup: escrow node %s: %s", o.escrow[i], phr_strerror(rv));
			goto out;
		}
	if (o.patient != NULL) { /* after a recovery the owner's key is not the patient id */
		if (need_addr(patient, o.patient, "--patient") != 0)
			goto out;
	} else if (phr_eth_address_from_seckey(patient, sk) != PHR_OK) {
		goto out;
	}
	rv = phr_emergency_prepare(&deps, cid, sk, patient, sum.data, sum.len, (unsigned)t, hs,
				   o.n_escrow,
				   o.webhook, o.webhook ? secret : NULL, secret_len, (uint64_t)time(NULL));
	if (rv != PHR_OK) {
		phr_cli_error("emergency setup: %s", phr_strerror(rv));
		goto out;
	}
	phr_eth_address_checksum(ps, patient);
	json_array_foreach(deps, kept, e) {
		char path[128];
		json_t *ans = NULL;
		long st = 0;
		const char *url = json_string_value(json_object_get(e, "url"));
		snprintf(path, sizeof(path), "/api/v1/escrow/%s", ps);
		rv = http_json(&ans, &st, url, "PUT", path,
			       json_string_value(json_object_get(e, "body")));
		if (rv != PHR_OK || st != 201) {
			const char *det = json_string_value(json_object_get(ans, "detail"));
			phr_cli_error("emergency setup: %s refused the deposit (%ld): %s", url, st,
				      det ? det : phr_strerror(rv));
			json_decref(ans);
			goto out;
		}
		json_decref(ans);
	}
	rv = audit_emergency(c, &d, sk, patient, 3 /* Share */);
	if (rv != PHR_OK)
		phr_cli_error("emergency setup: deposits kept, but the Share audit entry failed: %s",
			      phr_strerror(rv));
	printf("{\"patient\":\"%s\",\"threshold\":%u,\"holders\":%zu,\"summaryCid\":\"%s\"}\n", ps,
	       (unsigned)t, o.n_escrow, cid);
	rc = rv == PHR_OK ? PHR_EXIT_OK : PHR_EXIT_FAIL;
out:
	sodium_memzero(secret, sizeof(secret));
	if (sum.data != NULL)
		sodium_memzero(sum.data, sum.len);
	phr_buf_release(&sum);
	if (sk != NULL)
		sodium_free(sk);
	json_decref(deps);
	phr_chain_close(c);
	return rc;
}

/* Sends one EmergencyAccess call signed by the keystore's key. */
static int emergency_tx(const struct em_opts *o, const char *what, bool open)
{
	struct phr_chain *c = NULL;
	struct phr_deployment d;
	struct phr_buf cd;
	uint8_t *sk = NULL, patient[20], me[20], prov[20], h[32];
	uint64_t code = 0;
	int rc = PHR_EXIT_FAIL, rv;

	phr_buf_init(&cd, 0);
	if (need_addr(patient, o->patient, "--patient") != 0)
		return PHR_EXIT_USAGE;
	if (open && (o->reason == NULL || o->reason_code == NULL ||
		     phr_parse_u64(&code, o->reason_code) != PHR_OK || code == 0 || code > 255)) {
		phr_cli_error("emergency open: --reason-code 1..255 and --reason TEXT are required");
		return PHR_EXIT_USAGE;
	}
	if (phr_crypto_init() != PHR_OK || chain_of(o, &c, &d) != 0 || (sk = load_key(o)) == NULL ||
	    phr_eth_address_from_seckey(me, sk) != PHR_OK)
		goto out;
	if (o->provider != NULL) {
		if (need_addr(prov, o->provider, "--provider") != 0)
			goto out;
	} else {
		memcpy(prov, me, 20);
	}
	if (open) {
		phr_keccak256(h, o->reason, strlen(o->reason));
		rv = phr_contracts_emergency_access_open_emergency_access_encode(&cd, patient, code, h);
	} else {
		rv = phr_contracts_emergency_access_close_emergency_access_encode(&cd, patient, prov);
	}
	if (rv == PHR_OK)
		rv = phr_node_tx_send(c, d.chain_id, NULL, sk, d.emergency, cd.data, cd.len);
	if (rv != PHR_OK) {
		phr_cli_error("emergency %s: refused: %s%s", what, phr_strerror(rv),
			      rv == PHR_ERR_FORBIDDEN ? " (only verified emergency providers break the glass)"
						      : "");
		goto out;
	}
	printf("{\"%s\":true}\n", open ? "opened" : "closed");
	rc = PHR_EXIT_OK;
out:
	phr_buf_release(&cd);
	if (sk != NULL)
		sodium_free(sk);
	phr_chain_close(c);
	return rc;
}

static int cmd_open(int argc, char **argv)
{
	struct em_opts o;
	int p = parse_opts(&o, argc, argv);

	if (p != 0)
		return p > 0 ? PHR_EXIT_OK : PHR_EXIT_USAGE;
	return emergency_tx(&o, "open", true);
}

static int cmd_close(int argc, char **argv)
{
	struct em_opts o;
	int p = parse_opts(&o, argc, argv);

	if (p != 0)
		return p > 0 ? PHR_EXIT_OK : PHR_EXIT_USAGE;
	return emergency_tx(&o, "close", false);
}

/* Asks one escrow node; on success appends its answer to @p answers. */
static void ask_holder(json_t *answers, const char *url, const uint8_t *sk,
		       const uint8_t patient[20], const char *ps)
{
	struct phr_escrow_holder h;
	char *body = NULL, path[160];
	json_t *ans = NULL;
	long st = 0;
	int rv = holder_info(&h, url);

	if (rv != PHR_OK) {
		phr_cli_error("emergency read: %s unreachable: %s", url, phr_strerror(rv));
		return;
	}
	if (phr_emergency_release_request(&body, sk, patient, h.address, (uint64_t)time(NULL)) != PHR_OK)
		return;
	snprintf(path, sizeof(path), "/api/v1/escrow/%s/release", ps);
	rv = http_json(&ans, &st, url, "POST", path, body);
	phr_free(body);
	if (rv == PHR_OK && st == 200) {
		json_array_append_new(answers, ans);
		return;
	}
	phr_cli_error("emergency read: %s refused (%ld): %s", url, st,
		      json_string_value(json_object_get(ans, "detail"))
			      ? json_string_value(json_object_get(ans, "detail"))
			      : phr_strerror(rv));
	json_decref(ans);
}

/*
 * The holders a patient-signed manifest lists but the command line did not
 * name are asked too: one known holder is enough to find the others.
 */
static void discover(json_t *answers, const struct em_opts *o, const uint8_t *sk,
		     const uint8_t patient[20], const uint8_t owner[20], const char *ps)
{
	struct phr_escrow_manifest m;
	uint8_t sig[65], signer[20];
	const char *mtext, *stext;
	json_t *a = json_array_get(answers, 0);
	size_t got = 0;

	if (a == NULL || phr_json_get_str(&mtext, a, "manifest") != PHR_OK ||
	    phr_json_get_str(&stext, a, "manifestSignature") != PHR_OK ||
	    phr_hex_decode(sig, sizeof(sig), &got, stext, strlen(stext)) != PHR_OK || got != 65 ||
	    phr_eip191_recover(signer, mtext, strlen(mtext), sig) != PHR_OK ||
	    memcmp(signer, owner, 20) != 0 ||
	    phr_escrow_manifest_parse(&m, mtext, strlen(mtext)) != PHR_OK)
		return;
	for (unsigned i = 0; i < m.n; i++) {
		bool asked = false;
		for (size_t k = 0; k < o->n_escrow; k++)
			asked |= strcmp(o->escrow[k], m.holders[i].url) == 0;
		if (!asked) {
			fprintf(stderr, "phr: emergency read: asking %s (listed in the manifest)\n",
				m.holders[i].url);
			ask_holder(answers, m.holders[i].url, sk, patient, ps);
		}
	}
}

static int cmd_read(int argc, char **argv)
{
	struct em_opts o;
	struct phr_chain *c = NULL;
	struct phr_deployment d;
	struct phr_buf sum;
	uint8_t *sk = NULL, patient[20], owner[20];
	char ps[PHR_ETH_ADDRESS_STR_LEN];
	json_t *answers = json_array();
	json_t *list[2 * MAX_ESCROW];
	size_t n;
	int rc = PHR_EXIT_FAIL, rv;

	phr_buf_init(&sum, 0);
	if (answers != NULL && (rc = parse_opts(&o, argc, argv)) > 0) {
		json_decref(answers);
		return PHR_EXIT_OK;
	}
	if (answers == NULL || rc != 0 ||
	    need_addr(patient, o.patient, "--patient") != 0 || o.n_escrow == 0) {
		if (answers != NULL && o.n_escrow == 0)
			phr_cli_error("emergency read: --patient ADDR and --escrow URL... are required");
		json_decref(answers);
		return PHR_EXIT_USAGE;
	}
	rc = PHR_EXIT_FAIL;
	if (phr_crypto_init() != PHR_OK || chain_of(&o, &c, &d) != 0 || (sk = load_key(&o)) == NULL)
		goto out;
	if ((rv = owner_of(c, &d, owner, patient)) != PHR_OK) {
		phr_cli_error("emergency read: ownerOfPatient: %s", phr_strerror(rv));
		goto out;
	}
	phr_eth_address_checksum(ps, patient);
	for (size_t i = 0; i < o.n_escrow; i++)
		ask_holder(answers, o.escrow[i], sk, patient, ps);
	discover(answers, &o, sk, patient, owner, ps);
	n = json_array_size(answers);
	if (n > PHR_ARRAY_LEN(list))
		n = PHR_ARRAY_LEN(list);
	for (size_t i = 0; i < n; i++)
		list[i] = json_array_get(answers, i);
	rv = phr_emergency_combine(&sum, sk, patient, owner, list, n);
	if (rv != PHR_OK) {
		phr_cli_error("emergency read: cannot recover the summary from %zu share(s): %s", n,
			      rv == PHR_ERR_STATE ? "fewer than the threshold" : phr_strerror(rv));
		goto out;
	}
	rv = audit_emergency(c, &d, sk, patient, 0 /* View */);
	if (rv != PHR_OK) {
		/* no summary without the audit entry */
		phr_cli_error("emergency read: the View audit entry failed: %s", phr_strerror(rv));
		goto out;
	}
	if (o.out != NULL) {
		if ((rv = phr_file_write_atomic(o.out, sum.data, sum.len, 0600)) != PHR_OK) {
			phr_cli_error("emergency read: cannot write %s: %s", o.out, phr_strerror(rv));
			goto out;
		}
	} else if (fwrite(sum.data, 1, sum.len, stdout) != sum.len) {
		goto out;
	}
	fflush(stdout);
	fprintf(stderr, "phr: emergency summary recovered from %zu escrow holder(s)\n", n);
	rc = PHR_EXIT_OK;
out:
	if (sum.data != NULL)
		sodium_memzero(sum.data, sum.len);
	phr_buf_release(&sum);
	json_decref(answers);
	if (sk != NULL)
		sodium_free(sk);
	phr_chain_close(c);
	return rc;
}

/*
 * What a holder keeps for the patient and its release log, as the patient
 * (or an auditor) signed in with its key sees it; an error object otherwise.
 */
static json_t *holder_record(const char *url, const uint8_t *sk, const uint8_t patient[20])
{
	char tok[PHR_API_TOKEN_LEN], path[128], ps[PHR_ETH_ADDRESS_STR_LEN], err[64];
	struct phr_buf resp;
	json_t *j = NULL;
	long st = 0;
	int rv;

	if ((rv = phr_api_client_login(tok, url, sk)) != PHR_OK)
		return json_pack("{s:s}", "error", phr_strerror(rv));
	phr_eth_address_checksum(ps, patient);
	snprintf(path, sizeof(path), "/api/v1/escrow/%s", ps);
	phr_buf_init(&resp, 0);
	rv = phr_api_client_call(&st, &resp, url, "GET", path, tok, NULL, NULL, 0, NULL);
	if (rv == PHR_OK && phr_json_parse(&j, err, sizeof(err), (const char *)resp.data, resp.len) !=
				    PHR_OK)
		j = NULL;
	phr_buf_reset(&resp);
	if (phr_api_client_call(&st, &resp, url, "POST", "/api/v1/auth/logout", tok, NULL, NULL, 0,
				NULL) != PHR_OK)
		fprintf(stderr, "phr: emergency status: logout at %s failed\n", url);
	phr_buf_release(&resp);
	sodium_memzero(tok, sizeof(tok));
	return j != NULL ? j : json_pack("{s:s}", "error", phr_strerror(rv == PHR_OK ? PHR_ERR_PARSE : rv));
}

static int cmd_status(int argc, char **argv)
{
	struct em_opts o;
	struct phr_chain *c = NULL;
	struct phr_deployment d;
	struct phr_buf cd, out;
	uint8_t patient[20], prov[20], rh[32];
	uint64_t opened = 0, exp = 0, code = 0;
	bool active = false;
	json_t *res = NULL, *hs;
	uint8_t *sk = NULL;
	int rc = PHR_EXIT_FAIL;

	phr_buf_init(&cd, 0);
	phr_buf_init(&out, 0);
	if ((rc = parse_opts(&o, argc, argv)) > 0)
		return PHR_EXIT_OK;
	if (rc != 0 || need_addr(patient, o.patient, "--patient") != 0)
		return PHR_EXIT_USAGE;
	rc = PHR_EXIT_FAIL;
	if (chain_of(&o, &c, &d) != 0)
		goto done;
	res = json_object();
	hs = json_array();
	json_object_set_new(res, "escrow", hs);
	if (o.provider != NULL) {
		if (need_addr(prov, o.provider, "--provider") != 0 ||
		    phr_contracts_emergency_access_is_active_encode(&cd, patient, prov) != PHR_OK ||
		    phr_chain_call(c, &out, NULL, d.emergency, cd.data, cd.len) != PHR_OK ||
		    phr_contracts_emergency_access_is_active_decode(&active, out.data, out.len) != PHR_OK) {
			phr_cli_error("emergency status: EmergencyAccess.isActive failed");
			goto done;
		}
		phr_buf_reset(&cd);
		phr_buf_reset(&out); /* phr_chain_call appends */
		if (phr_contracts_emergency_access_session_of_encode(&cd, patient, prov) != PHR_OK ||
		    phr_chain_call(c, &out, NULL, d.emergency, cd.data, cd.len) != PHR_OK ||
		    phr_contracts_emergency_access_session_of_decode(&opened, &exp, &code, rh, out.data,
								      out.len) != PHR_OK) {
			phr_cli_error("emergency status: EmergencyAccess.sessionOf failed");
			goto done;
		}
		json_object_set_new(res, "session",
				    json_pack("{s:b,s:I,s:I,s:I}", "active", active, "openedAt",
					      (json_int_t)opened, "expiresAt", (json_int_t)exp,
					      "reasonCode", (json_int_t)code));
	}
	if (o.keystore != NULL && (phr_crypto_init() != PHR_OK || (sk = load_key(&o)) == NULL))
		goto done;
	for (size_t i = 0; i < o.n_escrow; i++) {
		struct phr_escrow_holder h;
		char a[PHR_ETH_ADDRESS_STR_LEN];
		bool up = holder_info(&h, o.escrow[i]) == PHR_OK;
		json_t *e;
		if (up)
			phr_eth_address_checksum(a, h.address);
		e = json_pack("{s:s,s:b,s:s?}", "url", o.escrow[i], "reachable", up, "holder",
			      up ? a : NULL);
		if (up && sk != NULL)
			json_object_set_new(e, "kept", holder_record(o.escrow[i], sk, patient));
		json_array_append_new(hs, e);
	}
	{
		char *s = json_dumps(res, JSON_INDENT(2) | JSON_SORT_KEYS);
		if (s != NULL)
			puts(s);
		free(s);
	}
	rc = PHR_EXIT_OK;
done:
	phr_buf_release(&cd);
	phr_buf_release(&out);
	json_decref(res);
	if (sk != NULL)
		sodium_free(sk);
	phr_chain_close(c);
	return rc;
}

int phr_cmd_emergency(int argc, char **argv)
{
	static const struct phr_cli_cmd subs[] = {
		{ "setup", "escrow the emergency summary among escrow nodes", cmd_setup },
		{ "open", "open break-glass on chain (verified emergency providers)", cmd_open },
		{ "read", "recover the summary from t escrow holders", cmd_read },
		{ "close", "close a break-glass session", cmd_close },
		{ "status", "session on chain and escrow holders", cmd_status },
		{ NULL, NULL, NULL },
	};

	return phr_cli_dispatch("phr emergency", usage, subs, argc, argv);
}
