/*
 * The store's write-ahead log and durability groups (docs/store.md, "Durability"):
 * a group's objects appear only at its end; a log written under another boot is
 * replayed on open (lost block files and pins come back, torn and zeroed records are
 * skipped); an erased block leaves the log too; checkpoints empty the log.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <phr/core.h>
#include <phr/crypto.h>
#include <phr/store.h>

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

/* The block file of @p cid (the store's layout: blocks/<2 chars before the last>/<key>). */
static char *block_file(const char *dir, const struct phr_cid *cid)
{
	uint8_t mh[34] = { 0x12, 0x20 };
	char key[80], rel[200];
	memcpy(mh + 2, cid->digest, 32);
	assert_int_equal(phr_base32_encode(key, sizeof(key), mh, 34), PHR_OK);
	size_t kl = strlen(key);
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

/* What a crash of the machine may do to files written without their own fsync. */
static void lose_file(const char *path)
{
	assert_int_equal(unlink(path), 0);
}

/* Pretends the log was written under another boot (its header: magic, boot id at 8). */
static void other_boot(const char *dir)
{
	char *wal = path_in(dir, "wal");
	int fd = open(wal, O_WRONLY);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, "another-boot", 12, 8), 12);
	close(fd);
	free(wal);
}

static bool wal_contains(const char *dir, const uint8_t *needle, size_t n)
{
	char *wal = path_in(dir, "wal");
	struct phr_buf b;
	phr_buf_init(&b, 64u << 20);
	assert_int_equal(phr_file_read(&b, wal, 64u << 20), PHR_OK);
	bool found = b.len >= n && memmem(b.data, b.len, needle, n) != NULL;
	phr_buf_release(&b);
	free(wal);
	return found;
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
	/* nothing is named before the end: not even for this thread */
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
	/* pins are names of one inode (no inode allocated per pin) */
	char *pa = pin_file(dir, &a), *pb = pin_file(dir, &b);
	struct stat sa, sb;
	assert_int_equal(stat(pa, &sa), 0);
	assert_int_equal(stat(pb, &sb), 0);
	assert_int_equal(sa.st_ino, sb.st_ino);
	assert_true(sa.st_nlink >= 3); /* .pin and the two pins */
	free(pa);
	free(pb);

	/* without a group every call is durable and visible when it returns */
	assert_int_equal(phr_store_pin_rm(st, &b), PHR_OK);
	assert_false(phr_store_pin_has(st, &b));
	assert_int_equal(phr_store_pin_rm(st, &b), PHR_ERR_NOT_FOUND);
	struct phr_store_verify_report rep;
	assert_int_equal(phr_store_verify(st, &rep, NULL, NULL), PHR_OK);
	assert_int_equal(rep.tmp_files, 0);
	phr_store_close(other);
	phr_store_close(st);
	st_rmtree(dir2);
	phr_free(dir2);
	st_rmtree(dir);
	phr_free(dir);
}

static void test_replay_after_machine_crash(void **state)
{
	char *dir = st_tmpdir();
	struct phr_store *st;
	struct phr_cid a, b, c, cap;
	uint8_t da[5000], db[300], dc[1000], key[32], pk[32], sk[32], back[32];
	(void)state;

	fill(da, sizeof(da), 11);
	fill(db, sizeof(db), 12);
	fill(dc, sizeof(dc), 13);
	fill(key, sizeof(key), 14);
	assert_int_equal(phr_crypto_box_keypair(pk, sk), PHR_OK);
	assert_int_equal(phr_store_open(&st, dir), PHR_OK);
	assert_int_equal(phr_store_group_begin(st), PHR_OK);
	assert_int_equal(phr_store_add_bytes(st, &a, da, sizeof(da), NULL), PHR_OK);
	assert_int_equal(phr_store_add_capsule(st, &cap, pk, key), PHR_OK);
	assert_int_equal(phr_store_group_end(st), PHR_OK);
	assert_int_equal(phr_store_add_bytes(st, &b, db, sizeof(db), NULL), PHR_OK);
	assert_int_equal(phr_store_add_bytes(st, &c, dc, sizeof(dc), NULL), PHR_OK);
	assert_int_equal(phr_store_pin_rm(st, &c), PHR_OK);
	phr_store_close(st);

	/* a torn append at the end, as a crash in the middle of a write leaves */
	char *wal = path_in(dir, "wal");
	int fd = open(wal, O_WRONLY | O_APPEND);
	assert_true(fd >= 0);
	static const uint8_t torn[60] = { 'P', 'W', 'A', 'L', 1, 0, 0, 0, 0x00, 0x10 };
	assert_int_equal(write(fd, torn, sizeof(torn)), (ssize_t)sizeof(torn));
	close(fd);

	/* the machine crashed: files synced only through the log are gone, one is damaged */
	char *fa = block_file(dir, &a), *fb = block_file(dir, &b), *fcap = block_file(dir, &cap);
	char *pa = pin_file(dir, &a), *pcap = pin_file(dir, &cap), *pc = pin_file(dir, &c);
	lose_file(fa);
	lose_file(pa);
	lose_file(fcap);
	lose_file(pcap);
	fd = open(fb, O_WRONLY);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, "XX", 2, 10), 2);
	close(fd);
	other_boot(dir);

	assert_int_equal(phr_store_open(&st, dir), PHR_OK);
	assert_block(st, &a, da, sizeof(da));
	assert_block(st, &b, db, sizeof(db));
	assert_true(phr_store_pin_has(st, &a));
	assert_true(phr_store_pin_has(st, &cap));
	assert_false(phr_store_pin_has(st, &c)); /* the removal replays too */
	assert_int_equal(phr_store_open_capsule(st, back, &cap, pk, sk), PHR_OK);
	assert_memory_equal(back, key, 32);
	struct phr_store_verify_report rep;
	assert_int_equal(phr_store_verify(st, &rep, NULL, NULL), PHR_OK);
	assert_int_equal(rep.blocks_corrupt, 0);
	/* replayed, synced: the log starts afresh */
	assert_int_equal(file_size(wal), 64);
	phr_store_close(st);
	(void)pc;
	free(fa);
	free(fb);
	free(fcap);
	free(pa);
	free(pcap);
	free(pc);
	free(wal);
	st_rmtree(dir);
	phr_free(dir);
}

