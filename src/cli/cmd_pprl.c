/*
 * `phr pprl`: privacy-preserving record linkage — encode a CSV file into CLKs
 * (clkhash schema v3) and link two CLK files.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include <phr/pprl.h>

#include "cli.h"

int phr_cmd_pprl(int argc, char **argv);

#define PPRL_MAX_INPUT ((size_t)1 << 30)

/* Reads a file, or stdin for "-", into @p b (initialised by the caller). */
static int read_input(struct phr_buf *b, const char *path)
{
	if (strcmp(path, "-") != 0) {
		int rc = phr_file_read(b, path, PPRL_MAX_INPUT);
		if (rc)
			phr_cli_error("cannot read %s: %s", path, phr_strerror(rc));
		return rc ? -1 : 0;
	}
	char chunk[1 << 16];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), stdin)) > 0) {
		if (phr_buf_append(b, chunk, n) != PHR_OK) {
			phr_cli_error("stdin is too large");
			return -1;
		}
	}
	if (ferror(stdin)) {
		phr_cli_error("cannot read stdin");
		return -1;
	}
	return 0;
}

static const char encode_usage[] =
	"usage: phr pprl encode --schema SCHEMA.json --secret-file FILE CSV > clks.txt\n"
	"\n"
	"Encodes every record of CSV (header row first; cells stripped of spaces, CR and\n"
	"LF at both ends; rows padded to the schema's feature count) into its CLK, a\n"
	"Bloom filter compatible with clkhash linkage schema v3, and prints one base64\n"
	"CLK per line in input order. The linkage secret is the first line of FILE; it\n"
	"is shared by the linking parties only and never leaves them (never on chain).\n"
	"CSV may be - for stdin.\n";

static int cmd_encode(int argc, char **argv)
{
	static const struct option lo[] = { { "schema", required_argument, NULL, 's' },
					    { "secret-file", required_argument, NULL, 'k' },
					    { "help", no_argument, NULL, 'h' },
					    { NULL, 0, NULL, 0 } };
	const char *schema_path = NULL, *secret_path = NULL;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "s:k:h", lo, NULL)) != -1) {
		if (c == 's')
			schema_path = optarg;
		else if (c == 'k')
			secret_path = optarg;
		else if (c == 'h') {
			fputs(encode_usage, stdout);
			return PHR_EXIT_OK;
		} else {
			fputs(encode_usage, stderr);
			return PHR_EXIT_USAGE;
		}
	}
	if (!schema_path || !secret_path || optind + 1 != argc) {
		fputs(encode_usage, stderr);
		return PHR_EXIT_USAGE;
	}
	int status = PHR_EXIT_FAIL;
	struct phr_buf sj, csv, out;
	phr_buf_init(&sj, 1 << 20);
	phr_buf_init(&csv, PPRL_MAX_INPUT);
	phr_buf_init(&out, (size_t)1 << 31);
	struct phr_pprl_schema *s = NULL;
	struct phr_pprl_keys *k = NULL;
	char *secret = NULL;
	char err[256];
	if (read_input(&sj, schema_path) || read_input(&csv, argv[optind]))
		goto out;
	int rc = phr_pprl_schema_parse(&s, err, sizeof(err), (const char *)sj.data, sj.len);
	if (rc) {
		phr_cli_error("%s: %s (%s)", schema_path, err, phr_strerror(rc));
		goto out;
	}
	secret = phr_cli_password(secret_path, NULL, false);
	if (!secret)
		goto out;
	rc = phr_pprl_keys_derive(&k, s, (const uint8_t *)secret, strlen(secret));
	if (rc) {
		phr_cli_error("cannot derive keys: %s", phr_strerror(rc));
		goto out;
	}
	size_t rows = 0;
	rc = phr_pprl_encode_csv(&out, &rows, s, k, (const char *)csv.data, csv.len);
	if (rc) {
		phr_cli_error("%s: record %zu: %s", argv[optind], rows + 1, phr_strerror(rc));
		goto out;
	}
	if (fwrite(out.data ? (const void *)out.data : "", 1, out.len, stdout) != out.len ||
	    fflush(stdout) != 0) {
		phr_cli_error("cannot write to stdout");
		goto out;
	}
	status = PHR_EXIT_OK;
