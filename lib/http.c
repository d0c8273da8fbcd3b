#include "http.h"

#include <stdint.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

struct http_lazy {
	http_pair_t *query;
	size_t nquery;
	int query_err;
	bool query_done;
	http_pair_t *form;
	size_t nform;
	int form_err;
	bool form_done;
};

/* ---------------------------------------------------------------- bytes */

static inline char lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
}

static inline bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static inline int hex_val(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = lower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* RFC 9110 tchar. */
static bool is_tchar(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return true;
	return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static bool is_token(str_t s)
{
	if (s.len == 0)
		return false;
	for (size_t i = 0; i < s.len; i++)
		if (!is_tchar((unsigned char)s.p[i]))
			return false;
	return true;
}

static bool c_eq(str_t s, const char *lit, size_t n)
{
	return s.len == n && memcmp(s.p, lit, n) == 0;
}

/* The media type of a Content-Type value (before ';', trimmed). */
static str_t media_type(str_t ct)
{
	str_t head;
	str_cut(ct, ';', &head);
	return str_trim(head);
}

static int fail(http_request_t *req, int err, const char *why)
{
	req->error = why;
	return err;
}

/* ---------------------------------------------------------------- envp */

/* When entry e is "NAME=value" for the given name, sets *v and returns
 * true.  n is strlen(name). */
static bool env_take(const char *e, const char *name, size_t n, str_t *v)
{
	if (strncmp(e, name, n) != 0 || e[n] != '=')
		return false;
	*v = str_c(e + n + 1);
	return true;
}

#define TAKE(e, lit, v) env_take((e), (lit), sizeof(lit) - 1, (v))

str_t http_fcgi_param(const http_request_t *req, const char *name)
{
	size_t n = strlen(name);
	for (char **e = req->envp; e && *e; e++)
		if (strncmp(*e, name, n) == 0 && (*e)[n] == '=')
			return str_c(*e + n + 1);
	return STR_NULL;
}

/* Header name char as it appears in a CGI param: upper case, '-' -> '_'. */
static inline char cgi_char(char c)
{
	if (c >= 'a' && c <= 'z')
		return (char)(c - 32);
	return c == '-' ? '_' : c;
}

/* The opaque part of an entity tag without a weakness prefix. */
static str_t etag_opaque(str_t tag)
{
	tag = str_trim(tag);
	if (tag.len >= 2 && tag.p[0] == 'W' && tag.p[1] == '/')
		tag = str_sub(tag, 2, tag.len - 2);
	return tag;
}

bool http_etag_matches(str_t if_none_match, const char *etag)
{
	str_t want = etag_opaque(str_c(etag));
	str_t rest = str_trim(if_none_match);
	if (!rest.p || rest.len == 0 || want.len == 0)
		return false;
	if (str_eq_c(rest, "*"))
		return true;
	while (rest.p) {
		str_t item;
		rest = str_cut(rest, ',', &item);
		if (str_eq(etag_opaque(item), want))
			return true;
	}
	return false;
}

str_t http_header(const http_request_t *req, str_t name)
{
	if (name.len == 0)
		return STR_NULL;
	if (str_case_eq(name, STR("Content-Type")))
		return http_fcgi_param(req, "CONTENT_TYPE");
	if (str_case_eq(name, STR("Content-Length")))
		return http_fcgi_param(req, "CONTENT_LENGTH");
	for (char **ep = req->envp; ep && *ep; ep++) {
		const char *e = *ep;
		if (strncmp(e, "HTTP_", 5) != 0)
			continue;
		e += 5;
		size_t i = 0;
		while (i < name.len && e[i] && e[i] == cgi_char(name.p[i]))
			i++;
		if (i == name.len && e[i] == '=')
			return str_c(e + i + 1);
	}
	return STR_NULL;
}

bool http_header_next(const http_request_t *req, size_t *pos, str_t *name,
		      str_t *value)
{
	if (!req->envp)
		return false;
	for (size_t i = *pos; req->envp[i]; i++) {
		const char *e = req->envp[i];
		if (strncmp(e, "HTTP_", 5) != 0)
			continue;
		const char *eq = strchr(e + 5, '=');
		if (!eq)
			continue;
		*name = (str_t){e + 5, (size_t)(eq - e - 5)};
		*value = str_c(eq + 1);
		*pos = i + 1;
		return true;
	}
	return false;
}

/* ---------------------------------------------------------------- init */

static http_method_t method_id(str_t m)
{
	switch (m.len) {
	case 3:
		if (c_eq(m, "GET", 3))
			return HTTP_GET;
		if (c_eq(m, "PUT", 3))
			return HTTP_PUT;
		break;
	case 4:
		if (c_eq(m, "HEAD", 4))
			return HTTP_HEAD;
		if (c_eq(m, "POST", 4))
			return HTTP_POST;
		break;
	case 5:
		if (c_eq(m, "PATCH", 5))
			return HTTP_PATCH;
		break;
	case 6:
		if (c_eq(m, "DELETE", 6))
			return HTTP_DELETE;
		break;
	case 7:
		if (c_eq(m, "OPTIONS", 7))
			return HTTP_OPTIONS;
		break;
	}
	return HTTP_OTHER;
}

static int set_method(http_request_t *req, str_t m)
{
	if (m.len == 0 || m.len > 16)
		return fail(req, ERR_INVALID, "bad method");
	for (size_t i = 0; i < m.len; i++)
		if (m.p[i] < 'A' || m.p[i] > 'Z')
			return fail(req, ERR_INVALID, "bad method");
	req->method = m;
	req->method_id = method_id(m);
	return 0;
}

/* Host: lower-case, strip ":port" and one final '.', then check it is a
 * DNS name.  Copies only when there is upper case to fold. */
static int set_host(http_request_t *req, str_t h)
{
	const char *bad = "bad host";
	long colon = str_index(h, ':');
	if (colon >= 0) {
		str_t port = str_sub(h, (size_t)colon + 1, SIZE_MAX);
		if (port.len == 0 || port.len > 5)
			return fail(req, ERR_INVALID, bad);
		for (size_t i = 0; i < port.len; i++)
			if (!is_digit(port.p[i]))
				return fail(req, ERR_INVALID, bad);
		h.len = (size_t)colon;
	}
	if (h.len && h.p[h.len - 1] == '.')
		h.len--;
	if (h.len == 0 || h.len > 253)
		return fail(req, ERR_INVALID, bad);
	bool upper = false;
	size_t label = 0;
	for (size_t i = 0; i < h.len; i++) {
		char c = h.p[i];
		if (c == '.') {
			if (label == 0)
				return fail(req, ERR_INVALID, bad);
			label = 0;
			continue;
		}
		if (c >= 'A' && c <= 'Z')
			upper = true;
		else if (!((c >= 'a' && c <= 'z') || is_digit(c) || c == '-'))
			return fail(req, ERR_INVALID, bad);
		if (++label > 63)
			return fail(req, ERR_INVALID, bad);
	}
	if (label == 0)
		return fail(req, ERR_INVALID, bad);
	if (upper) {
		char *p = arena_alloc(req->arena, h.len + 1);
		for (size_t i = 0; i < h.len; i++)
			p[i] = lower(h.p[i]);
		p[h.len] = '\0';
		h.p = p;
	}
	req->host = h;
	return 0;
}

/* ^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$ */
bool http_slug_valid(str_t s)
{
	if (s.len == 0 || s.len > 63 || s.p[0] == '-' || s.p[s.len - 1] == '-')
		return false;
	for (size_t i = 0; i < s.len; i++) {
		char c = s.p[i];
		if (!((c >= 'a' && c <= 'z') || is_digit(c) || c == '-'))
			return false;
	}
	return true;
}

static bool valid_request_id(str_t s)
{
	if (s.len == 0 || s.len > HTTP_REQUEST_ID_MAX)
		return false;
	for (size_t i = 0; i < s.len; i++) {
		char c = s.p[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      is_digit(c) || c == '-'))
			return false;
	}
	return true;
}

/* splitmix64 seeded from getrandom per thread, reseeded after fork, so
 * an id costs no syscall beyond getpid.  Ids only correlate log lines;
 * they are not secrets. */
static uint64_t next_random(void)
{
	static _Thread_local uint64_t state;
	static _Thread_local pid_t owner;
	pid_t pid = getpid();
	if (owner != pid) {
		uint64_t seed = 0;
		if (getrandom(&seed, sizeof seed, GRND_NONBLOCK) != sizeof seed) {
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			seed = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20) ^
			       (uint64_t)(uintptr_t)&seed;
		}
		state = seed ^ ((uint64_t)pid << 32);
		owner = pid;
	}
	uint64_t z = (state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static str_t new_request_id(arena_t *a)
{
	static const char hex[] = "0123456789abcdef";
	char *p = arena_alloc(a, 33);
	for (int half = 0; half < 2; half++) {
		uint64_t r = next_random();
		for (int i = 0; i < 16; i++, r >>= 4)
			p[half * 16 + i] = hex[r & 15];
	}
	p[32] = '\0';
	return (str_t){p, 32};
}

/* Decodes and validates the path part of the URI (see http.h).  Decoding
 * happens only when there is a '%' or a "//" to merge; a plain path stays
 * a view into envp (whose string ends right after it only when there is
 * no query, hence the copy below when a '?' follows). */
static int set_path(http_request_t *req, str_t raw, bool terminated)
{
	const char *bad = "bad path";
	if (raw.len == 0 || raw.p[0] != '/')
		return fail(req, ERR_INVALID, "path must start with /");
	bool copy = !terminated, high = false;
	for (size_t i = 0; i < raw.len; i++) {
		unsigned char c = (unsigned char)raw.p[i];
		if (c == '%' || (c == '/' && i + 1 < raw.len && raw.p[i + 1] == '/'))
			copy = true;
		else if (c < 0x20 || c == 0x7f)
			return fail(req, ERR_INVALID, bad);
		else if (c >= 0x80)
			high = true;
	}
	str_t path = raw;
	if (copy) {
		char *out = arena_alloc(req->arena, raw.len + 1);
		size_t o = 0;
		for (size_t i = 0; i < raw.len; i++) {
			unsigned char c = (unsigned char)raw.p[i];
			if (c == '%') {
				int h1 = i + 2 < raw.len ? hex_val(raw.p[i + 1]) : -1;
				int h2 = h1 >= 0 ? hex_val(raw.p[i + 2]) : -1;
				if (h2 < 0)
					return fail(req, ERR_INVALID, bad);
				c = (unsigned char)(h1 << 4 | h2);
				i += 2;
				/* An encoded '/' would change the segments the
				 * router sees; NUL and CTL never belong. */
				if (c == '/' || c < 0x20 || c == 0x7f)
					return fail(req, ERR_INVALID, bad);
				if (c >= 0x80)
					high = true;
			} else if (c == '/' && o > 0 && out[o - 1] == '/') {
				continue;
			}
			out[o++] = (char)c;
		}
		out[o] = '\0';
		path = (str_t){out, o};
	}
	/* Dot segments are refused rather than resolved: nginx already
	 * normalizes what browsers send, so only crafted requests get here. */
	for (size_t i = 0; i < path.len; i++) {
		if (path.p[i] != '/' || i + 1 >= path.len || path.p[i + 1] != '.')
			continue;
		size_t j = i + 2;
		if (j < path.len && path.p[j] == '.')
			j++;
		if (j == path.len || path.p[j] == '/')
			return fail(req, ERR_INVALID, bad);
	}
	if (high && !str_is_valid_utf8(path))
		return fail(req, ERR_INVALID, bad);
	req->path = path;
	return 0;
}

static int set_content_length(http_request_t *req, str_t v)
{
	if (v.len == 0)
		return 0;
	if (v.len > 18)
		return fail(req, ERR_INVALID, "bad content length");
	size_t n = 0;
	for (size_t i = 0; i < v.len; i++) {
		if (!is_digit(v.p[i]))
			return fail(req, ERR_INVALID, "bad content length");
		n = n * 10 + (size_t)(v.p[i] - '0');
	}
	req->content_length = n;
	req->has_content_length = true;
	return 0;
}

int http_request_init(http_request_t *req, arena_t *arena, char **envp)
{
	*req = (http_request_t){.arena = arena, .envp = envp};
	req->lazy = arena_calloc(arena, 1, sizeof *req->lazy);
	str_t method = STR_NULL, uri = STR_NULL, qs = STR_NULL, host = STR_NULL,
	      slug = STR_NULL, rid = STR_NULL, xrid = STR_NULL, clen = STR_NULL,
	      https = STR_NULL;
	for (char **ep = envp; ep && *ep; ep++) {
		const char *e = *ep;
		str_t v;
		switch (e[0]) {
		case 'C':
			if (!slug.p && TAKE(e, "CANOPY_SLUG", &v))
				slug = v;
			else if (!req->content_type.p && TAKE(e, "CONTENT_TYPE", &v))
				req->content_type = v;
			else if (!clen.p && TAKE(e, "CONTENT_LENGTH", &v))
				clen = v;
			break;
		case 'H':
			if (!host.p && TAKE(e, "HTTP_HOST", &v))
				host = v;
			else if (!xrid.p && TAKE(e, "HTTP_X_REQUEST_ID", &v))
				xrid = v;
			else if (!https.p && TAKE(e, "HTTPS", &v))
				https = v;
			break;
		case 'Q':
			if (!qs.p && TAKE(e, "QUERY_STRING", &v))
				qs = v;
			break;
		case 'R':
			if (!method.p && TAKE(e, "REQUEST_METHOD", &v))
				method = v;
			else if (!uri.p && TAKE(e, "REQUEST_URI", &v))
				uri = v;
			else if (!rid.p && TAKE(e, "REQUEST_ID", &v))
				rid = v;
			else if (!req->remote_addr.p && TAKE(e, "REMOTE_ADDR", &v))
				req->remote_addr = v;
			break;
		}
	}
	/* The id first, so even a refused request logs with one.  REQUEST_ID
	 * is set by nginx itself; a client can only forge HTTP_*. */
	if (valid_request_id(rid))
		req->request_id = rid;
	else if (valid_request_id(xrid))
		req->request_id = xrid;
	else
		req->request_id = new_request_id(arena);
	if (!req->content_type.p)
		req->content_type = STR("");
	if (!req->remote_addr.p)
		req->remote_addr = STR("");
	req->https = str_case_eq(https, STR("on"));

	int rc = set_method(req, method);
	if (rc)
		return rc;
	if (uri.len == 0)
		return fail(req, ERR_INVALID, "missing REQUEST_URI");
	if (uri.len > HTTP_MAX_URI)
		return fail(req, ERR_INVALID, "URI too long");
	req->uri = uri;
	str_t raw_path;
	str_t q = str_cut(uri, '?', &raw_path);
	req->query = q.p ? q : (qs.p ? qs : STR(""));
	if (req->query.len > HTTP_MAX_URI)
		return fail(req, ERR_INVALID, "URI too long");
	if ((rc = set_path(req, raw_path, q.p == NULL)))
		return rc;
	if ((rc = set_host(req, host)))
		return rc;
	if (slug.len && !http_slug_valid(slug))
		return fail(req, ERR_INVALID, "bad slug");
	req->slug = slug.len ? slug : STR("");
	return set_content_length(req, clen);
}

/* ---------------------------------------------------------------- body */

int http_request_read_body(http_request_t *req, http_read_fn fn, void *ctx,
			   size_t max)
{
	if (req->body_read)
		return 0;
	if (req->has_content_length && req->content_length > max)
		return fail(req, ERR_TOO_LARGE, "declared body too large");
	/* With a declared length, one exact allocation plus one spare byte
	 * to notice a client that sends more; without, a capped buffer. */
	size_t cap = req->has_content_length ? req->content_length : 4096;
	if (cap > max)
		cap = max;
	char *data = arena_alloc(req->arena, cap + 2);
	size_t len = 0;
	for (;;) {
		if (len == cap + 1) {
			if (len > max)
				return fail(req, ERR_TOO_LARGE, "body too large");
			if (req->has_content_length)
				return fail(req, ERR_INVALID, "body length mismatch");
			size_t ncap = cap * 2 < max ? cap * 2 : max;
			char *nd = arena_alloc(req->arena, ncap + 2);
			memcpy(nd, data, len);
			data = nd;
			cap = ncap;
		}
		long r = fn(ctx, data + len, cap + 1 - len);
		if (r < 0)
			return fail(req, ERR_INVALID, "body read failed");
		if (r == 0)
			break;
		if ((size_t)r > cap + 1 - len)
			return fail(req, ERR_INTERNAL, "read callback overran");
		len += (size_t)r;
	}
	if (len > max)
		return fail(req, ERR_TOO_LARGE, "body too large");
	if (req->has_content_length && len != req->content_length)
		return fail(req, ERR_INVALID, "body length mismatch");
	data[len] = '\0';
	req->body = (str_t){data, len};
	req->body_read = true;
	return 0;
}

/* ---------------------------------------------------------------- decoding */

int http_url_decode(arena_t *arena, str_t in, bool plus_is_space, str_t *out)
{
	size_t i = 0;
	for (; i < in.len; i++) {
		char c = in.p[i];
		if (c == '%' || (c == '+' && plus_is_space))
			break;
		if (c == '\0')
			return ERR_INVALID;
	}
	if (i == in.len) {
		*out = in;
		return 0;
	}
	char *p = arena_alloc(arena, in.len + 1);
	memcpy(p, in.p, i);
	size_t o = i;
	for (; i < in.len; i++) {
		char c = in.p[i];
		if (c == '%') {
			int h1 = i + 2 < in.len ? hex_val(in.p[i + 1]) : -1;
			int h2 = h1 >= 0 ? hex_val(in.p[i + 2]) : -1;
			if (h2 < 0)
				return ERR_INVALID;
			c = (char)(h1 << 4 | h2);
			i += 2;
		} else if (c == '+' && plus_is_space) {
			c = ' ';
		}
		if (c == '\0')
			return ERR_INVALID;
		p[o++] = c;
	}
	p[o] = '\0';
	*out = (str_t){p, o};
	return 0;
}

int http_url_encode(buf_t *out, str_t in)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t run = 0;
	for (size_t i = 0; i < in.len; i++) {
		unsigned char c = (unsigned char)in.p[i];
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
		    c == '~')
			continue;
		char esc[3] = {'%', hex[c >> 4], hex[c & 15]};
		int rc = buf_append(out, in.p + run, i - run);
		if (!rc)
			rc = buf_append(out, esc, 3);
		if (rc)
			return rc;
		run = i + 1;
	}
	return buf_append(out, in.p + run, in.len - run);
}

