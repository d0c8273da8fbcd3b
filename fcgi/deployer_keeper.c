/* canopy-deployer's background threads.
 *
 * The keeper heartbeats every lease this process holds in one statement
 * (a third of the lease apart, so two heartbeats can fail before a lease
 * runs out), rescues expired leases of any deployer, prunes finished
 * jobs, and prunes ended sign-in sessions and stale login throttle rows
 * (lib/auth: nothing else deletes them, and every responder only ever
 * adds).  The listener holds a LISTEN connection: a new job wakes one idle
 * worker at once, a cancel reaches the running handler at once.  Both
 * reconnect with backoff; while the listener is down, workers poll. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "auth.h"
#include "deployer.h"
#include "log.h"

#define TICK_MS 100
#define HEARTBEAT_RETRY_SECONDS 0.5
#define HEARTBEAT_CHUNK 1000 /* leases per statement */
#define RESCUE_LIMIT 1000
#define PRUNE_EVERY_SECONDS 60.0
#define PRUNE_FIRST_SECONDS 5.0
#define PRUNE_BATCH 500
#define PRUNE_MAX_BATCHES 20
/* auth_prune deletes rows that ended a day ago: no hurry, and each run
 * scans the sessions table, so far less often than the jobs. */
#define AUTH_PRUNE_EVERY_SECONDS 600.0
#define LISTEN_POLL_MS 250

static double now_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void pause_ms(const app_t *app, int ms)
{
	for (int slept = 0; slept < ms && !atomic_load(&app->stop_background);
	     slept += 20)
		usleep(20000);
}

/* ------------------------------------------------------------ heartbeat */

/* Where a lease came from, to put its answer back. */
typedef struct {
	worker_t *worker;
	int slot;
} lease_origin_t;

typedef struct {
	jobs_lease_t *leases;
	lease_origin_t *origins;
	int n;
} lease_list_t;

static void collect_lease(worker_t *w, held_t *h, void *ctx)
{
	lease_list_t *list = ctx;
	if (h->phase == HELD_REPORTED)
		return;
	list->leases[list->n] = (jobs_lease_t){
		.token = {h->job.id, h->job.attempt, w->id}};
	list->origins[list->n] = (lease_origin_t){w, (int)(h - w->held)};
	list->n++;
}

/* The slot may hold another job by now, or the job may have been
 * reported since the heartbeat read it (then "not held" is no news):
 * match the token again.  True when the lease was lost while still ours. */
static bool apply_lease(const jobs_lease_t *lease, const lease_origin_t *o)
{
	worker_t *w = o->worker;
	bool lost = false;
	pthread_mutex_lock(&w->mu);
	held_t *h = &w->held[o->slot];
	if (o->slot < w->nheld && h->phase != HELD_REPORTED &&
	    h->job.id == lease->token.id &&
	    h->job.attempt == lease->token.attempt) {
		lost = !lease->held;
		if (lost)
			atomic_fetch_or(&h->stop, JOBS_STOP_LOST);
		if (lease->cancel_requested)
			atomic_fetch_or(&h->stop, JOBS_STOP_CANCEL);
	}
	pthread_mutex_unlock(&w->mu);
	return lost;
}

static int heartbeat(app_t *app, db_t *db, arena_t *arena)
{
	size_t cap = (size_t)app->nworkers * DEPLOYER_BATCH_MAX;
	lease_list_t list = {
		.leases = arena_calloc(arena, cap, sizeof(jobs_lease_t)),
		.origins = arena_calloc(arena, cap, sizeof(lease_origin_t))};
	app_each_held(app, collect_lease, &list);
	for (int from = 0; from < list.n; from += HEARTBEAT_CHUNK) {
		int n = list.n - from < HEARTBEAT_CHUNK ? list.n - from
							: HEARTBEAT_CHUNK;
		int rc = jobs_heartbeat(db, arena, list.leases + from, n,
					app->cfg.job_lease_seconds);
		if (rc) {
			app_note_error(app, "heartbeat: %s", db_error(db));
			return rc;
		}
	}
	for (int i = 0; i < list.n; i++) {
		if (!apply_lease(&list.leases[i], &list.origins[i]))
			continue;
		log_line_t *l = log_begin(LOG_WARN, "job lease lost");
		log_int(l, "job", list.leases[i].token.id);
		log_int(l, "attempt", list.leases[i].token.attempt);
		log_end(l);
	}
	return 0;
}

