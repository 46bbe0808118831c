/*
 * The store's write-ahead log (docs/store.md, "Durability"): small blocks and
 * pin changes are appended to dir/wal and made durable by one fdatasync shared
 * by every writer waiting at that moment (group commit); only then do they get
 * their names (block file renamed into place, pin file created), without any
 * fsync of their own. After a crash of the machine (the boot id in the WAL's
 * header differs) the next process to open the store replays the log: missing
 * or damaged block files are rewritten durably, pins are re-created or
 * removed. A checkpoint (syncfs, then truncation) keeps the log short; it runs
 * when no writer of this process is inside a group and no other process has
 * the store open (flock on the WAL). Erasing a block also zeroes its records
 * in the log, so a replay never brings it back.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "phr/core.h"
#include "phr/store.h"
#include "store_int.h"

#define WAL_MAGIC "PHRWAL01"
#define WAL_HDR 64u          /* magic (8), boot id (40), reserved */
#define REC_MAGIC 0x4c415750u /* "PWAL" little-endian */
#define REC_HDR 48u          /* magic 4, type 1, pad 3, len 4, pad 4, check 32 */
#define WAL_CKPT_BYTES ((uint64_t)16 << 20) /* default; env PHR_STORE_WAL_CHECKPOINT (bytes) */
#define OWN_GROUP_MAX 64 /* an implicit group commits after this many actions */

enum { REC_BLOCK = 1, REC_PIN_ADD = 2, REC_PIN_RM = 3 };
enum { ACT_RENAME = 1, ACT_PIN_CREATE, ACT_PIN_UNLINK };

struct phr_wal {
	struct phr_store *st;
	int fd;  /* O_APPEND: records */
	int rfd; /* positioned reads and writes: replay, scrub, truncation */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	/* group commit */
	uint64_t issued, synced;
	bool syncing;
	/* gate: groups in flight against a checkpoint */
	unsigned inflight;
	bool ckpt_wait, ckpt_run;
	bool ckpt_busy; /* a checkpoint is under way (its first syncfs does not pause writers) */
	atomic_uint_fast64_t since_ckpt; /* bytes appended by this process since */
	uint64_t ckpt_bytes;             /* a checkpoint is tried after this many */
};

static _Thread_local struct {
	struct phr_store *st;
	unsigned depth;
	struct phr_wal_group g;
} tl;

static size_t rec_size(size_t len)
{
	return (REC_HDR + len + 7u) & ~(size_t)7u;
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
		memcpy(out, "unknown", 7); /* never matches: every exclusive open replays */
}

static int write_header(struct phr_wal *w)
{
	uint8_t h[WAL_HDR] = { 0 };
	memcpy(h, WAL_MAGIC, 8);
	boot_id((char *)h + 8);
	if (!strcmp((char *)h + 8, "unknown"))
		h[8] = '?';
	/* no sync of its own: a lost header only makes the next opener replay an empty log,
	 * and the first group's fdatasync writes it out with its records */
	return pwrite(w->rfd, h, sizeof(h), 0) == (ssize_t)sizeof(h) ? PHR_OK : PHR_ERR_IO;
}

/* Whether the log was written since this boot (so the page cache still holds everything
 * it describes and nothing needs replaying). */
static bool header_current(struct phr_wal *w)
{
	uint8_t h[WAL_HDR];
	char id[40];
	if (pread(w->rfd, h, sizeof(h), 0) != (ssize_t)sizeof(h) || memcmp(h, WAL_MAGIC, 8) != 0)
		return false;
	boot_id(id);
	return memcmp(h + 8, id, 40) == 0;
}

/*
 * Walks the records from the header to the end of the file, calling @p fn with each whole
 * one whose check matches its payload. A damaged stretch (a torn append, a zeroed record)
 * is skipped 8 bytes at a time until the next valid record.
 */
