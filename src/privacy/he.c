/*
 * Exponential ElGamal on ristretto255 with t-of-n threshold decryption, range,
 * square and plaintext-one proofs, Chaum-Pedersen partial decryptions and BSGS.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "phr/he.h"
#include "he_internal.h"

#define B PHR_HE_BYTES

/* ---- group and field helpers ------------------------------------------- */

static bool is_zero(const uint8_t *p)
{
	return sodium_is_zero(p, B) != 0;
}

static void sc_u64(uint8_t s[B], uint64_t v)
{
	memset(s, 0, B);
	for (int i = 0; i < 8; i++)
		s[i] = (uint8_t)(v >> (8 * i));
}

/* out = sG (identity for s = 0) */
static void pt_base(uint8_t out[B], const uint8_t s[B])
{
	if (crypto_scalarmult_ristretto255_base(out, s) != 0)
		memset(out, 0, B);
}

/* out = sP; the identity is a valid input and output */
static int pt_mul(uint8_t out[B], const uint8_t s[B], const uint8_t p[B])
{
	uint8_t r[B];
	if (crypto_scalarmult_ristretto255(r, s, p) != 0) {
		if (!crypto_core_ristretto255_is_valid_point(p))
			return PHR_ERR_CRYPTO;
		memset(r, 0, B);
	}
	memcpy(out, r, B);
	return PHR_OK;
}

static int pt_add(uint8_t out[B], const uint8_t p[B], const uint8_t q[B])
{
	return crypto_core_ristretto255_add(out, p, q) == 0 ? PHR_OK : PHR_ERR_CRYPTO;
}

static int pt_sub(uint8_t out[B], const uint8_t p[B], const uint8_t q[B])
{
	return crypto_core_ristretto255_sub(out, p, q) == 0 ? PHR_OK : PHR_ERR_CRYPTO;
}

/* out = xP + yQ */
static int pt_mul2(uint8_t out[B], const uint8_t x[B], const uint8_t p[B], const uint8_t y[B],
		   const uint8_t q[B])
{
	uint8_t a[B], b[B];
	int rc = pt_mul(a, x, p);
	if (!rc)
		rc = pt_mul(b, y, q);
	if (!rc)
		rc = pt_add(out, a, b);
	return rc;
}

static bool sc_canonical(const uint8_t s[B])
{
	uint8_t wide[64] = { 0 }, r[B];
	memcpy(wide, s, B);
	crypto_core_ristretto255_scalar_reduce(r, wide);
	return sodium_memcmp(r, s, B) == 0;
}

bool phr_he_point_ok(const uint8_t p[B])
{
	return is_zero(p) || crypto_core_ristretto255_is_valid_point(p);
}

bool phr_he_scalar_ok(const uint8_t s[B])
{
	return sc_canonical(s);
}

static const uint8_t G_ENC[B] = { 0xe2, 0xf2, 0xae, 0x0a, 0x6a, 0xbc, 0x4e, 0x71, 0xa8, 0x84, 0xa9,
				  0x61, 0xc5, 0x00, 0x51, 0x5f, 0x58, 0xe3, 0x0b, 0x6a, 0xa5, 0x82,
				  0xdd, 0x8d, 0xb6, 0xa6, 0x59, 0x45, 0xe0, 0x8d, 0x2d, 0x76 };

/* ---- Fiat-Shamir ---------------------------------------------------------- */

struct fs {
	crypto_hash_sha512_state st;
};

static void fs_bytes(struct fs *h, const void *p, size_t n)
{
	uint8_t len[8];
	for (int i = 0; i < 8; i++)
		len[i] = (uint8_t)((uint64_t)n >> (8 * i));
	crypto_hash_sha512_update(&h->st, len, sizeof(len));
	crypto_hash_sha512_update(&h->st, p, n);
}

/* Starts a challenge hash: domain label, study id and a context string (patient
 * id or custodian index). */
static void fs_init(struct fs *h, const char *label, const char *study, const char *ctx)
{
	crypto_hash_sha512_init(&h->st);
	fs_bytes(h, "phr/he/v1", 9);
	fs_bytes(h, label, strlen(label));
	fs_bytes(h, study, strlen(study));
	fs_bytes(h, ctx, strlen(ctx));
}

static void fs_point(struct fs *h, const uint8_t p[B])
{
	crypto_hash_sha512_update(&h->st, p, B);
}

static void fs_u32(struct fs *h, uint32_t v)
{
	uint8_t b[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };
	crypto_hash_sha512_update(&h->st, b, 4);
}

