#include "translate_n8n.h"

#include <ctype.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "workflow.h"

/* Cap on one generated expression or JSON text (a graph's strings are at
 * most 64 KiB each, its lists at most 100 items). */
#define JS_MAX (16u << 20)
/* n8n refuses workflow names longer than 128 (JavaScript) characters. */
#define NAME_MAX_UNITS 128
#define X_STEP 220
#define Y_STEP 160
#define MAX_DEPTH 64

/* ------------------------------------------------------------ context */

typedef struct {
	const translate_n8n_opts_t *opts;
	char *err;
	size_t errlen;
	bool failed;
	json_t *names; /* canopy id -> n8n node name */
	json_t *taken; /* n8n node names in use */
	const char *tz; /* time zone of the schedule triggers, once seen */
	bool schedule;  /* some schedule trigger exists */
} tctx_t;

static int fail(tctx_t *t, int rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Records the first message only: later ones are usually consequences. */
static int fail(tctx_t *t, int rc, const char *fmt, ...)
{
	if (!t->failed && t->err && t->errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(t->err, t->errlen, fmt, ap);
		va_end(ap);
	}
	t->failed = true;
	return rc;
}

static const char *str_or_null(const json_t *v)
{
	return json_is_string(v) ? json_string_value(v) : NULL;
}

/* An input or config value; a null value counts as absent. */
static const json_t *opt_in(const json_t *entries, const char *key)
{
	const json_t *v = workflow_entry(entries, key);
	return json_is_null(v) ? NULL : v;
}

static bool has_expr(const char *s, size_t n)
{
	return n >= 2 && memmem(s, n, "{{", 2) != NULL;
}

static bool value_has_expr(const json_t *v, int depth)
{
	if (depth > MAX_DEPTH)
		return false;
	if (json_is_string(v))
		return has_expr(json_string_value(v), json_string_length(v));
	if (json_is_array(v)) {
		size_t i;
		const json_t *e;
		json_array_foreach(v, i, e)
		{
			if (value_has_expr(e, depth + 1))
				return true;
		}
		return false;
	}
	if (json_is_object(v)) {
		size_t i;
		const json_t *e;
		json_array_foreach(json_object_get(v, "fields"), i, e)
		{
			if (value_has_expr(json_object_get(e, "value"), depth + 1))
				return true;
		}
	}
	return false;
}

/* A name-based UUID (RFC 9562 version 8, from SHA-256) of its parts, so
 * ids are stable across translations of the same graph. */
static void det_uuid(char out[37], const char *kind, const char *a,
		     const char *b)
{
	buf_t in;
	buf_init(&in, NULL, 1u << 20);
	buf_puts(&in, "canopy/n8n");
	const char *parts[3] = {kind, a, b};
	for (size_t i = 0; i < 3; i++) {
		buf_putc(&in, '\0');
		buf_puts(&in, parts[i] ? parts[i] : "");
	}
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	memset(md, 0, sizeof md);
	if (EVP_Digest(in.data ? in.data : "", in.len, md, &mdlen, EVP_sha256(),
		       NULL) != 1)
		memset(md, 0, sizeof md);
	buf_free(&in);
	md[6] = (unsigned char)((md[6] & 0x0f) | 0x80);
	md[8] = (unsigned char)((md[8] & 0x3f) | 0x80);
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;
	for (size_t i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = hex[md[i] >> 4];
		out[o++] = hex[md[i] & 15];
	}
	out[o] = '\0';
}

/* ------------------------------------------------------------ values */

/* A string parameter: n8n evaluates a value that starts with "=" as an
 * expression template, so one with {{ }} gets the "=", and a literal that
 * starts with "=" gets one too (the template "=x" is the text "=x"). */
static json_t *str_param(const char *s, size_t n)
{
	if ((n && s[0] == '=') || has_expr(s, n)) {
		char *p = xmalloc(n + 2);
		p[0] = '=';
		memcpy(p + 1, s, n);
		p[n + 1] = '\0';
		json_t *j = json_stringn(p, n + 1);
		free(p);
		return j;
	}
	return json_stringn(s, n);
}

/* Scalars as n8n takes them: strings through str_param, the rest as is. */
static json_t *scalar_param(const json_t *v)
{
	if (json_is_string(v))
		return str_param(json_string_value(v), json_string_length(v));
	if (!v)
		return json_string("");
	return json_copy((json_t *)v);
}

/* A JavaScript string literal that is also safe inside n8n's {{ }}: the
 * braces are escaped so "}}" never appears in it. */
static void js_lit(buf_t *b, const char *s, size_t n)
{
	buf_putc(b, '"');
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		switch (c) {
		case '"':
			buf_puts(b, "\\\"");
			break;
		case '\\':
			buf_puts(b, "\\\\");
			break;
		case '\n':
			buf_puts(b, "\\n");
			break;
		case '\r':
			buf_puts(b, "\\r");
			break;
		case '\t':
			buf_puts(b, "\\t");
			break;
		case '{':
		case '}':
			buf_printf(b, "\\u%04x", c);
			break;
		default:
			if (c < 0x20 || c == 0x7f)
				buf_printf(b, "\\u%04x", c);
			else
				buf_putc(b, (char)c);
		}
	}
	buf_putc(b, '"');
}

/* A graph string as a JavaScript expression: exactly one {{ expr }}
 * becomes (expr), keeping the type it evaluates to; anything else is a
 * string concatenation that starts with a literal, so it stays a
 * string. */
