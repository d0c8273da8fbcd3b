#include "workflow.h"

#include <ctype.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "arena.h"

/* ------------------------------------------------------------ vocabulary */

#define REQ(k, kd, d) {.key = (k), .kind = (kd), .required = true, .doc = (d)}
#define OPT(k, kd, d) {.key = (k), .kind = (kd), .doc = (d)}
#define NUM(k, req, lo, hi, d)                                           \
	{.key = (k), .kind = WORKFLOW_IN_NUMBER, .required = (req),      \
	 .min = (lo), .max = (hi), .doc = (d)}
#define CHOICE(k, req, d, ...)                                           \
	{.key = (k), .kind = WORKFLOW_IN_ENUM, .required = (req),        \
	 .choices = {__VA_ARGS__}, .doc = (d)}

/* The one table of what a graph may contain; schema/VOCABULARY.md
 * describes it for people and for the model's system prompt, and
 * tests/check_workflow.c keeps it equal to the schema's enums. */
static const workflow_type_t vocab[] = {
	{
		.type = "webhook",
		.trigger = true,
		.out_ports = {"main"},
		.inputs = {
			REQ("path", WORKFLOW_IN_PATH,
			    "path under the builder's webhook URL, e.g. contact-form"),
			CHOICE("method", false, "HTTP method, default POST",
			       "GET", "POST", "PUT", "PATCH", "DELETE"),
		},
		.doc = "Starts the workflow when an HTTP request arrives.",
	},
	{
		.type = "schedule",
		.trigger = true,
		.out_ports = {"main"},
		.inputs = {
			REQ("cron", WORKFLOW_IN_CRON,
			    "5-field cron expression, e.g. 0 9 * * MON-FRI"),
			OPT("timezone", WORKFLOW_IN_TIMEZONE,
			    "IANA time zone, default UTC"),
		},
		.doc = "Starts the workflow on a schedule.",
	},
	{
		.type = "event",
		.trigger = true,
		.out_ports = {"main"},
		.inputs = {
			REQ("event", WORKFLOW_IN_EVENT,
			    "Canopy event, e.g. form.submitted; manual = run by hand"),
		},
		.doc = "Starts the workflow on a Canopy event or by hand (manual).",
	},
	{
		.type = "http",
		.actions = {"request"},
		.in_ports = {"main"},
		.out_ports = {"main"},
		.auth = WORKFLOW_AUTH_BY_INPUT,
		.inputs = {
			CHOICE("method", true, "HTTP method", "GET", "POST",
			       "PUT", "PATCH", "DELETE", "HEAD"),
			REQ("url", WORKFLOW_IN_URL,
			    "https URL; its host must be on ALLOWED_OUTBOUND_HOSTS"),
			OPT("headers", WORKFLOW_IN_MAP,
			    "header name -> value (no credentials)"),
			OPT("query", WORKFLOW_IN_MAP, "query parameter -> value"),
			OPT("body", WORKFLOW_IN_ANY, "request body (a map is sent as JSON)"),
			CHOICE("authentication", false,
			       "credential use; anything but none needs authRef",
			       "none", "bearer", "basic", "header"),
			NUM("timeoutSeconds", false, 1, 300, "1 to 300, default 30"),
		},
		.doc = "Calls an HTTP API.",
	},
	{
		.type = "set",
		.actions = {"set"},
		.in_ports = {"main"},
		.out_ports = {"main"},
		.inputs = {
			REQ("fields", WORKFLOW_IN_MAP,
			    "field name -> value or {{ expression }}"),
			OPT("keepOnlySet", WORKFLOW_IN_BOOLEAN,
			    "drop the fields not set here, default false"),
		},
		.doc = "Sets or transforms fields of the item.",
	},
	{
		.type = "if",
		.actions = {"condition"},
		.in_ports = {"main"},
		.out_ports = {"true", "false"},
		.inputs = {
			REQ("conditions", WORKFLOW_IN_CONDITIONS,
			    "list of {left, operator, right} maps"),
			CHOICE("combinator", false, "how conditions combine, default and",
			       "and", "or"),
		},
		.doc = "Routes the item to true or false.",
	},
	{
		.type = "slack",
		.actions = {"postMessage"},
		.in_ports = {"main"},
		.out_ports = {"main"},
		.auth = WORKFLOW_AUTH_REQUIRED,
		.inputs = {
			REQ("channel", WORKFLOW_IN_STRING, "channel name (#sales) or id"),
			REQ("text", WORKFLOW_IN_STRING, "message text"),
			OPT("threadTs", WORKFLOW_IN_STRING, "reply in this thread"),
		},
		.doc = "Posts a Slack message.",
	},
	{
		.type = "gmail",
		.actions = {"send"},
		.in_ports = {"main"},
		.out_ports = {"main"},
		.auth = WORKFLOW_AUTH_REQUIRED,
		.inputs = {
			REQ("to", WORKFLOW_IN_STRING, "recipients, comma-separated"),
			REQ("subject", WORKFLOW_IN_STRING, "subject line"),
			REQ("body", WORKFLOW_IN_STRING, "message body"),
			OPT("cc", WORKFLOW_IN_STRING, "copy recipients"),
			OPT("bcc", WORKFLOW_IN_STRING, "blind copy recipients"),
			CHOICE("bodyType", false, "default text", "text", "html"),
		},
		.doc = "Sends an email through a Gmail account.",
	},
	{
		.type = "smtp",
		.actions = {"send"},
		.in_ports = {"main"},
		.out_ports = {"main"},
		.auth = WORKFLOW_AUTH_REQUIRED,
		.inputs = {
			REQ("from", WORKFLOW_IN_STRING, "sender address"),
			REQ("to", WORKFLOW_IN_STRING, "recipients, comma-separated"),
			REQ("subject", WORKFLOW_IN_STRING, "subject line"),
			REQ("body", WORKFLOW_IN_STRING, "message body"),
			OPT("cc", WORKFLOW_IN_STRING, "copy recipients"),
			OPT("bcc", WORKFLOW_IN_STRING, "blind copy recipients"),
			CHOICE("bodyType", false, "default text", "text", "html"),
		},
		.doc = "Sends an email through an SMTP server.",
	},
	{
		.type = "wait",
		.actions = {"delay"},
		.in_ports = {"main"},
		.out_ports = {"main"},
		.inputs = {
			NUM("amount", true, 1, 1000000, "how long, in unit"),
			CHOICE("unit", true, "time unit", "seconds", "minutes",
			       "hours", "days"),
		},
		.doc = "Pauses before the next step (30 days at most).",
	},
};

const workflow_type_t *workflow_vocab(size_t *count)
{
	*count = sizeof vocab / sizeof *vocab;
	return vocab;
}

const workflow_type_t *workflow_vocab_find(const char *type)
{
	if (!type)
		return NULL;
	for (size_t i = 0; i < sizeof vocab / sizeof *vocab; i++)
		if (strcmp(vocab[i].type, type) == 0)
			return &vocab[i];
	return NULL;
}

static bool in_list(const char *const *list, size_t max, const char *s,
		    size_t len)
{
	for (size_t i = 0; i < max && list[i]; i++)
		if (strlen(list[i]) == len && memcmp(list[i], s, len) == 0)
			return true;
	return false;
}

static void join_list(const char *const *list, size_t max, char *out,
		      size_t outlen)
{
	size_t used = 0;
	out[0] = '\0';
	for (size_t i = 0; i < max && list[i]; i++) {
		int w = snprintf(out + used, outlen - used, "%s%s",
				 i ? ", " : "", list[i]);
		if (w < 0 || (size_t)w >= outlen - used)
			break;
		used += (size_t)w;
	}
}

/* ------------------------------------------------------------ hosts */

struct workflow_hosts {
	char **entries; /* lower case; "*.x" kept with its "*." */
	size_t n;
};

void workflow_hosts_free(workflow_hosts_t *h)
{
	if (!h)
		return;
	for (size_t i = 0; i < h->n; i++)
		free(h->entries[i]);
	free(h->entries);
	free(h);
}

