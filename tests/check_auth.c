/* auth: passwords, addresses, CSRF and the role table without a database;
 * users, logins, throttling, sessions and memberships against a real
 * PostgreSQL.  The database cases get a private schema holding their own
 * copy of sql/0001_core.sql and sql/0004_accounts.sql, and run only when
 * DATABASE_URL is set. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "auth.h"
#include "check_private_db.h"
#include "crypto.h"
#include "log.h"

#define GOOD_PW "correct horse battery"
#define CLIENT "192.0.2.10"

static str_t S(const char *s)
{
	return str_c(s);
}

/* ------------------------------------------------ without database */

START_TEST(password_rules)
{
	const char *why = NULL;
	ck_assert_int_eq(auth_password_check(S("abcdefghijk"), &why), ERR_INVALID);
	ck_assert_ptr_nonnull(why);
	ck_assert_int_eq(auth_password_check(S("abcdefghijkl"), NULL), 0);
	/* characters, not bytes: 12 two-byte letters pass, 11 do not */
	ck_assert_int_eq(auth_password_check(S("éééééééééééé"), NULL), 0);
	ck_assert_int_eq(auth_password_check(S("ééééééééééé"), NULL), ERR_INVALID);
	char big[AUTH_PASSWORD_MAX + 2];
	memset(big, 'x', sizeof big);
	ck_assert_int_eq(auth_password_check((str_t){big, AUTH_PASSWORD_MAX}, NULL), 0);
	ck_assert_int_eq(auth_password_check((str_t){big, AUTH_PASSWORD_MAX + 1}, NULL),
			 ERR_INVALID);
	ck_assert_int_eq(auth_password_check(S("abcdefghijk\tl"), NULL), ERR_INVALID);
	ck_assert_int_eq(auth_password_check(S("abcdefghijk\x7f"), NULL), ERR_INVALID);
	ck_assert_int_eq(auth_password_check(S("abcdefghijkl\xc2\x85"), NULL), ERR_INVALID);
	ck_assert_int_eq(auth_password_check(S("abcdefghijkl\xff"), NULL), ERR_INVALID);
	ck_assert_int_eq(auth_password_check((str_t){"abcdefghijkl\0m", 14}, NULL),
			 ERR_INVALID);
	ck_assert_int_eq(auth_password_check(S("  spaces are fine  "), NULL), 0);
}
END_TEST

START_TEST(hash_and_verify)
{
	char h1[AUTH_HASH_SIZE], h2[AUTH_HASH_SIZE];
	ck_assert_int_eq(auth_password_hash(S(GOOD_PW), h1), 0);
	ck_assert_int_eq(auth_password_hash(S(GOOD_PW), h2), 0);
	ck_assert(strncmp(h1, "$argon2id$", 10) == 0);
	ck_assert_str_ne(h1, h2); /* salted */
	ck_assert(auth_password_verify(h1, S(GOOD_PW)));
	ck_assert(auth_password_verify(h2, S(GOOD_PW)));
	ck_assert(!auth_password_verify(h1, S("correct horse batterY")));
	ck_assert(!auth_password_verify(h1, S("")));
	ck_assert(!auth_password_verify("not a hash", S(GOOD_PW)));
	ck_assert(!auth_password_verify(NULL, S(GOOD_PW)));
	ck_assert(!auth_password_needs_rehash(h1));
	ck_assert(auth_password_needs_rehash("garbage"));
	/* a hash with other parameters still verifies, but asks to be redone */
	char weak[crypto_pwhash_STRBYTES];
	ck_assert_int_eq(crypto_pwhash_str_alg(weak, GOOD_PW, strlen(GOOD_PW), 3,
					       8192 * 1024,
					       crypto_pwhash_ALG_ARGON2ID13), 0);
	ck_assert(auth_password_verify(weak, S(GOOD_PW)));
	ck_assert(auth_password_needs_rehash(weak));
	/* too short: not hashed at all */
	ck_assert_int_eq(auth_password_hash(S("short"), h1), ERR_INVALID);
	ck_assert_str_eq(h1, "");
}
END_TEST

START_TEST(email_normalisation)
{
	arena_t *a = arena_new(0);
	static const struct {
		const char *in, *out;
	} good[] = {
		{"ann@example.com", "ann@example.com"},
		{"  Ann.Lee@Example.COM\t", "ann.lee@example.com"},
		{"o'hara+tag@sub.example.org", "o'hara+tag@sub.example.org"},
		{"admin@localhost", "admin@localhost"},
		{"x@a-b.c0", "x@a-b.c0"},
	};
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		const char *out = NULL;
		ck_assert_msg(auth_email_normalize(a, S(good[i].in), &out, NULL) == 0,
			      "%s", good[i].in);
		ck_assert_str_eq(out, good[i].out);
	}
	static const char *const bad[] = {
		"", "a@", "@b.c", "ab", "a@@b.c", "a@b@c.d", "a b@c.d",
		".a@b.c", "a.@b.c", "a..b@c.d", "a@-b.c", "a@b-.c", "a@b..c",
		"a@b.c.", "a@.b", "a(b)@c.d", "ann@exämple.com", "a@b_c.d",
		"a\"b@c.d", "a@b.c\n x",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		const char *out = NULL, *why = NULL;
		ck_assert_msg(auth_email_normalize(a, S(bad[i]), &out, &why) == ERR_INVALID,
			      "accepted %s", bad[i]);
		ck_assert_ptr_nonnull(why);
	}
	char longer[300];
	memset(longer, 'a', sizeof longer);
	memcpy(longer + 250, "@b.co", 6);
	const char *out;
	ck_assert_int_eq(auth_email_normalize(a, S(longer), &out, NULL), ERR_INVALID);
	/* a 65-byte local part */
	char local[80];
	memset(local, 'a', 65);
	memcpy(local + 65, "@b.co", 6);
	ck_assert_int_eq(auth_email_normalize(a, S(local), &out, NULL), ERR_INVALID);
	arena_free(a);
}
END_TEST

