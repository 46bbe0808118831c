/*
 * The store's pack log (docs/store.md, "On disk" and "Durability"): small blocks
 * and pin changes are records appended to one file, DIR/pack, made durable by
 * one fdatasync shared by every writer waiting at that moment (group commit).
 * The log is never emptied: it is where those blocks live. Each process keeps
 * an index (multihash -> offset, length) and the set of pins in memory, built
 * by a scan on open and brought up to date by a scan of what other processes
 * appended when a lookup misses. A block costs an append and an index entry,
 * a pin a record and a set entry: no file, no inode, no rename.
 *
 * Deleting a block (erasure, GC) turns its record into a dead one in place
 * (the header's type; the payload punched out or zeroed) and syncs: no scan
 * ever brings it back. A torn tail left by a crash is dropped by the first
 * opener (truncated); anything damaged in the middle is skipped by scans, and
 * every read is verified against the CID.
 *
 * Older versions wrote blocks as files and kept DIR/wal, a log of copies of
 * them: the first opener alone replays that log if it was written under
 * another boot (as those versions did), syncs and removes it.
 */
/* fallocate, FALLOC_FL_PUNCH_HOLE: _GNU_SOURCE is set for the whole tree */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "phr/core.h"
#include "phr/store.h"
#include "store_int.h"

#define PACK_MAGIC "PHRPACK1"
#define LEGACY_MAGIC "PHRWAL01"
#define HDR_SIZE 64u          /* file header: magic (8), then zeros (legacy: boot id) */
#define REC_MAGIC 0x4c415750u /* "PWAL" little-endian */
#define OWN_GROUP_MAX 64      /* an implicit group commits after this many actions */
#define SCAN_BUF ((size_t)1 << 20)
/* a group's records are gathered in memory and appended with one write when it ends, or
 * once they reach this many bytes */
#define GROUP_BUF_MAX ((size_t)256 << 10)
/* the index file: header, entries, pins, SHA-256 of all before it (docs/store.md) */
#define IDX_MAGIC "PHRPIDX1"
#define IDX_HDR 96u
#define IDX_ENT 44u
#define IDX_FP_WINDOW 4096u
/* pack bytes past what the index file covers that make writing it again worth it (at
 * least; and a quarter of what it covers while the store is in use) */
#define IDX_SAVE_MIN ((uint64_t)32 << 20)

enum { ACT_INDEX = 1, ACT_PIN_ADD, ACT_PIN_RM };

/* 40 bytes: the digest, and where the record's header is (a multiple of 8, at least 64)
 * with its payload length (at most 64 KiB: 17 bits) in one word; 0 for a free slot */
struct idx_ent {
	uint8_t d[32];
	uint64_t ol; /* off / 8 << 17 | len */
};

#define LEN_BITS 17

static bool ent_used(const struct idx_ent *e)
{
	return e->ol != 0;
}

static uint64_t ent_off(const struct idx_ent *e)
{
	return e->ol >> LEN_BITS << 3;
}

static uint32_t ent_len(const struct idx_ent *e)
{
	return (uint32_t)(e->ol & ((1u << LEN_BITS) - 1));
}

struct pin_ent {
	uint64_t h; /* str_hash of s: probes compare it first, a rehash reuses it */
	char *s;
};

struct pinset {
	struct pin_ent *s;
	size_t cap, n;
};

struct phr_wal {
	struct phr_store *st;
	int fd;  /* O_APPEND: records */
	int rfd; /* positioned reads; dead marks */
	pthread_mutex_t amu; /* appends: one writev and its offset at a time */
	/* group commit: a writer's ticket is durable once synced reaches it; one writer syncs
	 * (syncing), the others sleep on the futex word seq, bumped after every sync */
	_Atomic uint64_t issued, synced;
	atomic_uint syncing, sleepers;
	_Atomic uint32_t seq;
	_Atomic uint64_t cur; /* the last sync begun: generation (16 bits) << 48 | target */
	pthread_mutex_t mu; /* pend */
	/* the first record of each open group of this process (under mu; kept by append under
	 * amu): a refresh indexes nothing from there on, so a group stays invisible until its
	 * end */
	uint64_t *pend;
	size_t npend, cappend;
	/* what this process knows of the pack */
	pthread_rwlock_t lk;
	struct idx_ent *idx;
	size_t icap, in;
	struct pinset pins;
	/* older records of blocks the index names at another offset (two writers added the
	 * same block): an erasure kills them too, or a later scan would bring the block back */
	struct phr_wal_block *dups;
	size_t ndups, capdups;
	/* block records whose payload failed its check (bit rot, a bad sector): a read of one
	 * is PHR_ERR_CORRUPT, not "not found"; an erasure kills them like copies */
	struct phr_wal_block *bad;
	size_t nbad, capbad;
	uint64_t scanned; /* records before this offset are in idx / pins */
	pthread_mutex_t scan_mu;
	/* the index file (DIR/pack.idx): what it covers, the furthest record end this process
	 * knows (its own appends included), one save at a time */
	char *idx_path;
	uint64_t save_min; /* IDX_SAVE_MIN, or $PHR_STORE_INDEX_MIN (tests) */
	_Atomic uint64_t saved, tail;
	atomic_uint saving;
	/* an older version's log another process still holds (erasures zero it too) */
	int legacy_fd;
};

static _Thread_local struct {
	struct phr_store *st;
	unsigned depth;
	struct phr_wal_group g;
} tl;

size_t phr_wal_rec_size(size_t len)
{
	return (PHR_WAL_REC_HDR + len + 7u) & ~(size_t)7u;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}

static uint64_t get64(const uint8_t *p)
{
	return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

static void boot_id(char out[40])
{
	int fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);
	memset(out, 0, 40);
	if (fd >= 0) {
		long n = phr_store_read_full(fd, (uint8_t *)out, 39);
		close(fd);
		if (n > 0 && out[n - 1] == '\n')
			out[n - 1] = 0;
	}
	if (!out[0])
		memcpy(out, "unknown", 7); /* never matches: a legacy log is always replayed */
}

/* ---- scanning records ---- */

/*
 * Header of a record at @p p (PHR_WAL_REC_HDR bytes): 1 when it is a plausible record
 * (magic, known type, length within bounds), 0 otherwise.
 */
static bool rec_plausible(const uint8_t *p, unsigned *type, uint32_t *len)
{
	*type = p[4];
	*len = get32(p + 8);
	return get32(p) == REC_MAGIC && *type >= PHR_WAL_REC_BLOCK && *type <= PHR_WAL_REC_DEAD &&
	       *len <= PHR_STORE_WAL_BLOCK_MAX;
}

typedef int (*rec_fn)(void *ctx, uint64_t off, unsigned type, const uint8_t *check,
		      const uint8_t *payload, size_t len);

/*
 * Calls @p fn for each whole record in [@p from, @p to) of @p fd whose check matches its
 * payload; dead records are stepped over by their length; a damaged stretch (a torn
 * append, garbage) is skipped 8 bytes at a time until the next valid record. *@p good_end:
 * the end of the last valid (or dead) record, @p from when there is none.
 */
/* Makes [@p off, @p off + @p need) present in the scan buffer; false at end of file. */
static bool scan_fill(int fd, uint8_t *buf, uint64_t *base, size_t *have, uint64_t off,
		      size_t need, uint64_t to, int *rc)
{
	if (off >= *base && off + need <= *base + *have)
		return true;
	uint64_t want = to - off < SCAN_BUF ? to - off : SCAN_BUF;
	ssize_t r = pread(fd, buf, (size_t)want, (off_t)off);
	if (r < 0) {
		*rc = PHR_ERR_IO;
		return false;
	}
	*base = off;
	*have = (size_t)r;
	return *have >= need;
}

