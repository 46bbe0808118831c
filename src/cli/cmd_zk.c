/*
 * `phr zk`: zero-knowledge credentials. Proving and the helpers that need Poseidon and
 * Baby Jubjub run the committed node driver circuits/zk.mjs (snarkjs); `verify` runs
 * natively (include/phr/groth16.h: the EVM's bn254 precompiles) with the same checks as
 * ResearchAccess.useCredential.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <phr/chain.h>
#include <phr/crypto.h>
#include <phr/groth16.h>
#include <phr/json.h>

#include "cli.h"

int phr_cmd_zk(int argc, char **argv);

static const char USAGE[] =
	"usage: phr zk <command> [--option value]...\n"
	"\n"
	"Client side (runs node with circuits/zk.mjs; prints JSON):\n"
	"  identity [--secret DEC]                     new provider/patient secret + idCommitment\n"
	"  leaf --id C --role R --expiry T             credential leaf Poseidon(C, R, T)\n"
	"  prove --secret S --role R --expiry T --scope X --message ADDR [--time T]\n"
	"        (--rpc URL --registry ADDR | --leaves FILE) [--out FILE]\n"
	"                                              provider credential proof\n"
	"  attester-key --key HEX32                    Baby Jubjub key of an attester\n"
	"  attest --key HEX32 --id C --birth YYYYMMDD  sign a patient's birth date\n"
	"  prove-age --secret S --attestation FILE --today YYYYMMDD --min-age N --scope X\n"
	"        --message ADDR [--out FILE]           age-at-least-N proof\n"
	"  prove-trial --secret S --trial ID --message ADDR\n"
	"        (--rpc URL --trials ADDR | --leaves FILE) [--out FILE]\n"
	"                                              trial-enrolment proof (patient in the\n"
	"                                              trial's eligibility tree)\n"
	"Relying party (native, no node needed):\n"
	"  verify --proof FILE [--vkey FILE] [--root DEC]... [--role DEC] [--scope DEC]\n"
	"        [--message ADDR|DEC] [--now SECS --max-age SECS] [--nullifiers FILE]\n"
	"        [--rpc URL --registry ADDR [--access ADDR]] [--min-age N] [--date YYYYMMDD]...\n"
	"        checks the proof and, for provider proofs, the policy; with --nullifiers the\n"
	"        nullifier is recorded there and a reused one is rejected; with --rpc the\n"
	"        chain is asked: CredentialRegistry.isValidRoot (provider) or isAttester (age),\n"
	"        and ResearchAccess.nullifierUsed. Age proofs: --min-age, --date (accepted\n"
	"        dates), --scope, --message, --nullifiers, --rpc.\n"
	"        Trial proofs: --trial ID, --root, --message, --nullifiers, and --rpc URL\n"
	"        --trials ADDR (TrialRegistry.isValidRoot and nullifierUsed).\n"
	"Environment: PHR_ZK_DRIVER (driver path), PHR_SOURCE_DIR (repo with circuits/).\n";

#define ZK_MAX_ROOTS 64
#define ZK_PATH_MAX 4096
/* A usage error found while checking (exit PHR_EXIT_USAGE): outside enum phr_err. */
#define ZK_USAGE (-1000)

/* The repository folder holding circuits/zk.mjs: $PHR_SOURCE_DIR, the working
 * directory, or a parent of the executable's folder. */
