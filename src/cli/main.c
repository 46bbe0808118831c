/*
 * phr: one executable, many subcommands (like git or kubo).
 */
#include "cli.h"

#include <phr/core.h>
#include <sodium.h>

static void usage(FILE *f)
{
	fprintf(f, "usage: phr [--log-level LEVEL] [--log-json] COMMAND [ARGS...]\n\n"
		   "phr is a decentralized personal health record system: encrypted records in an\n"
		   "IPFS-compatible store, access control and audit on an Ethereum-compatible chain.\n\n"
		   "commands:\n");
	for (const struct phr_cli_cmd *c = phr_cli_commands; c->name; c++)
		fprintf(f, "  %-12s %s\n", c->name, c->summary);
	fprintf(f, "\nglobal options:\n"
		   "  --log-level LEVEL  error, warn, info (default) or debug (also $PHR_LOG_LEVEL)\n"
		   "  --log-json         log one JSON object per line\n"
		   "  -h, --help         this help; `phr COMMAND --help` for a command\n\n"
		   "environment: PHR_DATADIR (default ~/.phr), PHR_PASSWORD, PHR_LOG_LEVEL\n");
}

int main(int argc, char **argv)
{
	if (sodium_init() < 0) {
		fprintf(stderr, "phr: libsodium failed to initialise\n");
		return PHR_EXIT_FAIL;
	}
	const char *lvl = getenv("PHR_LOG_LEVEL");
	enum phr_log_level level;
	if (lvl && phr_log_parse_level(&level, lvl) == PHR_OK)
		phr_log_set_level(level);

	int i = 1;
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			return PHR_EXIT_OK;
		} else if (strcmp(argv[i], "--version") == 0) {
			char *v[] = { (char *)"version", NULL };
			return phr_cli_commands[0].run(1, v);
		} else if (strcmp(argv[i], "--log-json") == 0) {
			phr_log_set_json(true);
		} else if (strcmp(argv[i], "--log-level") == 0 && i + 1 < argc) {
			if (phr_log_parse_level(&level, argv[++i]) != PHR_OK) {
				phr_cli_error("unknown log level '%s'", argv[i]);
				return PHR_EXIT_USAGE;
			}
			phr_log_set_level(level);
		} else {
			phr_cli_error("unknown option '%s'", argv[i]);
			usage(stderr);
			return PHR_EXIT_USAGE;
		}
	}
	if (i >= argc) {
		usage(stderr);
		return PHR_EXIT_USAGE;
	}
	for (const struct phr_cli_cmd *c = phr_cli_commands; c->name; c++)
		if (strcmp(c->name, argv[i]) == 0)
			return c->run(argc - i, argv + i);
	phr_cli_error("'%s' is not a phr command; see 'phr --help'", argv[i]);
	return PHR_EXIT_USAGE;
}
