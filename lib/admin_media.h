/* admin_media: a tenant's logo.
 *
 * Routes (every one checks the person's role in the tenant; no role, or
 * a role without the right, is 404 like the other screens):
 *   GET  /admin/tenants/{slug}/logo          read (viewers: the logo only)
 *   POST /admin/tenants/{slug}/logo          edit: upload; multipart with
 *                                            the fields csrf and logo
 *   POST /admin/tenants/{slug}/logo/remove   edit: back to the monogram
 *
 * An upload is judged by its bytes alone (lib/image): the filename and
 * the declared type are never looked at.  It must be a PNG, JPEG or WebP
 * of at most ADMIN_MEDIA_MAX bytes and ADMIN_MEDIA_SIDE_MAX pixels a
 * side; its metadata is dropped without re-encoding the pixels, and the
 * cleaned bytes are stored as <CANOPY_MEDIA_DIR>/<sha256 hex>.<ext>.
 * tenants.logo_url becomes /media/<that name>, in a transaction with its
 * audit entry (tenant.logo, tenant.logo_remove).  nginx serves /media/
 * with a year's immutable caching: a new logo is a new name.
 *
 * The file is written (and synced) before the transaction that points
 * at it, so a failure leaves at worst a file nothing points at, never a
 * page pointing at a missing file.  Files are never deleted here: one
 * content is one file, which other tenants (or a browser's cache) may
 * still use. */
#ifndef CANOPY_ADMIN_MEDIA_H
#define CANOPY_ADMIN_MEDIA_H

#include <stddef.h>

#include "err.h"
#include "router.h"
#include "str.h"

#define ADMIN_MEDIA_MAX (1024u * 1024u) /* bytes of an upload */
#define ADMIN_MEDIA_SIDE_MAX 4096       /* pixels, width and height */
#define ADMIN_MEDIA_NAME_SIZE (64 + 1 + 4 + 1) /* <sha256>.<ext>, NUL */

/* Stores data as dir/<sha256 of data in hex>.<ext> (ext: 1..4 of a-z)
 * and puts that file name into name.  The bytes go to a temporary file
 * in dir, are synced and renamed into place (then the directory is
 * synced), mode 0644; when a file of that name and size is there
 * already, nothing is written.  ERR_INVALID for a bad ext or a path too
 * long; ERR_INTERNAL (logged with the system's reason) when the file
 * cannot be written. */
int admin_media_store(const char *dir, str_t data, const char *ext,
		      char name[ADMIN_MEDIA_NAME_SIZE]) WARN_UNUSED;

/* The routes above, for admin.c's screen list. */
const router_route_t *admin_media_routes(size_t *n);

#endif
