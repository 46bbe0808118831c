/* `phr access grant|revoke|request|approve|deny|list`: grants and requests over a node's API. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cmd_api.h"
#include <sodium.h>

#include "phr/chain.h"
#include "phr/contracts.h"
#include "phr/crypto.h"
#include "phr/json.h"
#include "phr/phr.h"
#include "phr/store.h"

int phr_cmd_access(int argc, char **argv);

static const char usage[] =
	"usage: phr access grant --provider ADDR --level read|write|admin [--scope S]\n"
	"                        (--duration SECONDS | --expiry UNIXTIME) [--patient ADDR] [--totp CODE]\n"
	"       phr access revoke --provider ADDR [--scope S] [--patient ADDR]\n"
	"       phr access request --patient ADDR --purpose N --duration SECONDS [--level L] [--scope S]\n"
	"       phr access approve|deny REQUEST_ID [--totp CODE]\n"
	"       phr access list [--patient ADDR] [--requests]\n"
	"  signing: [--keystore FILE [--password-file F] [--chain-rpc URL]] (grant, revoke,\n"
	"           request, approve, deny)\n"
	"  common: [--node URL] [--token T | --token-file F [--as NAME]] [--json]\n"
	"\n"
	"Scopes S: all (default), category:N (a record type), record:ID.\n"
	"With --keystore the caller's own client signs the transaction (grantAccess,\n"
	"revokeAccess, requestAccess, approveRequest, denyRequest) with the keystore's key\n"
	"and hands it to the node's relay (POST /api/v1/tx); the key never leaves this\n"
	"process. Without it the node signs for identities it hosts (phr node --dev).\n"
	"A grant wraps the data keys of the shared records to the provider's registered\n"
	"key; with --keystore the CLI opens the patient's key capsules here and uploads\n"
	"capsules sealed to the provider.\n"
	"An Admin grant (and approving a request for Admin access) needs a TOTP code\n"
	"(--totp) once the caller has enrolled (POST /api/v1/me/totp). Purposes N:\n"
	"0 Unspecified, 1 Treatment, 2 Payment, 3 Operations, 4 Emergency, 5 Research,\n"
	"6 PatientRequest, 7 Legal. Reads use the node's /rpc, or --chain-rpc URL\n"
	"($PHR_CHAIN_RPC) when the node runs on an external chain.\n";

static const char *const opts[] = { "--provider", "--patient", "--level", "--scope", "--duration",
				    "--expiry", "--purpose", "--totp", "--keystore", "--password-file",
				    "--chain-rpc" };

static json_t *scope_json(const char *s)
{
	uint64_t v;

	if (s == NULL || strcmp(s, "all") == 0)
		return json_string("all");
	if (strncmp(s, "category:", 9) == 0 && phr_parse_u64(&v, s + 9) == PHR_OK)
		return json_pack("{s:I}", "category", (json_int_t)v);
	if (strncmp(s, "record:", 7) == 0)
		return json_pack("{s:s}", "record", s + 7);
	return json_string(s);
}

/* The contract's 32-byte scope of a --scope value. @return 0 or -1. */
static int scope_bytes(uint8_t scope[32], const char *s)
{
	json_t *sj = scope_json(s);
	struct phr_u256 rid;
	int rv = 0;

	memset(scope, 0, 32);
	if (json_is_object(sj) && json_object_get(sj, "category") != NULL) {
		json_int_t v = json_integer_value(json_object_get(sj, "category"));
		if (v < 0 || v > PHR_RECORD_TYPE_MAX)
			rv = -1;
		else
			phr_scope_category(scope, (unsigned)v);
	} else if (json_is_object(sj)) {
		const char *id = json_string_value(json_object_get(sj, "record"));
		if (id == NULL || phr_u256_parse(&rid, id) != 0)
			rv = -1;
		else
			phr_scope_record(scope, &rid);
	} else if (!json_is_string(sj) || strcmp(json_string_value(sj), "all") != 0) {
		rv = -1;
	}
	json_decref(sj);
	if (rv != 0)
		phr_cli_error("access: --scope all, category:N or record:ID");
	return rv;
}

/* A --level value: 1 read, 2 write, 3 admin, 0 for anything else. */
static uint64_t level_of(const char *s)
{
	return s == NULL ? 0 : strcmp(s, "read") == 0 ? 1 : strcmp(s, "write") == 0 ? 2
			     : strcmp(s, "admin") == 0 ? 3 : 0;
}

