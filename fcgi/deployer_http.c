/* canopy-deployer's FastCGI side: /_deployer/healthz (JSON) and
 * /_deployer/metrics (Prometheus text), everything else 404.  nginx
 * exposes /_deployer/ to loopback clients only.  One thread serves
 * both: they are cheap and rare. */
#include <fcgiapp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "deployer.h"
#include "fcgi_common.h"
#include "http.h"
#include "log.h"

#define BODY_MAX (1u << 20)

static const double bucket_le[METRIC_BUCKETS] = {
	0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
	0.25,   0.5,   1,      2.5,   5,     10,    30,   120};

void metrics_observe_run(kind_metrics_t *m, double seconds)
{
	int b = 0;
	while (b < METRIC_BUCKETS && seconds > bucket_le[b])
		b++;
	atomic_fetch_add(&m->bucket[b], 1);
	atomic_fetch_add(&m->runs, 1);
	atomic_fetch_add(&m->run_micros,
			 (unsigned long long)(seconds * 1e6 + 0.5));
}

typedef struct {
	int busy, idle;
} worker_counts_t;

static worker_counts_t count_workers(const app_t *app)
{
	worker_counts_t c = {0, 0};
	for (int i = 0; i < app->nworkers; i++) {
		if (atomic_load(&app->workers[i].exited))
			continue;
		if (atomic_load(&app->workers[i].busy))
			c.busy++;
		else
			c.idle++;
	}
	return c;
}

static const char *phase_name(const app_t *app)
{
	static const char *const names[] = {"running", "draining", "stopping"};
	return names[atomic_load(&app->phase)];
}

/* ------------------------------------------------------------ healthz */

static void put_json_or_null(buf_t *b, const char *s)
{
	if (!s || !*s) {
		buf_puts(b, "null");
		return;
	}
	buf_putc(b, '"');
	buf_put_json_str(b, s, strlen(s));
	buf_putc(b, '"');
}

static void healthz(app_t *app, db_t *db, arena_t *arena,
		    http_response_t *resp)
{
	jobs_stats_t stats;
	bool db_ok = jobs_stats(db, arena, &stats) == 0;
	worker_counts_t wc = count_workers(app);
	bool draining = atomic_load(&app->phase) != PHASE_RUNNING;
	resp->status = db_ok && !draining ? 200 : 503;
	buf_t *b = &resp->body;
	buf_printf(b,
		   "{\"status\":\"%s\",\"state\":\"%s\",\"pid\":%d,"
		   "\"database\":\"%s\",\"workers\":{\"busy\":%d,\"idle\":%d,"
		   "\"total\":%d},\"jobs\":",
		   db_ok && !draining ? "ok" : "degraded", phase_name(app),
		   (int)getpid(), db_ok ? "ok" : "unreachable", wc.busy, wc.idle,
		   app->nworkers);
	if (db_ok) {
		buf_putc(b, '{');
		for (int s = 0; s < JOBS_NSTATES; s++)
			buf_printf(b, "%s\"%s\":%lld", s ? "," : "",
				   jobs_state_name((jobs_state_t)s),
				   stats.count[s]);
		buf_printf(b, "},\"oldest_available_seconds\":%.3f",
			   stats.oldest_available_seconds);
	} else {
		buf_puts(b, "null,\"oldest_available_seconds\":null");
	}
	buf_puts(b, ",\"last_error\":");
	pthread_mutex_lock(&app->error_mu);
	put_json_or_null(b, app->last_error);
	pthread_mutex_unlock(&app->error_mu);
	buf_putc(b, '}');
}

/* ------------------------------------------------------------ metrics */

static const struct {
	const char *name;
	const char *help;
	size_t offset;
} counters[] = {
	{"canopy_jobs_claimed_total", "Jobs claimed by this deployer.",
	 offsetof(kind_metrics_t, claimed)},
	{"canopy_jobs_succeeded_total", "Jobs this deployer ran to success.",
	 offsetof(kind_metrics_t, succeeded)},
	{"canopy_jobs_failed_total", "Handler runs that failed.",
	 offsetof(kind_metrics_t, failed)},
	{"canopy_jobs_retried_total",
	 "Jobs returned to the queue to run again.",
	 offsetof(kind_metrics_t, retried)},
	{"canopy_jobs_dead_total", "Jobs that ended dead here.",
	 offsetof(kind_metrics_t, dead)},
	{"canopy_jobs_cancelled_total", "Jobs that ended cancelled here.",
	 offsetof(kind_metrics_t, cancelled)},
	{"canopy_jobs_lost_total",
	 "Results discarded because the lease had been lost.",
	 offsetof(kind_metrics_t, lost)},
};

static unsigned long long counter(const kind_metrics_t *m, size_t offset)
{
	return atomic_load((const atomic_ullong *)((const char *)m + offset));
}

static void put_histogram(buf_t *b, const char *kind, kind_metrics_t *m)
{
	unsigned long long cumulative = 0;
	for (int i = 0; i <= METRIC_BUCKETS; i++) {
		cumulative += atomic_load(&m->bucket[i]);
		if (i < METRIC_BUCKETS)
			buf_printf(b,
				   "canopy_job_run_seconds_bucket{kind=\"%s\","
				   "le=\"%g\"} %llu\n",
				   kind, bucket_le[i], cumulative);
		else
			buf_printf(b,
				   "canopy_job_run_seconds_bucket{kind=\"%s\","
				   "le=\"+Inf\"} %llu\n",
				   kind, cumulative);
	}
	buf_printf(b, "canopy_job_run_seconds_sum{kind=\"%s\"} %.6f\n", kind,
		   (double)atomic_load(&m->run_micros) / 1e6);
	buf_printf(b, "canopy_job_run_seconds_count{kind=\"%s\"} %llu\n", kind,
		   (unsigned long long)atomic_load(&m->runs));
}

