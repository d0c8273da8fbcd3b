/* The supported keyword list for strict mode follows OpenAI's Structured
 * Outputs guide, section "Supported schemas" (platform docs,
 * guides/structured-outputs): types string, number, boolean, integer,
 * object, array, enum, anyOf; string properties pattern and format;
 * number properties multipleOf, maximum, exclusiveMaximum, minimum,
 * exclusiveMinimum; array properties minItems and maxItems.  minLength and
 * maxLength are not on that list, so schema_strict_check refuses them even
 * though the validator implements them.  The same guide sets the limits of
 * 5000 object properties, 10 levels of nesting and 1000 enum values, and
 * requires a root object (not anyOf), every property in required and
 * additionalProperties false. */
#include "schema.h"

#include <math.h>
#include <regex.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"

enum {
	T_NULL = 1 << 0,
	T_BOOLEAN = 1 << 1,
	T_OBJECT = 1 << 2,
	T_ARRAY = 1 << 3,
	T_NUMBER = 1 << 4,
	T_STRING = 1 << 5,
	T_INTEGER = 1 << 6
};

static const struct {
	const char *name;
	unsigned bit;
} type_names[] = {
	{"null", T_NULL},     {"boolean", T_BOOLEAN}, {"object", T_OBJECT},
	{"array", T_ARRAY},   {"number", T_NUMBER},   {"string", T_STRING},
	{"integer", T_INTEGER},
};

enum { ADDL_ANY, ADDL_NONE, ADDL_SCHEMA };

enum {
	N_MIN = 1 << 0,
	N_MAX = 1 << 1,
	N_XMIN = 1 << 2,
	N_XMAX = 1 << 3
};

/* Compile-time guard for pathological schema documents. */
#define MAX_SCHEMA_NESTING 128
/* Schema applications stacked on one instance location (anyOf, $ref
 * hops); only a $ref cycle that consumes no instance can reach it. */
#define MAX_EVAL_LEVEL (SCHEMA_MAX_DEPTH * 16)
/* Pointers into instances are bounded by the body size anyway. */
#define MAX_POINTER (16u << 20)

typedef struct node node_t;

typedef struct {
	char *name;
	size_t len;
	node_t *schema;
} prop_t;

struct node {
	const json_t *src; /* the schema object inside schema->doc */
	bool reject_all;   /* the boolean schema false */
	unsigned types;    /* 0: any type */
	prop_t *props;
	size_t nprops;
	prop_t *required; /* schema unused */
	size_t nrequired;
	bool has_props; /* object keywords present at all */
	int addl;
	node_t *addl_schema;
	const json_t *enum_vals; /* borrowed from the document */
	const json_t *const_val;
	node_t *items;
	node_t **any_of;
	size_t nany;
	node_t *ref;
	long long min_items, max_items; /* -1: absent */
	long long min_len, max_len;
	bool has_pattern;
	regex_t re;
	const char *pattern; /* source text, for messages */
	unsigned num;
	double minimum, maximum, xminimum, xmaximum;
};

struct schema {
	json_t *doc;
	node_t **nodes; /* every compiled node, for lookup and free */
	size_t nnodes, cap;
};

/* ------------------------------------------------------------ pointers */

static void buf_cut(buf_t *b, size_t len)
{
	b->len = len;
	if (b->data)
		b->data[len] = '\0';
}

int schema_pointer_push(buf_t *b, const char *token, size_t len)
{
	int rc = buf_putc(b, '/');
	size_t start = 0;
	for (size_t i = 0; i < len && !rc; i++) {
		if (token[i] != '~' && token[i] != '/')
			continue;
		rc = buf_append(b, token + start, i - start);
		if (!rc)
			rc = buf_puts(b, token[i] == '~' ? "~0" : "~1");
		start = i + 1;
	}
	if (!rc)
		rc = buf_append(b, token + start, len - start);
	return rc;
}

