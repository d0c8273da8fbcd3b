#include "auth.h"

#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "log.h"

#define DAY_SECONDS 86400
#define WEEK_SECONDS (7 * DAY_SECONDS)
#define B64URL sodium_base64_VARIANT_URLSAFE_NO_PADDING
#define CSRF_NONCE_BYTES 16
#define CSRF_LABEL "canopy-csrf-v1"
#define PW_OPS crypto_pwhash_argon2id_OPSLIMIT_INTERACTIVE
#define PW_MEM crypto_pwhash_argon2id_MEMLIMIT_INTERACTIVE

#define DEFAULTS                                                         \
	{                                                                \
		.idle_seconds = 1800, .absolute_seconds = 43200,         \
		.touch_seconds = 60, .account_limit = 5,                 \
		.client_limit = 30, .window_seconds = 900,               \
		.max_lock_seconds = 14400, .hash_concurrency = 4,        \
	}

/* Written once by auth_configure before threads start, then only read. */
static auth_config_t conf = DEFAULTS;

void auth_config_defaults(auth_config_t *cfg)
{
	*cfg = (auth_config_t)DEFAULTS;
}

int auth_configure(const auth_config_t *c)
{
	if (c->idle_seconds <= 0 || c->idle_seconds > WEEK_SECONDS ||
	    c->absolute_seconds <= 0 || c->absolute_seconds > 4 * WEEK_SECONDS ||
	    c->touch_seconds <= 0 || c->touch_seconds >= c->idle_seconds ||
	    c->account_limit <= 0 || c->client_limit <= 0 ||
	    c->window_seconds <= 0 || c->window_seconds > WEEK_SECONDS ||
	    c->max_lock_seconds <= 0 || c->max_lock_seconds > WEEK_SECONDS ||
	    c->hash_concurrency <= 0 || c->hash_concurrency > 256)
		return ERR_INVALID;
	conf = *c;
	return 0;
}

/* ------------------------------------------------------ text checks */

/* Valid UTF-8 without C0, DEL or C1 control characters; *chars gets the
 * number of code points. */
static bool clean_text(str_t s, size_t *chars)
{
	if (!str_is_valid_utf8(s))
		return false;
	const unsigned char *p = (const unsigned char *)s.p;
	size_t n = 0;
	for (size_t i = 0; i < s.len; i++) {
		if (p[i] < 0x20 || p[i] == 0x7f)
			return false;
		/* U+0080..U+009F are encoded as C2 80..C2 9F */
		if (p[i] == 0xc2 && i + 1 < s.len && p[i + 1] < 0xa0)
			return false;
		if ((p[i] & 0xc0) != 0x80)
			n++;
	}
	if (chars)
		*chars = n;
	return true;
}

static int refuse(const char **why, const char *msg)
{
	if (why)
		*why = msg;
	return ERR_INVALID;
}

int auth_password_check(str_t pw, const char **why)
{
	size_t chars = 0;
	if (pw.len > AUTH_PASSWORD_MAX)
		return refuse(why, "Use at most 256 bytes.");
	if (!clean_text(pw, &chars))
		return refuse(why, "Use letters, digits, spaces and symbols only.");
	if (chars < AUTH_PASSWORD_MIN)
		return refuse(why, "Use at least 12 characters.");
	return 0;
}

static bool is_atext(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       (c && strchr("!#$%&'*+/=?^_`{|}~-", c));
}

static bool is_ldh(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}

int auth_email_normalize(arena_t *a, str_t in, const char **out,
			 const char **why)
{
	static const char bad[] = "Enter an e-mail address like name@example.com.";
	str_t s = str_trim(in);
	if (s.len < 3 || s.len > AUTH_EMAIL_MAX)
		return refuse(why, bad);
	char *e = arena_strndup(a, s.p, s.len);
	char *at = NULL;
	for (size_t i = 0; i < s.len; i++) {
		char c = e[i];
		if (c >= 'A' && c <= 'Z')
			e[i] = (char)(c - 'A' + 'a');
		else if ((unsigned char)c <= 0x20 || (unsigned char)c >= 0x7f)
			return refuse(why, bad);
		if (e[i] == '@') {
			if (at)
				return refuse(why, bad);
			at = e + i;
		}
	}
	if (!at)
		return refuse(why, bad);
	size_t local = (size_t)(at - e), domain = s.len - local - 1;
	if (local < 1 || local > 64 || domain < 1 || domain > 253)
		return refuse(why, bad);
	/* local: atoms of atext joined by single dots */
	for (size_t i = 0; i < local; i++) {
		if (e[i] == '.') {
			if (i == 0 || i + 1 == local || e[i + 1] == '.')
				return refuse(why, bad);
		} else if (!is_atext(e[i])) {
			return refuse(why, bad);
		}
	}
	/* domain: labels of letters, digits and inner hyphens */
	const char *d = at + 1;
	size_t label = 0;
	for (size_t i = 0; i <= domain; i++) {
		if (i == domain || d[i] == '.') {
			if (label == 0 || label > 63 || d[i - 1] == '-')
				return refuse(why, bad);
			label = 0;
		} else if (!is_ldh(d[i]) || (label == 0 && d[i] == '-')) {
			return refuse(why, bad);
		} else {
			label++;
		}
	}
	*out = e;
	return 0;
}

