/* The job queue against a real PostgreSQL.  Each test gets a private
 * schema holding its own copy of sql/0002_jobs.sql (tenants come from the
 * migrated public schema), so a running deployer never sees these jobs. */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_db_util.h"
#include "jobs.h"
#include "log.h"

#define MIGRATION TOP_SRCDIR "/sql/0002_jobs.sql"

static db_t *db;
static arena_t *arena;
static char schema[64];
static char *url;

static const char *const test_kinds[] = {"test.a", "test.b"};
static const jobs_claimer_t worker_a = {"host:1:a/w0", test_kinds, 2, 30};
static const jobs_claimer_t worker_b = {"host:2:b/w0", test_kinds, 2, 30};

static char *read_migration(void)
{
	FILE *f = fopen(MIGRATION, "r");
	ck_assert_msg(f != NULL, "cannot open %s", MIGRATION);
	char *text = calloc(1, 1 << 20);
	size_t n = fread(text, 1, (1 << 20) - 1, f);
	fclose(f);
	ck_assert(n > 0);
	return text;
}

static void run_sql(const char *sql)
{
	int rc = db_exec_script(db, sql);
	ck_assert_msg(rc == 0, "%s: %s", sql, db_error(db));
}

static long long sql_ll(const char *sql)
{
	PGresult *res;
	int rc = db_query(db, arena, sql, 0, NULL, &res);
	ck_assert_msg(rc == 0, "%s: %s", sql, db_error(db));
	return db_value_ll(res, 0, 0);
}

static double sql_double(const char *sql)
{
	PGresult *res;
	int rc = db_query(db, arena, sql, 0, NULL, &res);
	ck_assert_msg(rc == 0, "%s: %s", sql, db_error(db));
	return strtod(db_value(res, 0, 0), NULL);
}

static void setup(void)
{
	log_init("check_jobs", LOG_ERROR);
	snprintf(schema, sizeof schema, "jobstest_%d", (int)getpid());
	char path[128];
	snprintf(path, sizeof path, "%s,public", schema);
	url = test_url_with_schema(path);
	db = db_open(url);
	ck_assert(db && db_ok(db));
	arena = arena_new(0);
	char sql[256];
	snprintf(sql, sizeof sql,
		 "DROP SCHEMA IF EXISTS %s CASCADE; CREATE SCHEMA %s", schema,
		 schema);
	run_sql(sql);
	char *migration = read_migration();
	run_sql(migration);
	free(migration);
}

static void teardown(void)
{
	char sql[128];
	snprintf(sql, sizeof sql, "DROP SCHEMA %s CASCADE", schema);
	run_sql(sql);
	arena_free(arena);
	db_close(db);
	free(url);
}

static long long enqueue_kind(const char *kind, int priority)
{
	jobs_new_t j = {.kind = kind, .priority = priority};
	long long id = 0;
	ck_assert_int_eq(jobs_enqueue(db, arena, &j, &id, NULL), 0);
	ck_assert(id > 0);
	return id;
}

static long long enqueue_one(void)
{
	return enqueue_kind("test.a", 0);
}

static jobs_job_t claim_one(const jobs_claimer_t *w)
{
	jobs_job_t *jobs;
	int n;
	ck_assert_int_eq(jobs_claim(db, arena, w, 1, &jobs, &n), 0);
	ck_assert_int_eq(n, 1);
	return jobs[0];
}

static int claim_count(const jobs_claimer_t *w, int max)
{
	jobs_job_t *jobs;
	int n;
	ck_assert_int_eq(jobs_claim(db, arena, w, max, &jobs, &n), 0);
	return n;
}

static jobs_token_t token_of(const jobs_claimer_t *w, const jobs_job_t *j)
{
	return (jobs_token_t){j->id, j->attempt, w->worker};
}

static jobs_info_t info_of(long long id)
{
	jobs_info_t info;
	ck_assert_int_eq(jobs_get(db, arena, id, &info), 0);
	return info;
}

/* Makes a waiting job due now, as if its backoff had passed. */
static void make_due(long long id)
{
	char sql[128];
	snprintf(sql, sizeof sql,
		 "UPDATE jobs SET run_at = now() - interval '1 ms' "
		 "WHERE id = %lld",
		 id);
	run_sql(sql);
}

