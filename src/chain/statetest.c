/*
 * ethereum/tests GeneralStateTests runner: for every test with an entry for
 * the chosen fork, expands each (data, gas, value) case, builds the
 * pre-state, runs the transaction and compares the post-state root and the
 * logs hash.
 */
#include <dirent.h>
#include <jansson.h>
#include <sys/stat.h>

#include "phr/crypto.h"
#include "phr/state.h"
#include "phr/trie.h"

/* ------------------------------------------------------------------------- */
/* parsed test                                                               */
/* ------------------------------------------------------------------------- */

struct pre_slot {
	uint8_t key[32], val[32];
};

struct pre_acc {
	uint8_t addr[20];
	uint64_t nonce;
	struct phr_u256 balance;
	uint8_t *code;
	size_t code_len;
	struct pre_slot *slots;
	size_t slots_count;
};

struct test {
	const char *name;
	struct pre_acc *pre;
	size_t pre_count;
	struct phr_state_block blk;
	json_t *tx; /* borrowed from the document */
};

static void test_release(struct test *t)
{
	for (size_t i = 0; i < t->pre_count; i++) {
		phr_free(t->pre[i].code);
		phr_free(t->pre[i].slots);
	}
	phr_free(t->pre);
	t->pre = NULL;
	t->pre_count = 0;
}

static int hex_alloc(uint8_t **out, size_t *len, const char *s)
{
	size_t n = strlen(s);
	uint8_t *b = phr_malloc(n / 2 + 2);
	if (!b)
		return PHR_ERR_NOMEM;
	int rc = phr_hex_decode(b, n / 2 + 2, len, s, n);
	if (rc) {
		phr_free(b);
		return rc;
	}
	*out = b;
	return PHR_OK;
}

static int get_u256(struct phr_u256 *v, const json_t *j)
{
	const char *s = json_string_value(j);
	if (!s)
		return PHR_ERR_PARSE;
	return phr_u256_parse(v, s) ? PHR_ERR_RANGE : PHR_OK;
}

static int get_u64(uint64_t *v, const json_t *j)
{
	struct phr_u256 u;
	int rc = get_u256(&u, j);
	if (rc)
		return rc;
	if (!phr_u256_fits_u64(&u))
		return PHR_ERR_RANGE;
	*v = u.w[0];
	return PHR_OK;
}

static int get_word(uint8_t out[32], const char *s)
{
	struct phr_u256 u;
	if (phr_u256_parse(&u, s))
		return PHR_ERR_PARSE;
	phr_u256_to_be(out, &u);
	return PHR_OK;
}

static int get_addr(uint8_t out[20], const json_t *j)
{
	const char *s = json_string_value(j);
	return s ? phr_hex_decode_exact(out, 20, s) : PHR_ERR_PARSE;
}

static int parse_pre(struct test *t, json_t *pre)
{
	size_t n = json_object_size(pre), i = 0;
	t->pre = phr_calloc(n ? n : 1, sizeof(*t->pre));
	if (!t->pre)
		return PHR_ERR_NOMEM;
	const char *k;
	json_t *v;
	json_object_foreach(pre, k, v) {
		struct pre_acc *a = &t->pre[i++];
		t->pre_count = i;
		int rc = phr_hex_decode_exact(a->addr, 20, k);
		if (!rc)
			rc = get_u64(&a->nonce, json_object_get(v, "nonce"));
		if (!rc)
			rc = get_u256(&a->balance, json_object_get(v, "balance"));
		const char *code = json_string_value(json_object_get(v, "code"));
		if (!rc && code)
			rc = hex_alloc(&a->code, &a->code_len, code);
		json_t *storage = json_object_get(v, "storage");
		size_t sn = json_object_size(storage);
		if (!rc && sn) {
			a->slots = phr_calloc(sn, sizeof(*a->slots));
			if (!a->slots)
				return PHR_ERR_NOMEM;
			const char *sk;
			json_t *sv;
			json_object_foreach(storage, sk, sv) {
				struct pre_slot *s = &a->slots[a->slots_count++];
				if (!rc)
					rc = get_word(s->key, sk);
				if (!rc)
					rc = json_string_value(sv) ? get_word(s->val, json_string_value(sv))
								   : PHR_ERR_PARSE;
			}
		}
		if (rc)
			return rc;
	}
	return PHR_OK;
}

