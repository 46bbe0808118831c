/*
 * `phr shc`: SMART Health Cards — keygen, jwks, issue, verify, qr.
 */
#include <errno.h>
#include <getopt.h>
#include <time.h>

#include <sodium.h>

#include <phr/crypto.h>
#include <phr/json.h>
#include <phr/shc.h>

#include "cli.h"

int phr_cmd_shc(int argc, char **argv);

#define MAX_FILE ((size_t)16 << 20)

static int parse_time(int64_t *out, const char *s)
{
	uint64_t v;
	if (phr_parse_u64(&v, s) != PHR_OK || v > INT64_MAX) {
		phr_cli_error("'%s' is not a time in seconds since the epoch", s);
		return -1;
	}
	*out = (int64_t)v;
	return 0;
}

static int load_key(struct phr_shc_key **k, const char *path)
{
	json_t *jwk;
	char err[200];
	int rc = phr_json_load_file(&jwk, err, sizeof(err), path, 1 << 16);
	if (rc != PHR_OK) {
		phr_cli_error("%s", err);
		return -1;
	}
	rc = phr_shc_key_from_jwk(k, jwk);
	json_decref(jwk);
	if (rc != PHR_OK) {
		phr_cli_error("%s: not an EC P-256 JWK: %s", path, phr_strerror(rc));
		return -1;
	}
	return 0;
}

static int load_json(json_t **out, const char *path)
{
	char err[200];
	if (phr_json_load_file(out, err, sizeof(err), path, MAX_FILE) != PHR_OK) {
		phr_cli_error("%s", err);
		return -1;
	}
	return 0;
}

