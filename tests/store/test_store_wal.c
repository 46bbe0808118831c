/*
 * The store's pack log and durability groups (docs/store.md, "On disk", "Durability"):
 * a group's objects appear only at its end; small blocks and pins are records of the
 * pack, not files; a torn tail is dropped on open and a damaged record never served;
 * an erased block leaves the pack; stores of older versions (block and pin files, a
 * write-ahead log) keep working, mixed with packed blocks; two handles (processes) on
 * one store see each other's writes and erasures.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <phr/core.h>
#include <phr/crypto.h>
#include <phr/store.h>

#include <dirent.h>
#include <pthread.h>
#include <stdatomic.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store_test_util.h"

/* Makes @p n bytes that differ with @p seed. */
static void fill(uint8_t *p, size_t n, unsigned seed)
{
	uint32_t x = 2463534242u ^ seed * 2654435761u;
	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[i] = (uint8_t)x;
	}
}

static char *path_in(const char *dir, const char *rel)
{
	size_t n = strlen(dir) + strlen(rel) + 2;
	char *p = malloc(n);
	assert_non_null(p);
	snprintf(p, n, "%s/%s", dir, rel);
	return p;
}

static off_t file_size(const char *path)
{
	struct stat sb;
	return stat(path, &sb) == 0 ? sb.st_size : -1;
}

/* The block file of @p cid (older versions' layout: blocks/<2 chars before the last>/<key>). */
static char *block_file(const char *dir, const struct phr_cid *cid)
{
	uint8_t mh[34] = { 0x12, 0x20 };
	char key[80], rel[200];
	memcpy(mh + 2, cid->digest, 32);
	assert_int_equal(phr_base32_encode(key, sizeof(key), mh, 34), PHR_OK);
	size_t kl = strlen(key);
	snprintf(rel, sizeof(rel), "blocks/%.2s", key + kl - 3);
	char *shard = path_in(dir, rel);
	mkdir(shard, 0755);
	free(shard);
	snprintf(rel, sizeof(rel), "blocks/%.2s/%s", key + kl - 3, key);
	return path_in(dir, rel);
}

static char *pin_file(const char *dir, const struct phr_cid *cid)
{
	char s[PHR_CID_STR_MAX], rel[200];
	assert_int_equal(phr_cid_format(s, sizeof(s), cid), PHR_OK);
	snprintf(rel, sizeof(rel), "pins/%s", s);
	return path_in(dir, rel);
}

static void write_file(const char *path, const void *data, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, n), (ssize_t)n);
	close(fd);
}

/* Regular files under @p dir/@p sub (one level of shards for blocks/). */
static unsigned count_files(const char *dir, const char *sub)
{
	char *top = path_in(dir, sub);
	DIR *d = opendir(top);
	struct dirent *e;
	unsigned n = 0;
	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char *p = path_in(top, e->d_name);
		struct stat sb;
		if (stat(p, &sb) == 0 && S_ISDIR(sb.st_mode)) {
			DIR *s = opendir(p);
			struct dirent *f;
			while (s && (f = readdir(s)))
				n += f->d_name[0] != '.';
			if (s)
				closedir(s);
		} else {
			n++;
		}
		free(p);
	}
	if (d)
		closedir(d);
	free(top);
	return n;
}

static bool file_contains(const char *dir, const char *name, const uint8_t *needle, size_t n)
{
	char *path = path_in(dir, name);
	struct phr_buf b;
	phr_buf_init(&b, 64u << 20);
	assert_int_equal(phr_file_read(&b, path, 64u << 20), PHR_OK);
	bool found = b.len >= n && memmem(b.data, b.len, needle, n) != NULL;
	phr_buf_release(&b);
	free(path);
	return found;
}

/* A record of an older version's log and of the pack (the same format). */
static void put_rec(struct phr_buf *b, unsigned type, const uint8_t *payload, size_t len)
{
	uint8_t h[48] = { 'P', 'W', 'A', 'L', (uint8_t)type };
	static const uint8_t zero[8];
	h[8] = (uint8_t)len;
	h[9] = (uint8_t)(len >> 8);
	h[10] = (uint8_t)(len >> 16);
	struct phr_cid c;
	assert_int_equal(phr_cid_of_block(&c, 1, PHR_CODEC_RAW, payload, len), PHR_OK);
	memcpy(h + 16, c.digest, 32);
	assert_int_equal(phr_buf_append(b, h, sizeof(h)), PHR_OK);
	assert_int_equal(phr_buf_append(b, payload, len), PHR_OK);
	assert_int_equal(phr_buf_append(b, zero, (8 - len % 8) % 8), PHR_OK);
}