static int pointer_push_index(buf_t *b, size_t i)
{
	return buf_printf(b, "/%zu", i);
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Resolves a "#/a/b" reference inside doc; NULL when it does not. */
static const json_t *resolve_ref(const json_t *doc, const char *ref)
{
	if (ref[0] != '#')
		return NULL;
	const char *p = ref + 1;
	if (*p == '\0')
		return doc;
	if (*p != '/')
		return NULL;
	const json_t *cur = doc;
	char tok[512];
	while (*p == '/' && cur) {
		p++;
		size_t n = 0;
		while (*p && *p != '/') {
			char c = *p++;
			if (c == '~') {
				if (*p == '0')
					c = '~';
				else if (*p == '1')
					c = '/';
				else
					return NULL;
				p++;
			} else if (c == '%') {
				int hi = hex_digit(p[0]);
				int lo = hi < 0 ? -1 : hex_digit(p[1]);
				if (lo < 0 || (hi | lo) == 0)
					return NULL;
				c = (char)(hi * 16 + lo);
				p += 2;
			}
			if (n + 1 >= sizeof tok)
				return NULL;
			tok[n++] = c;
		}
		tok[n] = '\0';
		if (json_is_object(cur)) {
			cur = json_object_getn(cur, tok, n);
		} else if (json_is_array(cur)) {
			if (n == 0 || n > 9 || (n > 1 && tok[0] == '0'))
				return NULL;
			size_t idx = 0;
			for (size_t i = 0; i < n; i++) {
				if (tok[i] < '0' || tok[i] > '9')
					return NULL;
				idx = idx * 10 + (size_t)(tok[i] - '0');
			}
			cur = json_array_get(cur, idx);
		} else {
			return NULL;
		}
	}
	return cur;
}

/* ------------------------------------------------------------ patterns */

static const char ere_special[] = ".[]()*+?{}|^$\\";

typedef struct {
	unsigned char set[32]; /* bit per byte */
} byteset_t;

static void set_add(byteset_t *s, unsigned c)
{
	s->set[c >> 3] |= (unsigned char)(1u << (c & 7));
}

static bool set_has(const byteset_t *s, unsigned c)
{
	return s->set[c >> 3] & (1u << (c & 7));
}

static void set_add_range(byteset_t *s, unsigned a, unsigned b)
{
	for (unsigned c = a; c <= b; c++)
		set_add(s, c);
}

static void set_add_class(byteset_t *s, char cls)
{
	switch (cls) {
	case 'd': set_add_range(s, '0', '9'); break;
	case 'w':
		set_add_range(s, '0', '9');
		set_add_range(s, 'A', 'Z');
		set_add_range(s, 'a', 'z');
		set_add(s, '_');
		break;
	default: /* 's' */
		set_add(s, ' ');
		set_add_range(s, '\t', '\r');
		break;
	}
}

static int control_escape(char c)
{
	switch (c) {
	case 't': return '\t';
	case 'n': return '\n';
	case 'r': return '\r';
	case 'f': return '\f';
	case 'v': return '\v';
	default: return -1;
	}
}

/* Emits a byte set as a POSIX bracket expression.  ], ^, - and [ go where
 * POSIX reads them literally: ] first, [ ^ - last. */
static void emit_set(buf_t *out, const byteset_t *s, bool negate)
{
	static const char late[] = "[^-";
	bool any = false, only_late = true;
	for (unsigned c = 1; c < 128; c++) {
		if (!set_has(s, c))
			continue;
		any = true;
		if (!strchr(late, (int)c))
			only_late = false;
	}
	if (!any) {
		/* [^] matches anything; [] nothing (rejected by the caller). */
		buf_putc(out, '.');
		return;
	}
	if (!negate && only_late) {
		if (set_has(s, '[') && !set_has(s, '^') && !set_has(s, '-')) {
			buf_puts(out, "\\[");
			return;
		}
		if (set_has(s, '^') && !set_has(s, '-') && !set_has(s, '[')) {
			buf_puts(out, "\\^");
			return;
		}
		/* Starts with - or [ so ^ is not first. */
		buf_puts(out, set_has(s, '-') ? "[-" : "[[");
		if (set_has(s, '[') && set_has(s, '-'))
			buf_putc(out, '[');
		if (set_has(s, '^'))
			buf_putc(out, '^');
		buf_putc(out, ']');
		return;
	}
	buf_putc(out, '[');
	if (negate)
		buf_putc(out, '^');
	if (set_has(s, ']'))
		buf_putc(out, ']');
	for (unsigned c = 1; c < 128; c++) {
		if (!set_has(s, c) || strchr("][^-", (int)c))
			continue;
		unsigned e = c;
		while (e + 1 < 128 && set_has(s, e + 1) &&
		       !strchr("][^-", (int)(e + 1)))
			e++;
		buf_putc(out, (char)c);
		if (e >= c + 2) {
			buf_putc(out, '-');
			buf_putc(out, (char)e);
		} else if (e == c + 1) {
			buf_putc(out, (char)e);
		}
		c = e;
	}
	for (const char *l = late; *l; l++)
		if (set_has(s, (unsigned char)*l))
			buf_putc(out, *l);
	buf_putc(out, ']');
}

/* Reads one bracket atom at *pp: a byte (>= 0) or a class (-'d' etc.). */
static int bracket_atom(const char **pp, char *err, size_t errlen)
{
	const char *p = *pp;
	unsigned char c = (unsigned char)*p++;
	if (c >= 0x80) {
		snprintf(err, errlen, "non-ASCII character in a bracket expression");
		return -1000;
	}
	if (c != '\\') {
		*pp = p;
		return c;
	}
	char e = *p++;
	*pp = p;
	if (e == 'd' || e == 'w' || e == 's')
		return -e;
	if (e == 'b')
		return '\b';
	int ctl = control_escape(e);
	if (ctl >= 0)
		return ctl;
	if (e && e != '\0' && (unsigned char)e < 0x80 && strchr("\\]^-[./|(){}*+?$,:!=<>#&~'\"@%`;_", e))
		return (unsigned char)e;
	snprintf(err, errlen, "unsupported escape \\%c in a bracket expression",
		 e ? e : '0');
	return -1000;
}

static int translate_bracket(const char **pp, buf_t *out, char *err,
			     size_t errlen)
{
	const char *p = *pp; /* just past '[' */
	bool negate = false;
	if (*p == '^') {
		negate = true;
		p++;
	}
	byteset_t set = {{0}};
	bool empty = true;
	for (;;) {
		if (*p == '\0') {
			snprintf(err, errlen, "unterminated bracket expression");
			return -1;
		}
		if (*p == ']')
			break;
		int a = bracket_atom(&p, err, errlen);
		if (a == -1000)
			return -1;
		empty = false;
		if (a < 0) {
			set_add_class(&set, (char)-a);
			continue;
		}
		if (p[0] == '-' && p[1] != ']' && p[1] != '\0') {
			p++;
			int b = bracket_atom(&p, err, errlen);
			if (b == -1000)
				return -1;
			if (b < 0 || b < a) {
				snprintf(err, errlen, "bad range in a bracket expression");
				return -1;
			}
			set_add_range(&set, (unsigned)a, (unsigned)b);
			continue;
		}
		set_add(&set, (unsigned)a);
	}
	if (empty && !negate) {
		snprintf(err, errlen, "empty bracket expression []");
		return -1;
	}
	if (set_has(&set, 0)) {
		snprintf(err, errlen, "NUL in a bracket expression");
		return -1;
	}
	emit_set(out, &set, negate);
	*pp = p + 1;
	return 0;
}

/* A {n}, {n,} or {n,m} quantifier starts at p; returns its length or 0. */
static size_t interval_len(const char *p)
{
	size_t i = 1;
	if (p[i] < '0' || p[i] > '9')
		return 0;
	while (p[i] >= '0' && p[i] <= '9')
		i++;
	if (p[i] == ',') {
		i++;
		while (p[i] >= '0' && p[i] <= '9')
			i++;
	}
	return p[i] == '}' ? i + 1 : 0;
}

/* ECMA-262 subset -> POSIX ERE (see schema.h). */
static int translate_pattern(const char *src, buf_t *out, char *err,
			     size_t errlen)
{
	const char *p = src;
	while (*p) {
		char c = *p;
		if (c == '\\') {
			char e = p[1];
			p += 2;
			switch (e) {
			case 'd': buf_puts(out, "[0-9]"); continue;
			case 'D': buf_puts(out, "[^0-9]"); continue;
			case 'w': buf_puts(out, "[A-Za-z0-9_]"); continue;
			case 'W': buf_puts(out, "[^A-Za-z0-9_]"); continue;
			case 's': buf_puts(out, "[[:space:]]"); continue;
			case 'S': buf_puts(out, "[^[:space:]]"); continue;
			default: break;
			}
			int ctl = control_escape(e);
			if (ctl >= 0) {
				buf_putc(out, (char)ctl);
				continue;
			}
			if (e && (unsigned char)e < 0x80 &&
			    strchr("\\^$.|?*+()[]{}/-,:=!<>#&~'\"@%`;_", e)) {
				if (strchr(ere_special, e))
					buf_putc(out, '\\');
				buf_putc(out, e);
				continue;
			}
			snprintf(err, errlen, "unsupported escape \\%c", e ? e : '0');
			return -1;
		}
		if (c == '[') {
			p++;
			if (translate_bracket(&p, out, err, errlen))
				return -1;
			continue;
		}
		if (c == '(') {
			if (p[1] == '?') {
				if (p[2] != ':') {
					snprintf(err, errlen,
						 "lookarounds and named groups are not supported");
					return -1;
				}
				p += 3;
			} else {
				p++;
			}
			buf_putc(out, '(');
			continue;
		}
		if (c == '*' || c == '+' || c == '?' || c == '{') {
			size_t n = 1;
			if (c == '{') {
				n = interval_len(p);
				if (!n) {
					/* Annex B: a brace that is no quantifier is literal. */
					buf_puts(out, "\\{");
					p++;
					continue;
				}
			}
			buf_append(out, p, n);
			p += n;
			if (*p == '?') {
				snprintf(err, errlen, "lazy quantifiers are not supported");
				return -1;
			}
			continue;
		}
		if (c == '}') {
			buf_puts(out, "\\}");
			p++;
			continue;
		}
		buf_putc(out, c);
		p++;
	}
	return out->err ? -1 : 0;
}

/* ------------------------------------------------------------ compile */

typedef struct {
	schema_t *s;
	buf_t where; /* pointer into the schema document */
	char *err;
	size_t errlen;
} loader_t;

static int load_fail(loader_t *l, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int load_fail(loader_t *l, const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	snprintf(l->err, l->errlen, "schema %s: %s",
		 l->where.len ? buf_cstr(&l->where) : "(root)", msg);
	return -1;
}

static node_t *find_node(const schema_t *s, const json_t *src)
{
	for (size_t i = 0; i < s->nnodes; i++)
		if (s->nodes[i]->src == src)
			return s->nodes[i];
	return NULL;
}

static node_t *new_node(schema_t *s, const json_t *src)
{
	if (s->nnodes == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 32;
		s->nodes = xrealloc(s->nodes, s->cap * sizeof *s->nodes);
	}
	node_t *n = xcalloc(1, sizeof *n);
	n->src = src;
	n->min_items = n->max_items = n->min_len = n->max_len = -1;
	s->nodes[s->nnodes++] = n;
	return n;
}

static node_t *compile(loader_t *l, const json_t *src, int depth);

static node_t *compile_at(loader_t *l, const json_t *src, int depth,
			  const char *key, size_t keylen, long idx)
{
	size_t mark = l->where.len;
	if (key)
		schema_pointer_push(&l->where, key, keylen);
	if (idx >= 0)
		pointer_push_index(&l->where, (size_t)idx);
	node_t *n = compile(l, src, depth + 1);
	if (n)
		buf_cut(&l->where, mark);
	return n;
}

static int get_count(loader_t *l, const json_t *v, const char *kw,
		     long long *out)
{
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return load_fail(l, "%s must be a non-negative integer", kw);
	*out = json_integer_value(v);
	return 0;
}

static int get_number(loader_t *l, const json_t *v, const char *kw,
		      double *out)
{
	if (!json_is_number(v))
		return load_fail(l, "%s must be a number", kw);
	*out = json_number_value(v);
	return 0;
}

static bool is_annotation(const char *kw)
{
	static const char *const names[] = {
		"description", "title", "$schema", "$id", "$comment",
		"default", "examples", NULL};
	for (const char *const *n = names; *n; n++)
		if (strcmp(kw, *n) == 0)
			return true;
	return false;
}

static int compile_type(loader_t *l, node_t *n, const json_t *v)
{
	const json_t *one = v;
	size_t count = json_is_array(v) ? json_array_size(v) : 1;
	if (json_is_array(v) && count == 0)
		return load_fail(l, "type must not be an empty array");
	for (size_t i = 0; i < count; i++) {
		if (json_is_array(v))
			one = json_array_get(v, i);
		if (!json_is_string(one))
			return load_fail(l, "type must be a string or an array of strings");
		size_t k;
		for (k = 0; k < sizeof type_names / sizeof *type_names; k++)
			if (strcmp(json_string_value(one), type_names[k].name) == 0)
				break;
		if (k == sizeof type_names / sizeof *type_names)
			return load_fail(l, "unknown type \"%s\"",
					 json_string_value(one));
		n->types |= type_names[k].bit;
	}
	return 0;
}

static int compile_pattern(loader_t *l, node_t *n, const json_t *v)
{
	if (!json_is_string(v))
		return load_fail(l, "pattern must be a string");
	buf_t ere;
	buf_init(&ere, NULL, 64 * 1024);
	char why[160] = "";
	int rc = translate_pattern(json_string_value(v), &ere, why, sizeof why);
	if (rc) {
		buf_free(&ere);
		return load_fail(l, "pattern %s: %s", json_string_value(v),
				 why[0] ? why : "too long");
	}
	int rrc = regcomp(&n->re, buf_cstr(&ere), REG_EXTENDED | REG_NOSUB);
	buf_free(&ere);
	if (rrc) {
		char msg[128];
		regerror(rrc, &n->re, msg, sizeof msg);
		return load_fail(l, "pattern %s: %s", json_string_value(v), msg);
	}
	n->has_pattern = true;
	n->pattern = json_string_value(v);
	return 0;
}

static int compile_keyword(loader_t *l, node_t *n, const char *kw,
			   const json_t *v, int depth)
{
	if (strcmp(kw, "type") == 0)
		return compile_type(l, n, v);
	if (strcmp(kw, "properties") == 0) {
		if (!json_is_object(v))
			return load_fail(l, "properties must be an object");
		n->has_props = true;
		n->nprops = json_object_size(v);
		n->props = xcalloc(n->nprops ? n->nprops : 1, sizeof *n->props);
		size_t i = 0;
		const char *k;
		size_t klen;
		json_t *sub;
		size_t mark = l->where.len;
		schema_pointer_push(&l->where, "properties", 10);
		json_object_keylen_foreach((json_t *)v, k, klen, sub)
		{
			n->props[i].name = xstrndup(k, klen);
			n->props[i].len = klen;
			n->props[i].schema = compile_at(l, sub, depth, k, klen, -1);
			if (!n->props[i].schema)
				return -1;
			i++;
		}
		buf_cut(&l->where, mark);
		return 0;
	}
	if (strcmp(kw, "required") == 0) {
		if (!json_is_array(v))
			return load_fail(l, "required must be an array of strings");
		n->nrequired = json_array_size(v);
		n->required = xcalloc(n->nrequired ? n->nrequired : 1,
				      sizeof *n->required);
		for (size_t i = 0; i < n->nrequired; i++) {
			const json_t *r = json_array_get(v, i);
			if (!json_is_string(r))
				return load_fail(l, "required must be an array of strings");
			n->required[i].len = json_string_length(r);
			n->required[i].name =
				xstrndup(json_string_value(r), n->required[i].len);
		}
		return 0;
	}
	if (strcmp(kw, "additionalProperties") == 0) {
		if (json_is_false(v)) {
			n->addl = ADDL_NONE;
		} else if (json_is_true(v)) {
			n->addl = ADDL_ANY;
		} else {
			n->addl = ADDL_SCHEMA;
			n->addl_schema = compile_at(l, v, depth, kw, strlen(kw), -1);
			if (!n->addl_schema)
				return -1;
		}
		return 0;
	}
	if (strcmp(kw, "enum") == 0) {
		if (!json_is_array(v) || json_array_size(v) == 0)
			return load_fail(l, "enum must be a non-empty array");
		n->enum_vals = v;
		return 0;
	}
	if (strcmp(kw, "const") == 0) {
		n->const_val = v;
		return 0;
	}
	if (strcmp(kw, "items") == 0) {
		if (!json_is_object(v) && !json_is_boolean(v))
			return load_fail(l, "items must be a schema (tuple form is not supported)");
		n->items = compile_at(l, v, depth, kw, strlen(kw), -1);
		return n->items ? 0 : -1;
	}
	if (strcmp(kw, "anyOf") == 0) {
		if (!json_is_array(v) || json_array_size(v) == 0)
			return load_fail(l, "anyOf must be a non-empty array");
		n->nany = json_array_size(v);
		n->any_of = xcalloc(n->nany, sizeof *n->any_of);
		size_t mark = l->where.len;
		schema_pointer_push(&l->where, kw, strlen(kw));
		for (size_t i = 0; i < n->nany; i++) {
			n->any_of[i] = compile_at(l, json_array_get(v, i), depth,
						  NULL, 0, (long)i);
			if (!n->any_of[i])
				return -1;
		}
		buf_cut(&l->where, mark);
		return 0;
	}
	if (strcmp(kw, "$ref") == 0) {
		if (!json_is_string(v))
			return load_fail(l, "$ref must be a string");
		const json_t *target = resolve_ref(l->s->doc, json_string_value(v));
		if (!target)
			return load_fail(l, "$ref \"%s\" does not resolve within the document",
					 json_string_value(v));
		/* The target's errors are reported at its own location. */
		buf_t saved = l->where;
		buf_init(&l->where, NULL, MAX_POINTER);
		buf_puts(&l->where, json_string_value(v) + 1);
		n->ref = compile(l, target, depth + 1);
		buf_free(&l->where);
		l->where = saved;
		return n->ref ? 0 : -1;
	}
	if (strcmp(kw, "$defs") == 0) {
		if (!json_is_object(v))
			return load_fail(l, "$defs must be an object");
		const char *k;
		size_t klen;
		json_t *sub;
		size_t mark = l->where.len;
		schema_pointer_push(&l->where, kw, strlen(kw));
		json_object_keylen_foreach((json_t *)v, k, klen, sub)
		{
			if (!compile_at(l, sub, depth, k, klen, -1))
				return -1;
		}
		buf_cut(&l->where, mark);
		return 0;
	}
	if (strcmp(kw, "minItems") == 0)
		return get_count(l, v, kw, &n->min_items);
	if (strcmp(kw, "maxItems") == 0)
		return get_count(l, v, kw, &n->max_items);
	if (strcmp(kw, "minLength") == 0)
		return get_count(l, v, kw, &n->min_len);
	if (strcmp(kw, "maxLength") == 0)
		return get_count(l, v, kw, &n->max_len);
	if (strcmp(kw, "pattern") == 0)
		return compile_pattern(l, n, v);
	if (strcmp(kw, "minimum") == 0) {
		n->num |= N_MIN;
		return get_number(l, v, kw, &n->minimum);
	}
	if (strcmp(kw, "maximum") == 0) {
		n->num |= N_MAX;
		return get_number(l, v, kw, &n->maximum);
	}
	if (strcmp(kw, "exclusiveMinimum") == 0) {
		n->num |= N_XMIN;
		return get_number(l, v, kw, &n->xminimum);
	}
	if (strcmp(kw, "exclusiveMaximum") == 0) {
		n->num |= N_XMAX;
		return get_number(l, v, kw, &n->xmaximum);
	}
	if (is_annotation(kw))
		return 0;
	return load_fail(l, "keyword \"%s\" is not implemented by this validator",
			 kw);
}

static node_t *compile(loader_t *l, const json_t *src, int depth)
{
	node_t *n = find_node(l->s, src);
	if (n)
		return n;
	if (depth > MAX_SCHEMA_NESTING) {
		load_fail(l, "schema nested too deeply");
		return NULL;
	}
	if (json_is_boolean(src)) {
		n = new_node(l->s, src);
		n->reject_all = json_is_false(src);
		return n;
	}
	if (!json_is_object(src)) {
		load_fail(l, "a schema must be an object or a boolean");
		return NULL;
	}
	/* Registered before its children so a recursive $ref finds it. */
	n = new_node(l->s, src);
	const char *kw;
	json_t *v;
	json_object_foreach((json_t *)src, kw, v)
	{
		if (compile_keyword(l, n, kw, v, depth))
			return NULL;
	}
	if (n->min_items >= 0 && n->max_items >= 0 && n->min_items > n->max_items) {
		load_fail(l, "minItems is greater than maxItems");
		return NULL;
	}
	return n;
}

static void free_node(node_t *n)
{
	for (size_t i = 0; i < n->nprops; i++)
		free(n->props[i].name);
	free(n->props);
	for (size_t i = 0; i < n->nrequired; i++)
		free(n->required[i].name);
	free(n->required);
	free(n->any_of);
	if (n->has_pattern)
		regfree(&n->re);
	free(n);
}

void schema_free(schema_t *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->nnodes; i++)
		free_node(s->nodes[i]);
	free(s->nodes);
	json_decref(s->doc);
	free(s);
}

schema_t *schema_load(const json_t *doc, char *err, size_t errlen)
{
	if (!doc) {
		snprintf(err, errlen, "schema: no document");
		return NULL;
	}
	schema_t *s = xcalloc(1, sizeof *s);
	s->doc = json_deep_copy(doc);
	if (!s->doc) {
		snprintf(err, errlen, "schema: out of memory copying the document");
		free(s);
		return NULL;
	}
	loader_t l = {.s = s, .err = err, .errlen = errlen};
	buf_init(&l.where, NULL, MAX_POINTER);
	node_t *root = compile(&l, s->doc, 0);
	buf_free(&l.where);
	if (!root) {
		schema_free(s);
		return NULL;
	}
	/* The root is nodes[0]: compile registers it first. */
	return s;
}

schema_t *schema_load_file(const char *path, char *err, size_t errlen)
{
	json_error_t je;
	json_t *doc = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
	if (!doc) {
		snprintf(err, errlen, "schema %s:%d: %s", path, je.line, je.text);
		return NULL;
	}
	schema_t *s = schema_load(doc, err, errlen);
	json_decref(doc);
	return s;
}

const json_t *schema_document(const schema_t *s)
{
	return s->doc;
}

/* ------------------------------------------------------------ validate */

typedef struct {
	json_t *errors;
	size_t count;
	bool overflow;
	buf_t ptr;
} vctx_t;

static bool full(const vctx_t *c)
{
	return c->count >= SCHEMA_MAX_ERRORS;
}

static void report(vctx_t *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void report(vctx_t *c, const char *fmt, ...)
{
	if (full(c)) {
		c->overflow = true;
		return;
	}
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	json_t *e = json_pack("{s:s%,s:s}", "pointer", buf_cstr(&c->ptr),
			      c->ptr.len, "message", msg);
	if (e)
		json_array_append_new(c->errors, e);
	c->count++;
}

static const char *instance_type(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "object";
	case JSON_ARRAY: return "array";
	case JSON_STRING: return "string";
	case JSON_INTEGER: return "integer";
	case JSON_REAL: return "number";
	case JSON_TRUE:
	case JSON_FALSE: return "boolean";
	default: return "null";
	}
}

static bool type_ok(unsigned types, const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return types & T_OBJECT;
	case JSON_ARRAY: return types & T_ARRAY;
	case JSON_STRING: return types & T_STRING;
	case JSON_INTEGER: return types & (T_INTEGER | T_NUMBER);
	case JSON_REAL: {
		if (types & T_NUMBER)
			return true;
		double d = json_real_value(v);
		return (types & T_INTEGER) && isfinite(d) && floor(d) == d;
	}
	case JSON_TRUE:
	case JSON_FALSE: return types & T_BOOLEAN;
	default: return types & T_NULL;
	}
}