static void vm_block_hash(void *ctx, uint8_t out[32], uint64_t number)
{
	/* the state tests' BLOCKHASH: keccak256 of the number in decimal */
	char dec[24];
	int n = snprintf(dec, sizeof(dec), "%llu", (unsigned long long)number);
	phr_keccak256(out, dec, (size_t)n);
}

static int parse_env(struct phr_state_block *b, json_t *env)
{
	memset(b, 0, sizeof(*b));
	int rc = get_addr(b->coinbase, json_object_get(env, "currentCoinbase"));
	if (!rc)
		rc = get_u64(&b->number, json_object_get(env, "currentNumber"));
	if (!rc)
		rc = get_u64(&b->timestamp, json_object_get(env, "currentTimestamp"));
	if (!rc)
		rc = get_u64(&b->gas_limit, json_object_get(env, "currentGasLimit"));
	if (!rc)
		rc = get_u256(&b->base_fee, json_object_get(env, "currentBaseFee"));
	const char *r = json_string_value(json_object_get(env, "currentRandom"));
	if (!rc && r)
		rc = get_word(b->prevrandao, r);
	json_t *ex = json_object_get(env, "currentExcessBlobGas");
	if (!rc && ex)
		rc = get_u64(&b->excess_blob_gas, ex);
	b->chain_id = phr_u256_from_u64(1);
	b->block_hash = vm_block_hash;
	return rc;
}

/* Builds the transaction of case (d, g, v). */
static int build_tx(struct phr_tx *tx, uint8_t sender[20], json_t *j, size_t d, size_t g, size_t v)
{
	int rc = get_addr(sender, json_object_get(j, "sender"));
	if (!rc)
		rc = get_u64(&tx->nonce, json_object_get(j, "nonce"));
	if (!rc)
		rc = get_u64(&tx->gas_limit, json_array_get(json_object_get(j, "gasLimit"), g));
	if (!rc)
		rc = get_u256(&tx->value, json_array_get(json_object_get(j, "value"), v));
	if (rc)
		return rc;
	const char *to = json_string_value(json_object_get(j, "to"));
	if (to && *to) {
		tx->has_to = true;
		if ((rc = phr_hex_decode_exact(tx->to, 20, to)))
			return rc;
	}
	const char *data = json_string_value(json_array_get(json_object_get(j, "data"), d));
	if (!data)
		return PHR_ERR_PARSE;
	uint8_t *bytes;
	size_t len;
	if ((rc = hex_alloc(&bytes, &len, data)))
		return rc;
	rc = phr_tx_set_data(tx, bytes, len);
	phr_free(bytes);
	if (rc)
		return rc;
	tx->type = PHR_TX_LEGACY;
	json_t *al = json_array_get(json_object_get(j, "accessLists"), d);
	if (json_is_array(al)) {
		tx->type = PHR_TX_ACCESS_LIST;
		size_t i;
		json_t *e;
		json_array_foreach(al, i, e) {
			uint8_t addr[20];
			json_t *keys = json_object_get(e, "storageKeys");
			size_t nk = json_array_size(keys);
			uint8_t(*k)[32] = phr_calloc(nk ? nk : 1, 32);
			if (!k)
				return PHR_ERR_NOMEM;
			rc = get_addr(addr, json_object_get(e, "address"));
			for (size_t x = 0; x < nk && !rc; x++) {
				const char *ks = json_string_value(json_array_get(keys, x));
				rc = ks ? get_word(k[x], ks) : PHR_ERR_PARSE;
			}
			if (!rc)
				rc = phr_tx_add_access(tx, addr, (const uint8_t(*)[32])k, nk);
			phr_free(k);
			if (rc)
				return rc;
		}
	}
	json_t *mf = json_object_get(j, "maxFeePerGas");
	if (mf) {
		tx->type = PHR_TX_DYNAMIC_FEE;
		rc = get_u256(&tx->max_fee, mf);
		if (!rc)
			rc = get_u256(&tx->max_priority_fee, json_object_get(j, "maxPriorityFeePerGas"));
	} else {
		rc = get_u256(&tx->gas_price, json_object_get(j, "gasPrice"));
	}
	if (rc)
		return rc;
	json_t *bh = json_object_get(j, "blobVersionedHashes");
	if (bh) {
		tx->type = PHR_TX_BLOB;
		size_t n = json_array_size(bh);
		tx->blob_hashes = phr_calloc(n ? n : 1, 32);
		if (!tx->blob_hashes)
			return PHR_ERR_NOMEM;
		tx->n_blob_hashes = n;
		for (size_t i = 0; i < n && !rc; i++) {
			const char *hs = json_string_value(json_array_get(bh, i));
			rc = hs ? phr_hex_decode_exact(tx->blob_hashes[i], 32, hs) : PHR_ERR_PARSE;
		}
		if (!rc)
			rc = get_u256(&tx->max_fee_per_blob_gas, json_object_get(j, "maxFeePerBlobGas"));
	}
	return rc;
}

