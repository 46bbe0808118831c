/*
 * `phr zk verify` (native, no node needed) on the committed fixture proofs: a valid
 * provider proof passes the full policy once and its nullifier is then refused; a wrong
 * root, another role/scope/caller, a stale time and a tampered public signal are refused;
 * the age proof verifies; the trial-enrolment proof passes its policy once, and a reused
 * nullifier, a wrong root, a patient outside the tree, another trial or caller and a
 * tampered trial id are refused; usage errors exit 2.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "phr/core.h"

static char dir[] = "/tmp/phr-zk-cli.XXXXXX";
static const char *bin;
static const char *src;

__attribute__((format(printf, 1, 2))) static int run(const char *fmt, ...)
{
	char args[4096], cmd[8192];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	snprintf(cmd, sizeof(cmd), "cd '%s' && PHR_SOURCE_DIR='%s' '%s' zk %s >'%s/out' 2>'%s/err'", src, src, bin, args,
		 dir, dir);
	st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int out_has(const char *file, const char *needle)
{
	char path[512];
	struct phr_buf b;
	int found;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	phr_buf_init(&b, 1 << 16);
	if (phr_file_read(&b, path, 1 << 16) != PHR_OK || phr_buf_append_byte(&b, 0) != PHR_OK) {
		phr_buf_release(&b);
		return 0;
	}
	found = strstr((const char *)b.data, needle) != NULL;
	phr_buf_release(&b);
	return found;
}

#define P0 "circuits/fixtures/provider_leaf0.json"
/* The scenario of circuits/gen_fixtures.mjs. */
#define ROOT "2568248314195463107433435543191857301390627203951723258874892857168988805873"
#define CALLER "0xCc2B56dbbC99dFCe7a70514Cfb8b667c55f193a1"

static void test_verify_policy(void **state)
{
	char pol[1024], nf[600];
	(void)state;
	snprintf(nf, sizeof(nf), "%s/nullifiers.txt", dir);
	snprintf(pol, sizeof(pol), "--root 123 --root %s --role 4 --scope 42 --message %s --now 1700000100 --max-age 3600",
		 ROOT, CALLER);
	assert_int_equal(run("verify --proof %s %s --nullifiers %s", P0, pol, nf), 0);
	assert_true(out_has("out", "\"valid\": true"));
	assert_int_equal(run("verify --proof %s %s --nullifiers %s", P0, pol, nf), 1);
	assert_true(out_has("err", "nullifier already used"));
	/* the other credential of the scenario has its own nullifier */
	assert_int_equal(run("verify --proof circuits/fixtures/provider_leaf1.json %s --nullifiers %s", pol, nf), 0);

	assert_int_equal(run("verify --proof %s --root 124", P0), 1);
	assert_true(out_has("err", "unknown root"));
	assert_int_equal(run("verify --proof %s --role 2", P0), 1);
	assert_true(out_has("err", "differs"));
	assert_int_equal(run("verify --proof %s --scope 43", P0), 1);
	assert_int_equal(run("verify --proof %s --message 0x0000000000000000000000000000000000000001", P0), 1);
	assert_int_equal(run("verify --proof %s --now 1700009999 --max-age 3600", P0), 1);
	assert_true(out_has("err", "outside the accepted window"));
}

static void test_verify_tampered_and_age(void **state)
{
	char path[600], cmd[2048];
	(void)state;
	/* role "4" -> "5" in the public signals (the proof itself untouched) */
	snprintf(path, sizeof(path), "%s/tampered.json", dir);
	snprintf(cmd, sizeof(cmd),
		 "sed -e '/\"publicSignals\"/,/]/s/^  \"4\",$/  \"5\",/' '%s/%s' > '%s' && ! cmp -s '%s/%s' '%s'", src, P0,
		 path, src, P0, path);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(run("verify --proof %s", path), 1);
	assert_true(out_has("err", "invalid proof"));
	assert_int_equal(run("verify --proof circuits/fixtures/age.json"), 0);
	assert_true(out_has("out", "age_credential"));
	assert_int_equal(run("verify --proof circuits/fixtures/age.json --min-age 18 --date 20231113 --date 20231114 "
			     "--scope 43 --message %s", CALLER), 0);
	assert_int_equal(run("verify --proof circuits/fixtures/age.json --min-age 21"), 1);
	assert_true(out_has("err", "age"));
	assert_int_equal(run("verify --proof circuits/fixtures/age.json --date 20231115"), 1);
	assert_true(out_has("err", "date"));
	assert_int_equal(run("verify --proof circuits/fixtures/age.json --scope 42"), 1);
	assert_int_equal(run("verify --proof circuits/fixtures/age.json --role 4"), 2);
	assert_int_equal(run("verify --proof circuits/fixtures/age.json --min-age 0"), 2);
	assert_int_equal(run("verify --proof %s --min-age 18", P0), 2);
	assert_int_equal(run("verify --proof %s --vkey circuits/keys/age_credential_vkey.json", P0), 1);
}

