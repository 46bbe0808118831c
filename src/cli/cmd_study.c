/*
 * `phr study`: homomorphic aggregates for research studies, on JSON files —
 * create (dealer), join (custodian checks its share), submit (patient), aggregate
 * (untrusted aggregator), decrypt (custodian partials, then combine).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include <phr/he.h>
#include <phr/json.h>

#include "cli.h"

int phr_cmd_study(int argc, char **argv);

#define STUDY_MAX_FILE ((size_t)16 << 20)

static int load(json_t **out, const char *path)
{
	char err[200];
	int rc = phr_json_load_file(out, err, sizeof(err), path, STUDY_MAX_FILE);
	if (rc) {
		phr_cli_error("%s: %s", path, err[0] ? err : phr_strerror(rc));
		return -1;
	}
	return 0;
}

static int load_study(struct phr_he_study *s, const char *path)
{
	json_t *j;
	if (load(&j, path))
		return -1;
	int rc = phr_he_study_from_json(s, j);
	json_decref(j);
	if (rc) {
		phr_cli_error("%s: not a valid study: %s", path, phr_strerror(rc));
		return -1;
	}
	return 0;
}

/* the share goes to sodium_malloc memory; the JSON text is wiped */
static struct phr_he_share *load_share(const char *path)
{
	struct phr_buf b;
	phr_buf_init(&b, 1 << 16);
	int rc = phr_file_read(&b, path, 1 << 16);
	if (rc) {
		phr_cli_error("cannot read %s: %s", path, phr_strerror(rc));
		return NULL;
	}
	json_t *j = NULL;
	struct phr_he_share *sh = sodium_malloc(sizeof(*sh));
	rc = sh ? phr_json_parse(&j, NULL, 0, (const char *)b.data, b.len) : PHR_ERR_NOMEM;
	sodium_memzero(b.data, b.len);
	phr_buf_release(&b);
	if (!rc)
		rc = phr_he_share_from_json(sh, j);
	json_decref(j);
	if (rc) {
		phr_cli_error("%s: not a custodian share: %s", path, phr_strerror(rc));
		if (sh)
			sodium_free(sh);
		return NULL;
	}
	return sh;
}

/* Writes JSON to @p path (mode) or stdout for NULL / "-"; wipes the text when secret. */
static int emit(const char *path, const json_t *j, unsigned mode, bool secret)
{
	struct phr_buf b;
	phr_buf_init(&b, 0);
	int ok = phr_json_dump(&b, j, JSON_INDENT(1)) == PHR_OK && phr_buf_append_byte(&b, '\n') == PHR_OK;
	if (ok) {
		if (!path || strcmp(path, "-") == 0)
			ok = fwrite(b.data, 1, b.len, stdout) == b.len && fflush(stdout) == 0;
		else
			ok = phr_file_write_atomic(path, b.data, b.len, mode) == PHR_OK;
	}
	if (!ok)
		phr_cli_error("cannot write %s: %s", path ? path : "stdout", strerror(errno));
	if (secret && b.data)
		sodium_memzero(b.data, b.len);
	phr_buf_release(&b);
	return ok ? 0 : -1;
}

static int parse_u32(uint32_t *out, const char *s, const char *what)
{
	uint64_t v;
	if (phr_parse_u64(&v, s) != PHR_OK || v > UINT32_MAX) {
		phr_cli_error("%s: '%s' is not a number", what, s);
		return -1;
	}
	*out = (uint32_t)v;
	return 0;
}

/* getopt loop shared by the subcommands: fills opts[letter - 'a'] */
static int options(const char **opt, int argc, char **argv, const struct option *lo, const char *shortopts,
		   const char *usage)
{
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, shortopts, lo, NULL)) != -1) {
		if (c == 'h') {
			fputs(usage, stdout);
			return 1;
		}
		if (c < 'a' || c > 'z') {
			fputs(usage, stderr);
			return 2;
		}
		opt[c - 'a'] = optarg;
	}
	return 0;
}

