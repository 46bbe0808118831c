/*
 * Escrowed emergency summary (issue 8 part 1): wire formats, the patient's
 * and the provider's client side, and the escrow holder's node side
 * (deposit, on-chain-checked release, local log). See emergency.h.
 */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "phr/contracts.h"
#include "phr/crypto.h"
#include "phr/eip712.h"
#include "phr/emergency.h"
#include "phr/json.h"
#include "phr/notify.h"
#include "phr/store.h"
#include "phr_int.h"

#define SHARE_VERSION 1u
#define MANIFEST_TEXT_MAX ((size_t)8 << 10)

/* ------------------------------------------------------------------------ */
/* small JSON helpers                                                        */
/* ------------------------------------------------------------------------ */

static int get_addr(uint8_t a[20], const json_t *o, const char *k)
{
	const char *s;

	if (phr_json_get_str(&s, o, k) != PHR_OK)
		return PHR_ERR_PARSE;
	return phr_eth_address_parse(a, s) == PHR_OK ? PHR_OK : PHR_ERR_INVALID;
}

static int get_hex_exact(uint8_t *out, size_t n, const json_t *o, const char *k)
{
	size_t got = 0;

	if (phr_json_get_hex(out, n, &got, o, k) != PHR_OK || got != n)
		return PHR_ERR_PARSE;
	return PHR_OK;
}

/* Hex of @p n bytes (any length) as a new JSON string ("0x..."); NULL on NOMEM. */
static json_t *jhex(const uint8_t *p, size_t n)
{
	size_t cap = 2 * n + 3;
	char *s = phr_malloc(cap);
	json_t *j = NULL;

	if (s != NULL && phr_hex_encode(s, cap, p, n, true) == PHR_OK)
		j = json_string(s);
	phr_free(s);
	return j;
}

static int parse_obj(json_t **o, const char *text, size_t len, size_t max)
{
	char err[64];

	if (text == NULL || len == 0)
		return PHR_ERR_PARSE;
	if (len > max)
		return PHR_ERR_TOO_LARGE;
	if (phr_json_parse(o, err, sizeof(err), text, len) != PHR_OK)
		return PHR_ERR_PARSE;
	if (!json_is_object(*o)) {
		json_decref(*o);
		return PHR_ERR_PARSE;
	}
	return PHR_OK;
}

/* Recovers the EIP-191 signer of @p text from hex member @p k of @p o. */
static int signer_of(uint8_t who[20], const char *text, const json_t *o, const char *k)
{
	uint8_t sig[65];

	if (get_hex_exact(sig, 65, o, k) != PHR_OK)
		return PHR_ERR_PARSE;
	return phr_eip191_recover(who, text, strlen(text), sig) == PHR_OK ? PHR_OK
									   : PHR_ERR_SIGNATURE;
}

static int sign_text(json_t *o, const char *k, const char *text, const uint8_t sk[32])
{
	uint8_t sig[65];

	if (phr_eip191_sign(sig, text, strlen(text), sk) != PHR_OK)
		return PHR_ERR_CRYPTO;
	return json_object_set_new(o, k, jhex(sig, 65)) == 0 ? PHR_OK : PHR_ERR_NOMEM;
}

static bool url_ok(const char *u)
{
	size_t n = strlen(u);

	return n > 7 && n < 256 && strpbrk(u, " \r\n\t\"") == NULL &&
	       (strncmp(u, "http://", 7) == 0 || strncmp(u, "https://", 8) == 0);
}

/* ------------------------------------------------------------------------ */
/* wire formats                                                              */
/* ------------------------------------------------------------------------ */

int phr_escrow_manifest_parse(struct phr_escrow_manifest *m, const char *text, size_t len)
{
	json_t *o = NULL, *hs, *h;
	uint64_t v = 0, t = 0, n = 0;
	const char *cid, *url;
	struct phr_cid c;
	size_t i;
	int rv;

	memset(m, 0, sizeof(*m));
	if ((rv = parse_obj(&o, text, len, MANIFEST_TEXT_MAX)) != PHR_OK)
		return rv;
	rv = PHR_ERR_PARSE;
	if (phr_json_get_u64(&v, o, "v") != PHR_OK || v != 1 || get_addr(m->patient, o, "patient") ||
	    phr_json_get_u64(&t, o, "t") != PHR_OK || phr_json_get_u64(&n, o, "n") != PHR_OK ||
	    phr_json_get_str(&cid, o, "summaryCid") != PHR_OK ||
	    phr_json_get_u64(&m->summary_bytes, o, "summaryBytes") != PHR_OK ||
	    phr_json_get_u64(&m->created_at, o, "createdAt") != PHR_OK ||
	    !json_is_array(hs = json_object_get(o, "holders")))
		goto out;
	rv = PHR_ERR_INVALID;
	if (t < 2 || n < t || n > PHR_ESCROW_HOLDERS_MAX || json_array_size(hs) != n ||
	    strlen(cid) >= sizeof(m->summary_cid) || phr_cid_parse(&c, cid) != PHR_OK ||
	    m->summary_bytes > PHR_ESCROW_CIPHERTEXT_MAX)
		goto out;
	snprintf(m->summary_cid, sizeof(m->summary_cid), "%s", cid);
	m->t = (unsigned)t;
	m->n = (unsigned)n;
	json_array_foreach(hs, i, h) {
		struct phr_escrow_holder *e = &m->holders[i];
		uint64_t x = 0;
		if (!json_is_object(h) || phr_json_get_str(&url, h, "url") != PHR_OK || !url_ok(url) ||
		    get_addr(e->address, h, "address") != PHR_OK ||
		    get_hex_exact(e->box_pk, 32, h, "boxPk") != PHR_OK ||
		    phr_json_get_u64(&x, h, "x") != PHR_OK || x == 0 || x > 255)
			goto out;
		snprintf(e->url, sizeof(e->url), "%s", url);
		e->x = (unsigned)x;
		for (size_t j = 0; j < i; j++)
			if (m->holders[j].x == e->x || memcmp(m->holders[j].address, e->address, 20) == 0)
				goto out;
	}
	rv = PHR_OK;
out:
	json_decref(o);
	return rv;
}

