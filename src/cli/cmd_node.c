/*
 * `phr node`: one participant's node — the embedded chain (or an external
 * one over JSON-RPC), the record store, the phr domain and the HTTP server.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "phr/api.h"
#include "phr/backup.h"
#include "phr/compliance.h"
#include "phr/chain.h"
#include "phr/crypto.h"
#include "phr/json.h"
#include "phr/notify.h"
#include "phr/phr.h"
#include "phr/store.h"

static const char usage[] =
	"usage: phr node [--datadir DIR] [--listen HOST:PORT] [--dev] [--chain-rpc URL]\n"
	"                [--deployment FILE] [--artifacts DIR] [--threads N]\n"
	"                [--log-level LEVEL] [--log-json] [--no-seed] [--peer URL]...\n"
	"                [--siwe-domain HOST[:PORT]] [--portal DIR]\n"
	"\n"
	"Runs a phr node: the chain (embedded in DIR/chain, or external with --chain-rpc),\n"
	"the encrypted record store (DIR/store), and one HTTP server with the REST API\n"
	"(/api/v1), the chain's JSON-RPC (/rpc, embedded chain only), the IPFS trustless\n"
	"gateway (/ipfs), /healthz and /metrics. Each connection has a thread;\n"
	"--threads N (1-64, default 64) bounds the requests handled at once.\n"
	"\n"
	"The first start deploys the contracts (from contracts/artifacts, --artifacts or\n"
	"$PHR_SOURCE_DIR/contracts/artifacts) and writes DIR/deployment.json; with\n"
	"--chain-rpc, an existing deployment file\n"
	"(--deployment FILE or DIR/deployment.json) is used, else one is deployed with the\n"
	"first dev account. Port 0 picks a free port; the node prints\n"
	"`listening on http://HOST:PORT` on stdout when it is ready.\n"
	"\n"
	"--dev hosts the demo identities (operator, authority, provider, patient,\n"
	"emergency, auditor, clinic) with keystores in DIR/dev/keys (password \"dev\"),\n"
	"sets them up on chain, seeds a small demo unless --no-seed, and writes bearer\n"
	"tokens to DIR/dev/tokens.json.\n"
	"\n"
	"--peer URL (repeatable; also DIR/peers, one URL per line) names other nodes\n"
	"whose gateways and capsule index this node asks for ciphertext and key\n"
	"capsules it does not hold.\n"
	"\n"
	"Settings come from flags, then the environment (PHR_DATADIR, PHR_LISTEN,\n"
	"PHR_CHAIN_RPC, PHR_LOG_LEVEL, PHR_LOG_JSON=1, PHR_SIWE_DOMAIN), then\n"
	"DIR/config.json (keys: listen, chainRpc, threads, logLevel, siweDomain,\n"
	"backupVerifyInterval: seconds between backup verifications, 0 off, default 3600;\n"
	"also PHR_BACKUP_VERIFY_INTERVAL).\n"
	"--siwe-domain is the domain Sign-In with Ethereum messages must name (default:\n"
	"the HOST:PORT listened on). SIGINT or SIGTERM stops the node cleanly.\n"
	"\n"
	"phr node reindex [--datadir DIR] [--chain-rpc URL] [--deployment FILE]\n"
	"rebuilds the chain index (DIR/index.db) from the chain from scratch, prints\n"
	"the block and the number of logs indexed, and exits. It refuses to run while\n"
	"a node uses DIR (DIR/node.lock): stop the node first.\n";

struct node_opts {
	const char *datadir, *listen, *chain_rpc, *deployment, *artifacts, *log_level, *domain;
	unsigned threads;
	bool dev, log_json, seed, reindex;
	const char *peers[16];
	size_t n_peers;
};

static int parse_args(struct node_opts *o, int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(a, "--dev") == 0) {
			o->dev = true;
			continue;
		}
		if (strcmp(a, "--log-json") == 0) {
			o->log_json = true;
			continue;
		}
		if (strcmp(a, "--no-seed") == 0) {
			o->seed = false;
			continue;
		}
		if (v == NULL) {
			phr_cli_error("node: %s needs a value (see phr node --help)", a);
			return PHR_EXIT_USAGE;
		}
		if (strcmp(a, "--datadir") == 0)
			o->datadir = v;
		else if (strcmp(a, "--listen") == 0)
			o->listen = v;
		else if (strcmp(a, "--chain-rpc") == 0)
			o->chain_rpc = v;
		else if (strcmp(a, "--deployment") == 0)
			o->deployment = v;
		else if (strcmp(a, "--peer") == 0 && o->n_peers < 16)
			o->peers[o->n_peers++] = v;
		else if (strcmp(a, "--artifacts") == 0)
			o->artifacts = v;
		else if (strcmp(a, "--portal") == 0) {
			/* the portal's built files (web/dist); src/api/portal.c reads PHR_PORTAL_DIR */
			if (setenv("PHR_PORTAL_DIR", v, 1) != 0)
				return PHR_EXIT_USAGE;
		}
		else if (strcmp(a, "--log-level") == 0)
			o->log_level = v;
		else if (strcmp(a, "--siwe-domain") == 0)
			o->domain = v;
		else if (strcmp(a, "--threads") == 0) {
			uint64_t t;
			if (phr_parse_u64(&t, v) != PHR_OK || t == 0 || t > 64) {
				phr_cli_error("node: bad --threads %s", v);
				return PHR_EXIT_USAGE;
			}
			o->threads = (unsigned)t;
		} else {
			phr_cli_error("node: unknown option %s (see phr node --help)", a);
			return PHR_EXIT_USAGE;
		}
		i++;
	}
	return PHR_EXIT_OK;
}

