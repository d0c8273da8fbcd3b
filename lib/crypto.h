/* crypto: random tokens, hashes, secrets at rest and HS256 JWTs.
 *
 *   crypto_key_t key;
 *   if (crypto_key_parse(cfg.secret_key, &key) < 0) -> CRYPTO_KEY_ERROR
 *   buf_t sealed;  buf_init(&sealed, arena, 64 * 1024);
 *   crypto_seal(&key, secret, secret_len, &sealed);   "v1.<base64url>"
 *   crypto_open(&key, sealed_text, len, &plain);      ERR_INVALID if touched
 *
 * libsodium does the randomness, hashing and encryption (secretbox:
 * XSalsa20-Poly1305 with a random 24-byte nonce per message); OpenSSL does
 * HMAC-SHA256 for JWTs and webhook signatures.  Every function here may be
 * called from any thread: the first call initialises libsodium once.
 *
 * A sealed value is self-contained text, safe for a text column:
 *   "v1." base64url-no-padding(key id (4) || nonce (24) || MAC (16) ||
 *                               ciphertext)
 * The version names the format; the key id (derived from the key, not
 * secret) tells which key sealed it, so a second key can be introduced and
 * old values re-sealed later without guessing (crypto_sealed_key_id). */
#ifndef CANOPY_CRYPTO_H
#define CANOPY_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>

#include "buf.h"
#include "err.h"

#define CRYPTO_KEY_BYTES 32
#define CRYPTO_SHA256_BYTES 32
#define CRYPTO_SHA256_HEX_SIZE 65 /* 64 hex digits and the NUL */
#define CRYPTO_TOKEN_MAX_BYTES 128
/* Buffer size (with the NUL) for a base64url token of n random bytes. */
#define CRYPTO_TOKEN_SIZE(n) ((((n) * 4u) + 2u) / 3u + 1u)
/* Longest plaintext crypto_seal takes: secrets, not files. */
#define CRYPTO_SEAL_MAX (1024u * 1024u)
#define CRYPTO_SEAL_PREFIX "v1."
/* Longest token crypto_jwt_verify_hs256 reads. */
#define CRYPTO_JWT_MAX 16384u

/* The one message for a CANOPY_SECRET_KEY that crypto_key_parse refuses. */
#define CRYPTO_KEY_ERROR                                                 \
	"CANOPY_SECRET_KEY must be 64 hexadecimal digits or the base64 of " \
	"32 bytes (e.g. from: openssl rand -hex 32)"

/* A secret key for crypto_seal/crypto_open.  id is derived from the bytes
 * (a keyed-hash fingerprint, not secret) and travels with every sealed
 * value.  Wipe it with crypto_wipe when done if it lived on a stack. */
typedef struct {
	unsigned char bytes[CRYPTO_KEY_BYTES];
	uint32_t id;
} crypto_key_t;

/* Initialises libsodium, once, thread-safe.  The other functions call it
 * themselves; a program calls it at start to fail early.  ERR_INTERNAL
 * when libsodium cannot start (no entropy source). */
int crypto_init(void) WARN_UNUSED;

/* n bytes from the system CSPRNG. */
void crypto_random_bytes(void *out, size_t n);

/* A token of nbytes (1..CRYPTO_TOKEN_MAX_BYTES) random bytes as base64url
 * without padding, NUL-terminated into out (size outlen, at least
 * CRYPTO_TOKEN_SIZE(nbytes)).  ERR_INVALID for a bad nbytes, ERR_TOO_LARGE
 * when out is too small (out is then ""). */
int crypto_random_token(char *out, size_t outlen, size_t nbytes) WARN_UNUSED;

/* Whether a and b hold the same bytes, in time that depends only on the
 * lengths (a length mismatch returns false at once: lengths of tokens and
 * MACs are not secret). */
bool crypto_equal(const void *a, size_t alen, const void *b, size_t blen);