/* The trial scenario of circuits/gen_fixtures.mjs (trial_scenario.json). */
#define TP "circuits/fixtures/trial.json"
#define TROOT "8154573577142715590429112822579762783358051907109005784036173384473358292566"
#define TCALLER "0xb6ae911D3bC66f9EF3f583b21222A35C7a8F7251"

static void test_verify_trial(void **state)
{
	char nf[600], path[600], cmd[2048];
	(void)state;
	snprintf(nf, sizeof(nf), "%s/trial-nullifiers.txt", dir);
	assert_int_equal(run("verify --proof %s --trial 1 --root 5 --root %s --message %s --nullifiers %s", TP, TROOT,
			     TCALLER, nf),
			 0);
	assert_true(out_has("out", "trial_enrolment"));
	assert_int_equal(run("verify --proof %s --trial 1 --root %s --nullifiers %s", TP, TROOT, nf), 1);
	assert_true(out_has("err", "nullifier already used"));
	assert_int_equal(run("verify --proof %s --root 5", TP), 1);
	assert_true(out_has("err", "unknown root"));
	/* a valid proof for a tree holding a patient who is not in the trial's tree */
	assert_int_equal(run("verify --proof circuits/fixtures/trial_outsider.json"), 0);
	assert_int_equal(run("verify --proof circuits/fixtures/trial_outsider.json --root %s", TROOT), 1);
	assert_true(out_has("err", "unknown root"));
	assert_int_equal(run("verify --proof %s --trial 2", TP), 1);
	assert_true(out_has("err", "differs"));
	assert_int_equal(run("verify --proof %s --message %s", TP, CALLER), 1);
	/* trial id "1" -> "2" in the public signals */
	snprintf(path, sizeof(path), "%s/trial-tampered.json", dir);
	snprintf(cmd, sizeof(cmd),
		 "sed -e '/\"publicSignals\"/,/]/s/^  \"1\",$/  \"2\",/' '%s/%s' > '%s' && ! cmp -s '%s/%s' '%s'", src,
		 TP, path, src, TP, path);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(run("verify --proof %s", path), 1);
	assert_true(out_has("err", "invalid proof"));
	/* options of the other kinds */
	assert_int_equal(run("verify --proof %s --role 4", TP), 2);
	assert_int_equal(run("verify --proof %s --scope 4", TP), 2);
	assert_int_equal(run("verify --proof %s --trial x", TP), 2);
	assert_int_equal(run("verify --proof %s --rpc http://127.0.0.1:9 --trials 0x0000000000000000000000000000000000000001", P0), 2);
	assert_int_equal(run("verify --proof %s --rpc http://127.0.0.1:9 --trials 0x0000000000000000000000000000000000000001", TP), 1);
}

static void test_usage(void **state)
{
	(void)state;
	assert_int_equal(run("--help"), 0);
	assert_true(out_has("out", "phr zk"));
	assert_int_equal(run("frobnicate"), 2);
	assert_int_equal(run("verify"), 2);
	assert_int_equal(run("verify --proof"), 2);
	assert_int_equal(run("verify --proof %s --root notanumber", P0), 2);
	assert_int_equal(run("verify --proof /nonexistent.json"), 1);
	assert_int_equal(run("verify --proof %s --rpc http://127.0.0.1:9", P0), 2);
	assert_int_equal(run("verify --proof %s --registry 0x0000000000000000000000000000000000000001", P0), 2);
	/* nothing listens on port 9: a transport error, not an acceptance */
	assert_int_equal(run("verify --proof %s --rpc http://127.0.0.1:9 --registry 0x0000000000000000000000000000000000000001", P0), 1);
}

static int setup(void **state)
{
	(void)state;
	bin = getenv("PHR_BIN");
	src = getenv("PHR_SOURCE_DIR");
	if (!bin || !src || !mkdtemp(dir))
		return -1;
	return 0;
}

static int teardown(void **state)
{
	char cmd[600];
	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_verify_policy),
		cmocka_unit_test(test_verify_tampered_and_age),
		cmocka_unit_test(test_verify_trial),
		cmocka_unit_test(test_usage),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
