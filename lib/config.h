/* config: settings from the environment, optionally from a file.
 *
 * CANOPY_CONFIG may name a file of KEY=value lines (# comments, blank
 * lines allowed); a variable set in the environment wins over the file.
 * config_load() validates every value it knows; a program then states what
 * it cannot run without with config_require().  A missing or malformed
 * value gives one clear line naming it. */
#ifndef CANOPY_CONFIG_H
#define CANOPY_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"

#define CONFIG_ERR_MAX 256

typedef struct {
	/* platform */
	const char *database_url;   /* DATABASE_URL (libpq conninfo or URI) */
	const char *domain;         /* CANOPY_DOMAIN, e.g. canopy.localhost */
	int https_port;             /* CANOPY_HTTPS_PORT: public port, 443 */
	const char *template_dir;   /* CANOPY_TEMPLATE_DIR */
	const char *sql_dir;        /* CANOPY_SQL_DIR */
	const char *static_dir;     /* CANOPY_STATIC_DIR */
	const char *schema_dir;     /* CANOPY_SCHEMA_DIR: workflow.schema.json */
	const char *media_dir;      /* CANOPY_MEDIA_DIR: uploads (logos), which
				     * nginx serves as /media/; absolute; NULL:
				     * uploads are off */
	const char *log_level;      /* LOG_LEVEL */
	int responder_threads;      /* CANOPY_RESPONDER_THREADS */
	int deployer_workers;       /* CANOPY_DEPLOYER_WORKERS */
	int job_lease_seconds;      /* CANOPY_JOB_LEASE_SECONDS: claim lease */
	int job_poll_ms;            /* CANOPY_JOB_POLL_MS: idle poll fallback */
	int job_retention_hours;    /* CANOPY_JOB_RETENTION_HOURS: then pruned */
	int drain_seconds;          /* CANOPY_DRAIN_SECONDS: shutdown deadline */
	int deployer_test_kinds;    /* CANOPY_DEPLOYER_TEST_KINDS: 1 enables the
				     * fail and record kinds (tests only) */
	const char *nchan_publish_url; /* CANOPY_NCHAN_PUBLISH_URL */
	int generate_per_hour;      /* CANOPY_GENERATE_PER_HOUR: workflow.generate
				     * requests a tenant may make per hour */
	int workflow_job_attempts;  /* CANOPY_WORKFLOW_ATTEMPTS: attempts of a
				     * workflow.generate or .deploy job */
	/* AI and builder */
	const char *openai_api_key;  /* OPENAI_API_KEY (secret) */
	const char *openai_base_url; /* OPENAI_BASE_URL */
	const char *openai_model;    /* OPENAI_MODEL */
	int openai_max_output_tokens; /* OPENAI_MAX_OUTPUT_TOKENS */
	const char *builder_kind;    /* BUILDER_KIND: n8n | builder */
	const char *builder_api_url; /* BUILDER_API_URL */
	const char *builder_api_key; /* BUILDER_API_KEY (secret) */
	const char *jwt_secret;      /* JWT_SECRET (secret) */
	const char *secret_key;      /* CANOPY_SECRET_KEY (secret, 64 hex) */
	const char *allowed_outbound_hosts; /* ALLOWED_OUTBOUND_HOSTS, comma list */
} config_t;

/* Fills cfg from the file named by CANOPY_CONFIG (if any) and the
 * environment, applying defaults and checking formats.  Strings are owned
 * by the process for its lifetime.  On error returns ERR_INVALID and puts
 * one line naming the variable into err. */
int config_load(config_t *cfg, char *err, size_t errlen) WARN_UNUSED;

/* ERR_INVALID with "NAME is required" in err when the setting called name
 * (the environment variable's name) is unset or empty. */
int config_require(const config_t *cfg, const char *name, char *err,
		   size_t errlen) WARN_UNUSED;

/* The value of a setting by its variable name, or NULL. */
const char *config_get(const config_t *cfg, const char *name);

/* The public origin of a host: "https://host" plus ":port" when not 443.
 * Writes into out (size outlen); returns out. */
const char *config_origin(const config_t *cfg, const char *host, char *out,
			  size_t outlen);

#endif
