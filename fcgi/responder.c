/* canopy-responder: the FastCGI program behind nginx.
 *
 * spawn-fcgi starts several processes on one listening socket (fd 0); each
 * runs CANOPY_RESPONDER_THREADS threads that accept and serve requests
 * independently, plus one thread that LISTENs for changes and invalidates
 * the page cache.  See ARCHITECTURE.md ("Processes", "Shutdown", "Page
 * cache and invalidation") for why it is shaped this way. */
#include <errno.h>
#include <fcgiapp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "admin.h"
#include "analytics.h"
#include "api.h"
#include "arena.h"
#include "assets.h"
#include "cache.h"
#include "config.h"
#include "db.h"
#include "fcgi_common.h"
#include "http.h"
#include "log.h"
#include "mustache.h"
#include "publish.h"
#include "router.h"
#include "site.h"

#define CACHE_ENTRIES 4096
#define RESPONSE_MAX (1 << 20)
#define DRAIN_MS 5000
#define LISTEN_CHANNEL "site_changed"

typedef struct app app_t;

typedef struct {
	app_t *app;
	pthread_t thread;
	FCGX_Request fcgx;
	arena_t *arena;
	db_t *db; /* opened on first use */
	atomic_bool busy;
	atomic_bool done;
} worker_t;

struct app {
	config_t cfg;
	mustache_set_t *templates;
	assets_t *assets;
	site_t *site;
	cache_t *cache;
	api_t *api;
	admin_t *admin;
	atomic_bool stopping;
	int nworkers;
	worker_t *workers;
	pthread_t listener;
};

/* ------------------------------------------------------------ responses */

/* Headers every response from us carries.  HSTS and X-Request-Id are
 * added by nginx for every response, ours and its own. */
static void security_headers(http_response_t *resp, const char *csp)
{
	fcgi_common_set_header(resp, "Content-Security-Policy", csp);
	fcgi_common_set_header(resp, "X-Content-Type-Options", "nosniff");
	fcgi_common_set_header(resp, "Referrer-Policy", "strict-origin-when-cross-origin");
	fcgi_common_set_header(resp, "X-Frame-Options", "DENY");
	fcgi_common_set_header(resp, "Permissions-Policy",
			"camera=(), microphone=(), geolocation=(), interest-cohort=()");
}

static void send_page(worker_t *w, const http_request_t *req,
		      const site_page_t *page)
{
	http_response_t resp;
	http_response_init(&resp, w->arena, RESPONSE_MAX);
	resp.head_only = req->method_id == HTTP_HEAD;
	security_headers(&resp, page->csp);
	fcgi_common_set_header(&resp, "Cache-Control", "no-cache");
	fcgi_common_set_header(&resp, "ETag", page->etag);
	if (page->status == 405 && req->allow.p) /* set by router_match */
		fcgi_common_set_header(&resp, "Allow", str_dup(w->arena, req->allow));
	if (page->status == 200 && http_etag_matches(http_header(req, STR("If-None-Match")), page->etag)) {
		resp.status = 304;
	} else {
		resp.status = page->status;
		fcgi_common_set_header(&resp, "Content-Type", page->content_type);
		if (buf_append(&resp.body, page->body, page->body_len) != 0)
			log_error("page larger than the response cap");
	}
	if (http_response_write(&resp, fcgi_common_write, w->fcgx.out) != 0)
		log_warn("response write failed");
}

/* A last resort when even the error page cannot be rendered. */
static void send_plain(worker_t *w, int status, const char *text)
{
	http_response_t resp;
	http_response_init(&resp, w->arena, RESPONSE_MAX);
	resp.status = status;
	security_headers(&resp, site_default_csp());
	fcgi_common_set_header(&resp, "Content-Type", "text/plain; charset=utf-8");
	fcgi_common_set_header(&resp, "Cache-Control", "no-store");
	buf_puts(&resp.body, text);
	if (http_response_write(&resp, fcgi_common_write, w->fcgx.out) != 0)
		log_warn("response write failed");
}

static void send_error(worker_t *w, const http_request_t *req, int status,
		       const char *message)
{
	site_page_t *page = NULL;
	if (site_render_error(w->app->site, w->arena, status, message, &page)) {
		send_plain(w, status, message);
		return;
	}
	send_page(w, req, page);
	site_page_free(page);
}

/* ------------------------------------------------------------ handlers */