static bool host_chars_ok(const char *s, size_t n)
{
	if (n == 0 || n > 253 || s[0] == '.' || s[n - 1] == '.')
		return false;
	bool colon = memchr(s, ':', n) != NULL;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (colon) { /* IPv6 literal */
			if (!isxdigit(c) && c != ':' && c != '.')
				return false;
		} else if (!isalnum(c) && c != '-' && c != '.') {
			return false;
		} else if (c == '.' && s[i + 1] == '.') {
			return false;
		}
	}
	return true;
}

int workflow_hosts_parse(const char *list, workflow_hosts_t **out,
			 char *err, size_t errlen)
{
	workflow_hosts_t *h = xcalloc(1, sizeof *h);
	const char *p = list ? list : "";
	while (*p) {
		const char *end = strchr(p, ',');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		const char *s = p;
		p += n + (end ? 1 : 0);
		while (n && isspace((unsigned char)*s)) {
			s++;
			n--;
		}
		while (n && isspace((unsigned char)s[n - 1]))
			n--;
		if (n == 0)
			continue;
		char *e = xstrndup(s, n);
		for (size_t i = 0; i < n; i++)
			e[i] = (char)tolower((unsigned char)e[i]);
		const char *host = e;
		size_t hlen = n;
		if (n > 2 && e[0] == '*' && e[1] == '.') {
			host += 2;
			hlen -= 2;
		} else if (n > 2 && e[0] == '[' && e[n - 1] == ']') {
			memmove(e, e + 1, n - 2);
			e[n - 2] = '\0';
			hlen = n - 2;
		}
		if (!host_chars_ok(host, hlen)) {
			snprintf(err, errlen,
				 "ALLOWED_OUTBOUND_HOSTS: \"%s\" is not a host name or *.domain",
				 e);
			free(e);
			workflow_hosts_free(h);
			return ERR_INVALID;
		}
		h->entries = xrealloc(h->entries, (h->n + 1) * sizeof *h->entries);
		h->entries[h->n++] = e;
	}
	*out = h;
	return 0;
}

/* What workflow_ctx_new hands out: the context first, so the pointer
 * the caller holds is the allocation's. */
typedef struct {
	workflow_ctx_t ctx;
	schema_t *schema;
	workflow_hosts_t *hosts;
} loaded_ctx_t;

workflow_ctx_t *workflow_ctx_new(const char *schema_dir,
				 const char *allowed_hosts,
				 bool allow_loopback_http, char *err,
				 size_t errlen)
{
	char path[4096], why[256] = "";
	snprintf(path, sizeof path, "%s/workflow.schema.json",
		 schema_dir ? schema_dir : ".");
	loaded_ctx_t *l = xcalloc(1, sizeof *l);
	l->schema = schema_load_file(path, why, sizeof why);
	if (!l->schema) {
		snprintf(err, errlen, "CANOPY_SCHEMA_DIR: %s: %s", path, why);
		free(l);
		return NULL;
	}
	if (workflow_hosts_parse(allowed_hosts, &l->hosts, why, sizeof why)) {
		snprintf(err, errlen, "ALLOWED_OUTBOUND_HOSTS: %s", why);
		schema_free(l->schema);
		free(l);
		return NULL;
	}
	l->ctx = (workflow_ctx_t){.schema = l->schema,
				  .hosts = l->hosts,
				  .allow_loopback_http = allow_loopback_http};
	return &l->ctx;
}

void workflow_ctx_free(workflow_ctx_t *ctx)
{
	if (!ctx)
		return;
	loaded_ctx_t *l = (loaded_ctx_t *)ctx;
	schema_free(l->schema);
	workflow_hosts_free(l->hosts);
	free(l);
}

bool workflow_hosts_allow(const workflow_hosts_t *h, const char *host,
			  size_t len)
{
	if (!h || len == 0)
		return false;
	for (size_t i = 0; i < h->n; i++) {
		const char *e = h->entries[i];
		size_t elen = strlen(e);
		if (e[0] == '*') {
			/* "*.x.com" matches "a.x.com", never "x.com". */
			size_t slen = elen - 1; /* ".x.com" */
			if (len > slen &&
			    strncasecmp(host + len - slen, e + 1, slen) == 0)
				return true;
		} else if (elen == len && strncasecmp(host, e, len) == 0) {
			return true;
		}
	}
	return false;
}

/* ------------------------------------------------------------ cron */

typedef struct {
	const char *name;
	int lo, hi;
	const char *names; /* 3-letter names for lo.. concatenated, or NULL */
	int name_base;
} cron_field_t;

static const cron_field_t cron_fields[5] = {
	{"minute", 0, 59, NULL, 0},
	{"hour", 0, 23, NULL, 0},
	{"day-of-month", 1, 31, NULL, 0},
	{"month", 1, 12, "JANFEBMARAPRMAYJUNJULAUGSEPOCTNOVDEC", 1},
	{"day-of-week", 0, 7, "SUNMONTUEWEDTHUFRISAT", 0},
};

static int cron_fail(char *err, size_t errlen, const cron_field_t *f,
		     const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int cron_fail(char *err, size_t errlen, const cron_field_t *f,
		     const char *fmt, ...)
{
	char msg[160];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (f)
		snprintf(err, errlen, "cron %s field: %s", f->name, msg);
	else
		snprintf(err, errlen, "cron: %s", msg);
	return ERR_INVALID;
}

/* Reads a number or a name at *pp; returns it, or -1. */
static int cron_value(const char **pp, const char *end, const cron_field_t *f)
{
	const char *p = *pp;
	if (p < end && isdigit((unsigned char)*p)) {
		int v = 0;
		size_t digits = 0;
		while (p < end && isdigit((unsigned char)*p)) {
			if (++digits > 2)
				return -1;
			v = v * 10 + (*p++ - '0');
		}
		*pp = p;
		return v;
	}
	if (f->names && end - p >= 3) {
		for (int i = 0; f->names[i * 3]; i++) {
			if (strncasecmp(p, f->names + i * 3, 3) == 0) {
				*pp = p + 3;
				return f->name_base + i;
			}
		}
	}
	return -1;
}

static int cron_parse_field(const char *s, size_t n, const cron_field_t *f,
			    uint64_t *bits, bool *star, char *err,
			    size_t errlen)
{
	*bits = 0;
	*star = false;
	const char *p = s, *end = s + n;
	while (p <= end) {
		const char *item_end = memchr(p, ',', (size_t)(end - p));
		if (!item_end)
			item_end = end;
		if (item_end == p)
			return cron_fail(err, errlen, f, "empty list item");
		int lo, hi;
		bool whole = false;
		const char *q = p;
		if (*q == '*') {
			q++;
			lo = f->lo;
			hi = f->hi;
			whole = true;
		} else {
			lo = cron_value(&q, item_end, f);
			if (lo < 0)
				return cron_fail(err, errlen, f, "\"%.*s\" is not a value",
						 (int)(item_end - p), p);
			hi = lo;
			if (q < item_end && *q == '-') {
				q++;
				hi = cron_value(&q, item_end, f);
				if (hi < 0)
					return cron_fail(err, errlen, f,
							 "\"%.*s\" is not a range",
							 (int)(item_end - p), p);
			}
			if (lo < f->lo || lo > f->hi || hi < f->lo || hi > f->hi)
				return cron_fail(err, errlen, f,
						 "\"%.*s\" is outside %d-%d",
						 (int)(item_end - p), p, f->lo, f->hi);
			if (lo > hi)
				return cron_fail(err, errlen, f,
						 "range \"%.*s\" runs backwards",
						 (int)(item_end - p), p);
		}
		int step = 1;
		if (q < item_end && *q == '/') {
			q++;
			step = 0;
			size_t digits = 0;
			while (q < item_end && isdigit((unsigned char)*q)) {
				if (++digits > 2)
					break;
				step = step * 10 + (*q++ - '0');
			}
			if (digits == 0 || digits > 2 || step < 1 ||
			    step > f->hi - f->lo + 1)
				return cron_fail(err, errlen, f, "bad step in \"%.*s\"",
						 (int)(item_end - p), p);
			if (!whole && lo == hi)
				hi = f->hi; /* "a/n" means a-max/n */
		}
		if (q != item_end)
			return cron_fail(err, errlen, f, "unexpected \"%.*s\"",
					 (int)(item_end - q), q);
		if (whole && step == 1)
			*star = true;
		for (int v = lo; v <= hi; v += step)
			*bits |= (uint64_t)1 << v;
		p = item_end + 1;
	}
	return 0;
}

int workflow_cron_check(const char *expr, char *err, size_t errlen)
{
	if (!expr)
		return cron_fail(err, errlen, NULL, "missing");
	size_t total = strlen(expr);
	if (total > 256)
		return cron_fail(err, errlen, NULL, "too long");
	const char *p = expr;
	uint64_t bits[5];
	bool star[5];
	int nf = 0;
	for (;;) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p)
			break;
		const char *s = p;
		while (*p && *p != ' ' && *p != '\t')
			p++;
		if (nf == 5)
			return cron_fail(err, errlen, NULL,
					 "expected 5 fields (minute hour day-of-month month day-of-week), got more");
		int rc = cron_parse_field(s, (size_t)(p - s), &cron_fields[nf],
					  &bits[nf], &star[nf], err, errlen);
		if (rc)
			return rc;
		nf++;
	}
	if (nf != 5)
		return cron_fail(err, errlen, NULL,
				 "expected 5 fields (minute hour day-of-month month day-of-week), got %d",
				 nf);
	/* With day-of-week unrestricted, the days of month alone decide: at
	 * least one must exist in one of the months. */
	if (star[4] && !star[2]) {
		static const int mdays[13] = {0, 31, 29, 31, 30, 31, 30,
					      31, 31, 30, 31, 30, 31};
		bool fires = false;
		for (int m = 1; m <= 12 && !fires; m++) {
			if (!(bits[3] & ((uint64_t)1 << m)))
				continue;
			for (int d = 1; d <= mdays[m] && !fires; d++)
				fires = bits[2] & ((uint64_t)1 << d);
		}
		if (!fires)
			return cron_fail(err, errlen, NULL,
					 "\"%s\" never fires (no such day in those months)",
					 expr);
	}
	return 0;
}

