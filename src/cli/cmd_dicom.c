/*
 * DICOM commands: phr dicom dump|info|upload.
 */
#include "cli.h"
#include "cmd_api.h"

#include <phr/core.h>
#include <phr/dicom.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int phr_cmd_dicom(int argc, char **argv);

static const char dump_usage[] =
	"usage: phr dicom dump [--meta] [--compact] [--inline-max BYTES] FILE\n"
	"Prints the data set of a DICOM Part 10 file in the DICOM JSON Model (PS3.18 F).\n"
	"  --meta            include the file meta information (group 0002)\n"
	"  --compact         one line, no indentation\n"
	"  --inline-max N    values up to N bytes are printed (InlineBinary); longer ones\n"
	"                    are skipped, not read, and given as a BulkDataURI (default 65536)\n";

static const char info_usage[] =
	"usage: phr dicom info [--fhir] [--patient REF] FILE\n"
	"Prints the study/series/instance metadata of a DICOM Part 10 file as JSON, or a\n"
	"FHIR R4 ImagingStudy with --fhir (subject REF, e.g. Patient/123, if given).\n"
	"Pixel data is skipped, never read into memory.\n";

struct dopts {
	bool meta, compact, fhir;
	const char *patient;
	size_t inline_max;
	const char *file;
};

static int parse_opts(struct dopts *o, int argc, char **argv, bool dump)
{
	memset(o, 0, sizeof(*o));
	o->inline_max = PHR_DICOM_DEFAULT_VALUE_BYTES;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (dump && !strcmp(a, "--meta")) {
			o->meta = true;
		} else if (dump && !strcmp(a, "--compact")) {
			o->compact = true;
		} else if (dump && !strcmp(a, "--inline-max") && i + 1 < argc) {
			char *end;
			errno = 0;
			unsigned long long v = strtoull(argv[++i], &end, 10);
			if (*end || errno || v == 0 || v > UINT32_MAX) {
				phr_cli_error("bad --inline-max: %s", argv[i]);
				return -1;
			}
			o->inline_max = (size_t)v;
		} else if (!dump && !strcmp(a, "--fhir")) {
			o->fhir = true;
		} else if (!dump && !strcmp(a, "--patient") && i + 1 < argc) {
			o->patient = argv[++i];
		} else if (a[0] == '-' && a[1]) {
			phr_cli_error("unknown option %s", a);
			return -1;
		} else if (!o->file) {
			o->file = a;
		} else {
			phr_cli_error("too many arguments");
			return -1;
		}
	}
	if (!o->file) {
		phr_cli_error("no FILE given");
		return -1;
	}
	return 0;
}

/* Opens and parses @path ("-" is stdin); prints the error and returns NULL on failure. */
static struct phr_dicom_file *load(const char *path, size_t inline_max)
{
	int fd = strcmp(path, "-") ? open(path, O_RDONLY | O_CLOEXEC) : 0;
	if (fd < 0) {
		phr_cli_error("%s: %s", path, strerror(errno));
		return NULL;
	}
	/* a value as large as --inline-max must fit the total budget too */
	struct phr_dicom_limits lim = { .max_value_bytes = inline_max,
					.max_total_bytes = inline_max + PHR_DICOM_DEFAULT_TOTAL_BYTES };
	struct phr_dicom_error err;
	struct phr_dicom_file *f = NULL;
	enum phr_err e = phr_dicom_file_read_fd(&f, &err, fd, &lim);
	if (fd != 0)
		close(fd);
	if (e) {
		phr_cli_error("%s: %s at byte %llu: %s", path, phr_err_name(e), (unsigned long long)err.offset,
			      err.msg);
		return NULL;
	}
	return f;
}

static int print_json(json_t *j, bool compact)
{
	int rc = json_dumpf(j, stdout, (compact ? JSON_COMPACT : JSON_INDENT(2)) | JSON_REAL_PRECISION(17));
	fputc('\n', stdout);
	json_decref(j);
	return rc || fflush(stdout) ? PHR_EXIT_FAIL : PHR_EXIT_OK;
}

static int cmd_dump(int argc, char **argv)
{
	if (phr_cli_wants_help(argc, argv)) {
		fputs(dump_usage, stdout);
		return PHR_EXIT_OK;
	}
	struct dopts o;
	if (parse_opts(&o, argc, argv, true)) {
		fputs(dump_usage, stderr);
		return PHR_EXIT_USAGE;
	}
	struct phr_dicom_file *f = load(o.file, o.inline_max);
	if (!f)
		return PHR_EXIT_FAIL;
	json_t *j = NULL;
	enum phr_err e = phr_dicom_file_to_json(&j, f, o.meta ? PHR_DICOM_JSON_META : 0);
	phr_dicom_file_free(f);
	if (e) {
		phr_cli_error("%s", phr_strerror(e));
		return PHR_EXIT_FAIL;
	}
	return print_json(j, o.compact);
}

