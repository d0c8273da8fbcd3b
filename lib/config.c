#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "log.h"
#include "str.h"

#define FILE_LINE_MAX 4096
#define FILE_ENTRIES_MAX 128

/* KEY=value pairs read from CANOPY_CONFIG; they live for the process. */
static struct {
	char *key;
	char *value;
} file_entries[FILE_ENTRIES_MAX];
static int file_count;

static int errorf(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int errorf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return ERR_INVALID;
}

static const char *lookup(const char *name, const char *fallback)
{
	const char *v = getenv(name);
	if (v && *v)
		return v;
	for (int i = 0; i < file_count; i++)
		if (strcmp(file_entries[i].key, name) == 0)
			return file_entries[i].value;
	return fallback;
}

static int read_file(const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		snprintf(err, errlen, "CANOPY_CONFIG: cannot open %s: %s", path,
			 strerror(errno));
		return ERR_INVALID;
	}
	char line[FILE_LINE_MAX];
	int lineno = 0, rc = 0;
	file_count = 0;
	while (fgets(line, sizeof line, f)) {
		lineno++;
		str_t s = str_trim(str_c(line));
		if (s.len == 0 || s.p[0] == '#')
			continue;
		str_t key, value = str_cut(s, '=', &key);
		key = str_trim(key);
		if (!value.p || key.len == 0 || file_count == FILE_ENTRIES_MAX) {
			snprintf(err, errlen,
				 "CANOPY_CONFIG: %s line %d is not KEY=value",
				 path, lineno);
			rc = ERR_INVALID;
			break;
		}
		file_entries[file_count].key = xstrndup(key.p, key.len);
		value = str_trim(value);
		file_entries[file_count].value = xstrndup(value.p, value.len);
		file_count++;
	}
	fclose(f);
	return rc;
}

static int parse_int(const char *name, const char *text, long min, long max,
		     int *out, char *err, size_t errlen)
{
	long v;
	if (str_to_long(str_c(text), min, max, &v) != 0) {
		snprintf(err, errlen, "%s must be a whole number from %ld to %ld",
			 name, min, max);
		return ERR_INVALID;
	}
	*out = (int)v;
	return 0;
}

/* A domain of lower-case DNS labels with at least one dot. */
static bool valid_domain(const char *d)
{
	size_t n = strlen(d), label = 0;
	bool dot = false;
	if (n == 0 || n > 200)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = d[i];
		if (c == '.') {
			if (label == 0)
				return false;
			label = 0;
			dot = true;
		} else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
			   (c == '-' && label > 0)) {
			if (++label > 63)
				return false;
		} else {
			return false;
		}
	}
	return dot && label > 0;
}

static bool valid_hex_key(const char *k)
{
	if (strlen(k) != 64)
		return false;
	for (const char *p = k; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f') ||
		      (*p >= 'A' && *p <= 'F')))
			return false;
	return true;
}

static bool valid_http_url(const char *u)
{
	return strncmp(u, "http://", 7) == 0 || strncmp(u, "https://", 8) == 0;
}