static void js_string(buf_t *b, const char *s, size_t n)
{
	if (!has_expr(s, n)) {
		js_lit(b, s, n);
		return;
	}
	if (n >= 4 && s[0] == '{' && s[1] == '{') {
		const char *close = memmem(s + 2, n - 2, "}}", 2);
		str_t inner = close ? str_trim((str_t){s + 2, (size_t)(close - s - 2)})
				    : (str_t){NULL, 0};
		if (close && close + 2 == s + n && inner.len) {
			buf_putc(b, '(');
			buf_append(b, inner.p, inner.len);
			buf_putc(b, ')');
			return;
		}
	}
	buf_putc(b, '(');
	size_t lit = 0, i = 0;
	bool first = true;
	while (i + 1 < n) {
		if (s[i] != '{' || s[i + 1] != '{') {
			i++;
			continue;
		}
		const char *close = memmem(s + i + 2, n - i - 2, "}}", 2);
		if (!close)
			break; /* an unclosed {{ is text */
		if (first || i > lit) {
			if (!first)
				buf_puts(b, " + ");
			js_lit(b, s + lit, i - lit);
			first = false;
		}
		str_t inner = str_trim((str_t){s + i + 2, (size_t)(close - s - i - 2)});
		if (inner.len) {
			buf_puts(b, " + (");
			buf_append(b, inner.p, inner.len);
			buf_putc(b, ')');
		}
		i = (size_t)(close - s) + 2;
		lit = i;
	}
	if (first || lit < n) {
		if (!first)
			buf_puts(b, " + ");
		js_lit(b, s + lit, n - lit);
	}
	buf_putc(b, ')');
}

/* A graph value (maps as {"fields": entries}) as a JavaScript expression
 * building the same value.  Objects are written "{ ... }" with spaces so
 * no "}}" ends n8n's {{ }} early. */
static int js_value(buf_t *b, const json_t *v, int depth)
{
	if (depth > MAX_DEPTH)
		return ERR_INVALID;
	if (json_is_string(v)) {
		js_string(b, json_string_value(v), json_string_length(v));
	} else if (json_is_array(v)) {
		buf_putc(b, '[');
		size_t i;
		const json_t *e;
		json_array_foreach(v, i, e)
		{
			if (i)
				buf_puts(b, ", ");
			int rc = js_value(b, e, depth + 1);
			if (rc)
				return rc;
		}
		buf_putc(b, ']');
	} else if (json_is_object(v)) {
		buf_puts(b, "{ ");
		size_t i;
		const json_t *e;
		json_array_foreach(json_object_get(v, "fields"), i, e)
		{
			const json_t *k = json_object_get(e, "key");
			if (!json_is_string(k))
				return ERR_INVALID;
			if (i)
				buf_puts(b, ", ");
			js_lit(b, json_string_value(k), json_string_length(k));
			buf_puts(b, ": ");
			int rc = js_value(b, json_object_get(e, "value"), depth + 1);
			if (rc)
				return rc;
		}
		buf_puts(b, " }");
	} else if (json_is_number(v)) {
		char *num = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
		if (!num)
			arena_oom(32);
		buf_puts(b, num);
		free(num);
	} else if (json_is_true(v)) {
		buf_puts(b, "true");
	} else if (json_is_false(v)) {
		buf_puts(b, "false");
	} else {
		buf_puts(b, "null");
	}
	return b->err;
}

/* "={{ <before><js of v><after> }}" as a new string. */
static int expr_param(tctx_t *t, const json_t *v, const char *before,
		      const char *after, json_t **out)
{
	buf_t b;
	buf_init(&b, NULL, JS_MAX);
	buf_puts(&b, "={{ ");
	buf_puts(&b, before);
	int rc = js_value(&b, v, 0);
	buf_puts(&b, after);
	buf_puts(&b, " }}");
	if (rc || b.err) {
		rc = rc ? rc : b.err;
		buf_free(&b);
		return fail(t, rc, "a value is too large or too deep to translate");
	}
	*out = json_stringn(b.data, b.len);
	buf_free(&b);
	return 0;
}

/* A value n8n should get as JSON (a JSON body, a set object/array): the
 * JSON text when it holds no expressions, else an expression that builds
 * it. */
static int json_value_param(tctx_t *t, const json_t *v, json_t **out)
{
	if (value_has_expr(v, 0))
		return expr_param(t, v, "", "", out);
	json_t *plain = workflow_plain(v, false);
	char *text = plain ? json_dumps(plain, JSON_ENCODE_ANY | JSON_COMPACT)
			   : NULL;
	json_decref(plain);
	if (!text)
		return fail(t, ERR_INVALID, "a value is nested too deeply to translate");
	*out = json_string(text);
	free(text);
	return 0;
}

/* A value for a string-typed n8n parameter (header, query parameter). */
static int text_param(tctx_t *t, const json_t *v, json_t **out)
{
	if (json_is_string(v) || !v) {
		*out = scalar_param(v);
		return 0;
	}
	if (json_is_null(v)) {
		*out = json_string("");
		return 0;
	}
	if ((json_is_array(v) || json_is_object(v)) && value_has_expr(v, 0))
		return expr_param(t, v, "JSON.stringify(", ")", out);
	return json_value_param(t, v, out);
}

/* ------------------------------------------------------------ nodes */

/* The entries of a map value {"fields": [...]} as n8n's
 * {"parameters": [{name, value}]}; *count gets how many. */