static int for_each_record(struct phr_wal *w,
			   int (*fn)(void *ctx, uint64_t off, unsigned type, const uint8_t *check,
				     const uint8_t *payload, size_t len),
			   void *ctx)
{
	struct stat sb;
	uint8_t hdr[REC_HDR], sum[32];
	struct phr_buf pl;
	int rc = PHR_OK;

	if (fstat(w->rfd, &sb) != 0)
		return PHR_ERR_IO;
	phr_buf_init(&pl, PHR_STORE_WAL_BLOCK_MAX + 1);
	for (uint64_t off = WAL_HDR; rc == PHR_OK && off + REC_HDR <= (uint64_t)sb.st_size;) {
		if (pread(w->rfd, hdr, REC_HDR, (off_t)off) != (ssize_t)REC_HDR) {
			rc = PHR_ERR_IO;
			break;
		}
		uint32_t len = get32(hdr + 8);
		unsigned type = hdr[4];
		if (get32(hdr) != REC_MAGIC || type < REC_BLOCK || type > REC_PIN_RM ||
		    len > PHR_STORE_WAL_BLOCK_MAX || off + REC_HDR + len > (uint64_t)sb.st_size) {
			off += 8;
			continue;
		}
		phr_buf_reset(&pl);
		if ((rc = phr_buf_reserve(&pl, len + 1)) != PHR_OK)
			break;
		if (len && pread(w->rfd, pl.data, len, (off_t)(off + REC_HDR)) != (ssize_t)len) {
			rc = PHR_ERR_IO;
			break;
		}
		pl.len = len;
		phr_store_sha256(sum, pl.data, len);
		if (memcmp(sum, hdr + 16, 32) != 0) {
			off += 8;
			continue;
		}
		rc = fn(ctx, off, type, hdr + 16, pl.data, len);
		off += rec_size(len);
	}
	phr_buf_release(&pl);
	return rc;
}

static int replay_one(void *ctx, uint64_t off, unsigned type, const uint8_t *check,
		      const uint8_t *payload, size_t len)
{
	struct phr_wal *w = ctx;
	char name[PHR_CID_STR_MAX];
	(void)off;
	if (type == REC_BLOCK)
		return phr_store_i_replay_block(w->st, check, payload, len);
	if (len == 0 || len >= sizeof(name))
		return PHR_OK;
	memcpy(name, payload, len);
	name[len] = 0;
	return phr_store_i_replay_pin(w->st, name, type == REC_PIN_ADD);
}

/* syncfs (when the log holds records), then an empty log. Caller: exclusive in this
 * process and across processes. */
static int truncate_log(struct phr_wal *w)
{
	struct stat sb;
	if (fstat(w->rfd, &sb) != 0)
		return PHR_ERR_IO;
	if (sb.st_size > (off_t)WAL_HDR && syncfs(w->rfd) != 0)
		return PHR_ERR_IO;
	if (ftruncate(w->rfd, 0) != 0)
		return PHR_ERR_IO;
	atomic_store(&w->since_ckpt, 0);
	return write_header(w);
}

int phr_wal_open(struct phr_wal **out, struct phr_store *st, const char *path)
{
	struct phr_wal *w = phr_calloc(1, sizeof(*w));
	int rc = PHR_ERR_IO;

	if (!w)
		return PHR_ERR_NOMEM;
	w->st = st;
	w->ckpt_bytes = WAL_CKPT_BYTES;
	const char *env = getenv("PHR_STORE_WAL_CHECKPOINT");
	if (env && *env) {
		char *end;
		unsigned long long v = strtoull(env, &end, 10);
		if (*end == 0 && v > 0)
			w->ckpt_bytes = v;
	}
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	w->fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	w->rfd = open(path, O_RDWR | O_CLOEXEC);
	if (w->fd < 0 || w->rfd < 0)
		goto fail;
	if (flock(w->fd, LOCK_EX | LOCK_NB) == 0) {
		/* alone: replay what a crash of the machine may have lost, start a fresh log */
		if (!header_current(w)) {
			if ((rc = for_each_record(w, replay_one, w)) != PHR_OK ||
			    (rc = truncate_log(w)) != PHR_OK)
				goto fail;
		} else {
			struct stat sb;
			if (fstat(w->rfd, &sb) == 0 && (uint64_t)sb.st_size > w->ckpt_bytes &&
			    (rc = truncate_log(w)) != PHR_OK)
				goto fail;
		}
	}
	/* shared from now on: another opener cannot take it exclusive (and checkpoint) */
	while (flock(w->fd, LOCK_SH) != 0)
		if (errno != EINTR)
			goto fail;
	if (!header_current(w)) {
		phr_log_error("store", "%s: write-ahead log of another boot held open", path);
		rc = PHR_ERR_IO;
		goto fail;
	}
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
	if (w->fd >= 0)
		close(w->fd); /* drops the flock */
	if (w->rfd >= 0)
		close(w->rfd);
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->cv);
	phr_free(w);
}

/* ---- the gate: groups in flight hold it; a checkpoint waits for none to be ---- */