/* Zeroes n bytes in a way the compiler cannot elide. */
void crypto_wipe(void *p, size_t n);

/* SHA-256 of n bytes, as raw bytes or as 64 lower-case hex digits and a
 * NUL. */
void crypto_sha256(const void *p, size_t n,
		   unsigned char out[CRYPTO_SHA256_BYTES]);
void crypto_sha256_hex(const void *p, size_t n,
		       char out[CRYPTO_SHA256_HEX_SIZE]);

/* HMAC-SHA256 of msg under key (OpenSSL).  ERR_INTERNAL if OpenSSL
 * fails. */
int crypto_hmac_sha256(const void *key, size_t keylen, const void *msg,
		       size_t msglen,
		       unsigned char out[CRYPTO_SHA256_BYTES]) WARN_UNUSED;

/* Parses CANOPY_SECRET_KEY: 64 hex digits, or base64 (standard or URL
 * alphabet, padded or not) of exactly 32 bytes.  ERR_INVALID for anything
 * else (NULL and "" included); the message to show is CRYPTO_KEY_ERROR,
 * which names the variable and never echoes the value. */
int crypto_key_parse(const char *text, crypto_key_t *key) WARN_UNUSED;

/* A key from 32 raw bytes (tests, key generation). */
void crypto_key_from_bytes(const unsigned char bytes[CRYPTO_KEY_BYTES],
			   crypto_key_t *key);

/* Encrypts and authenticates len bytes of plaintext (at most
 * CRYPTO_SEAL_MAX) and appends the sealed text "v1.<base64url>" to out
 * (NUL-terminated, as every buf_t).  Each call uses a fresh random nonce,
 * so sealing the same value twice gives two different texts.
 * ERR_TOO_LARGE when the plaintext or out's cap is too small (out is left
 * as it was). */
int crypto_seal(const crypto_key_t *key, const void *plaintext, size_t len,
		buf_t *out) WARN_UNUSED;

/* Opens a text made by crypto_seal and appends the plaintext to out.
 * ERR_INVALID when the text is malformed, of an unknown version, sealed
 * under another key, or changed in any byte; nothing is appended then.
 * ERR_TOO_LARGE when out's cap is too small.  The plaintext is secret:
 * the caller wipes out's bytes (crypto_wipe) when it no longer needs them,
 * and never logs them. */
int crypto_open(const crypto_key_t *key, const char *text, size_t len,
		buf_t *out) WARN_UNUSED;

/* The key id a sealed text names, without opening it (to pick a key among
 * several while rotating).  ERR_INVALID when text is not a v1 value. */
int crypto_sealed_key_id(const char *text, size_t len,
			 uint32_t *id) WARN_UNUSED;

/* A compact JWT: header {"alg":"HS256","typ":"JWT"}, the claims object as
 * compact JSON in its key order, signature HMAC-SHA256 with secret (its
 * bytes as given), all base64url without padding; appended to out.
 * ERR_INVALID when secret is empty or claims is not an object,
 * ERR_TOO_LARGE when out's cap is too small. */
int crypto_jwt_hs256(const char *secret, const json_t *claims,
		     buf_t *out) WARN_UNUSED;

/* Verifies a compact HS256 JWT signed with secret at time now (seconds
 * since the epoch).  The header must say alg HS256 (no "none", no other
 * algorithm); the signature is compared in constant time; the claims must
 * be an object with a numeric exp later than now, and nbf, when present,
 * not later than now.  On success *claims (may be NULL) gets the claims,
 * a new reference the caller releases with json_decref.  Errors:
 * ERR_INVALID for a token that is not a well-formed JWT (or longer than
 * CRYPTO_JWT_MAX), ERR_UNAUTHORIZED for a wrong algorithm, a bad
 * signature, a missing or passed exp, or an nbf in the future. */
int crypto_jwt_verify_hs256(const char *secret, const char *token, time_t now,
			    json_t **claims) WARN_UNUSED;

#endif
