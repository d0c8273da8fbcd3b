/* buf: a growable byte buffer with a hard cap set when it is created.
 *
 * Bodies, JSON, rendered output and SQL text are all built in a buf_t, so
 * no input can make one grow without bound.  Memory comes from an arena
 * (never freed separately) or, when the arena is NULL, from the heap
 * (release with buf_free).  Appending past the cap fails with
 * ERR_TOO_LARGE and leaves the buffer as it was; the error is also kept
 * in buf->err so a long chain of appends can be checked once at the end. */
#ifndef CANOPY_BUF_H
#define CANOPY_BUF_H

#include <stddef.h>

#include "arena.h"
#include "err.h"
#include "str.h"

typedef struct {
	char *data; /* always NUL-terminated when non-NULL */
	size_t len;
	size_t cap; /* bytes allocated */
	size_t max; /* hard cap on len */
	arena_t *arena;
	int err;    /* first error seen, 0 if none */
} buf_t;

void buf_init(buf_t *b, arena_t *arena, size_t max);
void buf_free(buf_t *b); /* heap buffers only; arena ones are a no-op */
void buf_clear(buf_t *b);

int buf_append(buf_t *b, const void *p, size_t n);
int buf_puts(buf_t *b, const char *s);
int buf_putc(buf_t *b, char c);
int buf_put_str(buf_t *b, str_t s);
int buf_printf(buf_t *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Appends s with &, <, >, ", ', `, = escaped for HTML text and attributes. */
int buf_put_html(buf_t *b, const char *s, size_t n);
/* Appends s as the inside of a JSON string (no quotes added). */
int buf_put_json_str(buf_t *b, const char *s, size_t n);

/* The contents as a view, and as a C string (never NULL). */
str_t buf_str(const buf_t *b);
const char *buf_cstr(const buf_t *b);

/* Hands the heap buffer to the caller (free() it) and resets b. */
char *buf_take(buf_t *b, size_t *len);

#endif