static void assert_block(struct phr_store *st, const struct phr_cid *cid, const uint8_t *data,
			 size_t len)
{
	struct phr_buf b;
	phr_buf_init(&b, PHR_STORE_BLOCK_MAX + 1);
	assert_int_equal(phr_store_get(st, &b, cid), PHR_OK);
	assert_int_equal(b.len, len);
	assert_memory_equal(b.data, data, len);
	phr_buf_release(&b);
}

static int collect_all(void *ctx, const uint8_t *data, size_t len)
{
	return phr_buf_append(ctx, data, len);
}

static void test_group_visibility(void **state)
{
	char *dir = st_tmpdir();
	struct phr_store *st;
	struct phr_cid a, b, raw;
	uint8_t da[4096], db[700], dr[100];
	(void)state;

	fill(da, sizeof(da), 1);
	fill(db, sizeof(db), 2);
	fill(dr, sizeof(dr), 3);
	assert_int_equal(phr_cid_of_block(&raw, 1, PHR_CODEC_RAW, dr, sizeof(dr)), PHR_OK);
	assert_int_equal(phr_store_open(&st, dir), PHR_OK);

	assert_int_equal(phr_store_group_begin(st), PHR_OK);
	assert_int_equal(phr_store_group_begin(st), PHR_OK); /* nested */
	assert_int_equal(phr_store_add_bytes(st, &a, da, sizeof(da), NULL), PHR_OK);
	assert_int_equal(phr_store_group_end(st), PHR_OK);   /* inner end: nothing yet */
	assert_int_equal(phr_store_add_bytes(st, &b, db, sizeof(db), NULL), PHR_OK);
	assert_int_equal(phr_store_put(st, &raw, dr, sizeof(dr)), PHR_OK);
	/* nothing is visible before the end: not even for this thread */
	assert_false(phr_store_has(st, &a));
	assert_false(phr_store_has(st, &b));
	assert_false(phr_store_has(st, &raw));
	assert_false(phr_store_pin_has(st, &a));
	/* a group is per store */
	struct phr_store *other;
	char *dir2 = st_tmpdir();
	assert_int_equal(phr_store_open(&other, dir2), PHR_OK);
	assert_int_equal(phr_store_group_begin(other), PHR_ERR_STATE);
	assert_int_equal(phr_store_group_end(other), PHR_ERR_STATE);
	assert_int_equal(phr_store_group_end(st), PHR_OK);
	assert_int_equal(phr_store_group_end(st), PHR_ERR_STATE);

	assert_block(st, &a, da, sizeof(da));
	assert_block(st, &b, db, sizeof(db));
	assert_block(st, &raw, dr, sizeof(dr));
	assert_true(phr_store_pin_has(st, &a));
	assert_true(phr_store_pin_has(st, &b));
	assert_false(phr_store_pin_has(st, &raw));
	/* small blocks and pins are records of the pack: no file, no inode each */
	assert_int_equal(count_files(dir, "blocks"), 0);
	assert_int_equal(count_files(dir, "pins"), 0);
	assert_true(file_contains(dir, "pack", da + 100, 64));

	/* without a group every call is durable and visible when it returns */
	assert_int_equal(phr_store_pin_rm(st, &b), PHR_OK);
	assert_false(phr_store_pin_has(st, &b));
	assert_int_equal(phr_store_pin_rm(st, &b), PHR_ERR_NOT_FOUND);
	struct phr_store_verify_report rep;
	assert_int_equal(phr_store_verify(st, &rep, NULL, NULL), PHR_OK);
	assert_int_equal(rep.tmp_files, 0);
	assert_int_equal(rep.blocks_ok, 3);
	assert_int_equal(rep.pins_ok, 1);
	struct phr_store_stat ss;
	assert_int_equal(phr_store_stat(st, &ss), PHR_OK);
	assert_int_equal(ss.blocks, 3);
	assert_int_equal(ss.bytes, sizeof(da) + sizeof(db) + sizeof(dr));
	assert_int_equal(ss.pins, 1);
	phr_store_close(other);
	phr_store_close(st);

	/* all of it again from the pack alone */
	assert_int_equal(phr_store_open(&st, dir), PHR_OK);
	assert_block(st, &a, da, sizeof(da));
	assert_block(st, &raw, dr, sizeof(dr));
	assert_true(phr_store_pin_has(st, &a));
	assert_false(phr_store_pin_has(st, &b));
	phr_store_close(st);
	st_rmtree(dir2);
	phr_free(dir2);
	st_rmtree(dir);
	phr_free(dir);
}