static db_t *worker_db(worker_t *w)
{
	if (!w->db)
		w->db = db_open(w->app->cfg.database_url);
	return w->db;
}

typedef int (*render_fn)(worker_t *w, const http_request_t *req,
			 site_page_t **out);

/* Serves a cacheable page: from the cache, or rendered and then cached
 * under the generation read before the database was asked. */
static int serve_cached(worker_t *w, http_request_t *req, str_t key,
			render_fn render)
{
	cache_t *cache = w->app->cache;
	cache_ref_t *ref = cache_get(cache, key);
	if (ref) {
		send_page(w, req, cache_ref_value(ref));
		cache_unref(ref);
		return 0;
	}
	uint64_t gen = cache_generation(cache);
	site_page_t *page = NULL;
	int rc = render(w, req, &page);
	if (rc)
		return rc;
	send_page(w, req, page);
	cache_put(cache, key, gen, page, site_page_free);
	return 0;
}

static int render_tenant_page(worker_t *w, const http_request_t *req,
			      site_page_t **out)
{
	return site_render(w->app->site, worker_db(w), w->arena, req->slug,
			   req->path, out);
}

static int render_platform_home(worker_t *w, const http_request_t *req,
				site_page_t **out)
{
	(void)req;
	return site_render_platform_home(w->app->site, w->arena, out);
}

static int handle_site(http_request_t *req, http_response_t *resp, void *ctx)
{
	(void)resp;
	worker_t *w = ctx;
	/* Only the site's own paths are cached: the key space stays the set
	 * of tenants, whatever paths clients invent. */
	str_t key = {arena_printf(w->arena, "%.*s%.*s", STR_FMT(req->slug),
				  STR_FMT(req->path)),
		     req->slug.len + req->path.len};
	return serve_cached(w, req, key, render_tenant_page);
}

static int handle_platform_home(http_request_t *req, http_response_t *resp,
				void *ctx)
{
	(void)resp;
	return serve_cached(ctx, req, STR("/"), render_platform_home);
}

static const db_stmt_t q_health = {"responder_health", "SELECT 1", 0};

static int handle_healthz(http_request_t *req, http_response_t *resp,
			  void *ctx)
{
	(void)req;
	worker_t *w = ctx;
	bool db_up = db_exec(worker_db(w), w->arena, &q_health, NULL, NULL) == 0;
	resp->status = db_up ? 200 : 503;
	fcgi_common_set_header(resp, "Content-Type", "application/json");
	fcgi_common_set_header(resp, "Cache-Control", "no-store");
	buf_printf(&resp->body, "{\"status\":\"%s\",\"database\":\"%s\"}",
		   db_up ? "ok" : "degraded", db_up ? "ok" : "unreachable");
	return 0;
}

static long fcgx_read(void *ctx, char *data, size_t n);

/* POST /_e on a tenant host: one first-party analytics event (see
 * lib/analytics.h).  The answer is empty either way, never cached and
 * never sets anything in the browser. */
static int handle_beacon(http_request_t *req, http_response_t *resp,
			 void *ctx)
{
	worker_t *w = ctx;
	int rc = http_request_read_body(req, fcgx_read, w->fcgx.in,
					ANALYTICS_BODY_MAX);
	if (rc == 0)
		rc = analytics_beacon(&w->app->cfg, worker_db(w), w->arena, req);
	if (rc && rc != ERR_INVALID && rc != ERR_NOT_FOUND) {
		log_line_t *l = log_begin(rc == ERR_DB ? LOG_WARN : LOG_INFO,
					  "beacon refused");
		log_str(l, "code", err_code_name(rc));
		log_end(l);
	}
	resp->status = rc ? err_http_status(rc) : 204;
	fcgi_common_set_header(resp, "Cache-Control", "no-store");
	return 0;
}

static const router_route_t routes[] = {
	{"GET", "/healthz", ROUTER_SITE | ROUTER_PLATFORM, handle_healthz, "healthz"},
	{"POST", ANALYTICS_PATH, ROUTER_SITE, handle_beacon, "site.beacon"},
	{"GET", "/", ROUTER_SITE, handle_site, "site.page"},
	{"GET", "/robots.txt", ROUTER_SITE, handle_site, "site.robots"},
	{"GET", "/sitemap.xml", ROUTER_SITE, handle_site, "site.sitemap"},
	{"GET", "/", ROUTER_PLATFORM, handle_platform_home, "platform.home"},
};