static int cmd_info(int argc, char **argv)
{
	if (phr_cli_wants_help(argc, argv)) {
		fputs(info_usage, stdout);
		return PHR_EXIT_OK;
	}
	struct dopts o;
	if (parse_opts(&o, argc, argv, false)) {
		fputs(info_usage, stderr);
		return PHR_EXIT_USAGE;
	}
	/* metadata needs no large value: keep at most 4 KiB per value in memory */
	struct phr_dicom_file *f = load(o.file, 4096);
	if (!f)
		return PHR_EXIT_FAIL;
	struct phr_dicom_meta m;
	enum phr_err e = phr_dicom_file_meta(&m, f);
	phr_dicom_file_free(f);
	json_t *j = NULL;
	if (o.fhir) {
		if (e) {
			phr_cli_error("%s: no study or SOP instance UID, cannot build an ImagingStudy", o.file);
			return PHR_EXIT_FAIL;
		}
		e = phr_dicom_imaging_study(&j, &m, o.patient);
	} else {
		e = phr_dicom_meta_to_json(&j, &m);
	}
	if (e) {
		phr_cli_error("%s", phr_strerror(e));
		return PHR_EXIT_FAIL;
	}
	return print_json(j, false);
}

static const char upload_usage[] =
	"usage: phr dicom upload --patient ADDRESS [--patient-ref Patient/ID] FILE\n"
	"                        [--node URL] [--token T | --token-file F [--as NAME]] [--json]\n"
	"A provider hosted on the node uploads a DICOM Part 10 file for a patient\n"
	"(POST /api/v1/dicom): the node stores the file as an encrypted Imaging record and\n"
	"keeps its ImagingStudy in the FHIR server. The file is mapped, not read into\n"
	"memory, so studies of hundreds of MB go through.\n";

static int cmd_upload(int argc, char **argv)
{
	struct phr_cli_api a = { 0 };
	const char *patient = NULL, *pref = NULL, *file = NULL;
	char path[300];
	struct stat st;
	void *map = NULL;
	int fd = -1, rc = PHR_EXIT_FAIL;

	if (phr_cli_wants_help(argc, argv)) {
		fputs(upload_usage, stdout);
		return PHR_EXIT_OK;
	}
	for (int i = 1; i < argc; i++) {
		int t = phr_cli_api_opt(&a, &i, argc, argv);
		if (t == 1)
			continue;
		if (t < 0)
			return PHR_EXIT_USAGE;
		if (i + 1 < argc && strcmp(argv[i], "--patient") == 0)
			patient = argv[++i];
		else if (i + 1 < argc && strcmp(argv[i], "--patient-ref") == 0)
			pref = argv[++i];
		else if (argv[i][0] != '-' && file == NULL)
			file = argv[i];
		else {
			fputs(upload_usage, stderr);
			return PHR_EXIT_USAGE;
		}
	}
	if (patient == NULL || file == NULL || strlen(patient) > 64 || (pref && strlen(pref) > 80)) {
		fputs(upload_usage, stderr);
		return PHR_EXIT_USAGE;
	}
	if (phr_cli_api_ready(&a, true) != 0)
		return PHR_EXIT_USAGE;
	if ((fd = open(file, O_RDONLY | O_CLOEXEC)) < 0 || fstat(fd, &st) != 0 || st.st_size <= 0) {
		phr_cli_error("%s: cannot read (%s)", file, fd < 0 ? strerror(errno) : "empty");
		goto out;
	}
	map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (map == MAP_FAILED) {
		map = NULL;
		phr_cli_error("%s: cannot map (%s)", file, strerror(errno));
		goto out;
	}
	snprintf(path, sizeof(path), "/api/v1/dicom?patient=%s%s%s", patient, pref ? "&patientRef=" : "",
		 pref ? pref : "");
	rc = phr_cli_api_call(&a, NULL, "POST", path, "application/dicom", map, (size_t)st.st_size, NULL);
out:
	if (map != NULL)
		munmap(map, (size_t)st.st_size);
	if (fd >= 0)
		close(fd);
	return rc;
}

int phr_cmd_dicom(int argc, char **argv)
{
	static const struct phr_cli_cmd subs[] = {
		{ "dump", "print a DICOM file as DICOM JSON (PS3.18 Annex F)", cmd_dump },
		{ "info", "print study/series/instance metadata, or a FHIR ImagingStudy", cmd_info },
		{ "upload", "upload a DICOM file to a node for a patient (encrypted record + ImagingStudy)", cmd_upload },
		{ NULL, NULL, NULL },
	};
	static const char usage[] = "usage: phr dicom dump|info|upload [options] FILE\n"
				    "Run phr dicom COMMAND --help for the options.\n";
	return phr_cli_dispatch("phr dicom", usage, subs, argc, argv);
}
