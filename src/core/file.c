/* Whole-file reads and durable atomic writes (temp file, fsync, rename, dir fsync). */
#include <phr/core.h>

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <sys/stat.h>
#include <unistd.h>

int phr_file_read(struct phr_buf *out, const char *path, size_t max)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? PHR_ERR_NOT_FOUND : PHR_ERR_IO;
	int rc = PHR_OK;
	uint8_t chunk[65536];
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof chunk);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = PHR_ERR_IO;
			break;
		}
		if (n == 0)
			break;
		if (out->len + (size_t)n > max) {
			rc = PHR_ERR_TOO_LARGE;
			break;
		}
		rc = phr_buf_append(out, chunk, (size_t)n);
		if (rc)
			break;
	}
	close(fd);
	return rc;
}

int phr_fd_write_all(int fd, const void *data, size_t n)
{
	const uint8_t *p = data;

	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return PHR_ERR_IO;
		p += w;
		n -= (size_t)w;
	}
	return PHR_OK;
}

static int fsync_dir_of(const char *path)
{
	char *copy = phr_strdup(path);
	if (!copy)
		return -1;
	int dfd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	phr_free(copy);
	if (dfd < 0)
		return -1;
	int rc = fsync(dfd);
	close(dfd);
	return rc;
}

int phr_file_write_atomic(const char *path, const void *data, size_t n, unsigned mode)
{
	size_t tl = strlen(path) + 32;
	char *tmp = phr_malloc(tl);
	if (!tmp)
		return PHR_ERR_NOMEM;
	snprintf(tmp, tl, "%s.tmp.%ld", path, (long)getpid());
	int rc = PHR_ERR_IO;
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, (mode_t)mode);
	if (fd < 0)
		goto out;
	if (phr_fd_write_all(fd, data, n) != 0 || fsync(fd) != 0) {
		close(fd);
		unlink(tmp);
		goto out;
	}
	if (close(fd) != 0 || rename(tmp, path) != 0) {
		unlink(tmp);
		goto out;
	}
	if (fsync_dir_of(path) != 0)
		goto out;
	rc = PHR_OK;
out:
	phr_free(tmp);
	return rc;
}

int phr_mkdir_p(const char *path, unsigned mode)
{
	char *p = phr_strdup(path);
	if (!p)
		return PHR_ERR_NOMEM;
	int rc = PHR_OK;
	for (char *s = p + 1;; s++) {
		if (*s == '/' || *s == 0) {
			char c = *s;
			*s = 0;
			if (mkdir(p, (mode_t)mode) != 0 && errno != EEXIST) {
				rc = PHR_ERR_IO;
				break;
			}
			*s = c;
			if (c == 0)
				break;
		}
	}
	if (rc == PHR_OK) {
		struct stat st;
		if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
			rc = PHR_ERR_IO;
	}
	phr_free(p);
	return rc;
}
