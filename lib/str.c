#include "str.h"

#include <string.h>

#include "err.h"

str_t str_c(const char *s)
{
	return s ? (str_t){s, strlen(s)} : (str_t){"", 0};
}

bool str_eq(str_t a, str_t b)
{
	return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

bool str_eq_c(str_t a, const char *b)
{
	return str_eq(a, str_c(b));
}

static char lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
}

bool str_case_eq(str_t a, str_t b)
{
	if (a.len != b.len)
		return false;
	for (size_t i = 0; i < a.len; i++)
		if (lower(a.p[i]) != lower(b.p[i]))
			return false;
	return true;
}

bool str_starts_with(str_t s, str_t prefix)
{
	return s.len >= prefix.len &&
	       (prefix.len == 0 || memcmp(s.p, prefix.p, prefix.len) == 0);
}

bool str_ends_with(str_t s, str_t suffix)
{
	return s.len >= suffix.len &&
	       (suffix.len == 0 ||
		memcmp(s.p + s.len - suffix.len, suffix.p, suffix.len) == 0);
}

str_t str_sub(str_t s, size_t off, size_t len)
{
	if (off > s.len)
		off = s.len;
	if (len > s.len - off)
		len = s.len - off;
	return (str_t){s.p + off, len};
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
	       c == '\v';
}

str_t str_trim(str_t s)
{
	while (s.len && is_space(s.p[0])) {
		s.p++;
		s.len--;
	}
	while (s.len && is_space(s.p[s.len - 1]))
		s.len--;
	return s;
}

long str_index(str_t s, char c)
{
	const char *q = s.len ? memchr(s.p, c, s.len) : NULL;
	return q ? (long)(q - s.p) : -1;
}

str_t str_cut(str_t s, char sep, str_t *head)
{
	long i = str_index(s, sep);
	if (i < 0) {
		*head = s;
		return STR_NULL;
	}
	*head = (str_t){s.p, (size_t)i};
	return (str_t){s.p + i + 1, s.len - (size_t)i - 1};
}

char *str_dup(arena_t *a, str_t s)
{
	return arena_strndup(a, s.p ? s.p : "", s.len);
}

int str_to_long(str_t s, long min, long max, long *out)
{
	size_t i = 0;
	bool neg = false;
	if (s.len == 0 || s.len > 20)
		return ERR_INVALID;
	if (s.p[0] == '-' || s.p[0] == '+') {
		neg = s.p[0] == '-';
		i = 1;
		if (s.len == 1)
			return ERR_INVALID;
	}
	unsigned long long v = 0;
	for (; i < s.len; i++) {
		if (s.p[i] < '0' || s.p[i] > '9')
			return ERR_INVALID;
		v = v * 10 + (unsigned)(s.p[i] - '0');
		if (v > (unsigned long long)1 << 62)
			return ERR_INVALID;
	}
	long long n = neg ? -(long long)v : (long long)v;
	if (n < min || n > max)
		return ERR_INVALID;
	*out = (long)n;
	return 0;
}

bool str_is_ascii_printable(str_t s)
{
	for (size_t i = 0; i < s.len; i++)
		if ((unsigned char)s.p[i] < 0x20 || (unsigned char)s.p[i] > 0x7e)
			return false;
	return true;
}

bool str_is_valid_utf8(str_t s)
{
	const unsigned char *p = (const unsigned char *)s.p;
	size_t i = 0;
	while (i < s.len) {
		unsigned c = p[i];
		size_t n;
		unsigned min;
		if (c < 0x80) {
			i++;
			continue;
		} else if ((c & 0xe0) == 0xc0) {
			n = 1, min = 0x80, c &= 0x1f;
		} else if ((c & 0xf0) == 0xe0) {
			n = 2, min = 0x800, c &= 0x0f;
		} else if ((c & 0xf8) == 0xf0) {
			n = 3, min = 0x10000, c &= 0x07;
		} else {
			return false;
		}
		if (s.len - i <= n)
			return false;
		for (size_t k = 1; k <= n; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return false;
			c = (c << 6) | (p[i + k] & 0x3f);
		}
		if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
			return false;
		i += n + 1;
	}
	return true;
}