static void fs_final(struct fs *h, uint8_t c[B])
{
	uint8_t d[64];
	crypto_hash_sha512_final(&h->st, d);
	crypto_core_ristretto255_scalar_reduce(c, d);
}

/* ---- ciphertexts ----------------------------------------------------------- */

static int encrypt_with(struct phr_he_ct *ct, const uint8_t pk[B], const uint8_t m[B], const uint8_t r[B])
{
	uint8_t mg[B], rh[B];
	pt_base(ct->a, r);
	pt_base(mg, m);
	int rc = pt_mul(rh, r, pk);
	if (!rc)
		rc = pt_add(ct->b, mg, rh);
	return rc;
}

int phr_he_encrypt(struct phr_he_ct *ct, uint8_t *r_out, const uint8_t pk[B], uint64_t m)
{
	if (sodium_init() < 0)
		return PHR_ERR_CRYPTO;
	uint8_t r[B], ms[B];
	crypto_core_ristretto255_scalar_random(r);
	sc_u64(ms, m);
	int rc = encrypt_with(ct, pk, ms, r);
	if (r_out)
		memcpy(r_out, r, B);
	sodium_memzero(r, B);
	return rc;
}

int phr_he_ct_add(struct phr_he_ct *out, const struct phr_he_ct *x, const struct phr_he_ct *y)
{
	struct phr_he_ct o;
	int rc = pt_add(o.a, x->a, y->a);
	if (!rc)
		rc = pt_add(o.b, x->b, y->b);
	if (!rc)
		*out = o;
	return rc;
}

/* ---- study setup ----------------------------------------------------------- */