static void expire_lease(long long id)
{
	char sql[128];
	snprintf(sql, sizeof sql,
		 "UPDATE jobs SET locked_until = now() - interval '1 s' "
		 "WHERE id = %lld",
		 id);
	run_sql(sql);
}

static double run_at_from_now(long long id)
{
	char sql[128];
	snprintf(sql, sizeof sql,
		 "SELECT extract(epoch FROM run_at - now()) FROM jobs "
		 "WHERE id = %lld",
		 id);
	return sql_double(sql);
}

/* ------------------------------------------------------------ tests */

START_TEST(enqueue_claim_complete)
{
	jobs_new_t j = {.kind = "test.a",
			.payload = "{\"q\":\"a \\\"quoted\\\" \\\\ value\",\"n\":1}",
			.request_id = "req-123",
			.tenant_id = 0};
	long long id;
	bool created;
	ck_assert_int_eq(jobs_enqueue(db, arena, &j, &id, &created), 0);
	ck_assert(created);
	jobs_job_t c = claim_one(&worker_a);
	ck_assert_int_eq(c.id, id);
	ck_assert_str_eq(c.kind, "test.a");
	ck_assert_int_eq(c.attempt, 1);
	ck_assert_int_eq(c.max_attempts, JOBS_DEFAULT_MAX_ATTEMPTS);
	ck_assert_str_eq(c.request_id, "req-123");
	ck_assert_ptr_nonnull(strstr(c.payload, "a \\\"quoted\\\" \\\\ value"));
	jobs_info_t info = info_of(id);
	ck_assert_int_eq(info.state, JOBS_RUNNING);
	ck_assert_str_eq(info.locked_by, worker_a.worker);
	ck_assert_ptr_nonnull(info.locked_until);
	ck_assert_int_eq(claim_count(&worker_b, 10), 0);

	jobs_token_t t = token_of(&worker_a, &c);
	ck_assert_int_eq(jobs_complete(db, arena, &t), 0);
	info = info_of(id);
	ck_assert_int_eq(info.state, JOBS_SUCCEEDED);
	ck_assert_ptr_nonnull(info.finished_at);
	ck_assert_ptr_null(info.locked_until);
	/* a second report of the same claim changes nothing */
	ck_assert_int_eq(jobs_complete(db, arena, &t), ERR_CONFLICT);
}
END_TEST

START_TEST(request_id_defaults_to_the_enqueuers)
{
	log_set_request_id("from-the-request");
	long long id = enqueue_one();
	log_set_request_id(NULL);
	ck_assert_str_eq(info_of(id).request_id, "from-the-request");
	long long plain = enqueue_one();
	ck_assert_ptr_null(info_of(plain).request_id);
}
END_TEST

START_TEST(backoff_formula_bounds_and_jitter)
{
	PGresult *res;
	const char *sql =
		"SELECT a, min(b), max(b) FROM generate_series(1, 14) a,"
		" LATERAL (SELECT jobs_backoff_seconds(a) b"
		"          FROM generate_series(1, 400) WHERE a > 0) s"
		" GROUP BY a ORDER BY a";
	ck_assert_int_eq(db_query(db, arena, sql, 0, NULL, &res), 0);
	ck_assert_int_eq(db_rows(res), 14);
	for (int r = 0; r < 14; r++) {
		int a = (int)db_value_ll(res, r, 0);
		double base = a >= 12 ? 3600 : (double)(1 << a);
		if (base > 3600)
			base = 3600;
		double lo = strtod(db_value(res, r, 1), NULL);
		double hi = strtod(db_value(res, r, 2), NULL);
		ck_assert_msg(lo >= 0.75 * base && hi < 1.25 * base,
			      "attempt %d: %f..%f outside %f +-25%%", a, lo, hi,
			      base);
		/* jitter really spreads: 400 draws cover most of the range */
		ck_assert_msg(hi - lo > 0.35 * base, "attempt %d: no jitter", a);
	}
}
END_TEST

