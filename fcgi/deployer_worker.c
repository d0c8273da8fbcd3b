/* canopy-deployer's worker threads: claim a batch, run it, report it.
 *
 * Batching is what makes the queue fast (one claim and one report
 * statement for many jobs) and what could make it unfair (jobs waiting
 * in one worker's batch while another worker idles).  So a worker sizes
 * each claim from the run time it has seen: about TARGET_BATCH_SECONDS
 * of work, one job at a time for slow kinds; results are reported at
 * least every REPORT_EVERY_SECONDS; and a batch that has run for
 * GIVE_BACK_SECONDS gives its unstarted jobs back to the queue (the
 * attempt does not count) for others to take.  Every job in a batch is
 * held under a lease that the keeper heartbeats, whatever its phase. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "deployer.h"
#include "log.h"

#define TARGET_BATCH_SECONDS 0.02
#define REPORT_EVERY_SECONDS 0.05
#define GIVE_BACK_SECONDS 0.5
#define BACKOFF_MIN_MS 50
#define BACKOFF_MAX_MS 2000
#define ERROR_MAX 4000

static double now_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static phase_t phase_of(const app_t *app)
{
	return (phase_t)atomic_load(&app->phase);
}

/* Sleeps about *ms (with jitter) unless the deployer starts stopping, and
 * doubles *ms for next time. */
static void backoff(worker_t *w, int *ms, phase_t until)
{
	unsigned seed = (unsigned)w->index * 7919u + (unsigned)*ms;
	int wait = *ms / 2 + rand_r(&seed) % (*ms / 2 + 1);
	for (int slept = 0; slept < wait && phase_of(w->app) <= until;
	     slept += 20)
		usleep(20000);
	*ms = *ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : *ms * 2;
}

/* Logs the start and the end of an outage once, not every retry. */
static void note_db_result(worker_t *w, int rc, const char *what)
{
	if (rc) {
		app_note_error(w->app, "%s: %s", what, db_error(w->db));
		if (!w->db_failing)
			log_warn("%s failed (%s): retrying with backoff", what,
				 db_error(w->db));
	} else if (w->db_failing) {
		log_info("database reachable again");
	}
	w->db_failing = rc != 0;
}

/* ------------------------------------------------------------ waiting */

/* Waits for a wake token (a notification, or a busy worker's hint that
 * more is queued) or the poll interval, whichever comes first. */
static void wait_for_work(worker_t *w)
{
	app_t *app = w->app;
	unsigned seed = (unsigned)w->index + (unsigned)time(NULL);
	/* jitter keeps idle workers from polling in lockstep */
	long ms = app->cfg.job_poll_ms * (80 + rand_r(&seed) % 41) / 100;
	struct timespec until;
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += ms / 1000;
	until.tv_nsec += (ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&app->wake_mu);
	while (app->wake_tokens == 0 && phase_of(app) == PHASE_RUNNING)
		if (pthread_cond_timedwait(&app->wake_cv, &app->wake_mu,
					   &until) == ETIMEDOUT)
			break;
	if (app->wake_tokens > 0)
		app->wake_tokens--;
	pthread_mutex_unlock(&app->wake_mu);
}

/* ------------------------------------------------------------ claiming */

/* A claim whose reply was lost with the connection leaves jobs running
 * under our id that we never saw.  The session changed since we last
 * looked, and we hold nothing now: anything running under our id is
 * such an orphan, so give it back before claiming more. */
static int release_orphans(worker_t *w)
{
	unsigned gen = db_generation(w->db);
	if (gen == w->db_generation)
		return 0;
	int released = 0;
	int rc = jobs_release_orphans(w->db, w->batch_arena, w->id, &released);
	if (rc)
		return rc;
	w->db_generation = db_generation(w->db);
	if (released)
		log_warn("gave back %d jobs claimed by a lost reply", released);
	return 0;
}

