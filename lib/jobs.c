#include "jobs.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"

/* Batches travel as PostgreSQL array literals ({a,b,"c d"}) unnested on
 * the server: one statement and one round trip for any number of rows,
 * with every value still a parameter, never SQL text. */
#define ARRAY_TEXT_MAX (64u << 20)
#define ENQUEUE_TRIES 5
#define STOP_POLL_MS 20

static const char *const state_names[JOBS_NSTATES] = {
	"available", "running", "succeeded", "dead", "cancelled"};

static const char *const outcome_names[] = {
	"succeeded", "retry", "fatal", "cancelled", "interrupted", "unstarted"};

const char *jobs_state_name(jobs_state_t state)
{
	return (unsigned)state < JOBS_NSTATES ? state_names[state] : NULL;
}

int jobs_state_parse(const char *name)
{
	for (int i = 0; name && i < JOBS_NSTATES; i++)
		if (strcmp(name, state_names[i]) == 0)
			return i;
	return -1;
}

/* ------------------------------------------------------------ arrays */

typedef struct {
	buf_t buf;
	int n;
} array_t;

static void array_init(array_t *a, arena_t *arena)
{
	buf_init(&a->buf, arena, ARRAY_TEXT_MAX);
	buf_putc(&a->buf, '{');
	a->n = 0;
}

static void array_sep(array_t *a)
{
	if (a->n++)
		buf_putc(&a->buf, ',');
}

static void array_ll(array_t *a, long long v)
{
	array_sep(a);
	buf_printf(&a->buf, "%lld", v);
}

/* NULL is SQL NULL; anything else is quoted, with " and \ escaped. */
static void array_text(array_t *a, const char *s)
{
	array_sep(a);
	if (!s) {
		buf_puts(&a->buf, "NULL");
		return;
	}
	buf_putc(&a->buf, '"');
	const char *run = s;
	for (; *s; s++) {
		if (*s != '"' && *s != '\\')
			continue;
		buf_append(&a->buf, run, (size_t)(s - run));
		buf_putc(&a->buf, '\\');
		run = s;
	}
	buf_append(&a->buf, run, (size_t)(s - run));
	buf_putc(&a->buf, '"');
}

/* A positive id, or NULL for 0. */
static void array_id(array_t *a, long long id)
{
	if (id > 0)
		array_ll(a, id);
	else
		array_text(a, NULL);
}

/* The finished literal, or NULL when it outgrew ARRAY_TEXT_MAX. */
static const char *array_done(array_t *a)
{
	buf_putc(&a->buf, '}');
	return a->buf.err ? NULL : buf_cstr(&a->buf);
}

static bool valid_batch(int n)
{
	return n >= 0 && n <= JOBS_BATCH_MAX;
}

/* ------------------------------------------------------------ enqueue */

/* Ids are drawn from the sequence up front so each input row knows its
 * id whether or not it was inserted; a key that a live job holds gives
 * that job's id instead.  A live job the statement's snapshot cannot see
 * (committed by someone else meanwhile, or earlier in this very batch)
 * comes back NULL, and the caller asks again. */
static const db_stmt_t q_enqueue = {
	"jobs_enqueue",
	"WITH input AS MATERIALIZED ("
	"  SELECT nextval('jobs_id_seq') AS id, t.*"
	"    FROM unnest($1::text[], $2::bigint[], $3::jsonb[], $4::smallint[],"
	"                $5::bigint[], $6::int[], $7::text[], $8::text[])"
	"         WITH ORDINALITY AS t(kind, tenant_id, payload, priority,"
	"                              delay_ms, max_attempts, key, request_id,"
	"                              ord)),"
	" ins AS ("
	"  INSERT INTO jobs (id, kind, tenant_id, payload, priority, run_at,"
	"                    max_attempts, idempotency_key, request_id)"
	"  SELECT id, kind, tenant_id, payload, priority,"
	"         now() + delay_ms * interval '1 millisecond', max_attempts,"
	"         key, request_id"
	"    FROM input ORDER BY ord"
	"  ON CONFLICT (idempotency_key) WHERE idempotency_key IS NOT NULL"
	"                                 AND state IN ('available', 'running')"
	"  DO NOTHING"
	"  RETURNING id)"
	"SELECT COALESCE(ins.id, live.id), ins.id IS NOT NULL"
	"  FROM input"
	"  LEFT JOIN ins ON ins.id = input.id"
	"  LEFT JOIN jobs live ON ins.id IS NULL"
	"       AND live.idempotency_key = input.key"
	"       AND live.state IN ('available', 'running')"
	" ORDER BY input.ord",
	8};

