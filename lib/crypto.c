#include "crypto.h"

#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sodium.h>

#include "arena.h"
#include "log.h"

#define B64URL sodium_base64_VARIANT_URLSAFE_NO_PADDING
#define KEY_ID_BYTES 4
#define SEAL_HEADER_BYTES (KEY_ID_BYTES + crypto_secretbox_NONCEBYTES)
#define JWT_HEADER "{\"alg\":\"HS256\",\"typ\":\"JWT\"}"

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int init_rc;

static void do_init(void)
{
	init_rc = sodium_init() < 0 ? ERR_INTERNAL : 0;
}

int crypto_init(void)
{
	pthread_once(&init_once, do_init);
	return init_rc;
}

/* Randomness without a working libsodium would be a silent disaster: no
 * caller can do anything sensible but stop. */
static void need_init(void)
{
	if (crypto_init() < 0) {
		log_error("libsodium could not be initialised");
		abort();
	}
}

void crypto_random_bytes(void *out, size_t n)
{
	need_init();
	randombytes_buf(out, n);
}

int crypto_random_token(char *out, size_t outlen, size_t nbytes)
{
	if (outlen > 0)
		out[0] = '\0';
	if (nbytes < 1 || nbytes > CRYPTO_TOKEN_MAX_BYTES)
		return ERR_INVALID;
	if (outlen < sodium_base64_ENCODED_LEN(nbytes, B64URL))
		return ERR_TOO_LARGE;
	unsigned char raw[CRYPTO_TOKEN_MAX_BYTES];
	crypto_random_bytes(raw, nbytes);
	sodium_bin2base64(out, outlen, raw, nbytes, B64URL);
	sodium_memzero(raw, sizeof raw);
	return 0;
}

bool crypto_equal(const void *a, size_t alen, const void *b, size_t blen)
{
	if (alen != blen)
		return false;
	if (alen == 0)
		return true;
	return sodium_memcmp(a, b, alen) == 0;
}

void crypto_wipe(void *p, size_t n)
{
	if (p && n)
		sodium_memzero(p, n);
}

void crypto_sha256(const void *p, size_t n,
		   unsigned char out[CRYPTO_SHA256_BYTES])
{
	need_init();
	crypto_hash_sha256(out, p, n);
}

void crypto_sha256_hex(const void *p, size_t n,
		       char out[CRYPTO_SHA256_HEX_SIZE])
{
	unsigned char md[CRYPTO_SHA256_BYTES];
	crypto_sha256(p, n, md);
	sodium_bin2hex(out, CRYPTO_SHA256_HEX_SIZE, md, sizeof md);
}

int crypto_hmac_sha256(const void *key, size_t keylen, const void *msg,
		       size_t msglen, unsigned char out[CRYPTO_SHA256_BYTES])
{
	unsigned int mdlen = 0;
	/* OpenSSL wants a non-NULL key pointer even for an empty key. */
	static const unsigned char empty[1];
	if (keylen > (size_t)INT_MAX)
		return ERR_INVALID;
	if (!HMAC(EVP_sha256(), keylen ? key : empty, (int)keylen,
		  msglen ? msg : empty, msglen, out, &mdlen) ||
	    mdlen != CRYPTO_SHA256_BYTES)
		return ERR_INTERNAL;
	return 0;
}

/* ------------------------------------------------------------- keys */

void crypto_key_from_bytes(const unsigned char bytes[CRYPTO_KEY_BYTES],
			   crypto_key_t *key)
{
	need_init();
	memcpy(key->bytes, bytes, CRYPTO_KEY_BYTES);
	/* A keyed BLAKE2b of a fixed label: names the key without telling
	 * anything about it. */
	static const char label[] = "canopy secret key id";
	unsigned char h[crypto_generichash_BYTES_MIN];
	crypto_generichash(h, sizeof h, (const unsigned char *)label,
			   sizeof label - 1, bytes, CRYPTO_KEY_BYTES);
	key->id = (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 |
		  (uint32_t)h[2] << 8 | (uint32_t)h[3];
}

static bool all_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
		      (c >= 'A' && c <= 'F')))
			return false;
	}
	return true;
}

int crypto_key_parse(const char *text, crypto_key_t *key)
{
	need_init();
	memset(key, 0, sizeof *key);
	if (!text)
		return ERR_INVALID;
	size_t n = strlen(text);
	unsigned char raw[CRYPTO_KEY_BYTES];
	size_t got = 0;
	int ok = -1;
	if (n == 2 * CRYPTO_KEY_BYTES && all_hex(text, n)) {
		ok = sodium_hex2bin(raw, sizeof raw, text, n, NULL, &got,
				    NULL);
	} else if (n >= 43 && n <= 44) {
		static const int variants[] = {
			sodium_base64_VARIANT_ORIGINAL,
			sodium_base64_VARIANT_ORIGINAL_NO_PADDING,
			sodium_base64_VARIANT_URLSAFE,
			sodium_base64_VARIANT_URLSAFE_NO_PADDING,
		};
		for (size_t i = 0; ok != 0 && i < 4; i++)
			ok = sodium_base642bin(raw, sizeof raw, text, n, NULL,
					       &got, NULL, variants[i]);
	}
	if (ok != 0 || got != CRYPTO_KEY_BYTES) {
		sodium_memzero(raw, sizeof raw);
		return ERR_INVALID;
	}
	crypto_key_from_bytes(raw, key);
	sodium_memzero(raw, sizeof raw);
	return 0;
}

