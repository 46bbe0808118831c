/*
 * In-memory Merkle-Patricia trie (yellow paper appendix D).
 *
 * Nodes are heap objects; paths are kept as one nibble per byte. Every node
 * caches its reference (hash or inline RLP); a change clears the cache of the
 * nodes on the changed path only, so a root after a few updates costs a few
 * hashes, not a rebuild.
 */
#include "phr/trie.h"

#include "phr/crypto.h"
#include "phr/rlp.h"

#define MAX_KEY 1024

enum { N_LEAF = 0, N_EXT = 1, N_BRANCH = 2 };

struct tnode {
	uint8_t kind;
	bool clean;      /* ref holds the current reference */
	uint8_t ref_len; /* 32: ref is the hash; < 32: ref is the node's RLP */
	uint8_t ref[32];
	uint16_t plen;   /* leaf/ext: path length in nibbles */
	uint8_t *path;   /* leaf/ext: nibbles */
	uint8_t *val;    /* leaf/branch value (NULL/0 = none for a branch) */
	size_t vlen;
	struct tnode *child;     /* ext */
	struct tnode *kids[16];  /* branch (only meaningful for N_BRANCH) */
};

struct phr_trie {
	struct tnode *root;
	bool secure;
	size_t count;
	struct phr_buf scratch;
};

const uint8_t phr_trie_empty_root[32] = {
	0x56, 0xe8, 0x1f, 0x17, 0x1b, 0xcc, 0x55, 0xa6, 0xff, 0x83, 0x45,
	0xe6, 0x92, 0xc0, 0xf8, 0x6e, 0x5b, 0x48, 0xe0, 0x1b, 0x99, 0x6c,
	0xad, 0xc0, 0x01, 0x62, 0x2f, 0xb5, 0xe3, 0x63, 0xb4, 0x21,
};

/* ------------------------------------------------------------------------- */
/* node helpers                                                              */
/* ------------------------------------------------------------------------- */

static void node_free(struct tnode *n)
{
	if (!n)
		return;
	if (n->kind == N_BRANCH) {
		for (int i = 0; i < 16; i++)
			node_free(n->kids[i]);
	} else if (n->kind == N_EXT) {
		node_free(n->child);
	}
	phr_free(n->path);
	phr_free(n->val);
	phr_free(n);
}

static struct tnode *node_new(uint8_t kind)
{
	struct tnode *n = phr_calloc(1, sizeof(*n));
	if (n)
		n->kind = kind;
	return n;
}

/* Sets n's path to the concatenation a ++ b (either may be empty). */
static int set_path2(struct tnode *n, const uint8_t *a, size_t alen, const uint8_t *b,
		     size_t blen)
{
	uint8_t *p = NULL;
	if (alen + blen) {
		p = phr_malloc(alen + blen);
		if (!p)
			return PHR_ERR_NOMEM;
		if (alen)
			memcpy(p, a, alen);
		if (blen)
			memcpy(p + alen, b, blen);
	}
	phr_free(n->path);
	n->path = p;
	n->plen = (uint16_t)(alen + blen);
	n->clean = false;
	return PHR_OK;
}

static int set_val(struct tnode *n, const uint8_t *v, size_t vlen)
{
	uint8_t *p = phr_malloc(vlen ? vlen : 1);
	if (!p)
		return PHR_ERR_NOMEM;
	if (vlen)
		memcpy(p, v, vlen);
	phr_free(n->val);
	n->val = p;
	n->vlen = vlen;
	n->clean = false;
	return PHR_OK;
}

static struct tnode *leaf_new(const uint8_t *path, size_t plen, const uint8_t *v, size_t vlen)
{
	struct tnode *n = node_new(N_LEAF);
	if (!n)
		return NULL;
	if (set_path2(n, path, plen, NULL, 0) || set_val(n, v, vlen)) {
		node_free(n);
		return NULL;
	}
	return n;
}

/* Are the first @p len nibbles of n's path k[0..len)? (empty paths are NULL) */
static bool prefix_eq(const struct tnode *n, const uint8_t *k, size_t len)
{
	return len == 0 || memcmp(n->path, k, len) == 0;
}

