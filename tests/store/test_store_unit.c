/*
 * Unit tests of the store: multiformats, strict dag-pb/UnixFS decoding, the
 * blockstore (verification on read, pins, GC, verify), the exporter, CAR
 * round trips and the gateway request parser.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <phr/core.h>
#include <phr/store.h>

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store_test_util.h"

static const char *const V1_1MIB = "bafybeiedpcapwld4tkgtzwahfofgn4wex5ryysf4se6hwpmlrsh4ntnrau";
static const char *const V0_1MIB = "QmXgkY4miMKJBrg8YYke4xw6C2n8WNsUc1GXLhN84k4QM3";

static void test_base58(void **state)
{
	/* Bitcoin base58 known answers */
	static const struct {
		const char *hex, *b58;
	} kat[] = {
		{ "", "" },
		{ "61", "2g" },
		{ "626262", "a3gV" },
		{ "636363", "aPEr" },
		{ "73696d706c792061206c6f6e6720737472696e67", "2cFupjhnEsSn59qHXstmK2ffpLv2" },
		{ "00eb15231dfceb60925886b67d065299925915aeb172c06647", "1NS17iag9jJgTHD1VXjvLCEnZuQ3rJDE9L" },
		{ "0000287fb4cd", "11233QC4" },
	};
	for (size_t i = 0; i < PHR_ARRAY_LEN(kat); i++) {
		uint8_t bin[64], back[64];
		size_t n = 0, m;
		char txt[128];
		assert_int_equal(phr_hex_decode(bin, sizeof(bin), &n, kat[i].hex, strlen(kat[i].hex)),
				 PHR_OK);
		assert_int_equal(phr_base58_encode(txt, sizeof(txt), bin, n), PHR_OK);
		assert_string_equal(txt, kat[i].b58);
		assert_int_equal(phr_base58_decode(back, sizeof(back), &m, txt, strlen(txt)), PHR_OK);
		assert_int_equal(m, n);
		assert_memory_equal(back, bin, n);
	}
	uint8_t b[8];
	size_t n;
	assert_int_equal(phr_base58_decode(b, sizeof(b), &n, "0OIl", 4), PHR_ERR_PARSE);
	char small[3];
	assert_int_equal(phr_base58_encode(small, sizeof(small), (const uint8_t *)"abc", 3),
			 PHR_ERR_TOO_LARGE);
}