int auth_name_check(arena_t *a, str_t name, const char **out,
		    const char **why)
{
	str_t s = str_trim(name);
	if (s.len == 0)
		return refuse(why, "Enter a name.");
	if (s.len > AUTH_NAME_MAX)
		return refuse(why, "Use at most 200 bytes.");
	if (!clean_text(s, NULL))
		return refuse(why, "Use printable characters only.");
	*out = str_dup(a, s);
	return 0;
}

/* ------------------------------------------------------- passwords */

/* Each argon2id run holds 64 MiB: a pool of responder threads all hashing
 * at once would need gigabytes, so runs queue for a slot. */
static pthread_mutex_t hash_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t hash_cv = PTHREAD_COND_INITIALIZER;
static int hash_running;

static void hash_enter(void)
{
	pthread_mutex_lock(&hash_mu);
	while (hash_running >= conf.hash_concurrency)
		pthread_cond_wait(&hash_cv, &hash_mu);
	hash_running++;
	pthread_mutex_unlock(&hash_mu);
}

static void hash_leave(void)
{
	pthread_mutex_lock(&hash_mu);
	hash_running--;
	pthread_cond_signal(&hash_cv);
	pthread_mutex_unlock(&hash_mu);
}

static int hash_raw(str_t pw, char out[AUTH_HASH_SIZE])
{
	if (crypto_init() < 0)
		return ERR_INTERNAL;
	hash_enter();
	int rc = crypto_pwhash_str_alg(out, pw.len ? pw.p : "", pw.len, PW_OPS,
				       PW_MEM, crypto_pwhash_ALG_ARGON2ID13);
	hash_leave();
	if (rc != 0) {
		log_error("argon2id hashing failed (out of memory?)");
		out[0] = '\0';
		return ERR_INTERNAL;
	}
	return 0;
}

int auth_password_hash(str_t pw, char out[AUTH_HASH_SIZE])
{
	out[0] = '\0';
	if (auth_password_check(pw, NULL) < 0)
		return ERR_INVALID;
	return hash_raw(pw, out);
}

bool auth_password_verify(const char *hash, str_t pw)
{
	if (!hash || !*hash || pw.len > AUTH_PASSWORD_MAX ||
	    crypto_init() < 0)
		return false;
	hash_enter();
	bool ok = crypto_pwhash_str_verify(hash, pw.len ? pw.p : "", pw.len) == 0;
	hash_leave();
	return ok;
}

bool auth_password_needs_rehash(const char *hash)
{
	if (!hash || crypto_init() < 0)
		return true;
	/* -1 (not an argon2id string) also asks for a new hash */
	return crypto_pwhash_argon2id_str_needs_rehash(hash, PW_OPS, PW_MEM) != 0;
}

/* A hash of a random password nobody knows, made once per process: an
 * unknown address is checked against it so that it costs the same time
 * as a known one. */
static pthread_once_t dummy_once = PTHREAD_ONCE_INIT;
static char dummy_hash[AUTH_HASH_SIZE];

static void make_dummy(void)
{
	char pw[CRYPTO_TOKEN_SIZE(24)];
	if (crypto_random_token(pw, sizeof pw, 24) == 0 &&
	    hash_raw(str_c(pw), dummy_hash) < 0)
		dummy_hash[0] = '\0';
	crypto_wipe(pw, sizeof pw);
}

static void burn_dummy(str_t pw)
{
	pthread_once(&dummy_once, make_dummy);
	if (pw.len > AUTH_PASSWORD_MAX)
		pw.len = AUTH_PASSWORD_MAX;
	(void)auth_password_verify(dummy_hash, pw);
}

/* ----------------------------------------------------------- users */

#define USER_COLUMNS "u.id, u.email, u.name, u.is_admin"

static void read_user(const PGresult *r, int row, int col, auth_user_t *u)
{
	u->id = db_value_ll(r, row, col);
	u->email = db_value(r, row, col + 1);
	u->name = db_value(r, row, col + 2);
	const char *admin = db_value(r, row, col + 3);
	u->is_admin = admin && admin[0] == 't';
}

static const db_stmt_t q_user_insert = {
	"auth_user_insert",
	"INSERT INTO users AS u (email, name, password_hash, is_admin)"
	" VALUES ($1, $2, $3, $4::boolean) RETURNING " USER_COLUMNS,
	4};

static const db_stmt_t q_user_by_email = {
	"auth_user_by_email",
	"SELECT " USER_COLUMNS ", u.password_hash FROM users u"
	" WHERE lower(u.email) = $1",
	1};

