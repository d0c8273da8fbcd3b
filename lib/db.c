#include "db.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

#define PREPARED_MAX 256

struct db {
	char *conninfo;
	PGconn *conn;
	/* Statements prepared on the current connection: pointers into the
	 * modules' static db_stmt_t, so identity is the pointer. */
	const db_stmt_t *prepared[PREPARED_MAX];
	int nprepared;
	char error[512];
	char sqlstate[6];
	unsigned generation; /* successful connects so far */
};

static void set_error(db_t *db, const char *msg, const char *state)
{
	snprintf(db->error, sizeof db->error, "%s", msg ? msg : "unknown");
	/* libpq messages end in a newline; a log line should not. */
	size_t n = strlen(db->error);
	while (n && (db->error[n - 1] == '\n' || db->error[n - 1] == ' '))
		db->error[--n] = '\0';
	snprintf(db->sqlstate, sizeof db->sqlstate, "%s", state ? state : "");
}

static void quiet_notice(void *arg, const char *message)
{
	(void)arg;
	(void)message; /* NOTICEs (e.g. "relation exists, skipping") are noise */
}

static bool connect_now(db_t *db)
{
	if (db->conn)
		PQfinish(db->conn);
	db->nprepared = 0;
	db->conn = PQconnectdb(db->conninfo);
	if (PQstatus(db->conn) != CONNECTION_OK) {
		set_error(db, PQerrorMessage(db->conn), "08006");
		PQfinish(db->conn);
		db->conn = NULL;
		return false;
	}
	PQsetNoticeProcessor(db->conn, quiet_notice, NULL);
	db->generation++;
	return true;
}

db_t *db_open(const char *conninfo)
{
	char *errmsg = NULL;
	PQconninfoOption *opts = PQconninfoParse(conninfo, &errmsg);
	if (!opts) {
		log_error("DATABASE_URL cannot be parsed: %s",
			  errmsg ? errmsg : "out of memory");
		PQfreemem(errmsg);
		return NULL;
	}
	PQconninfoFree(opts);
	db_t *db = xcalloc(1, sizeof *db);
	db->conninfo = xstrdup(conninfo);
	if (!connect_now(db))
		log_warn("database not reachable yet: %s", db->error);
	return db;
}

void db_close(db_t *db)
{
	if (!db)
		return;
	if (db->conn)
		PQfinish(db->conn);
	free(db->conninfo);
	free(db);
}

bool db_ok(db_t *db)
{
	if (db->conn && PQstatus(db->conn) == CONNECTION_OK)
		return true;
	return connect_now(db);
}

const char *db_error(const db_t *db)
{
	return db->error;
}

const char *db_sqlstate(const db_t *db)
{
	return db->sqlstate;
}

bool db_in_transaction(const db_t *db)
{
	if (!db->conn)
		return false;
	PGTransactionStatusType t = PQtransactionStatus(db->conn);
	return t == PQTRANS_INTRANS || t == PQTRANS_INERROR ||
	       t == PQTRANS_ACTIVE;
}

static void clear_result(void *res)
{
	PQclear(res);
}

/* Maps a finished result to our error convention, once for every call. */
static int check_result(db_t *db, PGresult *r)
{
	ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK ||
	    st == PGRES_SINGLE_TUPLE)
		return 0;
	const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
	set_error(db, r ? PQresultErrorMessage(r) : PQerrorMessage(db->conn),
		  state);
	if (!state)
		return ERR_DB;
	if (strcmp(state, "23505") == 0)
		return ERR_CONFLICT;
	if (strncmp(state, "23", 2) == 0 || strncmp(state, "22", 2) == 0)
		return ERR_INVALID;
	return ERR_DB;
}

static bool lost(db_t *db)
{
	return !db->conn || PQstatus(db->conn) != CONNECTION_OK;
}

static int keep(db_t *db, arena_t *arena, PGresult *r, PGresult **res)
{
	int rc = check_result(db, r);
	if (rc || !res) {
		PQclear(r);
		return rc;
	}
	arena_on_reset(arena, clear_result, r);
	*res = r;
	return 0;
}

static bool is_prepared(const db_t *db, const db_stmt_t *stmt)
{
	for (int i = 0; i < db->nprepared; i++)
		if (db->prepared[i] == stmt)
			return true;
	return false;
}