/* ------------------------------------------------------------------------- */
/* running                                                                   */
/* ------------------------------------------------------------------------- */

struct runner {
	const struct phr_statetest_opts *o;
	struct phr_statetest_stats *stats;
};

static bool listed(const char *const *list, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++) {
		if (!strcmp(list[i], name))
			return true;
	}
	return false;
}

static bool known_failure(const struct phr_statetest_opts *o, const char *test, const char *cname)
{
	return listed(o->known, o->known_count, cname) || listed(o->known, o->known_count, test);
}

static void report(struct runner *r, const char *file, const char *test, const char *cname,
		   bool skipped, const char *reason)
{
	FILE *out = r->o->out;
	const char *verdict;
	if (skipped) {
		r->stats->skipped++;
		verdict = "skip";
	} else if (!reason) {
		r->stats->passed++;
		verdict = "pass";
	} else if (known_failure(r->o, test, cname)) {
		r->stats->known++;
		verdict = "known";
	} else {
		r->stats->failed++;
		verdict = "fail";
	}
	bool show = r->o->verbose || reason;
	if (!show)
		return;
	if (r->o->json) {
		json_t *j = json_pack("{s:s, s:s, s:s}", "name", cname, "file", file, "result", verdict);
		if (j && reason)
			json_object_set_new(j, "reason", json_string(reason));
		char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
		if (s)
			fprintf(out, "%s\n", s);
		free(s);
		json_decref(j);
	} else if (reason) {
		fprintf(out, "%s %s (%s): %s\n", !strcmp(verdict, "fail") ? "FAIL" : verdict, cname,
			file, reason);
	} else {
		fprintf(out, "%s %s\n", verdict, cname);
	}
}

static int load_pre(struct phr_state *st, const struct test *t)
{
	int rc = PHR_OK;
	for (size_t i = 0; i < t->pre_count && !rc; i++) {
		const struct pre_acc *a = &t->pre[i];
		rc = phr_state_set_account(st, a->addr, a->nonce, &a->balance);
		if (!rc && a->code_len)
			rc = phr_state_set_code(st, a->addr, a->code, a->code_len);
		for (size_t k = 0; k < a->slots_count && !rc; k++)
			rc = phr_state_set_storage(st, a->addr, a->slots[k].key, a->slots[k].val);
	}
	return rc;
}

static void hexstr(char *out, size_t cap, const uint8_t *b, size_t n)
{
	if (phr_hex_encode(out, cap, b, n, true))
		out[0] = 0;
}