/* ------------------------------------------------------------ URLs */

static bool is_loopback(const char *h, size_t n)
{
	return (n == 9 && strncasecmp(h, "localhost", 9) == 0) ||
	       (n >= 4 && memcmp(h, "127.", 4) == 0) ||
	       (n == 3 && memcmp(h, "::1", 3) == 0);
}

int workflow_url_check(const workflow_ctx_t *ctx, const char *url,
		       size_t len, char *err, size_t errlen)
{
	size_t skip;
	bool https;
	if (len >= 8 && strncasecmp(url, "https://", 8) == 0) {
		skip = 8;
		https = true;
	} else if (len >= 7 && strncasecmp(url, "http://", 7) == 0) {
		skip = 7;
		https = false;
	} else {
		snprintf(err, errlen, "must be an https:// URL");
		return ERR_INVALID;
	}
	if (len > 8192) {
		snprintf(err, errlen, "URL is longer than 8192 bytes");
		return ERR_INVALID;
	}
	bool unclosed = false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)url[i];
		if (!unclosed && c == '{' && i + 1 < len && url[i + 1] == '{') {
			/* {{ expressions }} are filled in at run time. */
			const char *close = memmem(url + i + 2, len - i - 2, "}}", 2);
			if (close) {
				i = (size_t)(close - url) + 1;
				continue;
			}
			unclosed = true;
		}
		if (c <= ' ' || c == 0x7f) {
			snprintf(err, errlen, "URL contains white space or control characters");
			return ERR_INVALID;
		}
	}
	const char *a = url + skip;
	size_t alen = 0;
	while (skip + alen < len && !strchr("/?#", a[alen]))
		alen++;
	if (memchr(a, '{', alen) || memchr(a, '}', alen)) {
		snprintf(err, errlen, "the host must be written literally, not as an expression");
		return ERR_INVALID;
	}
	if (memchr(a, '@', alen)) {
		snprintf(err, errlen, "credentials in the URL are not allowed; use authRef");
		return ERR_INVALID;
	}
	const char *host = a;
	size_t hlen;
	const char *rest;
	if (alen && a[0] == '[') {
		const char *close = memchr(a, ']', alen);
		if (!close) {
			snprintf(err, errlen, "unterminated IPv6 address in URL");
			return ERR_INVALID;
		}
		host = a + 1;
		hlen = (size_t)(close - host);
		rest = close + 1;
	} else {
		const char *colon = memchr(a, ':', alen);
		hlen = colon ? (size_t)(colon - a) : alen;
		rest = a + hlen;
	}
	size_t rlen = (size_t)(a + alen - rest);
	if (rlen) {
		long port = 0;
		if (rest[0] != ':' || rlen < 2 || rlen > 6 ||
		    str_to_long((str_t){rest + 1, rlen - 1}, 1, 65535, &port)) {
			snprintf(err, errlen, "bad port in URL");
			return ERR_INVALID;
		}
	}
	if (!host_chars_ok(host, hlen)) {
		snprintf(err, errlen, "URL has no valid host");
		return ERR_INVALID;
	}
	bool loop = is_loopback(host, hlen);
	if (!https && !(ctx->allow_loopback_http && loop)) {
		snprintf(err, errlen, "must be an https:// URL");
		return ERR_INVALID;
	}
	if (!workflow_hosts_allow(ctx->hosts, host, hlen)) {
		snprintf(err, errlen, "host \"%.*s\" is not on ALLOWED_OUTBOUND_HOSTS",
			 (int)(hlen > 200 ? 200 : hlen), host);
		return ERR_INVALID;
	}
	return 0;
}

/* ------------------------------------------------------------ secrets */

/* Key names that hold secrets, compared with case and _ - . ignored. */
static const char *const secret_names[] = {
	"password", "passwd", "passphrase", "secret", "token", "apikey",
	"authorization", "privatekey", "accesskey", "credential", "cookie",
	NULL};

static bool secret_key(const char *k, size_t n)
{
	char norm[128];
	size_t m = 0;
	for (size_t i = 0; i < n && m + 1 < sizeof norm; i++) {
		char c = k[i];
		if (c == '_' || c == '-' || c == '.' || c == ' ')
			continue;
		norm[m++] = (char)tolower((unsigned char)c);
	}
	norm[m] = '\0';
	for (const char *const *s = secret_names; *s; s++)
		if (strstr(norm, *s))
			return true;
	return false;
}

/* Whether s holds literal text besides {{ expressions }} and an auth
 * scheme word ("Bearer {{ $json.t }}" is not a literal secret). */
static bool literal_text(const char *s, size_t n)
{
	char rest[64];
	size_t m = 0;
	bool more = false, unclosed = false;
	for (size_t i = 0; i < n;) {
		if (!unclosed && i + 1 < n && s[i] == '{' && s[i + 1] == '{') {
			const char *close = memmem(s + i + 2, n - i - 2, "}}", 2);
			if (close) {
				i = (size_t)(close - s) + 2;
				continue;
			}
			unclosed = true; /* no later "{{" can close either */
		}
		if (!isspace((unsigned char)s[i])) {
			if (m + 1 < sizeof rest)
				rest[m++] = s[i];
			else
				more = true;
		}
		i++;
	}
	rest[m] = '\0';
	if (m == 0)
		return false;
	if (more)
		return true;
	return strcasecmp(rest, "bearer") != 0 && strcasecmp(rest, "basic") != 0 &&
	       strcasecmp(rest, "token") != 0;
}

static bool token_char(unsigned char c)
{
	return isalnum(c) || c == '_' || c == '-';
}

/* Length of the run of ok characters at s, counted up to cap only so
 * that scanning every position of a string stays linear. */
