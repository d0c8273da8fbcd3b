/* canopy-deployer: runs the jobs in the queue.
 *
 * Started by spawn-fcgi (the listening socket on fd 0) so nginx can reach
 * its health and metrics over FastCGI; without such a socket it simply
 * runs without them.  See deployer.h for the threads and ARCHITECTURE.md
 * ("Jobs") for the guarantees.
 *
 * Shutdown (SIGTERM or SIGINT): no new claims; jobs a worker holds but
 * has not started go back to the queue at once; running jobs get
 * CANOPY_DRAIN_SECONDS to finish, then their handlers are told to stop
 * and whatever is still held is given back (released), so another
 * deployer can take it without waiting for the lease to expire. */
#include <fcgiapp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "deployer.h"
#include "fcgi_common.h"
#include "http_client.h"
#include "log.h"
#include "publish.h"
#include "workflow_jobs.h"

#define STOP_GRACE_MS 2000
#define HTTP_STOP_MS 2000

/* ------------------------------------------------------------ shared */

void app_note_error(app_t *app, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	pthread_mutex_lock(&app->error_mu);
	vsnprintf(app->last_error, sizeof app->last_error, fmt, ap);
	pthread_mutex_unlock(&app->error_mu);
	va_end(ap);
}

int app_kind_index(const app_t *app, const char *kind)
{
	for (int i = 0; i < app->nhandlers; i++)
		if (strcmp(app->handlers[i].kind, kind) == 0)
			return i;
	return -1;
}

void app_wake(app_t *app, int n)
{
	pthread_mutex_lock(&app->wake_mu);
	app->wake_tokens += n;
	if (app->wake_tokens > app->nworkers)
		app->wake_tokens = app->nworkers;
	if (n == 1)
		pthread_cond_signal(&app->wake_cv);
	else
		pthread_cond_broadcast(&app->wake_cv);
	pthread_mutex_unlock(&app->wake_mu);
}

void app_each_held(app_t *app, void (*fn)(worker_t *w, held_t *h, void *ctx),
		   void *ctx)
{
	for (int i = 0; i < app->nworkers; i++) {
		worker_t *w = &app->workers[i];
		pthread_mutex_lock(&w->mu);
		for (int j = 0; j < w->nheld; j++)
			fn(w, &w->held[j], ctx);
		pthread_mutex_unlock(&w->mu);
	}
}

/* ------------------------------------------------------------ start */

static int load(app_t *app)
{
	char err[CONFIG_ERR_MAX];
	if (config_load(&app->cfg, err, sizeof err) ||
	    config_require(&app->cfg, "DATABASE_URL", err, sizeof err)) {
		fprintf(stderr, "canopy-deployer: %s\n", err);
		return -1;
	}
	log_init("canopy-deployer",
		 (log_level_t)log_level_parse(app->cfg.log_level));
	db_t *probe = db_open(app->cfg.database_url);
	if (!probe)
		return -1; /* db_open logged why */
	db_close(probe);
	/* The workflow jobs call OpenAI and the builder and publish status:
	 * their hosts are allowed, and the schema they validate with is
	 * compiled now, so a broken one stops the start. */
	http_client_allow_config(&app->cfg);
	publish_init(&app->cfg);
	if (workflow_jobs_init(&app->cfg, false, err, sizeof err) != 0) {
		log_error("%s", err);
		return -1;
	}
	app->handlers = deployer_handlers(&app->cfg, &app->nhandlers);
	app->kinds = xcalloc((size_t)app->nhandlers, sizeof(char *));
	for (int i = 0; i < app->nhandlers; i++)
		app->kinds[i] = app->handlers[i].kind;
	app->metrics = xcalloc((size_t)app->nhandlers, sizeof(kind_metrics_t));
	char host[64] = "host";
	gethostname(host, sizeof host - 1);
	struct timeval tv;
	gettimeofday(&tv, NULL);
	/* host, pid and start time: unique across restarts and hosts */
	snprintf(app->process_id, sizeof app->process_id, "%s:%d:%llx", host,
		 (int)getpid(),
		 (unsigned long long)tv.tv_sec * 1000 +
			 (unsigned long long)tv.tv_usec / 1000);
	return 0;
}

static void init_sync(app_t *app)
{
	pthread_condattr_t attr;
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&app->wake_cv, &attr);
	pthread_condattr_destroy(&attr);
	pthread_mutex_init(&app->wake_mu, NULL);
	pthread_mutex_init(&app->error_mu, NULL);
}

