/*
 * `phr study ... --node URL`: the study steps against a node's API
 * (include/phr/study.h) — the sponsor creates and closes, custodians join
 * (open their sealed share with their own keystore) and post partial
 * decryptions, patients consent and submit from their own client.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "cli.h"
#include "cmd_api.h"
#include "phr/crypto.h"
#include "phr/he.h"
#include "phr/json.h"
#include "phr/phr.h"
#include "phr/study.h"

int phr_cmd_study_node(int argc, char **argv);

static const char usage[] =
	"usage: phr study <step> --node URL [--token T | --token-file F [--as NAME]] [--json] ...\n"
	"\n"
	"  create   --name N --bits K --threshold T --custodian ADDR [--custodian ADDR...]\n"
	"           the sponsor (a verified provider hosted on the node) creates the study;\n"
	"           the node seals each custodian's key share to its registered key\n"
	"  join     --study N --keystore FILE [--password-file F] --out SHARE.json\n"
	"           a custodian opens its sealed share with its own key, checks it against\n"
	"           the study's commitments and keeps it (mode 0600)\n"
	"  consent  --study N (--days D | --until EPOCH | --withdraw)\n"
	"           the signed-in patient consents on chain (or withdraws)\n"
	"  submit   --study N --value V\n"
	"           the signed-in patient encrypts V with its proofs here and submits it\n"
	"  close    --study N       the sponsor stops submissions (aggregate hash on chain)\n"
	"  decrypt  --study N --share SHARE.json\n"
	"           a custodian posts its partial decryption of the closed aggregate\n"
	"  result   --study N       count, sum, mean and variance (t partials needed)\n"
	"  status   --study N       public state: parameters, count, aggregate, partials\n"
	"  aggregate --study N      the running aggregate the node keeps (ciphertexts only);\n"
	"           the node adds each accepted submission as it arrives\n"
	"  log      --study N       every step: who, when, what (refusals included)\n";

struct opts {
	const char *name, *study, *keystore, *pwfile, *out, *share;
	const char *custodians[32];
	size_t n_cust;
	long long bits, threshold, days, until, value;
	bool withdraw;
};

static int num(long long *v, const char *s, const char *what)
{
	char *end;

	*v = strtoll(s, &end, 10);
	if (*s == '\0' || *end != '\0' || *v < 0) {
		phr_cli_error("%s must be a non-negative integer", what);
		return -1;
	}
	return 0;
}

static int parse(struct phr_cli_api *a, struct opts *o, int argc, char **argv)
{
	memset(o, 0, sizeof(*o));
	o->value = o->bits = o->threshold = o->days = o->until = -1;
	for (int i = 2; i < argc; i++) {
		int t = phr_cli_api_opt(a, &i, argc, argv);
		const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (t == 1)
			continue;
		if (t < 0)
			return -1;
		if (strcmp(k, "--withdraw") == 0) {
			o->withdraw = true;
			continue;
		}
		if (v == NULL) {
			phr_cli_error("study: %s needs a value (or is unknown)", k);
			return -1;
		}
		i++;
		if (strcmp(k, "--name") == 0)
			o->name = v;
		else if (strcmp(k, "--study") == 0)
			o->study = v;
		else if (strcmp(k, "--keystore") == 0)
			o->keystore = v;
		else if (strcmp(k, "--password-file") == 0)
			o->pwfile = v;
		else if (strcmp(k, "--out") == 0)
			o->out = v;
		else if (strcmp(k, "--share") == 0)
			o->share = v;
		else if (strcmp(k, "--custodian") == 0 && o->n_cust < PHR_ARRAY_LEN(o->custodians))
			o->custodians[o->n_cust++] = v;
		else {
			const struct {
				const char *flag;
				long long *dst;
			} nums[] = { { "--bits", &o->bits },	 { "--threshold", &o->threshold },
				     { "--days", &o->days },	 { "--until", &o->until },
				     { "--value", &o->value } };
			size_t n;
			for (n = 0; n < PHR_ARRAY_LEN(nums) && strcmp(k, nums[n].flag) != 0; n++)
				;
			if (n == PHR_ARRAY_LEN(nums)) {
				phr_cli_error("study: unknown option %s", k);
				return -1;
			}
			if (num(nums[n].dst, v, k) != 0)
				return -1;
		}
	}
	return 0;
}

static int need(const void *v, const char *what)
{
	if (v == NULL) {
		phr_cli_error("study: %s is required", what);
		return -1;
	}
	return 0;
}

/* GET the study's public state; its he parameters in @p s (may be NULL). */
static int get_study(struct phr_cli_api *a, json_t **state, struct phr_he_study *s, const char *name)
{
	char path[160];
	int rc;

	snprintf(path, sizeof(path), "/api/v1/studies/%s", name);
	if ((rc = phr_cli_api_call(a, state, "GET", path, NULL, NULL, 0, NULL)) != PHR_EXIT_OK)
		return rc;
	if (s != NULL && phr_he_study_from_json(s, json_object_get(json_object_get(*state, "params"), "he")) != PHR_OK) {
		phr_cli_error("the node's study parameters do not parse");
		json_decref(*state);
		return PHR_EXIT_FAIL;
	}
	return PHR_EXIT_OK;
}

