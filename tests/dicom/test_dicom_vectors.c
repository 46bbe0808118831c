/*
 * DICOM against dcmtk: phr's DICOM JSON equals dcm2json's on files made by
 * dcmtk's dump2dcm in every transfer syntax (explicit LE, implicit LE, big
 * endian, deflated; defined and undefined sequence lengths) and on the sample
 * files of Debian's python3-pydicom (tests/vectors/dicom/pydicom, EXPECT says
 * how each is treated). Both references are produced at run time by the real
 * tools. For encapsulated pixel data, which dcm2json refuses to print, the
 * reference is dcm2json on a copy whose Pixel Data dcmodify erased.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <phr/core.h>
#include <phr/dicom.h>

#include "dicom/dicom_test_util.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define BIG_LIMIT ((size_t)256 * 1024 * 1024)

static char tmpdir[512];

static int setup(void **state)
{
	(void)state;
	return dt_mkdtemp(tmpdir, sizeof(tmpdir));
}

static int teardown(void **state)
{
	(void)state;
	dt_rmtree(tmpdir);
	return 0;
}

static bool have_dcmtk(void)
{
	return dt_have_program("dcm2json") && dt_have_program("dump2dcm") && dt_have_program("dcmodify");
}

/* Runs a shell command; quiet unless it fails. */
static int run(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	int rc = system(cmd);
	if (rc != 0)
		print_message("command failed (%d): %s\n", rc, cmd);
	return rc;
}

/* Parses @path from a descriptor with large inline limits. */
static enum phr_err parse_path(struct phr_dicom_file **f, struct phr_dicom_error *err, const char *path)
{
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return PHR_ERR_IO;
	struct phr_dicom_limits lim = { .max_value_bytes = BIG_LIMIT, .max_total_bytes = BIG_LIMIT };
	enum phr_err e = phr_dicom_file_read_fd(f, err, fd, &lim);
	close(fd);
	return e;
}

/*
 * Compares phr with dcm2json on @src (copied into the temporary directory).
 * @return true when they agree; prints the first difference otherwise.
 */
static bool compare_file(const char *src, const char *name, const char *want_ts)
{
	char copy[1024], ref[1024];
	snprintf(copy, sizeof(copy), "%s/in.dcm", tmpdir);
	snprintf(ref, sizeof(ref), "%s/ref.json", tmpdir);
	size_t len;
	uint8_t *bytes = dt_read_file(src, &len);
	assert_non_null(bytes);
	assert_int_equal(dt_write_file(copy, bytes, len), 0);

	struct phr_dicom_file *f = NULL;
	struct phr_dicom_error err;
	enum phr_err e = parse_path(&f, &err, copy);
	if (e) {
		print_message("%s: phr fails: %s at %llu: %s\n", name, phr_err_name(e),
			      (unsigned long long)err.offset, err.msg);
		free(bytes);
		return false;
	}
	if (want_ts)
		assert_string_equal(phr_dicom_file_transfer_syntax(f), want_ts);
	json_t *mine = NULL;
	assert_int_equal(phr_dicom_file_to_json(&mine, f, 0), PHR_OK);
	phr_dicom_file_free(f);

	/* the same bytes parsed from memory give the same JSON */
	struct phr_dicom_limits lim = { .max_value_bytes = BIG_LIMIT, .max_total_bytes = BIG_LIMIT };
	assert_int_equal(phr_dicom_file_parse(&f, NULL, bytes, len, &lim), PHR_OK);
	json_t *mem = NULL;
	assert_int_equal(phr_dicom_file_to_json(&mem, f, 0), PHR_OK);
	phr_dicom_file_free(f);
	assert_true(json_equal(mine, mem));
	json_decref(mem);
	free(bytes);

	json_t *pix = json_object_get(mine, "7FE00010");
	if (pix && json_object_get(pix, "BulkDataURI")) {
		/* encapsulated: dcm2json cannot print it; compare the rest. dcmodify's
		 * rewrite also drops Data Set Trailing Padding. */
		const char *vr = json_string_value(json_object_get(pix, "vr"));
		assert_true(vr && (!strcmp(vr, "OB") || !strcmp(vr, "OW")));
		assert_int_equal(run("dcmodify -q -nb -ea '(7fe0,0010)' '%s'", copy), 0);
		json_object_del(mine, "7FE00010");
		json_object_del(mine, "FFFCFFFC");
	}
	bool ok = false;
	if (run("dcm2json -q -fc '%s' '%s'", copy, ref) == 0) {
		json_error_t jerr;
		json_t *theirs = json_load_file(ref, 0, &jerr);
		assert_non_null(theirs);
		char why[400];
		ok = dt_json_equal(mine, theirs, why, sizeof(why));
		if (!ok)
			print_message("%s: differs from dcm2json at %s\n", name, why);
		json_decref(theirs);
	}
	json_decref(mine);
	return ok;
}