static bool id_ok(const char *id)
{
	size_t n = strnlen(id, PHR_HE_ID_MAX + 1);
	if (n == 0 || n > PHR_HE_ID_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (id[i] < 0x21 || id[i] > 0x7e)
			return false;
	return true;
}

/* vk = sum_j commit[j] i^j */
static int feldman_eval(uint8_t out[B], const struct phr_he_study *s, uint32_t i)
{
	uint8_t acc[B] = { 0 }, pw[B], is[B], term[B];
	sc_u64(pw, 1);
	sc_u64(is, i);
	for (uint32_t j = 0; j < s->t; j++) {
		int rc = pt_mul(term, pw, s->commit[j]);
		if (!rc)
			rc = pt_add(acc, acc, term);
		if (rc)
			return rc;
		crypto_core_ristretto255_scalar_mul(pw, pw, is);
	}
	memcpy(out, acc, B);
	return PHR_OK;
}

int phr_he_study_create(struct phr_he_study *study, struct phr_he_share **shares, const char *id,
			uint32_t bits, uint32_t t, uint32_t n)
{
	*shares = NULL;
	if (!id || !id_ok(id) || bits == 0 || bits > PHR_HE_MAX_BITS || t == 0 || t > n ||
	    n > PHR_HE_MAX_CUSTODIANS)
		return PHR_ERR_INVALID;
	if (sodium_init() < 0)
		return PHR_ERR_CRYPTO;
	uint8_t(*coef)[B] = sodium_malloc((size_t)t * B);
	struct phr_he_share *sh = sodium_malloc((size_t)n * sizeof(*sh));
	if (!coef || !sh) {
		if (coef)
			sodium_free(coef);
		if (sh)
			sodium_free(sh);
		return PHR_ERR_NOMEM;
	}
	memset(study, 0, sizeof(*study));
	memcpy(study->id, id, strlen(id));
	study->bits = bits;
	study->t = t;
	study->n = n;
	for (uint32_t j = 0; j < t; j++) {
		crypto_core_ristretto255_scalar_random(coef[j]);
		pt_base(study->commit[j], coef[j]);
	}
	memcpy(study->pk, study->commit[0], B);
	for (uint32_t i = 1; i <= n; i++) {
		/* Horner: f(i) */
		uint8_t is[B];
		sc_u64(is, i);
		struct phr_he_share *s = &sh[i - 1];
		s->index = i;
		memcpy(s->x, coef[t - 1], B);
		for (uint32_t j = t - 1; j-- > 0;) {
			crypto_core_ristretto255_scalar_mul(s->x, s->x, is);
			crypto_core_ristretto255_scalar_add(s->x, s->x, coef[j]);
		}
		pt_base(study->vk[i - 1], s->x);
	}
	sodium_free(coef);
	*shares = sh;
	return PHR_OK;
}

void phr_he_shares_free(struct phr_he_share *shares, uint32_t n)
{
	(void)n;
	if (shares)
		sodium_free(shares);
}

int phr_he_study_check(const struct phr_he_study *s)
{
	if (!id_ok(s->id) || s->bits == 0 || s->bits > PHR_HE_MAX_BITS || s->t == 0 || s->t > s->n ||
	    s->n > PHR_HE_MAX_CUSTODIANS)
		return PHR_ERR_INVALID;
	if (sodium_init() < 0)
		return PHR_ERR_CRYPTO;
	for (uint32_t j = 0; j < s->t; j++)
		if (!phr_he_point_ok(s->commit[j]))
			return PHR_ERR_INVALID;
	if (is_zero(s->pk) || sodium_memcmp(s->pk, s->commit[0], B) != 0)
		return PHR_ERR_INVALID;
	for (uint32_t i = 1; i <= s->n; i++) {
		uint8_t v[B];
		if (feldman_eval(v, s, i) != PHR_OK || sodium_memcmp(v, s->vk[i - 1], B) != 0)
			return PHR_ERR_INVALID;
	}
	return PHR_OK;
}

int phr_he_share_verify(const struct phr_he_study *study, const struct phr_he_share *share)
{
	if (share->index == 0 || share->index > study->n || !sc_canonical(share->x))
		return PHR_ERR_INVALID;
	uint8_t v[B], f[B];
	pt_base(v, share->x);
	if (feldman_eval(f, study, share->index) != PHR_OK)
		return PHR_ERR_INVALID;
	if (sodium_memcmp(v, study->vk[share->index - 1], B) != 0 || sodium_memcmp(v, f, B) != 0)
		return PHR_ERR_TAMPERED;
	return PHR_OK;
}

/* ---- submission proofs ----------------------------------------------------- */

/* OR-proof that ct = Enc(bit) with bit in {0, 1}: branch k proves
 * log_G a = log_H (b - kG). */
static void or_hash(uint8_t c[B], const char *study, const char *patient, uint32_t j,
		    const struct phr_he_ct *ct, uint8_t t[4][B])
{
	struct fs h;
	fs_init(&h, "bit", study, patient);
	fs_u32(&h, j);
	fs_point(&h, ct->a);
	fs_point(&h, ct->b);
	for (int i = 0; i < 4; i++)
		fs_point(&h, t[i]);
	fs_final(&h, c);
}

static int bit_prove(struct phr_he_bit *bp, const struct phr_he_study *s, const char *patient, uint32_t j,
		     unsigned bit, const uint8_t r[B])
{
	uint8_t t[4][B], w[B], cf[B], zf[B], bmk[B], x[B], y[B], c[B], bit_s[B];
	int rc;
	sc_u64(bit_s, bit);
	if ((rc = encrypt_with(&bp->ct, s->pk, bit_s, r)))
		return rc;
	unsigned other = 1 - bit;
	/* real branch: commitments wG, wH */
	crypto_core_ristretto255_scalar_random(w);
	pt_base(t[2 * bit], w);
	if ((rc = pt_mul(t[2 * bit + 1], w, s->pk)))
		goto out;
	/* simulated branch: T = zG - c a, T' = zH - c (b - other G) */
	crypto_core_ristretto255_scalar_random(cf);
	crypto_core_ristretto255_scalar_random(zf);
	if (other)
		rc = pt_sub(bmk, bp->ct.b, G_ENC);
	else
		memcpy(bmk, bp->ct.b, B);
	pt_base(x, zf);
	if (rc || (rc = pt_mul(y, cf, bp->ct.a)) || (rc = pt_sub(t[2 * other], x, y)) ||
	    (rc = pt_mul(x, zf, s->pk)) || (rc = pt_mul(y, cf, bmk)) || (rc = pt_sub(t[2 * other + 1], x, y)))
		goto out;
	or_hash(c, s->id, patient, j, &bp->ct, t);
	uint8_t creal[B], z[B];
	crypto_core_ristretto255_scalar_sub(creal, c, cf);
	crypto_core_ristretto255_scalar_mul(z, creal, r);
	crypto_core_ristretto255_scalar_add(z, z, w);
	memcpy(bit ? bp->c1 : bp->c0, creal, B);
	memcpy(bit ? bp->z1 : bp->z0, z, B);
	memcpy(bit ? bp->c0 : bp->c1, cf, B);
	memcpy(bit ? bp->z0 : bp->z1, zf, B);
out:
	sodium_memzero(w, B);
	return rc;
}

static int bit_verify(const struct phr_he_bit *bp, const struct phr_he_study *s, const char *patient,
		      uint32_t j)
{
	uint8_t t[4][B], x[B], y[B], bmg[B], c[B], sum[B];
	const uint8_t *cs[2] = { bp->c0, bp->c1 }, *zs[2] = { bp->z0, bp->z1 };
	if (!phr_he_point_ok(bp->ct.a) || !phr_he_point_ok(bp->ct.b))
		return PHR_ERR_INVALID;
	for (int k = 0; k < 2; k++)
		if (!sc_canonical(cs[k]) || !sc_canonical(zs[k]))
			return PHR_ERR_INVALID;
	if (pt_sub(bmg, bp->ct.b, G_ENC))
		return PHR_ERR_TAMPERED;
	for (int k = 0; k < 2; k++) {
		pt_base(x, zs[k]);
		if (pt_mul(y, cs[k], bp->ct.a) || pt_sub(t[2 * k], x, y) || pt_mul(x, zs[k], s->pk) ||
		    pt_mul(y, cs[k], k ? bmg : bp->ct.b) || pt_sub(t[2 * k + 1], x, y))
			return PHR_ERR_TAMPERED;
	}
	or_hash(c, s->id, patient, j, &bp->ct, t);
	crypto_core_ristretto255_scalar_add(sum, bp->c0, bp->c1);
	return sodium_memcmp(sum, c, B) == 0 ? PHR_OK : PHR_ERR_TAMPERED;
}

/* square proof: witnesses v, r (ct1 = (rG, vG + rH)), s (ct2 = v ct1 + (sG, sH)) */
static void sq_hash(uint8_t c[B], const struct phr_he_study *s, const char *patient,
		    const struct phr_he_ct *c1, const struct phr_he_ct *c2, uint8_t t[4][B])
{
	struct fs h;
	fs_init(&h, "square", s->id, patient);
	fs_point(&h, c1->a);
	fs_point(&h, c1->b);
	fs_point(&h, c2->a);
	fs_point(&h, c2->b);
	for (int i = 0; i < 4; i++)
		fs_point(&h, t[i]);
	fs_final(&h, c);
}

static int sq_prove(struct phr_he_submission *sub, const struct phr_he_study *s, const uint8_t v[B],
		    const uint8_t r[B], const uint8_t sw[B])
{
	uint8_t k[3][B], t[4][B], x[B];
	int rc;
	for (int i = 0; i < 3; i++)
		crypto_core_ristretto255_scalar_random(k[i]); /* kv, kr, ks */
	pt_base(t[0], k[1]);
	pt_base(x, k[0]);
	if ((rc = pt_mul(t[1], k[1], s->pk)) || (rc = pt_add(t[1], t[1], x)))
		goto out;
	pt_base(x, k[2]);
	if ((rc = pt_mul(t[2], k[0], sub->v.a)) || (rc = pt_add(t[2], t[2], x)) ||
	    (rc = pt_mul2(t[3], k[0], sub->v.b, k[2], s->pk)))
		goto out;
	sq_hash(sub->sq_c, s, sub->patient, &sub->v, &sub->v2, t);
	const uint8_t *w[3] = { v, r, sw };
	uint8_t *z[3] = { sub->sq_zv, sub->sq_zr, sub->sq_zs };
	for (int i = 0; i < 3; i++) {
		crypto_core_ristretto255_scalar_mul(z[i], sub->sq_c, w[i]);
		crypto_core_ristretto255_scalar_add(z[i], z[i], k[i]);
	}
out:
	sodium_memzero(k, sizeof(k));
	return rc;
}

static int sq_verify(const struct phr_he_submission *sub, const struct phr_he_study *s)
{
	uint8_t t[4][B], x[B], y[B], c[B];
	const uint8_t *cc = sub->sq_c;
	/* T1 = zr G - c A1; T2 = zv G + zr H - c B1; T3 = zv A1 + zs G - c A2; T4 = zv B1 + zs H - c B2 */
	pt_base(x, sub->sq_zr);
	if (pt_mul(y, cc, sub->v.a) || pt_sub(t[0], x, y))
		return PHR_ERR_TAMPERED;
	pt_base(x, sub->sq_zv);
	if (pt_mul(y, sub->sq_zr, s->pk) || pt_add(x, x, y) || pt_mul(y, cc, sub->v.b) || pt_sub(t[1], x, y))
		return PHR_ERR_TAMPERED;
	pt_base(x, sub->sq_zs);
	if (pt_mul(y, sub->sq_zv, sub->v.a) || pt_add(x, x, y) || pt_mul(y, cc, sub->v2.a) ||
	    pt_sub(t[2], x, y))
		return PHR_ERR_TAMPERED;
	if (pt_mul2(x, sub->sq_zv, sub->v.b, sub->sq_zs, s->pk) || pt_mul(y, cc, sub->v2.b) ||
	    pt_sub(t[3], x, y))
		return PHR_ERR_TAMPERED;
	sq_hash(c, s, sub->patient, &sub->v, &sub->v2, t);
	return sodium_memcmp(c, cc, B) == 0 ? PHR_OK : PHR_ERR_TAMPERED;
}

/* Chaum-Pedersen: log_P1 Q1 = log_P2 Q2 with challenge context (label, ctx) */
static void dleq_hash(uint8_t c[B], const char *label, const char *study, const char *ctx,
		      const uint8_t *p1, const uint8_t *q1, const uint8_t *p2, const uint8_t *q2,
		      const uint8_t *t1, const uint8_t *t2)
{
	struct fs h;
	fs_init(&h, label, study, ctx);
	const uint8_t *pts[6] = { p1, q1, p2, q2, t1, t2 };
	for (int i = 0; i < 6; i++)
		fs_point(&h, pts[i]);
	fs_final(&h, c);
}

static int dleq_prove(uint8_t c[B], uint8_t z[B], const char *label, const char *study, const char *ctx,
		      const uint8_t *p1, const uint8_t *q1, const uint8_t *p2, const uint8_t *q2,
		      const uint8_t w[B])
{
	uint8_t k[B], t1[B], t2[B];
	crypto_core_ristretto255_scalar_random(k);
	int rc = pt_mul(t1, k, p1);
	if (!rc)
		rc = pt_mul(t2, k, p2);
	if (!rc) {
		dleq_hash(c, label, study, ctx, p1, q1, p2, q2, t1, t2);
		crypto_core_ristretto255_scalar_mul(z, c, w);
		crypto_core_ristretto255_scalar_add(z, z, k);
	}
	sodium_memzero(k, B);
	return rc;
}

static int dleq_verify(const uint8_t c[B], const uint8_t z[B], const char *label, const char *study,
		       const char *ctx, const uint8_t *p1, const uint8_t *q1, const uint8_t *p2,
		       const uint8_t *q2)
{
	uint8_t t1[B], t2[B], x[B], y[B], cc[B];
	if (!sc_canonical(c) || !sc_canonical(z))
		return PHR_ERR_INVALID;
	if (pt_mul(x, z, p1) || pt_mul(y, c, q1) || pt_sub(t1, x, y) || pt_mul(x, z, p2) || pt_mul(y, c, q2) ||
	    pt_sub(t2, x, y))
		return PHR_ERR_TAMPERED;
	dleq_hash(cc, label, study, ctx, p1, q1, p2, q2, t1, t2);
	return sodium_memcmp(cc, c, B) == 0 ? PHR_OK : PHR_ERR_TAMPERED;
}

int phr_he_submission_make(struct phr_he_submission *sub, const struct phr_he_study *study,
			   const char *patient, uint64_t v)
{
	if (!patient || !id_ok(patient) || study->bits == 0 || study->bits > PHR_HE_MAX_BITS)
		return PHR_ERR_INVALID;
	if (v >> study->bits)
		return PHR_ERR_RANGE;
	if (sodium_init() < 0)
		return PHR_ERR_CRYPTO;
	struct {
		uint8_t r[PHR_HE_MAX_BITS][B], rv[B], r2[B], r1[B], sw[B], vs[B], v2s[B], tmp[B];
	} *w = sodium_malloc(sizeof(*w));
	if (!w)
		return PHR_ERR_NOMEM;
	memset(sub, 0, sizeof(*sub));
	memcpy(sub->patient, patient, strlen(patient));
	sub->bits = study->bits;
	int rc = PHR_OK;
	/* bits; rv = sum 2^j r_j so that Enc(v) = sum 2^j Enc(b_j) */
	memset(w->rv, 0, B);
	for (uint32_t j = study->bits; j-- > 0;) {
		crypto_core_ristretto255_scalar_random(w->r[j]);
		if ((rc = bit_prove(&sub->bit[j], study, patient, j, (unsigned)(v >> j & 1), w->r[j])))
			goto out;
	}
	for (uint32_t j = study->bits; j-- > 0;) {
		crypto_core_ristretto255_scalar_add(w->rv, w->rv, w->rv);
		crypto_core_ristretto255_scalar_add(w->rv, w->rv, w->r[j]);
	}
	sc_u64(w->vs, v);
	sc_u64(w->v2s, v * v);
	if ((rc = encrypt_with(&sub->v, study->pk, w->vs, w->rv)))
		goto out;
	crypto_core_ristretto255_scalar_random(w->r2);
	if ((rc = encrypt_with(&sub->v2, study->pk, w->v2s, w->r2)))
		goto out;
	/* s = r2 - v rv */
	crypto_core_ristretto255_scalar_mul(w->tmp, w->vs, w->rv);
	crypto_core_ristretto255_scalar_sub(w->sw, w->r2, w->tmp);
	if ((rc = sq_prove(sub, study, w->vs, w->rv, w->sw)))
		goto out;
	crypto_core_ristretto255_scalar_random(w->r1);
	sc_u64(w->tmp, 1);
	if ((rc = encrypt_with(&sub->one, study->pk, w->tmp, w->r1)) ||
	    (rc = pt_sub(w->tmp, sub->one.b, G_ENC)) ||
	    (rc = dleq_prove(sub->one_c, sub->one_z, "one", study->id, patient, G_ENC, sub->one.a, study->pk,
			     w->tmp, w->r1)))
		goto out;
out:
	sodium_free(w);
	if (rc)
		sodium_memzero(sub, sizeof(*sub));
	return rc;
}

int phr_he_submission_verify(const struct phr_he_study *study, const struct phr_he_submission *sub)
{
	if (!id_ok(sub->patient) || sub->bits != study->bits || sub->bits == 0 || sub->bits > PHR_HE_MAX_BITS)
		return PHR_ERR_INVALID;
	if (sodium_init() < 0)
		return PHR_ERR_CRYPTO;
	const struct phr_he_ct *cts[3] = { &sub->v, &sub->v2, &sub->one };
	for (int i = 0; i < 3; i++)
		if (!phr_he_point_ok(cts[i]->a) || !phr_he_point_ok(cts[i]->b))
			return PHR_ERR_INVALID;
	const uint8_t *scs[6] = { sub->sq_c, sub->sq_zv, sub->sq_zr, sub->sq_zs, sub->one_c, sub->one_z };
	for (int i = 0; i < 6; i++)
		if (!sc_canonical(scs[i]))
			return PHR_ERR_INVALID;
	int rc;
	for (uint32_t j = 0; j < sub->bits; j++)
		if ((rc = bit_verify(&sub->bit[j], study, sub->patient, j)))
			return rc;
	/* Enc(v) = sum 2^j Enc(b_j), by doubling from the top bit */
	struct phr_he_ct acc = sub->bit[sub->bits - 1].ct;
	for (uint32_t j = sub->bits - 1; j-- > 0;)
		if (phr_he_ct_add(&acc, &acc, &acc) || phr_he_ct_add(&acc, &acc, &sub->bit[j].ct))
			return PHR_ERR_TAMPERED;
	if (sodium_memcmp(acc.a, sub->v.a, B) != 0 || sodium_memcmp(acc.b, sub->v.b, B) != 0)
		return PHR_ERR_TAMPERED;
	if ((rc = sq_verify(sub, study)))
		return rc;
	uint8_t bmg[B];
	if (pt_sub(bmg, sub->one.b, G_ENC))
		return PHR_ERR_TAMPERED;
	rc = dleq_verify(sub->one_c, sub->one_z, "one", study->id, sub->patient, G_ENC, sub->one.a, study->pk,
			 bmg);
	return rc == PHR_ERR_INVALID ? PHR_ERR_TAMPERED : rc;
}

/* ---- aggregation and threshold decryption -------------------------------- */

void phr_he_aggregate_init(struct phr_he_aggregate *agg)
{
	memset(agg, 0, sizeof(*agg));
}

int phr_he_aggregate_add(struct phr_he_aggregate *agg, const struct phr_he_submission *sub)
{
	if (agg->count >= ((uint64_t)1 << 32))
		return PHR_ERR_RANGE;
	struct phr_he_aggregate n = *agg;
	int rc;
	if ((rc = phr_he_ct_add(&n.sum, &n.sum, &sub->v)) || (rc = phr_he_ct_add(&n.sumsq, &n.sumsq, &sub->v2)) ||
	    (rc = phr_he_ct_add(&n.ones, &n.ones, &sub->one)))
		return rc;
	n.count++;
	*agg = n;
	return PHR_OK;
}

int phr_he_aggregate_submit(struct phr_he_aggregate *agg, const struct phr_he_study *study,
			    const struct phr_he_submission *sub, phr_he_consent_fn consent, void *ctx)
{
	if (!consent)
		return PHR_ERR_INVALID;
	int rc = phr_he_submission_verify(study, sub);
	if (!rc)
		rc = consent(ctx, study->id, sub->patient);
	if (!rc)
		rc = phr_he_aggregate_add(agg, sub);
	return rc;
}

static const char *const sum_labels[3] = { "sum", "sumsq", "count" };

static void custodian_ctx(char ctx[16], uint32_t index)
{
	snprintf(ctx, 16, "custodian %u", index);
}

int phr_he_partial_make(struct phr_he_partial *p, const struct phr_he_study *study,
			const struct phr_he_share *share, const struct phr_he_aggregate *agg)
{
	if (share->index == 0 || share->index > study->n)
		return PHR_ERR_INVALID;
	if (sodium_init() < 0)
		return PHR_ERR_CRYPTO;
	const struct phr_he_ct *cts[3] = { &agg->sum, &agg->sumsq, &agg->ones };
	char ctx[16];
	custodian_ctx(ctx, share->index);
	memset(p, 0, sizeof(*p));
	p->index = share->index;
	for (int i = 0; i < 3; i++) {
		int rc = pt_mul(p->d[i], share->x, cts[i]->a);
		if (!rc)
			rc = dleq_prove(p->c[i], p->z[i], sum_labels[i], study->id, ctx, G_ENC,
					study->vk[share->index - 1], cts[i]->a, p->d[i], share->x);
		if (rc)
			return rc;
	}
	return PHR_OK;
}

int phr_he_partial_verify(const struct phr_he_study *study, const struct phr_he_aggregate *agg,
			  const struct phr_he_partial *p)
{
	if (p->index == 0 || p->index > study->n)
		return PHR_ERR_INVALID;
	if (sodium_init() < 0)
		return PHR_ERR_CRYPTO;
	const struct phr_he_ct *cts[3] = { &agg->sum, &agg->sumsq, &agg->ones };
	char ctx[16];
	custodian_ctx(ctx, p->index);
	for (int i = 0; i < 3; i++) {
		if (!phr_he_point_ok(p->d[i]))
			return PHR_ERR_TAMPERED;
		int rc = dleq_verify(p->c[i], p->z[i], sum_labels[i], study->id, ctx, G_ENC,
				     study->vk[p->index - 1], cts[i]->a, p->d[i]);
		if (rc)
			return PHR_ERR_TAMPERED;
	}
	return PHR_OK;
}

/* ---- BSGS ------------------------------------------------------------------ */

struct bsgs {
	uint64_t m;            /* baby steps: jG for j < m */
	uint8_t giant[B];      /* mG */
	size_t mask;
	uint32_t *slot;        /* open addressing: j + 1, 0 = empty */
	uint8_t (*pts)[B];
};

static uint64_t key64(const uint8_t *p)
{
	uint64_t k;
	memcpy(&k, p, 8);
	return k * 0x9e3779b97f4a7c15ull;
}

static void bsgs_free(struct bsgs *t)
{
	phr_free(t->slot);
	phr_free(t->pts);
}

static int bsgs_init(struct bsgs *t, uint64_t bound)
{
	memset(t, 0, sizeof(*t));
	uint64_t m = 1;
	while (m * m <= bound)
		m++;
	if (m > PHR_HE_BSGS_MAX_TABLE)
		return PHR_ERR_RANGE;
	size_t cap = 1;
	while (cap < 2 * m)
		cap <<= 1;
	t->m = m;
	t->mask = cap - 1;
	t->slot = phr_calloc(cap, sizeof(uint32_t));
	t->pts = phr_malloc((size_t)m * B);
	if (!t->slot || !t->pts) {
		bsgs_free(t);
		return PHR_ERR_NOMEM;
	}
	memset(t->pts[0], 0, B);
	for (uint64_t j = 0; j < m; j++) {
		if (j && pt_add(t->pts[j], t->pts[j - 1], G_ENC)) {
			bsgs_free(t);
			return PHR_ERR_CRYPTO;
		}
		size_t h = (size_t)key64(t->pts[j]) & t->mask;
		while (t->slot[h])
			h = (h + 1) & t->mask;
		t->slot[h] = (uint32_t)(j + 1);
	}
	if (pt_add(t->giant, t->pts[m - 1], G_ENC)) {
		bsgs_free(t);
		return PHR_ERR_CRYPTO;
	}
	return PHR_OK;
}

static int bsgs_find(const struct bsgs *t, uint64_t *out, const uint8_t point[B], uint64_t bound)
{
	uint8_t q[B];
	memcpy(q, point, B);
	for (uint64_t i = 0; i * t->m <= bound; i++) {
		for (size_t h = (size_t)key64(q) & t->mask; t->slot[h]; h = (h + 1) & t->mask) {
			uint32_t j = t->slot[h] - 1;
			if (sodium_memcmp(t->pts[j], q, B) == 0) {
				uint64_t m = i * t->m + j;
				if (m > bound)
					return PHR_ERR_NOT_FOUND;
				*out = m;
				return PHR_OK;
			}
		}
		if (pt_sub(q, q, t->giant))
			return PHR_ERR_CRYPTO;
	}
	return PHR_ERR_NOT_FOUND;
}

int phr_he_bsgs(uint64_t *m, const uint8_t point[B], uint64_t bound)
{
	if (sodium_init() < 0)
		return PHR_ERR_CRYPTO;
	struct bsgs t;
	int rc = bsgs_init(&t, bound);
	if (rc)
		return rc;
	rc = bsgs_find(&t, m, point, bound);
	bsgs_free(&t);
	return rc;
}

/* lambda_i = prod_{j != i} j / (j - i) over the chosen indices */
static void lagrange(uint8_t out[B], const uint32_t *idx, size_t k, size_t i)
{
	uint8_t num[B], den[B], a[B], b[B];
	sc_u64(num, 1);
	sc_u64(den, 1);
	for (size_t j = 0; j < k; j++) {
		if (j == i)
			continue;
		sc_u64(a, idx[j]);
		sc_u64(b, idx[i]);
		crypto_core_ristretto255_scalar_mul(num, num, a);
		crypto_core_ristretto255_scalar_sub(b, a, b);
		crypto_core_ristretto255_scalar_mul(den, den, b);
	}
	crypto_core_ristretto255_scalar_invert(den, den);
	crypto_core_ristretto255_scalar_mul(out, num, den);
}

__extension__ typedef unsigned __int128 u128;

int phr_he_combine(struct phr_he_result *res, size_t *bad, const struct phr_he_study *study,
		   const struct phr_he_aggregate *agg, const struct phr_he_partial *partials, size_t np)
{
	memset(res, 0, sizeof(*res));
	if (bad)
		*bad = 0;
	if (sodium_init() < 0)
		return PHR_ERR_CRYPTO;
	uint32_t idx[PHR_HE_MAX_CUSTODIANS];
	const struct phr_he_partial *use[PHR_HE_MAX_CUSTODIANS];
	size_t k = 0, nbad = 0;
	for (size_t i = 0; i < np && k < study->t; i++) {
		bool dup = false;
		for (size_t j = 0; j < k; j++)
			dup |= idx[j] == partials[i].index;
		if (dup || phr_he_partial_verify(study, agg, &partials[i]) != PHR_OK) {
			nbad++;
			continue;
		}
		idx[k] = partials[i].index;
		use[k++] = &partials[i];
	}
	if (bad)
		*bad = nbad;
	if (k < study->t)
		return PHR_ERR_FORBIDDEN;
	const struct phr_he_ct *cts[3] = { &agg->sum, &agg->sumsq, &agg->ones };
	uint8_t m[3][B];
	for (int c = 0; c < 3; c++) {
		uint8_t xa[B] = { 0 }, term[B], lam[B];
		for (size_t i = 0; i < k; i++) {
			lagrange(lam, idx, k, i);
			if (pt_mul(term, lam, use[i]->d[c]) || pt_add(xa, xa, term))
				return PHR_ERR_CRYPTO;
		}
		if (pt_sub(m[c], cts[c]->b, xa))
			return PHR_ERR_CRYPTO;
	}
	uint64_t vmax = ((uint64_t)1 << study->bits) - 1;
	uint64_t n = agg->count;
	u128 b2 = (u128)n * vmax * vmax;
	if (b2 > UINT64_MAX)
		return PHR_ERR_RANGE;
	uint64_t bounds[3] = { n * vmax, (uint64_t)b2, n };
	struct bsgs t;
	int rc = bsgs_init(&t, bounds[1] > n ? bounds[1] : n);
	if (rc)
		return rc;
	uint64_t out[3];
	for (int c = 0; c < 3 && !rc; c++)
		rc = bsgs_find(&t, &out[c], m[c], bounds[c]);
	bsgs_free(&t);
	if (rc)
		return rc == PHR_ERR_NOT_FOUND ? PHR_ERR_RANGE : rc;
	if (out[2] != n)
		return PHR_ERR_CORRUPT;
	res->count = n;
	res->sum = out[0];
	res->sumsq = out[1];
	if (n) {
		res->mean = (double)out[0] / (double)n;
		/* n^2 var = n sumsq - sum^2 >= 0 (the square proofs guarantee it), exact in 128 bits */
		if ((u128)n * out[1] < (u128)out[0] * out[0])
			return PHR_ERR_CORRUPT;
		u128 num = (u128)n * out[1] - (u128)out[0] * out[0];
		res->variance = (double)num / ((double)n * (double)n);
		if (n > 1)
			res->sample_variance = (double)num / ((double)n * (double)(n - 1));
	}
	return PHR_OK;
}