/* ------------------------------------------------------------ requests */

static long fcgx_read(void *ctx, char *data, size_t n)
{
	return FCGX_GetStr(data, (int)n, ctx);
}

/* /api/ on the platform host: lib/api answers everything, errors too. */
static void serve_api(worker_t *w, http_request_t *req)
{
	http_response_t resp;
	http_response_init(&resp, w->arena, RESPONSE_MAX);
	resp.head_only = req->method_id == HTTP_HEAD;
	if (api_serve(w->app->api, worker_db(w), req, &resp, fcgx_read,
		      w->fcgx.in) != 0)
		log_error("api: no answer could be made");
	security_headers(&resp, site_default_csp());
	if (http_response_write(&resp, fcgi_common_write, w->fcgx.out))
		log_warn("response write failed");
}

/* /admin on the platform host: lib/admin answers everything, errors too. */
static void serve_admin(worker_t *w, http_request_t *req)
{
	http_response_t resp;
	http_response_init(&resp, w->arena, RESPONSE_MAX);
	resp.head_only = req->method_id == HTTP_HEAD;
	if (admin_serve(w->app->admin, worker_db(w), req, &resp, fcgx_read,
			w->fcgx.in) != 0)
		log_error("admin: no answer could be made");
	/* A page preview brings its own policy (its inline style's hash). */
	str_t csp = http_response_header(&resp, STR("Content-Security-Policy"));
	security_headers(&resp, csp.p ? str_dup(w->arena, csp)
				      : site_default_csp());
	if (http_response_write(&resp, fcgi_common_write, w->fcgx.out))
		log_warn("response write failed");
}

static void serve(worker_t *w)
{
	http_request_t req;
	int rc = http_request_init(&req, w->arena, w->fcgx.envp);
	log_set_request_id(rc == 0 ? req.request_id.p : NULL);
	if (rc) {
		log_line_t *l = log_begin(LOG_INFO, "bad request");
		log_str(l, "reason", req.error);
		log_end(l);
		send_error(w, &req, 400, "This request could not be understood.");
		return;
	}
	if (api_owns(&req)) {
		serve_api(w, &req);
		return;
	}
	if (admin_owns(&req)) {
		serve_admin(w, &req);
		return;
	}
	const router_route_t *route = NULL;
	rc = router_match(routes, sizeof routes / sizeof routes[0], &req, &route);
	if (rc == 0) {
		http_response_t resp;
		http_response_init(&resp, w->arena, RESPONSE_MAX);
		resp.head_only = req.method_id == HTTP_HEAD;
		resp.status = 0; /* a handler that answers itself leaves it 0 */
		rc = route->handler(&req, &resp, w);
		if (rc == 0 && resp.status) {
			security_headers(&resp, site_default_csp());
			if (http_response_write(&resp, fcgi_common_write, w->fcgx.out))
				log_warn("response write failed");
		}
	}
	if (rc == ERR_NOT_FOUND)
		send_error(w, &req, 404, "There is no page at this address.");
	else if (rc == ERR_METHOD)
		send_error(w, &req, 405, "This address does not accept that method.");
	else if (rc == ERR_DB)
		send_error(w, &req, 503, "The site is briefly unavailable. Please try again in a moment.");
	else if (rc)
		send_error(w, &req, 500, "Something went wrong on our side.");
}

/* ------------------------------------------------------------ threads */

static void *worker_main(void *arg)
{
	worker_t *w = arg;
	app_t *app = w->app;
	FCGX_InitRequest(&w->fcgx, 0, FCGI_FAIL_ACCEPT_ON_INTR);
	while (!atomic_load(&app->stopping)) {
		atomic_store(&w->busy, false);
		if (FCGX_Accept_r(&w->fcgx) < 0) {
			if (atomic_load(&app->stopping))
				break;
			/* EINTR from a stray signal or a reset connection */
			continue;
		}
		atomic_store(&w->busy, true);
		serve(w);
		FCGX_Finish_r(&w->fcgx);
		arena_reset(w->arena);
		log_set_request_id(NULL);
	}
	FCGX_Free(&w->fcgx, 1);
	db_close(w->db);
	w->db = NULL;
	atomic_store(&w->done, true);
	return NULL;
}