/* Gate holdings of the calling thread, so that a thread already inside (an import's open
 * batch) enters again without waiting for a checkpoint that waits for it. */
static _Thread_local struct phr_wal *tl_gate_w;
static _Thread_local unsigned tl_gate_n;

static void gate_enter(struct phr_wal *w)
{
	pthread_mutex_lock(&w->mu);
	bool mine = tl_gate_w == w && tl_gate_n > 0 && !w->ckpt_run;
	while (!mine && (w->ckpt_wait || w->ckpt_run))
		pthread_cond_wait(&w->cv, &w->mu);
	w->inflight++;
	pthread_mutex_unlock(&w->mu);
	if (tl_gate_w != w) {
		tl_gate_w = w;
		tl_gate_n = 0;
	}
	tl_gate_n++;
}

static void gate_leave(struct phr_wal *w)
{
	pthread_mutex_lock(&w->mu);
	if (--w->inflight == 0)
		pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
	if (tl_gate_w == w && tl_gate_n > 0)
		tl_gate_n--;
}

/*
 * Empties the log once every block it describes is durable in its own file. Only when no
 * other process has the store open (the WAL's flock can be made exclusive): another
 * process's groups cannot be paused from here. The conversion may drop our shared lock,
 * so it is taken again whatever happened; meanwhile no group of ours is in flight.
 */
static void checkpoint(struct phr_wal *w)
{
	if (tl_gate_w == w && tl_gate_n > 0)
		return; /* this thread is inside a group (an open import): it would wait for itself */
	pthread_mutex_lock(&w->mu);
	if (w->ckpt_busy) {
		pthread_mutex_unlock(&w->mu);
		return;
	}
	w->ckpt_busy = true;
	pthread_mutex_unlock(&w->mu);
	/* most of the dirty data written out while writers go on, so that the syncfs of
	 * truncate_log, with writers paused, is short (one syncfs of this shared disk took
	 * 40-150 ms) */
	(void)syncfs(w->rfd);
	pthread_mutex_lock(&w->mu);
	w->ckpt_wait = true;
	while (w->inflight > 0)
		pthread_cond_wait(&w->cv, &w->mu);
	w->ckpt_wait = false;
	w->ckpt_run = true;
	pthread_mutex_unlock(&w->mu);

	atomic_store(&w->since_ckpt, 0); /* failed or not: try again after as many bytes */
	if (flock(w->fd, LOCK_EX | LOCK_NB) == 0 && truncate_log(w) != PHR_OK)
		phr_log_error("store", "write-ahead log checkpoint failed: %s", strerror(errno));
	while (flock(w->fd, LOCK_SH) != 0 && errno == EINTR)
		;

	pthread_mutex_lock(&w->mu);
	w->ckpt_run = false;
	w->ckpt_busy = false;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

/* ---- records and the group commit ---- */

static int append(struct phr_wal_group *g, unsigned type, const uint8_t check[32],
		  const uint8_t *payload, size_t len)
{
	struct phr_wal *w = g->wal;
	uint8_t hdr[REC_HDR] = { 0 }, pad[8] = { 0 };
	size_t total = rec_size(len);
	struct iovec iov[3] = {
		{ hdr, REC_HDR },
		{ (void *)(uintptr_t)payload, len },
		{ pad, total - REC_HDR - len },
	};

	if (len > PHR_STORE_WAL_BLOCK_MAX)
		return PHR_ERR_TOO_LARGE;
	put32(hdr, REC_MAGIC);
	hdr[4] = (uint8_t)type;
	put32(hdr + 8, (uint32_t)len);
	memcpy(hdr + 16, check, 32);
	ssize_t n;
	do
		n = writev(w->fd, iov, 3);
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)total)
		return PHR_ERR_IO; /* a torn record is skipped by readers */
	atomic_fetch_add(&w->since_ckpt, total);
	pthread_mutex_lock(&w->mu);
	g->ticket = ++w->issued;
	pthread_mutex_unlock(&w->mu);
	return PHR_OK;
}

/* Until every record up to @p ticket is durable: one thread syncs for all that wait. */
static int wait_durable(struct phr_wal *w, uint64_t ticket)
{
	int rc = PHR_OK;

	pthread_mutex_lock(&w->mu);
	while (w->synced < ticket) {
		if (w->syncing) {
			pthread_cond_wait(&w->cv, &w->mu);
			continue;
		}
		w->syncing = true;
		uint64_t target = w->issued;
		pthread_mutex_unlock(&w->mu);
		rc = fdatasync(w->fd) == 0 ? PHR_OK : PHR_ERR_IO;
		pthread_mutex_lock(&w->mu);
		w->syncing = false;
		if (rc == PHR_OK && target > w->synced)
			w->synced = target;
		pthread_cond_broadcast(&w->cv);
		if (rc != PHR_OK)
			break;
	}
	pthread_mutex_unlock(&w->mu);
	return rc;
}