static size_t run_of(const char *s, size_t n, size_t cap,
		     bool (*ok)(unsigned char))
{
	size_t i = 0;
	if (n > cap)
		n = cap;
	while (i < n && ok((unsigned char)s[i]))
		i++;
	return i;
}

static bool b64url_char(unsigned char c)
{
	return isalnum(c) || c == '_' || c == '-';
}

static bool bearer_char(unsigned char c)
{
	return isalnum(c) || strchr("-._~+/=", c);
}

static const struct {
	const char *prefix;
	size_t min_tail;
	const char *what;
} key_prefixes[] = {
	{"sk-", 20, "an OpenAI-style API key"},
	{"sk_live_", 16, "a Stripe secret key"},
	{"sk_test_", 16, "a Stripe secret key"},
	{"rk_live_", 16, "a Stripe restricted key"},
	{"xoxb-", 10, "a Slack token"},
	{"xoxp-", 10, "a Slack token"},
	{"xoxa-", 10, "a Slack token"},
	{"xoxr-", 10, "a Slack token"},
	{"xoxs-", 10, "a Slack token"},
	{"xapp-", 10, "a Slack app token"},
	{"ghp_", 20, "a GitHub token"},
	{"gho_", 20, "a GitHub token"},
	{"ghu_", 20, "a GitHub token"},
	{"ghs_", 20, "a GitHub token"},
	{"ghr_", 20, "a GitHub token"},
	{"github_pat_", 20, "a GitHub token"},
	{"glpat-", 20, "a GitLab token"},
	{"AKIA", 16, "an AWS access key"},
	{"AIza", 30, "a Google API key"},
	{"ya29.", 20, "a Google OAuth token"},
	{"SG.", 20, "a SendGrid key"},
	{"shpat_", 20, "a Shopify token"},
	{"npm_", 30, "an npm token"},
};

/* What secret the word starting at p looks like, or NULL.  jwt_start:
 * p starts a run of base64url characters (only there is a JWT looked
 * for, so each run is scanned once). */
static const char *secret_word(const char *p, size_t left, bool jwt_start)
{
	for (size_t k = 0; k < sizeof key_prefixes / sizeof *key_prefixes; k++) {
		size_t pl = strlen(key_prefixes[k].prefix);
		if (left > pl && memcmp(p, key_prefixes[k].prefix, pl) == 0 &&
		    run_of(p + pl, left - pl, key_prefixes[k].min_tail, token_char) >=
			    key_prefixes[k].min_tail)
			return key_prefixes[k].what;
	}
	if (left > 7 && strncasecmp(p, "bearer ", 7) == 0 &&
	    run_of(p + 7, left - 7, 16, bearer_char) >= 16)
		return "a bearer token";
	if (left > 6 && strncasecmp(p, "basic ", 6) == 0 &&
	    run_of(p + 6, left - 6, 8, bearer_char) >= 8)
		return "basic-auth credentials";
	if (left > 11 && memcmp(p, "-----BEGIN ", 11) == 0 &&
	    memmem(p, left, "PRIVATE KEY", 11))
		return "a private key";
	if (jwt_start && left > 3 && memcmp(p, "eyJ", 3) == 0) {
		size_t a = run_of(p, left, left, b64url_char);
		if (a >= 10 && a < left && p[a] == '.') {
			size_t b = run_of(p + a + 1, left - a - 1, left, b64url_char);
			if (b >= 10 && a + 1 + b < left && p[a + 1 + b] == '.')
				return "a JSON Web Token";
		}
	}
	return NULL;
}

/* Credentials inside a URL at p: "://user:password@" or a query
 * parameter named like a secret ("?token=...", "&api_key=..."). */
static const char *secret_in_url(const char *p, size_t left)
{
	if (left > 3 && memcmp(p, "://", 3) == 0) {
		size_t j = 3;
		bool colon = false;
		while (j < left && !strchr("/?#@ ", p[j])) {
			if (p[j] == ':')
				colon = true;
			j++;
		}
		if (j < left && p[j] == '@' && colon)
			return "a password in a URL";
	}
	if (p[0] == '?' || p[0] == '&') {
		size_t j = 1;
		/* Every scan stops at the next ? or &, so the whole string
		 * is read a bounded number of times. */
		while (j < left && !strchr("=?&# ", p[j]))
			j++;
		if (j < left && p[j] == '=' && secret_key(p + 1, j - 1)) {
			size_t v = j + 1, e = v;
			while (e < left && !strchr("?&# ", p[e]))
				e++;
			if (e > v && literal_text(p + v, e - v))
				return "a credential in a URL query";
		}
	}
	return NULL;
}

/* What secret s looks like it contains, or NULL. */
static const char *secret_value(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const char *what = NULL;
		/* Key shapes count only at the start of a word. */
		if (i == 0 || !isalnum((unsigned char)s[i - 1]))
			what = secret_word(s + i, n - i,
					   i == 0 || !b64url_char((unsigned char)s[i - 1]));
		if (!what && i > 0)
			what = secret_in_url(s + i, n - i);
		if (what)
			return what;
	}
	return NULL;
}

/* ------------------------------------------------------------ checker */

typedef struct {
	const char *id;
	bool trigger;
	size_t index; /* in triggers[] or nodes[] */
	const json_t *obj;
	const workflow_type_t *type; /* NULL when unknown */
} vert_t;

typedef struct {
	const workflow_ctx_t *ctx;
	json_t *errors;
	size_t count;
	bool overflow;
	json_t *schema_ptrs; /* pointers the schema already reported */
	buf_t ptr;           /* scratch pointer for deep walks */
	vert_t *verts;
	size_t nverts, ntrig;
	json_t *ids; /* id -> vertex index */
} gctx_t;

static void buf_cut_to(buf_t *b, size_t len)
{
	b->len = len;
	if (b->data)
		b->data[len] = '\0';
}

static void add(gctx_t *g, const char *ptr, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void add(gctx_t *g, const char *ptr, const char *fmt, ...)
{
	if (json_object_get(g->schema_ptrs, ptr))
		return; /* one problem, one report */
	if (g->count >= SCHEMA_MAX_ERRORS) {
		g->overflow = true;
		return;
	}
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	json_array_append_new(g->errors, json_pack("{s:s,s:s}", "pointer", ptr,
						   "message", msg));
	g->count++;
}

static const char *str_or_null(const json_t *v)
{
	return json_is_string(v) ? json_string_value(v) : NULL;
}

static void check_strings(gctx_t *g, const char *key, size_t keylen,
			  const json_t *v, int depth);

static void check_string(gctx_t *g, const char *key, size_t keylen,
			 const json_t *v)
{
	const char *s = json_string_value(v);
	size_t n = json_string_length(v);
	const char *ptr = buf_cstr(&g->ptr);
	if (n > 65536) {
		add(g, ptr, "is longer than 65536 bytes");
		return;
	}
	if (key && secret_key(key, keylen) && literal_text(s, n)) {
		add(g, ptr,
		    "\"%.*s\" holds a literal secret; store it as a credential and name it in authRef",
		    (int)(keylen > 64 ? 64 : keylen), key);
		return;
	}
	const char *what = secret_value(s, n);
	if (what)
		add(g, ptr,
		    "looks like %s in plain text; store it as a credential and name it in authRef",
		    what);
}

/* Walks a value, reporting literal secrets and oversized strings.  key
 * is the entry key the value sits under (NULL at none). */
static void check_strings(gctx_t *g, const char *key, size_t keylen,
			  const json_t *v, int depth)
{
	if (depth > SCHEMA_MAX_DEPTH)
		return; /* the schema reports the depth */
	size_t mark = g->ptr.len;
	if (json_is_string(v)) {
		check_string(g, key, keylen, v);
	} else if (json_is_number(v) && key && secret_key(key, keylen)) {
		add(g, buf_cstr(&g->ptr),
		    "\"%.*s\" holds a literal secret; store it as a credential and name it in authRef",
		    (int)(keylen > 64 ? 64 : keylen), key);
	} else if (json_is_array(v)) {
		size_t i;
		const json_t *e;
		json_array_foreach(v, i, e)
		{
			buf_printf(&g->ptr, "/%zu", i);
			check_strings(g, key, keylen, e, depth + 1);
			buf_cut_to(&g->ptr, mark);
		}
	} else if (json_is_object(v)) {
		const json_t *fields = json_object_get(v, "fields");
		size_t i;
		const json_t *e;
		json_array_foreach(fields, i, e)
		{
			const json_t *k = json_object_get(e, "key");
			buf_printf(&g->ptr, "/fields/%zu/value", i);
			check_strings(g, str_or_null(k),
				      json_is_string(k) ? json_string_length(k) : 0,
				      json_object_get(e, "value"), depth + 2);
			buf_cut_to(&g->ptr, mark);
		}
	}
}

static bool is_expression(const json_t *v)
{
	return json_is_string(v) && strstr(json_string_value(v), "{{");
}

/* s is first-char-in-a then rest-in-b, at most max bytes. */
static bool simple_name(const char *s, size_t n, const char *a,
			const char *b, size_t max)
{
	if (n == 0 || n > max || !strchr(a, s[0]) || s[0] == '\0')
		return false;
	for (size_t i = 1; i < n; i++)
		if (s[i] == '\0' || !strchr(b, s[i]))
			return false;
	return true;
}

#define LOWER "abcdefghijklmnopqrstuvwxyz"
#define UPPER "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
#define DIGIT "0123456789"

static bool timezone_ok(const char *s, size_t n)
{
	if (n == 3 && memcmp(s, "UTC", 3) == 0)
		return true;
	if (n == 0 || n > 64 || !isalpha((unsigned char)s[0]) || s[n - 1] == '/')
		return false;
	bool slash = false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '/') {
			if (s[i + 1] == '/')
				return false;
			slash = true;
		} else if (s[i] == '\0' ||
			   !strchr(LOWER UPPER DIGIT "_+-", s[i])) {
			return false;
		}
	}
	return slash;
}