out:
	if (secret)
		sodium_free(secret);
	phr_pprl_keys_free(k);
	phr_pprl_schema_free(s);
	phr_buf_release(&sj);
	phr_buf_release(&csv);
	phr_buf_release(&out);
	return status;
}

static const char link_usage[] =
	"usage: phr pprl link A.txt B.txt [--threshold T]\n"
	"\n"
	"Links two files of CLKs (one base64 CLK a line, same schema and secret): Dice\n"
	"similarity on the pairs that pass the popcount blocking bound, then greedy\n"
	"one-to-one matching (highest score first, as anonlink does). Prints one line per\n"
	"link: \"ROW_A,ROW_B,SCORE\" (0-based rows), best first; a summary on stderr.\n"
	"T is the Dice threshold in (0, 1], default 0.9.\n";

static int cmd_link(int argc, char **argv)
{
	static const struct option lo[] = { { "threshold", required_argument, NULL, 't' },
					    { "help", no_argument, NULL, 'h' },
					    { NULL, 0, NULL, 0 } };
	double threshold = 0.9;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "t:h", lo, NULL)) != -1) {
		if (c == 't') {
			char *end;
			errno = 0;
			threshold = strtod(optarg, &end);
			if (errno || *end || !(threshold > 0.0 && threshold <= 1.0)) {
				phr_cli_error("--threshold must be a number in (0, 1]");
				return PHR_EXIT_USAGE;
			}
		} else if (c == 'h') {
			fputs(link_usage, stdout);
			return PHR_EXIT_OK;
		} else {
			fputs(link_usage, stderr);
			return PHR_EXIT_USAGE;
		}
	}
	if (optind + 2 != argc) {
		fputs(link_usage, stderr);
		return PHR_EXIT_USAGE;
	}
	int status = PHR_EXIT_FAIL;
	struct phr_buf ta, tb;
	uint8_t *a = NULL, *b = NULL;
	struct phr_pprl_match *m = NULL;
	size_t na = 0, nb = 0, wa = 0, wb = 0, nm = 0;
	phr_buf_init(&ta, PPRL_MAX_INPUT);
	phr_buf_init(&tb, PPRL_MAX_INPUT);
	if (read_input(&ta, argv[optind]) || read_input(&tb, argv[optind + 1]))
		goto out;
	if (phr_pprl_clks_parse(&a, &na, &wa, (const char *)ta.data, ta.len) != PHR_OK ||
	    phr_pprl_clks_parse(&b, &nb, &wb, (const char *)tb.data, tb.len) != PHR_OK) {
		phr_cli_error("not a file of base64 CLKs of one length");
		goto out;
	}
	if (na && nb && wa != wb) {
		phr_cli_error("the two files hold CLKs of different lengths (%zu and %zu bits)", wa * 8,
			      wb * 8);
		goto out;
	}
	struct phr_pprl_link_stats st;
	int rc = phr_pprl_link(&m, &nm, &st, a, na, b, nb, wa ? wa : 1, threshold);
	if (rc) {
		phr_cli_error("linkage failed: %s", phr_strerror(rc));
		goto out;
	}
	for (size_t i = 0; i < nm; i++)
		printf("%u,%u,%.6f\n", m[i].a, m[i].b, m[i].score);
	if (fflush(stdout) != 0) {
		phr_cli_error("cannot write to stdout");
		goto out;
	}
	fprintf(stderr, "%zu x %zu records, %llu pairs scored after blocking, %llu candidates >= %.3f, %zu links\n",
		na, nb, (unsigned long long)st.pairs_compared, (unsigned long long)st.candidates, threshold,
		nm);
	status = PHR_EXIT_OK;
out:
	phr_free(m);
	phr_free(a);
	phr_free(b);
	phr_buf_release(&ta);
	phr_buf_release(&tb);
	return status;
}

static const struct phr_cli_cmd pprl_subs[] = {
	{ "encode", "encode CSV records into CLKs (clkhash schema v3)", cmd_encode },
	{ "link", "link two CLK files: Dice, blocking, greedy one-to-one", cmd_link },
	{ NULL, NULL, NULL },
};

int phr_cmd_pprl(int argc, char **argv)
{
	return phr_cli_dispatch("phr pprl", "usage: phr pprl <command> [options]\n", pprl_subs, argc, argv);
}