static const char *request_id_of(const jobs_new_t *j)
{
	if (j->request_id)
		return j->request_id;
	const char *rid = log_request_id();
	return rid && *rid ? rid : NULL;
}

/* Runs q_enqueue for the jobs whose ids[] is still 0; fills what it can. */
static int enqueue_pending(db_t *db, arena_t *arena, const jobs_new_t *jobs,
			   int n, long long *ids, bool *created, int *left)
{
	array_t a[8];
	for (int k = 0; k < 8; k++)
		array_init(&a[k], arena);
	int *which = arena_alloc(arena, sizeof(int) * (size_t)(n ? n : 1));
	int m = 0;
	for (int i = 0; i < n; i++) {
		if (ids[i])
			continue;
		const jobs_new_t *j = &jobs[i];
		if (!j->kind || j->delay_ms < 0 || j->max_attempts < 0 ||
		    j->priority < -32768 || j->priority > 32767)
			return ERR_INVALID;
		which[m++] = i;
		array_text(&a[0], j->kind);
		array_id(&a[1], j->tenant_id);
		array_text(&a[2], j->payload ? j->payload : "{}");
		array_ll(&a[3], j->priority);
		array_ll(&a[4], j->delay_ms);
		array_ll(&a[5], j->max_attempts ? j->max_attempts
						 : JOBS_DEFAULT_MAX_ATTEMPTS);
		array_text(&a[6], j->idempotency_key);
		array_text(&a[7], request_id_of(j));
	}
	const char *params[8];
	for (int k = 0; k < 8; k++)
		if (!(params[k] = array_done(&a[k])))
			return ERR_TOO_LARGE;
	PGresult *res;
	int rc = db_exec(db, arena, &q_enqueue, params, &res);
	if (rc)
		return rc;
	*left = 0;
	for (int r = 0; r < db_rows(res) && r < m; r++) {
		ids[which[r]] = db_value_ll(res, r, 0);
		if (created)
			created[which[r]] = strcmp(db_value(res, r, 1), "t") == 0;
		if (!ids[which[r]])
			(*left)++;
	}
	return 0;
}

static int enqueue(db_t *db, arena_t *arena, const jobs_new_t *jobs, int n,
		   long long *ids, bool *created)
{
	if (!valid_batch(n))
		return ERR_TOO_LARGE;
	memset(ids, 0, sizeof(long long) * (size_t)n);
	int left = n;
	for (int t = 0; t < ENQUEUE_TRIES && left > 0; t++) {
		int rc = enqueue_pending(db, arena, jobs, n, ids, created, &left);
		if (rc)
			return rc;
	}
	/* Only a key whose job keeps finishing and being re-enqueued between
	 * our statements could get here. */
	return left ? ERR_CONFLICT : 0;
}

int jobs_enqueue_many(db_t *db, arena_t *arena, const jobs_new_t *jobs,
		      int n, long long *ids)
{
	return enqueue(db, arena, jobs, n, ids, NULL);
}

int jobs_enqueue(db_t *db, arena_t *arena, const jobs_new_t *job,
		 long long *id, bool *created)
{
	bool c = false;
	int rc = enqueue(db, arena, job, 1, id, &c);
	if (created)
		*created = c;
	return rc;
}

/* ------------------------------------------------------------ claim */

/* The CTE is materialized so the LIMIT applies once: a planner free to
 * re-run an IN (SELECT ... LIMIT) subquery could claim more than n.  The
 * update finds the picked rows with "id = ANY (ARRAY(...))", an index
 * scan on the primary key whatever the planner thinks of the LIMIT (a
 * join let it choose a hash join over the whole table for large ones). */