/* Values from DIR/config.json fill what flags and environment left unset. */
static void apply_config(struct node_opts *o, json_t **keep, const char *dir)
{
	char path[1024], err[128];
	const char *s;
	uint64_t t;

	if (o->listen == NULL)
		o->listen = getenv("PHR_LISTEN");
	if (o->chain_rpc == NULL)
		o->chain_rpc = getenv("PHR_CHAIN_RPC");
	if (o->log_level == NULL)
		o->log_level = getenv("PHR_LOG_LEVEL");
	if (o->domain == NULL)
		o->domain = getenv("PHR_SIWE_DOMAIN");
	if (!o->log_json && getenv("PHR_LOG_JSON") != NULL && strcmp(getenv("PHR_LOG_JSON"), "1") == 0)
		o->log_json = true;
	snprintf(path, sizeof(path), "%s/config.json", dir);
	if (phr_json_load_file(keep, err, sizeof(err), path, 65536) != PHR_OK)
		return;
	if (o->listen == NULL && phr_json_get_str(&s, *keep, "listen") == PHR_OK)
		o->listen = s;
	if (o->chain_rpc == NULL && phr_json_get_str(&s, *keep, "chainRpc") == PHR_OK)
		o->chain_rpc = s;
	if (o->log_level == NULL && phr_json_get_str(&s, *keep, "logLevel") == PHR_OK)
		o->log_level = s;
	if (o->domain == NULL && phr_json_get_str(&s, *keep, "siweDomain") == PHR_OK)
		o->domain = s;
	if (o->threads == 0 && phr_json_get_u64(&t, *keep, "threads") == PHR_OK && t > 0 && t <= 64)
		o->threads = (unsigned)t;
}

static volatile sig_atomic_t stop_sig;

static void on_signal(int sig)
{
	stop_sig = sig;
}

static int write_tokens(struct phr_api *api, struct phr_node *node, const char *dir)
{
	static const char *const names[] = {
#define X(name, i) #name,
		PHR_DEV_IDENTITIES
#undef X
	};
	char path[1024], token[PHR_API_TOKEN_LEN], addr[PHR_ETH_ADDRESS_STR_LEN];
	json_t *o = json_object();
	char *s;
	int rv = PHR_OK;

	if (o == NULL)
		return PHR_ERR_NOMEM;
	for (size_t i = 0; rv == PHR_OK && i < PHR_ARRAY_LEN(names); i++) {
		const struct phr_identity *id = phr_node_identity_by_name(node, names[i]);
		if (id == NULL)
			continue;
		rv = phr_api_token_issue(api, token, id->address, 30 * 86400);
		phr_eth_address_checksum(addr, id->address);
		if (rv == PHR_OK)
			json_object_set_new(o, names[i], json_pack("{s:s,s:s}", "address", addr,
								    "token", token));
	}
	s = rv == PHR_OK ? json_dumps(o, JSON_INDENT(2)) : NULL;
	json_decref(o);
	if (s == NULL)
		return rv == PHR_OK ? PHR_ERR_NOMEM : rv;
	snprintf(path, sizeof(path), "%s/dev/tokens.json", dir);
	rv = phr_file_write_atomic(path, s, strlen(s), 0600);
	free(s);
	return rv;
}