/* ---------------------------------------------------------- sealing */

static void put_key_id(unsigned char *p, uint32_t id)
{
	p[0] = (unsigned char)(id >> 24);
	p[1] = (unsigned char)(id >> 16);
	p[2] = (unsigned char)(id >> 8);
	p[3] = (unsigned char)id;
}

static uint32_t get_key_id(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

int crypto_seal(const crypto_key_t *key, const void *plaintext, size_t len,
		buf_t *out)
{
	need_init();
	if (len > CRYPTO_SEAL_MAX)
		return ERR_TOO_LARGE;
	size_t bin_len = SEAL_HEADER_BYTES + crypto_secretbox_MACBYTES + len;
	unsigned char *bin = xmalloc(bin_len);
	put_key_id(bin, key->id);
	unsigned char *nonce = bin + KEY_ID_BYTES;
	randombytes_buf(nonce, crypto_secretbox_NONCEBYTES);
	crypto_secretbox_easy(bin + SEAL_HEADER_BYTES,
			      len ? plaintext : (const void *)"", len, nonce,
			      key->bytes);

	size_t b64_size = sodium_base64_ENCODED_LEN(bin_len, B64URL);
	char *b64 = xmalloc(b64_size);
	sodium_bin2base64(b64, b64_size, bin, bin_len, B64URL);
	free(bin);

	size_t before = out->len;
	int rc = buf_puts(out, CRYPTO_SEAL_PREFIX);
	if (rc == 0)
		rc = buf_puts(out, b64);
	free(b64);
	if (rc < 0) {
		out->len = before;
		if (out->data)
			out->data[before] = '\0';
	}
	return rc;
}

/* Decodes a v1 text into a fresh heap buffer of *bin_len bytes. */
static int decode_sealed(const char *text, size_t len, unsigned char **bin,
			 size_t *bin_len)
{
	size_t plen = sizeof CRYPTO_SEAL_PREFIX - 1;
	if (!text || len <= plen || memcmp(text, CRYPTO_SEAL_PREFIX, plen) != 0)
		return ERR_INVALID;
	const char *b64 = text + plen;
	size_t b64_len = len - plen;
	/* The largest text crypto_seal can make, with room to spare. */
	if (b64_len > (CRYPTO_SEAL_MAX + 64) / 3 * 4 + 8)
		return ERR_INVALID;
	size_t max = b64_len / 4 * 3 + 3;
	unsigned char *b = xmalloc(max);
	size_t got = 0;
	if (sodium_base642bin(b, max, b64, b64_len, NULL, &got, NULL,
			      B64URL) != 0 ||
	    got < SEAL_HEADER_BYTES + crypto_secretbox_MACBYTES) {
		free(b);
		return ERR_INVALID;
	}
	*bin = b;
	*bin_len = got;
	return 0;
}

int crypto_sealed_key_id(const char *text, size_t len, uint32_t *id)
{
	unsigned char *bin;
	size_t bin_len;
	int rc = decode_sealed(text, len, &bin, &bin_len);
	if (rc < 0)
		return rc;
	*id = get_key_id(bin);
	free(bin);
	return 0;
}

int crypto_open(const crypto_key_t *key, const char *text, size_t len,
		buf_t *out)
{
	need_init();
	unsigned char *bin;
	size_t bin_len;
	int rc = decode_sealed(text, len, &bin, &bin_len);
	if (rc < 0)
		return rc;
	if (get_key_id(bin) != key->id) {
		free(bin);
		return ERR_INVALID;
	}
	size_t plain_len =
		bin_len - SEAL_HEADER_BYTES - crypto_secretbox_MACBYTES;
	unsigned char *plain = xmalloc(plain_len + 1);
	if (crypto_secretbox_open_easy(plain, bin + SEAL_HEADER_BYTES,
				       bin_len - SEAL_HEADER_BYTES,
				       bin + KEY_ID_BYTES, key->bytes) != 0) {
		free(plain);
		free(bin);
		return ERR_INVALID;
	}
	free(bin);
	rc = buf_append(out, plain, plain_len);
	sodium_memzero(plain, plain_len + 1);
	free(plain);
	return rc;
}

/* ------------------------------------------------------------- JWT */

static int put_b64url(buf_t *out, const void *p, size_t n)
{
	size_t size = sodium_base64_ENCODED_LEN(n, B64URL);
	char *s = xmalloc(size);
	sodium_bin2base64(s, size, p, n, B64URL);
	int rc = buf_puts(out, s);
	free(s);
	return rc;
}

int crypto_jwt_hs256(const char *secret, const json_t *claims, buf_t *out)
{
	need_init();
	if (!secret || !*secret || !json_is_object(claims))
		return ERR_INVALID;
	char *payload = json_dumps(claims, JSON_COMPACT);
	if (!payload)
		return ERR_INVALID;
	size_t before = out->len;
	int rc = put_b64url(out, JWT_HEADER, sizeof JWT_HEADER - 1);
	if (rc == 0)
		rc = buf_putc(out, '.');
	if (rc == 0)
		rc = put_b64url(out, payload, strlen(payload));
	free(payload);
	unsigned char mac[CRYPTO_SHA256_BYTES];
	if (rc == 0)
		rc = crypto_hmac_sha256(secret, strlen(secret),
					out->data + before, out->len - before,
					mac);
	if (rc == 0)
		rc = buf_putc(out, '.');
	if (rc == 0)
		rc = put_b64url(out, mac, sizeof mac);
	if (rc < 0) {
		out->len = before;
		if (out->data)
			out->data[before] = '\0';
	}
	return rc;
}

/* Decodes one base64url segment into a new heap buffer (NUL-terminated,
 * so JSON can be parsed from it). */
static int decode_segment(const char *s, size_t n, unsigned char **bin,
			  size_t *bin_len)
{
	size_t max = n / 4 * 3 + 3;
	unsigned char *b = xmalloc(max + 1);
	size_t got = 0;
	if (sodium_base642bin(b, max, s, n, NULL, &got, NULL, B64URL) != 0) {
		free(b);
		return ERR_INVALID;
	}
	b[got] = '\0';
	*bin = b;
	*bin_len = got;
	return 0;
}

static json_t *segment_json(const char *s, size_t n)
{
	unsigned char *bin;
	size_t bin_len;
	if (decode_segment(s, n, &bin, &bin_len) < 0)
		return NULL;
	json_t *j = json_loadb((const char *)bin, bin_len,
			       JSON_REJECT_DUPLICATES, NULL);
	free(bin);
	if (j && !json_is_object(j)) {
		json_decref(j);
		return NULL;
	}
	return j;
}

int crypto_jwt_verify_hs256(const char *secret, const char *token, time_t now,
			    json_t **claims)
{
	need_init();
	if (claims)
		*claims = NULL;
	if (!secret || !*secret || !token)
		return ERR_INVALID;
	size_t n = strnlen(token, CRYPTO_JWT_MAX + 1);
	if (n > CRYPTO_JWT_MAX)
		return ERR_INVALID;
	const char *d1 = memchr(token, '.', n);
	const char *d2 = d1 ? memchr(d1 + 1, '.', n - (size_t)(d1 + 1 - token))
			    : NULL;
	if (!d1 || !d2 || memchr(d2 + 1, '.', n - (size_t)(d2 + 1 - token)) ||
	    d1 == token || d2 == d1 + 1)
		return ERR_INVALID;

	json_t *header = segment_json(token, (size_t)(d1 - token));
	if (!header)
		return ERR_INVALID;
	const char *alg = json_string_value(json_object_get(header, "alg"));
	bool alg_ok = alg && strcmp(alg, "HS256") == 0;
	json_decref(header);
	if (!alg_ok)
		return ERR_UNAUTHORIZED;

	unsigned char *sig;
	size_t sig_len;
	if (decode_segment(d2 + 1, n - (size_t)(d2 + 1 - token), &sig,
			   &sig_len) < 0)
		return ERR_INVALID;
	unsigned char want[CRYPTO_SHA256_BYTES];
	int rc = crypto_hmac_sha256(secret, strlen(secret), token,
				    (size_t)(d2 - token), want);
	bool sig_ok = rc == 0 && crypto_equal(sig, sig_len, want, sizeof want);
	free(sig);
	if (rc < 0)
		return rc;
	if (!sig_ok)
		return ERR_UNAUTHORIZED;

	json_t *body = segment_json(d1 + 1, (size_t)(d2 - d1 - 1));
	if (!body)
		return ERR_INVALID;
	json_t *exp = json_object_get(body, "exp");
	json_t *nbf = json_object_get(body, "nbf");
	rc = 0;
	if (!json_is_number(exp) || json_number_value(exp) <= (double)now)
		rc = ERR_UNAUTHORIZED;
	else if (nbf && (!json_is_number(nbf) ||
			 json_number_value(nbf) > (double)now))
		rc = ERR_UNAUTHORIZED;
	if (rc < 0 || !claims)
		json_decref(body);
	else
		*claims = body;
	return rc;
}