static void test_cid_parse_format(void **state)
{
	struct phr_cid c, c2;
	char s[PHR_CID_STR_MAX];
	uint8_t bin[PHR_CID_MAX_BYTES];
	size_t n, used;

	assert_int_equal(phr_cid_parse(&c, V1_1MIB), PHR_OK);
	assert_int_equal(c.version, 1);
	assert_int_equal(c.codec, PHR_CODEC_DAG_PB);
	assert_int_equal(c.mh_code, PHR_MH_SHA2_256);
	assert_int_equal(phr_cid_format(s, sizeof(s), &c), PHR_OK);
	assert_string_equal(s, V1_1MIB);
	assert_int_equal(phr_cid_encode(bin, sizeof(bin), &n, &c), PHR_OK);
	assert_int_equal(n, 36);
	assert_int_equal(phr_cid_decode(&c2, &used, bin, n), PHR_OK);
	assert_int_equal(used, 36);
	assert_true(phr_cid_equal(&c, &c2));
	/* truncated binary */
	assert_int_equal(phr_cid_decode(&c2, &used, bin, 20), PHR_ERR_TRUNCATED);

	assert_int_equal(phr_cid_parse(&c, V0_1MIB), PHR_OK);
	assert_int_equal(c.version, 0);
	assert_int_equal(phr_cid_format(s, sizeof(s), &c), PHR_OK);
	assert_string_equal(s, V0_1MIB);
	phr_cid_to_v1(&c2, &c);
	assert_true(phr_cid_same_block(&c, &c2));
	assert_false(phr_cid_equal(&c, &c2));

	/* the same CID in base32 upper, base58btc ('z') and hex ('f') */
	assert_int_equal(phr_cid_parse(&c, V1_1MIB), PHR_OK);
	char up[PHR_CID_STR_MAX];
	for (size_t i = 0; V1_1MIB[i]; i++)
		up[i] = (char)(V1_1MIB[i] >= 'a' && V1_1MIB[i] <= 'z' ? V1_1MIB[i] - 32 : V1_1MIB[i]);
	up[strlen(V1_1MIB)] = 0;
	assert_int_equal(phr_cid_parse(&c2, up), PHR_OK);
	assert_true(phr_cid_equal(&c, &c2));
	s[0] = 'z';
	assert_int_equal(phr_base58_encode(s + 1, sizeof(s) - 1, bin, 36), PHR_OK);
	assert_int_equal(phr_cid_parse(&c2, s), PHR_OK);
	assert_true(phr_cid_equal(&c, &c2));
	s[0] = 'f';
	assert_int_equal(phr_hex_encode(s + 1, sizeof(s) - 1, bin, 36, false), PHR_OK);
	assert_int_equal(phr_cid_parse(&c2, s), PHR_OK);
	assert_true(phr_cid_equal(&c, &c2));

	/* the identity probe CID */
	assert_int_equal(phr_cid_parse(&c, "bafkqaaa"), PHR_OK);
	assert_int_equal(c.mh_code, PHR_MH_IDENTITY);
	assert_int_equal(c.digest_len, 0);
	assert_int_equal(phr_cid_verify(&c, NULL, 0), PHR_OK);
	assert_int_equal(phr_cid_format(s, sizeof(s), &c), PHR_OK);
	assert_string_equal(s, "bafkqaaa");

	/* invalid ones */
	static const char *const bad[] = {
		"", "b", "Qm", "QmXgkY4miMKJBrg8YYke4xw6C2n8WNsUc1GXLhN84k4QM",  /* short v0 */
		"QmXgkY4miMKJBrg8YYke4xw6C2n8WNsUc1GXLhN84k4QM0",                /* '0' not base58 */
		"bafybeiedpcapwld4tkgtzwahfofgn4wex5ryysf4se6hwpmlrsh4ntnraU",   /* mixed case */
		"bafybeiedpcapwld4tkgtzwahfofgn4wex5ryysf4se6hwpmlrsh4ntnra",    /* truncated */
		"bafybeiedpcapwld4tkgtzwahfofgn4wex5ryysf4se6hwpmlrsh4ntnrauaa", /* trailing */
		"xafybeiedpcapwld4tkgtzwahfofgn4wex5ryysf4se6hwpmlrsh4ntnrau",   /* unknown base */
		"bagaaierasords4njcts6vs7qvdjfcvgnume4hqohf65zsfguprqphs3icwea", /* dag-json: unsupported */
		" bafkqaaa",
	};
	for (size_t i = 0; i < PHR_ARRAY_LEN(bad); i++)
		assert_int_not_equal(phr_cid_parse(&c, bad[i]), PHR_OK);
	assert_int_not_equal(phr_cid_parse(&c, NULL), PHR_OK);
}

