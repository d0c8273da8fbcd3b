#include "buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void buf_init(buf_t *b, arena_t *arena, size_t max)
{
	*b = (buf_t){.arena = arena, .max = max};
}

void buf_free(buf_t *b)
{
	if (!b->arena)
		free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
	b->err = 0;
}

void buf_clear(buf_t *b)
{
	b->len = 0;
	b->err = 0;
	if (b->data)
		b->data[0] = '\0';
}

static int fail(buf_t *b, int err)
{
	if (!b->err)
		b->err = err;
	return err;
}

/* Makes room for n more bytes plus the terminating NUL. */
static int reserve(buf_t *b, size_t n)
{
	if (n > b->max - b->len)
		return fail(b, ERR_TOO_LARGE);
	size_t need = b->len + n + 1;
	if (need <= b->cap)
		return 0;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < need)
		cap *= 2;
	if (cap > b->max + 1)
		cap = b->max + 1;
	if (b->arena) {
		char *p = arena_alloc(b->arena, cap);
		if (b->len)
			memcpy(p, b->data, b->len);
		b->data = p;
	} else {
		b->data = xrealloc(b->data, cap);
	}
	b->cap = cap;
	return 0;
}

int buf_append(buf_t *b, const void *p, size_t n)
{
	int rc = reserve(b, n);
	if (rc)
		return rc;
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int buf_puts(buf_t *b, const char *s)
{
	return buf_append(b, s, strlen(s));
}

int buf_putc(buf_t *b, char c)
{
	return buf_append(b, &c, 1);
}

int buf_put_str(buf_t *b, str_t s)
{
	return buf_append(b, s.p, s.len);
}

int buf_printf(buf_t *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return fail(b, ERR_INTERNAL);
	int rc = reserve(b, (size_t)n);
	if (rc)
		return rc;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

int buf_put_html(buf_t *b, const char *s, size_t n)
{
	size_t run = 0; /* bytes not yet copied that need no escaping */
	for (size_t i = 0; i < n; i++) {
		const char *rep;
		switch (s[i]) {
		case '&': rep = "&amp;"; break;
		case '<': rep = "&lt;"; break;
		case '>': rep = "&gt;"; break;
		case '"': rep = "&quot;"; break;
		case '\'': rep = "&#39;"; break;
		case '`': rep = "&#96;"; break;
		case '=': rep = "&#61;"; break;
		default: continue;
		}
		int rc = buf_append(b, s + run, i - run);
		if (!rc)
			rc = buf_puts(b, rep);
		if (rc)
			return rc;
		run = i + 1;
	}
	return buf_append(b, s + run, n - run);
}

int buf_put_json_str(buf_t *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t run = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[7];
		size_t elen = 2;
		esc[0] = '\\';
		if (c == '"' || c == '\\') {
			esc[1] = (char)c;
		} else if (c == '\n') {
			esc[1] = 'n';
		} else if (c == '\r') {
			esc[1] = 'r';
		} else if (c == '\t') {
			esc[1] = 't';
		} else if (c < 0x20 || c == '<' || c == '>' || c == '&') {
			/* < > & escaped too, so JSON is safe inside <script>. */
			memcpy(esc + 1, "u00", 3);
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			elen = 6;
		} else {
			continue;
		}
		int rc = buf_append(b, s + run, i - run);
		if (!rc)
			rc = buf_append(b, esc, elen);
		if (rc)
			return rc;
		run = i + 1;
	}
	return buf_append(b, s + run, n - run);
}

str_t buf_str(const buf_t *b)
{
	return (str_t){b->data ? b->data : "", b->len};
}

const char *buf_cstr(const buf_t *b)
{
	return b->data ? b->data : "";
}

char *buf_take(buf_t *b, size_t *len)
{
	char *p = b->data ? b->data : xstrdup("");
	if (len)
		*len = b->len;
	b->data = NULL;
	b->len = b->cap = 0;
	return p;
}