static const db_stmt_t q_claim = {
	"jobs_claim",
	"WITH picked AS MATERIALIZED ("
	"  SELECT id FROM jobs"
	"   WHERE state = 'available' AND run_at <= now()"
	"     AND kind = ANY ($2::text[])"
	"   ORDER BY priority, run_at, id"
	"   LIMIT $3"
	"   FOR UPDATE SKIP LOCKED),"
	" claimed AS ("
	"  UPDATE jobs j SET state = 'running', attempts = j.attempts + 1,"
	"         locked_by = $1, started_at = now(),"
	"         locked_until = now() + make_interval(secs => $4)"
	"   WHERE j.id = ANY (ARRAY(SELECT id FROM picked))"
	"  RETURNING j.id, j.kind, j.tenant_id, j.payload, j.request_id,"
	"            j.attempts, j.max_attempts, j.priority, j.run_at)"
	"SELECT id, kind, tenant_id, payload::text, request_id, attempts,"
	"       max_attempts, priority"
	"  FROM claimed ORDER BY priority, run_at, id",
	4};

int jobs_claim(db_t *db, arena_t *arena, const jobs_claimer_t *claimer,
	       int max, jobs_job_t **jobs, int *n)
{
	*jobs = NULL;
	*n = 0;
	if (max < 1 || max > JOBS_CLAIM_MAX || claimer->lease_seconds < 1 ||
	    !claimer->worker)
		return ERR_INVALID;
	array_t kinds;
	array_init(&kinds, arena);
	for (int i = 0; i < claimer->nkinds; i++)
		array_text(&kinds, claimer->kinds[i]);
	char limit[16], lease[16];
	snprintf(limit, sizeof limit, "%d", max);
	snprintf(lease, sizeof lease, "%d", claimer->lease_seconds);
	const char *params[] = {claimer->worker, array_done(&kinds), limit,
				lease};
	if (!params[1])
		return ERR_TOO_LARGE;
	PGresult *res;
	int rc = db_exec(db, arena, &q_claim, params, &res);
	if (rc)
		return rc;
	int rows = db_rows(res);
	jobs_job_t *out = arena_calloc(arena, (size_t)(rows ? rows : 1),
				       sizeof *out);
	for (int r = 0; r < rows; r++) {
		out[r] = (jobs_job_t){
			.id = db_value_ll(res, r, 0),
			.kind = db_value(res, r, 1),
			.tenant_id = db_value_ll(res, r, 2),
			.payload = db_value(res, r, 3),
			.request_id = db_value(res, r, 4),
			.attempt = (int)db_value_ll(res, r, 5),
			.max_attempts = (int)db_value_ll(res, r, 6),
			.priority = (int)db_value_ll(res, r, 7),
		};
	}
	*jobs = out;
	*n = rows;
	return 0;
}

/* ------------------------------------------------------------ report */

/* Tokens of n claims as three array literals: ids, workers, attempts. */
typedef struct {
	array_t ids, workers, attempts;
} token_arrays_t;

static void tokens_init(token_arrays_t *t, arena_t *arena)
{
	array_init(&t->ids, arena);
	array_init(&t->workers, arena);
	array_init(&t->attempts, arena);
}

static void tokens_add(token_arrays_t *t, const jobs_token_t *tok)
{
	array_ll(&t->ids, tok->id);
	array_text(&t->workers, tok->worker);
	array_ll(&t->attempts, tok->attempt);
}

/* Fills params[0..2]; false when a literal outgrew its cap. */
static bool tokens_done(token_arrays_t *t, const char **params)
{
	params[0] = array_done(&t->ids);
	params[1] = array_done(&t->workers);
	params[2] = array_done(&t->attempts);
	return params[0] && params[1] && params[2];
}

static bool token_matches(const jobs_token_t *t, const PGresult *res, int r)
{
	const char *worker = db_value(res, r, 2);
	return t->id == db_value_ll(res, r, 0) &&
	       t->attempt == (int)db_value_ll(res, r, 1) && worker &&
	       strcmp(t->worker, worker) == 0;
}

/* The index of the token (in an array of structs stride bytes apart,
 * starting at first) that row r of res names, or -1.  Rows usually come
 * back in the order sent, so the search starts where the last one
 * matched: linear for a whole batch instead of quadratic. */
