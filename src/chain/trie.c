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

/*
 * Nodes come in three sizes, each one allocation: a leaf holds its path and
 * value inline, an extension its path, a branch its 16 children. A storage
 * slot's leaf (a 32-byte key hashed, ~60 nibbles of path, a value of up to 33
 * bytes) takes ~140 bytes instead of ~340 with a node of every kind's fields
 * and the path and value in blocks of their own.
 */
struct tnode {
	uint8_t kind;
	bool clean;      /* ref holds the current reference */
	uint8_t ref_len; /* 32: ref is the hash; < 32: ref is the node's RLP */
	uint16_t plen;   /* leaf/ext: path length in nibbles */
	uint32_t vlen;   /* leaf/branch: value length (a branch: 0 = none) */
	uint8_t ref[32];
};

struct tbranch {
	struct tnode h;
	struct tnode *kids[16];
	uint8_t *val; /* NULL = none */
};

struct text {
	struct tnode h;
	struct tnode *child;
	uint8_t path[]; /* plen nibbles */
};

struct tleaf {
	struct tnode h;
	uint8_t data[]; /* plen nibbles of path, then vlen bytes of value */
};

#define BR(n) ((struct tbranch *)(n))
#define EXT(n) ((struct text *)(n))
#define LEAF(n) ((struct tleaf *)(n))

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

/* The path of a leaf or extension (NULL for a branch). */
static uint8_t *npath(struct tnode *n)
{
	if (n->kind == N_LEAF)
		return LEAF(n)->data;
	return n->kind == N_EXT ? EXT(n)->path : NULL;
}

static const uint8_t *cpath(const struct tnode *n)
{
	return npath((struct tnode *)n);
}

/* The value of a leaf or branch (NULL: a branch without one). */
static const uint8_t *nval(const struct tnode *n)
{
	if (n->kind == N_LEAF)
		return ((const struct tleaf *)n)->data + n->plen;
	return n->kind == N_BRANCH ? ((const struct tbranch *)n)->val : NULL;
}

static void node_free(struct tnode *n)
{
	if (!n)
		return;
	if (n->kind == N_BRANCH) {
		for (int i = 0; i < 16; i++)
			node_free(BR(n)->kids[i]);
		phr_free(BR(n)->val);
	} else if (n->kind == N_EXT) {
		node_free(EXT(n)->child);
	}
	phr_free(n);
}

static struct tnode *branch_new(void)
{
	struct tbranch *b = phr_calloc(1, sizeof(*b));
	if (!b)
		return NULL;
	b->h.kind = N_BRANCH;
	return &b->h;
}

/* An extension with path a ++ b over @p child. */
static struct tnode *ext_new(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen,
			     struct tnode *child)
{
	struct text *e = phr_malloc(sizeof(*e) + alen + blen);
	if (!e)
		return NULL;
	memset(&e->h, 0, sizeof(e->h));
	e->h.kind = N_EXT;
	e->h.plen = (uint16_t)(alen + blen);
	if (alen)
		memcpy(e->path, a, alen);
	if (blen)
		memcpy(e->path + alen, b, blen);
	e->child = child;
	return &e->h;
}

static struct tnode *leaf_new(const uint8_t *path, size_t plen, const uint8_t *v, size_t vlen)
{
	struct tleaf *l = phr_malloc(sizeof(*l) + plen + vlen);
	if (!l)
		return NULL;
	memset(&l->h, 0, sizeof(l->h));
	l->h.kind = N_LEAF;
	l->h.plen = (uint16_t)plen;
	l->h.vlen = (uint32_t)vlen;
	if (plen)
		memcpy(l->data, path, plen);
	if (vlen)
		memcpy(l->data + plen, v, vlen);
	return &l->h;
}

/* A leaf's new value: the node (moved when the size changed), or NULL with
 * the node unchanged on allocation failure. */
static struct tnode *leaf_set_val(struct tnode *n, const uint8_t *v, size_t vlen)
{
	if (vlen != n->vlen) {
		struct tleaf *l = phr_realloc(n, sizeof(*l) + n->plen + vlen);
		if (!l)
			return NULL;
		n = &l->h;
		n->vlen = (uint32_t)vlen;
	}
	if (vlen)
		memcpy(LEAF(n)->data + n->plen, v, vlen);
	n->clean = false;
	return n;
}

static int branch_set_val(struct tnode *n, const uint8_t *v, size_t vlen)
{
	uint8_t *p = phr_malloc(vlen ? vlen : 1);
	if (!p)
		return PHR_ERR_NOMEM;
	if (vlen)
		memcpy(p, v, vlen);
	phr_free(BR(n)->val);
	BR(n)->val = p;
	n->vlen = (uint32_t)vlen;
	n->clean = false;
	return PHR_OK;
}

/* Drops the first @p k nibbles of a leaf's or extension's path, in place. */
static void path_drop(struct tnode *n, size_t k)
{
	uint8_t *p = npath(n);
	size_t tail = n->plen - k + (n->kind == N_LEAF ? n->vlen : 0);

	if (tail)
		memmove(p, p + k, tail);
	n->plen = (uint16_t)(n->plen - k);
	n->clean = false;
}

