/* A scratch data directory for the store's on-disk fuzz targets, removed at exit. */
#ifndef PHR_FUZZ_STORE_DIR_H
#define PHR_FUZZ_STORE_DIR_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char store_fuzz_dir[64];

static int store_fuzz_rm_one(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)sb;
	(void)ftw;
	return type == FTW_DP ? rmdir(path) : unlink(path);
}

static void store_fuzz_cleanup(void)
{
	nftw(store_fuzz_dir, store_fuzz_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* The directory (made on the first call, named after @p tag) with @p file appended in
 * @p out. */
static void store_fuzz_path(char *out, size_t cap, const char *tag, const char *file)
{
	if (!store_fuzz_dir[0]) {
		const char *t = getenv("TMPDIR");
		snprintf(store_fuzz_dir, sizeof(store_fuzz_dir), "%s/phr-fuzz-%s-XXXXXX",
			 t && *t && strlen(t) < 30 ? t : "/tmp", tag);
		if (!mkdtemp(store_fuzz_dir))
			abort();
		atexit(store_fuzz_cleanup);
	}
	snprintf(out, cap, "%s/%s", store_fuzz_dir, file);
}

#endif