/* Claims the next batch into w->held; returns how many, or an error. */
static int claim_batch(worker_t *w)
{
	app_t *app = w->app;
	arena_reset(w->batch_arena);
	int rc = release_orphans(w);
	jobs_job_t *jobs = NULL;
	int n = 0;
	if (rc == 0) {
		jobs_claimer_t claimer = {w->id, app->kinds, app->nhandlers,
					  app->cfg.job_lease_seconds};
		rc = jobs_claim(w->db, w->batch_arena, &claimer, w->batch,
				&jobs, &n);
	}
	note_db_result(w, rc, "claim");
	if (rc)
		return rc;
	pthread_mutex_lock(&w->mu);
	for (int i = 0; i < n; i++) {
		held_t *h = &w->held[i];
		h->job = jobs[i];
		h->kind_index = app_kind_index(app, jobs[i].kind);
		atomic_store(&h->stop, 0);
		h->phase = HELD_WAITING;
		h->error = NULL;
		h->run_seconds = 0;
		if (h->kind_index >= 0)
			atomic_fetch_add(&app->metrics[h->kind_index].claimed, 1);
	}
	w->nheld = n;
	pthread_mutex_unlock(&w->mu);
	return n;
}

/* ------------------------------------------------------------ running */

static void finish_held(worker_t *w, held_t *h, jobs_outcome_t outcome,
			const char *error)
{
	pthread_mutex_lock(&w->mu);
	h->outcome = outcome;
	h->error = error;
	h->phase = HELD_DONE;
	pthread_mutex_unlock(&w->mu);
}

static jobs_outcome_t outcome_of(jobs_result_t result, int stop)
{
	switch (result) {
	case JOBS_DONE:
		return JOBS_OUT_SUCCEEDED;
	case JOBS_FATAL:
		return JOBS_OUT_FATAL;
	case JOBS_STOPPED:
		if (stop & JOBS_STOP_CANCEL)
			return JOBS_OUT_CANCELLED;
		if (stop)
			return JOBS_OUT_INTERRUPTED;
		return JOBS_OUT_RETRY; /* stopped unasked: treat as a failure */
	case JOBS_RETRY:
	default:
		return JOBS_OUT_RETRY;
	}
}

static jobs_result_t run_handler(worker_t *w, held_t *h, jobs_ctx_t *ctx)
{
	if (h->kind_index < 0)
		return jobs_ctx_fail(ctx, JOBS_FATAL, "no handler for kind %s",
				     h->job.kind);
	jobs_result_t r = w->app->handlers[h->kind_index].run(ctx);
	int stop = jobs_ctx_stopping(ctx);
	if (r == JOBS_STOPPED && !stop)
		jobs_ctx_fail(ctx, JOBS_RETRY, "handler stopped unasked");
	else if (r == JOBS_STOPPED && (stop & JOBS_STOP_DRAIN))
		jobs_ctx_fail(ctx, r, "interrupted: the deployer was stopping");
	else if (r != JOBS_DONE && r != JOBS_STOPPED && ctx->error.len == 0)
		jobs_ctx_fail(ctx, r, "handler failed without a message");
	return r;
}

static void run_one(worker_t *w, held_t *h)
{
	app_t *app = w->app;
	int stop = atomic_load(&h->stop);
	if (stop) {
		/* cancelled or lost before it started: never run it */
		finish_held(w, h,
			    stop & JOBS_STOP_CANCEL ? JOBS_OUT_CANCELLED
						    : JOBS_OUT_UNSTARTED,
			    NULL);
		return;
	}
	pthread_mutex_lock(&w->mu);
	h->phase = HELD_RUNNING;
	pthread_mutex_unlock(&w->mu);
	log_set_request_id(h->job.request_id);
	log_line_t *l = log_begin(LOG_DEBUG, "job started");
	log_int(l, "job", h->job.id);
	log_str(l, "kind", h->job.kind);
	log_int(l, "attempt", h->job.attempt);
	log_end(l);
	jobs_ctx_t ctx = {.job = &h->job,
			  .worker = w->id,
			  .arena = w->job_arena,
			  .db = w->db,
			  .cfg = &app->cfg,
			  .app = app,
			  .stop = &h->stop};
	buf_init(&ctx.error, w->job_arena, ERROR_MAX);
	double start = now_seconds();
	jobs_result_t r = run_handler(w, h, &ctx);
	h->run_seconds = now_seconds() - start;
	db_rollback(w->db); /* a handler must not leave a transaction open */
	const char *error = ctx.error.len
				    ? arena_strdup(w->batch_arena,
						   buf_cstr(&ctx.error))
				    : NULL;
	finish_held(w, h, outcome_of(r, atomic_load(&h->stop)), error);
	if (h->kind_index >= 0)
		metrics_observe_run(&app->metrics[h->kind_index],
				    h->run_seconds);
	w->avg_run_seconds = w->avg_run_seconds < 0
				     ? h->run_seconds
				     : 0.9 * w->avg_run_seconds +
					       0.1 * h->run_seconds;
	arena_reset(w->job_arena);
	log_set_request_id(NULL);
}

