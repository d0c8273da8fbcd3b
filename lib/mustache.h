/* mustache: our Mustache engine (https://mustache.github.io/mustache.5.html).
 *
 * Templates are compiled once, at start, into a template set and rendered
 * many times from the compiled form into a capped buf_t.  The engine knows
 * nothing about JSON: data is reached through the small mustache_data_t
 * interface, and mustache_json.[ch] adapts jansson to it.
 *
 * Supported: variables ({{x}} HTML-escaped by default, {{{x}}} and {{&x}}
 * raw), dotted names, implicit iterator {{.}}, sections and inverted
 * sections, comments, set delimiters, partials with standalone
 * indentation, dynamic partial names ({{>*name}}), and template
 * inheritance ({{<parent}} with {{$block}} overrides) — the official spec
 * files comments, delimiters, interpolation, inverted, partials, sections,
 * ~inheritance and ~dynamic-names pass in full.  Lambdas are not.
 *
 * A set is read-only once loaded and may be rendered from many threads. */
#ifndef CANOPY_MUSTACHE_H
#define CANOPY_MUSTACHE_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "err.h"

typedef struct mustache_set mustache_set_t;

/* Where a template failed to compile (1-based line and column). */
typedef struct {
	char name[128]; /* the template's name */
	int line;
	int column;
	char message[160];
} mustache_error_t;

/* How the engine reads data.  A value is an opaque pointer owned by the
 * caller's data; NULL means "missing". */
typedef enum {
	MUSTACHE_NULL, /* null or missing: falsey, renders as "" */
	MUSTACHE_BOOL,
	MUSTACHE_NUMBER,
	MUSTACHE_STRING,
	MUSTACHE_LIST,
	MUSTACHE_MAP
} mustache_kind_t;

typedef struct {
	mustache_kind_t (*kind)(const void *value);
	/* Member of a map, or NULL. */
	const void *(*get)(const void *map, const char *key, size_t keylen);
	size_t (*list_len)(const void *list);
	const void *(*list_at)(const void *list, size_t i);
	/* Truthiness of a BOOL or NUMBER (strings: non-empty is true). */
	bool (*truthy)(const void *value);
	/* Appends the text of a scalar (unescaped; the engine escapes). */
	int (*append_text)(const void *value, buf_t *out);
} mustache_data_t;

mustache_set_t *mustache_set_new(void);
void mustache_set_free(mustache_set_t *set);

/* Compiles src under name (e.g. "site/page") into the set, replacing any
 * template of that name.  Returns 0, or ERR_INVALID with *err filled
 * (1-based line and column of the offending tag: unclosed tag or section,
 * mismatched close, bad delimiter change, empty or spaced name, sections
 * nested deeper than 64).  err may be NULL.  src is copied. */
int mustache_set_add(mustache_set_t *set, const char *name, const char *src,
		     size_t len, mustache_error_t *err) WARN_UNUSED;

/* Loads every *.mustache file below dir, naming each by its path relative
 * to dir without the extension ("partials/head").  Stops at the first
 * template that fails to compile, filling *err. */
int mustache_set_load_dir(mustache_set_t *set, const char *dir,
			  mustache_error_t *err) WARN_UNUSED;

bool mustache_set_has(const mustache_set_t *set, const char *name);

/* Bounds the work of one render: nodes visited plus section iterations
 * (default 16M, 0 restores it).  A render that would exceed it fails with
 * ERR_TOO_LARGE, so templates that recurse without output, or lists
 * nested in themselves, cannot spin a responder. */
void mustache_set_max_steps(mustache_set_t *set, unsigned long steps);

/* Renders template name with root as the context into out.  Partials and
 * parents are looked up by name in the same set (a missing one renders as
 * empty, as the spec says).  Errors: ERR_NOT_FOUND (no such template),
 * ERR_TOO_LARGE (out's cap, nesting deeper than 64 levels, or the step
 * budget); on error out is put back to its length before the call.
 * Allocates nothing but out's growth; safe to call from many threads on
 * one read-only set. */
int mustache_render(const mustache_set_t *set, const char *name,
		    const mustache_data_t *data, const void *root,
		    buf_t *out) WARN_UNUSED;

#endif