static void test_dagpb_strict(void **state)
{
	struct phr_dagpb_node n;
	struct phr_cid cid;
	struct phr_buf b;
	uint8_t blk[64] = { 0 };

	assert_int_equal(phr_cid_of_block(&cid, 1, PHR_CODEC_RAW, blk, sizeof(blk)), PHR_OK);
	struct phr_dagpb_link l = { .cid = cid, .tsize = 64, .has_tsize = true };
	phr_buf_init(&b, 0);
	assert_int_equal(phr_dagpb_encode(&b, &l, 1, (const uint8_t *)"\x08\x02\x18\x40\x20\x40", 6),
			 PHR_OK);
	/* kubo's link: 12 <len> 0a 24 <cid> 12 00 18 40 */
	assert_int_equal(b.data[0], 0x12);
	assert_int_equal(b.data[2], 0x0a);
	assert_int_equal(b.data[3], 36);
	assert_memory_equal(b.data + 40, "\x12\x00\x18\x40", 4);
	assert_int_equal(phr_dagpb_decode(&n, b.data, b.len), PHR_OK);
	assert_int_equal(n.nlinks, 1);
	assert_true(phr_cid_equal(&n.links[0].cid, &cid));
	assert_non_null(n.links[0].name);
	assert_int_equal(n.links[0].name_len, 0);
	assert_int_equal(n.links[0].tsize, 64);
	assert_int_equal(n.data_len, 6);
	struct phr_unixfs u;
	uint64_t bs;
	assert_int_equal(phr_unixfs_decode(&u, n.data, n.data_len), PHR_OK);
	assert_int_equal(u.type, PHR_UNIXFS_FILE);
	assert_int_equal(u.filesize, 64);
	assert_int_equal(u.nblocksizes, 1);
	assert_int_equal(phr_unixfs_blocksize(&u, 0, &bs), PHR_OK);
	assert_int_equal(bs, 64);
	assert_int_equal(phr_unixfs_blocksize(&u, 1, &bs), PHR_ERR_RANGE);
	phr_dagpb_node_release(&n);

	/* Data before Links is out of order */
	struct phr_buf r;
	phr_buf_init(&r, 0);
	assert_int_equal(phr_buf_append(&r, "\x0a\x02\x08\x02", 4), PHR_OK);
	assert_int_equal(phr_buf_append(&r, b.data, b.len - 8), PHR_OK);
	assert_int_not_equal(phr_dagpb_decode(&n, r.data, r.len), PHR_OK);
	phr_buf_release(&r);

	static const struct {
		const char *hex;
		int ok;
	} cases[] = {
		{ "", 1 },                 /* empty node */
		{ "0a00", 1 },             /* empty Data */
		{ "0a000a00", 0 },         /* Data twice */
		{ "1a00", 0 },             /* unknown field 3 */
		{ "0800", 0 },             /* Data with the wrong wire type */
		{ "1200", 0 },             /* link without Hash */
		{ "12021200", 0 },         /* link with Name but no Hash */
		{ "0a05", 0 },             /* truncated */
		{ "0a8000", 0 },           /* non-minimal length varint */
		{ "12060a04deadbeef", 0 }, /* Hash that is not a CID */
	};
	for (size_t i = 0; i < PHR_ARRAY_LEN(cases); i++) {
		uint8_t in[64];
		size_t len = 0;
		assert_int_equal(phr_hex_decode(in, sizeof(in), &len, cases[i].hex,
						strlen(cases[i].hex)),
				 PHR_OK);
		int rc = phr_dagpb_decode(&n, in, len);
		if (cases[i].ok) {
			assert_int_equal(rc, PHR_OK);
			phr_dagpb_node_release(&n);
		} else {
			assert_int_not_equal(rc, PHR_OK);
		}
	}
	/* a link whose fields are out of order (Tsize before Name) */
	phr_buf_reset(&b);
	assert_int_equal(phr_dagpb_encode(&b, &l, 1, NULL, 0), PHR_OK);
	uint8_t swapped[64];
	memcpy(swapped, b.data, b.len);
	memcpy(swapped + 40, "\x18\x40\x12\x00", 4);
	assert_int_equal(phr_dagpb_decode(&n, swapped, b.len), PHR_ERR_PARSE);
	phr_buf_release(&b);

	/* UnixFS: missing Type, unknown field, packed blocksizes */
	assert_int_not_equal(phr_unixfs_decode(&u, (const uint8_t *)"\x18\x01", 2), PHR_OK);
	assert_int_not_equal(phr_unixfs_decode(&u, (const uint8_t *)"\x08\x02\x58\x01", 4), PHR_OK);
	assert_int_equal(phr_unixfs_decode(&u, (const uint8_t *)"\x08\x02\x22\x02\x05\x07", 6), PHR_OK);
	assert_int_equal(u.nblocksizes, 2);
	assert_int_equal(phr_unixfs_blocksize(&u, 1, &bs), PHR_OK);
	assert_int_equal(bs, 7);
}

