#include "workflow_store.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "log.h"
#include "publish.h"
#include "workflow.h"

#define CANONICAL_MAX (64u << 20)

static const char *const status_names[] = {
	[WORKFLOW_IDLE] = "idle",
	[WORKFLOW_GENERATING] = "generating",
	[WORKFLOW_DEPLOYING] = "deploying",
	[WORKFLOW_LIVE] = "live",
	[WORKFLOW_ERROR] = "error",
};
#define NSTATUS (int)(sizeof status_names / sizeof status_names[0])

const char *workflow_store_status_name(workflow_status_t s)
{
	return (int)s >= 0 && (int)s < NSTATUS ? status_names[s] : NULL;
}

int workflow_store_status_parse(const char *name)
{
	for (int i = 0; name && i < NSTATUS; i++)
		if (strcmp(status_names[i], name) == 0)
			return i;
	return -1;
}

/* The request (or enqueuer's) id this thread logs with, NULL if none. */
static const char *request_id(void)
{
	const char *r = log_request_id();
	return r && *r ? r : NULL;
}

/* ------------------------------------------------------------ hashing */

int workflow_store_hash(const json_t *graph, char hex[65])
{
	buf_t b;
	buf_init(&b, NULL, CANONICAL_MAX);
	int rc = workflow_canonical(graph, &b);
	if (rc == 0) {
		unsigned char md[crypto_hash_sha256_BYTES];
		crypto_hash_sha256(md, (const unsigned char *)(b.len ? b.data : ""),
				   b.len);
		sodium_bin2hex(hex, 65, md, sizeof md);
	}
	buf_free(&b);
	return rc;
}

/* ------------------------------------------------------------ rows */

#define GET_COLUMNS                                                          \
	"w.id, w.tenant_id, w.name, w.prompt, w.json::text, w.graph_hash,"   \
	" w.version, w.status, w.status_reason, w.builder_kind,"            \
	" w.external_id, w.editor_url, w.last_run_url, w.deployed_hash,"    \
	" to_json(w.created_at) #>> '{}', to_json(w.updated_at) #>> '{}'"
#define LIST_COLUMNS                                                         \
	"w.id, w.tenant_id, w.name, w.prompt, NULL::text, w.graph_hash,"     \
	" w.version, w.status, w.status_reason, w.builder_kind,"            \
	" w.external_id, w.editor_url, w.last_run_url, w.deployed_hash,"    \
	" to_json(w.created_at) #>> '{}', to_json(w.updated_at) #>> '{}'"

static const db_stmt_t q_get = {
	"wfs_get",
	"SELECT " GET_COLUMNS " FROM workflows w"
	" WHERE w.tenant_id = $1 AND w.id = $2",
	2};

static const db_stmt_t q_list = {
	"wfs_list",
	"SELECT " LIST_COLUMNS " FROM workflows w"
	" WHERE w.tenant_id = $1 ORDER BY w.id LIMIT $2",
	2};

static void row_from(workflow_row_t *r, const PGresult *res, int i)
{
	int st = workflow_store_status_parse(db_value(res, i, 7));
	*r = (workflow_row_t){
		.id = db_value_ll(res, i, 0),
		.tenant_id = db_value_ll(res, i, 1),
		.name = db_value(res, i, 2),
		.prompt = db_value(res, i, 3),
		.json = db_value(res, i, 4),
		.graph_hash = db_value(res, i, 5),
		.version = (int)db_value_ll(res, i, 6),
		.status = st < 0 ? WORKFLOW_ERROR : (workflow_status_t)st,
		.status_reason = db_value(res, i, 8),
		.builder_kind = db_value(res, i, 9),
		.external_id = db_value(res, i, 10),
		.editor_url = db_value(res, i, 11),
		.last_run_url = db_value(res, i, 12),
		.deployed_hash = db_value(res, i, 13),
		.created_at = db_value(res, i, 14),
		.updated_at = db_value(res, i, 15),
	};
}

int workflow_store_get(db_t *db, arena_t *a, long long tenant_id,
		       long long id, workflow_row_t *out)
{
	const char *p[] = {db_param_ll(a, tenant_id), db_param_ll(a, id)};
	PGresult *res;
	int rc = db_exec(db, a, &q_get, p, &res);
	if (rc)
		return rc;
	if (db_rows(res) == 0)
		return ERR_NOT_FOUND;
	row_from(out, res, 0);
	return 0;
}