/* Runs one case; @return NULL on pass or a reason (in @p why). */
static const char *run_case(const struct test *t, json_t *c, char *why, size_t why_cap,
			    bool *skipped)
{
	json_t *idx = json_object_get(c, "indexes");
	size_t d = (size_t)json_integer_value(json_object_get(idx, "data"));
	size_t g = (size_t)json_integer_value(json_object_get(idx, "gas"));
	size_t v = (size_t)json_integer_value(json_object_get(idx, "value"));
	const char *exc = json_string_value(json_object_get(c, "expectException"));
	uint8_t want_root[32], want_logs[32];
	if (phr_hex_decode_exact(want_root, 32, json_string_value(json_object_get(c, "hash"))
						    ? json_string_value(json_object_get(c, "hash"))
						    : "") ||
	    phr_hex_decode_exact(want_logs, 32, json_string_value(json_object_get(c, "logs"))
						    ? json_string_value(json_object_get(c, "logs"))
						    : "")) {
		snprintf(why, why_cap, "bad hash/logs in the fixture");
		return why;
	}
	struct phr_state *st = NULL;
	struct phr_tx tx;
	phr_tx_init(&tx);
	struct phr_state_tx_result res;
	memset(&res, 0, sizeof(res));
	struct phr_buf lb;
	phr_buf_init(&lb, 0);
	const char *fail = NULL;
	uint8_t sender[20], root[32], logs[32];
	int rc = build_tx(&tx, sender, t->tx, d, g, v);
	bool unbuildable = rc != PHR_OK;
	if (unbuildable && !exc) {
		/* a field that no transaction can carry (e.g. a value over 2^256) */
		*skipped = true;
		snprintf(why, why_cap, "cannot represent the transaction: %s", phr_strerror(rc));
		fail = why;
		goto out;
	}
	/* the pre-state root is only needed when the transaction must be rejected
	 * (then nothing changes); otherwise one commit after the transaction does */
	if ((rc = phr_state_new(&st, NULL)) || (rc = load_pre(st, t)) ||
	    (exc && (rc = phr_state_commit(st, root, NULL)))) {
		snprintf(why, why_cap, "pre-state: %s", phr_strerror(rc));
		fail = why;
		goto out;
	}
	if (unbuildable) {
		rc = PHR_ERR_INVALID; /* no such transaction can exist: rejected */
		snprintf(res.error, sizeof(res.error), "unrepresentable transaction");
	} else {
		rc = phr_state_tx_apply(st, &res, &t->blk, &tx, sender, 0);
	}
	if (rc == PHR_ERR_INVALID) {
		if (!exc) {
			snprintf(why, why_cap, "transaction rejected: %s", res.error);
			fail = why;
			goto out;
		}
	} else if (rc) {
		snprintf(why, why_cap, "execution error: %s", phr_strerror(rc));
		fail = why;
		goto out;
	} else if (exc) {
		snprintf(why, why_cap, "expected %s, but the transaction was accepted (status %d, gas %llu)",
			 exc, res.status, (unsigned long long)res.gas_used);
		fail = why;
		goto out;
	}
	if ((rc = phr_state_commit(st, root, NULL)) ||
	    (rc = phr_state_logs_rlp(&lb, res.logs, res.logs_count))) {
		snprintf(why, why_cap, "commit: %s", phr_strerror(rc));
		fail = why;
		goto out;
	}
	phr_keccak256(logs, lb.data, lb.len);
	if (memcmp(root, want_root, 32) != 0) {
		char got[67], want[67];
		hexstr(got, sizeof(got), root, 32);
		hexstr(want, sizeof(want), want_root, 32);
		snprintf(why, why_cap, "state root %s, expected %s (status %d, gas used %llu)", got,
			 want, res.status, (unsigned long long)res.gas_used);
		fail = why;
	} else if (memcmp(logs, want_logs, 32) != 0) {
		snprintf(why, why_cap, "logs hash differs (%zu logs, status %d)", res.logs_count,
			 res.status);
		fail = why;
	}
out:
	phr_buf_release(&lb);
	phr_state_tx_result_release(&res);
	phr_tx_release(&tx);
	phr_state_free(st);
	return fail;
}