/* Finds the file of the first block whose name is not @p skip; returns 0 on success. */
static int first_block_file(char *out, size_t cap, const char *storedir)
{
	char blocks[512];
	snprintf(blocks, sizeof(blocks), "%s/blocks", storedir);
	DIR *d = opendir(blocks);
	struct dirent *e;
	int rc = -1;
	while (d && rc && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char sub[768];
		snprintf(sub, sizeof(sub), "%s/%s", blocks, e->d_name);
		DIR *s = opendir(sub);
		struct dirent *f;
		while (s && rc && (f = readdir(s)))
			if (f->d_name[0] != '.') {
				snprintf(out, cap, "%s/%s", sub, f->d_name);
				rc = 0;
			}
		if (s)
			closedir(s);
	}
	if (d)
		closedir(d);
	return rc;
}

static int collect(void *ctx, const uint8_t *data, size_t len)
{
	return phr_buf_append(ctx, data, len);
}

static void test_blockstore(void **state)
{
	char *dir = st_tmpdir();
	struct phr_store *st;
	struct phr_cid root, other;
	struct phr_buf b;
	size_t n = 1048576;
	uint8_t *data = malloc(n);

	assert_non_null(data);
	st_pattern(data, n, 0);
	assert_int_equal(phr_store_open(&st, dir), PHR_OK);
	assert_int_equal(phr_store_add_bytes(st, &root, data, n, NULL), PHR_OK);
	char s[PHR_CID_STR_MAX];
	assert_int_equal(phr_cid_format(s, sizeof(s), &root), PHR_OK);
	assert_string_equal(s, V1_1MIB);
	assert_true(phr_store_pin_has(st, &root));

	phr_buf_init(&b, 0);
	assert_int_equal(phr_store_cat(st, &root, collect, &b), PHR_OK);
	assert_int_equal(b.len, n);
	assert_memory_equal(b.data, data, n);

	struct phr_store_stat stat;
	assert_int_equal(phr_store_stat(st, &stat), PHR_OK);
	assert_int_equal(stat.blocks, 5); /* 4 leaves + root */
	assert_int_equal(stat.pins, 1);

	/* an unpinned file is collected; the pinned one stays */
	struct phr_import_opts nopin = { .cid_version = 1, .pin = false };
	assert_int_equal(phr_store_add_bytes(st, &other, (const uint8_t *)"unpinned\n", 9, &nopin),
			 PHR_OK);
	assert_true(phr_store_has(st, &other));
	uint64_t removed = 0, freed = 0;
	assert_int_equal(phr_store_gc(st, &removed, &freed), PHR_OK);
	assert_int_equal(removed, 1);
	assert_int_equal(freed, 9);
	assert_false(phr_store_has(st, &other));
	assert_true(phr_store_has(st, &root));

	struct phr_store_verify_report rep;
	assert_int_equal(phr_store_verify(st, &rep, NULL, NULL), PHR_OK);
	assert_int_equal(rep.blocks_ok, 5);
	assert_int_equal(rep.pins_ok, 1);

	/* tamper with one block on disk: reads fail, verify reports it */
	char path[1024];
	assert_int_equal(first_block_file(path, sizeof(path), dir), 0);
	FILE *f = fopen(path, "r+b");
	assert_non_null(f);
	assert_int_equal(fseek(f, 100, SEEK_SET), 0);
	assert_int_equal(fputc('X', f) != EOF, 1);
	assert_int_equal(fclose(f), 0);
	phr_buf_reset(&b);
	assert_int_equal(phr_store_cat(st, &root, collect, &b), PHR_ERR_CORRUPT);
	assert_int_equal(phr_store_verify(st, &rep, NULL, NULL), PHR_ERR_CORRUPT);
	assert_int_equal(rep.blocks_corrupt, 1);
	assert_int_equal(rep.pins_broken, 1);
	/* GC refuses to run on a broken pinned DAG rather than guess */
	assert_int_equal(phr_store_gc(st, NULL, NULL), PHR_ERR_CORRUPT);

	/* pins: rm, add of a DAG with a missing block fails */
	assert_int_equal(phr_store_pin_rm(st, &root), PHR_OK);
	assert_int_equal(phr_store_pin_rm(st, &root), PHR_ERR_NOT_FOUND);
	assert_int_equal(phr_store_pin_add(st, &root), PHR_ERR_CORRUPT);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(phr_store_pin_add(st, &root), PHR_ERR_NOT_FOUND);
	/* re-adding the file repairs the store */
	assert_int_equal(phr_store_add_bytes(st, &root, data, n, NULL), PHR_OK);
	assert_int_equal(phr_store_verify(st, &rep, NULL, NULL), PHR_OK);

	phr_buf_release(&b);
	phr_store_close(st);
	st_rmtree(dir);
	phr_free(dir);
	free(data);
}