/* ---- create ------------------------------------------------------------------ */

static const char create_usage[] =
	"usage: phr study create --id ID --bits K --threshold T --custodians N --out-dir DIR\n"
	"\n"
	"Dealer: creates a study whose values are in [0, 2^K) (K <= 16) and whose key is\n"
	"shared T-of-N (N <= 32) among custodians. Writes DIR/study.json (public) and\n"
	"DIR/custodian-<i>.json (mode 0600; hand each to its custodian, then delete).\n";

static int cmd_create(int argc, char **argv)
{
	static const struct option lo[] = { { "id", required_argument, NULL, 'i' },
					    { "bits", required_argument, NULL, 'b' },
					    { "threshold", required_argument, NULL, 't' },
					    { "custodians", required_argument, NULL, 'n' },
					    { "out-dir", required_argument, NULL, 'o' },
					    { "help", no_argument, NULL, 'h' },
					    { NULL, 0, NULL, 0 } };
	const char *o[26] = { 0 };
	int r = options(o, argc, argv, lo, "i:b:t:n:o:h", create_usage);
	if (r)
		return r == 1 ? PHR_EXIT_OK : PHR_EXIT_USAGE;
	uint32_t bits, t, n;
	if (!o['i' - 'a'] || !o['b' - 'a'] || !o['t' - 'a'] || !o['n' - 'a'] || !o['o' - 'a'] ||
	    optind != argc) {
		fputs(create_usage, stderr);
		return PHR_EXIT_USAGE;
	}
	if (parse_u32(&bits, o['b' - 'a'], "--bits") || parse_u32(&t, o['t' - 'a'], "--threshold") ||
	    parse_u32(&n, o['n' - 'a'], "--custodians"))
		return PHR_EXIT_USAGE;
	struct phr_he_study s;
	struct phr_he_share *sh = NULL;
	int rc = phr_he_study_create(&s, &sh, o['i' - 'a'], bits, t, n);
	if (rc) {
		phr_cli_error("cannot create the study: %s (id: printable ASCII without spaces, 1 <= bits <= %u, "
			      "1 <= threshold <= custodians <= %u)",
			      phr_strerror(rc), PHR_HE_MAX_BITS, PHR_HE_MAX_CUSTODIANS);
		return PHR_EXIT_FAIL;
	}
	const char *dir = o['o' - 'a'];
	int status = PHR_EXIT_FAIL;
	char path[4096];
	json_t *j = NULL;
	if (phr_mkdir_p(dir, 0700) != PHR_OK) {
		phr_cli_error("cannot create %s", dir);
		goto out;
	}
	snprintf(path, sizeof(path), "%s/study.json", dir);
	if (phr_he_study_to_json(&j, &s) || emit(path, j, 0644, false))
		goto out;
	json_decref(j);
	j = NULL;
	for (uint32_t i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/custodian-%u.json", dir, i + 1);
		if (phr_he_share_to_json(&j, &s, &sh[i]) || emit(path, j, 0600, true))
			goto out;
		json_decref(j);
		j = NULL;
	}
	printf("study %s: values in [0, 2^%u), %u-of-%u custodians; %s/study.json and %u shares written\n", s.id,
	       bits, t, n, dir, n);
	status = PHR_EXIT_OK;
out:
	json_decref(j);
	phr_he_shares_free(sh, n);
	return status;
}

/* ---- join -------------------------------------------------------------------- */

static const char join_usage[] =
	"usage: phr study join --study study.json --share custodian-<i>.json\n"
	"\n"
	"Custodian: checks its share against the dealer's public commitments in the\n"
	"study (Feldman) before accepting the role.\n";

