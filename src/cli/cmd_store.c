/*
 * Store commands: phr add, cat, get, pin, store, car, gateway.
 */
#include "cli.h"

#include <phr/core.h>
#include <phr/store.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int phr_cmd_add(int argc, char **argv);
int phr_cmd_cat(int argc, char **argv);
int phr_cmd_get(int argc, char **argv);
int phr_cmd_pin(int argc, char **argv);
int phr_cmd_store(int argc, char **argv);
int phr_cmd_car(int argc, char **argv);
int phr_cmd_gateway(int argc, char **argv);

/* Options every store command understands; positional arguments collected. */
struct opts {
	const char *datadir;
	const char *out;
	const char *listen;
	const char *gateway;
	unsigned cid_version;
	bool only_hash, no_pin, quiet, car;
	int npos;
	char *pos[4];
};

/* Whether @p opt is one of the space-separated words of @p allowed. */
static bool allowed_opt(const char *allowed, const char *opt)
{
	size_t n = strlen(opt);
	for (const char *p = allowed; (p = strstr(p, opt)) != NULL; p += n)
		if ((p == allowed || p[-1] == ' ') && (p[n] == ' ' || p[n] == 0))
			return true;
	return false;
}

/* Parses argv[1..]; @p allowed lists the value-less flags and flags with values accepted. */
static int parse(struct opts *o, int argc, char **argv, const char *allowed)
{
	memset(o, 0, sizeof(*o));
	o->cid_version = 1;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char **val = NULL;
		if (a[0] != '-' || !strcmp(a, "-")) {
			if (o->npos == (int)PHR_ARRAY_LEN(o->pos)) {
				phr_cli_error("too many arguments");
				return -1;
			}
			o->pos[o->npos++] = argv[i];
			continue;
		}
		if (!allowed_opt(allowed, a)) {
			phr_cli_error("unknown option '%s'", a);
			return -1;
		}
		if (!strcmp(a, "--datadir"))
			val = &o->datadir;
		else if (!strcmp(a, "-o") || !strcmp(a, "--output"))
			val = &o->out;
		else if (!strcmp(a, "--listen"))
			val = &o->listen;
		else if (!strcmp(a, "--gateway"))
			val = &o->gateway;
		else if (!strcmp(a, "--only-hash") || !strcmp(a, "-n"))
			o->only_hash = true;
		else if (!strcmp(a, "--no-pin"))
			o->no_pin = true;
		else if (!strcmp(a, "--quiet") || !strcmp(a, "-q"))
			o->quiet = true;
		else if (!strcmp(a, "--car"))
			o->car = true;
		else if (!strcmp(a, "--cid-version")) {
			if (i + 1 >= argc || (strcmp(argv[i + 1], "0") && strcmp(argv[i + 1], "1"))) {
				phr_cli_error("--cid-version takes 0 or 1");
				return -1;
			}
			o->cid_version = argv[++i][0] == '1';
		} else {
			phr_cli_error("unknown option '%s'", a);
			return -1;
		}
		if (val) {
			if (i + 1 >= argc) {
				phr_cli_error("%s needs a value", a);
				return -1;
			}
			*val = argv[++i];
		}
	}
	return 0;
}

/* Prints @p usage: on stdout for --help, on stderr (exit 2) when misused. */
static int show_usage(const char *usage, bool misuse)
{
	fputs(usage, misuse ? stderr : stdout);
	return misuse ? PHR_EXIT_USAGE : PHR_EXIT_OK;
}

/* Reports a failed operation; returns the exit status. */
static int failed(const char *what, const char *arg, int rc)
{
	if (rc == PHR_OK)
		return PHR_EXIT_OK;
	phr_cli_error("%s %s: %s", what, arg, phr_strerror(rc));
	return PHR_EXIT_FAIL;
}

