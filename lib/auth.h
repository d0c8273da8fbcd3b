/* auth: people, passwords, browser sessions, CSRF tokens and roles
 * (sql/0004_accounts.sql).
 *
 *   auth_login_t req = {.email = e, .password = p, .client_key = ip,
 *                       .old_token = cookie};
 *   auth_session_t s;
 *   int wait;
 *   rc = auth_login(db, a, &req, &s, &wait);
 *       0: set the cookie to s.token (shown this once, never stored)
 *       ERR_UNAUTHORIZED: "wrong e-mail or password" (never which)
 *       ERR_RATE_LIMITED: answer 429 with Retry-After: wait
 *   rc = auth_session_check(db, a, cookie, &s);    every request
 *   auth_csrf_token(&s, "page-edit", tok);          into each form
 *   auth_csrf_verify(&s, "page-edit", posted);      on each POST
 *   auth_role_for(db, a, &s.user, tenant_id, &role);
 *   if (!auth_can(role, AUTH_EDIT)) -> 404 (none) or 403
 *
 * Passwords are hashed with argon2id (libsodium crypto_pwhash_str at the
 * INTERACTIVE limits); each hash takes 64 MiB for a moment, so at most
 * hash_concurrency of them run at once in a process, the others wait.
 * Session cookies carry 32 random bytes; the database keeps only their
 * SHA-256.  Every time is the database's clock, so several hosts agree.
 * Strings in returned structs are owned by the arena passed in.
 *
 * Thread safety: auth_configure is called once at start, before threads;
 * everything else may run on any thread (one db_t per thread). */
#ifndef CANOPY_AUTH_H
#define CANOPY_AUTH_H

#include <stdbool.h>

#include "arena.h"
#include "db.h"
#include "err.h"
#include "str.h"

#define AUTH_PASSWORD_MIN 12    /* characters (UTF-8 code points) */
#define AUTH_PASSWORD_MAX 256   /* bytes */
#define AUTH_HASH_SIZE 128      /* crypto_pwhash_STRBYTES, with the NUL */
#define AUTH_EMAIL_MAX 254
#define AUTH_NAME_MAX 200
#define AUTH_USER_AGENT_MAX 300
#define AUTH_TOKEN_BYTES 32
#define AUTH_TOKEN_LEN 43       /* base64url of 32 bytes, no padding */
#define AUTH_CSRF_LEN 64        /* base64url of a 16-byte nonce + HMAC */
#define AUTH_CSRF_SIZE (AUTH_CSRF_LEN + 1)
#define AUTH_FORM_ID_MAX 100

typedef struct {
	int idle_seconds;      /* session ends this long after last use (1800) */
	int absolute_seconds;  /* and this long after login at most (43200) */
	int touch_seconds;     /* last_seen_at moves at most this often (60) */
	int account_limit;     /* attempts per address in a window (5) */
	int client_limit;      /* attempts per client in a window (30) */
	int window_seconds;    /* the throttling window (900) */
	int max_lock_seconds;  /* longest lock-out; each doubles (14400) */
	int hash_concurrency;  /* argon2id hashes at once per process (4) */
} auth_config_t;

/* The defaults above. */
void auth_config_defaults(auth_config_t *cfg);

/* Sets the process-wide settings (copied).  Call at start, before any
 * thread uses auth.  ERR_INVALID when a value is out of range (every
 * field must be positive; touch below idle; window and idle at most a
 * week); the settings are then unchanged. */
int auth_configure(const auth_config_t *cfg) WARN_UNUSED;

/* ------------------------------------------------------- passwords */

/* Whether a new password is acceptable: valid UTF-8 without control
 * characters, at least AUTH_PASSWORD_MIN characters and at most
 * AUTH_PASSWORD_MAX bytes.  ERR_INVALID with *why (may be NULL) set to a
 * sentence to show next to the field. */
int auth_password_check(str_t password, const char **why) WARN_UNUSED;

/* Hashes an acceptable password into out ("$argon2id$..." and a NUL).
 * ERR_INVALID when auth_password_check refuses it, ERR_INTERNAL when
 * libsodium cannot (out of memory). */
int auth_password_hash(str_t password, char out[AUTH_HASH_SIZE]) WARN_UNUSED;

/* Whether password matches hash (a crypto_pwhash_str string).  False for
 * a malformed hash and for a password longer than AUTH_PASSWORD_MAX. */
bool auth_password_verify(const char *hash, str_t password);

/* Whether hash was made with other parameters than the current ones (or
 * another algorithm), so it should be replaced at the next login. */
bool auth_password_needs_rehash(const char *hash);

/* ----------------------------------------------------------- users */