static int prepare(db_t *db, const db_stmt_t *stmt)
{
	if (is_prepared(db, stmt))
		return 0;
	PGresult *r = PQprepare(db->conn, stmt->name, stmt->sql, stmt->nparams,
				NULL);
	int rc = check_result(db, r);
	PQclear(r);
	if (rc) {
		log_line_t *l = log_begin(LOG_ERROR, "prepare failed");
		log_str(l, "stmt", stmt->name);
		log_str(l, "error", db->error);
		log_end(l);
		return rc;
	}
	if (db->nprepared < PREPARED_MAX)
		db->prepared[db->nprepared++] = stmt;
	return 0;
}

/* One attempt: prepare if needed, then execute. */
static int exec_once(db_t *db, arena_t *arena, const db_stmt_t *stmt,
		     const char *const *params, PGresult **res)
{
	if (!db_ok(db))
		return ERR_DB;
	int rc = prepare(db, stmt);
	if (rc)
		return rc;
	PGresult *r = PQexecPrepared(db->conn, stmt->name, stmt->nparams,
				     params, NULL, NULL, 0);
	return keep(db, arena, r, res);
}

int db_exec(db_t *db, arena_t *arena, const db_stmt_t *stmt,
	    const char *const *params, PGresult **res)
{
	bool in_tx = db_in_transaction(db);
	int rc = exec_once(db, arena, stmt, params, res);
	/* A connection lost outside a transaction loses nothing: retry once
	 * on a fresh one.  Inside a transaction the caller must start over. */
	if (rc == ERR_DB && !in_tx && lost(db))
		rc = exec_once(db, arena, stmt, params, res);
	return rc;
}

int db_query(db_t *db, arena_t *arena, const char *sql, int nparams,
	     const char *const *params, PGresult **res)
{
	if (!db_ok(db))
		return ERR_DB;
	PGresult *r = PQexecParams(db->conn, sql, nparams, NULL, params, NULL,
				   NULL, 0);
	return keep(db, arena, r, res);
}

int db_exec_script(db_t *db, const char *sql)
{
	if (!db_ok(db))
		return ERR_DB;
	PGresult *r = PQexec(db->conn, sql);
	int rc = check_result(db, r);
	PQclear(r);
	return rc;
}

static int simple(db_t *db, const char *sql)
{
	if (!db_ok(db))
		return ERR_DB;
	PGresult *r = PQexec(db->conn, sql);
	int rc = check_result(db, r);
	PQclear(r);
	return rc;
}

int db_begin(db_t *db)
{
	return simple(db, "BEGIN");
}

int db_commit(db_t *db)
{
	return simple(db, "COMMIT");
}

void db_rollback(db_t *db)
{
	if (db_in_transaction(db))
		PQclear(PQexec(db->conn, "ROLLBACK"));
}

int db_listen(db_t *db, const char *channel)
{
	size_t n = strlen(channel);
	if (n == 0 || n > 63)
		return ERR_INVALID;
	for (size_t i = 0; i < n; i++) {
		char c = channel[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
			return ERR_INVALID;
	}
	char sql[80];
	snprintf(sql, sizeof sql, "LISTEN %s", channel);
	return simple(db, sql);
}

int db_socket(const db_t *db)
{
	return db->conn ? PQsocket(db->conn) : -1;
}

int db_notifications(db_t *db,
		     void (*fn)(const char *channel, const char *payload,
				void *ctx),
		     void *ctx)
{
	if (!db->conn)
		return ERR_DB;
	if (!PQconsumeInput(db->conn) || PQstatus(db->conn) != CONNECTION_OK) {
		set_error(db, PQerrorMessage(db->conn), "08006");
		return ERR_DB;
	}
	int n = 0;
	PGnotify *note;
	while ((note = PQnotifies(db->conn))) {
		fn(note->relname, note->extra, ctx);
		PQfreemem(note);
		n++;
	}
	return n;
}

const char *db_value(const PGresult *res, int row, int col)
{
	if (row >= PQntuples(res) || col >= PQnfields(res) ||
	    PQgetisnull(res, row, col))
		return NULL;
	return PQgetvalue(res, row, col);
}

long long db_value_ll(const PGresult *res, int row, int col)
{
	const char *v = db_value(res, row, col);
	return v ? strtoll(v, NULL, 10) : 0;
}

int db_rows(const PGresult *res)
{
	return PQntuples(res);
}

PGconn *db_conn(db_t *db)
{
	return db->conn;
}

unsigned db_generation(const db_t *db)
{
	return db->generation;
}

const char *db_param_ll(arena_t *arena, long long v)
{
	return arena_printf(arena, "%lld", v);
}
