/* phr chain: run the embedded chain and serve Ethereum JSON-RPC on POST /. */
#include <errno.h>
#include <signal.h>
#include <time.h>

#include "cli.h"
#include "phr/chain.h"
#include "phr/crypto.h"

int phr_cmd_chain(int argc, char **argv);

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static const char usage[] =
	"usage: phr chain [--datadir DIR] [--listen HOST:PORT] [--dev] [--chain-id N]\n"
	"                 [--block-time SECONDS] [--genesis FILE] [--gas-limit N]\n"
	"\n"
	"Runs the embedded Ethereum-compatible chain (Cancun rules) with its state in\n"
	"DIR/chain.db (SQLite, WAL) and serves the Ethereum JSON-RPC API on POST /.\n"
	"\n"
	"  --datadir DIR        data directory (default: $PHR_DATADIR or ~/.phr, then /chain)\n"
	"  --listen HOST:PORT   address to serve on (default 127.0.0.1:8545; port 0 picks one;\n"
	"                       the bound address is printed as `listening on http://HOST:PORT`)\n"
	"  --dev                pre-fund and hold the ten accounts of the mnemonic\n"
	"                       \"test test ... junk\" (10000 ETH each), as anvil and hardhat do\n"
	"  --chain-id N         chain id of a new chain (default 31337)\n"
	"  --block-time SECONDS seal a block every SECONDS (default: one block per transaction)\n"
	"  --genesis FILE       geth-style genesis JSON (config.chainId, gasLimit, alloc) for a new chain\n"
	"  --gas-limit N        block gas limit (default 30000000)\n"
	"\n"
	"A restart resumes the chain from DIR. SIGINT or SIGTERM stops it cleanly; every\n"
	"block is durable when its transactions are acknowledged.\n";

static bool parse_u64(uint64_t *out, const char *s)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-')
		return false;
	*out = v;
	return true;
}

int phr_cmd_chain(int argc, char **argv)
{
	struct phr_chain_config cfg = { 0 };
	struct phr_chain_node *node = NULL;
	struct phr_rpc_server *srv = NULL;
	struct sigaction sa;
	const char *listen = "127.0.0.1:8545", *datadir_flag = NULL;
	char host[64], *dir = NULL;
	uint64_t port = 8545;
	const char *colon;
	int i, rc, status = PHR_EXIT_FAIL;

	if (phr_cli_wants_help(argc, argv)) {
		fputs(usage, stdout);
		return PHR_EXIT_OK;
	}
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "--dev") == 0) {
			cfg.dev = true;
			continue;
		}
		if (!v) {
			phr_cli_error("chain: %s needs a value (see phr chain --help)", a);
			return PHR_EXIT_USAGE;
		}
		if (strcmp(a, "--datadir") == 0) {
			datadir_flag = v;
		} else if (strcmp(a, "--listen") == 0) {
			listen = v;
		} else if (strcmp(a, "--genesis") == 0) {
			cfg.genesis_path = v;
		} else if (strcmp(a, "--chain-id") == 0) {
			if (!parse_u64(&cfg.chain_id, v) || cfg.chain_id == 0) {
				phr_cli_error("chain: bad --chain-id %s", v);
				return PHR_EXIT_USAGE;
			}
		} else if (strcmp(a, "--block-time") == 0) {
			if (!parse_u64(&cfg.block_time, v) || cfg.block_time > 86400) {
				phr_cli_error("chain: bad --block-time %s", v);
				return PHR_EXIT_USAGE;
			}
		} else if (strcmp(a, "--gas-limit") == 0) {
			if (!parse_u64(&cfg.gas_limit, v) || cfg.gas_limit < 21000) {
				phr_cli_error("chain: bad --gas-limit %s", v);
				return PHR_EXIT_USAGE;
			}
		} else {
			phr_cli_error("chain: unknown option %s (see phr chain --help)", a);
			return PHR_EXIT_USAGE;
		}
		i++;
	}
	colon = strrchr(listen, ':');
	if (!colon || (size_t)(colon - listen) >= sizeof(host) || !parse_u64(&port, colon + 1) ||
	    port > 65535) {
		phr_cli_error("chain: bad --listen %s (HOST:PORT expected)", listen);
		return PHR_EXIT_USAGE;
	}
	memcpy(host, listen, (size_t)(colon - listen));
	host[colon - listen] = '\0';
	if (phr_crypto_init() != PHR_OK) {
		phr_cli_error("chain: cannot initialise the crypto libraries");
		return PHR_EXIT_FAIL;
	}
	if (datadir_flag) {
		dir = phr_strdup(datadir_flag);
	} else {
		char *base = phr_cli_datadir(NULL);

		if (base) {
			size_t n = strlen(base) + 8;

			dir = phr_malloc(n);
			if (dir)
				snprintf(dir, n, "%s/chain", base);
			phr_free(base);
		}
	}
	if (!dir) {
		phr_cli_error("chain: no data directory");
		return PHR_EXIT_FAIL;
	}
	cfg.datadir = dir;
	rc = phr_chain_node_open(&node, &cfg);
	if (rc != PHR_OK) {
		phr_cli_error("chain: cannot open the chain in %s: %s", dir, phr_strerror(rc));
		goto out;
	}
	rc = phr_rpc_server_start(&srv, host, (uint16_t)port, "/", phr_chain_node_methods, node,
				  phr_chain_node_guard);
	if (rc != PHR_OK) {
		phr_cli_error("chain: cannot listen on %s: %s", listen, phr_strerror(rc));
		goto out;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	printf("listening on http://%s:%u\n", host, (unsigned)phr_rpc_server_port(srv));
	fflush(stdout);
	while (!stop_flag) {
		struct timespec ts = { 0, 100 * 1000 * 1000 };

		nanosleep(&ts, NULL);
		if (phr_chain_node_tick(node) != PHR_OK) {
			phr_cli_error("chain: block production failed");
			goto out;
		}
	}
	status = PHR_EXIT_OK;
out:
	phr_rpc_server_stop(srv);
	phr_chain_node_close(node);
	phr_free(dir);
	return status;
}