START_TEST(names)
{
	arena_t *a = arena_new(0);
	const char *out;
	ck_assert_int_eq(auth_name_check(a, S("  Ann Lee "), &out, NULL), 0);
	ck_assert_str_eq(out, "Ann Lee");
	ck_assert_int_eq(auth_name_check(a, S("Zoë"), &out, NULL), 0);
	ck_assert_int_eq(auth_name_check(a, S("   "), &out, NULL), ERR_INVALID);
	ck_assert_int_eq(auth_name_check(a, S("a\x01" "b"), &out, NULL), ERR_INVALID);
	char big[AUTH_NAME_MAX + 1];
	memset(big, 'n', sizeof big);
	ck_assert_int_eq(auth_name_check(a, (str_t){big, sizeof big}, &out, NULL),
			 ERR_INVALID);
	arena_free(a);
}
END_TEST

static auth_session_t fake_session(long long id, const char *secret)
{
	return (auth_session_t){.id = id, .csrf_secret = secret};
}

START_TEST(csrf_tokens)
{
	auth_session_t s1 = fake_session(1, "c2VjcmV0LW9uZS1zZWNyZXQtb25lLXNlY3JldC1vbmU");
	auth_session_t s2 = fake_session(2, "c2VjcmV0LXR3by1zZWNyZXQtdHdvLXNlY3JldC10d28x");
	char t1[AUTH_CSRF_SIZE], t1b[AUTH_CSRF_SIZE], t2[AUTH_CSRF_SIZE];
	ck_assert_int_eq(auth_csrf_token(&s1, "page-edit", t1), 0);
	ck_assert_int_eq(auth_csrf_token(&s1, "page-edit", t1b), 0);
	ck_assert_int_eq(auth_csrf_token(&s2, "page-edit", t2), 0);
	ck_assert_uint_eq(strlen(t1), AUTH_CSRF_LEN);
	ck_assert_str_ne(t1, t1b); /* fresh nonce each time */

	ck_assert_int_eq(auth_csrf_verify(&s1, "page-edit", S(t1)), 0);
	ck_assert_int_eq(auth_csrf_verify(&s1, "page-edit", S(t1b)), 0);
	ck_assert_int_eq(auth_csrf_verify(&s2, "page-edit", S(t2)), 0);
	/* one session's token is worthless to another */
	ck_assert_int_eq(auth_csrf_verify(&s2, "page-edit", S(t1)), ERR_FORBIDDEN);
	ck_assert_int_eq(auth_csrf_verify(&s1, "page-edit", S(t2)), ERR_FORBIDDEN);
	/* same secret, other session id */
	auth_session_t s1x = fake_session(3, s1.csrf_secret);
	ck_assert_int_eq(auth_csrf_verify(&s1x, "page-edit", S(t1)), ERR_FORBIDDEN);
	/* bound to the form */
	ck_assert_int_eq(auth_csrf_verify(&s1, "members", S(t1)), ERR_FORBIDDEN);
	ck_assert_int_eq(auth_csrf_verify(&s1, NULL, S(t1)), ERR_FORBIDDEN);
	char any[AUTH_CSRF_SIZE];
	ck_assert_int_eq(auth_csrf_token(&s1, NULL, any), 0);
	ck_assert_int_eq(auth_csrf_verify(&s1, "", S(any)), 0);
	ck_assert_int_eq(auth_csrf_verify(&s1, "x", S(any)), ERR_FORBIDDEN);
	/* tampering, truncation, absence */
	char bad[AUTH_CSRF_SIZE];
	memcpy(bad, t1, sizeof bad);
	bad[40] = bad[40] == 'A' ? 'B' : 'A';
	ck_assert_int_eq(auth_csrf_verify(&s1, "page-edit", S(bad)), ERR_FORBIDDEN);
	memcpy(bad, t1, sizeof bad);
	bad[3] = bad[3] == 'A' ? 'B' : 'A'; /* the nonce is covered too */
	ck_assert_int_eq(auth_csrf_verify(&s1, "page-edit", S(bad)), ERR_FORBIDDEN);
	ck_assert_int_eq(auth_csrf_verify(&s1, "page-edit", (str_t){t1, 63}),
			 ERR_FORBIDDEN);
	ck_assert_int_eq(auth_csrf_verify(&s1, "page-edit", S("")), ERR_FORBIDDEN);
	ck_assert_int_eq(auth_csrf_verify(&s1, "page-edit", STR_NULL), ERR_FORBIDDEN);
	/* a session without secret makes and accepts nothing */
	auth_session_t none = fake_session(4, NULL);
	ck_assert_int_eq(auth_csrf_token(&none, NULL, any), ERR_INVALID);
	ck_assert_int_eq(auth_csrf_verify(&none, NULL, S(t1)), ERR_FORBIDDEN);
	char long_form[AUTH_FORM_ID_MAX + 2];
	memset(long_form, 'f', sizeof long_form - 1);
	long_form[sizeof long_form - 1] = '\0';
	ck_assert_int_eq(auth_csrf_token(&s1, long_form, any), ERR_INVALID);
}
END_TEST