static void type_list(unsigned types, char *out, size_t outlen)
{
	size_t used = 0;
	out[0] = '\0';
	for (size_t k = 0; k < sizeof type_names / sizeof *type_names; k++) {
		if (!(types & type_names[k].bit))
			continue;
		int w = snprintf(out + used, outlen - used, "%s%s",
				 used ? " or " : "", type_names[k].name);
		if (w < 0 || (size_t)w >= outlen - used)
			break;
		used += (size_t)w;
	}
}

/* JSON Schema equality: numbers compare by value (1 == 1.0), objects
 * ignore key order.  Recursion is bounded by the schema's value. */
static bool values_equal(const json_t *a, const json_t *b)
{
	if (json_is_number(a) && json_is_number(b))
		return json_number_value(a) == json_number_value(b);
	if (json_typeof(a) != json_typeof(b))
		return false;
	switch (json_typeof(a)) {
	case JSON_ARRAY: {
		size_t n = json_array_size(a);
		if (n != json_array_size(b))
			return false;
		for (size_t i = 0; i < n; i++)
			if (!values_equal(json_array_get(a, i), json_array_get(b, i)))
				return false;
		return true;
	}
	case JSON_OBJECT: {
		if (json_object_size(a) != json_object_size(b))
			return false;
		const char *k;
		size_t klen;
		json_t *va;
		json_object_keylen_foreach((json_t *)a, k, klen, va)
		{
			const json_t *vb = json_object_getn(b, k, klen);
			if (!vb || !values_equal(va, vb))
				return false;
		}
		return true;
	}
	case JSON_STRING:
		return json_string_length(a) == json_string_length(b) &&
		       memcmp(json_string_value(a), json_string_value(b),
			      json_string_length(a)) == 0;
	default: return true; /* null, true, false */
	}
}