static void test_dcmtk_transfer_syntaxes(void **state)
{
	(void)state;
	if (!have_dcmtk()) {
		print_message("dcmtk (dump2dcm, dcm2json, dcmodify) not on PATH: run scripts/setup\n");
		skip();
	}
	static const struct {
		const char *opt, *ts;
	} syntaxes[] = {
		{ "+te", PHR_DICOM_TS_EXPLICIT_LE },
		{ "+ti", PHR_DICOM_TS_IMPLICIT_LE },
		{ "+tb", PHR_DICOM_TS_EXPLICIT_BE },
		{ "+td", PHR_DICOM_TS_DEFLATED_LE },
	};
	char dump[1024], out[1024], name[64];
	dt_source_path(dump, sizeof(dump), "tests/vectors/dicom/synthetic.dump");
	int agree = 0, total = 0;
	for (size_t i = 0; i < sizeof(syntaxes) / sizeof(syntaxes[0]); i++) {
		for (int undef = 0; undef < 2; undef++) {
			snprintf(out, sizeof(out), "%s/made.dcm", tmpdir);
			assert_int_equal(run("dump2dcm -q %s %s '%s' '%s'", syntaxes[i].opt, undef ? "-e" : "+e",
					     dump, out), 0);
			snprintf(name, sizeof(name), "dump2dcm %s %s", syntaxes[i].opt, undef ? "-e" : "+e");
			total++;
			if (compare_file(out, name, syntaxes[i].ts))
				agree++;
		}
	}
	print_message("dump2dcm files: %d of %d agree with dcm2json\n", agree, total);
	assert_int_equal(agree, total);
	assert_int_equal(total, 8);
}

static void test_pydicom_samples(void **state)
{
	(void)state;
	if (!have_dcmtk()) {
		print_message("dcmtk (dump2dcm, dcm2json, dcmodify) not on PATH: run scripts/setup\n");
		skip();
	}
	char listpath[1024], path[1024];
	dt_source_path(listpath, sizeof(listpath), "tests/vectors/dicom/pydicom/EXPECT");
	FILE *list = fopen(listpath, "r");
	assert_non_null(list);
	char line[512];
	int match = 0, agree = 0, rejected = 0, reject_want = 0, parsed = 0, parse_want = 0;
	while (fgets(line, sizeof(line), list)) {
		if (line[0] == '#' || line[0] == '\n')
			continue;
		char file[256], kind[32], err_name[32] = "";
		if (sscanf(line, "%255s %31s %31s", file, kind, err_name) < 2)
			fail_msg("bad EXPECT line: %s", line);
		dt_source_path(path, sizeof(path), "tests/vectors/dicom/pydicom/");
		size_t n = strlen(path);
		snprintf(path + n, sizeof(path) - n, "%s", file);
		if (!strcmp(kind, "match")) {
			match++;
			if (compare_file(path, file, NULL))
				agree++;
		} else if (!strcmp(kind, "reject")) {
			reject_want++;
			struct phr_dicom_file *f = NULL;
			struct phr_dicom_error err;
			enum phr_err e = parse_path(&f, &err, path);
			if (e != PHR_OK && !strcmp(phr_err_name(e), err_name) && err.msg[0])
				rejected++;
			else
				print_message("%s: expected rejection %s, got %s\n", file, err_name, phr_err_name(e));
			phr_dicom_file_free(f);
		} else {
			parse_want++;
			struct phr_dicom_file *f = NULL;
			if (parse_path(&f, NULL, path) == PHR_OK)
				parsed++;
			phr_dicom_file_free(f);
		}
	}
	fclose(list);
	print_message("pydicom samples: %d of %d agree with dcm2json; %d of %d rejected as expected; "
		      "%d of %d parsed without a reference\n",
		      agree, match, rejected, reject_want, parsed, parse_want);
	assert_true(match >= 50);
	assert_int_equal(agree, match);
	assert_int_equal(rejected, reject_want);
	assert_int_equal(parsed, parse_want);
}