static int keypairs(tctx_t *t, const char *id, const char *what,
		    const json_t *map, json_t **out, size_t *count)
{
	const json_t *fields = json_object_get(map, "fields");
	if (!json_is_array(fields))
		return fail(t, ERR_INVALID, "node \"%s\": %s must be a map", id, what);
	json_t *list = json_array();
	size_t i;
	const json_t *e;
	json_array_foreach(fields, i, e)
	{
		const char *k = str_or_null(json_object_get(e, "key"));
		json_t *val = NULL;
		if (!k) {
			json_decref(list);
			return fail(t, ERR_INVALID, "node \"%s\": %s entry %zu has no key",
				    id, what, i);
		}
		int rc = text_param(t, json_object_get(e, "value"), &val);
		if (rc) {
			json_decref(list);
			return rc;
		}
		json_array_append_new(list, json_pack("{s:s,s:o}", "name", k, "value", val));
	}
	*count = json_array_size(list);
	*out = json_pack("{s:o}", "parameters", list);
	return 0;
}

typedef struct {
	tctx_t *t;
	const char *id;
	const json_t *in; /* the inputs / config entries */
	json_t *params;   /* to fill */
	json_t *node;     /* for node-level keys (webhookId) */
	const char *cred_type; /* the credential the node will carry */
} nctx_t;

static void put_str(json_t *o, const char *key, const char *s)
{
	json_object_set_new(o, key, json_string(s));
}

static int tr_http(nctx_t *c)
{
	json_t *p = c->params;
	const char *method = str_or_null(opt_in(c->in, "method"));
	const json_t *url = opt_in(c->in, "url");
	if (!json_is_string(url))
		return fail(c->t, ERR_INVALID, "node \"%s\": url must be a string", c->id);
	put_str(p, "method", method ? method : "GET");
	json_object_set_new(p, "url", scalar_param(url));
	if (c->cred_type) {
		put_str(p, "authentication", "genericCredentialType");
		put_str(p, "genericAuthType", c->cred_type);
	} else {
		put_str(p, "authentication", "none");
	}
	const json_t *query = opt_in(c->in, "query");
	if (query) {
		json_t *qp;
		size_t n = 0;
		int rc = keypairs(c->t, c->id, "query", query, &qp, &n);
		if (rc)
			return rc;
		if (n) {
			json_object_set_new(p, "sendQuery", json_true());
			put_str(p, "specifyQuery", "keypair");
			json_object_set_new(p, "queryParameters", qp);
		} else {
			json_decref(qp);
		}
	}
	const json_t *headers = opt_in(c->in, "headers");
	const char *ctype = NULL;
	if (headers) {
		json_t *hp;
		size_t n = 0;
		int rc = keypairs(c->t, c->id, "headers", headers, &hp, &n);
		if (rc)
			return rc;
		if (n) {
			json_object_set_new(p, "sendHeaders", json_true());
			put_str(p, "specifyHeaders", "keypair");
			json_object_set_new(p, "headerParameters", hp);
		} else {
			json_decref(hp);
		}
		const json_t *ct = NULL;
		size_t i;
		const json_t *e;
		json_array_foreach(json_object_get(headers, "fields"), i, e)
		{
			const char *k = str_or_null(json_object_get(e, "key"));
			if (k && strcasecmp(k, "Content-Type") == 0)
				ct = json_object_get(e, "value");
		}
		if (json_is_string(ct) && !has_expr(json_string_value(ct),
						    json_string_length(ct)))
			ctype = json_string_value(ct);
	}
	const json_t *body = opt_in(c->in, "body");
	if (body) {
		json_object_set_new(p, "sendBody", json_true());
		if (json_is_string(body)) {
			/* Text goes as it is; a map, list or scalar as JSON. */
			put_str(p, "contentType", "raw");
			put_str(p, "rawContentType", ctype ? ctype : "text/plain");
			json_object_set_new(p, "body", scalar_param(body));
		} else {
			json_t *jb;
			int rc = json_value_param(c->t, body, &jb);
			if (rc)
				return rc;
			put_str(p, "contentType", "json");
			put_str(p, "specifyBody", "json");
			json_object_set_new(p, "jsonBody", jb);
		}
	}
	json_t *options = json_object();
	const json_t *timeout = opt_in(c->in, "timeoutSeconds");
	if (json_is_number(timeout)) {
		json_object_set_new(options, "timeout",
				    json_integer((json_int_t)(json_number_value(timeout) * 1000.0 + 0.5)));
	} else if (json_is_string(timeout)) {
		json_t *tv;
		int rc = expr_param(c->t, timeout, "Number(", ") * 1000", &tv);
		if (rc) {
			json_decref(options);
			return rc;
		}
		json_object_set_new(options, "timeout", tv);
	}
	json_object_set_new(p, "options", options);
	return 0;
}

static int tr_set(nctx_t *c)
{
	const json_t *fields = json_object_get(opt_in(c->in, "fields"), "fields");
	if (!json_is_array(fields))
		return fail(c->t, ERR_INVALID, "node \"%s\": fields must be a map", c->id);
	json_t *list = json_array();
	size_t i;
	const json_t *e;
	json_array_foreach(fields, i, e)
	{
		const char *k = str_or_null(json_object_get(e, "key"));
		const json_t *v = json_object_get(e, "value");
		if (!k) {
			json_decref(list);
			return fail(c->t, ERR_INVALID, "node \"%s\": fields entry %zu has no key",
				    c->id, i);
		}
		const char *type;
		json_t *val = NULL;
		int rc = 0;
		if (json_is_string(v)) {
			type = "string";
			val = scalar_param(v);
		} else if (json_is_number(v)) {
			type = "number";
			val = json_copy((json_t *)v);
		} else if (json_is_boolean(v)) {
			type = "boolean";
			val = json_copy((json_t *)v);
		} else if (json_is_array(v)) {
			type = "array";
			rc = json_value_param(c->t, v, &val);
		} else if (json_is_object(v)) {
			type = "object";
			rc = json_value_param(c->t, v, &val);
		} else {
			type = "string";
			val = json_string("={{ null }}");
		}
		if (rc) {
			json_decref(list);
			return rc;
		}
		char idx[32], uuid[37];
		snprintf(idx, sizeof idx, "%zu", i);
		det_uuid(uuid, "assignment", c->id, idx);
		json_array_append_new(list, json_pack("{s:s,s:s,s:o,s:s}", "id", uuid,
						      "name", k, "value", val,
						      "type", type));
	}
	json_t *p = c->params;
	put_str(p, "mode", "manual");
	json_object_set_new(p, "duplicateItem", json_false());
	json_object_set_new(p, "assignments", json_pack("{s:o}", "assignments", list));
	/* Edit Fields (3.3+) keeps only the set fields unless told to include
	 * the others; our default is to keep them. */
	const json_t *only = opt_in(c->in, "keepOnlySet");
	if (json_is_string(only)) {
		json_t *neg;
		int rc = expr_param(c->t, only, "!", "", &neg);
		if (rc)
			return rc;
		json_object_set_new(p, "includeOtherFields", neg);
	} else {
		json_object_set_new(p, "includeOtherFields",
				    json_boolean(!json_is_true(only)));
	}
	/* A {{ expression }} set as a string may evaluate to a number or an
	 * object: let it through as it is rather than fail the run. */
	json_object_set_new(p, "options",
			    json_pack("{s:b}", "ignoreConversionErrors", 1));
	return 0;
}