static void group_init(struct phr_wal_group *g, struct phr_store *st)
{
	memset(g, 0, sizeof(*g));
	g->st = st;
	g->wal = phr_store_i_wal(st);
	g->open = true;
	phr_store_writer_lock(st); /* GC keeps the temp files of the group */
	gate_enter(g->wal);
}

struct phr_wal_group *phr_wal_group_get(struct phr_store *st, struct phr_wal_group *own)
{
	if (tl.depth > 0 && tl.st == st)
		return &tl.g;
	if (!own->open)
		group_init(own, st);
	return own;
}

static int add_action(struct phr_wal_group *g, int kind, const char *from, const char *to)
{
	struct phr_wal_action *a;
	if (g->n == g->cap) {
		size_t cap = g->cap ? g->cap * 2 : 8;
		a = phr_realloc(g->a, cap * sizeof(*a));
		if (!a)
			return PHR_ERR_NOMEM;
		g->a = a;
		g->cap = cap;
	}
	a = &g->a[g->n];
	a->kind = kind;
	a->from = from ? phr_strdup(from) : NULL;
	a->to = phr_strdup(to);
	if ((from && !a->from) || !a->to) {
		phr_free(a->from);
		phr_free(a->to);
		return PHR_ERR_NOMEM;
	}
	g->n++;
	return PHR_OK;
}

/* A fresh pins/.pin ("recursive\n"), the inode every pin name links to. */
static int pin_proto_new(const char *proto)
{
	static atomic_uint counter;
	char tmp[4300];
	int fd, rc;
	int n = snprintf(tmp, sizeof(tmp), "%s.%ld.%u", proto, (long)getpid(),
			 atomic_fetch_add(&counter, 1));
	if (n < 0 || (size_t)n >= sizeof(tmp))
		return PHR_ERR_TOO_LARGE;
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return PHR_ERR_IO;
	rc = phr_store_write_all(fd, (const uint8_t *)"recursive\n", 10);
	if (close(fd) != 0 && rc == PHR_OK)
		rc = PHR_ERR_IO;
	if (rc == PHR_OK && rename(tmp, proto) != 0)
		rc = PHR_ERR_IO;
	if (rc != PHR_OK)
		unlink(tmp);
	return rc;
}

/*
 * A pin is a name only (pin_list and pin_has read names), so every pin file is a hard link
 * to one inode, pins/.pin: a pin costs a directory entry and no inode allocation, which
 * was most of the kernel time of a small write on ext4 (the search for a free inode). When
 * that inode is missing or has the most links the file system allows, a new one replaces
 * it; on a file system without hard links a pin is a file of its own.
 */
int phr_wal_pin_file(const char *path, bool add)
{
	char proto[4200];
	const char *slash = strrchr(path, '/');
	int fd, rc;

	if (!add)
		return unlink(path) == 0 || errno == ENOENT ? PHR_OK : PHR_ERR_IO;
	if (slash && (size_t)(slash - path) < sizeof(proto) - 8) {
		snprintf(proto, sizeof(proto), "%.*s/.pin", (int)(slash - path), path);
		for (int tries = 0; tries < 3; tries++) {
			if (link(proto, path) == 0 || errno == EEXIST)
				return PHR_OK;
			if ((errno != ENOENT && errno != EMLINK) || pin_proto_new(proto) != PHR_OK)
				break;
		}
	}
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return PHR_ERR_IO;
	rc = phr_store_write_all(fd, (const uint8_t *)"recursive\n", 10);
	if (close(fd) != 0 && rc == PHR_OK)
		rc = PHR_ERR_IO;
	return rc;
}

static int apply(const struct phr_wal_action *a)
{
	if (a->kind == ACT_RENAME)
		return rename(a->from, a->to) == 0 ? PHR_OK : PHR_ERR_IO;
	return phr_wal_pin_file(a->to, a->kind == ACT_PIN_CREATE);
}