int phr_wal_scan(int fd, uint64_t from, uint64_t to, rec_fn fn, void *ctx, uint64_t *good_end)
{
	uint8_t *buf = phr_malloc(SCAN_BUF), sum[32];
	uint64_t base = 0, off = from; /* buf holds [base, base + have) */
	size_t have = 0;
	int rc = PHR_OK;
	/* a block record whose header is whole but whose payload fails its check: reported
	 * (PHR_WAL_REC_DAMAGED) once the next good record starts exactly where it ends, so a
	 * stretch of garbage that happens to look like a header is not taken for one */
	struct {
		bool on;
		uint64_t off, end;
		uint32_t len;
		uint8_t check[32];
	} bad = { 0 };

	*good_end = from;
	if (!buf)
		return PHR_ERR_NOMEM;
	while (rc == PHR_OK && off + PHR_WAL_REC_HDR <= to) {
		unsigned type;
		uint32_t len;
		if (!scan_fill(fd, buf, &base, &have, off, PHR_WAL_REC_HDR, to, &rc))
			break;
		if (!rec_plausible(buf + (off - base), &type, &len) ||
		    off + PHR_WAL_REC_HDR + len > to) {
			off += 8;
			continue;
		}
		if (bad.on && off == bad.end)
			rc = fn(ctx, bad.off, PHR_WAL_REC_DAMAGED, bad.check, NULL, bad.len);
		if (bad.on && off >= bad.end)
			bad.on = false;
		if (rc != PHR_OK)
			break;
		if (type == PHR_WAL_REC_DEAD) {
			off += phr_wal_rec_size(len);
			*good_end = off < to ? off : to;
			continue;
		}
		if (!scan_fill(fd, buf, &base, &have, off, PHR_WAL_REC_HDR + len, to, &rc))
			break;
		const uint8_t *h = buf + (off - base);
		phr_store_sha256(sum, h + PHR_WAL_REC_HDR, len);
		if (memcmp(sum, h + 16, 32) != 0) {
			if (!bad.on && type == PHR_WAL_REC_BLOCK) {
				bad.on = true;
				bad.off = off;
				bad.end = off + phr_wal_rec_size(len);
				bad.len = len;
				memcpy(bad.check, h + 16, 32);
			}
			off += 8;
			continue;
		}
		bad.on = false;
		rc = fn(ctx, off, type, h + 16, h + PHR_WAL_REC_HDR, len);
		off += phr_wal_rec_size(len);
		*good_end = off < to ? off : to;
	}
	phr_free(buf);
	return rc;
}

/* The array @p v (*@p cap elements of @p size bytes, @p n of them used) with room for one
 * more (doubled when full); NULL when memory ran out (@p v is then unchanged). */
static void *room_for_one(void *v, size_t *cap, size_t n, size_t size)
{
	if (n < *cap)
		return v;
	size_t ncap = *cap ? *cap * 2 : 16;
	void *nv = phr_realloc(v, ncap * size);
	if (nv)
		*cap = ncap;
	return nv;
}

/* ---- the index: multihash digest -> record (open addressing, linear probing) ---- */

static size_t slot_of(const uint8_t *d, size_t cap)
{
	uint64_t h;
	memcpy(&h, d, sizeof(h));
	return (size_t)(h & (cap - 1));
}

static struct idx_ent *idx_find(struct phr_wal *w, const uint8_t d[32])
{
	if (!w->icap)
		return NULL;
	for (size_t i = slot_of(d, w->icap);; i = (i + 1) & (w->icap - 1)) {
		if (!ent_used(&w->idx[i]))
			return NULL;
		if (memcmp(w->idx[i].d, d, 32) == 0)
			return &w->idx[i];
	}
}

static int idx_put(struct phr_wal *w, const uint8_t d[32], uint64_t off, uint32_t len);
static int list_add(struct phr_wal_block **v, size_t *n, size_t *cap, const uint8_t d[32],
		    uint64_t off, uint32_t len);

/* The free slot where an entry of @p d goes (it is not in the table). */
static struct idx_ent *idx_free_slot(struct phr_wal *w, const uint8_t d[32])
{
	size_t i = slot_of(d, w->icap);
	while (ent_used(&w->idx[i]))
		i = (i + 1) & (w->icap - 1);
	return &w->idx[i];
}

/* Room for @p n entries in all (the table at most 80 % full). */
static int idx_reserve(struct phr_wal *w, size_t n)
{
	size_t ncap = w->icap ? w->icap : 1024, ocap = w->icap;
	while (n * 5 > ncap * 4)
		ncap *= 2;
	if (ncap == ocap)
		return PHR_OK;
	struct idx_ent *ne = phr_calloc(ncap, sizeof(*ne)), *old = w->idx;
	if (!ne)
		return PHR_ERR_NOMEM;
	w->idx = ne;
	w->icap = ncap;
	for (size_t i = 0; i < ocap; i++)
		if (ent_used(&old[i]))
			*idx_free_slot(w, old[i].d) = old[i];
	phr_free(old);
	return PHR_OK;
}

/* Adds or moves the entry of @p d (the newest record of a block wins). */
static int idx_put(struct phr_wal *w, const uint8_t d[32], uint64_t off, uint32_t len)
{
	if (off < HDR_SIZE || off % 8 != 0 || len > PHR_STORE_WAL_BLOCK_MAX)
		return PHR_ERR_INTERNAL; /* records start 8-aligned after the file header */
	struct idx_ent *e = idx_find(w, d);
	if (!e) {
		int rc = idx_reserve(w, w->in + 1);
		if (rc != PHR_OK)
			return rc;
		e = idx_free_slot(w, d);
		memcpy(e->d, d, 32);
		w->in++;
	}
	else if (ent_off(e) != off) {
		int rc = list_add(&w->dups, &w->ndups, &w->capdups, d, ent_off(e), ent_len(e));
		if (rc != PHR_OK)
			return rc;
	}
	e->ol = off >> 3 << LEN_BITS | len;
	return PHR_OK;
}

/* Removes @p e, shifting later entries of its run back (no tombstones). */
static void idx_del(struct phr_wal *w, struct idx_ent *e)
{
	size_t i = (size_t)(e - w->idx), mask = w->icap - 1;
	w->idx[i].ol = 0;
	w->in--;
	for (size_t j = (i + 1) & mask; ent_used(&w->idx[j]); j = (j + 1) & mask) {
		size_t home = slot_of(w->idx[j].d, w->icap);
		/* can the entry at j move to the hole at i? (home not cyclically in (i, j]) */
		if (((j - home) & mask) >= ((j - i) & mask)) {
			w->idx[i] = w->idx[j];
			w->idx[j].ol = 0;
			i = j;
		}
	}
}

/* ---- the pin set: CID texts (open addressing, linear probing) ---- */

static uint64_t str_hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 1099511628211ull;
	return h;
}

static struct pin_ent *pin_slot(const struct pinset *p, const char *s, uint64_t h)
{
	if (!p->cap)
		return NULL;
	for (size_t i = (size_t)h & (p->cap - 1);; i = (i + 1) & (p->cap - 1)) {
		if (!p->s[i].s)
			return NULL;
		if (p->s[i].h == h && strcmp(p->s[i].s, s) == 0)
			return &p->s[i];
	}
}

static void pin_insert_owned(struct pinset *p, char *s, uint64_t h)
{
	size_t i = (size_t)h & (p->cap - 1);
	while (p->s[i].s)
		i = (i + 1) & (p->cap - 1);
	p->s[i].s = s;
	p->s[i].h = h;
	p->n++;
}

static bool pin_has(const struct pinset *p, const char *s)
{
	return pin_slot(p, s, str_hash(s)) != NULL;
}

/* Room for @p n pins in all without growing again (the table at most 80 % full). */
static int pin_reserve(struct pinset *p, size_t n)
{
	if (n * 5 <= p->cap * 4)
		return PHR_OK;
	struct pinset np = { .cap = p->cap ? p->cap : 256 };
	while (n * 5 > np.cap * 4)
		np.cap *= 2;
	np.s = phr_calloc(np.cap, sizeof(*np.s));
	if (!np.s)
		return PHR_ERR_NOMEM;
	for (size_t i = 0; i < p->cap; i++)
		if (p->s[i].s)
			pin_insert_owned(&np, p->s[i].s, p->s[i].h);
	phr_free(p->s);
	*p = np;
	return PHR_OK;
}

static int pin_add(struct pinset *p, const char *s)
{
	uint64_t h = str_hash(s);
	if (pin_slot(p, s, h))
		return PHR_OK;
	int rc = pin_reserve(p, p->n + 1);
	if (rc != PHR_OK)
		return rc;
	char *copy = phr_strdup(s);
	if (!copy)
		return PHR_ERR_NOMEM;
	pin_insert_owned(p, copy, h);
	return PHR_OK;
}

static void pin_del(struct pinset *p, const char *s)
{
	struct pin_ent *slot = pin_slot(p, s, str_hash(s));
	if (!slot)
		return;
	size_t i = (size_t)(slot - p->s), mask = p->cap - 1;
	phr_free(p->s[i].s);
	p->s[i].s = NULL;
	p->n--;
	for (size_t j = (i + 1) & mask; p->s[j].s; j = (j + 1) & mask) {
		size_t home = (size_t)p->s[j].h & mask;
		if (((j - home) & mask) >= ((j - i) & mask)) {
			p->s[i] = p->s[j];
			p->s[j].s = NULL;
			i = j;
		}
	}
}

static void pin_release(struct pinset *p)
{
	for (size_t i = 0; i < p->cap; i++)
		phr_free(p->s[i].s);
	phr_free(p->s);
	memset(p, 0, sizeof(*p));
}

/* ---- applying records to what this process knows ---- */

/* A pin record's CID text, NUL-terminated; false when it is not one of ours. */
static bool pin_name(char name[PHR_CID_STR_MAX], const uint8_t *payload, size_t len)
{
	if (len == 0 || len >= PHR_CID_STR_MAX || memchr(payload, 0, len))
		return false;
	memcpy(name, payload, len);
	name[len] = 0;
	return true;
}

