/* canopy jobs: the job queue for operators.
 *
 *   canopy jobs list [--state S] [--kind K] [--limit N]
 *   canopy jobs show ID
 *   canopy jobs retry ID          a dead or cancelled job runs again
 *   canopy jobs cancel ID         pending: at once; running: at its next check
 *   canopy jobs stats             counts per state, oldest waiting job
 *   canopy jobs enqueue KIND [--payload JSON] [--count N] [--priority P]
 *                      [--delay-ms MS] [--max-attempts N] [--key KEY]
 *                      [--tenant ID]
 */
#include <stdio.h>
#include <string.h>

#include "arena.h"
#include "commands.h"
#include "jobs.h"
#include "str.h"

#define ENQUEUE_CHUNK 5000
#define COUNT_MAX 10000000L

static int usage(void)
{
	fprintf(stderr,
		"usage: canopy jobs list [--state S] [--kind K] [--limit N]\n"
		"       canopy jobs show|retry|cancel ID\n"
		"       canopy jobs stats\n"
		"       canopy jobs enqueue KIND [--payload JSON] [--count N]"
		" [--priority P]\n"
		"                   [--delay-ms MS] [--max-attempts N]"
		" [--key KEY] [--tenant ID]\n");
	return 2;
}

static int fail(const char *what, int rc, db_t *db)
{
	if (rc == ERR_NOT_FOUND)
		fprintf(stderr, "canopy jobs: %s: no such job\n", what);
	else if (rc == ERR_CONFLICT)
		fprintf(stderr, "canopy jobs: %s: not possible in the job's "
				"current state\n", what);
	else
		fprintf(stderr, "canopy jobs: %s: %s (%s)\n", what,
			err_code_name(rc), db_error(db));
	return 1;
}

static bool parse_number(const char *text, long min, long max, long *out)
{
	if (text && str_to_long(str_c(text), min, max, out) == 0)
		return true;
	fprintf(stderr, "canopy jobs: '%s' is not a number from %ld to %ld\n",
		text ? text : "", min, max);
	return false;
}

/* The value of option name at argv[*i] ("--name VALUE"), advancing *i;
 * NULL when argv[*i] is not that option. */
static const char *option(int argc, char **argv, int *i, const char *name)
{
	if (strcmp(argv[*i], name) != 0)
		return NULL;
	if (*i + 1 >= argc) {
		fprintf(stderr, "canopy jobs: %s needs a value\n", name);
		return "";
	}
	return argv[++*i];
}

static const char *or_dash(const char *s)
{
	return s ? s : "-";
}

/* ------------------------------------------------------------ list, show */

static int cmd_list(db_t *db, arena_t *a, int argc, char **argv)
{
	jobs_filter_t f = {.state = -1, .limit = 50};
	for (int i = 1; i < argc; i++) {
		const char *v;
		long n;
		if ((v = option(argc, argv, &i, "--state"))) {
			if ((f.state = jobs_state_parse(v)) < 0) {
				fprintf(stderr, "canopy jobs: unknown state '%s'\n", v);
				return 2;
			}
		} else if ((v = option(argc, argv, &i, "--kind"))) {
			f.kind = v;
		} else if ((v = option(argc, argv, &i, "--limit"))) {
			if (!parse_number(v, 1, 10000, &n))
				return 2;
			f.limit = (int)n;
		} else {
			return usage();
		}
	}
	jobs_info_t *jobs;
	int n;
	int rc = jobs_list(db, a, &f, &jobs, &n);
	if (rc)
		return fail("list", rc, db);
	printf("%-10s %-10s %-20s %-9s %5s  %-32s %s\n", "ID", "STATE", "KIND",
	       "ATTEMPTS", "PRIO", "RUN_AT", "LAST_ERROR");
	for (int i = 0; i < n; i++) {
		jobs_info_t *j = &jobs[i];
		char attempts[24];
		snprintf(attempts, sizeof attempts, "%d/%d", j->attempts,
			 j->max_attempts);
		printf("%-10lld %-10s %-20s %-9s %5d  %-32s %.60s\n", j->id,
		       jobs_state_name(j->state), j->kind, attempts, j->priority,
		       j->run_at, or_dash(j->last_error));
	}
	return 0;
}

static bool parse_id(const char *text, long long *id)
{
	long v;
	if (!parse_number(text, 1, 0x7fffffffffffffffL, &v))
		return false;
	*id = v;
	return true;
}

static int cmd_show(db_t *db, arena_t *a, long long id)
{
	jobs_info_t j;
	int rc = jobs_get(db, a, id, &j);
	if (rc)
		return fail("show", rc, db);
	char tenant[24] = "-";
	if (j.tenant_id)
		snprintf(tenant, sizeof tenant, "%lld", j.tenant_id);
	printf("id:               %lld\n"
	       "kind:             %s\n"
	       "state:            %s%s\n"
	       "tenant:           %s\n"
	       "priority:         %d\n"
	       "attempts:         %d of %d\n"
	       "run_at:           %s\n"
	       "locked_by:        %s\n"
	       "locked_until:     %s\n"
	       "idempotency_key:  %s\n"
	       "request_id:       %s\n"
	       "created_at:       %s\n"
	       "started_at:       %s\n"
	       "finished_at:      %s\n"
	       "last_error:       %s\n"
	       "payload:          %s\n",
	       j.id, j.kind, jobs_state_name(j.state),
	       j.cancel_requested && j.state == JOBS_RUNNING
		       ? " (cancel requested)"
		       : "",
	       tenant, j.priority, j.attempts, j.max_attempts, j.run_at,
	       or_dash(j.locked_by), or_dash(j.locked_until),
	       or_dash(j.idempotency_key), or_dash(j.request_id), j.created_at,
	       or_dash(j.started_at), or_dash(j.finished_at),
	       or_dash(j.last_error), j.payload);
	return 0;
}