/* Writes to @p path (mode 0644, or 0600 for secrets) or stdout when NULL or "-". */
static int emit(const char *path, const void *data, size_t n, unsigned mode)
{
	if (!path || strcmp(path, "-") == 0) {
		if (fwrite(data, 1, n, stdout) != n || fflush(stdout) != 0) {
			phr_cli_error("cannot write to stdout");
			return -1;
		}
		return 0;
	}
	if (phr_file_write_atomic(path, data, n, mode) != PHR_OK) {
		phr_cli_error("cannot write %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* ---- keygen ------------------------------------------------------------- */

static const char keygen_usage[] =
	"usage: phr shc keygen --out FILE\n"
	"\n"
	"Generates an ES256 (P-256) issuer key and writes it as a private JWK to\n"
	"FILE (mode 0600). Prints the key id (its RFC 7638 thumbprint).\n";

static int cmd_keygen(int argc, char **argv)
{
	static const struct option lo[] = { { "out", required_argument, NULL, 'o' },
					    { "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 } };
	const char *out = NULL;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "o:h", lo, NULL)) != -1) {
		if (c == 'o')
			out = optarg;
		else if (c == 'h') {
			fputs(keygen_usage, stdout);
			return PHR_EXIT_OK;
		} else {
			fputs(keygen_usage, stderr);
			return PHR_EXIT_USAGE;
		}
	}
	if (!out || optind != argc || strcmp(out, "-") == 0) {
		fputs(keygen_usage, stderr);
		return PHR_EXIT_USAGE;
	}
	struct phr_shc_key *k = NULL;
	json_t *jwk = NULL;
	struct phr_buf b;
	phr_buf_init(&b, 0);
	int status = PHR_EXIT_FAIL;
	if (phr_crypto_init() != PHR_OK || phr_shc_key_generate(&k) != PHR_OK ||
	    phr_shc_key_to_jwk(&jwk, k, true) != PHR_OK || phr_json_dump(&b, jwk, JSON_INDENT(2)) != PHR_OK ||
	    phr_buf_append_byte(&b, '\n') != PHR_OK) {
		phr_cli_error("cannot generate a key");
		goto out;
	}
	if (emit(out, b.data, b.len, 0600) == 0) {
		printf("%s\n", phr_shc_key_kid(k));
		status = PHR_EXIT_OK;
	}
out:
	if (b.data)
		sodium_memzero(b.data, b.cap);
	phr_buf_release(&b);
	json_decref(jwk);
	phr_shc_key_free(k);
	return status;
}

/* ---- jwks --------------------------------------------------------------- */

static const char jwks_usage[] =
	"usage: phr shc jwks KEYFILE...\n"
	"\n"
	"Prints the JWKS (public keys only) of the given key files, as an issuer\n"
	"publishes it at /.well-known/jwks.json.\n";

static int cmd_jwks(int argc, char **argv)
{
	if (phr_cli_wants_help(argc, argv)) {
		fputs(jwks_usage, stdout);
		return PHR_EXIT_OK;
	}
	bool bad = argc < 2 || argc > 65;
	for (int i = 1; i < argc; i++)
		bad = bad || argv[i][0] == '-';
	if (bad) {
		fputs(jwks_usage, stderr);
		return PHR_EXIT_USAGE;
	}
	struct phr_shc_key *keys[64] = { 0 };
	int n = argc - 1, status = PHR_EXIT_FAIL;
	json_t *jwks = NULL;
	struct phr_buf b;
	phr_buf_init(&b, 0);
	for (int i = 0; i < n; i++)
		if (load_key(&keys[i], argv[i + 1]) != 0)
			goto out;
	if (phr_shc_jwks_build(&jwks, (const struct phr_shc_key *const *)keys, (size_t)n) != PHR_OK ||
	    phr_json_dump(&b, jwks, JSON_INDENT(2)) != PHR_OK || phr_buf_append_byte(&b, '\n') != PHR_OK) {
		phr_cli_error("out of memory");
		goto out;
	}
	if (emit(NULL, b.data, b.len, 0644) == 0)
		status = PHR_EXIT_OK;
out:
	for (int i = 0; i < n; i++)
		phr_shc_key_free(keys[i]);
	json_decref(jwks);
	phr_buf_release(&b);
	return status;
}

/* ---- issue -------------------------------------------------------------- */

static const char issue_usage[] =
	"usage: phr shc issue --key KEYFILE --iss URL --patient PATIENT.json\n"
	"                     --immunization IMM.json [--immunization ...]\n"
	"                     [--nbf SECONDS] [--exp SECONDS] [--rid RID]\n"
	"                     [--jws] [--out FILE]\n"
	"\n"
	"Issues a SMART Health Card for FHIR Immunization resources of one Patient:\n"
	"a minimised Bundle (resource:N references; no id, meta, text or display),\n"
	"signed with ES256. Writes a .smart-health-card file, or with --jws the bare\n"
	"JWS, to FILE or stdout. --nbf defaults to now; --rid sets a revocation id.\n";

static int cmd_issue(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "key", required_argument, NULL, 'k' },	  { "iss", required_argument, NULL, 'i' },
		{ "patient", required_argument, NULL, 'p' },	  { "immunization", required_argument, NULL, 'm' },
		{ "nbf", required_argument, NULL, 'n' },	  { "exp", required_argument, NULL, 'e' },
		{ "rid", required_argument, NULL, 'r' },	  { "out", required_argument, NULL, 'o' },
		{ "jws", no_argument, NULL, 'j' },		  { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *keyfile = NULL, *patient = NULL, *out = NULL;
	const char *imms[32];
	size_t nimm = 0;
	bool bare = false;
	struct phr_shc_issue_opts o = { .nbf = (int64_t)time(NULL) };
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 'k': keyfile = optarg; break;
		case 'i': o.iss = optarg; break;
		case 'p': patient = optarg; break;
		case 'm':
			if (nimm == PHR_ARRAY_LEN(imms)) {
				phr_cli_error("at most %zu immunizations", PHR_ARRAY_LEN(imms));
				return PHR_EXIT_USAGE;
			}
			imms[nimm++] = optarg;
			break;
		case 'n':
			if (parse_time(&o.nbf, optarg))
				return PHR_EXIT_USAGE;
			break;
		case 'e':
			if (parse_time(&o.exp, optarg))
				return PHR_EXIT_USAGE;
			break;
		case 'r': o.rid = optarg; break;
		case 'o': out = optarg; break;
		case 'j': bare = true; break;
		case 'h': fputs(issue_usage, stdout); return PHR_EXIT_OK;
		default: fputs(issue_usage, stderr); return PHR_EXIT_USAGE;
		}
	}
	if (!keyfile || !o.iss || !patient || nimm == 0 || optind != argc) {
		fputs(issue_usage, stderr);
		return PHR_EXIT_USAGE;
	}
	struct phr_shc_key *k = NULL;
	json_t *res[33] = { 0 }, *bundle = NULL;
	struct phr_buf jws, file;
	phr_buf_init(&jws, 0);
	phr_buf_init(&file, 0);
	int status = PHR_EXIT_FAIL, rc;
	if (phr_crypto_init() != PHR_OK || load_key(&k, keyfile) != 0 || load_json(&res[0], patient) != 0)
		goto out;
	for (size_t i = 0; i < nimm; i++)
		if (load_json(&res[i + 1], imms[i]) != 0)
			goto out;
	if ((rc = phr_shc_bundle_minimise(&bundle, (const json_t *const *)res, nimm + 1)) != PHR_OK) {
		phr_cli_error("cannot build the Bundle: %s", phr_strerror(rc));
		goto out;
	}
	if ((rc = phr_shc_card_issue(&jws, k, &o, bundle)) != PHR_OK) {
		phr_cli_error("cannot issue the card: %s", phr_strerror(rc));
		goto out;
	}
	if (bare) {
		rc = phr_buf_append_byte(&jws, '\n');
	} else {
		const char *one[1] = { (const char *)jws.data };
		rc = phr_shc_file_encode(&file, one, 1);
	}
	if (rc != PHR_OK) {
		phr_cli_error("out of memory");
		goto out;
	}
	if (emit(out, bare ? jws.data : file.data, bare ? jws.len : file.len, 0644) == 0)
		status = PHR_EXIT_OK;
out:
	for (size_t i = 0; i < PHR_ARRAY_LEN(res); i++)
		json_decref(res[i]);
	json_decref(bundle);
	phr_shc_key_free(k);
	phr_buf_release(&jws);
	phr_buf_release(&file);
	return status;
}