static void on_change(const char *channel, const char *payload, void *ctx)
{
	(void)channel;
	(void)payload;
	cache_invalidate(ctx);
}

/* Keeps a LISTEN connection up; the cache is on only while it is. */
static void *listener_main(void *arg)
{
	app_t *app = arg;
	db_t *db = db_open(app->cfg.database_url);
	bool listening = false;
	int backoff_ms = 100;
	while (!atomic_load(&app->stopping)) {
		if (!listening) {
			if (db && db_ok(db) && db_listen(db, LISTEN_CHANNEL) == 0) {
				listening = true;
				backoff_ms = 100;
				cache_set_enabled(app->cache, true);
			} else {
				usleep((useconds_t)backoff_ms * 1000);
				backoff_ms = backoff_ms < 2000 ? backoff_ms * 2 : 2000;
				continue;
			}
		}
		struct pollfd pfd = {.fd = db_socket(db), .events = POLLIN};
		if (poll(&pfd, 1, 250) < 0 && errno != EINTR)
			break;
		if (db_notifications(db, on_change, app->cache) < 0) {
			log_warn("change listener lost its connection; cache off "
				 "until it is back");
			cache_set_enabled(app->cache, false);
			listening = false;
		}
	}
	db_close(db);
	return NULL;
}

/* Wakes idle workers until every one has left its loop, or the drain
 * deadline passes (busy ones are finishing a request meanwhile). */
static void drain(app_t *app)
{
	atomic_store(&app->stopping, true);
	FCGX_ShutdownPending();
	for (int waited = 0; waited < DRAIN_MS; waited += 20) {
		int running = 0;
		for (int i = 0; i < app->nworkers; i++) {
			worker_t *w = &app->workers[i];
			if (atomic_load(&w->done))
				continue;
			running++;
			if (!atomic_load(&w->busy))
				pthread_kill(w->thread, SIGUSR1);
		}
		if (!running)
			break;
		usleep(20000);
	}
}

static int load(app_t *app)
{
	char err[CONFIG_ERR_MAX];
	if (config_load(&app->cfg, err, sizeof err) ||
	    config_require(&app->cfg, "DATABASE_URL", err, sizeof err)) {
		fprintf(stderr, "canopy-responder: %s\n", err);
		return -1;
	}
	log_init("canopy-responder", (log_level_t)log_level_parse(app->cfg.log_level));
	mustache_error_t terr;
	app->templates = mustache_set_new();
	if (mustache_set_load_dir(app->templates, app->cfg.template_dir, &terr)) {
		log_error("template %s:%d:%d: %s", terr.name, terr.line,
			  terr.column, terr.message);
		return -1;
	}
	app->assets = assets_load(app->cfg.static_dir);
	if (!app->assets)
		return -1;
	app->site = site_new(&app->cfg, app->templates, app->assets);
	app->cache = cache_new(CACHE_ENTRIES);
	cache_set_enabled(app->cache, false); /* until the listener is up */
	app->api = api_new(&app->cfg, err, sizeof err);
	if (!app->api) {
		log_error("%s", err);
		return -1;
	}
	app->admin = admin_new(&app->cfg, app->templates, app->assets, err,
			       sizeof err);
	if (!app->admin) {
		log_error("%s", err);
		return -1;
	}
	publish_init(&app->cfg);
	return 0;
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
	app.nworkers = app.cfg.responder_threads;
	app.workers = xcalloc((size_t)app.nworkers, sizeof(worker_t));
	pthread_create(&app.listener, NULL, listener_main, &app);
	for (int i = 0; i < app.nworkers; i++) {
		worker_t *w = &app.workers[i];
		w->app = &app;
		w->arena = arena_new(16384);
		pthread_create(&w->thread, NULL, worker_main, w);
	}
	log_line_t *l = log_begin(LOG_INFO, "responder started");
	log_int(l, "threads", app.nworkers);
	log_int(l, "pid", getpid());
	log_end(l);

	int sig = 0;
	sigwait(&stop_signals, &sig);
	log_info("signal %d: draining", sig);
	drain(&app);
	pthread_join(app.listener, NULL);
	for (int i = 0; i < app.nworkers; i++) {
		if (atomic_load(&app.workers[i].done)) {
			pthread_join(app.workers[i].thread, NULL);
			arena_free(app.workers[i].arena);
		}
	}
	log_info("responder stopped");
	return 0;
}