int http_urlencoded_parse(arena_t *arena, str_t s, size_t max_pairs,
			  http_pair_t **items, size_t *n)
{
	*items = NULL;
	*n = 0;
	size_t segs = 1;
	for (size_t i = 0; i < s.len; i++)
		if (s.p[i] == '&')
			segs++;
	if (s.len == 0)
		return 0;
	size_t alloc = segs < max_pairs ? segs : max_pairs;
	http_pair_t *pairs = arena_alloc(arena, (alloc ? alloc : 1) * sizeof *pairs);
	size_t count = 0;
	str_t rest = s;
	while (rest.p) {
		str_t seg;
		rest = str_cut(rest, '&', &seg);
		if (seg.len == 0)
			continue;
		str_t name;
		str_t value = str_cut(seg, '=', &name);
		if (!value.p)
			value = (str_t){seg.p + seg.len, 0};
		if (count == max_pairs)
			return ERR_TOO_LARGE;
		http_pair_t *pr = &pairs[count];
		if (http_url_decode(arena, name, true, &pr->name) ||
		    http_url_decode(arena, value, true, &pr->value))
			return ERR_INVALID;
		count++;
	}
	*items = pairs;
	*n = count;
	return 0;
}

static str_t pairs_find(const http_pair_t *items, size_t n, const char *name)
{
	str_t key = str_c(name);
	for (size_t i = 0; i < n; i++)
		if (str_eq(items[i].name, key))
			return items[i].value;
	return STR_NULL;
}