static const db_stmt_t q_get_locked = {
	"wfs_get_locked",
	"SELECT " GET_COLUMNS " FROM workflows w"
	" WHERE w.tenant_id = $1 AND w.id = $2 FOR UPDATE OF w",
	2};

int workflow_store_get_locked(db_t *db, arena_t *a, long long tenant_id,
			      long long id, workflow_row_t *out)
{
	if (!db_in_transaction(db))
		return ERR_INTERNAL; /* the lock would end with the statement */
	const char *p[] = {db_param_ll(a, tenant_id), db_param_ll(a, id)};
	PGresult *res;
	int rc = db_exec(db, a, &q_get_locked, p, &res);
	if (rc)
		return rc;
	if (db_rows(res) == 0)
		return ERR_NOT_FOUND;
	row_from(out, res, 0);
	return 0;
}

int workflow_store_list(db_t *db, arena_t *a, long long tenant_id, int limit,
			workflow_row_t **rows, int *n)
{
	*rows = NULL;
	*n = 0;
	if (limit < 1 || limit > 1000)
		return ERR_INVALID;
	const char *p[] = {db_param_ll(a, tenant_id), db_param_ll(a, limit)};
	PGresult *res;
	int rc = db_exec(db, a, &q_list, p, &res);
	if (rc)
		return rc;
	int count = db_rows(res);
	workflow_row_t *out = arena_calloc(a, (size_t)(count ? count : 1),
					   sizeof *out);
	for (int i = 0; i < count; i++)
		row_from(&out[i], res, i);
	*rows = out;
	*n = count;
	return 0;
}

/* ------------------------------------------------------------ create */

#define STATUS_COLUMNS                                                       \
	"t.slug, w.id, w.name, w.status, w.status_reason, w.last_run_url,"   \
	" w.editor_url, w.version, to_json(w.updated_at) #>> '{}'"

static const db_stmt_t q_create = {
	"wfs_create",
	"WITH w AS ("
	"  INSERT INTO workflows (tenant_id, name, prompt, status)"
	"  VALUES ($1, COALESCE(NULLIF(left(btrim($2), 200), ''),"
	"                       'Untitled automation'), $3, $4)"
	"  RETURNING *)"
	"SELECT " STATUS_COLUMNS " FROM w JOIN tenants t ON t.id = w.tenant_id",
	4};

static void note_change(arena_t *a, const PGresult *res,
			workflow_store_change_t *change);

int workflow_store_create_as(db_t *db, arena_t *a, long long tenant_id,
			     const char *name, const char *prompt,
			     workflow_status_t status, long long *id,
			     workflow_store_change_t *change)
{
	const char *st = workflow_store_status_name(status);
	if (!st)
		return ERR_INVALID;
	const char *p[] = {db_param_ll(a, tenant_id), name, prompt, st};
	PGresult *res;
	int rc = db_exec(db, a, &q_create, p, &res);
	if (rc)
		return rc;
	if (db_rows(res) != 1)
		return ERR_NOT_FOUND; /* no such tenant */
	*id = db_value_ll(res, 0, 1);
	if (change)
		note_change(a, res, change);
	return 0;
}

int workflow_store_create(db_t *db, arena_t *a, long long tenant_id,
			  const char *name, const char *prompt, long long *id)
{
	return workflow_store_create_as(db, a, tenant_id, name, prompt,
					WORKFLOW_IDLE, id, NULL);
}

/* ------------------------------------------------------------ graphs */

static const db_stmt_t q_save = {
	"wfs_save",
	"UPDATE workflows"
	"   SET json = $3::jsonb, graph_hash = $4, version = version + 1,"
	"       name = COALESCE(NULLIF(left(btrim($5), 200), ''), name),"
	"       updated_at = now()"
	" WHERE tenant_id = $1 AND id = $2"
	" RETURNING version",
	5};

static const db_stmt_t q_save_version = {
	"wfs_save_version",
	"INSERT INTO workflow_versions"
	"   (tenant_id, workflow_id, version, json, graph_hash, source,"
	"    request_id)"
	" VALUES ($1, $2, $3, $4::jsonb, $5, $6, $7)",
	7};