static void test_torn_and_damaged(void **state)
{
	char *dir = st_tmpdir(), *pack = path_in(dir, "pack");
	struct phr_store *st;
	struct phr_cid a, b, c;
	uint8_t da[5000], db[300], dc[1000];
	(void)state;

	fill(da, sizeof(da), 11);
	fill(db, sizeof(db), 12);
	fill(dc, sizeof(dc), 13);
	assert_int_equal(phr_store_open(&st, dir), PHR_OK);
	assert_int_equal(phr_store_add_bytes(st, &a, da, sizeof(da), NULL), PHR_OK);
	assert_int_equal(phr_store_add_bytes(st, &b, db, sizeof(db), NULL), PHR_OK);
	phr_store_close(st);
	off_t good = file_size(pack);

	/* a torn append at the end, as a crash in the middle of a write leaves */
	struct phr_buf r;
	phr_buf_init(&r, 1 << 20);
	put_rec(&r, 1, dc, sizeof(dc));
	int fd = open(pack, O_WRONLY | O_APPEND);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, r.data, 700), 700);
	close(fd);
	assert_int_equal(phr_store_open(&st, dir), PHR_OK);
	assert_int_equal(file_size(pack), good); /* dropped on open */
	assert_block(st, &a, da, sizeof(da));
	assert_block(st, &b, db, sizeof(db));
	assert_int_equal(phr_store_add_bytes(st, &c, dc, sizeof(dc), NULL), PHR_OK);
	assert_block(st, &c, dc, sizeof(dc));

	/* damaged bytes of an indexed block: PHR_ERR_CORRUPT, never the bytes */
	struct phr_buf out;
	phr_buf_init(&out, PHR_STORE_BLOCK_MAX + 1);
	fd = open(pack, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, "XX", 2, 64 + 48 + 10), 2); /* a's payload */
	close(fd);
	assert_int_equal(phr_store_get(st, &out, &a), PHR_ERR_CORRUPT);
	assert_int_equal(out.len, 0);
	struct phr_store_verify_report rep;
	assert_int_equal(phr_store_verify(st, &rep, NULL, NULL), PHR_ERR_CORRUPT);
	assert_int_equal(rep.blocks_corrupt, 1);
	phr_store_close(st);
	/* on open the damaged record is not a block, but a read of it says corrupt (not
	 * "not found"), and so does verify; the rest stays */
	assert_int_equal(phr_store_open(&st, dir), PHR_OK);
	assert_int_equal(phr_store_get(st, &out, &a), PHR_ERR_CORRUPT);
	assert_int_equal(out.len, 0);
	assert_false(phr_store_has(st, &a));
	assert_int_equal(phr_store_verify(st, &rep, NULL, NULL), PHR_ERR_CORRUPT);
	assert_int_equal(rep.blocks_corrupt, 1);
	assert_block(st, &b, db, sizeof(db));
	assert_block(st, &c, dc, sizeof(dc));
	/* re-adding it writes a good copy */
	assert_int_equal(phr_store_add_bytes(st, &a, da, sizeof(da), NULL), PHR_OK);
	assert_block(st, &a, da, sizeof(da));
	phr_store_close(st);
	/* erasing it kills the damaged copy too: nothing of a's bytes stays in the pack */
	assert_int_equal(phr_store_open(&st, dir), PHR_OK);
	assert_block(st, &a, da, sizeof(da));
	assert_int_equal(phr_store_pin_rm(st, &a), PHR_OK);
	assert_int_equal(phr_store_delete(st, &a), PHR_OK);
	assert_false(file_contains(dir, "pack", da + 1000, 64));
	assert_int_equal(phr_store_get(st, &out, &a), PHR_ERR_NOT_FOUND);
	assert_int_equal(phr_store_verify(st, &rep, NULL, NULL), PHR_OK);
	phr_store_close(st);
	/* b damaged too, seen by two handles (processes); one erases it: for the other it is
	 * gone (not found), not corrupt */
	{
		struct phr_buf pb;
		phr_buf_init(&pb, 64u << 20);
		assert_int_equal(phr_file_read(&pb, pack, 64u << 20), PHR_OK);
		uint8_t *at = memmem(pb.data, pb.len, db, 64);
		assert_non_null(at);
		off_t boff = (off_t)(at - pb.data);
		phr_buf_release(&pb);
		fd = open(pack, O_RDWR);
		assert_int_equal(pwrite(fd, "YY", 2, boff + 7), 2); /* b's payload */
		close(fd);
	}
	struct phr_store *st2;
	assert_int_equal(phr_store_open(&st, dir), PHR_OK);
	assert_int_equal(phr_store_open(&st2, dir), PHR_OK);
	assert_int_equal(phr_store_get(st, &out, &b), PHR_ERR_CORRUPT);
	assert_int_equal(phr_store_pin_rm(st2, &b), PHR_OK);
	assert_int_equal(phr_store_delete(st2, &b), PHR_OK);
	assert_int_equal(phr_store_get(st, &out, &b), PHR_ERR_NOT_FOUND);
	assert_false(file_contains(dir, "pack", db + 100, 64));
	assert_block(st, &c, dc, sizeof(dc));
	phr_store_close(st2);
	phr_store_close(st);
	/* not a pack at all */
	fd = open(pack, O_RDWR);
	assert_int_equal(pwrite(fd, "NOTAPACK", 8, 0), 8);
	close(fd);
	assert_int_equal(phr_store_open(&st, dir), PHR_ERR_CORRUPT);
	phr_buf_release(&out);
	phr_buf_release(&r);
	free(pack);
	st_rmtree(dir);
	phr_free(dir);
}

