/* jobs: the PostgreSQL job queue (sql/0002_jobs.sql).
 *
 * Producers enqueue; workers claim batches with FOR UPDATE SKIP LOCKED,
 * run them and report outcomes in batches.  A claim holds a lease
 * (locked_until) that the worker extends with heartbeats; a rescuer
 * returns expired leases to the queue.  Each claim has a token, the
 * worker's id plus the attempt number, and every call that changes a
 * claimed job names it: once a lease is lost and the job claimed again,
 * the old worker's report changes nothing.
 *
 * Every function takes the caller's connection and an arena that owns the
 * results (strings in returned structs are borrowed from it).  Errors:
 * ERR_DB (the database failed or is unreachable: nothing was changed, or
 * the statement's effect is unknown and the token guards make a repeat
 * safe), ERR_INVALID (bad arguments or data), ERR_TOO_LARGE (a batch too
 * big to send), plus the ones named per function.
 *
 * Handlers (the work of each kind) are plain functions; a program keeps a
 * table of jobs_handler_t and claims only the kinds it has (so a deployer
 * of an older version leaves new kinds to newer ones). */
#ifndef CANOPY_JOBS_H
#define CANOPY_JOBS_H

#include <stdatomic.h>
#include <stdbool.h>

#include "arena.h"
#include "buf.h"
#include "config.h"
#include "db.h"
#include "err.h"

#define JOBS_DEFAULT_MAX_ATTEMPTS 25
#define JOBS_CLAIM_MAX 1000  /* jobs per claim */
#define JOBS_BATCH_MAX 10000 /* jobs per enqueue or report call */
#define JOBS_NOTIFY_CHANNEL "jobs"
/* Carries the id of a job whose cancel was requested while it ran. */
#define JOBS_CANCEL_CHANNEL "jobs_cancel"

typedef enum {
	JOBS_AVAILABLE = 0,
	JOBS_RUNNING,
	JOBS_SUCCEEDED,
	JOBS_DEAD,
	JOBS_CANCELLED,
	JOBS_NSTATES
} jobs_state_t;

/* "available", "running", ... ; NULL for an out-of-range value. */
const char *jobs_state_name(jobs_state_t state);
/* The state named, or -1. */
int jobs_state_parse(const char *name);

/* ------------------------------------------------------------ enqueue */

typedef struct {
	const char *kind;            /* required: [a-z][a-z0-9_.-]{0,63} */
	long long tenant_id;         /* 0: not a tenant's job */
	const char *payload;         /* JSON text; NULL: {} */
	int priority;                /* smaller runs first; default 0 */
	long long delay_ms;          /* not claimed before now + delay_ms */
	int max_attempts;            /* 0: JOBS_DEFAULT_MAX_ATTEMPTS */
	const char *idempotency_key; /* NULL: none */
	const char *request_id;      /* NULL: this thread's log request id */
} jobs_new_t;

/* Enqueues one job; *id gets its id.  With an idempotency key that a
 * pending or running job already has, nothing is inserted and *id is that
 * job's id (*created, if not NULL, says which happened). */
int jobs_enqueue(db_t *db, arena_t *arena, const jobs_new_t *job,
		 long long *id, bool *created) WARN_UNUSED;

/* Enqueues n jobs (n <= JOBS_BATCH_MAX) in one statement; ids[i] gets the
 * id of jobs[i] (an existing job's for a live duplicate key, also within
 * the batch).  All or nothing: a bad job fails the whole call. */
int jobs_enqueue_many(db_t *db, arena_t *arena, const jobs_new_t *jobs,
		      int n, long long *ids) WARN_UNUSED;

/* ------------------------------------------------------------ workers */

/* A claimed job.  Strings are borrowed from the claim's arena. */
typedef struct {
	long long id;
	const char *kind;
	long long tenant_id; /* 0: none */
	const char *payload; /* JSON text */
	const char *request_id; /* of the enqueuer; NULL if none */
	int attempt;            /* 1 on the first run */
	int max_attempts;
	int priority;
} jobs_job_t;

/* The token of a claim: only its holder can report on the job. */
typedef struct {
	long long id;
	int attempt;
	const char *worker;
} jobs_token_t;

typedef struct {
	const char *worker;        /* unique per worker and process start */
	const char *const *kinds;  /* claim only these kinds */
	int nkinds;
	int lease_seconds;         /* the lease the claim holds */
} jobs_claimer_t;

/* Claims up to max (<= JOBS_CLAIM_MAX) available jobs whose run_at has
 * come, in priority then run_at order, skipping rows other workers hold,
 * in one statement.  Each becomes running with attempt + 1 and a lease of
 * lease_seconds.  *jobs (owned by arena) gets them in order, *n their
 * count (0 when none is ready). */