static bool matches(const struct phr_statetest_opts *o, const char *file, const char *cname)
{
	return !o->filter || strstr(cname, o->filter) || strstr(file, o->filter);
}

static int run_file(struct runner *r, const char *path)
{
	json_error_t je;
	json_t *doc = json_load_file(path, 0, &je);
	if (!doc) {
		fprintf(r->o->out, "FAIL %s: cannot parse: %s\n", path, je.text);
		r->stats->failed++;
		return PHR_OK;
	}
	const char *name;
	json_t *tj;
	json_object_foreach(doc, name, tj) {
		json_t *cases = json_object_get(json_object_get(tj, "post"), r->o->fork);
		if (!json_array_size(cases))
			continue;
		struct test t;
		memset(&t, 0, sizeof(t));
		t.name = name;
		t.tx = json_object_get(tj, "transaction");
		int rc = parse_pre(&t, json_object_get(tj, "pre"));
		if (!rc)
			rc = parse_env(&t.blk, json_object_get(tj, "env"));
		size_t i;
		json_t *c;
		json_array_foreach(cases, i, c) {
			json_t *idx = json_object_get(c, "indexes");
			char cname[512], why[512];
			snprintf(cname, sizeof(cname), "%s/d%lldg%lldv%lld", name,
				 (long long)json_integer_value(json_object_get(idx, "data")),
				 (long long)json_integer_value(json_object_get(idx, "gas")),
				 (long long)json_integer_value(json_object_get(idx, "value")));
			if (!matches(r->o, path, cname))
				continue;
			bool skipped = false;
			const char *fail;
			if (listed(r->o->skip, r->o->skip_count, name)) {
				skipped = true;
				fail = "skipped (--skip)";
			} else if (rc) {
				snprintf(why, sizeof(why), "cannot read the test: %s", phr_strerror(rc));
				fail = why;
			} else {
				fail = run_case(&t, c, why, sizeof(why), &skipped);
			}
			report(r, path, name, cname, skipped, fail);
		}
		test_release(&t);
	}
	json_decref(doc);
	return PHR_OK;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int run_path(struct runner *r, const char *path)
{
	struct stat sb;
	if (stat(path, &sb) != 0)
		return PHR_ERR_NOT_FOUND;
	if (!S_ISDIR(sb.st_mode))
		return run_file(r, path);
	DIR *dir = opendir(path);
	if (!dir)
		return PHR_ERR_IO;
	char **names = NULL;
	size_t n = 0, cap = 0;
	int rc = PHR_OK;
	struct dirent *de;
	while ((de = readdir(dir)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		size_t len = strlen(path) + strlen(de->d_name) + 2;
		char *full = phr_malloc(len);
		if (!full) {
			rc = PHR_ERR_NOMEM;
			break;
		}
		snprintf(full, len, "%s/%s", path, de->d_name);
		if (n == cap) {
			size_t nc = cap ? cap * 2 : 64;
			char **nn = phr_realloc(names, nc * sizeof(*nn));
			if (!nn) {
				phr_free(full);
				rc = PHR_ERR_NOMEM;
				break;
			}
			names = nn;
			cap = nc;
		}
		names[n++] = full;
	}
	closedir(dir);
	if (n)
		qsort(names, n, sizeof(*names), cmp_str);
	for (size_t i = 0; i < n; i++) {
		if (!rc) {
			size_t len = strlen(names[i]);
			bool json = len > 5 && !strcmp(names[i] + len - 5, ".json");
			if (stat(names[i], &sb) == 0 && (S_ISDIR(sb.st_mode) || json))
				rc = run_path(r, names[i]);
		}
		phr_free(names[i]);
	}
	phr_free(names);
	return rc;
}

int phr_statetest_run(const struct phr_statetest_opts *o, struct phr_statetest_stats *stats,
		      const char *path)
{
	struct runner r = { o, stats };
	return run_path(&r, path);
}