static const char *const operators[] = {
	"equals", "notEquals", "contains", "notContains", "startsWith",
	"endsWith", "gt", "gte", "lt", "lte", "isEmpty", "isNotEmpty", NULL};

const char *const *workflow_condition_operators(void)
{
	return operators;
}

static void check_conditions(gctx_t *g, const json_t *v, const char *ptr)
{
	if (!json_is_array(v) || json_array_size(v) == 0) {
		add(g, ptr, "must be a non-empty list of conditions {left, operator, right}");
		return;
	}
	size_t k;
	const json_t *c;
	json_array_foreach(v, k, c)
	{
		char cp[256];
		snprintf(cp, sizeof cp, "%s/%zu", ptr, k);
		const json_t *fields = json_object_get(c, "fields");
		if (!json_is_array(fields)) {
			add(g, cp, "a condition is a map {left, operator, right}");
			continue;
		}
		const json_t *left = workflow_entry(fields, "left");
		const json_t *op = workflow_entry(fields, "operator");
		const json_t *right = workflow_entry(fields, "right");
		size_t j;
		const json_t *e;
		json_array_foreach(fields, j, e)
		{
			const char *key = str_or_null(json_object_get(e, "key"));
			if (key && strcmp(key, "left") && strcmp(key, "operator") &&
			    strcmp(key, "right")) {
				char kp[300];
				snprintf(kp, sizeof kp, "%s/fields/%zu/key", cp, j);
				add(g, kp, "a condition has only left, operator and right");
			}
		}
		if (!left || json_is_null(left))
			add(g, cp, "the condition needs left");
		if (!json_is_string(op) ||
		    !in_list(operators, 32, json_string_value(op),
			     json_string_length(op))) {
			char ops[256];
			join_list(operators, 32, ops, sizeof ops);
			add(g, cp, "the condition's operator must be one of %s", ops);
		} else if (strcmp(json_string_value(op), "isEmpty") &&
			   strcmp(json_string_value(op), "isNotEmpty") &&
			   (!right || json_is_null(right))) {
			add(g, cp, "operator %s needs right", json_string_value(op));
		}
	}
}

static void check_value(gctx_t *g, const workflow_input_t *in,
			const json_t *v, const char *ptr)
{
	const char *s = str_or_null(v);
	size_t n = s ? json_string_length(v) : 0;
	char err[256];
	switch (in->kind) {
	case WORKFLOW_IN_STRING:
		if (!s)
			add(g, ptr, "must be a string");
		else if (in->required && !str_trim((str_t){s, n}).len)
			add(g, ptr, "must not be empty");
		break;
	case WORKFLOW_IN_NUMBER:
		if (is_expression(v))
			break;
		if (!json_is_number(v))
			add(g, ptr, "must be a number");
		else if (in->min < in->max &&
			 (json_number_value(v) < in->min ||
			  json_number_value(v) > in->max))
			add(g, ptr, "must be between %g and %g", in->min, in->max);
		break;
	case WORKFLOW_IN_BOOLEAN:
		if (!json_is_boolean(v) && !is_expression(v))
			add(g, ptr, "must be true or false");
		break;
	case WORKFLOW_IN_ENUM:
		if (!s || !in_list(in->choices, WORKFLOW_MAX_CHOICES, s, n)) {
			char list[256];
			join_list(in->choices, WORKFLOW_MAX_CHOICES, list, sizeof list);
			add(g, ptr, "must be one of %s", list);
		}
		break;
	case WORKFLOW_IN_MAP:
		if (!json_is_array(json_object_get(v, "fields")))
			add(g, ptr, "must be a map {\"fields\": [{\"key\", \"value\"}]}");
		break;
	case WORKFLOW_IN_LIST:
		if (!json_is_array(v))
			add(g, ptr, "must be a list");
		break;
	case WORKFLOW_IN_ANY: break;
	case WORKFLOW_IN_URL:
		if (!s)
			add(g, ptr, "must be a URL string");
		else if (workflow_url_check(g->ctx, s, n, err, sizeof err))
			add(g, ptr, "%s", err);
		break;
	case WORKFLOW_IN_CRON:
		if (!s)
			add(g, ptr, "must be a cron expression string");
		else if (strlen(s) != n || workflow_cron_check(s, err, sizeof err))
			add(g, ptr, "%s", strlen(s) != n ? "cron: NUL byte" : err);
		break;
	case WORKFLOW_IN_PATH:
		if (!s || !simple_name(s, n, LOWER DIGIT, LOWER DIGIT "/_-", 128) ||
		    strstr(s, "//") || s[n - 1] == '/')
			add(g, ptr, "must be a path of a-z, 0-9, /, _ and - (e.g. contact-form)");
		break;
	case WORKFLOW_IN_EVENT:
		if (!s || !simple_name(s, n, LOWER, LOWER DIGIT "_.", 64))
			add(g, ptr, "must be an event name such as form.submitted or manual");
		break;
	case WORKFLOW_IN_TIMEZONE:
		if (!s || !timezone_ok(s, n))
			add(g, ptr, "must be an IANA time zone such as Europe/Paris or UTC");
		break;
	case WORKFLOW_IN_CONDITIONS: check_conditions(g, v, ptr); break;
	}
}

/* Checks the entries of a node's inputs or a trigger's config against its
 * type; vals[i] gets the value of t->inputs[i] (NULL when absent/null).
 * With t NULL (a type the schema refused) only secrets are looked for. */