static void print_next(const char *url, const char *dir, struct phr_node *node)
{
	char pat[PHR_ETH_ADDRESS_STR_LEN];
	const struct phr_identity *p = phr_node_identity_by_name(node, "patient");

	if (p == NULL)
		return;
	phr_eth_address_checksum(pat, p->address);
	printf("\nphr dev node ready. Tokens: %s/dev/tokens.json (keystores in %s/dev/keys, password \"dev\")\n"
	       "Try:\n"
	       "  curl %s/healthz\n"
	       "  curl %s/api/v1/openapi.json\n"
	       "  T=$(jq -r .patient.token %s/dev/tokens.json)\n"
	       "  curl -H \"Authorization: Bearer $T\" %s/api/v1/patients/%s/records\n"
	       "  curl -H \"Authorization: Bearer $T\" %s/api/v1/patients/%s/audit\n"
	       "  curl -H \"Authorization: Bearer $T\" %s/api/v1/records/1/content\n"
	       "  P=$(jq -r .provider.token %s/dev/tokens.json)\n"
	       "  curl -H \"Authorization: Bearer $P\" -H 'Content-Type: application/json' \\\n"
	       "       -d '{\"patient\":\"%s\",\"type\":5,\"text\":\"a new lab result\"}' %s/api/v1/records\n"
	       "  C=$(jq -r .clinic.token %s/dev/tokens.json)   # a provider without a grant: 403\n"
	       "  curl -H \"Authorization: Bearer $C\" %s/api/v1/records/1\n"
	       "  phr record list --node %s --token-file %s/dev/tokens.json --as patient\n"
	       "  phr login --node %s --keystore %s/dev/keys/patient.json\n"
	       "  %s/                                  # the portal, in a browser\n"
	       "  curl %s/fhir/metadata                   # the FHIR R4 server's CapabilityStatement\n"
	       "  phr milestone verify 1 --node %s          # the vaccination as a health milestone\n"
	       "  phr audit verify --node %s --token-file %s/dev/tokens.json --as patient --patient %s\n",
	       dir, dir, url, url, dir, url, pat, url, pat, url, dir, pat, url, dir, url, url, dir,
	       url, dir, url, url, url, url, dir, pat);
}