int http_query_parse(const http_request_t *req, const http_pair_t **items,
		     size_t *n)
{
	struct http_lazy *lz = req->lazy;
	if (!lz->query_done) {
		lz->query_err = http_urlencoded_parse(req->arena, req->query,
						      HTTP_MAX_PARAMS, &lz->query,
						      &lz->nquery);
		lz->query_done = true;
	}
	*items = lz->query_err ? NULL : lz->query;
	*n = lz->query_err ? 0 : lz->nquery;
	return lz->query_err;
}

str_t http_query(const http_request_t *req, const char *name)
{
	const http_pair_t *items;
	size_t n;
	if (http_query_parse(req, &items, &n))
		return STR_NULL;
	return pairs_find(items, n, name);
}

int http_form_parse(const http_request_t *req, const http_pair_t **items,
		    size_t *n)
{
	struct http_lazy *lz = req->lazy;
	*items = NULL;
	*n = 0;
	if (!str_case_eq(media_type(req->content_type),
			 STR("application/x-www-form-urlencoded")))
		return ERR_MEDIA_TYPE;
	if (!req->body_read)
		return ERR_INTERNAL;
	if (!lz->form_done) {
		lz->form_err = http_urlencoded_parse(req->arena, req->body,
						     HTTP_MAX_PARAMS, &lz->form,
						     &lz->nform);
		lz->form_done = true;
	}
	if (lz->form_err)
		return lz->form_err;
	*items = lz->form;
	*n = lz->nform;
	return 0;
}

