/* phr version: the version of phr and of the libraries it runs on. */
#include "cli.h"

#include <curl/curlver.h>
#include <jansson.h>
#include <microhttpd.h>
#include <sodium.h>
#include <sqlite3.h>

#ifndef PHR_VERSION
#define PHR_VERSION "0.1.0"
#endif

int phr_cmd_version(int argc, char **argv);

int phr_cmd_version(int argc, char **argv)
{
	if (phr_cli_wants_help(argc, argv)) {
		printf("usage: phr version\n\nPrints the version of phr and of its libraries.\n");
		return PHR_EXIT_OK;
	}
	if (argc > 1) {
		phr_cli_error("version takes no arguments");
		return PHR_EXIT_USAGE;
	}
	printf("phr %s\n", PHR_VERSION);
	printf("libsodium %s\n", sodium_version_string());
	printf("sqlite %s\n", sqlite3_libversion());
	printf("jansson %s\n", JANSSON_VERSION);
	printf("libmicrohttpd %s\n", MHD_get_version());
	printf("libcurl %s\n", LIBCURL_VERSION);
	return PHR_EXIT_OK;
}