static size_t common_prefix(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	size_t i = 0;
	while (i < alen && i < blen && a[i] == b[i])
		i++;
	return i;
}

/* ------------------------------------------------------------------------- */
/* insert                                                                    */
/* ------------------------------------------------------------------------- */

/*
 * Inserts into the subtree @p n; returns the new subtree root. On allocation
 * failure *err is set and the subtree is returned unchanged (NULL only when
 * @p n was NULL).
 */
static struct tnode *ins(struct tnode *n, const uint8_t *k, size_t klen, const uint8_t *v,
			 size_t vlen, bool *added, int *err)
{
	if (!n) {
		struct tnode *l = leaf_new(k, klen, v, vlen);
		if (!l)
			*err = PHR_ERR_NOMEM;
		*added = true;
		return l;
	}
	if (n->kind == N_BRANCH) {
		if (klen == 0) {
			if (!n->val)
				*added = true;
			if (set_val(n, v, vlen)) {
				*err = PHR_ERR_NOMEM;
				return n;
			}
			return n;
		}
		struct tnode *c = ins(n->kids[k[0]], k + 1, klen - 1, v, vlen, added, err);
		if (c)
			n->kids[k[0]] = c;
		n->clean = false;
		return n;
	}
	size_t cp = common_prefix(n->path, n->plen, k, klen);
	if (n->kind == N_LEAF && cp == n->plen && cp == klen) {
		if (set_val(n, v, vlen))
			*err = PHR_ERR_NOMEM;
		return n;
	}
	if (n->kind == N_EXT && cp == n->plen) {
		struct tnode *c = ins(n->child, k + cp, klen - cp, v, vlen, added, err);
		if (c)
			n->child = c;
		n->clean = false;
		return n;
	}
	/*
	 * Split at cp: a branch (under an extension when cp > 0). Everything is
	 * allocated first, so a failure leaves the subtree as it was.
	 */
	struct tnode *b = node_new(N_BRANCH), *nl = NULL, *e = NULL;
	uint8_t *rest = NULL;
	size_t rest_len = 0;
	bool leaf_val_up = n->kind == N_LEAF && cp == n->plen;
	bool ext_dissolves = n->kind == N_EXT && n->plen - cp == 1;
	if (!b)
		goto nomem;
	if (cp < klen) {
		nl = leaf_new(k + cp + 1, klen - cp - 1, v, vlen);
		if (!nl)
			goto nomem;
	} else if (set_val(b, v, vlen)) {
		goto nomem;
	}
	if (cp > 0) {
		e = node_new(N_EXT);
		if (!e || set_path2(e, k, cp, NULL, 0))
			goto nomem;
	}
	if (!leaf_val_up && !ext_dissolves) {
		rest_len = n->plen - cp - 1;
		if (rest_len) {
			rest = phr_malloc(rest_len);
			if (!rest)
				goto nomem;
			memcpy(rest, n->path + cp + 1, rest_len);
		}
	}
	/* no allocation from here on: re-home the old node under the branch */
	if (leaf_val_up) {
		b->val = n->val;
		b->vlen = n->vlen;
		n->val = NULL;
		node_free(n);
	} else if (ext_dissolves) {
		b->kids[n->path[cp]] = n->child;
		n->child = NULL;
		node_free(n);
	} else {
		b->kids[n->path[cp]] = n;
		phr_free(n->path);
		n->path = rest;
		n->plen = (uint16_t)rest_len;
		n->clean = false;
	}
	if (nl)
		b->kids[k[cp]] = nl;
	*added = true;
	if (e) {
		e->child = b;
		return e;
	}
	return b;
nomem:
	node_free(b);
	node_free(nl);
	node_free(e);
	phr_free(rest);
	*err = PHR_ERR_NOMEM;
	return n;
}

/* ------------------------------------------------------------------------- */
/* delete                                                                    */
/* ------------------------------------------------------------------------- */

