/* canopy-deployer's shared state: the pieces in fcgi/deployer_*.c.
 *
 * Threads (see ARCHITECTURE.md, "Deployer"):
 *   main      waits for SIGTERM/SIGINT, then drains
 *   workers   claim batches, run handlers, report outcomes (own connection)
 *   listener  LISTEN jobs / jobs_cancel: wakes idle workers, flags cancels
 *   keeper    heartbeats every held lease, rescues expired ones, prunes
 *   http      the FastCGI side: /_deployer/healthz and /_deployer/metrics */
#ifndef CANOPY_DEPLOYER_H
#define CANOPY_DEPLOYER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "config.h"
#include "db.h"
#include "jobs.h"

/* The most jobs a worker claims at once; it claims fewer when jobs are
 * slow (see deployer_worker.c). */
#define DEPLOYER_BATCH_MAX 128

typedef struct app app_t;

typedef enum {
	HELD_WAITING,
	HELD_RUNNING,
	HELD_DONE,    /* run (or given up on) but not yet reported */
	HELD_REPORTED /* no longer ours */
} held_phase_t;

/* A job a worker holds: claimed, then running, then run but not yet
 * reported.  Its lease is heartbeated until it is reported. */
typedef struct {
	jobs_job_t job;
	int kind_index;     /* into app->handlers, -1 when unknown */
	atomic_int stop;    /* JOBS_STOP_* bits, set by other threads */
	held_phase_t phase; /* changed by the worker, under its mutex */
	jobs_outcome_t outcome;
	const char *error;  /* in the batch arena */
	double run_seconds;
} held_t;

typedef struct {
	app_t *app;
	int index;
	pthread_t thread;
	char id[128];          /* locked_by of this worker's claims */
	db_t *db;
	arena_t *batch_arena;  /* the claimed rows and reports */
	arena_t *job_arena;    /* one handler run */
	pthread_mutex_t mu;    /* guards held/nheld/phase against others */
	held_t held[DEPLOYER_BATCH_MAX];
	int nheld;
	int batch;             /* the next claim's size */
	double avg_run_seconds;
	unsigned db_generation;
	bool db_failing;       /* logged once per outage */
	atomic_bool busy;
	atomic_bool exited;
} worker_t;

/* Per-kind counters; the histogram's buckets are not cumulative here. */
#define METRIC_BUCKETS 16
typedef struct {
	atomic_ullong claimed, succeeded, failed, retried, dead, cancelled,
		lost;
	atomic_ullong bucket[METRIC_BUCKETS + 1];
	atomic_ullong runs;
	atomic_ullong run_micros;
} kind_metrics_t;

typedef enum { PHASE_RUNNING = 0, PHASE_DRAINING, PHASE_STOPPING } phase_t;

struct app {
	config_t cfg;
	char process_id[96];
	const jobs_handler_t *handlers;
	int nhandlers;
	const char **kinds; /* the handlers' kinds, for claims */
	kind_metrics_t *metrics;
	int nworkers;
	worker_t *workers;

	atomic_int phase;
	/* The keeper and listener run until this is set (after the workers). */
	atomic_bool stop_background;

	/* Idle workers wait here; each wake token lets one claim. */
	pthread_mutex_t wake_mu;
	pthread_cond_t wake_cv;
	int wake_tokens;

	pthread_mutex_t error_mu;
	char last_error[256];

	pthread_t listener, keeper, http;
	atomic_bool http_stop;
	atomic_bool http_done;
};

/* deployer_handlers.c: the kinds this deployer runs (test kinds only
 * with CANOPY_DEPLOYER_TEST_KINDS=1).  *n gets the count. */
const jobs_handler_t *deployer_handlers(const config_t *cfg, int *n);

/* deployer.c */
void app_note_error(app_t *app, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int app_kind_index(const app_t *app, const char *kind);
/* Lets up to n idle workers claim (n is capped at the worker count). */
void app_wake(app_t *app, int n);
/* Calls fn on every job some worker holds, under that worker's mutex. */
void app_each_held(app_t *app, void (*fn)(worker_t *w, held_t *h, void *ctx),
		   void *ctx);

/* deployer_worker.c */
void *worker_main(void *arg);
/* Reports everything w holds from another thread's connection, when the
 * worker is stuck past the drain deadline; returns the number reported. */
int worker_release_all(worker_t *w, db_t *db, arena_t *arena);

/* deployer_keeper.c */
void *keeper_main(void *arg);
void *listener_main(void *arg);

/* deployer_http.c */
void *http_main(void *arg);
void metrics_observe_run(kind_metrics_t *m, double seconds);

#endif