int config_load(config_t *cfg, char *err, size_t errlen)
{
	const char *path = getenv("CANOPY_CONFIG");
	if (path && *path && read_file(path, err, errlen) != 0)
		return ERR_INVALID;

	memset(cfg, 0, sizeof *cfg);
	cfg->database_url = lookup("DATABASE_URL", NULL);
	cfg->domain = lookup("CANOPY_DOMAIN", "canopy.localhost");
	cfg->template_dir = lookup("CANOPY_TEMPLATE_DIR", PKGDATADIR "/templates");
	cfg->sql_dir = lookup("CANOPY_SQL_DIR", PKGDATADIR "/sql");
	cfg->static_dir = lookup("CANOPY_STATIC_DIR", PKGDATADIR "/static");
	cfg->schema_dir = lookup("CANOPY_SCHEMA_DIR", PKGDATADIR "/schema");
	cfg->media_dir = lookup("CANOPY_MEDIA_DIR", NULL);
	cfg->log_level = lookup("LOG_LEVEL", "info");
	cfg->nchan_publish_url = lookup("CANOPY_NCHAN_PUBLISH_URL", NULL);
	cfg->openai_api_key = lookup("OPENAI_API_KEY", NULL);
	cfg->openai_base_url = lookup("OPENAI_BASE_URL", "https://api.openai.com/v1");
	cfg->openai_model = lookup("OPENAI_MODEL", "gpt-4.1-mini");
	cfg->builder_kind = lookup("BUILDER_KIND", "n8n");
	cfg->builder_api_url = lookup("BUILDER_API_URL", NULL);
	cfg->builder_api_key = lookup("BUILDER_API_KEY", NULL);
	cfg->jwt_secret = lookup("JWT_SECRET", NULL);
	cfg->secret_key = lookup("CANOPY_SECRET_KEY", NULL);
	cfg->allowed_outbound_hosts = lookup("ALLOWED_OUTBOUND_HOSTS", "");

	if (!valid_domain(cfg->domain))
		return errorf(err, errlen,
			      "CANOPY_DOMAIN must be a lower-case domain name "
			      "with a dot, got '%.100s'", cfg->domain);
	if (cfg->media_dir && cfg->media_dir[0] != '/')
		return errorf(err, errlen,
			      "CANOPY_MEDIA_DIR must be an absolute path, got "
			      "'%.100s'", cfg->media_dir);
	if (log_level_parse(cfg->log_level) < 0)
		return errorf(err, errlen,
			      "LOG_LEVEL must be debug, info, warn or error, "
			      "got '%.40s'", cfg->log_level);
	if (strcmp(cfg->builder_kind, "n8n") != 0 &&
	    strcmp(cfg->builder_kind, "builder") != 0)
		return errorf(err, errlen,
			      "BUILDER_KIND must be n8n or builder, got '%.40s'",
			      cfg->builder_kind);
	if (!valid_http_url(cfg->openai_base_url))
		return errorf(err, errlen, "%s must be an http(s) URL",
			      "OPENAI_BASE_URL");
	if (cfg->builder_api_url && !valid_http_url(cfg->builder_api_url))
		return errorf(err, errlen, "%s must be an http(s) URL",
			      "BUILDER_API_URL");
	if (cfg->nchan_publish_url && !valid_http_url(cfg->nchan_publish_url))
		return errorf(err, errlen, "%s must be an http(s) URL",
			      "CANOPY_NCHAN_PUBLISH_URL");
	if (cfg->secret_key && !valid_hex_key(cfg->secret_key))
		return errorf(err, errlen, "%s must be 64 hexadecimal digits",
			      "CANOPY_SECRET_KEY");
	if (parse_int("CANOPY_HTTPS_PORT", lookup("CANOPY_HTTPS_PORT", "443"), 1,
		      65535, &cfg->https_port, err, errlen) ||
	    parse_int("CANOPY_RESPONDER_THREADS",
		      lookup("CANOPY_RESPONDER_THREADS", "32"), 1, 256,
		      &cfg->responder_threads, err, errlen) ||
	    parse_int("CANOPY_DEPLOYER_WORKERS",
		      lookup("CANOPY_DEPLOYER_WORKERS", "4"), 1, 256,
		      &cfg->deployer_workers, err, errlen) ||
	    parse_int("CANOPY_JOB_LEASE_SECONDS",
		      lookup("CANOPY_JOB_LEASE_SECONDS", "30"), 2, 3600,
		      &cfg->job_lease_seconds, err, errlen) ||
	    parse_int("CANOPY_JOB_POLL_MS", lookup("CANOPY_JOB_POLL_MS", "1000"),
		      10, 60000, &cfg->job_poll_ms, err, errlen) ||
	    parse_int("CANOPY_JOB_RETENTION_HOURS",
		      lookup("CANOPY_JOB_RETENTION_HOURS", "168"), 1, 87600,
		      &cfg->job_retention_hours, err, errlen) ||
	    parse_int("CANOPY_DRAIN_SECONDS", lookup("CANOPY_DRAIN_SECONDS", "10"),
		      0, 3600, &cfg->drain_seconds, err, errlen) ||
	    parse_int("CANOPY_DEPLOYER_TEST_KINDS",
		      lookup("CANOPY_DEPLOYER_TEST_KINDS", "0"), 0, 1,
		      &cfg->deployer_test_kinds, err, errlen) ||
	    parse_int("CANOPY_GENERATE_PER_HOUR",
		      lookup("CANOPY_GENERATE_PER_HOUR", "30"), 0, 100000,
		      &cfg->generate_per_hour, err, errlen) ||
	    parse_int("CANOPY_WORKFLOW_ATTEMPTS",
		      lookup("CANOPY_WORKFLOW_ATTEMPTS", "6"), 1, 25,
		      &cfg->workflow_job_attempts, err, errlen) ||
	    parse_int("OPENAI_MAX_OUTPUT_TOKENS",
		      lookup("OPENAI_MAX_OUTPUT_TOKENS", "8192"), 16, 128000,
		      &cfg->openai_max_output_tokens, err, errlen))
		return ERR_INVALID;
	return 0;
}