static size_t utf8_length(const char *s, size_t n)
{
	size_t count = 0;
	for (size_t i = 0; i < n; i++)
		if (((unsigned char)s[i] & 0xC0) != 0x80)
			count++;
	return count;
}

static void validate(vctx_t *c, const node_t *n, const json_t *v, int depth,
		     int level);

/* Whether the top-level type of branch n admits v (following $refs). */
static bool branch_type_ok(const node_t *n, const json_t *v)
{
	for (int hops = 0; n && hops < 64; hops++) {
		if (n->reject_all)
			return false;
		if (n->types)
			return type_ok(n->types, v);
		n = n->ref;
	}
	return true;
}

static void validate_any_of(vctx_t *c, const node_t *n, const json_t *v,
			    int depth, int level)
{
	/* Each branch reports into a scratch list; when none passes, the
	 * errors of the only branch whose type fits are the useful ones. */
	json_t *saved = c->errors;
	size_t saved_count = c->count;
	bool saved_overflow = c->overflow;
	json_t *best = NULL;
	size_t fitting = 0;
	bool passed = false;
	for (size_t i = 0; i < n->nany && !passed; i++) {
		/* A branch whose type cannot admit v fails without a look. */
		if (!branch_type_ok(n->any_of[i], v))
			continue;
		c->errors = json_array();
		c->count = 0;
		c->overflow = false;
		validate(c, n->any_of[i], v, depth, level + 1);
		if (c->count == 0) {
			passed = true;
		} else {
			fitting++;
			if (!best) {
				best = c->errors;
				c->errors = NULL;
			}
		}
		json_decref(c->errors);
	}
	c->errors = saved;
	c->count = saved_count;
	c->overflow = saved_overflow;
	if (!passed) {
		if (fitting == 1) {
			size_t i;
			json_t *e;
			json_array_foreach(best, i, e)
			{
				if (full(c)) {
					c->overflow = true;
					break;
				}
				json_array_append(c->errors, e);
				c->count++;
			}
		} else {
			report(c, "matches none of the allowed alternatives (got %s)",
			       instance_type(v));
		}
	}
	json_decref(best);
}

