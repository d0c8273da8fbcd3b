#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"

#define LINE_MAX_BYTES 8192
#define REQUEST_ID_MAX 64

struct log_line {
	buf_t buf;
	bool truncated;
	char storage[LINE_MAX_BYTES + 1];
};

static const char *program = "canopy";
static log_level_t min_level = LOG_INFO;
static int out_fd = 2;
static const char *level_names[] = {"debug", "info", "warn", "error"};

static __thread char request_id[REQUEST_ID_MAX + 1];
static __thread struct log_line line;

void log_init(const char *prog, log_level_t level)
{
	program = prog;
	min_level = level;
}

int log_level_parse(const char *name)
{
	for (int i = 0; i < 4; i++)
		if (strcmp(name, level_names[i]) == 0)
			return i;
	return -1;
}

bool log_enabled(log_level_t level)
{
	return level >= min_level;
}

void log_set_fd(int fd)
{
	out_fd = fd < 0 ? 2 : fd;
}

void log_set_request_id(const char *rid)
{
	if (!rid) {
		request_id[0] = '\0';
		return;
	}
	size_t n = strnlen(rid, REQUEST_ID_MAX);
	memcpy(request_id, rid, n);
	request_id[n] = '\0';
}

const char *log_request_id(void)
{
	return request_id;
}

/* The line lives in fixed thread-local storage: logging must work when
 * memory is short and must never allocate on a hot path.  A line longer
 * than LINE_MAX_BYTES loses its last fields, not its validity: log_end
 * always closes the object. */
/* A field that did not fit is taken back whole, so the line stays valid
 * JSON and says it was truncated. */
static void field_done(log_line_t *l, size_t mark)
{
	if (!l->buf.err)
		return;
	l->buf.len = mark;
	l->buf.data[mark] = '\0';
	l->buf.err = 0;
	l->truncated = true;
}

static void put_key(log_line_t *l, const char *key)
{
	buf_puts(&l->buf, ",\"");
	buf_put_json_str(&l->buf, key, strlen(key));
	buf_puts(&l->buf, "\":");
}

log_line_t *log_begin(log_level_t level, const char *msg)
{
	if (!log_enabled(level))
		return NULL;
	log_line_t *l = &line;
	l->truncated = false;
	l->buf = (buf_t){.data = l->storage,
			 .cap = sizeof l->storage,
			 .max = LINE_MAX_BYTES - 32};
	struct timeval tv;
	gettimeofday(&tv, NULL);
	struct tm tm;
	gmtime_r(&tv.tv_sec, &tm);
	char ts[32];
	strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
	buf_printf(&l->buf, "{\"ts\":\"%s.%03ldZ\",\"level\":\"%s\",\"prog\":\"",
		   ts, (long)tv.tv_usec / 1000, level_names[level]);
	buf_put_json_str(&l->buf, program, strlen(program));
	buf_puts(&l->buf, "\"");
	if (request_id[0])
		log_str(l, "req", request_id);
	log_str(l, "msg", msg);
	return l;
}

void log_strn(log_line_t *l, const char *key, const char *value, size_t n)
{
	if (!l)
		return;
	size_t mark = l->buf.len;
	put_key(l, key);
	if (!value) {
		buf_puts(&l->buf, "null");
	} else {
		buf_putc(&l->buf, '"');
		buf_put_json_str(&l->buf, value, n);
		buf_putc(&l->buf, '"');
	}
	field_done(l, mark);
}

void log_str(log_line_t *l, const char *key, const char *value)
{
	log_strn(l, key, value, value ? strlen(value) : 0);
}

void log_int(log_line_t *l, const char *key, long long value)
{
	if (!l)
		return;
	size_t mark = l->buf.len;
	put_key(l, key);
	buf_printf(&l->buf, "%lld", value);
	field_done(l, mark);
}

void log_double(log_line_t *l, const char *key, double value)
{
	if (!l)
		return;
	size_t mark = l->buf.len;
	put_key(l, key);
	buf_printf(&l->buf, "%.3f", value);
	field_done(l, mark);
}

void log_bool(log_line_t *l, const char *key, bool value)
{
	if (!l)
		return;
	size_t mark = l->buf.len;
	put_key(l, key);
	buf_puts(&l->buf, value ? "true" : "false");
	field_done(l, mark);
}

void log_end(log_line_t *l)
{
	if (!l)
		return;
	/* max kept room for this tail: it always fits. */
	l->buf.max = LINE_MAX_BYTES;
	if (l->truncated)
		buf_puts(&l->buf, ",\"truncated\":true");
	buf_puts(&l->buf, "}\n");
	ssize_t off = 0, len = (ssize_t)l->buf.len;
	while (off < len) {
		ssize_t n = write(out_fd, l->buf.data + off, (size_t)(len - off));
		if (n <= 0)
			break;
		off += n;
	}
}

void log_msg(log_level_t level, const char *fmt, ...)
{
	if (!log_enabled(level))
		return;
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	log_end(log_begin(level, msg));
}
