/* Record encryption: round trips at every size edge, and tampering,
 * truncation, reordering, duplication, extension and wrong keys all detected
 * as PHR_ERR_TAMPERED with no plaintext handed back. Key wrapping. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "phr/core.h"
#include "phr/crypto.h"

#define CHUNK 64u
#define FULL (CHUNK + PHR_CRYPTO_STREAM_ABYTES)
#define HDR PHR_CRYPTO_STREAM_HEADER_BYTES

static uint8_t key[32], key2[32];

static void fill(uint8_t *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 131 + seed);
}

static void encrypt(struct phr_buf *c, const uint8_t *p, size_t n)
{
	phr_buf_init(c, 0);
	assert_int_equal(phr_crypto_encrypt_buf(c, key, p, n, CHUNK), PHR_OK);
}

static int decrypt(const uint8_t *k, const uint8_t *c, size_t n)
{
	struct phr_buf out;
	int rc;

	phr_buf_init(&out, 0);
	rc = phr_crypto_decrypt_buf(&out, k, c, n);
	if (rc != PHR_OK)
		assert_null(out.data); /* nothing handed back */
	phr_buf_release(&out);
	return rc;
}

static void test_roundtrip_sizes(void **state)
{
	(void)state;
	static const size_t sizes[] = { 0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK, 3 * CHUNK + 7, 1000 };
	static uint8_t p[1000];

	for (size_t i = 0; i < PHR_ARRAY_LEN(sizes); i++) {
		size_t n = sizes[i];
		struct phr_buf c, out;
		size_t nchunks = n / CHUNK + 1;

		fill(p, n, (unsigned)i);
		encrypt(&c, p, n);
		assert_int_equal(c.len, HDR + n + nchunks * PHR_CRYPTO_STREAM_ABYTES);
		phr_buf_init(&out, 0);
		assert_int_equal(phr_crypto_decrypt_buf(&out, key, c.data, c.len), PHR_OK);
		assert_int_equal(out.len, n);
		if (n)
			assert_memory_equal(out.data, p, n);
		phr_buf_release(&out);
		phr_buf_release(&c);
	}
}

static void test_every_byte_flip(void **state)
{
	(void)state;
	uint8_t p[3 * CHUNK + 10];
	struct phr_buf c;

	fill(p, sizeof(p), 9);
	encrypt(&c, p, sizeof(p));
	for (size_t i = 0; i < c.len; i++) {
		c.data[i] ^= 0x01;
		int rc = decrypt(key, c.data, c.len);
		/* the magic, version and reserved bytes are a parse error; all
		 * else (chunk size, secretstream header, chunks) tampering */
		if (i < 8)
			assert_true(rc == PHR_ERR_PARSE || rc == PHR_ERR_UNSUPPORTED);
		else
			assert_true(rc == PHR_ERR_TAMPERED || rc == PHR_ERR_PARSE);
		if (i >= 12)
			assert_int_equal(rc, PHR_ERR_TAMPERED);
		c.data[i] ^= 0x01;
	}
	assert_int_equal(decrypt(key, c.data, c.len), PHR_OK);
	phr_buf_release(&c);
}

static void test_truncation(void **state)
{
	(void)state;
	uint8_t p[3 * CHUNK + 10];
	struct phr_buf c;

	fill(p, sizeof(p), 3);
	encrypt(&c, p, sizeof(p));
	/* every shorter length, including exact chunk boundaries (the stream then
	 * ends without its FINAL chunk) and a bare header */
	for (size_t len = 0; len < c.len; len++)
		assert_int_equal(decrypt(key, c.data, len), PHR_ERR_TAMPERED);
	phr_buf_release(&c);
}

