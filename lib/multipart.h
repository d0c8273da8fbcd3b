/* multipart: a strict parser of multipart/form-data bodies (RFC 7578,
 * body syntax of RFC 2046 section 5.1.1), for file uploads.
 *
 *   multipart_part_t *parts;
 *   size_t n;
 *   const char *why;
 *   int rc = multipart_parse(arena, req->content_type, req->body, NULL,
 *                            &parts, &n, &why);
 *   if (rc) -> 400/413/415, log why
 *   const multipart_part_t *f = multipart_find(parts, n, "logo");
 *
 * The parser works on a body already in memory (read with a cap) and
 * copies nothing: every view points into the body.  It accepts what
 * browsers and curl send and refuses what they never send, so no two
 * parsers (ours, a proxy's, a WAF's) can disagree about a body we accept:
 *   - the boundary comes from the Content-Type, once, 1..70 RFC 2046
 *     bchars, not ending in a space (quoted when it needs to be);
 *   - the body starts with the first boundary (no preamble) and ends
 *     with the close delimiter and at most one CRLF (no epilogue);
 *   - lines end with CRLF; a bare CR or LF, a control byte or a folded
 *     line in a part's header block is refused (header injection);
 *   - each part has exactly one Content-Disposition: form-data with a
 *     non-empty name, at most one filename, never filename* (RFC 7578
 *     4.2); at most one Content-Type (a media type); no
 *     Content-Transfer-Encoding (RFC 7578 4.7); other headers are
 *     ignored (RFC 7578 4.8);
 *   - the boundary never appears inside a part.
 * Quoted strings in part headers end at the next '"' (browsers
 * percent-encode '"', CR and LF in names and filenames; a backslash is
 * a literal byte, as browsers send it).  Names and filenames are not
 * decoded: a filename is untrusted and only ever shown. */
#ifndef CANOPY_MULTIPART_H
#define CANOPY_MULTIPART_H

#include <stddef.h>

#include "arena.h"
#include "err.h"
#include "str.h"

#define MULTIPART_BOUNDARY_MAX 70 /* RFC 2046 */
#define MULTIPART_PARTS_MAX 64    /* default part limit */
#define MULTIPART_HEADER_MAX 2048 /* default bytes of one header block */
#define MULTIPART_HEADER_LINES 8  /* header lines of one part */

/* Bounds of one parse; a zero member takes its default. */
typedef struct {
	size_t max_parts;  /* 0: MULTIPART_PARTS_MAX */
	size_t max_header; /* bytes of a part's header block, CRLFs
			    * included; 0: MULTIPART_HEADER_MAX */
	size_t max_body;   /* 0: no limit beyond the body's own length */
} multipart_limits_t;

typedef struct {
	str_t name;         /* Content-Disposition name, non-empty */
	str_t filename;     /* p == NULL for a plain field; may be empty
			     * (a file input with no file chosen) */
	str_t content_type; /* the part's Content-Type as declared (never
			     * to be trusted); p == NULL when absent */
	str_t data;         /* the part's bytes, a view into the body */
} multipart_part_t;

/* The boundary of a Content-Type value: ERR_MEDIA_TYPE when its media
 * type is not multipart/form-data; ERR_INVALID with *why (may be NULL;
 * a static sentence) when the boundary parameter is missing, given
 * twice, malformed or too long.  *boundary views into content_type. */
int multipart_boundary(str_t content_type, str_t *boundary,
		       const char **why) WARN_UNUSED;

/* Parses body as multipart/form-data with the boundary of content_type
 * (the request's Content-Type).  limits may be NULL (all defaults).
 * *parts (arena; NULL when *n is 0) holds the parts in order, views into
 * body, which must outlive them.  Errors, with *why (may be NULL) set to
 * a static sentence for the log: ERR_MEDIA_TYPE (not
 * multipart/form-data), ERR_INVALID (bad boundary, malformed or
 * truncated body), ERR_TOO_LARGE (more than max_parts parts, a header
 * block over max_header bytes or MULTIPART_HEADER_LINES lines, a body
 * over max_body).  On error *parts is NULL and *n 0. */
int multipart_parse(arena_t *a, str_t content_type, str_t body,
		    const multipart_limits_t *limits, multipart_part_t **parts,
		    size_t *n, const char **why) WARN_UNUSED;

/* The first part named name, or NULL. */
const multipart_part_t *multipart_find(const multipart_part_t *parts,
				       size_t n, const char *name);

#endif