START_TEST(role_table)
{
	/* rows: none viewer editor owner admin; columns: the actions */
	static const bool want[5][AUTH_ACTION_COUNT] = {
		/* read  edit   publ   memb   keys   creds */
		{false, false, false, false, false, false}, /* none */
		{true, false, false, false, false, false},  /* viewer */
		{true, true, true, false, false, false},    /* editor */
		{true, true, true, true, true, true},       /* owner */
		{true, true, true, true, true, true},       /* admin */
	};
	for (int r = AUTH_ROLE_NONE; r <= AUTH_ROLE_ADMIN; r++)
		for (int act = 0; act < AUTH_ACTION_COUNT; act++)
			ck_assert_msg(auth_can((auth_role_t)r, (auth_action_t)act) ==
					      want[r][act],
				      "role %s action %d", auth_role_name((auth_role_t)r),
				      act);
	ck_assert(!auth_can((auth_role_t)99, AUTH_READ));
	ck_assert(!auth_can(AUTH_ROLE_ADMIN, AUTH_ACTION_COUNT));
	ck_assert(!auth_can((auth_role_t)-1, AUTH_READ));

	auth_role_t role;
	for (int r = AUTH_ROLE_NONE; r <= AUTH_ROLE_ADMIN; r++) {
		ck_assert_int_eq(auth_role_parse(S(auth_role_name((auth_role_t)r)), &role), 0);
		ck_assert_int_eq(role, r);
	}
	ck_assert_int_eq(auth_role_parse(S("Owner"), &role), ERR_INVALID);
	ck_assert_int_eq(auth_role_parse(S(""), &role), ERR_INVALID);
	ck_assert_str_eq(auth_role_name((auth_role_t)42), "none");
}
END_TEST

START_TEST(config_ranges)
{
	auth_config_t c;
	auth_config_defaults(&c);
	ck_assert_int_eq(c.idle_seconds, 1800);
	ck_assert_int_eq(c.absolute_seconds, 12 * 3600);
	ck_assert_int_eq(c.account_limit, 5);
	ck_assert_int_eq(c.window_seconds, 900);
	ck_assert_int_eq(auth_configure(&c), 0);
	auth_config_t bad = c;
	bad.touch_seconds = bad.idle_seconds;
	ck_assert_int_eq(auth_configure(&bad), ERR_INVALID);
	bad = c;
	bad.account_limit = 0;
	ck_assert_int_eq(auth_configure(&bad), ERR_INVALID);
	bad = c;
	bad.hash_concurrency = -1;
	ck_assert_int_eq(auth_configure(&bad), ERR_INVALID);
}
END_TEST

/* --------------------------------------------------- with database */

static db_t *db;
static arena_t *arena;
static char schema[64];
static long long tenant_a, tenant_b;

static void run_sql(const char *sql)
{
	int rc = db_exec_script(db, sql);
	ck_assert_msg(rc == 0, "%s: %s", sql, db_error(db));
}

static PGresult *q(const char *sql, int n, const char *const *p)
{
	PGresult *r;
	int rc = db_query(db, arena, sql, n, p, &r);
	ck_assert_msg(rc == 0, "%s: %s", sql, db_error(db));
	return r;
}

static long long q_ll(const char *sql, const char *p1)
{
	const char *p[] = {p1};
	return db_value_ll(q(sql, p1 ? 1 : 0, p), 0, 0);
}

static long long make_tenant(const char *suffix)
{
	char slug[64];
	snprintf(slug, sizeof slug, "authtest-%d-%s", (int)getpid(), suffix);
	const char *p[] = {slug};
	return db_value_ll(q("INSERT INTO tenants (slug, name) VALUES ($1, $1)"
			     " RETURNING id", 1, p), 0, 0);
}

static void db_setup(void)
{
	log_init("check_auth", LOG_ERROR);
	snprintf(schema, sizeof schema, "authtest_%d", (int)getpid());
	db = private_db_open(schema, (const char *[]){"0001_core.sql",
						  "0004_accounts.sql", NULL});
	arena = arena_new(0);
	tenant_a = make_tenant("a");
	tenant_b = make_tenant("b");
	auth_config_t c;
	auth_config_defaults(&c);
	ck_assert_int_eq(auth_configure(&c), 0);
}

static void db_teardown(void)
{
	arena_free(arena);
	private_db_close(db, schema);
}

static auth_user_t add_user(const char *email, const char *pw, bool admin)
{
	auth_user_t u;
	int rc = auth_user_create(db, arena, S(email), S("Test Person"), S(pw),
				  admin, &u);
	ck_assert_msg(rc == 0, "create %s: %d %s", email, rc, db_error(db));
	return u;
}

static int login(const char *email, const char *pw, const char *client,
		 auth_session_t *s, int *wait)
{
	auth_login_t req = {.email = S(email), .password = S(pw),
			    .client_key = S(client)};
	return auth_login(db, arena, &req, s, wait);
}

static auth_session_t login_ok(const char *email, const char *pw)
{
	auth_session_t s;
	int wait = -1;
	int rc = login(email, pw, CLIENT, &s, &wait);
	ck_assert_msg(rc == 0, "login %s: %d", email, rc);
	ck_assert_int_eq(wait, 0);
	return s;
}

/* How many rows of table contain text anywhere in any column. */
static long long rows_containing(const char *table, const char *text)
{
	char sql[200];
	snprintf(sql, sizeof sql,
		 "SELECT count(*) FROM %s t WHERE strpos(t::text, $1) > 0", table);
	return q_ll(sql, text);
}