void phr_escrow_deposit_release(struct phr_escrow_deposit *d)
{
	if (d == NULL)
		return;
	phr_free(d->manifest_text);
	phr_free(d->ciphertext);
	sodium_memzero(d->webhook_secret, sizeof(d->webhook_secret));
	d->manifest_text = NULL;
	d->ciphertext = NULL;
}

static int deposit_webhooks(struct phr_escrow_deposit *d, const json_t *in)
{
	const json_t *ws = json_object_get(in, "webhooks"), *w;
	const char *url;
	size_t i, got;

	if (ws == NULL)
		return PHR_OK;
	if (!json_is_array(ws) || json_array_size(ws) > 2)
		return PHR_ERR_INVALID;
	json_array_foreach(ws, i, w) {
		if (!json_is_object(w) || phr_json_get_str(&url, w, "url") != PHR_OK ||
		    strlen(url) > PHR_NOTIFY_URL_MAX ||
		    phr_json_get_hex(d->webhook_secret[i], 64, &got, w, "secret") != PHR_OK ||
		    got < PHR_NOTIFY_SECRET_MIN)
			return PHR_ERR_INVALID;
		snprintf(d->webhook_url[i], sizeof(d->webhook_url[i]), "%s", url);
		d->webhook_secret_len[i] = got;
		d->n_webhooks = i + 1;
	}
	return PHR_OK;
}

int phr_escrow_deposit_parse(struct phr_escrow_deposit *d, const char *body, size_t len)
{
	json_t *env = NULL, *in = NULL;
	const char *dtext, *mtext;
	uint8_t msigner[20], patient[20];
	uint64_t v = 0;
	size_t got = 0;
	int rv;

	memset(d, 0, sizeof(*d));
	if ((rv = parse_obj(&env, body, len, PHR_ESCROW_BODY_MAX)) != PHR_OK)
		return rv;
	rv = PHR_ERR_PARSE;
	if (phr_json_get_str(&dtext, env, "deposit") != PHR_OK)
		goto out;
	if ((rv = signer_of(d->signer, dtext, env, "signature")) != PHR_OK)
		goto out;
	if ((rv = parse_obj(&in, dtext, strlen(dtext), PHR_ESCROW_BODY_MAX)) != PHR_OK)
		goto out;
	rv = PHR_ERR_PARSE;
	if (phr_json_get_u64(&v, in, "v") != PHR_OK || v != 1 ||
	    get_addr(patient, in, "patient") != PHR_OK || get_addr(d->holder, in, "holder") != PHR_OK ||
	    phr_json_get_str(&mtext, in, "manifest") != PHR_OK ||
	    get_hex_exact(d->manifest_sig, 65, in, "manifestSignature") != PHR_OK ||
	    get_hex_exact(d->sealed, sizeof(d->sealed), in, "sealedShare") != PHR_OK)
		goto out;
	if ((rv = phr_escrow_manifest_parse(&d->manifest, mtext, strlen(mtext))) != PHR_OK)
		goto out;
	rv = PHR_ERR_SIGNATURE;
	if (phr_eip191_recover(msigner, mtext, strlen(mtext), d->manifest_sig) != PHR_OK ||
	    memcmp(msigner, d->signer, 20) != 0)
		goto out;
	rv = PHR_ERR_INVALID;
	if (memcmp(patient, d->manifest.patient, 20) != 0)
		goto out;
	/* the holder must be listed */
	{
		bool listed = false;
		for (unsigned i = 0; i < d->manifest.n; i++)
			listed |= memcmp(d->manifest.holders[i].address, d->holder, 20) == 0;
		if (!listed)
			goto out;
	}
	rv = PHR_ERR_NOMEM;
	if ((d->manifest_text = phr_malloc(strlen(mtext) + 1)) == NULL ||
	    (d->ciphertext = phr_malloc(PHR_ESCROW_CIPHERTEXT_MAX)) == NULL)
		goto out;
	memcpy(d->manifest_text, mtext, strlen(mtext) + 1);
	rv = phr_json_get_hex(d->ciphertext, PHR_ESCROW_CIPHERTEXT_MAX, &got, in, "ciphertext");
	if (rv != PHR_OK || got == 0 || got != d->manifest.summary_bytes) {
		rv = rv == PHR_ERR_TOO_LARGE ? rv : PHR_ERR_INVALID;
		goto out;
	}
	d->ciphertext_len = got;
	rv = deposit_webhooks(d, in);
out:
	json_decref(in);
	json_decref(env);
	if (rv != PHR_OK)
		phr_escrow_deposit_release(d);
	return rv;
}

int phr_escrow_release_req_parse(struct phr_escrow_release_req *r, const char *body, size_t len)
{
	json_t *env = NULL, *in = NULL;
	const char *text, *action;
	uint8_t who[20];
	uint64_t v = 0;
	int rv;

	memset(r, 0, sizeof(*r));
	if ((rv = parse_obj(&env, body, len, 4096)) != PHR_OK)
		return rv;
	rv = PHR_ERR_PARSE;
	if (phr_json_get_str(&text, env, "request") != PHR_OK)
		goto out;
	if ((rv = signer_of(who, text, env, "signature")) != PHR_OK)
		goto out;
	if ((rv = parse_obj(&in, text, strlen(text), 2048)) != PHR_OK)
		goto out;
	rv = PHR_ERR_PARSE;
	if (phr_json_get_u64(&v, in, "v") != PHR_OK || v != 1 ||
	    phr_json_get_str(&action, in, "action") != PHR_OK ||
	    strcmp(action, "escrow-release") != 0 || get_addr(r->patient, in, "patient") != PHR_OK ||
	    get_addr(r->requester, in, "requester") != PHR_OK ||
	    get_addr(r->holder, in, "holder") != PHR_OK ||
	    phr_json_get_u64(&r->timestamp, in, "timestamp") != PHR_OK)
		goto out;
	rv = memcmp(who, r->requester, 20) == 0 ? PHR_OK : PHR_ERR_SIGNATURE;
out:
	json_decref(in);
	json_decref(env);
	return rv;
}