/* ------------------------------------------------------------ changes */

static int cmd_retry(db_t *db, arena_t *a, long long id)
{
	int rc = jobs_retry(db, a, id);
	if (rc)
		return fail("retry", rc, db);
	printf("job %lld is available again\n", id);
	return 0;
}

static int cmd_cancel(db_t *db, arena_t *a, long long id)
{
	jobs_state_t st;
	int rc = jobs_cancel(db, a, id, &st);
	if (rc)
		return fail("cancel", rc, db);
	if (st == JOBS_CANCELLED)
		printf("job %lld cancelled\n", id);
	else
		printf("job %lld is running: its worker was told to stop\n", id);
	return 0;
}

static int cmd_stats(db_t *db, arena_t *a)
{
	jobs_stats_t s;
	int rc = jobs_stats(db, a, &s);
	if (rc)
		return fail("stats", rc, db);
	for (int i = 0; i < JOBS_NSTATES; i++)
		printf("%-26s %lld\n", jobs_state_name((jobs_state_t)i),
		       s.count[i]);
	printf("%-26s %.3f\n", "oldest_available_seconds",
	       s.oldest_available_seconds);
	return 0;
}

/* ------------------------------------------------------------ enqueue */

/* Fills *job and *count from "KIND [options]"; false on a usage error. */
static bool parse_enqueue(int argc, char **argv, jobs_new_t *job, long *count)
{
	*job = (jobs_new_t){.kind = argv[1]};
	*count = 1;
	for (int i = 2; i < argc; i++) {
		const char *v;
		long n;
		if ((v = option(argc, argv, &i, "--payload"))) {
			job->payload = v;
		} else if ((v = option(argc, argv, &i, "--key"))) {
			job->idempotency_key = v;
		} else if ((v = option(argc, argv, &i, "--count"))) {
			if (!parse_number(v, 1, COUNT_MAX, count))
				return false;
		} else if ((v = option(argc, argv, &i, "--priority"))) {
			if (!parse_number(v, -32768, 32767, &n))
				return false;
			job->priority = (int)n;
		} else if ((v = option(argc, argv, &i, "--delay-ms"))) {
			if (!parse_number(v, 0, 366L * 86400 * 1000, &n))
				return false;
			job->delay_ms = n;
		} else if ((v = option(argc, argv, &i, "--max-attempts"))) {
			if (!parse_number(v, 1, 1000, &n))
				return false;
			job->max_attempts = (int)n;
		} else if ((v = option(argc, argv, &i, "--tenant"))) {
			if (!parse_number(v, 1, 0x7fffffffffffffffL, &n))
				return false;
			job->tenant_id = n;
		} else {
			return false;
		}
	}
	return true;
}

static int cmd_enqueue(db_t *db, arena_t *a, int argc, char **argv)
{
	jobs_new_t job;
	long count;
	if (argc < 2 || !parse_enqueue(argc, argv, &job, &count))
		return usage();
	jobs_new_t *chunk = arena_calloc(a, ENQUEUE_CHUNK, sizeof *chunk);
	long long *ids = arena_calloc(a, ENQUEUE_CHUNK, sizeof *ids);
	for (int i = 0; i < ENQUEUE_CHUNK; i++)
		chunk[i] = job;
	long long first = 0, last = 0;
	for (long done = 0; done < count;) {
		int n = count - done < ENQUEUE_CHUNK ? (int)(count - done)
						     : ENQUEUE_CHUNK;
		int rc = jobs_enqueue_many(db, a, chunk, n, ids);
		if (rc)
			return fail("enqueue", rc, db);
		if (!first)
			first = ids[0];
		last = ids[n - 1];
		done += n;
	}
	if (count == 1)
		printf("%lld\n", first);
	else
		printf("enqueued %ld jobs, ids %lld..%lld\n", count, first, last);
	return 0;
}

/* ------------------------------------------------------------ dispatch */

static int with_id(db_t *db, arena_t *a, int argc, char **argv,
		   int (*fn)(db_t *, arena_t *, long long))
{
	long long id;
	if (argc != 2)
		return usage();
	if (!parse_id(argv[1], &id))
		return 2;
	return fn(db, a, id);
}

static int dispatch(db_t *db, arena_t *a, int argc, char **argv)
{
	const char *sub = argv[0];
	if (strcmp(sub, "list") == 0)
		return cmd_list(db, a, argc, argv);
	if (strcmp(sub, "show") == 0)
		return with_id(db, a, argc, argv, cmd_show);
	if (strcmp(sub, "retry") == 0)
		return with_id(db, a, argc, argv, cmd_retry);
	if (strcmp(sub, "cancel") == 0)
		return with_id(db, a, argc, argv, cmd_cancel);
	if (strcmp(sub, "stats") == 0)
		return argc == 1 ? cmd_stats(db, a) : usage();
	if (strcmp(sub, "enqueue") == 0)
		return cmd_enqueue(db, a, argc, argv);
	return usage();
}

int cmd_jobs(const config_t *cfg, db_t *db, int argc, char **argv)
{
	(void)cfg;
	if (argc < 2)
		return usage();
	arena_t *a = arena_new(0);
	int status = dispatch(db, a, argc - 1, argv + 1);
	arena_free(a);
	return status;
}