str_t http_form(const http_request_t *req, const char *name)
{
	const http_pair_t *items;
	size_t n;
	if (http_form_parse(req, &items, &n))
		return STR_NULL;
	return pairs_find(items, n, name);
}

/* ---------------------------------------------------------------- cookies */

static str_t trim_ws(str_t s)
{
	while (s.len && (s.p[0] == ' ' || s.p[0] == '\t'))
		s.p++, s.len--;
	while (s.len && (s.p[s.len - 1] == ' ' || s.p[s.len - 1] == '\t'))
		s.len--;
	return s;
}

str_t http_cookie(const http_request_t *req, const char *name)
{
	str_t want = str_c(name);
	str_t rest = http_header(req, STR("Cookie"));
	while (rest.p && rest.len) {
		str_t pair;
		rest = str_cut(rest, ';', &pair);
		str_t key;
		str_t value = str_cut(pair, '=', &key);
		if (!value.p || !str_eq(trim_ws(key), want))
			continue;
		value = trim_ws(value);
		if (value.len >= 2 && value.p[0] == '"' &&
		    value.p[value.len - 1] == '"')
			value = (str_t){value.p + 1, value.len - 2};
		return value;
	}
	return STR_NULL;
}

/* ---------------------------------------------------------------- response */

void http_response_init(http_response_t *resp, arena_t *arena, size_t body_max)
{
	resp->arena = arena;
	resp->status = 200;
	resp->nheaders = 0;
	resp->head_only = false;
	buf_init(&resp->body, arena, body_max);
}