START_TEST(retry_schedule_follows_backoff)
{
	long long id = enqueue_one();
	double lo[] = {1.5, 3.0, 6.0}, hi[] = {2.5, 5.0, 10.0};
	for (int attempt = 1; attempt <= 3; attempt++) {
		jobs_job_t c = claim_one(&worker_a);
		ck_assert_int_eq(c.attempt, attempt);
		jobs_token_t t = token_of(&worker_a, &c);
		jobs_state_t st;
		ck_assert_int_eq(jobs_fail(db, arena, &t, true, "boom", &st), 0);
		ck_assert_int_eq(st, JOBS_AVAILABLE);
		double wait = run_at_from_now(id);
		ck_assert_msg(wait >= lo[attempt - 1] - 0.05 &&
				      wait < hi[attempt - 1],
			      "attempt %d waits %f", attempt, wait);
		/* not claimable before its time */
		ck_assert_int_eq(claim_count(&worker_a, 5), 0);
		make_due(id);
	}
	jobs_info_t info = info_of(id);
	ck_assert_int_eq(info.attempts, 3);
	ck_assert_str_eq(info.last_error, "boom");
	ck_assert_ptr_null(info.finished_at);
}
END_TEST

START_TEST(dead_after_max_attempts)
{
	jobs_new_t j = {.kind = "test.a", .max_attempts = 3};
	long long id;
	ck_assert_int_eq(jobs_enqueue(db, arena, &j, &id, NULL), 0);
	jobs_state_t st = JOBS_AVAILABLE;
	for (int attempt = 1; attempt <= 3; attempt++) {
		jobs_job_t c = claim_one(&worker_a);
		jobs_token_t t = token_of(&worker_a, &c);
		char err[32];
		snprintf(err, sizeof err, "failure %d", attempt);
		ck_assert_int_eq(jobs_fail(db, arena, &t, true, err, &st), 0);
		ck_assert_int_eq(st, attempt < 3 ? JOBS_AVAILABLE : JOBS_DEAD);
		make_due(id);
	}
	ck_assert_int_eq(claim_count(&worker_a, 5), 0);
	jobs_info_t info = info_of(id);
	ck_assert_int_eq(info.state, JOBS_DEAD);
	ck_assert_int_eq(info.attempts, 3);
	ck_assert_str_eq(info.last_error, "failure 3");
	ck_assert_ptr_nonnull(info.finished_at);
}
END_TEST

START_TEST(non_retryable_error_is_dead_at_once)
{
	long long id = enqueue_one();
	jobs_job_t c = claim_one(&worker_a);
	jobs_token_t t = token_of(&worker_a, &c);
	jobs_state_t st;
	ck_assert_int_eq(jobs_fail(db, arena, &t, false, "bad input", &st), 0);
	ck_assert_int_eq(st, JOBS_DEAD);
	jobs_info_t info = info_of(id);
	ck_assert_int_eq(info.attempts, 1);
	ck_assert_str_eq(info.last_error, "bad input");
}
END_TEST

START_TEST(retry_of_a_dead_job)
{
	jobs_new_t j = {.kind = "test.a", .max_attempts = 1};
	long long id;
	ck_assert_int_eq(jobs_enqueue(db, arena, &j, &id, NULL), 0);
	ck_assert_int_eq(jobs_retry(db, arena, id), ERR_CONFLICT);
	jobs_job_t c = claim_one(&worker_a);
	jobs_token_t t = token_of(&worker_a, &c);
	ck_assert_int_eq(jobs_fail(db, arena, &t, true, "x", NULL), 0);
	ck_assert_int_eq(info_of(id).state, JOBS_DEAD);
	ck_assert_int_eq(jobs_retry(db, arena, id), 0);
	jobs_info_t info = info_of(id);
	ck_assert_int_eq(info.state, JOBS_AVAILABLE);
	ck_assert_int_eq(info.max_attempts, 2);
	ck_assert_ptr_null(info.finished_at);
	c = claim_one(&worker_a);
	ck_assert_int_eq(c.attempt, 2);
	ck_assert_int_eq(jobs_retry(db, arena, 999999), ERR_NOT_FOUND);
}
END_TEST

START_TEST(cancel_pending_job)
{
	long long id = enqueue_one();
	jobs_state_t st;
	ck_assert_int_eq(jobs_cancel(db, arena, id, &st), 0);
	ck_assert_int_eq(st, JOBS_CANCELLED);
	ck_assert_int_eq(claim_count(&worker_a, 5), 0);
	jobs_info_t info = info_of(id);
	ck_assert_int_eq(info.state, JOBS_CANCELLED);
	ck_assert_int_eq(info.attempts, 0);
	ck_assert_ptr_nonnull(info.finished_at);
	ck_assert_int_eq(jobs_cancel(db, arena, id, &st), ERR_CONFLICT);
	ck_assert_int_eq(jobs_cancel(db, arena, 999999, &st), ERR_NOT_FOUND);
	/* a cancelled job can be retried */
	ck_assert_int_eq(jobs_retry(db, arena, id), 0);
	ck_assert_int_eq(claim_count(&worker_a, 5), 1);
}
END_TEST