int jobs_claim(db_t *db, arena_t *arena, const jobs_claimer_t *claimer,
	       int max, jobs_job_t **jobs, int *n) WARN_UNUSED;

/* What became of a claimed job, as its worker reports it. */
typedef enum {
	JOBS_OUT_SUCCEEDED = 0,
	JOBS_OUT_RETRY,       /* failed, may succeed later: retried after backoff */
	JOBS_OUT_FATAL,       /* failed for good: dead at once */
	JOBS_OUT_CANCELLED,   /* stopped because a cancel was requested */
	JOBS_OUT_INTERRUPTED, /* started but stopped by a shutdown: the
			       * attempt counts, the job is claimable again */
	JOBS_OUT_UNSTARTED    /* claimed, never started: given back, the
			       * attempt does not count */
} jobs_outcome_t;

typedef struct {
	jobs_token_t token;
	jobs_outcome_t outcome;
	const char *error; /* kept as last_error; NULL keeps the previous */
	/* out: the job's state after the report, or -1 when the token no
	 * longer holds the job (the lease was lost; nothing changed). */
	int state;
} jobs_report_t;

/* Applies n reports (n <= JOBS_BATCH_MAX) in one statement.  A retry
 * waits jobs_backoff_seconds (see the migration: 2^attempt s, at most an
 * hour, times a jitter in [0.75, 1.25)); a retry or interruption with no
 * attempts left, or a fatal failure, makes the job dead; a requested
 * cancel makes any failure cancelled.  Fills each report's state. */
int jobs_report(db_t *db, arena_t *arena, jobs_report_t *reports, int n)
	WARN_UNUSED;

/* One-job forms of jobs_report.  ERR_CONFLICT when the token no longer
 * holds the job.  *state (may be NULL) gets the state after. */
int jobs_complete(db_t *db, arena_t *arena, const jobs_token_t *token)
	WARN_UNUSED;
int jobs_fail(db_t *db, arena_t *arena, const jobs_token_t *token,
	      bool retryable, const char *error, jobs_state_t *state)
	WARN_UNUSED;

typedef struct {
	jobs_token_t token;
	bool held;             /* out: the lease was extended */
	bool cancel_requested; /* out: someone asked to cancel the job */
} jobs_lease_t;

/* Extends the leases of n claims (n <= JOBS_BATCH_MAX) to now +
 * lease_seconds in one statement and says, per claim, whether it is still
 * held and whether a cancel was requested. */
int jobs_heartbeat(db_t *db, arena_t *arena, jobs_lease_t *leases, int n,
		   int lease_seconds) WARN_UNUSED;

/* Gives back every job held as running under worker's id, as unstarted
 * (the attempt does not count; a requested cancel ends it cancelled).
 * Only for a worker that holds nothing in memory after its session was
 * replaced: a claim whose reply was lost with the connection left jobs
 * claimed under its id that it never saw.  *released may be NULL. */
int jobs_release_orphans(db_t *db, arena_t *arena, const char *worker,
			 int *released) WARN_UNUSED;

/* ------------------------------------------------------------ operators */

/* Cancels a job: a pending one at once (*state = JOBS_CANCELLED), a
 * running one by flagging it and notifying JOBS_CANCEL_CHANNEL
 * (*state = JOBS_RUNNING): its worker stops at its next check and the job
 * ends cancelled.  ERR_NOT_FOUND, ERR_CONFLICT (already finished). */
int jobs_cancel(db_t *db, arena_t *arena, long long id, jobs_state_t *state)
	WARN_UNUSED;

/* Makes a dead or cancelled job available again now, allowing it at least
 * one more attempt.  ERR_NOT_FOUND; ERR_CONFLICT when it is not dead or
 * cancelled, or its idempotency key is taken by a live job. */
int jobs_retry(db_t *db, arena_t *arena, long long id) WARN_UNUSED;

/* Returns up to limit running jobs whose lease has expired to available
 * (the attempt counts; dead when none is left, cancelled when a cancel was
 * requested).  Never touches a job whose worker reported or heartbeated
 * first.  *rescued (may be NULL) gets the number. */
int jobs_rescue(db_t *db, arena_t *arena, int limit, int *rescued)
	WARN_UNUSED;

/* Deletes finished jobs (succeeded, dead, cancelled) that finished more
 * than older_than_seconds ago, batch rows per statement, at most
 * max_batches statements (short transactions, so pruning never holds many
 * locks or bloats WAL at once).  *deleted (may be NULL) gets the count. */