typedef struct {
	const char *ours;
	const char *type;      /* NULL: by the values compared */
	const char *operation;
	bool single;           /* no right-hand value */
} op_map_t;

static const op_map_t ops[] = {
	{"equals", NULL, "equals", false},
	{"notEquals", NULL, "notEquals", false},
	{"contains", "string", "contains", false},
	{"notContains", "string", "notContains", false},
	{"startsWith", "string", "startsWith", false},
	{"endsWith", "string", "endsWith", false},
	{"gt", "number", "gt", false},
	{"gte", "number", "gte", false},
	{"lt", "number", "lt", false},
	{"lte", "number", "lte", false},
	{"isEmpty", "string", "empty", true},
	{"isNotEmpty", "string", "notEmpty", true},
};

static const char *compare_type(const json_t *left, const json_t *right)
{
	for (int i = 0; i < 2; i++) {
		const json_t *v = i ? left : right;
		if (json_is_number(v))
			return "number";
		if (json_is_boolean(v))
			return "boolean";
	}
	return "string";
}

static int tr_if(nctx_t *c)
{
	const json_t *conds = opt_in(c->in, "conditions");
	if (!json_is_array(conds))
		return fail(c->t, ERR_INVALID, "node \"%s\": conditions must be a list",
			    c->id);
	json_t *list = json_array();
	size_t i;
	const json_t *cond;
	json_array_foreach(conds, i, cond)
	{
		json_t *m = workflow_plain(cond, false);
		const char *op = str_or_null(json_object_get(m, "operator"));
		const op_map_t *map = NULL;
		for (size_t k = 0; op && k < sizeof ops / sizeof *ops; k++)
			if (strcmp(ops[k].ours, op) == 0)
				map = &ops[k];
		if (!map) {
			json_decref(m);
			json_decref(list);
			return fail(c->t, ERR_INVALID,
				    "node \"%s\": condition %zu has no known operator", c->id, i);
		}
		const json_t *left = json_object_get(m, "left");
		const json_t *right = json_object_get(m, "right");
		json_t *opj = json_pack("{s:s,s:s}", "type",
					map->type ? map->type : compare_type(left, right),
					"operation", map->operation);
		if (map->single)
			json_object_set_new(opj, "singleValue", json_true());
		char idx[32], uuid[37];
		snprintf(idx, sizeof idx, "%zu", i);
		det_uuid(uuid, "condition", c->id, idx);
		json_array_append_new(
			list, json_pack("{s:s,s:o,s:o,s:o}", "id", uuid, "leftValue",
					json_is_null(left) ? json_string("") : scalar_param(left),
					"rightValue",
					map->single || json_is_null(right) ? json_string("")
									   : scalar_param(right),
					"operator", opj));
		json_decref(m);
	}
	const char *comb = str_or_null(opt_in(c->in, "combinator"));
	/* Loose type validation: form and webhook data arrive as strings,
	 * and "10000" must compare as a number instead of failing the run. */
	json_object_set_new(
		c->params, "conditions",
		json_pack("{s:{s:b,s:s,s:s},s:o,s:s}", "options", "caseSensitive", 1,
			  "leftValue", "", "typeValidation", "loose", "conditions",
			  list, "combinator", comb ? comb : "and"));
	json_object_set_new(c->params, "options",
			    json_pack("{s:b,s:b}", "ignoreCase", 0,
				      "looseTypeValidation", 1));
	return 0;
}

/* A Slack channel given as an id (C0123ABCD) or as a name (#sales). */
static bool slack_id(const char *s)
{
	size_t n = strlen(s);
	if (n < 9 || (s[0] != 'C' && s[0] != 'G' && s[0] != 'D'))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!isupper((unsigned char)s[i]) && !isdigit((unsigned char)s[i]))
			return false;
	return true;
}

static int tr_slack(nctx_t *c)
{
	const json_t *channel = opt_in(c->in, "channel");
	const json_t *text = opt_in(c->in, "text");
	if (!json_is_string(channel) || !json_is_string(text))
		return fail(c->t, ERR_INVALID, "node \"%s\": channel and text must be strings",
			    c->id);
	json_t *p = c->params;
	put_str(p, "resource", "message");
	put_str(p, "operation", "post");
	put_str(p, "select", "channel");
	json_object_set_new(p, "channelId",
			    json_pack("{s:b,s:s,s:o}", "__rl", 1, "mode",
				      slack_id(json_string_value(channel)) ? "id" : "name",
				      "value", scalar_param(channel)));
	put_str(p, "messageType", "text");
	json_object_set_new(p, "text", scalar_param(text));
	json_t *other = json_object();
	const json_t *ts = opt_in(c->in, "threadTs");
	if (ts)
		json_object_set_new(other, "thread_ts",
				    json_pack("{s:{s:o}}", "replyValues", "thread_ts",
					      scalar_param(ts)));
	json_object_set_new(p, "otherOptions", other);
	return 0;
}