static int find_token(const jobs_token_t *first, size_t stride, int n,
		      const PGresult *res, int r, int *hint)
{
	for (int k = 0; k < n; k++) {
		int i = (*hint + k) % n;
		const jobs_token_t *t =
			(const jobs_token_t *)((const char *)first +
					       (size_t)i * stride);
		if (token_matches(t, res, r)) {
			*hint = (i + 1) % n;
			return i;
		}
	}
	return -1;
}

/* The state transitions are the migration's jobs_next_state; this only
 * applies them, guarded by the token.  The rows are found through the
 * primary key, one probe per report (see jobs_leases in the migration
 * for why no other index can be chosen).  The returned attempts are the ones
 * the report named (before an unstarted job's is given back). */
static const db_stmt_t q_report = {
	"jobs_report",
	"UPDATE jobs j SET"
	"  state = jobs_next_state(r.outcome, j.attempts, j.max_attempts,"
	"                          j.cancel_requested),"
	"  attempts = j.attempts - (r.outcome = 'unstarted')::int,"
	"  run_at = CASE WHEN r.outcome = 'retry' AND jobs_next_state(r.outcome,"
	"                     j.attempts, j.max_attempts, j.cancel_requested)"
	"                     = 'available'"
	"           THEN now() + make_interval(secs =>"
	"                                      jobs_backoff_seconds(j.attempts))"
	"           ELSE j.run_at END,"
	"  finished_at = CASE WHEN jobs_next_state(r.outcome, j.attempts,"
	"                          j.max_attempts, j.cancel_requested)"
	"                     IN ('succeeded', 'dead', 'cancelled')"
	"                THEN now() END,"
	"  locked_by = CASE WHEN r.outcome = 'unstarted' THEN NULL"
	"              ELSE j.locked_by END,"
	"  locked_until = NULL,"
	"  last_error = COALESCE(left(r.error, 4000), j.last_error)"
	"  FROM unnest($1::bigint[], $2::text[], $3::int[], $4::text[],"
	"              $5::text[]) AS r(id, worker, attempt, outcome, error)"
	" WHERE j.id = r.id AND j.state = 'running'"
	"   AND j.locked_by = r.worker AND j.attempts = r.attempt"
	" RETURNING j.id, r.attempt, r.worker, j.state",
	5};

int jobs_report(db_t *db, arena_t *arena, jobs_report_t *reports, int n)
{
	if (!valid_batch(n))
		return ERR_TOO_LARGE;
	if (n == 0)
		return 0;
	token_arrays_t tok;
	array_t outcomes, errors;
	tokens_init(&tok, arena);
	array_init(&outcomes, arena);
	array_init(&errors, arena);
	for (int i = 0; i < n; i++) {
		if ((unsigned)reports[i].outcome > JOBS_OUT_UNSTARTED ||
		    !reports[i].token.worker)
			return ERR_INVALID;
		tokens_add(&tok, &reports[i].token);
		array_text(&outcomes, outcome_names[reports[i].outcome]);
		array_text(&errors, reports[i].error);
		reports[i].state = -1;
	}
	const char *params[5];
	bool fits = tokens_done(&tok, params);
	params[3] = array_done(&outcomes);
	params[4] = array_done(&errors);
	if (!fits || !params[3] || !params[4])
		return ERR_TOO_LARGE;
	PGresult *res;
	int rc = db_exec(db, arena, &q_report, params, &res);
	if (rc)
		return rc;
	int hint = 0;
	for (int r = 0; r < db_rows(res); r++) {
		int i = find_token(&reports[0].token, sizeof reports[0], n,
				   res, r, &hint);
		if (i >= 0)
			reports[i].state = jobs_state_parse(db_value(res, r, 3));
	}
	return 0;
}

static int report_one(db_t *db, arena_t *arena, const jobs_token_t *token,
		      jobs_outcome_t outcome, const char *error,
		      jobs_state_t *state)
{
	jobs_report_t r = {.token = *token, .outcome = outcome, .error = error};
	int rc = jobs_report(db, arena, &r, 1);
	if (rc)
		return rc;
	if (r.state < 0)
		return ERR_CONFLICT;
	if (state)
		*state = (jobs_state_t)r.state;
	return 0;
}

