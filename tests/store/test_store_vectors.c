/*
 * Every CID of tests/vectors/ipfs/ipfs-cids.json reproduced: in-process by the
 * importer, and by `phr add` (v1 and --cid-version 0), then read back by
 * `phr cat` byte for byte.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <phr/core.h>
#include <phr/json.h>
#include <phr/store.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store_test_util.h"

static json_t *load_vectors(void)
{
	json_t *doc = NULL;
	char err[256];
	assert_int_equal(phr_json_load_file(&doc, err, sizeof(err),
					    "tests/vectors/ipfs/ipfs-cids.json", 1 << 20),
			 PHR_OK);
	return doc;
}

/* Writes the content described by @p desc to @p path; returns its size. */
static uint64_t make_content(const char *path, const char *desc, uint64_t size)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	if (!strcmp(desc, "empty")) {
		assert_int_equal(size, 0);
	} else if (!strncmp(desc, "text:", 5)) {
		assert_int_equal(strlen(desc + 5), size);
		assert_int_equal(fwrite(desc + 5, 1, size, f), size);
	} else {
		uint8_t buf[65536];
		assert_int_equal(strncmp(desc, "pattern ", 8), 0);
		assert_int_equal(strtoull(desc + 8, NULL, 10), size);
		for (uint64_t off = 0; off < size; off += sizeof(buf)) {
			size_t n = size - off < sizeof(buf) ? (size_t)(size - off) : sizeof(buf);
			st_pattern(buf, n, off);
			assert_int_equal(fwrite(buf, 1, n, f), n);
		}
	}
	assert_int_equal(fclose(f), 0);
	return size;
}

static void test_vectors_in_process(void **state)
{
	json_t *doc = load_vectors(), *files = json_object_get(doc, "files"), *v;
	char *dir = st_tmpdir(), path[512];
	size_t i;
	snprintf(path, sizeof(path), "%s/content", dir);
	json_array_foreach(files, i, v)
	{
		const char *desc, *want1, *want0;
		uint64_t size;
		assert_int_equal(phr_json_get_str(&desc, v, "content"), PHR_OK);
		assert_int_equal(phr_json_get_u64(&size, v, "size"), PHR_OK);
		assert_int_equal(phr_json_get_str(&want1, v, "cidv1"), PHR_OK);
		assert_int_equal(phr_json_get_str(&want0, v, "cidv0"), PHR_OK);
		make_content(path, desc, size);
		for (unsigned ver = 0; ver < 2; ver++) {
			struct phr_import_opts o = { .cid_version = ver, .only_hash = true };
			struct phr_cid root, parsed;
			char s[PHR_CID_STR_MAX];
			uint64_t got_size;
			int fd = open(path, O_RDONLY);
			assert_true(fd >= 0);
			assert_int_equal(phr_store_add_fd(NULL, &root, &got_size, fd, &o, NULL, NULL),
					 PHR_OK);
			close(fd);
			assert_int_equal(got_size, size);
			assert_int_equal(phr_cid_format(s, sizeof(s), &root), PHR_OK);
			assert_string_equal(s, ver ? want1 : want0);
			assert_int_equal(phr_cid_parse(&parsed, ver ? want1 : want0), PHR_OK);
			assert_true(phr_cid_equal(&parsed, &root));
		}
	}
	unlink(path);
	st_rmtree(dir);
	phr_free(dir);
	json_decref(doc);
}

static void test_vectors_cli(void **state)
{
	json_t *doc = load_vectors(), *files = json_object_get(doc, "files"), *v;
	char *dir = st_tmpdir(), path[512], data[512], out[256], back[512];
	size_t i;
	snprintf(path, sizeof(path), "%s/content", dir);
	snprintf(data, sizeof(data), "%s/data", dir);
	snprintf(back, sizeof(back), "%s/back", dir);
	json_array_foreach(files, i, v)
	{
		const char *desc, *want1, *want0;
		uint64_t size;
		assert_int_equal(phr_json_get_str(&desc, v, "content"), PHR_OK);
		assert_int_equal(phr_json_get_u64(&size, v, "size"), PHR_OK);
		assert_int_equal(phr_json_get_str(&want1, v, "cidv1"), PHR_OK);
		assert_int_equal(phr_json_get_str(&want0, v, "cidv0"), PHR_OK);
		make_content(path, desc, size);

		const char *add1[] = { st_phr(), "add", "--datadir", data, path, NULL };
		assert_int_equal(st_run(out, sizeof(out), add1), 0);
		char want[256];
		snprintf(want, sizeof(want), "%s\n", want1);
		assert_string_equal(out, want); /* the CID alone on stdout */

		const char *add0[] = { st_phr(), "add", "--datadir", data, "--cid-version", "0",
				 path, NULL };
		assert_int_equal(st_run(out, sizeof(out), add0), 0);
		snprintf(want, sizeof(want), "%s\n", want0);
		assert_string_equal(out, want);

		bool big = size > (8u << 20); /* keep the test fast: fewer passes over 50 MiB */
		if (!big) {
		const char *only[] = { st_phr(), "add", "--only-hash", path, NULL };
		assert_int_equal(st_run(out, sizeof(out), only), 0);
		snprintf(want, sizeof(want), "%s\n", want1);
		assert_string_equal(out, want);
		}

		/* phr cat gives the same bytes back, from both roots */
		for (int k = 0; k < (big ? 1 : 2); k++) {
			const char *cat[] = { st_phr(), "cat", "--datadir", data, "-o", back,
					(k ? want0 : want1), NULL };
			const char *cmp[] = { "/usr/bin/cmp", "-s", path, back, NULL };
			assert_int_equal(st_run(NULL, 0, cat), 0);
			assert_int_equal(st_run(NULL, 0, cmp), 0);
		}
	}
	const char *verify[] = { st_phr(), "store", "verify", "--datadir", data, NULL };
	assert_int_equal(st_run(out, sizeof(out), verify), 0);
	unlink(path);
	unlink(back);
	st_rmtree(dir);
	phr_free(dir);
	json_decref(doc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors_in_process),
		cmocka_unit_test(test_vectors_cli),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
