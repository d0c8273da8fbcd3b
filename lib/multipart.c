#include "multipart.h"

#include <stdint.h>
#include <string.h>

#define PARAMS_MAX 8       /* parameters of one header value */
#define PADDING_MAX 32     /* transport padding after a boundary */

typedef struct {
	str_t name;
	str_t value;
} param_t;

static int invalid(const char **why, const char *msg)
{
	if (why)
		*why = msg;
	return ERR_INVALID;
}

static int too_large(const char **why, const char *msg)
{
	if (why)
		*why = msg;
	return ERR_TOO_LARGE;
}

/* RFC 9110 tchar. */
static bool is_tchar(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || (c && strchr("!#$%&'*+-.^_`|~", c));
}

static bool is_ctl(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

static bool is_ows(char c)
{
	return c == ' ' || c == '\t';
}

static size_t skip_ows(str_t s, size_t i)
{
	while (i < s.len && is_ows(s.p[i]))
		i++;
	return i;
}

static size_t span_token(str_t s, size_t i)
{
	while (i < s.len && is_tchar((unsigned char)s.p[i]))
		i++;
	return i;
}

/* A header value "type *(OWS ";" OWS [name "=" value])", where type is a
 * token, or "token/token" when media is set; a value is a token or a
 * quoted string (no escapes, no control bytes).  Parameter names are
 * unique, case-insensitively. */
static int parse_value(str_t v, bool media, str_t *type, param_t *params,
		       size_t *np, const char **why)
{
	size_t i = span_token(v, 0);
	if (i == 0)
		return invalid(why, "a header value does not start with a "
				    "token");
	if (media) {
		if (i == v.len || v.p[i] != '/')
			return invalid(why, "a media type has no subtype");
		size_t j = span_token(v, i + 1);
		if (j == i + 1)
			return invalid(why, "a media type has no subtype");
		i = j;
	}
	*type = (str_t){v.p, i};
	*np = 0;
	for (;;) {
		i = skip_ows(v, i);
		if (i == v.len)
			return 0;
		if (v.p[i] != ';')
			return invalid(why, "a header value has text where "
					    "';' belongs");
		i = skip_ows(v, i + 1);
		if (i == v.len || v.p[i] == ';')
			continue; /* an empty parameter (RFC 9110 5.6.6) */
		size_t start = i;
		i = span_token(v, i);
		if (i == start || i == v.len || v.p[i] != '=')
			return invalid(why, "a header parameter is not "
					    "name=value");
		str_t name = {v.p + start, i - start};
		str_t value;
		i++;
		if (i < v.len && v.p[i] == '"') {
			size_t vs = ++i;
			while (i < v.len && v.p[i] != '"') {
				if (is_ctl((unsigned char)v.p[i]))
					return invalid(why, "a quoted header "
							    "parameter holds "
							    "a control byte");
				i++;
			}
			if (i == v.len)
				return invalid(why, "a quoted header parameter "
						    "is not closed");
			value = (str_t){v.p + vs, i - vs};
			i++;
		} else {
			size_t vs = i;
			i = span_token(v, i);
			if (i == vs)
				return invalid(why, "a header parameter has no "
						    "value");
			value = (str_t){v.p + vs, i - vs};
		}
		for (size_t k = 0; k < *np; k++)
			if (str_case_eq(params[k].name, name))
				return invalid(why, "a header parameter is "
						    "given twice");
		if (*np == PARAMS_MAX)
			return invalid(why, "a header value has too many "
					    "parameters");
		params[(*np)++] = (param_t){name, value};
	}
}

static str_t param(const param_t *params, size_t n, const char *name)
{
	str_t want = str_c(name);
	for (size_t i = 0; i < n; i++)
		if (str_case_eq(params[i].name, want))
			return params[i].value;
	return STR_NULL;
}

/* RFC 2046 bchars, not ending in a space. */
static bool valid_boundary(str_t b)
{
	if (b.len == 0 || b.len > MULTIPART_BOUNDARY_MAX ||
	    b.p[b.len - 1] == ' ')
		return false;
	for (size_t i = 0; i < b.len; i++) {
		unsigned char c = (unsigned char)b.p[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || (c && strchr("'()+_,-./:=? ", c))))
			return false;
	}
	return true;
}