static bool valid_header_value(str_t v)
{
	for (size_t i = 0; i < v.len; i++) {
		unsigned char c = (unsigned char)v.p[i];
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return false;
	}
	return true;
}

static int check_header(str_t name, str_t value)
{
	if (!is_token(name) || !valid_header_value(value) ||
	    str_case_eq(name, STR("Status")) ||
	    str_case_eq(name, STR("Content-Length")))
		return ERR_INVALID;
	return 0;
}

static str_t copy(arena_t *a, str_t s)
{
	return (str_t){arena_strndup(a, s.p ? s.p : "", s.len), s.len};
}

int http_add_header(http_response_t *resp, str_t name, str_t value)
{
	int rc = check_header(name, value);
	if (rc)
		return rc;
	if (resp->nheaders == HTTP_MAX_RESPONSE_HEADERS)
		return ERR_TOO_LARGE;
	resp->headers[resp->nheaders++] =
		(http_pair_t){copy(resp->arena, name), copy(resp->arena, value)};
	return 0;
}

int http_set_header(http_response_t *resp, str_t name, str_t value)
{
	int rc = check_header(name, value);
	if (rc)
		return rc;
	size_t o = 0;
	bool done = false;
	for (size_t i = 0; i < resp->nheaders; i++) {
		http_pair_t *h = &resp->headers[i];
		if (str_case_eq(h->name, name)) {
			if (done)
				continue; /* drop later duplicates */
			h->value = copy(resp->arena, value);
			done = true;
		}
		resp->headers[o++] = *h;
	}
	resp->nheaders = o;
	return done ? 0 : http_add_header(resp, name, value);
}