static void test_erase_leaves_pack(void **state)
{
	char *dir = st_tmpdir();
	struct phr_store *st;
	struct phr_cid a, b, k;
	uint8_t da[3000], db[3000], dk[9000];
	(void)state;

	fill(da, sizeof(da), 21);
	fill(db, sizeof(db), 22);
	fill(dk, sizeof(dk), 23);
	assert_int_equal(phr_store_open(&st, dir), PHR_OK);
	assert_int_equal(phr_store_add_bytes(st, &a, da, sizeof(da), NULL), PHR_OK);
	assert_int_equal(phr_store_add_bytes(st, &b, db, sizeof(db), NULL), PHR_OK);
	assert_int_equal(phr_store_add_bytes(st, &k, dk, sizeof(dk), NULL), PHR_OK);
	assert_true(file_contains(dir, "pack", da + 1000, 64));
	assert_int_equal(phr_store_pin_rm(st, &a), PHR_OK);
	assert_int_equal(phr_store_delete(st, &a), PHR_OK);
	assert_false(file_contains(dir, "pack", da + 1000, 64)); /* erased */
	assert_true(file_contains(dir, "pack", db + 1000, 64));
	assert_false(phr_store_has(st, &a));
	assert_int_equal(phr_store_delete(st, &a), PHR_ERR_NOT_FOUND);
	/* GC's removals leave the pack too; the pinned block stays */
	assert_int_equal(phr_store_pin_rm(st, &b), PHR_OK);
	uint64_t removed = 0, freed = 0;
	assert_int_equal(phr_store_gc(st, &removed, &freed), PHR_OK);
	assert_int_equal(removed, 1);
	assert_int_equal(freed, sizeof(db));
	assert_false(file_contains(dir, "pack", db + 1000, 64));
	assert_block(st, &k, dk, sizeof(dk));
	phr_store_close(st);

	/* a scan on open brings neither back */
	assert_int_equal(phr_store_open(&st, dir), PHR_OK);
	assert_false(phr_store_has(st, &a));
	assert_false(phr_store_has(st, &b));
	assert_block(st, &k, dk, sizeof(dk));
	/* and they can be stored again */
	assert_int_equal(phr_store_add_bytes(st, &a, da, sizeof(da), NULL), PHR_OK);
	assert_block(st, &a, da, sizeof(da));
	struct phr_store_stat ss;
	assert_int_equal(phr_store_stat(st, &ss), PHR_OK);
	assert_int_equal(ss.blocks, 2);
	assert_int_equal(ss.pins, 2);
	phr_store_close(st);
	st_rmtree(dir);
	phr_free(dir);
}

/* Two handles on one store behave as two processes: each has its own index. */
static void test_two_handles(void **state)
{
	char *dir = st_tmpdir();
	struct phr_store *s1, *s2;
	struct phr_cid a, b;
	uint8_t da[2000], db[2500];
	(void)state;

	fill(da, sizeof(da), 31);
	fill(db, sizeof(db), 32);
	assert_int_equal(phr_store_open(&s1, dir), PHR_OK);
	assert_int_equal(phr_store_open(&s2, dir), PHR_OK);
	assert_int_equal(phr_store_add_bytes(s1, &a, da, sizeof(da), NULL), PHR_OK);
	assert_block(s2, &a, da, sizeof(da)); /* appended by the other: found by a refresh */
	assert_true(phr_store_pin_has(s2, &a));
	assert_int_equal(phr_store_add_bytes(s2, &b, db, sizeof(db), NULL), PHR_OK);
	assert_true(phr_store_has(s1, &b));
	assert_int_equal(phr_store_pin_rm(s2, &a), PHR_OK);
	struct phr_store_stat ss;
	assert_int_equal(phr_store_stat(s1, &ss), PHR_OK);
	assert_int_equal(ss.blocks, 2);
	assert_int_equal(ss.pins, 1); /* the removal seen */
	/* an erasure by one: the other's index still points there, the read says not found */
	assert_int_equal(phr_store_delete(s2, &a), PHR_OK);
	struct phr_buf out;
	phr_buf_init(&out, PHR_STORE_BLOCK_MAX + 1);
	assert_int_equal(phr_store_get(s1, &out, &a), PHR_ERR_NOT_FOUND);
	assert_false(phr_store_has(s1, &a));
	/* and the other can store it again (not fooled by its stale entry) */
	assert_int_equal(phr_store_add_bytes(s1, &a, da, sizeof(da), NULL), PHR_OK);
	assert_block(s2, &a, da, sizeof(da));
	assert_block(s1, &a, da, sizeof(da));
	/* the same block added by both before either saw the other's: two copies in the
	 * pack; an erasure kills both (a scan on open would find a survivor) */
	uint8_t dx[1800];
	struct phr_cid x1, x2;
	fill(dx, sizeof(dx), 33);
	assert_int_equal(phr_store_add_bytes(s1, &x1, dx, sizeof(dx), NULL), PHR_OK);
	assert_int_equal(phr_store_add_bytes(s2, &x2, dx, sizeof(dx), NULL), PHR_OK);
	assert_true(phr_cid_equal(&x1, &x2));
	assert_int_equal(phr_store_pin_rm(s1, &x1), PHR_OK);
	assert_int_equal(phr_store_delete(s1, &x1), PHR_OK);
	assert_false(file_contains(dir, "pack", dx + 500, 64));
	assert_false(phr_store_has(s2, &x1));
	struct phr_store *s3;
	assert_int_equal(phr_store_open(&s3, dir), PHR_OK);
	assert_false(phr_store_has(s3, &x1));
	assert_int_equal(phr_store_delete(s3, &x1), PHR_ERR_NOT_FOUND);
	phr_store_close(s3);
	phr_buf_release(&out);
	phr_store_close(s2);
	phr_store_close(s1);
	st_rmtree(dir);
	phr_free(dir);
}