static bool in_scope(const char *scope, const char *id, uint64_t type)
{
	uint64_t v;

	if (scope == NULL || strcmp(scope, "all") == 0)
		return true;
	if (strncmp(scope, "category:", 9) == 0)
		return phr_parse_u64(&v, scope + 9) == PHR_OK && v == type;
	if (strncmp(scope, "record:", 7) == 0)
		return strcmp(scope + 7, id) == 0;
	return false;
}

/* Re-seals the data key of record @p id (from the patient's capsule) to @p pk and uploads it. */
static int rewrap(struct phr_cli_api *a, const char *id, const char *me, const char *provider,
		  const uint8_t pk[32], const uint8_t bpk[32], const uint8_t *bsk)
{
	char path[400];
	json_t *j = NULL;
	const char *cid_s;
	struct phr_cid cid;
	struct phr_buf blk, resp;
	uint8_t *key = sodium_malloc(32), cap[80];
	long status = 0;
	int rv = -1;

	phr_buf_init(&blk, 1024);
	phr_buf_init(&resp, 65536);
	snprintf(path, sizeof(path), "/api/v1/records/%s/capsules/%s", id, me);
	if (key == NULL || phr_cli_api_call(a, &j, "GET", path, NULL, NULL, 0, NULL) != PHR_EXIT_OK ||
	    phr_json_get_str(&cid_s, j, "cid") != PHR_OK || phr_cid_parse(&cid, cid_s) != PHR_OK)
		goto done;
	snprintf(path, sizeof(path), "/ipfs/%s?format=raw", cid_s);
	/* the block is checked against its CID before it is opened */
	if (phr_api_client_call(&status, &blk, a->node, "GET", path, NULL, NULL, NULL, 0, NULL) != PHR_OK ||
	    status != 200 || phr_cid_verify(&cid, blk.data, blk.len) != PHR_OK || blk.len != 80 ||
	    phr_crypto_key_unwrap(key, blk.data, bpk, bsk) != PHR_OK ||
	    phr_crypto_key_wrap(cap, pk, key) != PHR_OK)
		goto done;
	snprintf(path, sizeof(path), "/api/v1/records/%s/capsules/%s", id, provider);
	if (phr_api_client_call(&status, &resp, a->node, "PUT", path, a->token,
				"application/octet-stream", cap, sizeof(cap), NULL) == PHR_OK && status == 201)
		rv = 0;
done:
	if (key)
		sodium_free(key);
	json_decref(j);
	phr_buf_release(&blk);
	phr_buf_release(&resp);
	return rv;
}