START_TEST(users_are_created_normalised_and_unique)
{
	auth_user_t u = add_user("  Ann@Example.COM ", GOOD_PW, false);
	ck_assert(u.id > 0);
	ck_assert_str_eq(u.email, "ann@example.com");
	ck_assert_str_eq(u.name, "Test Person");
	ck_assert(!u.is_admin);
	auth_user_t f;
	ck_assert_int_eq(auth_user_find(db, arena, S("ANN@example.com"), &f), 0);
	ck_assert_int_eq(f.id, u.id);
	ck_assert_int_eq(auth_user_get(db, arena, u.id, &f), 0);
	ck_assert_str_eq(f.email, "ann@example.com");
	ck_assert_int_eq(auth_user_get(db, arena, u.id + 1000, &f), ERR_NOT_FOUND);
	ck_assert_int_eq(auth_user_find(db, arena, S("nobody@example.com"), &f),
			 ERR_NOT_FOUND);
	ck_assert_int_eq(auth_user_create(db, arena, S("ann@EXAMPLE.com"), S("Dup"),
					  S(GOOD_PW), false, NULL),
			 ERR_CONFLICT);
	ck_assert_int_eq(auth_user_create(db, arena, S("not an address"), S("X"),
					  S(GOOD_PW), false, NULL),
			 ERR_INVALID);
	ck_assert_int_eq(auth_user_create(db, arena, S("x@example.com"), S("X"),
					  S("too short"), false, NULL),
			 ERR_INVALID);
	ck_assert_int_eq(auth_user_create(db, arena, S("x@example.com"), S(""),
					  S(GOOD_PW), false, NULL),
			 ERR_INVALID);
	/* the password is stored only as an argon2id hash */
	ck_assert_int_eq(rows_containing("users", GOOD_PW), 0);
	ck_assert_int_eq(q_ll("SELECT count(*) FROM users WHERE password_hash"
			      " LIKE '$argon2id$%'", NULL), 1);
}
END_TEST

START_TEST(login_gives_a_session_stored_only_hashed)
{
	auth_user_t u = add_user("ann@example.com", GOOD_PW, false);
	auth_login_t req = {.email = S("Ann@Example.com"), .password = S(GOOD_PW),
			    .client_key = S(CLIENT),
			    .user_agent = S("Mozilla/5.0 (X11; Linux) Test")};
	auth_session_t s;
	int wait;
	ck_assert_int_eq(auth_login(db, arena, &req, &s, &wait), 0);
	ck_assert_int_eq(s.user.id, u.id);
	ck_assert_ptr_nonnull(s.token);
	ck_assert_uint_eq(strlen(s.token), AUTH_TOKEN_LEN);
	ck_assert(s.expires_at - s.created_at == 12 * 3600);
	ck_assert_ptr_nonnull(s.csrf_secret);

	/* the table holds the SHA-256, never the token */
	char h[CRYPTO_SHA256_HEX_SIZE];
	crypto_sha256_hex(s.token, strlen(s.token), h);
	ck_assert_int_eq(q_ll("SELECT count(*) FROM sessions WHERE token_hash = $1", h), 1);
	ck_assert_int_eq(rows_containing("sessions", s.token), 0);
	ck_assert_int_eq(rows_containing("login_throttle", s.token), 0);
	ck_assert_int_eq(rows_containing("users", s.token), 0);
	ck_assert_int_eq(rows_containing("login_throttle", CLIENT), 0);
	ck_assert_int_eq(q_ll("SELECT count(*) FROM sessions WHERE user_agent ="
			      " 'Mozilla/5.0 (X11; Linux) Test'", NULL), 1);

	auth_session_t c;
	ck_assert_int_eq(auth_session_check(db, arena, S(s.token), &c), 0);
	ck_assert_int_eq(c.id, s.id);
	ck_assert_int_eq(c.user.id, u.id);
	ck_assert_str_eq(c.user.email, "ann@example.com");
	ck_assert_ptr_null(c.token);
	ck_assert_str_eq(c.csrf_secret, s.csrf_secret);
	/* a CSRF token made at login verifies against the checked session */
	char t[AUTH_CSRF_SIZE];
	ck_assert_int_eq(auth_csrf_token(&s, "f", t), 0);
	ck_assert_int_eq(auth_csrf_verify(&c, "f", S(t)), 0);

	/* a token that differs in one character is nobody's */
	char other[AUTH_TOKEN_LEN + 1];
	memcpy(other, s.token, sizeof other);
	other[10] = other[10] == 'a' ? 'b' : 'a';
	ck_assert_int_eq(auth_session_check(db, arena, S(other), &c), ERR_UNAUTHORIZED);
	ck_assert_int_eq(auth_session_check(db, arena, S(""), &c), ERR_UNAUTHORIZED);
	ck_assert_int_eq(auth_session_check(db, arena, S("x'; DROP TABLE sessions; --"), &c),
			 ERR_UNAUTHORIZED);
}
END_TEST

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

