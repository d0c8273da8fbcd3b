/* lib/image: every fixture is built here, byte by byte, with a CRC of the
 * test's own (bit by bit, not the library's table). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check_util.h"
#include "image.h"

static arena_t *a;

static void setup(void)
{
	a = arena_new(0);
}

static void teardown(void)
{
	arena_free(a);
}

/* ------------------------------------------------------------ bytes */

typedef struct {
	unsigned char p[8192];
	size_t len;
} bytes_t;

static void add(bytes_t *b, const void *p, size_t n)
{
	ck_assert_uint_le(b->len + n, sizeof b->p);
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

static void add_s(bytes_t *b, const char *s)
{
	add(b, s, strlen(s));
}

static void add_u8(bytes_t *b, unsigned v)
{
	unsigned char c = (unsigned char)v;
	add(b, &c, 1);
}

static void add_be16(bytes_t *b, unsigned v)
{
	add_u8(b, v >> 8);
	add_u8(b, v);
}

static void add_be32(bytes_t *b, uint32_t v)
{
	add_be16(b, v >> 16);
	add_be16(b, v & 0xffff);
}

static void add_le16(bytes_t *b, unsigned v)
{
	add_u8(b, v);
	add_u8(b, v >> 8);
}

static void add_le24(bytes_t *b, uint32_t v)
{
	add_le16(b, v & 0xffff);
	add_u8(b, v >> 16);
}

static void add_le32(bytes_t *b, uint32_t v)
{
	add_le16(b, v & 0xffff);
	add_le16(b, v >> 16);
}

static str_t view(const bytes_t *b)
{
	return (str_t){(const char *)b->p, b->len};
}

static bool contains(str_t hay, const char *needle)
{
	return memmem(hay.p, hay.len, needle, strlen(needle)) != NULL;
}

static uint32_t slow_crc(const unsigned char *p, size_t n)
{
	uint32_t c = 0xffffffffu;
	for (size_t i = 0; i < n; i++) {
		c ^= p[i];
		for (int k = 0; k < 8; k++)
			c = c & 1 ? (c >> 1) ^ 0xedb88320u : c >> 1;
	}
	return ~c;
}

/* Runs image_clean on a copy of exactly the input's size (so ASan sees
 * any read past the end). */
static image_info_t info;
static const char *why;
static str_t out;

static int clean_n(const void *p, size_t n, unsigned max_side)
{
	void *copy = malloc(n ? n : 1);
	memcpy(copy, p, n);
	why = NULL;
	out = STR_NULL;
	int rc = image_clean(a, (str_t){copy, n}, max_side, &info, &out, &why);
	/* Checking only gives the same answer. */
	image_info_t info2;
	int rc2 = image_clean(NULL, (str_t){copy, n}, max_side, &info2, NULL,
			      NULL);
	ck_assert_int_eq(rc, rc2);
	if (rc == 0) {
		ck_assert_int_eq(info2.width, info.width);
		/* The output is an arena copy, never a view of the input. */
		ck_assert(out.p < (char *)copy || out.p >= (char *)copy + n);
	} else {
		ck_assert_ptr_nonnull(why);
	}
	free(copy);
	return rc;
}

static int clean(const bytes_t *b, unsigned max_side)
{
	return clean_n(b->p, b->len, max_side);
}

/* Cleaning what was cleaned changes nothing. */
static void assert_stable(void)
{
	str_t first = out;
	image_info_t i1 = info;
	ck_assert_int_eq(clean_n(first.p, first.len, 0), 0);
	ck_assert_uint_eq(out.len, first.len);
	ck_assert_mem_eq(out.p, first.p, first.len);
	ck_assert_int_eq(info.type, i1.type);
	ck_assert_uint_eq(info.width, i1.width);
	ck_assert_uint_eq(info.height, i1.height);
}

/* ------------------------------------------------------------ PNG */

static void png_chunk(bytes_t *b, const char *type, const void *data,
		      size_t n)
{
	add_be32(b, (uint32_t)n);
	size_t at = b->len;
	add(b, type, 4);
	if (n)
		add(b, data, n);
	add_be32(b, slow_crc(b->p + at, n + 4));
}

static void png_ihdr(bytes_t *b, uint32_t w, uint32_t h, unsigned depth,
		     unsigned color)
{
	static const unsigned char sig[] = {0x89, 'P', 'N', 'G',
					    '\r', '\n', 0x1a, '\n'};
	b->len = 0;
	add(b, sig, 8);
	bytes_t d = {.len = 0};
	add_be32(&d, w);
	add_be32(&d, h);
	add_u8(&d, depth);
	add_u8(&d, color);
	add_u8(&d, 0);
	add_u8(&d, 0);
	add_u8(&d, 0);
	png_chunk(b, "IHDR", d.p, d.len);
}

/* A real zlib stream of w x h RGB pixels (filter 0), in one stored
 * deflate block: decodable by any PNG reader. */
static void png_idat(bytes_t *b, uint32_t w, uint32_t h)
{
	bytes_t raw = {.len = 0};
	for (uint32_t y = 0; y < h; y++) {
		add_u8(&raw, 0);
		for (uint32_t x = 0; x < w; x++) {
			add_u8(&raw, 40 * x);
			add_u8(&raw, 60 * y);
			add_u8(&raw, 200);
		}
	}
	uint32_t s1 = 1, s2 = 0;
	for (size_t i = 0; i < raw.len; i++) {
		s1 = (s1 + raw.p[i]) % 65521;
		s2 = (s2 + s1) % 65521;
	}
	bytes_t z = {.len = 0};
	add_u8(&z, 0x78);
	add_u8(&z, 0x01);
	add_u8(&z, 0x01); /* final, stored */
	add_le16(&z, (unsigned)raw.len);
	add_le16(&z, (unsigned)~raw.len & 0xffff);
	add(&z, raw.p, raw.len);
	add_be32(&z, s2 << 16 | s1);
	png_chunk(b, "IDAT", z.p, z.len);
}

static void png_end(bytes_t *b)
{
	png_chunk(b, "IEND", NULL, 0);
}

static void png_plain(bytes_t *b, uint32_t w, uint32_t h)
{
	png_ihdr(b, w, h, 8, 2);
	png_idat(b, w, h);
	png_end(b);
}

START_TEST(crc32_vectors)
{
	ck_assert_uint_eq(image_crc32(0, "123456789", 9), 0xcbf43926u);
	ck_assert_uint_eq(image_crc32(0, "IEND", 4), 0xae426082u);
	ck_assert_uint_eq(image_crc32(image_crc32(0, "1234", 4), "56789", 5),
			  0xcbf43926u);
	ck_assert_uint_eq(image_crc32(0, "", 0), 0);
}
END_TEST

START_TEST(sniffing_is_by_content)
{
	bytes_t b;
	png_plain(&b, 2, 2);
	ck_assert_int_eq(image_sniff(view(&b)), IMAGE_PNG);
	ck_assert_int_eq(image_sniff(STR("\xff\xd8\xff\xe0")), IMAGE_JPEG);
	ck_assert_int_eq(image_sniff(STR("RIFF\0\0\0\0WEBPVP8L")), IMAGE_WEBP);
	ck_assert_int_eq(image_sniff(STR("RIFF\0\0\0\0WAVEfmt ")), IMAGE_UNKNOWN);
	ck_assert_int_eq(image_sniff(STR("GIF89a")), IMAGE_UNKNOWN);
	ck_assert_int_eq(image_sniff(STR("\x89PNG\r\n")), IMAGE_UNKNOWN);
	ck_assert_int_eq(image_sniff(STR_NULL), IMAGE_UNKNOWN);
	ck_assert_str_eq(image_ext(IMAGE_PNG), "png");
	ck_assert_str_eq(image_ext(IMAGE_JPEG), "jpg");
	ck_assert_str_eq(image_ext(IMAGE_WEBP), "webp");
	ck_assert_ptr_null(image_ext(IMAGE_UNKNOWN));
	ck_assert_str_eq(image_mime(IMAGE_JPEG), "image/jpeg");
	ck_assert_str_eq(image_mime(IMAGE_WEBP), "image/webp");
	ck_assert_str_eq(image_name(IMAGE_WEBP), "WebP");

	/* What a person may name logo.png: text, HTML, SVG, a GIF. */
	static const char *const not_images[] = {
		"This is a text file, named logo.png.\n",
		"<!doctype html><script>alert(1)</script>",
		"<svg xmlns=\"http://www.w3.org/2000/svg\"/>",
		"GIF89a\x01\0\x01\0\0\0\0;",
		"",
		"PNG\r\n",
	};
	for (size_t i = 0; i < sizeof not_images / sizeof not_images[0]; i++) {
		ck_assert_int_eq(clean_n(not_images[i], strlen(not_images[i]), 0),
				 ERR_MEDIA_TYPE);
		ck_assert_str_eq(why, "This file is not a PNG, JPEG or WebP "
				      "image.");
		ck_assert_int_eq(info.type, IMAGE_UNKNOWN);
	}
}
END_TEST

START_TEST(png_plain_is_unchanged)
{
	bytes_t b;
	png_plain(&b, 3, 2);
	ck_assert_int_eq(clean(&b, 4096), 0);
	ck_assert_int_eq(info.type, IMAGE_PNG);
	ck_assert_uint_eq(info.width, 3);
	ck_assert_uint_eq(info.height, 2);
	ck_assert_uint_eq(out.len, b.len);
	ck_assert_mem_eq(out.p, b.p, b.len);
	assert_stable();
}
END_TEST

START_TEST(png_metadata_is_dropped)
{
	bytes_t b, want;
	png_ihdr(&b, 4, 4, 8, 2);
	png_ihdr(&want, 4, 4, 8, 2);
	static const unsigned char gama[] = {0, 0, 0xb1, 0x8f};
	static const unsigned char srgb[] = {0};
	static const unsigned char phys[] = {0, 0, 0x0b, 0x13, 0, 0,
					     0x0b, 0x13, 1};
	png_chunk(&b, "tEXt", "Author\0Jane Secret", 18);
	png_chunk(&b, "gAMA", gama, sizeof gama);
	png_chunk(&want, "gAMA", gama, sizeof gama);
	png_chunk(&b, "sRGB", srgb, sizeof srgb);
	png_chunk(&want, "sRGB", srgb, sizeof srgb);
	png_chunk(&b, "eXIf", "MM\0*\0\0\0\x08GPS-SECRET", 18);
	png_chunk(&b, "pHYs", phys, sizeof phys);
	png_chunk(&want, "pHYs", phys, sizeof phys);
	png_chunk(&b, "zTXt", "Comment\0\0x\x9c-secret", 18);
	png_chunk(&b, "iTXt", "XML:com.adobe.xmp\0\0\0\0\0<x:secret/>", 33);
	png_chunk(&b, "prVt", "private secret", 14);
	png_idat(&b, 4, 4);
	png_idat(&want, 4, 4);
	static const unsigned char time[] = {0x07, 0xe8, 1, 2, 3, 4, 5};
	png_chunk(&b, "tIME", time, sizeof time);
	png_chunk(&b, "tEXt", "Software\0secret editor", 22);
	png_end(&b);
	png_end(&want);
	add_s(&b, "trailing bytes after IEND: secret");

	ck_assert_int_eq(clean(&b, 4096), 0);
	ck_assert_uint_eq(out.len, want.len);
	ck_assert_mem_eq(out.p, want.p, want.len);
	ck_assert(!contains(out, "ecret"));
	ck_assert(!contains(out, "tEXt") && !contains(out, "tIME"));
	assert_stable();
}
END_TEST

START_TEST(png_bad_crc)
{
	bytes_t b;
	png_plain(&b, 2, 2);
	b.p[b.len - 12 - 20] ^= 0x01; /* a byte inside IDAT */
	ck_assert_int_eq(clean(&b, 0), ERR_INVALID);
	ck_assert_ptr_nonnull(strstr(why, "CRC"));
	png_plain(&b, 2, 2);
	b.p[b.len - 1] ^= 0x80; /* IEND's CRC itself */
	ck_assert_int_eq(clean(&b, 0), ERR_INVALID);
}
END_TEST

START_TEST(png_every_truncation_fails)
{
	bytes_t b;
	png_plain(&b, 2, 2);
	for (size_t l = 0; l < b.len; l++) {
		int rc = clean_n(b.p, l, 0);
		ck_assert_int_eq(rc, l < 8 ? ERR_MEDIA_TYPE : ERR_INVALID);
	}
}
END_TEST

START_TEST(png_structure)
{
	bytes_t b;
	/* Sizes: the limit, zero, too large. */
	png_ihdr(&b, 4096, 4096, 8, 2);
	png_idat(&b, 1, 1); /* the pixels are not decoded */
	png_end(&b);
	ck_assert_int_eq(clean(&b, 4096), 0);
	ck_assert_uint_eq(info.width, 4096);
	png_ihdr(&b, 4097, 1, 8, 2);
	png_end(&b);
	ck_assert_int_eq(clean(&b, 4096), ERR_TOO_LARGE);
	png_ihdr(&b, 1, 5000, 8, 2);
	png_end(&b);
	ck_assert_int_eq(clean(&b, 4096), ERR_TOO_LARGE);
	png_ihdr(&b, 0, 1, 8, 2);
	png_end(&b);
	ck_assert_int_eq(clean(&b, 0), ERR_INVALID);
	png_ihdr(&b, 0x80000000u, 1, 8, 2);
	png_end(&b);
	ck_assert_int_eq(clean(&b, 0), ERR_INVALID);

	/* Depth and colour type. */
	static const unsigned bad_combos[][2] = {{16, 3}, {4, 2}, {8, 5},
						 {3, 0}, {1, 6}};
	for (size_t i = 0; i < sizeof bad_combos / sizeof bad_combos[0]; i++) {
		png_ihdr(&b, 1, 1, bad_combos[i][0], bad_combos[i][1]);
		png_idat(&b, 1, 1);
		png_end(&b);
		ck_assert_int_eq(clean(&b, 0), ERR_INVALID);
	}

	/* A chunk before IHDR; IHDR of the wrong size. */
	png_ihdr(&b, 1, 1, 8, 2);
	bytes_t c = {.len = 0};
	add(&c, b.p, 8);
	png_chunk(&c, "gAMA", "\0\0\xb1\x8f", 4);
	add(&c, b.p + 8, b.len - 8);
	png_idat(&c, 1, 1);
	png_end(&c);
	ck_assert_int_eq(clean(&c, 0), ERR_INVALID);
	c.len = 8;
	png_chunk(&c, "IHDR", "\0\0\0\1\0\0\0\1\x08\x02\0\0\0\0", 14);
	png_idat(&c, 1, 1);
	png_end(&c);
	ck_assert_int_eq(clean(&c, 0), ERR_INVALID);

	/* An unknown critical chunk; a reserved-bit name; a bad name. */
	png_ihdr(&b, 1, 1, 8, 2);
	png_chunk(&b, "ABCD", "x", 1);
	png_idat(&b, 1, 1);
	png_end(&b);
	ck_assert_int_eq(clean(&b, 0), ERR_INVALID);
	png_ihdr(&b, 1, 1, 8, 2);
	png_chunk(&b, "abcd", "x", 1);
	png_idat(&b, 1, 1);
	png_end(&b);
	ck_assert_int_eq(clean(&b, 0), ERR_INVALID);
	png_ihdr(&b, 1, 1, 8, 2);
	png_chunk(&b, "ab1d", "x", 1);
	png_idat(&b, 1, 1);
	png_end(&b);
	ck_assert_int_eq(clean(&b, 0), ERR_INVALID);

	/* IDATs split by another chunk; no IDAT; IEND with data. */
	png_ihdr(&b, 1, 1, 8, 2);
	png_idat(&b, 1, 1);
	png_chunk(&b, "tEXt", "a\0b", 3);
	png_idat(&b, 1, 1);
	png_end(&b);
	ck_assert_int_eq(clean(&b, 0), ERR_INVALID);
	png_ihdr(&b, 1, 1, 8, 2);
	png_end(&b);
	ck_assert_int_eq(clean(&b, 0), ERR_INVALID);
	png_ihdr(&b, 1, 1, 8, 2);
	png_idat(&b, 1, 1);
	png_chunk(&b, "IEND", "x", 1);
	ck_assert_int_eq(clean(&b, 0), ERR_INVALID);

	/* Palettes: missing, in a grey image, too long, after IDAT. */
	png_ihdr(&b, 1, 1, 8, 3);
	png_idat(&b, 1, 1);
	png_end(&b);
	ck_assert_int_eq(clean(&b, 0), ERR_INVALID);
	png_ihdr(&b, 1, 1, 8, 0);
	png_chunk(&b, "PLTE", "\0\0\0", 3);
	png_idat(&b, 1, 1);
	png_end(&b);
	ck_assert_int_eq(clean(&b, 0), ERR_INVALID);
	png_ihdr(&b, 1, 1, 1, 3);
	png_chunk(&b, "PLTE", "\0\0\0\1\1\1\2\2\2", 9); /* 3 > 2^1 */
	png_idat(&b, 1, 1);
	png_end(&b);
	ck_assert_int_eq(clean(&b, 0), ERR_INVALID);
	png_ihdr(&b, 1, 1, 8, 3);
	png_chunk(&b, "PLTE", "\0\0\0\1\1\1", 6);
	png_idat(&b, 1, 1);
	png_end(&b);
	ck_assert_int_eq(clean(&b, 0), 0);
	png_ihdr(&b, 1, 1, 8, 2);
	png_idat(&b, 1, 1);
	png_chunk(&b, "PLTE", "\0\0\0", 3);
	png_end(&b);
	ck_assert_int_eq(clean(&b, 0), ERR_INVALID);

	/* A length far past the end. */
	png_plain(&b, 1, 1);
	b.p[33] = 0xff; /* IDAT's length */
	ck_assert_int_eq(clean(&b, 0), ERR_INVALID);
}
END_TEST

/* ------------------------------------------------------------ JPEG */

static void jpeg_segment(bytes_t *b, unsigned marker, const void *p,
			 size_t n)
{
	add_u8(b, 0xff);
	add_u8(b, marker);
	add_be16(b, (unsigned)n + 2);
	add(b, p, n);
}

/* A TIFF (Exif) block, little-endian, with the orientation and a string
 * tag that stands for everything else in Exif (GPS, camera, owner). */
static void exif(bytes_t *e, unsigned orientation)
{
	e->len = 0;
	add_s(e, "Exif");
	add_u8(e, 0);
	add_u8(e, 0);
	add_s(e, "II*");
	add_u8(e, 0);
	add_le32(e, 8);
	add_le16(e, 2); /* entries */
	add_le16(e, 0x010f); /* Make, ASCII */
	add_le16(e, 2);
	add_le32(e, 12);
	add_le32(e, 8 + 2 + 24 + 4);
	add_le16(e, 0x0112); /* Orientation, SHORT */
	add_le16(e, 3);
	add_le32(e, 1);
	add_le16(e, orientation);
	add_le16(e, 0);
	add_le32(e, 0);
	add(e, "GPS-SECRET\0", 12);
}

/* Frame and scan of a w x h, 3-component baseline JPEG; the entropy data
 * holds a stuffed 0xFF00 and a restart marker. */
static void jpeg_body(bytes_t *b, unsigned sof, unsigned precision,
		      unsigned w, unsigned h)
{
	unsigned char dqt[65] = {0};
	for (int i = 1; i < 65; i++)
		dqt[i] = 1;
	jpeg_segment(b, 0xdb, dqt, sizeof dqt);
	bytes_t f = {.len = 0};
	add_u8(&f, precision);
	add_be16(&f, h);
	add_be16(&f, w);
	add_u8(&f, 3);
	for (unsigned c = 1; c <= 3; c++) {
		add_u8(&f, c);
		add_u8(&f, 0x11);
		add_u8(&f, 0);
	}
	jpeg_segment(b, sof, f.p, f.len);
	unsigned char dht[17 + 1] = {0x00, 1};
	jpeg_segment(b, 0xc4, dht, sizeof dht);
	jpeg_segment(b, 0xdd, "\0\x04", 2);
	static const unsigned char sos[] = {3, 1, 0, 2, 0, 3, 0, 0, 63, 0};
	jpeg_segment(b, 0xda, sos, sizeof sos);
	static const unsigned char scan[] = {0x12, 0xff, 0x00, 0x34,
					     0xff, 0xd0, 0x56, 0x78};
	add(b, scan, sizeof scan);
}

static void jpeg_soi(bytes_t *b)
{
	b->len = 0;
	add_u8(b, 0xff);
	add_u8(b, 0xd8);
}

static void jpeg_eoi(bytes_t *b)
{
	add_u8(b, 0xff);
	add_u8(b, 0xd9);
}

static const unsigned char jfif_thumb[] = {
	'J', 'F', 'I', 'F', 0, 1, 2, 1, 0, 72, 0, 72,
	1, 1, 0xaa, 0xbb, 0xcc}; /* a 1x1 thumbnail */

START_TEST(jpeg_exif_is_gone)
{
	bytes_t b, e;
	jpeg_soi(&b);
	jpeg_segment(&b, 0xe0, jfif_thumb, sizeof jfif_thumb);
	exif(&e, 6);
	jpeg_segment(&b, 0xe1, e.p, e.len);
	jpeg_segment(&b, 0xe1,
		     "http://ns.adobe.com/xap/1.0/\0<x:xmpmeta>secret</x:xmpmeta>",
		     58);
	jpeg_segment(&b, 0xe2, "ICC_PROFILE\0\x01\x01profile-bytes", 27);
	jpeg_segment(&b, 0xe2, "MPF\0II*\0secret", 14);
	jpeg_segment(&b, 0xed, "Photoshop 3.0\0secret", 20);
	jpeg_segment(&b, 0xfe, "a comment with a secret", 23);
	jpeg_segment(&b, 0xee, "Adobe\0\x64\0\0\0\0\x01", 12);
	jpeg_body(&b, 0xc0, 8, 16, 8);
	jpeg_eoi(&b);
	add_s(&b, "trailer secret");
	ck_assert_uint_ge(b.len, 300);

	ck_assert_int_eq(clean(&b, 4096), 0);
	ck_assert_int_eq(info.type, IMAGE_JPEG);
	ck_assert_uint_eq(info.width, 16);
	ck_assert_uint_eq(info.height, 8);
	ck_assert(!contains(out, "ecret"));
	ck_assert(!contains(out, "xap") && !contains(out, "MPF") &&
		  !contains(out, "Photoshop"));
	ck_assert(contains(out, "ICC_PROFILE") && contains(out, "Adobe"));
	/* SOI, the JFIF APP0 cut to 16 bytes without the thumbnail, then
	 * the orientation alone. */
	const unsigned char *o = (const unsigned char *)out.p;
	static const unsigned char head[] = {
		0xff, 0xd8, 0xff, 0xe0, 0, 16, 'J', 'F', 'I', 'F', 0, 1, 2,
		1, 0, 72, 0, 72, 0, 0,
		0xff, 0xe1, 0, 0x22, 'E', 'x', 'i', 'f', 0, 0, 'M', 'M', 0, 0x2a,
		0, 0, 0, 8, 0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0, 0,
		0, 0, 0};
	ck_assert_uint_gt(out.len, sizeof head);
	ck_assert_mem_eq(o, head, sizeof head);
	ck_assert(!contains((str_t){out.p + sizeof head, out.len - sizeof head},
			    "Exif"));
	ck_assert_uint_eq(o[out.len - 2], 0xff);
	ck_assert_uint_eq(o[out.len - 1], 0xd9);
	/* The coding segments are copied whole: the scan data is there. */
	ck_assert(memmem(out.p, out.len, "\x12\xff\x00\x34\xff\xd0\x56\x78\xff\xd9",
			 10) != NULL);
	assert_stable();

	/* Orientation 1 (or none) leaves no Exif at all. */
	jpeg_soi(&b);
	exif(&e, 1);
	jpeg_segment(&b, 0xe1, e.p, e.len);
	jpeg_body(&b, 0xc2, 8, 16, 8);
	jpeg_eoi(&b);
	ck_assert_int_eq(clean(&b, 0), 0);
	ck_assert(!contains(out, "Exif") && !contains(out, "ecret"));
	/* Without APP0 the orientation goes right after SOI. */
	jpeg_soi(&b);
	exif(&e, 8);
	jpeg_segment(&b, 0xe1, e.p, e.len);
	jpeg_body(&b, 0xc1, 8, 16, 8);
	jpeg_eoi(&b);
	ck_assert_int_eq(clean(&b, 0), 0);
	ck_assert_mem_eq(out.p + 2, "\xff\xe1\0\x22" "Exif", 8);
	ck_assert_uint_eq((unsigned char)out.p[2 + 4 + 6 + 8 + 2 + 8 + 1], 8);
	assert_stable();
}
END_TEST

START_TEST(jpeg_structure)
{
	bytes_t b;
	/* The plainest JPEG is unchanged. */
	jpeg_soi(&b);
	jpeg_body(&b, 0xc0, 8, 4096, 1);
	jpeg_eoi(&b);
	ck_assert_int_eq(clean(&b, 4096), 0);
	ck_assert_uint_eq(out.len, b.len);
	ck_assert_mem_eq(out.p, b.p, b.len);
	/* Fill bytes before a marker are allowed (and dropped). */
	jpeg_soi(&b);
	add_u8(&b, 0xff);
	jpeg_body(&b, 0xc0, 8, 2, 2);
	add_u8(&b, 0xff);
	jpeg_eoi(&b);
	ck_assert_int_eq(clean(&b, 0), 0);
	ck_assert_uint_eq(out.len, b.len - 2);

	/* Every truncation fails. */
	jpeg_soi(&b);
	jpeg_segment(&b, 0xe0, jfif_thumb, sizeof jfif_thumb);
	jpeg_body(&b, 0xc0, 8, 2, 2);
	jpeg_eoi(&b);
	for (size_t l = 0; l < b.len; l++)
		ck_assert_int_eq(clean_n(b.p, l, 0),
				 l < 3 ? ERR_MEDIA_TYPE : ERR_INVALID);

	/* Too large, zero height, 12-bit, arithmetic or lossless coding. */
	jpeg_soi(&b);
	jpeg_body(&b, 0xc0, 8, 4097, 10);
	jpeg_eoi(&b);
	ck_assert_int_eq(clean(&b, 4096), ERR_TOO_LARGE);
	jpeg_soi(&b);
	jpeg_body(&b, 0xc0, 8, 10, 0);
	jpeg_eoi(&b);
	ck_assert_int_eq(clean(&b, 0), ERR_INVALID);
	jpeg_soi(&b);
	jpeg_body(&b, 0xc1, 12, 10, 10);
	jpeg_eoi(&b);
	ck_assert_int_eq(clean(&b, 0), ERR_INVALID);
	static const unsigned odd[] = {0xc3, 0xc9, 0xcb, 0xcf, 0xc8, 0xf7};
	for (size_t i = 0; i < sizeof odd / sizeof odd[0]; i++) {
		jpeg_soi(&b);
		jpeg_body(&b, odd[i], 8, 10, 10);
		jpeg_eoi(&b);
		ck_assert_int_eq(clean(&b, 0), ERR_INVALID);
	}

	/* No frame; scan before the frame; no scan; two frames. */
	jpeg_soi(&b);
	jpeg_segment(&b, 0xfe, "x", 1);
	jpeg_eoi(&b);
	ck_assert_int_eq(clean(&b, 0), ERR_INVALID);
	jpeg_soi(&b);
	static const unsigned char sos[] = {1, 1, 0, 0, 63, 0};
	jpeg_segment(&b, 0xda, sos, sizeof sos);
	add_s(&b, "data");
	jpeg_eoi(&b);
	ck_assert_int_eq(clean(&b, 0), ERR_INVALID);
	jpeg_soi(&b);
	jpeg_segment(&b, 0xc0, "\x08\0\x01\0\x01\x01\x01\x11\0", 9);
	jpeg_eoi(&b);
	ck_assert_int_eq(clean(&b, 0), ERR_INVALID);
	jpeg_soi(&b);
	jpeg_segment(&b, 0xc0, "\x08\0\x01\0\x01\x01\x01\x11\0", 9);
	jpeg_body(&b, 0xc0, 8, 2, 2);
	jpeg_eoi(&b);
	ck_assert_int_eq(clean(&b, 0), ERR_INVALID);

	/* A frame header whose length disagrees with its components; a
	 * segment longer than the file; a second SOI; no marker. */
	jpeg_soi(&b);
	jpeg_segment(&b, 0xc0, "\x08\0\x01\0\x01\x03\x01\x11\0", 9);
	jpeg_eoi(&b);
	ck_assert_int_eq(clean(&b, 0), ERR_INVALID);
	jpeg_soi(&b);
	jpeg_body(&b, 0xc0, 8, 2, 2);
	jpeg_eoi(&b);
	b.p[4] = 0xff; /* DQT's length */
	ck_assert_int_eq(clean(&b, 0), ERR_INVALID);
	jpeg_soi(&b);
	jpeg_soi(&b);
	add_u8(&b, 0xff);
	add_u8(&b, 0xd8);
	jpeg_body(&b, 0xc0, 8, 2, 2);
	jpeg_eoi(&b);
	ck_assert_int_eq(clean(&b, 0), ERR_INVALID);
	jpeg_soi(&b);
	add_s(&b, "\xff\xfe\0\x03x?");
	jpeg_body(&b, 0xc0, 8, 2, 2);
	jpeg_eoi(&b);
	ck_assert_int_eq(clean(&b, 0), ERR_INVALID);
}
END_TEST

/* ------------------------------------------------------------ WebP */

static size_t riff_start(bytes_t *b)
{
	b->len = 0;
	add_s(b, "RIFF");
	add_le32(b, 0);
	add_s(b, "WEBP");
	return 4;
}

static void riff_chunk(bytes_t *b, const char *cc, const void *p, size_t n)
{
	add(b, cc, 4);
	add_le32(b, (uint32_t)n);
	add(b, p, n);
	if (n & 1)
		add_u8(b, 0);
}

static void riff_end(bytes_t *b)
{
	uint32_t size = (uint32_t)b->len - 8;
	b->p[4] = (unsigned char)size;
	b->p[5] = (unsigned char)(size >> 8);
	b->p[6] = (unsigned char)(size >> 16);
	b->p[7] = (unsigned char)(size >> 24);
}

static void vp8l(bytes_t *b, uint32_t w, uint32_t h)
{
	bytes_t c = {.len = 0};
	add_u8(&c, 0x2f);
	add_le32(&c, (w - 1) | (h - 1) << 14 | 1u << 28);
	add_s(&c, "pixels");
	riff_chunk(b, "VP8L", c.p, c.len);
}

static void vp8(bytes_t *b, unsigned w, unsigned h)
{
	bytes_t c = {.len = 0};
	add_le24(&c, 0 | 0 << 1 | 1 << 4 | 3 << 5); /* key, v0, shown */
	add_u8(&c, 0x9d);
	add_u8(&c, 0x01);
	add_u8(&c, 0x2a);
	add_le16(&c, w);
	add_le16(&c, h);
	add_s(&c, "abcde");
	riff_chunk(b, "VP8 ", c.p, c.len);
}

static void vp8x(bytes_t *b, unsigned flags, uint32_t w, uint32_t h)
{
	bytes_t c = {.len = 0};
	add_u8(&c, flags);
	add_le24(&c, 0);
	add_le24(&c, w - 1);
	add_le24(&c, h - 1);
	riff_chunk(b, "VP8X", c.p, c.len);
}

START_TEST(webp_simple)
{
	bytes_t b;
	riff_start(&b);
	vp8l(&b, 3, 2);
	riff_end(&b);
	ck_assert_int_eq(clean(&b, 4096), 0);
	ck_assert_int_eq(info.type, IMAGE_WEBP);
	ck_assert_uint_eq(info.width, 3);
	ck_assert_uint_eq(info.height, 2);
	ck_assert_uint_eq(out.len, b.len);
	ck_assert_mem_eq(out.p, b.p, b.len);

	riff_start(&b);
	vp8(&b, 300, 200);
	riff_chunk(&b, "EXIF", "secret", 6); /* not allowed in a simple file */
	riff_end(&b);
	add_s(&b, "trailing secret");
	ck_assert_int_eq(clean(&b, 4096), 0);
	ck_assert_uint_eq(info.width, 300);
	ck_assert_uint_eq(info.height, 200);
	ck_assert(!contains(out, "ecret"));
	ck_assert_uint_eq(out.len, 12 + 8 + 16);
	ck_assert_uint_eq((unsigned char)out.p[4], out.len - 8);
	assert_stable();
}
END_TEST

START_TEST(webp_extended_metadata_is_gone)
{
	bytes_t b, want;
	riff_start(&b);
	vp8x(&b, 0x20 | 0x10 | 0x08 | 0x04 | 0x01, 5, 7);
	riff_chunk(&b, "ICCP", "icc-profile", 11);
	riff_chunk(&b, "ALPH", "\0alpha", 6);
	vp8l(&b, 5, 7);
	riff_chunk(&b, "EXIF", "II*\0GPS-SECRET", 14);
	riff_chunk(&b, "XMP ", "<x:secret/>", 11);
	riff_chunk(&b, "ZZZZ", "unknown secret", 14);
	riff_end(&b);

	riff_start(&want);
	vp8x(&want, 0x20 | 0x10, 5, 7);
	riff_chunk(&want, "ICCP", "icc-profile", 11);
	riff_chunk(&want, "ALPH", "\0alpha", 6);
	vp8l(&want, 5, 7);
	riff_end(&want);

	ck_assert_int_eq(clean(&b, 4096), 0);
	ck_assert_uint_eq(info.width, 5);
	ck_assert_uint_eq(info.height, 7);
	ck_assert(!info.animated);
	ck_assert_uint_eq(out.len, want.len);
	ck_assert_mem_eq(out.p, want.p, want.len);
	assert_stable();

	/* The ICC flag follows the chunk. */
	riff_start(&b);
	vp8x(&b, 0x20, 5, 7);
	vp8l(&b, 5, 7);
	riff_end(&b);
	ck_assert_int_eq(clean(&b, 0), 0);
	ck_assert_uint_eq((unsigned char)out.p[20], 0);

	/* Animated: ANIM, then frames inside the canvas. */
	riff_start(&b);
	vp8x(&b, 0x02, 10, 10);
	riff_chunk(&b, "ANIM", "\xff\xff\xff\xff\0\0", 6);
	bytes_t f = {.len = 0};
	add_le24(&f, 1);
	add_le24(&f, 1);
	add_le24(&f, 7);
	add_le24(&f, 7);
	add_le24(&f, 100);
	add_u8(&f, 0);
	riff_chunk(&b, "ANMF", f.p, f.len);
	riff_chunk(&b, "EXIF", "secret", 6);
	riff_end(&b);
	ck_assert_int_eq(clean(&b, 0), 0);
	ck_assert(info.animated);
	ck_assert(!contains(out, "ecret"));
	/* A frame outside the canvas. */
	b.p[b.len - 8 - 6 - 16 + 6] = 9; /* width - 1 = 9 at x = 2 */
	ck_assert_int_eq(clean(&b, 0), ERR_INVALID);
}
END_TEST

START_TEST(webp_structure)
{
	bytes_t b;
	/* RIFF size past the end, or too small. */
	riff_start(&b);
	vp8l(&b, 3, 2);
	riff_end(&b);
	b.p[4] += 2;
	ck_assert_int_eq(clean(&b, 0), ERR_INVALID);
	riff_start(&b);
	riff_end(&b);
	ck_assert_int_eq(clean(&b, 0), ERR_INVALID);
	/* Every truncation fails. */
	riff_start(&b);
	vp8x(&b, 0x10, 5, 7);
	vp8l(&b, 5, 7);
	riff_end(&b);
	for (size_t l = 0; l < b.len; l++)
		ck_assert_int_eq(clean_n(b.p, l, 0),
				 l < 12 ? ERR_MEDIA_TYPE : ERR_INVALID);
	/* An unknown first chunk; canvas and image of different sizes; a
	 * canvas over the limit; no image; a lossless version != 0; a lossy
	 * inter frame. */
	riff_start(&b);
	riff_chunk(&b, "EXIF", "x", 1);
	vp8l(&b, 3, 2);
	riff_end(&b);
	ck_assert_int_eq(clean(&b, 0), ERR_INVALID);
	riff_start(&b);
	vp8x(&b, 0, 5, 7);
	vp8l(&b, 5, 6);
	riff_end(&b);
	ck_assert_int_eq(clean(&b, 0), ERR_INVALID);
	riff_start(&b);
	vp8x(&b, 0, 5000, 7);
	vp8l(&b, 5, 7);
	riff_end(&b);
	ck_assert_int_eq(clean(&b, 4096), ERR_TOO_LARGE);
	riff_start(&b);
	vp8l(&b, 4097, 7);
	riff_end(&b);
	ck_assert_int_eq(clean(&b, 4096), ERR_TOO_LARGE);
	riff_start(&b);
	vp8x(&b, 0, 5, 7);
	riff_chunk(&b, "ICCP", "x", 1);
	riff_end(&b);
	ck_assert_int_eq(clean(&b, 0), ERR_INVALID);
	riff_start(&b);
	vp8l(&b, 3, 2);
	riff_end(&b);
	b.p[20 + 4] |= 0x20; /* version bits */
	ck_assert_int_eq(clean(&b, 0), ERR_INVALID);
	riff_start(&b);
	vp8(&b, 3, 2);
	riff_end(&b);
	b.p[20] |= 1; /* not a key frame */
	ck_assert_int_eq(clean(&b, 0), ERR_INVALID);
	/* Two images in an extended file; frames without the flag. */
	riff_start(&b);
	vp8x(&b, 0, 3, 2);
	vp8l(&b, 3, 2);
	vp8l(&b, 3, 2);
	riff_end(&b);
	ck_assert_int_eq(clean(&b, 0), ERR_INVALID);
	riff_start(&b);
	vp8x(&b, 0, 3, 2);
	riff_chunk(&b, "ANIM", "\0\0\0\0\0\0", 6);
	vp8l(&b, 3, 2);
	riff_end(&b);
	ck_assert_int_eq(clean(&b, 0), ERR_INVALID);
}
END_TEST

/* Random damage to valid files of each kind: only documented answers,
 * and ASan sees every read. */
START_TEST(mutations)
{
	bytes_t files[3], e;
	png_ihdr(&files[0], 4, 4, 8, 2);
	png_chunk(&files[0], "tEXt", "a\0b", 3);
	png_idat(&files[0], 4, 4);
	png_end(&files[0]);
	jpeg_soi(&files[1]);
	jpeg_segment(&files[1], 0xe0, jfif_thumb, sizeof jfif_thumb);
	exif(&e, 3);
	jpeg_segment(&files[1], 0xe1, e.p, e.len);
	jpeg_body(&files[1], 0xc0, 8, 4, 4);
	jpeg_eoi(&files[1]);
	riff_start(&files[2]);
	vp8x(&files[2], 0x3c, 5, 7);
	riff_chunk(&files[2], "ICCP", "icc", 3);
	vp8l(&files[2], 5, 7);
	riff_chunk(&files[2], "EXIF", "x", 1);
	riff_end(&files[2]);
	srand(11);
	int ok = 0;
	for (int round = 0; round < 30000; round++) {
		bytes_t m = files[round % 3];
		int changes = 1 + rand() % 3;
		for (int k = 0; k < changes; k++)
			m.p[rand() % (int)m.len] = (unsigned char)rand();
		int rc = clean_n(m.p, rand() % 8 ? m.len : (size_t)rand() % m.len,
				 4096);
		ck_assert(rc == 0 || rc == ERR_INVALID || rc == ERR_TOO_LARGE ||
			  rc == ERR_MEDIA_TYPE);
		if (rc == 0)
			ok++;
	}
	ck_assert_int_gt(ok, 0);
}
END_TEST

static Suite *make_suite(void)
{
	Suite *s = suite_create("image");
	TCase *tc = tcase_create("all");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, crc32_vectors);
	tcase_add_test(tc, sniffing_is_by_content);
	tcase_add_test(tc, png_plain_is_unchanged);
	tcase_add_test(tc, png_metadata_is_dropped);
	tcase_add_test(tc, png_bad_crc);
	tcase_add_test(tc, png_every_truncation_fails);
	tcase_add_test(tc, png_structure);
	tcase_add_test(tc, jpeg_exif_is_gone);
	tcase_add_test(tc, jpeg_structure);
	tcase_add_test(tc, webp_simple);
	tcase_add_test(tc, webp_extended_metadata_is_gone);
	tcase_add_test(tc, webp_structure);
	tcase_add_test(tc, mutations);
	suite_add_tcase(s, tc);
	return s;
}

CK_RUN_SUITE(make_suite)
