#include "image.h"

#include <string.h>

#include "buf.h"

typedef const unsigned char *bytes_t;

/* ------------------------------------------------------------ helpers */

static int fail(const char **why, int rc, const char *msg)
{
	if (why)
		*why = msg;
	return rc;
}

#define INVALID(msg) fail(why, ERR_INVALID, (msg))
#define TOO_LARGE(msg) fail(why, ERR_TOO_LARGE, (msg))

static uint32_t be32(bytes_t p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static unsigned be16(bytes_t p)
{
	return (unsigned)p[0] << 8 | p[1];
}

static uint32_t le32(bytes_t p)
{
	return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[1] << 8 | p[0];
}

static uint32_t le24(bytes_t p)
{
	return (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

static unsigned le16(bytes_t p)
{
	return (unsigned)p[1] << 8 | p[0];
}

static void put_le32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

/* Output, or nothing when only checking (o == NULL).  The buffer's cap
 * is the input's size plus a little, and no cleaning grows a file by
 * more than a minimal Exif segment, so appends cannot fail. */
static void put(buf_t *o, const void *p, size_t n)
{
	if (o)
		(void)buf_append(o, p, n);
}

static bool side_ok(uint32_t side, unsigned max_side)
{
	return max_side == 0 || side <= max_side;
}

/* CRC-32 (reflected, polynomial 0xEDB88320), four bits at a time: a
 * 16-entry table needs no set-up and is fast enough for files of a
 * megabyte. */
uint32_t image_crc32(uint32_t crc, const void *data, size_t n)
{
	static const uint32_t t[16] = {
		0x00000000, 0x1db71064, 0x3b6e20c8, 0x26d930ac,
		0x76dc4190, 0x6b6b51f4, 0x4db26158, 0x5005713c,
		0xedb88320, 0xf00f9344, 0xd6d6a3e8, 0xcb61b38c,
		0x9b64c2b0, 0x86d3d2d4, 0xa00ae278, 0xbdbdf21c};
	bytes_t p = data;
	crc = ~crc;
	for (size_t i = 0; i < n; i++) {
		crc ^= p[i];
		crc = (crc >> 4) ^ t[crc & 15];
		crc = (crc >> 4) ^ t[crc & 15];
	}
	return ~crc;
}

/* ------------------------------------------------------------ sniffing */

static const unsigned char png_sig[8] = {0x89, 'P', 'N', 'G',
					 '\r', '\n', 0x1a, '\n'};

image_type_t image_sniff(str_t data)
{
	bytes_t p = (bytes_t)data.p;
	if (!p)
		return IMAGE_UNKNOWN;
	if (data.len >= 8 && memcmp(p, png_sig, 8) == 0)
		return IMAGE_PNG;
	if (data.len >= 3 && p[0] == 0xff && p[1] == 0xd8 && p[2] == 0xff)
		return IMAGE_JPEG;
	if (data.len >= 12 && memcmp(p, "RIFF", 4) == 0 &&
	    memcmp(p + 8, "WEBP", 4) == 0)
		return IMAGE_WEBP;
	return IMAGE_UNKNOWN;
}

const char *image_ext(image_type_t type)
{
	switch (type) {
	case IMAGE_PNG:
		return "png";
	case IMAGE_JPEG:
		return "jpg";
	case IMAGE_WEBP:
		return "webp";
	default:
		return NULL;
	}
}

const char *image_mime(image_type_t type)
{
	switch (type) {
	case IMAGE_PNG:
		return "image/png";
	case IMAGE_JPEG:
		return "image/jpeg";
	case IMAGE_WEBP:
		return "image/webp";
	default:
		return NULL;
	}
}

const char *image_name(image_type_t type)
{
	switch (type) {
	case IMAGE_PNG:
		return "PNG";
	case IMAGE_JPEG:
		return "JPEG";
	case IMAGE_WEBP:
		return "WebP";
	default:
		return NULL;
	}
}

/* ------------------------------------------------------------ PNG */

/* Ancillary chunks rendering needs (colour) or that say nothing of the
 * picture's origin (pHYs). */
static bool png_keep(bytes_t type)
{
	static const char keep[][5] = {"tRNS", "cHRM", "gAMA", "iCCP",
				       "sBIT", "sRGB", "cICP", "mDCv",
				       "cLLi", "bKGD", "pHYs"};
	for (size_t i = 0; i < sizeof keep / sizeof keep[0]; i++)
		if (memcmp(type, keep[i], 4) == 0)
			return true;
	return false;
}

static bool png_depth_ok(unsigned color, unsigned depth)
{
	switch (color) {
	case 0:
		return depth == 1 || depth == 2 || depth == 4 || depth == 8 ||
		       depth == 16;
	case 3:
		return depth == 1 || depth == 2 || depth == 4 || depth == 8;
	case 2:
	case 4:
	case 6:
		return depth == 8 || depth == 16;
	default:
		return false;
	}
}

static bool is_alpha(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int png_clean(str_t d, unsigned max_side, image_info_t *info, buf_t *o,
		     const char **why)
{
	bytes_t p = (bytes_t)d.p;
	size_t len = d.len, pos = 8;
	bool seen_ihdr = false, seen_plte = false, seen_idat = false,
	     idat_done = false;
	unsigned color = 0, depth = 0;
	put(o, p, 8);
	for (;;) {
		if (len - pos < 12)
			return INVALID("The PNG file is incomplete: it ends "
				       "before its IEND chunk.");
		uint32_t clen = be32(p + pos);
		if (clen > 0x7fffffffu || clen > len - pos - 12)
			return INVALID("The PNG file is damaged or incomplete: "
				       "a chunk is longer than the file.");
		bytes_t type = p + pos + 4, data = p + pos + 8;
		size_t total = 12 + (size_t)clen;
		for (int i = 0; i < 4; i++)
			if (!is_alpha(type[i]))
				return INVALID("The PNG file is damaged: a "
					       "chunk has a malformed name.");
		if (type[2] & 0x20)
			return INVALID("The PNG file is damaged: a chunk name "
				       "uses a reserved form.");
		if (image_crc32(0, type, 4 + (size_t)clen) != be32(data + clen))
			return INVALID("The PNG file is damaged: a chunk's "
				       "checksum (CRC) is wrong.");
		bool is_idat = memcmp(type, "IDAT", 4) == 0;
		if (!seen_ihdr && memcmp(type, "IHDR", 4) != 0)
			return INVALID("The PNG file is damaged: it does not "
				       "start with an IHDR chunk.");
		if (seen_idat && !is_idat)
			idat_done = true;
		bool keep = true;
		if (memcmp(type, "IHDR", 4) == 0) {
			if (seen_ihdr)
				return INVALID("The PNG file is damaged: it has "
					       "two IHDR chunks.");
			seen_ihdr = true;
			if (clen != 13)
				return INVALID("The PNG file is damaged: its "
					       "IHDR chunk has the wrong size.");
			uint32_t w = be32(data), h = be32(data + 4);
			depth = data[8];
			color = data[9];
			if (w == 0 || h == 0 || w > 0x7fffffffu ||
			    h > 0x7fffffffu)
				return INVALID("The PNG file is damaged: its "
					       "width or height is zero or "
					       "impossible.");
			if (!png_depth_ok(color, depth) || data[10] != 0 ||
			    data[11] != 0 || data[12] > 1)
				return INVALID("The PNG file is damaged: its "
					       "colour type, bit depth, "
					       "compression, filter or "
					       "interlace method is invalid.");
			if (!side_ok(w, max_side) || !side_ok(h, max_side))
				return TOO_LARGE("The image has too many "
						 "pixels (width or height).");
			info->width = w;
			info->height = h;
		} else if (memcmp(type, "PLTE", 4) == 0) {
			if (seen_plte || seen_idat)
				return INVALID("The PNG file is damaged: its "
					       "palette is repeated or comes "
					       "after the image data.");
			if (color == 0 || color == 4)
				return INVALID("The PNG file is damaged: a "
					       "grey image has a palette.");
			if (clen == 0 || clen % 3 || clen / 3 > 256 ||
			    (color == 3 && clen / 3 > (1u << depth)))
				return INVALID("The PNG file is damaged: its "
					       "palette has the wrong size.");
			seen_plte = true;
		} else if (is_idat) {
			if (idat_done)
				return INVALID("The PNG file is damaged: its "
					       "image data is split by other "
					       "chunks.");
			if (color == 3 && !seen_plte)
				return INVALID("The PNG file is damaged: a "
					       "palette image has no palette.");
			seen_idat = true;
		} else if (memcmp(type, "IEND", 4) == 0) {
			if (!seen_idat)
				return INVALID("The PNG file has no image "
					       "data.");
			if (clen != 0)
				return INVALID("The PNG file is damaged: its "
					       "IEND chunk is not empty.");
			put(o, p + pos, total);
			return 0; /* anything after IEND is dropped */
		} else if (!(type[0] & 0x20)) {
			return INVALID("The PNG file uses a critical chunk we "
				       "do not know.");
		} else {
			keep = png_keep(type);
		}
		if (keep)
			put(o, p + pos, total);
		pos += total;
	}
}

/* ------------------------------------------------------------ JPEG */

/* The orientation (1..8) in an Exif APP1 payload (after "Exif\0\0"):
 * tag 0x0112 of IFD0, SHORT, count 1.  0 when absent or unreadable. */
static unsigned exif_orientation(bytes_t t, size_t n)
{
	if (n < 8)
		return 0;
	bool be;
	if (memcmp(t, "MM\0*", 4) == 0)
		be = true;
	else if (memcmp(t, "II*\0", 4) == 0)
		be = false;
	else
		return 0;
#define U16(q) (be ? be16(q) : le16(q))
#define U32(q) (be ? be32(q) : le32(q))
	uint32_t ifd = U32(t + 4);
	if (ifd < 8 || ifd > n - 2)
		return 0;
	unsigned count = U16(t + ifd);
	if (count > (n - ifd - 2) / 12)
		return 0;
	for (unsigned i = 0; i < count; i++) {
		bytes_t e = t + ifd + 2 + 12 * (size_t)i;
		if (U16(e) == 0x0112 && U16(e + 2) == 3 && U32(e + 4) == 1) {
			unsigned v = U16(e + 8);
			return v >= 1 && v <= 8 ? v : 0;
		}
	}
	return 0;
#undef U16
#undef U32
}

/* An APP1 segment holding only an orientation: a big-endian TIFF header
 * and an IFD0 of one entry. */
static void put_orientation(buf_t *o, unsigned v)
{
	const unsigned char seg[] = {
		0xff, 0xe1, 0x00, 0x22, 'E', 'x', 'i', 'f', 0, 0,
		'M', 'M', 0x00, 0x2a, 0x00, 0x00, 0x00, 0x08,
		0x00, 0x01,                         /* one entry */
		0x01, 0x12, 0x00, 0x03,             /* Orientation, SHORT */
		0x00, 0x00, 0x00, 0x01,             /* count 1 */
		0x00, (unsigned char)v, 0x00, 0x00, /* value */
		0x00, 0x00, 0x00, 0x00};            /* no next IFD */
	put(o, seg, sizeof seg);
}

/* After an SOS header at pos: the entropy-coded data runs to the first
 * 0xFF that is not a stuffed 0xFF00 or a restart marker. */
static int jpeg_scan_end(bytes_t p, size_t len, size_t pos, size_t *end,
			 const char **why)
{
	for (;;) {
		const unsigned char *ff = memchr(p + pos, 0xff, len - pos);
		if (!ff || (size_t)(ff - p) + 1 >= len)
			return INVALID("The JPEG file is incomplete: its image "
				       "data ends without an end marker.");
		pos = (size_t)(ff - p);
		unsigned char m = p[pos + 1];
		if (m == 0x00 || (m >= 0xd0 && m <= 0xd7)) {
			pos += 2;
			continue;
		}
		*end = pos;
		return 0;
	}
}

static int jpeg_clean(str_t d, unsigned max_side, image_info_t *info,
		      buf_t *o, const char **why)
{
	bytes_t p = (bytes_t)d.p;
	size_t len = d.len, pos = 2;
	bool seen_sof = false, seen_sos = false, leading = true;
	unsigned orientation = 0;
	size_t insert_at = 2; /* where an orientation segment goes */
	put(o, p, 2);
	for (;;) {
		if (pos >= len)
			return INVALID("The JPEG file is incomplete: it ends "
				       "without an end marker.");
		if (p[pos] != 0xff)
			return INVALID("The JPEG file is damaged: a segment "
				       "does not start with a marker.");
		while (pos < len && p[pos] == 0xff)
			pos++; /* fill bytes */
		if (pos >= len)
			return INVALID("The JPEG file is incomplete: it ends "
				       "without an end marker.");
		size_t start = pos - 1;
		unsigned char m = p[pos++];
		if (m == 0xd9) {
			if (!seen_sos)
				return INVALID("The JPEG file has no image "
					       "data.");
			put(o, p + start, 2);
			break; /* anything after EOI is dropped */
		}
		if (m == 0xd8 || m == 0x00 || m == 0x01 ||
		    (m >= 0xd0 && m <= 0xd7))
			return INVALID("The JPEG file is damaged: a marker "
				       "stands where it cannot.");
		if (len - pos < 2)
			return INVALID("The JPEG file is incomplete.");
		size_t seglen = be16(p + pos);
		if (seglen < 2 || seglen > len - pos)
			return INVALID("The JPEG file is damaged or incomplete: "
				       "a segment is longer than the file.");
		bytes_t s = p + pos + 2; /* payload */
		size_t sl = seglen - 2;
		size_t end = pos + seglen;
		bool keep = true;
		if (!(m == 0xe0 && leading))
			leading = false;
		switch (m) {
		case 0xc0:
		case 0xc1:
		case 0xc2: {
			if (seen_sof)
				return INVALID("The JPEG file has two frames; "
					       "we take single images only.");
			seen_sof = true;
			if (sl < 6 || sl != 6 + 3 * (size_t)s[5])
				return INVALID("The JPEG file is damaged: its "
					       "frame header has the wrong "
					       "size.");
			unsigned h = be16(s + 1), w = be16(s + 3), nf = s[5];
			if (s[0] != 8)
				return INVALID("The JPEG file uses 12-bit "
					       "samples, which browsers do not "
					       "show.");
			if (nf != 1 && nf != 3 && nf != 4)
				return INVALID("The JPEG file has an unusual "
					       "number of colour components.");
			if (w == 0 || h == 0)
				return INVALID("The JPEG file is damaged: its "
					       "width or height is zero.");
			if (!side_ok(w, max_side) || !side_ok(h, max_side))
				return TOO_LARGE("The image has too many "
						 "pixels (width or height).");
			info->width = w;
			info->height = h;
			break;
		}
		case 0xc3:
		case 0xc5:
		case 0xc6:
		case 0xc7:
		case 0xc9:
		case 0xca:
		case 0xcb:
		case 0xcd:
		case 0xce:
		case 0xcf:
			return INVALID("The JPEG file uses lossless, "
				       "hierarchical or arithmetic coding, "
				       "which browsers do not show.");
		case 0xc4: /* DHT */
		case 0xcc: /* DAC */
		case 0xdb: /* DQT */
			break;
		case 0xdd: /* DRI */
			if (sl != 2)
				return INVALID("The JPEG file is damaged: a "
					       "restart interval has the wrong "
					       "size.");
			break;
		case 0xda: { /* SOS */
			if (!seen_sof)
				return INVALID("The JPEG file is damaged: image "
					       "data comes before the frame "
					       "header.");
			if (sl < 4 || sl != 4 + 2 * (size_t)s[0] || s[0] == 0 ||
			    s[0] > 4)
				return INVALID("The JPEG file is damaged: a "
					       "scan header has the wrong "
					       "size.");
			seen_sos = true;
			int rc = jpeg_scan_end(p, len, end, &end, why);
			if (rc)
				return rc;
			break;
		}
		case 0xe0: /* APP0: JFIF stays (without its thumbnail) */
			keep = false;
			if (sl >= 14 && memcmp(s, "JFIF\0", 5) == 0) {
				unsigned char app0[18];
				memcpy(app0, p + start, 18);
				app0[2] = 0; /* length 16 */
				app0[3] = 16;
				app0[16] = 0; /* no thumbnail */
				app0[17] = 0;
				put(o, app0, sizeof app0);
				if (leading)
					insert_at = o ? o->len : 0;
			}
			break;
		case 0xe1: /* APP1: Exif, XMP: dropped, the orientation kept */
			keep = false;
			if (sl >= 6 && memcmp(s, "Exif\0\0", 6) == 0 &&
			    !orientation)
				orientation = exif_orientation(s + 6, sl - 6);
			break;
		case 0xe2: /* APP2: ICC profiles stay; MPF, FlashPix go */
			keep = sl >= 12 && memcmp(s, "ICC_PROFILE\0", 12) == 0;
			break;
		case 0xee: /* APP14: Adobe's colour transform stays */
			keep = sl >= 5 && memcmp(s, "Adobe", 5) == 0;
			break;
		case 0xfe: /* COM */
			keep = false;
			break;
		default:
			if (m >= 0xe3 && m <= 0xef) {
				keep = false; /* APP3..APP15 */
				break;
			}
			return INVALID("The JPEG file uses a marker we do not "
				       "take.");
		}
		if (keep)
			put(o, p + start, end - start);
		pos = end;
	}
	if (!seen_sof)
		return INVALID("The JPEG file has no frame header.");
	if (o && orientation > 1) {
		/* Splice the orientation in after SOI and JFIF APP0. */
		size_t tail = o->len - insert_at;
		char *moved = arena_memdup(o->arena, o->data + insert_at, tail);
		o->len = insert_at;
		put_orientation(o, orientation);
		put(o, moved, tail);
	}
	return 0;
}

/* ------------------------------------------------------------ WebP */

#define VP8X_ICC 0x20
#define VP8X_ALPHA 0x10
#define VP8X_EXIF 0x08
#define VP8X_XMP 0x04
#define VP8X_ANIM 0x02

/* A VP8 (lossy) or VP8L (lossless) chunk's dimensions. */
static int webp_frame(bytes_t fourcc, bytes_t s, size_t sl, uint32_t *w,
		      uint32_t *h, const char **why)
{
	if (memcmp(fourcc, "VP8 ", 4) == 0) {
		if (sl < 10)
			return INVALID("The WebP file is damaged: its image "
				       "chunk is too short.");
		uint32_t tag = le24(s);
		if ((tag & 1) || ((tag >> 1) & 7) > 3 || !((tag >> 4) & 1) ||
		    (tag >> 5) > sl - 10 || s[3] != 0x9d || s[4] != 0x01 ||
		    s[5] != 0x2a)
			return INVALID("The WebP file is damaged: its lossy "
				       "image header is invalid.");
		*w = le16(s + 6) & 0x3fff;
		*h = le16(s + 8) & 0x3fff;
		if (*w == 0 || *h == 0)
			return INVALID("The WebP file is damaged: its width "
				       "or height is zero.");
		return 0;
	}
	if (sl < 5 || s[0] != 0x2f || (le32(s + 1) >> 29) != 0)
		return INVALID("The WebP file is damaged: its lossless image "
			       "header is invalid.");
	uint32_t bits = le32(s + 1);
	*w = (bits & 0x3fff) + 1;
	*h = ((bits >> 14) & 0x3fff) + 1;
	return 0;
}

static bool fourcc_is(bytes_t c, const char *name)
{
	return memcmp(c, name, 4) == 0;
}

static int webp_clean(str_t d, unsigned max_side, image_info_t *info,
		      buf_t *o, const char **why)
{
	bytes_t p = (bytes_t)d.p;
	uint32_t riff = le32(p + 4);
	if (riff < 4 + 8 || riff > d.len - 8)
		return INVALID("The WebP file is incomplete or its RIFF size "
			       "is wrong.");
	size_t end = 8 + (size_t)riff, pos = 12;
	bool extended = false, anim = false, have_image = false,
	     have_anim = false, have_icc = false;
	unsigned frames = 0, flags = 0;
	uint32_t cw = 0, ch = 0;
	size_t flags_at = 0;
	put(o, p, 12); /* the RIFF size is rewritten at the end */
	for (bool first = true; pos < end; first = false) {
		if (end - pos < 8)
			return INVALID("The WebP file is damaged: a chunk "
				       "header is cut short.");
		bytes_t cc = p + pos, s = p + pos + 8;
		uint32_t size = le32(p + pos + 4);
		if (size > end - pos - 8 ||
		    ((size & 1) && size + 1 > end - pos - 8))
			return INVALID("The WebP file is damaged or incomplete: "
				       "a chunk is longer than the file.");
		size_t total = 8 + (size_t)size + (size & 1);
		bool keep = true;
		if (first) {
			if (fourcc_is(cc, "VP8 ") || fourcc_is(cc, "VP8L")) {
				uint32_t w, h;
				int rc = webp_frame(cc, s, size, &w, &h, why);
				if (rc)
					return rc;
				if (!side_ok(w, max_side) || !side_ok(h, max_side))
					return TOO_LARGE("The image has too "
							 "many pixels (width "
							 "or height).");
				info->width = w;
				info->height = h;
				put(o, cc, total);
				break; /* a simple file: the rest is dropped */
			}
			if (!fourcc_is(cc, "VP8X"))
				return INVALID("The WebP file is damaged: it "
					       "does not start with an image "
					       "chunk.");
			if (size != 10)
				return INVALID("The WebP file is damaged: its "
					       "VP8X chunk has the wrong size.");
			extended = true;
			flags = s[0];
			anim = flags & VP8X_ANIM;
			cw = le24(s + 4) + 1;
			ch = le24(s + 7) + 1;
			if ((uint64_t)cw * ch > 0xffffffffu)
				return INVALID("The WebP file is damaged: its "
					       "canvas is impossibly large.");
			if (!side_ok(cw, max_side) || !side_ok(ch, max_side))
				return TOO_LARGE("The image has too many "
						 "pixels (width or height).");
			info->width = cw;
			info->height = ch;
			info->animated = anim;
			flags_at = o ? o->len + 8 : 0;
		} else if (fourcc_is(cc, "VP8X")) {
			return INVALID("The WebP file is damaged: it has two "
				       "VP8X chunks.");
		} else if (fourcc_is(cc, "ICCP")) {
			have_icc = true;
		} else if (fourcc_is(cc, "ANIM")) {
			if (!anim || have_anim || size < 6)
				return INVALID("The WebP file is damaged: its "
					       "animation header is misplaced.");
			have_anim = true;
		} else if (fourcc_is(cc, "ANMF")) {
			if (!have_anim || size < 16)
				return INVALID("The WebP file is damaged: an "
					       "animation frame is misplaced.");
			uint64_t x = 2 * (uint64_t)le24(s),
				 y = 2 * (uint64_t)le24(s + 3),
				 w = le24(s + 6) + 1ull, h = le24(s + 9) + 1ull;
			if (x + w > cw || y + h > ch)
				return INVALID("The WebP file is damaged: an "
					       "animation frame lies outside "
					       "the canvas.");
			frames++;
		} else if (fourcc_is(cc, "ALPH")) {
			if (anim || have_image)
				return INVALID("The WebP file is damaged: its "
					       "alpha chunk is misplaced.");
		} else if (fourcc_is(cc, "VP8 ") || fourcc_is(cc, "VP8L")) {
			if (anim || have_image)
				return INVALID("The WebP file is damaged: it "
					       "has an image chunk too many.");
			uint32_t w, h;
			int rc = webp_frame(cc, s, size, &w, &h, why);
			if (rc)
				return rc;
			if (w != cw || h != ch)
				return INVALID("The WebP file is damaged: its "
					       "image and canvas differ in "
					       "size.");
			have_image = true;
		} else {
			keep = false; /* EXIF, XMP, anything unknown */
		}
		if (keep)
			put(o, cc, total);
		pos += total;
	}
	if (extended) {
		if (anim ? frames == 0 : !have_image)
			return INVALID("The WebP file has no image data.");
		if (o) {
			/* Flags of what is left; reserved bits cleared. */
			unsigned f = flags & (VP8X_ALPHA | VP8X_ANIM);
			if (have_icc)
				f |= VP8X_ICC;
			o->data[flags_at] = (char)f;
		}
	}
	if (o)
		put_le32((unsigned char *)o->data + 4, (uint32_t)(o->len - 8));
	return 0;
}

/* ------------------------------------------------------------ entry */

int image_clean(arena_t *a, str_t data, unsigned max_side, image_info_t *info,
		str_t *out, const char **why)
{
	image_info_t tmp;
	if (!info)
		info = &tmp;
	*info = (image_info_t){.type = image_sniff(data)};
	if (info->type == IMAGE_UNKNOWN)
		return fail(why, ERR_MEDIA_TYPE,
			    "This file is not a PNG, JPEG or WebP image.");
	buf_t b, *o = NULL;
	if (a) {
		/* Cleaning never grows a file but for the orientation
		 * segment (36 bytes). */
		buf_init(&b, a, data.len + 64);
		o = &b;
	}
	int rc;
	switch (info->type) {
	case IMAGE_PNG:
		rc = png_clean(data, max_side, info, o, why);
		break;
	case IMAGE_JPEG:
		rc = jpeg_clean(data, max_side, info, o, why);
		break;
	default:
		rc = webp_clean(data, max_side, info, o, why);
		break;
	}
	if (rc)
		return rc;
	if (o) {
		if (b.err)
			return fail(why, ERR_INTERNAL, "image: output overflow");
		*out = buf_str(&b);
	}
	return 0;
}