struct mem {
	const uint8_t *p;
	size_t n, off;
};

static long mem_read(void *ctx, uint8_t *buf, size_t n)
{
	struct mem *m = ctx;
	size_t k = m->n - m->off < n ? m->n - m->off : n;
	memcpy(buf, m->p + m->off, k);
	m->off += k;
	return (long)k;
}

static void test_car(void **state)
{
	char *dir = st_tmpdir();
	struct phr_store *st;
	struct phr_cid root, cid;
	struct phr_buf car;
	size_t n = 1048576;
	uint8_t *data = malloc(n);

	assert_non_null(data);
	st_pattern(data, n, 0);
	assert_int_equal(phr_store_open(&st, dir), PHR_OK);
	assert_int_equal(phr_store_add_bytes(st, &root, data, n, NULL), PHR_OK);
	phr_buf_init(&car, 0);
	assert_int_equal(phr_car_export(st, &root, PHR_DAG_SCOPE_ALL, collect, &car), PHR_OK);
	/* 59-byte header (as ipfs-car writes), then the root first, then 4 leaves */
	assert_int_equal(car.data[0], 58);
	assert_int_equal(car.len, 59 + (2 + 36 + 208) + 4 * (3 + 36 + 262144));

	struct mem m = { car.data, car.len, 0 };
	struct phr_car_reader *r;
	const uint8_t *blk;
	size_t blen, count = 0;
	assert_int_equal(phr_car_reader_new(&r, mem_read, &m), PHR_OK);
	assert_int_equal(phr_car_reader_nroots(r), 1);
	assert_true(phr_cid_equal(phr_car_reader_root(r, 0), &root));
	assert_null(phr_car_reader_root(r, 1));
	int rc;
	while ((rc = phr_car_reader_next(r, &cid, &blk, &blen)) == PHR_OK) {
		if (count == 0)
			assert_true(phr_cid_equal(&cid, &root));
		count++;
	}
	assert_int_equal(rc, PHR_ERR_NOT_FOUND);
	assert_int_equal(count, 5);
	phr_car_reader_free(r);

	/* block scope: the root only */
	struct phr_buf one;
	phr_buf_init(&one, 0);
	assert_int_equal(phr_car_export(st, &root, PHR_DAG_SCOPE_BLOCK, collect, &one), PHR_OK);
	assert_int_equal(one.len, 59 + 2 + 36 + 208);
	phr_buf_release(&one);

	/* a flipped byte inside a block is caught */
	car.data[car.len - 10] ^= 1;
	m = (struct mem){ car.data, car.len, 0 };
	assert_int_equal(phr_car_reader_new(&r, mem_read, &m), PHR_OK);
	while ((rc = phr_car_reader_next(r, &cid, &blk, &blen)) == PHR_OK)
		;
	assert_int_equal(rc, PHR_ERR_CORRUPT);
	phr_car_reader_free(r);
	/* a truncated CAR */
	car.data[car.len - 10] ^= 1;
	m = (struct mem){ car.data, car.len - 5, 0 };
	assert_int_equal(phr_car_reader_new(&r, mem_read, &m), PHR_OK);
	while ((rc = phr_car_reader_next(r, &cid, &blk, &blen)) == PHR_OK)
		;
	assert_int_equal(rc, PHR_ERR_TRUNCATED);
	phr_car_reader_free(r);
	/* bad headers */
	m = (struct mem){ car.data, 30, 0 };
	assert_int_not_equal(phr_car_reader_new(&r, mem_read, &m), PHR_OK);
	uint8_t v2[64];
	memcpy(v2, car.data, 59);
	v2[58] = 2; /* version 2 */
	m = (struct mem){ v2, 59, 0 };
	assert_int_equal(phr_car_reader_new(&r, mem_read, &m), PHR_ERR_UNSUPPORTED);

	/* import into a second store, pinned and readable */
	char *dir2 = st_tmpdir(), carpath[512];
	struct phr_store *st2;
	snprintf(carpath, sizeof(carpath), "%s/x.car", dir2);
	FILE *f = fopen(carpath, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(car.data, 1, car.len, f), car.len);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(phr_store_open(&st2, dir2), PHR_OK);
	int fd = open(carpath, O_RDONLY);
	uint64_t nb = 0;
	assert_int_equal(phr_car_import_fd(st2, &cid, &nb, fd), PHR_OK);
	close(fd);
	assert_int_equal(nb, 5);
	assert_true(phr_cid_equal(&cid, &root));
	assert_true(phr_store_pin_has(st2, &root));
	struct phr_buf back;
	phr_buf_init(&back, 0);
	assert_int_equal(phr_store_cat(st2, &root, collect, &back), PHR_OK);
	assert_int_equal(back.len, n);
	assert_memory_equal(back.data, data, n);
	phr_buf_release(&back);
	phr_store_close(st2);
	st_rmtree(dir2);
	phr_free(dir2);

	phr_buf_release(&car);
	phr_store_close(st);
	st_rmtree(dir);
	phr_free(dir);
	free(data);
}

