#include "store_test_util.h"

#include <phr/core.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

char *st_tmpdir(void)
{
	char tmpl[] = "/tmp/phr-store-test-XXXXXX";
	if (!mkdtemp(tmpl))
		abort();
	return phr_strdup(tmpl);
}

void st_rmtree(const char *dir)
{
	pid_t pid = fork();
	if (pid == 0) {
		execlp("rm", "rm", "-rf", dir, (char *)NULL);
		_exit(127);
	}
	if (pid > 0)
		waitpid(pid, NULL, 0);
}

void st_pattern(uint8_t *out, size_t n, uint64_t offset)
{
	unsigned v = (unsigned)(offset % 251);
	for (size_t i = 0; i < n; i++) {
		out[i] = (uint8_t)v;
		if (++v == 251)
			v = 0;
	}
}

const char *st_phr(void)
{
	const char *p = getenv("PHR_BIN");
	return p && *p ? p : "build/store/src/cli/phr";
}

int st_run(char *out, size_t cap, const char *const argv[])
{
	int pfd[2], status;
	size_t got = 0;
	pid_t pid;

	if (pipe(pfd) != 0)
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int nul = open("/dev/null", O_RDONLY);
		dup2(nul, 0);
		dup2(pfd[1], 1);
		close(pfd[0]);
		close(pfd[1]);
		execv(argv[0], (char *const *)(uintptr_t)argv);
		_exit(127);
	}
	close(pfd[1]);
	for (;;) {
		char tmp[4096];
		ssize_t r = read(pfd[0], tmp, sizeof(tmp));
		if (r <= 0)
			break;
		for (ssize_t i = 0; i < r; i++)
			if (out && got + 1 < cap)
				out[got++] = tmp[i];
	}
	close(pfd[0]);
	if (out && cap)
		out[got] = 0;
	if (waitpid(pid, &status, 0) < 0)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}
