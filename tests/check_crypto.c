/* crypto: tokens, hashes, sealed secrets, HS256 JWTs. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "check_util.h"
#include "crypto.h"

#define HEX_KEY "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
/* The same 32 bytes in base64, standard alphabet with padding. */
#define B64_KEY "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="

/* jwt.io's published example, HS256 with "your-256-bit-secret". */
#define JWTIO_TOKEN                                                      \
	"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."                          \
	"eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2" \
	"MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
/* Computed with Python's hmac/hashlib/base64 from the claims
 * {"iss":"canopy","aud":"builder","sub":"tenant:42","iat":1700000000,
 *  "exp":1700000300} and the secret below. */
#define CANOPY_SECRET "canopy-test-jwt-secret"
#define CANOPY_TOKEN                                                     \
	"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."                          \
	"eyJpc3MiOiJjYW5vcHkiLCJhdWQiOiJidWlsZGVyIiwic3ViIjoidGVuYW50OjQy" \
	"IiwiaWF0IjoxNzAwMDAwMDAwLCJleHAiOjE3MDAwMDAzMDB9."                \
	"6veCZEFsrhdPtpnvxxe04xuYZhX3VJtrbShbDH06G3E"

static arena_t *a;

static void setup(void)
{
	a = arena_new(0);
}

static void teardown(void)
{
	arena_free(a);
}

static bool is_b64url(const char *s)
{
	for (; *s; s++)
		if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
		      (*s >= '0' && *s <= '9') || *s == '-' || *s == '_'))
			return false;
	return true;
}

static crypto_key_t test_key(unsigned char fill)
{
	unsigned char raw[CRYPTO_KEY_BYTES];
	memset(raw, fill, sizeof raw);
	crypto_key_t k;
	crypto_key_from_bytes(raw, &k);
	return k;
}

/* ------------------------------------------------------------ basics */

static void *init_thread(void *arg)
{
	(void)arg;
	return (void *)(intptr_t)crypto_init();
}

START_TEST(init_is_once_and_thread_safe)
{
	pthread_t t[8];
	for (int i = 0; i < 8; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, init_thread, NULL),
				 0);
	for (int i = 0; i < 8; i++) {
		void *rc;
		pthread_join(t[i], &rc);
		ck_assert_int_eq((int)(intptr_t)rc, 0);
	}
	ck_assert_int_eq(crypto_init(), 0);
	/* libsodium says 1 for "already initialised". */
	ck_assert_int_eq(sodium_init(), 1);
}
END_TEST

START_TEST(random_tokens)
{
	char t1[CRYPTO_TOKEN_SIZE(32)], t2[CRYPTO_TOKEN_SIZE(32)];
	ck_assert_uint_eq(sizeof t1, 44); /* 43 characters and the NUL */
	ck_assert_int_eq(crypto_random_token(t1, sizeof t1, 32), 0);
	ck_assert_int_eq(crypto_random_token(t2, sizeof t2, 32), 0);
	ck_assert_uint_eq(strlen(t1), 43);
	ck_assert(is_b64url(t1));
	ck_assert_str_ne(t1, t2);

	for (size_t n = 1; n <= 20; n++) {
		char t[CRYPTO_TOKEN_SIZE(20)];
		ck_assert_int_eq(crypto_random_token(t, sizeof t, n), 0);
		ck_assert_uint_eq(strlen(t), (4 * n + 2) / 3);
		ck_assert(is_b64url(t));
	}
	char small[10] = "xxxxxxxxx";
	ck_assert_int_eq(crypto_random_token(small, sizeof small, 16),
			 ERR_TOO_LARGE);
	ck_assert_str_eq(small, "");
	ck_assert_int_eq(crypto_random_token(t1, sizeof t1, 0), ERR_INVALID);
	char big[CRYPTO_TOKEN_SIZE(CRYPTO_TOKEN_MAX_BYTES + 1)];
	ck_assert_int_eq(
		crypto_random_token(big, sizeof big, CRYPTO_TOKEN_MAX_BYTES + 1),
		ERR_INVALID);

	/* Every byte value shows up over many draws: not a constant. */
	unsigned char seen[256] = {0};
	unsigned char r[4096];
	crypto_random_bytes(r, sizeof r);
	int distinct = 0;
	for (size_t i = 0; i < sizeof r; i++)
		if (!seen[r[i]]++)
			distinct++;
	ck_assert_int_gt(distinct, 240);
}
END_TEST