static void test_reorder_duplicate_extend(void **state)
{
	(void)state;
	uint8_t p[3 * CHUNK + 10], tmp[FULL];
	struct phr_buf c;
	uint8_t *c1, *c2;

	fill(p, sizeof(p), 5);
	encrypt(&c, p, sizeof(p));
	c1 = c.data + HDR;
	c2 = c1 + FULL;
	/* swap chunks 1 and 2 */
	memcpy(tmp, c1, FULL);
	memcpy(c1, c2, FULL);
	memcpy(c2, tmp, FULL);
	assert_int_equal(decrypt(key, c.data, c.len), PHR_ERR_TAMPERED);
	memcpy(c2, c1, FULL);
	memcpy(c1, tmp, FULL);
	assert_int_equal(decrypt(key, c.data, c.len), PHR_OK);
	/* chunk 1 twice (drop chunk 2) */
	memcpy(tmp, c2, FULL);
	memcpy(c2, c1, FULL);
	assert_int_equal(decrypt(key, c.data, c.len), PHR_ERR_TAMPERED);
	memcpy(c2, tmp, FULL);
	/* drop chunk 2 entirely */
	{
		struct phr_buf d;
		phr_buf_init(&d, 0);
		assert_int_equal(phr_buf_append(&d, c.data, HDR + FULL), PHR_OK);
		assert_int_equal(phr_buf_append(&d, c.data + HDR + 2 * FULL, c.len - HDR - 2 * FULL), PHR_OK);
		assert_int_equal(decrypt(key, d.data, d.len), PHR_ERR_TAMPERED);
		phr_buf_release(&d);
	}
	/* bytes after FINAL */
	assert_int_equal(phr_buf_append_byte(&c, 0), PHR_OK);
	assert_int_equal(decrypt(key, c.data, c.len), PHR_ERR_TAMPERED);
	/* a whole extra chunk after FINAL */
	c.len--;
	assert_int_equal(phr_buf_append(&c, c.data + HDR, FULL), PHR_OK);
	assert_int_equal(decrypt(key, c.data, c.len), PHR_ERR_TAMPERED);
	phr_buf_release(&c);
}

static void test_wrong_key_and_splice(void **state)
{
	(void)state;
	uint8_t p[2 * CHUNK + 1];
	struct phr_buf a, b;

	fill(p, sizeof(p), 7);
	encrypt(&a, p, sizeof(p));
	assert_int_equal(decrypt(key2, a.data, a.len), PHR_ERR_TAMPERED);
	/* the same plaintext under the same key twice: chunks of one record do
	 * not fit into the other (fresh secretstream header and nonce) */
	encrypt(&b, p, sizeof(p));
	assert_memory_not_equal(a.data, b.data, HDR);
	memcpy(b.data + HDR, a.data + HDR, FULL);
	assert_int_equal(decrypt(key, b.data, b.len), PHR_ERR_TAMPERED);
	/* a record header saying another chunk size */
	memcpy(b.data, a.data, a.len);
	b.data[10] ^= 0x01; /* 64 -> 320 */
	assert_int_equal(decrypt(key, b.data, b.len), PHR_ERR_TAMPERED);
	phr_buf_release(&a);
	phr_buf_release(&b);
}

static void test_stream_api(void **state)
{
	(void)state;
	uint8_t hdr[HDR], p[CHUNK], c[FULL], out[CHUNK];
	struct phr_crypto_stream *st, *rd;
	size_t n;
	bool fin;

	fill(p, CHUNK, 1);
	assert_int_equal(phr_crypto_stream_push_init(&st, hdr, key, CHUNK), PHR_OK);
	assert_int_equal(phr_crypto_stream_push(st, c, p, CHUNK - 1), PHR_ERR_INVALID);
	assert_int_equal(phr_crypto_stream_push_final(st, c, p, CHUNK + 1), PHR_ERR_INVALID);
	assert_int_equal(phr_crypto_stream_push_final(st, c, p, 5), PHR_OK);
	assert_int_equal(phr_crypto_stream_push_final(st, c, p, 5), PHR_ERR_INVALID);
	phr_crypto_stream_free(st);
	assert_int_equal(phr_crypto_stream_pull_init(&rd, NULL, hdr, key), PHR_OK);
	assert_int_equal(phr_crypto_stream_pull(rd, out, &n, &fin, c, 5 + PHR_CRYPTO_STREAM_ABYTES), PHR_OK);
	assert_true(fin);
	assert_int_equal(n, 5);
	assert_memory_equal(out, p, 5);
	/* nothing may follow FINAL */
	assert_int_equal(phr_crypto_stream_pull(rd, out, &n, &fin, c, 5 + PHR_CRYPTO_STREAM_ABYTES),
			 PHR_ERR_TAMPERED);
	phr_crypto_stream_free(rd);
	phr_crypto_stream_free(NULL);
	assert_int_equal(phr_crypto_stream_push_init(&st, hdr, key, PHR_CRYPTO_CHUNK_MAX + 1), PHR_ERR_INVALID);
	memcpy(hdr, "XXXX", 4);
	assert_int_equal(phr_crypto_stream_pull_init(&rd, NULL, hdr, key), PHR_ERR_PARSE);
	memcpy(hdr, "PHRE", 4);
	hdr[4] = 2;
	assert_int_equal(phr_crypto_stream_pull_init(&rd, NULL, hdr, key), PHR_ERR_UNSUPPORTED);
}