static bool valid_source(const char *s)
{
	static const char *const sources[] = {"generate", "api", "admin",
					      "restore"};
	for (size_t i = 0; s && i < sizeof sources / sizeof sources[0]; i++)
		if (strcmp(s, sources[i]) == 0)
			return true;
	return false;
}

static void drop_text(void *p)
{
	free(p);
}

int workflow_store_save_graph(db_t *db, arena_t *a, long long tenant_id,
			      long long id, const json_t *graph,
			      const char *source, int *version)
{
	if (!json_is_object(graph) || !valid_source(source))
		return ERR_INVALID;
	char hex[65];
	int rc = workflow_store_hash(graph, hex);
	if (rc)
		return rc;
	char *text = json_dumps(graph, JSON_COMPACT);
	if (!text)
		return ERR_INVALID;
	arena_on_reset(a, drop_text, text);
	const char *name = json_string_value(json_object_get(graph, "name"));
	const char *tid = db_param_ll(a, tenant_id), *wid = db_param_ll(a, id);

	bool own = !db_in_transaction(db);
	if (own && (rc = db_begin(db)) != 0)
		return rc;
	const char *p[] = {tid, wid, text, hex, name};
	PGresult *res;
	rc = db_exec(db, a, &q_save, p, &res);
	if (rc == 0 && db_rows(res) == 0)
		rc = ERR_NOT_FOUND;
	int v = rc == 0 ? (int)db_value_ll(res, 0, 0) : 0;
	if (rc == 0) {
		const char *pv[] = {tid, wid, db_param_ll(a, v), text, hex, source,
				    request_id()};
		rc = db_exec(db, a, &q_save_version, pv, NULL);
	}
	if (own) {
		if (rc == 0)
			rc = db_commit(db);
		else
			db_rollback(db);
	}
	if (rc == 0 && version)
		*version = v;
	return rc;
}

/* ------------------------------------------------------------ status */

/* What a status message needs; the tenant's slug names the channel. */
static const db_stmt_t q_status = {
	"wfs_status",
	"UPDATE workflows w"
	"   SET status = $3, status_reason = left($4, 2000), updated_at = now()"
	"  FROM tenants t"
	" WHERE t.id = w.tenant_id AND w.tenant_id = $1 AND w.id = $2"
	" RETURNING " STATUS_COLUMNS,
	4};

static const db_stmt_t q_live = {
	"wfs_live",
	"UPDATE workflows w"
	"   SET status = 'live', status_reason = NULL, builder_kind = $3,"
	"       external_id = $4, editor_url = $5, last_run_url = $6,"
	"       deployed_hash = $7, updated_at = now()"
	"  FROM tenants t"
	" WHERE t.id = w.tenant_id AND w.tenant_id = $1 AND w.id = $2"
	" RETURNING " STATUS_COLUMNS,
	7};

static const db_stmt_t q_current = {
	"wfs_current",
	"SELECT " STATUS_COLUMNS " FROM workflows w"
	"  JOIN tenants t ON t.id = w.tenant_id"
	" WHERE w.tenant_id = $1 AND w.id = $2",
	2};

static void set_opt(json_t *o, const char *key, const char *v)
{
	json_object_set_new(o, key, v ? json_string(v) : json_null());
}

json_t *workflow_store_status_message(const workflow_row_t *row)
{
	json_t *m = json_object();
	json_object_set_new(m, "type", json_string("workflow.status"));
	json_object_set_new(m, "workflow_id", json_integer(row->id));
	set_opt(m, "name", row->name);
	set_opt(m, "status", workflow_store_status_name(row->status));
	set_opt(m, "reason", row->status_reason);
	set_opt(m, "url", row->last_run_url);
	set_opt(m, "editor_url", row->editor_url);
	json_object_set_new(m, "version", json_integer(row->version));
	set_opt(m, "updated_at", row->updated_at);
	return m;
}

/* The message for row r of a STATUS_COLUMNS result (a new reference). */
static json_t *row_message(const PGresult *res, int r)
{
	int st = workflow_store_status_parse(db_value(res, r, 3));
	workflow_row_t row = {
		.id = db_value_ll(res, r, 1),
		.name = db_value(res, r, 2),
		.status = st < 0 ? WORKFLOW_ERROR : (workflow_status_t)st,
		.status_reason = db_value(res, r, 4),
		.last_run_url = db_value(res, r, 5),
		.editor_url = db_value(res, r, 6),
		.version = (int)db_value_ll(res, r, 7),
		.updated_at = db_value(res, r, 8),
	};
	return workflow_store_status_message(&row);
}