static void check_entries(gctx_t *g, const char *base, const char *field,
			  const json_t *entries, const workflow_type_t *t,
			  const json_t **vals)
{
	char ptr[160];
	snprintf(ptr, sizeof ptr, "%s/%s", base, field);
	if (!json_is_array(entries))
		return;
	unsigned seen = 0; /* bit per t->inputs index */
	size_t j;
	const json_t *e;
	json_array_foreach(entries, j, e)
	{
		if (g->count >= SCHEMA_MAX_ERRORS)
			break;
		const json_t *kj = json_object_get(e, "key");
		const json_t *v = json_object_get(e, "value");
		const char *key = str_or_null(kj);
		if (!key)
			continue;
		size_t klen = json_string_length(kj);
		char kp[200], vp[200];
		snprintf(kp, sizeof kp, "%s/%zu/key", ptr, j);
		snprintf(vp, sizeof vp, "%s/%zu/value", ptr, j);
		buf_clear(&g->ptr);
		buf_puts(&g->ptr, vp);
		check_strings(g, key, klen, v, 0);
		if (!t)
			continue;
		size_t i;
		for (i = 0; i < WORKFLOW_MAX_INPUTS && t->inputs[i].key; i++)
			if (strlen(t->inputs[i].key) == klen &&
			    memcmp(t->inputs[i].key, key, klen) == 0)
				break;
		if (i == WORKFLOW_MAX_INPUTS || !t->inputs[i].key) {
			char known[256] = "";
			size_t used = 0;
			for (size_t q = 0; q < WORKFLOW_MAX_INPUTS && t->inputs[q].key; q++) {
				int w = snprintf(known + used, sizeof known - used, "%s%s",
						 q ? ", " : "", t->inputs[q].key);
				if (w < 0 || (size_t)w >= sizeof known - used)
					break;
				used += (size_t)w;
			}
			add(g, kp, "%s %s have no %s \"%.*s\" (known: %s)", t->type,
			    t->trigger ? "triggers" : "nodes",
			    t->trigger ? "setting" : "input",
			    (int)(klen > 64 ? 64 : klen), key, known);
			continue;
		}
		if (seen & (1u << i)) {
			add(g, kp, "\"%s\" is given twice", t->inputs[i].key);
			continue;
		}
		seen |= 1u << i;
		if (!v || json_is_null(v))
			continue; /* absent: the required check below */
		vals[i] = v;
		check_value(g, &t->inputs[i], v, vp);
	}
	for (size_t i = 0; t && i < WORKFLOW_MAX_INPUTS && t->inputs[i].key; i++)
		if (t->inputs[i].required && !vals[i])
			add(g, ptr, "%s %s need the %s \"%s\"", t->type,
			    t->trigger ? "triggers" : "nodes",
			    t->trigger ? "setting" : "input", t->inputs[i].key);
}

static int input_index(const workflow_type_t *t, const char *key)
{
	for (int i = 0; i < WORKFLOW_MAX_INPUTS && t->inputs[i].key; i++)
		if (strcmp(t->inputs[i].key, key) == 0)
			return i;
	return -1;
}

/* The value given for input key (NULL when absent or not in t). */
static const json_t *input_value(const workflow_type_t *t,
				 const json_t *const *vals, const char *key)
{
	int i = input_index(t, key);
	return i >= 0 ? vals[i] : NULL;
}

static void check_auth(gctx_t *g, const char *base, const json_t *node,
		       const workflow_type_t *t, const json_t **vals)
{
	char ap[160];
	snprintf(ap, sizeof ap, "%s/authRef", base);
	const json_t *ref = json_object_get(node, "authRef");
	bool has = json_is_string(ref);
	if (ref && !has && !json_is_null(ref))
		return; /* the schema reports the type */
	bool need = t->auth == WORKFLOW_AUTH_REQUIRED;
	if (t->auth == WORKFLOW_AUTH_BY_INPUT) {
		const char *mode = str_or_null(input_value(t, vals, "authentication"));
		need = mode && strcmp(mode, "none") != 0;
		if (has && !need) {
			add(g, ap, "authRef is set but authentication is none; set the "
				   "authentication input (bearer, basic or header) or make authRef null");
			return;
		}
	}
	if (need && !has)
		add(g, ap, "%s nodes need a credential: set authRef to the name of a stored credential",
		    t->type);
	else if (!need && has && t->auth == WORKFLOW_AUTH_NONE)
		add(g, ap, "%s nodes take no credential; authRef must be null", t->type);
}

static void check_wait(gctx_t *g, const char *base, const workflow_type_t *t,
		       const json_t **vals)
{
	const json_t *amount = input_value(t, vals, "amount");
	const char *unit = str_or_null(input_value(t, vals, "unit"));
	if (!json_is_number(amount) || !unit)
		return;
	double mult = strcmp(unit, "days") == 0      ? 86400
		      : strcmp(unit, "hours") == 0   ? 3600
		      : strcmp(unit, "minutes") == 0 ? 60
						     : 1;
	if (json_number_value(amount) * mult > 30 * 86400.0) {
		char p[160];
		snprintf(p, sizeof p, "%s/inputs", base);
		add(g, p, "a wait lasts at most 30 days");
	}
}

static void check_node(gctx_t *g, size_t i, const vert_t *v)
{
	char base[64];
	snprintf(base, sizeof base, "/nodes/%zu", i);
	const workflow_type_t *t = v->type;
	const json_t *node = v->obj;
	const json_t *vals[WORKFLOW_MAX_INPUTS] = {0};
	check_entries(g, base, "inputs", json_object_get(node, "inputs"), t,
		      vals);
	if (!t)
		return; /* the schema reports an unknown type */
	const json_t *action = json_object_get(node, "action");
	if (json_is_string(action) &&
	    !in_list(t->actions, 4, json_string_value(action),
		     json_string_length(action))) {
		char p[96], list[128];
		snprintf(p, sizeof p, "%s/action", base);
		join_list(t->actions, 4, list, sizeof list);
		add(g, p, "%s nodes have no action \"%s\" (use: %s)", t->type,
		    json_string_value(action), list);
	}
	const json_t *outs = json_object_get(node, "outputs");
	json_t *listed = json_object();
	size_t j;
	const json_t *o;
	json_array_foreach(outs, j, o)
	{
		if (!json_is_string(o) || g->count >= SCHEMA_MAX_ERRORS)
			continue;
		char p[96];
		snprintf(p, sizeof p, "%s/outputs/%zu", base, j);
		if (!in_list(t->out_ports, 4, json_string_value(o),
			     json_string_length(o))) {
			char list[128];
			join_list(t->out_ports, 4, list, sizeof list);
			add(g, p, "%s nodes have no output port \"%s\" (ports: %s)",
			    t->type, json_string_value(o), list);
		}
		if (json_object_get(listed, json_string_value(o)))
			add(g, p, "port \"%s\" is listed twice", json_string_value(o));
		json_object_set(listed, json_string_value(o), json_true());
	}
	json_decref(listed);
	check_auth(g, base, node, t, vals);
	if (strcmp(t->type, "wait") == 0)
		check_wait(g, base, t, vals);
}

static void check_trigger(gctx_t *g, size_t i, const vert_t *v,
			  json_t *webhooks)
{
	char base[64];
	snprintf(base, sizeof base, "/triggers/%zu", i);
	const workflow_type_t *t = v->type;
	const json_t *vals[WORKFLOW_MAX_INPUTS] = {0};
	const json_t *config = json_object_get(v->obj, "config");
	check_entries(g, base, "config", config, t, vals);
	if (!t || strcmp(t->type, "webhook") != 0)
		return;
	const char *path = str_or_null(input_value(t, vals, "path"));
	const char *method = str_or_null(input_value(t, vals, "method"));
	if (!path)
		return;
	char key[300];
	snprintf(key, sizeof key, "%s %s", method ? method : "POST", path);
	const json_t *first = json_object_get(webhooks, key);
	if (first) {
		add(g, base, "another webhook trigger (/triggers/%lld) already listens on %s",
		    (long long)json_integer_value(first), key);
		return;
	}
	json_object_set_new(webhooks, key, json_integer((json_int_t)i));
}

static long vertex_of(const gctx_t *g, const char *id)
{
	const json_t *ix = id ? json_object_get(g->ids, id) : NULL;
	return ix ? (long)json_integer_value(ix) : -1;
}

static const char *vert_ptr(const gctx_t *g, size_t v, char *out, size_t n)
{
	snprintf(out, n, "/%s/%zu", g->verts[v].trigger ? "triggers" : "nodes",
		 g->verts[v].index);
	return out;
}