static int load_share(struct phr_he_share *sh, const char *path)
{
	char err[160];
	json_t *j = NULL;
	int rc = phr_json_load_file(&j, err, sizeof(err), path, 1 << 16);

	if (rc == PHR_OK)
		rc = phr_he_share_from_json(sh, j);
	json_decref(j);
	if (rc != PHR_OK)
		phr_cli_error("%s: not a key share (%s)", path, phr_strerror(rc));
	return rc == PHR_OK ? 0 : -1;
}

static int do_join(struct phr_cli_api *a, const struct opts *o)
{
	struct phr_he_study s;
	struct phr_he_share *sh = sodium_malloc(sizeof(*sh));
	uint8_t *sk = sodium_malloc(32), *bsk = sodium_malloc(32), pk[32], addr[20], box[8192];
	uint8_t *plain = sodium_malloc(sizeof(box));
	char path[200], as[PHR_ETH_ADDRESS_STR_LEN];
	json_t *state = NULL, *res = NULL, *j = NULL;
	const char *b64;
	size_t blen = 0;
	int rc = PHR_EXIT_FAIL;

	if (sh == NULL || sk == NULL || bsk == NULL || plain == NULL || phr_crypto_init() != PHR_OK)
		goto out;
	if (phr_cli_keystore_key(sk, o->keystore, o->pwfile) != 0 || phr_identity_box_keys(pk, bsk, sk) != PHR_OK ||
	    phr_eth_address_from_seckey(addr, sk) != PHR_OK)
		goto out;
	phr_eth_address_checksum(as, addr);
	if ((rc = get_study(a, &state, &s, o->study)) != PHR_EXIT_OK)
		goto out;
	rc = PHR_EXIT_FAIL;
	snprintf(path, sizeof(path), "/api/v1/studies/%s/shares/%s", o->study, as);
	if (phr_cli_api_call(a, &res, "GET", path, NULL, NULL, 0, NULL) != PHR_EXIT_OK)
		goto out;
	b64 = json_string_value(json_object_get(res, "sealed"));
	if (b64 == NULL || sodium_base642bin(box, sizeof(box), b64, strlen(b64), NULL, &blen, NULL,
					     sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    blen <= crypto_box_SEALBYTES || crypto_box_seal_open(plain, box, blen, pk, bsk) != 0) {
		phr_cli_error("the sealed share does not open with this keystore's key");
		goto out;
	}
	j = json_loadb((const char *)plain, blen - crypto_box_SEALBYTES, 0, NULL);
	if (j == NULL || phr_he_share_from_json(sh, j) != PHR_OK || phr_he_share_verify(&s, sh) != PHR_OK) {
		phr_cli_error("the share does not match the study's public commitments: do not use it");
		goto out;
	}
	{
		char *text = json_dumps(j, JSON_INDENT(2));
		if (text == NULL || phr_file_write_atomic(o->out, text, strlen(text), 0600) != PHR_OK) {
			phr_cli_error("%s: cannot write", o->out);
		} else {
			printf("share %u of study %s checked and written to %s\n", (unsigned)sh->index, o->study, o->out);
			rc = PHR_EXIT_OK;
		}
		if (text != NULL) {
			sodium_memzero(text, strlen(text));
			free(text);
		}
	}
out:
	sodium_memzero(box, sizeof(box));
	if (plain)
		sodium_free(plain);
	if (sh)
		sodium_free(sh);
	if (sk)
		sodium_free(sk);
	if (bsk)
		sodium_free(bsk);
	json_decref(state);
	json_decref(res);
	json_decref(j);
	return rc;
}

static int do_submit(struct phr_cli_api *a, const struct opts *o)
{
	struct phr_he_study s;
	struct phr_he_submission *sub = phr_malloc(sizeof(*sub));
	char me[64], path[160];
	json_t *state = NULL, *sj = NULL, *body = NULL;
	int rc = PHR_EXIT_FAIL, rv;

	if (sub == NULL || phr_cli_api_me(a, me) != 0 || (rc = get_study(a, &state, &s, o->study)) != PHR_EXIT_OK)
		goto out;
	rc = PHR_EXIT_FAIL;
	rv = phr_he_submission_make(sub, &s, me, (uint64_t)o->value);
	if (rv == PHR_ERR_RANGE) {
		phr_cli_error("the value must lie in [0, %llu)", 1ULL << s.bits);
		goto out;
	}
	if (rv != PHR_OK || phr_he_submission_to_json(&sj, sub) != PHR_OK ||
	    (body = json_pack("{s:O}", "submission", sj)) == NULL)
		goto out;
	snprintf(path, sizeof(path), "/api/v1/studies/%s/submissions", o->study);
	rc = phr_cli_api_print(a, "POST", path, body, NULL);
out:
	if (sub != NULL) {
		sodium_memzero(sub, sizeof(*sub));
		phr_free(sub);
	}
	json_decref(state);
	json_decref(sj);
	json_decref(body);
	return rc;
}

static int do_decrypt(struct phr_cli_api *a, const struct opts *o)
{
	struct phr_he_study s;
	struct phr_he_aggregate agg;
	struct phr_he_partial p;
	struct phr_he_share *sh = sodium_malloc(sizeof(*sh));
	char path[160];
	json_t *state = NULL, *pj = NULL, *body = NULL;
	int rc = PHR_EXIT_FAIL;

	if (sh == NULL || load_share(sh, o->share) != 0 || (rc = get_study(a, &state, &s, o->study)) != PHR_EXIT_OK)
		goto out;
	rc = PHR_EXIT_FAIL;
	if (!json_is_true(json_object_get(state, "closed"))) {
		phr_cli_error("study %s is still open: the sponsor closes it first", o->study);
		goto out;
	}
	if (phr_he_aggregate_from_json(&agg, json_object_get(state, "aggregate")) != PHR_OK ||
	    phr_he_partial_make(&p, &s, sh, &agg) != PHR_OK || phr_he_partial_to_json(&pj, &p) != PHR_OK ||
	    (body = json_pack("{s:O}", "partial", pj)) == NULL) {
		phr_cli_error("cannot make the partial decryption (is this share for this study?)");
		goto out;
	}
	snprintf(path, sizeof(path), "/api/v1/studies/%s/partials", o->study);
	rc = phr_cli_api_print(a, "POST", path, body, NULL);
out:
	if (sh)
		sodium_free(sh);
	json_decref(state);
	json_decref(pj);
	json_decref(body);
	return rc;
}

int phr_cmd_study_node(int argc, char **argv)
{
	const char *step = argc > 1 ? argv[1] : NULL;
	struct phr_cli_api a = { 0 };
	struct opts o;
	char path[200];

	if (step == NULL || phr_cli_wants_help(argc, argv)) {
		fputs(usage, step ? stdout : stderr);
		return step ? PHR_EXIT_OK : PHR_EXIT_USAGE;
	}
	if (parse(&a, &o, argc, argv) != 0)
		return PHR_EXIT_USAGE;
	if (phr_cli_api_ready(&a, true) != 0)
		return PHR_EXIT_USAGE;
	if (strcmp(step, "create") == 0) {
		json_t *b, *cu = json_array();
		if (need(o.name, "--name") || o.bits < 0 || o.threshold < 0 || o.n_cust == 0 || cu == NULL) {
			phr_cli_error("study create: --name, --bits, --threshold and --custodian are required");
			json_decref(cu);
			return PHR_EXIT_USAGE;
		}
		for (size_t i = 0; i < o.n_cust; i++)
			json_array_append_new(cu, json_string(o.custodians[i]));
		b = json_pack("{s:s,s:I,s:I,s:o}", "name", o.name, "bits", (json_int_t)o.bits, "t",
			      (json_int_t)o.threshold, "custodians", cu);
		{
			int rc = phr_cli_api_print(&a, "POST", "/api/v1/studies", b, NULL);
			json_decref(b);
			return rc;
		}
	}
	if (need(o.study, "--study") != 0)
		return PHR_EXIT_USAGE;
	if (strcmp(step, "join") == 0)
		return need(o.keystore, "--keystore") || need(o.out, "--out") ? PHR_EXIT_USAGE : do_join(&a, &o);
	if (strcmp(step, "submit") == 0) {
		if (o.value < 0) {
			phr_cli_error("study submit: --value is required");
			return PHR_EXIT_USAGE;
		}
		return do_submit(&a, &o);
	}
	if (strcmp(step, "decrypt") == 0)
		return need(o.share, "--share") ? PHR_EXIT_USAGE : do_decrypt(&a, &o);
	if (strcmp(step, "consent") == 0) {
		json_t *b;
		int rc;
		if (!o.withdraw && o.until < 0 && o.days < 0) {
			phr_cli_error("study consent: --days, --until or --withdraw is required");
			return PHR_EXIT_USAGE;
		}
		b = o.withdraw ? json_pack("{s:b}", "withdraw", 1)
			       : json_pack("{s:I}", "until",
					   (json_int_t)(o.until >= 0 ? o.until : (long long)time(NULL) + o.days * 86400));
		snprintf(path, sizeof(path), "/api/v1/studies/%s/consent", o.study);
		rc = phr_cli_api_print(&a, "POST", path, b, NULL);
		json_decref(b);
		return rc;
	}
	if (strcmp(step, "close") == 0) {
		snprintf(path, sizeof(path), "/api/v1/studies/%s/close", o.study);
		return phr_cli_api_print(&a, "POST", path, NULL, NULL);
	}
	if (strcmp(step, "aggregate") == 0) {
		json_t *state = NULL, *agg;
		int rc = get_study(&a, &state, NULL, o.study);
		char *txt;
		if (rc != PHR_EXIT_OK)
			return rc;
		agg = json_pack("{s:O,s:O,s:O}", "study", json_object_get(json_object_get(state, "params"), "name"),
				"count", json_object_get(state, "count"), "aggregate", json_object_get(state, "aggregate"));
		txt = agg ? json_dumps(agg, JSON_INDENT(2)) : NULL;
		if (txt != NULL)
			puts(txt);
		free(txt);
		json_decref(agg);
		json_decref(state);
		return txt != NULL ? PHR_EXIT_OK : PHR_EXIT_FAIL;
	}
	if (strcmp(step, "result") == 0 || strcmp(step, "log") == 0 || strcmp(step, "status") == 0) {
		snprintf(path, sizeof(path), "/api/v1/studies/%s%s%s", o.study, strcmp(step, "status") == 0 ? "" : "/",
			 strcmp(step, "status") == 0 ? "" : step);
		return phr_cli_api_print(&a, "GET", path, NULL, NULL);
	}
	phr_cli_error("study: unknown step %s (see phr study --node URL --help)", step);
	return PHR_EXIT_USAGE;
}
