/*
 * The table of `phr` subcommands. Each module's commands live in their own
 * cmd_*.c file; add one line here per top-level command.
 */
#include "cli.h"

int phr_cmd_version(int argc, char **argv);
int phr_cmd_account(int argc, char **argv);

const struct phr_cli_cmd phr_cli_commands[] = {
	{ "version", "print the version of phr and its libraries", phr_cmd_version },
	{ "account", "manage Ethereum accounts (keystore files)", phr_cmd_account },
	{ NULL, NULL, NULL },
};