/* Adds (@p d, @p off, @p len) to the list @p v. */
static int list_add(struct phr_wal_block **v, size_t *n, size_t *cap, const uint8_t d[32],
		    uint64_t off, uint32_t len)
{
	struct phr_wal_block *nv = room_for_one(*v, cap, *n, sizeof(**v));
	if (!nv)
		return PHR_ERR_NOMEM;
	*v = nv;
	memcpy(nv[*n].digest, d, 32);
	nv[*n].off = off;
	nv[*n].len = len;
	(*n)++;
	return PHR_OK;
}

/* The entry of @p d in the list @p v (copied to *@p out); false when there is none. */
static bool list_find(const struct phr_wal_block *v, size_t n, const uint8_t d[32],
		      struct phr_wal_block *out)
{
	for (size_t i = 0; i < n; i++)
		if (memcmp(v[i].digest, d, 32) == 0) {
			*out = v[i];
			return true;
		}
	return false;
}

/* Caller holds lk for writing. */
static int apply_record(void *ctx, uint64_t off, unsigned type, const uint8_t *check,
			const uint8_t *payload, size_t len)
{
	struct phr_wal *w = ctx;
	char name[PHR_CID_STR_MAX];
	if (type == PHR_WAL_REC_BLOCK)
		return idx_put(w, check, off, (uint32_t)len);
	if (type == PHR_WAL_REC_DAMAGED) {
		phr_log_error("store", "pack: the block record at offset %llu is damaged",
			      (unsigned long long)off);
		return list_add(&w->bad, &w->nbad, &w->capbad, check, off, (uint32_t)len);
	}
	if (!pin_name(name, payload, len))
		return PHR_OK;
	if (type == PHR_WAL_REC_PIN_ADD)
		return pin_add(&w->pins, name);
	pin_del(&w->pins, name);
	/* a pin of an older version (a file) goes with it; idempotent */
	return phr_store_i_legacy_pin_rm(w->st, name);
}

/* Raises w->tail to @p end. */
static void tail_at_least(struct phr_wal *w, uint64_t end)
{
	uint64_t cur = atomic_load(&w->tail);
	while (cur < end && !atomic_compare_exchange_weak(&w->tail, &cur, end))
		;
}

/*
 * Brings the index and the pins up to what the file holds (records other processes
 * appended). Everything scanned is made durable first, so that nothing becomes visible
 * here before it is durable.
 */
void phr_wal_refresh(struct phr_wal *w)
{
	struct stat sb;
	uint64_t end, limit;

	if (fstat(w->rfd, &sb) != 0)
		return;
	pthread_rwlock_rdlock(&w->lk);
	bool behind = (uint64_t)sb.st_size > w->scanned;
	pthread_rwlock_unlock(&w->lk);
	if (!behind)
		return;
	pthread_mutex_lock(&w->scan_mu);
	/* the size and this process's open groups at one moment (appends hold amu) */
	pthread_mutex_lock(&w->amu);
	int st = fstat(w->rfd, &sb);
	pthread_mutex_lock(&w->mu);
	limit = (uint64_t)sb.st_size;
	for (size_t i = 0; i < w->npend; i++)
		if (w->pend[i] < limit)
			limit = w->pend[i];
	pthread_mutex_unlock(&w->mu);
	pthread_mutex_unlock(&w->amu);
	/* everything before limit was written before this sync: durable once it returns */
	if (st == 0 && fdatasync(w->rfd) == 0) {
		pthread_rwlock_wrlock(&w->lk);
		if (limit > w->scanned &&
		    phr_wal_scan(w->rfd, w->scanned, limit, apply_record, w, &end) == PHR_OK) {
			w->scanned = end;
			tail_at_least(w, end);
		}
		pthread_rwlock_unlock(&w->lk);
	}
	pthread_mutex_unlock(&w->scan_mu);
}

/* ---- the log of older versions ---- */

static int legacy_replay_one(void *ctx, uint64_t off, unsigned type, const uint8_t *check,
			     const uint8_t *payload, size_t len)
{
	struct phr_store *st = ctx;
	char name[PHR_CID_STR_MAX];
	(void)off;
	if (type == PHR_WAL_REC_BLOCK)
		return phr_store_i_replay_block(st, check, payload, len);
	if (type == PHR_WAL_REC_DAMAGED)
		return PHR_OK;
	if (!pin_name(name, payload, len))
		return PHR_OK;
	return phr_store_i_replay_pin(st, name, type == PHR_WAL_REC_PIN_ADD);
}

/*
 * DIR/wal of an older version: alone, replay it when it was written under another boot
 * (the files it describes may be lost), make everything durable and remove it; while
 * another process holds it, keep it open so that erasures zero their copies in it too.
 */
static int legacy_open(struct phr_wal *w, const char *path)
{
	uint8_t h[HDR_SIZE];
	char id[40];
	struct stat sb;
	uint64_t end;
	int fd = open(path, O_RDWR | O_CLOEXEC);
	int rc = PHR_OK;

	if (fd < 0)
		return errno == ENOENT ? PHR_OK : PHR_ERR_IO;
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		w->legacy_fd = fd;
		return PHR_OK;
	}
	if (fstat(fd, &sb) != 0) {
		close(fd);
		return PHR_ERR_IO;
	}
	boot_id(id);
	bool current = pread(fd, h, sizeof(h), 0) == (ssize_t)sizeof(h) &&
		       memcmp(h, LEGACY_MAGIC, 8) == 0 && memcmp(h + 8, id, 40) == 0;
	if (!current && (uint64_t)sb.st_size > HDR_SIZE)
		rc = phr_wal_scan(fd, HDR_SIZE, (uint64_t)sb.st_size, legacy_replay_one, w->st, &end);
	if (rc == PHR_OK && syncfs(fd) != 0)
		rc = PHR_ERR_IO;
	if (rc == PHR_OK && unlink(path) != 0)
		rc = PHR_ERR_IO;
	close(fd);
	return rc;
}

/* ---- the index file: what a scan of the pack up to some offset found ---- */

/*
 * DIR/pack.idx lets an opener skip the scan of everything it covers: a header (magic,
 * covered, counts of blocks, copies and damaged records, bytes of pin names, zeros, the
 * fingerprint), 44-byte entries (digest, offset, length) of the index, then of the older
 * copies, then of the damaged records, the pinned CID texts NUL-terminated, and the
 * SHA-256 of everything before it. The fingerprint is the SHA-256 of the pack's header and
 * of up to 4 KiB before "covered": a pack that is not the one the file describes (replaced,
 * truncated, restored) does not match it, and the file is then ignored. It is only ever a
 * shortcut: whatever is wrong with it, the opener scans the whole pack.
 */
static int pack_fingerprint(int fd, uint64_t covered, uint8_t fp[32])
{
	uint8_t buf[HDR_SIZE + IDX_FP_WINDOW];
	uint64_t win = covered - HDR_SIZE < IDX_FP_WINDOW ? covered - HDR_SIZE : IDX_FP_WINDOW;

	if (pread(fd, buf, HDR_SIZE, 0) != (ssize_t)HDR_SIZE ||
	    pread(fd, buf + HDR_SIZE, (size_t)win, (off_t)(covered - win)) != (ssize_t)win)
		return PHR_ERR_IO;
	phr_store_sha256(fp, buf, HDR_SIZE + (size_t)win);
	return PHR_OK;
}

/* Bounds of what an index file entry may say: a record inside what the file covers. */
static bool ent_within(uint64_t off, uint32_t len, uint64_t covered)
{
	return off >= HDR_SIZE && off % 8 == 0 && len <= PHR_STORE_WAL_BLOCK_MAX &&
	       off + phr_wal_rec_size(len) <= covered;
}

/* The index file streamed to a temporary file through a buffer, hashed on the way. */
#define IDX_OUT_BUF ((size_t)1 << 20)

struct idx_out {
	int fd;
	struct phr_store_hash *h;
	uint8_t *buf;
	size_t n;
	int rc;
};

static void out_flush(struct idx_out *o)
{
	if (o->n > 0 && o->rc == PHR_OK) {
		phr_store_hash_update(o->h, o->buf, o->n);
		o->rc = phr_fd_write_all(o->fd, o->buf, o->n) == PHR_OK ? PHR_OK : PHR_ERR_IO;
	}
	o->n = 0;
}

static void out_put(struct idx_out *o, const void *data, size_t len)
{
	const uint8_t *p = data;
	while (len > 0 && o->rc == PHR_OK) {
		size_t k = IDX_OUT_BUF - o->n < len ? IDX_OUT_BUF - o->n : len;
		memcpy(o->buf + o->n, p, k);
		o->n += k;
		p += k;
		len -= k;
		if (o->n == IDX_OUT_BUF)
			out_flush(o);
	}
}