static void note_id(const char *channel, const char *payload, void *ctx)
{
	(void)channel;
	*(long long *)ctx = strtoll(payload, NULL, 10);
}

START_TEST(cancel_running_job)
{
	db_t *listener = db_open(url);
	ck_assert_int_eq(db_listen(listener, JOBS_CANCEL_CHANNEL), 0);
	long long id = enqueue_one();
	jobs_job_t c = claim_one(&worker_a);
	jobs_state_t st;
	ck_assert_int_eq(jobs_cancel(db, arena, id, &st), 0);
	ck_assert_int_eq(st, JOBS_RUNNING);

	/* the worker is told at once ... */
	long long told = 0;
	for (int i = 0; i < 50 && !told; i++) {
		struct pollfd p = {.fd = db_socket(listener), .events = POLLIN};
		poll(&p, 1, 100);
		ck_assert(db_notifications(listener, note_id, &told) >= 0);
	}
	ck_assert_int_eq(told, id);
	/* ... and again by its heartbeat */
	jobs_lease_t lease = {.token = token_of(&worker_a, &c)};
	ck_assert_int_eq(jobs_heartbeat(db, arena, &lease, 1, 30), 0);
	ck_assert(lease.held);
	ck_assert(lease.cancel_requested);
	/* a failure of a job being cancelled does not retry it */
	ck_assert_int_eq(jobs_fail(db, arena, &lease.token, true, "stopped", &st),
			 0);
	ck_assert_int_eq(st, JOBS_CANCELLED);
	ck_assert_ptr_nonnull(info_of(id).finished_at);
	db_close(listener);
}
END_TEST

START_TEST(cancelled_outcome_ends_cancelled)
{
	enqueue_one();
	jobs_job_t c = claim_one(&worker_a);
	jobs_report_t r = {.token = token_of(&worker_a, &c),
			   .outcome = JOBS_OUT_CANCELLED};
	ck_assert_int_eq(jobs_report(db, arena, &r, 1), 0);
	ck_assert_int_eq(r.state, JOBS_CANCELLED);
}
END_TEST

START_TEST(idempotency_keys)
{
	jobs_new_t j = {.kind = "test.a", .idempotency_key = "deploy:7:abc"};
	long long first, second;
	bool created;
	ck_assert_int_eq(jobs_enqueue(db, arena, &j, &first, &created), 0);
	ck_assert(created);
	ck_assert_int_eq(jobs_enqueue(db, arena, &j, &second, &created), 0);
	ck_assert(!created);
	ck_assert_int_eq(first, second);
	/* also while it runs, and within one batch */
	jobs_job_t c = claim_one(&worker_a);
	jobs_new_t many[3] = {j, {.kind = "test.a", .idempotency_key = "other"},
			      {.kind = "test.a", .idempotency_key = "other"}};
	long long ids[3];
	ck_assert_int_eq(jobs_enqueue_many(db, arena, many, 3, ids), 0);
	ck_assert_int_eq(ids[0], first);
	ck_assert(ids[1] != first);
	ck_assert_int_eq(ids[1], ids[2]);
	ck_assert_int_eq(sql_ll("SELECT count(*) FROM jobs"), 2);
	/* once finished, the key names new work */
	jobs_token_t t = token_of(&worker_a, &c);
	ck_assert_int_eq(jobs_complete(db, arena, &t), 0);
	ck_assert_int_eq(jobs_enqueue(db, arena, &j, &second, &created), 0);
	ck_assert(created);
	ck_assert(second != first);
}
END_TEST

START_TEST(delayed_jobs_are_not_claimed_early)
{
	jobs_new_t j = {.kind = "test.a", .delay_ms = 400};
	long long id;
	ck_assert_int_eq(jobs_enqueue(db, arena, &j, &id, NULL), 0);
	ck_assert_int_eq(claim_count(&worker_a, 10), 0);
	usleep(200 * 1000);
	ck_assert_int_eq(claim_count(&worker_a, 10), 0);
	usleep(300 * 1000);
	ck_assert_int_eq(claim_one(&worker_a).id, id);
}
END_TEST