/* ------------------------------------------------------------ reporting */

static void count_report(app_t *app, const held_t *h, int state)
{
	if (h->kind_index < 0)
		return;
	kind_metrics_t *m = &app->metrics[h->kind_index];
	if (h->outcome == JOBS_OUT_RETRY || h->outcome == JOBS_OUT_FATAL)
		atomic_fetch_add(&m->failed, 1);
	if (state < 0)
		atomic_fetch_add(&m->lost, 1);
	else if (state == JOBS_SUCCEEDED)
		atomic_fetch_add(&m->succeeded, 1);
	else if (state == JOBS_DEAD)
		atomic_fetch_add(&m->dead, 1);
	else if (state == JOBS_CANCELLED)
		atomic_fetch_add(&m->cancelled, 1);
	else if (h->outcome != JOBS_OUT_UNSTARTED)
		atomic_fetch_add(&m->retried, 1);
}

/* What a report's log line says, and how loud it is. */
static const char *report_message(const held_t *h, int state,
				  log_level_t *level)
{
	*level = LOG_WARN;
	if (state < 0)
		return "job result discarded: lease lost";
	if (h->outcome == JOBS_OUT_UNSTARTED) {
		*level = LOG_DEBUG;
		return "job given back unstarted";
	}
	switch (state) {
	case JOBS_SUCCEEDED:
		*level = LOG_INFO;
		return "job succeeded";
	case JOBS_CANCELLED:
		*level = LOG_INFO;
		return "job cancelled";
	case JOBS_DEAD:
		*level = LOG_ERROR;
		return "job dead";
	default:
		return h->outcome == JOBS_OUT_INTERRUPTED
			       ? "job interrupted, will run again"
			       : "job failed, will retry";
	}
}

static void log_report(const held_t *h, int state)
{
	log_level_t level;
	const char *msg = report_message(h, state, &level);
	if (!log_enabled(level))
		return;
	log_set_request_id(h->job.request_id);
	log_line_t *l = log_begin(level, msg);
	log_int(l, "job", h->job.id);
	log_str(l, "kind", h->job.kind);
	log_int(l, "attempt", h->job.attempt);
	if (h->outcome != JOBS_OUT_UNSTARTED)
		log_double(l, "ms", h->run_seconds * 1000);
	if (h->error)
		log_str(l, "error", h->error);
	log_end(l);
	log_set_request_id(NULL);
}

/* Reports every run-but-unreported job; keeps trying while the database
 * is away (the keeper keeps their leases meanwhile) until the deployer
 * stops for good. */
static void report_done(worker_t *w)
{
	app_t *app = w->app;
	jobs_report_t reports[DEPLOYER_BATCH_MAX];
	held_t *which[DEPLOYER_BATCH_MAX];
	int n = 0;
	for (int i = 0; i < w->nheld; i++) {
		held_t *h = &w->held[i];
		if (h->phase != HELD_DONE)
			continue;
		reports[n] = (jobs_report_t){
			.token = {h->job.id, h->job.attempt, w->id},
			.outcome = h->outcome,
			.error = h->error};
		which[n++] = h;
	}
	if (n == 0)
		return;
	int rc, wait_ms = BACKOFF_MIN_MS;
	while ((rc = jobs_report(w->db, w->batch_arena, reports, n)) == ERR_DB) {
		note_db_result(w, rc, "report");
		if (phase_of(app) == PHASE_STOPPING)
			return; /* main gives these back (or the rescuer will) */
		backoff(w, &wait_ms, PHASE_DRAINING);
	}
	note_db_result(w, rc, "report");
	if (rc)
		log_error("reports refused (%s); their leases will expire",
			  err_code_name(rc));
	pthread_mutex_lock(&w->mu);
	for (int i = 0; i < n; i++)
		which[i]->phase = HELD_REPORTED;
	pthread_mutex_unlock(&w->mu);
	for (int i = 0; i < n && rc == 0; i++) {
		held_t *h = which[i];
		count_report(app, h, reports[i].state);
		log_report(h, reports[i].state);
		if (h->outcome == JOBS_OUT_RETRY || h->outcome == JOBS_OUT_FATAL)
			app_note_error(app, "job %lld (%s) attempt %d: %s",
				       h->job.id, h->job.kind, h->job.attempt,
				       h->error ? h->error : "failed");
	}
}