static void out_ent(struct idx_out *o, const uint8_t d[32], uint64_t off, uint32_t len)
{
	uint8_t e[IDX_ENT];
	memcpy(e, d, 32);
	put64(e + 32, off);
	put32(e + 40, len);
	out_put(o, e, sizeof(e));
}

/* Counts the entries of @p v within @p covered, or writes them (@p o non-NULL). */
static uint64_t list_out(struct idx_out *o, const struct phr_wal_block *v, size_t n,
			 uint64_t covered)
{
	uint64_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (ent_within(v[i].off, v[i].len, covered)) {
			k++;
			if (o)
				out_ent(o, v[i].digest, v[i].off, v[i].len);
		}
	return k;
}

/* The directory of @p path synced (a rename in it made durable). */
static int fsync_parent(const char *path)
{
	const char *slash = strrchr(path, '/');
	char dir[4096];
	if (!slash)
		return PHR_OK;
	size_t n = (size_t)(slash - path);
	if (n == 0 || n >= sizeof(dir))
		return n == 0 ? PHR_OK : PHR_ERR_TOO_LARGE;
	memcpy(dir, path, n);
	dir[n] = 0;
	return phr_store_fsync_dir(dir);
}

/* Writes the index file for what this process knows up to w->scanned (brought up to
 * date first): streamed to "<path>.tmp.<pid>.<n>" while the index is read-locked, then
 * synced and renamed over the file. Entries of this process's own records past that
 * point are left to the next opener's scan. */
static int idx_save(struct phr_wal *w)
{
	char tmp[4200];
	uint8_t hdr[IDX_HDR] = { 0 }, sum[32];
	struct idx_out o = { .fd = -1, .rc = PHR_OK };

	phr_wal_refresh(w);
	static atomic_uint serial; /* two handles of one process on one store */
	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%ld.%u", w->idx_path, (long)getpid(),
		     atomic_fetch_add(&serial, 1)) >= (int)sizeof(tmp))
		return PHR_ERR_TOO_LARGE;
	o.buf = phr_malloc(IDX_OUT_BUF);
	o.h = phr_store_hash_new();
	o.fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (!o.buf || !o.h || o.fd < 0) {
		o.rc = o.fd < 0 && o.buf && o.h ? PHR_ERR_IO : PHR_ERR_NOMEM;
		goto out;
	}
	pthread_rwlock_rdlock(&w->lk);
	uint64_t covered = w->scanned, nblk = 0, pinbytes = 0;
	for (size_t i = 0; i < w->icap; i++)
		nblk += ent_used(&w->idx[i]) &&
			ent_within(ent_off(&w->idx[i]), ent_len(&w->idx[i]), covered);
	for (size_t i = 0; i < w->pins.cap; i++)
		if (w->pins.s[i].s)
			pinbytes += strlen(w->pins.s[i].s) + 1;
	memcpy(hdr, IDX_MAGIC, 8);
	put64(hdr + 8, covered);
	put64(hdr + 16, nblk);
	put64(hdr + 24, list_out(NULL, w->dups, w->ndups, covered));
	put64(hdr + 32, list_out(NULL, w->bad, w->nbad, covered));
	put64(hdr + 40, pinbytes);
	if (covered <= HDR_SIZE)
		o.rc = PHR_ERR_STATE; /* nothing to cover */
	else
		o.rc = pack_fingerprint(w->rfd, covered, hdr + 64);
	out_put(&o, hdr, sizeof(hdr));
	for (size_t i = 0; i < w->icap && o.rc == PHR_OK; i++)
		if (ent_used(&w->idx[i]) &&
		    ent_within(ent_off(&w->idx[i]), ent_len(&w->idx[i]), covered))
			out_ent(&o, w->idx[i].d, ent_off(&w->idx[i]), ent_len(&w->idx[i]));
	(void)list_out(&o, w->dups, w->ndups, covered);
	(void)list_out(&o, w->bad, w->nbad, covered);
	for (size_t i = 0; i < w->pins.cap && o.rc == PHR_OK; i++)
		if (w->pins.s[i].s)
			out_put(&o, w->pins.s[i].s, strlen(w->pins.s[i].s) + 1);
	pthread_rwlock_unlock(&w->lk);
	out_flush(&o);
	if (o.rc == PHR_OK) {
		phr_store_hash_final(o.h, sum);
		o.h = NULL;
		o.rc = phr_fd_write_all(o.fd, sum, sizeof(sum)) == PHR_OK && fdatasync(o.fd) == 0
			       ? PHR_OK
			       : PHR_ERR_IO;
	}
	if (close(o.fd) != 0 && o.rc == PHR_OK)
		o.rc = PHR_ERR_IO;
	o.fd = -1;
	if (o.rc == PHR_OK && rename(tmp, w->idx_path) != 0)
		o.rc = PHR_ERR_IO;
	if (o.rc == PHR_OK && (o.rc = fsync_parent(w->idx_path)) == PHR_OK)
		atomic_store(&w->saved, covered);
out:
	if (o.fd >= 0)
		close(o.fd);
	if (o.rc != PHR_OK)
		unlink(tmp);
	if (o.h) {
		uint8_t scratch[32];
		phr_store_hash_final(o.h, scratch);
	}
	phr_free(o.buf);
	return o.rc == PHR_ERR_STATE ? PHR_OK : o.rc;
}

/* Removes the temporary index files a process killed while writing one left (the first
 * opener alone: nobody else can be writing one). */
static void idx_drop_temps(struct phr_wal *w)
{
	const char *slash = strrchr(w->idx_path, '/');
	char dir[4096], path[4400], prefix[256];
	size_t n = slash ? (size_t)(slash - w->idx_path) : 0;
	if (!slash || n == 0 || n >= sizeof(dir) ||
	    snprintf(prefix, sizeof(prefix), "%s.tmp.", slash + 1) >= (int)sizeof(prefix))
		return;
	memcpy(dir, w->idx_path, n);
	dir[n] = 0;
	DIR *d = opendir(dir);
	struct dirent *e;
	while (d && (e = readdir(d)) != NULL)
		if (strncmp(e->d_name, prefix, strlen(prefix)) == 0 &&
		    snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) < (int)sizeof(path))
			unlink(path);
	if (d)
		closedir(d);
}

/* The pins of an index file: @p n bytes of NUL-terminated CID texts. */
static int idx_load_pins(struct phr_wal *w, const uint8_t *p, size_t n)
{
	size_t names = 0;
	for (size_t i = 0; i < n; i++)
		names += p[i] == 0;
	int rc = pin_reserve(&w->pins, names);
	if (rc != PHR_OK)
		return rc;
	while (n > 0) {
		const uint8_t *z = memchr(p, 0, n < PHR_CID_STR_MAX ? n : PHR_CID_STR_MAX);
		if (!z || z == p)
			return PHR_ERR_CORRUPT;
		if ((rc = pin_add(&w->pins, (const char *)p)) != PHR_OK)
			return rc;
		n -= (size_t)(z - p) + 1;
		p = z + 1;
	}
	return PHR_OK;
}

/* Reads the index file into w (empty on entry) when it describes this pack of @p size
 * bytes; *@p covered: where the scan goes on (HDR_SIZE when the file was not used). */