START_TEST(wrong_password_and_unknown_address_are_refused_alike)
{
	add_user("ann@example.com", GOOD_PW, false);
	auth_session_t s;
	int wait;
	/* an unknown address still pays for an argon2id verification (tens
	 * of milliseconds at 64 MiB; a database round trip alone is far
	 * less), so its answer does not come back noticeably sooner */
	ck_assert_int_eq(login("warmup@example.com", GOOD_PW, CLIENT, &s, &wait),
			 ERR_UNAUTHORIZED);
	double t0 = now_ms();
	ck_assert_int_eq(login("nobody@example.com", GOOD_PW, CLIENT, &s, &wait),
			 ERR_UNAUTHORIZED);
	ck_assert_msg(now_ms() - t0 >= 10, "unknown address answered in %.1f ms",
		      now_ms() - t0);
	ck_assert_int_eq(login("ann@example.com", "correct horse batterY", CLIENT, &s, &wait),
			 ERR_UNAUTHORIZED);
	ck_assert_ptr_null(s.token);
	ck_assert_int_eq(login("bob@example.com", GOOD_PW, CLIENT, &s, &wait),
			 ERR_UNAUTHORIZED);
	ck_assert_int_eq(login("not an address", GOOD_PW, CLIENT, &s, &wait),
			 ERR_UNAUTHORIZED);
	ck_assert_int_eq(login("ann@example.com", "", CLIENT, &s, &wait), ERR_UNAUTHORIZED);
	char big[AUTH_PASSWORD_MAX + 10];
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	ck_assert_int_eq(login("ann@example.com", big, CLIENT, &s, &wait), ERR_UNAUTHORIZED);
	ck_assert_int_eq(q_ll("SELECT count(*) FROM sessions", NULL), 0);
	/* no address is stored in clear by the throttle */
	ck_assert_int_eq(rows_containing("login_throttle", "example.com"), 0);
	/* and the right one still works */
	login_ok("ann@example.com", GOOD_PW);
}
END_TEST

START_TEST(throttling_refuses_the_sixth_attempt_even_when_right)
{
	add_user("ann@example.com", GOOD_PW, false);
	add_user("bob@example.com", GOOD_PW, false);
	auth_session_t s;
	int wait;
	for (int i = 1; i <= 5; i++) {
		ck_assert_int_eq(login("ann@example.com", "wrong password!", CLIENT, &s, &wait),
				 ERR_UNAUTHORIZED);
		ck_assert_int_eq(wait, 0);
	}
	ck_assert_int_eq(login("ann@example.com", GOOD_PW, CLIENT, &s, &wait),
			 ERR_RATE_LIMITED);
	ck_assert_ptr_null(s.token);
	ck_assert_int_gt(wait, 800);
	ck_assert_int_le(wait, 900);
	/* still refused, from another client too: the account is locked */
	ck_assert_int_eq(login("ANN@example.com", GOOD_PW, "198.51.100.7", &s, &wait),
			 ERR_RATE_LIMITED);
	ck_assert_int_eq(q_ll("SELECT count(*) FROM sessions", NULL), 0);
	/* another account from the same client is not affected */
	login_ok("bob@example.com", GOOD_PW);

	/* the lock ends with its window */
	run_sql("UPDATE login_throttle SET locked_until = now() - interval '1 second'");
	auth_session_t ok = login_ok("ann@example.com", GOOD_PW);
	ck_assert_ptr_nonnull(ok.token);
	/* a success starts the count afresh: five more failures are allowed */
	for (int i = 1; i <= 5; i++)
		ck_assert_int_eq(login("ann@example.com", "wrong password!", CLIENT, &s, &wait),
				 ERR_UNAUTHORIZED);
	ck_assert_int_eq(login("ann@example.com", "wrong password!", CLIENT, &s, &wait),
			 ERR_RATE_LIMITED);
}
END_TEST

START_TEST(lockouts_grow_and_unknown_addresses_lock_too)
{
	auth_session_t s;
	int wait;
	/* this test makes 30 attempts from one client: keep that out of it */
	auth_config_t c;
	auth_config_defaults(&c);
	c.client_limit = 100;
	ck_assert_int_eq(auth_configure(&c), 0);
	/* an address without an account behaves the same way */
	for (int i = 1; i <= 5; i++)
		ck_assert_int_eq(login("ghost@example.com", "whatever password", CLIENT, &s, &wait),
				 ERR_UNAUTHORIZED);
	ck_assert_int_eq(login("ghost@example.com", "whatever password", CLIENT, &s, &wait),
			 ERR_RATE_LIMITED);
	ck_assert_int_le(wait, 900);
	/* the next lock-out lasts twice as long, the one after four times */
	for (int round = 2; round <= 3; round++) {
		run_sql("UPDATE login_throttle SET locked_until = now() - interval '1 second'"
			" WHERE scope = 'account'");
		for (int i = 1; i <= 5; i++)
			ck_assert_int_eq(login("ghost@example.com", "whatever password", CLIENT,
					       &s, &wait),
					 ERR_UNAUTHORIZED);
		ck_assert_int_eq(login("ghost@example.com", "whatever password", CLIENT, &s,
				       &wait),
				 ERR_RATE_LIMITED);
		int want = 900 << (round - 1);
		ck_assert_int_gt(wait, want - 100);
		ck_assert_int_le(wait, want);
	}
	/* capped */
	c.max_lock_seconds = 1000;
	ck_assert_int_eq(auth_configure(&c), 0);
	run_sql("UPDATE login_throttle SET locked_until = now() - interval '1 second'"
		" WHERE scope = 'account'");
	for (int i = 1; i <= 5; i++)
		ck_assert_int_eq(login("ghost@example.com", "whatever password", CLIENT, &s, &wait),
				 ERR_UNAUTHORIZED);
	ck_assert_int_eq(login("ghost@example.com", "whatever password", CLIENT, &s, &wait),
			 ERR_RATE_LIMITED);
	ck_assert_int_le(wait, 1000);
	ck_assert_int_gt(wait, 900);
	/* a day after the last lock ended, lock-outs start from the window again */
	run_sql("UPDATE login_throttle SET locked_until = now() - interval '25 hours'"
		" WHERE scope = 'account'");
	for (int i = 1; i <= 5; i++)
		ck_assert_int_eq(login("ghost@example.com", "whatever password", CLIENT, &s, &wait),
				 ERR_UNAUTHORIZED);
	ck_assert_int_eq(login("ghost@example.com", "whatever password", CLIENT, &s, &wait),
			 ERR_RATE_LIMITED);
	ck_assert_int_le(wait, 900);
}
END_TEST

