/* migrate: applies sql/NNNN_name.sql files in order, once each.
 *
 * Each file runs inside its own transaction together with the row that
 * records it in schema_migrations, so a failed file leaves nothing behind
 * and is retried on the next run.  A session advisory lock serializes
 * concurrent runs (two deployers starting at once). */
#ifndef CANOPY_MIGRATE_H
#define CANOPY_MIGRATE_H

#include "db.h"

/* Applies the pending migrations found in dir.  *applied (may be NULL)
 * gets how many ran.  Errors: ERR_NOT_FOUND (dir unreadable), ERR_INVALID
 * (a file name out of pattern, or a version recorded in the database that
 * no file has: the database is newer than this program), ERR_DB (a file
 * failed; the message names it and is logged). */
int migrate_apply(db_t *db, const char *dir, int *applied) WARN_UNUSED;

/* The number of migration files in dir that are not yet applied, or a
 * negative ERR_*. */
int migrate_pending(db_t *db, const char *dir) WARN_UNUSED;

#endif