static void share_plain(uint8_t p[PHR_ESCROW_SHARE_PLAIN], const uint8_t share[33],
			const uint8_t patient[20], const char *cid)
{
	p[0] = SHARE_VERSION;
	memcpy(p + 1, patient, 20);
	phr_keccak256(p + 21, cid, strlen(cid));
	memcpy(p + 53, share, 33);
}

int phr_escrow_share_seal(uint8_t sealed[PHR_ESCROW_SEALED_BYTES], const uint8_t share[33],
			  const uint8_t patient[20], const char *summary_cid, const uint8_t pk[32])
{
	uint8_t p[PHR_ESCROW_SHARE_PLAIN];
	int rc;

	if (share[0] == 0 || summary_cid == NULL)
		return PHR_ERR_INVALID;
	share_plain(p, share, patient, summary_cid);
	rc = crypto_box_seal(sealed, p, sizeof(p), pk);
	sodium_memzero(p, sizeof(p));
	return rc == 0 ? PHR_OK : PHR_ERR_CRYPTO;
}

int phr_escrow_share_open(uint8_t share[33], const uint8_t sealed[PHR_ESCROW_SEALED_BYTES],
			  const uint8_t pk[32], const uint8_t sk[32], const uint8_t patient[20],
			  const char *summary_cid)
{
	uint8_t p[PHR_ESCROW_SHARE_PLAIN], want[32];
	int rv = PHR_OK;

	if (crypto_box_seal_open(p, sealed, PHR_ESCROW_SEALED_BYTES, pk, sk) != 0)
		return PHR_ERR_TAMPERED;
	phr_keccak256(want, summary_cid, strlen(summary_cid));
	if (p[0] != SHARE_VERSION || memcmp(p + 1, patient, 20) != 0 ||
	    memcmp(p + 21, want, 32) != 0 || p[53] == 0)
		rv = PHR_ERR_INVALID;
	else
		memcpy(share, p + 53, 33);
	sodium_memzero(p, sizeof(p));
	return rv;
}

/* ------------------------------------------------------------------------ */
/* client side                                                               */
/* ------------------------------------------------------------------------ */

static char *dump(const json_t *o)
{
	return json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
}

static json_t *manifest_json(const uint8_t patient[20], unsigned t, size_t n, const char *cid,
			     size_t ct_len, uint64_t now, const struct phr_escrow_holder *holders)
{
	json_t *m, *hs = json_array();

	for (size_t i = 0; hs != NULL && i < n; i++)
		json_array_append_new(hs, json_pack("{s:s,s:o,s:o,s:i}", "url", holders[i].url,
						    "address", phr_node_i_jaddr(holders[i].address),
						    "boxPk", jhex(holders[i].box_pk, 32), "x",
						    (int)(i + 1)));
	m = json_pack("{s:i,s:o,s:i,s:i,s:s,s:I,s:I,s:o}", "v", 1, "patient", phr_node_i_jaddr(patient),
		      "t", (int)t, "n", (int)n, "summaryCid", cid, "summaryBytes", (json_int_t)ct_len,
		      "createdAt", (json_int_t)now, "holders", hs);
	return m;
}

/* One holder's deposit body (phr_malloc'd text in *body). */
static int one_deposit(char **body, const uint8_t sk[32], const uint8_t patient[20],
		       const struct phr_escrow_holder *h, const char *mtext, const json_t *msig,
		       const uint8_t sealed[PHR_ESCROW_SEALED_BYTES], const struct phr_buf *ct,
		       const char *webhook_url, const uint8_t *secret, size_t secret_len)
{
	json_t *in, *env = NULL;
	char *itext = NULL;
	int rv = PHR_ERR_NOMEM;

	in = json_pack("{s:i,s:o,s:o,s:s,s:O,s:o,s:o}", "v", 1, "patient", phr_node_i_jaddr(patient),
		       "holder", phr_node_i_jaddr(h->address), "manifest", mtext, "manifestSignature",
		       msig, "sealedShare", jhex(sealed, PHR_ESCROW_SEALED_BYTES), "ciphertext",
		       jhex(ct->data, ct->len));
	if (in != NULL && webhook_url != NULL)
		json_object_set_new(in, "webhooks",
				    json_pack("[{s:s,s:o}]", "url", webhook_url, "secret",
					      jhex(secret, secret_len)));
	if (in != NULL && (itext = dump(in)) != NULL &&
	    (env = json_pack("{s:s}", "deposit", itext)) != NULL &&
	    (rv = sign_text(env, "signature", itext, sk)) == PHR_OK) {
		*body = dump(env);
		rv = *body ? PHR_OK : PHR_ERR_NOMEM;
	}
	if (itext != NULL)
		sodium_memzero(itext, strlen(itext)); /* holds the webhook secret */
	free(itext);
	json_decref(in);
	json_decref(env);
	return rv;
}