static void validate_string(vctx_t *c, const node_t *n, const json_t *v)
{
	const char *s = json_string_value(v);
	size_t len = json_string_length(v);
	if (n->has_pattern) {
		regmatch_t m[1] = {{.rm_so = 0, .rm_eo = (regoff_t)len}};
		if (regexec(&n->re, s, 1, m, REG_STARTEND) != 0)
			report(c, "does not match the pattern %s", n->pattern);
	}
	if (n->min_len >= 0 || n->max_len >= 0) {
		size_t cp = utf8_length(s, len);
		if (n->min_len >= 0 && cp < (size_t)n->min_len)
			report(c, "must be at least %lld characters long",
			       n->min_len);
		if (n->max_len >= 0 && cp > (size_t)n->max_len)
			report(c, "must be at most %lld characters long",
			       n->max_len);
	}
}

static void validate_number(vctx_t *c, const node_t *n, const json_t *v)
{
	double d = json_number_value(v);
	if ((n->num & N_MIN) && !(d >= n->minimum))
		report(c, "must be >= %g", n->minimum);
	if ((n->num & N_MAX) && !(d <= n->maximum))
		report(c, "must be <= %g", n->maximum);
	if ((n->num & N_XMIN) && !(d > n->xminimum))
		report(c, "must be > %g", n->xminimum);
	if ((n->num & N_XMAX) && !(d < n->xmaximum))
		report(c, "must be < %g", n->xmaximum);
}