typedef struct {
	size_t from, to, edge;
} link_t;

static int link_cmp(const void *a, const void *b)
{
	const link_t *x = a, *y = b;
	return x->from < y->from ? -1 : x->from > y->from ? 1 : 0;
}

/* Reports each edge that closes a cycle (iterative DFS, so any graph
 * size is fine), then each node no trigger reaches. */
static void check_shape(gctx_t *g, link_t *links, size_t nlinks)
{
	size_t nv = g->nverts;
	qsort(links, nlinks, sizeof *links, link_cmp);
	size_t *start = xcalloc(nv + 1, sizeof *start);
	for (size_t k = 0; k < nlinks; k++)
		start[links[k].from + 1]++;
	for (size_t v = 0; v < nv; v++)
		start[v + 1] += start[v];
	unsigned char *color = xcalloc(nv ? nv : 1, 1);
	size_t *stack = xcalloc(nv ? nv : 1, sizeof *stack);
	size_t *pos = xcalloc(nv ? nv : 1, sizeof *pos);
	for (size_t root = 0; root < nv; root++) {
		if (color[root])
			continue;
		size_t sp = 0;
		stack[sp] = root;
		pos[sp++] = start[root];
		color[root] = 1;
		while (sp) {
			size_t v = stack[sp - 1];
			if (pos[sp - 1] == start[v + 1]) {
				color[v] = 2;
				sp--;
				continue;
			}
			const link_t *l = &links[pos[sp - 1]++];
			if (color[l->to] == 0) {
				color[l->to] = 1;
				stack[sp] = l->to;
				pos[sp++] = start[l->to];
			} else if (color[l->to] == 1) {
				char path[256] = "";
				size_t used = 0;
				size_t from = sp;
				while (from > 0 && stack[from - 1] != l->to)
					from--;
				for (size_t q = from ? from - 1 : 0; q < sp; q++) {
					int w = snprintf(path + used, sizeof path - used,
							 "%s -> ", g->verts[stack[q]].id);
					if (w < 0 || (size_t)w >= sizeof path - used)
						break;
					used += (size_t)w;
				}
				char p[64];
				snprintf(p, sizeof p, "/edges/%zu", l->edge);
				add(g, p, "closes a cycle: %s%s", path, g->verts[l->to].id);
			}
		}
	}
	/* Reachability from the triggers, reusing color as the mark. */
	memset(color, 0, nv ? nv : 1);
	size_t sp = 0;
	for (size_t v = 0; v < g->ntrig; v++) {
		color[v] = 1;
		stack[sp++] = v;
	}
	while (sp) {
		size_t v = stack[--sp];
		for (size_t k = start[v]; k < start[v + 1]; k++)
			if (!color[links[k].to]) {
				color[links[k].to] = 1;
				stack[sp++] = links[k].to;
			}
	}
	for (size_t v = g->ntrig; v < nv; v++) {
		if (color[v] || !g->verts[v].id)
			continue;
		char p[64];
		add(g, vert_ptr(g, v, p, sizeof p),
		    "node \"%s\" is not reachable from any trigger", g->verts[v].id);
	}
	free(start);
	free(color);
	free(stack);
	free(pos);
}

static void check_edges(gctx_t *g, const json_t *edges)
{
	size_t n = json_array_size(edges);
	link_t *links = xcalloc(n ? n : 1, sizeof *links);
	size_t nlinks = 0;
	json_t *seen = json_object();
	for (size_t k = 0; k < n; k++) {
		const json_t *e = json_array_get(edges, k);
		const char *from = str_or_null(json_object_get(e, "fromNodeId"));
		const char *to = str_or_null(json_object_get(e, "toNodeId"));
		const char *fp = str_or_null(json_object_get(e, "fromPort"));
		const char *tp = str_or_null(json_object_get(e, "toPort"));
		char p[96];
		long fv = vertex_of(g, from), tv = vertex_of(g, to);
		if (from && fv < 0) {
			snprintf(p, sizeof p, "/edges/%zu/fromNodeId", k);
			add(g, p, "no trigger or node has the id \"%.64s\"", from);
		}
		if (to && tv < 0) {
			snprintf(p, sizeof p, "/edges/%zu/toNodeId", k);
			add(g, p, "no node has the id \"%.64s\"", to);
		} else if (tv >= 0 && g->verts[tv].trigger) {
			snprintf(p, sizeof p, "/edges/%zu/toNodeId", k);
			add(g, p, "\"%.64s\" is a trigger; edges cannot lead into a trigger", to);
			tv = -1;
		}
		bool ok = fv >= 0 && tv >= 0;
		const workflow_type_t *ft = fv >= 0 ? g->verts[fv].type : NULL;
		const workflow_type_t *tt = tv >= 0 ? g->verts[tv].type : NULL;
		if (ft && fp) {
			snprintf(p, sizeof p, "/edges/%zu/fromPort", k);
			const json_t *outs = json_object_get(g->verts[fv].obj, "outputs");
			if (!in_list(ft->out_ports, 4, fp, strlen(fp))) {
				char list[128];
				join_list(ft->out_ports, 4, list, sizeof list);
				add(g, p, "%s \"%s\" has no output port \"%.32s\" (ports: %s)",
				    ft->type, from, fp, list);
			} else if (!g->verts[fv].trigger) {
				bool listed = false;
				size_t q;
				const json_t *o;
				json_array_foreach(outs, q, o)
				{
					if (json_is_string(o) && strcmp(json_string_value(o), fp) == 0)
						listed = true;
				}
				if (!listed)
					add(g, p, "port \"%s\" is not listed in the outputs of \"%s\"",
					    fp, from);
			}
		}
		if (tt && tp && !in_list(tt->in_ports, 2, tp, strlen(tp))) {
			char list[64];
			join_list(tt->in_ports, 2, list, sizeof list);
			snprintf(p, sizeof p, "/edges/%zu/toPort", k);
			add(g, p, "%s \"%s\" has no input port \"%.32s\" (ports: %s)",
			    tt->type, to, tp, list);
		}
		if (!ok)
			continue;
		char key[300];
		snprintf(key, sizeof key, "%s\x1f%s\x1f%s\x1f%s", from, fp ? fp : "",
			 to, tp ? tp : "");
		if (json_object_get(seen, key)) {
			snprintf(p, sizeof p, "/edges/%zu", k);
			add(g, p, "duplicate edge");
			continue;
		}
		json_object_set_new(seen, key, json_true());
		links[nlinks++] = (link_t){(size_t)fv, (size_t)tv, k};
	}
	json_decref(seen);
	check_shape(g, links, nlinks);
	free(links);
}

static void collect_vertices(gctx_t *g, const json_t *triggers,
			     const json_t *nodes)
{
	size_t nt = json_array_size(triggers), nn = json_array_size(nodes);
	g->ntrig = nt;
	g->nverts = nt + nn;
	g->verts = xcalloc(g->nverts ? g->nverts : 1, sizeof *g->verts);
	g->ids = json_object();
	for (size_t v = 0; v < g->nverts; v++) {
		bool trig = v < nt;
		vert_t *x = &g->verts[v];
		x->trigger = trig;
		x->index = trig ? v : v - nt;
		x->obj = json_array_get(trig ? triggers : nodes, x->index);
		const workflow_type_t *t =
			workflow_vocab_find(str_or_null(json_object_get(x->obj, "type")));
		x->type = t && t->trigger == trig ? t : NULL;
		x->id = str_or_null(json_object_get(x->obj, "id"));
		if (!x->id)
			continue;
		char p[96], first[64];
		long prev = vertex_of(g, x->id);
		if (prev >= 0) {
			snprintf(p, sizeof p, "%s/id", vert_ptr(g, v, first, sizeof first));
			add(g, p, "duplicate id \"%.64s\" (also used by %s)", x->id,
			    vert_ptr(g, (size_t)prev, first, sizeof first));
			x->id = NULL; /* edges resolve to the first */
			continue;
		}
		json_object_set_new(g->ids, x->id, json_integer((json_int_t)v));
	}
}

