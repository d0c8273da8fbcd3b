#include "migrate.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "buf.h"
#include "log.h"

#define MIGRATIONS_MAX 1000
#define MIGRATION_FILE_MAX (4 << 20)
/* Any constant works; it only has to be the same for every Canopy run. */
#define MIGRATE_LOCK_KEY "7301942"

static const char *const create_table =
	"CREATE TABLE IF NOT EXISTS schema_migrations ("
	" version text PRIMARY KEY,"
	" applied_at timestamptz NOT NULL DEFAULT now())";

typedef struct {
	char **names; /* sorted file names like 0001_core.sql */
	int count;
} file_list_t;

/* NNNN_name.sql with a 4-digit version and [a-z0-9_] name. */
static bool valid_name(const char *name)
{
	size_t n = strlen(name);
	if (n < 10 || strcmp(name + n - 4, ".sql") != 0 || name[4] != '_')
		return false;
	for (size_t i = 0; i < n - 4; i++) {
		char c = name[i];
		bool digit = c >= '0' && c <= '9';
		if (i < 4 ? !digit : !(digit || (c >= 'a' && c <= 'z') || c == '_'))
			return false;
	}
	return true;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int list_files(arena_t *a, const char *dir, file_list_t *out)
{
	DIR *d = opendir(dir);
	if (!d) {
		log_error("migrations directory %s cannot be read", dir);
		return ERR_NOT_FOUND;
	}
	out->names = arena_calloc(a, MIGRATIONS_MAX, sizeof(char *));
	out->count = 0;
	int rc = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!strstr(e->d_name, ".sql"))
			continue;
		if (!valid_name(e->d_name) || out->count == MIGRATIONS_MAX) {
			log_error("migration file %s does not match NNNN_name.sql",
				  e->d_name);
			rc = ERR_INVALID;
			break;
		}
		out->names[out->count++] = arena_strdup(a, e->d_name);
	}
	closedir(d);
	qsort(out->names, (size_t)out->count, sizeof(char *), by_name);
	return rc;
}

static int read_file(arena_t *a, const char *path, buf_t *out)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return ERR_NOT_FOUND;
	buf_init(out, a, MIGRATION_FILE_MAX);
	char chunk[8192];
	size_t n;
	int rc = 0;
	while (!rc && (n = fread(chunk, 1, sizeof chunk, f)) > 0)
		rc = buf_append(out, chunk, n);
	fclose(f);
	return rc;
}

/* The version is the file name without ".sql": renaming a migration after
 * it shipped is therefore a new migration, which is what we want. */
static char *version_of(arena_t *a, const char *name)
{
	return arena_strndup(a, name, strlen(name) - 4);
}

static bool is_applied(const PGresult *done, const char *version)
{
	for (int i = 0; i < db_rows(done); i++)
		if (strcmp(db_value(done, i, 0), version) == 0)
			return true;
	return false;
}

static bool file_exists_for(const file_list_t *files, arena_t *a,
			    const char *version)
{
	for (int i = 0; i < files->count; i++)
		if (strcmp(version_of(a, files->names[i]), version) == 0)
			return true;
	return false;
}

static int apply_one(db_t *db, arena_t *a, const char *dir, const char *name)
{
	buf_t sql;
	char *path = arena_printf(a, "%s/%s", dir, name);
	int rc = read_file(a, path, &sql);
	if (rc) {
		log_error("migration %s cannot be read", path);
		return rc;
	}
	const char *params[] = {version_of(a, name)};
	if ((rc = db_begin(db)) || (rc = db_exec_script(db, buf_cstr(&sql))) ||
	    (rc = db_query(db, a,
			   "INSERT INTO schema_migrations (version) VALUES ($1)",
			   1, params, NULL)) ||
	    (rc = db_commit(db))) {
		log_line_t *l = log_begin(LOG_ERROR, "migration failed");
		log_str(l, "file", name);
		log_str(l, "error", db_error(db));
		log_end(l);
		db_rollback(db);
		return ERR_DB;
	}
	log_line_t *l = log_begin(LOG_INFO, "migration applied");
	log_str(l, "file", name);
	log_end(l);
	return 0;
}

/* Loads the file list and the applied versions; checks they agree. */
static int load_state(db_t *db, arena_t *a, const char *dir,
		      file_list_t *files, PGresult **done)
{
	int rc = list_files(a, dir, files);
	if (rc)
		return rc;
	if ((rc = db_exec_script(db, create_table)) ||
	    (rc = db_query(db, a, "SELECT version FROM schema_migrations", 0,
			   NULL, done)))
		return rc;
	for (int i = 0; i < db_rows(*done); i++) {
		const char *v = db_value(*done, i, 0);
		if (!file_exists_for(files, a, v)) {
			log_error("database has migration %s that this program "
				  "does not know: it is newer than this build", v);
			return ERR_INVALID;
		}
	}
	return 0;
}

int migrate_apply(db_t *db, const char *dir, int *applied)
{
	arena_t *a = arena_new(0);
	file_list_t files;
	PGresult *done = NULL;
	int count = 0;
	const char *key[] = {MIGRATE_LOCK_KEY};
	int rc = db_query(db, a, "SELECT pg_advisory_lock($1::bigint)", 1, key,
			  NULL);
	if (rc == 0) {
		rc = load_state(db, a, dir, &files, &done);
		for (int i = 0; rc == 0 && i < files.count; i++) {
			if (is_applied(done, version_of(a, files.names[i])))
				continue;
			rc = apply_one(db, a, dir, files.names[i]);
			count += rc == 0;
		}
		if (db_query(db, a, "SELECT pg_advisory_unlock($1::bigint)", 1,
			     key, NULL) != 0)
			log_warn("migration lock release failed: %s", db_error(db));
	}
	if (applied)
		*applied = count;
	arena_free(a);
	return rc;
}

int migrate_pending(db_t *db, const char *dir)
{
	arena_t *a = arena_new(0);
	file_list_t files;
	PGresult *done = NULL;
	int rc = load_state(db, a, dir, &files, &done);
	if (rc == 0)
		for (int i = 0; i < files.count; i++)
			rc += !is_applied(done, version_of(a, files.names[i]));
	arena_free(a);
	return rc;
}