static const db_stmt_t q_user_by_id = {
	"auth_user_by_id",
	"SELECT " USER_COLUMNS " FROM users u WHERE u.id = $1::bigint", 1};

/* Revoking the other sessions in the same statement as the new hash means
 * no moment exists where the new password is set and an old session still
 * works (or the reverse after a crash). */
static const db_stmt_t q_user_set_password = {
	"auth_user_set_password",
	"WITH s AS (UPDATE sessions SET revoked_at = now()"
	"           WHERE user_id = $1::bigint AND revoked_at IS NULL"
	"           AND id <> $3::bigint)"
	" UPDATE users SET password_hash = $2, password_changed_at = now()"
	" WHERE id = $1::bigint RETURNING id",
	3};

int auth_user_create(db_t *db, arena_t *a, str_t email, str_t name,
		     str_t password, bool is_admin, auth_user_t *out)
{
	const char *e, *n;
	if (auth_email_normalize(a, email, &e, NULL) < 0 ||
	    auth_name_check(a, name, &n, NULL) < 0 ||
	    auth_password_check(password, NULL) < 0)
		return ERR_INVALID;
	char hash[AUTH_HASH_SIZE];
	int rc = auth_password_hash(password, hash);
	if (rc < 0)
		return rc;
	const char *p[] = {e, n, hash, is_admin ? "true" : "false"};
	PGresult *r;
	if ((rc = db_exec(db, a, &q_user_insert, p, &r)) < 0)
		return rc;
	if (out)
		read_user(r, 0, 0, out);
	return 0;
}

/* The user of a normalised address and its hash (NULL when not found). */
static int user_with_hash(db_t *db, arena_t *a, const char *email,
			  auth_user_t *u, const char **hash)
{
	const char *p[] = {email};
	PGresult *r;
	int rc = db_exec(db, a, &q_user_by_email, p, &r);
	if (rc < 0)
		return rc;
	if (db_rows(r) != 1)
		return ERR_NOT_FOUND;
	read_user(r, 0, 0, u);
	if (hash)
		*hash = db_value(r, 0, 4);
	return 0;
}

int auth_user_find(db_t *db, arena_t *a, str_t email, auth_user_t *out)
{
	const char *e;
	if (auth_email_normalize(a, email, &e, NULL) < 0)
		return ERR_INVALID;
	return user_with_hash(db, a, e, out, NULL);
}

int auth_user_get(db_t *db, arena_t *a, long long id, auth_user_t *out)
{
	const char *p[] = {db_param_ll(a, id)};
	PGresult *r;
	int rc = db_exec(db, a, &q_user_by_id, p, &r);
	if (rc < 0)
		return rc;
	if (db_rows(r) != 1)
		return ERR_NOT_FOUND;
	read_user(r, 0, 0, out);
	return 0;
}

int auth_user_set_password(db_t *db, arena_t *a, long long user_id,
			   str_t password, long long keep_session_id)
{
	char hash[AUTH_HASH_SIZE];
	int rc = auth_password_hash(password, hash);
	if (rc < 0)
		return rc;
	const char *p[] = {db_param_ll(a, user_id), hash, db_param_ll(a, keep_session_id)};
	PGresult *r;
	if ((rc = db_exec(db, a, &q_user_set_password, p, &r)) < 0)
		return rc;
	return db_rows(r) == 1 ? 0 : ERR_NOT_FOUND;
}

/* ------------------------------------------------------- throttling */

static const db_stmt_t q_throttle_lock = {
	"auth_throttle_lock",
	/* The no-op update locks existing rows as the insert locks new ones,
	 * always the account row first, so two logins cannot deadlock. */
	"INSERT INTO login_throttle AS t (scope, key_hash)"
	" VALUES ('account', $1), ('client', $2)"
	" ON CONFLICT (scope, key_hash) DO UPDATE SET updated_at = t.updated_at"
	" RETURNING t.scope, t.failures, extract(epoch FROM now())::bigint,"
	" coalesce(extract(epoch FROM t.window_start)::bigint, 0),"
	" coalesce(extract(epoch FROM t.locked_until)::bigint, 0), t.lockouts",
	2};

static const db_stmt_t q_throttle_save = {
	"auth_throttle_save",
	"UPDATE login_throttle SET failures = $3::int,"
	" window_start = to_timestamp($4::double precision),"
	" locked_until = to_timestamp($5::double precision),"
	" lockouts = $6::int, updated_at = now()"
	" WHERE scope = $1 AND key_hash = $2",
	6};

/* The right password gives back the attempt it was counted as: the
 * address starts afresh (whoever knows the password need not guess), the
 * client only loses the one count (a client with one good account must
 * not wipe out its failures on others). */
static const db_stmt_t q_throttle_success = {
	"auth_throttle_success",
	"WITH acc AS (UPDATE login_throttle SET failures = 0,"
	"             window_start = NULL, lockouts = 0, updated_at = now()"
	"             WHERE scope = 'account' AND key_hash = $1)"
	" UPDATE login_throttle SET failures = greatest(failures - 1, 0)"
	" WHERE scope = 'client' AND key_hash = $2",
	2};