/* ---- reading cards in any form ------------------------------------------ */

/* The JWSs in @p text: a .smart-health-card file, a bare JWS, or shc:/ lines. */
static int cards_from_text(json_t **jwss, const char *text, size_t len)
{
	while (len && (text[0] == ' ' || text[0] == '\n' || text[0] == '\r' || text[0] == '\t'))
		text++, len--;
	while (len && (text[len - 1] == ' ' || text[len - 1] == '\n' || text[len - 1] == '\r' || text[len - 1] == '\t'))
		len--;
	if (len && text[0] == '{')
		return phr_shc_file_parse(jwss, text, len);
	*jwss = json_array();
	if (!*jwss)
		return PHR_ERR_NOMEM;
	if (len >= 5 && memcmp(text, "shc:/", 5) == 0) {
		/* one QR text per line; all chunks of one card */
		char *copy = phr_malloc(len + 1);
		const char *lines[1000];
		size_t n = 0;
		if (!copy)
			return PHR_ERR_NOMEM;
		memcpy(copy, text, len);
		copy[len] = '\0';
		for (char *p = copy; p && *p && n < PHR_ARRAY_LEN(lines);) {
			char *nl = strchr(p, '\n');
			if (nl)
				*nl = '\0';
			size_t l = strlen(p);
			if (l && p[l - 1] == '\r')
				p[l - 1] = '\0';
			if (*p)
				lines[n++] = p;
			p = nl ? nl + 1 : NULL;
		}
		struct phr_buf b;
		phr_buf_init(&b, PHR_SHC_MAX_INPUT);
		int rc = phr_shc_numeric_decode(&b, lines, n);
		if (rc == PHR_OK && json_array_append_new(*jwss, json_stringn((char *)b.data, b.len)) != 0)
			rc = PHR_ERR_NOMEM;
		phr_buf_release(&b);
		phr_free(copy);
		return rc;
	}
	return json_array_append_new(*jwss, json_stringn(text, len)) == 0 ? PHR_OK : PHR_ERR_NOMEM;
}

