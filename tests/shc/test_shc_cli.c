/* `phr shc` and `phr fhir check-code` through the real binary ($PHR_BIN):
 * --help on every subcommand, usage errors, keygen -> issue -> verify -> qr,
 * revocation and the spec's example card. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

static const char *bin;
static char tmp[64];

/* Runs `phr <args>` (stdin from /dev/null); stdout into out; returns the exit status. */
static int run(char *out, size_t cap, const char *args)
{
	char cmd[2048];
	snprintf(cmd, sizeof(cmd), "'%s' %s 2>/dev/null </dev/null", bin, args);
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	size_t n = fread(out, 1, cap - 1, p);
	out[n] = '\0';
	int st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_help(void **state)
{
	(void)state;
	static char out[1 << 16];
	static const char *const subs[] = { "keygen", "jwks", "issue", "verify", "qr" };
	assert_int_equal(run(out, sizeof(out), "shc --help"), 0);
	for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
		char a[64];
		snprintf(a, sizeof(a), "shc %s --help", subs[i]);
		assert_int_equal(run(out, sizeof(out), a), 0);
		assert_non_null(strstr(out, "usage: phr shc"));
		snprintf(a, sizeof(a), "shc %s --no-such-flag", subs[i]);
		assert_int_equal(run(out, sizeof(out), a), 2);
	}
	assert_int_equal(run(out, sizeof(out), "shc"), 2);
	assert_int_equal(run(out, sizeof(out), "shc nosuch"), 2);
	assert_int_equal(run(out, sizeof(out), "fhir check-code --help"), 0);
	assert_int_equal(run(out, sizeof(out), "fhir check-resource"), 2);
	assert_int_equal(run(out, sizeof(out), "fhir check-code http://loinc.org"), 2);
}

static void test_check_code(void **state)
{
	(void)state;
	char out[512];
	assert_int_equal(run(out, sizeof(out), "fhir check-code http://loinc.org 8480-6"), 0);
	assert_string_equal(out, "ok\n");
	assert_int_equal(run(out, sizeof(out), "fhir check-code http://loinc.org 8480-5"), 1);
	assert_non_null(strstr(out, "check digit"));
	assert_int_equal(run(out, sizeof(out), "fhir check-code http://hl7.org/fhir/sid/cvx 03"), 0);
	assert_string_equal(out, "ok: MMR\n");
	assert_int_equal(run(out, sizeof(out), "fhir check-code http://snomed.info/sct 22298006"), 0);
	assert_int_equal(run(out, sizeof(out), "fhir check-code http://snomed.info/sct 22298007"), 1);
	assert_int_equal(run(out, sizeof(out), "fhir check-code http://hl7.org/fhir/sid/icd-10-cm S52.131A"), 0);
	assert_int_equal(run(out, sizeof(out), "fhir check-code http://example.org/x anything"), 0);
	/* a whole resource: the SMART Health Cards example bundle codes its
	 * vaccines as CVX 207, which the 2019 R4 value set does not hold */
	char a[512];
	snprintf(a, sizeof(a), "fhir check-resource %s/bundle.json", tmp);
	FILE *f;
	char path[128];
	snprintf(path, sizeof(path), "%s/bundle.json", tmp);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("{\"resourceType\":\"Immunization\",\"vaccineCode\":{\"coding\":[{\"system\":"
	      "\"http://hl7.org/fhir/sid/cvx\",\"code\":\"207\"}]},\"reasonCode\":[{\"coding\":[{\"system\":"
	      "\"http://snomed.info/sct\",\"code\":\"840539006\"}]}]}",
	      f);
	fclose(f);
	assert_int_equal(run(out, sizeof(out), a), 1);
	assert_string_equal(out, "Immunization.vaccineCode.coding[0].code: http://hl7.org/fhir/sid/cvx|207: "
				 "code is not in the CVX value set\n");
	assert_int_equal(run(out, sizeof(out), "fhir check-resource --help"), 0);
}