static int cmd_join(int argc, char **argv)
{
	static const struct option lo[] = { { "study", required_argument, NULL, 's' },
					    { "share", required_argument, NULL, 'k' },
					    { "help", no_argument, NULL, 'h' },
					    { NULL, 0, NULL, 0 } };
	const char *o[26] = { 0 };
	int r = options(o, argc, argv, lo, "s:k:h", join_usage);
	if (r)
		return r == 1 ? PHR_EXIT_OK : PHR_EXIT_USAGE;
	if (!o['s' - 'a'] || !o['k' - 'a'] || optind != argc) {
		fputs(join_usage, stderr);
		return PHR_EXIT_USAGE;
	}
	struct phr_he_study s;
	if (load_study(&s, o['s' - 'a']))
		return PHR_EXIT_FAIL;
	struct phr_he_share *sh = load_share(o['k' - 'a']);
	if (!sh)
		return PHR_EXIT_FAIL;
	int rc = phr_he_share_verify(&s, sh);
	uint32_t idx = sh->index;
	sodium_free(sh);
	if (rc) {
		phr_cli_error("the share does not match the study's commitments: %s", phr_strerror(rc));
		return PHR_EXIT_FAIL;
	}
	printf("custodian %u of study %s: share verified (%u-of-%u)\n", idx, s.id, s.t, s.n);
	return PHR_EXIT_OK;
}

/* ---- submit ------------------------------------------------------------------ */

static const char submit_usage[] =
	"usage: phr study submit --study study.json --patient ID --value V [--out FILE]\n"
	"\n"
	"Patient: encrypts V (0 <= V < 2^bits) as Enc(V), Enc(V^2), Enc(1) with a range\n"
	"proof, a square proof and a proof of the 1, all bound to the study and ID.\n"
	"Writes the submission JSON to FILE or stdout.\n";

static int cmd_submit(int argc, char **argv)
{
	static const struct option lo[] = { { "study", required_argument, NULL, 's' },
					    { "patient", required_argument, NULL, 'p' },
					    { "value", required_argument, NULL, 'v' },
					    { "out", required_argument, NULL, 'o' },
					    { "help", no_argument, NULL, 'h' },
					    { NULL, 0, NULL, 0 } };
	const char *o[26] = { 0 };
	int r = options(o, argc, argv, lo, "s:p:v:o:h", submit_usage);
	if (r)
		return r == 1 ? PHR_EXIT_OK : PHR_EXIT_USAGE;
	if (!o['s' - 'a'] || !o['p' - 'a'] || !o['v' - 'a'] || optind != argc) {
		fputs(submit_usage, stderr);
		return PHR_EXIT_USAGE;
	}
	uint64_t v;
	if (phr_parse_u64(&v, o['v' - 'a']) != PHR_OK) {
		phr_cli_error("--value: '%s' is not a non-negative integer", o['v' - 'a']);
		return PHR_EXIT_USAGE;
	}
	struct phr_he_study s;
	if (load_study(&s, o['s' - 'a']))
		return PHR_EXIT_FAIL;
	struct phr_he_submission sub;
	int rc = phr_he_submission_make(&sub, &s, o['p' - 'a'], v);
	if (rc) {
		if (rc == PHR_ERR_RANGE)
			phr_cli_error("value %llu is outside [0, 2^%u)", (unsigned long long)v, s.bits);
		else
			phr_cli_error("cannot make the submission: %s", phr_strerror(rc));
		return PHR_EXIT_FAIL;
	}
	json_t *j;
	if (phr_he_submission_to_json(&j, &sub)) {
		phr_cli_error("out of memory");
		return PHR_EXIT_FAIL;
	}
	rc = emit(o['o' - 'a'], j, 0644, false);
	json_decref(j);
	return rc ? PHR_EXIT_FAIL : PHR_EXIT_OK;
}

/* ---- aggregate --------------------------------------------------------------- */