START_TEST(priorities_then_age)
{
	long long p5 = enqueue_kind("test.a", 5);
	long long first0 = enqueue_kind("test.b", 0);
	long long pm1 = enqueue_kind("test.a", -1);
	long long second0 = enqueue_kind("test.a", 0);
	long long p3 = enqueue_kind("test.b", 3);
	long long want[] = {pm1, first0, second0, p3, p5};
	jobs_job_t *jobs;
	int n;
	ck_assert_int_eq(jobs_claim(db, arena, &worker_a, 3, &jobs, &n), 0);
	ck_assert_int_eq(n, 3);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(jobs[i].id, want[i]);
	for (int i = 3; i < 5; i++)
		ck_assert_int_eq(claim_one(&worker_b).id, want[i]);
}
END_TEST

START_TEST(only_the_workers_kinds_are_claimed)
{
	enqueue_kind("test.other", 0);
	long long b = enqueue_kind("test.b", 0);
	const char *const only_b[] = {"test.b"};
	jobs_claimer_t w = {"host:3:c/w0", only_b, 1, 30};
	ck_assert_int_eq(claim_one(&w).id, b);
	ck_assert_int_eq(claim_count(&w, 10), 0);
	ck_assert_int_eq(claim_count(&worker_a, 10), 0);
}
END_TEST

START_TEST(stale_worker_cannot_touch_a_rescued_job)
{
	long long id = enqueue_one();
	jobs_job_t old = claim_one(&worker_a);
	expire_lease(id);
	int rescued;
	ck_assert_int_eq(jobs_rescue(db, arena, 100, &rescued), 0);
	ck_assert_int_eq(rescued, 1);
	jobs_info_t info = info_of(id);
	ck_assert_int_eq(info.state, JOBS_AVAILABLE);
	ck_assert_int_eq(info.attempts, 1);
	ck_assert_ptr_nonnull(strstr(info.last_error, "lease expired"));

	jobs_job_t fresh = claim_one(&worker_b);
	ck_assert_int_eq(fresh.attempt, 2);
	jobs_token_t stale = token_of(&worker_a, &old);
	ck_assert_int_eq(jobs_complete(db, arena, &stale), ERR_CONFLICT);
	ck_assert_int_eq(jobs_fail(db, arena, &stale, false, "x", NULL),
			 ERR_CONFLICT);
	jobs_lease_t lease = {.token = stale};
	ck_assert_int_eq(jobs_heartbeat(db, arena, &lease, 1, 30), 0);
	ck_assert(!lease.held);
	ck_assert_int_eq(info_of(id).state, JOBS_RUNNING);
	ck_assert_str_eq(info_of(id).locked_by, worker_b.worker);

	/* even a stale claim by the same worker (an older attempt) fails */
	jobs_token_t same_worker_old = {id, 1, worker_b.worker};
	ck_assert_int_eq(jobs_complete(db, arena, &same_worker_old),
			 ERR_CONFLICT);
	jobs_token_t t = token_of(&worker_b, &fresh);
	ck_assert_int_eq(jobs_complete(db, arena, &t), 0);
	ck_assert_int_eq(info_of(id).state, JOBS_SUCCEEDED);
}
END_TEST

START_TEST(rescuer_rules)
{
	jobs_new_t once = {.kind = "test.a", .max_attempts = 1};
	long long last_try, cancelling, alive, done;
	ck_assert_int_eq(jobs_enqueue(db, arena, &once, &last_try, NULL), 0);
	cancelling = enqueue_one();
	alive = enqueue_one();
	done = enqueue_one();
	jobs_job_t *jobs;
	int n;
	ck_assert_int_eq(jobs_claim(db, arena, &worker_a, 4, &jobs, &n), 0);
	ck_assert_int_eq(n, 4);
	ck_assert_int_eq(jobs_cancel(db, arena, cancelling, NULL), 0);
	expire_lease(last_try);
	expire_lease(cancelling);
	expire_lease(done);
	for (int i = 0; i < n; i++) {
		if (jobs[i].id != done)
			continue;
		jobs_token_t t = token_of(&worker_a, &jobs[i]);
		ck_assert_int_eq(jobs_complete(db, arena, &t), 0);
	}
	int rescued;
	ck_assert_int_eq(jobs_rescue(db, arena, 100, &rescued), 0);
	ck_assert_int_eq(rescued, 2);
	ck_assert_int_eq(info_of(last_try).state, JOBS_DEAD);
	ck_assert_ptr_nonnull(info_of(last_try).finished_at);
	ck_assert_int_eq(info_of(cancelling).state, JOBS_CANCELLED);
	ck_assert_int_eq(info_of(alive).state, JOBS_RUNNING);
	ck_assert_int_eq(info_of(done).state, JOBS_SUCCEEDED);
	ck_assert_int_eq(jobs_rescue(db, arena, 100, &rescued), 0);
	ck_assert_int_eq(rescued, 0);
}
END_TEST

