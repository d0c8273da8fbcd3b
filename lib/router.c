#include "router.h"

#include <stdint.h>
#include <string.h>

#include "log.h"

/* Matches pattern against path, capturing {name} segments into params.
 * Works on an unchecked pattern too (a malformed one simply fails), so a
 * table that skipped router_check cannot make it read out of bounds. */
static bool match(const char *pat, str_t path, http_pair_t *params,
		  size_t *np)
{
	size_t i = 0, n = 0;
	while (*pat) {
		if (*pat == '{') {
			const char *close = strchr(pat, '}');
			if (!close || n == HTTP_MAX_PATH_PARAMS)
				return false;
			size_t start = i;
			while (i < path.len && path.p[i] != '/')
				i++;
			if (i == start)
				return false;
			params[n++] = (http_pair_t){
				{pat + 1, (size_t)(close - pat - 1)},
				{path.p + start, i - start}};
			pat = close + 1;
			continue;
		}
		if (i == path.len || path.p[i] != *pat)
			return false;
		pat++;
		i++;
	}
	if (i != path.len)
		return false;
	*np = n;
	return true;
}

static bool method_is(str_t m, const char *want)
{
	size_t n = strlen(want);
	return m.len == n && memcmp(m.p, want, n) == 0;
}

static bool answers(const router_route_t *r, const http_request_t *req)
{
	if (method_is(req->method, r->method))
		return true;
	return req->method_id == HTTP_HEAD && strcmp(r->method, "GET") == 0;
}

/* "GET, HEAD, POST": the methods of every route of this host kind whose
 * pattern matches the path, in table order, each once, HEAD after GET. */
static str_t allow_list(const router_route_t *routes, size_t n,
			unsigned kind, const http_request_t *req)
{
	const char *ms[16];
	size_t nm = 0;
	http_pair_t scratch[HTTP_MAX_PATH_PARAMS];
	size_t np;
	for (size_t i = 0; i < n; i++) {
		const router_route_t *r = &routes[i];
		if (!(r->hosts & kind) || !match(r->pattern, req->path, scratch, &np))
			continue;
		const char *add[2] = {r->method,
				      strcmp(r->method, "GET") == 0 ? "HEAD" : NULL};
		for (int k = 0; k < 2 && add[k]; k++) {
			size_t j = 0;
			while (j < nm && strcmp(ms[j], add[k]) != 0)
				j++;
			if (j == nm && nm < sizeof ms / sizeof ms[0])
				ms[nm++] = add[k];
		}
	}
	buf_t b;
	buf_init(&b, req->arena, 256);
	for (size_t j = 0; j < nm; j++) {
		if (j)
			buf_puts(&b, ", ");
		buf_puts(&b, ms[j]);
	}
	return buf_str(&b);
}

int router_match(const router_route_t *routes, size_t n, http_request_t *req,
		 const router_route_t **out)
{
	*out = NULL;
	unsigned kind = req->slug.len ? ROUTER_SITE : ROUTER_PLATFORM;
	http_pair_t params[HTTP_MAX_PATH_PARAMS];
	size_t np = 0;
	bool path_matched = false;
	for (size_t i = 0; i < n; i++) {
		const router_route_t *r = &routes[i];
		if (!(r->hosts & kind) || !match(r->pattern, req->path, params, &np))
			continue;
		if (!answers(r, req)) {
			path_matched = true;
			continue;
		}
		memcpy(req->path_params, params, np * sizeof params[0]);
		req->npath_params = np;
		req->route_name = r->name;
		*out = r;
		return 0;
	}
	req->npath_params = 0;
	if (!path_matched) {
		req->error = "no route";
		return ERR_NOT_FOUND;
	}
	req->allow = allow_list(routes, n, kind, req);
	req->error = "method not allowed";
	return ERR_METHOD;
}

