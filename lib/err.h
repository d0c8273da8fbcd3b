/* err: the one error convention of libcanopy.
 *
 * Every function that can fail returns int: 0 is success, a negative
 * ERR_* value names what went wrong.  Library conventions (libpq's
 * PGRES_*, libcurl's CURLcode, jansson's NULL) are converted to these at
 * the wrapper, once.  The HTTP status for an error is derived in exactly
 * one place: err_http_status(). */
#ifndef CANOPY_ERR_H
#define CANOPY_ERR_H

enum {
	ERR_OK = 0,
	ERR_INVALID = -1,      /* input failed validation (400/422) */
	ERR_TOO_LARGE = -2,    /* a size limit was hit (413) */
	ERR_NOT_FOUND = -3,    /* no such object, or not yours (404) */
	ERR_CONFLICT = -4,     /* state conflict, duplicate key (409) */
	ERR_UNAUTHORIZED = -5, /* no or bad credentials (401) */
	ERR_FORBIDDEN = -6,    /* authenticated but not allowed (403) */
	ERR_MEDIA_TYPE = -7,   /* unsupported content type (415) */
	ERR_RATE_LIMITED = -8, /* slow down (429) */
	ERR_DB = -9,           /* database failure (503) */
	ERR_UPSTREAM = -10,    /* a remote service failed (502) */
	ERR_TIMEOUT = -11,     /* a deadline passed (504) */
	ERR_INTERNAL = -12,    /* a bug or an impossible state (500) */
	ERR_METHOD = -13,      /* method not allowed on this path (405) */
	ERR_UNPROCESSABLE = -14 /* well-formed but semantically wrong (422) */
};

#define WARN_UNUSED __attribute__((warn_unused_result))

/* The HTTP status that answers an error code (200 for ERR_OK). */
int err_http_status(int err);

/* A short stable machine name for an error code, e.g. "not_found". */
const char *err_code_name(int err);

#endif