static bool is_html(const nctx_t *c)
{
	const char *t = str_or_null(opt_in(c->in, "bodyType"));
	return t && strcmp(t, "html") == 0;
}

static int need_strings(nctx_t *c, const char *const *keys)
{
	for (size_t i = 0; keys[i]; i++)
		if (!json_is_string(opt_in(c->in, keys[i])))
			return fail(c->t, ERR_INVALID, "node \"%s\": %s must be a string",
				    c->id, keys[i]);
	return 0;
}

static void put_opt(nctx_t *c, json_t *o, const char *ours, const char *theirs)
{
	const json_t *v = opt_in(c->in, ours);
	if (v)
		json_object_set_new(o, theirs, scalar_param(v));
}

static int tr_gmail(nctx_t *c)
{
	static const char *const req[] = {"to", "subject", "body", NULL};
	int rc = need_strings(c, req);
	if (rc)
		return rc;
	json_t *p = c->params;
	put_str(p, "resource", "message");
	put_str(p, "operation", "send");
	json_object_set_new(p, "sendTo", scalar_param(opt_in(c->in, "to")));
	json_object_set_new(p, "subject", scalar_param(opt_in(c->in, "subject")));
	put_str(p, "emailType", is_html(c) ? "html" : "text");
	json_object_set_new(p, "message", scalar_param(opt_in(c->in, "body")));
	json_t *o = json_pack("{s:b}", "appendAttribution", 0);
	put_opt(c, o, "cc", "ccList");
	put_opt(c, o, "bcc", "bccList");
	json_object_set_new(p, "options", o);
	return 0;
}

static int tr_smtp(nctx_t *c)
{
	static const char *const req[] = {"from", "to", "subject", "body", NULL};
	int rc = need_strings(c, req);
	if (rc)
		return rc;
	json_t *p = c->params;
	bool html = is_html(c);
	json_object_set_new(p, "fromEmail", scalar_param(opt_in(c->in, "from")));
	json_object_set_new(p, "toEmail", scalar_param(opt_in(c->in, "to")));
	json_object_set_new(p, "subject", scalar_param(opt_in(c->in, "subject")));
	put_str(p, "emailFormat", html ? "html" : "text");
	json_object_set_new(p, html ? "html" : "text",
			    scalar_param(opt_in(c->in, "body")));
	json_t *o = json_pack("{s:b}", "appendAttribution", 0);
	put_opt(c, o, "cc", "ccEmail");
	put_opt(c, o, "bcc", "bccEmail");
	json_object_set_new(p, "options", o);
	return 0;
}

static void set_webhook_id(nctx_t *c, const char *seed)
{
	char uuid[37];
	det_uuid(uuid, "webhook", c->id, seed);
	put_str(c->node, "webhookId", uuid);
}

static int tr_wait(nctx_t *c)
{
	const json_t *amount = opt_in(c->in, "amount");
	const char *unit = str_or_null(opt_in(c->in, "unit"));
	if (!amount || !unit)
		return fail(c->t, ERR_INVALID, "node \"%s\": amount and unit are required",
			    c->id);
	put_str(c->params, "resume", "timeInterval");
	json_object_set_new(c->params, "amount", scalar_param(amount));
	put_str(c->params, "unit", unit);
	/* n8n gives every Wait node a webhook id (its resume URL). */
	set_webhook_id(c, "wait");
	return 0;
}

/* The webhook node both a webhook trigger and a Canopy event become. */
static int webhook_params(nctx_t *c, const char *method, const char *path)
{
	const char *prefix = c->t->opts ? c->t->opts->webhook_path_prefix : NULL;
	buf_t full;
	buf_init(&full, NULL, 1u << 16);
	buf_puts(&full, prefix ? prefix : "");
	buf_puts(&full, path);
	if (full.err) {
		buf_free(&full);
		return fail(c->t, ERR_TOO_LARGE, "trigger \"%s\": the webhook path prefix is too long",
			    c->id);
	}
	const char *p = buf_cstr(&full);
	while (*p == '/')
		p++;
	put_str(c->params, "httpMethod", method);
	put_str(c->params, "path", p);
	put_str(c->params, "responseMode", "onReceived");
	json_object_set_new(c->params, "options", json_object());
	/* Without a webhookId n8n serves the path under
	 * <workflow id>/<node name>/; with one, at <path> itself. */
	char seed[300];
	snprintf(seed, sizeof seed, "%s %.256s", method, p);
	set_webhook_id(c, seed);
	buf_free(&full);
	return 0;
}

static int tr_webhook(nctx_t *c)
{
	const char *path = str_or_null(opt_in(c->in, "path"));
	const char *method = str_or_null(opt_in(c->in, "method"));
	if (!path)
		return fail(c->t, ERR_INVALID, "trigger \"%s\": path is required", c->id);
	return webhook_params(c, method ? method : "POST", path);
}