/* Folds @p n (a branch that lost a child or value) into canonical form. */
static struct tnode *normalise_branch(struct tnode *n, int *err)
{
	int only = -1, kids = 0;
	for (int i = 0; i < 16; i++) {
		if (n->kids[i]) {
			kids++;
			only = i;
		}
	}
	if (kids == 0) {
		if (!n->val) {
			node_free(n);
			return NULL;
		}
		struct tnode *l = node_new(N_LEAF);
		if (!l) {
			*err = PHR_ERR_NOMEM;
			return n;
		}
		l->val = n->val;
		l->vlen = n->vlen;
		n->val = NULL;
		node_free(n);
		return l;
	}
	if (kids > 1 || n->val)
		return n;
	struct tnode *c = n->kids[only];
	uint8_t nib = (uint8_t)only;
	if (c->kind == N_BRANCH) {
		struct tnode *e = node_new(N_EXT);
		if (!e || set_path2(e, &nib, 1, NULL, 0)) {
			node_free(e);
			*err = PHR_ERR_NOMEM;
			return n;
		}
		e->child = c;
		n->kids[only] = NULL;
		node_free(n);
		return e;
	}
	if (set_path2(c, &nib, 1, c->path, c->plen)) {
		*err = PHR_ERR_NOMEM;
		return n;
	}
	n->kids[only] = NULL;
	node_free(n);
	return c;
}

static struct tnode *del(struct tnode *n, const uint8_t *k, size_t klen, bool *removed, int *err)
{
	if (!n)
		return NULL;
	if (n->kind == N_LEAF) {
		if (n->plen == klen && prefix_eq(n, k, klen)) {
			*removed = true;
			node_free(n);
			return NULL;
		}
		return n;
	}
	if (n->kind == N_EXT) {
		if (klen < n->plen || !prefix_eq(n, k, n->plen))
			return n;
		struct tnode *c = del(n->child, k + n->plen, klen - n->plen, removed, err);
		if (!*removed)
			return n;
		n->clean = false;
		n->child = c;
		if (!c) {
			node_free(n);
			return NULL;
		}
		if (c->kind != N_BRANCH) {
			/* merge the extension into its leaf/extension child */
			if (set_path2(c, n->path, n->plen, c->path, c->plen)) {
				*err = PHR_ERR_NOMEM;
				return n;
			}
			n->child = NULL;
			node_free(n);
			return c;
		}
		return n;
	}
	if (klen == 0) {
		if (!n->val)
			return n;
		phr_free(n->val);
		n->val = NULL;
		n->vlen = 0;
		*removed = true;
	} else {
		if (!n->kids[k[0]])
			return n;
		n->kids[k[0]] = del(n->kids[k[0]], k + 1, klen - 1, removed, err);
		if (!*removed)
			return n;
	}
	n->clean = false;
	return normalise_branch(n, err);
}

/* ------------------------------------------------------------------------- */
/* public: put/get/delete                                                    */
/* ------------------------------------------------------------------------- */

static size_t to_nibbles(uint8_t *out, const struct phr_trie *t, const uint8_t *key, size_t klen)
{
	uint8_t h[32];
	if (t->secure) {
		phr_keccak256(h, key, klen);
		key = h;
		klen = 32;
	}
	for (size_t i = 0; i < klen; i++) {
		out[2 * i] = key[i] >> 4;
		out[2 * i + 1] = key[i] & 15;
	}
	return klen * 2;
}

int phr_trie_new(struct phr_trie **out, bool secure)
{
	struct phr_trie *t = phr_calloc(1, sizeof(*t));
	if (!t)
		return PHR_ERR_NOMEM;
	t->secure = secure;
	phr_buf_init(&t->scratch, 0);
	*out = t;
	return PHR_OK;
}

void phr_trie_clear(struct phr_trie *t)
{
	node_free(t->root);
	t->root = NULL;
	t->count = 0;
}

void phr_trie_free(struct phr_trie *t)
{
	if (!t)
		return;
	node_free(t->root);
	phr_buf_release(&t->scratch);
	phr_free(t);
}

size_t phr_trie_count(const struct phr_trie *t)
{
	return t->count;
}