/* The patient's own client: grantAccess signed here, capsules re-sealed here. */
static int grant_local(struct phr_cli_api *a, const char *const *val, json_t *b)
{
	struct phr_chain *chain = NULL;
	struct phr_deployment d;
	struct phr_buf cd, out;
	uint8_t *sk = sodium_malloc(32), *bsk = sodium_malloc(32), bpk[32], me[20], prov[20], pk[32],
		owner[20], scope[32] = { 0 };
	char me_s[PHR_ETH_ADDRESS_STR_LEN], path[256];
	uint64_t level = 0, expiry = 0, now = 0, at = 0;
	json_t *list = NULL, *e;
	size_t i, wrapped = 0, failed = 0;
	int rc = PHR_EXIT_FAIL, rv;

	phr_buf_init(&cd, 0);
	phr_buf_init(&out, 0);
	if (sk == NULL || bsk == NULL || phr_crypto_init() != PHR_OK)
		goto done;
	if (val[0] == NULL || phr_eth_address_parse(prov, val[0]) != PHR_OK || val[2] == NULL) {
		phr_cli_error("access grant: --provider ADDR and --level are required");
		rc = PHR_EXIT_USAGE;
		goto done;
	}
	level = level_of(val[2]);
	if (level == 0) {
		phr_cli_error("access grant: --level read, write or admin");
		rc = PHR_EXIT_USAGE;
		goto done;
	}
	a->totp = val[7];
	if (phr_cli_api_signer(a, sk, val[8], val[9]) != 0 || phr_identity_box_keys(bpk, bsk, sk) != PHR_OK ||
	    phr_eth_address_from_seckey(me, sk) != PHR_OK || phr_cli_api_chain(a, &chain, &d, val[10]) != 0)
		goto done;
	phr_eth_address_checksum(me_s, me);
	/* the scope in the contract's form */
	if (scope_bytes(scope, val[3]) != 0)
		goto done;
	if (val[5] != NULL) {
		if (phr_parse_u64(&expiry, val[5]) != PHR_OK)
			goto done;
	} else {
		uint64_t dur = 0;
		if (val[4] == NULL || phr_parse_u64(&dur, val[4]) != PHR_OK || dur == 0 ||
		    phr_chain_block_number(chain, &now) != PHR_OK) {
			phr_cli_error("access grant: --duration or --expiry is required");
			rc = PHR_EXIT_USAGE;
			goto done;
		}
		/* chain time: the latest block's timestamp */
		{
			json_t *blk = NULL;
			struct phr_rpc_error err = { 0 };
			const char *ts;
			if (phr_chain_request(chain, &blk, &err, "eth_getBlockByNumber",
					      json_pack("[sb]", "latest", 0)) != PHR_OK ||
			    phr_json_get_str(&ts, blk, "timestamp") != PHR_OK ||
			    phr_parse_u64(&now, ts) != PHR_OK) {
				json_decref(blk);
				json_decref(err.data);
				goto done;
			}
			json_decref(blk);
		}
		expiry = now + dur;
	}
	if (phr_contracts_patient_registry_grant_access_encode(&cd, me, prov, level, scope, expiry) != PHR_OK)
		goto done;
	rv = phr_node_tx_send(chain, d.chain_id, NULL, sk, d.registry, cd.data, cd.len);
	if (rv != PHR_OK) {
		phr_cli_error("access grant: refused: %s", phr_strerror(rv));
		goto done;
	}
	/* the provider's registered X25519 key, then every record in scope */
	phr_buf_reset(&cd);
	if (phr_contracts_patient_registry_patient_info_encode(&cd, prov) != PHR_OK ||
	    phr_chain_call(chain, &out, NULL, d.registry, cd.data, cd.len) != PHR_OK ||
	    phr_contracts_patient_registry_patient_info_decode(owner, pk, &at, out.data, out.len) != PHR_OK ||
	    at == 0) {
		phr_cli_error("access grant: granted, but the provider has no registered key: no capsules");
		rc = PHR_EXIT_OK;
		goto done;
	}
	snprintf(path, sizeof(path), "/api/v1/patients/%s/records", me_s);
	if (phr_cli_api_call(a, &list, "GET", path, NULL, NULL, 0, NULL) != PHR_EXIT_OK)
		goto done;
	json_array_foreach(json_object_get(list, "items"), i, e) {
		const char *id = json_string_value(json_object_get(e, "id"));
		uint64_t type = (uint64_t)json_integer_value(json_object_get(e, "type"));
		if (id == NULL || !in_scope(val[3], id, type))
			continue;
		if (rewrap(a, id, me_s, val[0], pk, bpk, bsk) == 0)
			wrapped++;
		else
			failed++;
	}
	json_object_set_new(b, "patient", json_string(me_s));
	json_object_set_new(b, "expiry", json_integer((json_int_t)expiry));
	json_object_set_new(b, "wrapped", json_integer((json_int_t)wrapped));
	json_object_set_new(b, "notWrapped", json_integer((json_int_t)failed));
	{
		char *t = json_dumps(b, a->raw_json ? JSON_COMPACT : JSON_INDENT(2));
		if (t)
			puts(t);
		free(t);
	}
	rc = failed == 0 ? PHR_EXIT_OK : PHR_EXIT_FAIL;
done:
	json_decref(list);
	phr_chain_close(chain);
	phr_buf_release(&cd);
	phr_buf_release(&out);
	if (sk)
		sodium_free(sk);
	if (bsk)
		sodium_free(bsk);
	phr_cli_api_done(a);
	return rc;
}