/* Puts @p pre in front of a leaf's or extension's path: the node (moved), or
 * NULL with the node unchanged on allocation failure. */
static struct tnode *path_prepend(struct tnode *n, const uint8_t *pre, size_t k)
{
	size_t head = n->kind == N_LEAF ? sizeof(struct tleaf) : sizeof(struct text);
	size_t tail = n->plen + (n->kind == N_LEAF ? n->vlen : 0);
	uint8_t *m = phr_realloc(n, head + k + tail);
	uint8_t *p;

	if (!m)
		return NULL;
	n = (struct tnode *)m;
	p = npath(n);
	if (tail)
		memmove(p + k, p, tail);
	memcpy(p, pre, k);
	n->plen = (uint16_t)(n->plen + k);
	n->clean = false;
	return n;
}

/* Are the first @p len nibbles of n's path k[0..len)? */
static bool prefix_eq(const struct tnode *n, const uint8_t *k, size_t len)
{
	return len == 0 || memcmp(cpath(n), k, len) == 0;
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
			if (!BR(n)->val)
				*added = true;
			if (branch_set_val(n, v, vlen))
				*err = PHR_ERR_NOMEM;
			return n;
		}
		struct tnode *c = ins(BR(n)->kids[k[0]], k + 1, klen - 1, v, vlen, added, err);
		if (c)
			BR(n)->kids[k[0]] = c;
		n->clean = false;
		return n;
	}
	size_t cp = common_prefix(npath(n), n->plen, k, klen);
	if (n->kind == N_LEAF && cp == n->plen && cp == klen) {
		struct tnode *m = leaf_set_val(n, v, vlen);
		if (!m) {
			*err = PHR_ERR_NOMEM;
			return n;
		}
		return m;
	}
	if (n->kind == N_EXT && cp == n->plen) {
		struct tnode *c = ins(EXT(n)->child, k + cp, klen - cp, v, vlen, added, err);
		if (c)
			EXT(n)->child = c;
		n->clean = false;
		return n;
	}
	/*
	 * Split at cp: a branch (under an extension when cp > 0). Everything is
	 * allocated first, so a failure leaves the subtree as it was.
	 */
	struct tnode *b = branch_new(), *nl = NULL, *e = NULL;
	uint8_t *up = NULL;
	bool leaf_val_up = n->kind == N_LEAF && cp == n->plen;
	bool ext_dissolves = n->kind == N_EXT && n->plen - cp == 1;
	if (!b)
		goto nomem;
	if (cp < klen) {
		nl = leaf_new(k + cp + 1, klen - cp - 1, v, vlen);
		if (!nl)
			goto nomem;
	} else if (branch_set_val(b, v, vlen)) {
		goto nomem;
	}
	if (cp > 0) {
		e = ext_new(k, cp, NULL, 0, NULL);
		if (!e)
			goto nomem;
	}
	if (leaf_val_up) {
		/* the old leaf's key ends here: its value moves up into the branch */
		up = phr_malloc(n->vlen ? n->vlen : 1);
		if (!up)
			goto nomem;
		if (n->vlen)
			memcpy(up, nval(n), n->vlen);
	}
	/* no allocation from here on: re-home the old node under the branch */
	if (leaf_val_up) {
		BR(b)->val = up;
		b->vlen = n->vlen;
		node_free(n);
	} else if (ext_dissolves) {
		BR(b)->kids[EXT(n)->path[cp]] = EXT(n)->child;
		EXT(n)->child = NULL;
		node_free(n);
	} else {
		BR(b)->kids[npath(n)[cp]] = n;
		path_drop(n, cp + 1);
	}
	if (nl)
		BR(b)->kids[k[cp]] = nl;
	*added = true;
	if (e) {
		EXT(e)->child = b;
		return e;
	}
	return b;
