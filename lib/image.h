/* image: PNG, JPEG and WebP files checked by their content and cleaned
 * of metadata, for uploads (logos).
 *
 *   image_info_t info;
 *   str_t clean;
 *   const char *why;
 *   int rc = image_clean(arena, upload, 4096, &info, &clean, &why);
 *   ERR_MEDIA_TYPE: not PNG, JPEG or WebP; ERR_INVALID: damaged (why);
 *   ERR_TOO_LARGE: more than 4096 pixels a side
 *   store clean as <sha256>.image_ext(info.type)
 *
 * The type comes from the first bytes only, never from a name or a
 * declared type.  Then the container is walked and checked, without
 * decoding pixels (compressed image data is copied as it is):
 *   PNG   signature; IHDR first with valid size, depth and colour type;
 *         every chunk's length and CRC; PLTE where the colour type needs
 *         it and before IDAT; consecutive IDATs; no unknown critical
 *         chunk; IEND.
 *   JPEG  SOI; every segment's length; one baseline, extended or
 *         progressive SOF (lossless, hierarchical and arithmetic coding
 *         are refused: browsers do not show them) with sane dimensions
 *         before the first SOS; the entropy-coded data up to the next
 *         marker; EOI.
 *   WebP  RIFF size; a VP8, VP8L or VP8X first chunk with its frame
 *         header and dimensions; chunk sizes; for VP8X, the image (or
 *         ANIM and frames) and the canvas.
 * Cleaning keeps what rendering needs and drops the rest:
 *   PNG   keeps IHDR, PLTE, IDAT, IEND and the colour chunks (tRNS, cHRM,
 *         gAMA, iCCP, sBIT, sRGB, cICP, mDCv, cLLi, bKGD) and pHYs;
 *         drops tEXt, zTXt, iTXt, eXIf, tIME and every other chunk
 *         (animation chunks too: an APNG becomes its still image).
 *   JPEG  keeps the JFIF APP0 (with its thumbnail removed), ICC profiles
 *         (APP2 ICC_PROFILE), Adobe APP14 (it says how to read CMYK) and
 *         every coding segment; drops other APPn (Exif, XMP, MPF ...) and
 *         COM.  An Exif orientation other than 1 is kept in a minimal
 *         Exif segment of its own, so a photo taken sideways still shows
 *         upright.
 *   WebP  drops EXIF, XMP and unknown chunks, clears the VP8X flags of
 *         what was dropped and rewrites the RIFF size.
 *   Bytes after the image's end (after IEND, EOI or the RIFF size) are
 *   dropped.  A clean file cleaned again comes out the same. */
#ifndef CANOPY_IMAGE_H
#define CANOPY_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "err.h"
#include "str.h"

typedef enum {
	IMAGE_UNKNOWN = 0,
	IMAGE_PNG,
	IMAGE_JPEG,
	IMAGE_WEBP
} image_type_t;

typedef struct {
	image_type_t type;
	unsigned width;  /* pixels (a WebP's canvas) */
	unsigned height;
	bool animated;   /* an animated WebP */
} image_info_t;

/* The type data's first bytes announce (PNG signature, JPEG SOI and a
 * marker, RIFF....WEBP), or IMAGE_UNKNOWN.  Says nothing of the rest. */
image_type_t image_sniff(str_t data);

/* "png", "jpg", "webp"; NULL for IMAGE_UNKNOWN. */
const char *image_ext(image_type_t type);

/* "image/png", "image/jpeg", "image/webp"; NULL for IMAGE_UNKNOWN. */
const char *image_mime(image_type_t type);

/* "PNG", "JPEG", "WebP"; NULL for IMAGE_UNKNOWN. */
const char *image_name(image_type_t type);

/* Checks data as described above and writes its cleaned copy to *out
 * (arena; NULL arena: check only, *out untouched; out may then be
 * NULL).  A side longer than max_side pixels (0: no limit) is refused.
 * info (may be NULL) gets the type and dimensions.  Errors, with *why
 * (may be NULL) set to a static sentence a person can read:
 * ERR_MEDIA_TYPE when data is not PNG, JPEG or WebP at all; ERR_INVALID
 * when it is damaged, truncated or of a kind we do not take;
 * ERR_TOO_LARGE for a side over max_side. */
int image_clean(arena_t *a, str_t data, unsigned max_side, image_info_t *info,
		str_t *out, const char **why) WARN_UNUSED;

/* The CRC-32 of ISO 3309 / PNG over n bytes, continuing from crc (start
 * with 0). */
uint32_t image_crc32(uint32_t crc, const void *p, size_t n);

#endif