int phr_trie_put(struct phr_trie *t, const uint8_t *key, size_t key_len, const uint8_t *val,
		 size_t val_len)
{
	if (val_len == 0)
		return phr_trie_delete(t, key, key_len);
	if (key_len > MAX_KEY)
		return PHR_ERR_TOO_LARGE;
	uint8_t nib[2 * MAX_KEY];
	size_t n = to_nibbles(nib, t, key, key_len);
	bool added = false;
	int err = PHR_OK;
	/* on failure ins() returns the subtree unchanged (NULL only for an empty trie) */
	t->root = ins(t->root, nib, n, val, val_len, &added, &err);
	if (err)
		return err;
	if (added)
		t->count++;
	return PHR_OK;
}

int phr_trie_delete(struct phr_trie *t, const uint8_t *key, size_t key_len)
{
	if (key_len > MAX_KEY)
		return PHR_ERR_TOO_LARGE;
	uint8_t nib[2 * MAX_KEY];
	size_t n = to_nibbles(nib, t, key, key_len);
	bool removed = false;
	int err = PHR_OK;
	t->root = del(t->root, nib, n, &removed, &err);
	if (removed && !err)
		t->count--;
	return err;
}

int phr_trie_get(const struct phr_trie *t, const uint8_t **val, size_t *val_len,
		 const uint8_t *key, size_t key_len)
{
	if (key_len > MAX_KEY)
		return PHR_ERR_NOT_FOUND;
	uint8_t nib[2 * MAX_KEY];
	size_t klen = to_nibbles(nib, t, key, key_len);
	const uint8_t *k = nib;
	const struct tnode *n = t->root;
	while (n) {
		if (n->kind == N_BRANCH) {
			if (klen == 0) {
				if (!n->val)
					return PHR_ERR_NOT_FOUND;
				*val = n->val;
				*val_len = n->vlen;
				return PHR_OK;
			}
			n = n->kids[k[0]];
			k++;
			klen--;
			continue;
		}
		if (klen < n->plen || !prefix_eq(n, k, n->plen))
			return PHR_ERR_NOT_FOUND;
		if (n->kind == N_LEAF) {
			if (klen != n->plen)
				return PHR_ERR_NOT_FOUND;
			*val = n->val;
			*val_len = n->vlen;
			return PHR_OK;
		}
		k += n->plen;
		klen -= n->plen;
		n = n->child;
	}
	return PHR_ERR_NOT_FOUND;
}

static int walk(const struct tnode *n, uint8_t *nib, uint8_t *key, size_t depth,
		phr_trie_visit_fn fn, void *ctx)
{
	if (!n)
		return PHR_OK;
	if (n->kind != N_BRANCH) {
		if (n->plen)
			memcpy(nib + depth, n->path, n->plen);
		depth += n->plen;
		if (n->kind == N_EXT)
			return walk(n->child, nib, key, depth, fn, ctx);
	}
	if (n->val) {
		for (size_t i = 0; i + 1 < depth; i += 2)
			key[i / 2] = (uint8_t)(nib[i] << 4 | nib[i + 1]);
		int rc = fn(ctx, key, depth / 2, n->val, n->vlen);
		if (rc)
			return rc;
	}
	if (n->kind == N_BRANCH) {
		for (uint8_t i = 0; i < 16; i++) {
			nib[depth] = i;
			int rc = walk(n->kids[i], nib, key, depth + 1, fn, ctx);
			if (rc)
				return rc;
		}
	}
	return PHR_OK;
}

int phr_trie_foreach(const struct phr_trie *t, phr_trie_visit_fn fn, void *ctx)
{
	uint8_t nib[2 * MAX_KEY + 2], key[MAX_KEY + 1];
	return walk(t->root, nib, key, 0, fn, ctx);
}

/* ------------------------------------------------------------------------- */
/* hashing                                                                   */
/* ------------------------------------------------------------------------- */

static size_t hp_len(const struct tnode *n)
{
	return n->plen / 2 + 1;
}

static void hp_write(uint8_t *out, const struct tnode *n)
{
	uint8_t flag = (n->kind == N_LEAF ? 2 : 0) | (n->plen & 1);
	size_t i = 0, o = 1;
	if (n->plen & 1) {
		out[0] = (uint8_t)(flag << 4 | n->path[0]);
		i = 1;
	} else {
		out[0] = (uint8_t)(flag << 4);
	}
	for (; i < n->plen; i += 2)
		out[o++] = (uint8_t)(n->path[i] << 4 | n->path[i + 1]);
}