int jobs_complete(db_t *db, arena_t *arena, const jobs_token_t *token)
{
	return report_one(db, arena, token, JOBS_OUT_SUCCEEDED, NULL, NULL);
}

int jobs_fail(db_t *db, arena_t *arena, const jobs_token_t *token,
	      bool retryable, const char *error, jobs_state_t *state)
{
	return report_one(db, arena, token,
			  retryable ? JOBS_OUT_RETRY : JOBS_OUT_FATAL, error,
			  state);
}

/* ------------------------------------------------------------ leases */

static const db_stmt_t q_heartbeat = {
	"jobs_heartbeat",
	"UPDATE jobs j SET locked_until = now() + make_interval(secs => $4)"
	"  FROM unnest($1::bigint[], $2::text[], $3::int[])"
	"       AS t(id, worker, attempt)"
	" WHERE j.id = t.id AND j.state = 'running'"
	"   AND j.locked_by = t.worker AND j.attempts = t.attempt"
	" RETURNING j.id, j.attempts, j.locked_by, j.cancel_requested",
	4};

int jobs_heartbeat(db_t *db, arena_t *arena, jobs_lease_t *leases, int n,
		   int lease_seconds)
{
	if (!valid_batch(n))
		return ERR_TOO_LARGE;
	if (lease_seconds < 1)
		return ERR_INVALID;
	if (n == 0)
		return 0;
	token_arrays_t tok;
	tokens_init(&tok, arena);
	for (int i = 0; i < n; i++) {
		tokens_add(&tok, &leases[i].token);
		leases[i].held = false;
		leases[i].cancel_requested = false;
	}
	const char *params[4];
	char lease[16];
	snprintf(lease, sizeof lease, "%d", lease_seconds);
	params[3] = lease;
	if (!tokens_done(&tok, params))
		return ERR_TOO_LARGE;
	PGresult *res;
	int rc = db_exec(db, arena, &q_heartbeat, params, &res);
	if (rc)
		return rc;
	int hint = 0;
	for (int r = 0; r < db_rows(res); r++) {
		int i = find_token(&leases[0].token, sizeof leases[0], n, res, r,
				   &hint);
		if (i < 0)
			continue;
		leases[i].held = true;
		leases[i].cancel_requested = strcmp(db_value(res, r, 3), "t") == 0;
	}
	return 0;
}

/* FOR UPDATE re-reads each candidate after locking it, so a job whose
 * worker reported or heartbeated in the meantime no longer matches and is
 * left alone; SKIP LOCKED passes over one being reported right now. */
static const db_stmt_t q_rescue = {
	"jobs_rescue",
	"WITH expired AS MATERIALIZED ("
	"  SELECT id FROM jobs"
	"   WHERE state = 'running' AND locked_until < now()"
	"   ORDER BY locked_until LIMIT $1"
	"   FOR UPDATE SKIP LOCKED)"
	"UPDATE jobs j SET"
	"  state = jobs_next_state('expired', j.attempts, j.max_attempts,"
	"                          j.cancel_requested),"
	"  finished_at = CASE WHEN jobs_next_state('expired', j.attempts,"
	"                          j.max_attempts, j.cancel_requested)"
	"                     <> 'available' THEN now() END,"
	"  locked_until = NULL,"
	"  last_error = 'lease expired: worker ' || j.locked_by"
	"               || ' stopped heartbeating on attempt ' || j.attempts"
	"  FROM expired"
	" WHERE j.id = expired.id AND j.state = 'running'"
	"   AND j.locked_until < now()"
	" RETURNING j.id, j.kind, j.attempts, j.state, j.locked_by",
	1};

int jobs_rescue(db_t *db, arena_t *arena, int limit, int *rescued)
{
	if (rescued)
		*rescued = 0;
	if (limit < 1)
		return ERR_INVALID;
	char lim[16];
	snprintf(lim, sizeof lim, "%d", limit);
	const char *params[] = {lim};
	PGresult *res;
	int rc = db_exec(db, arena, &q_rescue, params, &res);
	if (rc)
		return rc;
	for (int r = 0; r < db_rows(res); r++) {
		log_line_t *l = log_begin(LOG_WARN, "job lease expired");
		log_int(l, "job", db_value_ll(res, r, 0));
		log_str(l, "kind", db_value(res, r, 1));
		log_int(l, "attempt", db_value_ll(res, r, 2));
		log_str(l, "state", db_value(res, r, 3));
		log_str(l, "worker", db_value(res, r, 4));
		log_end(l);
	}
	if (rescued)
		*rescued = db_rows(res);
	return 0;
}