int jobs_prune(db_t *db, arena_t *arena, long long older_than_seconds,
	       int batch, int max_batches, long long *deleted) WARN_UNUSED;

typedef struct {
	long long count[JOBS_NSTATES];
	/* How long the oldest job that could run has waited (seconds since
	 * its run_at); 0 when none is waiting. */
	double oldest_available_seconds;
} jobs_stats_t;

/* Counts jobs per state.  Reads the whole table: for operators and
 * health checks, not hot paths (pruning keeps the table small). */
int jobs_stats(db_t *db, arena_t *arena, jobs_stats_t *stats) WARN_UNUSED;

/* A job as operators see it; timestamps are ISO 8601 text, NULL when
 * unset.  Strings are borrowed from the arena. */
typedef struct {
	long long id;
	const char *kind;
	long long tenant_id;
	const char *payload;
	jobs_state_t state;
	int priority;
	int attempts;
	int max_attempts;
	bool cancel_requested;
	const char *run_at;
	const char *locked_by;
	const char *locked_until;
	const char *last_error;
	const char *idempotency_key;
	const char *request_id;
	const char *created_at;
	const char *started_at;
	const char *finished_at;
} jobs_info_t;

/* One job.  ERR_NOT_FOUND. */
int jobs_get(db_t *db, arena_t *arena, long long id, jobs_info_t *info)
	WARN_UNUSED;

typedef struct {
	int state;        /* -1: any */
	const char *kind; /* NULL: any */
	int limit;        /* 1..10000 */
} jobs_filter_t;

/* The newest jobs matching filter, newest first. */
int jobs_list(db_t *db, arena_t *arena, const jobs_filter_t *filter,
	      jobs_info_t **jobs, int *n) WARN_UNUSED;

/* Counts the jobs of kind enqueued for tenant_id in the last
 * window_seconds (any state: finished jobs count too, and pruning keeps
 * them for at least an hour).  *oldest_age_s (may be NULL) gets how long
 * ago the oldest of them was enqueued, 0 when there is none: a limit of
 * N per window frees a slot window_seconds after that.  For per-tenant
 * quotas; uses the (tenant_id, id) index. */
int jobs_count_recent(db_t *db, arena_t *arena, long long tenant_id,
		      const char *kind, int window_seconds, long long *count,
		      double *oldest_age_s) WARN_UNUSED;

/* ------------------------------------------------------------ handlers */

/* Why a running job is asked to stop (bits of jobs_ctx_t.stop). */
enum {
	JOBS_STOP_CANCEL = 1, /* a cancel was requested */
	JOBS_STOP_LOST = 2,   /* the lease was lost: another worker may run it */
	JOBS_STOP_DRAIN = 4   /* the deployer is shutting down and the drain
			       * deadline has passed */
};

/* What a handler sees.  Everything is borrowed for the length of the
 * run; allocate from arena (reset after the job). */
typedef struct {
	const jobs_job_t *job;
	const char *worker;   /* the claim's worker id */
	arena_t *arena;
	db_t *db;             /* the worker's own connection */
	const config_t *cfg;
	void *app;            /* the program's shared state, for handlers */
	const atomic_int *stop; /* JOBS_STOP_* bits, set by other threads */
	buf_t error;          /* a failure's message (see jobs_ctx_fail) */
} jobs_ctx_t;

/* What a handler returns. */
typedef enum {
	JOBS_DONE = 0, /* success */
	JOBS_RETRY,    /* failed; may succeed later */
	JOBS_FATAL,    /* failed; retrying cannot help */
	JOBS_STOPPED   /* stopped early because jobs_ctx_stopping said so */
} jobs_result_t;

typedef jobs_result_t (*jobs_handler_fn)(jobs_ctx_t *ctx);

typedef struct {
	const char *kind;
	jobs_handler_fn run;
} jobs_handler_t;

/* Nonzero (JOBS_STOP_* bits) when the handler should stop: check it
 * between steps of long work and return JOBS_STOPPED. */
int jobs_ctx_stopping(const jobs_ctx_t *ctx);

/* Sleeps up to ms, waking early (and returning false) when asked to
 * stop; true when the full time passed. */
bool jobs_ctx_sleep(const jobs_ctx_t *ctx, long ms);

/* Records a failure message (first one wins) and returns result, so a
 * handler can `return jobs_ctx_fail(ctx, JOBS_RETRY, "...", ...)`. */
jobs_result_t jobs_ctx_fail(jobs_ctx_t *ctx, jobs_result_t result,
			    const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