/* Appends the hex-prefix path of @p n as an RLP string. Not inlined into the
 * recursive node_encode so the path buffer is not part of every level's frame. */
static __attribute__((noinline)) int put_hp(struct phr_buf *b, const struct tnode *n)
{
	uint8_t hp[MAX_KEY + 1];
	hp_write(hp, n);
	return phr_rlp_put_bytes(b, hp, hp_len(n));
}

static int ref_put(struct phr_buf *b, const struct tnode *c)
{
	if (!c)
		return phr_rlp_put_bytes(b, "", 0);
	if (c->ref_len == 32)
		return phr_rlp_put_bytes(b, c->ref, 32);
	return phr_rlp_put_raw(b, c->ref, c->ref_len);
}

static int node_encode(struct tnode *n, struct phr_buf *b);

static int node_update(struct tnode *n, struct phr_buf *b)
{
	if (n->clean)
		return PHR_OK;
	int rc = node_encode(n, b);
	if (rc)
		return rc;
	if (b->len < 32) {
		memcpy(n->ref, b->data, b->len);
		n->ref_len = (uint8_t)b->len;
	} else {
		phr_keccak256(n->ref, b->data, b->len);
		n->ref_len = 32;
	}
	n->clean = true;
	return PHR_OK;
}

/*
 * The RLP of a branch without a value (every branch of a secure trie, whose
 * keys have one length) written in one pass: the list's length is known from
 * the children's references, so no per-item calls and no shift of the payload
 * behind a late header. Children are clean.
 */
static int branch_encode(const struct tnode *n, struct phr_buf *b)
{
	size_t payload = 1, i; /* the empty value */
	uint8_t *p;
	int rc;

	for (i = 0; i < 16; i++) {
		const struct tnode *c = n->kids[i];

		payload += !c ? 1 : c->ref_len == 32 ? 33 : c->ref_len;
	}
	phr_buf_reset(b);
	if ((rc = phr_buf_reserve(b, payload + 3)))
		return rc;
	p = b->data;
	if (payload < 56) {
		*p++ = (uint8_t)(0xc0 + payload);
	} else if (payload < 256) {
		*p++ = 0xf8;
		*p++ = (uint8_t)payload;
	} else {
		*p++ = 0xf9;
		*p++ = (uint8_t)(payload >> 8);
		*p++ = (uint8_t)payload;
	}
	for (i = 0; i < 16; i++) {
		const struct tnode *c = n->kids[i];

		if (!c) {
			*p++ = 0x80;
		} else if (c->ref_len == 32) {
			*p++ = 0xa0;
			memcpy(p, c->ref, 32);
			p += 32;
		} else {
			memcpy(p, c->ref, c->ref_len);
			p += c->ref_len;
		}
	}
	*p++ = 0x80;
	b->len = (size_t)(p - b->data);
	return PHR_OK;
}

/* Writes the RLP of @p n into @p b (reset first); children are updated first. */
static int node_encode(struct tnode *n, struct phr_buf *b)
{
	int rc;
	if (n->kind == N_BRANCH) {
		for (int i = 0; i < 16; i++) {
			if (n->kids[i] && (rc = node_update(n->kids[i], b)))
				return rc;
		}
		if (!n->val || !n->vlen)
			return branch_encode(n, b);
	} else if (n->kind == N_EXT && (rc = node_update(n->child, b))) {
		return rc;
	}
	phr_buf_reset(b);
	size_t mark;
	phr_rlp_list_begin(b, &mark);
	if (n->kind == N_BRANCH) {
		for (int i = 0; i < 16; i++) {
			if ((rc = ref_put(b, n->kids[i])))
				return rc;
		}
		rc = phr_rlp_put_bytes(b, n->val ? n->val : (const uint8_t *)"", n->val ? n->vlen : 0);
	} else {
		if ((rc = put_hp(b, n)))
			return rc;
		if (n->kind == N_LEAF)
			rc = phr_rlp_put_bytes(b, n->val, n->vlen);
		else
			rc = ref_put(b, n->child);
	}
	return rc ? rc : phr_rlp_list_end(b, mark);
}

