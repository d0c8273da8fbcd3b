/* workflow: the vocabulary of workflow graphs and the checks a JSON Schema
 * cannot express.
 *
 * A graph (schema/workflow.schema.json) is
 *   {name, description, env[], nodes[], edges[], triggers[]}
 * where triggers and nodes share one id space, every edge goes from an
 * output port of a trigger or node to an input port of a node, and the
 * free-form maps (env, node inputs, trigger config) are arrays of
 * {"key","value"} entries; a nested map value is {"fields": [entries]}.
 * workflow_plain() turns such a value back into ordinary JSON for a
 * translator.  The vocabulary (node and trigger types, their actions,
 * inputs and ports) is the table in workflow.c, documented in
 * schema/VOCABULARY.md; a unit test keeps the table and the schema's
 * enums in step.
 *
 * workflow_validate() runs the schema and then the graph checks: unique
 * ids; edges between existing triggers/nodes and existing ports; no
 * cycles; every node reachable from a trigger; actions, inputs and
 * outputs from the vocabulary, required inputs present and typed; valid
 * 5-field cron expressions; HTTP URLs over https to hosts on
 * ALLOWED_OUTBOUND_HOSTS; no literal secrets anywhere (they go through
 * authRef); authRef present exactly on nodes that need a credential.
 * Every problem is reported as {"pointer","message"} with an RFC 6901
 * pointer into the graph. */
#ifndef CANOPY_WORKFLOW_H
#define CANOPY_WORKFLOW_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "err.h"
#include "schema.h"

/* ------------------------------------------------------------ vocabulary */

typedef enum {
	WORKFLOW_IN_STRING,     /* any string; required means non-empty */
	WORKFLOW_IN_NUMBER,     /* a number (or a {{ expression }} string) */
	WORKFLOW_IN_BOOLEAN,    /* true/false (or a {{ expression }} string) */
	WORKFLOW_IN_ENUM,       /* one of choices[] */
	WORKFLOW_IN_MAP,        /* a map value {"fields": [entries]} */
	WORKFLOW_IN_LIST,       /* an array */
	WORKFLOW_IN_ANY,        /* any value */
	WORKFLOW_IN_URL,        /* https URL whose host is on the allowlist */
	WORKFLOW_IN_CRON,       /* 5-field cron expression */
	WORKFLOW_IN_PATH,       /* webhook path: [a-z0-9][a-z0-9/_-]{0,127} */
	WORKFLOW_IN_EVENT,      /* event name: [a-z][a-z0-9_.]{0,63} */
	WORKFLOW_IN_TIMEZONE,   /* IANA zone name, e.g. Europe/Paris, UTC */
	WORKFLOW_IN_CONDITIONS  /* list of maps {left, operator, right?} */
} workflow_input_kind_t;

typedef enum {
	WORKFLOW_AUTH_NONE,     /* authRef must be null */
	WORKFLOW_AUTH_REQUIRED, /* authRef must name a credential */
	WORKFLOW_AUTH_BY_INPUT  /* required iff input "authentication" is
				   present and not "none" */
} workflow_auth_t;

#define WORKFLOW_MAX_INPUTS 10
#define WORKFLOW_MAX_CHOICES 8

typedef struct {
	const char *key;
	workflow_input_kind_t kind;
	bool required;
	const char *choices[WORKFLOW_MAX_CHOICES]; /* ENUM; NULL-terminated */
	double min, max; /* NUMBER bounds when min < max */
	const char *doc;
} workflow_input_t;

typedef struct {
	const char *type;       /* as in the schema's enum */
	bool trigger;           /* a triggers[] type; else a nodes[] type */
	const char *actions[4]; /* nodes: allowed actions, NULL-terminated */
	const char *in_ports[2];
	const char *out_ports[4];
	workflow_auth_t auth;
	workflow_input_t inputs[WORKFLOW_MAX_INPUTS]; /* key NULL ends */
	const char *doc;
} workflow_type_t;

/* The vocabulary table (static; *count gets its length). */
const workflow_type_t *workflow_vocab(size_t *count);

/* The entry for a node or trigger type, or NULL. */
const workflow_type_t *workflow_vocab_find(const char *type);

/* The operators a condition (WORKFLOW_IN_CONDITIONS) may use, as a
 * NULL-terminated static list. */
const char *const *workflow_condition_operators(void);

/* ------------------------------------------------------------ hosts */

typedef struct workflow_hosts workflow_hosts_t;

/* Parses ALLOWED_OUTBOUND_HOSTS: comma-separated hosts, each an exact
 * host name or IP literal, or "*.example.com" which allows every
 * subdomain of example.com (not example.com itself).  Case-insensitive,
 * white space around entries ignored, NULL or empty allows nothing.
 * Returns 0 and a list the caller owns (workflow_hosts_free), or
 * ERR_INVALID with the bad entry named in err. */
