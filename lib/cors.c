#include "cors.h"

#include <stdio.h>

#define HTTPS_PREFIX "https://"

bool cors_origin_allowed(const config_t *cfg, str_t origin)
{
	if (!http_found(origin) || !cfg->domain || !cfg->domain[0])
		return false;
	/* The platform's own origin as everything else spells it (browsers
	 * leave a default port out, and so does config_origin). */
	char buf[320];
	str_t own = str_c(config_origin(cfg, cfg->domain, buf, sizeof buf));
	if (str_eq(origin, own))
		return true;
	/* https://<slug>.<the platform's host and port>: the dot must be
	 * right before the platform's host, or "evilDOMAIN" would pass. */
	str_t own_host = str_sub(own, sizeof HTTPS_PREFIX - 1, own.len);
	if (!str_starts_with(origin, STR(HTTPS_PREFIX)))
		return false;
	str_t rest = str_sub(origin, sizeof HTTPS_PREFIX - 1, origin.len);
	if (rest.len < own_host.len + 2 || !str_ends_with(rest, own_host) ||
	    rest.p[rest.len - own_host.len - 1] != '.')
		return false;
	return http_slug_valid(str_sub(rest, 0, rest.len - own_host.len - 1));
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

/* Whether item is one of the comma-separated list (blanks around items
 * ignored), with or without regard to case. */
static bool listed(str_t item, const char *list, bool fold_case)
{
	str_t l = str_c(list);
	while (l.p && l.len) {
		str_t x;
		l = str_cut(l, ',', &x);
		x = str_trim(x);
		if (fold_case ? str_case_eq(x, item) : str_eq(x, item))
			return true;
	}
	return false;
}

/* Whether every comma-separated item of want (empty items skipped) is
 * in list, compared without regard to case, as header names are.  An
 * empty or absent want asks for nothing, which is allowed. */
static bool all_listed(str_t want, const char *list)
{
	while (want.p && want.len) {
		str_t item;
		want = str_cut(want, ',', &item);
		item = str_trim(item);
		if (item.len && !listed(item, list, true))
			return false;
	}
	return true;
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
	    !listed(str_trim(method), methods, false) /* methods are case-sensitive */ ||
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