static const char aggregate_usage[] =
	"usage: phr study aggregate --study study.json --out AGG.json [--consent FILE]\n"
	"                           SUBMISSION.json...\n"
	"\n"
	"Aggregator: verifies every submission (range, square and one proofs, patient\n"
	"id, at most one submission per patient), checks consent and adds the\n"
	"ciphertexts of those that pass. Rejected submissions are listed on stderr.\n"
	"Consent: with --consent, FILE lists the consenting patient ids, one a line (a\n"
	"stand-in for the node's on-chain check); without it consent is not checked.\n"
	"Exit status 1 when any submission was rejected.\n";

/* consent from a list of ids, one a line (NULL list: everyone) */
static int consent_from_list(void *ctx, const char *study, const char *patient)
{
	const char *list = ctx;
	(void)study;
	if (!list)
		return PHR_OK;
	size_t n = strlen(patient);
	for (const char *l = list; *l;) {
		const char *e = strchr(l, '\n');
		size_t len = e ? (size_t)(e - l) : strlen(l);
		size_t t = len;
		while (t && (l[t - 1] == '\r' || l[t - 1] == ' '))
			t--;
		if (t == n && memcmp(l, patient, n) == 0)
			return PHR_OK;
		l += len + (e ? 1 : 0);
	}
	return PHR_ERR_FORBIDDEN;
}

static int cmd_aggregate(int argc, char **argv)
{
	static const struct option lo[] = { { "study", required_argument, NULL, 's' },
					    { "out", required_argument, NULL, 'o' },
					    { "consent", required_argument, NULL, 'c' },
					    { "help", no_argument, NULL, 'h' },
					    { NULL, 0, NULL, 0 } };
	const char *o[26] = { 0 };
	int r = options(o, argc, argv, lo, "s:o:c:h", aggregate_usage);
	if (r)
		return r == 1 ? PHR_EXIT_OK : PHR_EXIT_USAGE;
	if (!o['s' - 'a'] || !o['o' - 'a'] || optind >= argc) {
		fputs(aggregate_usage, stderr);
		return PHR_EXIT_USAGE;
	}
	struct phr_he_study s;
	if (load_study(&s, o['s' - 'a']))
		return PHR_EXIT_FAIL;
	struct phr_he_aggregate agg;
	phr_he_aggregate_init(&agg);
	json_t *patients = json_array();
	size_t rejected = 0;
	int status = PHR_EXIT_FAIL;
	struct phr_buf consent;
	phr_buf_init(&consent, STUDY_MAX_FILE);
	if (!patients)
		goto out;
	if (o['c' - 'a']) {
		int crc = phr_file_read(&consent, o['c' - 'a'], STUDY_MAX_FILE);
		if (crc == PHR_OK && !consent.data)
			crc = phr_buf_append_byte(&consent, 0); /* an empty list: nobody consented */
		if (crc) {
			phr_cli_error("cannot read %s: %s", o['c' - 'a'], phr_strerror(crc));
			goto out;
		}
	}
	for (int i = optind; i < argc; i++) {
		json_t *j;
		if (load(&j, argv[i])) {
			rejected++;
			continue;
		}
		struct phr_he_submission sub;
		int rc = phr_he_submission_from_json(&sub, j);
		json_decref(j);
		bool dup = false;
		for (size_t k = 0; !rc && k < json_array_size(patients); k++)
			dup |= strcmp(json_string_value(json_array_get(patients, k)), sub.patient) == 0;
		if (!rc && !dup)
			rc = phr_he_aggregate_submit(&agg, &s, &sub, consent_from_list,
						     o['c' - 'a'] ? (void *)consent.data : NULL);
		if (rc || dup) {
			fprintf(stderr, "phr: rejected %s: %s\n", argv[i],
				dup ? "a second submission from the same patient"
				    : rc == PHR_ERR_FORBIDDEN ? "the patient has not consented" : phr_strerror(rc));
			rejected++;
			continue;
		}
		if (json_array_append_new(patients, json_string(sub.patient)) != 0) {
			phr_cli_error("cannot add %s", argv[i]);
			goto out;
		}
	}
	json_t *j;
	if (phr_he_aggregate_to_json(&j, &agg)) {
		phr_cli_error("out of memory");
		goto out;
	}
	if (json_object_set_new(j, "study", json_string(s.id)) || json_object_set(j, "patients", patients)) {
		json_decref(j);
		goto out;
	}
	int wrc = emit(o['o' - 'a'], j, 0644, false);
	json_decref(j);
	if (wrc)
		goto out;
	fprintf(stderr, "%llu submissions aggregated, %zu rejected\n", (unsigned long long)agg.count, rejected);
	status = rejected ? PHR_EXIT_FAIL : PHR_EXIT_OK;
out:
	phr_buf_release(&consent);
	json_decref(patients);
	return status;
}

