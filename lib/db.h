/* db: one libpq connection, prepared statements, transactions, reconnect.
 *
 * A module declares its statements once, as static data:
 *
 *   static const db_stmt_t q_page = {"page_by_slug",
 *       "SELECT json FROM pages WHERE tenant_id = $1", 1};
 *
 * and runs them with db_exec(); each statement is prepared on first use
 * on each connection and again after a reconnect.  Results belong to the
 * arena passed in (PQclear runs on reset).  Parameters are always sent
 * separately from SQL text: there is no call that splices values in.
 *
 * A db_t is used by one thread at a time. */
#ifndef CANOPY_DB_H
#define CANOPY_DB_H

#include <libpq-fe.h>
#include <stdbool.h>

#include "arena.h"
#include "err.h"

typedef struct db db_t;

typedef struct {
	const char *name; /* unique across the program */
	const char *sql;
	int nparams;
} db_stmt_t;

/* Connects to conninfo (a libpq URI or key=value string).  Returns NULL
 * only when conninfo cannot be parsed; a server that is down gives a
 * db_t that reconnects on next use (see db_ok). */
db_t *db_open(const char *conninfo);
void db_close(db_t *db);

/* True when the connection is up, trying one reconnect if it is not. */
bool db_ok(db_t *db);

/* The last error text from the server or libpq (borrowed). */
const char *db_error(const db_t *db);
/* The SQLSTATE of the last failed command ("" if none). */
const char *db_sqlstate(const db_t *db);

/* Runs a prepared statement.  params[i] NULL is SQL NULL.  On success *res
 * (if res is not NULL) holds the result, owned by arena.
 * Errors: ERR_CONFLICT (unique violation), ERR_INVALID (check, not-null,
 * foreign key or data errors), ERR_DB (anything else, incl. lost
 * connection: outside a transaction it is retried once after reconnect). */
int db_exec(db_t *db, arena_t *arena, const db_stmt_t *stmt,
	    const char *const *params, PGresult **res) WARN_UNUSED;

/* Runs SQL text with parameters, unprepared: for one-off admin and
 * migration commands.  nparams may be 0 for utility statements. */
int db_query(db_t *db, arena_t *arena, const char *sql, int nparams,
	     const char *const *params, PGresult **res) WARN_UNUSED;

/* Runs several statements separated by ';' (migrations). No parameters. */
int db_exec_script(db_t *db, const char *sql) WARN_UNUSED;

int db_begin(db_t *db) WARN_UNUSED;
int db_commit(db_t *db) WARN_UNUSED;
/* Rolls back if a transaction is open; safe to call on any path. */
void db_rollback(db_t *db);
bool db_in_transaction(const db_t *db);

/* LISTEN on a channel (an identifier of [a-z0-9_], checked). */
int db_listen(db_t *db, const char *channel) WARN_UNUSED;

/* The socket to poll for notifications, or -1 when disconnected. */
int db_socket(const db_t *db);

/* Reads pending input and calls fn for each notification received.
 * Returns the number handled, or ERR_DB when the connection dropped
 * (LISTENs are then lost: the caller must reconnect and listen again,
 * treating everything as changed). */
int db_notifications(db_t *db,
		     void (*fn)(const char *channel, const char *payload,
				void *ctx),
		     void *ctx);

/* Value of a cell as a C string (borrowed from res), NULL for SQL NULL. */
const char *db_value(const PGresult *res, int row, int col);
/* Value of a cell as long (0 for NULL or unparsable). */
long long db_value_ll(const PGresult *res, int row, int col);
int db_rows(const PGresult *res);

/* v as decimal text owned by the arena: a statement parameter. */
const char *db_param_ll(arena_t *arena, long long v);

/* The underlying connection, for the few callers that need libpq itself
 * (COPY, pipeline mode). NULL when disconnected. */
PGconn *db_conn(db_t *db);

/* Counts successful connects: a change tells a caller that the session
 * was replaced (by a reconnect, possibly inside db_exec's retry), so
 * anything tied to the old session (LISTEN, a statement whose reply was
 * lost) must be checked again. */
unsigned db_generation(const db_t *db);

#endif