static int read_cards(json_t **jwss, const char *path)
{
	struct phr_buf b;
	phr_buf_init(&b, MAX_FILE);
	int rc = strcmp(path, "-") == 0 ? PHR_OK : phr_file_read(&b, path, MAX_FILE);
	if (strcmp(path, "-") == 0) {
		char chunk[4096];
		size_t got;
		while (rc == PHR_OK && (got = fread(chunk, 1, sizeof(chunk), stdin)) > 0)
			rc = phr_buf_append(&b, chunk, got);
	}
	if (rc == PHR_OK)
		rc = cards_from_text(jwss, b.data ? (char *)b.data : "", b.len);
	phr_buf_release(&b);
	if (rc != PHR_OK)
		phr_cli_error("%s: no SMART Health Card found: %s", path, phr_strerror(rc));
	return rc == PHR_OK ? 0 : -1;
}

/* ---- verify ------------------------------------------------------------- */

static const char verify_usage[] =
	"usage: phr shc verify --jwks JWKS.json [--crl CRL.json] [--iss URL]\n"
	"                      [--now SECONDS] [--quiet] CARD\n"
	"\n"
	"Verifies every card in CARD (a .smart-health-card file, a JWS, or shc:/ QR\n"
	"text, one chunk per line; \"-\" reads stdin): the ES256 signature with the\n"
	"issuer key named by kid in JWKS, nbf and exp, the issuer (--iss), and\n"
	"revocation (--crl: the issuer's revocation list for that kid). Prints each\n"
	"verified payload as JSON unless --quiet. Exit 1 when any card fails.\n";

static int cmd_verify(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "jwks", required_argument, NULL, 'j' }, { "crl", required_argument, NULL, 'c' },
		{ "iss", required_argument, NULL, 'i' },  { "now", required_argument, NULL, 'n' },
		{ "quiet", no_argument, NULL, 'q' },	  { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *jwks_path = NULL, *crl_path = NULL;
	bool quiet = false;
	struct phr_shc_verify_opts o = { 0 };
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "qh", lo, NULL)) != -1) {
		switch (c) {
		case 'j': jwks_path = optarg; break;
		case 'c': crl_path = optarg; break;
		case 'i': o.iss = optarg; break;
		case 'n':
			if (parse_time(&o.now, optarg))
				return PHR_EXIT_USAGE;
			break;
		case 'q': quiet = true; break;
		case 'h': fputs(verify_usage, stdout); return PHR_EXIT_OK;
		default: fputs(verify_usage, stderr); return PHR_EXIT_USAGE;
		}
	}
	if (!jwks_path || optind != argc - 1) {
		fputs(verify_usage, stderr);
		return PHR_EXIT_USAGE;
	}
	json_t *jwks = NULL, *crl = NULL, *cards = NULL;
	int status = PHR_EXIT_FAIL;
	if (load_json(&jwks, jwks_path) != 0 || (crl_path && load_json(&crl, crl_path) != 0) ||
	    read_cards(&cards, argv[optind]) != 0)
		goto out;
	o.jwks = jwks;
	o.crl = crl;
	status = PHR_EXIT_OK;
	size_t i;
	json_t *card;
	json_array_foreach(cards, i, card) {
		char reason[256];
		json_t *payload = NULL;
		const char *jws = json_string_value(card);
		int rc = phr_shc_card_verify(&payload, reason, sizeof(reason), jws, strlen(jws), &o);
		if (rc != PHR_OK) {
			printf("card %zu: INVALID (%s): %s\n", i, phr_err_name(rc), reason);
			status = PHR_EXIT_FAIL;
			continue;
		}
		printf("card %zu: verified, issuer %s\n", i, json_string_value(json_object_get(payload, "iss")));
		if (!quiet) {
			char *s = json_dumps(payload, JSON_INDENT(2));
			if (s)
				printf("%s\n", s);
			free(s);
		}
		json_decref(payload);
	}
out:
	json_decref(jwks);
	json_decref(crl);
	json_decref(cards);
	return status;
}

/* ---- qr ----------------------------------------------------------------- */