/* A store written by an older version: block and pin files, a log of another boot. */
static void test_older_store(void **state)
{
	char *dir = st_tmpdir();
	struct phr_store *st;
	struct phr_cid f1, f2, w1, n1, big;
	uint8_t d1[1500], d2[1700], dw[1900], dn[2100];
	size_t nbig = 300000;
	uint8_t *dbig = malloc(nbig);
	(void)state;

	assert_non_null(dbig);
	fill(d1, sizeof(d1), 41);
	fill(d2, sizeof(d2), 42);
	fill(dw, sizeof(dw), 43);
	fill(dn, sizeof(dn), 44);
	fill(dbig, nbig, 45);
	assert_int_equal(phr_cid_of_block(&f1, 1, PHR_CODEC_RAW, d1, sizeof(d1)), PHR_OK);
	assert_int_equal(phr_cid_of_block(&f2, 1, PHR_CODEC_RAW, d2, sizeof(d2)), PHR_OK);
	assert_int_equal(phr_cid_of_block(&w1, 1, PHR_CODEC_RAW, dw, sizeof(dw)), PHR_OK);
	char *blocks = path_in(dir, "blocks"), *pins = path_in(dir, "pins");
	assert_int_equal(mkdir(blocks, 0755), 0);
	assert_int_equal(mkdir(pins, 0755), 0);
	char *p1 = block_file(dir, &f1), *p2 = block_file(dir, &f2), *pw = block_file(dir, &w1);
	char *pin1 = pin_file(dir, &f1), *pinw = pin_file(dir, &w1);
	write_file(p1, d1, sizeof(d1));
	write_file(p2, d2, sizeof(d2));
	write_file(pin1, "recursive\n", 10);
	/* its log: w1 (whose file the crash lost) and its pin; written under another boot */
	struct phr_buf log;
	char wname[PHR_CID_STR_MAX];
	phr_buf_init(&log, 1 << 20);
	uint8_t hdr[64] = "PHRWAL01another-boot";
	assert_int_equal(phr_buf_append(&log, hdr, sizeof(hdr)), PHR_OK);
	put_rec(&log, 1, dw, sizeof(dw));
	assert_int_equal(phr_cid_format(wname, sizeof(wname), &w1), PHR_OK);
	put_rec(&log, 2, (const uint8_t *)wname, strlen(wname));
	char *wal = path_in(dir, "wal");
	write_file(wal, log.data, log.len);

	assert_int_equal(phr_store_open(&st, dir), PHR_OK);
	assert_int_equal(file_size(wal), -1); /* replayed, synced, removed */
	assert_int_equal(file_size(pw), (off_t)sizeof(dw));
	assert_block(st, &f1, d1, sizeof(d1));
	assert_block(st, &f2, d2, sizeof(d2));
	assert_block(st, &w1, dw, sizeof(dw));
	assert_true(phr_store_pin_has(st, &f1));
	assert_true(phr_store_pin_has(st, &w1));
	assert_int_equal(file_size(pinw), 10);
	/* mixed: new blocks go to the pack */
	assert_int_equal(phr_store_add_bytes(st, &n1, dn, sizeof(dn), NULL), PHR_OK);
	assert_int_equal(phr_store_add_bytes(st, &big, dbig, nbig, NULL), PHR_OK); /* 2 leaves + root */
	struct phr_store_stat ss;
	assert_int_equal(phr_store_stat(st, &ss), PHR_OK);
	assert_int_equal(ss.blocks, 3 + 1 + 3);
	assert_int_equal(ss.pins, 4);
	struct phr_store_verify_report rep;
	assert_int_equal(phr_store_verify(st, &rep, NULL, NULL), PHR_OK);
	assert_int_equal(rep.blocks_ok, 7);
	assert_int_equal(rep.pins_ok, 4);
	/* a pin of a file goes with its file */
	assert_int_equal(phr_store_pin_rm(st, &w1), PHR_OK);
	assert_int_equal(file_size(pinw), -1);
	assert_false(phr_store_pin_has(st, &w1));
	/* GC: the unpinned file blocks (f2, w1) go; pinned files and packed blocks stay */
	uint64_t removed = 0;
	assert_int_equal(phr_store_pin_rm(st, &n1), PHR_OK);
	assert_int_equal(phr_store_gc(st, &removed, NULL), PHR_OK);
	assert_int_equal(removed, 3);
	assert_int_equal(file_size(p2), -1);
	assert_int_equal(file_size(pw), -1);
	assert_false(phr_store_has(st, &n1));
	assert_block(st, &f1, d1, sizeof(d1));
	struct phr_buf out;
	phr_buf_init(&out, nbig + 1);
	assert_int_equal(phr_store_cat(st, &big, collect_all, &out), PHR_OK);
	assert_int_equal(out.len, nbig);
	assert_memory_equal(out.data, dbig, nbig);
	/* a file block can be erased */
	assert_int_equal(phr_store_pin_rm(st, &f1), PHR_OK);
	assert_int_equal(phr_store_delete(st, &f1), PHR_OK);
	assert_int_equal(file_size(p1), -1);
	assert_int_equal(phr_store_delete(st, &f1), PHR_ERR_NOT_FOUND);
	phr_store_close(st);
	assert_int_equal(phr_store_open(&st, dir), PHR_OK);
	assert_int_equal(phr_store_stat(st, &ss), PHR_OK);
	assert_int_equal(ss.blocks, 3);
	assert_int_equal(ss.pins, 1);
	phr_store_close(st);
	phr_buf_release(&out);
	phr_buf_release(&log);
	free(dbig);
	free(blocks);
	free(pins);
	free(p1);
	free(p2);
	free(pw);
	free(pin1);
	free(pinw);
	free(wal);
	st_rmtree(dir);
	phr_free(dir);
}