/* Publishes the status in row r of a STATUS_COLUMNS result. */
static void publish_row(const PGresult *res, int r)
{
	const config_t *cfg = publish_default();
	if (!cfg)
		return;
	json_t *m = row_message(res, r);
	/* A failure is logged by publish_tenant; the page reads the status
	 * from the database anyway. */
	(void)!publish_tenant(cfg, db_value(res, r, 0), m);
	json_decref(m);
}

static void drop_json(void *j)
{
	json_decref(j);
}

static void note_change(arena_t *a, const PGresult *res,
			workflow_store_change_t *change)
{
	change->slug = arena_strdup(a, db_value(res, 0, 0));
	change->message = row_message(res, 0);
	arena_on_reset(a, drop_json, change->message);
}

void workflow_store_publish_change(const workflow_store_change_t *change)
{
	const config_t *cfg = publish_default();
	if (cfg && change->message)
		(void)!publish_tenant(cfg, change->slug, change->message);
}

/* Runs one of the status statements; publishes unless a caller's
 * transaction is open. */
static int change_status(db_t *db, arena_t *a, const db_stmt_t *stmt,
			 const char *const *params, bool publish,
			 workflow_store_change_t *change)
{
	PGresult *res;
	int rc = db_exec(db, a, stmt, params, &res);
	if (rc)
		return rc;
	if (db_rows(res) == 0)
		return ERR_NOT_FOUND;
	if (change)
		note_change(a, res, change);
	if (publish && !db_in_transaction(db))
		publish_row(res, 0);
	return 0;
}

int workflow_store_update_status(db_t *db, arena_t *a, long long tenant_id,
				 long long id, workflow_status_t status,
				 const char *reason,
				 workflow_store_change_t *change)
{
	const char *st = workflow_store_status_name(status);
	if (!st)
		return ERR_INVALID;
	const char *p[] = {db_param_ll(a, tenant_id), db_param_ll(a, id), st, reason};
	return change_status(db, a, &q_status, p, false, change);
}

static const db_stmt_t q_set_prompt = {
	"wfs_set_prompt",
	"UPDATE workflows w"
	"   SET prompt = $3, status = $4, status_reason = NULL,"
	"       updated_at = now()"
	"  FROM tenants t"
	" WHERE t.id = w.tenant_id AND w.tenant_id = $1 AND w.id = $2"
	" RETURNING " STATUS_COLUMNS,
	4};

int workflow_store_set_prompt(db_t *db, arena_t *a, long long tenant_id,
			      long long id, const char *prompt,
			      workflow_status_t status,
			      workflow_store_change_t *change)
{
	const char *st = workflow_store_status_name(status);
	if (!st || !prompt)
		return ERR_INVALID;
	const char *p[] = {db_param_ll(a, tenant_id), db_param_ll(a, id), prompt,
			   st};
	return change_status(db, a, &q_set_prompt, p, false, change);
}

int workflow_store_set_status(db_t *db, arena_t *a, long long tenant_id,
			      long long id, workflow_status_t status,
			      const char *reason)
{
	const char *st = workflow_store_status_name(status);
	if (!st)
		return ERR_INVALID;
	const char *p[] = {db_param_ll(a, tenant_id), db_param_ll(a, id), st, reason};
	return change_status(db, a, &q_status, p, true, NULL);
}

int workflow_store_set_live(db_t *db, arena_t *a, long long tenant_id,
			    long long id, const char *builder_kind,
			    const char *external_id, const char *editor_url,
			    const char *run_url, const char *deployed_hash)
{
	const char *p[] = {db_param_ll(a, tenant_id), db_param_ll(a, id), builder_kind,
			   external_id, editor_url, run_url, deployed_hash};
	return change_status(db, a, &q_live, p, true, NULL);
}

int workflow_store_publish(db_t *db, arena_t *a, long long tenant_id,
			   long long id)
{
	const char *p[] = {db_param_ll(a, tenant_id), db_param_ll(a, id)};
	PGresult *res;
	int rc = db_exec(db, a, &q_current, p, &res);
	if (rc)
		return rc;
	if (db_rows(res) == 0)
		return ERR_NOT_FOUND;
	publish_row(res, 0);
	return 0;
}