static bool too_deep(vctx_t *c, int depth)
{
	if (depth < SCHEMA_MAX_DEPTH)
		return false;
	report(c, "nested deeper than %d levels", SCHEMA_MAX_DEPTH);
	return true;
}

static void validate_array(vctx_t *c, const node_t *n, const json_t *v,
			   int depth, int level)
{
	size_t size = json_array_size(v);
	if (n->min_items >= 0 && size < (size_t)n->min_items)
		report(c, "must have at least %lld item%s", n->min_items,
		       n->min_items == 1 ? "" : "s");
	if (n->max_items >= 0 && size > (size_t)n->max_items)
		report(c, "must have at most %lld item%s", n->max_items,
		       n->max_items == 1 ? "" : "s");
	if (!n->items || size == 0 || too_deep(c, depth))
		return;
	size_t mark = c->ptr.len;
	for (size_t i = 0; i < size; i++) {
		if (full(c)) {
			c->overflow = true;
			break;
		}
		pointer_push_index(&c->ptr, i);
		validate(c, n->items, json_array_get(v, i), depth + 1, level + 1);
		buf_cut(&c->ptr, mark);
	}
}

static const prop_t *find_prop(const node_t *n, const char *k, size_t klen)
{
	for (size_t i = 0; i < n->nprops; i++)
		if (n->props[i].len == klen && memcmp(n->props[i].name, k, klen) == 0)
			return &n->props[i];
	return NULL;
}