int multipart_boundary(str_t content_type, str_t *boundary, const char **why)
{
	*boundary = STR_NULL;
	param_t params[PARAMS_MAX];
	size_t np;
	str_t type;
	str_t ct = str_trim(content_type.p ? content_type : STR(""));
	if (span_token(ct, 0) == 0) {
		if (why)
			*why = "the request has no content type";
		return ERR_MEDIA_TYPE;
	}
	int rc = parse_value(ct, true, &type, params, &np, why);
	if (rc == 0 && !str_case_eq(type, STR("multipart/form-data"))) {
		if (why)
			*why = "the content type is not multipart/form-data";
		return ERR_MEDIA_TYPE;
	}
	if (rc)
		return rc;
	str_t b = param(params, np, "boundary");
	if (!b.p)
		return invalid(why, "the content type has no boundary");
	if (!valid_boundary(b))
		return invalid(why, "the boundary is empty, over 70 bytes or "
				    "holds bytes RFC 2046 does not allow");
	*boundary = b;
	return 0;
}

/* One part's header block from *pos (just past the CRLF that ends the
 * boundary line) to the blank line; *pos is left at the data. */
static int part_headers(str_t body, size_t *pos, size_t max_header,
			multipart_part_t *part, const char **why)
{
	size_t p = *pos, lines = 0;
	bool have_cd = false, have_ct = false;
	for (;;) {
		size_t room = body.len - p;
		size_t limit = max_header - (p - *pos);
		const char *eol = memmem(body.p + p, room < limit ? room : limit,
					 "\r\n", 2);
		if (!eol)
			return room < limit
				       ? invalid(why, "a part's headers are "
						      "truncated")
				       : too_large(why, "a part's header block "
							"is too large");
		str_t line = {body.p + p, (size_t)(eol - (body.p + p))};
		p += line.len + 2;
		if (line.len == 0)
			break;
		if (++lines > MULTIPART_HEADER_LINES)
			return too_large(why, "a part has too many header "
					      "lines");
		if (is_ows(line.p[0]))
			return invalid(why, "a part header is folded (starts "
					    "with white space)");
		size_t colon = span_token(line, 0);
		if (colon == 0 || colon == line.len || line.p[colon] != ':')
			return invalid(why, "a part header line is not "
					    "Name: value");
		for (size_t i = colon + 1; i < line.len; i++)
			if (is_ctl((unsigned char)line.p[i]) && line.p[i] != '\t')
				return invalid(why, "a part header holds a "
						    "control byte (a bare CR "
						    "or LF?)");
		str_t hname = {line.p, colon};
		str_t hval = str_trim(str_sub(line, colon + 1, SIZE_MAX));
		param_t params[PARAMS_MAX];
		size_t np;
		str_t type;
		if (str_case_eq(hname, STR("Content-Disposition"))) {
			if (have_cd)
				return invalid(why, "a part has two "
						    "Content-Disposition "
						    "headers");
			have_cd = true;
			int rc = parse_value(hval, false, &type, params, &np,
					     why);
			if (rc)
				return rc;
			if (!str_case_eq(type, STR("form-data")))
				return invalid(why, "a part's disposition is "
						    "not form-data");
			if (param(params, np, "filename*").p)
				return invalid(why, "a part has filename*, "
						    "which RFC 7578 forbids");
			part->name = param(params, np, "name");
			part->filename = param(params, np, "filename");
			if (!part->name.p || part->name.len == 0)
				return invalid(why, "a part has no name");
		} else if (str_case_eq(hname, STR("Content-Type"))) {
			if (have_ct)
				return invalid(why, "a part has two "
						    "Content-Type headers");
			have_ct = true;
			int rc = parse_value(hval, true, &type, params, &np, why);
			if (rc)
				return rc;
			part->content_type = hval;
		} else if (str_case_eq(hname, STR("Content-Transfer-Encoding"))) {
			return invalid(why, "a part has a "
					    "Content-Transfer-Encoding, which "
					    "RFC 7578 deprecates");
		}
		/* Any other header is ignored (RFC 7578 4.8). */
	}
	if (!have_cd)
		return invalid(why, "a part has no Content-Disposition");
	*pos = p;
	return 0;
}

