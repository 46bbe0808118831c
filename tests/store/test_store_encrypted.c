/*
 * Encrypted objects: plaintext -> secretstream -> UnixFS, back again; the CID
 * names ciphertext; wrong keys, modified and truncated ciphertext are refused;
 * key capsules round-trip for their reader only.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <phr/core.h>
#include <phr/crypto.h>
#include <phr/store.h>

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "store_test_util.h"

/* An in-memory file holding @p n bytes, positioned at the start. */
static int memfile(const uint8_t *data, size_t n)
{
	int fd = memfd_create("phr-test", 0);
	assert_true(fd >= 0);
	for (size_t off = 0; off < n;) {
		ssize_t w = write(fd, data + off, n - off);
		assert_true(w > 0);
		off += (size_t)w;
	}
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	return fd;
}

static void slurp(int fd, struct phr_buf *out)
{
	uint8_t tmp[65536];
	ssize_t r;
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	while ((r = read(fd, tmp, sizeof(tmp))) > 0)
		assert_int_equal(phr_buf_append(out, tmp, (size_t)r), PHR_OK);
}

static void test_roundtrip_sizes(void **state)
{
	static const size_t sizes[] = { 0, 1, 65535, 65536, 65537, 3 * 65536, 1500000 };
	char *dir = st_tmpdir();
	struct phr_store *st;
	uint8_t key[32], bad[32];
	uint8_t *data = malloc(1500000);

	randombytes_buf(data, 1500000);
	randombytes_buf(key, sizeof(key));
	memcpy(bad, key, sizeof(bad));
	bad[0] ^= 1;
	assert_int_equal(phr_store_open(&st, dir), PHR_OK);
	for (size_t i = 0; i < PHR_ARRAY_LEN(sizes); i++) {
		struct phr_cid enc, plain;
		int in = memfile(data, sizes[i]);
		assert_int_equal(phr_store_add_encrypted_fd(st, &enc, in, key, NULL), PHR_OK);
		close(in);
		assert_true(phr_store_pin_has(st, &enc));
		assert_int_equal(phr_store_add_bytes(NULL, &plain, data, sizes[i],
						     &(struct phr_import_opts){ .cid_version = 1,
										.only_hash = true }),
				 PHR_OK);
		assert_false(phr_cid_same_block(&enc, &plain)); /* the CID names ciphertext */

		int out = memfd_create("out", 0);
		assert_int_equal(phr_store_cat_decrypted_fd(st, &enc, out, key), PHR_OK);
		struct phr_buf b;
		phr_buf_init(&b, 0);
		slurp(out, &b);
		close(out);
		assert_int_equal(b.len, sizes[i]);
		if (sizes[i])
			assert_memory_equal(b.data, data, sizes[i]);

		/* the stored ciphertext is a plain record: crypto's own decryptor opens it */
		int ct = memfd_create("ct", 0), pt = memfd_create("pt", 0);
		assert_int_equal(phr_store_cat_fd(st, &enc, ct), PHR_OK);
		assert_int_equal(lseek(ct, 0, SEEK_SET), 0);
		assert_int_equal(phr_crypto_decrypt_fd(pt, ct, key), PHR_OK);
		phr_buf_reset(&b);
		slurp(pt, &b);
		assert_int_equal(b.len, sizes[i]);

		/* wrong key */
		out = memfd_create("out", 0);
		assert_int_equal(phr_store_cat_decrypted_fd(st, &enc, out, bad), PHR_ERR_TAMPERED);
		close(out);

		/* modified and truncated ciphertext, stored as new objects */
		phr_buf_reset(&b);
		slurp(ct, &b);
		for (int mode = 0; mode < 2; mode++) {
			struct phr_cid evil;
			if (mode == 0)
				b.data[b.len - 1] ^= 0x40;
			else
				b.len -= 1;
			assert_int_equal(phr_store_add_bytes(st, &evil, b.data, b.len, NULL), PHR_OK);
			out = memfd_create("out", 0);
			assert_int_equal(phr_store_cat_decrypted_fd(st, &evil, out, key), PHR_ERR_TAMPERED);
			close(out);
		}
		phr_buf_release(&b);
		close(ct);
		close(pt);
	}
	phr_store_close(st);
	st_rmtree(dir);
	phr_free(dir);
	free(data);
}

static void test_capsules(void **state)
{
	char *dir = st_tmpdir();
	struct phr_store *st;
	uint8_t pk[32], sk[32], pk2[32], sk2[32], key[32], got[32];
	struct phr_cid cap;

	assert_int_equal(phr_store_open(&st, dir), PHR_OK);
	assert_int_equal(phr_crypto_box_keypair(pk, sk), PHR_OK);
	assert_int_equal(phr_crypto_box_keypair(pk2, sk2), PHR_OK);
	randombytes_buf(key, sizeof(key));
	assert_int_equal(phr_store_add_capsule(st, &cap, pk, key), PHR_OK);
	assert_int_equal(cap.codec, PHR_CODEC_RAW);
	assert_true(phr_store_pin_has(st, &cap));
	assert_int_equal(phr_store_open_capsule(st, got, &cap, pk, sk), PHR_OK);
	assert_memory_equal(got, key, 32);
	assert_int_equal(phr_store_open_capsule(st, got, &cap, pk2, sk2), PHR_ERR_TAMPERED);
	/* a non-capsule object */
	struct phr_cid other;
	assert_int_equal(phr_store_add_bytes(st, &other, (const uint8_t *)"hello\n", 6, NULL), PHR_OK);
	assert_int_equal(phr_store_open_capsule(st, got, &other, pk, sk), PHR_ERR_PARSE);
	phr_store_close(st);
	st_rmtree(dir);
	phr_free(dir);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip_sizes),
		cmocka_unit_test(test_capsules),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