static void idx_load(struct phr_wal *w, uint64_t size, uint64_t *covered)
{
	struct phr_buf b;
	uint8_t sum[32], fp[32];
	int rc;

	*covered = HDR_SIZE;
	phr_buf_init(&b, 0);
	int fd = open(w->idx_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT)
		goto out;
	struct stat sb;
	rc = fd >= 0 && fstat(fd, &sb) == 0 ? PHR_OK : PHR_ERR_IO;
	if (rc == PHR_OK) {
		phr_buf_init(&b, (size_t)sb.st_size + 1);
		rc = phr_buf_reserve(&b, (size_t)sb.st_size + 1);
	}
	if (rc == PHR_OK) {
		long n = phr_store_read_full(fd, b.data, (size_t)sb.st_size);
		if (n != (long)sb.st_size)
			rc = PHR_ERR_IO;
		else
			b.len = (size_t)n;
	}
	if (fd >= 0)
		close(fd);
	if (rc == PHR_OK && (b.len < IDX_HDR + 32 || memcmp(b.data, IDX_MAGIC, 8) != 0))
		rc = PHR_ERR_CORRUPT;
	if (rc == PHR_OK) {
		phr_store_sha256(sum, b.data, b.len - 32);
		if (memcmp(sum, b.data + b.len - 32, 32) != 0)
			rc = PHR_ERR_CORRUPT;
	}
	uint64_t cov = 0, nblk = 0, ndup = 0, nbad = 0, pinbytes = 0, room = 0;
	if (rc == PHR_OK) {
		cov = get64(b.data + 8);
		nblk = get64(b.data + 16);
		ndup = get64(b.data + 24);
		nbad = get64(b.data + 32);
		pinbytes = get64(b.data + 40);
		room = (b.len - IDX_HDR - 32) / IDX_ENT;
		if (cov <= HDR_SIZE || cov > size || nblk > room || ndup > room || nbad > room ||
		    nblk + ndup + nbad > room ||
		    pinbytes != b.len - IDX_HDR - 32 - (nblk + ndup + nbad) * IDX_ENT)
			rc = PHR_ERR_CORRUPT;
	}
	if (rc == PHR_OK && ((rc = pack_fingerprint(w->rfd, cov, fp)) != PHR_OK ||
			     memcmp(fp, b.data + 64, 32) != 0))
		rc = PHR_ERR_CORRUPT;
	/* the table sized once for every entry */
	if (rc == PHR_OK && nblk > 0)
		rc = idx_reserve(w, (size_t)nblk);
	const uint8_t *p = b.data + IDX_HDR;
	for (uint64_t i = 0; rc == PHR_OK && i < nblk + ndup + nbad; i++, p += IDX_ENT) {
		uint64_t off = get64(p + 32);
		uint32_t len = get32(p + 40);
		if (!ent_within(off, len, cov))
			rc = PHR_ERR_CORRUPT;
		else if (i < nblk)
			rc = idx_put(w, p, off, len);
		else if (i < nblk + ndup)
			rc = list_add(&w->dups, &w->ndups, &w->capdups, p, off, len);
		else
			rc = list_add(&w->bad, &w->nbad, &w->capbad, p, off, len);
	}
	if (rc == PHR_OK)
		rc = idx_load_pins(w, p, (size_t)pinbytes);
	if (rc == PHR_OK) {
		*covered = cov;
		atomic_store(&w->saved, cov);
		goto out;
	}
	phr_log_info("store", "%s not used (%s): the whole pack is scanned", w->idx_path,
		     phr_strerror(rc));
	phr_free(w->idx);
	w->idx = NULL;
	w->icap = w->in = 0;
	phr_free(w->dups);
	w->dups = NULL;
	w->ndups = w->capdups = 0;
	phr_free(w->bad);
	w->bad = NULL;
	w->nbad = w->capbad = 0;
	pin_release(&w->pins);
out:
	phr_buf_release(&b);
}

/* One save (w->saving held); in a thread of its own or the caller's. */
static void *idx_save_main(void *arg)
{
	struct phr_wal *w = arg;
	if (idx_save(w) != PHR_OK)
		phr_log_error("store", "%s could not be written", w->idx_path);
	atomic_store(&w->saving, 0);
	return NULL;
}

/*
 * Rewrites the index file once this process knows enough past what it covers (at least
 * w->save_min bytes, and 1/@p share of what it covers: 0 for no such part), unless a save
 * is under way; @p background: in a thread of its own (the writer that crossed the line
 * does not wait for the file's fsync), which phr_wal_close waits for.
 */
static void idx_maybe_save(struct phr_wal *w, unsigned share, bool background)
{
	uint64_t saved = atomic_load(&w->saved), tail = atomic_load(&w->tail);
	uint64_t need = share ? saved / share : 0;
	unsigned idle = 0;
	pthread_t t;
	pthread_attr_t at;

	if (need < w->save_min)
		need = w->save_min;
	if (tail <= saved || tail - saved < need ||
	    !atomic_compare_exchange_strong(&w->saving, &idle, 1))
		return;
	bool started = false;
	if (background && pthread_attr_init(&at) == 0) {
		started = pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED) == 0 &&
			  pthread_create(&t, &at, idx_save_main, w) == 0;
		pthread_attr_destroy(&at);
	}
	if (!started)
		(void)idx_save_main(w);
}

/* ---- open, close ---- */

int phr_wal_open(struct phr_wal **out, struct phr_store *st, const char *path,
		 const char *legacy_path)
{
	struct phr_wal *w = phr_calloc(1, sizeof(*w));
	struct stat sb;
	uint8_t h[HDR_SIZE];
	int rc = PHR_ERR_IO;

	if (!w)
		return PHR_ERR_NOMEM;
	w->st = st;
	w->legacy_fd = -1;
	size_t pl = strlen(path) + 5;
	if (!(w->idx_path = phr_malloc(pl))) {
		phr_free(w);
		return PHR_ERR_NOMEM;
	}
	snprintf(w->idx_path, pl, "%s.idx", path);
	const char *min = getenv("PHR_STORE_INDEX_MIN");
	char *end = NULL;
	w->save_min = IDX_SAVE_MIN;
	if (min && *min) {
		unsigned long long v = strtoull(min, &end, 10);
		if (*end == 0 && v > 0)
			w->save_min = v;
	}
	pthread_mutex_init(&w->amu, NULL);
	pthread_mutex_init(&w->mu, NULL);
	pthread_rwlock_init(&w->lk, NULL);
	pthread_mutex_init(&w->scan_mu, NULL);
	w->fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	w->rfd = open(path, O_RDWR | O_CLOEXEC);
	if (w->fd < 0 || w->rfd < 0)
		goto fail;
	bool alone = flock(w->fd, LOCK_EX | LOCK_NB) == 0;
	if (alone && (rc = legacy_open(w, legacy_path)) != PHR_OK)
		goto fail;
	if (alone)
		idx_drop_temps(w);
	rc = PHR_ERR_IO;
	if (fstat(w->rfd, &sb) != 0)
		goto fail;
	if (alone && sb.st_size == 0) {
		memset(h, 0, sizeof(h));
		memcpy(h, PACK_MAGIC, 8);
		if (pwrite(w->rfd, h, sizeof(h), 0) != (ssize_t)sizeof(h) || fdatasync(w->rfd) != 0)
			goto fail;
		sb.st_size = HDR_SIZE;
	}
	if (pread(w->rfd, h, sizeof(h), 0) != (ssize_t)sizeof(h) || memcmp(h, PACK_MAGIC, 8) != 0) {
		phr_log_error("store", "%s: not a pack file", path);
		rc = PHR_ERR_CORRUPT;
		goto fail;
	}
	/* another process may have appended records it is still waiting for: they are
	 * durable before this one indexes them */
	if (!alone && fdatasync(w->rfd) != 0)
		goto fail;
	uint64_t from;
	idx_load(w, (uint64_t)sb.st_size, &from);
	if ((rc = phr_wal_scan(w->rfd, from, (uint64_t)sb.st_size, apply_record, w,
			       &w->scanned)) != PHR_OK)
		goto fail;
	atomic_store(&w->tail, w->scanned);
	if (alone && w->scanned < (uint64_t)sb.st_size) {
		/* a torn tail (a crash during an append): never acknowledged, dropped */
		phr_log_info("store", "%s: %llu bytes of a torn tail dropped", path,
			     (unsigned long long)((uint64_t)sb.st_size - w->scanned));
		rc = PHR_ERR_IO;
		if (ftruncate(w->rfd, (off_t)w->scanned) != 0 || fdatasync(w->rfd) != 0)
			goto fail;
	}
	if (!alone) {
		/* another process holds it; legacy log: left to the last one */
		int lfd = open(legacy_path, O_RDWR | O_CLOEXEC);
		if (lfd >= 0)
			w->legacy_fd = lfd;
	}
	/* shared from now on: the next opener knows it is not alone */
	while (flock(w->fd, LOCK_SH) != 0)
		if (errno != EINTR) {
			rc = PHR_ERR_IO;
			goto fail;
		}
	/* a long scan is not done twice: the next opener starts where this one stopped */
	idx_maybe_save(w, 0, true);
	*out = w;
	return PHR_OK;
fail:
	phr_wal_close(w);
	return rc;
}

void phr_wal_close(struct phr_wal *w)
{
	if (!w)
		return;
	/* a save in a thread of its own ends first; then the file covers everything */
	while (atomic_load(&w->saving)) {
		struct timespec ts = { 0, 1000000 };
		nanosleep(&ts, NULL);
	}
	if (w->fd >= 0 && w->rfd >= 0 && w->idx_path)
		idx_maybe_save(w, 0, false);
	if (w->fd >= 0)
		close(w->fd); /* drops the flock */
	if (w->rfd >= 0)
		close(w->rfd);
	if (w->legacy_fd >= 0)
		close(w->legacy_fd);
	phr_free(w->idx);
	phr_free(w->pend);
	phr_free(w->dups);
	phr_free(w->bad);
	phr_free(w->idx_path);
	pin_release(&w->pins);
	pthread_mutex_destroy(&w->amu);
	pthread_mutex_destroy(&w->mu);
	pthread_rwlock_destroy(&w->lk);
	pthread_mutex_destroy(&w->scan_mu);
	phr_free(w);
}

