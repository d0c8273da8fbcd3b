/* log: one JSON object per line on stderr, carrying the request id.
 *
 *   log_line_t *l = log_begin(LOG_INFO, "job finished");
 *   log_int(l, "job", id);
 *   log_str(l, "kind", kind);
 *   log_end(l);
 *
 * or, for a plain message, log_info("listening on %s", path).
 * Every line has ts, level, prog, msg and, when set for this thread, req
 * (the X-Request-Id of the request or of the job's enqueuer).  Values are
 * JSON-escaped; a line is written with one write(2) so lines from several
 * threads and processes never interleave.  Never pass a secret. */
#ifndef CANOPY_LOG_H
#define CANOPY_LOG_H

#include <stdbool.h>
#include <stddef.h>

typedef enum { LOG_DEBUG = 0, LOG_INFO, LOG_WARN, LOG_ERROR } log_level_t;

typedef struct log_line log_line_t;

/* Names the program in every line and sets the minimum level. */
void log_init(const char *program, log_level_t min_level);
/* "debug", "info", "warn", "error" -> level; returns -1 when unknown. */
int log_level_parse(const char *name);
bool log_enabled(log_level_t level);

/* The request id attached to this thread's lines (copied; NULL clears). */
void log_set_request_id(const char *request_id);
const char *log_request_id(void);

/* A line under construction (thread-local; finish it with log_end before
 * starting another).  Returns NULL when the level is filtered out; the
 * field functions accept NULL and do nothing. */
log_line_t *log_begin(log_level_t level, const char *msg);
void log_str(log_line_t *l, const char *key, const char *value);
void log_strn(log_line_t *l, const char *key, const char *value, size_t n);
void log_int(log_line_t *l, const char *key, long long value);
void log_double(log_line_t *l, const char *key, double value);
void log_bool(log_line_t *l, const char *key, bool value);
void log_end(log_line_t *l);

void log_msg(log_level_t level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)

/* Redirects lines to fd (tests); -1 restores stderr. */
void log_set_fd(int fd);

#endif