typedef struct {
	bool account;
	int failures;
	long long window_start; /* 0: no window open */
	long long locked_until; /* 0: never locked */
	int lockouts;
} throttle_t;

/* Counts one attempt at time now against a key that is not locked (the
 * caller refuses locked keys without counting).  Returns the seconds the
 * key is now locked for (0: the attempt may go ahead). */
static long long throttle_step(throttle_t *t, long long now)
{
	if (t->locked_until && t->locked_until + DAY_SECONDS <= now)
		t->lockouts = 0;
	if (!t->window_start || t->window_start + conf.window_seconds <= now) {
		t->window_start = now;
		t->failures = 0;
	}
	int limit = t->account ? conf.account_limit : conf.client_limit;
	if (++t->failures <= limit)
		return 0;
	long long lock = conf.window_seconds;
	for (int i = 0; i < t->lockouts && lock < conf.max_lock_seconds; i++)
		lock *= 2;
	if (lock > conf.max_lock_seconds)
		lock = conf.max_lock_seconds;
	t->locked_until = now + lock;
	t->lockouts++;
	t->failures = 0;
	t->window_start = 0;
	return lock;
}

static const char *epoch_or_null(arena_t *a, long long t)
{
	return t ? db_param_ll(a, t) : NULL;
}

/* Counts an attempt against both keys in one transaction; *wait gets the
 * seconds to refuse for (0: go ahead).  A key that is already locked
 * refuses without counting anything. */
static int throttle_count(db_t *db, arena_t *a, const char *acct,
			  const char *client, long long *wait)
{
	*wait = 0;
	int rc = db_begin(db);
	if (rc < 0)
		return rc;
	const char *p[] = {acct, client};
	PGresult *r;
	if ((rc = db_exec(db, a, &q_throttle_lock, p, &r)) < 0)
		goto fail;
	int n = db_rows(r);
	throttle_t t[2];
	long long now = 0;
	for (int i = 0; i < n && i < 2; i++) {
		t[i] = (throttle_t){
			.account = strcmp(db_value(r, i, 0), "account") == 0,
			.failures = (int)db_value_ll(r, i, 1),
			.window_start = db_value_ll(r, i, 3),
			.locked_until = db_value_ll(r, i, 4),
			.lockouts = (int)db_value_ll(r, i, 5),
		};
		now = db_value_ll(r, i, 2);
		if (t[i].locked_until > now && t[i].locked_until - now > *wait)
			*wait = t[i].locked_until - now;
	}
	if (n != 2) {
		rc = ERR_INTERNAL;
		goto fail;
	}
	if (*wait > 0) {
		db_rollback(db);
		return 0;
	}
	for (int i = 0; i < 2; i++) {
		long long w = throttle_step(&t[i], now);
		if (w > *wait)
			*wait = w;
		const char *s[] = {t[i].account ? "account" : "client",
				   t[i].account ? acct : client,
				   db_param_ll(a, t[i].failures),
				   epoch_or_null(a, t[i].window_start),
				   epoch_or_null(a, t[i].locked_until),
				   db_param_ll(a, t[i].lockouts)};
		if ((rc = db_exec(db, a, &q_throttle_save, s, NULL)) < 0)
			goto fail;
	}
	if ((rc = db_commit(db)) < 0)
		goto fail;
	return 0;
fail:
	db_rollback(db);
	return rc;
}

/* SHA-256 hex of scope, a NUL and the key: the account and client spaces
 * never collide, and no address is stored in clear. */
static void scoped_hash(const char *scope, str_t key,
			char out[CRYPTO_SHA256_HEX_SIZE])
{
	size_t sl = strlen(scope) + 1;
	size_t kl = key.len > 1024 ? 1024 : key.len;
	char buf[1100];
	memcpy(buf, scope, sl);
	if (kl)
		memcpy(buf + sl, key.p, kl);
	crypto_sha256_hex(buf, sl + kl, out);
}

/* -------------------------------------------------------- sessions */

static const db_stmt_t q_session_insert = {
	"auth_session_insert",
	"INSERT INTO sessions (user_id, token_hash, csrf_secret, user_agent,"
	" expires_at) VALUES ($1::bigint, $2, $3, $4,"
	" now() + $5::int * interval '1 second')"
	" RETURNING id, extract(epoch FROM created_at)::bigint,"
	" extract(epoch FROM last_seen_at)::bigint,"
	" extract(epoch FROM expires_at)::bigint",
	5};

static const db_stmt_t q_session_revoke_token = {
	"auth_session_revoke_token",
	"UPDATE sessions SET revoked_at = now()"
	" WHERE token_hash = $1 AND revoked_at IS NULL",
	1};

static const db_stmt_t q_user_rehash = {
	"auth_user_rehash",
	"UPDATE users SET password_hash = $2 WHERE id = $1::bigint", 2};

