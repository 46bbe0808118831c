/* `phr account` end to end through the real binary ($PHR_BIN): new, list,
 * export, import, passwords from a file or the environment (never argv),
 * file names and modes, --help on every subcommand, and the error paths. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "phr/core.h"
#include "phr/crypto.h"

static char tmp[64];
static const char *bin;

/* Runs `phr <args>` with PHR_DATADIR=<tmp>/<dd> and, if given, PHR_PASSWORD=<pw>,
 * without a controlling terminal (setsid: never a password prompt); stdout into out. */
static int run(char *out, size_t cap, const char *dd, const char *pw, const char *args)
{
	char cmd[1024];
	FILE *p;
	size_t n;
	int st;

	snprintf(cmd, sizeof(cmd), "setsid env -u PHR_PASSWORD PHR_DATADIR='%s/%s' %s%s%s '%s' %s 2>/dev/null </dev/null",
		 tmp, dd, pw ? "PHR_PASSWORD='" : "", pw ? pw : "", pw ? "'" : "", bin, args);
	p = popen(cmd, "r");
	assert_non_null(p);
	n = fread(out, 1, cap - 1, p);
	out[n] = '\0';
	while (n > 0 && out[n - 1] == '\n')
		out[--n] = '\0';
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_help_everywhere(void **state)
{
	(void)state;
	static const char *subs[] = { "new", "list", "import", "export" };
	char out[4096], args[64];

	assert_int_equal(run(out, sizeof(out), "h", NULL, "account --help"), 0);
	assert_non_null(strstr(out, "import"));
	for (size_t i = 0; i < PHR_ARRAY_LEN(subs); i++) {
		snprintf(args, sizeof(args), "account %s --help", subs[i]);
		assert_int_equal(run(out, sizeof(out), "h", NULL, args), 0);
		assert_non_null(strstr(out, "usage: phr account"));
	}
	assert_int_equal(run(out, sizeof(out), "h", NULL, "account bogus"), 2);
}

static void test_new_list_export_import(void **state)
{
	(void)state;
	char addr[256], out[8192], path[256], args[1024];
	uint8_t a[20], key[32];
	struct phr_buf js;
	struct stat sb;
	DIR *d;
	struct dirent *e;
	int files = 0;

	/* no password available at all: refused, nothing written */
	assert_int_equal(run(out, sizeof(out), "a", NULL, "account new --light"), 1);
	/* a password on the command line is refused */
	assert_int_equal(run(out, sizeof(out), "a", NULL, "account new --light --password pw"), 2);

	assert_int_equal(run(addr, sizeof(addr), "a", "pw1", "account new --light"), 0);
	assert_int_equal(strlen(addr), 42);
	assert_int_equal(phr_eth_address_parse(a, addr), PHR_OK); /* a valid EIP-55 form */
	assert_int_equal(run(out, sizeof(out), "a", NULL, "account list"), 0);
	assert_string_equal(out, addr);

	snprintf(path, sizeof(path), "%s/a/keystore", tmp);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0700);
	d = opendir(path);
	assert_non_null(d);
	while ((e = readdir(d))) {
		char f[512], hex[41];
		if (e->d_name[0] == '.')
			continue;
		files++;
		assert_int_equal(strncmp(e->d_name, "UTC--", 5), 0);
		assert_int_equal(phr_hex_encode(hex, sizeof(hex), a, 20, false), PHR_OK);
		assert_non_null(strstr(e->d_name, hex));
		snprintf(f, sizeof(f), "%s/%s", path, e->d_name);
		assert_int_equal(stat(f, &sb), 0);
		assert_int_equal(sb.st_mode & 0777, 0600);
	}
	closedir(d);
	assert_int_equal(files, 1);

	/* export: the JSON decrypts with the password to the same address */
	snprintf(args, sizeof(args), "account export %s", addr);
	assert_int_equal(run(out, sizeof(out), "a", NULL, args), 0);
	assert_int_equal(phr_keystore_decrypt_json(key, out, strlen(out), "pw1", 3), PHR_OK);
	uint8_t a2[20];
	assert_int_equal(phr_eth_address_from_seckey(a2, key), PHR_OK);
	assert_memory_equal(a, a2, 20);
	/* a wrongly checksummed address is refused, an unknown one not found */
	char bad[300];
	snprintf(bad, sizeof(bad), "account export %s", addr);
	for (char *c = bad + strlen("account export 0x"); *c; c++)
		if ((*c >= 'a' && *c <= 'f') || (*c >= 'A' && *c <= 'F')) {
			*c ^= 0x20; /* flip the case of one letter */
			break;
		}
	assert_int_equal(run(out, sizeof(out), "a", NULL, bad), 1);
	assert_int_equal(run(out, sizeof(out), "a", NULL,
			     "account export 0x0000000000000000000000000000000000000001"), 1);

	/* import into another datadir with a password file */
	char ks[256], pwf[256];
	snprintf(ks, sizeof(ks), "%s/export.json", tmp);
	snprintf(pwf, sizeof(pwf), "%s/pw.txt", tmp);
	snprintf(args, sizeof(args), "account export %s", addr);
	assert_int_equal(run(out, sizeof(out), "a", NULL, args), 0);
	assert_int_equal(phr_file_write_atomic(ks, out, strlen(out), 0600), PHR_OK);
	assert_int_equal(phr_file_write_atomic(pwf, "wrong\n", 6, 0600), PHR_OK);
	snprintf(args, sizeof(args), "account import --password-file %s %s", pwf, ks);
	assert_int_equal(run(out, sizeof(out), "b", NULL, args), 1);
	assert_int_equal(phr_file_write_atomic(pwf, "pw1\n", 4, 0600), PHR_OK);
	assert_int_equal(run(out, sizeof(out), "b", NULL, args), 0);
	assert_string_equal(out, addr);
	assert_int_equal(run(out, sizeof(out), "b", NULL, args), 1); /* already there */
	assert_int_equal(run(out, sizeof(out), "b", NULL, "account list"), 0);
	assert_string_equal(out, addr);

	/* a file that is not a keystore */
	assert_int_equal(phr_file_write_atomic(ks, "{\"version\":3}", 13, 0600), PHR_OK);
	snprintf(args, sizeof(args), "account import %s", ks);
	assert_int_equal(run(out, sizeof(out), "c", "pw1", args), 1);

	/* a keystore without "address" gets one when stored, so list shows it */
	phr_buf_init(&js, 0);
	char *enc = NULL;
	assert_int_equal(phr_secp256k1_keygen(key), PHR_OK);
	static const struct phr_keystore_params light = PHR_KEYSTORE_PARAMS_LIGHT;
	assert_int_equal(phr_keystore_encrypt(&enc, key, "pw2", 3, &light), PHR_OK);
	char *p = strstr(enc, "\"address\":\"");
	assert_non_null(p);
	memmove(p, p + 53, strlen(p + 53) + 1); /* drop "address":"<40 hex>", */
	assert_int_equal(phr_file_write_atomic(ks, enc, strlen(enc), 0600), PHR_OK);
	assert_int_equal(run(out, sizeof(out), "d", "pw2", args), 0);
	char want[43];
	assert_int_equal(phr_eth_address_from_seckey(a, key), PHR_OK);
	phr_eth_address_checksum(want, a);
	assert_string_equal(out, want);
	assert_int_equal(run(out, sizeof(out), "d", NULL, "account list"), 0);
	assert_string_equal(out, want);
	phr_free(enc);
	phr_buf_release(&js);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_help_everywhere),
		cmocka_unit_test(test_new_list_export_import),
	};
	char cmd[128];
	int rc;

	bin = getenv("PHR_BIN");
	assert_non_null(bin);
	assert_int_equal(phr_crypto_init(), PHR_OK);
	snprintf(tmp, sizeof(tmp), "/tmp/phr-account-XXXXXX");
	assert_non_null(mkdtemp(tmp));
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	if (system(cmd) != 0)
		rc = 1;
	return rc;
}