static void start_workers(app_t *app)
{
	app->nworkers = app->cfg.deployer_workers;
	app->workers = xcalloc((size_t)app->nworkers, sizeof(worker_t));
	for (int i = 0; i < app->nworkers; i++) {
		worker_t *w = &app->workers[i];
		w->app = app;
		w->index = i;
		snprintf(w->id, sizeof w->id, "%s/w%d", app->process_id, i);
		w->batch_arena = arena_new(0);
		w->job_arena = arena_new(0);
		pthread_mutex_init(&w->mu, NULL);
	}
	/* every worker exists before any thread can walk the array */
	for (int i = 0; i < app->nworkers; i++)
		pthread_create(&app->workers[i].thread, NULL, worker_main,
			       &app->workers[i]);
}

/* ------------------------------------------------------------ drain */

static void wake_all(app_t *app)
{
	pthread_mutex_lock(&app->wake_mu);
	pthread_cond_broadcast(&app->wake_cv);
	pthread_mutex_unlock(&app->wake_mu);
}

static int running_workers(const app_t *app)
{
	int n = 0;
	for (int i = 0; i < app->nworkers; i++)
		n += !atomic_load(&app->workers[i].exited);
	return n;
}

/* Waits up to ms for every worker to leave; true when they all have. */
static bool wait_workers(const app_t *app, long ms)
{
	for (long waited = 0; running_workers(app) > 0; waited += 10) {
		if (waited >= ms)
			return false;
		usleep(10000);
	}
	return true;
}

static void tell_to_stop(worker_t *w, held_t *h, void *ctx)
{
	(void)w;
	(void)ctx;
	atomic_fetch_or(&h->stop, JOBS_STOP_DRAIN);
}

/* Gives back what workers stuck in a handler still hold, from a
 * connection of our own. */
static int release_stuck(app_t *app)
{
	db_t *db = db_open(app->cfg.database_url);
	arena_t *arena = arena_new(0);
	int released = 0;
	for (int i = 0; i < app->nworkers; i++)
		if (!atomic_load(&app->workers[i].exited))
			released += worker_release_all(&app->workers[i], db,
						       arena);
	arena_free(arena);
	db_close(db);
	return released;
}

static void stop_http(app_t *app, bool started)
{
	if (!started)
		return;
	atomic_store(&app->http_stop, true);
	FCGX_ShutdownPending();
	for (int waited = 0; !atomic_load(&app->http_done) && waited < HTTP_STOP_MS;
	     waited += 20) {
		pthread_kill(app->http, SIGUSR1);
		usleep(20000);
	}
	if (atomic_load(&app->http_done))
		pthread_join(app->http, NULL);
}

static void drain(app_t *app, bool http_started)
{
	atomic_store(&app->phase, PHASE_DRAINING);
	wake_all(app);
	log_line_t *l = log_begin(LOG_INFO, "draining");
	log_int(l, "deadline_seconds", app->cfg.drain_seconds);
	log_end(l);
	bool clean = wait_workers(app, app->cfg.drain_seconds * 1000L);
	if (!clean) {
		app_each_held(app, tell_to_stop, NULL);
		clean = wait_workers(app, STOP_GRACE_MS);
	}
	atomic_store(&app->phase, PHASE_STOPPING);
	int released = clean ? 0 : release_stuck(app);
	atomic_store(&app->stop_background, true);
	pthread_join(app->listener, NULL);
	pthread_join(app->keeper, NULL);
	stop_http(app, http_started);
	for (int i = 0; i < app->nworkers; i++) {
		worker_t *w = &app->workers[i];
		if (!atomic_load(&w->exited))
			continue; /* stuck in a handler: the process exit ends it */
		pthread_join(w->thread, NULL);
		arena_free(w->batch_arena);
		arena_free(w->job_arena);
	}
	l = log_begin(LOG_INFO, "deployer stopped");
	log_bool(l, "clean", clean);
	log_int(l, "released", released);
	log_end(l);
}

int main(void)
{
	static app_t app;
	if (load(&app))
		return 1;
	sigset_t stop_signals;
	fcgi_common_setup_signals(&stop_signals);
	if (FCGX_Init() != 0) {
		log_error("FCGX_Init failed");
		return 1;
	}
	init_sync(&app);
	start_workers(&app);
	pthread_create(&app.listener, NULL, listener_main, &app);
	pthread_create(&app.keeper, NULL, keeper_main, &app);
	bool http = !FCGX_IsCGI();
	if (http)
		pthread_create(&app.http, NULL, http_main, &app);
	else
		log_info("no FastCGI socket on fd 0: health and metrics off");

	log_line_t *l = log_begin(LOG_INFO, "deployer started");
	log_int(l, "workers", app.nworkers);
	log_int(l, "kinds", app.nhandlers);
	log_int(l, "lease_seconds", app.cfg.job_lease_seconds);
	log_str(l, "id", app.process_id);
	log_end(l);

	int sig = 0;
	sigwait(&stop_signals, &sig);
	log_info("signal %d: no new claims", sig);
	drain(&app, http);
	return 0;
}