typedef struct {
	long long id;
	const char *email; /* normalised */
	const char *name;
	bool is_admin;
} auth_user_t;

/* Normalises an e-mail address: trims white space and lower-cases ASCII;
 * then requires local@domain with a local part of RFC 5322 atext and
 * single dots (1..64 bytes) and a domain of LDH labels separated by dots,
 * 254 bytes in all.  Internationalised addresses are refused.  *out gets
 * the normalised copy (arena).  ERR_INVALID with *why (may be NULL). */
int auth_email_normalize(arena_t *a, str_t email, const char **out,
			 const char **why) WARN_UNUSED;

/* Whether a display name is acceptable (after trimming: 1..200 bytes of
 * UTF-8 without control characters); *out gets the trimmed copy (arena).
 * ERR_INVALID with *why (may be NULL). */
int auth_name_check(arena_t *a, str_t name, const char **out,
		    const char **why) WARN_UNUSED;

/* Creates a user.  The e-mail address is normalised, the name trimmed,
 * the password checked and hashed.  May run inside the caller's
 * transaction (one INSERT), so the caller can audit it in the same one.
 * *out (may be NULL) gets the new user.  ERR_INVALID for a bad address,
 * name or password, ERR_CONFLICT when the address has an account. */
int auth_user_create(db_t *db, arena_t *a, str_t email, str_t name,
		     str_t password, bool is_admin, auth_user_t *out) WARN_UNUSED;

/* The user with this address (normalised first) or this id.
 * ERR_NOT_FOUND, or ERR_INVALID for a malformed address. */
int auth_user_find(db_t *db, arena_t *a, str_t email,
		   auth_user_t *out) WARN_UNUSED;
int auth_user_get(db_t *db, arena_t *a, long long id,
		  auth_user_t *out) WARN_UNUSED;

/* Sets a user's password (checked and hashed) and, in the same
 * statement, revokes all of the user's sessions except keep_session_id
 * (0: all), so whoever knew the old password is signed out.
 * ERR_INVALID for a refused password, ERR_NOT_FOUND. */
int auth_user_set_password(db_t *db, arena_t *a, long long user_id,
			   str_t password, long long keep_session_id) WARN_UNUSED;

/* -------------------------------------------------------- sessions */

typedef struct {
	str_t email;
	str_t password;
	/* Names the client for per-client throttling, e.g. the address nginx
	 * saw (REMOTE_ADDR).  Only its SHA-256 is stored, for the window;
	 * an empty key is one client shared by everyone without a key. */
	str_t client_key;
	/* The session cookie the browser sent, if any: that session is
	 * revoked when the login succeeds (rotation), so a cookie planted
	 * before login is worth nothing after it. */
	str_t old_token;
	/* Kept (at most 300 bytes, dropped if not clean UTF-8) so a person can
	 * tell their sessions apart; optional. */
	str_t user_agent;
} auth_login_t;

typedef struct {
	long long id;
	auth_user_t user;
	/* The cookie value, set by auth_login only (NULL otherwise): it is
	 * not stored and cannot be recovered later. */
	const char *token;
	const char *csrf_secret;
	long long created_at; /* seconds since the epoch */
	long long last_seen_at;
	long long expires_at; /* absolute end; idle end is earlier */
} auth_session_t;

/* Signs a person in.  Each attempt counts against the address typed and
 * against the client before the password is checked; past
 * account_limit (or client_limit) attempts in window_seconds the key is
 * locked: ERR_RATE_LIMITED with *retry_after (seconds) set, even for the
 * right password, without checking it.  Each lock-out doubles the next
 * one (up to max_lock_seconds) until a day passes without one.  An
 * unknown address costs the same hash as a known one, and every failure
 * is ERR_UNAUTHORIZED, so answers do not tell which addresses have
 * accounts.  On success the address's count is cleared, the old session
 * (req->old_token) is revoked, the hash is upgraded if its parameters
 * are outdated, and *out gets the new session with its token.
 * Commits its own transactions: ERR_INTERNAL if called inside one.
 * ERR_DB. */
int auth_login(db_t *db, arena_t *a, const auth_login_t *req,
	       auth_session_t *out, int *retry_after) WARN_UNUSED;

/* Checks the password of a person who is signed in already, before a
 * sensitive change (a new password): throttled exactly like auth_login,
 * counted against the person's address and client_key before the hash is
 * checked, so a stolen session cannot be used to guess the password
 * faster than the login form allows.  0 when password is right (the
 * attempt is then given back); ERR_UNAUTHORIZED when it is not;
 * ERR_RATE_LIMITED with *retry_after set; ERR_DB.  Commits its own
 * transactions: ERR_INTERNAL if called inside one. */