nomem:
	node_free(b);
	node_free(nl);
	node_free(e);
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
		if (BR(n)->kids[i]) {
			kids++;
			only = i;
		}
	}
	if (kids == 0) {
		if (!BR(n)->val) {
			node_free(n);
			return NULL;
		}
		struct tnode *l = leaf_new(NULL, 0, BR(n)->val, n->vlen);
		if (!l) {
			*err = PHR_ERR_NOMEM;
			return n;
		}
		node_free(n);
		return l;
	}
	if (kids > 1 || BR(n)->val)
		return n;
	struct tnode *c = BR(n)->kids[only], *m;
	uint8_t nib = (uint8_t)only;
	if (c->kind == N_BRANCH) {
		struct tnode *e = ext_new(&nib, 1, NULL, 0, c);
		if (!e) {
			*err = PHR_ERR_NOMEM;
			return n;
		}
		BR(n)->kids[only] = NULL;
		node_free(n);
		return e;
	}
	m = path_prepend(c, &nib, 1);
	if (!m) {
		*err = PHR_ERR_NOMEM;
		return n;
	}
	BR(n)->kids[only] = NULL;
	node_free(n);
	return m;
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
		struct tnode *c = del(EXT(n)->child, k + n->plen, klen - n->plen, removed, err);
		if (!*removed)
			return n;
		n->clean = false;
		EXT(n)->child = c;
		if (!c) {
			node_free(n);
			return NULL;
		}
		if (c->kind != N_BRANCH) {
			/* merge the extension into its leaf/extension child */
			struct tnode *m = path_prepend(c, EXT(n)->path, n->plen);
			if (!m) {
				*err = PHR_ERR_NOMEM;
				return n;
			}
			EXT(n)->child = NULL;
			node_free(n);
			return m;
		}
		return n;
	}
	if (klen == 0) {
		if (!BR(n)->val)
			return n;
		phr_free(BR(n)->val);
		BR(n)->val = NULL;
		n->vlen = 0;
		*removed = true;
	} else {
		if (!BR(n)->kids[k[0]])
			return n;
		BR(n)->kids[k[0]] = del(BR(n)->kids[k[0]], k + 1, klen - 1, removed, err);
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
	if (key_len > MAX_KEY || val_len > UINT32_MAX)
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
				if (!nval(n))
					return PHR_ERR_NOT_FOUND;
				*val = nval(n);
				*val_len = n->vlen;
				return PHR_OK;
			}
			n = ((const struct tbranch *)n)->kids[k[0]];
			k++;
			klen--;
			continue;
		}
		if (klen < n->plen || !prefix_eq(n, k, n->plen))
			return PHR_ERR_NOT_FOUND;
		if (n->kind == N_LEAF) {
			if (klen != n->plen)
				return PHR_ERR_NOT_FOUND;
			*val = nval(n);
			*val_len = n->vlen;
			return PHR_OK;
		}
		k += n->plen;
		klen -= n->plen;
		n = ((const struct text *)n)->child;
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
			memcpy(nib + depth, cpath(n), n->plen);
		depth += n->plen;
		if (n->kind == N_EXT)
			return walk(((const struct text *)n)->child, nib, key, depth, fn, ctx);
	}
	if (nval(n)) {
		for (size_t i = 0; i + 1 < depth; i += 2)
			key[i / 2] = (uint8_t)(nib[i] << 4 | nib[i + 1]);
		int rc = fn(ctx, key, depth / 2, nval(n), n->vlen);
		if (rc)
			return rc;
	}
	if (n->kind == N_BRANCH) {
		for (uint8_t i = 0; i < 16; i++) {
			nib[depth] = i;
			int rc = walk(((const struct tbranch *)n)->kids[i], nib, key, depth + 1, fn, ctx);
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
	const uint8_t *path = cpath(n);
	size_t i = 0, o = 1;
	if (n->plen & 1) {
		out[0] = (uint8_t)(flag << 4 | path[0]);
		i = 1;
	} else {
		out[0] = (uint8_t)(flag << 4);
	}
	for (; i < n->plen; i += 2)
		out[o++] = (uint8_t)(path[i] << 4 | path[i + 1]);
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
		const struct tnode *c = ((const struct tbranch *)n)->kids[i];

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
		const struct tnode *c = ((const struct tbranch *)n)->kids[i];

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
		/* the encoding reads every child's reference: ask for all 16 at once
		 * (a clean child is a cache miss of its own; one after another they
		 * were half of a storage trie's commit at 10,000 records) */
		for (int i = 0; i < 16; i++) {
			const char *c = (const char *)BR(n)->kids[i];
			if (c) {
				__builtin_prefetch(c);
				__builtin_prefetch(c + sizeof(struct tnode) - 1);
			}
		}
		for (int i = 0; i < 16; i++) {
			if (BR(n)->kids[i] && (rc = node_update(BR(n)->kids[i], b)))
				return rc;
		}
		if (!BR(n)->val || !n->vlen)
			return branch_encode(n, b);
	} else if (n->kind == N_EXT && (rc = node_update(EXT(n)->child, b))) {
		return rc;
	}
	phr_buf_reset(b);
	size_t mark;
	phr_rlp_list_begin(b, &mark);
	if (n->kind == N_BRANCH) {
		for (int i = 0; i < 16; i++) {
			if ((rc = ref_put(b, BR(n)->kids[i])))
				return rc;
		}
		rc = phr_rlp_put_bytes(b, BR(n)->val, n->vlen);
	} else {
		if ((rc = put_hp(b, n)))
			return rc;
		if (n->kind == N_LEAF)
			rc = phr_rlp_put_bytes(b, nval(n), n->vlen);
		else
			rc = ref_put(b, EXT(n)->child);
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
			n = BR(n)->kids[k[0]];
			k++;
			klen--;
		} else if (n->kind == N_LEAF) {
			break;
		} else {
			if (klen < n->plen || !prefix_eq(n, k, n->plen))
				break;
			k += n->plen;
			klen -= n->plen;
			n = EXT(n)->child;
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