/* The touch runs in the same statement as the check; it moves
 * last_seen_at only when it is older than touch_seconds, so a busy session
 * writes about once a minute, not on every request. */
static const db_stmt_t q_session_check = {
	"auth_session_check",
	"WITH s AS ("
	"  SELECT s.id, s.csrf_secret, s.last_seen_at,"
	"         extract(epoch FROM s.created_at)::bigint AS created,"
	"         extract(epoch FROM s.last_seen_at)::bigint AS seen,"
	"         extract(epoch FROM s.expires_at)::bigint AS expires,"
	"         u.id AS uid, u.email, u.name, u.is_admin"
	"  FROM sessions s JOIN users u ON u.id = s.user_id"
	"  WHERE s.token_hash = $1 AND s.revoked_at IS NULL"
	"    AND s.expires_at > now()"
	"    AND s.last_seen_at > now() - $2::int * interval '1 second'),"
	" t AS (UPDATE sessions SET last_seen_at = now() FROM s"
	"       WHERE sessions.id = s.id"
	"         AND s.last_seen_at <= now() - $3::int * interval '1 second')"
	" SELECT id, csrf_secret, created, seen, expires, uid, email, name,"
	" is_admin FROM s",
	3};

static const db_stmt_t q_sessions_revoke_user = {
	"auth_sessions_revoke_user",
	"UPDATE sessions SET revoked_at = now() WHERE user_id = $1::bigint"
	" AND id <> $2::bigint AND revoked_at IS NULL",
	2};

static const db_stmt_t q_prune = {
	"auth_prune",
	"WITH s AS (DELETE FROM sessions"
	"           WHERE expires_at < now() - interval '1 day'"
	"              OR revoked_at < now() - interval '1 day'"
	"              OR last_seen_at < now() - ($1::int + 86400) * interval '1 second'"
	"           RETURNING 1),"
	" t AS (DELETE FROM login_throttle"
	"       WHERE updated_at < now() - interval '1 day'"
	"         AND (locked_until IS NULL OR locked_until < now() - interval '1 day')"
	"       RETURNING 1)"
	" SELECT (SELECT count(*) FROM s) + (SELECT count(*) FROM t)",
	1};