int auth_password_confirm(db_t *db, arena_t *a, const auth_user_t *user,
			  str_t password, str_t client_key,
			  int *retry_after) WARN_UNUSED;

/* The live session of a cookie value.  ERR_UNAUTHORIZED when the token is
 * malformed, unknown, revoked, past its absolute expiry or idle for
 * idle_seconds; ERR_DB.  Moves last_seen_at when it is older than
 * touch_seconds. */
int auth_session_check(db_t *db, arena_t *a, str_t token,
		       auth_session_t *out) WARN_UNUSED;

/* Revokes the session of a cookie value (logout): the cookie stops
 * working everywhere at once.  0 also when there was no live session. */
int auth_logout(db_t *db, arena_t *a, str_t token) WARN_UNUSED;

/* Revokes every live session of user_id except except_id (0: none).
 * *revoked (may be NULL) gets how many. */
int auth_sessions_revoke_user(db_t *db, arena_t *a, long long user_id,
			      long long except_id, int *revoked) WARN_UNUSED;

/* Deletes sessions and throttle rows that ended more than a day ago.
 * *deleted (may be NULL) gets how many rows went. */
int auth_prune(db_t *db, arena_t *a, long long *deleted) WARN_UNUSED;

/* ------------------------------------------------------------ CSRF */

/* A CSRF token for a form of session s: a fresh random nonce and the
 * HMAC-SHA256, under the session's secret, of the session id, form_id
 * (NULL or "" for one token that fits every form; at most
 * AUTH_FORM_ID_MAX bytes) and the nonce, base64url, NUL-terminated.
 * Each call gives a different token (no secret repeats in pages, against
 * compression attacks); all stay valid for the session's life.
 * ERR_INVALID for a session without secret or a too long form_id. */
int auth_csrf_token(const auth_session_t *s, const char *form_id,
		    char out[AUTH_CSRF_SIZE]) WARN_UNUSED;

/* 0 when token was made by auth_csrf_token for this session and form_id;
 * the MAC is compared in constant time.  ERR_FORBIDDEN otherwise
 * (missing, malformed, another session's or another form's token). */
int auth_csrf_verify(const auth_session_t *s, const char *form_id,
		     str_t token) WARN_UNUSED;

/* ----------------------------------------------------------- roles */

/* Ordered: each role may do everything the one before it may. */
typedef enum {
	AUTH_ROLE_NONE = 0,
	AUTH_ROLE_VIEWER,
	AUTH_ROLE_EDITOR,
	AUTH_ROLE_OWNER,
	AUTH_ROLE_ADMIN /* platform operator: every tenant */
} auth_role_t;

typedef enum {
	AUTH_READ = 0,           /* see the tenant, its pages, workflows, log */
	AUTH_EDIT,               /* change theme, page, workflows */
	AUTH_PUBLISH,            /* publish a page, deploy a workflow */
	AUTH_MANAGE_MEMBERS,     /* invite, change and remove members */
	AUTH_MANAGE_KEYS,        /* create and revoke API keys */
	AUTH_MANAGE_CREDENTIALS, /* add and delete secrets */
	AUTH_ACTION_COUNT
} auth_action_t;

/* The role user has for tenant_id: AUTH_ROLE_ADMIN for a platform admin,
 * the membership's role, or AUTH_ROLE_NONE (the handler then answers 404,
 * as for a tenant that does not exist).  ERR_DB. */
int auth_role_for(db_t *db, arena_t *a, const auth_user_t *user,
		  long long tenant_id, auth_role_t *out) WARN_UNUSED;

/* Whether role may do action (a fixed table; see auth.c). */
bool auth_can(auth_role_t role, auth_action_t action);

/* "none", "viewer", "editor", "owner", "admin". */
const char *auth_role_name(auth_role_t role);
/* The role named name (one of the above).  ERR_INVALID otherwise. */
int auth_role_parse(str_t name, auth_role_t *out) WARN_UNUSED;

/* Makes user_id a member of tenant_id with role (viewer, editor or owner),
 * or changes the role.  *before (may be NULL) gets the previous role
 * (AUTH_ROLE_NONE if there was none), for the audit entry.  ERR_INVALID
 * for another role or an unknown user or tenant. */
int auth_member_set(db_t *db, arena_t *a, long long user_id,
		    long long tenant_id, auth_role_t role,
		    auth_role_t *before) WARN_UNUSED;

/* Removes a membership; *before (may be NULL) gets the role it had.
 * ERR_NOT_FOUND when there was none. */
int auth_member_remove(db_t *db, arena_t *a, long long user_id,
		       long long tenant_id, auth_role_t *before) WARN_UNUSED;

#endif