int phr_emergency_prepare(json_t **deposits, char cid_out[PHR_CID_STR_MAX],
			  const uint8_t patient_sk[32], const uint8_t *patient_id,
			  const uint8_t *summary, size_t len, unsigned t,
			  const struct phr_escrow_holder *holders, size_t n, const char *webhook_url,
			  const uint8_t *secret, size_t secret_len, uint64_t now)
{
	uint8_t *key = sodium_malloc(32), *shares = NULL, patient[20];
	uint8_t sealed[PHR_ESCROW_SEALED_BYTES];
	char cid[PHR_CID_STR_MAX], *mtext = NULL;
	struct phr_buf ct;
	struct phr_cid c;
	json_t *m = NULL, *msig = NULL, *arr = NULL;
	int rv;

	phr_buf_init(&ct, 0);
	rv = PHR_ERR_INVALID;
	if (key == NULL || summary == NULL || len == 0 || t < 2 || n < t ||
	    n > PHR_ESCROW_HOLDERS_MAX || (webhook_url != NULL &&
					   (secret == NULL || secret_len < PHR_NOTIFY_SECRET_MIN ||
					    secret_len > PHR_NOTIFY_SECRET_MAX)))
		goto out;
	for (size_t i = 0; i < n; i++)
		if (!url_ok(holders[i].url))
			goto out;
	if (patient_id != NULL)
		memcpy(patient, patient_id, 20);
	else if ((rv = phr_eth_address_from_seckey(patient, patient_sk)) != PHR_OK)
		goto out;
	rv = PHR_ERR_NOMEM;
	if ((shares = sodium_malloc(n * 33)) == NULL)
		goto out;
	randombytes_buf(key, 32);
	if ((rv = phr_crypto_encrypt_buf(&ct, key, summary, len, 0)) != PHR_OK)
		goto out;
	rv = PHR_ERR_TOO_LARGE;
	if (ct.len > PHR_ESCROW_CIPHERTEXT_MAX)
		goto out;
	if ((rv = phr_cid_of_block(&c, 1, PHR_CODEC_RAW, ct.data, ct.len)) != PHR_OK ||
	    (rv = phr_cid_format(cid, sizeof(cid), &c)) != PHR_OK ||
	    (rv = phr_shamir_split(shares, key, 32, t, (unsigned)n)) != PHR_OK)
		goto out;
	rv = PHR_ERR_NOMEM;
	if ((m = manifest_json(patient, t, n, cid, ct.len, now, holders)) == NULL ||
	    (mtext = dump(m)) == NULL || (msig = json_object()) == NULL ||
	    (arr = json_array()) == NULL)
		goto out;
	if ((rv = sign_text(msig, "s", mtext, patient_sk)) != PHR_OK)
		goto out;
	for (size_t i = 0; i < n; i++) {
		char *body = NULL;
		if ((rv = phr_escrow_share_seal(sealed, shares + i * 33, patient, cid,
						holders[i].box_pk)) != PHR_OK ||
		    (rv = one_deposit(&body, patient_sk, patient, &holders[i], mtext,
				      json_object_get(msig, "s"), sealed, &ct, webhook_url, secret,
				      secret_len)) != PHR_OK)
			goto out;
		json_array_append_new(arr, json_pack("{s:s,s:o,s:s}", "url", holders[i].url, "holder",
						     phr_node_i_jaddr(holders[i].address), "body", body));
		sodium_memzero(body, strlen(body));
		free(body);
	}
	if (cid_out != NULL)
		snprintf(cid_out, PHR_CID_STR_MAX, "%s", cid);
	*deposits = arr;
	arr = NULL;
	rv = PHR_OK;
out:
	sodium_free(key);
	if (shares != NULL)
		sodium_free(shares);
	phr_buf_release(&ct);
	free(mtext);
	json_decref(m);
	json_decref(msig);
	json_decref(arr);
	return rv;
}

int phr_emergency_release_request(char **body, const uint8_t requester_sk[32],
				  const uint8_t patient[20], const uint8_t holder[20], uint64_t now)
{
	uint8_t me[20];
	json_t *in = NULL, *env = NULL;
	char *text = NULL;
	int rv;

	if ((rv = phr_eth_address_from_seckey(me, requester_sk)) != PHR_OK)
		return rv;
	rv = PHR_ERR_NOMEM;
	in = json_pack("{s:i,s:s,s:o,s:o,s:o,s:I}", "v", 1, "action", "escrow-release", "patient",
		       phr_node_i_jaddr(patient), "requester", phr_node_i_jaddr(me), "holder",
		       phr_node_i_jaddr(holder), "timestamp", (json_int_t)now);
	if (in != NULL && (text = dump(in)) != NULL &&
	    (env = json_pack("{s:s}", "request", text)) != NULL &&
	    (rv = sign_text(env, "signature", text, requester_sk)) == PHR_OK) {
		*body = NULL;
		{
			char *s = dump(env);
			size_t l = s ? strlen(s) : 0;
			if (s != NULL && (*body = phr_malloc(l + 1)) != NULL)
				memcpy(*body, s, l + 1);
			free(s);
		}
		rv = *body ? PHR_OK : PHR_ERR_NOMEM;
	}
	free(text);
	json_decref(in);
	json_decref(env);
	return rv;
}

/* Opens one answer into @p share (x || y); checks the manifest. */
static int answer_share(uint8_t share[33], struct phr_escrow_manifest *m, const json_t *a,
			const uint8_t patient[20], const uint8_t owner[20], const uint8_t pk[32],
			const uint8_t sk[32])
{
	uint8_t sealed[PHR_ESCROW_SEALED_BYTES], msig[65], signer[20], holder[20];
	const char *mtext;
	int rv;

	if (!json_is_object(a) || phr_json_get_str(&mtext, a, "manifest") != PHR_OK ||
	    get_hex_exact(msig, 65, a, "manifestSignature") != PHR_OK ||
	    get_hex_exact(sealed, sizeof(sealed), a, "sealedShare") != PHR_OK ||
	    get_addr(holder, a, "holder") != PHR_OK)
		return PHR_ERR_PARSE;
	if ((rv = phr_escrow_manifest_parse(m, mtext, strlen(mtext))) != PHR_OK)
		return rv;
	if (phr_eip191_recover(signer, mtext, strlen(mtext), msig) != PHR_OK ||
	    memcmp(signer, owner, 20) != 0 || memcmp(m->patient, patient, 20) != 0)
		return PHR_ERR_SIGNATURE;
	if ((rv = phr_escrow_share_open(share, sealed, pk, sk, patient, m->summary_cid)) != PHR_OK)
		return rv;
	for (unsigned i = 0; i < m->n; i++)
		if (memcmp(m->holders[i].address, holder, 20) == 0 && m->holders[i].x == share[0])
			return PHR_OK;
	sodium_memzero(share, 33);
	return PHR_ERR_INVALID;
}