START_TEST(failures_outside_the_window_do_not_add_up)
{
	add_user("ann@example.com", GOOD_PW, false);
	auth_session_t s;
	int wait;
	for (int i = 1; i <= 4; i++)
		ck_assert_int_eq(login("ann@example.com", "wrong password!", CLIENT, &s, &wait),
				 ERR_UNAUTHORIZED);
	run_sql("UPDATE login_throttle SET window_start = now() - interval '16 minutes'");
	for (int i = 1; i <= 5; i++)
		ck_assert_int_eq(login("ann@example.com", "wrong password!", CLIENT, &s, &wait),
				 ERR_UNAUTHORIZED);
	ck_assert_int_eq(login("ann@example.com", GOOD_PW, CLIENT, &s, &wait),
			 ERR_RATE_LIMITED);
}
END_TEST

START_TEST(a_client_guessing_many_accounts_is_throttled)
{
	auth_config_t c;
	auth_config_defaults(&c);
	c.client_limit = 8;
	ck_assert_int_eq(auth_configure(&c), 0);
	add_user("ann@example.com", GOOD_PW, false);
	auth_session_t s;
	int wait;
	/* a success gives its count back to the client */
	login_ok("ann@example.com", GOOD_PW);
	for (int i = 0; i < 8; i++) {
		char email[64];
		snprintf(email, sizeof email, "user%d@example.com", i);
		ck_assert_int_eq(login(email, "some password!", CLIENT, &s, &wait),
				 ERR_UNAUTHORIZED);
	}
	ck_assert_int_eq(login("ann@example.com", GOOD_PW, CLIENT, &s, &wait),
			 ERR_RATE_LIMITED);
	ck_assert_int_gt(wait, 0);
	/* other clients are not affected */
	ck_assert_int_eq(login("ann@example.com", GOOD_PW, "203.0.113.5", &s, &wait), 0);
}
END_TEST

START_TEST(idle_expired_and_revoked_sessions_are_refused)
{
	add_user("ann@example.com", GOOD_PW, false);
	auth_session_t s1 = login_ok("ann@example.com", GOOD_PW);
	auth_session_t s2 = login_ok("ann@example.com", GOOD_PW);
	auth_session_t s3 = login_ok("ann@example.com", GOOD_PW);
	auth_session_t c;
	const char *p1[] = {arena_printf(arena, "%lld", s1.id)};
	const char *p2[] = {arena_printf(arena, "%lld", s2.id)};

	/* used 29 minutes ago: fine, and the use is recorded */
	q("UPDATE sessions SET last_seen_at = now() - interval '29 minutes'"
	  " WHERE id = $1::bigint", 1, p1);
	ck_assert_int_eq(auth_session_check(db, arena, S(s1.token), &c), 0);
	ck_assert_int_eq(q_ll("SELECT count(*) FROM sessions WHERE id = $1::bigint"
			      " AND last_seen_at > now() - interval '5 seconds'", p1[0]), 1);
	/* idle for 31 minutes: over */
	q("UPDATE sessions SET last_seen_at = now() - interval '31 minutes'"
	  " WHERE id = $1::bigint", 1, p1);
	ck_assert_int_eq(auth_session_check(db, arena, S(s1.token), &c), ERR_UNAUTHORIZED);
	/* and it does not come back to life by being checked */
	ck_assert_int_eq(auth_session_check(db, arena, S(s1.token), &c), ERR_UNAUTHORIZED);

	/* past the absolute end, however busy */
	q("UPDATE sessions SET created_at = now() - interval '13 hours',"
	  " expires_at = now() - interval '1 hour' WHERE id = $1::bigint", 1, p2);
	ck_assert_int_eq(auth_session_check(db, arena, S(s2.token), &c), ERR_UNAUTHORIZED);

	/* logout: the cookie stops working; other sessions are untouched */
	auth_session_t s4 = login_ok("ann@example.com", GOOD_PW);
	ck_assert_int_eq(auth_session_check(db, arena, S(s3.token), &c), 0);
	ck_assert_int_eq(auth_logout(db, arena, S(s3.token)), 0);
	ck_assert_int_eq(auth_session_check(db, arena, S(s3.token), &c), ERR_UNAUTHORIZED);
	ck_assert_int_eq(auth_logout(db, arena, S(s3.token)), 0); /* idempotent */
	ck_assert_int_eq(auth_logout(db, arena, S("garbage")), 0);
	ck_assert_int_eq(auth_session_check(db, arena, S(s4.token), &c), 0);
}
END_TEST

START_TEST(last_seen_moves_at_most_once_a_minute)
{
	add_user("ann@example.com", GOOD_PW, false);
	auth_session_t s = login_ok("ann@example.com", GOOD_PW);
	const char *p[] = {arena_printf(arena, "%lld", s.id)};
	q("UPDATE sessions SET last_seen_at = now() - interval '30 seconds'"
	  " WHERE id = $1::bigint", 1, p);
	auth_session_t c;
	ck_assert_int_eq(auth_session_check(db, arena, S(s.token), &c), 0);
	ck_assert_int_eq(q_ll("SELECT count(*) FROM sessions WHERE id = $1::bigint"
			      " AND last_seen_at < now() - interval '29 seconds'", p[0]), 1);
	q("UPDATE sessions SET last_seen_at = now() - interval '61 seconds'"
	  " WHERE id = $1::bigint", 1, p);
	ck_assert_int_eq(auth_session_check(db, arena, S(s.token), &c), 0);
	ck_assert_int_eq(q_ll("SELECT count(*) FROM sessions WHERE id = $1::bigint"
			      " AND last_seen_at > now() - interval '5 seconds'", p[0]), 1);
}
END_TEST