/* ------------------------------------------------------------ delete */

static const db_stmt_t q_delete = {
	"wfs_delete",
	"DELETE FROM workflows w USING tenants t"
	" WHERE t.id = w.tenant_id AND w.tenant_id = $1 AND w.id = $2"
	" RETURNING t.slug",
	2};

int workflow_store_delete(db_t *db, arena_t *a, long long tenant_id,
			  long long id)
{
	const char *p[] = {db_param_ll(a, tenant_id), db_param_ll(a, id)};
	PGresult *res;
	int rc = db_exec(db, a, &q_delete, p, &res);
	if (rc)
		return rc;
	if (db_rows(res) == 0)
		return ERR_NOT_FOUND;
	const config_t *cfg = publish_default();
	if (cfg && !db_in_transaction(db)) {
		json_t *m = json_pack("{s:s, s:I}", "type", "workflow.deleted",
				      "workflow_id", (json_int_t)id);
		(void)!publish_tenant(cfg, db_value(res, 0, 0), m);
		json_decref(m);
	}
	return 0;
}

/* ------------------------------------------------------------ versions */

/* The workflow row decides ERR_NOT_FOUND; a workflow without versions
 * gives one row of NULLs. */
static const db_stmt_t q_versions = {
	"wfs_versions",
	"SELECT v.version, v.json::text, v.graph_hash, v.source, v.request_id,"
	"       to_json(v.created_at) #>> '{}'"
	"  FROM workflows w"
	"  LEFT JOIN LATERAL ("
	"       SELECT * FROM workflow_versions x"
	"        WHERE x.tenant_id = w.tenant_id AND x.workflow_id = w.id"
	"        ORDER BY x.version DESC LIMIT $3) v ON true"
	" WHERE w.tenant_id = $1 AND w.id = $2"
	" ORDER BY v.version DESC",
	3};

/* Runs q, a query of rows belonging to workflow id of tenant_id
 * ($1, $2) at most limit ($3, 1..1000) of them, LEFT JOINed to the
 * workflow so that zero rows means no such workflow (ERR_NOT_FOUND) and
 * one row of NULLs a workflow with none. */
static int workflow_rows(db_t *db, arena_t *a, const db_stmt_t *q,
			 long long tenant_id, long long id, int limit,
			 PGresult **res)
{
	if (limit < 1 || limit > 1000)
		return ERR_INVALID;
	const char *p[] = {db_param_ll(a, tenant_id), db_param_ll(a, id),
			   db_param_ll(a, limit)};
	int rc = db_exec(db, a, q, p, res);
	if (rc)
		return rc;
	return db_rows(*res) == 0 ? ERR_NOT_FOUND : 0;
}

int workflow_store_versions(db_t *db, arena_t *a, long long tenant_id,
			    long long id, int limit, workflow_version_t **rows,
			    int *n)
{
	*rows = NULL;
	*n = 0;
	PGresult *res;
	int rc = workflow_rows(db, a, &q_versions, tenant_id, id, limit, &res);
	if (rc)
		return rc;
	int count = db_rows(res);
	workflow_version_t *out = arena_calloc(a, (size_t)count, sizeof *out);
	int k = 0;
	for (int i = 0; i < count; i++) {
		if (!db_value(res, i, 0))
			continue; /* the workflow has no version yet */
		out[k++] = (workflow_version_t){
			.version = (int)db_value_ll(res, i, 0),
			.json = db_value(res, i, 1),
			.graph_hash = db_value(res, i, 2),
			.source = db_value(res, i, 3),
			.request_id = db_value(res, i, 4),
			.created_at = db_value(res, i, 5),
		};
	}
	*rows = out;
	*n = k;
	return 0;
}

/* ------------------------------------------------------------ deployments */

static const db_stmt_t q_deploy_begin = {
	"wfs_deploy_begin",
	"INSERT INTO deployments"
	"   (tenant_id, workflow_id, job_id, attempt, driver, graph_hash,"
	"    request_id)"
	" SELECT w.tenant_id, w.id, $3, $4, $5, $6, $7 FROM workflows w"
	"  WHERE w.tenant_id = $1 AND w.id = $2"
	" RETURNING id",
	7};