/* revoke, request, approve and deny signed with the caller's own key (keystore). */
static int access_local(struct phr_cli_api *a, const char *sub, const char *const *val,
			const char *pos)
{
	struct phr_cli_local l = { 0 };
	struct phr_chain_receipt r;
	struct phr_buf cd;
	struct phr_u256 id = PHR_U256_ZERO;
	uint8_t other[20], scope[32];
	uint64_t purpose = 0, duration = 0, level = PHR_LEVEL_READ;
	char idbuf[PHR_U256_DEC_LEN];
	bool have_r = false;
	int rc = PHR_EXIT_USAGE;

	phr_buf_init(&cd, 0);
	/* arguments first: nothing is signed for a malformed command */
	if (strcmp(sub, "revoke") == 0) {
		if (val[0] == NULL || phr_eth_address_parse(other, val[0]) != PHR_OK ||
		    scope_bytes(scope, val[3]) != 0) {
			phr_cli_error("access revoke: --provider ADDR is required");
			goto done;
		}
	} else if (strcmp(sub, "request") == 0) {
		if (val[1] == NULL || phr_eth_address_parse(other, val[1]) != PHR_OK ||
		    val[6] == NULL || phr_parse_u64(&purpose, val[6]) != PHR_OK ||
		    purpose > PHR_PURPOSE_MAX || val[4] == NULL ||
		    phr_parse_u64(&duration, val[4]) != PHR_OK || duration == 0 ||
		    scope_bytes(scope, val[3]) != 0) {
			phr_cli_error("access request: --patient ADDR, --purpose 0..7 and --duration S are required");
			goto done;
		}
		if (val[2] != NULL) {
			level = level_of(val[2]);
			if (level == 0) {
				phr_cli_error("access request: --level read, write or admin");
				goto done;
			}
		}
	} else if (pos == NULL || strspn(pos, "0123456789") != strlen(pos) ||
		   phr_u256_parse(&id, pos) != 0) {
		phr_cli_error("access %s: a numeric REQUEST_ID is required", sub);
		goto done;
	}
	rc = PHR_EXIT_FAIL;
	a->totp = val[7];
	if (phr_cli_local_open(a, &l, val[8], val[9], val[10]) != 0)
		goto done;
	if (strcmp(sub, "revoke") == 0) {
		/* the patient, or an Admin delegate naming --patient */
		uint8_t patient[20];
		if (val[1] == NULL)
			memcpy(patient, l.addr, 20);
		else if (phr_eth_address_parse(patient, val[1]) != PHR_OK)
			goto done;
		if (phr_contracts_patient_registry_revoke_access_encode(&cd, patient, other, scope) != PHR_OK ||
		    phr_cli_local_send(&l, NULL, l.d->registry, &cd, "access revoke") != 0)
			goto done;
		printf("{\"provider\":\"%s\",\"revoked\":true}\n", val[0]);
	} else if (strcmp(sub, "request") == 0) {
		if (phr_contracts_patient_registry_request_access_encode(&cd, other, purpose, duration, level,
									   scope) != PHR_OK ||
		    phr_cli_local_send(&l, &r, l.d->registry, &cd, "access request") != 0)
			goto done;
		have_r = true;
		for (size_t i = 0; i < r.logs_count; i++) {
			struct phr_contracts_patient_registry_access_requested_event ev;
			if (phr_contracts_patient_registry_access_requested_event_decode(
				    &ev, (const uint8_t(*)[32])r.logs[i].topics, r.logs[i].topics_count,
				    r.logs[i].data, r.logs[i].data_len) == PHR_OK)
				id = ev.id;
		}
		phr_u256_to_dec(idbuf, &id);
		printf("{\"id\":\"%s\",\"patient\":\"%s\",\"status\":\"Pending\"}\n", idbuf, val[1]);
	} else {
		bool approve = strcmp(sub, "approve") == 0;
		if ((approve ? phr_contracts_patient_registry_approve_request_encode(&cd, &id)
			     : phr_contracts_patient_registry_deny_request_encode(&cd, &id)) != PHR_OK ||
		    phr_cli_local_send(&l, NULL, l.d->registry, &cd, approve ? "access approve"
									   : "access deny") != 0)
			goto done;
		printf("{\"id\":\"%s\",\"status\":\"%s\"}\n", pos, approve ? "Approved" : "Denied");
	}
	rc = PHR_EXIT_OK;
done:
	if (have_r)
		phr_chain_receipt_release(&r);
	phr_cli_local_close(a, &l);
	phr_buf_release(&cd);
	return rc;
}

static int set_u64(json_t *b, const char *key, const char *v)
{
	uint64_t x;

	if (v == NULL)
		return 0;
	if (phr_parse_u64(&x, v) != PHR_OK) {
		phr_cli_error("access: %s must be a number", key);
		return -1;
	}
	json_object_set_new(b, key, json_integer((json_int_t)x));
	return 0;
}