START_TEST(login_rotates_the_presented_session)
{
	add_user("ann@example.com", GOOD_PW, false);
	add_user("bob@example.com", GOOD_PW, false);
	auth_session_t first = login_ok("ann@example.com", GOOD_PW);
	auth_login_t req = {.email = S("bob@example.com"), .password = S(GOOD_PW),
			    .client_key = S(CLIENT), .old_token = S(first.token)};
	auth_session_t second, c;
	int wait;
	ck_assert_int_eq(auth_login(db, arena, &req, &second, &wait), 0);
	ck_assert_str_ne(first.token, second.token);
	ck_assert_int_eq(auth_session_check(db, arena, S(first.token), &c), ERR_UNAUTHORIZED);
	ck_assert_int_eq(auth_session_check(db, arena, S(second.token), &c), 0);
	ck_assert_str_eq(c.user.email, "bob@example.com");
	/* a failed login revokes nothing */
	req.old_token = S(second.token);
	req.password = S("wrong password!");
	ck_assert_int_eq(auth_login(db, arena, &req, &first, &wait), ERR_UNAUTHORIZED);
	ck_assert_int_eq(auth_session_check(db, arena, S(second.token), &c), 0);
}
END_TEST

START_TEST(password_change_signs_out_other_sessions)
{
	auth_user_t u = add_user("ann@example.com", GOOD_PW, false);
	auth_session_t keep = login_ok("ann@example.com", GOOD_PW);
	auth_session_t other = login_ok("ann@example.com", GOOD_PW);
	ck_assert_int_eq(auth_user_set_password(db, arena, u.id, S("short"), keep.id),
			 ERR_INVALID);
	ck_assert_int_eq(auth_user_set_password(db, arena, u.id,
						S("a brand new passphrase"), keep.id),
			 0);
	auth_session_t c, s;
	int wait;
	ck_assert_int_eq(auth_session_check(db, arena, S(keep.token), &c), 0);
	ck_assert_int_eq(auth_session_check(db, arena, S(other.token), &c), ERR_UNAUTHORIZED);
	ck_assert_int_eq(login("ann@example.com", GOOD_PW, CLIENT, &s, &wait),
			 ERR_UNAUTHORIZED);
	login_ok("ann@example.com", "a brand new passphrase");
	ck_assert_int_eq(auth_user_set_password(db, arena, u.id + 999,
						S("a brand new passphrase"), 0),
			 ERR_NOT_FOUND);
	int n = -1;
	ck_assert_int_eq(auth_sessions_revoke_user(db, arena, u.id, 0, &n), 0);
	ck_assert_int_eq(n, 2);
	ck_assert_int_eq(auth_session_check(db, arena, S(keep.token), &c), ERR_UNAUTHORIZED);
}
END_TEST

START_TEST(outdated_hashes_are_upgraded_at_login)
{
	auth_user_t u = add_user("ann@example.com", GOOD_PW, false);
	char weak[crypto_pwhash_STRBYTES];
	ck_assert_int_eq(crypto_pwhash_str_alg(weak, GOOD_PW, strlen(GOOD_PW), 3,
					       8192 * 1024,
					       crypto_pwhash_ALG_ARGON2ID13), 0);
	const char *p[] = {weak, arena_printf(arena, "%lld", u.id)};
	q("UPDATE users SET password_hash = $1 WHERE id = $2::bigint", 2, p);
	login_ok("ann@example.com", GOOD_PW);
	PGresult *r = q("SELECT password_hash FROM users WHERE id = $1::bigint", 1, p + 1);
	const char *now_hash = db_value(r, 0, 0);
	ck_assert_str_ne(now_hash, weak);
	ck_assert(!auth_password_needs_rehash(now_hash));
	login_ok("ann@example.com", GOOD_PW);
}
END_TEST