static const db_stmt_t q_orphans = {
	"jobs_release_orphans",
	"UPDATE jobs SET"
	"  state = jobs_next_state('unstarted', attempts, max_attempts,"
	"                          cancel_requested),"
	"  attempts = attempts - 1, locked_by = NULL, locked_until = NULL,"
	"  finished_at = CASE WHEN cancel_requested THEN now() END"
	" WHERE state = 'running' AND locked_by = $1"
	" RETURNING id",
	1};

int jobs_release_orphans(db_t *db, arena_t *arena, const char *worker,
			 int *released)
{
	const char *params[] = {worker};
	PGresult *res;
	int rc = db_exec(db, arena, &q_orphans, params, &res);
	if (rc)
		return rc;
	if (released)
		*released = db_rows(res);
	return 0;
}

/* ------------------------------------------------------------ operators */

/* Every cancel notifies: a worker holding the job stops at once instead of
 * at its next heartbeat; for a pending job nobody is listening for it. */
static const db_stmt_t q_cancel = {
	"jobs_cancel",
	"WITH c AS ("
	"  UPDATE jobs SET cancel_requested = true,"
	"         state = CASE WHEN state = 'available' THEN 'cancelled'"
	"                 ELSE state END,"
	"         finished_at = CASE WHEN state = 'available' THEN now()"
	"                       ELSE finished_at END"
	"   WHERE id = $1 AND state IN ('available', 'running')"
	"  RETURNING id, state)"
	"SELECT c.state, n.sent FROM c,"
	"       LATERAL (SELECT pg_notify('" JOBS_CANCEL_CHANNEL "',"
	"                                 c.id::text) IS NULL AS sent) n",
	1};

static const db_stmt_t q_state = {
	"jobs_state", "SELECT state FROM jobs WHERE id = $1", 1};

/* After a guarded change matched nothing: missing, or in the wrong state. */
static int why_not(db_t *db, arena_t *arena, const char *id)
{
	const char *params[] = {id};
	PGresult *res;
	int rc = db_exec(db, arena, &q_state, params, &res);
	if (rc)
		return rc;
	return db_rows(res) ? ERR_CONFLICT : ERR_NOT_FOUND;
}

int jobs_cancel(db_t *db, arena_t *arena, long long id, jobs_state_t *state)
{
	char idtext[24];
	snprintf(idtext, sizeof idtext, "%lld", id);
	const char *params[] = {idtext};
	PGresult *res;
	int rc = db_exec(db, arena, &q_cancel, params, &res);
	if (rc)
		return rc;
	if (db_rows(res) == 0)
		return why_not(db, arena, idtext);
	if (state)
		*state = (jobs_state_t)jobs_state_parse(db_value(res, 0, 0));
	return 0;
}

static const db_stmt_t q_retry = {
	"jobs_retry",
	"UPDATE jobs SET state = 'available', run_at = now(),"
	"       finished_at = NULL, locked_until = NULL,"
	"       cancel_requested = false,"
	"       max_attempts = GREATEST(max_attempts, attempts + 1)"
	" WHERE id = $1 AND state IN ('dead', 'cancelled')"
	" RETURNING id",
	1};

int jobs_retry(db_t *db, arena_t *arena, long long id)
{
	char idtext[24];
	snprintf(idtext, sizeof idtext, "%lld", id);
	const char *params[] = {idtext};
	PGresult *res;
	int rc = db_exec(db, arena, &q_retry, params, &res);
	if (rc)
		return rc;
	return db_rows(res) ? 0 : why_not(db, arena, idtext);
}

static const db_stmt_t q_prune = {
	"jobs_prune",
	"WITH doomed AS MATERIALIZED ("
	"  SELECT id FROM jobs"
	"   WHERE state IN ('succeeded', 'dead', 'cancelled')"
	"     AND finished_at < now() - make_interval(secs => $1)"
	"   ORDER BY finished_at LIMIT $2"
	"   FOR UPDATE SKIP LOCKED)"
	"DELETE FROM jobs j USING doomed WHERE j.id = doomed.id",
	2};

