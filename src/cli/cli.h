/*
 * Internal interface of the phr command-line tool: the subcommand table and
 * shared helpers for options, data directories and passwords.
 */
#ifndef PHR_CLI_H
#define PHR_CLI_H

#include <stdbool.h>
#include <stddef.h>

/** One top-level subcommand: `phr NAME ...`. */
struct phr_cli_cmd {
	const char *name;
	const char *summary;
	/* argv[0] is the subcommand name; returns the process exit status */
	int (*run)(int argc, char **argv);
};

/** The table of subcommands, NULL-name terminated (commands.c). */
extern const struct phr_cli_cmd phr_cli_commands[];

/* Exit statuses: 0 ok, 1 the operation failed, 2 usage error. */
#define PHR_EXIT_OK 0
#define PHR_EXIT_FAIL 1
#define PHR_EXIT_USAGE 2

/**
 * Resolves the data directory: @p flag (from --datadir) if non-NULL, else
 * $PHR_DATADIR, else $HOME/.phr. Returns a heap string (phr_free) or NULL.
 */
char *phr_cli_datadir(const char *flag);

/**
 * Reads a password without ever taking it from argv: from @p password_file if
 * non-NULL (first line, trailing newline stripped), else $PHR_PASSWORD, else a
 * prompt on the terminal with echo off (asked twice when @p confirm).
 * Returns sodium_malloc'd NUL-terminated memory (free with sodium_free) or
 * NULL with a message printed on stderr.
 */
char *phr_cli_password(const char *password_file, const char *prompt, bool confirm);

/** Prints "phr: <fmt>\n" on stderr. */
void phr_cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/**
 * Returns true when argv holds -h or --help before any "--"; commands call it
 * first and print their usage.
 */
bool phr_cli_wants_help(int argc, char **argv);

/**
 * Dispatches `argv[1]` among @p subs (a NULL-name terminated table), printing
 * @p usage for --help, no subcommand or an unknown one. @p prog is the command
 * path for messages, e.g. "phr account".
 */
int phr_cli_dispatch(const char *prog, const char *usage, const struct phr_cli_cmd *subs, int argc,
		     char **argv);

#endif
