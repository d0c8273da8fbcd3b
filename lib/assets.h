/* assets: content-hashed URLs for the files under static/.
 *
 * At start the responder hashes every file in the static directory once;
 * pages then refer to "/assets/<name>.<hash16>.<ext>".  nginx serves that
 * URL from static/<name>.<ext> with a one-year immutable cache, so a
 * changed file gets a new URL and browsers never see a stale one. */
#ifndef CANOPY_ASSETS_H
#define CANOPY_ASSETS_H

#include "err.h"

typedef struct assets assets_t;

/* Hashes the regular files directly in dir whose names are
 * <lowercase-name>.<ext>.  Returns NULL (and logs why) if dir cannot be
 * read.  The caller owns the result. */
assets_t *assets_load(const char *dir);
void assets_free(assets_t *a);

/* The hashed URL of a file ("site.css" -> "/assets/site.0123abcd....css"),
 * or NULL when there is no such file.  Borrowed from a. */
const char *assets_url(const assets_t *a, const char *file);

#endif