/* The CLI prints what the library builds. */
static void test_cli(void **state)
{
	(void)state;
	const char *bin = getenv("PHR_BIN");
	if (!bin || access(bin, X_OK) != 0)
		skip();
	char src[1024], out[1024];
	dt_source_path(src, sizeof(src), "tests/vectors/dicom/pydicom/CT_small.dcm");
	snprintf(out, sizeof(out), "%s/cli.json", tmpdir);
	assert_int_equal(run("'%s' dicom dump --inline-max 1000000 '%s' > '%s'", bin, src, out), 0);
	json_error_t jerr;
	json_t *cli = json_load_file(out, 0, &jerr);
	assert_non_null(cli);
	struct phr_dicom_file *f = NULL;
	assert_int_equal(parse_path(&f, NULL, src), PHR_OK);
	json_t *lib = NULL;
	assert_int_equal(phr_dicom_file_to_json(&lib, f, 0), PHR_OK);
	char why[400];
	assert_true(dt_json_equal(cli, lib, why, sizeof(why)));
	json_decref(cli);
	json_decref(lib);

	/* info --fhir: an ImagingStudy with the file's UIDs */
	assert_int_equal(run("'%s' dicom info --fhir --patient Patient/p1 '%s' > '%s'", bin, src, out), 0);
	json_t *is = json_load_file(out, 0, &jerr);
	assert_non_null(is);
	assert_string_equal(json_string_value(json_object_get(is, "resourceType")), "ImagingStudy");
	assert_string_equal(json_string_value(json_object_get(json_object_get(is, "subject"), "reference")),
			    "Patient/p1");
	char uid[80];
	assert_int_equal(phr_dicom_file_string(uid, sizeof(uid), f, PHR_DICOM_TAG(0x0008, 0x0018)), PHR_OK);
	json_t *inst = json_array_get(json_object_get(json_array_get(json_object_get(is, "series"), 0), "instance"), 0);
	assert_string_equal(json_string_value(json_object_get(inst, "uid")), uid);
	json_decref(is);
	phr_dicom_file_free(f);

	/* errors: usage 2, a malformed file 1 with the offset in the message */
	char cmd[4096];
	snprintf(cmd, sizeof(cmd), "'%s' dicom dump 2>/dev/null", bin);
	int rc = system(cmd);
	assert_int_equal(WEXITSTATUS(rc), 2);
	dt_source_path(src, sizeof(src), "tests/vectors/dicom/pydicom/MR_truncated.dcm");
	snprintf(cmd, sizeof(cmd), "'%s' dicom info '%s' 2>'%s'", bin, src, out);
	rc = system(cmd);
	assert_int_equal(WEXITSTATUS(rc), 1);
	size_t len;
	char *msg = (char *)dt_read_file(out, &len);
	assert_non_null(msg);
	assert_non_null(memmem(msg, len, "truncated at byte", 17));
	free(msg);
	assert_int_equal(WEXITSTATUS(run("'%s' dicom dump --help > /dev/null", bin)), 0);
	assert_int_equal(WEXITSTATUS(run("'%s' dicom info --help > /dev/null", bin)), 0);
	assert_int_equal(WEXITSTATUS(run("'%s' dicom --help > /dev/null", bin)), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dcmtk_transfer_syntaxes),
		cmocka_unit_test(test_pydicom_samples),
		cmocka_unit_test(test_cli),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
