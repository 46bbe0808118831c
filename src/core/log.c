/* Leveled logger: text lines or JSON lines on stderr (or a chosen stream). */
#include <phr/core.h>

#include <pthread.h>
#include <time.h>

static enum phr_log_level cur_level = PHR_LOG_INFO;
static bool as_json;
static FILE *stream;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static const char *const names[] = { "error", "warn", "info", "debug" };

void phr_log_set_level(enum phr_log_level level)
{
	cur_level = level;
}

int phr_log_parse_level(enum phr_log_level *level, const char *s)
{
	for (size_t i = 0; i < PHR_ARRAY_LEN(names); i++) {
		if (strcmp(s, names[i]) == 0) {
			*level = (enum phr_log_level)i;
			return PHR_OK;
		}
	}
	return PHR_ERR_INVALID;
}

void phr_log_set_json(bool json)
{
	as_json = json;
}

void phr_log_set_stream(FILE *f)
{
	stream = f;
}

bool phr_log_enabled(enum phr_log_level level)
{
	return level <= cur_level;
}

/* Writes s as the body of a JSON string (without quotes). */
static void json_escape(FILE *f, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", f);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
}

void phr_log(enum phr_log_level level, const char *module, const char *fmt, ...)
{
	if (!phr_log_enabled(level))
		return;
	char msg[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);

	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct tm tm;
	gmtime_r(&ts.tv_sec, &tm);
	char when[96];
	snprintf(when, sizeof when, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);

	FILE *f = stream ? stream : stderr;
	pthread_mutex_lock(&lock);
	if (as_json) {
		fprintf(f, "{\"time\":\"%s\",\"level\":\"%s\",\"module\":\"", when, names[level]);
		json_escape(f, module ? module : "");
		fputs("\",\"msg\":\"", f);
		json_escape(f, msg);
		fputs("\"}\n", f);
	} else {
		fprintf(f, "%s %-5s [%s] %s\n", when, names[level], module ? module : "-", msg);
	}
	fflush(f);
	pthread_mutex_unlock(&lock);
}