/* ------------------------------------------------------------ keeper */

static void rescue(app_t *app, db_t *db, arena_t *arena)
{
	int rescued = 0;
	if (jobs_rescue(db, arena, RESCUE_LIMIT, &rescued))
		app_note_error(app, "rescue: %s", db_error(db));
	else if (rescued)
		app_wake(app, rescued);
}

static void prune(app_t *app, db_t *db, arena_t *arena)
{
	long long deleted = 0;
	long long age = (long long)app->cfg.job_retention_hours * 3600;
	if (jobs_prune(db, arena, age, PRUNE_BATCH, PRUNE_MAX_BATCHES,
		       &deleted))
		app_note_error(app, "prune: %s", db_error(db));
	else if (deleted)
		log_info("pruned %lld finished jobs", deleted);
}

static void prune_auth(app_t *app, db_t *db, arena_t *arena)
{
	long long deleted = 0;
	if (auth_prune(db, arena, &deleted)) {
		app_note_error(app, "auth prune: %s", db_error(db));
		return;
	}
	log_line_t *l = log_begin(LOG_INFO, "pruned sessions and login throttles");
	log_int(l, "deleted", deleted);
	log_end(l);
}

void *keeper_main(void *arg)
{
	app_t *app = arg;
	db_t *db = db_open(app->cfg.database_url);
	arena_t *arena = arena_new(0);
	double every = app->cfg.job_lease_seconds / 3.0;
	double now = now_seconds();
	double next_beat = now + every, next_rescue = now,
	       next_prune = now + PRUNE_FIRST_SECONDS,
	       next_auth_prune = now + PRUNE_FIRST_SECONDS;
	while (!atomic_load(&app->stop_background)) {
		now = now_seconds();
		if (now >= next_beat)
			next_beat = now + (heartbeat(app, db, arena)
						   ? HEARTBEAT_RETRY_SECONDS
						   : every);
		if (now >= next_rescue && atomic_load(&app->phase) == PHASE_RUNNING) {
			rescue(app, db, arena);
			next_rescue = now + every;
		}
		if (now >= next_prune) {
			prune(app, db, arena);
			next_prune = now + PRUNE_EVERY_SECONDS;
		}
		if (now >= next_auth_prune) {
			prune_auth(app, db, arena);
			next_auth_prune = now + AUTH_PRUNE_EVERY_SECONDS;
		}
		arena_reset(arena);
		pause_ms(app, TICK_MS);
	}
	arena_free(arena);
	db_close(db);
	return NULL;
}

/* ------------------------------------------------------------ listener */

static void flag_cancel(worker_t *w, held_t *h, void *ctx)
{
	(void)w;
	if (h->phase != HELD_REPORTED && h->job.id == *(long long *)ctx)
		atomic_fetch_or(&h->stop, JOBS_STOP_CANCEL);
}

static void on_notify(const char *channel, const char *payload, void *ctx)
{
	app_t *app = ctx;
	if (strcmp(channel, JOBS_CANCEL_CHANNEL) == 0) {
		long long id = strtoll(payload, NULL, 10);
		app_each_held(app, flag_cancel, &id);
	} else {
		app_wake(app, 1);
	}
}

static bool start_listening(db_t *db)
{
	return db && db_ok(db) && db_listen(db, JOBS_NOTIFY_CHANNEL) == 0 &&
	       db_listen(db, JOBS_CANCEL_CHANNEL) == 0;
}

void *listener_main(void *arg)
{
	app_t *app = arg;
	db_t *db = db_open(app->cfg.database_url);
	bool listening = false;
	int backoff_ms = 100;
	while (!atomic_load(&app->stop_background)) {
		if (!listening) {
			if (!start_listening(db)) {
				pause_ms(app, backoff_ms);
				backoff_ms = backoff_ms < 2000 ? backoff_ms * 2 : 2000;
				continue;
			}
			listening = true;
			backoff_ms = 100;
			/* whatever was enqueued while we were deaf */
			app_wake(app, app->nworkers);
		}
		struct pollfd pfd = {.fd = db_socket(db), .events = POLLIN};
		if (poll(&pfd, 1, LISTEN_POLL_MS) < 0 && errno != EINTR)
			break;
		if (db_notifications(db, on_notify, app) < 0) {
			log_warn("job listener lost its connection; workers poll "
				 "until it is back");
			listening = false;
		}
	}
	db_close(db);
	return NULL;
}