/* FILE* and fd helpers: the same format as the buffer functions, constant
 * memory, a larger record with the default chunk size. */
static void test_files(void **state)
{
	(void)state;
	size_t n = 3 * PHR_CRYPTO_CHUNK_DEFAULT + 123;
	uint8_t *p = malloc(n);
	FILE *in = tmpfile(), *enc = tmpfile(), *dec = tmpfile();
	struct phr_buf whole, out;
	long clen;

	assert_non_null(p);
	fill(p, n, 11);
	assert_int_equal(fwrite(p, 1, n, in), n);
	rewind(in);
	assert_int_equal(phr_crypto_encrypt_file(enc, in, key, 0), PHR_OK);
	clen = ftell(enc);
	assert_int_equal(clen, HDR + n + 4 * PHR_CRYPTO_STREAM_ABYTES);
	rewind(enc);
	assert_int_equal(phr_crypto_decrypt_file(dec, enc, key), PHR_OK);
	assert_int_equal(ftell(dec), n);
	/* the file's bytes decrypt with the buffer API too */
	phr_buf_init(&whole, 0);
	assert_int_equal(phr_buf_reserve(&whole, (size_t)clen), PHR_OK);
	rewind(enc);
	assert_int_equal(fread(whole.data, 1, (size_t)clen, enc), (size_t)clen);
	whole.len = (size_t)clen;
	phr_buf_init(&out, 0);
	assert_int_equal(phr_crypto_decrypt_buf(&out, key, whole.data, whole.len), PHR_OK);
	assert_int_equal(out.len, n);
	assert_memory_equal(out.data, p, n);
	phr_buf_release(&out);

	/* fds: encrypt in -> enc2, decrypt enc2 -> dec2 */
	FILE *enc2 = tmpfile(), *dec2 = tmpfile();
	rewind(in);
	assert_int_equal(phr_crypto_encrypt_fd(fileno(enc2), fileno(in), key, 1000), PHR_OK);
	assert_int_equal(lseek(fileno(enc2), 0, SEEK_SET), 0);
	assert_int_equal(phr_crypto_decrypt_fd(fileno(dec2), fileno(enc2), key), PHR_OK);
	assert_int_equal(lseek(fileno(dec2), 0, SEEK_CUR), (off_t)n);
	/* a truncated file is rejected */
	assert_int_equal(ftruncate(fileno(enc2), lseek(fileno(enc2), 0, SEEK_END) - 1), 0);
	assert_int_equal(lseek(fileno(enc2), 0, SEEK_SET), 0);
	assert_int_equal(phr_crypto_decrypt_fd(fileno(dec2), fileno(enc2), key), PHR_ERR_TAMPERED);

	/* decrypt_path: all or nothing */
	char dir[] = "/tmp/phr-crypto-XXXXXX", ipath[64], opath[64];
	assert_non_null(mkdtemp(dir));
	snprintf(ipath, sizeof(ipath), "%s/in", dir);
	snprintf(opath, sizeof(opath), "%s/out", dir);
	assert_int_equal(phr_file_write_atomic(ipath, whole.data, whole.len, 0600), PHR_OK);
	assert_int_equal(phr_crypto_decrypt_path(opath, ipath, key2), PHR_ERR_TAMPERED);
	assert_int_equal(access(opath, F_OK), -1);
	assert_int_equal(phr_crypto_decrypt_path(opath, ipath, key), PHR_OK);
	phr_buf_init(&out, 0);
	assert_int_equal(phr_file_read(&out, opath, 1 << 20), PHR_OK);
	assert_int_equal(out.len, n);
	assert_memory_equal(out.data, p, n);
	phr_buf_release(&out);
	unlink(ipath);
	unlink(opath);
	rmdir(dir);

	phr_buf_release(&whole);
	fclose(in);
	fclose(enc);
	fclose(dec);
	fclose(enc2);
	fclose(dec2);
	free(p);
}

