#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_db_util.h"
#include "db.h"
#include "check_util.h"
#include "log.h"

static db_t *db;
static arena_t *arena;
static char schema[64];

static const db_stmt_t q_add = {"test_add", "SELECT $1::int + $2::int", 2};
static const db_stmt_t q_insert = {"test_insert",
				   "INSERT INTO u (k) VALUES ($1)", 1};

static void setup(void)
{
	log_init("check_db", LOG_ERROR);
	snprintf(schema, sizeof schema, "dbtest_%d", (int)getpid());
	char *url = test_url_with_schema(schema);
	db = db_open(url);
	free(url);
	ck_assert(db_ok(db));
	arena = arena_new(0);
	char sql[400];
	snprintf(sql, sizeof sql,
		 "DROP SCHEMA IF EXISTS %s CASCADE; CREATE SCHEMA %s;"
		 "CREATE TABLE %s.u (k text PRIMARY KEY CHECK (k <> ''))",
		 schema, schema, schema);
	ck_assert_int_eq(db_exec_script(db, sql), 0);
}

static void teardown(void)
{
	char sql[256];
	snprintf(sql, sizeof sql, "DROP SCHEMA %s CASCADE", schema);
	ck_assert_int_eq(db_exec_script(db, sql), 0);
	arena_free(arena);
	db_close(db);
}

START_TEST(prepared_statements_run_with_parameters)
{
	PGresult *r;
	const char *p[] = {"40", "2"};
	ck_assert_int_eq(db_exec(db, arena, &q_add, p, &r), 0);
	ck_assert_str_eq(db_value(r, 0, 0), "42");
	/* parameters are never SQL */
	const char *evil[] = {"x'); DROP TABLE u; --"};
	ck_assert_int_eq(db_exec(db, arena, &q_insert, evil, NULL), 0);
	ck_assert_int_eq(db_query(db, arena, "SELECT count(*) FROM u", 0, NULL, &r), 0);
	ck_assert_int_eq(db_value_ll(r, 0, 0), 1);
}
END_TEST

START_TEST(errors_map_to_our_codes)
{
	const char *k[] = {"a"};
	ck_assert_int_eq(db_exec(db, arena, &q_insert, k, NULL), 0);
	ck_assert_int_eq(db_exec(db, arena, &q_insert, k, NULL), ERR_CONFLICT);
	ck_assert_str_eq(db_sqlstate(db), "23505");
	const char *empty[] = {""};
	ck_assert_int_eq(db_exec(db, arena, &q_insert, empty, NULL), ERR_INVALID);
	const char *bad[] = {"x", "1"};
	ck_assert_int_eq(db_exec(db, arena, &q_add, bad, NULL), ERR_INVALID);
	ck_assert_int_eq(db_query(db, arena, "SELECT nope", 0, NULL, NULL), ERR_DB);
	ck_assert(strlen(db_error(db)) > 0);
}
END_TEST

START_TEST(transactions_roll_back)
{
	const char *k[] = {"t1"};
	ck_assert_int_eq(db_begin(db), 0);
	ck_assert(db_in_transaction(db));
	ck_assert_int_eq(db_exec(db, arena, &q_insert, k, NULL), 0);
	db_rollback(db);
	ck_assert(!db_in_transaction(db));
	PGresult *r;
	ck_assert_int_eq(db_query(db, arena, "SELECT count(*) FROM u", 0, NULL, &r), 0);
	ck_assert_int_eq(db_value_ll(r, 0, 0), 0);
}
END_TEST

START_TEST(reconnects_after_the_server_drops_us)
{
	PGresult *r;
	const char *p[] = {"1", "1"};
	ck_assert_int_eq(db_exec(db, arena, &q_add, p, &r), 0);
	/* Another session terminates ours, as a restart or failover would. */
	db_t *other = db_open(test_database_url());
	char sql[256];
	snprintf(sql, sizeof sql, "SELECT pg_terminate_backend(%d)",
		 PQbackendPID(db_conn(db)));
	ck_assert_int_eq(db_exec_script(other, sql), 0);
	db_close(other);
	/* outside a transaction the call is retried on a new connection,
	 * and the statement is prepared again there */
	ck_assert_int_eq(db_exec(db, arena, &q_add, p, &r), 0);
	ck_assert_str_eq(db_value(r, 0, 0), "2");
}
END_TEST

static int notes;
static void on_note(const char *channel, const char *payload, void *ctx)
{
	(void)ctx;
	ck_assert_str_eq(channel, "check_db_chan");
	ck_assert_str_eq(payload, "hello");
	notes++;
}

START_TEST(notifications_arrive)
{
	ck_assert_int_eq(db_listen(db, "check_db_chan"), 0);
	ck_assert_int_eq(db_listen(db, "Bad; chan"), ERR_INVALID);
	db_t *other = db_open(test_database_url());
	ck_assert_int_eq(db_exec_script(other, "NOTIFY check_db_chan, 'hello'"), 0);
	db_close(other);
	notes = 0;
	for (int i = 0; i < 100 && notes == 0; i++) {
		ck_assert_int_ge(db_notifications(db, on_note, NULL), 0);
		if (!notes)
			usleep(10000);
	}
	ck_assert_int_eq(notes, 1);
}
END_TEST

static Suite *db_suite(void)
{
	Suite *s = suite_create("db");
	TCase *tc = tcase_create("postgres");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, prepared_statements_run_with_parameters);
	tcase_add_test(tc, errors_map_to_our_codes);
	tcase_add_test(tc, transactions_roll_back);
	tcase_add_test(tc, reconnects_after_the_server_drops_us);
	tcase_add_test(tc, notifications_arrive);
	suite_add_tcase(s, tc);
	return s;
}

CK_RUN_DB_SUITE(db_suite)