static void validate_object(vctx_t *c, const node_t *n, const json_t *v,
			    int depth, int level)
{
	size_t mark = c->ptr.len;
	for (size_t i = 0; i < n->nrequired; i++) {
		const prop_t *r = &n->required[i];
		if (json_object_getn(v, r->name, r->len))
			continue;
		schema_pointer_push(&c->ptr, r->name, r->len);
		report(c, "is required");
		buf_cut(&c->ptr, mark);
	}
	if (json_object_size(v) == 0 ||
	    (n->nprops == 0 && n->addl == ADDL_ANY))
		return;
	if (too_deep(c, depth))
		return;
	const char *k;
	size_t klen;
	json_t *sub;
	json_object_keylen_foreach((json_t *)v, k, klen, sub)
	{
		if (full(c)) {
			c->overflow = true;
			break;
		}
		const prop_t *p = find_prop(n, k, klen);
		const node_t *target = p ? p->schema
				     : n->addl == ADDL_SCHEMA ? n->addl_schema
							      : NULL;
		if (!p && n->addl == ADDL_ANY)
			continue;
		schema_pointer_push(&c->ptr, k, klen);
		if (target)
			validate(c, target, sub, depth + 1, level + 1);
		else
			report(c, "is not an allowed property");
		buf_cut(&c->ptr, mark);
	}
}

static void validate(vctx_t *c, const node_t *n, const json_t *v, int depth,
		     int level)
{
	if (full(c)) {
		c->overflow = true;
		return;
	}
	if (level > MAX_EVAL_LEVEL) {
		report(c, "schema recursion too deep here");
		return;
	}
	if (n->reject_all) {
		report(c, "no value is allowed here");
		return;
	}
	if (n->ref)
		validate(c, n->ref, v, depth, level + 1);
	if (n->types && !type_ok(n->types, v)) {
		char want[96];
		type_list(n->types, want, sizeof want);
		report(c, "expected %s, got %s", want, instance_type(v));
		return;
	}
	if (n->enum_vals) {
		bool found = false;
		size_t i;
		const json_t *e;
		json_array_foreach(n->enum_vals, i, e)
		{
			if (values_equal(e, v)) {
				found = true;
				break;
			}
		}
		if (!found) {
			char *list = json_dumps(n->enum_vals, JSON_COMPACT);
			report(c, "must be one of %.300s", list ? list : "the enum");
			free(list);
		}
	}
	if (n->const_val && !values_equal(n->const_val, v)) {
		char *want = json_dumps(n->const_val,
					JSON_COMPACT | JSON_ENCODE_ANY);
		report(c, "must be %.300s", want ? want : "the constant");
		free(want);
	}
	switch (json_typeof(v)) {
	case JSON_STRING: validate_string(c, n, v); break;
	case JSON_INTEGER:
	case JSON_REAL: validate_number(c, n, v); break;
	case JSON_ARRAY: validate_array(c, n, v, depth, level); break;
	case JSON_OBJECT: validate_object(c, n, v, depth, level); break;
	default: break;
	}
	if (n->nany)
		validate_any_of(c, n, v, depth, level);
}

int schema_validate(const schema_t *s, const json_t *instance,
		    json_t **errors_out)
{
	vctx_t c = {.errors = json_array()};
	if (!c.errors)
		arena_oom(sizeof(json_t));
	buf_init(&c.ptr, NULL, MAX_POINTER);
	if (!instance)
		report(&c, "no document");
	else
		validate(&c, s->nodes[0], instance, 0, 0);
	if (c.overflow) {
		json_array_append_new(
			c.errors,
			json_pack("{s:s,s:s}", "pointer", "", "message",
				  "error limit reached; there may be more problems"));
	}
	buf_free(&c.ptr);
	int rc = json_array_size(c.errors) ? ERR_INVALID : 0;
	if (errors_out)
		*errors_out = c.errors;
	else
		json_decref(c.errors);
	return rc;
}

/* ------------------------------------------------------------ strict */

#define STRICT_MAX_NESTING 10
#define STRICT_MAX_PROPERTIES 5000
#define STRICT_MAX_ENUM_VALUES 1000
/* Work budget for the nesting walk, which expands non-recursive refs. */
#define STRICT_MAX_VISITS 100000

typedef struct {
	const json_t *doc;
	buf_t where;
	char *err;
	size_t errlen;
	size_t properties, enum_values, visits;
	const json_t *stack[MAX_SCHEMA_NESTING + 1];
	int sp;
} strict_t;