/* ---- reads ---- */

/* Whether the record at @p off is the live block @p d of @p len bytes (header only). */
static bool rec_is(struct phr_wal *w, uint64_t off, const uint8_t d[32], uint32_t len)
{
	uint8_t h[PHR_WAL_REC_HDR];
	unsigned type;
	uint32_t l;
	return pread(w->rfd, h, sizeof(h), (off_t)off) == (ssize_t)sizeof(h) &&
	       rec_plausible(h, &type, &l) && type == PHR_WAL_REC_BLOCK && l == len &&
	       memcmp(h + 16, d, 32) == 0;
}

static bool lookup(struct phr_wal *w, const uint8_t d[32], uint64_t *off, uint32_t *len)
{
	pthread_rwlock_rdlock(&w->lk);
	struct idx_ent *e = idx_find(w, d);
	if (e) {
		*off = ent_off(e);
		*len = ent_len(e);
	}
	pthread_rwlock_unlock(&w->lk);
	return e != NULL;
}

int phr_wal_get(struct phr_wal *w, struct phr_buf *out, const uint8_t d[32], bool refresh)
{
	uint8_t h[PHR_WAL_REC_HDR];
	uint64_t off;
	uint32_t len;
	int rc;

	if (!lookup(w, d, &off, &len)) {
		if (!refresh)
			return PHR_ERR_NOT_FOUND;
		phr_wal_refresh(w);
		if (!lookup(w, d, &off, &len)) {
			struct phr_wal_block b;
			pthread_rwlock_rdlock(&w->lk);
			bool bad = list_find(w->bad, w->nbad, d, &b);
			pthread_rwlock_unlock(&w->lk);
			/* damaged, unless erased since (by another process: its header dead) */
			return bad && rec_is(w, b.off, d, b.len) ? PHR_ERR_CORRUPT : PHR_ERR_NOT_FOUND;
		}
	}
	phr_buf_reset(out);
	if ((rc = phr_buf_reserve(out, (size_t)len + 1)) != PHR_OK)
		return rc;
	struct iovec iov[2] = { { h, sizeof(h) }, { out->data, len } };
	ssize_t n = preadv(w->rfd, iov, 2, (off_t)off);
	if (n < 0)
		return PHR_ERR_IO;
	unsigned type;
	uint32_t l;
	uint8_t sum[32];
	if (n != (ssize_t)(sizeof(h) + len) || !rec_plausible(h, &type, &l) || l != len)
		return PHR_ERR_CORRUPT;
	if (type == PHR_WAL_REC_DEAD)
		return PHR_ERR_NOT_FOUND; /* erased (by another process) since it was indexed */
	phr_store_sha256(sum, out->data, len);
	if (type != PHR_WAL_REC_BLOCK || memcmp(h + 16, d, 32) != 0 || memcmp(sum, d, 32) != 0) {
		/* an erasure in progress turns the header dead after the payload: look again */
		if (pread(w->rfd, h, sizeof(h), (off_t)off) == (ssize_t)sizeof(h) &&
		    rec_plausible(h, &type, &l) && type == PHR_WAL_REC_DEAD)
			return PHR_ERR_NOT_FOUND;
		return PHR_ERR_CORRUPT;
	}
	out->len = len;
	return PHR_OK;
}

bool phr_wal_has(struct phr_wal *w, const uint8_t d[32], bool refresh)
{
	uint64_t off;
	uint32_t len;
	if (lookup(w, d, &off, &len) && rec_is(w, off, d, len))
		return true;
	if (!refresh)
		return false;
	phr_wal_refresh(w);
	return lookup(w, d, &off, &len) && rec_is(w, off, d, len);
}

bool phr_wal_pin_has(struct phr_wal *w, const char *name, bool refresh)
{
	pthread_rwlock_rdlock(&w->lk);
	bool has = pin_has(&w->pins, name);
	pthread_rwlock_unlock(&w->lk);
	if (has || !refresh)
		return has;
	phr_wal_refresh(w);
	pthread_rwlock_rdlock(&w->lk);
	has = pin_has(&w->pins, name);
	pthread_rwlock_unlock(&w->lk);
	return has;
}

int phr_wal_pin_names(struct phr_wal *w, char ***names, size_t *n)
{
	phr_wal_refresh(w);
	pthread_rwlock_rdlock(&w->lk);
	size_t k = 0;
	char **v = phr_calloc(w->pins.n + 1, sizeof(char *));
	int rc = v ? PHR_OK : PHR_ERR_NOMEM;
	for (size_t i = 0; rc == PHR_OK && i < w->pins.cap; i++)
		if (w->pins.s[i].s && !(v[k++] = phr_strdup(w->pins.s[i].s)))
			rc = PHR_ERR_NOMEM;
	pthread_rwlock_unlock(&w->lk);
	if (rc != PHR_OK) {
		phr_wal_names_free(v, k);
		return rc;
	}
	*names = v;
	*n = k;
	return PHR_OK;
}

void phr_wal_names_free(char **names, size_t n)
{
	if (!names)
		return;
	for (size_t i = 0; i < n; i++)
		phr_free(names[i]);
	phr_free(names);
}

/* Hands out the @p k records of @p v whose header still names their block (another
 * process may have erased some since they were indexed). */
static int keep_live(struct phr_wal *w, struct phr_wal_block **out, size_t *n,
		     struct phr_wal_block *v, size_t k)
{
	if (!v)
		return PHR_ERR_NOMEM;
	size_t live = 0;
	for (size_t i = 0; i < k; i++)
		if (rec_is(w, v[i].off, v[i].digest, v[i].len))
			v[live++] = v[i];
	*out = v;
	*n = live;
	return PHR_OK;
}

int phr_wal_blocks(struct phr_wal *w, struct phr_wal_block **out, size_t *n)
{
	phr_wal_refresh(w);
	pthread_rwlock_rdlock(&w->lk);
	struct phr_wal_block *v = phr_calloc(w->in + 1, sizeof(*v));
	size_t k = 0;
	for (size_t i = 0; v && i < w->icap; i++)
		if (ent_used(&w->idx[i])) {
			memcpy(v[k].digest, w->idx[i].d, 32);
			v[k].off = ent_off(&w->idx[i]);
			v[k].len = ent_len(&w->idx[i]);
			k++;
		}
	pthread_rwlock_unlock(&w->lk);
	return keep_live(w, out, n, v, k);
}

int phr_wal_damaged(struct phr_wal *w, struct phr_wal_block **out, size_t *n)
{
	phr_wal_refresh(w);
	pthread_rwlock_rdlock(&w->lk);
	struct phr_wal_block *v = phr_calloc(w->nbad + 1, sizeof(*v));
	size_t k = w->nbad;
	if (v && k)
		memcpy(v, w->bad, k * sizeof(*v));
	pthread_rwlock_unlock(&w->lk);
	return keep_live(w, out, n, v, k);
}

/* ---- erasure: a dead record in place ---- */

/* Turns the block record at @p off (@p len payload bytes) dead: its payload punched out
 * (or zeroed), then its header's type. Not synced. */
static int mark_dead(int fd, uint64_t off, uint32_t len)
{
	static const uint8_t zero[4096];
	uint8_t h[PHR_WAL_REC_HDR] = { 0 };
	size_t body = phr_wal_rec_size(len) - PHR_WAL_REC_HDR;

	if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		      (off_t)(off + PHR_WAL_REC_HDR), (off_t)body) != 0) {
		for (size_t done = 0; done < body;) {
			size_t k = body - done < sizeof(zero) ? body - done : sizeof(zero);
			if (pwrite(fd, zero, k, (off_t)(off + PHR_WAL_REC_HDR + done)) != (ssize_t)k)
				return PHR_ERR_IO;
			done += k;
		}
	}
	put32(h, REC_MAGIC);
	h[4] = PHR_WAL_REC_DEAD;
	put32(h + 8, len);
	return pwrite(fd, h, sizeof(h), (off_t)off) == (ssize_t)sizeof(h) ? PHR_OK : PHR_ERR_IO;
}

struct legacy_scrub {
	int fd;
	bool (*dead)(void *ctx, const uint8_t digest[32]);
	void *ctx;
	uint64_t n;
};

static int legacy_scrub_one(void *ctx, uint64_t off, unsigned type, const uint8_t *check,
			    const uint8_t *payload, size_t len)
{
	struct legacy_scrub *s = ctx;
	(void)payload;
	if (type != PHR_WAL_REC_BLOCK || !s->dead(s->ctx, check))
		return PHR_OK;
	s->n++;
	return mark_dead(s->fd, off, (uint32_t)len);
}