static const struct {
	const char *name;
	size_t offset;
} string_settings[] = {
	{"DATABASE_URL", offsetof(config_t, database_url)},
	{"CANOPY_DOMAIN", offsetof(config_t, domain)},
	{"CANOPY_TEMPLATE_DIR", offsetof(config_t, template_dir)},
	{"CANOPY_SQL_DIR", offsetof(config_t, sql_dir)},
	{"CANOPY_STATIC_DIR", offsetof(config_t, static_dir)},
	{"CANOPY_SCHEMA_DIR", offsetof(config_t, schema_dir)},
	{"CANOPY_MEDIA_DIR", offsetof(config_t, media_dir)},
	{"LOG_LEVEL", offsetof(config_t, log_level)},
	{"CANOPY_NCHAN_PUBLISH_URL", offsetof(config_t, nchan_publish_url)},
	{"OPENAI_API_KEY", offsetof(config_t, openai_api_key)},
	{"OPENAI_BASE_URL", offsetof(config_t, openai_base_url)},
	{"OPENAI_MODEL", offsetof(config_t, openai_model)},
	{"BUILDER_KIND", offsetof(config_t, builder_kind)},
	{"BUILDER_API_URL", offsetof(config_t, builder_api_url)},
	{"BUILDER_API_KEY", offsetof(config_t, builder_api_key)},
	{"JWT_SECRET", offsetof(config_t, jwt_secret)},
	{"CANOPY_SECRET_KEY", offsetof(config_t, secret_key)},
	{"ALLOWED_OUTBOUND_HOSTS", offsetof(config_t, allowed_outbound_hosts)},
};

const char *config_get(const config_t *cfg, const char *name)
{
	for (unsigned i = 0; i < sizeof string_settings / sizeof string_settings[0];
	     i++)
		if (strcmp(string_settings[i].name, name) == 0)
			return *(const char *const *)((const char *)cfg +
						      string_settings[i].offset);
	return NULL;
}

int config_require(const config_t *cfg, const char *name, char *err,
		   size_t errlen)
{
	const char *v = config_get(cfg, name);
	if (v && *v)
		return 0;
	return errorf(err, errlen, "%s is required", name);
}

const char *config_origin(const config_t *cfg, const char *host, char *out,
			  size_t outlen)
{
	if (cfg->https_port == 443)
		snprintf(out, outlen, "https://%s", host);
	else
		snprintf(out, outlen, "https://%s:%d", host, cfg->https_port);
	return out;
}