/* ---- decrypt ----------------------------------------------------------------- */

static const char decrypt_usage[] =
	"usage: phr study decrypt --study study.json --aggregate AGG.json --share custodian-<i>.json\n"
	"                         [--out PARTIAL.json]\n"
	"       phr study decrypt --study study.json --aggregate AGG.json --combine PARTIAL.json...\n"
	"\n"
	"With --share, a custodian publishes its partial decryption of the aggregate with\n"
	"Chaum-Pedersen proofs. With --combine, anyone checks the partials, combines T\n"
	"valid ones and prints count, sum, sum of squares, mean and variance as JSON.\n";

static int combine(const struct phr_he_study *s, const struct phr_he_aggregate *agg, int argc, char **argv)
{
	size_t np = (size_t)argc;
	struct phr_he_partial *p = phr_calloc(np ? np : 1, sizeof(*p));
	if (!p)
		return PHR_EXIT_FAIL;
	size_t k = 0;
	for (int i = 0; i < argc; i++) {
		json_t *j;
		if (load(&j, argv[i]))
			continue;
		int rc = phr_he_partial_from_json(&p[k], j);
		json_decref(j);
		if (rc)
			fprintf(stderr, "phr: rejected %s: %s\n", argv[i], phr_strerror(rc));
		else
			k++;
	}
	struct phr_he_result res;
	size_t bad = 0;
	int rc = phr_he_combine(&res, &bad, s, agg, p, k);
	phr_free(p);
	if (bad)
		fprintf(stderr, "phr: %zu partial decryption(s) failed verification or repeat a custodian\n", bad);
	if (rc) {
		if (rc == PHR_ERR_FORBIDDEN)
			phr_cli_error("fewer than %u valid partial decryptions from distinct custodians", s->t);
		else
			phr_cli_error("cannot decrypt: %s", phr_strerror(rc));
		return PHR_EXIT_FAIL;
	}
	printf("{\"study\":\"%s\",\"count\":%llu,\"sum\":%llu,\"sumOfSquares\":%llu,\"mean\":%.17g,"
	       "\"variance\":%.17g,\"sampleVariance\":%.17g}\n",
	       s->id, (unsigned long long)res.count, (unsigned long long)res.sum, (unsigned long long)res.sumsq,
	       res.mean, res.variance, res.sample_variance);
	return fflush(stdout) == 0 ? PHR_EXIT_OK : PHR_EXIT_FAIL;
}