int jobs_prune(db_t *db, arena_t *arena, long long older_than_seconds,
	       int batch, int max_batches, long long *deleted)
{
	if (deleted)
		*deleted = 0;
	if (older_than_seconds < 0 || batch < 1 || max_batches < 1)
		return ERR_INVALID;
	char age[24], lim[16];
	snprintf(age, sizeof age, "%lld", older_than_seconds);
	snprintf(lim, sizeof lim, "%d", batch);
	const char *params[] = {age, lim};
	for (int i = 0; i < max_batches; i++) {
		PGresult *res;
		int rc = db_exec(db, arena, &q_prune, params, &res);
		if (rc)
			return rc;
		long long n = strtoll(PQcmdTuples(res), NULL, 10);
		if (deleted)
			*deleted += n;
		if (n < batch)
			break;
	}
	return 0;
}

static const db_stmt_t q_stats = {
	"jobs_stats",
	"SELECT count(*) FILTER (WHERE state = 'available'),"
	"       count(*) FILTER (WHERE state = 'running'),"
	"       count(*) FILTER (WHERE state = 'succeeded'),"
	"       count(*) FILTER (WHERE state = 'dead'),"
	"       count(*) FILTER (WHERE state = 'cancelled'),"
	"       COALESCE(extract(epoch FROM now() - min(run_at)"
	"                FILTER (WHERE state = 'available'"
	"                          AND run_at <= now())), 0)"
	"  FROM jobs",
	0};

int jobs_stats(db_t *db, arena_t *arena, jobs_stats_t *stats)
{
	memset(stats, 0, sizeof *stats);
	PGresult *res;
	int rc = db_exec(db, arena, &q_stats, NULL, &res);
	if (rc)
		return rc;
	for (int s = 0; s < JOBS_NSTATES; s++)
		stats->count[s] = db_value_ll(res, 0, s);
	const char *age = db_value(res, 0, JOBS_NSTATES);
	stats->oldest_available_seconds = age ? strtod(age, NULL) : 0;
	return 0;
}

#define INFO_COLUMNS                                                        \
	"SELECT id, kind, tenant_id, payload::text, state, priority,"       \
	"       attempts, max_attempts, cancel_requested,"                  \
	"       to_json(run_at) #>> '{}', locked_by,"                       \
	"       to_json(locked_until) #>> '{}', last_error,"                \
	"       idempotency_key, request_id, to_json(created_at) #>> '{}'," \
	"       to_json(started_at) #>> '{}', to_json(finished_at) #>> '{}'" \
	"  FROM jobs"

static const db_stmt_t q_get = {"jobs_get", INFO_COLUMNS " WHERE id = $1",
				1};

static const db_stmt_t q_list = {
	"jobs_list",
	INFO_COLUMNS
	" WHERE ($1::text IS NULL OR state = $1)"
	"   AND ($2::text IS NULL OR kind = $2)"
	" ORDER BY id DESC LIMIT $3",
	3};

static void info_from_row(jobs_info_t *i, const PGresult *res, int r)
{
	*i = (jobs_info_t){
		.id = db_value_ll(res, r, 0),
		.kind = db_value(res, r, 1),
		.tenant_id = db_value_ll(res, r, 2),
		.payload = db_value(res, r, 3),
		.state = (jobs_state_t)jobs_state_parse(db_value(res, r, 4)),
		.priority = (int)db_value_ll(res, r, 5),
		.attempts = (int)db_value_ll(res, r, 6),
		.max_attempts = (int)db_value_ll(res, r, 7),
		.cancel_requested = strcmp(db_value(res, r, 8), "t") == 0,
		.run_at = db_value(res, r, 9),
		.locked_by = db_value(res, r, 10),
		.locked_until = db_value(res, r, 11),
		.last_error = db_value(res, r, 12),
		.idempotency_key = db_value(res, r, 13),
		.request_id = db_value(res, r, 14),
		.created_at = db_value(res, r, 15),
		.started_at = db_value(res, r, 16),
		.finished_at = db_value(res, r, 17),
	};
}

