/* `phr record submit|get|list`: records over a node's API. */
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

int phr_cmd_record(int argc, char **argv);

static const char usage[] =
	"usage: phr record submit --patient ADDR --type N (--file F | --text T) [--supersedes ID]\n"
	"                         [--keystore FILE [--password-file F] [--chain-rpc URL]]\n"
	"       phr record get ID [--out FILE] [--meta] [--purpose N]\n"
	"                         [--keystore FILE [--password-file F] [--chain-rpc URL]]\n"
	"       phr record list [--patient ADDR]\n"
	"  common: [--node URL] [--token T | --token-file F [--as NAME]] [--json]\n"
	"\n"
	"  submit  submitRecord: the node encrypts the record under a fresh key, stores the\n"
	"          ciphertext, wraps the key to the patient and the provider, and mints the\n"
	"          record token to the patient (types: 0 General, 1 Vaccination, 2 Procedure,\n"
	"          3 Chronic, 4 Preventive, 5 LabResult, 6 Imaging, 7 Prescription, 8 Note,\n"
	"          9 EmergencySummary). With --keystore the provider's own client does it:\n"
	"          encrypts here, uploads only ciphertext (its CID checked), signs mintRecord\n"
	"          with its own key (sent through the node's relay, POST /api/v1/tx) and\n"
	"          uploads the two capsules\n"
	"  get     the decrypted record (to stdout or --out), or with --meta getRecord's\n"
	"          metadata, ciphertext and key capsule; every read is audited (View)\n"
	"          With --keystore the keys never reach the node: the CLI logs the View on\n"
	"          chain with its own key, gets the ciphertext and its key capsule, unwraps\n"
	"          and decrypts here and checks the salted hash on chain\n"
	"  list    records of a patient (default: the signed-in address)\n";

struct kv {
	const char *patient, *type, *file, *text, *supersedes, *out, *purpose, *keystore, *pwfile,
		*chain_rpc;
	bool meta;
};

static int parse(struct kv *k, struct phr_cli_api *a, const char **pos, int argc, char **argv)
{
	for (int i = 2; i < argc; i++) {
		const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		int t = phr_cli_api_opt(a, &i, argc, argv);
		if (t < 0)
			return -1;
		if (t > 0)
			continue;
		if (strcmp(o, "--meta") == 0) {
			k->meta = true;
			continue;
		}
		if (o[0] != '-') {
			*pos = o;
			continue;
		}
		if (v == NULL) {
			phr_cli_error("record: %s needs a value", o);
			return -1;
		}
		if (strcmp(o, "--patient") == 0)
			k->patient = v;
		else if (strcmp(o, "--type") == 0)
			k->type = v;
		else if (strcmp(o, "--file") == 0)
			k->file = v;
		else if (strcmp(o, "--text") == 0)
			k->text = v;
		else if (strcmp(o, "--supersedes") == 0)
			k->supersedes = v;
		else if (strcmp(o, "--out") == 0)
			k->out = v;
		else if (strcmp(o, "--purpose") == 0)
			k->purpose = v;
		else if (strcmp(o, "--keystore") == 0)
			k->keystore = v;
		else if (strcmp(o, "--password-file") == 0)
			k->pwfile = v;
		else if (strcmp(o, "--chain-rpc") == 0)
			k->chain_rpc = v;
		else {
			phr_cli_error("record: unknown option %s", o);
			return -1;
		}
		i++;
	}
	return 0;
}