static int tr_schedule(nctx_t *c)
{
	const char *cron = str_or_null(opt_in(c->in, "cron"));
	const char *tz = str_or_null(opt_in(c->in, "timezone"));
	if (!cron)
		return fail(c->t, ERR_INVALID, "trigger \"%s\": cron is required", c->id);
	if (!tz)
		tz = "UTC";
	if (c->t->tz && strcmp(c->t->tz, tz) != 0)
		return fail(c->t, ERR_INVALID,
			    "trigger \"%s\": n8n runs all schedules of a workflow in one "
			    "time zone, and another schedule uses %s, not %s",
			    c->id, c->t->tz, tz);
	c->t->tz = tz;
	c->t->schedule = true;
	json_object_set_new(c->params, "rule",
			    json_pack("{s:[{s:s,s:s}]}", "interval", "field",
				      "cronExpression", "expression", cron));
	return 0;
}

/* How a Canopy event reaches n8n: Canopy calls the workflow's webhook at
 * events/<event>; "manual" is n8n's run-by-hand trigger. */
#define EVENT_PATH "events/"

static int tr_event(nctx_t *c)
{
	const char *ev = str_or_null(opt_in(c->in, "event"));
	if (!ev)
		return fail(c->t, ERR_INVALID, "trigger \"%s\": event is required", c->id);
	if (strcmp(ev, "manual") == 0)
		return 0;
	char path[128];
	snprintf(path, sizeof path, EVENT_PATH "%.64s", ev);
	return webhook_params(c, "POST", path);
}

typedef struct {
	const char *canopy;
	bool trigger;
	const char *type;
	double version;
	int (*fn)(nctx_t *c);
} map_t;

/* The one table of what each vocabulary type becomes; VOCABULARY.md
 * lists it for people and the unit test checks every vocabulary type is
 * here. */
static const map_t map[] = {
	{"webhook", true, "n8n-nodes-base.webhook", 2, tr_webhook},
	{"schedule", true, "n8n-nodes-base.scheduleTrigger", 1.2, tr_schedule},
	{"event", true, "n8n-nodes-base.webhook", 2, tr_event},
	{"http", false, "n8n-nodes-base.httpRequest", 4.2, tr_http},
	{"set", false, "n8n-nodes-base.set", 3.4, tr_set},
	{"if", false, "n8n-nodes-base.if", 2, tr_if},
	{"slack", false, "n8n-nodes-base.slack", 2.2, tr_slack},
	{"gmail", false, "n8n-nodes-base.gmail", 2.1, tr_gmail},
	{"smtp", false, "n8n-nodes-base.emailSend", 2.1, tr_smtp},
	{"wait", false, "n8n-nodes-base.wait", 1.1, tr_wait},
};

static const map_t *map_find(const char *type, bool trigger)
{
	for (size_t i = 0; type && i < sizeof map / sizeof *map; i++)
		if (map[i].trigger == trigger && strcmp(map[i].canopy, type) == 0)
			return &map[i];
	return NULL;
}

static json_t *version_json(double v)
{
	if (v == (double)(json_int_t)v)
		return json_integer((json_int_t)v);
	return json_real(v);
}

const char *translate_n8n_credential_type(const char *canopy_type,
					  const json_t *node_inputs)
{
	if (!canopy_type)
		return NULL;
	if (strcmp(canopy_type, "slack") == 0)
		return "slackApi";
	if (strcmp(canopy_type, "gmail") == 0)
		return "gmailOAuth2";
	if (strcmp(canopy_type, "smtp") == 0)
		return "smtp";
	if (strcmp(canopy_type, "http") != 0)
		return NULL;
	const json_t *a = json_is_object(node_inputs)
				  ? json_object_get(node_inputs, "authentication")
				  : workflow_entry(node_inputs, "authentication");
	const char *auth = str_or_null(a);
	if (!auth)
		return NULL;
	if (strcmp(auth, "bearer") == 0)
		return "httpBearerAuth";
	if (strcmp(auth, "basic") == 0)
		return "httpBasicAuth";
	if (strcmp(auth, "header") == 0)
		return "httpHeaderAuth";
	return NULL;
}

/* ------------------------------------------------------------ graph */

/* A unique, human node name from an id: "send-mail" -> "Send mail". */
static int name_for(tctx_t *t, const char *id, const char **out)
{
	if (json_object_get(t->names, id))
		return fail(t, ERR_INVALID, "duplicate id \"%.64s\"", id);
	char base[80];
	size_t n = 0;
	for (const char *p = id; *p && n < sizeof base - 1; p++) {
		char ch = (*p == '-' || *p == '_') ? ' ' : *p;
		base[n] = n == 0 ? (char)toupper((unsigned char)ch) : ch;
		n++;
	}
	base[n] = '\0';
	char name[96];
	snprintf(name, sizeof name, "%s", base);
	for (int k = 2; json_object_get(t->taken, name); k++)
		snprintf(name, sizeof name, "%s %d", base, k);
	json_object_set_new(t->taken, name, json_true());
	json_object_set_new(t->names, id, json_string(name));
	*out = json_string_value(json_object_get(t->names, id));
	return 0;
}

/* The workflow name cut to n8n's 128 UTF-16 units, on a character
 * boundary. */
static json_t *workflow_name(const json_t *name)
{
	const char *s = json_string_value(name);
	size_t len = json_string_length(name), units = 0, i = 0;
	while (i < len) {
		unsigned char c = (unsigned char)s[i];
		size_t step = c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
		size_t u = step == 4 ? 2 : 1;
		if (units + u > NAME_MAX_UNITS || i + step > len)
			break;
		units += u;
		i += step;
	}
	return json_stringn(s, i);
}

typedef struct {
	const json_t *obj;
	const char *id;
	const char *type;
	bool trigger;
	const workflow_type_t *vocab;
	int depth;
	int row;
	json_t *node; /* the n8n node (borrowed from the nodes array) */
} vert_t;