str_t http_response_header(const http_response_t *resp, str_t name)
{
	for (size_t i = 0; i < resp->nheaders; i++)
		if (str_case_eq(resp->headers[i].name, name))
			return resp->headers[i].value;
	return STR_NULL;
}

/* RFC 6265 cookie-octet. */
static bool valid_cookie_value(const char *v)
{
	for (; *v; v++) {
		unsigned char c = (unsigned char)*v;
		if (c < 0x21 || c > 0x7e || c == '"' || c == ',' || c == ';' ||
		    c == '\\')
			return false;
	}
	return true;
}

static bool valid_cookie_av(const char *v)
{
	for (; *v; v++) {
		unsigned char c = (unsigned char)*v;
		if (c < 0x20 || c == 0x7f || c == ';')
			return false;
	}
	return true;
}

int http_set_cookie(http_response_t *resp, const char *name,
		    const char *value, const http_cookie_opts_t *opts)
{
	static const http_cookie_opts_t defaults = {.http_only = true};
	if (!opts)
		opts = &defaults;
	const char *path = opts->path ? opts->path : "/";
	if (!is_token(str_c(name)) || !valid_cookie_value(value) ||
	    !valid_cookie_av(path) ||
	    (opts->domain && !valid_cookie_av(opts->domain)) ||
	    (opts->same_site == HTTP_SAMESITE_NONE && !opts->secure))
		return ERR_INVALID;
	buf_t b;
	buf_init(&b, resp->arena, 4096);
	buf_puts(&b, name);
	buf_putc(&b, '=');
	buf_puts(&b, value);
	buf_puts(&b, "; Path=");
	buf_puts(&b, path);
	if (opts->domain) {
		buf_puts(&b, "; Domain=");
		buf_puts(&b, opts->domain);
	}
	if (opts->max_age > 0)
		buf_printf(&b, "; Max-Age=%lld", opts->max_age);
	else if (opts->max_age < 0)
		buf_puts(&b, "; Max-Age=0");
	if (opts->secure)
		buf_puts(&b, "; Secure");
	if (opts->http_only)
		buf_puts(&b, "; HttpOnly");
	buf_puts(&b, opts->same_site == HTTP_SAMESITE_STRICT ? "; SameSite=Strict"
		     : opts->same_site == HTTP_SAMESITE_NONE ? "; SameSite=None"
							     : "; SameSite=Lax");
	if (b.err)
		return b.err;
	return http_add_header(resp, STR("Set-Cookie"), buf_str(&b));
}