static void test_gateway_request(void **state)
{
	struct phr_gw_request r;
	const char *p = "/ipfs/bafybeiedpcapwld4tkgtzwahfofgn4wex5ryysf4se6hwpmlrsh4ntnrau";

	assert_int_equal(phr_gw_request_parse(&r, "GET", p, "raw", NULL, NULL), 0);
	assert_int_equal(r.format, PHR_GW_FORMAT_RAW);
	assert_false(r.head);
	assert_int_equal(phr_gw_request_parse(&r, "HEAD", p, NULL, NULL,
					      "application/vnd.ipld.car; version=1; order=dfs"),
			 0);
	assert_int_equal(r.format, PHR_GW_FORMAT_CAR);
	assert_true(r.head);
	assert_int_equal(r.scope, PHR_DAG_SCOPE_ALL);
	assert_int_equal(phr_gw_request_parse(&r, "GET", p, "car", "block", NULL), 0);
	assert_int_equal(r.scope, PHR_DAG_SCOPE_BLOCK);
	assert_int_equal(phr_gw_request_parse(&r, "GET", p, NULL, "entity",
					      "text/html, application/vnd.ipld.raw;q=0.9"),
			 0);
	assert_int_equal(r.format, PHR_GW_FORMAT_RAW);
	assert_int_equal(r.scope, PHR_DAG_SCOPE_ENTITY);
	assert_int_equal(phr_gw_request_parse(&r, "GET", p, NULL, NULL, "*/*"), 0);
	assert_int_equal(r.format, PHR_GW_FORMAT_FILE);
	assert_int_equal(phr_gw_request_parse(&r, "GET", p, NULL, NULL, NULL), 0);
	assert_int_equal(r.format, PHR_GW_FORMAT_FILE);
	assert_int_equal(phr_gw_request_parse(&r, "GET", "/ipfs/bafkqaaa", "raw", NULL, NULL), 0);
	assert_int_equal(r.cid.mh_code, PHR_MH_IDENTITY);

	assert_int_equal(phr_gw_request_parse(&r, "GET", p, NULL, NULL, "text/html"), 406);
	assert_int_equal(phr_gw_request_parse(&r, "GET", p, NULL, NULL,
					      "application/vnd.ipld.raw;q=0"), 406);
	assert_int_equal(phr_gw_request_parse(&r, "GET", p, NULL, NULL,
					      "application/vnd.ipld.car;version=2"), 406);
	assert_int_equal(phr_gw_request_parse(&r, "GET", p, "json", NULL, NULL), 400);
	assert_int_equal(phr_gw_request_parse(&r, "GET", p, "car", "most", NULL), 400);
	assert_int_equal(phr_gw_request_parse(&r, "GET", "/ipfs/notacid", NULL, NULL, NULL), 400);
	assert_int_equal(phr_gw_request_parse(&r, "GET", "/ipfs/", NULL, NULL, NULL), 400);
	assert_int_equal(phr_gw_request_parse(&r, "POST", p, NULL, NULL, NULL), 405);
	assert_int_equal(phr_gw_request_parse(&r, "GET", "/ipns/x", NULL, NULL, NULL), 404);
	char sub[200];
	snprintf(sub, sizeof(sub), "%s/a/b", p);
	assert_int_equal(phr_gw_request_parse(&r, "GET", sub, NULL, NULL, NULL), 404);
}