static long vert_of(const json_t *ids, const char *id)
{
	const json_t *ix = id ? json_object_get(ids, id) : NULL;
	return ix ? (long)json_integer_value(ix) : -1;
}

static int port_index(const char *const *ports, size_t max, const char *port)
{
	for (size_t i = 0; i < max && ports[i]; i++)
		if (port && strcmp(ports[i], port) == 0)
			return (int)i;
	return -1;
}

/* Longest path from a trigger, by Kahn's algorithm over the edges; a
 * vertex on a cycle (not possible after validation) keeps depth 0. */
static void layout(vert_t *v, size_t nv, const long *from, const long *to,
		   size_t ne)
{
	size_t *indeg = xcalloc(nv ? nv : 1, sizeof *indeg);
	size_t *queue = xcalloc(nv ? nv : 1, sizeof *queue);
	for (size_t e = 0; e < ne; e++)
		indeg[to[e]]++;
	size_t head = 0, tail = 0;
	for (size_t i = 0; i < nv; i++)
		if (indeg[i] == 0)
			queue[tail++] = i;
	while (head < tail) {
		size_t u = queue[head++];
		for (size_t e = 0; e < ne; e++) {
			if ((size_t)from[e] != u)
				continue;
			size_t w = (size_t)to[e];
			if (v[u].depth + 1 > v[w].depth)
				v[w].depth = v[u].depth + 1;
			if (--indeg[w] == 0)
				queue[tail++] = w;
		}
	}
	int maxd = 0;
	for (size_t i = 0; i < nv; i++)
		if (v[i].depth > maxd)
			maxd = v[i].depth;
	for (int d = 0; d <= maxd; d++) {
		int count = 0;
		for (size_t i = 0; i < nv; i++)
			if (v[i].depth == d)
				count++;
		int row = 0;
		for (size_t i = 0; i < nv; i++)
			if (v[i].depth == d)
				v[i].row = (2 * row++ - (count - 1)) * (Y_STEP / 2);
	}
	free(indeg);
	free(queue);
}

static int credentials_for(tctx_t *t, const char *id, const char *auth_ref,
			   const char *ctype, json_t *node)
{
	if (!ctype)
		return fail(t, ERR_INVALID,
			    "node \"%s\" has authRef \"%s\" but its type takes no credential",
			    id, auth_ref);
	translate_n8n_cred_t cred = {0};
	int rc = ERR_NOT_FOUND;
	if (t->opts && t->opts->credential)
		rc = t->opts->credential(t->opts->ctx, auth_ref, ctype, &cred);
	if (rc == ERR_NOT_FOUND || (rc == 0 && !cred.id))
		return fail(t, ERR_NOT_FOUND,
			    "node \"%s\": no n8n credential for authRef \"%s\" (type %s)",
			    id, auth_ref, ctype);
	if (rc)
		return fail(t, rc, "node \"%s\": looking up authRef \"%s\" failed", id,
			    auth_ref);
	json_object_set_new(node, "credentials",
			    json_pack("{s:{s:s,s:s}}", ctype, "id", cred.id, "name",
				      cred.name ? cred.name : auth_ref));
	return 0;
}

static int build_node(tctx_t *t, vert_t *v, json_t *nodes)
{
	const map_t *m = map_find(v->type, v->trigger);
	if (!m)
		return fail(t, ERR_INVALID, "%s \"%s\": type \"%s\" has no n8n translation",
			    v->trigger ? "trigger" : "node", v->id,
			    v->type ? v->type : "(none)");
	const char *name = NULL;
	int rc = name_for(t, v->id, &name);
	if (rc)
		return rc;
	const json_t *in = json_object_get(v->obj, v->trigger ? "config" : "inputs");
	const char *auth_ref = str_or_null(json_object_get(v->obj, "authRef"));
	const char *ctype = v->trigger ? NULL
				       : translate_n8n_credential_type(v->type, in);
	char uuid[37];
	det_uuid(uuid, "node", v->id, NULL);
	json_t *node = json_object();
	put_str(node, "id", uuid);
	put_str(node, "name", name);
	const char *type = m->type;
	double version = m->version;
	/* A manual event is n8n's manual trigger, not a webhook. */
	const char *ev = str_or_null(opt_in(in, "event"));
	if (strcmp(v->type, "event") == 0 && ev && strcmp(ev, "manual") == 0) {
		type = "n8n-nodes-base.manualTrigger";
		version = 1;
	}
	put_str(node, "type", type);
	json_object_set_new(node, "typeVersion", version_json(version));
	json_object_set_new(node, "position", json_pack("[i,i]", v->depth * X_STEP, v->row));
	json_t *params = json_object();
	nctx_t c = {.t = t, .id = v->id, .in = in, .params = params, .node = node,
		    .cred_type = auth_ref ? ctype : NULL};
	rc = m->fn(&c);
	json_object_set_new(node, "parameters", params);
	if (!rc && auth_ref)
		rc = credentials_for(t, v->id, auth_ref, ctype, node);
	json_array_append_new(nodes, node);
	v->node = node;
	return rc;
}

static int add_link(tctx_t *t, json_t *conns, const vert_t *from, int out_ix,
		   const vert_t *to, int in_ix)
{
	const char *fname = json_string_value(json_object_get(from->node, "name"));
	const char *tname = json_string_value(json_object_get(to->node, "name"));
	if (!fname || !tname)
		return fail(t, ERR_INTERNAL, "edge between unnamed nodes");
	json_t *src = json_object_get(conns, fname);
	if (!src) {
		src = json_pack("{s:[]}", "main");
		json_object_set_new(conns, fname, src);
	}
	json_t *outs = json_object_get(src, "main");
	while (json_array_size(outs) <= (size_t)out_ix)
		json_array_append_new(outs, json_array());
	json_array_append_new(json_array_get(outs, (size_t)out_ix),
			      json_pack("{s:s,s:s,s:i}", "node", tname, "type", "main",
					"index", in_ix));
	return 0;
}