static int open_store(struct phr_store **st, const struct opts *o)
{
	char *dir = phr_cli_datadir(o->datadir);
	char *sdir;
	size_t n;
	int rc;

	if (!dir)
		return PHR_ERR_NOMEM;
	n = strlen(dir) + sizeof "/store";
	sdir = phr_malloc(n);
	if (!sdir) {
		phr_free(dir);
		return PHR_ERR_NOMEM;
	}
	snprintf(sdir, n, "%s/store", dir);
	rc = phr_store_open(st, sdir);
	if (rc != PHR_OK)
		phr_cli_error("cannot open the store in %s: %s", sdir, phr_strerror(rc));
	phr_free(sdir);
	phr_free(dir);
	return rc;
}

static int print_cid(const struct phr_cid *cid)
{
	char s[PHR_CID_STR_MAX];
	if (phr_cid_format(s, sizeof(s), cid) != PHR_OK)
		return PHR_EXIT_FAIL;
	printf("%s\n", s);
	return PHR_EXIT_OK;
}

static int parse_cid(struct phr_cid *cid, const char *s)
{
	int rc = phr_cid_parse(cid, s);
	if (rc != PHR_OK)
		phr_cli_error("'%s' is not a CID: %s", s, phr_strerror(rc));
	return rc;
}

struct progress {
	uint64_t total;
	uint64_t last;
};

static void show_progress(void *ctx, uint64_t done)
{
	struct progress *p = ctx;
	if (done - p->last < ((uint64_t)8 << 20) && done != p->total)
		return;
	p->last = done;
	fprintf(stderr, "\r%8.1f / %.1f MiB  %3u%%", (double)done / 1048576.0,
		(double)p->total / 1048576.0,
		p->total ? (unsigned)(done * 100 / p->total) : 100u);
}

int phr_cmd_add(int argc, char **argv)
{
	static const char usage[] =
		"usage: phr add [--datadir DIR] [--cid-version 0|1] [--only-hash] [--no-pin] FILE\n\n"
		"Imports FILE (or - for stdin) as a UnixFS file exactly as `ipfs add --cid-version=1`\n"
		"(256 KiB raw leaves, balanced DAG of 174 links) and prints its CID alone on stdout.\n"
		"The root is pinned unless --no-pin. --only-hash computes the CID without storing.\n"
		"--cid-version 0 gives kubo's default CIDv0 (dag-pb leaves).\n";
	struct opts o;
	struct phr_store *st = NULL;
	struct phr_cid root;
	struct progress pr = { 0 };
	struct stat sb;
	int fd, rc;

	if (phr_cli_wants_help(argc, argv))
		return show_usage(usage, false);
	if (parse(&o, argc, argv, "--datadir --cid-version --only-hash -n --no-pin --quiet -q") ||
	    o.npos != 1) {
		fputs(usage, stderr);
		return PHR_EXIT_USAGE;
	}
	fd = strcmp(o.pos[0], "-") ? open(o.pos[0], O_RDONLY | O_CLOEXEC) : 0;
	if (fd < 0) {
		phr_cli_error("%s: %s", o.pos[0], strerror(errno));
		return PHR_EXIT_FAIL;
	}
	if (!o.only_hash && open_store(&st, &o) != PHR_OK) {
		if (fd)
			close(fd);
		return PHR_EXIT_FAIL;
	}
	struct phr_import_opts io = { .cid_version = o.cid_version, .only_hash = o.only_hash,
				      .pin = !o.no_pin };
	bool bar = !o.quiet && isatty(2) && fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) &&
		   sb.st_size >= (32 << 20);
	if (bar)
		pr.total = (uint64_t)sb.st_size;
	rc = phr_store_add_fd(st, &root, NULL, fd, &io, bar ? show_progress : NULL, &pr);
	if (bar)
		fputc('\n', stderr);
	if (fd)
		close(fd);
	phr_store_close(st);
	if (rc != PHR_OK) {
		phr_cli_error("add %s: %s", o.pos[0], phr_strerror(rc));
		return PHR_EXIT_FAIL;
	}
	return print_cid(&root);
}