static void test_large_blocks_are_files(void **state)
{
	char *dir = st_tmpdir(), *pack = path_in(dir, "pack");
	struct phr_store *st;
	struct phr_cid c;
	size_t n = 600000;
	uint8_t *d = malloc(n);
	(void)state;

	assert_non_null(d);
	fill(d, n, 7);
	assert_int_equal(phr_store_open(&st, dir), PHR_OK);
	assert_int_equal(phr_store_add_bytes(st, &c, d, n, NULL), PHR_OK);
	/* 256 KiB leaves are synced as files; the pack holds the small root and the pin */
	assert_true(file_size(pack) < 4096);
	assert_int_equal(count_files(dir, "blocks"), 3);
	struct phr_store_stat s;
	assert_int_equal(phr_store_stat(st, &s), PHR_OK);
	assert_int_equal(s.blocks, 4);
	assert_int_equal(s.pins, 1);
	phr_store_close(st);
	free(d);
	free(pack);
	st_rmtree(dir);
	phr_free(dir);
}

/* GC on one handle while another reads pinned packed blocks and writes new ones: readers
 * never fail, unpinned blocks go, pinned ones stay. */
struct gc_reader {
	struct phr_store *st;
	const struct phr_cid *cids;
	size_t n;
	atomic_bool *stop;
	unsigned reads, failures;
};

static void *gc_reader_main(void *arg)
{
	struct gc_reader *r = arg;
	struct phr_buf b;
	phr_buf_init(&b, PHR_STORE_BLOCK_MAX + 1);
	for (size_t i = 0; !atomic_load(r->stop); i = (i + 1) % r->n) {
		if (phr_store_get(r->st, &b, &r->cids[i]) != PHR_OK)
			r->failures++;
		r->reads++;
	}
	phr_buf_release(&b);
	return NULL;
}