/* Moves the entries of @p v (*@p n of them) for which @p dead says so to @p gone. */
static void take_dead(struct phr_wal_block *gone, size_t *ngone, struct phr_wal_block *v,
		      size_t *n, bool (*dead)(void *ctx, const uint8_t digest[32]), void *ctx)
{
	for (size_t i = 0; i < *n;) {
		if (dead(ctx, v[i].digest)) {
			gone[(*ngone)++] = v[i];
			v[i] = v[--*n];
		} else {
			i++;
		}
	}
}

/* Erases the blocks of @p v for which @p dead says so, and every other copy of them this
 * process knows; *@p records (optional): how many records died. */
static int erase_list(struct phr_wal *w, const struct phr_wal_block *v, size_t n,
		      bool (*dead)(void *ctx, const uint8_t digest[32]), void *ctx,
		      uint64_t *removed, uint64_t *freed, uint64_t *records)
{
	uint64_t k = 0, bytes = 0;
	int rc = PHR_OK;

	for (size_t i = 0; rc == PHR_OK && i < n; i++) {
		if (!dead(ctx, v[i].digest))
			continue;
		pthread_rwlock_wrlock(&w->lk);
		struct idx_ent *e = idx_find(w, v[i].digest);
		if (e && ent_off(e) == v[i].off)
			idx_del(w, e);
		pthread_rwlock_unlock(&w->lk);
		rc = mark_dead(w->rfd, v[i].off, v[i].len);
		k++;
		bytes += v[i].len;
	}
	/* the other copies of those blocks, damaged ones included */
	struct phr_wal_block *gone = NULL;
	size_t ngone = 0, copies = 0;
	pthread_rwlock_wrlock(&w->lk);
	if (rc == PHR_OK && w->ndups + w->nbad > 0 &&
	    !(gone = phr_calloc(w->ndups + w->nbad, sizeof(*gone))))
		rc = PHR_ERR_NOMEM;
	if (gone) {
		take_dead(gone, &ngone, w->dups, &w->ndups, dead, ctx);
		take_dead(gone, &ngone, w->bad, &w->nbad, dead, ctx);
	}
	pthread_rwlock_unlock(&w->lk);
	for (size_t i = 0; rc == PHR_OK && i < ngone; i++)
		if (rec_is(w, gone[i].off, gone[i].digest, gone[i].len)) {
			rc = mark_dead(w->rfd, gone[i].off, gone[i].len);
			copies++;
		}
	phr_free(gone);
	if (records)
		*records = k + copies;
	if (rc == PHR_OK && k + copies > 0 && fdatasync(w->rfd) != 0)
		rc = PHR_ERR_IO;
	if (rc == PHR_OK && w->legacy_fd >= 0) {
		struct stat sb;
		struct legacy_scrub s = { .fd = w->legacy_fd, .dead = dead, .ctx = ctx };
		uint64_t end;
		if (fstat(w->legacy_fd, &sb) != 0)
			rc = PHR_ERR_IO;
		else
			rc = phr_wal_scan(w->legacy_fd, HDR_SIZE, (uint64_t)sb.st_size,
					  legacy_scrub_one, &s, &end);
		if (rc == PHR_OK && s.n > 0 && fdatasync(w->legacy_fd) != 0)
			rc = PHR_ERR_IO;
	}
	if (removed)
		*removed = k;
	if (freed)
		*freed = bytes;
	return rc;
}

int phr_wal_erase(struct phr_wal *w, bool (*dead)(void *ctx, const uint8_t digest[32]),
		  void *ctx, uint64_t *removed, uint64_t *freed)
{
	struct phr_wal_block *v = NULL;
	size_t n = 0;
	int rc = phr_wal_blocks(w, &v, &n);
	if (rc == PHR_OK)
		rc = erase_list(w, v, n, dead, ctx, removed, freed, NULL);
	phr_free(v);
	return rc;
}

static bool same_digest(void *ctx, const uint8_t digest[32])
{
	return memcmp(ctx, digest, 32) == 0;
}

int phr_wal_erase_one(struct phr_wal *w, const uint8_t d[32], bool *found)
{
	struct phr_wal_block b;
	size_t n = 0;
	uint64_t records = 0;
	memcpy(b.digest, d, 32);
	phr_wal_refresh(w); /* every copy other processes appended known first */
	if (lookup(w, d, &b.off, &b.len) && rec_is(w, b.off, d, b.len))
		n = 1;
	/* with n == 0 this still kills other copies and those in an older version's log */
	int rc = erase_list(w, &b, n, same_digest, (void *)(uintptr_t)d, NULL, NULL, &records);
	*found = records > 0;
	return rc;
}

/* ---- records and the group commit ---- */

/* Appends the group's gathered records with one write and gives their actions absolute
 * offsets; the group's ticket then covers them. */
static int flush(struct phr_wal_group *g)
{
	struct phr_wal *w = g->wal;
	uint64_t base = 0;
	int rc = PHR_OK;

	if (g->blen == 0)
		return PHR_OK;
	pthread_mutex_lock(&w->amu);
	ssize_t n;
	do
		n = write(w->fd, g->buf, g->blen);
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)g->blen) {
		/* a torn record is skipped by scans; keep the next one on an 8-byte boundary */
		if (n > 0 && (size_t)n < g->blen) {
			static const uint8_t zero[8];
			size_t rest = (g->blen - (size_t)n) % 8;
			if (rest && write(w->fd, zero, 8 - rest) < 0)
				phr_log_error("store", "pack: padding a torn record failed");
		}
		rc = PHR_ERR_IO;
	} else {
		off_t end = lseek(w->fd, 0, SEEK_CUR);
		if (end < (off_t)g->blen)
			rc = PHR_ERR_IO;
		else
			base = (uint64_t)end - g->blen;
	}
	if (rc == PHR_OK && !g->pending) {
		pthread_mutex_lock(&w->mu);
		uint64_t *np = room_for_one(w->pend, &w->cappend, w->npend, sizeof(*np));
		if (np) {
			w->pend = np;
			w->pend[w->npend++] = base;
			g->pending = true;
			g->first_off = base;
		} else {
			rc = PHR_ERR_NOMEM;
		}
		pthread_mutex_unlock(&w->mu);
	}
	/* under amu: a ticket issued means every write before it is in the file */
	if (rc == PHR_OK)
		g->ticket = atomic_fetch_add(&w->issued, 1) + 1;
	pthread_mutex_unlock(&w->amu);
	if (rc == PHR_OK)
		tail_at_least(w, base + g->blen);
	for (size_t i = g->written; rc == PHR_OK && i < g->n; i++)
		g->a[i].off += base;
	g->written = g->n;
	g->blen = 0;
	return rc;
}

/* Adds one record to the group's buffer (appending what it held first when it would grow
 * past GROUP_BUF_MAX); *@p off: where it starts in the buffer. */
static int stage(struct phr_wal_group *g, unsigned type, const uint8_t check[32],
		 const uint8_t *payload, size_t len, uint64_t *off)
{
	size_t total = phr_wal_rec_size(len);
	int rc;

	if (len > PHR_STORE_WAL_BLOCK_MAX)
		return PHR_ERR_TOO_LARGE;
	if (g->blen > 0 && g->blen + total > GROUP_BUF_MAX && (rc = flush(g)) != PHR_OK)
		return rc;
	if (g->blen + total > g->bcap) {
		size_t ncap = g->bcap ? g->bcap : 8192;
		while (ncap < g->blen + total)
			ncap *= 2;
		uint8_t *nb = phr_realloc(g->buf, ncap);
		if (!nb)
			return PHR_ERR_NOMEM;
		g->buf = nb;
		g->bcap = ncap;
	}
	uint8_t *h = g->buf + g->blen;
	memset(h, 0, PHR_WAL_REC_HDR);
	put32(h, REC_MAGIC);
	h[4] = (uint8_t)type;
	put32(h + 8, (uint32_t)len);
	memcpy(h + 16, check, 32);
	if (len)
		memcpy(h + PHR_WAL_REC_HDR, payload, len);
	memset(h + PHR_WAL_REC_HDR + len, 0, total - PHR_WAL_REC_HDR - len);
	*off = g->blen;
	g->blen += total;
	return PHR_OK;
}

/* FUTEX_WAIT_BITSET (timeout: CLOCK_MONOTONIC, absolute) or FUTEX_WAKE_BITSET. */
static long futex(_Atomic uint32_t *word, int op, uint32_t val, const struct timespec *t,
		  uint32_t bits)
{
	return syscall(SYS_futex, (uint32_t *)(uintptr_t)word, op, val, t, NULL, bits);
}

#define TARGET_MASK (((uint64_t)1 << 48) - 1)

/* The futex bit of sync generation @p g. */
static uint32_t gen_bit(uint64_t g)
{
	return (uint32_t)1 << (g % 32);
}