int phr_emergency_combine(struct phr_buf *summary, const uint8_t requester_sk[32],
			  const uint8_t patient[20], const uint8_t *owner, json_t *const *answers,
			  size_t n)
{
	struct phr_escrow_manifest m, first;
	uint8_t *sk = sodium_malloc(32), *key = sodium_malloc(32), *shares = NULL, pk[32];
	uint8_t *ct = NULL;
	size_t k = 0, ctl = 0;
	const json_t *ct_from = NULL;
	struct phr_cid c;
	int rv = PHR_ERR_NOMEM, last = PHR_ERR_STATE;

	memset(&first, 0, sizeof(first));
	if (sk == NULL || key == NULL || (shares = sodium_malloc(PHR_ESCROW_HOLDERS_MAX * 33)) == NULL)
		goto out;
	if ((rv = phr_identity_box_keys(pk, sk, requester_sk)) != PHR_OK)
		goto out;
	for (size_t i = 0; i < n && k < PHR_ESCROW_HOLDERS_MAX; i++) {
		uint8_t *s = shares + k * 33;
		bool dup = false;
		int r = answer_share(s, &m, answers[i], patient, owner ? owner : patient, pk, sk);
		if (r != PHR_OK) {
			last = r;
			continue;
		}
		if (k == 0)
			first = m;
		else if (strcmp(first.summary_cid, m.summary_cid) != 0)
			continue; /* another generation of the escrow */
		for (size_t j = 0; j < k; j++)
			dup |= shares[j * 33] == s[0];
		if (dup)
			continue;
		if (ct_from == NULL && json_object_get(answers[i], "ciphertext") != NULL)
			ct_from = answers[i];
		k++;
	}
	if (k == 0 || k < first.t) {
		rv = k == 0 && last != PHR_ERR_STATE && last != PHR_ERR_TAMPERED ? last : PHR_ERR_STATE;
		goto out;
	}
	if ((rv = phr_shamir_combine(key, shares, 33, (unsigned)k)) != PHR_OK)
		goto out;
	rv = PHR_ERR_NOMEM;
	if (ct_from == NULL || (ct = phr_malloc(PHR_ESCROW_CIPHERTEXT_MAX)) == NULL) {
		rv = ct_from == NULL ? PHR_ERR_PARSE : rv;
		goto out;
	}
	if (phr_json_get_hex(ct, PHR_ESCROW_CIPHERTEXT_MAX, &ctl, ct_from, "ciphertext") != PHR_OK) {
		rv = PHR_ERR_PARSE;
		goto out;
	}
	if (phr_cid_parse(&c, first.summary_cid) != PHR_OK || phr_cid_verify(&c, ct, ctl) != PHR_OK) {
		rv = PHR_ERR_CORRUPT;
		goto out;
	}
	rv = phr_crypto_decrypt_buf(summary, key, ct, ctl);
out:
	if (sk != NULL)
		sodium_free(sk);
	if (key != NULL)
		sodium_free(key);
	if (shares != NULL)
		sodium_free(shares);
	phr_free(ct);
	return rv;
}

/* ------------------------------------------------------------------------ */
/* escrow holder's node                                                      */
/* ------------------------------------------------------------------------ */

static const char escrow_schema[] =
	"CREATE TABLE IF NOT EXISTS escrow(patient BLOB PRIMARY KEY, manifest TEXT NOT NULL,"
	" manifest_sig BLOB NOT NULL, sealed BLOB NOT NULL, cid TEXT NOT NULL,"
	" created INTEGER NOT NULL, stored INTEGER NOT NULL);"
	"CREATE TABLE IF NOT EXISTS escrow_log(id INTEGER PRIMARY KEY, time INTEGER NOT NULL,"
	" patient BLOB NOT NULL, requester BLOB, released INTEGER NOT NULL, reason TEXT NOT NULL);";

static int escrow_db(struct phr_node *n)
{
	return sqlite3_exec(n->db, escrow_schema, NULL, NULL, NULL) == SQLITE_OK ? PHR_OK : PHR_ERR_DB;
}

/* Serialises the first use of the escrow key (read or create the file, host it). */
static pthread_mutex_t holder_init = PTHREAD_MUTEX_INITIALIZER;

static int holder_identity_locked(struct phr_node *n, const struct phr_identity **out);

int phr_escrow_holder_identity(struct phr_node *n, const struct phr_identity **out)
{
	int rv;

	if ((*out = phr_node_identity_by_name(n, PHR_ESCROW_IDENTITY)) != NULL)
		return PHR_OK;
	pthread_mutex_lock(&holder_init);
	rv = holder_identity_locked(n, out);
	pthread_mutex_unlock(&holder_init);
	return rv;
}

