/*
 * phr statetest FILE|DIR... : runs ethereum/tests GeneralStateTests.
 */
#include <getopt.h>
#include <time.h>

#include "cli.h"
#include "phr/state.h"

int phr_cmd_statetest(int argc, char **argv);

static const char usage[] =
	"usage: phr statetest [options] FILE|DIR...\n"
	"Runs ethereum/tests GeneralStateTests: post-state root and logs hash of every case.\n"
	"  --fork NAME            fork whose post entries are checked (default Cancun)\n"
	"  --filter SUBSTRING     only cases whose name or file contains SUBSTRING\n"
	"  --allow-failures FILE  known failures, one test or case name per line then a reason;\n"
	"                         they are reported but do not fail the run\n"
	"  --skip TEST            do not run TEST (a test name; repeatable): counted as skipped\n"
	"  --json                 one JSON object per reported case\n"
	"  -v, --verbose          report passing cases too\n"
	"The last line is the summary: N passed, N failed[, N skipped].\n"
	"Exit status: 0 when every failure is a known one, 1 otherwise, 2 on bad usage.\n";

struct known {
	char *text;
	const char **names;
	size_t count;
};

/* Reads "name reason..." lines ('#' starts a comment). */
static int load_known(struct known *k, const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return PHR_ERR_IO;
	struct phr_buf b;
	phr_buf_init(&b, 0);
	char chunk[4096];
	size_t n;
	int rc = PHR_OK;
	while (!rc && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		rc = phr_buf_append(&b, chunk, n);
	fclose(f);
	if (rc)
		return rc;
	size_t len;
	k->text = phr_buf_detach(&b, &len);
	if (!k->text)
		return PHR_ERR_NOMEM;
	size_t lines = 1;
	for (size_t i = 0; i < len; i++)
		lines += k->text[i] == '\n';
	k->names = phr_calloc(lines, sizeof(*k->names));
	if (!k->names)
		return PHR_ERR_NOMEM;
	char *p = k->text;
	while (*p) {
		char *eol = strchr(p, '\n');
		if (eol)
			*eol = 0;
		char *s = p + strspn(p, " \t\r");
		if (*s && *s != '#') {
			s[strcspn(s, " \t\r")] = 0;
			k->names[k->count++] = s;
		}
		if (!eol)
			break;
		p = eol + 1;
	}
	return PHR_OK;
}

int phr_cmd_statetest(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "fork", required_argument, NULL, 'f' },
		{ "filter", required_argument, NULL, 'F' },
		{ "allow-failures", required_argument, NULL, 'a' },
		{ "json", no_argument, NULL, 'j' },
		{ "skip", required_argument, NULL, 's' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct phr_statetest_opts o = { .fork = "Cancun", .out = stdout };
	const char *allow = NULL;
	const char **skip = phr_calloc((size_t)argc + 1, sizeof(*skip));
	if (!skip)
		return PHR_EXIT_FAIL;
	o.skip = skip;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			o.fork = optarg;
			break;
		case 'F':
			o.filter = optarg;
			break;
		case 'a':
			allow = optarg;
			break;
		case 'j':
			o.json = true;
			break;
		case 's':
			skip[o.skip_count++] = optarg;
			break;
		case 'v':
			o.verbose = true;
			break;
		case 'h':
			fputs(usage, stdout);
			phr_free(skip);
			return PHR_EXIT_OK;
		default:
			fputs(usage, stderr);
			phr_free(skip);
			return PHR_EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		fputs(usage, stderr);
		phr_free(skip);
		return PHR_EXIT_USAGE;
	}
	struct known k = { 0 };
	if (allow) {
		int rc = load_known(&k, allow);
		if (rc) {
			phr_cli_error("cannot read %s: %s", allow, phr_strerror(rc));
			phr_free(k.names);
			phr_free(k.text);
			phr_free(skip);
			return PHR_EXIT_FAIL;
		}
		o.known = k.names;
		o.known_count = k.count;
	}
	struct phr_statetest_stats stats = { 0 };
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int status = PHR_EXIT_OK;
	for (int i = optind; i < argc; i++) {
		int rc = phr_statetest_run(&o, &stats, argv[i]);
		if (rc) {
			phr_cli_error("%s: %s", argv[i], phr_strerror(rc));
			status = PHR_EXIT_FAIL;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	if (stats.failed)
		status = PHR_EXIT_FAIL;
	if (stats.known)
		fprintf(stdout, "%zu of the failures are listed in %s\n", stats.known, allow);
	fprintf(stdout, "time %.2f s\n", secs);
	if (stats.skipped)
		fprintf(stdout, "%zu passed, %zu failed, %zu skipped\n", stats.passed,
			stats.failed + stats.known, stats.skipped);
	else
		fprintf(stdout, "%zu passed, %zu failed\n", stats.passed, stats.failed + stats.known);
	phr_free(k.names);
	phr_free(k.text);
	phr_free(skip);
	return status;
}