/* Waits for the group's records, then names what they describe (or drops it on failure). */
static int group_close(struct phr_wal_group *g)
{
	struct phr_wal *w = g->wal;
	int rc = g->err;

	if (rc == PHR_OK && g->ticket)
		rc = wait_durable(w, g->ticket);
	for (size_t i = 0; i < g->n; i++) {
		struct phr_wal_action *a = &g->a[i];
		int r = rc == PHR_OK ? apply(a) : PHR_ERR_IO;
		if (r != PHR_OK && a->kind == ACT_RENAME)
			unlink(a->from);
		if (r != PHR_OK && rc == PHR_OK)
			rc = r;
		phr_free(a->from);
		phr_free(a->to);
	}
	phr_free(g->a);
	struct phr_store *st = g->st;
	memset(g, 0, sizeof(*g));
	gate_leave(w);
	phr_store_writer_unlock(st);
	if (atomic_load(&w->since_ckpt) >= w->ckpt_bytes)
		checkpoint(w);
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
	for (size_t i = 0; i < g->n; i++) {
		if (g->a[i].kind == ACT_RENAME)
			unlink(g->a[i].from);
		phr_free(g->a[i].from);
		phr_free(g->a[i].to);
	}
	g->n = 0;
	g->err = PHR_ERR_STATE;
	(void)group_close(g);
}

int phr_wal_put_block(struct phr_wal_group *g, const uint8_t digest[32], const uint8_t *data,
		      size_t len, const char *tmp, const char *path)
{
	int rc;
	size_t from = g->n > OWN_GROUP_MAX ? g->n - OWN_GROUP_MAX : 0;
	for (size_t i = from; i < g->n; i++)
		if (g->a[i].kind == ACT_RENAME && strcmp(g->a[i].to, path) == 0) {
			unlink(tmp); /* the same block twice in one group */
			return PHR_OK;
		}
	rc = append(g, REC_BLOCK, digest, data, len);
	if (rc == PHR_OK)
		rc = add_action(g, ACT_RENAME, tmp, path);
	if (rc != PHR_OK) {
		unlink(tmp);
		if (g->err == PHR_OK)
			g->err = rc;
		return rc;
	}
	/* an implicit group (a long CAR import) does not grow without bound */
	if (g != &tl.g && g->n >= OWN_GROUP_MAX) {
		struct phr_store *st = g->st;
		rc = group_close(g);
		if (rc == PHR_OK)
			group_init(g, st);
	}
	return rc;
}

int phr_wal_pin(struct phr_wal_group *g, bool add, const char *name, const char *path)
{
	uint8_t check[32];
	size_t len = strlen(name);
	int rc;
	phr_store_sha256(check, (const uint8_t *)name, len);
	rc = append(g, add ? REC_PIN_ADD : REC_PIN_RM, check, (const uint8_t *)name, len);
	if (rc == PHR_OK)
		rc = add_action(g, add ? ACT_PIN_CREATE : ACT_PIN_UNLINK, NULL, path);
	if (rc != PHR_OK && g->err == PHR_OK)
		g->err = rc;
	return rc;
}

/* ---- erasure: zero the records of blocks that are gone ---- */

struct scrub {
	struct phr_wal *w;
	bool (*dead)(void *ctx, const uint8_t digest[32]);
	void *ctx;
	uint64_t zeroed;
};

static int scrub_one(void *ctx, uint64_t off, unsigned type, const uint8_t *check,
		     const uint8_t *payload, size_t len)
{
	static const uint8_t zero[4096];
	struct scrub *s = ctx;
	(void)payload;
	if (type != REC_BLOCK || !s->dead(s->ctx, check))
		return PHR_OK;
	for (size_t done = 0, n = rec_size(len); done < n;) {
		size_t k = n - done < sizeof(zero) ? n - done : sizeof(zero);
		if (pwrite(s->w->rfd, zero, k, (off_t)(off + done)) != (ssize_t)k)
			return PHR_ERR_IO;
		done += k;
	}
	s->zeroed++;
	return PHR_OK;
}

int phr_wal_scrub(struct phr_store *st, bool (*dead)(void *ctx, const uint8_t digest[32]),
		  void *ctx)
{
	struct phr_wal *w = phr_store_i_wal(st);
	struct scrub s = { .w = w, .dead = dead, .ctx = ctx };
	int rc;

	gate_enter(w); /* no checkpoint truncates the log under the scan */
	rc = for_each_record(w, scrub_one, &s);
	if (rc == PHR_OK && s.zeroed > 0 && fdatasync(w->rfd) != 0)
		rc = PHR_ERR_IO;
	gate_leave(w);
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