static void test_gc_concurrent(void **state)
{
	char *dir = st_tmpdir();
	struct phr_store *s1, *s2;
	struct phr_cid pinned[20], c;
	uint8_t d[1500];
	atomic_bool stop = false;
	struct gc_reader r[3];
	pthread_t t[3];
	(void)state;

	assert_int_equal(phr_store_open(&s1, dir), PHR_OK);
	assert_int_equal(phr_store_open(&s2, dir), PHR_OK);
	for (unsigned i = 0; i < 20; i++) {
		fill(d, sizeof(d), 500 + i);
		assert_int_equal(phr_store_add_bytes(s1, &pinned[i], d, sizeof(d), NULL), PHR_OK);
	}
	for (unsigned i = 0; i < 3; i++) {
		r[i] = (struct gc_reader){ .st = s1, .cids = pinned, .n = 20, .stop = &stop };
		assert_int_equal(pthread_create(&t[i], NULL, gc_reader_main, &r[i]), 0);
	}
	uint64_t removed_total = 0;
	for (unsigned round = 0; round < 10; round++) {
		for (unsigned i = 0; i < 10; i++) {
			fill(d, sizeof(d), 1000 + round * 10 + i);
			assert_int_equal(phr_store_add_bytes(s1, &c, d, sizeof(d), NULL), PHR_OK);
			assert_int_equal(phr_store_pin_rm(s1, &c), PHR_OK);
		}
		uint64_t removed = 0;
		assert_int_equal(phr_store_gc(s2, &removed, NULL), PHR_OK);
		removed_total += removed;
	}
	atomic_store(&stop, true);
	for (unsigned i = 0; i < 3; i++) {
		assert_int_equal(pthread_join(t[i], NULL), 0);
		assert_int_equal(r[i].failures, 0);
		assert_true(r[i].reads > 0);
	}
	assert_int_equal(removed_total, 100);
	struct phr_store_stat ss;
	assert_int_equal(phr_store_stat(s1, &ss), PHR_OK);
	assert_int_equal(ss.blocks, 20);
	assert_int_equal(ss.pins, 20);
	assert_false(phr_store_has(s1, &c));
	phr_store_close(s2);
	phr_store_close(s1);
	st_rmtree(dir);
	phr_free(dir);
}

/* Copies file @p from to @p to (whole). */
static void copy_file(const char *from, const char *to)
{
	struct phr_buf b;
	phr_buf_init(&b, 64u << 20);
	assert_int_equal(phr_file_read(&b, from, 64u << 20), PHR_OK);
	write_file(to, b.data, b.len);
	phr_buf_release(&b);
}

/* Everything of test_index_file's store as it must be, whatever index file it found. */
static void assert_index_store(const char *dir, const struct phr_cid *cids, uint8_t (*data)[3000],
			       size_t n, const struct phr_cid *gone)
{
	struct phr_store *st;
	struct phr_buf out;
	phr_buf_init(&out, PHR_STORE_BLOCK_MAX + 1);
	assert_int_equal(phr_store_open(&st, dir), PHR_OK);
	for (size_t i = 0; i < n; i++) {
		assert_block(st, &cids[i], data[i], sizeof(data[i]));
		assert_true(phr_store_pin_has(st, &cids[i]));
	}
	assert_int_equal(phr_store_get(st, &out, gone), PHR_ERR_NOT_FOUND);
	assert_false(phr_store_pin_has(st, gone));
	struct phr_store_stat ss;
	assert_int_equal(phr_store_stat(st, &ss), PHR_OK);
	assert_int_equal(ss.blocks, n);
	assert_int_equal(ss.pins, n);
	struct phr_store_verify_report rep;
	assert_int_equal(phr_store_verify(st, &rep, NULL, NULL), PHR_OK);
	phr_store_close(st);
	phr_buf_release(&out);
}

/*
 * The index file (pack.idx) spares an opener the scan of what it covers: used when it
 * describes this pack, and only as a shortcut: a stale one (the pack grew, pins went,
 * blocks were erased since), a damaged or truncated one, one of another store, or one
 * beside a pack with a torn tail all give the same store as a full scan.
 */