static int find_root(char *out, size_t cap)
{
	const char *env = getenv("PHR_SOURCE_DIR");
	char probe[ZK_PATH_MAX + 32], exe[ZK_PATH_MAX];
	ssize_t n;

	if (env && *env) {
		snprintf(out, cap, "%s", env);
		return 0;
	}
	if (access("circuits/zk.mjs", R_OK) == 0) {
		snprintf(out, cap, ".");
		return 0;
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return -1;
	exe[n] = '\0';
	for (int up = 0; up < 6; up++) {
		char *slash = strrchr(exe, '/');
		if (!slash || slash == exe)
			break;
		*slash = '\0';
		snprintf(probe, sizeof(probe), "%s/circuits/zk.mjs", exe);
		if (access(probe, R_OK) == 0) {
			snprintf(out, cap, "%s", exe);
			return 0;
		}
	}
	return -1;
}

/* Replaces this process with `node circuits/zk.mjs <cmd> <args...>`. */
static int run_driver(const char *cmd, int argc, char **argv)
{
	char root[ZK_PATH_MAX], script[ZK_PATH_MAX + 32];
	const char *drv = getenv("PHR_ZK_DRIVER");
	char **args;

	if (!drv || !*drv) {
		if (find_root(root, sizeof(root)) != 0) {
			phr_cli_error("zk: cannot find circuits/zk.mjs (set PHR_SOURCE_DIR or PHR_ZK_DRIVER)");
			return PHR_EXIT_FAIL;
		}
		snprintf(script, sizeof(script), "%s/circuits/zk.mjs", root);
		drv = script;
	}
	args = calloc((size_t)argc + 3, sizeof(*args));
	if (!args)
		return PHR_EXIT_FAIL;
	args[0] = (char *)"node";
	args[1] = (char *)drv;
	args[2] = (char *)cmd;
	for (int i = 1; i < argc; i++)
		args[i + 2] = argv[i];
	args[argc + 2] = NULL;
	fflush(stdout);
	execvp("node", args);
	phr_cli_error("zk: cannot run node: %s", strerror(errno));
	free(args);
	return PHR_EXIT_FAIL;
}

/* A decimal field element or a 0x-hex value (an address) as 32 bytes big-endian. */
static int parse_value(uint8_t out[32], const char *s)
{
	return phr_groth16_value_parse(out, s) == PHR_OK ? 0 : -1;
}

struct nullifier_file {
	const char *path;
};

/* Spends a nullifier in a text file of decimal values, one a line. */
static int spend_in_file(void *ctx, const uint8_t nullifier[32])
{
	const struct nullifier_file *nf = ctx;
	char want[80], line[128];
	FILE *f;

	if (phr_groth16_dec_format(want, sizeof(want), nullifier) != PHR_OK)
		return PHR_ERR_INTERNAL;
	f = fopen(nf->path, "a+");
	if (!f)
		return PHR_ERR_IO;
	rewind(f);
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\r\n")] = '\0';
		if (strcmp(line, want) == 0) {
			fclose(f);
			return PHR_ERR_EXISTS;
		}
	}
	if (fprintf(f, "%s\n", want) < 0) {
		fclose(f);
		return PHR_ERR_IO;
	}
	return fclose(f) == 0 ? PHR_OK : PHR_ERR_IO;
}

static const char *reason(int rc)
{
	switch (rc) {
	case PHR_ERR_SIGNATURE:
		return "invalid proof";
	case PHR_ERR_INVALID:
		return "malformed proof or public signal (count, field range, curve point)";
	case PHR_ERR_NOT_FOUND:
		return "unknown root (wrong tree, or a credential was revoked since)";
	case PHR_ERR_EXPIRED:
		return "proof time or date outside the accepted window";
	case PHR_ERR_FORBIDDEN:
		return "role, age, scope, message or attester differs from what is required";
	case PHR_ERR_EXISTS:
		return "nullifier already used";
	default:
		return phr_strerror(rc);
	}
}

struct verify_opts {
	const char *proof, *vkey, *nullifiers;
	const char *roots[ZK_MAX_ROOTS];
	size_t n_roots;
	const char *role, *scope, *message, *now, *max_age;
	const char *rpc, *registry, *access, *trials, *trial;
	const char *min_age;
	const char *dates[2];
	size_t n_dates;
};