str_t router_param(const http_request_t *req, const char *name)
{
	size_t len = strlen(name);
	for (size_t i = 0; i < req->npath_params; i++) {
		str_t k = req->path_params[i].name;
		if (k.len == len && memcmp(k.p, name, len) == 0)
			return req->path_params[i].value;
	}
	return STR_NULL;
}

int router_param_id(const http_request_t *req, const char *name,
		    long long *out)
{
	str_t v = router_param(req, name);
	if (!v.p)
		return ERR_INTERNAL;
	if (v.len == 0 || v.len > 19 || v.p[0] == '0')
		return ERR_NOT_FOUND;
	unsigned long long n = 0;
	for (size_t i = 0; i < v.len; i++) {
		if (v.p[i] < '0' || v.p[i] > '9')
			return ERR_NOT_FOUND;
		n = n * 10 + (unsigned)(v.p[i] - '0'); /* 19 digits fit */
	}
	if (n > INT64_MAX)
		return ERR_NOT_FOUND;
	*out = (long long)n;
	return 0;
}

/* ---------------------------------------------------------------- check */

static int bad(const router_route_t *r, size_t i, const char *why)
{
	log_line_t *l = log_begin(LOG_ERROR, "bad route");
	log_int(l, "index", (long long)i);
	log_str(l, "pattern", r->pattern ? r->pattern : "(null)");
	log_str(l, "method", r->method ? r->method : "(null)");
	log_str(l, "reason", why);
	log_end(l);
	return ERR_INVALID;
}

static const char *check_pattern(const char *pat)
{
	if (pat[0] != '/')
		return "pattern must start with /";
	str_t names[HTTP_MAX_PATH_PARAMS];
	size_t nn = 0;
	for (const char *p = pat; *p;) {
		/* p is at a '/' */
		p++;
		if (*p == '/')
			return "empty segment";
		if (*p == '{') {
			const char *s = ++p;
			while ((*p >= 'a' && *p <= 'z') || *p == '_' ||
			       (p > s && *p >= '0' && *p <= '9'))
				p++;
			size_t len = (size_t)(p - s);
			if (*p != '}' || len == 0 || len > ROUTER_PARAM_NAME_MAX)
				return "bad param name";
			p++;
			if (*p && *p != '/')
				return "param must be a whole segment";
			if (nn == HTTP_MAX_PATH_PARAMS)
				return "too many params";
			for (size_t k = 0; k < nn; k++)
				if (names[k].len == len &&
				    memcmp(names[k].p, s, len) == 0)
					return "duplicate param name";
			names[nn++] = (str_t){s, len};
			continue;
		}
		while (*p && *p != '/') {
			unsigned char c = (unsigned char)*p;
			if (c <= 0x20 || c == 0x7f || c == '{' || c == '}' ||
			    c == '?' || c == '#' || c == '%')
				return "bad character in pattern";
			p++;
		}
		if (*p == '/' && p[1] == '\0')
			return NULL; /* a trailing slash is a literal */
	}
	return NULL;
}

int router_check(const router_route_t *routes, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const router_route_t *r = &routes[i];
		if (!r->method || !r->pattern || !r->handler || !r->name)
			return bad(r, i, "missing field");
		size_t ml = strlen(r->method);
		if (ml == 0 || ml > 16)
			return bad(r, i, "bad method");
		for (size_t k = 0; k < ml; k++)
			if (r->method[k] < 'A' || r->method[k] > 'Z')
				return bad(r, i, "bad method");
		if (!r->hosts || (r->hosts & ~ROUTER_ANY))
			return bad(r, i, "bad hosts");
		const char *why = check_pattern(r->pattern);
		if (why)
			return bad(r, i, why);
		for (size_t j = 0; j < i; j++)
			if ((routes[j].hosts & r->hosts) &&
			    strcmp(routes[j].method, r->method) == 0 &&
			    strcmp(routes[j].pattern, r->pattern) == 0)
				return bad(r, i, "duplicate route");
	}
	return 0;
}