static void test_importer_state(void **state)
{
	struct phr_importer *imp;
	struct phr_cid root;
	struct phr_import_opts o = { .cid_version = 2, .only_hash = true };
	assert_int_equal(phr_importer_new(&imp, NULL, &o), PHR_ERR_INVALID);
	o.cid_version = 1;
	o.only_hash = false;
	assert_int_equal(phr_importer_new(&imp, NULL, &o), PHR_ERR_INVALID);
	o.only_hash = true;
	assert_int_equal(phr_importer_new(&imp, NULL, &o), PHR_OK);
	assert_int_equal(phr_importer_write(imp, (const uint8_t *)"hello\n", 6), PHR_OK);
	assert_int_equal(phr_importer_finish(imp, &root, NULL), PHR_OK);
	assert_int_equal(phr_importer_finish(imp, &root, NULL), PHR_ERR_STATE);
	assert_int_equal(phr_importer_write(imp, (const uint8_t *)"x", 1), PHR_ERR_STATE);
	phr_importer_free(imp);
	phr_importer_free(NULL);
	char s[PHR_CID_STR_MAX];
	assert_int_equal(phr_cid_format(s, sizeof(s), &root), PHR_OK);
	assert_string_equal(s, "bafkreicysg23kiwv34eg2d7qweipxwosdo2py4ldv42nbauguluen5v6am");
}

/* Memory stays flat: importing 40 MiB makes no more allocations than 1 MiB, bar a
 * few growths of the node buffers (a per-chunk allocation would be 150 more). */
static void test_importer_constant_memory(void **state)
{
	uint8_t buf[65536];
	long counts[2];
	st_pattern(buf, sizeof(buf), 0);
	for (int k = 0; k < 2; k++) {
		struct phr_importer *imp;
		struct phr_cid root;
		struct phr_import_opts o = { .cid_version = 1, .only_hash = true };
		long before = phr_alloc_count();
		assert_int_equal(phr_importer_new(&imp, NULL, &o), PHR_OK);
		for (int i = 0; i < (k ? 640 : 16); i++)
			assert_int_equal(phr_importer_write(imp, buf, sizeof(buf)), PHR_OK);
		assert_int_equal(phr_importer_finish(imp, &root, NULL), PHR_OK);
		phr_importer_free(imp);
		counts[k] = phr_alloc_count() - before;
	}
	print_message("allocations: %ld vs %ld\n", counts[0], counts[1]);
	assert_true(counts[1] <= counts[0] + 16);
}