int jobs_get(db_t *db, arena_t *arena, long long id, jobs_info_t *info)
{
	char idtext[24];
	snprintf(idtext, sizeof idtext, "%lld", id);
	const char *params[] = {idtext};
	PGresult *res;
	int rc = db_exec(db, arena, &q_get, params, &res);
	if (rc)
		return rc;
	if (db_rows(res) == 0)
		return ERR_NOT_FOUND;
	info_from_row(info, res, 0);
	return 0;
}

static const db_stmt_t q_count_recent = {
	"jobs_count_recent",
	"SELECT count(*),"
	"       COALESCE(EXTRACT(EPOCH FROM now() - min(created_at)), 0)"
	"  FROM jobs"
	" WHERE tenant_id = $1 AND kind = $2"
	"   AND created_at > now() - $3::int * interval '1 second'",
	3};

int jobs_count_recent(db_t *db, arena_t *arena, long long tenant_id,
		      const char *kind, int window_seconds, long long *count,
		      double *oldest_age_s)
{
	if (!kind || window_seconds < 1)
		return ERR_INVALID;
	char tid[24], win[16];
	snprintf(tid, sizeof tid, "%lld", tenant_id);
	snprintf(win, sizeof win, "%d", window_seconds);
	const char *params[] = {tid, kind, win};
	PGresult *res;
	int rc = db_exec(db, arena, &q_count_recent, params, &res);
	if (rc)
		return rc;
	*count = db_value_ll(res, 0, 0);
	if (oldest_age_s) {
		const char *age = db_value(res, 0, 1);
		*oldest_age_s = age ? strtod(age, NULL) : 0;
	}
	return 0;
}

int jobs_list(db_t *db, arena_t *arena, const jobs_filter_t *filter,
	      jobs_info_t **jobs, int *n)
{
	*jobs = NULL;
	*n = 0;
	if (filter->limit < 1 || filter->limit > 10000 ||
	    filter->state >= JOBS_NSTATES)
		return ERR_INVALID;
	char lim[16];
	snprintf(lim, sizeof lim, "%d", filter->limit);
	const char *params[] = {
		filter->state < 0 ? NULL : state_names[filter->state],
		filter->kind, lim};
	PGresult *res;
	int rc = db_exec(db, arena, &q_list, params, &res);
	if (rc)
		return rc;
	int rows = db_rows(res);
	jobs_info_t *out = arena_calloc(arena, (size_t)(rows ? rows : 1),
					sizeof *out);
	for (int r = 0; r < rows; r++)
		info_from_row(&out[r], res, r);
	*jobs = out;
	*n = rows;
	return 0;
}

/* ------------------------------------------------------------ handlers */

int jobs_ctx_stopping(const jobs_ctx_t *ctx)
{
	return ctx->stop ? atomic_load(ctx->stop) : 0;
}

bool jobs_ctx_sleep(const jobs_ctx_t *ctx, long ms)
{
	struct timespec end, now;
	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += ms / 1000;
	end.tv_nsec += (ms % 1000) * 1000000L;
	if (end.tv_nsec >= 1000000000L) {
		end.tv_sec++;
		end.tv_nsec -= 1000000000L;
	}
	for (;;) {
		if (jobs_ctx_stopping(ctx))
			return false;
		clock_gettime(CLOCK_MONOTONIC, &now);
		long left_ms = (long)(end.tv_sec - now.tv_sec) * 1000 +
			       (end.tv_nsec - now.tv_nsec) / 1000000L;
		if (left_ms <= 0)
			return true;
		long step = left_ms < STOP_POLL_MS ? left_ms : STOP_POLL_MS;
		struct timespec ts = {0, step * 1000000L};
		nanosleep(&ts, NULL);
	}
}

jobs_result_t jobs_ctx_fail(jobs_ctx_t *ctx, jobs_result_t result,
			    const char *fmt, ...)
{
	if (ctx->error.len == 0) {
		va_list ap;
		va_start(ap, fmt);
		char msg[1024];
		vsnprintf(msg, sizeof msg, fmt, ap);
		va_end(ap);
		buf_puts(&ctx->error, msg);
	}
	return result;
}