static int parse_verify_opts(struct verify_opts *o, int argc, char **argv)
{
	memset(o, 0, sizeof(*o));
	for (int i = 1; i < argc; i += 2) {
		const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!v) {
			phr_cli_error("zk verify: %s needs a value", k);
			return -1;
		}
		if (strcmp(k, "--proof") == 0)
			o->proof = v;
		else if (strcmp(k, "--vkey") == 0)
			o->vkey = v;
		else if (strcmp(k, "--nullifiers") == 0)
			o->nullifiers = v;
		else if (strcmp(k, "--root") == 0 && o->n_roots < ZK_MAX_ROOTS)
			o->roots[o->n_roots++] = v;
		else if (strcmp(k, "--role") == 0)
			o->role = v;
		else if (strcmp(k, "--scope") == 0)
			o->scope = v;
		else if (strcmp(k, "--message") == 0)
			o->message = v;
		else if (strcmp(k, "--now") == 0)
			o->now = v;
		else if (strcmp(k, "--max-age") == 0)
			o->max_age = v;
		else if (strcmp(k, "--rpc") == 0)
			o->rpc = v;
		else if (strcmp(k, "--registry") == 0)
			o->registry = v;
		else if (strcmp(k, "--access") == 0)
			o->access = v;
		else if (strcmp(k, "--trials") == 0)
			o->trials = v;
		else if (strcmp(k, "--trial") == 0)
			o->trial = v;
		else if (strcmp(k, "--min-age") == 0)
			o->min_age = v;
		else if (strcmp(k, "--date") == 0 && o->n_dates < 2)
			o->dates[o->n_dates++] = v;
		else {
			phr_cli_error("zk verify: unknown or repeated option %s", k);
			return -1;
		}
	}
	if (!o->proof) {
		phr_cli_error("zk verify: --proof is required");
		return -1;
	}
	if ((o->registry || o->access || o->trials) != (o->rpc != NULL) || (o->rpc && !o->registry && !o->trials)) {
		phr_cli_error("zk verify: --rpc needs --registry (and optionally --access) or --trials, and they need --rpc");
		return -1;
	}
	return 0;
}

static int read_text(struct phr_buf *b, const char *path)
{
	int rc;

	phr_buf_init(b, PHR_GROTH16_MAX_JSON);
	rc = phr_file_read(b, path, PHR_GROTH16_MAX_JSON);
	if (rc != PHR_OK)
		phr_cli_error("zk verify: cannot read %s: %s", path, phr_strerror(rc));
	return rc;
}

/* "circuit" member of the proof file (the driver writes it), default provider. */
static const char *proof_circuit(const struct phr_buf *p)
{
	json_t *j = NULL;
	const char *c = "provider_credential";

	if (phr_json_parse(&j, NULL, 0, (const char *)p->data, p->len) == PHR_OK) {
		const json_t *v = json_object_get(j, "circuit");
		if (json_is_string(v) && strcmp(json_string_value(v), "age_credential") == 0)
			c = "age_credential";
		else if (json_is_string(v) && strcmp(json_string_value(v), "trial_enrolment") == 0)
			c = "trial_enrolment";
	}
	json_decref(j);
	return c;
}

/* eth_call of a view `sig` taking uint256 words and returning a bool. */
static int chain_bool(struct phr_chain *c, bool *out, const char *addr, const char *sig, const uint8_t (*args)[32],
		      size_t n)
{
	uint8_t to[20], data[4 + 2 * 32], hash[32];
	struct phr_buf ret;
	int rc;

	if (phr_eth_address_parse(to, addr) != PHR_OK)
		return PHR_ERR_INVALID;
	phr_keccak256(hash, sig, strlen(sig));
	memcpy(data, hash, 4);
	for (size_t i = 0; i < n && i < 2; i++)
		memcpy(data + 4 + 32 * i, args[i], 32);
	phr_buf_init(&ret, 4096);
	rc = phr_chain_call(c, &ret, NULL, to, data, 4 + 32 * n);
	if (rc == PHR_OK && ret.len != 32)
		rc = PHR_ERR_PARSE;
	if (rc == PHR_OK)
		*out = ret.data[31] != 0;
	phr_buf_release(&ret);
	return rc;
}

/* What the chain says: the root (provider) or attester key (age) is current, and the
 * nullifier is unspent. On success for a provider proof, @p root_ok is set. */