static void metrics(app_t *app, db_t *db, arena_t *arena,
		    http_response_t *resp)
{
	buf_t *b = &resp->body;
	for (size_t c = 0; c < sizeof counters / sizeof counters[0]; c++) {
		buf_printf(b, "# HELP %s %s\n# TYPE %s counter\n",
			   counters[c].name, counters[c].help,
			   counters[c].name);
		for (int k = 0; k < app->nhandlers; k++)
			buf_printf(b, "%s{kind=\"%s\"} %llu\n", counters[c].name,
				   app->handlers[k].kind,
				   counter(&app->metrics[k], counters[c].offset));
	}
	buf_puts(b, "# HELP canopy_job_run_seconds Handler run time.\n"
		    "# TYPE canopy_job_run_seconds histogram\n");
	for (int k = 0; k < app->nhandlers; k++)
		put_histogram(b, app->handlers[k].kind, &app->metrics[k]);

	worker_counts_t wc = count_workers(app);
	buf_printf(b,
		   "# HELP canopy_deployer_workers Worker threads by state.\n"
		   "# TYPE canopy_deployer_workers gauge\n"
		   "canopy_deployer_workers{state=\"busy\"} %d\n"
		   "canopy_deployer_workers{state=\"idle\"} %d\n"
		   "# HELP canopy_deployer_draining 1 while shutting down.\n"
		   "# TYPE canopy_deployer_draining gauge\n"
		   "canopy_deployer_draining %d\n",
		   wc.busy, wc.idle, atomic_load(&app->phase) != PHASE_RUNNING);

	jobs_stats_t stats;
	bool up = jobs_stats(db, arena, &stats) == 0;
	buf_printf(b, "# HELP canopy_database_up 1 when the database answers.\n"
		      "# TYPE canopy_database_up gauge\ncanopy_database_up %d\n",
		   up);
	if (!up)
		return;
	buf_puts(b, "# HELP canopy_jobs_queue_depth Jobs in the table by "
		    "state.\n# TYPE canopy_jobs_queue_depth gauge\n");
	for (int s = 0; s < JOBS_NSTATES; s++)
		buf_printf(b, "canopy_jobs_queue_depth{state=\"%s\"} %lld\n",
			   jobs_state_name((jobs_state_t)s), stats.count[s]);
	buf_printf(b,
		   "# HELP canopy_jobs_oldest_available_seconds How long the "
		   "oldest runnable job has waited.\n"
		   "# TYPE canopy_jobs_oldest_available_seconds gauge\n"
		   "canopy_jobs_oldest_available_seconds %.3f\n",
		   stats.oldest_available_seconds);
}

/* ------------------------------------------------------------ serving */

static void answer_error(http_response_t *resp, int err, const char *msg)
{
	buf_clear(&resp->body);
	if (http_json_error(resp, err, msg, NULL) != 0)
		resp->status = err_http_status(err);
}

static void serve(app_t *app, FCGX_Request *fcgx, arena_t *arena, db_t *db)
{
	http_request_t req;
	http_response_t resp;
	http_response_init(&resp, arena, BODY_MAX);
	fcgi_common_set_header(&resp, "Cache-Control", "no-store");
	int rc = http_request_init(&req, arena, fcgx->envp);
	log_set_request_id(req.request_id.p);
	resp.head_only = rc == 0 && req.method_id == HTTP_HEAD;
	if (rc) {
		answer_error(&resp, ERR_INVALID, "bad request");
	} else if (req.method_id != HTTP_GET && req.method_id != HTTP_HEAD) {
		answer_error(&resp, ERR_METHOD, NULL);
		fcgi_common_set_header(&resp, "Allow", "GET, HEAD");
	} else if (str_eq_c(req.path, "/_deployer/healthz")) {
		fcgi_common_set_header(&resp, "Content-Type", "application/json");
		healthz(app, db, arena, &resp);
	} else if (str_eq_c(req.path, "/_deployer/metrics")) {
		fcgi_common_set_header(&resp, "Content-Type",
			   "text/plain; version=0.0.4; charset=utf-8");
		metrics(app, db, arena, &resp);
	} else {
		answer_error(&resp, ERR_NOT_FOUND, NULL);
	}
	if (http_response_write(&resp, fcgi_common_write, fcgx->out) != 0)
		log_warn("response write failed");
}

void *http_main(void *arg)
{
	app_t *app = arg;
	FCGX_Request fcgx;
	FCGX_InitRequest(&fcgx, 0, FCGI_FAIL_ACCEPT_ON_INTR);
	arena_t *arena = arena_new(16384);
	db_t *db = db_open(app->cfg.database_url);
	while (!atomic_load(&app->http_stop)) {
		if (FCGX_Accept_r(&fcgx) < 0) {
			if (atomic_load(&app->http_stop))
				break;
			usleep(10000); /* a stray signal or a reset */
			continue;
		}
		serve(app, &fcgx, arena, db);
		FCGX_Finish_r(&fcgx);
		arena_reset(arena);
		log_set_request_id(NULL);
	}
	FCGX_Free(&fcgx, 1);
	arena_free(arena);
	db_close(db);
	atomic_store(&app->http_done, true);
	return NULL;
}