int http_redirect(http_response_t *resp, int status, str_t location)
{
	if (status != 301 && status != 302 && status != 303 && status != 307 &&
	    status != 308)
		return ERR_INVALID;
	int rc = http_set_header(resp, STR("Location"), location);
	if (rc)
		return rc;
	resp->status = status;
	buf_clear(&resp->body);
	return 0;
}

int http_json_error(http_response_t *resp, int err, const char *message,
		    const char *field)
{
	int status = err_http_status(err);
	if (!message)
		message = http_status_text(status);
	buf_t *b = &resp->body;
	buf_clear(b);
	buf_puts(b, "{\"error\":{\"code\":\"");
	buf_puts(b, err_code_name(err));
	buf_puts(b, "\",\"message\":\"");
	buf_put_json_str(b, message, strlen(message));
	if (field) {
		buf_puts(b, "\",\"field\":\"");
		buf_put_json_str(b, field, strlen(field));
	}
	buf_puts(b, "\"}}");
	resp->status = status;
	if (b->err) {
		int rc = b->err;
		buf_clear(b);
		return rc;
	}
	return http_set_header(resp, STR("Content-Type"), STR("application/json"));
}

const char *http_status_text(int status)
{
	switch (status) {
	case 100: return "Continue";
	case 101: return "Switching Protocols";
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 204: return "No Content";
	case 206: return "Partial Content";
	case 301: return "Moved Permanently";
	case 302: return "Found";
	case 303: return "See Other";
	case 304: return "Not Modified";
	case 307: return "Temporary Redirect";
	case 308: return "Permanent Redirect";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 406: return "Not Acceptable";
	case 408: return "Request Timeout";
	case 409: return "Conflict";
	case 410: return "Gone";
	case 411: return "Length Required";
	case 412: return "Precondition Failed";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 415: return "Unsupported Media Type";
	case 422: return "Unprocessable Content";
	case 428: return "Precondition Required";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	default: return "Unknown";
	}
}