START_TEST(constant_time_equal)
{
	ck_assert(crypto_equal("abc", 3, "abc", 3));
	ck_assert(!crypto_equal("abc", 3, "abd", 3));
	ck_assert(!crypto_equal("abc", 3, "abcd", 4));
	ck_assert(crypto_equal("", 0, "", 0));
	ck_assert(!crypto_equal("a", 1, "", 0));
}
END_TEST

START_TEST(sha256_and_hmac_known_answers)
{
	char hex[CRYPTO_SHA256_HEX_SIZE];
	crypto_sha256_hex("abc", 3, hex);
	ck_assert_str_eq(hex, "ba7816bf8f01cfea414140de5dae2223"
			      "b00361a396177a9cb410ff61f20015ad");
	crypto_sha256_hex("", 0, hex);
	ck_assert_str_eq(hex, "e3b0c44298fc1c149afbf4c8996fb924"
			      "27ae41e4649b934ca495991b7852b855");

	unsigned char mac[CRYPTO_SHA256_BYTES];
	const char *msg = "The quick brown fox jumps over the lazy dog";
	ck_assert_int_eq(crypto_hmac_sha256("key", 3, msg, strlen(msg), mac),
			 0);
	char mhex[CRYPTO_SHA256_HEX_SIZE];
	sodium_bin2hex(mhex, sizeof mhex, mac, sizeof mac);
	ck_assert_str_eq(mhex, "f7bc83f430538424b13298e6aa6fb143"
			       "ef4d59a14946175997479dbc2d1a3cd8");
}
END_TEST

/* -------------------------------------------------------------- keys */

START_TEST(key_parse_hex_and_base64)
{
	crypto_key_t hex, b64, b64np, url;
	ck_assert_int_eq(crypto_key_parse(HEX_KEY, &hex), 0);
	for (int i = 0; i < CRYPTO_KEY_BYTES; i++)
		ck_assert_uint_eq(hex.bytes[i], (unsigned)i);
	ck_assert_int_eq(crypto_key_parse(B64_KEY, &b64), 0);
	/* Without its padding, and in the URL alphabet (same here). */
	ck_assert_int_eq(
		crypto_key_parse("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8",
				 &b64np),
		0);
	ck_assert_mem_eq(hex.bytes, b64.bytes, CRYPTO_KEY_BYTES);
	ck_assert_mem_eq(hex.bytes, b64np.bytes, CRYPTO_KEY_BYTES);
	ck_assert_uint_eq(hex.id, b64.id);
	/* 0xfb 0xff ... uses both URL-only characters. */
	ck_assert_int_eq(
		crypto_key_parse("-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_8",
				 &url),
		0);
	ck_assert_uint_eq(url.bytes[0], 0xfb);

	/* Upper-case hex is the same key. */
	char upper[] = HEX_KEY;
	for (char *p = upper; *p; p++)
		if (*p >= 'a' && *p <= 'f')
			*p = (char)(*p - 'a' + 'A');
	crypto_key_t up;
	ck_assert_int_eq(crypto_key_parse(upper, &up), 0);
	ck_assert_mem_eq(up.bytes, hex.bytes, CRYPTO_KEY_BYTES);

	crypto_key_t other = test_key(7);
	ck_assert_uint_ne(other.id, hex.id);
}
END_TEST

START_TEST(key_parse_refuses_everything_else)
{
	const char *bad[] = {
		"",
		"abc",
		/* 63 and 65 hex digits */
		"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1",
		"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f0",
		/* 64 characters, one not hex */
		"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1g",
		/* base64 of 31 and of 33 bytes */
		"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg==",
		"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8g",
		/* 44 characters but not base64 */
		"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdH*8=",
		" " HEX_KEY,
		"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n",
		NULL,
	};
	crypto_key_t k;
	for (size_t i = 0; bad[i]; i++) {
		memset(&k, 0xaa, sizeof k);
		ck_assert_msg(crypto_key_parse(bad[i], &k) == ERR_INVALID,
			      "accepted key #%zu", i);
		/* Nothing half-parsed stays behind. */
		for (int j = 0; j < CRYPTO_KEY_BYTES; j++)
			ck_assert_uint_eq(k.bytes[j], 0);
	}
	ck_assert_int_eq(crypto_key_parse(NULL, &k), ERR_INVALID);
	ck_assert_ptr_nonnull(strstr(CRYPTO_KEY_ERROR, "CANOPY_SECRET_KEY"));
}
END_TEST