static int chain_checks(const struct verify_opts *o, bool provider, const uint8_t (*in)[32], size_t n, bool *root_ok)
{
	struct phr_chain *c = NULL;
	bool yes = false;
	int rc;

	if (n < 3)
		return PHR_ERR_INVALID;
	rc = phr_chain_open_remote(&c, o->rpc);
	if (rc != PHR_OK) {
		phr_cli_error("zk verify: %s: %s", o->rpc, phr_strerror(rc));
		return rc;
	}
	if (provider)
		rc = chain_bool(c, &yes, o->registry, "isValidRoot(uint256)", in + PHR_GROTH16_P_ROOT, 1);
	else
		rc = chain_bool(c, &yes, o->registry, "isAttester(uint256,uint256)", in + 1, 2);
	if (rc == PHR_OK && !yes)
		rc = provider ? PHR_ERR_NOT_FOUND : PHR_ERR_FORBIDDEN;
	if (rc == PHR_OK)
		*root_ok = provider;
	if (rc == PHR_OK && o->access) {
		rc = chain_bool(c, &yes, o->access, "nullifierUsed(uint256)", in, 1);
		if (rc == PHR_OK && yes)
			rc = PHR_ERR_EXISTS;
	}
	phr_chain_close(c);
	return rc;
}

/* What TrialRegistry says: the proof's root is valid for its trial and the nullifier is
 * unspent there. */
static int chain_checks_trial(const struct verify_opts *o, const uint8_t (*in)[32], size_t n)
{
	struct phr_chain *c = NULL;
	uint8_t args[2][32];
	bool yes = false;
	int rc;

	if (n != PHR_GROTH16_T_COUNT)
		return PHR_ERR_INVALID;
	rc = phr_chain_open_remote(&c, o->rpc);
	if (rc != PHR_OK) {
		phr_cli_error("zk verify: %s: %s", o->rpc, phr_strerror(rc));
		return rc;
	}
	memcpy(args[0], in[PHR_GROTH16_T_TRIAL], 32);
	memcpy(args[1], in[PHR_GROTH16_T_ROOT], 32);
	rc = chain_bool(c, &yes, o->trials, "isValidRoot(uint256,uint256)", (const uint8_t(*)[32])args, 2);
	if (rc == PHR_OK && !yes)
		rc = PHR_ERR_NOT_FOUND;
	if (rc == PHR_OK) {
		memcpy(args[1], in[PHR_GROTH16_T_NULLIFIER], 32);
		rc = chain_bool(c, &yes, o->trials, "nullifierUsed(uint256,uint256)", (const uint8_t(*)[32])args, 2);
		if (rc == PHR_OK && yes)
			rc = PHR_ERR_EXISTS;
	}
	phr_chain_close(c);
	return rc;
}

/* phr zk verify for a trial_enrolment proof. */
static int verify_trial(const struct verify_opts *o, const struct phr_groth16_vkey *vk,
			const struct phr_groth16_proof *proof, const uint8_t (*in)[32], size_t n,
			const struct phr_groth16_policy *pol, uint8_t (*roots)[32])
{
	struct phr_groth16_trial_policy tp;
	uint8_t trial[32];
	int rc;

	if (o->role || o->max_age || o->min_age || o->n_dates || o->scope || o->registry || o->access) {
		phr_cli_error("zk verify: trial proofs take --trial, --root, --message, --nullifiers, --rpc/--trials");
		return ZK_USAGE;
	}
	memset(&tp, 0, sizeof(tp));
	if (o->trial && parse_value(trial, o->trial) != 0) {
		phr_cli_error("zk verify: bad --trial %s", o->trial);
		return ZK_USAGE;
	}
	tp.trial = o->trial ? trial : NULL;
	tp.roots = pol->roots;
	tp.n_roots = pol->n_roots;
	tp.message = pol->message;
	tp.spend = pol->spend;
	tp.ctx = pol->ctx;
	if (o->rpc) {
		rc = chain_checks_trial(o, in, n);
		if (rc != PHR_OK)
			return rc;
		/* the chain vouched for the root: accept it unless --root narrowed it */
		if (tp.n_roots == 0) {
			memcpy(roots[0], in[PHR_GROTH16_T_ROOT], 32);
			tp.roots = (const uint8_t(*)[32])roots;
			tp.n_roots = 1;
		}
	}
	return phr_groth16_trial_check(vk, proof, in, n, &tp);
}

