/*
 * `phr study` end to end on files: create, join, submit, aggregate, decrypt
 * (partials and combine), with the rejections: an out-of-range value, a
 * duplicate patient, a tampered submission, a wrong partial decryption and
 * fewer than t custodians.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

static char dir[] = "/tmp/phr-study-cli.XXXXXX";
static const char *bin;

__attribute__((format(printf, 1, 2))) static int run(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	int st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_study_flow(void **state)
{
	(void)state;
	bin = getenv("PHR_BIN");
	if (!bin)
		skip();
	assert_non_null(mkdtemp(dir));
	assert_int_equal(run("%s study create --id trial-7 --bits 8 --threshold 2 --custodians 3 --out-dir %s/d >/dev/null",
			     bin, dir), 0);
	assert_int_equal(run("test \"$(stat -c %%a %s/d/custodian-1.json)\" = 600", dir), 0);
	for (int i = 1; i <= 3; i++)
		assert_int_equal(run("%s study join --study %s/d/study.json --share %s/d/custodian-%d.json >/dev/null",
				     bin, dir, dir, i), 0);
	/* a share from another study does not join */
	assert_int_equal(run("%s study create --id other --bits 8 --threshold 2 --custodians 3 --out-dir %s/o >/dev/null",
			     bin, dir), 0);
	assert_int_equal(run("%s study join --study %s/d/study.json --share %s/o/custodian-1.json 2>/dev/null", bin,
			     dir, dir), 1);
	static const unsigned vals[4] = { 0, 255, 100, 37 };
	for (int i = 0; i < 4; i++)
		assert_int_equal(run("%s study submit --study %s/d/study.json --patient p%d --value %u --out %s/s%d.json",
				     bin, dir, i, vals[i], dir, i), 0);
	/* out of range */
	assert_int_equal(run("%s study submit --study %s/d/study.json --patient px --value 256 --out %s/x.json 2>/dev/null",
			     bin, dir, dir), 1);
	/* tampered: p3's submission relabelled as another patient; and a duplicate */
	assert_int_equal(run("sed 's/\"p3\"/\"p9\"/' %s/s3.json > %s/forged.json && cp %s/s1.json %s/dup.json", dir, dir,
			     dir, dir), 0);
	assert_int_equal(run("%s study aggregate --study %s/d/study.json --out %s/agg.json %s/s0.json %s/s1.json "
			     "%s/s2.json %s/s3.json %s/forged.json %s/dup.json 2>%s/agg.err",
			     bin, dir, dir, dir, dir, dir, dir, dir, dir, dir), 1);
	assert_int_equal(run("grep -q 'rejected .*forged.json' %s/agg.err && grep -q 'rejected .*dup.json' %s/agg.err && "
			     "grep -q '^4 submissions aggregated, 2 rejected' %s/agg.err",
			     dir, dir, dir), 0);
	/* consent: p2 is not on the list (the node's on-chain check stands behind this) */
	assert_int_equal(run("printf 'p0\\np1\\np3\\n' > %s/consent && %s study aggregate --study %s/d/study.json "
			     "--out %s/agg2.json --consent %s/consent %s/s0.json %s/s1.json %s/s2.json %s/s3.json "
			     "2>%s/agg2.err",
			     dir, bin, dir, dir, dir, dir, dir, dir, dir, dir), 1);
	assert_int_equal(run("grep -q 'rejected .*s2.json: the patient has not consented' %s/agg2.err && "
			     "grep -q '^3 submissions aggregated, 1 rejected' %s/agg2.err",
			     dir, dir), 0);
	for (int i = 1; i <= 3; i++)
		assert_int_equal(run("%s study decrypt --study %s/d/study.json --aggregate %s/agg.json --share "
				     "%s/d/custodian-%d.json --out %s/p%d.json",
				     bin, dir, dir, dir, i, dir, i), 0);
	/* 0 + 255 + 100 + 37 = 392; squares 65025 + 10000 + 1369 = 76394 */
	assert_int_equal(run("%s study decrypt --study %s/d/study.json --aggregate %s/agg.json --combine %s/p3.json "
			     "%s/p1.json > %s/res.json && grep -q '\"count\":4,\"sum\":392,\"sumOfSquares\":76394,\"mean\":98,' "
			     "%s/res.json",
			     bin, dir, dir, dir, dir, dir, dir), 0);
	/* fewer than t */
	assert_int_equal(run("%s study decrypt --study %s/d/study.json --aggregate %s/agg.json --combine %s/p2.json "
			     "2>/dev/null",
			     bin, dir, dir, dir), 1);
	/* a wrong partial: custodian 2's decryption claimed as custodian 1's */
	assert_int_equal(run("sed 's/\"index\": *2/\"index\": 1/' %s/p2.json > %s/bad.json", dir, dir), 0);
	assert_int_equal(run("! cmp -s %s/p2.json %s/bad.json", dir, dir), 0);
	assert_int_equal(run("%s study decrypt --study %s/d/study.json --aggregate %s/agg.json --combine %s/bad.json "
			     "%s/p3.json 2>%s/bad.err",
			     bin, dir, dir, dir, dir, dir), 1);
	assert_int_equal(run("grep -q 'failed verification' %s/bad.err", dir), 0);
	assert_int_equal(run("%s study decrypt --study %s/d/study.json --aggregate %s/agg.json --combine %s/bad.json "
			     "%s/p3.json %s/p2.json 2>/dev/null | grep -q '\"sum\":392'",
			     bin, dir, dir, dir, dir, dir), 0);
	/* usage */
	assert_int_equal(run("%s study create --id x 2>/dev/null", bin), 2);
	assert_int_equal(run("%s study decrypt --help >/dev/null", bin), 0);
	assert_int_equal(run("rm -rf %s", dir), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_study_flow),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
