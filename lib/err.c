#include "err.h"

struct err_info {
	int err;
	int status;
	const char *name;
};

static const struct err_info errors[] = {
	{ERR_OK, 200, "ok"},
	{ERR_INVALID, 400, "invalid"},
	{ERR_TOO_LARGE, 413, "too_large"},
	{ERR_NOT_FOUND, 404, "not_found"},
	{ERR_CONFLICT, 409, "conflict"},
	{ERR_UNAUTHORIZED, 401, "unauthorized"},
	{ERR_FORBIDDEN, 403, "forbidden"},
	{ERR_MEDIA_TYPE, 415, "unsupported_media_type"},
	{ERR_RATE_LIMITED, 429, "rate_limited"},
	{ERR_DB, 503, "unavailable"},
	{ERR_UPSTREAM, 502, "upstream"},
	{ERR_TIMEOUT, 504, "timeout"},
	{ERR_METHOD, 405, "method_not_allowed"},
	{ERR_UNPROCESSABLE, 422, "unprocessable"},
};

static const struct err_info internal = {ERR_INTERNAL, 500, "internal"};

static const struct err_info *lookup(int err)
{
	for (unsigned i = 0; i < sizeof errors / sizeof errors[0]; i++)
		if (errors[i].err == err)
			return &errors[i];
	return &internal; /* an unknown code is a bug: answer as internal */
}

int err_http_status(int err)
{
	return lookup(err)->status;
}

const char *err_code_name(int err)
{
	return lookup(err)->name;
}