int workflow_hosts_parse(const char *list, workflow_hosts_t **out,
			 char *err, size_t errlen) WARN_UNUSED;

void workflow_hosts_free(workflow_hosts_t *h);

/* Whether host (len bytes, any case) is allowed; NULL h allows none. */
bool workflow_hosts_allow(const workflow_hosts_t *h, const char *host,
			  size_t len);

/* ------------------------------------------------------------ checks */

typedef struct {
	const schema_t *schema;        /* compiled workflow schema (required) */
	const workflow_hosts_t *hosts; /* outbound allowlist; NULL: none */
	bool allow_loopback_http;      /* http:// to loopback hosts on the
					  allowlist (tests, development) */
} workflow_ctx_t;

/* A validation context loaded from files and settings, for programs
 * that check graphs themselves (the API, the admin): the schema at
 * schema_dir/workflow.schema.json (NULL dir: ".") and the allowlist
 * allowed_hosts (ALLOWED_OUTBOUND_HOSTS, as workflow_hosts_parse).
 * Returns a context the caller owns (workflow_ctx_free), or NULL with
 * one line in err naming the setting at fault (CANOPY_SCHEMA_DIR or
 * ALLOWED_OUTBOUND_HOSTS). */
workflow_ctx_t *workflow_ctx_new(const char *schema_dir,
				 const char *allowed_hosts,
				 bool allow_loopback_http, char *err,
				 size_t errlen);

/* Frees a context from workflow_ctx_new (NULL is fine). */
void workflow_ctx_free(workflow_ctx_t *ctx);

/* Validates graph against ctx->schema, then runs the graph checks (also
 * when the schema failed, skipping parts too malformed to check).
 * Returns 0 when the graph is acceptable, ERR_INVALID when not.  When
 * errors_out is not NULL it gets a new array (caller owns it) of
 * {"pointer","message"}, at most SCHEMA_MAX_ERRORS plus one "too many"
 * entry; empty on success. */
int workflow_validate(const workflow_ctx_t *ctx, const json_t *graph,
		      json_t **errors_out) WARN_UNUSED;

/* Checks a 5-field cron expression (minute hour day-of-month month
 * day-of-week): numbers, *, ranges a-b, lists a,b, steps * / n and a-b/n,
 * month names JAN-DEC and day names SUN-SAT (7 is Sunday too).  An
 * expression that can never fire (e.g. 0 0 31 2 *) is refused.  Returns
 * 0, or ERR_INVALID with the reason in err. */
int workflow_cron_check(const char *expr, char *err, size_t errlen)
	WARN_UNUSED;

/* Checks an HTTP node URL: https (or http to a loopback host when
 * ctx->allow_loopback_http), no credentials in it, a literal host on the
 * allowlist, a valid port.  Returns 0 or ERR_INVALID with err. */
int workflow_url_check(const workflow_ctx_t *ctx, const char *url,
		       size_t len, char *err, size_t errlen) WARN_UNUSED;

/* ------------------------------------------------------------ identity */

#define WORKFLOW_HASH_HEX 64

/* Writes the canonical form of graph into out: compact JSON with object
 * keys sorted by byte value, numbers as jansson prints them.  Two graphs
 * that differ only in key order or white space have the same form.
 * Returns 0, ERR_INVALID for a graph nested deeper than SCHEMA_MAX_DEPTH
 * or not an object, or ERR_TOO_LARGE when out's cap is hit. */
int workflow_canonical(const json_t *graph, buf_t *out) WARN_UNUSED;

/* SHA-256 of the canonical form as lowercase hex into hex (size
 * WORKFLOW_HASH_HEX + 1).  The deploy idempotency key is the tenant id
 * plus this.  Returns 0 or workflow_canonical's error. */
int workflow_hash(const json_t *graph, char hex[WORKFLOW_HASH_HEX + 1])
	WARN_UNUSED;

/* ------------------------------------------------------------ reading */

/* The value of key in an array of {"key","value"} entries (borrowed),
 * or NULL when absent. */
const json_t *workflow_entry(const json_t *entries, const char *key);

/* Ordinary JSON for a graph value: a map {"fields": [entries]} becomes
 * an object, arrays are converted element by element, scalars copied;
 * an entries array passed directly becomes an object too when
 * entries_array is true.  Returns a new reference, or NULL for a value
 * nested deeper than SCHEMA_MAX_DEPTH. */
json_t *workflow_plain(const json_t *value, bool entries_array);

#endif