static int cmd_decrypt(int argc, char **argv)
{
	static const struct option lo[] = { { "study", required_argument, NULL, 's' },
					    { "aggregate", required_argument, NULL, 'a' },
					    { "share", required_argument, NULL, 'k' },
					    { "out", required_argument, NULL, 'o' },
					    { "combine", no_argument, NULL, 'c' },
					    { "help", no_argument, NULL, 'h' },
					    { NULL, 0, NULL, 0 } };
	const char *o[26] = { 0 };
	static const char yes[] = "";
	int c;
	optind = 1;
	bool do_combine = false;
	while ((c = getopt_long(argc, argv, "s:a:k:o:ch", lo, NULL)) != -1) {
		if (c == 'h') {
			fputs(decrypt_usage, stdout);
			return PHR_EXIT_OK;
		}
		if (c == 'c')
			do_combine = true;
		else if (c >= 'a' && c <= 'z')
			o[c - 'a'] = optarg ? optarg : yes;
		else {
			fputs(decrypt_usage, stderr);
			return PHR_EXIT_USAGE;
		}
	}
	if (!o['s' - 'a'] || !o['a' - 'a'] || do_combine == (o['k' - 'a'] != NULL) ||
	    (!do_combine && optind != argc) || (do_combine && optind >= argc)) {
		fputs(decrypt_usage, stderr);
		return PHR_EXIT_USAGE;
	}
	struct phr_he_study s;
	struct phr_he_aggregate agg;
	json_t *j;
	if (load_study(&s, o['s' - 'a']) || load(&j, o['a' - 'a']))
		return PHR_EXIT_FAIL;
	const char *sid = json_string_value(json_object_get(j, "study"));
	int rc = phr_he_aggregate_from_json(&agg, j);
	if (!rc && (!sid || strcmp(sid, s.id) != 0))
		rc = PHR_ERR_INVALID;
	json_decref(j);
	if (rc) {
		phr_cli_error("%s: not an aggregate of study %s: %s", o['a' - 'a'], s.id, phr_strerror(rc));
		return PHR_EXIT_FAIL;
	}
	if (do_combine)
		return combine(&s, &agg, argc - optind, argv + optind);
	struct phr_he_share *sh = load_share(o['k' - 'a']);
	if (!sh)
		return PHR_EXIT_FAIL;
	struct phr_he_partial p;
	rc = phr_he_share_verify(&s, sh);
	if (!rc)
		rc = phr_he_partial_make(&p, &s, sh, &agg);
	sodium_free(sh);
	if (rc) {
		phr_cli_error("cannot make the partial decryption: %s", phr_strerror(rc));
		return PHR_EXIT_FAIL;
	}
	if (phr_he_partial_to_json(&j, &p)) {
		phr_cli_error("out of memory");
		return PHR_EXIT_FAIL;
	}
	rc = emit(o['o' - 'a'], j, 0644, false);
	json_decref(j);
	return rc ? PHR_EXIT_FAIL : PHR_EXIT_OK;
}

int phr_cmd_study_node(int argc, char **argv);

/* a node-only step reached through the table (argv[0] is the step) */
static int node_step(int argc, char **argv)
{
	return phr_cmd_study_node(argc + 1, argv - 1);
}

static const struct phr_cli_cmd study_subs[] = {
	{ "create", "dealer: create a study and its custodians' key shares", cmd_create },
	{ "join", "custodian: check a key share against the study", cmd_join },
	{ "submit", "patient: encrypt a value with its proofs", cmd_submit },
	{ "aggregate", "aggregator: verify submissions and add them", cmd_aggregate },
	{ "decrypt", "custodians: partial decryptions, then combine into the figures", cmd_decrypt },
	{ "consent", "patient: consent on chain to a study on a node (--node; phr study consent --help)", node_step },
	{ "close", "sponsor: stop submissions on a node (--node)", node_step },
	{ "result", "the decrypted figures of a study on a node (--node)", node_step },
	{ "status", "the public state of a study on a node (--node)", node_step },
	{ "log", "every step of a study on a node (--node)", node_step },
	{ NULL, NULL, NULL },
};

int phr_cmd_study(int argc, char **argv)
{
	static const char *const node_only[] = { "consent", "close", "result", "status", "log" };

	/* the steps against a node's API (cmd_study_node.c): with --node, or node-only steps */
	for (int i = 2; i < argc; i++)
		if (strcmp(argv[i], "--node") == 0)
			return phr_cmd_study_node(argc, argv);
	for (size_t i = 0; argc > 1 && i < PHR_ARRAY_LEN(node_only); i++)
		if (strcmp(argv[1], node_only[i]) == 0)
			return phr_cmd_study_node(argc, argv);
	return phr_cli_dispatch("phr study", "usage: phr study <command> [options]\n", study_subs, argc, argv);
}