/* Torture (curl's idea): every allocation of the parsers fails in turn; each
 * failure is a clean error, never a crash or a leak (ASan checks the leaks). */
static void test_alloc_failures(void **state)
{
	uint8_t blk[64] = { 0 };
	struct phr_cid cid;
	struct phr_buf node;
	assert_int_equal(phr_cid_of_block(&cid, 1, PHR_CODEC_RAW, blk, sizeof(blk)), PHR_OK);
	struct phr_dagpb_link links[20];
	for (size_t i = 0; i < 20; i++)
		links[i] = (struct phr_dagpb_link){ .cid = cid, .tsize = 64, .has_tsize = true };
	phr_buf_init(&node, 0);
	assert_int_equal(phr_dagpb_encode(&node, links, 20, (const uint8_t *)"\x08\x02", 2), PHR_OK);
	for (long n = 1; n < 20; n++) {
		struct phr_dagpb_node d;
		phr_alloc_fail_at(n);
		int rc = phr_dagpb_decode(&d, node.data, node.len);
		phr_alloc_fail_at(0);
		if (rc == PHR_OK) {
			assert_int_equal(d.nlinks, 20);
			phr_dagpb_node_release(&d);
			break;
		}
		assert_int_equal(rc, PHR_ERR_NOMEM);
	}
	phr_buf_release(&node);

	/* a CAR reader with a few blocks */
	char *dir = st_tmpdir();
	struct phr_store *st;
	struct phr_cid root;
	struct phr_buf car;
	uint8_t *data = malloc(600000);
	st_pattern(data, 600000, 3);
	assert_int_equal(phr_store_open(&st, dir), PHR_OK);
	assert_int_equal(phr_store_add_bytes(st, &root, data, 600000, NULL), PHR_OK);
	phr_buf_init(&car, 0);
	assert_int_equal(phr_car_export(st, &root, PHR_DAG_SCOPE_ALL, collect, &car), PHR_OK);
	bool completed = false;
	for (long n = 1; n < 40 && !completed; n++) {
		struct mem m = { car.data, car.len, 0 };
		struct phr_car_reader *r = NULL;
		struct phr_cid c;
		const uint8_t *b;
		size_t bl;
		int rc;
		phr_alloc_fail_at(n);
		rc = phr_car_reader_new(&r, mem_read, &m);
		while (rc == PHR_OK && (rc = phr_car_reader_next(r, &c, &b, &bl)) == PHR_OK)
			;
		phr_alloc_fail_at(0);
		phr_car_reader_free(r);
		if (rc == PHR_ERR_NOT_FOUND)
			completed = true;
		else
			assert_int_equal(rc, PHR_ERR_NOMEM);
	}
	assert_true(completed);
	/* the importer */
	completed = false;
	for (long n = 1; n < 40 && !completed; n++) {
		struct phr_cid r2;
		struct phr_import_opts o = { .cid_version = 1, .only_hash = true };
		phr_alloc_fail_at(n);
		int rc = phr_store_add_bytes(NULL, &r2, data, 600000, &o);
		phr_alloc_fail_at(0);
		if (rc == PHR_OK) {
			assert_true(phr_cid_equal(&r2, &root));
			completed = true;
		} else {
			assert_int_equal(rc, PHR_ERR_NOMEM);
		}
	}
	assert_true(completed);
	phr_buf_release(&car);
	phr_store_close(st);
	st_rmtree(dir);
	phr_free(dir);
	free(data);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_base58),
		cmocka_unit_test(test_cid_parse_format),
		cmocka_unit_test(test_dagpb_strict),
		cmocka_unit_test(test_blockstore),
		cmocka_unit_test(test_car),
		cmocka_unit_test(test_gateway_request),
		cmocka_unit_test(test_importer_state),
		cmocka_unit_test(test_importer_constant_memory),
		cmocka_unit_test(test_alloc_failures),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