static void test_key_wrap(void **state)
{
	(void)state;
	uint8_t pk[32], sk[32], pk2[32], sk2[32], cap[PHR_CRYPTO_CAPSULE_BYTES], got[32], seed[32];
	uint8_t *dk = phr_crypto_key_new();

	assert_non_null(dk);
	assert_int_equal(phr_crypto_box_keypair(pk, sk), PHR_OK);
	assert_int_equal(phr_crypto_box_keypair(pk2, sk2), PHR_OK);
	assert_int_equal(phr_crypto_key_wrap(cap, pk, dk), PHR_OK);
	assert_int_equal(phr_crypto_key_unwrap(got, cap, pk, sk), PHR_OK);
	assert_memory_equal(got, dk, 32);
	/* another recipient cannot open it */
	memset(got, 0xee, 32);
	assert_int_equal(phr_crypto_key_unwrap(got, cap, pk2, sk2), PHR_ERR_TAMPERED);
	for (int i = 0; i < 32; i++)
		assert_int_equal(got[i], 0xee); /* untouched */
	for (size_t i = 0; i < sizeof(cap); i++) {
		cap[i] ^= 0x80;
		assert_int_equal(phr_crypto_key_unwrap(got, cap, pk, sk), PHR_ERR_TAMPERED);
		cap[i] ^= 0x80;
	}
	/* seeded key pairs are deterministic */
	memset(seed, 3, 32);
	assert_int_equal(phr_crypto_box_seed_keypair(pk, sk, seed), PHR_OK);
	assert_int_equal(phr_crypto_box_seed_keypair(pk2, sk2, seed), PHR_OK);
	assert_memory_equal(pk, pk2, 32);
	phr_crypto_key_free(dk);
	phr_crypto_key_free(NULL);
}

/* curl's torture idea: fail the Nth allocation; every call either succeeds
 * or reports PHR_ERR_NOMEM, never crashes or leaks (ASan checks the latter). */
static void test_alloc_failures(void **state)
{
	(void)state;
	uint8_t p[3 * CHUNK + 5];
	struct phr_buf c, out;
	int rc;

	fill(p, sizeof(p), 13);
	for (long n = 1;; n++) {
		phr_buf_init(&c, 0);
		phr_alloc_fail_at(n);
		rc = phr_crypto_encrypt_buf(&c, key, p, sizeof(p), CHUNK);
		phr_alloc_fail_at(0);
		if (rc == PHR_OK)
			break;
		assert_int_equal(rc, PHR_ERR_NOMEM);
		phr_buf_release(&c);
		assert_true(n < 50);
	}
	for (long n = 1;; n++) {
		phr_buf_init(&out, 0);
		phr_alloc_fail_at(n);
		rc = phr_crypto_decrypt_buf(&out, key, c.data, c.len);
		phr_alloc_fail_at(0);
		if (rc == PHR_OK) {
			assert_memory_equal(out.data, p, sizeof(p));
			phr_buf_release(&out);
			break;
		}
		assert_int_equal(rc, PHR_ERR_NOMEM);
		assert_null(out.data);
		assert_true(n < 50);
	}
	for (long n = 1;; n++) {
		FILE *in = tmpfile(), *enc = tmpfile();
		assert_int_equal(fwrite(p, 1, sizeof(p), in), sizeof(p));
		rewind(in);
		phr_alloc_fail_at(n);
		rc = phr_crypto_encrypt_file(enc, in, key, CHUNK);
		phr_alloc_fail_at(0);
		fclose(in);
		fclose(enc);
		if (rc == PHR_OK)
			break;
		assert_int_equal(rc, PHR_ERR_NOMEM);
		assert_true(n < 50);
	}
	phr_buf_release(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip_sizes),  cmocka_unit_test(test_every_byte_flip),
		cmocka_unit_test(test_truncation),       cmocka_unit_test(test_reorder_duplicate_extend),
		cmocka_unit_test(test_wrong_key_and_splice), cmocka_unit_test(test_stream_api),
		cmocka_unit_test(test_files),            cmocka_unit_test(test_key_wrap),
		cmocka_unit_test(test_alloc_failures),
	};
	assert_int_equal(phr_crypto_init(), PHR_OK);
	randombytes_buf(key, sizeof(key));
	randombytes_buf(key2, sizeof(key2));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
