/*
 * DICOM benchmark helper (bench/dicom.sh drives it):
 *   bench_dicom make FILE MB      writes a synthetic multi-frame MR (explicit VR LE,
 *                                 512x512 16-bit frames, MB megabytes of pixel data)
 *   bench_dicom parse FILE N      parses FILE N times from a descriptor (pixel data
 *                                 skipped) and extracts the metadata; prints seconds
 *                                 per parse and the file size
 */
#include <phr/core.h>
#include <phr/dicom.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void put(FILE *f, const void *p, size_t n)
{
	if (fwrite(p, 1, n, f) != n) {
		perror("write");
		exit(1);
	}
}

static void el(FILE *f, uint16_t g, uint16_t e, const char *vr, const void *v, uint32_t len)
{
	uint8_t h[12] = { (uint8_t)g, (uint8_t)(g >> 8), (uint8_t)e, (uint8_t)(e >> 8), (uint8_t)vr[0], (uint8_t)vr[1] };
	bool lng = !strcmp(vr, "OB") || !strcmp(vr, "OW") || !strcmp(vr, "SQ") || !strcmp(vr, "UN") || !strcmp(vr, "UT");
	if (lng) {
		h[8] = (uint8_t)len, h[9] = (uint8_t)(len >> 8), h[10] = (uint8_t)(len >> 16), h[11] = (uint8_t)(len >> 24);
		put(f, h, 12);
	} else {
		h[6] = (uint8_t)len, h[7] = (uint8_t)(len >> 8);
		put(f, h, 8);
	}
	if (v)
		put(f, v, len);
}

static void s(FILE *f, uint16_t g, uint16_t e, const char *vr, const char *v)
{
	char b[80];
	size_t n = strlen(v);
	memcpy(b, v, n);
	if (n & 1)
		b[n++] = !strcmp(vr, "UI") ? 0 : ' ';
	el(f, g, e, vr, b, (uint32_t)n);
}

static int make(const char *path, unsigned mb)
{
	FILE *f = fopen(path, "wb");
	if (!f)
		return 1;
	uint8_t pre[128] = { 0 };
	put(f, pre, 128);
	put(f, "DICM", 4);
	s(f, 0x0002, 0x0010, "UI", PHR_DICOM_TS_EXPLICIT_LE);
	s(f, 0x0008, 0x0016, "UI", "1.2.840.10008.5.1.4.1.1.4.1");
	s(f, 0x0008, 0x0018, "UI", "1.2.826.0.1.3680043.8.498.77.3");
	s(f, 0x0008, 0x0020, "DA", "20240131");
	s(f, 0x0008, 0x0060, "CS", "MR");
	s(f, 0x0010, 0x0010, "PN", "Bench^Patient");
	s(f, 0x0010, 0x0020, "LO", "BENCH-1");
	s(f, 0x0020, 0x000D, "UI", "1.2.826.0.1.3680043.8.498.77.1");
	s(f, 0x0020, 0x000E, "UI", "1.2.826.0.1.3680043.8.498.77.2");
	uint32_t frame = 512 * 512 * 2, frames = (uint32_t)((uint64_t)mb * 1000000 / frame);
	char nf[16];
	snprintf(nf, sizeof(nf), "%u", frames);
	s(f, 0x0028, 0x0008, "IS", nf);
	uint16_t rc = 512, bits = 16;
	el(f, 0x0028, 0x0010, "US", &rc, 2);
	el(f, 0x0028, 0x0011, "US", &rc, 2);
	el(f, 0x0028, 0x0100, "US", &bits, 2);
	el(f, 0x7FE0, 0x0010, "OW", NULL, frame * frames);
	uint8_t *buf = malloc(frame);
	for (uint32_t i = 0; i < frame; i++)
		buf[i] = (uint8_t)(i * 2654435761u >> 13);
	for (uint32_t i = 0; i < frames; i++)
		put(f, buf, frame);
	free(buf);
	return fclose(f) ? 1 : 0;
}

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int parse(const char *path, int n)
{
	double t0 = now();
	off_t size = 0;
	for (int i = 0; i < n; i++) {
		int fd = open(path, O_RDONLY);
		if (fd < 0)
			return 1;
		size = lseek(fd, 0, SEEK_END);
		lseek(fd, 0, SEEK_SET);
		struct phr_dicom_file *f = NULL;
		struct phr_dicom_error err;
		if (phr_dicom_file_read_fd(&f, &err, fd, NULL) != PHR_OK) {
			fprintf(stderr, "%s\n", err.msg);
			return 1;
		}
		struct phr_dicom_meta m;
		if (phr_dicom_file_meta(&m, f) != PHR_OK)
			return 1;
		phr_dicom_file_free(f);
		close(fd);
	}
	printf("%.9f %lld\n", (now() - t0) / n, (long long)size);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "make"))
		return make(argv[2], (unsigned)strtoul(argv[3], NULL, 10));
	if (argc == 4 && !strcmp(argv[1], "parse"))
		return parse(argv[2], (int)strtol(argv[3], NULL, 10));
	fprintf(stderr, "usage: bench_dicom make FILE MB | parse FILE N\n");
	return 2;
}