static const char qr_usage[] =
	"usage: phr shc qr [--format png|svg] [--scale N] [--out PREFIX] CARD\n"
	"\n"
	"Prints the shc:/ numeric QR content of the card(s) in CARD (one line per\n"
	"chunk) and, with --out, writes each QR code to PREFIX-<card>-<chunk>.png\n"
	"(or .svg). --scale: pixels per module in PNGs (default 4).\n";

static int cmd_qr(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "format", required_argument, NULL, 'f' }, { "scale", required_argument, NULL, 's' },
		{ "out", required_argument, NULL, 'o' },    { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	enum phr_shc_qr_format fmt = PHR_SHC_QR_PNG;
	unsigned scale = 4;
	const char *prefix = NULL;
	uint64_t v;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 'f':
			if (strcmp(optarg, "png") == 0)
				fmt = PHR_SHC_QR_PNG;
			else if (strcmp(optarg, "svg") == 0)
				fmt = PHR_SHC_QR_SVG;
			else {
				phr_cli_error("--format is png or svg");
				return PHR_EXIT_USAGE;
			}
			break;
		case 's':
			if (phr_parse_u64(&v, optarg) != PHR_OK || v < 1 || v > 64) {
				phr_cli_error("--scale is 1 to 64");
				return PHR_EXIT_USAGE;
			}
			scale = (unsigned)v;
			break;
		case 'o': prefix = optarg; break;
		case 'h': fputs(qr_usage, stdout); return PHR_EXIT_OK;
		default: fputs(qr_usage, stderr); return PHR_EXIT_USAGE;
		}
	}
	if (optind != argc - 1) {
		fputs(qr_usage, stderr);
		return PHR_EXIT_USAGE;
	}
	json_t *cards = NULL;
	if (read_cards(&cards, argv[optind]) != 0)
		return PHR_EXIT_FAIL;
	int status = PHR_EXIT_OK;
	size_t i;
	json_t *card;
	json_array_foreach(cards, i, card) {
		struct phr_buf num, img;
		phr_buf_init(&num, 0);
		phr_buf_init(&img, 0);
		size_t nc;
		const char *jws = json_string_value(card);
		int rc = phr_shc_numeric_encode(&num, &nc, jws, strlen(jws));
		if (rc != PHR_OK) {
			phr_cli_error("card %zu: %s", i, phr_strerror(rc));
			status = PHR_EXIT_FAIL;
		}
		char *line = rc == PHR_OK ? (char *)num.data : NULL;
		for (size_t k = 0; line && k < nc; k++) {
			char *nl = strchr(line, '\n');
			if (nl)
				*nl = '\0';
			printf("%s\n", line);
			if (prefix) {
				char path[4096];
				snprintf(path, sizeof(path), "%s-%zu-%zu.%s", prefix, i, k, fmt == PHR_SHC_QR_PNG ? "png" : "svg");
				phr_buf_reset(&img);
				rc = phr_shc_qr_render(&img, line, strlen(line), fmt, scale);
				if (rc != PHR_OK) {
					phr_cli_error("card %zu chunk %zu: %s", i, k, phr_strerror(rc));
					status = PHR_EXIT_FAIL;
				} else if (emit(path, img.data, img.len, 0644) != 0) {
					status = PHR_EXIT_FAIL;
				}
			}
			line = nl ? nl + 1 : NULL;
		}
		phr_buf_release(&num);
		phr_buf_release(&img);
	}
	json_decref(cards);
	return status;
}

static const struct phr_cli_cmd shc_subs[] = {
	{ "keygen", "generate an ES256 issuer key (private JWK file)", cmd_keygen },
	{ "jwks", "print the JWKS of issuer keys", cmd_jwks },
	{ "issue", "issue a card for FHIR Immunizations of a Patient", cmd_issue },
	{ "verify", "verify cards: signature, issuer key, nbf/exp, revocation", cmd_verify },
	{ "qr", "shc:/ QR content and QR codes (PNG or SVG)", cmd_qr },
	{ NULL, NULL, NULL },
};

int phr_cmd_shc(int argc, char **argv)
{
	return phr_cli_dispatch("phr shc", "usage: phr shc <command> [options]\n", shc_subs, argc, argv);
}