static void check_top(gctx_t *g, const json_t *graph)
{
	const char *name = str_or_null(json_object_get(graph, "name"));
	if (name) {
		size_t n = json_string_length(json_object_get(graph, "name"));
		if (!str_trim((str_t){name, n}).len)
			add(g, "/name", "must not be empty");
		else if (n > 200)
			add(g, "/name", "must be at most 200 bytes");
	}
	const json_t *desc = json_object_get(graph, "description");
	if (json_is_string(desc) && json_string_length(desc) > 2000)
		add(g, "/description", "must be at most 2000 bytes");
	static const char *const texts[] = {"name", "description"};
	for (size_t i = 0; i < 2; i++) {
		const json_t *v = json_object_get(graph, texts[i]);
		if (!json_is_string(v) || json_string_length(v) > 2000)
			continue;
		buf_clear(&g->ptr);
		buf_printf(&g->ptr, "/%s", texts[i]);
		check_strings(g, NULL, 0, v, 0);
	}
	const json_t *env = json_object_get(graph, "env");
	json_t *keys = json_object();
	size_t i;
	const json_t *e;
	json_array_foreach(env, i, e)
	{
		const json_t *kj = json_object_get(e, "key");
		const char *key = str_or_null(kj);
		if (!key || g->count >= SCHEMA_MAX_ERRORS)
			continue;
		if (json_object_get(keys, key)) {
			char p[64];
			snprintf(p, sizeof p, "/env/%zu/key", i);
			add(g, p, "\"%.64s\" is set twice", key);
		}
		json_object_set(keys, key, json_true());
		buf_clear(&g->ptr);
		buf_printf(&g->ptr, "/env/%zu/value", i);
		check_strings(g, key, json_string_length(kj),
			      json_object_get(e, "value"), 0);
	}
	json_decref(keys);
}

int workflow_validate(const workflow_ctx_t *ctx, const json_t *graph,
		      json_t **errors_out)
{
	json_t *errors = NULL;
	if (ctx->schema)
		(void)!schema_validate(ctx->schema, graph, &errors);
	else
		errors = json_array();
	gctx_t g = {.ctx = ctx, .errors = errors, .schema_ptrs = json_object()};
	if (!errors || !g.schema_ptrs)
		arena_oom(sizeof(json_t));
	g.count = json_array_size(errors);
	if (g.count > SCHEMA_MAX_ERRORS) {
		/* The schema's "too many" entry goes back on at the end. */
		json_array_remove(errors, g.count - 1);
		g.count--;
		g.overflow = true;
	}
	size_t i;
	const json_t *e;
	json_array_foreach(errors, i, e)
	{
		const char *p = str_or_null(json_object_get(e, "pointer"));
		if (p)
			json_object_set_new(g.schema_ptrs, p, json_true());
	}
	buf_init(&g.ptr, NULL, 1u << 20);
	if (json_is_object(graph)) {
		const json_t *triggers = json_object_get(graph, "triggers");
		const json_t *nodes = json_object_get(graph, "nodes");
		check_top(&g, graph);
		collect_vertices(&g, json_is_array(triggers) ? triggers : NULL,
				 json_is_array(nodes) ? nodes : NULL);
		json_t *webhooks = json_object();
		for (size_t v = 0; v < g.ntrig && !g.overflow; v++)
			check_trigger(&g, v, &g.verts[v], webhooks);
		json_decref(webhooks);
		for (size_t v = g.ntrig; v < g.nverts && !g.overflow; v++)
			check_node(&g, v - g.ntrig, &g.verts[v]);
		const json_t *edges = json_object_get(graph, "edges");
		check_edges(&g, json_is_array(edges) ? edges : NULL);
	}
	if (g.overflow)
		json_array_append_new(
			errors, json_pack("{s:s,s:s}", "pointer", "", "message",
					  "error limit reached; there may be more problems"));
	buf_free(&g.ptr);
	free(g.verts);
	json_decref(g.ids);
	json_decref(g.schema_ptrs);
	int rc = json_array_size(errors) ? ERR_INVALID : 0;
	if (errors_out)
		*errors_out = errors;
	else
		json_decref(errors);
	return rc;
}

/* ------------------------------------------------------------ identity */

static bool deeper_than(const json_t *v, int limit)
{
	if (!json_is_object(v) && !json_is_array(v))
		return false;
	if (limit <= 0)
		return true;
	if (json_is_array(v)) {
		size_t i;
		const json_t *e;
		json_array_foreach(v, i, e)
		{
			if (deeper_than(e, limit - 1))
				return true;
		}
		return false;
	}
	const char *k;
	json_t *e;
	json_object_foreach((json_t *)v, k, e)
	{
		if (deeper_than(e, limit - 1))
			return true;
	}
	return false;
}

static int dump_to_buf(const char *p, size_t n, void *data)
{
	return buf_append(data, p, n) ? -1 : 0;
}

int workflow_canonical(const json_t *graph, buf_t *out)
{
	if (!json_is_object(graph) || deeper_than(graph, SCHEMA_MAX_DEPTH))
		return ERR_INVALID;
	if (json_dump_callback(graph, dump_to_buf, out,
			       JSON_COMPACT | JSON_SORT_KEYS) != 0)
		return out->err ? out->err : ERR_INVALID;
	return 0;
}

int workflow_hash(const json_t *graph, char hex[WORKFLOW_HASH_HEX + 1])
{
	buf_t b;
	buf_init(&b, NULL, 64u << 20);
	int rc = workflow_canonical(graph, &b);
	if (!rc) {
		unsigned char md[EVP_MAX_MD_SIZE];
		unsigned int mdlen = 0;
		if (EVP_Digest(b.len ? b.data : "", b.len, md, &mdlen, EVP_sha256(),
			       NULL) != 1 ||
		    mdlen * 2 != WORKFLOW_HASH_HEX) {
			rc = ERR_INTERNAL;
		} else {
			static const char digits[] = "0123456789abcdef";
			for (unsigned int i = 0; i < mdlen; i++) {
				hex[2 * i] = digits[md[i] >> 4];
				hex[2 * i + 1] = digits[md[i] & 15];
			}
			hex[WORKFLOW_HASH_HEX] = '\0';
		}
	}
	buf_free(&b);
	return rc;
}

/* ------------------------------------------------------------ reading */

const json_t *workflow_entry(const json_t *entries, const char *key)
{
	size_t i;
	const json_t *e;
	json_array_foreach(entries, i, e)
	{
		const char *k = str_or_null(json_object_get(e, "key"));
		if (k && strcmp(k, key) == 0)
			return json_object_get(e, "value");
	}
	return NULL;
}

static json_t *plain(const json_t *v, bool entries, int depth)
{
	if (depth > SCHEMA_MAX_DEPTH)
		return NULL;
	if (entries || (json_is_object(v) && json_is_array(json_object_get(v, "fields")))) {
		const json_t *list = entries ? v : json_object_get(v, "fields");
		json_t *obj = json_object();
		size_t i;
		const json_t *e;
		json_array_foreach(list, i, e)
		{
			const json_t *k = json_object_get(e, "key");
			if (!json_is_string(k))
				continue;
			json_t *pv = plain(json_object_get(e, "value"), false, depth + 1);
			if (!pv) {
				json_decref(obj);
				return NULL;
			}
			json_object_setn_new(obj, json_string_value(k),
					     json_string_length(k), pv);
		}
		return obj;
	}
	if (json_is_array(v)) {
		json_t *arr = json_array();
		size_t i;
		const json_t *e;
		json_array_foreach(v, i, e)
		{
			json_t *pv = plain(e, false, depth + 1);
			if (!pv) {
				json_decref(arr);
				return NULL;
			}
			json_array_append_new(arr, pv);
		}
		return arr;
	}
	if (!v)
		return json_null();
	return json_is_object(v) ? json_object() : json_copy((json_t *)v);
}

json_t *workflow_plain(const json_t *value, bool entries_array)
{
	return plain(value, entries_array, 0);
}