static const db_stmt_t q_deploy_end = {
	"wfs_deploy_end",
	"UPDATE deployments"
	"   SET status = CASE WHEN $3::boolean THEN 'succeeded' ELSE 'failed' END,"
	"       external_id = left($4, 200), url = left($5, 2000),"
	"       http_status = $6, error = left($7, 2000), finished_at = now()"
	" WHERE tenant_id = $1 AND id = $2"
	" RETURNING id",
	7};

int workflow_store_deployment_begin(db_t *db, arena_t *a, long long tenant_id,
				    long long workflow_id, long long job_id,
				    int attempt, const char *driver,
				    const char *graph_hash,
				    long long *deployment_id)
{
	const char *p[] = {db_param_ll(a, tenant_id),
			   db_param_ll(a, workflow_id),
			   job_id > 0 ? db_param_ll(a, job_id) : NULL,
			   db_param_ll(a, attempt),
			   driver,
			   graph_hash,
			   request_id()};
	PGresult *res;
	int rc = db_exec(db, a, &q_deploy_begin, p, &res);
	if (rc)
		return rc;
	if (db_rows(res) == 0)
		return ERR_NOT_FOUND;
	*deployment_id = db_value_ll(res, 0, 0);
	return 0;
}

int workflow_store_deployment_end(db_t *db, arena_t *a, long long tenant_id,
				  long long deployment_id, bool succeeded,
				  const char *external_id, const char *url,
				  long http_status, const char *error)
{
	const char *p[] = {db_param_ll(a, tenant_id),
			   db_param_ll(a, deployment_id),
			   succeeded ? "true" : "false",
			   external_id,
			   url,
			   http_status > 0 ? db_param_ll(a, http_status) : NULL,
			   error};
	PGresult *res;
	int rc = db_exec(db, a, &q_deploy_end, p, &res);
	if (rc)
		return rc;
	return db_rows(res) == 0 ? ERR_NOT_FOUND : 0;
}

/* The workflow row decides ERR_NOT_FOUND, as for the versions. */
static const db_stmt_t q_deployments = {
	"wfs_deployments",
	"SELECT d.id, d.job_id, d.attempt, d.driver, d.graph_hash, d.status,"
	"       d.external_id, d.url, d.error, d.http_status, d.request_id,"
	"       to_json(d.started_at) #>> '{}', to_json(d.finished_at) #>> '{}'"
	"  FROM workflows w"
	"  LEFT JOIN LATERAL ("
	"       SELECT * FROM deployments x"
	"        WHERE x.tenant_id = w.tenant_id AND x.workflow_id = w.id"
	"        ORDER BY x.id DESC LIMIT $3) d ON true"
	" WHERE w.tenant_id = $1 AND w.id = $2"
	" ORDER BY d.id DESC",
	3};

int workflow_store_deployments(db_t *db, arena_t *a, long long tenant_id,
			       long long id, int limit,
			       workflow_deployment_t **rows, int *n)
{
	*rows = NULL;
	*n = 0;
	PGresult *res;
	int rc = workflow_rows(db, a, &q_deployments, tenant_id, id, limit, &res);
	if (rc)
		return rc;
	int count = db_rows(res);
	workflow_deployment_t *out = arena_calloc(a, (size_t)count, sizeof *out);
	int k = 0;
	for (int i = 0; i < count; i++) {
		if (!db_value(res, i, 0))
			continue; /* the workflow was never deployed */
		out[k++] = (workflow_deployment_t){
			.id = db_value_ll(res, i, 0),
			.job_id = db_value(res, i, 1) ? db_value_ll(res, i, 1) : 0,
			.attempt = (int)db_value_ll(res, i, 2),
			.driver = db_value(res, i, 3),
			.graph_hash = db_value(res, i, 4),
			.status = db_value(res, i, 5),
			.external_id = db_value(res, i, 6),
			.url = db_value(res, i, 7),
			.error = db_value(res, i, 8),
			.http_status = db_value(res, i, 9)
					       ? (long)db_value_ll(res, i, 9)
					       : 0,
			.request_id = db_value(res, i, 10),
			.started_at = db_value(res, i, 11),
			.finished_at = db_value(res, i, 12),
		};
	}
	*rows = out;
	*n = k;
	return 0;
}