static int holder_identity_locked(struct phr_node *n, const struct phr_identity **out)
{
	struct phr_identity *id = NULL;
	struct phr_buf f;
	uint8_t *sk;
	char path[700], hex[65];
	int rv;

	if ((*out = phr_node_identity_by_name(n, PHR_ESCROW_IDENTITY)) != NULL)
		return PHR_OK;
	if ((sk = sodium_malloc(32)) == NULL)
		return PHR_ERR_NOMEM;
	phr_buf_init(&f, 0);
	snprintf(path, sizeof(path), "%s/escrow.key", n->datadir);
	rv = phr_file_read(&f, path, 128);
	if (rv == PHR_OK) {
		char *t = (char *)f.data;
		size_t l = f.len;
		while (l > 0 && (t[l - 1] == '\n' || t[l - 1] == '\r'))
			l--;
		if (l != 64 || phr_hex_decode(sk, 32, &(size_t){ 0 }, t, l) != PHR_OK)
			rv = PHR_ERR_CORRUPT;
		sodium_memzero(f.data, f.len);
	} else if (rv == PHR_ERR_NOT_FOUND) {
		rv = phr_secp256k1_keygen(sk);
		if (rv == PHR_OK)
			rv = phr_hex_encode(hex, sizeof(hex), sk, 32, false);
		if (rv == PHR_OK) {
			hex[64] = '\n';
			rv = phr_file_write_atomic(path, hex, 65, 0600);
		}
		sodium_memzero(hex, sizeof(hex));
	}
	phr_buf_release(&f);
	if (rv == PHR_OK)
		rv = phr_identity_new(&id, PHR_ESCROW_IDENTITY, sk);
	sodium_free(sk);
	if (rv == PHR_OK)
		rv = phr_node_add_identity(n, id); /* NOMEM: the node freed it; EXISTS: ours */
	if (rv == PHR_ERR_EXISTS)
		phr_identity_free(id);
	if (rv == PHR_OK)
		*out = phr_node_identity_by_name(n, PHR_ESCROW_IDENTITY);
	return rv == PHR_OK && *out == NULL ? PHR_ERR_INTERNAL : rv;
}

static int owner_of(struct phr_node *n, uint8_t owner[20], const uint8_t patient[20])
{
	struct phr_buf cd, out;
	int rv;

	phr_buf_init(&cd, 0);
	phr_buf_init(&out, 0);
	pthread_mutex_lock(&n->lock);
	rv = phr_contracts_patient_registry_owner_of_patient_encode(&cd, patient);
	if (rv == PHR_OK)
		rv = phr_node_i_call(n, &out, NULL, n->dep.registry, &cd);
	pthread_mutex_unlock(&n->lock);
	if (rv == PHR_OK)
		rv = phr_contracts_patient_registry_owner_of_patient_decode(owner, out.data, out.len);
	phr_buf_release(&cd);
	phr_buf_release(&out);
	return rv;
}

static void escrow_log(struct phr_node *n, const uint8_t patient[20], const uint8_t *requester,
		       bool released, const char *reason)
{
	sqlite3_stmt *st = NULL;

	pthread_mutex_lock(&n->lock);
	if (escrow_db(n) == PHR_OK &&
	    sqlite3_prepare_v2(n->db, "INSERT INTO escrow_log(time, patient, requester, released, reason)"
				      " VALUES(?,?,?,?,?)", -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, (sqlite3_int64)time(NULL));
		sqlite3_bind_blob(st, 2, patient, 20, SQLITE_STATIC);
		if (requester != NULL)
			sqlite3_bind_blob(st, 3, requester, 20, SQLITE_STATIC);
		sqlite3_bind_int(st, 4, released ? 1 : 0);
		sqlite3_bind_text(st, 5, reason, -1, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_DONE)
			phr_log_error("escrow", "log: %s", sqlite3_errmsg(n->db));
	}
	sqlite3_finalize(st);
	pthread_mutex_unlock(&n->lock);
}