static int translate(tctx_t *t, const json_t *graph, json_t **out)
{
	const json_t *name = json_object_get(graph, "name");
	const json_t *triggers = json_object_get(graph, "triggers");
	const json_t *gnodes = json_object_get(graph, "nodes");
	const json_t *edges = json_object_get(graph, "edges");
	if (!json_is_string(name) || !json_string_length(name) ||
	    !json_is_array(triggers) || !json_is_array(gnodes) ||
	    (edges && !json_is_array(edges)))
		return fail(t, ERR_INVALID,
			    "not a workflow graph (name, triggers, nodes, edges)");
	size_t nt = json_array_size(triggers), nn = json_array_size(gnodes);
	size_t nv = nt + nn, ne = json_array_size(edges);
	vert_t *v = xcalloc(nv ? nv : 1, sizeof *v);
	long *from = xcalloc(ne ? ne : 1, sizeof *from);
	long *to = xcalloc(ne ? ne : 1, sizeof *to);
	int *out_ix = xcalloc(ne ? ne : 1, sizeof *out_ix);
	int *in_ix = xcalloc(ne ? ne : 1, sizeof *in_ix);
	json_t *ids = json_object();
	json_t *nodes = json_array();
	json_t *conns = json_object();
	int rc = 0;

	for (size_t i = 0; i < nv && !rc; i++) {
		v[i].trigger = i < nt;
		v[i].obj = json_array_get(v[i].trigger ? triggers : gnodes,
					  v[i].trigger ? i : i - nt);
		v[i].id = str_or_null(json_object_get(v[i].obj, "id"));
		v[i].type = str_or_null(json_object_get(v[i].obj, "type"));
		v[i].vocab = workflow_vocab_find(v[i].type);
		if (!v[i].id || !v[i].vocab || v[i].vocab->trigger != v[i].trigger)
			rc = fail(t, ERR_INVALID, "%s %zu: missing id or unknown type",
				  v[i].trigger ? "trigger" : "node",
				  v[i].trigger ? i : i - nt);
		else if (json_object_get(ids, v[i].id))
			rc = fail(t, ERR_INVALID, "duplicate id \"%.64s\"", v[i].id);
		else
			json_object_set_new(ids, v[i].id, json_integer((json_int_t)i));
	}
	for (size_t e = 0; e < ne && !rc; e++) {
		const json_t *ej = json_array_get(edges, e);
		const char *fid = str_or_null(json_object_get(ej, "fromNodeId"));
		const char *tid = str_or_null(json_object_get(ej, "toNodeId"));
		const char *fp = str_or_null(json_object_get(ej, "fromPort"));
		const char *tp = str_or_null(json_object_get(ej, "toPort"));
		from[e] = vert_of(ids, fid);
		to[e] = vert_of(ids, tid);
		if (from[e] < 0 || to[e] < 0 || v[to[e]].trigger) {
			rc = fail(t, ERR_INVALID, "edge %zu: no such source or target", e);
			break;
		}
		out_ix[e] = port_index(v[from[e]].vocab->out_ports, 4, fp);
		in_ix[e] = port_index(v[to[e]].vocab->in_ports, 2, tp);
		if (out_ix[e] < 0 || in_ix[e] < 0)
			rc = fail(t, ERR_INVALID, "edge %zu: unknown port", e);
	}
	if (!rc) {
		layout(v, nv, from, to, ne);
		for (size_t i = 0; i < nv && !rc; i++)
			rc = build_node(t, &v[i], nodes);
	}
	for (size_t e = 0; e < ne && !rc; e++)
		rc = add_link(t, conns, &v[from[e]], out_ix[e], &v[to[e]], in_ix[e]);
	if (!rc) {
		json_t *settings = json_pack("{s:s}", "executionOrder", "v1");
		if (t->schedule)
			put_str(settings, "timezone", t->tz);
		*out = json_pack("{s:o,s:O,s:O,s:o}", "name", workflow_name(name),
				 "nodes", nodes, "connections", conns, "settings",
				 settings);
		if (!*out)
			rc = fail(t, ERR_INTERNAL, "could not build the workflow");
	}
	json_decref(nodes);
	json_decref(conns);
	json_decref(ids);
	free(v);
	free(from);
	free(to);
	free(out_ix);
	free(in_ix);
	return rc;
}

int translate_n8n(const json_t *graph, const translate_n8n_opts_t *opts,
		  json_t **out, char *err, size_t errlen)
{
	*out = NULL;
	if (err && errlen)
		err[0] = '\0';
	tctx_t t = {.opts = opts, .err = err, .errlen = errlen,
		    .names = json_object(), .taken = json_object()};
	int rc = json_is_object(graph)
			 ? translate(&t, graph, out)
			 : fail(&t, ERR_INVALID, "the workflow graph is not an object");
	json_decref(t.names);
	json_decref(t.taken);
	if (rc) {
		json_decref(*out);
		*out = NULL;
	}
	return rc;
}

const char *translate_n8n_webhook_path(const json_t *n8n_workflow)
{
	size_t i;
	const json_t *n;
	json_array_foreach(json_object_get(n8n_workflow, "nodes"), i, n)
	{
		const char *type = str_or_null(json_object_get(n, "type"));
		if (type && strcmp(type, "n8n-nodes-base.webhook") == 0)
			return str_or_null(
				json_object_get(json_object_get(n, "parameters"), "path"));
	}
	return NULL;
}