static bool token_well_formed(str_t t)
{
	if (t.len != AUTH_TOKEN_LEN)
		return false;
	for (size_t i = 0; i < t.len; i++) {
		char c = t.p[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		      (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return false;
	}
	return true;
}

/* The user agent as kept: at most AUTH_USER_AGENT_MAX bytes cut at a
 * character boundary, or NULL when absent or not clean text. */
static const char *kept_user_agent(arena_t *a, str_t ua)
{
	if (ua.len > AUTH_USER_AGENT_MAX) {
		ua.len = AUTH_USER_AGENT_MAX;
		while (ua.len && ((unsigned char)ua.p[ua.len] & 0xc0) == 0x80)
			ua.len--;
	}
	if (ua.len == 0 || !clean_text(ua, NULL))
		return NULL;
	return str_dup(a, ua);
}

/* Lower-cased bytes of what was typed, for the throttle key of an input
 * that is not an address: still counted, like every other attempt. */
static const char *typed_key(arena_t *a, str_t email)
{
	str_t s = str_trim(email);
	if (s.len > AUTH_EMAIL_MAX)
		s.len = AUTH_EMAIL_MAX;
	char *k = str_dup(a, s);
	for (char *c = k; *c; c++)
		if (*c >= 'A' && *c <= 'Z')
			*c = (char)(*c - 'A' + 'a');
	return k;
}

static int new_session(db_t *db, arena_t *a, const auth_user_t *user,
		       const auth_login_t *req, const char *acct,
		       const char *client, const char *rehash,
		       auth_session_t *out)
{
	char token[CRYPTO_TOKEN_SIZE(AUTH_TOKEN_BYTES)];
	char csrf[CRYPTO_TOKEN_SIZE(AUTH_TOKEN_BYTES)];
	char token_hash[CRYPTO_SHA256_HEX_SIZE];
	int rc = crypto_random_token(token, sizeof token, AUTH_TOKEN_BYTES);
	if (rc == 0)
		rc = crypto_random_token(csrf, sizeof csrf, AUTH_TOKEN_BYTES);
	if (rc < 0)
		return ERR_INTERNAL;
	crypto_sha256_hex(token, strlen(token), token_hash);

	if ((rc = db_begin(db)) < 0)
		return rc;
	const char *tp[] = {acct, client};
	if ((rc = db_exec(db, a, &q_throttle_success, tp, NULL)) < 0)
		goto fail;
	if (token_well_formed(req->old_token)) {
		char old[CRYPTO_SHA256_HEX_SIZE];
		crypto_sha256_hex(req->old_token.p, req->old_token.len, old);
		const char *op[] = {old};
		if ((rc = db_exec(db, a, &q_session_revoke_token, op, NULL)) < 0)
			goto fail;
	}
	if (rehash) {
		const char *hp[] = {db_param_ll(a, user->id), rehash};
		if ((rc = db_exec(db, a, &q_user_rehash, hp, NULL)) < 0)
			goto fail;
	}
	const char *sp[] = {db_param_ll(a, user->id), token_hash, csrf,
			    kept_user_agent(a, req->user_agent),
			    db_param_ll(a, conf.absolute_seconds)};
	PGresult *r;
	if ((rc = db_exec(db, a, &q_session_insert, sp, &r)) < 0)
		goto fail;
	if ((rc = db_commit(db)) < 0)
		goto fail;
	*out = (auth_session_t){
		.id = db_value_ll(r, 0, 0),
		.user = *user,
		.token = arena_strdup(a, token),
		.csrf_secret = arena_strdup(a, csrf),
		.created_at = db_value_ll(r, 0, 1),
		.last_seen_at = db_value_ll(r, 0, 2),
		.expires_at = db_value_ll(r, 0, 3),
	};
	crypto_wipe(token, sizeof token);
	crypto_wipe(csrf, sizeof csrf);
	return 0;
fail:
	db_rollback(db);
	crypto_wipe(token, sizeof token);
	crypto_wipe(csrf, sizeof csrf);
	return rc;
}

int auth_login(db_t *db, arena_t *a, const auth_login_t *req,
	       auth_session_t *out, int *retry_after)
{
	*retry_after = 0;
	memset(out, 0, sizeof *out);
	if (db_in_transaction(db)) {
		/* the count of a failed attempt must commit whatever the
		 * caller then does */
		log_error("auth_login called inside a transaction");
		return ERR_INTERNAL;
	}
	const char *email;
	bool email_ok = auth_email_normalize(a, req->email, &email, NULL) == 0;
	if (!email_ok)
		email = typed_key(a, req->email);
	char acct[CRYPTO_SHA256_HEX_SIZE], client[CRYPTO_SHA256_HEX_SIZE];
	scoped_hash("account", str_c(email), acct);
	scoped_hash("client", req->client_key, client);

	long long wait;
	int rc = throttle_count(db, a, acct, client, &wait);
	if (rc < 0)
		return rc;
	if (wait > 0) {
		*retry_after = wait > DAY_SECONDS ? DAY_SECONDS : (int)wait;
		log_line_t *l = log_begin(LOG_WARN, "login throttled");
		log_int(l, "retry_after", *retry_after);
		log_end(l);
		return ERR_RATE_LIMITED;
	}

	auth_user_t user = {0};
	const char *hash = NULL;
	if (email_ok) {
		rc = user_with_hash(db, a, email, &user, &hash);
		if (rc < 0 && rc != ERR_NOT_FOUND)
			return rc;
	}
	bool ok = false;
	if (hash && req->password.len <= AUTH_PASSWORD_MAX)
		ok = auth_password_verify(hash, req->password);
	else
		burn_dummy(req->password);
	if (!ok) {
		log_line_t *l = log_begin(LOG_INFO, "login refused");
		if (hash)
			log_int(l, "user", user.id);
		log_end(l);
		return ERR_UNAUTHORIZED;
	}

	const char *rehash = NULL;
	char fresh[AUTH_HASH_SIZE];
	if (auth_password_needs_rehash(hash) &&
	    hash_raw(req->password, fresh) == 0)
		rehash = fresh;
	rc = new_session(db, a, &user, req, acct, client, rehash, out);
	if (rc == 0) {
		log_line_t *l = log_begin(LOG_INFO, "login");
		log_int(l, "user", user.id);
		log_int(l, "session", out->id);
		log_end(l);
	}
	return rc;
}

int auth_password_confirm(db_t *db, arena_t *a, const auth_user_t *user,
			  str_t password, str_t client_key, int *retry_after)
{
	*retry_after = 0;
	if (db_in_transaction(db)) {
		log_error("auth_password_confirm called inside a transaction");
		return ERR_INTERNAL;
	}
	char acct[CRYPTO_SHA256_HEX_SIZE], client[CRYPTO_SHA256_HEX_SIZE];
	scoped_hash("account", str_c(user->email), acct);
	scoped_hash("client", client_key, client);
	long long wait;
	int rc = throttle_count(db, a, acct, client, &wait);
	if (rc < 0)
		return rc;
	if (wait > 0) {
		*retry_after = wait > DAY_SECONDS ? DAY_SECONDS : (int)wait;
		return ERR_RATE_LIMITED;
	}
	auth_user_t u;
	const char *hash = NULL;
	rc = user_with_hash(db, a, user->email, &u, &hash);
	if (rc < 0 && rc != ERR_NOT_FOUND)
		return rc;
	bool ok = false;
	if (hash && u.id == user->id && password.len <= AUTH_PASSWORD_MAX)
		ok = auth_password_verify(hash, password);
	else
		burn_dummy(password);
	if (!ok)
		return ERR_UNAUTHORIZED;
	const char *tp[] = {acct, client};
	return db_exec(db, a, &q_throttle_success, tp, NULL);
}

int auth_session_check(db_t *db, arena_t *a, str_t token,
		       auth_session_t *out)
{
	memset(out, 0, sizeof *out);
	if (!token_well_formed(token))
		return ERR_UNAUTHORIZED;
	char h[CRYPTO_SHA256_HEX_SIZE];
	crypto_sha256_hex(token.p, token.len, h);
	const char *p[] = {h, db_param_ll(a, conf.idle_seconds),
			   db_param_ll(a, conf.touch_seconds)};
	PGresult *r;
	int rc = db_exec(db, a, &q_session_check, p, &r);
	if (rc < 0)
		return rc;
	if (db_rows(r) != 1)
		return ERR_UNAUTHORIZED;
	out->id = db_value_ll(r, 0, 0);
	out->csrf_secret = db_value(r, 0, 1);
	out->created_at = db_value_ll(r, 0, 2);
	out->last_seen_at = db_value_ll(r, 0, 3);
	out->expires_at = db_value_ll(r, 0, 4);
	read_user(r, 0, 5, &out->user);
	return 0;
}

int auth_logout(db_t *db, arena_t *a, str_t token)
{
	if (!token_well_formed(token))
		return 0;
	char h[CRYPTO_SHA256_HEX_SIZE];
	crypto_sha256_hex(token.p, token.len, h);
	const char *p[] = {h};
	return db_exec(db, a, &q_session_revoke_token, p, NULL);
}

int auth_sessions_revoke_user(db_t *db, arena_t *a, long long user_id,
			      long long except_id, int *revoked)
{
	const char *p[] = {db_param_ll(a, user_id), db_param_ll(a, except_id)};
	PGresult *r;
	int rc = db_exec(db, a, &q_sessions_revoke_user, p, &r);
	if (rc == 0 && revoked)
		*revoked = (int)strtol(PQcmdTuples(r), NULL, 10);
	return rc;
}

int auth_prune(db_t *db, arena_t *a, long long *deleted)
{
	const char *p[] = {db_param_ll(a, conf.idle_seconds)};
	PGresult *r;
	int rc = db_exec(db, a, &q_prune, p, &r);
	if (rc == 0 && deleted)
		*deleted = db_value_ll(r, 0, 0);
	return rc;
}

/* ------------------------------------------------------------ CSRF */

static int csrf_mac(const auth_session_t *s, const char *form_id,
		    const unsigned char nonce[CSRF_NONCE_BYTES],
		    unsigned char mac[CRYPTO_SHA256_BYTES])
{
	if (!form_id)
		form_id = "";
	size_t fl = strlen(form_id);
	if (!s || !s->csrf_secret || !*s->csrf_secret || fl > AUTH_FORM_ID_MAX)
		return ERR_INVALID;
	/* label NUL session-id NUL form-id NUL nonce: unambiguous fields */
	unsigned char msg[sizeof CSRF_LABEL + 21 + AUTH_FORM_ID_MAX + 1 +
			  CSRF_NONCE_BYTES];
	int n = snprintf((char *)msg, sizeof msg, "%s%c%lld%c%s%c", CSRF_LABEL,
			 0, s->id, 0, form_id, 0);
	if (n < 0 || (size_t)n + CSRF_NONCE_BYTES > sizeof msg)
		return ERR_INVALID;
	memcpy(msg + n, nonce, CSRF_NONCE_BYTES);
	return crypto_hmac_sha256(s->csrf_secret, strlen(s->csrf_secret), msg,
				  (size_t)n + CSRF_NONCE_BYTES, mac);
}

int auth_csrf_token(const auth_session_t *s, const char *form_id,
		    char out[AUTH_CSRF_SIZE])
{
	out[0] = '\0';
	unsigned char raw[CSRF_NONCE_BYTES + CRYPTO_SHA256_BYTES];
	crypto_random_bytes(raw, CSRF_NONCE_BYTES);
	int rc = csrf_mac(s, form_id, raw, raw + CSRF_NONCE_BYTES);
	if (rc < 0)
		return rc;
	sodium_bin2base64(out, AUTH_CSRF_SIZE, raw, sizeof raw, B64URL);
	return 0;
}

int auth_csrf_verify(const auth_session_t *s, const char *form_id,
		     str_t token)
{
	unsigned char raw[CSRF_NONCE_BYTES + CRYPTO_SHA256_BYTES];
	size_t got = 0;
	if (token.len != AUTH_CSRF_LEN ||
	    sodium_base642bin(raw, sizeof raw, token.p, token.len, NULL, &got,
			      NULL, B64URL) != 0 ||
	    got != sizeof raw)
		return ERR_FORBIDDEN;
	unsigned char want[CRYPTO_SHA256_BYTES];
	if (csrf_mac(s, form_id, raw, want) < 0)
		return ERR_FORBIDDEN;
	return crypto_equal(raw + CSRF_NONCE_BYTES, CRYPTO_SHA256_BYTES, want,
			    sizeof want)
		       ? 0
		       : ERR_FORBIDDEN;
}

/* ----------------------------------------------------------- roles */

/* The least role each action needs.  Editors publish what they edit;
 * people, keys and secrets are the owners'. */
static const auth_role_t action_min_role[AUTH_ACTION_COUNT] = {
	[AUTH_READ] = AUTH_ROLE_VIEWER,
	[AUTH_EDIT] = AUTH_ROLE_EDITOR,
	[AUTH_PUBLISH] = AUTH_ROLE_EDITOR,
	[AUTH_MANAGE_MEMBERS] = AUTH_ROLE_OWNER,
	[AUTH_MANAGE_KEYS] = AUTH_ROLE_OWNER,
	[AUTH_MANAGE_CREDENTIALS] = AUTH_ROLE_OWNER,
};

bool auth_can(auth_role_t role, auth_action_t action)
{
	if ((unsigned)action >= AUTH_ACTION_COUNT || role <= AUTH_ROLE_NONE ||
	    role > AUTH_ROLE_ADMIN)
		return false;
	return role >= action_min_role[action];
}

static const char *const role_names[] = {"none", "viewer", "editor",
					 "owner", "admin"};

const char *auth_role_name(auth_role_t role)
{
	if ((unsigned)role > AUTH_ROLE_ADMIN)
		return "none";
	return role_names[role];
}

int auth_role_parse(str_t name, auth_role_t *out)
{
	for (unsigned i = 0; i <= AUTH_ROLE_ADMIN; i++)
		if (str_eq_c(name, role_names[i])) {
			*out = (auth_role_t)i;
			return 0;
		}
	return ERR_INVALID;
}

static auth_role_t member_role(const char *name)
{
	auth_role_t r = AUTH_ROLE_NONE;
	if (name && auth_role_parse(str_c(name), &r) < 0)
		r = AUTH_ROLE_NONE;
	/* the table allows only member roles; never trust it for admin */
	return r == AUTH_ROLE_ADMIN ? AUTH_ROLE_NONE : r;
}

static const db_stmt_t q_role_for = {
	"auth_role_for",
	"SELECT role FROM memberships WHERE user_id = $1::bigint"
	" AND tenant_id = $2::bigint",
	2};

static const db_stmt_t q_member_set = {
	"auth_member_set",
	"WITH old AS (SELECT role FROM memberships"
	"             WHERE user_id = $1::bigint AND tenant_id = $2::bigint),"
	" ins AS (INSERT INTO memberships (user_id, tenant_id, role)"
	"         VALUES ($1::bigint, $2::bigint, $3)"
	"         ON CONFLICT (user_id, tenant_id) DO UPDATE SET role = $3"
	"         RETURNING 1)"
	" SELECT (SELECT role FROM old), (SELECT count(*) FROM ins)",
	3};

static const db_stmt_t q_member_remove = {
	"auth_member_remove",
	"DELETE FROM memberships WHERE user_id = $1::bigint"
	" AND tenant_id = $2::bigint RETURNING role",
	2};

int auth_role_for(db_t *db, arena_t *a, const auth_user_t *user,
		  long long tenant_id, auth_role_t *out)
{
	*out = AUTH_ROLE_NONE;
	if (!user || user->id <= 0)
		return 0;
	if (user->is_admin) {
		*out = AUTH_ROLE_ADMIN;
		return 0;
	}
	const char *p[] = {db_param_ll(a, user->id), db_param_ll(a, tenant_id)};
	PGresult *r;
	int rc = db_exec(db, a, &q_role_for, p, &r);
	if (rc < 0)
		return rc;
	if (db_rows(r) == 1)
		*out = member_role(db_value(r, 0, 0));
	return 0;
}

int auth_member_set(db_t *db, arena_t *a, long long user_id,
		    long long tenant_id, auth_role_t role, auth_role_t *before)
{
	if (role != AUTH_ROLE_VIEWER && role != AUTH_ROLE_EDITOR &&
	    role != AUTH_ROLE_OWNER)
		return ERR_INVALID;
	const char *p[] = {db_param_ll(a, user_id), db_param_ll(a, tenant_id),
			   auth_role_name(role)};
	PGresult *r;
	int rc = db_exec(db, a, &q_member_set, p, &r);
	if (rc < 0)
		return rc;
	if (before)
		*before = member_role(db_value(r, 0, 0));
	return 0;
}

int auth_member_remove(db_t *db, arena_t *a, long long user_id,
		       long long tenant_id, auth_role_t *before)
{
	const char *p[] = {db_param_ll(a, user_id), db_param_ll(a, tenant_id)};
	PGresult *r;
	int rc = db_exec(db, a, &q_member_remove, p, &r);
	if (rc < 0)
		return rc;
	if (db_rows(r) != 1)
		return ERR_NOT_FOUND;
	if (before)
		*before = member_role(db_value(r, 0, 0));
	return 0;
}
