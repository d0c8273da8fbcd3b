#include "cors.h"

#include <stdio.h>

#define HTTPS_PREFIX "https://"
#define LABEL_MAX 63

/* A tenant slug as nginx's server_name captures it: one DNS label of
 * a-z, 0-9 and '-', not starting or ending with '-'. */
static bool is_label(str_t s)
{
	if (s.len == 0 || s.len > LABEL_MAX)
		return false;
	for (size_t i = 0; i < s.len; i++) {
		char c = s.p[i];
		bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
		if (!alnum && (c != '-' || i == 0 || i == s.len - 1))
			return false;
	}
	return true;
}

bool cors_origin_allowed(const config_t *cfg, str_t origin)
{
	if (!http_found(origin) || !cfg->domain || !cfg->domain[0] ||
	    !str_starts_with(origin, STR(HTTPS_PREFIX)))
		return false;
	str_t rest = str_sub(origin, sizeof HTTPS_PREFIX - 1, origin.len);
	/* Browsers leave the default port out of an origin, so ":443" is
	 * never one of ours, and any other port must be exactly ours. */
	char port[16] = "";
	if (cfg->https_port != 443)
		snprintf(port, sizeof port, ":%d", cfg->https_port);
	str_t suffix = str_c(port);
	if (!str_ends_with(rest, suffix))
		return false;
	str_t host = str_sub(rest, 0, rest.len - suffix.len);
	str_t domain = str_c(cfg->domain);
	if (str_eq(host, domain))
		return true;
	/* <label>.DOMAIN: the dot must be right before the domain, or
	 * "evilDOMAIN" would pass. */
	if (host.len < domain.len + 2 || !str_ends_with(host, domain) ||
	    host.p[host.len - domain.len - 1] != '.')
		return false;
	return is_label(str_sub(host, 0, host.len - domain.len - 1));
}

bool cors_is_preflight(const http_request_t *req)
{
	return req->method_id == HTTP_OPTIONS &&
	       http_found(http_header(req, STR("Origin"))) &&
	       http_found(http_header(req, STR("Access-Control-Request-Method")));
}

static int add(http_response_t *resp, const char *name, str_t value)
{
	return http_add_header(resp, str_c(name), value);
}

int cors_headers(const config_t *cfg, const http_request_t *req,
		 http_response_t *resp, const char *expose)
{
	int rc = add(resp, "Vary", STR("Origin"));
	str_t origin = http_header(req, STR("Origin"));
	if (rc || !cors_origin_allowed(cfg, origin))
		return rc;
	if ((rc = http_set_header(resp, STR("Access-Control-Allow-Origin"),
				  origin)))
		return rc;
	if (expose)
		rc = http_set_header(resp, STR("Access-Control-Expose-Headers"),
				     str_c(expose));
	return rc;
}

/* Whether every comma-separated item of want (blanks around items
 * ignored, empty items skipped) is in list, compared without regard to
 * case.  An empty or absent want asks for nothing, which is allowed. */
static bool all_listed(str_t want, const char *list)
{
	while (want.p && want.len) {
		str_t item;
		want = str_cut(want, ',', &item);
		item = str_trim(item);
		if (item.len == 0)
			continue;
		bool found = false;
		str_t l = str_c(list);
		while (!found && l.p && l.len) {
			str_t allowed;
			l = str_cut(l, ',', &allowed);
			found = str_case_eq(str_trim(allowed), item);
		}
		if (!found)
			return false;
	}
	return true;
}

/* A method is a case-sensitive token, unlike a header name. */
static bool method_listed(str_t method, const char *list)
{
	str_t l = str_c(list);
	while (l.p && l.len) {
		str_t m;
		l = str_cut(l, ',', &m);
		if (str_eq(str_trim(m), method))
			return true;
	}
	return false;
}

int cors_preflight(const config_t *cfg, const http_request_t *req,
		   http_response_t *resp, const char *methods,
		   const char *headers)
{
	str_t origin = http_header(req, STR("Origin"));
	str_t method = http_header(req, STR("Access-Control-Request-Method"));
	str_t want = http_header(req, STR("Access-Control-Request-Headers"));
	buf_clear(&resp->body);
	int rc = add(resp, "Vary", STR("Origin"));
	if (rc)
		return ERR_INTERNAL;
	if (!cors_origin_allowed(cfg, origin) ||
	    !method_listed(str_trim(method), methods) ||
	    !all_listed(want, headers)) {
		rc = http_json_error(resp, ERR_FORBIDDEN,
				     "Cross-origin requests are allowed only "
				     "from Canopy's own sites.",
				     NULL);
		return rc ? ERR_INTERNAL : 0;
	}
	char age[16];
	snprintf(age, sizeof age, "%d", CORS_MAX_AGE);
	resp->status = 204;
	if (http_set_header(resp, STR("Access-Control-Allow-Origin"), origin) ||
	    http_set_header(resp, STR("Access-Control-Allow-Methods"),
			    str_c(methods)) ||
	    http_set_header(resp, STR("Access-Control-Allow-Headers"),
			    str_c(headers)) ||
	    http_set_header(resp, STR("Access-Control-Max-Age"), str_c(age)))
		return ERR_INTERNAL;
	return 0;
}