/* Takes DIR/node.lock (held until the process exits); -1 when another process holds it. */
static int lock_datadir(const char *dir)
{
	char path[1024];
	int fd;

	if ((size_t)snprintf(path, sizeof(path), "%s/node.lock", dir) >= sizeof(path))
		return -1;
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* phr node reindex: wipe the index, read the chain again from block 0. */
static int reindex(struct phr_node *node)
{
	struct phr_index_status st;
	char hash[PHR_HEX_LEN(32, true)];
	int rc = phr_node_reindex(node);

	if (rc != PHR_OK) {
		phr_cli_error("node reindex: %s", phr_strerror(rc));
		return PHR_EXIT_FAIL;
	}
	phr_node_index_status(node, &st);
	if (phr_hex_encode(hash, sizeof(hash), st.hash, 32, true) != PHR_OK)
		hash[0] = '\0';
	printf("indexed %llu logs up to block %llu (%s)\n", (unsigned long long)st.logs,
	       (unsigned long long)st.block, hash);
	return PHR_EXIT_OK;
}

int phr_cmd_node(int argc, char **argv);

int phr_cmd_node(int argc, char **argv)
{
	struct node_opts o = { .seed = true };
	struct phr_chain_config ccfg = { 0 };
	struct phr_chain_node *cn = NULL;
	struct phr_chain *chain = NULL;
	struct phr_store *store = NULL;
	struct phr_node *node = NULL;
	struct phr_api *api = NULL;
	struct phr_deployment dep;
	struct phr_api_config acfg = { 0 };
	struct sigaction sa;
	json_t *conf = NULL;
	char *dir = NULL, path[1024], host[64], url[128];
	const char *colon;
	uint64_t port;
	enum phr_log_level lvl;
	int rc, status = PHR_EXIT_FAIL, lock_fd;

	if (phr_cli_wants_help(argc, argv)) {
		fputs(usage, stdout);
		return PHR_EXIT_OK;
	}
	if (argc > 1 && strcmp(argv[1], "reindex") == 0) {
		o.reindex = true;
		argc--;
		argv++;
	}
	if ((rc = parse_args(&o, argc, argv)) != PHR_EXIT_OK)
		return rc;
	dir = phr_cli_datadir(o.datadir);
	if (dir == NULL || phr_mkdir_p(dir, 0700) != PHR_OK) {
		phr_cli_error("node: cannot use the data directory");
		phr_free(dir);
		return PHR_EXIT_FAIL;
	}
	/* one process per data directory: a node, or phr node reindex */
	if ((lock_fd = lock_datadir(dir)) < 0) {
		phr_cli_error("node: another phr node (or reindex) is using %s: stop it first", dir);
		phr_free(dir);
		return PHR_EXIT_FAIL;
	}
	apply_config(&o, &conf, dir);
	if (o.listen == NULL)
		o.listen = "127.0.0.1:8080";
	if (o.log_json)
		phr_log_set_json(true);
	if (o.log_level != NULL) {
		if (phr_log_parse_level(&lvl, o.log_level) != PHR_OK) {
			phr_cli_error("node: bad log level %s", o.log_level);
			goto out;
		}
		phr_log_set_level(lvl);
	}
	colon = strrchr(o.listen, ':');
	if (colon == NULL || (size_t)(colon - o.listen) >= sizeof(host) ||
	    phr_parse_u64(&port, colon + 1) != PHR_OK || port > 65535) {
		phr_cli_error("node: bad --listen %s (HOST:PORT expected)", o.listen);
		status = PHR_EXIT_USAGE;
		goto out;
	}
	memcpy(host, o.listen, (size_t)(colon - o.listen));
	host[colon - o.listen] = '\0';
	if (phr_crypto_init() != PHR_OK) {
		phr_cli_error("node: cannot initialise the crypto libraries");
		goto out;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	/* the chain */
	if (o.reindex && o.chain_rpc == NULL) {
		struct stat cst;
		snprintf(path, sizeof(path), "%s/chain", dir);
		if (stat(path, &cst) != 0) {
			phr_cli_error("node reindex: no embedded chain in %s (and no --chain-rpc)", dir);
			goto out;
		}
	}
	if (o.chain_rpc != NULL) {
		rc = phr_chain_open_remote(&chain, o.chain_rpc);
	} else {
		snprintf(path, sizeof(path), "%s/chain", dir);
		ccfg.datadir = path;
		ccfg.dev = true; /* single-sequencer chain with the funded dev accounts */
		rc = phr_chain_node_open(&cn, &ccfg);
		if (rc == PHR_OK)
			rc = phr_chain_open_embedded(&chain, cn);
	}
	if (rc != PHR_OK) {
		phr_cli_error("node: cannot open the chain: %s", phr_strerror(rc));
		goto out;
	}
	/* the deployment */
	if (o.deployment == NULL) {
		snprintf(path, sizeof(path), "%s/deployment.json", dir);
		o.deployment = path;
	}
	rc = phr_deployment_load(&dep, o.deployment);
	if (rc == PHR_OK) {
		struct phr_buf code;
		uint64_t id = 0;
		phr_buf_init(&code, 0);
		if ((rc = phr_chain_chain_id(chain, &id)) == PHR_OK && id != dep.chain_id)
			rc = PHR_ERR_CONFLICT;
		if (rc == PHR_OK && (rc = phr_chain_code(chain, &code, dep.registry)) == PHR_OK &&
		    code.len == 0)
			rc = PHR_ERR_NOT_FOUND;
		phr_buf_release(&code);
		if (rc != PHR_OK) {
			phr_cli_error("node: %s does not match the chain (%s)", o.deployment,
				      phr_strerror(rc));
			goto out;
		}
	} else if (rc == PHR_ERR_NOT_FOUND && !o.reindex) {
		uint8_t sk[32];
		const char *art = o.artifacts ? o.artifacts : "contracts/artifacts";
		char art_env[900];
		struct stat st;
		/* outside the repository: $PHR_SOURCE_DIR/contracts/artifacts */
		if (o.artifacts == NULL && stat(art, &st) != 0 && getenv("PHR_SOURCE_DIR") != NULL) {
			snprintf(art_env, sizeof(art_env), "%s/contracts/artifacts", getenv("PHR_SOURCE_DIR"));
			art = art_env;
		}
		rc = phr_bip32_eth_key(sk, "test test test test test test test test test test test junk",
				       0);
		if (rc == PHR_OK)
			rc = phr_deployment_deploy(&dep, chain, sk, art);
		memset(sk, 0, sizeof(sk));
		if (rc == PHR_OK)
			rc = phr_deployment_save(&dep, o.deployment);
		if (rc != PHR_OK) {
			phr_cli_error("node: deploying the contracts from %s failed: %s", art,
				      phr_strerror(rc));
			goto out;
		}
		phr_log_info("node", "contracts deployed; wrote %s", o.deployment);
	} else {
		phr_cli_error("node: cannot read %s: %s", o.deployment, phr_strerror(rc));
		goto out;
	}
	snprintf(path, sizeof(path), "%s/store", dir);
	if ((rc = phr_store_open(&store, path)) != PHR_OK ||
	    (rc = phr_node_open(&node, chain, store, &dep, dir)) != PHR_OK) {
		phr_cli_error("node: cannot open the store or the node database: %s", phr_strerror(rc));
		goto out;
	}
	if (o.reindex) {
		status = reindex(node);
		goto out;
	}
	for (size_t i = 0; i < o.n_peers; i++)
		if (phr_node_add_peer(node, o.peers[i]) != PHR_OK) {
			phr_cli_error("node: bad --peer %s", o.peers[i]);
			goto out;
		}
	if (o.dev) {
		snprintf(path, sizeof(path), "%s/dev/keys", dir);
		rc = phr_dev_setup(node, path, o.seed);
		if (rc != PHR_OK) {
			phr_cli_error("node: --dev setup failed: %s", phr_strerror(rc));
			goto out;
		}
	}
	acfg.host = host;
	acfg.port = (uint16_t)port;
	acfg.node = node;
	acfg.chain_node = cn;
	acfg.store = store;
	acfg.datadir = dir;
	/* a thread per request in flight: reads wait for their group's audit transaction */
	acfg.threads = o.threads ? o.threads : 64;
	acfg.domain = o.domain;
	{
		const struct phr_identity *aud = phr_node_identity_by_name(node, "auditor");
		if (aud != NULL) {
			acfg.auditors = (const uint8_t(*)[20])aud->address;
			acfg.n_auditors = 1;
		}
	}
	if (phr_notify_worker_start(node) != PHR_OK) /* notification outbox (notify.h) */
		phr_log_warn("node", "notification delivery thread not started");
	{
		/* backup verification job (backup.h, docs/recovery.md): every N seconds from
		 * $PHR_BACKUP_VERIFY_INTERVAL or config.json backupVerifyInterval; default 3600, 0 off */
		uint64_t iv = 3600;
		if (getenv("PHR_BACKUP_VERIFY_INTERVAL") != NULL)
			rc = phr_parse_u64(&iv, getenv("PHR_BACKUP_VERIFY_INTERVAL"));
		else if (conf != NULL && json_object_get(conf, "backupVerifyInterval") != NULL)
			rc = phr_json_get_u64(&iv, conf, "backupVerifyInterval");
		if (iv > 0 && (iv > UINT32_MAX || phr_node_backup_job_start(node, (unsigned)iv) != PHR_OK))
			phr_log_warn("node", "backup verification job not started");
	}
	{
		/* compliance job (compliance.h, docs/compliance.md): erasures, retention, anomalies */
		struct phr_compliance_job_config jc;
		int jr = phr_compliance_job_config_from_json(&jc, node, conf);
		if (jr == PHR_OK)
			jr = phr_compliance_job_start(node, &jc);
		if (jr != PHR_OK && jr != PHR_ERR_STATE)
			phr_log_warn("node", "compliance job not started: %s", phr_err_name(jr));
	}
	rc = phr_api_start(&api, &acfg);
	if (rc != PHR_OK) {
		phr_cli_error("node: cannot listen on %s: %s", o.listen, phr_strerror(rc));
		goto out;
	}
	snprintf(url, sizeof(url), "http://%s:%u", host, (unsigned)phr_api_port(api));
	if (o.dev && (rc = write_tokens(api, node, dir)) != PHR_OK) {
		phr_cli_error("node: cannot write the dev tokens: %s", phr_strerror(rc));
		goto out;
	}
	printf("listening on %s\n", url);
	if (o.dev)
		print_next(url, dir, node);
	fflush(stdout);
	phr_log_info("node", "serving %s (chain %s, chain id %llu)", url,
		     cn ? "embedded" : "external", (unsigned long long)dep.chain_id);
	while (!stop_sig) {
		struct timespec ts = { 0, 100 * 1000 * 1000 };
		if (cn != NULL && phr_chain_node_tick(cn) != PHR_OK)
			phr_log_warn("node", "block production failed");
		nanosleep(&ts, NULL);
	}
	phr_log_info("node", "signal %d: stopping", (int)stop_sig);
	status = PHR_EXIT_OK;
out:
	phr_api_stop(api);
	phr_notify_worker_stop(node);
	phr_node_backup_job_stop(node);
	phr_compliance_job_stop();
	phr_node_close(node);
	phr_store_close(store);
	phr_chain_close(chain);
	phr_chain_node_close(cn);
	json_decref(conf);
	phr_free(dir);
	close(lock_fd);
	return status;
}