static int store_deposit(struct phr_node *n, const uint8_t patient[20],
			 const struct phr_escrow_deposit *d)
{
	sqlite3_stmt *st = NULL;
	int rv;

	pthread_mutex_lock(&n->lock);
	rv = escrow_db(n);
	if (rv == PHR_OK && sqlite3_prepare_v2(n->db, "SELECT created FROM escrow WHERE patient = ?", -1,
					       &st, NULL) == SQLITE_OK) {
		sqlite3_bind_blob(st, 1, patient, 20, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW &&
		    (uint64_t)sqlite3_column_int64(st, 0) >= d->manifest.created_at)
			rv = PHR_ERR_CONFLICT;
		sqlite3_finalize(st);
		st = NULL;
	}
	if (rv == PHR_OK &&
	    sqlite3_prepare_v2(n->db, "INSERT OR REPLACE INTO escrow(patient, manifest, manifest_sig,"
				      " sealed, cid, created, stored) VALUES(?,?,?,?,?,?,?)",
			       -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_blob(st, 1, patient, 20, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, d->manifest_text, -1, SQLITE_STATIC);
		sqlite3_bind_blob(st, 3, d->manifest_sig, 65, SQLITE_STATIC);
		sqlite3_bind_blob(st, 4, d->sealed, PHR_ESCROW_SEALED_BYTES, SQLITE_STATIC);
		sqlite3_bind_text(st, 5, d->manifest.summary_cid, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 6, (sqlite3_int64)d->manifest.created_at);
		sqlite3_bind_int64(st, 7, (sqlite3_int64)time(NULL));
		if (sqlite3_step(st) != SQLITE_DONE)
			rv = PHR_ERR_DB;
		sqlite3_finalize(st);
	} else if (rv == PHR_OK) {
		rv = PHR_ERR_DB;
	}
	pthread_mutex_unlock(&n->lock);
	return rv;
}

int phr_escrow_deposit(struct phr_node *n, const uint8_t patient[20], const char *body, size_t len)
{
	struct phr_escrow_deposit d;
	const struct phr_identity *me;
	uint8_t owner[20], share[33];
	struct phr_cid c;
	int rv;

	if ((rv = phr_escrow_holder_identity(n, &me)) != PHR_OK)
		return rv;
	if ((rv = phr_escrow_deposit_parse(&d, body, len)) != PHR_OK)
		return rv;
	rv = PHR_ERR_FORBIDDEN;
	if (memcmp(d.manifest.patient, patient, 20) != 0 || memcmp(d.holder, me->address, 20) != 0)
		goto out;
	if ((rv = owner_of(n, owner, patient)) != PHR_OK)
		goto out;
	if (memcmp(owner, d.signer, 20) != 0) {
		rv = PHR_ERR_FORBIDDEN;
		goto out;
	}
	/* the share must be ours and bound to this manifest */
	if ((rv = phr_escrow_share_open(share, d.sealed, me->box_pk, me->box_sk, patient,
					d.manifest.summary_cid)) != PHR_OK)
		goto out;
	sodium_memzero(share, sizeof(share));
	if ((rv = phr_cid_parse(&c, d.manifest.summary_cid)) != PHR_OK ||
	    (rv = phr_store_put_verified(n->store, &c, d.ciphertext, d.ciphertext_len)) != PHR_OK) {
		rv = rv == PHR_ERR_CORRUPT ? PHR_ERR_INVALID : rv;
		goto out;
	}
	if ((rv = store_deposit(n, patient, &d)) != PHR_OK)
		goto out;
	for (size_t i = 0; i < d.n_webhooks; i++) {
		uint64_t sid = 0;
		if (phr_notify_subscribe(n, &sid, patient, d.webhook_url[i], d.webhook_secret[i],
					 d.webhook_secret_len[i]) != PHR_OK)
			phr_log_warn("escrow", "deposit: a webhook was refused");
	}
	phr_log_info("escrow", "deposit kept (%u of %u, summary %s)", d.manifest.t, d.manifest.n,
		     d.manifest.summary_cid);
out:
	phr_escrow_deposit_release(&d);
	return rv;
}

/* Loads the kept escrow row of @p patient (lock taken here). */
static int load_row(struct phr_node *n, char **manifest, uint8_t msig[65],
		    uint8_t sealed[PHR_ESCROW_SEALED_BYTES], char cid[PHR_CID_STR_MAX],
		    uint64_t *stored, const uint8_t patient[20])
{
	sqlite3_stmt *st = NULL;
	int rv;

	*manifest = NULL;
	pthread_mutex_lock(&n->lock);
	rv = escrow_db(n);
	if (rv == PHR_OK &&
	    sqlite3_prepare_v2(n->db, "SELECT manifest, manifest_sig, sealed, cid, stored FROM escrow"
				      " WHERE patient = ?", -1, &st, NULL) != SQLITE_OK)
		rv = PHR_ERR_DB;
	if (rv == PHR_OK) {
		sqlite3_bind_blob(st, 1, patient, 20, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_ROW) {
			rv = PHR_ERR_NOT_FOUND;
		} else if (sqlite3_column_bytes(st, 1) != 65 ||
			   sqlite3_column_bytes(st, 2) != PHR_ESCROW_SEALED_BYTES ||
			   sqlite3_column_bytes(st, 3) >= PHR_CID_STR_MAX) {
			rv = PHR_ERR_CORRUPT;
		} else {
			const char *m = (const char *)sqlite3_column_text(st, 0);
			size_t l = m ? strlen(m) : 0;
			memcpy(msig, sqlite3_column_blob(st, 1), 65);
			memcpy(sealed, sqlite3_column_blob(st, 2), PHR_ESCROW_SEALED_BYTES);
			snprintf(cid, PHR_CID_STR_MAX, "%s", (const char *)sqlite3_column_text(st, 3));
			*stored = (uint64_t)sqlite3_column_int64(st, 4);
			if ((*manifest = phr_malloc(l + 1)) == NULL)
				rv = PHR_ERR_NOMEM;
			else
				memcpy(*manifest, m ? m : "", l + 1);
		}
	}
	sqlite3_finalize(st);
	pthread_mutex_unlock(&n->lock);
	return rv;
}

/* EmergencyAccess.isActive and sessionOf's expiry (lock taken here). */
static int session_active(struct phr_node *n, bool *active, uint64_t *expires,
			  const uint8_t patient[20], const uint8_t provider[20])
{
	struct phr_buf cd, out;
	uint64_t opened = 0, code = 0;
	uint8_t rh[32];
	int rv;

	phr_buf_init(&cd, 0);
	phr_buf_init(&out, 0);
	pthread_mutex_lock(&n->lock);
	rv = phr_contracts_emergency_access_is_active_encode(&cd, patient, provider);
	if (rv == PHR_OK)
		rv = phr_node_i_call(n, &out, NULL, n->dep.emergency, &cd);
	if (rv == PHR_OK)
		rv = phr_contracts_emergency_access_is_active_decode(active, out.data, out.len);
	phr_buf_reset(&cd);
	if (rv == PHR_OK)
		rv = phr_contracts_emergency_access_session_of_encode(&cd, patient, provider);
	if (rv == PHR_OK)
		rv = phr_node_i_call(n, &out, NULL, n->dep.emergency, &cd);
	if (rv == PHR_OK)
		rv = phr_contracts_emergency_access_session_of_decode(&opened, expires, &code, rh,
								       out.data, out.len);
	pthread_mutex_unlock(&n->lock);
	phr_buf_release(&cd);
	phr_buf_release(&out);
	return rv;
}

static int enc_key(struct phr_node *n, uint8_t pk[32], const uint8_t who[20])
{
	int rv;

	pthread_mutex_lock(&n->lock);
	rv = phr_node_i_enc_key(n, pk, who);
	pthread_mutex_unlock(&n->lock);
	return rv;
}

static json_t *release_answer(const uint8_t patient[20], const uint8_t holder[20], unsigned x,
			      const uint8_t sealed[PHR_ESCROW_SEALED_BYTES], const char *mtext,
			      const uint8_t msig[65], const struct phr_buf *ct, uint64_t expires)
{
	return json_pack("{s:o,s:o,s:i,s:o,s:s,s:o,s:o,s:I}", "patient", phr_node_i_jaddr(patient),
			 "holder", phr_node_i_jaddr(holder), "x", (int)x, "sealedShare",
			 jhex(sealed, PHR_ESCROW_SEALED_BYTES), "manifest", mtext, "manifestSignature",
			 jhex(msig, 65), "ciphertext", jhex(ct->data, ct->len), "expiresAt",
			 (json_int_t)expires);
}

int phr_escrow_release(struct phr_node *n, json_t **out, const uint8_t patient[20],
		       const char *body, size_t len)
{
	struct phr_escrow_release_req r;
	const struct phr_identity *me;
	uint8_t msig[65], sealed[PHR_ESCROW_SEALED_BYTES], resealed[PHR_ESCROW_SEALED_BYTES],
		share[33], pk[32];
	char cid[PHR_CID_STR_MAX], *mtext = NULL;
	const char *why = NULL;
	uint64_t stored = 0, expires = 0, now = (uint64_t)time(NULL);
	bool active = false;
	struct phr_buf ct;
	struct phr_cid c;
	json_t *pl;
	int rv;

	phr_buf_init(&ct, 0);
	if ((rv = phr_escrow_holder_identity(n, &me)) != PHR_OK)
		return rv;
	rv = phr_escrow_release_req_parse(&r, body, len);
	if (rv != PHR_OK) {
		escrow_log(n, patient, NULL, false, "bad request");
		return rv == PHR_ERR_SIGNATURE ? PHR_ERR_UNAUTHENTICATED : rv;
	}
	if (memcmp(r.patient, patient, 20) != 0 || memcmp(r.holder, me->address, 20) != 0) {
		rv = PHR_ERR_INVALID;
		why = "request names another patient or holder";
	} else if ((r.timestamp > now ? r.timestamp - now : now - r.timestamp) >
		   PHR_ESCROW_REQUEST_SKEW) {
		rv = PHR_ERR_EXPIRED;
		why = "stale request";
	} else if ((rv = load_row(n, &mtext, msig, sealed, cid, &stored, patient)) != PHR_OK) {
		why = rv == PHR_ERR_NOT_FOUND ? "no escrow for the patient" : "escrow unreadable";
	} else if ((rv = session_active(n, &active, &expires, patient, r.requester)) != PHR_OK) {
		why = "chain unavailable";
	} else if (!active) {
		rv = PHR_ERR_FORBIDDEN;
		why = "no active break-glass session on chain";
	} else if ((rv = enc_key(n, pk, r.requester)) != PHR_OK) {
		rv = rv == PHR_ERR_NOT_FOUND ? PHR_ERR_FORBIDDEN : rv;
		why = "requester has no registered encryption key";
	} else if ((rv = phr_escrow_share_open(share, sealed, me->box_pk, me->box_sk, patient, cid)) !=
		   PHR_OK) {
		why = "kept share does not open";
	} else {
		rv = phr_escrow_share_seal(resealed, share, patient, cid, pk);
		sodium_memzero(share, sizeof(share));
		if (rv == PHR_OK && ((rv = phr_cid_parse(&c, cid)) != PHR_OK ||
				     (rv = phr_store_get(n->store, &ct, &c)) != PHR_OK))
			why = "summary ciphertext missing";
		else if (rv != PHR_OK)
			why = "sealing failed";
	}
	if (rv != PHR_OK) {
		escrow_log(n, patient, r.requester, false, why);
		phr_log_warn("escrow", "release refused: %s", why);
		goto out;
	}
	{
		struct phr_escrow_manifest m;
		unsigned x = 0;
		if (phr_escrow_manifest_parse(&m, mtext, strlen(mtext)) == PHR_OK)
			for (unsigned i = 0; i < m.n; i++)
				if (memcmp(m.holders[i].address, me->address, 20) == 0)
					x = m.holders[i].x;
		*out = release_answer(patient, me->address, x, resealed, mtext, msig, &ct, expires);
	}
	if (*out == NULL) {
		rv = PHR_ERR_NOMEM;
		goto out;
	}
	escrow_log(n, patient, r.requester, true, "released (break-glass active on chain)");
	phr_log_warn("escrow", "share released to an emergency provider (break-glass until %llu)",
		     (unsigned long long)expires);
	pl = json_pack("{s:s,s:o,s:o,s:o,s:I}", "event", "escrow_share_released", "patient",
		       phr_node_i_jaddr(patient), "provider", phr_node_i_jaddr(r.requester), "holder",
		       phr_node_i_jaddr(me->address), "expiresAt", (json_int_t)expires);
	if (phr_notify(n, patient, "emergency", pl) != PHR_OK)
		phr_log_error("escrow", "could not queue the patient's notification");
	json_decref(pl);
out:
	phr_free(mtext);
	phr_buf_release(&ct);
	return rv;
}

int phr_escrow_status(struct phr_node *n, json_t **out, const uint8_t patient[20])
{
	uint8_t msig[65], sealed[PHR_ESCROW_SEALED_BYTES];
	char cid[PHR_CID_STR_MAX], *mtext = NULL;
	uint64_t stored = 0;
	sqlite3_stmt *st = NULL;
	json_t *o, *rel;
	int rv;

	if ((rv = load_row(n, &mtext, msig, sealed, cid, &stored, patient)) != PHR_OK)
		return rv;
	rel = json_array();
	o = json_pack("{s:s,s:o,s:I,s:o}", "manifest", mtext, "manifestSignature", jhex(msig, 65),
		      "storedAt", (json_int_t)stored, "releases", rel);
	phr_free(mtext);
	if (o == NULL)
		return PHR_ERR_NOMEM;
	pthread_mutex_lock(&n->lock);
	if (sqlite3_prepare_v2(n->db, "SELECT time, requester, released, reason FROM escrow_log"
				      " WHERE patient = ? ORDER BY id", -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_blob(st, 1, patient, 20, SQLITE_STATIC);
		while (sqlite3_step(st) == SQLITE_ROW) {
			const void *rq = sqlite3_column_blob(st, 1);
			json_array_append_new(
				rel, json_pack("{s:I,s:o,s:b,s:s}", "time",
					       (json_int_t)sqlite3_column_int64(st, 0), "requester",
					       rq && sqlite3_column_bytes(st, 1) == 20 ? phr_node_i_jaddr(rq)
										  : json_null(),
					       "released", sqlite3_column_int(st, 2),
					       "reason", (const char *)sqlite3_column_text(st, 3)));
		}
	}
	sqlite3_finalize(st);
	pthread_mutex_unlock(&n->lock);
	*out = o;
	return PHR_OK;
}