START_TEST(heartbeat_extends_the_lease)
{
	long long id = enqueue_one();
	jobs_job_t c = claim_one(&worker_a);
	expire_lease(id);
	jobs_lease_t lease = {.token = token_of(&worker_a, &c)};
	ck_assert_int_eq(jobs_heartbeat(db, arena, &lease, 1, 60), 0);
	ck_assert(lease.held);
	ck_assert(!lease.cancel_requested);
	char sql[128];
	snprintf(sql, sizeof sql,
		 "SELECT extract(epoch FROM locked_until - now()) FROM jobs "
		 "WHERE id = %lld",
		 id);
	ck_assert(sql_double(sql) > 59);
	int rescued;
	ck_assert_int_eq(jobs_rescue(db, arena, 100, &rescued), 0);
	ck_assert_int_eq(rescued, 0);
}
END_TEST

START_TEST(giving_back_unstarted_and_interrupted_jobs)
{
	jobs_new_t once = {.kind = "test.a", .max_attempts = 1};
	long long a, b;
	ck_assert_int_eq(jobs_enqueue(db, arena, &once, &a, NULL), 0);
	b = enqueue_one();
	jobs_job_t *jobs;
	int n;
	ck_assert_int_eq(jobs_claim(db, arena, &worker_a, 2, &jobs, &n), 0);
	ck_assert_int_eq(n, 2);
	jobs_report_t r[2];
	for (int i = 0; i < 2; i++)
		r[i] = (jobs_report_t){
			.token = token_of(&worker_a, &jobs[i]),
			.outcome = jobs[i].id == a ? JOBS_OUT_UNSTARTED
						   : JOBS_OUT_INTERRUPTED,
			.error = jobs[i].id == a ? NULL : "deployer stopping"};
	ck_assert_int_eq(jobs_report(db, arena, r, 2), 0);
	ck_assert_int_eq(info_of(a).state, JOBS_AVAILABLE);
	ck_assert_int_eq(info_of(a).attempts, 0);
	ck_assert_ptr_null(info_of(a).locked_by);
	ck_assert_int_eq(info_of(b).state, JOBS_AVAILABLE);
	ck_assert_int_eq(info_of(b).attempts, 1);
	/* given back at once, not after a backoff */
	ck_assert_int_eq(claim_count(&worker_b, 10), 2);
}
END_TEST

START_TEST(orphans_of_a_lost_claim_are_given_back)
{
	long long plain = enqueue_one();
	long long cancelling = enqueue_one();
	long long others = enqueue_one();
	/* worker a's claim reply was "lost": it holds nothing in memory */
	ck_assert_int_eq(claim_count(&worker_a, 2), 2);
	ck_assert_int_eq(claim_one(&worker_b).id, others);
	ck_assert_int_eq(jobs_cancel(db, arena, cancelling, NULL), 0);
	int released;
	ck_assert_int_eq(jobs_release_orphans(db, arena, worker_a.worker,
					      &released),
			 0);
	ck_assert_int_eq(released, 2);
	ck_assert_int_eq(info_of(plain).state, JOBS_AVAILABLE);
	ck_assert_int_eq(info_of(plain).attempts, 0);
	ck_assert_int_eq(info_of(cancelling).state, JOBS_CANCELLED);
	ck_assert_int_eq(info_of(others).state, JOBS_RUNNING);
}
END_TEST