/* ----------------------------------------------------------- sealing */

static const char *seal(const crypto_key_t *k, const char *p, size_t n)
{
	buf_t b;
	buf_init(&b, a, 1 << 20);
	ck_assert_int_eq(crypto_seal(k, p, n, &b), 0);
	return buf_cstr(&b);
}

static int open_text(const crypto_key_t *k, const char *t, size_t n,
		     buf_t *out)
{
	buf_init(out, a, 1 << 20);
	return crypto_open(k, t, n, out);
}

START_TEST(seal_round_trips)
{
	crypto_key_t k;
	ck_assert_int_eq(crypto_key_parse(HEX_KEY, &k), 0);
	size_t sizes[] = {0, 1, 2, 3, 31, 100, 5000};
	char *plain = arena_alloc(a, 5000);
	for (size_t i = 0; i < 5000; i++)
		plain[i] = (char)(i * 7 + 3); /* NULs and high bytes too */
	for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
		size_t n = sizes[i];
		const char *t = seal(&k, plain, n);
		ck_assert(strncmp(t, "v1.", 3) == 0);
		ck_assert(is_b64url(t + 3));
		/* key id 4 + nonce 24 + MAC 16 + n, base64 without padding */
		ck_assert_uint_eq(strlen(t), 3 + (4 * (44 + n) + 2) / 3);
		buf_t out;
		ck_assert_int_eq(open_text(&k, t, strlen(t), &out), 0);
		ck_assert_uint_eq(out.len, n);
		if (n)
			ck_assert_mem_eq(out.data, plain, n);
		uint32_t id = 0;
		ck_assert_int_eq(crypto_sealed_key_id(t, strlen(t), &id), 0);
		ck_assert_uint_eq(id, k.id);
	}
	/* A fresh nonce each time: equal secrets do not look equal. */
	const char *t1 = seal(&k, "hunter2", 7);
	const char *t2 = seal(&k, "hunter2", 7);
	ck_assert_str_ne(t1, t2);
	ck_assert_ptr_null(strstr(t1, "hunter2"));

	/* It appends: what was in the buffer stays. */
	buf_t b;
	buf_init(&b, a, 4096);
	buf_puts(&b, "sealed=");
	ck_assert_int_eq(crypto_seal(&k, "x", 1, &b), 0);
	ck_assert(strncmp(buf_cstr(&b), "sealed=v1.", 10) == 0);
}
END_TEST