static void test_index_file(void **state)
{
	char *dir = st_tmpdir(), *idx = path_in(dir, "pack.idx"), *pack = path_in(dir, "pack");
	char *old = path_in(dir, "old.idx");
	struct phr_store *st;
	enum { N = 12 };
	static uint8_t data[N + 2][3000];
	struct phr_cid cids[N + 2];
	(void)state;

	setenv("PHR_STORE_INDEX_MIN", "1", 1);
	for (unsigned i = 0; i < N + 2; i++)
		fill(data[i], sizeof(data[i]), 70 + i);
	assert_int_equal(phr_store_open(&st, dir), PHR_OK);
	for (unsigned i = 0; i < N; i++)
		assert_int_equal(phr_store_add_bytes(st, &cids[i], data[i], sizeof(data[i]), NULL),
				 PHR_OK);
	phr_store_close(st);
	assert_true(file_size(idx) > 0); /* written on close */
	copy_file(idx, old);

	/* it is used: a pin record damaged under it does not lose the pin (a scan would);
	 * a temporary file a killed writer left is removed by the first opener */
	char *stale = path_in(dir, "pack.idx.tmp.99999.0");
	write_file(stale, "junk", 4);
	assert_int_equal(phr_store_open(&st, dir), PHR_OK);
	assert_true(file_size(stale) < 0);
	free(stale);
	phr_store_close(st);
	{
		char name[PHR_CID_STR_MAX];
		assert_int_equal(phr_cid_format(name, sizeof(name), &cids[0]), PHR_OK);
		struct phr_buf b;
		phr_buf_init(&b, 64u << 20);
		assert_int_equal(phr_file_read(&b, pack, 64u << 20), PHR_OK);
		uint8_t *at = memmem(b.data, b.len, name, strlen(name));
		assert_non_null(at);
		size_t off = (size_t)(at - b.data);
		phr_buf_release(&b);
		int fd = open(pack, O_RDWR);
		assert_true(fd >= 0);
		assert_int_equal(pwrite(fd, "#", 1, (off_t)off + 5), 1);
		close(fd);
		assert_int_equal(phr_store_open(&st, dir), PHR_OK);
		assert_true(phr_store_pin_has(st, &cids[0]));
		phr_store_close(st);
		/* without the file, the scan skips the damaged record: the pin is gone */
		char *keep = path_in(dir, "keep.idx");
		copy_file(idx, keep);
		unlink(idx);
		assert_int_equal(phr_store_open(&st, dir), PHR_OK);
		assert_false(phr_store_pin_has(st, &cids[0]));
		phr_store_close(st);
		fd = open(pack, O_RDWR);
		assert_int_equal(pwrite(fd, name + 5, 1, (off_t)off + 5), 1); /* repaired */
		close(fd);
		copy_file(keep, idx);
		unlink(keep);
		free(keep);
	}

	/* the store moves on: two more blocks, one pin and block erased */
	assert_int_equal(phr_store_open(&st, dir), PHR_OK);
	for (unsigned i = N; i < N + 2; i++)
		assert_int_equal(phr_store_add_bytes(st, &cids[i], data[i], sizeof(data[i]), NULL),
				 PHR_OK);
	assert_int_equal(phr_store_pin_rm(st, &cids[3]), PHR_OK);
	assert_int_equal(phr_store_delete(st, &cids[3]), PHR_OK);
	phr_store_close(st);
	/* the other blocks, in order, and the erased one */
	struct phr_cid live[N + 1];
	static uint8_t ldata[N + 1][3000];
	size_t nl = 0;
	for (unsigned i = 0; i < N + 2; i++)
		if (i != 3) {
			live[nl] = cids[i];
			memcpy(ldata[nl++], data[i], sizeof(data[i]));
		}
	assert_index_store(dir, live, ldata, nl, &cids[3]);

	/* a stale file (from before those changes) */
	copy_file(old, idx);
	assert_index_store(dir, live, ldata, nl, &cids[3]);
	/* a damaged one: one byte flipped */
	copy_file(old, idx);
	int fd = open(idx, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, "\x55", 1, 120), 1);
	close(fd);
	assert_index_store(dir, live, ldata, nl, &cids[3]);
	/* a truncated one */
	copy_file(old, idx);
	assert_int_equal(truncate(idx, file_size(idx) - 40), 0);
	assert_index_store(dir, live, ldata, nl, &cids[3]);
	/* another store's */
	char *dir2 = st_tmpdir(), *idx2 = path_in(dir2, "pack.idx");
	struct phr_cid o;
	assert_int_equal(phr_store_open(&st, dir2), PHR_OK);
	assert_int_equal(phr_store_add_bytes(st, &o, data[0] + 7, 2000, NULL), PHR_OK);
	phr_store_close(st);
	copy_file(idx2, idx);
	assert_index_store(dir, live, ldata, nl, &cids[3]);
	/* beside a pack with a torn tail: the tail goes, the rest stays */
	off_t good = file_size(pack);
	struct phr_buf r;
	phr_buf_init(&r, 1 << 20);
	put_rec(&r, 1, data[0] + 5, 900);
	fd = open(pack, O_WRONLY | O_APPEND);
	assert_int_equal(write(fd, r.data, 500), 500);
	close(fd);
	phr_buf_release(&r);
	assert_index_store(dir, live, ldata, nl, &cids[3]);
	assert_int_equal(file_size(pack), good);

	unsetenv("PHR_STORE_INDEX_MIN");
	st_rmtree(dir2);
	phr_free(dir2);
	free(idx2);
	free(old);
	free(pack);
	free(idx);
	st_rmtree(dir);
	phr_free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_group_visibility),
		cmocka_unit_test(test_torn_and_damaged),
		cmocka_unit_test(test_erase_leaves_pack),
		cmocka_unit_test(test_two_handles),
		cmocka_unit_test(test_older_store),
		cmocka_unit_test(test_large_blocks_are_files),
		cmocka_unit_test(test_gc_concurrent),
		cmocka_unit_test(test_index_file),
	};
	if (phr_crypto_init() != PHR_OK)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