static int write_all(http_write_fn fn, void *ctx, const char *p, size_t n)
{
	while (n) {
		long w = fn(ctx, p, n);
		if (w <= 0 || (size_t)w > n)
			return ERR_INTERNAL;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static size_t put(char *dst, const char *s, size_t n)
{
	memcpy(dst, s, n);
	return n;
}

static size_t put_uint(char *dst, unsigned long long v)
{
	char tmp[24];
	size_t n = 0;
	do
		tmp[n++] = (char)('0' + v % 10);
	while ((v /= 10));
	for (size_t i = 0; i < n; i++)
		dst[i] = tmp[n - 1 - i];
	return n;
}

int http_response_write(const http_response_t *resp, http_write_fn fn,
			void *ctx)
{
	if (resp->body.err)
		return ERR_INTERNAL;
	int status = resp->status >= 100 && resp->status <= 599 ? resp->status
								: 500;
	const char *text = http_status_text(status);
	bool no_body = status < 200 || status == 204 || status == 304;
	str_t body = no_body ? STR("") : buf_str(&resp->body);
	static const char default_ct[] = "Content-Type: text/plain; charset=utf-8\r\n";
	bool add_ct = body.len &&
		      !http_found(http_response_header(resp, STR("Content-Type")));

	size_t need = sizeof "Status: 000 \r\n" + strlen(text) +
		      sizeof default_ct + sizeof "Content-Length: \r\n" + 20 + 2;
	for (size_t i = 0; i < resp->nheaders; i++)
		need += resp->headers[i].name.len + resp->headers[i].value.len + 4;

	char stack[2048];
	char *h = need <= sizeof stack ? stack : arena_alloc(resp->arena, need);
	size_t o = put(h, "Status: ", 8);
	o += put_uint(h + o, (unsigned)status);
	h[o++] = ' ';
	o += put(h + o, text, strlen(text));
	o += put(h + o, "\r\n", 2);
	for (size_t i = 0; i < resp->nheaders; i++) {
		const http_pair_t *hd = &resp->headers[i];
		o += put(h + o, hd->name.p, hd->name.len);
		o += put(h + o, ": ", 2);
		o += put(h + o, hd->value.p, hd->value.len);
		o += put(h + o, "\r\n", 2);
	}
	if (add_ct)
		o += put(h + o, default_ct, sizeof default_ct - 1);
	if (!no_body) {
		o += put(h + o, "Content-Length: ", 16);
		o += put_uint(h + o, body.len);
		o += put(h + o, "\r\n", 2);
	}
	o += put(h + o, "\r\n", 2);

	int rc = write_all(fn, ctx, h, o);
	if (!rc && body.len && !resp->head_only)
		rc = write_all(fn, ctx, body.p, body.len);
	return rc;
}