int phr_trie_root(struct phr_trie *t, uint8_t out[32])
{
	if (!t->root) {
		memcpy(out, phr_trie_empty_root, 32);
		return PHR_OK;
	}
	struct tnode *r = t->root;
	if (!r->clean || r->ref_len < 32) {
		/* the root is always hashed, however short its RLP */
		int rc = node_encode(r, &t->scratch);
		if (rc)
			return rc;
		phr_keccak256(out, t->scratch.data, t->scratch.len);
		if (t->scratch.len < 32) {
			memcpy(r->ref, t->scratch.data, t->scratch.len);
			r->ref_len = (uint8_t)t->scratch.len;
		} else {
			memcpy(r->ref, out, 32);
			r->ref_len = 32;
		}
		r->clean = true;
		return PHR_OK;
	}
	memcpy(out, r->ref, 32);
	return PHR_OK;
}

/* ------------------------------------------------------------------------- */
/* proofs                                                                    */
/* ------------------------------------------------------------------------- */

static int proof_add(struct phr_buf **nodes, size_t *count, size_t *cap, struct tnode *n,
		     struct phr_buf *scratch)
{
	if (*count == *cap) {
		size_t nc = *cap ? *cap * 2 : 8;
		struct phr_buf *p = phr_realloc(*nodes, nc * sizeof(*p));
		if (!p)
			return PHR_ERR_NOMEM;
		*nodes = p;
		*cap = nc;
	}
	int rc = node_encode(n, scratch);
	if (rc)
		return rc;
	struct phr_buf *d = &(*nodes)[*count];
	phr_buf_init(d, 0);
	if ((rc = phr_buf_append(d, scratch->data, scratch->len)))
		return rc;
	(*count)++;
	return PHR_OK;
}

int phr_trie_prove(struct phr_trie *t, struct phr_buf **nodes, size_t *nodes_count,
		   const uint8_t *key, size_t key_len)
{
	if (key_len > MAX_KEY)
		return PHR_ERR_TOO_LARGE;
	uint8_t root[32];
	int rc = phr_trie_root(t, root);
	if (rc)
		return rc;
	uint8_t nib[2 * MAX_KEY];
	size_t klen = to_nibbles(nib, t, key, key_len);
	const uint8_t *k = nib;
	struct phr_buf *arr = NULL;
	size_t count = 0, cap = 0;
	struct tnode *n = t->root;
	bool first = true;
	while (n) {
		if (first || n->ref_len == 32) {
			if ((rc = proof_add(&arr, &count, &cap, n, &t->scratch)))
				goto fail;
		}
		first = false;
		if (n->kind == N_BRANCH) {
			if (klen == 0)
				break;
			n = n->kids[k[0]];
			k++;
			klen--;
		} else if (n->kind == N_LEAF) {
			break;
		} else {
			if (klen < n->plen || !prefix_eq(n, k, n->plen))
				break;
			k += n->plen;
			klen -= n->plen;
			n = n->child;
		}
	}
	*nodes = arr;
	*nodes_count = count;
	return PHR_OK;
fail:
	for (size_t i = 0; i < count; i++)
		phr_buf_release(&arr[i]);
	phr_free(arr);
	return rc;
}

/* ------------------------------------------------------------------------- */
/* ordered lists                                                             */
/* ------------------------------------------------------------------------- */

int phr_trie_ordered_root(uint8_t out[32], const uint8_t *const *items, const size_t *item_lens,
			  size_t count)
{
	struct phr_trie *t;
	int rc = phr_trie_new(&t, false);
	if (rc)
		return rc;
	for (size_t i = 0; i < count && !rc; i++) {
		struct phr_buf key;
		phr_buf_init(&key, 16);
		rc = phr_rlp_put_u64(&key, i);
		if (!rc)
			rc = phr_trie_put(t, key.data, key.len, items[i], item_lens[i]);
		phr_buf_release(&key);
	}
	if (!rc)
		rc = phr_trie_root(t, out);
	phr_trie_free(t);
	return rc;
}