static int strict_fail(strict_t *st, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int strict_fail(strict_t *st, const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	snprintf(st->err, st->errlen, "strict mode: schema %s: %s",
		 st->where.len ? buf_cstr(&st->where) : "(root)", msg);
	return ERR_INVALID;
}

static bool strict_keyword(const char *kw)
{
	static const char *const ok[] = {
		"type",     "properties", "required", "additionalProperties",
		"enum",     "const",      "items",    "anyOf",
		"$ref",     "$defs",      "minItems", "maxItems",
		"pattern",  "format",     "minimum",  "maximum",
		"exclusiveMinimum", "exclusiveMaximum", "multipleOf",
		"description", "title",   NULL};
	for (const char *const *k = ok; *k; k++)
		if (strcmp(kw, *k) == 0)
			return true;
	return false;
}

static bool has_type(const json_t *schema, const char *name)
{
	const json_t *t = json_object_get(schema, "type");
	if (json_is_string(t))
		return strcmp(json_string_value(t), name) == 0;
	size_t i;
	const json_t *one;
	json_array_foreach(t, i, one)
	{
		if (json_is_string(one) && strcmp(json_string_value(one), name) == 0)
			return true;
	}
	return false;
}

static int strict_rules(strict_t *st, const json_t *schema, int depth);

static int strict_child(strict_t *st, const json_t *schema, int depth,
			const char *kw, const char *key, size_t keylen, long idx)
{
	size_t mark = st->where.len;
	schema_pointer_push(&st->where, kw, strlen(kw));
	if (key)
		schema_pointer_push(&st->where, key, keylen);
	if (idx >= 0)
		pointer_push_index(&st->where, (size_t)idx);
	int rc = strict_rules(st, schema, depth + 1);
	if (!rc)
		buf_cut(&st->where, mark);
	return rc;
}

/* Keyword and object rules for one schema and, without following refs,
 * everything it contains. */
static int strict_rules(strict_t *st, const json_t *schema, int depth)
{
	if (depth > MAX_SCHEMA_NESTING)
		return strict_fail(st, "nested too deeply");
	if (!json_is_object(schema))
		return strict_fail(st, "a schema must be an object");
	const char *kw;
	json_t *v;
	json_object_foreach((json_t *)schema, kw, v)
	{
		if (!strict_keyword(kw))
			return strict_fail(st, "keyword \"%s\" is not supported in strict mode",
					   kw);
	}
	const json_t *props = json_object_get(schema, "properties");
	if (has_type(schema, "object")) {
		if (!json_is_object(props))
			return strict_fail(st, "an object schema must declare properties");
		if (!json_is_false(json_object_get(schema, "additionalProperties")))
			return strict_fail(st, "an object schema needs additionalProperties: false");
		const json_t *req = json_object_get(schema, "required");
		if (!json_is_array(req) ||
		    json_array_size(req) != json_object_size(props))
			return strict_fail(st, "every property must be listed in required");
		size_t i;
		const json_t *r;
		json_array_foreach(req, i, r)
		{
			if (!json_is_string(r) ||
			    !json_object_getn(props, json_string_value(r),
					      json_string_length(r)))
				return strict_fail(st, "required names a property that is not declared");
		}
	} else if (props || json_object_get(schema, "required") ||
		   json_object_get(schema, "additionalProperties")) {
		return strict_fail(st, "object keywords on a schema whose type is not object");
	}
	if (props) {
		st->properties += json_object_size(props);
		if (st->properties > STRICT_MAX_PROPERTIES)
			return strict_fail(st, "more than %d properties in all",
					   STRICT_MAX_PROPERTIES);
		const char *k;
		size_t klen;
		json_t *sub;
		json_object_keylen_foreach((json_t *)props, k, klen, sub)
		{
			int rc = strict_child(st, sub, depth, "properties", k, klen, -1);
			if (rc)
				return rc;
		}
	}
	const json_t *en = json_object_get(schema, "enum");
	if (en) {
		st->enum_values += json_array_size(en);
		if (st->enum_values > STRICT_MAX_ENUM_VALUES)
			return strict_fail(st, "more than %d enum values in all",
					   STRICT_MAX_ENUM_VALUES);
	}
	const json_t *items = json_object_get(schema, "items");
	if (items) {
		int rc = strict_child(st, items, depth, "items", NULL, 0, -1);
		if (rc)
			return rc;
	}
	const json_t *any = json_object_get(schema, "anyOf");
	if (any) {
		if (!json_is_array(any))
			return strict_fail(st, "anyOf must be an array");
		size_t i;
		const json_t *sub;
		json_array_foreach(any, i, sub)
		{
			int rc = strict_child(st, sub, depth, "anyOf", NULL, 0, (long)i);
			if (rc)
				return rc;
		}
	}
	const json_t *ref = json_object_get(schema, "$ref");
	if (ref && (!json_is_string(ref) ||
		    !resolve_ref(st->doc, json_string_value(ref))))
		return strict_fail(st, "$ref does not resolve within the document");
	const json_t *defs = json_object_get(schema, "$defs");
	if (defs) {
		if (!json_is_object(defs))
			return strict_fail(st, "$defs must be an object");
		const char *k;
		size_t klen;
		json_t *sub;
		json_object_keylen_foreach((json_t *)defs, k, klen, sub)
		{
			int rc = strict_child(st, sub, depth, "$defs", k, klen, -1);
			if (rc)
				return rc;
		}
	}
	const json_t *pattern = json_object_get(schema, "pattern");
	if (pattern) {
		buf_t ere;
		buf_init(&ere, NULL, 64 * 1024);
		char why[160] = "";
		int rc = json_is_string(pattern)
				 ? translate_pattern(json_string_value(pattern),
						     &ere, why, sizeof why)
				 : -1;
		buf_free(&ere);
		if (rc)
			return strict_fail(st, "unsupported pattern: %s", why);
	}
	return 0;
}

/* Longest chain of nested object/array schemas from schema, expanding
 * $refs except one already being expanded (recursion ends the count). */
static int strict_nesting(strict_t *st, const json_t *schema, int level)
{
	if (!json_is_object(schema))
		return 0;
	if (++st->visits > STRICT_MAX_VISITS)
		return strict_fail(st, "schema too complex to measure");
	for (int i = 0; i < st->sp; i++)
		if (st->stack[i] == schema)
			return 0;
	if (st->sp >= MAX_SCHEMA_NESTING)
		return strict_fail(st, "nested too deeply");
	if (has_type(schema, "object") || has_type(schema, "array"))
		level++;
	if (level > STRICT_MAX_NESTING)
		return strict_fail(st, "more than %d levels of nesting",
				   STRICT_MAX_NESTING);
	st->stack[st->sp++] = schema;
	int rc = 0;
	const json_t *ref = json_object_get(schema, "$ref");
	if (json_is_string(ref))
		rc = strict_nesting(st, resolve_ref(st->doc, json_string_value(ref)),
				    level);
	const char *k;
	json_t *sub;
	json_object_foreach(json_object_get(schema, "properties"), k, sub)
	{
		if (!rc)
			rc = strict_nesting(st, sub, level);
	}
	if (!rc)
		rc = strict_nesting(st, json_object_get(schema, "items"), level);
	size_t i;
	json_array_foreach(json_object_get(schema, "anyOf"), i, sub)
	{
		if (!rc)
			rc = strict_nesting(st, sub, level);
	}
	st->sp--;
	return rc;
}

int schema_strict_check(const json_t *doc, char *err, size_t errlen)
{
	strict_t st = {.doc = doc, .err = err, .errlen = errlen};
	buf_init(&st.where, NULL, MAX_POINTER);
	int rc = 0;
	if (!json_is_object(doc))
		rc = strict_fail(&st, "the root must be a schema object");
	else if (!has_type(doc, "object") || json_object_get(doc, "anyOf"))
		rc = strict_fail(&st, "the root must be of type object, not anyOf");
	if (!rc)
		rc = strict_rules(&st, doc, 0);
	if (!rc) {
		buf_clear(&st.where);
		rc = strict_nesting(&st, doc, 0);
	}
	buf_free(&st.where);
	return rc;
}