static void write_file(const char *name, const char *text)
{
	char path[128];
	snprintf(path, sizeof(path), "%s/%s", tmp, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_issue_verify(void **state)
{
	(void)state;
	static char out[1 << 16];
	char a[1024];
	write_file("p.json", "{\"resourceType\":\"Patient\",\"id\":\"p\",\"birthDate\":\"1990-05-06\"}");
	write_file("i.json", "{\"resourceType\":\"Immunization\",\"id\":\"i\",\"status\":\"completed\","
			     "\"vaccineCode\":{\"coding\":[{\"system\":\"http://hl7.org/fhir/sid/cvx\",\"code\":\"08\"}]},"
			     "\"patient\":{\"reference\":\"Patient/p\"},\"occurrenceDateTime\":\"2020-02-02\"}");
	snprintf(a, sizeof(a), "shc keygen --out %s/k.jwk", tmp);
	assert_int_equal(run(out, sizeof(out), a), 0);
	assert_int_equal(strlen(out), 44); /* kid + newline */
	char kid[64];
	memcpy(kid, out, 43);
	kid[43] = '\0';
	snprintf(a, sizeof(a), "shc jwks %s/k.jwk > %s/jwks.json", tmp, tmp);
	assert_int_equal(run(out, sizeof(out), a), 0);
	snprintf(a, sizeof(a),
		 "shc issue --key %s/k.jwk --iss https://x.example --patient %s/p.json --immunization %s/i.json "
		 "--nbf 1700000000 --exp 1800000000 --rid r1 --out %s/card.smart-health-card",
		 tmp, tmp, tmp, tmp);
	assert_int_equal(run(out, sizeof(out), a), 0);
	snprintf(a, sizeof(a), "shc verify --jwks %s/jwks.json --now 1700000001 %s/card.smart-health-card", tmp, tmp);
	assert_int_equal(run(out, sizeof(out), a), 0);
	assert_non_null(strstr(out, "card 0: verified, issuer https://x.example"));
	assert_non_null(strstr(out, "resource:0"));
	/* expired, not yet valid, wrong issuer */
	snprintf(a, sizeof(a), "shc verify --jwks %s/jwks.json --now 1800000000 --quiet %s/card.smart-health-card", tmp, tmp);
	assert_int_equal(run(out, sizeof(out), a), 1);
	assert_non_null(strstr(out, "expired"));
	snprintf(a, sizeof(a), "shc verify --jwks %s/jwks.json --now 1600000000 --quiet %s/card.smart-health-card", tmp, tmp);
	assert_int_equal(run(out, sizeof(out), a), 1);
	snprintf(a, sizeof(a), "shc verify --jwks %s/jwks.json --now 1700000001 --iss https://y.example --quiet %s/card.smart-health-card", tmp, tmp);
	assert_int_equal(run(out, sizeof(out), a), 1);
	/* revoked */
	char crl[256];
	snprintf(crl, sizeof(crl), "{\"kid\":\"%s\",\"method\":\"rid\",\"ctr\":1,\"rids\":[\"r1\"]}", kid);
	write_file("crl.json", crl);
	snprintf(a, sizeof(a), "shc verify --jwks %s/jwks.json --crl %s/crl.json --now 1700000001 --quiet %s/card.smart-health-card", tmp, tmp, tmp);
	assert_int_equal(run(out, sizeof(out), a), 1);
	assert_non_null(strstr(out, "revoked"));
	/* QR text and images; the QR text verifies too */
	snprintf(a, sizeof(a), "shc qr --out %s/q %s/card.smart-health-card > %s/qr.txt", tmp, tmp, tmp);
	assert_int_equal(run(out, sizeof(out), a), 0);
	snprintf(a, sizeof(a), "shc qr --format svg --out %s/q %s/card.smart-health-card", tmp, tmp);
	assert_int_equal(run(out, sizeof(out), a), 0);
	assert_memory_equal(out, "shc:/", 5);
	snprintf(a, sizeof(a), "shc verify --jwks %s/jwks.json --now 1700000001 --quiet %s/qr.txt", tmp, tmp);
	assert_int_equal(run(out, sizeof(out), a), 0);
	char path[128];
	snprintf(path, sizeof(path), "%s/q-0-0.png", tmp);
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	unsigned char sig[8];
	assert_int_equal(fread(sig, 1, 8, f), 8);
	fclose(f);
	assert_memory_equal(sig, "\x89PNG\r\n\x1a\n", 8);
	snprintf(path, sizeof(path), "%s/q-0-0.svg", tmp);
	assert_int_equal(access(path, R_OK), 0);
	/* the key is private: mode 0600 */
	snprintf(a, sizeof(a), "stat -c %%a %s/k.jwk", tmp);
	FILE *p = popen(a, "r");
	assert_non_null(p);
	assert_non_null(fgets(out, 16, p));
	pclose(p);
	assert_string_equal(out, "600\n");
}

static void test_spec_example(void **state)
{
	(void)state;
	static char out[1 << 16];
	assert_int_equal(run(out, sizeof(out),
			     "shc verify --jwks tests/vectors/shc/issuer-jwks.json --quiet "
			     "tests/vectors/shc/example-00-e-file.smart-health-card"),
			 0);
	assert_int_equal(run(out, sizeof(out),
			     "shc verify --jwks tests/vectors/shc/issuer-jwks.json --quiet "
			     "tests/vectors/shc/example-00-f-qr-code-numeric-value-0.txt"),
			 0);
}

static int setup(void **state)
{
	(void)state;
	bin = getenv("PHR_BIN");
	if (!bin)
		return -1;
	snprintf(tmp, sizeof(tmp), "/tmp/phr-shc-cli-XXXXXX");
	return mkdtemp(tmp) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_help),
		cmocka_unit_test(test_check_code),
		cmocka_unit_test(test_issue_verify),
		cmocka_unit_test(test_spec_example),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