static void test_erase_leaves_log(void **state)
{
	char *dir = st_tmpdir();
	struct phr_store *st;
	struct phr_cid a, b;
	uint8_t da[3000], db[3000];
	(void)state;

	fill(da, sizeof(da), 21);
	fill(db, sizeof(db), 22);
	assert_int_equal(phr_store_open(&st, dir), PHR_OK);
	assert_int_equal(phr_store_add_bytes(st, &a, da, sizeof(da), NULL), PHR_OK);
	assert_int_equal(phr_store_add_bytes(st, &b, db, sizeof(db), NULL), PHR_OK);
	assert_true(wal_contains(dir, da + 1000, 64));
	assert_int_equal(phr_store_pin_rm(st, &a), PHR_OK);
	assert_int_equal(phr_store_delete(st, &a), PHR_OK);
	assert_false(wal_contains(dir, da + 1000, 64)); /* erased everywhere */
	assert_true(wal_contains(dir, db + 1000, 64));
	assert_int_equal(phr_store_delete(st, &a), PHR_ERR_NOT_FOUND);
	/* GC's removals leave the log too */
	assert_int_equal(phr_store_pin_rm(st, &b), PHR_OK);
	uint64_t removed = 0;
	assert_int_equal(phr_store_gc(st, &removed, NULL), PHR_OK);
	assert_int_equal(removed, 1);
	assert_false(wal_contains(dir, db + 1000, 64));
	phr_store_close(st);

	/* a replay after a machine crash brings neither back */
	other_boot(dir);
	assert_int_equal(phr_store_open(&st, dir), PHR_OK);
	assert_false(phr_store_has(st, &a));
	assert_false(phr_store_has(st, &b));
	phr_store_close(st);
	st_rmtree(dir);
	phr_free(dir);
}

static void test_checkpoint(void **state)
{
	char *dir = st_tmpdir(), *wal = path_in(dir, "wal");
	struct phr_store *st, *second;
	struct phr_cid c[40];
	uint8_t d[8000];
	(void)state;

	setenv("PHR_STORE_WAL_CHECKPOINT", "100000", 1);
	assert_int_equal(phr_store_open(&st, dir), PHR_OK);
	for (unsigned i = 0; i < 40; i++) {
		fill(d, sizeof(d), 100 + i);
		assert_int_equal(phr_store_add_bytes(st, &c[i], d, sizeof(d), NULL), PHR_OK);
	}
	/* 40 x 8 KB crossed 100 kB a few times: emptied each time */
	assert_true(file_size(wal) < 100000 + 16000);
	assert_true(file_size(wal) >= 64);
	/* with a second process (here: handle) open, no checkpoint: it cannot be paused */
	assert_int_equal(phr_store_open(&second, dir), PHR_OK);
	for (unsigned i = 0; i < 20; i++) {
		fill(d, sizeof(d), 300 + i);
		struct phr_cid x;
		assert_int_equal(phr_store_add_bytes(st, &x, d, sizeof(d), NULL), PHR_OK);
		assert_true(phr_store_has(second, &x));
	}
	assert_true(file_size(wal) > 20 * 8000);
	phr_store_close(second);
	for (unsigned i = 0; i < 40; i++) {
		fill(d, sizeof(d), 100 + i);
		assert_block(st, &c[i], d, sizeof(d));
	}
	phr_store_close(st);
	unsetenv("PHR_STORE_WAL_CHECKPOINT");
	/* an open store with a long log of this boot: emptied on open */
	setenv("PHR_STORE_WAL_CHECKPOINT", "1000", 1);
	assert_int_equal(phr_store_open(&st, dir), PHR_OK);
	assert_int_equal(file_size(wal), 64);
	phr_store_close(st);
	unsetenv("PHR_STORE_WAL_CHECKPOINT");
	free(wal);
	st_rmtree(dir);
	phr_free(dir);
}

static void test_large_blocks_bypass_log(void **state)
{
	char *dir = st_tmpdir(), *wal = path_in(dir, "wal");
	struct phr_store *st;
	struct phr_cid c;
	size_t n = 600000;
	uint8_t *d = malloc(n);
	(void)state;

	assert_non_null(d);
	fill(d, n, 7);
	assert_int_equal(phr_store_open(&st, dir), PHR_OK);
	assert_int_equal(phr_store_add_bytes(st, &c, d, n, NULL), PHR_OK);
	/* 256 KiB leaves are synced as files; the log holds the small root and the pin */
	assert_true(file_size(wal) < 4096);
	struct phr_buf out;
	phr_buf_init(&out, n + 1);
	struct phr_store_stat s;
	assert_int_equal(phr_store_stat(st, &s), PHR_OK);
	assert_int_equal(s.blocks, 4);
	assert_int_equal(s.pins, 1);
	phr_buf_release(&out);
	phr_store_close(st);
	free(d);
	free(wal);
	st_rmtree(dir);
	phr_free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_group_visibility),
		cmocka_unit_test(test_replay_after_machine_crash),
		cmocka_unit_test(test_erase_leaves_log),
		cmocka_unit_test(test_checkpoint),
		cmocka_unit_test(test_large_blocks_bypass_log),
	};
	if (phr_crypto_init() != PHR_OK)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