/*
 * Until every write up to @p ticket is durable: one thread syncs for all that wait, the
 * others sleep on w->seq and return as soon as a sync covered them (no mutex to take
 * again on the way out, unlike a condition variable's broadcast). A sleeper waits for
 * the generation of the sync that covers its ticket (its futex bit): the sync running,
 * or the next one when it appended after that sync began. The end of a sync wakes its
 * own sleepers, and one sleeper of the next generation to run it, so the others sleep
 * once, not twice. Sleeps end after 20 ms whatever happens: a missed wake-up costs a
 * moment, never a hang.
 */
static int wait_durable(struct phr_wal *w, uint64_t ticket)
{
	while (atomic_load(&w->synced) < ticket) {
		unsigned idle = 0;
		if (atomic_compare_exchange_strong(&w->syncing, &idle, 1)) {
			uint64_t g = (atomic_load(&w->cur) >> 48) + 1;
			uint64_t target = atomic_load(&w->issued) & TARGET_MASK;
			atomic_store(&w->cur, (g & 0xffff) << 48 | target);
			int rc = fdatasync(w->fd) == 0 ? PHR_OK : PHR_ERR_IO;
			uint64_t cur = atomic_load(&w->synced);
			while (rc == PHR_OK && cur < target &&
			       !atomic_compare_exchange_weak(&w->synced, &cur, target))
				;
			atomic_store(&w->syncing, 0);
			atomic_fetch_add(&w->seq, 1);
			if (atomic_load(&w->sleepers) > 0) {
				/* on failure every sleeper tries for itself */
				uint32_t mine = rc == PHR_OK ? gen_bit(g) : FUTEX_BITSET_MATCH_ANY;
				(void)futex(&w->seq, FUTEX_WAKE_BITSET | FUTEX_PRIVATE_FLAG, INT_MAX,
					    NULL, mine);
				(void)futex(&w->seq, FUTEX_WAKE_BITSET | FUTEX_PRIVATE_FLAG, 1, NULL,
					    gen_bit(g + 1));
			}
			if (rc != PHR_OK)
				return rc;
			continue;
		}
		uint32_t s = atomic_load(&w->seq);
		uint64_t c = atomic_load(&w->cur);
		uint64_t g = c >> 48;
		if (ticket > (c & TARGET_MASK))
			g++; /* appended after the running sync read its target */
		struct timespec t;
		clock_gettime(CLOCK_MONOTONIC, &t);
		t.tv_nsec += 20000000L;
		if (t.tv_nsec >= 1000000000L) {
			t.tv_sec++;
			t.tv_nsec -= 1000000000L;
		}
		atomic_fetch_add(&w->sleepers, 1);
		/* a sync that ends after this check bumps seq first: the wait returns at once */
		if (atomic_load(&w->syncing) && atomic_load(&w->synced) < ticket)
			(void)futex(&w->seq, FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG, s, &t,
				    gen_bit(g));
		atomic_fetch_sub(&w->sleepers, 1);
	}
	return PHR_OK;
}

static void group_init(struct phr_wal_group *g, struct phr_store *st)
{
	memset(g, 0, sizeof(*g));
	g->st = st;
	g->wal = phr_store_i_wal(st);
	g->open = true;
	phr_store_writer_lock(st); /* GC waits for the group's blocks to be pinned */
}

struct phr_wal_group *phr_wal_group_get(struct phr_store *st, struct phr_wal_group *own)
{
	if (tl.depth > 0 && tl.st == st)
		return &tl.g;
	if (!own->open)
		group_init(own, st);
	return own;
}

static struct phr_wal_action *add_action(struct phr_wal_group *g, int kind)
{
	struct phr_wal_action *a = room_for_one(g->a, &g->cap, g->n, sizeof(*a));
	if (!a)
		return NULL;
	g->a = a;
	a = &g->a[g->n++];
	memset(a, 0, sizeof(*a));
	a->kind = kind;
	return a;
}

/* Waits for the group's records, then makes them visible (or drops them on failure). */
static int group_close(struct phr_wal_group *g)
{
	struct phr_wal *w = g->wal;
	int rc = g->err;

	if (rc == PHR_OK)
		rc = flush(g);
	if (rc == PHR_OK && g->ticket)
		rc = wait_durable(w, g->ticket);
	if (rc == PHR_OK && g->n > 0) {
		pthread_rwlock_wrlock(&w->lk);
		for (size_t i = 0; i < g->n && rc == PHR_OK; i++) {
			struct phr_wal_action *a = &g->a[i];
			if (a->kind == ACT_INDEX)
				rc = idx_put(w, a->d, a->off, a->len);
			else if (a->kind == ACT_PIN_ADD)
				rc = pin_add(&w->pins, a->name);
			else
				pin_del(&w->pins, a->name);
		}
		pthread_rwlock_unlock(&w->lk);
	}
	for (size_t i = 0; i < g->n; i++) {
		struct phr_wal_action *a = &g->a[i];
		if (rc == PHR_OK && a->kind == ACT_PIN_RM) {
			int r = phr_store_i_legacy_pin_rm(g->st, a->name);
			if (r != PHR_OK)
				rc = r;
		}
		phr_free(a->name);
	}
	phr_free(g->a);
	phr_free(g->buf);
	if (g->pending) {
		pthread_mutex_lock(&w->mu);
		for (size_t i = 0; i < w->npend; i++)
			if (w->pend[i] == g->first_off) {
				w->pend[i] = w->pend[--w->npend];
				break;
			}
		pthread_mutex_unlock(&w->mu);
	}
	struct phr_store *st = g->st;
	memset(g, 0, sizeof(*g));
	phr_store_writer_unlock(st);
	/* now and then, the index file follows the pack (a third of it may be left to scan) */
	if (rc == PHR_OK)
		idx_maybe_save(w, 2, true);
	return rc;
}

int phr_wal_group_finish(struct phr_wal_group *g)
{
	if (!g->open || g == &tl.g)
		return PHR_OK; /* the thread's group: its end does the work */
	return group_close(g);
}

void phr_wal_group_discard(struct phr_wal_group *g)
{
	if (!g->open || g == &tl.g)
		return;
	for (size_t i = 0; i < g->n; i++)
		phr_free(g->a[i].name);
	g->n = 0;
	g->err = PHR_ERR_STATE;
	(void)group_close(g);
}

int phr_wal_put_block(struct phr_wal_group *g, const uint8_t digest[32], const uint8_t *data,
		      size_t len)
{
	struct phr_wal_action *a;
	uint64_t off = 0;
	int rc;
	size_t from = g->n > OWN_GROUP_MAX ? g->n - OWN_GROUP_MAX : 0;
	for (size_t i = from; i < g->n; i++)
		if (g->a[i].kind == ACT_INDEX && memcmp(g->a[i].d, digest, 32) == 0)
			return PHR_OK; /* the same block twice in one group */
	rc = stage(g, PHR_WAL_REC_BLOCK, digest, data, len, &off);
	if (rc == PHR_OK && !(a = add_action(g, ACT_INDEX)))
		rc = PHR_ERR_NOMEM;
	if (rc != PHR_OK) {
		if (g->err == PHR_OK)
			g->err = rc;
		return rc;
	}
	memcpy(a->d, digest, 32);
	a->off = off;
	a->len = (uint32_t)len;
	/* an implicit group (a long CAR import) does not grow without bound */
	if (g != &tl.g && g->n >= OWN_GROUP_MAX) {
		struct phr_store *st = g->st;
		rc = group_close(g);
		if (rc == PHR_OK)
			group_init(g, st);
	}
	return rc;
}

int phr_wal_pin(struct phr_wal_group *g, bool add, const char *name)
{
	uint8_t check[32];
	size_t len = strlen(name);
	struct phr_wal_action *a = NULL;
	uint64_t off;
	int rc;
	phr_store_sha256(check, (const uint8_t *)name, len);
	rc = stage(g, add ? PHR_WAL_REC_PIN_ADD : PHR_WAL_REC_PIN_RM, check,
		   (const uint8_t *)name, len, &off);
	if (rc == PHR_OK && !(a = add_action(g, add ? ACT_PIN_ADD : ACT_PIN_RM)))
		rc = PHR_ERR_NOMEM;
	if (rc == PHR_OK && !(a->name = phr_strdup(name))) {
		g->n--;
		rc = PHR_ERR_NOMEM;
	}
	if (rc != PHR_OK && g->err == PHR_OK)
		g->err = rc;
	return rc;
}

/* ---- the caller's groups ---- */

int phr_store_group_begin(struct phr_store *st)
{
	if (tl.depth > 0 && tl.st != st)
		return PHR_ERR_STATE;
	if (tl.depth++ == 0) {
		tl.st = st;
		group_init(&tl.g, st);
	}
	return PHR_OK;
}

int phr_store_group_end(struct phr_store *st)
{
	if (tl.depth == 0 || tl.st != st)
		return PHR_ERR_STATE;
	if (--tl.depth > 0)
		return PHR_OK;
	tl.st = NULL;
	return group_close(&tl.g);
}