START_TEST(batch_enqueue_and_report)
{
	enum { N = 600 };
	jobs_new_t *many = calloc(N, sizeof *many);
	long long *ids = calloc(N, sizeof *ids);
	char payload[N][48];
	for (int i = 0; i < N; i++) {
		snprintf(payload[i], sizeof payload[i], "{\"i\":%d,\"s\":\"\\\"%d\"}",
			 i, i);
		many[i] = (jobs_new_t){.kind = i % 2 ? "test.a" : "test.b",
				       .payload = payload[i]};
	}
	ck_assert_int_eq(jobs_enqueue_many(db, arena, many, N, ids), 0);
	for (int i = 1; i < N; i++)
		ck_assert(ids[i] > ids[i - 1]);
	ck_assert_int_eq(sql_ll("SELECT count(*) FROM jobs WHERE payload->>'s' "
				"= '\"' || (payload->>'i')"),
			 N);

	jobs_job_t *jobs;
	int n;
	ck_assert_int_eq(jobs_claim(db, arena, &worker_a, 500, &jobs, &n), 0);
	ck_assert_int_eq(n, 500);
	jobs_report_t *r = calloc(n + 1, sizeof *r);
	for (int i = 0; i < n; i++)
		r[i] = (jobs_report_t){.token = token_of(&worker_a, &jobs[i]),
				       .outcome = JOBS_OUT_SUCCEEDED};
	/* a stale token in the batch is refused alone */
	r[n] = (jobs_report_t){.token = {ids[N - 1], 7, worker_a.worker},
			       .outcome = JOBS_OUT_SUCCEEDED};
	ck_assert_int_eq(jobs_report(db, arena, r, n + 1), 0);
	for (int i = 0; i < n; i++)
		ck_assert_int_eq(r[i].state, JOBS_SUCCEEDED);
	ck_assert_int_eq(r[n].state, -1);
	ck_assert_int_eq(sql_ll("SELECT count(*) FROM jobs "
				"WHERE state = 'succeeded'"),
			 500);
	ck_assert_int_eq(claim_count(&worker_b, 1000), N - 500);
	free(r);
	free(ids);
	free(many);
}
END_TEST

START_TEST(prune_finished_jobs_in_batches)
{
	for (int i = 0; i < 7; i++)
		enqueue_one();
	jobs_job_t *jobs;
	int n;
	ck_assert_int_eq(jobs_claim(db, arena, &worker_a, 5, &jobs, &n), 0);
	for (int i = 0; i < n; i++) {
		jobs_token_t t = token_of(&worker_a, &jobs[i]);
		ck_assert_int_eq(jobs_complete(db, arena, &t), 0);
	}
	/* four finished two days ago, one just now, two never ran */
	run_sql("UPDATE jobs SET finished_at = now() - interval '2 days' "
		"WHERE id IN (SELECT id FROM jobs WHERE state = 'succeeded' "
		"ORDER BY id LIMIT 4)");
	long long deleted;
	ck_assert_int_eq(jobs_prune(db, arena, 86400, 3, 1, &deleted), 0);
	ck_assert_int_eq(deleted, 3);
	ck_assert_int_eq(jobs_prune(db, arena, 86400, 3, 10, &deleted), 0);
	ck_assert_int_eq(deleted, 1);
	ck_assert_int_eq(sql_ll("SELECT count(*) FROM jobs"), 3);
	ck_assert_int_eq(sql_ll("SELECT count(*) FROM jobs "
				"WHERE state = 'available'"),
			 2);
}
END_TEST

START_TEST(stats_count_states)
{
	for (int i = 0; i < 4; i++)
		enqueue_one();
	jobs_new_t later = {.kind = "test.a", .delay_ms = 60000};
	long long id;
	ck_assert_int_eq(jobs_enqueue(db, arena, &later, &id, NULL), 0);
	jobs_job_t c = claim_one(&worker_a);
	jobs_token_t t = token_of(&worker_a, &c);
	ck_assert_int_eq(jobs_fail(db, arena, &t, false, "x", NULL), 0);
	c = claim_one(&worker_a);
	run_sql("UPDATE jobs SET run_at = now() - interval '5 s' "
		"WHERE state = 'available' AND run_at <= now()");
	jobs_stats_t s;
	ck_assert_int_eq(jobs_stats(db, arena, &s), 0);
	ck_assert_int_eq(s.count[JOBS_AVAILABLE], 3);
	ck_assert_int_eq(s.count[JOBS_RUNNING], 1);
	ck_assert_int_eq(s.count[JOBS_DEAD], 1);
	ck_assert_int_eq(s.count[JOBS_SUCCEEDED], 0);
	ck_assert(s.oldest_available_seconds >= 5 &&
		  s.oldest_available_seconds < 60);
}
END_TEST