int phr_cmd_access(int argc, char **argv)
{
	struct phr_cli_api a = { 0 };
	const char *sub = argc > 1 ? argv[1] : NULL, *val[11] = { 0 }, *pos = NULL;
	bool requests = false;
	char path[256], me[64], hdr[64];
	json_t *b;
	int rc = PHR_EXIT_USAGE;

	if (phr_cli_wants_help(argc, argv) || sub == NULL) {
		fputs(usage, sub ? stdout : stderr);
		return sub ? PHR_EXIT_OK : PHR_EXIT_USAGE;
	}
	for (int i = 2; i < argc; i++) {
		int t = phr_cli_api_opt(&a, &i, argc, argv);
		size_t j;
		if (t < 0)
			return PHR_EXIT_USAGE;
		if (t > 0)
			continue;
		if (strcmp(argv[i], "--requests") == 0) {
			requests = true;
			continue;
		}
		if (argv[i][0] != '-') {
			pos = argv[i];
			continue;
		}
		for (j = 0; j < PHR_ARRAY_LEN(opts) && strcmp(opts[j], argv[i]) != 0; j++)
			;
		if (j == PHR_ARRAY_LEN(opts) || i + 1 >= argc) {
			phr_cli_error("access: bad option %s (see phr access --help)", argv[i]);
			return PHR_EXIT_USAGE;
		}
		val[j] = argv[++i];
	}
	if (phr_cli_api_ready(&a, val[8] == NULL) != 0)
		return PHR_EXIT_USAGE;
	if (val[8] != NULL && strcmp(sub, "grant") != 0 && strcmp(sub, "list") != 0) {
		if (strcmp(sub, "revoke") != 0 && strcmp(sub, "request") != 0 &&
		    strcmp(sub, "approve") != 0 && strcmp(sub, "deny") != 0) {
			phr_cli_error("access: unknown subcommand %s", sub);
			return PHR_EXIT_USAGE;
		}
		return access_local(&a, sub, val, pos);
	}
	b = json_object();
	if (b == NULL)
		return PHR_EXIT_FAIL;
	if (val[0])
		json_object_set_new(b, "provider", json_string(val[0]));
	if (val[1])
		json_object_set_new(b, "patient", json_string(val[1]));
	if (val[2])
		json_object_set_new(b, "level", json_string(val[2]));
	if (strcmp(sub, "grant") == 0 && val[8] != NULL) {
		rc = grant_local(&a, val, b);
	} else if (strcmp(sub, "grant") == 0) {
		json_object_set_new(b, "scope", scope_json(val[3]));
		if (set_u64(b, "duration", val[4]) == 0 && set_u64(b, "expiry", val[5]) == 0) {
			snprintf(hdr, sizeof(hdr), "X-PHR-TOTP: %s", val[7] ? val[7] : "");
			rc = phr_cli_api_print(&a, "POST", "/api/v1/access/grants", b,
					       val[7] ? hdr : NULL);
		}
	} else if (strcmp(sub, "revoke") == 0) {
		json_object_set_new(b, "scope", scope_json(val[3]));
		rc = phr_cli_api_print(&a, "POST", "/api/v1/access/revoke", b, NULL);
	} else if (strcmp(sub, "request") == 0) {
		json_object_set_new(b, "scope", scope_json(val[3]));
		if (set_u64(b, "duration", val[4]) == 0 && set_u64(b, "purpose", val[6]) == 0)
			rc = phr_cli_api_print(&a, "POST", "/api/v1/access/requests", b, NULL);
	} else if (strcmp(sub, "approve") == 0 || strcmp(sub, "deny") == 0) {
		if (pos == NULL || strspn(pos, "0123456789") != strlen(pos)) {
			phr_cli_error("access %s: a numeric REQUEST_ID is required", sub);
		} else {
			snprintf(path, sizeof(path), "/api/v1/access/requests/%s/%s", pos, sub);
			rc = phr_cli_api_print(&a, "POST", path, NULL, NULL);
		}
	} else if (strcmp(sub, "list") == 0) {
		if (val[1] == NULL && phr_cli_api_me(&a, me) != 0) {
			rc = PHR_EXIT_FAIL;
		} else {
			snprintf(path, sizeof(path), "/api/v1/patients/%s/%s", val[1] ? val[1] : me,
				 requests ? "requests" : "grants");
			rc = phr_cli_api_print(&a, "GET", path, NULL, NULL);
		}
	} else {
		phr_cli_error("access: unknown subcommand %s", sub);
	}
	json_decref(b);
	return rc;
}