int multipart_parse(arena_t *a, str_t content_type, str_t body,
		    const multipart_limits_t *limits, multipart_part_t **parts,
		    size_t *n, const char **why)
{
	*parts = NULL;
	*n = 0;
	multipart_limits_t lim = limits ? *limits : (multipart_limits_t){0};
	if (!lim.max_parts)
		lim.max_parts = MULTIPART_PARTS_MAX;
	if (!lim.max_header)
		lim.max_header = MULTIPART_HEADER_MAX;
	str_t boundary;
	int rc = multipart_boundary(content_type, &boundary, why);
	if (rc)
		return rc;
	if (!body.p)
		body = STR("");
	if (lim.max_body && body.len > lim.max_body)
		return too_large(why, "the body is too large");

	/* delim = CRLF "--" boundary; the first one comes without the CRLF,
	 * at the very start (no preamble). */
	char delim[4 + MULTIPART_BOUNDARY_MAX];
	memcpy(delim, "\r\n--", 4);
	memcpy(delim + 4, boundary.p, boundary.len);
	size_t dl = 4 + boundary.len;
	if (body.len < dl - 2 || memcmp(body.p, delim + 2, dl - 2) != 0)
		return invalid(why, "the body does not start with the "
				    "boundary");
	size_t pos = dl - 2;

	multipart_part_t *out = NULL;
	size_t np = 0, cap = 0;
	for (;;) {
		/* pos is just past a boundary. */
		if (body.len - pos >= 2 && memcmp(body.p + pos, "--", 2) == 0) {
			pos += 2;
			if (body.len - pos == 2 && memcmp(body.p + pos, "\r\n", 2) == 0)
				pos += 2;
			if (pos != body.len)
				return invalid(why, "there is data after the "
						    "final boundary");
			break;
		}
		size_t pad = 0;
		while (pos < body.len && is_ows(body.p[pos]) && pad < PADDING_MAX)
			pos++, pad++;
		if (body.len - pos < 2 || memcmp(body.p + pos, "\r\n", 2) != 0)
			return invalid(why,
				       pos >= body.len
					       ? "the body ends without the final "
						 "boundary"
					       : "a boundary is not followed by "
						 "CRLF (the boundary appears "
						 "inside a part?)");
		pos += 2;
		if (np == lim.max_parts)
			return too_large(why, "the body has too many parts");
		if (np == cap) {
			size_t ncap = cap ? cap * 2 : 4;
			if (ncap > lim.max_parts)
				ncap = lim.max_parts;
			multipart_part_t *grown =
				arena_calloc(a, ncap, sizeof *grown);
			if (np)
				memcpy(grown, out, np * sizeof *out);
			out = grown;
			cap = ncap;
		}
		multipart_part_t *part = &out[np];
		*part = (multipart_part_t){0};
		if ((rc = part_headers(body, &pos, lim.max_header, part, why)))
			return rc;
		const char *end = memmem(body.p + pos, body.len - pos, delim, dl);
		if (!end)
			return invalid(why, "the body ends inside a part "
					    "(truncated, or no final boundary)");
		part->data = (str_t){body.p + pos, (size_t)(end - (body.p + pos))};
		np++;
		pos = (size_t)(end - body.p) + dl;
	}
	*parts = out;
	*n = np;
	return 0;
}

const multipart_part_t *multipart_find(const multipart_part_t *parts,
				       size_t n, const char *name)
{
	str_t want = str_c(name);
	for (size_t i = 0; i < n; i++)
		if (str_eq(parts[i].name, want))
			return &parts[i];
	return NULL;
}
