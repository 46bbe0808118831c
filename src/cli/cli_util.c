/* Helpers shared by the phr subcommands: data directory, passwords, dispatch. */
#include "cli.h"

#include <phr/core.h>

#include <errno.h>
#include <sodium.h>
#include <stdarg.h>
#include <termios.h>
#include <unistd.h>

#define PASSWORD_MAX 1024

void phr_cli_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("phr: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

char *phr_cli_datadir(const char *flag)
{
	if (flag && *flag)
		return phr_strdup(flag);
	const char *env = getenv("PHR_DATADIR");
	if (env && *env)
		return phr_strdup(env);
	const char *home = getenv("HOME");
	if (!home || !*home) {
		phr_cli_error("no data directory: set --datadir, PHR_DATADIR or HOME");
		return NULL;
	}
	size_t n = strlen(home) + sizeof "/.phr";
	char *d = phr_malloc(n);
	if (d)
		snprintf(d, n, "%s/.phr", home);
	return d;
}

bool phr_cli_wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			return false;
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
			return true;
	}
	return false;
}

static void strip_newline(char *s)
{
	size_t n = strlen(s);
	while (n && (s[n - 1] == '\n' || s[n - 1] == '\r'))
		s[--n] = 0;
}

/* Reads one line from the terminal with echo off into secret memory. */
static int prompt_line(char *out, size_t cap, const char *prompt)
{
	FILE *tty = fopen("/dev/tty", "r+");
	if (!tty)
		return -1;
	struct termios old, quiet;
	int fd = fileno(tty);
	bool restore = tcgetattr(fd, &old) == 0;
	if (restore) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(fd, TCSAFLUSH, &quiet);
	}
	fputs(prompt, tty);
	fflush(tty);
	char *got = fgets(out, (int)cap, tty);
	if (restore)
		tcsetattr(fd, TCSAFLUSH, &old);
	fputc('\n', tty);
	fclose(tty);
	if (!got)
		return -1;
	strip_newline(out);
	return 0;
}

char *phr_cli_password(const char *password_file, const char *prompt, bool confirm)
{
	char *pw = sodium_malloc(PASSWORD_MAX);
	if (!pw) {
		phr_cli_error("out of memory");
		return NULL;
	}
	pw[0] = 0;
	if (password_file) {
		FILE *f = fopen(password_file, "r");
		if (!f) {
			phr_cli_error("cannot read password file %s: %s", password_file, strerror(errno));
			goto fail;
		}
		if (!fgets(pw, PASSWORD_MAX, f))
			pw[0] = 0;
		fclose(f);
		strip_newline(pw);
		return pw;
	}
	const char *env = getenv("PHR_PASSWORD");
	if (env) {
		if (strlen(env) >= PASSWORD_MAX) {
			phr_cli_error("PHR_PASSWORD is too long");
			goto fail;
		}
		memcpy(pw, env, strlen(env) + 1);
		return pw;
	}
	if (!isatty(STDIN_FILENO) && access("/dev/tty", R_OK) != 0) {
		phr_cli_error("no password: use --password-file FILE or PHR_PASSWORD");
		goto fail;
	}
	if (prompt_line(pw, PASSWORD_MAX, prompt ? prompt : "Password: ") != 0) {
		phr_cli_error("no password: use --password-file FILE or PHR_PASSWORD");
		goto fail;
	}
	if (confirm) {
		char *again = sodium_malloc(PASSWORD_MAX);
		if (!again)
			goto fail;
		int ok = prompt_line(again, PASSWORD_MAX, "Repeat password: ") == 0 &&
			 sodium_memcmp(pw, again, PASSWORD_MAX) == 0;
		sodium_free(again);
		if (!ok) {
			phr_cli_error("passwords do not match");
			goto fail;
		}
	}
	return pw;
fail:
	sodium_free(pw);
	return NULL;
}

int phr_cli_dispatch(const char *prog, const char *usage, const struct phr_cli_cmd *subs, int argc,
		     char **argv)
{
	if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		FILE *f = argc < 2 ? stderr : stdout;
		fputs(usage, f);
		fputs("\nsubcommands:\n", f);
		for (const struct phr_cli_cmd *c = subs; c->name; c++)
			fprintf(f, "  %-10s %s\n", c->name, c->summary);
		return argc < 2 ? PHR_EXIT_USAGE : PHR_EXIT_OK;
	}
	for (const struct phr_cli_cmd *c = subs; c->name; c++)
		if (strcmp(c->name, argv[1]) == 0)
			return c->run(argc - 1, argv + 1);
	phr_cli_error("'%s %s' is not a command; see '%s --help'", prog, argv[1], prog);
	return PHR_EXIT_USAGE;
}