START_TEST(seal_detects_any_change)
{
	crypto_key_t k = test_key(1);
	const char *secret = "xoxb-slack-token-123";
	const char *t = seal(&k, secret, strlen(secret));
	size_t n = strlen(t);
	char *m = arena_strdup(a, t);
	buf_t out;
	/* Every character replaced by another base64url character. */
	for (size_t i = 0; i < n; i++) {
		char orig = m[i];
		const char *subs = "AQgw-_9z.";
		for (const char *s = subs; *s; s++) {
			if (*s == orig)
				continue;
			m[i] = *s;
			ck_assert_msg(open_text(&k, m, n, &out) == ERR_INVALID,
				      "change at %zu to %c accepted", i, *s);
			ck_assert_uint_eq(out.len, 0);
		}
		m[i] = orig;
	}
	ck_assert_int_eq(open_text(&k, m, n, &out), 0);

	/* Every bit of the decoded bytes flipped, re-encoded properly. */
	unsigned char bin[256];
	size_t bin_len;
	ck_assert_int_eq(sodium_base642bin(bin, sizeof bin, t + 3, n - 3, NULL,
					   &bin_len, NULL,
					   sodium_base64_VARIANT_URLSAFE_NO_PADDING),
			 0);
	for (size_t i = 0; i < bin_len; i++) {
		for (int bit = 0; bit < 8; bit++) {
			bin[i] ^= (unsigned char)(1u << bit);
			char enc[400] = "v1.";
			sodium_bin2base64(enc + 3, sizeof enc - 3, bin, bin_len,
					  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
			ck_assert_msg(open_text(&k, enc, strlen(enc), &out) ==
					      ERR_INVALID,
				      "flip of byte %zu bit %d accepted", i,
				      bit);
			bin[i] ^= (unsigned char)(1u << bit);
		}
	}

	/* Cut short, lengthened, other versions, garbage. */
	for (size_t len = 0; len < n; len++)
		ck_assert_int_eq(open_text(&k, t, len, &out), ERR_INVALID);
	char *longer = arena_printf(a, "%sA", t);
	ck_assert_int_eq(open_text(&k, longer, strlen(longer), &out),
			 ERR_INVALID);
	longer = arena_printf(a, "%sAAAA", t);
	ck_assert_int_eq(open_text(&k, longer, strlen(longer), &out),
			 ERR_INVALID);
	char *v2 = arena_strdup(a, t);
	v2[1] = '2';
	ck_assert_int_eq(open_text(&k, v2, n, &out), ERR_INVALID);
	ck_assert_int_eq(open_text(&k, "v1.", 3, &out), ERR_INVALID);
	ck_assert_int_eq(open_text(&k, "v1.AAAA", 7, &out), ERR_INVALID);
	ck_assert_int_eq(open_text(&k, secret, strlen(secret), &out),
			 ERR_INVALID);
	ck_assert_int_eq(open_text(&k, NULL, 0, &out), ERR_INVALID);
}
END_TEST

START_TEST(seal_wrong_key_fails)
{
	crypto_key_t k1 = test_key(1), k2 = test_key(2);
	const char *t = seal(&k1, "secret", 6);
	buf_t out;
	ck_assert_int_eq(open_text(&k2, t, strlen(t), &out), ERR_INVALID);
	ck_assert_uint_eq(out.len, 0);

	/* A key claiming the right id but other bytes fails on the MAC. */
	crypto_key_t forged = k2;
	forged.id = k1.id;
	ck_assert_int_eq(open_text(&forged, t, strlen(t), &out), ERR_INVALID);

	uint32_t id;
	ck_assert_int_eq(crypto_sealed_key_id(t, strlen(t), &id), 0);
	ck_assert_uint_eq(id, k1.id);
	ck_assert_uint_ne(id, k2.id);
	ck_assert_int_eq(crypto_sealed_key_id("v2.AAAA", 7, &id), ERR_INVALID);

	/* The same bytes parsed again are the same key. */
	crypto_key_t again = test_key(1);
	ck_assert_int_eq(open_text(&again, t, strlen(t), &out), 0);
	ck_assert_str_eq(buf_cstr(&out), "secret");
}
END_TEST

START_TEST(seal_respects_caps)
{
	crypto_key_t k = test_key(3);
	buf_t small;
	buf_init(&small, a, 20);
	buf_puts(&small, "keep");
	ck_assert_int_eq(crypto_seal(&k, "a secret value", 14, &small),
			 ERR_TOO_LARGE);
	ck_assert_str_eq(buf_cstr(&small), "keep");

	const char *t = seal(&k, "a secret value", 14);
	buf_t tiny;
	buf_init(&tiny, a, 4);
	ck_assert_int_eq(crypto_open(&k, t, strlen(t), &tiny), ERR_TOO_LARGE);

	char *huge = arena_calloc(a, 1, CRYPTO_SEAL_MAX + 1);
	buf_t big;
	buf_init(&big, a, 4 * CRYPTO_SEAL_MAX);
	ck_assert_int_eq(crypto_seal(&k, huge, CRYPTO_SEAL_MAX + 1, &big),
			 ERR_TOO_LARGE);
	ck_assert_int_eq(crypto_seal(&k, huge, CRYPTO_SEAL_MAX, &big), 0);
	buf_t back;
	buf_init(&back, a, 2 * CRYPTO_SEAL_MAX);
	ck_assert_int_eq(crypto_open(&k, big.data, big.len, &back), 0);
	ck_assert_uint_eq(back.len, CRYPTO_SEAL_MAX);
}
END_TEST

/* --------------------------------------------------------------- JWT */

static const char *sign(const char *secret, json_t *claims)
{
	buf_t b;
	buf_init(&b, a, 8192);
	int rc = crypto_jwt_hs256(secret, claims, &b);
	json_decref(claims);
	ck_assert_int_eq(rc, 0);
	return buf_cstr(&b);
}

START_TEST(jwt_known_answers)
{
	json_t *c = json_object();
	json_object_set_new(c, "sub", json_string("1234567890"));
	json_object_set_new(c, "name", json_string("John Doe"));
	json_object_set_new(c, "iat", json_integer(1516239022));
	ck_assert_str_eq(sign("your-256-bit-secret", c), JWTIO_TOKEN);

	c = json_object();
	json_object_set_new(c, "iss", json_string("canopy"));
	json_object_set_new(c, "aud", json_string("builder"));
	json_object_set_new(c, "sub", json_string("tenant:42"));
	json_object_set_new(c, "iat", json_integer(1700000000));
	json_object_set_new(c, "exp", json_integer(1700000300));
	ck_assert_str_eq(sign(CANOPY_SECRET, c), CANOPY_TOKEN);
}
END_TEST

START_TEST(jwt_verify_accepts_and_checks_time)
{
	json_t *claims = NULL;
	ck_assert_int_eq(crypto_jwt_verify_hs256(CANOPY_SECRET, CANOPY_TOKEN,
						 1700000100, &claims),
			 0);
	ck_assert_str_eq(json_string_value(json_object_get(claims, "sub")),
			 "tenant:42");
	ck_assert_str_eq(json_string_value(json_object_get(claims, "aud")),
			 "builder");
	json_decref(claims);
	ck_assert_int_eq(crypto_jwt_verify_hs256(CANOPY_SECRET, CANOPY_TOKEN,
						 1700000299, NULL),
			 0);

	/* Expired: at exp and after. */
	claims = (json_t *)1;
	ck_assert_int_eq(crypto_jwt_verify_hs256(CANOPY_SECRET, CANOPY_TOKEN,
						 1700000300, &claims),
			 ERR_UNAUTHORIZED);
	ck_assert_ptr_null(claims);
	ck_assert_int_eq(crypto_jwt_verify_hs256(CANOPY_SECRET, CANOPY_TOKEN,
						 1800000000, NULL),
			 ERR_UNAUTHORIZED);
	/* No exp at all (the jwt.io example) is refused too. */
	ck_assert_int_eq(crypto_jwt_verify_hs256("your-256-bit-secret",
						 JWTIO_TOKEN, 1516239023, NULL),
			 ERR_UNAUTHORIZED);

	/* nbf in the future. */
	json_t *c = json_object();
	json_object_set_new(c, "nbf", json_integer(2000));
	json_object_set_new(c, "exp", json_integer(3000));
	const char *t = sign("s3cret", c);
	ck_assert_int_eq(crypto_jwt_verify_hs256("s3cret", t, 1999, NULL),
			 ERR_UNAUTHORIZED);
	ck_assert_int_eq(crypto_jwt_verify_hs256("s3cret", t, 2000, NULL), 0);
	ck_assert_int_eq(crypto_jwt_verify_hs256("s3cret", t, 2999, NULL), 0);
	ck_assert_int_eq(crypto_jwt_verify_hs256("s3cret", t, 3000, NULL),
			 ERR_UNAUTHORIZED);
}
END_TEST

START_TEST(jwt_verify_refuses_forgeries)
{
	const time_t now = 1700000100;
	ck_assert_int_eq(crypto_jwt_verify_hs256("other-secret", CANOPY_TOKEN,
						 now, NULL),
			 ERR_UNAUTHORIZED);

	/* Any character changed fails. */
	char *m = arena_strdup(a, CANOPY_TOKEN);
	size_t n = strlen(m);
	for (size_t i = 0; i < n; i++) {
		char orig = m[i];
		m[i] = orig == 'A' ? 'B' : 'A';
		ck_assert_msg(crypto_jwt_verify_hs256(CANOPY_SECRET, m, now,
						      NULL) != 0,
			      "change at %zu accepted", i);
		m[i] = orig;
	}

	/* Claims swapped for others under the old signature. */
	const char *dot1 = strchr(CANOPY_TOKEN, '.');
	const char *dot2 = strrchr(CANOPY_TOKEN, '.');
	char payload[256];
	const char *claims = "{\"iss\":\"canopy\",\"aud\":\"builder\","
			     "\"sub\":\"tenant:1\",\"exp\":1700000300}";
	sodium_bin2base64(payload, sizeof payload,
			  (const unsigned char *)claims, strlen(claims),
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	char *forged = arena_printf(a, "%.*s.%s%s",
				    (int)(dot1 - CANOPY_TOKEN), CANOPY_TOKEN,
				    payload, dot2);
	ck_assert_int_eq(crypto_jwt_verify_hs256(CANOPY_SECRET, forged, now,
						 NULL),
			 ERR_UNAUTHORIZED);

	/* alg "none" with an empty signature, and another algorithm. */
	char *none = arena_printf(a, "%s.%s.",
				  "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0",
				  payload);
	ck_assert_int_ne(crypto_jwt_verify_hs256(CANOPY_SECRET, none, now,
						 NULL),
			 0);
	char *hs512 = arena_printf(a, "%s.%s",
				   "eyJhbGciOiJIUzUxMiIsInR5cCI6IkpXVCJ9",
				   dot1 + 1);
	ck_assert_int_eq(crypto_jwt_verify_hs256(CANOPY_SECRET, hs512, now,
						 NULL),
			 ERR_UNAUTHORIZED);

	const char *malformed[] = {"", "abc", "a.b", "a.b.c.d", "..",
				   CANOPY_TOKEN ".x", "!!.!!.!!", NULL};
	for (size_t i = 0; malformed[i]; i++)
		ck_assert_msg(crypto_jwt_verify_hs256(CANOPY_SECRET,
						      malformed[i], now,
						      NULL) == ERR_INVALID,
			      "malformed #%zu accepted", i);
	ck_assert_int_eq(crypto_jwt_verify_hs256("", CANOPY_TOKEN, now, NULL),
			 ERR_INVALID);
}
END_TEST

START_TEST(jwt_sign_refuses_bad_input)
{
	buf_t b;
	buf_init(&b, a, 8192);
	json_t *arr = json_array();
	ck_assert_int_eq(crypto_jwt_hs256("s", arr, &b), ERR_INVALID);
	json_decref(arr);
	json_t *obj = json_pack("{s:i}", "exp", 1);
	ck_assert_int_eq(crypto_jwt_hs256("", obj, &b), ERR_INVALID);
	ck_assert_int_eq(crypto_jwt_hs256(NULL, obj, &b), ERR_INVALID);
	buf_t small;
	buf_init(&small, a, 40);
	ck_assert_int_eq(crypto_jwt_hs256("s", obj, &small), ERR_TOO_LARGE);
	ck_assert_uint_eq(small.len, 0);
	json_decref(obj);
}
END_TEST

static Suite *make_suite(void)
{
	Suite *s = suite_create("crypto");
	TCase *tc = tcase_create("core");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, init_is_once_and_thread_safe);
	tcase_add_test(tc, random_tokens);
	tcase_add_test(tc, constant_time_equal);
	tcase_add_test(tc, sha256_and_hmac_known_answers);
	tcase_add_test(tc, key_parse_hex_and_base64);
	tcase_add_test(tc, key_parse_refuses_everything_else);
	tcase_add_test(tc, seal_round_trips);
	tcase_add_test(tc, seal_detects_any_change);
	tcase_add_test(tc, seal_wrong_key_fails);
	tcase_add_test(tc, seal_respects_caps);
	tcase_add_test(tc, jwt_known_answers);
	tcase_add_test(tc, jwt_verify_accepts_and_checks_time);
	tcase_add_test(tc, jwt_verify_refuses_forgeries);
	tcase_add_test(tc, jwt_sign_refuses_bad_input);
	suite_add_tcase(s, tc);
	return s;
}

CK_RUN_SUITE(make_suite)