static bool safe_token(const char *s)
{
	for (; s && *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z')))
			return false;
	return true;
}

static int read_append(struct phr_buf *b, const char *path)
{
	struct phr_buf f;
	int rv;

	phr_buf_init(&f, PHR_API_MAX_UPLOAD);
	rv = phr_file_read(&f, path, PHR_API_MAX_UPLOAD);
	if (rv == PHR_OK && f.len > 0)
		rv = phr_buf_append(b, f.data, f.len);
	phr_buf_release(&f);
	return rv;
}

/* submitRecord from the provider's own keystore: encrypt here, upload ciphertext,
 * mint with the provider's key, upload the capsules. */
static int submit_local(struct phr_cli_api *a, const struct kv *k)
{
	struct phr_chain *chain = NULL;
	struct phr_deployment d;
	struct phr_chain_receipt r;
	struct phr_import_opts ho = { 1, true, false };
	struct phr_importer *imp = NULL;
	struct phr_cid want;
	struct phr_buf env, ct, cd, out;
	struct phr_u256 sup = PHR_U256_ZERO, tid = PHR_U256_ZERO;
	uint8_t *sk = sodium_malloc(32), *bsk = sodium_malloc(32), *key = phr_crypto_key_new();
	uint8_t bpk[32], ppk[32], owner[20], patient[20], hash[32], cap[80];
	char want_s[PHR_CID_STR_MAX], path[300], id[PHR_U256_DEC_LEN], hx[PHR_HEX_LEN(32, true)];
	const char *got;
	uint64_t type = 0, at = 0;
	json_t *j = NULL;
	bool have_r = false;
	int rc = PHR_EXIT_FAIL, rv;

	phr_buf_init(&env, PHR_API_MAX_UPLOAD);
	phr_buf_init(&ct, PHR_API_MAX_UPLOAD + (PHR_API_MAX_UPLOAD >> 8));
	phr_buf_init(&cd, 0);
	phr_buf_init(&out, 0);
	if (sk == NULL || bsk == NULL || key == NULL || phr_crypto_init() != PHR_OK)
		goto done;
	if (phr_eth_address_parse(patient, k->patient) != PHR_OK || phr_parse_u64(&type, k->type) != PHR_OK ||
	    type > PHR_RECORD_TYPE_MAX || (k->supersedes && phr_u256_parse(&sup, k->supersedes) != 0)) {
		phr_cli_error("record submit: bad --patient, --type or --supersedes");
		rc = PHR_EXIT_USAGE;
		goto done;
	}
	/* the envelope: 32-byte salt, then the record */
	if (phr_buf_reserve(&env, 32) != PHR_OK)
		goto done;
	randombytes_buf(env.data, 32);
	env.len = 32;
	if (k->text != NULL ? phr_buf_append(&env, k->text, strlen(k->text)) != PHR_OK
			    : read_append(&env, k->file) != PHR_OK) {
		phr_cli_error("record submit: cannot read the record (at most 16 MiB)");
		goto done;
	}
	phr_keccak256(hash, env.data, env.len);
	if (phr_cli_api_signer(a, sk, k->keystore, k->pwfile) != 0 || phr_identity_box_keys(bpk, bsk, sk) != PHR_OK ||
	    phr_cli_api_chain(a, &chain, &d, k->chain_rpc) != 0)
		goto done;
	/* the patient's registered X25519 key */
	if (phr_contracts_patient_registry_patient_info_encode(&cd, patient) != PHR_OK ||
	    phr_chain_call(chain, &out, NULL, d.registry, cd.data, cd.len) != PHR_OK ||
	    phr_contracts_patient_registry_patient_info_decode(owner, ppk, &at, out.data, out.len) != PHR_OK ||
	    at == 0) {
		phr_cli_error("record submit: the patient is not registered");
		goto done;
	}
	if (phr_crypto_encrypt_buf(&ct, key, env.data, env.len, PHR_CRYPTO_CHUNK_DEFAULT) != PHR_OK ||
	    phr_importer_new(&imp, NULL, &ho) != PHR_OK || phr_importer_write(imp, ct.data, ct.len) != PHR_OK ||
	    phr_importer_finish(imp, &want, NULL) != PHR_OK || phr_cid_format(want_s, sizeof(want_s), &want) != PHR_OK)
		goto done;
	sodium_memzero(env.data, env.len);
	/* the node stores ciphertext only, and must name it by the CID computed here */
	if (phr_cli_api_call(a, &j, "POST", "/api/v1/ciphertext", "application/octet-stream", ct.data,
			     ct.len, NULL) != PHR_EXIT_OK)
		goto done;
	if (phr_json_get_str(&got, j, "cid") != PHR_OK || strcmp(got, want_s) != 0) {
		phr_cli_error("record submit: the node stored something else than the ciphertext");
		goto done;
	}
	phr_buf_reset(&cd);
	if (phr_contracts_health_record_nft_mint_record_encode(&cd, patient, hash, want_s, type, &sup) != PHR_OK)
		goto done;
	rv = phr_node_tx_send(chain, d.chain_id, &r, sk, d.nft, cd.data, cd.len);
	if (rv != PHR_OK) {
		phr_cli_error("record submit: mintRecord refused: %s", phr_strerror(rv));
		goto done;
	}
	have_r = true;
	for (size_t i = 0; i < r.logs_count; i++) {
		struct phr_contracts_health_record_nft_record_minted_event ev;
		if (phr_contracts_health_record_nft_record_minted_event_decode(
			    &ev, (const uint8_t(*)[32])r.logs[i].topics, r.logs[i].topics_count,
			    r.logs[i].data, r.logs[i].data_len) == PHR_OK) {
			tid = ev.token_id;
			phr_contracts_health_record_nft_record_minted_event_release(&ev);
		}
	}
	if (phr_u256_is_zero(&tid))
		goto done;
	phr_u256_to_dec(id, &tid);
	/* capsules for the patient and for the provider itself */
	for (int i = 0; i < 2; i++) {
		uint8_t who[20];
		char who_s[PHR_ETH_ADDRESS_STR_LEN];
		json_t *cj = NULL;
		if (i == 0)
			memcpy(who, patient, 20);
		else if (phr_eth_address_from_seckey(who, sk) != PHR_OK)
			goto done;
		phr_eth_address_checksum(who_s, who);
		if (phr_crypto_key_wrap(cap, i == 0 ? ppk : bpk, key) != PHR_OK)
			goto done;
		snprintf(path, sizeof(path), "/api/v1/records/%s/capsules/%s", id, who_s);
		if (phr_cli_api_call(a, &cj, "PUT", path, "application/octet-stream", cap, sizeof(cap),
				     NULL) != PHR_EXIT_OK)
			goto done;
		json_decref(cj);
	}
	if (phr_hex_encode(hx, sizeof(hx), hash, 32, true) != PHR_OK)
		goto done;
	printf("{\"id\":\"%s\",\"cid\":\"%s\",\"dataHash\":\"%s\",\"patient\":\"%s\"}\n", id, want_s,
	       hx, k->patient);
	rc = PHR_EXIT_OK;
done:
	if (env.data != NULL)
		sodium_memzero(env.data, env.len);
	if (have_r)
		phr_chain_receipt_release(&r);
	phr_importer_free(imp);
	json_decref(j);
	phr_chain_close(chain);
	phr_buf_release(&env);
	phr_buf_release(&ct);
	phr_buf_release(&cd);
	phr_buf_release(&out);
	phr_crypto_key_free(key);
	if (sk)
		sodium_free(sk);
	if (bsk)
		sodium_free(bsk);
	phr_cli_api_done(a);
	return rc;
}

static int submit(struct phr_cli_api *a, const struct kv *k)
{
	char path[512];
	struct phr_buf data;
	int rc;

	if (k->patient == NULL || k->type == NULL || (k->file == NULL) == (k->text == NULL) ||
	    !safe_token(k->patient) || !safe_token(k->type) || !safe_token(k->supersedes)) {
		phr_cli_error("record submit: --patient, --type and one of --file/--text are required");
		return PHR_EXIT_USAGE;
	}
	if (k->keystore != NULL)
		return submit_local(a, k);
	if (k->text != NULL) {
		json_t *b = json_pack("{s:s,s:s,s:s}", "patient", k->patient, "text", k->text,
				      "type", k->type);
		uint64_t t;
		if (b == NULL || phr_parse_u64(&t, k->type) != PHR_OK) {
			json_decref(b);
			phr_cli_error("record submit: bad --type");
			return PHR_EXIT_USAGE;
		}
		json_object_set_new(b, "type", json_integer((json_int_t)t));
		if (k->supersedes)
			json_object_set_new(b, "supersedes", json_string(k->supersedes));
		rc = phr_cli_api_print(a, "POST", "/api/v1/records", b, NULL);
		json_decref(b);
		return rc;
	}
	/* a file goes as a raw body, metadata in the query */
	phr_buf_init(&data, PHR_API_MAX_UPLOAD);
	if (phr_file_read(&data, k->file, PHR_API_MAX_UPLOAD) != PHR_OK) {
		phr_cli_error("record submit: cannot read %s (at most 16 MiB)", k->file);
		phr_buf_release(&data);
		return PHR_EXIT_FAIL;
	}
	snprintf(path, sizeof(path), "/api/v1/records?patient=%s&type=%s%s%s", k->patient, k->type,
		 k->supersedes ? "&supersedes=" : "", k->supersedes ? k->supersedes : "");
	rc = phr_cli_api_call(a, NULL, "POST", path, "application/octet-stream", data.data, data.len,
			      NULL);
	if (rc == PHR_EXIT_OK)
		putchar('\n');
	phr_buf_release(&data);
	return rc;
}

static int write_out(const struct kv *k, const uint8_t *p, size_t n)
{
	if (k->out != NULL) {
		if (phr_file_write_atomic(k->out, n ? p : (const uint8_t *)"", n, 0600) != PHR_OK) {
			phr_cli_error("record get: cannot write %s", k->out);
			return PHR_EXIT_FAIL;
		}
		return PHR_EXIT_OK;
	}
	return fwrite(p, 1, n, stdout) == n ? PHR_EXIT_OK : PHR_EXIT_FAIL;
}

/* getRecord with the caller's own keys: audit, fetch, unwrap, decrypt, verify. */
static int get_local_keys(struct phr_cli_api *a, const struct kv *k, const char *id)
{
	struct phr_chain *chain = NULL;
	struct phr_deployment d;
	struct phr_chain_receipt r;
	struct phr_u256 rid, sup, sby;
	struct phr_buf cd, out, ct, pt, cidb;
	uint8_t *sk = sodium_malloc(32), *bsk = sodium_malloc(32), *key = sodium_malloc(32);
	uint8_t bpk[32], patient[20], prov[20], hash[32], h2[32], capsule[80];
	uint64_t rtype = 0, created = 0, purpose = 1;
	char path[512], txh[PHR_HEX_LEN(32, true)];
	const char *s;
	json_t *j = NULL;
	bool live = false, have_r = false;
	size_t n;
	int rc = PHR_EXIT_FAIL, rv;

	phr_buf_init(&cd, 0);
	phr_buf_init(&out, 0);
	phr_buf_init(&ct, PHR_RECORD_MAX + 4096);
	phr_buf_init(&pt, PHR_RECORD_MAX + 64);
	phr_buf_init(&cidb, 256);
	if (sk == NULL || bsk == NULL || key == NULL || phr_crypto_init() != PHR_OK)
		goto done;
	if (k->purpose != NULL && (phr_parse_u64(&purpose, k->purpose) != PHR_OK || purpose > 7)) {
		phr_cli_error("record get: --purpose 0..7");
		goto done;
	}
	if (phr_u256_parse(&rid, id) != 0 || phr_cli_api_signer(a, sk, k->keystore, k->pwfile) != 0 ||
	    phr_identity_box_keys(bpk, bsk, sk) != PHR_OK ||
	    phr_cli_api_chain(a, &chain, &d, k->chain_rpc) != 0)
		goto done;
	/* the record's patient and salted hash, from the chain */
	if (phr_contracts_health_record_nft_record_info_encode(&cd, &rid) != PHR_OK ||
	    phr_chain_call(chain, &out, NULL, d.nft, cd.data, cd.len) != PHR_OK ||
	    phr_contracts_health_record_nft_record_info_decode(patient, &rtype, &live, out.data, out.len) != PHR_OK ||
	    !live) {
		phr_cli_error("record get: no live record %s", id);
		goto done;
	}
	phr_buf_reset(&cd);
	phr_buf_reset(&out);
	if (phr_contracts_health_record_nft_record_of_encode(&cd, &rid) != PHR_OK ||
	    phr_chain_call(chain, &out, NULL, d.nft, cd.data, cd.len) != PHR_OK ||
	    phr_contracts_health_record_nft_record_of_decode(patient, &rtype, &created, prov, &sup, &sby,
							     hash, &cidb, out.data, out.len) != PHR_OK)
		goto done;
	/* the View, logged with the caller's own key (the contract checks access) */
	phr_buf_reset(&cd);
	if (phr_contracts_audit_trail_log_access_encode(&cd, patient, &rid, 0, purpose) != PHR_OK)
		goto done;
	rv = phr_node_tx_send(chain, d.chain_id, &r, sk, d.audit, cd.data, cd.len);
	if (rv != PHR_OK) {
		phr_cli_error("record get: logging the View was refused: %s", phr_strerror(rv));
		goto done;
	}
	have_r = true;
	if (phr_hex_encode(txh, sizeof(txh), r.tx_hash, 32, true) != PHR_OK)
		goto done;
	snprintf(path, sizeof(path), "/api/v1/records/%s?auditTx=%s&purpose=%llu", id, txh,
		 (unsigned long long)purpose);
	if (phr_cli_api_call(a, &j, "GET", path, NULL, NULL, 0, NULL) != PHR_EXIT_OK)
		goto done;
	if (phr_json_get_hex(capsule, sizeof(capsule), &n, j, "capsule") != PHR_OK || n != 80) {
		phr_cli_error("record get: no key capsule in the answer");
		goto done;
	}
	if (phr_json_get_str(&s, j, "ciphertext") == PHR_OK) {
		size_t bl = 0;
		if (phr_buf_reserve(&ct, strlen(s)) != PHR_OK ||
		    sodium_base642bin(ct.data, ct.cap - 1, s, strlen(s), NULL, &bl, NULL,
				      sodium_base64_VARIANT_ORIGINAL) != 0)
			goto done;
		ct.len = bl;
	} else {
		/* large records: the ciphertext from the gateway */
		long status = 0;
		snprintf(path, sizeof(path), "/ipfs/%.*s", (int)cidb.len, (const char *)cidb.data);
		if (phr_api_client_call(&status, &ct, a->node, "GET", path, NULL, NULL, NULL, 0, NULL) !=
			    PHR_OK || status != 200) {
			phr_cli_error("record get: cannot fetch the ciphertext");
			goto done;
		}
	}
	if (phr_crypto_key_unwrap(key, capsule, bpk, bsk) != PHR_OK ||
	    phr_crypto_decrypt_buf(&pt, key, ct.data, ct.len) != PHR_OK || pt.len < 32) {
		phr_cli_error("record get: the capsule or the ciphertext does not open with this key");
		goto done;
	}
	phr_keccak256(h2, pt.data, pt.len);
	if (sodium_memcmp(h2, hash, 32) != 0) {
		phr_cli_error("record get: the plaintext does not match the hash on chain");
		goto done;
	}
	rc = write_out(k, pt.data + 32, pt.len - 32);
done:
	if (pt.data != NULL)
		sodium_memzero(pt.data, pt.len);
	if (have_r)
		phr_chain_receipt_release(&r);
	json_decref(j);
	phr_chain_close(chain);
	phr_buf_release(&cd);
	phr_buf_release(&out);
	phr_buf_release(&ct);
	phr_buf_release(&pt);
	phr_buf_release(&cidb);
	if (sk)
		sodium_free(sk);
	if (bsk)
		sodium_free(bsk);
	if (key)
		sodium_free(key);
	phr_cli_api_done(a);
	return rc;
}

static int get(struct phr_cli_api *a, const struct kv *k, const char *id)
{
	char path[256];
	struct phr_buf resp;
	long status = 0;
	int rv;

	if (id == NULL || !safe_token(id) || !safe_token(k->purpose)) {
		phr_cli_error("record get: a record ID is required");
		return PHR_EXIT_USAGE;
	}
	if (k->keystore != NULL)
		return get_local_keys(a, k, id);
	snprintf(path, sizeof(path), "/api/v1/records/%s%s%s%s", id, k->meta ? "" : "/content",
		 k->purpose ? "?purpose=" : "", k->purpose ? k->purpose : "");
	if (k->meta)
		return phr_cli_api_print(a, "GET", path, NULL, NULL);
	if (k->out == NULL)
		return phr_cli_api_call(a, NULL, "GET", path, NULL, NULL, 0, NULL);
	phr_buf_init(&resp, (size_t)80 << 20);
	rv = phr_api_client_call(&status, &resp, a->node, "GET", path, a->token, NULL, NULL, 0, NULL);
	if (rv != PHR_OK || status != 200) {
		phr_cli_error("record get: %s", rv != PHR_OK ? phr_strerror(rv)
				 : resp.data ? (const char *)resp.data : "refused");
		phr_buf_release(&resp);
		return PHR_EXIT_FAIL;
	}
	rv = phr_file_write_atomic(k->out, resp.data ? resp.data : (uint8_t *)"", resp.len, 0600);
	phr_buf_release(&resp);
	if (rv != PHR_OK) {
		phr_cli_error("record get: cannot write %s", k->out);
		return PHR_EXIT_FAIL;
	}
	return PHR_EXIT_OK;
}

int phr_cmd_record(int argc, char **argv)
{
	struct phr_cli_api a = { 0 };
	struct kv k = { 0 };
	const char *sub = argc > 1 ? argv[1] : NULL, *pos = NULL;
	char path[256];

	if (phr_cli_wants_help(argc, argv) || sub == NULL) {
		fputs(usage, sub ? stdout : stderr);
		return sub ? PHR_EXIT_OK : PHR_EXIT_USAGE;
	}
	if (parse(&k, &a, &pos, argc, argv) != 0 || phr_cli_api_ready(&a, k.keystore == NULL) != 0)
		return PHR_EXIT_USAGE;
	if (strcmp(sub, "submit") == 0)
		return submit(&a, &k);
	if (strcmp(sub, "get") == 0)
		return get(&a, &k, pos);
	if (strcmp(sub, "list") == 0) {
		char me[64];
		if (k.patient == NULL && phr_cli_api_me(&a, me) != 0)
			return PHR_EXIT_FAIL;
		if (!safe_token(k.patient))
			return PHR_EXIT_USAGE;
		snprintf(path, sizeof(path), "/api/v1/patients/%s/records", k.patient ? k.patient : me);
		return phr_cli_api_print(&a, "GET", path, NULL, NULL);
	}
	phr_cli_error("record: unknown subcommand %s", sub);
	return PHR_EXIT_USAGE;
}
