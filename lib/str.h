/* str: a length-carrying string view, the default type for request data.
 *
 * A str_t borrows its bytes; it is never assumed to be NUL-terminated.
 * Literals go through STR("..."), request data is never strlen'd twice. */
#ifndef CANOPY_STR_H
#define CANOPY_STR_H

#include <stdbool.h>
#include <stddef.h>

#include "arena.h"

typedef struct {
	const char *p;
	size_t len;
} str_t;

#define STR(lit) ((str_t){(lit), sizeof(lit) - 1})
#define STR_NULL ((str_t){NULL, 0})
/* printf("%.*s", STR_FMT(s)) */
#define STR_FMT(s) (int)(s).len, (s).p

/* A view of a C string (NULL gives the empty view). */
str_t str_c(const char *s);

bool str_eq(str_t a, str_t b);
bool str_eq_c(str_t a, const char *b);
/* ASCII case-insensitive equality. */
bool str_case_eq(str_t a, str_t b);
bool str_starts_with(str_t s, str_t prefix);
bool str_ends_with(str_t s, str_t suffix);

/* The part of s from off (clamped) for at most len bytes. */
str_t str_sub(str_t s, size_t off, size_t len);
/* s without leading and trailing ASCII white space. */
str_t str_trim(str_t s);
/* Position of c in s, or -1. */
long str_index(str_t s, char c);

/* Splits s at the first sep: *head gets what precedes it, the return is
 * what follows (empty view with p == NULL when sep is absent, in which
 * case *head is all of s). */
str_t str_cut(str_t s, char sep, str_t *head);

/* A NUL-terminated copy owned by the arena. */
char *str_dup(arena_t *a, str_t s);

/* Parses a decimal integer in [min, max] that fills all of s.
 * Returns 0, or ERR_INVALID with *out untouched. */
int str_to_long(str_t s, long min, long max, long *out);

/* Strict checks used when validating input. */
bool str_is_ascii_printable(str_t s);
bool str_is_valid_utf8(str_t s);

#endif
