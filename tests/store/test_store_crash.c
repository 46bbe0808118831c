/*
 * Crash safety: `phr add` killed with SIGKILL in the middle of an import leaves
 * a store that `phr store verify` accepts, and the import can be run again.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <phr/core.h>
#include <phr/store.h>

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "store_test_util.h"

#define FILE_SIZE (40u << 20)

static unsigned count_blocks(const char *datadir)
{
	char blocks[600];
	unsigned n = 0;
	snprintf(blocks, sizeof(blocks), "%s/store/blocks", datadir);
	DIR *d = opendir(blocks);
	struct dirent *e;
	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char sub[900];
		snprintf(sub, sizeof(sub), "%s/%s", blocks, e->d_name);
		DIR *s = opendir(sub);
		struct dirent *f;
		while (s && (f = readdir(s)))
			n += f->d_name[0] != '.';
		if (s)
			closedir(s);
	}
	if (d)
		closedir(d);
	return n;
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

static void verify_ok(const char *datadir)
{
	char out[1024];
	const char *verify[] = { st_phr(), "store", "verify", "--datadir", datadir, NULL };
	int rc = st_run(out, sizeof(out), verify);
	if (rc != 0)
		print_error("verify said:\n%s\n", out);
	assert_int_equal(rc, 0);
	assert_non_null(strstr(out, "blocks corrupt: 0"));
}

static void test_kill_mid_import(void **state)
{
	char *dir = st_tmpdir(), datadir[512], file[512], out[256], want[256];
	uint8_t *chunk = malloc(1 << 20);
	signal(SIGPIPE, SIG_IGN);
	snprintf(datadir, sizeof(datadir), "%s/d", dir);
	snprintf(file, sizeof(file), "%s/big", dir);

	/* the file, and its CID without storing anything */
	FILE *f = fopen(file, "wb");
	assert_non_null(f);
	for (unsigned off = 0; off < FILE_SIZE; off += 1 << 20) {
		st_pattern(chunk, 1 << 20, off);
		assert_int_equal(fwrite(chunk, 1, 1 << 20, f), 1 << 20);
	}
	assert_int_equal(fclose(f), 0);
	const char *only[] = { st_phr(), "add", "--only-hash", file, NULL };
	assert_int_equal(st_run(want, sizeof(want), only), 0);

	/* 1: feed half the file through a pipe, then SIGKILL: certainly mid-import */
	int pfd[2];
	assert_int_equal(pipe(pfd), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(pfd[0], 0);
		close(pfd[0]);
		close(pfd[1]);
		int nul = open("/dev/null", O_WRONLY);
		dup2(nul, 1);
		execl(st_phr(), st_phr(), "add", "--datadir", datadir, "-", (char *)NULL);
		_exit(127);
	}
	close(pfd[0]);
	for (unsigned off = 0; off < FILE_SIZE / 2; off += 1 << 20) {
		st_pattern(chunk, 1 << 20, off);
		assert_int_equal(write_all(pfd[1], chunk, 1 << 20), 0);
	}
	for (int i = 0; i < 500 && count_blocks(datadir) < 40; i++)
		sleep_ms(10);
	assert_true(count_blocks(datadir) >= 40);
	kill(pid, SIGKILL);
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	close(pfd[1]);
	verify_ok(datadir);

	/* 2: kill the file import at a few different moments */
	for (int round = 0; round < 3; round++) {
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			int nul = open("/dev/null", O_WRONLY);
			dup2(nul, 1);
			execl(st_phr(), st_phr(), "add", "--datadir", datadir, file, (char *)NULL);
			_exit(127);
		}
		sleep_ms(15 + 40 * round);
		kill(pid, SIGKILL);
		assert_int_equal(waitpid(pid, &status, 0), pid);
		verify_ok(datadir);
	}

	/* the import runs again to completion and gives the same CID; GC keeps it whole */
	const char *add[] = { st_phr(), "add", "--datadir", datadir, file, NULL };
	assert_int_equal(st_run(out, sizeof(out), add), 0);
	assert_string_equal(out, want);
	const char *gc[] = { st_phr(), "store", "gc", "--datadir", datadir, NULL };
	assert_int_equal(st_run(NULL, 0, gc), 0);
	verify_ok(datadir);
	char cid[128], back[600];
	snprintf(cid, sizeof(cid), "%.*s", (int)strcspn(out, "\n"), out);
	snprintf(back, sizeof(back), "%s/back", dir);
	const char *cat[] = { st_phr(), "cat", "--datadir", datadir, "-o", back, cid, NULL };
	assert_int_equal(st_run(NULL, 0, cat), 0);
	const char *cmp[] = { "/usr/bin/cmp", "-s", file, back, NULL };
	assert_int_equal(st_run(NULL, 0, cmp), 0);

	free(chunk);
	st_rmtree(dir);
	phr_free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kill_mid_import),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