START_TEST(list_filters)
{
	enqueue_kind("test.a", 0);
	enqueue_kind("test.b", 0);
	long long newest = enqueue_kind("test.b", 0);
	jobs_info_t *jobs;
	int n;
	jobs_filter_t f = {.state = -1, .kind = "test.b", .limit = 10};
	ck_assert_int_eq(jobs_list(db, arena, &f, &jobs, &n), 0);
	ck_assert_int_eq(n, 2);
	ck_assert_int_eq(jobs[0].id, newest);
	f = (jobs_filter_t){.state = JOBS_RUNNING, .limit = 10};
	ck_assert_int_eq(jobs_list(db, arena, &f, &jobs, &n), 0);
	ck_assert_int_eq(n, 0);
	f.limit = 0;
	ck_assert_int_eq(jobs_list(db, arena, &f, &jobs, &n), ERR_INVALID);
}
END_TEST

START_TEST(bad_input_is_refused)
{
	long long id;
	jobs_new_t bad_kind = {.kind = "Bad Kind"};
	ck_assert_int_eq(jobs_enqueue(db, arena, &bad_kind, &id, NULL),
			 ERR_INVALID);
	jobs_new_t bad_json = {.kind = "test.a", .payload = "{nope"};
	ck_assert_int_eq(jobs_enqueue(db, arena, &bad_json, &id, NULL),
			 ERR_INVALID);
	jobs_new_t no_tenant = {.kind = "test.a", .tenant_id = 987654321};
	ck_assert_int_eq(jobs_enqueue(db, arena, &no_tenant, &id, NULL),
			 ERR_INVALID);
	jobs_new_t neg = {.kind = "test.a", .delay_ms = -1};
	ck_assert_int_eq(jobs_enqueue(db, arena, &neg, &id, NULL), ERR_INVALID);
	/* all or nothing */
	jobs_new_t mixed[2] = {{.kind = "test.a"}, bad_json};
	long long ids[2];
	ck_assert_int_eq(jobs_enqueue_many(db, arena, mixed, 2, ids),
			 ERR_INVALID);
	ck_assert_int_eq(sql_ll("SELECT count(*) FROM jobs"), 0);
	jobs_job_t *jobs;
	int n;
	ck_assert_int_eq(jobs_claim(db, arena, &worker_a, 0, &jobs, &n),
			 ERR_INVALID);
}
END_TEST

static Suite *make_suite(void)
{
	Suite *s = suite_create("jobs");
	TCase *tc = tcase_create("queue");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, enqueue_claim_complete);
	tcase_add_test(tc, request_id_defaults_to_the_enqueuers);
	tcase_add_test(tc, backoff_formula_bounds_and_jitter);
	tcase_add_test(tc, retry_schedule_follows_backoff);
	tcase_add_test(tc, dead_after_max_attempts);
	tcase_add_test(tc, non_retryable_error_is_dead_at_once);
	tcase_add_test(tc, retry_of_a_dead_job);
	tcase_add_test(tc, cancel_pending_job);
	tcase_add_test(tc, cancel_running_job);
	tcase_add_test(tc, cancelled_outcome_ends_cancelled);
	tcase_add_test(tc, idempotency_keys);
	tcase_add_test(tc, delayed_jobs_are_not_claimed_early);
	tcase_add_test(tc, priorities_then_age);
	tcase_add_test(tc, only_the_workers_kinds_are_claimed);
	tcase_add_test(tc, stale_worker_cannot_touch_a_rescued_job);
	tcase_add_test(tc, rescuer_rules);
	tcase_add_test(tc, heartbeat_extends_the_lease);
	tcase_add_test(tc, giving_back_unstarted_and_interrupted_jobs);
	tcase_add_test(tc, orphans_of_a_lost_claim_are_given_back);
	tcase_add_test(tc, batch_enqueue_and_report);
	tcase_add_test(tc, prune_finished_jobs_in_batches);
	tcase_add_test(tc, stats_count_states);
	tcase_add_test(tc, list_filters);
	tcase_add_test(tc, bad_input_is_refused);
	suite_add_tcase(s, tc);
	return s;
}

CK_RUN_DB_SUITE(make_suite)