static int cat_to(struct phr_store *st, const struct phr_cid *cid, const char *out)
{
	int fd = 1, rc;
	if (out && (fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0) {
		phr_cli_error("%s: %s", out, strerror(errno));
		return PHR_ERR_IO;
	}
	rc = phr_store_cat_fd(st, cid, fd);
	if (out && close(fd) != 0 && rc == PHR_OK)
		rc = PHR_ERR_IO;
	if (rc != PHR_OK && out)
		unlink(out);
	return rc;
}

int phr_cmd_cat(int argc, char **argv)
{
	static const char usage[] = "usage: phr cat [--datadir DIR] [-o FILE] CID\n\n"
				    "Writes the UnixFS file CID to stdout (or FILE), verifying every "
				    "block.\n";
	struct opts o;
	struct phr_store *st;
	struct phr_cid cid;
	int rc;

	if (phr_cli_wants_help(argc, argv))
		return show_usage(usage, false);
	if (parse(&o, argc, argv, "--datadir -o --output") || o.npos != 1) {
		fputs(usage, stderr);
		return PHR_EXIT_USAGE;
	}
	if (parse_cid(&cid, o.pos[0]) != PHR_OK)
		return PHR_EXIT_USAGE;
	if (open_store(&st, &o) != PHR_OK)
		return PHR_EXIT_FAIL;
	rc = cat_to(st, &cid, o.out);
	phr_store_close(st);
	return failed("cat", o.pos[0], rc);
}

int phr_cmd_get(int argc, char **argv)
{
	static const char usage[] =
		"usage: phr get --gateway URL [--car] [--datadir DIR] [-o FILE] CID\n\n"
		"Fetches the DAG CID from an IPFS trustless gateway (block by block, or one CAR\n"
		"with --car), verifying every block, stores it (pinned), and writes the file to\n"
		"FILE or stdout.\n";
	struct opts o;
	struct phr_store *st;
	struct phr_cid cid;
	uint64_t n = 0;
	int rc;

	if (phr_cli_wants_help(argc, argv))
		return show_usage(usage, false);
	if (parse(&o, argc, argv, "--datadir --gateway --car -o --output") || o.npos != 1 ||
	    !o.gateway) {
		fputs(usage, stderr);
		return PHR_EXIT_USAGE;
	}
	if (parse_cid(&cid, o.pos[0]) != PHR_OK)
		return PHR_EXIT_USAGE;
	if (open_store(&st, &o) != PHR_OK)
		return PHR_EXIT_FAIL;
	rc = o.car ? phr_gw_fetch_car(st, o.gateway, &cid, &n) : phr_gw_fetch(st, o.gateway, &cid, &n);
	if (rc == PHR_OK)
		rc = phr_store_pin_add(st, &cid);
	if (rc == PHR_OK)
		rc = cat_to(st, &cid, o.out);
	phr_store_close(st);
	return failed("get", o.pos[0], rc);
}

static int pin_print(void *ctx, const struct phr_cid *root)
{
	char s[PHR_CID_STR_MAX];
	if (phr_cid_format(s, sizeof(s), root) == PHR_OK)
		printf("%s recursive\n", s);
	return PHR_OK;
}

int phr_cmd_pin(int argc, char **argv)
{
	static const char usage[] = "usage: phr pin add|rm|ls [--datadir DIR] [CID]\n\n"
				    "  add CID   pin the DAG under CID (all its blocks must be present)\n"
				    "  rm CID    unpin it (phr store gc then frees its blocks)\n"
				    "  ls        list the pins\n";
	struct opts o;
	struct phr_store *st;
	struct phr_cid cid;
	int rc;

	if (argc < 2 || phr_cli_wants_help(argc, argv))
		return show_usage(usage, argc < 2);
	const char *sub = argv[1];
	bool is_ls = !strcmp(sub, "ls");
	if ((strcmp(sub, "add") && strcmp(sub, "rm") && !is_ls) ||
	    parse(&o, argc - 1, argv + 1, "--datadir") || o.npos != (is_ls ? 0 : 1)) {
		fputs(usage, stderr);
		return PHR_EXIT_USAGE;
	}
	if (!is_ls && parse_cid(&cid, o.pos[0]) != PHR_OK)
		return PHR_EXIT_USAGE;
	if (open_store(&st, &o) != PHR_OK)
		return PHR_EXIT_FAIL;
	if (is_ls)
		rc = phr_store_pin_list(st, pin_print, NULL);
	else if (!strcmp(sub, "add"))
		rc = phr_store_pin_add(st, &cid);
	else
		rc = phr_store_pin_rm(st, &cid);
	phr_store_close(st);
	if (rc != PHR_OK)
		return failed("pin", sub, rc);
	if (!is_ls)
		printf("%s %s\n", sub[0] == 'a' ? "pinned" : "unpinned", o.pos[0]);
	return PHR_EXIT_OK;
}

static void print_problem(void *ctx, const char *problem)
{
	fprintf(stderr, "phr: %s\n", problem);
}

int phr_cmd_store(int argc, char **argv)
{
	static const char usage[] =
		"usage: phr store gc|stat|verify [--datadir DIR]\n\n"
		"  gc      remove every block not reachable from a pin\n"
		"  stat    blocks, bytes and pins in the store\n"
		"  verify  check every block against its CID and every pinned DAG for completeness\n"
		"          (exit status 1 when something is wrong)\n";
	struct opts o;
	struct phr_store *st;
	int rc;

	if (argc < 2 || phr_cli_wants_help(argc, argv))
		return show_usage(usage, argc < 2);
	const char *sub = argv[1];
	if ((strcmp(sub, "gc") && strcmp(sub, "stat") && strcmp(sub, "verify")) ||
	    parse(&o, argc - 1, argv + 1, "--datadir") || o.npos) {
		fputs(usage, stderr);
		return PHR_EXIT_USAGE;
	}
	if (open_store(&st, &o) != PHR_OK)
		return PHR_EXIT_FAIL;
	if (!strcmp(sub, "gc")) {
		uint64_t removed = 0, freed = 0;
		rc = phr_store_gc(st, &removed, &freed);
		if (rc == PHR_OK)
			printf("removed %llu blocks, %llu bytes\n", (unsigned long long)removed,
			       (unsigned long long)freed);
	} else if (!strcmp(sub, "stat")) {
		struct phr_store_stat s;
		rc = phr_store_stat(st, &s);
		if (rc == PHR_OK)
			printf("blocks: %llu\nbytes: %llu\npins: %llu\ntmp_files: %llu\n",
			       (unsigned long long)s.blocks, (unsigned long long)s.bytes,
			       (unsigned long long)s.pins, (unsigned long long)s.tmp_files);
	} else {
		struct phr_store_verify_report r;
		rc = phr_store_verify(st, &r, print_problem, NULL);
		printf("blocks ok: %llu\nblocks corrupt: %llu\npins ok: %llu\npins broken: %llu\n"
		       "tmp files: %llu\n",
		       (unsigned long long)r.blocks_ok, (unsigned long long)r.blocks_corrupt,
		       (unsigned long long)r.pins_ok, (unsigned long long)r.pins_broken,
		       (unsigned long long)r.tmp_files);
	}
	phr_store_close(st);
	return failed("store", sub, rc);
}

int phr_cmd_car(int argc, char **argv)
{
	static const char usage[] =
		"usage: phr car export [--datadir DIR] CID [-o FILE]\n"
		"       phr car import [--datadir DIR] FILE\n\n"
		"  export  write a CARv1 of the DAG under CID (root first, depth-first) to FILE or\n"
		"          stdout\n"
		"  import  read a CARv1 (- for stdin), verify and store every block, pin the roots\n"
		"          and print them\n";
	struct opts o;
	struct phr_store *st;
	struct phr_cid cid;
	int rc, fd;

	if (argc < 2 || phr_cli_wants_help(argc, argv))
		return show_usage(usage, argc < 2);
	const char *sub = argv[1];
	bool exp = !strcmp(sub, "export");
	if ((!exp && strcmp(sub, "import")) ||
	    parse(&o, argc - 1, argv + 1, exp ? "--datadir -o --output" : "--datadir") ||
	    o.npos != 1) {
		fputs(usage, stderr);
		return PHR_EXIT_USAGE;
	}
	if (exp && parse_cid(&cid, o.pos[0]) != PHR_OK)
		return PHR_EXIT_USAGE;
	if (open_store(&st, &o) != PHR_OK)
		return PHR_EXIT_FAIL;
	if (exp) {
		fd = o.out ? open(o.out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644) : 1;
		if (fd < 0) {
			phr_cli_error("%s: %s", o.out, strerror(errno));
			phr_store_close(st);
			return PHR_EXIT_FAIL;
		}
		rc = phr_car_export_fd(st, &cid, PHR_DAG_SCOPE_ALL, fd);
		if (o.out && close(fd) != 0 && rc == PHR_OK)
			rc = PHR_ERR_IO;
		if (o.out && rc != PHR_OK)
			unlink(o.out);
	} else {
		uint64_t n = 0;
		fd = strcmp(o.pos[0], "-") ? open(o.pos[0], O_RDONLY | O_CLOEXEC) : 0;
		if (fd < 0) {
			phr_cli_error("%s: %s", o.pos[0], strerror(errno));
			phr_store_close(st);
			return PHR_EXIT_FAIL;
		}
		rc = phr_car_import_fd(st, &cid, &n, fd);
		if (fd)
			close(fd);
		if (rc == PHR_OK)
			print_cid(&cid);
	}
	phr_store_close(st);
	return failed("car", sub, rc);
}

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

int phr_cmd_gateway(int argc, char **argv)
{
	static const char usage[] =
		"usage: phr gateway [--datadir DIR] --listen 127.0.0.1:PORT\n\n"
		"Serves the store as an IPFS trustless gateway (GET/HEAD /ipfs/CID with\n"
		"?format=raw|car) until SIGINT/SIGTERM. PORT 0 picks a free port; the address is\n"
		"printed as `listening on http://HOST:PORT`.\n";
	struct opts o;
	struct phr_store *st;
	struct phr_gateway *gw = NULL;
	char host[256];
	unsigned long port;
	uint16_t bound = 0;
	int rc;

	if (phr_cli_wants_help(argc, argv))
		return show_usage(usage, false);
	if (parse(&o, argc, argv, "--datadir --listen") || o.npos || !o.listen) {
		fputs(usage, stderr);
		return PHR_EXIT_USAGE;
	}
	const char *colon = strrchr(o.listen, ':');
	char *end;
	if (!colon || (size_t)(colon - o.listen) >= sizeof(host) || colon == o.listen) {
		phr_cli_error("--listen wants HOST:PORT");
		return PHR_EXIT_USAGE;
	}
	memcpy(host, o.listen, (size_t)(colon - o.listen));
	host[colon - o.listen] = 0;
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (errno || *end || end == colon + 1 || port > 65535) {
		phr_cli_error("bad port in --listen");
		return PHR_EXIT_USAGE;
	}
	if (open_store(&st, &o) != PHR_OK)
		return PHR_EXIT_FAIL;
	rc = phr_gateway_new(&gw, st);
	if (rc == PHR_OK)
		rc = phr_gateway_listen(gw, host, (uint16_t)port, &bound);
	if (rc != PHR_OK) {
		phr_cli_error("gateway: cannot listen on %s: %s", o.listen, phr_strerror(rc));
		phr_gateway_free(gw);
		phr_store_close(st);
		return PHR_EXIT_FAIL;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, SIG_IGN);
	printf("listening on http://%s:%u\n", host, (unsigned)bound);
	fflush(stdout);
	while (!stop_requested)
		pause();
	phr_gateway_free(gw);
	phr_store_close(st);
	return PHR_EXIT_OK;
}