static int cmd_verify(int argc, char **argv)
{
	struct verify_opts o;
	struct phr_buf pb, vb;
	struct phr_groth16_vkey vk;
	struct phr_groth16_proof proof;
	uint8_t in[PHR_GROTH16_MAX_PUBLIC][32], roots[ZK_MAX_ROOTS][32], role[32], scope[32], msg[32];
	struct phr_groth16_policy pol;
	struct nullifier_file nf;
	char vkpath[ZK_PATH_MAX + 64], root[ZK_PATH_MAX], dec[80];
	const char *circuit;
	uint64_t u;
	size_t n = 0;
	int rc, status = PHR_EXIT_FAIL;

	if (phr_cli_wants_help(argc, argv)) {
		fputs(USAGE, stdout);
		return PHR_EXIT_OK;
	}
	if (parse_verify_opts(&o, argc, argv) != 0)
		return PHR_EXIT_USAGE;
	phr_buf_init(&vb, 0);
	if (read_text(&pb, o.proof) != PHR_OK)
		goto out;
	circuit = proof_circuit(&pb);
	if (!o.vkey) {
		if (find_root(root, sizeof(root)) != 0) {
			phr_cli_error("zk verify: give --vkey (circuits/ not found)");
			goto out;
		}
		snprintf(vkpath, sizeof(vkpath), "%s/circuits/keys/%s_vkey.json", root, circuit);
		o.vkey = vkpath;
	}
	if (read_text(&vb, o.vkey) != PHR_OK)
		goto out;
	if ((rc = phr_groth16_vkey_parse(&vk, (const char *)vb.data, vb.len)) != PHR_OK) {
		phr_cli_error("zk verify: %s: not a Groth16 verification key: %s", o.vkey, phr_strerror(rc));
		goto out;
	}
	if ((rc = phr_groth16_proof_parse(&proof, (const char *)pb.data, pb.len)) != PHR_OK ||
	    (rc = phr_groth16_public_parse(in, PHR_GROTH16_MAX_PUBLIC, &n, (const char *)pb.data, pb.len)) != PHR_OK) {
		phr_cli_error("zk verify: %s: not a proof with public signals: %s", o.proof, phr_strerror(rc));
		goto out;
	}

	memset(&pol, 0, sizeof(pol));
	for (size_t i = 0; i < o.n_roots; i++)
		if (parse_value(roots[i], o.roots[i]) != 0) {
			phr_cli_error("zk verify: bad --root %s", o.roots[i]);
			status = PHR_EXIT_USAGE;
			goto out;
		}
	pol.roots = (const uint8_t(*)[32])roots;
	pol.n_roots = o.n_roots;
	if ((o.role && parse_value(role, o.role) != 0) || (o.scope && parse_value(scope, o.scope) != 0) ||
	    (o.message && parse_value(msg, o.message) != 0)) {
		phr_cli_error("zk verify: bad --role, --scope or --message value");
		status = PHR_EXIT_USAGE;
		goto out;
	}
	pol.role = o.role ? role : NULL;
	pol.scope = o.scope ? scope : NULL;
	pol.message = o.message ? msg : NULL;
	if (o.max_age) {
		if (phr_parse_u64(&pol.max_age, o.max_age) != PHR_OK ||
		    (o.now && phr_parse_u64(&u, o.now) != PHR_OK)) {
			phr_cli_error("zk verify: bad --now or --max-age");
			status = PHR_EXIT_USAGE;
			goto out;
		}
		pol.now = o.now ? u : (uint64_t)time(NULL);
	}
	if (o.nullifiers) {
		nf.path = o.nullifiers;
		pol.spend = spend_in_file;
		pol.ctx = &nf;
	}

	if (strcmp(circuit, "trial_enrolment") == 0) {
		rc = verify_trial(&o, &vk, &proof, (const uint8_t(*)[32])in, n, &pol, roots);
		if (rc == ZK_USAGE) {
			status = PHR_EXIT_USAGE;
			goto out;
		}
	} else if (o.rpc && o.trials) {
		phr_cli_error("zk verify: --trials applies to trial proofs");
		status = PHR_EXIT_USAGE;
		goto out;
	} else if (o.rpc) {
		bool root_ok = false;
		rc = chain_checks(&o, strcmp(circuit, "provider_credential") == 0, (const uint8_t(*)[32])in, n, &root_ok);
		if (rc != PHR_OK) {
			phr_cli_error("zk verify: rejected: %s", reason(rc));
			goto out;
		}
		/* the chain vouched for the proof's root: accept it unless --root narrowed it */
		if (root_ok && pol.n_roots == 0) {
			memcpy(roots[0], in[PHR_GROTH16_P_ROOT], 32);
			pol.n_roots = 1;
		}
	}
	if (strcmp(circuit, "trial_enrolment") == 0) {
		/* checked above */
	} else if (strcmp(circuit, "provider_credential") == 0) {
		if (o.min_age || o.n_dates) {
			phr_cli_error("zk verify: --min-age/--date apply to age proofs");
			status = PHR_EXIT_USAGE;
			goto out;
		}
		rc = phr_groth16_provider_check(&vk, &proof, (const uint8_t(*)[32])in, n, &pol);
	} else {
		struct phr_groth16_age_policy ap;
		uint32_t dates[2];
		if (o.n_roots || o.role || o.max_age) {
			phr_cli_error("zk verify: --root/--role/--max-age apply to provider proofs");
			status = PHR_EXIT_USAGE;
			goto out;
		}
		memset(&ap, 0, sizeof(ap));
		for (size_t i = 0; i < o.n_dates; i++) {
			if (phr_parse_u64(&u, o.dates[i]) != PHR_OK || u > UINT32_MAX) {
				phr_cli_error("zk verify: bad --date %s", o.dates[i]);
				status = PHR_EXIT_USAGE;
				goto out;
			}
			dates[i] = (uint32_t)u;
		}
		ap.dates = dates;
		ap.n_dates = o.n_dates;
		if (o.min_age) {
			if (phr_parse_u64(&u, o.min_age) != PHR_OK || u == 0 || u > 255) {
				phr_cli_error("zk verify: bad --min-age %s", o.min_age);
				status = PHR_EXIT_USAGE;
				goto out;
			}
			ap.min_age = (uint32_t)u;
		}
		ap.scope = pol.scope;
		ap.message = pol.message;
		ap.spend = pol.spend;
		ap.ctx = pol.ctx;
		rc = phr_groth16_age_check(&vk, &proof, (const uint8_t(*)[32])in, n, &ap);
	}
	if (rc != PHR_OK) {
		phr_cli_error("zk verify: rejected: %s", reason(rc));
		goto out;
	}
	if (n == 0 || phr_groth16_dec_format(dec, sizeof(dec), in[0]) != PHR_OK)
		goto out;
	printf("{\"valid\": true, \"circuit\": \"%s\", \"nullifier\": \"%s\"}\n", circuit, dec);
	status = PHR_EXIT_OK;
out:
	phr_buf_release(&pb);
	phr_buf_release(&vb);
	return status;
}

int phr_cmd_zk(int argc, char **argv)
{
	static const char *driver_cmds[] = { "identity",  "leaf",      "root",
					     "attester-key", "attest", "prove-age", "prove-trial" };
	const char *sub;

	if (argc < 2 || phr_cli_wants_help(argc, argv)) {
		fputs(USAGE, argc < 2 ? stderr : stdout);
		return argc < 2 ? PHR_EXIT_USAGE : PHR_EXIT_OK;
	}
	sub = argv[1];
	if (strcmp(sub, "verify") == 0)
		return cmd_verify(argc - 1, argv + 1);
	if (strcmp(sub, "prove") == 0)
		return run_driver("prove-provider", argc - 1, argv + 1);
	for (size_t i = 0; i < sizeof(driver_cmds) / sizeof(driver_cmds[0]); i++)
		if (strcmp(sub, driver_cmds[i]) == 0)
			return run_driver(sub, argc - 1, argv + 1);
	phr_cli_error("zk: unknown command %s", sub);
	fputs(USAGE, stderr);
	return PHR_EXIT_USAGE;
}