/* Marks the batch's unstarted jobs from index `from` to be given back. */
static void give_back(worker_t *w, int from)
{
	for (int i = from; i < w->nheld; i++)
		if (w->held[i].phase == HELD_WAITING)
			finish_held(w, &w->held[i],
				    atomic_load(&w->held[i].stop) &
						    JOBS_STOP_CANCEL
					    ? JOBS_OUT_CANCELLED
					    : JOBS_OUT_UNSTARTED,
				    NULL);
}

static void next_batch_size(worker_t *w)
{
	double avg = w->avg_run_seconds;
	int size = avg <= 0 ? DEPLOYER_BATCH_MAX
			    : (int)(TARGET_BATCH_SECONDS / avg);
	w->batch = size < 1 ? 1 : size > DEPLOYER_BATCH_MAX ? DEPLOYER_BATCH_MAX
							      : size;
}

static void run_batch(worker_t *w)
{
	double start = now_seconds(), reported = start;
	for (int i = 0; i < w->nheld; i++) {
		double now = now_seconds();
		if (phase_of(w->app) != PHASE_RUNNING ||
		    (i > 0 && now - start > GIVE_BACK_SECONDS)) {
			give_back(w, i);
			break;
		}
		if (now - reported > REPORT_EVERY_SECONDS) {
			report_done(w);
			reported = now_seconds();
		}
		run_one(w, &w->held[i]);
	}
	report_done(w);
	pthread_mutex_lock(&w->mu);
	w->nheld = 0;
	pthread_mutex_unlock(&w->mu);
	next_batch_size(w);
}

void *worker_main(void *arg)
{
	worker_t *w = arg;
	app_t *app = w->app;
	w->db = db_open(app->cfg.database_url);
	w->avg_run_seconds = -1;
	w->batch = 1;
	int wait_ms = BACKOFF_MIN_MS;
	while (phase_of(app) == PHASE_RUNNING) {
		int want = w->batch;
		int n = claim_batch(w);
		if (n < 0) {
			backoff(w, &wait_ms, PHASE_RUNNING);
			continue;
		}
		wait_ms = BACKOFF_MIN_MS;
		if (n == 0) {
			wait_for_work(w);
			continue;
		}
		if (n == want)
			app_wake(app, 1); /* there may be more: let another help */
		atomic_store(&w->busy, true);
		run_batch(w);
		atomic_store(&w->busy, false);
	}
	db_close(w->db);
	w->db = NULL;
	atomic_store(&w->exited, true);
	return NULL;
}

/* ------------------------------------------------------------ drain */

int worker_release_all(worker_t *w, db_t *db, arena_t *arena)
{
	jobs_report_t reports[DEPLOYER_BATCH_MAX];
	int n = 0;
	pthread_mutex_lock(&w->mu);
	for (int i = 0; i < w->nheld; i++) {
		held_t *h = &w->held[i];
		if (h->phase == HELD_REPORTED)
			continue;
		jobs_report_t *r = &reports[n++];
		*r = (jobs_report_t){.token = {h->job.id, h->job.attempt, w->id}};
		if (h->phase == HELD_DONE) {
			r->outcome = h->outcome;
			r->error = h->error ? arena_strdup(arena, h->error) : NULL;
		} else if (h->phase == HELD_RUNNING) {
			r->outcome = JOBS_OUT_INTERRUPTED;
			r->error = "the deployer stopped before the job finished";
		} else {
			r->outcome = JOBS_OUT_UNSTARTED;
		}
	}
	pthread_mutex_unlock(&w->mu);
	if (n == 0)
		return 0;
	int rc = jobs_report(db, arena, reports, n);
	if (rc) {
		log_error("could not give back %d jobs (%s); the rescuer will "
			  "after their leases expire",
			  n, db_error(db));
		return 0;
	}
	int released = 0;
	for (int i = 0; i < n; i++)
		released += reports[i].state >= 0;
	return released;
}