START_TEST(roles_come_from_memberships_and_admin)
{
	auth_user_t admin = add_user("root@example.com", GOOD_PW, true);
	auth_user_t ed = add_user("ed@example.com", GOOD_PW, false);
	auth_user_t nobody = add_user("no@example.com", GOOD_PW, false);
	auth_role_t r, before;
	ck_assert_int_eq(auth_role_for(db, arena, &admin, tenant_a, &r), 0);
	ck_assert_int_eq(r, AUTH_ROLE_ADMIN);
	ck_assert_int_eq(auth_role_for(db, arena, &admin, tenant_b, &r), 0);
	ck_assert_int_eq(r, AUTH_ROLE_ADMIN);

	ck_assert_int_eq(auth_member_set(db, arena, ed.id, tenant_a, AUTH_ROLE_EDITOR, &before), 0);
	ck_assert_int_eq(before, AUTH_ROLE_NONE);
	ck_assert_int_eq(auth_role_for(db, arena, &ed, tenant_a, &r), 0);
	ck_assert_int_eq(r, AUTH_ROLE_EDITOR);
	ck_assert(auth_can(r, AUTH_EDIT));
	ck_assert(!auth_can(r, AUTH_MANAGE_MEMBERS));
	/* a member of A is nobody in B */
	ck_assert_int_eq(auth_role_for(db, arena, &ed, tenant_b, &r), 0);
	ck_assert_int_eq(r, AUTH_ROLE_NONE);
	ck_assert(!auth_can(r, AUTH_READ));
	ck_assert_int_eq(auth_role_for(db, arena, &nobody, tenant_a, &r), 0);
	ck_assert_int_eq(r, AUTH_ROLE_NONE);
	/* a forged struct claiming another id gets only that id's role */
	auth_user_t ghost = {.id = 0};
	ck_assert_int_eq(auth_role_for(db, arena, &ghost, tenant_a, &r), 0);
	ck_assert_int_eq(r, AUTH_ROLE_NONE);

	ck_assert_int_eq(auth_member_set(db, arena, ed.id, tenant_a, AUTH_ROLE_OWNER, &before), 0);
	ck_assert_int_eq(before, AUTH_ROLE_EDITOR);
	ck_assert_int_eq(auth_role_for(db, arena, &ed, tenant_a, &r), 0);
	ck_assert_int_eq(r, AUTH_ROLE_OWNER);
	ck_assert_int_eq(auth_member_set(db, arena, ed.id, tenant_a, AUTH_ROLE_ADMIN, NULL),
			 ERR_INVALID);
	ck_assert_int_eq(auth_member_set(db, arena, ed.id, tenant_a, AUTH_ROLE_NONE, NULL),
			 ERR_INVALID);
	ck_assert_int_eq(auth_member_set(db, arena, ed.id, tenant_b + 100000,
					 AUTH_ROLE_VIEWER, NULL),
			 ERR_INVALID);

	ck_assert_int_eq(auth_member_remove(db, arena, ed.id, tenant_a, &before), 0);
	ck_assert_int_eq(before, AUTH_ROLE_OWNER);
	ck_assert_int_eq(auth_role_for(db, arena, &ed, tenant_a, &r), 0);
	ck_assert_int_eq(r, AUTH_ROLE_NONE);
	ck_assert_int_eq(auth_member_remove(db, arena, ed.id, tenant_a, &before), ERR_NOT_FOUND);
}
END_TEST

START_TEST(login_refuses_to_run_inside_a_transaction)
{
	add_user("ann@example.com", GOOD_PW, false);
	ck_assert_int_eq(db_begin(db), 0);
	auth_session_t s;
	int wait;
	ck_assert_int_eq(login("ann@example.com", GOOD_PW, CLIENT, &s, &wait), ERR_INTERNAL);
	db_rollback(db);
}
END_TEST

START_TEST(prune_deletes_only_what_has_ended)
{
	add_user("ann@example.com", GOOD_PW, false);
	auth_session_t live = login_ok("ann@example.com", GOOD_PW);
	auth_session_t old = login_ok("ann@example.com", GOOD_PW);
	auth_session_t s;
	int wait;
	ck_assert_int_eq(login("x@example.com", "some password!", CLIENT, &s, &wait),
			 ERR_UNAUTHORIZED);
	const char *p[] = {arena_printf(arena, "%lld", old.id)};
	q("UPDATE sessions SET created_at = now() - interval '3 days',"
	  " last_seen_at = now() - interval '3 days',"
	  " expires_at = now() - interval '2 days' WHERE id = $1::bigint", 1, p);
	run_sql("UPDATE login_throttle SET updated_at = now() - interval '2 days'"
		" WHERE scope = 'account'");
	long long n = 0;
	ck_assert_int_eq(auth_prune(db, arena, &n), 0);
	ck_assert_int_eq(n, 3); /* the old session, two account rows (ann, x) */
	ck_assert_int_eq(q_ll("SELECT count(*) FROM sessions", NULL), 1);
	ck_assert_int_eq(q_ll("SELECT count(*) FROM login_throttle", NULL), 1);
	auth_session_t c;
	ck_assert_int_eq(auth_session_check(db, arena, S(live.token), &c), 0);
}
END_TEST

static Suite *make_suite(void)
{
	Suite *s = suite_create("auth");
	TCase *tc = tcase_create("offline");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, password_rules);
	tcase_add_test(tc, hash_and_verify);
	tcase_add_test(tc, email_normalisation);
	tcase_add_test(tc, names);
	tcase_add_test(tc, csrf_tokens);
	tcase_add_test(tc, role_table);
	tcase_add_test(tc, config_ranges);
	suite_add_tcase(s, tc);

	TCase *td = db_tcase(s, db_setup, db_teardown, 120);
	if (!td)
		return s;
	tcase_add_test(td, users_are_created_normalised_and_unique);
	tcase_add_test(td, login_gives_a_session_stored_only_hashed);
	tcase_add_test(td, wrong_password_and_unknown_address_are_refused_alike);
	tcase_add_test(td, throttling_refuses_the_sixth_attempt_even_when_right);
	tcase_add_test(td, lockouts_grow_and_unknown_addresses_lock_too);
	tcase_add_test(td, failures_outside_the_window_do_not_add_up);
	tcase_add_test(td, a_client_guessing_many_accounts_is_throttled);
	tcase_add_test(td, idle_expired_and_revoked_sessions_are_refused);
	tcase_add_test(td, last_seen_moves_at_most_once_a_minute);
	tcase_add_test(td, login_rotates_the_presented_session);
	tcase_add_test(td, password_change_signs_out_other_sessions);
	tcase_add_test(td, outdated_hashes_are_upgraded_at_login);
	tcase_add_test(td, roles_come_from_memberships_and_admin);
	tcase_add_test(td, login_refuses_to_run_inside_a_transaction);
	tcase_add_test(td, prune_deletes_only_what_has_ended);
	return s;
}

CK_RUN_SUITE(make_suite)
